//! `apply`: execute exactly the plan a person reviewed.
//!
//! The reviewed plan — shown by `apply` and confirmed, or saved by `plan --out` and approved in a
//! pull request — is executed as it was reviewed, under the organization lock, only if nothing it
//! touches moved since: under the lock the objects its actions name, and what their preconditions
//! rest on (`plan::touched`), are read again and their digests compared with those of the read
//! the plan was made from. Since the planner is a pure function of what it read, equal digests
//! mean the same actions; anything else in the organization may have changed meanwhile without
//! blocking, and is not applied (it was not reviewed). `--auto-approve` without a saved plan is
//! the fresh plan confirmed without asking: made without the lock, so that a run with nothing to
//! do takes no lock and writes nothing, and checked under the lock like a confirmed plan; when
//! what it touches moved meanwhile (another apply ran), it is planned again under the lock and
//! that plan is applied, since nobody reviewed either.
//!
//! The lock is taken only after the person confirmed (so a prompt left open holds nothing),
//! carries who, where and which process holds it, and is released whatever happens: success,
//! failure, an error, SIGINT or SIGTERM.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};

use super::plan::{make_targeted_plan, now_rfc3339, read_live, ReadLimits};
use crate::apply::lock::{LockInfo, StateStore};
use crate::apply::{execute, ApplyOptions as ExecutorOptions, ApplyReport, Reporter};
use crate::aws::{caller_identity, Clients};
use crate::live::progress::ReadReporter;
use crate::plan::saved::changed_objects;
use crate::plan::target::Target;
use crate::plan::touched::Touched;
use crate::plan::{DesiredOrganization, Plan, PlanOptions};

/// How an apply runs.
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    pub concurrency: crate::aws::Concurrency,
    pub plan: PlanOptions,
    /// How long to wait for another apply's lock.
    pub lock_timeout: Duration,
    /// Where the state bucket (lock and change history) lives: the spec's home region.
    pub home_region: String,
    /// `--target`s (`--auto-approve` without a saved plan plans under the lock with them).
    pub targets: Vec<Target>,
}

/// What a person approved.
#[derive(Clone, Copy)]
pub enum Reviewed<'a> {
    /// A plan shown and confirmed at the prompt, with the digests of the objects it touches as
    /// the preview read them (`Touched::digests`).
    Confirmed { plan: &'a Plan, live_digests: &'a BTreeMap<String, String> },
    /// A plan saved by `plan --out` and approved in a pull request, with the digests of the
    /// objects it touches when it was made.
    Saved { plan: &'a Plan, live_digests: &'a BTreeMap<String, String> },
    /// `--auto-approve` without a saved plan: the fresh plan (already shown) with its digests.
    /// When what it touches moved before the lock was taken, the organization is read again
    /// under the lock and that plan is applied as it is; `show` is given it first.
    AutoApproved {
        plan: &'a Plan,
        live_digests: &'a BTreeMap<String, String>,
        show: &'a (dyn Fn(&Plan) -> Result<()> + Sync),
    },
}

impl<'a> Reviewed<'a> {
    /// The plan that was shown.
    pub fn plan(&self) -> &'a Plan {
        match self {
            Reviewed::Confirmed { plan, .. } | Reviewed::Saved { plan, .. } | Reviewed::AutoApproved { plan, .. } => {
                plan
            }
        }
    }
}

/// How an apply ended (errors before or around execution are `Err`).
#[derive(Debug)]
pub enum ApplyOutcome<'a> {
    /// Nothing to do: the fresh plan under the lock is empty, as the reviewed one was.
    NothingToDo,
    /// Every action ran, or some failed or were skipped (see the report). The plan is the reviewed
    /// one when it held under the lock (borrowed, not copied: at a thousand accounts it holds
    /// thousands of actions with their attributes), else the one made under the lock.
    Executed { plan: Box<Cow<'a, Plan>>, report: ApplyReport, elapsed: Duration },
    /// SIGINT or SIGTERM arrived; the lock was released.
    Interrupted,
}

/// Where an apply tells how it goes: its reads (under the lock) and its actions.
pub struct Reporters<'a> {
    pub reads: &'a dyn ReadReporter,
    pub actions: Arc<dyn Reporter>,
}

