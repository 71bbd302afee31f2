//! `landing-zone graph`: draw the spec's (or with `--live`, the organization's) OU tree, as
//! Mermaid, DOT, a plain-text tree or JSON (the last two with the policies at each node).

use clap::{Args, ValueEnum};

use super::load_spec;
use super::{runtime, write_stdout, GlobalOptions, EXIT_OK};
use crate::live::{read_organization, ReadScope};
use crate::ops::plan::connect;
use crate::plan::graph::{dot, json, mermaid, text, Tree};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GraphFormat {
    Mermaid,
    Dot,
    /// A plain-text tree with the policies attached at each node.
    Text,
    /// The tree as nested JSON nodes (kind, name, path, id, policies, children).
    Json,
}

#[derive(Debug, Args)]
pub struct GraphArgs {
    #[arg(long, value_enum, default_value_t = GraphFormat::Mermaid)]
    pub format: GraphFormat,
    /// Draw the live organization instead of the spec.
    #[arg(long)]
    pub live: bool,
    #[command(flatten)]
    pub spec: super::SpecFileArgs,
    #[command(flatten)]
    pub access: super::AwsAccessArgs,
    #[command(flatten)]
    pub region: super::RegionArgs,
    #[command(flatten)]
    pub concurrency: super::ConcurrencyArgs,
}

pub fn run(global: &GlobalOptions, args: &GraphArgs) -> anyhow::Result<u8> {
    let tree = if args.live {
        let valid = load_spec(&global.file).ok();
        let live = runtime()?.block_on(async {
            let clients = connect(&global.connect_options(), valid.as_ref()).await?;
            read_organization(&clients.organizations, &ReadScope::default(), global.parallelism).await
        })?;
        Tree::from_live(&live)
    } else {
        Tree::from_desired(&crate::baseline::desired_organization(&load_spec(&global.file)?))
    };
    match args.format {
        GraphFormat::Mermaid => write_stdout(&mermaid(&tree))?,
        GraphFormat::Dot => write_stdout(&dot(&tree))?,
        GraphFormat::Text => write_stdout(&text(&tree))?,
        GraphFormat::Json => write_stdout(&(serde_json::to_string_pretty(&json(&tree))? + "\n"))?,
    }
    Ok(EXIT_OK)
}
