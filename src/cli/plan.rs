//! `landing-zone plan`: read the live organization, plan the spec against it, render the plan.

use clap::{Args, ValueEnum};

use super::{runtime, GlobalOptions, EXIT_CHANGES, EXIT_OK};
use crate::operations::{connect, make_plan};
use crate::plan::render::{render_json, render_text, TextOptions};
use crate::plan::PlanOptions;
use crate::spec::load_spec;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PlanFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
    pub format: PlanFormat,
    /// Exit 0 when there are no changes, 2 when there are, 1 on error.
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Permit the destructive changes the spec opts into under `organization.allow`.
    #[arg(long)]
    pub allow_destructive: bool,
}

pub fn run(global: &GlobalOptions, args: &PlanArgs) -> anyhow::Result<u8> {
    let valid = load_spec(&global.file)?;
    let outcome = runtime()?.block_on(async {
        let clients = connect(&global.connect_options(), Some(&valid)).await;
        make_plan(&valid, &clients, PlanOptions { allow_destructive: args.allow_destructive }, global.parallelism).await
    })?;
    match args.format {
        PlanFormat::Text => print!("{}", render_text(&outcome.plan, TextOptions { color: global.color() })),
        PlanFormat::Json => println!("{}", render_json(&outcome.plan)),
    }
    Ok(if args.detailed_exitcode && !outcome.plan.is_empty() { EXIT_CHANGES } else { EXIT_OK })
}
