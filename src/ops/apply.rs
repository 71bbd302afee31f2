//! `apply`: execute exactly the plan a person reviewed.
//!
//! The reviewed plan — shown by `apply` and confirmed, or saved by `plan --out` and approved in a
//! pull request — is made again under the organization lock from a fresh read, and executed only
//! if the fresh plan's actions equal the reviewed ones: nothing that changed in between, in AWS or
//! in a saved file, can slip in. The lock is taken only after the person confirmed (so a prompt
//! left open holds nothing), carries who, where and which process holds it, and is released
//! whatever happens: success, failure, an error, SIGINT or SIGTERM.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};

use super::plan::{make_plan, now_rfc3339};
use crate::apply::lock::{LockInfo, StateStore};
use crate::apply::{execute, ApplyOptions as ExecutorOptions, ApplyReport, Reporter};
use crate::aws::{caller_identity, Clients};
use crate::plan::saved::{changed_objects, live_digests};
use crate::plan::{Plan, PlanOptions, PlannedAction};
use crate::spec::ValidSpec;

/// How an apply runs.
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    pub parallelism: usize,
    pub plan: PlanOptions,
    /// How long to wait for another apply's lock.
    pub lock_timeout: Duration,
    /// Where the state bucket (lock and change history) lives: the spec's home region.
    pub home_region: String,
}

/// What a person approved.
#[derive(Debug, Clone, Copy)]
pub enum Reviewed<'a> {
    /// A plan shown and confirmed at the prompt: the fresh plan must equal it.
    Confirmed(&'a Plan),
    /// A plan saved by `plan --out` and approved in a pull request: the fresh plan must equal it,
    /// and the live objects it was made from must not have changed (their digests), even where the
    /// change leaves the actions equal.
    Saved { plan: &'a Plan, live_digests: &'a BTreeMap<String, String> },
    /// `--auto-approve` without a saved plan: nothing was reviewed, so the plan made under the
    /// lock is applied as it is (another apply may have done part of the work meanwhile).
    AutoApproved,
}

impl<'a> Reviewed<'a> {
    /// The plan the person saw, if they saw one.
    pub fn plan(&self) -> Option<&'a Plan> {
        match self {
            Reviewed::Confirmed(plan) | Reviewed::Saved { plan, .. } => Some(plan),
            Reviewed::AutoApproved => None,
        }
    }
}

/// How an apply ended (errors before or around execution are `Err`).
#[derive(Debug)]
pub enum ApplyOutcome {
    /// Nothing to do: the fresh plan under the lock is empty, as the reviewed one was.
    NothingToDo,
    /// Every action ran, or some failed or were skipped (see the report).
    Executed { plan: Plan, report: ApplyReport, elapsed: Duration },
    /// SIGINT or SIGTERM arrived; the lock was released.
    Interrupted,
}

/// Takes the lock, re-plans, checks the fresh plan against the reviewed one, executes it, records
/// the change history and releases the lock. `interrupted` resolves when the user asks to stop.
pub async fn apply_reviewed(
    valid: &ValidSpec,
    clients: &Clients,
    reviewed: Reviewed<'_>,
    options: &ApplyOptions,
    reporter: Arc<dyn Reporter>,
    interrupted: impl Future<Output = ()>,
) -> Result<ApplyOutcome> {
    let caller = caller_identity(clients).await?;
    if clients.sessions.management_account().await.is_none() {
        // No organization was read yet (a saved plan) or none exists: the caller's account is the
        // management account (or will be, when this apply creates the organization).
        clients.sessions.set_management_account(&caller.account).await;
    }
    let store = StateStore::new(&clients.sessions, &caller.account, &options.home_region).await;
    store.ensure_bucket().await?;
    let lock = LockInfo::for_this_process(&caller.arn, now_rfc3339());
    tokio::pin!(interrupted);
    tokio::select! {
        taken = store.acquire(&lock, options.lock_timeout) => taken?,
        () = &mut interrupted => {
            // The lock may have been written just as the signal came: free it if it is ours.
            store.release(&lock.id).await?;
            return Ok(ApplyOutcome::Interrupted);
        }
    }
    tracing::info!(lock = %lock.id, bucket = %store.bucket, "lock taken");
    // Everything from here runs under the lock, which is released whatever happens.
    let result = tokio::select! {
        result = locked(valid, clients, reviewed, options, reporter, &store, &lock) => result,
        () = &mut interrupted => {
            if let Some(plan) = reviewed.plan() {
                record(&store, &lock, plan, None, Duration::ZERO).await;
            }
            Ok(ApplyOutcome::Interrupted)
        }
    };
    let released = store.release(&lock.id).await;
    let outcome = result?;
    released?;
    Ok(outcome)
}

