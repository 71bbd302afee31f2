//! `landing-zone plan`: read the live organization, plan the spec against it, render the plan,
//! and optionally save it (with digests of what it was made from) for `apply FILE`.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Args, ValueEnum};

use super::{runtime, write_stderr, write_stdout, GlobalOptions, EXIT_CHANGES, EXIT_OK};
use crate::live::progress::{ReadProgress, ReadReporter};
use crate::ops::plan::{connect, make_targeted_plan, saved_plan};
use crate::plan::graph::Tree;
use crate::plan::markdown::render_markdown;
use crate::plan::render::{render_json_targeted, render_text_in, TextOptions};
use crate::plan::target::{partial_line, Target};
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
    /// Limit the plan to an account (`account:NAME`) or a unit and everything under it
    /// (`unit:PATH`); repeatable. Reads only what the targets need; the plan says it is partial.
    #[arg(long = "target", value_name = "account:NAME|unit:PATH")]
    pub targets: Vec<Target>,
}

pub fn run(global: &GlobalOptions, args: &PlanArgs) -> anyhow::Result<u8> {
    let valid = load_spec(&global.file)?;
    let outcome = runtime()?.block_on(async {
        let clients = connect(&global.connect_options(), Some(&valid)).await;
        let progress = ReadProgressDisplay::new();
        let options = PlanOptions { allow_destructive: args.allow_destructive };
        make_targeted_plan(&valid, &clients, options, global.concurrency(), &progress, &args.targets).await
    })?;
    // The spec's OU tree: the Markdown drawing, and the OUs both renderers name when a group of
    // identical changes covers every account under one.
    let tree =
        (args.format != PlanFormat::Json).then(|| Tree::from_desired(&crate::baseline::desired_organization(&valid)));
    render(&outcome.plan, &outcome.targets, args.format, global, tree)?;
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

/// How often a plain progress line may be written when stderr is not a terminal (CI logs).
pub(super) const PLAIN_EVERY: Duration = Duration::from_secs(5);

/// Reading progress on stderr: a live line on a terminal; otherwise a plain line at most every
/// [`PLAIN_EVERY`] (none for a read shorter than that), and a last one if any was written.
struct ReadProgressDisplay {
    bar: Option<indicatif::ProgressBar>,
    started: Instant,
    last_line: Mutex<Option<Instant>>,
}

impl ReadProgressDisplay {
    fn new() -> ReadProgressDisplay {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new(0);
            if let Ok(style) = indicatif::ProgressStyle::with_template("{bar:30} {wide_msg}") {
                bar.set_style(style);
            }
            bar
        });
        ReadProgressDisplay { bar, started: Instant::now(), last_line: Mutex::new(None) }
    }
}

/// Whether a plain line is due at `now`: [`PLAIN_EVERY`] after the last one, or after the start.
pub(super) fn plain_line_due(started: Instant, last_line: Option<Instant>, now: Instant) -> bool {
    now.saturating_duration_since(last_line.unwrap_or(started)) >= PLAIN_EVERY
}

impl ReadReporter for ReadProgressDisplay {
    fn progress(&self, progress: ReadProgress) {
        if let Some(bar) = &self.bar {
            bar.set_length(progress.controls as u64);
            bar.set_position(progress.controls_read as u64);
            bar.set_message(progress.to_string());
            return;
        }
        let mut last_line = self.last_line.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = Instant::now();
        if plain_line_due(self.started, *last_line, now) {
            *last_line = Some(now);
            write_stderr(&progress.to_string());
        }
    }

    fn finished(&self, progress: ReadProgress) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
            return;
        }
        if self.last_line.lock().unwrap_or_else(std::sync::PoisonError::into_inner).is_some() {
            write_stderr(&progress.to_string());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_progress_lines_are_paced() {
        let start = Instant::now();
        assert!(!plain_line_due(start, None, start + Duration::from_secs(1)), "a short read says nothing");
        assert!(plain_line_due(start, None, start + PLAIN_EVERY));
        let last = start + PLAIN_EVERY;
        assert!(!plain_line_due(start, Some(last), last + Duration::from_secs(4)));
        assert!(plain_line_due(start, Some(last), last + PLAIN_EVERY));
    }
}
