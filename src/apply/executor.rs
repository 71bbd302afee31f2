//! The scheduler: runs a plan's action graph with bounded concurrency, in dependency order.
//!
//! A failure is isolated to the account it happened in (issue 13): an action that belongs to one
//! account (its controls, its tags, its creation, move, rename or closing) stops only that
//! account's new starts, and every other account carries on. An organization-level failure (units,
//! policies, trusted access, delegated administrators, root access) stops scheduling altogether.
//! Either way in-flight actions finish, and each action's `Outcome` is reported: done, skipped (the
//! step did not do its work and says why), failed, or not started (its account or the apply
//! stopped first, or it waited on a failed action). These never blur: a skipped action is not counted as done.
//! Every action is idempotent, so a re-run (a fresh plan) converges. Progress goes through the
//! `Reporter` trait.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde::Serialize;
use tokio::sync::Mutex;
use tokio::task::JoinSet;

use super::admission::{account_name, Admission};
pub use super::admission::{failure_scope, AccountKey, FailureScope, ACCOUNT_CREATIONS_IN_FLIGHT};
use super::steps::{run_step, Resolution};
use crate::aws::{Clients, Concurrency};
use crate::baseline::BoxFuture;
use crate::plan::action::Action;
use crate::plan::control::KnownIds;
use crate::plan::{Plan, PlannedAction};

/// A step that did not do its work and says why (the endpoint lacks the AWS operation): steps
/// return it as their error, and it is reported as skipped, neither done nor failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("skipped: {reason}")]
pub struct Skipped {
    pub reason: String,
}

/// How one action ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Outcome {
    Done,
    /// The step ran but did not do its work.
    Skipped {
        reason: String,
    },
    Failed {
        error: String,
    },
    /// Never run: the apply stopped at a failure (or was interrupted) first.
    NotStarted,
}

impl Outcome {
    /// The progress line of a finished action: what it did (`created unit Security`, `moved
    /// account app-prod`, `attached policy x to Root`), `skipped <address>: <reason>`,
    /// `FAILED  <address>: <error>`. Unescaped (the reporter escapes what it prints).
    pub fn progress_line(&self, action: &Action) -> String {
        let address = action.address();
        match self {
            Outcome::Done => format!("{} {}", action.past_tense(), action.done_address()),
            Outcome::Skipped { reason } => format!("skipped {address}: {reason}"),
            Outcome::Failed { error } => format!("FAILED  {address}: {error}"),
            Outcome::NotStarted => format!("not started {address}"),
        }
    }
}

/// Receives progress; the CLI shows it, tests record it.
pub trait Reporter: Send + Sync {
    /// The execution of `total` actions begins.
    fn begin(&self, _total: usize) {}
    fn started(&self, action: &PlannedAction);
    fn finished(&self, action: &PlannedAction, outcome: &Outcome);
}

/// A reporter that shows nothing.
pub struct SilentReporter;

impl Reporter for SilentReporter {
    fn started(&self, _: &PlannedAction) {}
    fn finished(&self, _: &PlannedAction, _: &Outcome) {}
}

#[derive(Debug, Clone, Copy)]
pub struct ApplyOptions {
    pub concurrency: Concurrency,
}

/// What an apply did, by action index; each index is in exactly one list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ApplyReport {
    pub done: Vec<usize>,
    /// Actions whose step ran but did not do its work, with the reason.
    pub skipped: Vec<(usize, String)>,
    pub failed: Vec<(usize, String)>,
    /// Actions never run because the apply (or their account) stopped first.
    pub not_started: Vec<usize>,
    /// The accounts whose own actions failed (their names, sorted), when the failures stayed
    /// within accounts; the rest of the organization went on.
    pub failed_accounts: Vec<String>,
    /// An organization-level action failed and stopped every new start.
    pub stopped: bool,
}

impl ApplyReport {
    /// Nothing failed and nothing was left unstarted (skipped actions are reported, not fatal:
    /// the next plan shows them again).
    pub fn succeeded(&self) -> bool {
        self.failed.is_empty() && self.not_started.is_empty()
    }