/// Takes the lock, re-plans, checks the fresh plan against the reviewed one, executes it, records
/// the change history and releases the lock. `interrupted` resolves when the user asks to stop.
pub async fn apply_reviewed<'a>(
    desired: &DesiredOrganization,
    clients: &Clients,
    reviewed: Reviewed<'a>,
    options: &ApplyOptions,
    reporters: Reporters<'_>,
    interrupted: impl Future<Output = ()>,
) -> Result<ApplyOutcome<'a>> {
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
        result = locked(desired, clients, reviewed, options, reporters, &store, &lock) => result,
        () = &mut interrupted => {
            record(&store, &lock, reviewed.plan(), None, Duration::ZERO).await;
            Ok(ApplyOutcome::Interrupted)
        }
    };
    let released = store.release(&lock.id).await;
    let outcome = result?;
    released?;
    Ok(outcome)
}

async fn locked<'a>(
    desired: &DesiredOrganization,
    clients: &Clients,
    reviewed: Reviewed<'a>,
    options: &ApplyOptions,
    reporters: Reporters<'_>,
    store: &StateStore,
    lock: &LockInfo,
) -> Result<ApplyOutcome<'a>> {
    let (plan, known) = match reviewed {
        Reviewed::Confirmed { plan, live_digests } | Reviewed::Saved { plan, live_digests } => {
            match check_untouched(desired, clients, plan, live_digests, options, reporters.reads).await? {
                Untouched::Same(known) => (Cow::Borrowed(plan), known),
                Untouched::Moved(why) => bail!("{why}"),
            }
        }
        Reviewed::AutoApproved { plan, live_digests, show } => {
            match check_untouched(desired, clients, plan, live_digests, options, reporters.reads).await? {
                Untouched::Same(known) => (Cow::Borrowed(plan), known),
                Untouched::Moved(why) => {
                    tracing::info!("{why}; planning again under the lock");
                    let fresh = make_targeted_plan(
                        desired,
                        clients,
                        options.plan,
                        options.concurrency,
                        reporters.reads,
                        &options.targets,
                    )
                    .await?;
                    show(&fresh.plan)?;
                    (Cow::Owned(fresh.plan), fresh.known)
                }
            }
        }
    };
    if plan.is_empty() {
        return Ok(ApplyOutcome::NothingToDo);
    }
    tracing::info!("applying {} actions", plan.actions.len());
    let started = Instant::now();
    let executor = ExecutorOptions { concurrency: options.concurrency };
    let report = execute(&plan, clients, executor, reporters.actions, &known).await;
    let elapsed = started.elapsed();
    record(store, lock, &plan, Some(&report), elapsed).await;
    Ok(ApplyOutcome::Executed { plan: Box::new(plan), report, elapsed })
}

/// Re-reads what `plan` touches and refuses it, naming each object, when one moved since the read
/// that made `reviewed` digests; returns the ids known now.
async fn check_untouched(
    desired: &DesiredOrganization,
    clients: &Clients,
    plan: &Plan,
    reviewed: &BTreeMap<String, String>,
    options: &ApplyOptions,
    read_reporter: &dyn ReadReporter,
) -> Result<Untouched> {
    let touched = Touched::of(plan, desired);
    let mut limits = ReadLimits::for_touched(&touched);
    limits.root_credentials =
        plan.actions.iter().any(|planned| matches!(planned.action, crate::plan::Action::DeleteRootCredentials { .. }));
    let (live, known) = read_live(desired, clients, options.concurrency, read_reporter, &limits).await?;
    // The plan made now from this read, of the controls read (the others were not, and would
    // plan as absent): every reviewed action must be in it, with the same dependencies.
    let read_only = desired.with_controls_only(|control| touched.controls.contains(&control.key));
    let fresh = crate::plan::plan(&read_only, &live, options.plan)?;
    if let Some(difference) = first_unreviewed(plan, &fresh) {
        return Ok(Untouched::Moved(format!(
            "the plan made now differs from the reviewed one, so nothing was applied: {difference}\nhint: run `landing-zone plan` again and review what changed"
        )));
    }
    let changes = changed_objects(reviewed, &touched.digests(&live));
    if !changes.is_empty() {
        return Ok(Untouched::Moved(format!(
            "what the reviewed plan touches changed since it was made, so nothing was applied:\n  {}\nhint: run `landing-zone plan` again and review the new plan",
            changes.join("\n  ")
        )));
    }
    Ok(Untouched::Same(known))
}

/// What reading a reviewed plan's objects again under the lock found.
enum Untouched {
    /// Nothing it touches moved: the ids known now.
    Same(crate::plan::control::KnownIds),
    /// Something moved, in words (why nothing was applied).
    Moved(String),
}

