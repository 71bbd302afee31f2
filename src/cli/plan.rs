//! `landing-zone plan`: read the live organization, plan the spec against it, render the plan,
//! and optionally save it (with digests of what it was made from) for `apply FILE`.

use anyhow::Context;
use clap::{Args, ValueEnum};

use super::load_spec;
use super::{runtime, write_stderr, write_stdout, GlobalOptions, EXIT_CHANGES, EXIT_OK};
use crate::ops::plan::{connect, make_targeted_plan, saved_plan};
use crate::plan::graph::Tree;
use crate::plan::markdown::render_markdown;
use crate::plan::render::{render_json_targeted, render_text_in, TextOptions};
use crate::plan::target::{partial_line, Target};
use crate::plan::{Plan, PlanOptions};

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
    /// Limit the plan to an account (`account:NAME`) or a unit and everything under it
    /// (`unit:PATH`); repeatable. Reads only what the targets need; the plan says it is partial.
    #[arg(long = "target", value_name = "account:NAME|unit:PATH")]
    pub targets: Vec<Target>,
    #[command(flatten)]
    pub spec: super::SpecFileArgs,
    #[command(flatten)]
    pub access: super::AwsAccessArgs,
    #[command(flatten)]
    pub region: super::RegionArgs,
    #[command(flatten)]
    pub concurrency: super::ConcurrencyArgs,
}

pub fn run(global: &GlobalOptions, args: &PlanArgs) -> anyhow::Result<u8> {
    let valid = load_spec(&global.file)?;
    // The desired organization, derived from the spec once for the whole command.
    let desired = crate::baseline::desired_organization(&valid);
    let outcome = runtime()?.block_on(async {
        let clients = connect(&global.connect_options(), Some(&valid)).await?;
        let progress = super::progress::ReadProgressDisplay::new();
        let options = PlanOptions { allow_destructive: args.allow_destructive };
        make_targeted_plan(&desired, &clients, options, global.concurrency(), &progress, &args.targets).await
    })?;
    // The spec's OU tree: the Markdown drawing, and the OUs both renderers name when a group of
    // identical changes covers every account under one.
    let tree = (args.format != PlanFormat::Json).then(|| Tree::from_desired(&desired));
    render(&outcome.plan, &outcome.targets, args.format, global, tree)?;
    if let Some(path) = &args.out {
        std::fs::write(path, serde_json::to_string_pretty(&saved_plan(&valid, &desired, &outcome))?)
            .with_context(|| format!("writing the plan to `{}`", path.display()))?;
        write_stderr(&format!(
            "saved the plan to {}; review it with `landing-zone show {}`, apply it with `landing-zone apply {}`",
            path.display(),
            path.display(),
            path.display()
        ));
    }
    Ok(if args.detailed_exitcode && outcome.plan.has_changes() { EXIT_CHANGES } else { EXIT_OK })
}

/// Writes a plan to stdout in `format` (`plan` and `show`); `tree` is the OU tree of the
/// Markdown comment, if known. A plan limited by `targets` says so first, in every format.
pub fn render(
    plan: &Plan,
    targets: &[String],
    format: PlanFormat,
    global: &GlobalOptions,
    tree: Option<Tree>,
) -> anyhow::Result<()> {
    let partial = partial_line(targets);
    match format {
        PlanFormat::Text => {
            let text = render_text_in(plan, TextOptions { color: global.color() }, tree.as_ref());
            write_stdout(&match partial {
                Some(line) => format!("{line}\n\n{text}"),
                None => text,
            })
        }
        PlanFormat::Json => write_stdout(&(render_json_targeted(plan, targets) + "\n")),
        PlanFormat::Markdown => {
            let markdown = render_markdown(plan, tree);
            write_stdout(&match partial {
                Some(line) => format!("> [!NOTE]\n> {}\n\n{markdown}", crate::plan::escape::markdown(&line)),
                None => markdown,
            })
        }
    }
}
