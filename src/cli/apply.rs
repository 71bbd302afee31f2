//! `landing-zone apply [PLAN]`: show the plan (a fresh one, confirmed here, or a saved one approved
//! in a pull request), then `ops::apply` applies exactly that under the organization lock; this
//! file renders progress and the outcome.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::bail;
use clap::Args;

use super::load_spec;
use super::progress::ReadProgressDisplay;
use super::{runtime, write_stderr, write_stdout, GlobalOptions, EXIT_ERROR, EXIT_OK};
use crate::apply::progress::ApplyTally;
use crate::apply::{ApplyReport, Outcome, Reporter};
use crate::ops::apply::{apply_reviewed, ApplyOptions, ApplyOutcome, Reporters, Reviewed};
use crate::ops::plan::{connect, make_targeted_plan};
use crate::plan::render::{render_text, TextOptions};
use crate::plan::saved::SavedPlan;
use crate::plan::target::{partial_line, Target};
use crate::plan::touched::Touched;
use crate::plan::{Plan, PlanOptions, PlannedAction};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ApplyFormat {
    Text,
    /// The plan for review and the progress on stderr; on stdout one JSON document of what the
    /// apply did (result, counts, each action's result).
    Json,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    #[arg(long, value_enum, default_value_t = ApplyFormat::Text)]
    pub format: ApplyFormat,
    /// A plan saved with `plan --out FILE`: applied only if nothing it was made from changed.
    pub plan_file: Option<PathBuf>,
    /// Apply without asking (for CI).
    #[arg(long)]
    pub auto_approve: bool,
    /// Permit the destructive changes the spec opts into under `organization.allow`.
    #[arg(long)]
    pub allow_destructive: bool,
    /// How long to wait for another apply's lock, in seconds.
    #[arg(long, default_value_t = 60)]
    pub lock_timeout: u64,
    /// Limit the apply to an account (`account:NAME`) or a unit and everything under it
    /// (`unit:PATH`); repeatable. A saved plan applies with the targets it was made with.
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

pub fn run(global: &GlobalOptions, args: &ApplyArgs) -> anyhow::Result<u8> {
    let valid = load_spec(&global.file)?;
    // The desired organization, derived from the spec once for the whole command.
    let desired = crate::baseline::desired_organization(&valid);
    let saved = args.plan_file.as_ref().map(|path| read_saved_plan(path, &valid)).transpose()?;
    if let Some(saved) = &saved {
        let given: Vec<String> = args.targets.iter().map(ToString::to_string).collect();
        if !given.is_empty() && given != saved.targets {
            bail!(
                "the saved plan was made with {}, not {}\nhint: a saved plan applies with its own targets: drop `--target`, or make the plan again with the targets you want",
                describe_targets(&saved.targets),
                describe_targets(&given)
            );
        }
    } else {
        // An unknown target is refused before anything is read or written.
        crate::plan::target::resolve(&args.targets, &desired)?;
    }
    let runtime = runtime()?;
    let clients = runtime.block_on(connect(&global.connect_options(), Some(&valid)))?;
    let options = ApplyOptions {
        concurrency: global.concurrency(),
        plan: PlanOptions { allow_destructive: args.allow_destructive },
        lock_timeout: Duration::from_secs(args.lock_timeout),
        home_region: valid.spec.organization.regions.first().cloned().unwrap_or_else(|| "us-east-1".to_string()),
        targets: args.targets.clone(),
    };
    let color = TextOptions { color: global.color() };

    // What the person reviews: the saved plan (approved in a pull request), or a fresh preview
    // confirmed here. The lock is taken only after that, so a prompt left open holds nothing.
    let json = args.format == ApplyFormat::Json;
    let show = |plan: &Plan, targets: &[String]| {
        let text = render_text(plan, color);
        let text = match partial_line(targets) {
            Some(line) => format!("{line}\n\n{text}"),
            None => text,
        };
        // With `--format json` stdout holds only the JSON document: the plan is shown on stderr.
        if json {
            write_stderr(text.trim_end());
            Ok(())
        } else {
            write_stdout(&text)
        }
    };
    let nothing = |plan: &Plan| -> anyhow::Result<u8> {
        if json {
            let document = crate::ops::apply::report_json(plan, None, Duration::ZERO);
            write_json(&nothing_done(document, "nothing_to_do"))?;
        }
        Ok(EXIT_OK)
    };
    let preview_plan;
    let preview_digests;
    let show_fresh = |plan: &Plan| show(plan, &options.targets.iter().map(ToString::to_string).collect::<Vec<_>>());
    let reviewed = match &saved {
        Some(saved) => {
            show(&saved.plan, &saved.targets)?;
            if saved.plan.is_empty() {
                return nothing(&saved.plan);
            }
            Reviewed::Saved { plan: &saved.plan, live_digests: &saved.live_digests }
        }
        // A fresh plan, read without the lock: when it is empty nothing is locked or written;
        // otherwise it is confirmed here (or by `--auto-approve`) and, under the lock, what it
        // touches is read again (`ops::apply`).
        None => {
            let preview = runtime.block_on(make_targeted_plan(
                &desired,
                &clients,
                options.plan,
                options.concurrency,
                &ReadProgressDisplay::new(),
                &options.targets,
            ))?;
            show(&preview.plan, &preview.targets)?;
            if preview.plan.is_empty() {
                return nothing(&preview.plan);
            }
            if !args.auto_approve && !confirm()? {
                write_stderr("apply cancelled; nothing was changed");
                return Ok(EXIT_ERROR);
            }
            let touched = Touched::of(&preview.plan, &desired);
            preview_digests = touched.digests(&preview.live);
            // Only the plan and the digests of what it touches are needed from here: the live
            // organization the preview read (every account's controls) is dropped before the
            // apply reads it again under the lock, rather than held beside that read.
            preview_plan = preview.plan;
            match args.auto_approve {
                true => {
                    Reviewed::AutoApproved { plan: &preview_plan, live_digests: &preview_digests, show: &show_fresh }
                }
                false => Reviewed::Confirmed { plan: &preview_plan, live_digests: &preview_digests },
            }
        }
    };
    let reads = ReadProgressDisplay::new();
    let reporters = Reporters { reads: &reads, actions: Arc::new(ProgressReporter::new()) };
    let outcome = runtime.block_on(apply_reviewed(&desired, &clients, reviewed, &options, reporters, interrupted()))?;
    match outcome {
        ApplyOutcome::NothingToDo => nothing(&empty_plan()),
        ApplyOutcome::Interrupted => {
            write_stderr("interrupted: the lock is released; run `landing-zone apply` again to finish");
            if json {
                let document = crate::ops::apply::report_json(&empty_plan(), None, Duration::ZERO);
                write_json(&nothing_done(document, "interrupted"))?;
            }
            Ok(130)
        }
        ApplyOutcome::Executed { plan, report, elapsed } => {
            if json {
                write_json(&crate::ops::apply::report_json(&plan, Some(&report), elapsed))?;
            }
            render_report(&plan, &report, elapsed, json)
        }
    }
}

fn empty_plan() -> Plan {
    Plan {
        format_version: crate::plan::action::PLAN_FORMAT_VERSION,
        actions: Vec::new(),
        warnings: Vec::new(),
        notes: Vec::new(),
        blocked: Vec::new(),
    }
}

/// A report of an apply that executed nothing, with `result` saying why.
fn nothing_done(mut document: serde_json::Value, result: &str) -> serde_json::Value {
    document["result"] = serde_json::Value::String(result.to_string());
    document
}

fn write_json(document: &serde_json::Value) -> anyhow::Result<()> {
    write_stdout(&(serde_json::to_string_pretty(document)? + "\n"))
}

/// Resolves on the first SIGINT (Ctrl-C) or SIGTERM (CI cancelling a job).
async fn interrupted() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// The summary after an execution; the exit status. The lock is already released, so a closed
/// stdout can end the process here.
fn render_report(plan: &Plan, report: &ApplyReport, elapsed: Duration, json: bool) -> anyhow::Result<u8> {
    let summary = format!("\n{}\n", report.summary_line(elapsed.as_secs_f64()));
    // With `--format json` the summary line joins the progress on stderr.
    let printed = if json {
        write_stderr(summary.trim());
        Ok(())
    } else {
        write_stdout(&summary)
    };
    let address = |index: usize| plan.actions.get(index).map_or_else(|| "internal".to_string(), |a| a.action.address());
    for (index, reason) in &report.skipped {
        write_stderr(&format!("warning: skipped {}: {reason}", address(*index)));
    }
    for (index, message) in &report.failed {
        write_stderr(&format!("error: {}: {message}", address(*index)));
    }
    if !report.failed_accounts.is_empty() {
        // Failures stayed within these accounts; unless `stopped`, every other account went on.
        let names: Vec<String> =
            report.failed_accounts.iter().map(|name| format!("`{}`", crate::plan::escape::inline(name))).collect();
        write_stderr(&format!(
            "error: {} account{} failed: {}",
            names.len(),
            if names.len() == 1 { "" } else { "s" },
            names.join(", ")
        ));
    }
    printed?;
    if !report.not_started.is_empty() {
        write_stderr("hint: run `landing-zone apply` again: every action is idempotent and the next plan picks up where this stopped");
    }
    Ok(if report.succeeded() { EXIT_OK } else { EXIT_ERROR })
}

/// `--target account:a --target unit:B`, or `the whole organization`.
fn describe_targets(targets: &[String]) -> String {
    if targets.is_empty() {
        return "the whole organization (no `--target`)".to_string();
    }
    targets.iter().map(|target| format!("`--target {target}`")).collect::<Vec<_>>().join(" ")
}

/// Reads a saved plan (checked as `show` checks it) made from this spec.
fn read_saved_plan(path: &std::path::Path, valid: &crate::spec::ValidSpec) -> anyhow::Result<SavedPlan> {
    let saved = super::show::read_saved_plan(path)?;
    if saved.spec_digest != valid.content_digest() {
        bail!("the spec changed since `{}` was made; run `landing-zone plan --out` again", path.display());
    }
    Ok(saved)
}

fn confirm() -> anyhow::Result<bool> {
    if !std::io::stdin().is_terminal() {
        bail!("refusing to apply without confirmation: stdin is not a terminal\nhint: pass --auto-approve in CI");
    }
    print!("\nApply these changes? Only `yes` is accepted: ");
    std::io::stdout().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(answer.trim() == "yes")
}

/// A progress bar on a terminal, plain lines otherwise (both on stderr): a line per finished
/// action, and where the apply stands (actions done / total, failures, throttles met) on the bar
/// or, when not a terminal, as a plain line at most every `progress::PLAIN_EVERY` and at the end.
struct ProgressReporter {
    bar: Option<indicatif::ProgressBar>,
    tally: ApplyTally,
    started: Instant,
    last_line: Mutex<Option<Instant>>,
}

impl ProgressReporter {
    fn new() -> ProgressReporter {
        let bar = std::io::stderr().is_terminal().then(|| {
            // The length is known once the plan under the lock is made (`begin`).
            let bar = indicatif::ProgressBar::new(0);
            if let Ok(style) = indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} {wide_msg}") {
                bar.set_style(style);
            }
            bar
        });
        ProgressReporter { bar, tally: ApplyTally::default(), started: Instant::now(), last_line: Mutex::new(None) }
    }
}

impl Reporter for ProgressReporter {
    fn begin(&self, total: usize) {
        self.tally.begin(total);
        if let Some(bar) = &self.bar {
            bar.set_length(total as u64);
        }
    }

    fn started(&self, action: &PlannedAction) {
        if let Some(bar) = &self.bar {
            bar.set_message(crate::plan::escape::inline(&action.action.address()).into_owned());
        }
    }

    fn finished(&self, action: &PlannedAction, outcome: &Outcome) {
        let line = crate::plan::escape::inline(&outcome.progress_line(&action.action)).into_owned();
        let progress = self.tally.finished(outcome);
        match &self.bar {
            Some(bar) => {
                bar.println(line);
                bar.inc(1);
                if progress.finished == progress.total {
                    bar.finish_and_clear();
                    write_stderr(&progress.to_string());
                }
            }
            None => {
                write_stderr(&line);
                let mut last_line = self.last_line.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                let now = Instant::now();
                let last = progress.finished == progress.total && last_line.is_some();
                if last || super::progress::plain_line_due(self.started, *last_line, now) {
                    *last_line = Some(now);
                    write_stderr(&progress.to_string());
                }
            }
        }
    }
}