/// The first reviewed action the fresh plan does not hold as it was reviewed (the action itself,
/// or what it waits for), in words; None when every reviewed action is in the fresh plan with the
/// same dependencies. Fresh actions nobody reviewed are not a difference: they are not applied.
pub fn first_unreviewed(reviewed: &Plan, fresh: &Plan) -> Option<String> {
    // Reviewed index -> fresh index, each fresh action matched once.
    let mut matched: BTreeMap<usize, usize> = BTreeMap::new();
    let mut used = vec![false; fresh.actions.len()];
    for old in &reviewed.actions {
        let found = fresh.actions.iter().position(|new| !used[new.index] && new.action == old.action);
        match found {
            Some(position) => {
                used[position] = true;
                matched.insert(old.index, position);
            }
            None => {
                let now = fresh.actions.iter().find(|new| new.action.address() == old.action.address());
                return Some(match now {
                    Some(new) => format!(
                        "action {} `{}` changed since it was reviewed: {}",
                        old.index + 1,
                        old.action.address(),
                        before_after(&old.action, &new.action)
                    ),
                    None => {
                        format!("reviewed action {} `{}` is no longer planned", old.index + 1, old.action.address())
                    }
                });
            }
        }
    }
    let back: BTreeMap<usize, usize> = matched.iter().map(|(old, new)| (*new, *old)).collect();
    for old in &reviewed.actions {
        let Some(new) = matched.get(&old.index).and_then(|index| fresh.actions.get(*index)) else { continue };
        let mut waits: Vec<usize> = Vec::new();
        for dependency in &new.depends_on {
            match back.get(dependency) {
                Some(reviewed_index) => waits.push(*reviewed_index),
                None => {
                    let name = fresh.actions.get(*dependency).map_or_else(String::new, |d| d.action.address());
                    return Some(format!(
                        "`{}` now needs `{name}` first, which was not reviewed",
                        old.action.address()
                    ));
                }
            }
        }
        waits.sort_unstable();
        let mut reviewed_waits = old.depends_on.clone();
        reviewed_waits.sort_unstable();
        if waits != reviewed_waits {
            return Some(format!("the order of `{}` changed", old.action.address()));
        }
    }
    None
}

/// How many changed fields `before_after` names before summing up the rest.
const FIELDS_SHOWN: usize = 4;

/// The fields in which two actions differ, each as `field: before → after` (a field one lacks is
/// `(none)`), values cut to one short line: what a person needs to see why a reviewed action is
/// refused, not two whole actions as JSON.
fn before_after(before: &crate::plan::Action, after: &crate::plan::Action) -> String {
    let mut old = BTreeMap::new();
    let mut new = BTreeMap::new();
    flatten("", &serde_json::to_value(before).unwrap_or_default(), &mut old);
    flatten("", &serde_json::to_value(after).unwrap_or_default(), &mut new);
    let fields: std::collections::BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    let changed: Vec<String> = fields
        .into_iter()
        .filter(|field| old.get(*field) != new.get(*field))
        .map(|field| {
            let side =
                |values: &BTreeMap<String, String>| values.get(field).map_or("(none)", String::as_str).to_string();
            format!(
                "{}: {} → {}",
                if field.is_empty() { "action" } else { field },
                short(&side(&old)),
                short(&side(&new))
            )
        })
        .collect();
    let mut text = changed.iter().take(FIELDS_SHOWN).cloned().collect::<Vec<_>>().join("; ");
    if changed.len() > FIELDS_SHOWN {
        text.push_str(&format!("; and {} more", changed.len() - FIELDS_SHOWN));
    }
    text
}

/// `value` as dotted paths to scalar text (`tags.env`, `document.Statement.0.Effect`).
fn flatten(path: &str, value: &serde_json::Value, into: &mut BTreeMap<String, String>) {
    let join = |key: &str| if path.is_empty() { key.to_string() } else { format!("{path}.{key}") };
    match value {
        serde_json::Value::Object(map) if !map.is_empty() => {
            for (key, inner) in map {
                flatten(&join(key), inner, into);
            }
        }
        serde_json::Value::Array(items) if !items.is_empty() => {
            for (index, inner) in items.iter().enumerate() {
                flatten(&join(&index.to_string()), inner, into);
            }
        }
        serde_json::Value::String(text) => {
            into.insert(path.to_string(), text.clone());
        }
        other => {
            into.insert(path.to_string(), other.to_string());
        }
    }
}