    /// How action `index` ended.
    pub fn outcome(&self, index: usize) -> Outcome {
        if self.done.contains(&index) {
            Outcome::Done
        } else if let Some((_, reason)) = self.skipped.iter().find(|(skipped, _)| *skipped == index) {
            Outcome::Skipped { reason: reason.clone() }
        } else if let Some((_, error)) = self.failed.iter().find(|(failed, _)| *failed == index) {
            Outcome::Failed { error: error.clone() }
        } else {
            Outcome::NotStarted
        }
    }

    /// `Apply complete: 172 actions of the plan: 170 done, 2 skipped, 0 failed in 3.1 s.` (the
    /// plan's count, as its summary gives it; and `, 5 not started` when the
    /// apply stopped early). `Apply stopped` when an organization-level action failed, `Apply
    /// incomplete` when only some accounts failed (the rest converged).
    pub fn summary_line(&self, seconds: f64) -> String {
        let not_started = if self.not_started.is_empty() {
            String::new()
        } else {
            format!(", {} not started", self.not_started.len())
        };
        let actions = self.done.len() + self.skipped.len() + self.failed.len() + self.not_started.len();
        format!(
            "Apply {}: {actions} action{} of the plan: {} done, {} skipped, {} failed{not_started} in {seconds:.1} s.",
            if self.succeeded() {
                "complete"
            } else if self.stopped || self.failed_accounts.is_empty() {
                "stopped"
            } else {
                "incomplete"
            },
            if actions == 1 { "" } else { "s" },
            self.done.len(),
            self.skipped.len(),
            self.failed.len(),
        )
    }
}

/// Carries out one action. The executor schedules; this writes. `AwsSteps` is the real one; the
/// scheduler's tests use their own.
pub trait Steps: Send + Sync + 'static {
    fn run<'a>(&'a self, action: &'a Action) -> BoxFuture<'a, anyhow::Result<()>>;
}

/// The steps that write to AWS (`apply::steps`), sharing the ids this apply creates.
struct AwsSteps {
    clients: Clients,
    resolution: Mutex<Resolution>,
}

impl Steps for AwsSteps {
    fn run<'a>(&'a self, action: &'a Action) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(run_step(action, &self.clients, &self.resolution))
    }
}

/// Runs every action of `plan` against AWS.
/// `known` seeds the ids of things that existed before this apply (accounts by spec name).
pub async fn execute(
    plan: &Plan,
    clients: &Clients,
    options: ApplyOptions,
    reporter: Arc<dyn Reporter>,
    known: &KnownIds,
) -> ApplyReport {
    let resolution = Mutex::new(Resolution {
        accounts: known.accounts.clone(),
        organization_id: known.organization.clone(),
        ..Resolution::default()
    });
    schedule(plan, Arc::new(AwsSteps { clients: clients.clone(), resolution }), options, reporter).await
}

