//! `landing-zone apply [PLAN]`: plan afresh (or check a saved plan against the live objects it was
//! made from), confirm, take the organization lock, execute with progress, record the change
//! history, release the lock (also on error and Ctrl-C).

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::bail;
use clap::Args;

use super::{runtime, write_stderr, write_stdout, GlobalOptions, EXIT_ERROR, EXIT_OK};
use crate::apply::lock::{LockInfo, StateStore};
use crate::apply::{ApplyReport, Outcome, Reporter};
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
        write_stdout(&render_text(&preview.plan, TextOptions { color: global.color() }))?;
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
        write_stderr(&format!("lock {} taken in s3://{}", lock.id, store.bucket));
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
    let saved = super::show::read_saved_plan(path)?;
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
    write_stdout(&render_text(&plan, TextOptions { color: global.color() }))?;
    if plan.is_empty() {
        return Ok(EXIT_OK);
    }
    if !args.auto_approve && saved.is_none() && !confirm()? {
        write_stderr("apply cancelled; nothing was changed");
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
        write_stderr(&format!("warning: {error:#}"));
    }
    let Some(report) = applied else {
        write_stderr("interrupted: the lock is released; run `landing-zone apply` again to finish");
        return Ok(130);
    };
    // The summary is printed even when stdout is gone: the lock must still be released (by the
    // caller) before the broken pipe ends the process quietly.
    let printed = write_stdout(&format!("\n{}\n", report.summary_line(elapsed.as_secs_f64())));
    let address = |index: usize| plan.actions.get(index).map_or_else(|| "internal".to_string(), |a| a.action.address());
    for (index, reason) in &report.skipped {
        write_stderr(&format!("warning: skipped {}: {reason}", address(*index)));
    }
    for (index, message) in &report.failed {
        write_stderr(&format!("error: {}: {message}", address(*index)));
    }
    printed?;
    if !report.not_started.is_empty() {
        write_stderr("hint: run `landing-zone apply` again: every action is idempotent and the next plan picks up where this stopped");
    }
    Ok(if report.succeeded() { EXIT_OK } else { EXIT_ERROR })
}

/// What the change history keeps of one apply: who, when, and each action's result
/// (`{"result": "done" | "skipped" | "failed" | "not_started" | "interrupted", "reason" | "error"}`).
fn history_record(plan: &Plan, report: Option<&ApplyReport>, lock: &LockInfo, elapsed: Duration) -> serde_json::Value {
    let status = |index: usize| match report {
        None => serde_json::json!({ "result": "interrupted" }),
        Some(report) => serde_json::to_value(report.outcome(index)).unwrap_or_default(),
    };
    serde_json::json!({
        "who": lock.holder,
        "started_at": lock.since,
        "seconds": elapsed.as_secs_f64(),
        "tool_version": env!("CARGO_PKG_VERSION"),
        "summary": plan.summary(),
        "outcome": report.map(|report| serde_json::json!({
            "done": report.done.len(),
            "skipped": report.skipped.len(),
            "failed": report.failed.len(),
            "not_started": report.not_started.len(),
        })),
        "actions": plan.actions.iter().map(|planned| {
            let mut entry = serde_json::json!({
                "address": planned.action.address(),
                "kind": planned.action.change_kind(),
            });
            if let (Some(entry), serde_json::Value::Object(result)) = (entry.as_object_mut(), status(planned.index)) {
                entry.extend(result);
            }
            entry
        }).collect::<Vec<_>>(),
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
            bar.set_message(crate::plan::escape::inline(&action.action.address()).into_owned());
        }
    }

    fn finished(&self, action: &PlannedAction, outcome: &Outcome) {
        let line = crate::plan::escape::inline(&outcome.progress_line(&action.action.address())).into_owned();
        match &self.bar {
            Some(bar) => {
                bar.println(line);
                bar.inc(1);
            }
            None => write_stderr(&line),
        }
    }
}
