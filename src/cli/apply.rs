//! `landing-zone apply`: plan afresh, show the plan, confirm, execute with progress, report.

use std::io::{BufRead, IsTerminal, Write};
use std::sync::Arc;
use std::time::Instant;

use clap::Args;

use super::{runtime, GlobalOptions, EXIT_ERROR, EXIT_OK};
use crate::apply::Reporter;
use crate::operations::{apply_plan, connect, make_plan};
use crate::plan::render::{render_text, TextOptions};
use crate::plan::{PlanOptions, PlannedAction};
use crate::spec::load_spec;

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// Apply without asking (for CI).
    #[arg(long)]
    pub auto_approve: bool,
    /// Permit the destructive changes the spec opts into under `organization.allow`.
    #[arg(long)]
    pub allow_destructive: bool,
}

pub fn run(global: &GlobalOptions, args: &ApplyArgs) -> anyhow::Result<u8> {
    let valid = load_spec(&global.file)?;
    let runtime = runtime()?;
    let clients = runtime.block_on(connect(&global.connect_options(), Some(&valid)));
    let options = PlanOptions { allow_destructive: args.allow_destructive };
    let outcome = runtime.block_on(make_plan(&valid, &clients, options, global.parallelism))?;
    print!("{}", render_text(&outcome.plan, TextOptions { color: global.color() }));
    if outcome.plan.is_empty() {
        return Ok(EXIT_OK);
    }
    if !args.auto_approve && !confirm()? {
        eprintln!("apply cancelled; nothing was changed");
        return Ok(EXIT_ERROR);
    }
    let reporter: Arc<dyn Reporter> = Arc::new(ProgressReporter::new(outcome.plan.actions.len()));
    let started = Instant::now();
    let report = runtime.block_on(apply_plan(&outcome.plan, &clients, global.parallelism, reporter, &outcome.known));
    println!(
        "\nApply {}: {} done, {} failed, {} skipped in {:.1} s.",
        if report.succeeded() { "complete" } else { "stopped" },
        report.done.len(),
        report.failed.len(),
        report.skipped.len(),
        started.elapsed().as_secs_f64()
    );
    for (index, message) in &report.failed {
        let address = outcome.plan.actions.get(*index).map_or_else(|| "internal".to_string(), |a| a.action.address());
        eprintln!("error: {address}: {message}");
    }
    if !report.skipped.is_empty() {
        eprintln!("hint: run `landing-zone apply` again: every action is idempotent and the next plan picks up where this stopped");
    }
    Ok(if report.succeeded() { EXIT_OK } else { EXIT_ERROR })
}

fn confirm() -> anyhow::Result<bool> {
    if !std::io::stdin().is_terminal() {
        anyhow::bail!(
            "refusing to apply without confirmation: stdin is not a terminal\nhint: pass --auto-approve in CI"
        );
    }
    print!("\nApply these changes? Only `yes` is accepted: ");
    std::io::stdout().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(answer.trim() == "yes")
}

/// A progress bar on a terminal, plain lines otherwise (both on stderr).
struct ProgressReporter {
    bar: Option<indicatif::ProgressBar>,
}

impl ProgressReporter {
    fn new(total: usize) -> ProgressReporter {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new(total as u64);
            if let Ok(style) = indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} {wide_msg}") {
                bar.set_style(style);
            }
            bar
        });
        ProgressReporter { bar }
    }
}

impl Reporter for ProgressReporter {
    fn started(&self, action: &PlannedAction) {
        if let Some(bar) = &self.bar {
            bar.set_message(action.action.address());
        }
    }

    fn finished(&self, action: &PlannedAction, outcome: &Result<(), String>) {
        let line = match outcome {
            Ok(()) => format!("done    {}", action.action.address()),
            Err(message) => format!("FAILED  {}: {message}", action.action.address()),
        };
        match &self.bar {
            Some(bar) => {
                bar.println(line);
                bar.inc(1);
            }
            None => eprintln!("{line}"),
        }
    }
}
