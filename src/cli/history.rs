//! `landing-zone history [--format json]` and `history show ID`: the applies recorded in the state
//! bucket (when, who, what, how it ended), read through `ops::history`.

use clap::{Args, Subcommand, ValueEnum};

use super::load_spec;
use super::{runtime, write_stdout, GlobalOptions, EXIT_OK};
use crate::apply::lock::StateStore;
use crate::aws::caller_identity;
use crate::ops::history::{list, show, HistoryEntry};
use crate::ops::plan::connect;
use crate::plan::escape::inline;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum HistoryFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    #[command(subcommand)]
    pub command: Option<HistoryCommand>,
    #[arg(long, value_enum, default_value_t = HistoryFormat::Text, global = true)]
    pub format: HistoryFormat,
    #[command(flatten)]
    pub spec: super::SpecFileArgs,
    #[command(flatten)]
    pub access: super::AwsAccessArgs,
    #[command(flatten)]
    pub region: super::RegionArgs,
}

#[derive(Debug, Subcommand)]
pub enum HistoryCommand {
    /// One apply in full: each action and how it ended.
    Show {
        /// The apply's id (its lock id, as `history` lists it; a unique beginning is enough).
        id: String,
    },
}

fn counts(entry: &HistoryEntry) -> String {
    let count = |field: &str| entry.summary[field].as_u64().unwrap_or(0);
    format!("{} to add, {} to change, {} to destroy", count("add"), count("change"), count("destroy"))
}

fn line(entry: &HistoryEntry) -> String {
    format!(
        "{}  {}  {:<11} {} ({}@{}): {}{}\n",
        entry.id,
        entry.started_at,
        entry.result,
        inline(&entry.who),
        inline(&entry.user),
        inline(&entry.host),
        counts(entry),
        if entry.failed_accounts.is_empty() {
            String::new()
        } else {
            format!("; failed in {}", inline(&entry.failed_accounts.join(", ")))
        }
    )
}

pub fn run(global: &GlobalOptions, args: &HistoryArgs) -> anyhow::Result<u8> {
    let valid = load_spec(&global.file)?;
    let region = valid.spec.organization.regions.first().cloned().unwrap_or_else(|| "us-east-1".to_string());
    runtime()?.block_on(async {
        let clients = connect(&global.connect_options(), Some(&valid)).await?;
        let caller = caller_identity(&clients).await?;
        clients.sessions.set_management_account(&caller.account).await;
        let store = StateStore::new(&clients.sessions, &caller.account, &region).await;
        match &args.command {
            None => {
                let entries = list(&store).await?;
                match args.format {
                    HistoryFormat::Json => write_stdout(&(serde_json::to_string_pretty(&entries)? + "\n"))?,
                    HistoryFormat::Text if entries.is_empty() => {
                        write_stdout(&format!("no apply recorded in `{}`\n", store.bucket))?;
                    }
                    HistoryFormat::Text => {
                        let text: String = entries.iter().map(line).collect();
                        write_stdout(&text)?;
                    }
                }
            }
            Some(HistoryCommand::Show { id }) => {
                let (entry, record) = show(&store, id).await?;
                match args.format {
                    HistoryFormat::Json => write_stdout(&(serde_json::to_string_pretty(&record)? + "\n"))?,
                    HistoryFormat::Text => write_stdout(&render_record(&entry, &record))?,
                }
            }
        }
        Ok(EXIT_OK)
    })
}

/// One apply: who, when, how it ended, and each action with its result.
fn render_record(entry: &HistoryEntry, record: &serde_json::Value) -> String {
    let mut text = format!(
        "apply {}: {}\nby {} ({}@{}), landing-zone {}\nstarted {}{}\nplan: {} ({} actions)\n",
        entry.id,
        entry.result,
        inline(&entry.who),
        inline(&entry.user),
        inline(&entry.host),
        inline(&entry.tool_version),
        entry.started_at,
        entry.finished_at.as_ref().map(|at| format!(", finished {at}")).unwrap_or_default(),
        counts(entry),
        entry.actions,
    );
    for action in record["actions"].as_array().into_iter().flatten() {
        let detail = action["error"].as_str().or_else(|| action["reason"].as_str());
        text.push_str(&format!(
            "  {:<12} {} {}{}\n",
            action["result"].as_str().unwrap_or("-"),
            action["kind"].as_str().unwrap_or("?"),
            inline(action["address"].as_str().unwrap_or_default()),
            detail.map(|detail| format!(": {}", inline(detail))).unwrap_or_default()
        ));
    }
    text
}