/// Runs the actions of `plan` in dependency order with bounded concurrency (see [`Admission`]:
/// wide across accounts, narrow within each and in the organization's API). An
/// account's failure stops that account's new starts, an organization-level failure every new start
/// (running ones finish; see `failure_scope`); what depends on a failed action never starts; a
/// dependency cycle fails its members before anything runs.
pub async fn schedule(
    plan: &Plan,
    steps: Arc<dyn Steps>,
    options: ApplyOptions,
    reporter: Arc<dyn Reporter>,
) -> ApplyReport {
    reporter.begin(plan.actions.len());
    if let Some(cycle) = crate::plan::action::dependency_cycle(&plan.actions) {
        let mut report = ApplyReport::default();
        let members: BTreeSet<usize> = cycle.iter().copied().collect();
        report.failed.extend(members.iter().map(|index| (*index, "part of a dependency cycle".to_string())));
        report.not_started.extend(plan.actions.iter().map(|a| a.index).filter(|index| !members.contains(index)));
        return report;
    }
    let mut waiting_on: BTreeMap<usize, BTreeSet<usize>> =
        plan.actions.iter().map(|a| (a.index, a.depends_on.iter().copied().collect())).collect();
    let mut dependents: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for action in &plan.actions {
        for dependency in &action.depends_on {
            dependents.entry(*dependency).or_default().push(action.index);
        }
    }
    let mut admission = Admission::new(options.concurrency);
    let initially_ready: Vec<usize> =
        waiting_on.iter().filter(|(_, deps)| deps.is_empty()).map(|(index, _)| *index).collect();
    for index in initially_ready {
        waiting_on.remove(&index);
        admission.push(plan, index);
    }
    let mut report = ApplyReport::default();
    let mut running = JoinSet::new();
    let mut stopping = false;
    // Accounts with a failed action: their ready actions are set aside, not started.
    let mut failed_accounts: BTreeMap<AccountKey, String> = BTreeMap::new();
    let mut set_aside: Vec<usize> = Vec::new();
    let blocked_by = |failed: &BTreeMap<AccountKey, String>, index: usize| matches!(failure_scope(&plan.actions[index].action), FailureScope::Account(account) if failed.contains_key(&account));

    loop {
        while let Some(index) = if stopping { None } else { admission.next(plan) } {
            let planned = plan.actions[index].clone();
            let steps = Arc::clone(&steps);
            let reporter = Arc::clone(&reporter);
            running.spawn(async move {
                reporter.started(&planned);
                let outcome = match steps.run(&planned.action).await {
                    Ok(()) => Outcome::Done,
                    Err(error) => match error.downcast_ref::<Skipped>() {
                        Some(skipped) => Outcome::Skipped { reason: skipped.reason.clone() },
                        None => Outcome::Failed { error: format!("{error:#}") },
                    },
                };
                reporter.finished(&planned, &outcome);
                (planned.index, outcome)
            });
        }
        let Some(joined) = running.join_next().await else {
            break;
        };
        let (index, outcome) = match joined {
            Ok(result) => {
                admission.finished(plan, result.0);
                result
            }
            Err(join_error) => {
                // A panicking step is a bug; record it as a failure of an unknown action.
                stopping = true;
                report.failed.push((usize::MAX, format!("internal error: {join_error}")));
                continue;
            }
        };
        let released = match outcome {
            Outcome::Done => {
                report.done.push(index);
                true
            }
            // What waits on a skipped action still runs: it fails on its own if it needed it.
            Outcome::Skipped { reason } => {
                report.skipped.push((index, reason));
                true
            }
            Outcome::Failed { error } => {
                match failure_scope(&plan.actions[index].action) {
                    FailureScope::Organization => stopping = true,
                    FailureScope::Account(account) => {
                        failed_accounts.entry(account).or_insert_with(|| account_name(&plan.actions[index].action));
                        // A failed account's actions wait no longer: they will not start in this apply.
                        set_aside.extend(admission.set_aside(|index| blocked_by(&failed_accounts, index)));
                    }
                }
                report.failed.push((index, error));
                false
            }
            Outcome::NotStarted => false,
        };
        if released {
            for dependent in dependents.get(&index).cloned().unwrap_or_default() {
                if let Some(deps) = waiting_on.get_mut(&dependent) {
                    deps.remove(&index);
                    if deps.is_empty() {
                        waiting_on.remove(&dependent);
                        if blocked_by(&failed_accounts, dependent) {
                            set_aside.push(dependent);
                        } else {
                            admission.push(plan, dependent);
                        }
                    }
                }
            }
        }
    }
    report.not_started.extend(admission.remaining());
    report.not_started.extend(set_aside);
    report.not_started.extend(waiting_on.keys().copied());
    report.not_started.sort_unstable();
    report.done.sort_unstable();
    report.skipped.sort_unstable();
    report.stopped = stopping;
    report.failed_accounts = failed_accounts.into_values().collect();
    report.failed_accounts.sort_unstable();
    report.failed_accounts.dedup();
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::action::AccountRef;

    #[test]
    fn a_finished_action_says_what_it_did() {
        use crate::plan::action::{Change, PolicyRef, TargetRef, UnitRef};
        let account = AccountRef::Existing { id: "111111111111".to_string(), name: "app-prod".to_string() };
        let unit = |path: &str| UnitRef::Existing { id: format!("ou-{path}"), path: path.to_string() };
        let cases = [
            (
                Action::CreateUnit {
                    path: "Security".into(),
                    name: "Security".into(),
                    parent: unit("Root"),
                    tags: BTreeMap::new(),
                },
                "created unit Security",
            ),
            (
                Action::MoveAccount { account: account.clone(), from: unit("Root"), to: unit("Workloads") },
                "moved account app-prod",
            ),
            (
                Action::RenameUnit {
                    id: "ou-1".into(),
                    path: "Platform".into(),
                    name: Change { before: "Infra".into(), after: "Platform".into() },
                },
                "renamed unit Platform",
            ),
            (
                Action::UpdateTags {
                    resource_id: "111111111111".into(),
                    resource: "account app-prod".into(),
                    tags: Change { before: BTreeMap::new(), after: BTreeMap::new() },
                },
                "tagged account app-prod",
            ),
            (
                Action::AttachPolicy {
                    policy: PolicyRef::Planned { name: "deny-leave".into() },
                    policy_type: crate::spec::PolicyType::ServiceControlPolicy,
                    target: TargetRef::Account { account: account.clone() },
                },
                "attached policy deny-leave to account app-prod",
            ),
            (
                Action::DetachPolicy {
                    policy: PolicyRef::Planned { name: "deny-leave".into() },
                    policy_type: crate::spec::PolicyType::ServiceControlPolicy,
                    target: TargetRef::Account { account: account.clone() },
                },
                "detached policy deny-leave from account app-prod",
            ),
            (Action::DeleteUnit { id: "ou-2".into(), path: "Old".into() }, "deleted unit Old"),
            (Action::CloseAccount { id: "222222222222".into(), name: "old".into() }, "closed account old"),
        ];
        for (action, line) in cases {
            assert_eq!(Outcome::Done.progress_line(&action), line);
        }
    }

    #[test]
    fn done_skipped_failed_and_not_started_stay_distinct() {
        let report = ApplyReport {
            done: vec![0, 1],
            skipped: vec![(2, "the endpoint lacks `CreateAnalyzer`".to_string())],
            failed: vec![],
            not_started: vec![],
            ..ApplyReport::default()
        };
        assert_eq!(report.outcome(0), Outcome::Done);
        assert_eq!(report.outcome(2), Outcome::Skipped { reason: "the endpoint lacks `CreateAnalyzer`".to_string() });
        assert!(report.succeeded());
        assert_eq!(
            report.summary_line(1.3),
            "Apply complete: 3 actions of the plan: 2 done, 1 skipped, 0 failed in 1.3 s."
        );
        let analyzer = Action::ConfigureControl {
            control: crate::plan::control::ControlKey::new("access_analyzer/analyzer", "security", Some("us-east-1")),
            account: crate::plan::action::AccountRef::Planned { name: "security".to_string() },
            before: None,
            after: serde_json::json!({}).into(),
        };
        assert_eq!(
            report.outcome(2).progress_line(&analyzer),
            "skipped access_analyzer/analyzer in security (us-east-1): the endpoint lacks `CreateAnalyzer`"
        );
        let stopped = ApplyReport {
            done: vec![0],
            skipped: vec![],
            failed: vec![(1, "AccessDenied".to_string())],
            not_started: vec![2, 3],
            stopped: true,
            ..ApplyReport::default()
        };
        assert_eq!(stopped.outcome(3), Outcome::NotStarted);
        assert!(!stopped.succeeded());
        assert_eq!(
            stopped.summary_line(2.0),
            "Apply stopped: 4 actions of the plan: 1 done, 0 skipped, 1 failed, 2 not started in 2.0 s."
        );
        let incomplete = ApplyReport { stopped: false, failed_accounts: vec!["app-1".to_string()], ..stopped };
        assert_eq!(
            incomplete.summary_line(2.0),
            "Apply incomplete: 4 actions of the plan: 1 done, 0 skipped, 1 failed, 2 not started in 2.0 s."
        );
        let json = serde_json::to_value(Outcome::Skipped { reason: "x".to_string() }).unwrap();
        assert_eq!(json, serde_json::json!({"result": "skipped", "reason": "x"}));
    }

    // The scheduler, without AWS: fake steps and a recording reporter.
    mod scheduling {
        use std::collections::BTreeMap;
        use std::sync::Mutex as StdMutex;
        use std::time::Duration;

        use super::super::*;
        use crate::plan::action::{AccountRef, PLAN_FORMAT_VERSION};

        /// Steps that sleep a little (the control `slow` longer), fail the services named `fail*` and
        /// `password_policy` in accounts named `fail*`, and record how many run at once.
        #[derive(Default)]
        struct FakeSteps {
            running: StdMutex<usize>,
            most_at_once: StdMutex<usize>,
            /// Controls running in each account now, and the most ever.
            in_account: StdMutex<BTreeMap<String, (usize, usize)>>,
        }

        impl Steps for FakeSteps {
            fn run<'a>(&'a self, action: &'a Action) -> BoxFuture<'a, anyhow::Result<()>> {
                Box::pin(async move {
                    {
                        let mut running = self.running.lock().expect("lock");
                        *running += 1;
                        let mut most = self.most_at_once.lock().expect("lock");
                        *most = (*most).max(*running);
                        if let Action::ConfigureControl { account, .. } = action {
                            let mut in_account = self.in_account.lock().expect("lock");
                            let (now, most) = in_account.entry(account.name().to_string()).or_default();
                            *now += 1;
                            *most = (*most).max(*now);
                        }
                    }
                    let slow = matches!(action, Action::ConfigureControl { control, .. } if control.control == "slow");
                    tokio::time::sleep(Duration::from_millis(if slow { 60 } else { 5 })).await;
                    *self.running.lock().expect("lock") -= 1;
                    if let Action::ConfigureControl { account, .. } = action {
                        if let Some((now, _)) = self.in_account.lock().expect("lock").get_mut(account.name()) {
                            *now -= 1;
                        }
                    }
                    match action {
                        Action::EnableServiceAccess { service } if service.starts_with("fail") => {
                            anyhow::bail!("{service} refused")
                        }
                        Action::ConfigureControl { control, account, .. }
                            if account.name().starts_with("fail") && control.control == "password_policy" =>
                        {
                            anyhow::bail!("AccessDenied in {}", account.name())
                        }
                        _ => Ok(()),
                    }
                })
            }
        }

        /// Records every event in order.
        #[derive(Default)]
        struct Recorder {
            events: StdMutex<Vec<String>>,
        }

        impl Reporter for Recorder {
            fn begin(&self, total: usize) {
                self.events.lock().expect("lock").push(format!("begin {total}"));
            }
            fn started(&self, action: &PlannedAction) {
                self.events.lock().expect("lock").push(format!("start {}", action.index));
            }
            fn finished(&self, action: &PlannedAction, outcome: &Outcome) {
                let kind = match outcome {
                    Outcome::Done => "done",
                    Outcome::Skipped { .. } => "skipped",
                    Outcome::Failed { .. } => "failed",
                    Outcome::NotStarted => "not started",
                };
                self.events.lock().expect("lock").push(format!("{kind} {}", action.index));
            }
        }

        fn plan(services: &[(&str, &[usize])]) -> Plan {
            Plan {
                format_version: PLAN_FORMAT_VERSION,
                actions: services
                    .iter()
                    .enumerate()
                    .map(|(index, (service, depends_on))| PlannedAction {
                        index,
                        action: Action::EnableServiceAccess { service: service.to_string() },
                        depends_on: depends_on.to_vec(),
                        reaches_accounts: 0,
                    })
                    .collect(),
                warnings: Vec::new(),
                notes: Vec::new(),
                blocked: Vec::new(),
            }
        }

        /// A plan of organization-level actions (`("org:SERVICE", deps)`) and controls
        /// (`("CONTROL@ACCOUNT", deps)`, in existing accounts whose id is `1000000000NN`).
        fn mixed_plan(actions: &[(&str, &[usize])]) -> Plan {
            let mut plan = plan(&[]);
            let mut ids: Vec<String> = Vec::new();
            plan.actions = actions
                .iter()
                .enumerate()
                .map(|(index, (what, depends_on))| {
                    let action = match what.split_once('@') {
                        Some((control, account)) => {
                            if !ids.iter().any(|name| name == account) {
                                ids.push(account.to_string());
                            }
                            let number = ids.iter().position(|name| name == account).unwrap_or(0);
                            Action::ConfigureControl {
                                control: crate::plan::control::ControlKey::new(control, account, None),
                                account: AccountRef::Existing {
                                    id: format!("{:012}", 100_000_000_000usize + number),
                                    name: account.to_string(),
                                },
                                before: None,
                                after: serde_json::json!({}).into(),
                            }
                        }
                        None => Action::EnableServiceAccess {
                            service: what.strip_prefix("org:").unwrap_or(*what).to_string(),
                        },
                    };
                    PlannedAction { index, action, depends_on: depends_on.to_vec(), reaches_accounts: 0 }
                })
                .collect();
            plan
        }

        #[tokio::test]
        async fn an_account_failure_stops_only_that_account() {
            let plan = mixed_plan(&[
                ("org:trusted", &[]),             // 0
                ("password_policy@fail-a", &[0]), // 1 fails
                ("ebs_encryption@fail-a", &[1]),  // 2 depends on the failure
                ("contacts@fail-a", &[0, 4]),     // 3 same account, starts after the failure
                ("password_policy@ok-b", &[0]),   // 4
                ("ebs_encryption@ok-b", &[4]),    // 5
                ("password_policy@ok-c", &[0]),   // 6
                ("contacts@ok-c", &[1]),          // 7 another account's action waiting on the failure
            ]);
            let (report, events, _) = run(&plan, 1).await;
            assert_eq!(report.failed.iter().map(|(index, _)| *index).collect::<Vec<_>>(), [1]);
            assert_eq!(report.done, [0, 4, 5, 6], "every other account converged");
            assert_eq!(report.not_started, [2, 3, 7]);
            assert_eq!(report.failed_accounts, ["fail-a"]);
            assert!(!report.stopped && !report.succeeded());
            assert!(
                !events.iter().any(|event| event == "start 3"),
                "the failed account starts nothing new: {events:?}"
            );
            assert!(
                report.summary_line(1.0).starts_with("Apply incomplete: 8 actions of the plan: 4 done"),
                "{}",
                report.summary_line(1.0)
            );
        }

        #[tokio::test]
        async fn an_organization_failure_still_stops_everything() {
            let plan = mixed_plan(&[
                ("password_policy@ok-a", &[]),    // 0
                ("org:fail-trusted", &[0]),       // 1 fails
                ("slow@ok-b", &[0]),              // 2 runs beside 1, and finishes after it failed
                ("password_policy@ok-c", &[2]),   // 3 ready after the failure, never started
                ("password_policy@fail-d", &[3]), // 4
            ]);
            let (report, _, _) = run(&plan, 1).await;
            assert_eq!(report.done, [0, 2]);
            assert_eq!(report.failed.iter().map(|(index, _)| *index).collect::<Vec<_>>(), [1]);
            assert_eq!(report.not_started, [3, 4]);
            assert!(report.stopped && report.failed_accounts.is_empty());
        }

        #[tokio::test]
        async fn failures_in_several_accounts_are_each_reported() {
            let plan = mixed_plan(&[
                ("password_policy@fail-a", &[]),
                ("password_policy@fail-b", &[]),
                ("password_policy@ok-c", &[]),
                ("ebs_encryption@fail-b", &[]),
            ]);
            let (report, _, _) = run(&plan, 4).await;
            assert_eq!(report.failed_accounts, ["fail-a", "fail-b"]);
            assert_eq!(report.failed.len(), 2);
            assert!(report.done.contains(&2));
        }

        /// Runs `plan` with `calls` at once in the organization's API and in each account, in as
        /// many accounts at once.
        async fn run(plan: &Plan, calls: usize) -> (ApplyReport, Vec<String>, usize) {
            let concurrency = Concurrency { calls, accounts: calls };
            let (report, events, most, _) = run_with(plan, concurrency).await;
            (report, events, most)
        }

        /// [`run`] with any bounds; also returns the most controls run at once in each account.
        async fn run_with(
            plan: &Plan,
            concurrency: Concurrency,
        ) -> (ApplyReport, Vec<String>, usize, BTreeMap<String, usize>) {
            let steps = Arc::new(FakeSteps::default());
            let recorder = Arc::new(Recorder::default());
            let report = schedule(plan, steps.clone(), ApplyOptions { concurrency }, recorder.clone()).await;
            let events = recorder.events.lock().expect("lock").clone();
            let most = *steps.most_at_once.lock().expect("lock");
            let in_account =
                steps.in_account.lock().expect("lock").iter().map(|(name, (_, most))| (name.clone(), *most)).collect();
            (report, events, most, in_account)
        }

        fn position(events: &[String], event: &str) -> usize {
            events.iter().position(|e| e == event).unwrap_or_else(|| panic!("no `{event}` in {events:?}"))
        }

        #[tokio::test]
        async fn dependencies_finish_before_their_dependents_start() {
            let plan = plan(&[("a", &[]), ("b", &[0]), ("c", &[0]), ("d", &[1, 2])]);
            let (report, events, _) = run(&plan, 4).await;
            assert_eq!(report.done, [0, 1, 2, 3]);
            assert_eq!(events[0], "begin 4");
            assert!(position(&events, "done 0") < position(&events, "start 1"));
            assert!(position(&events, "done 0") < position(&events, "start 2"));
            assert!(position(&events, "done 1") < position(&events, "start 3"));
            assert!(position(&events, "done 2") < position(&events, "start 3"));
        }

        #[tokio::test]
        async fn concurrency_stays_within_the_bound() {
            let independent: Vec<(&str, &[usize])> = (0..12).map(|_| ("x", &[][..])).collect();
            let (report, _, most) = run(&plan(&independent), 3).await;
            assert_eq!(report.done.len(), 12);
            assert!((2..=3).contains(&most), "at most 3 at once, and some overlap: {most}");
        }

        #[tokio::test]
        async fn accounts_run_wide_and_each_account_narrow() {
            // Six accounts with four controls each, after one organization-level action.
            let mut actions: Vec<(String, Vec<usize>)> = vec![("org:trusted".to_string(), Vec::new())];
            for account in 0..6 {
                for control in ["password_policy", "contacts", "ebs_encryption", "roles"] {
                    actions.push((format!("{control}@acct-{account}"), vec![0]));
                }
            }
            let borrowed: Vec<(&str, &[usize])> =
                actions.iter().map(|(what, deps)| (what.as_str(), deps.as_slice())).collect();
            let concurrency = Concurrency { calls: 2, accounts: 3 };
            let (report, _, most, in_account) = run_with(&mixed_plan(&borrowed), concurrency).await;
            assert_eq!(report.done.len(), 25);
            assert_eq!(in_account.len(), 6);
            assert!(in_account.values().all(|most| *most <= 2), "at most 2 at once in an account: {in_account:?}");
            assert!(most <= 6, "at most 2 in each of 3 accounts: {most}");
            assert!(most > 2, "wider than one account's bound: {most}");
        }

        #[tokio::test]
        async fn organization_actions_do_not_wait_for_account_slots() {
            // Four accounts' controls are ready first and fill every account slot; the four
            // organization-level actions behind them still start at once, in their own lane.
            let plan = mixed_plan(&[
                ("password_policy@acct-0", &[]),
                ("password_policy@acct-1", &[]),
                ("password_policy@acct-2", &[]),
                ("password_policy@acct-3", &[]),
                ("org:a", &[]),
                ("org:b", &[]),
                ("org:c", &[]),
                ("org:d", &[]),
            ]);
            let (report, events, most, _) = run_with(&plan, Concurrency { calls: 4, accounts: 4 }).await;
            assert_eq!(report.done.len(), 8);
            let first_done = events.iter().position(|event| event.starts_with("done")).unwrap_or(events.len());
            for org in 4..8 {
                assert!(position(&events, &format!("start {org}")) < first_done, "{events:?}");
            }
            assert_eq!(most, 8);
        }

        #[tokio::test]
        async fn a_failure_stops_new_starts_and_dependents_are_not_started() {
            let plan = plan(&[("fail-first", &[]), ("after", &[0]), ("later", &[1])]);
            let (report, events, _) = run(&plan, 1).await;
            assert_eq!(report.failed.iter().map(|(index, _)| *index).collect::<Vec<_>>(), [0]);
            assert_eq!(report.not_started, [1, 2]);
            assert!(!events.iter().any(|event| event == "start 1"), "{events:?}");
            assert!(!report.succeeded());
        }

        #[tokio::test]
        async fn a_dependency_cycle_is_an_error_before_anything_runs() {
            let plan = plan(&[("a", &[]), ("b", &[2]), ("c", &[1])]);
            let (report, events, _) = run(&plan, 2).await;
            let failed: BTreeMap<usize, String> = report.failed.iter().cloned().collect();
            assert_eq!(failed.keys().copied().collect::<Vec<_>>(), [1, 2]);
            assert!(failed.values().all(|message| message.contains("cycle")));
            assert_eq!(report.not_started, [0]);
            assert_eq!(events, ["begin 3"], "nothing ran");
        }
    }
}