async fn locked(
    valid: &ValidSpec,
    clients: &Clients,
    reviewed: Reviewed<'_>,
    options: &ApplyOptions,
    reporter: Arc<dyn Reporter>,
    store: &StateStore,
    lock: &LockInfo,
) -> Result<ApplyOutcome> {
    let fresh = make_plan(valid, clients, options.plan, options.parallelism).await?;
    if let Reviewed::Saved { live_digests: saved, .. } = reviewed {
        let changes = changed_objects(saved, &live_digests(&fresh.live));
        if !changes.is_empty() {
            bail!(
                "the organization changed since the saved plan was made:\n  {}\nhint: run `landing-zone plan --out` again and review the new plan",
                changes.join("\n  ")
            );
        }
    }
    if let Some(difference) = reviewed.plan().and_then(|plan| first_difference(plan, &fresh.plan)) {
        bail!(
            "the plan made now differs from the reviewed one, so nothing was applied: {difference}\nhint: run `landing-zone plan` again and review what changed"
        );
    }
    if fresh.plan.is_empty() {
        return Ok(ApplyOutcome::NothingToDo);
    }
    let started = Instant::now();
    let executor = ExecutorOptions { parallelism: options.parallelism };
    let report = execute(&fresh.plan, clients, executor, reporter, &fresh.known).await;
    let elapsed = started.elapsed();
    record(store, lock, &fresh.plan, Some(&report), elapsed).await;
    Ok(ApplyOutcome::Executed { plan: fresh.plan, report, elapsed })
}

/// The first action that differs between the reviewed plan and the fresh one, in words; None when
/// their actions (and each action's dependencies) are equal.
pub fn first_difference(reviewed: &Plan, fresh: &Plan) -> Option<String> {
    let describe =
        |planned: &PlannedAction| serde_json::to_string(&planned.action).unwrap_or_else(|_| planned.action.address());
    for (index, pair) in reviewed.actions.iter().zip(&fresh.actions).enumerate() {
        let (old, new) = pair;
        if old.action != new.action {
            return Some(format!(
                "action {} was reviewed as `{}` ({}) but is now `{}` ({})",
                index + 1,
                old.action.address(),
                describe(old),
                new.action.address(),
                describe(new)
            ));
        }
        if old.depends_on != new.depends_on {
            return Some(format!("the order of `{}` changed", old.action.address()));
        }
    }
    match reviewed.actions.len().cmp(&fresh.actions.len()) {
        std::cmp::Ordering::Less => Some(format!(
            "the fresh plan has {} more action(s), the first `{}`",
            fresh.actions.len() - reviewed.actions.len(),
            fresh.actions[reviewed.actions.len()].action.address()
        )),
        std::cmp::Ordering::Greater => Some(format!(
            "{} reviewed action(s) are no longer planned, the first `{}`",
            reviewed.actions.len() - fresh.actions.len(),
            reviewed.actions[fresh.actions.len()].action.address()
        )),
        std::cmp::Ordering::Equal => None,
    }
}

/// Writes the change history record; a failure to write it is logged, not fatal (the apply itself
/// already happened).
async fn record(store: &StateStore, lock: &LockInfo, plan: &Plan, report: Option<&ApplyReport>, elapsed: Duration) {
    let record = history_record(plan, report, lock, elapsed);
    if let Err(error) = store.record(&format!("{}-{}", lock.since, lock.id), &record).await {
        tracing::warn!("recording the change history failed: {error:#}");
    }
}

/// What the change history keeps of one apply: who, where, when, and each action's result
/// (`{"result": "done" | "skipped" | "failed" | "not_started" | "interrupted", "reason" | "error"}`).
fn history_record(plan: &Plan, report: Option<&ApplyReport>, lock: &LockInfo, elapsed: Duration) -> serde_json::Value {
    let status = |index: usize| match report {
        None => serde_json::json!({ "result": "interrupted" }),
        Some(report) => serde_json::to_value(report.outcome(index)).unwrap_or_default(),
    };
    serde_json::json!({
        "who": lock.holder,
        "user": lock.user,
        "host": lock.host,
        "pid": lock.pid,
        "started_at": lock.since,
        "seconds": elapsed.as_secs_f64(),
        "tool_version": env!("CARGO_PKG_VERSION"),
        "summary": plan.summary(),
        "outcome": report.map(|report| serde_json::json!({
            "done": report.done.len(),
            "skipped": report.skipped.len(),
            "failed": report.failed.len(),
            "not_started": report.not_started.len(),
            "failed_accounts": report.failed_accounts,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::action::{Action, PLAN_FORMAT_VERSION};

    fn plan_of(actions: Vec<Action>) -> Plan {
        Plan {
            format_version: PLAN_FORMAT_VERSION,
            actions: actions
                .into_iter()
                .enumerate()
                .map(|(index, action)| PlannedAction { index, action, depends_on: Vec::new(), reaches_accounts: 1 })
                .collect(),
            warnings: Vec::new(),
            notes: Vec::new(),
        }
    }

    fn create(email: &str) -> Action {
        Action::CreateAccount {
            name: "app".to_string(),
            email: email.to_string(),
            tags: BTreeMap::new(),
            pending_request: None,
        }
    }

    #[test]
    fn equal_plans_have_no_difference() {
        let plan = plan_of(vec![create("a@example.com")]);
        assert_eq!(first_difference(&plan, &plan.clone()), None);
    }

    #[test]
    fn a_changed_attribute_is_named() {
        let reviewed = plan_of(vec![create("a@example.com")]);
        let fresh = plan_of(vec![create("attacker@example.net")]);
        let difference = first_difference(&reviewed, &fresh).expect("differs");
        assert!(difference.contains("attacker@example.net") && difference.contains("a@example.com"), "{difference}");
    }

    #[test]
    fn added_and_removed_actions_are_named() {
        let one = plan_of(vec![create("a@example.com")]);
        let two = plan_of(vec![create("a@example.com"), Action::EnableServiceAccess { service: "x".to_string() }]);
        assert!(first_difference(&one, &two).expect("more").contains("1 more action"));
        assert!(first_difference(&two, &one).expect("fewer").contains("no longer planned"));
    }
}
