//! `landing-zone apply [PLAN]`: plan afresh (or check a saved plan against the live objects it was
//! made from), confirm, take the organization lock, execute with progress, record the change
//! history, release the lock (also on error and Ctrl-C).

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Args;

use super::{runtime, GlobalOptions, EXIT_ERROR, EXIT_OK};
use crate::apply::lock::{LockInfo, StateStore};
use crate::apply::{ApplyReport, Reporter};
use crate::operations::{apply_plan, caller_identity, connect, make_plan, now_rfc3339};
use crate::plan::render::{render_text, TextOptions};
use crate::plan::saved::{changed_objects, live_digests, SavedPlan};
use crate::plan::{Plan, PlanOptions, PlannedAction};
use crate::spec::load_spec;

#[derive(Debug, Args)]
pub struct ApplyArgs {
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
}

pub fn run(global: &GlobalOptions, args: &ApplyArgs) -> anyhow::Result<u8> {
    let valid = load_spec(&global.file)?;
    let saved = args.plan_file.as_ref().map(|path| read_saved_plan(path, &valid)).transpose()?;
    let runtime = runtime()?;
    let clients = runtime.block_on(connect(&global.connect_options(), Some(&valid)));
    let options = PlanOptions { allow_destructive: args.allow_destructive };

    // A first, read-only plan: errors and "no changes" end here without taking the lock.
    let preview = runtime.block_on(make_plan(&valid, &clients, options, global.parallelism))?;
    if saved.is_none() && preview.plan.is_empty() {
        print!("{}", render_text(&preview.plan, TextOptions { color: global.color() }));
        return Ok(EXIT_OK);
    }

    let home_region = valid.spec.organization.regions.first().cloned().unwrap_or_else(|| "us-east-1".to_string());
    let outcome = runtime.block_on(async {
        let caller = caller_identity(&clients).await?;
        if preview.live.organization.is_none() {
            clients.sessions.set_management_account(&caller.account).await;
        }
        let store = StateStore::new(&clients.sessions, &caller.account, &home_region).await;
        store.ensure_bucket().await?;
        let lock = LockInfo {
            id: format!("{:016x}", fastrand::u64(..)),
            holder: caller.arn.clone(),
            since: now_rfc3339(),
            host: std::env::var("HOSTNAME").unwrap_or_default(),
            pid: std::process::id(),
        };
        store.acquire(&lock, Duration::from_secs(args.lock_timeout)).await?;
        eprintln!("lock {} taken in s3://{}", lock.id, store.bucket);
        // Everything from here runs under the lock, which is released whatever happens.
        let result = apply_locked(global, args, &valid, &clients, options, saved.as_ref(), &store, &lock).await;
        let released = store.release(&lock.id).await;
        let result = result?;
        released?;
        Ok::<_, anyhow::Error>(result)
    })?;
    Ok(outcome)
}

fn read_saved_plan(path: &std::path::Path, valid: &crate::spec::ValidSpec) -> anyhow::Result<SavedPlan> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading saved plan `{}`", path.display()))?;
    let saved: SavedPlan =
        serde_json::from_str(&text).with_context(|| format!("`{}` is not a landing-zone plan", path.display()))?;
    if saved.spec_digest != valid.content_digest() {
        bail!("the spec changed since `{}` was made; run `landing-zone plan --out` again", path.display());
    }
    Ok(saved)
}

/// Plans again under the lock (the world may have moved while waiting), checks a saved plan
/// against it, confirms, executes and records the change history.
#[expect(clippy::too_many_arguments, reason = "one call site; the pieces are the whole context of an apply")]
async fn apply_locked(
    global: &GlobalOptions,
    args: &ApplyArgs,
    valid: &crate::spec::ValidSpec,
    clients: &crate::aws::Clients,
    options: PlanOptions,
    saved: Option<&SavedPlan>,
    store: &StateStore,
    lock: &LockInfo,
) -> anyhow::Result<u8> {
    let outcome = make_plan(valid, clients, options, global.parallelism).await?;
    let (plan, known) = match saved {
        None => (outcome.plan, outcome.known),
        Some(saved) => {
            let changes = changed_objects(&saved.live_digests, &live_digests(&outcome.live));
            if !changes.is_empty() {
                bail!(
                    "the organization changed since the saved plan was made ({}):\n  {}\nhint: run `landing-zone plan --out` again and review the new plan",
                    saved.created_at,
                    changes.join("\n  ")
                );
            }
            (saved.plan.clone(), saved.known_ids())
        }
    };
    print!("{}", render_text(&plan, TextOptions { color: global.color() }));
    if plan.is_empty() {
        return Ok(EXIT_OK);
    }
    if !args.auto_approve && saved.is_none() && !confirm()? {
        eprintln!("apply cancelled; nothing was changed");
        return Ok(EXIT_ERROR);
    }
    let reporter: Arc<dyn Reporter> = Arc::new(ProgressReporter::new(plan.actions.len()));
    let started = Instant::now();
    let applied = tokio::select! {
        report = apply_plan(&plan, clients, global.parallelism, reporter, &known) => Some(report),
        _ = tokio::signal::ctrl_c() => None,
    };
    let elapsed = started.elapsed();
    let record = history_record(&plan, applied.as_ref(), lock, elapsed);
    if let Err(error) = store.record(&format!("{}-{}", lock.since, lock.id), &record).await {
        eprintln!("warning: {error:#}");
    }
    let Some(report) = applied else {
        eprintln!("interrupted: the lock is released; run `landing-zone apply` again to finish");
        return Ok(130);
    };
    println!(
        "\nApply {}: {} done, {} failed, {} skipped in {:.1} s.",
        if report.succeeded() { "complete" } else { "stopped" },
        report.done.len(),
        report.failed.len(),
        report.skipped.len(),
        elapsed.as_secs_f64()
    );
    for (index, message) in &report.failed {
        let address = plan.actions.get(*index).map_or_else(|| "internal".to_string(), |a| a.action.address());
        eprintln!("error: {address}: {message}");
    }
    if !report.skipped.is_empty() {
        eprintln!("hint: run `landing-zone apply` again: every action is idempotent and the next plan picks up where this stopped");
    }
    Ok(if report.succeeded() { EXIT_OK } else { EXIT_ERROR })
}

/// What the change history keeps of one apply: who, when, and each action's result.
fn history_record(plan: &Plan, report: Option<&ApplyReport>, lock: &LockInfo, elapsed: Duration) -> serde_json::Value {
    let status = |index: usize| match report {
        None => "interrupted".to_string(),
        Some(report) if report.done.contains(&index) => "done".to_string(),
        Some(report) => report
            .failed
            .iter()
            .find(|(failed, _)| *failed == index)
            .map_or_else(|| "skipped".to_string(), |(_, message)| format!("failed: {message}")),
    };
    serde_json::json!({
        "who": lock.holder,
        "started_at": lock.since,
        "seconds": elapsed.as_secs_f64(),
        "tool_version": env!("CARGO_PKG_VERSION"),
        "summary": plan.summary(),
        "actions": plan.actions.iter().map(|planned| serde_json::json!({
            "address": planned.action.address(),
            "kind": planned.action.change_kind(),
            "result": status(planned.index),
        })).collect::<Vec<_>>(),
    })
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