/// One short line: at most 60 characters, the rest elided.
fn short(text: &str) -> String {
    const MOST: usize = 60;
    let line = text.replace('\n', " ");
    if line.chars().count() > MOST {
        format!("{}…", line.chars().take(MOST).collect::<String>())
    } else {
        line
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

/// What the change history keeps of one apply: its id (the lock's), who, where, when (started
/// and finished), and what it did ([`report_json`]).
fn history_record(plan: &Plan, report: Option<&ApplyReport>, lock: &LockInfo, elapsed: Duration) -> serde_json::Value {
    let mut record = serde_json::json!({
        "id": lock.id,
        "finished_at": now_rfc3339(),
        "who": lock.holder,
        "user": lock.user,
        "host": lock.host,
        "pid": lock.pid,
        "started_at": lock.since,
        "tool_version": env!("CARGO_PKG_VERSION"),
    });
    if let (Some(record), serde_json::Value::Object(report)) =
        (record.as_object_mut(), report_json(plan, report, elapsed))
    {
        record.extend(report);
    }
    record
}

/// What an apply did, as data (`apply --format json` prints it; the history record holds it too):
/// how it ended (`result`: complete | incomplete | stopped | interrupted, in the words of its
/// summary line), the time it took, the plan's counts, the outcome counts with the failed accounts,
/// and each action's address, kind and result (`{"result": "done" | "skipped" | "failed" |
/// "not_started" | "interrupted", "reason" | "error"}`).
pub fn report_json(plan: &Plan, report: Option<&ApplyReport>, elapsed: Duration) -> serde_json::Value {
    let status = |index: usize| match report {
        None => serde_json::json!({ "result": "interrupted" }),
        Some(report) => serde_json::to_value(report.outcome(index)).unwrap_or_default(),
    };
    let result = match report {
        None => "interrupted",
        Some(report) if report.succeeded() => "complete",
        Some(report) if report.stopped => "stopped",
        Some(_) => "incomplete",
    };
    serde_json::json!({
        "result": result,
        "seconds": elapsed.as_secs_f64(),
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
    use crate::plan::PlannedAction;

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
            blocked: Vec::new(),
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
    fn a_reviewed_plan_inside_the_fresh_one_has_nothing_unreviewed() {
        let reviewed = plan_of(vec![create("a@example.com")]);
        let mut fresh =
            plan_of(vec![Action::EnableServiceAccess { service: "x".to_string() }, create("a@example.com")]);
        assert_eq!(first_unreviewed(&reviewed, &fresh), None, "an extra fresh action is not applied, not a difference");
        fresh.actions[1].depends_on = vec![0];
        let difference = first_unreviewed(&reviewed, &fresh).expect("needs an unreviewed action first");
        assert!(difference.contains("now needs `trusted access x` first"), "{difference}");
        let forged = plan_of(vec![create("attacker@example.net")]);
        let difference = first_unreviewed(&forged, &fresh).expect("forged");
        assert!(difference.contains("attacker@example.net") && difference.contains("a@example.com"), "{difference}");
        // A short before → after of what differs, not both actions as raw JSON.
        assert!(difference.contains("email: attacker@example.net → a@example.com"), "{difference}");
        assert!(!difference.contains('{') && !difference.contains("\"name\""), "{difference}");
        let gone = first_unreviewed(&reviewed, &plan_of(vec![])).expect("gone");
        assert!(gone.contains("no longer planned"), "{gone}");
    }

    #[test]
    fn the_history_record_says_how_the_apply_ended() {
        let plan = plan_of(vec![create("a@example.com")]);
        let lock = LockInfo::for_this_process("arn:aws:iam::123456789012:user/alice", "2026-12-06T10:00:00Z".into());
        let report = |stopped: bool, failed: bool, failed_accounts: Vec<String>| ApplyReport {
            done: if failed { Vec::new() } else { vec![0] },
            skipped: Vec::new(),
            failed: if failed { vec![(0, "refused".to_string())] } else { Vec::new() },
            not_started: Vec::new(),
            failed_accounts,
            stopped,
        };
        let result =
            |report: Option<&ApplyReport>| history_record(&plan, report, &lock, Duration::ZERO)["result"].clone();
        assert_eq!(result(Some(&report(false, false, Vec::new()))), "complete");
        assert_eq!(result(Some(&report(true, true, Vec::new()))), "stopped");
        assert_eq!(result(Some(&report(false, true, vec!["app".to_string()]))), "incomplete");
        assert_eq!(result(None), "interrupted");
        let record = history_record(&plan, None, &lock, Duration::ZERO);
        assert_eq!(record["id"], lock.id.as_str());
        assert!(record["finished_at"].as_str().is_some_and(|at| at.ends_with('Z')), "{record}");
        assert_eq!(record["actions"][0]["result"], "interrupted");
    }

    #[test]
    fn equal_plans_have_no_difference() {
        let plan = plan_of(vec![create("a@example.com")]);
        assert_eq!(first_unreviewed(&plan, &plan.clone()), None);
    }
}
