//! `landing-zone plan`: read the live organization, plan the spec against it, render the plan,
//! and optionally save it (with digests of what it was made from) for `apply FILE`.

use anyhow::Context;
use clap::{Args, ValueEnum};

use super::{runtime, write_stderr, write_stdout, GlobalOptions, EXIT_CHANGES, EXIT_OK};
use crate::ops::plan::{connect, make_plan, saved_plan};
use crate::plan::graph::Tree;
use crate::plan::markdown::render_markdown;
use crate::plan::render::{render_json, render_text_in, TextOptions};
use crate::plan::{Plan, PlanOptions};
use crate::spec::load_spec;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PlanFormat {
    Text,
    Json,
    /// A pull-request comment (GitHub-flavoured Markdown with a Mermaid tree).
    Markdown,
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
    /// Save the plan for `landing-zone apply FILE`.
    #[arg(long)]
    pub out: Option<std::path::PathBuf>,
}

pub fn run(global: &GlobalOptions, args: &PlanArgs) -> anyhow::Result<u8> {
    let valid = load_spec(&global.file)?;
    let outcome = runtime()?.block_on(async {
        let clients = connect(&global.connect_options(), Some(&valid)).await;
        make_plan(&valid, &clients, PlanOptions { allow_destructive: args.allow_destructive }, global.parallelism).await
    })?;
    // The spec's OU tree: the Markdown drawing, and the OUs both renderers name when a group of
    // identical changes covers every account under one.
    let tree =
        (args.format != PlanFormat::Json).then(|| Tree::from_desired(&crate::baseline::desired_organization(&valid)));
    render(&outcome.plan, args.format, global, tree)?;
    if let Some(path) = &args.out {
        std::fs::write(path, serde_json::to_string_pretty(&saved_plan(&valid, &outcome))?)
            .with_context(|| format!("writing the plan to `{}`", path.display()))?;
        write_stderr(&format!(
            "saved the plan to {}; review it with `landing-zone show {}`, apply it with `landing-zone apply {}`",
            path.display(),
            path.display(),
            path.display()
        ));
    }
    Ok(if args.detailed_exitcode && !outcome.plan.is_empty() { EXIT_CHANGES } else { EXIT_OK })
}

/// Writes a plan to stdout in `format` (`plan` and `show`); `tree` is the OU tree of the
/// Markdown comment, if known.
pub fn render(plan: &Plan, format: PlanFormat, global: &GlobalOptions, tree: Option<Tree>) -> anyhow::Result<()> {
    match format {
        PlanFormat::Text => write_stdout(&render_text_in(plan, TextOptions { color: global.color() }, tree.as_ref())),
        PlanFormat::Json => write_stdout(&(render_json(plan) + "\n")),
        PlanFormat::Markdown => write_stdout(&render_markdown(plan, tree)),
    }
}
