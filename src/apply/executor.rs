//! The scheduler: runs a plan's action graph with bounded concurrency, in dependency order.
//!
//! On the first hard failure it stops scheduling, lets in-flight actions finish, and reports each
//! action's `Outcome`: done, skipped (the step did not do its work and says why), failed, or not
//! started (the apply stopped first). These never blur: a skipped action is not counted as done.
//! Every action is idempotent, so a re-run (a fresh plan) converges. Progress goes through the
//! `Reporter` trait.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

use serde::Serialize;
use tokio::sync::Mutex;
use tokio::task::JoinSet;

use super::steps::{run_step, Resolution};
use crate::aws::Clients;
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
    /// The progress line of a finished action: `done    <address>`, `skipped <address>: <reason>`,
    /// `FAILED  <address>: <error>`. Unescaped (the reporter escapes what it prints).
    pub fn progress_line(&self, address: &str) -> String {
        match self {
            Outcome::Done => format!("done    {address}"),
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
    pub parallelism: usize,
}

/// What an apply did, by action index; each index is in exactly one list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ApplyReport {
    pub done: Vec<usize>,
    /// Actions whose step ran but did not do its work, with the reason.
    pub skipped: Vec<(usize, String)>,
    pub failed: Vec<(usize, String)>,
    /// Actions never run because the apply stopped first.
    pub not_started: Vec<usize>,
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

    /// `Apply complete: 170 done, 2 skipped, 0 failed in 3.1 s.` (and `, 5 not started` when the
    /// apply stopped early).
    pub fn summary_line(&self, seconds: f64) -> String {
        let not_started = if self.not_started.is_empty() {
            String::new()
        } else {
            format!(", {} not started", self.not_started.len())
        };
        format!(
            "Apply {}: {} done, {} skipped, {} failed{not_started} in {seconds:.1} s.",
            if self.succeeded() { "complete" } else { "stopped" },
            self.done.len(),
            self.skipped.len(),
            self.failed.len(),
        )
    }
}

/// CreateAccount requests AWS lets be in progress at once (AWS-FACTS.md).
pub const ACCOUNT_CREATIONS_IN_FLIGHT: usize = 5;

fn is_account_creation(action: &PlannedAction) -> bool {
    matches!(action.action, Action::CreateAccount { .. })
}

/// Runs every action of `plan`.
/// `known` seeds the ids of things that existed before this apply (accounts by spec name).
pub async fn execute(
    plan: &Plan,
    clients: &Clients,
    options: ApplyOptions,
    reporter: Arc<dyn Reporter>,
    known: &KnownIds,
) -> ApplyReport {
    reporter.begin(plan.actions.len());
    let resolution = Arc::new(Mutex::new(Resolution {
        accounts: known.accounts.clone(),
        organization_id: known.organization.clone(),
        ..Resolution::default()
    }));
    let mut waiting_on: BTreeMap<usize, BTreeSet<usize>> =
        plan.actions.iter().map(|a| (a.index, a.depends_on.iter().copied().collect())).collect();
    let mut dependents: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for action in &plan.actions {
        for dependency in &action.depends_on {
            dependents.entry(*dependency).or_default().push(action.index);
        }
    }
    let mut ready: VecDeque<usize> =
        waiting_on.iter().filter(|(_, deps)| deps.is_empty()).map(|(index, _)| *index).collect();
    for index in &ready {
        waiting_on.remove(index);
    }
    let mut report = ApplyReport::default();
    let mut running = JoinSet::new();
    let mut stopping = false;
    let parallelism = options.parallelism.max(1);

    let mut creations_in_flight = 0;

    loop {
        while !stopping && running.len() < parallelism {
            // AWS refuses a sixth CreateAccount while five are in progress: past that, the next
            // ready action that is not a creation goes first, and creations wait for a slot.
            let admissible = ready.iter().position(|index| {
                !is_account_creation(&plan.actions[*index]) || creations_in_flight < ACCOUNT_CREATIONS_IN_FLIGHT
            });
            let Some(index) = admissible.and_then(|position| ready.remove(position)) else {
                break;
            };
            if is_account_creation(&plan.actions[index]) {
                creations_in_flight += 1;
            }
            let planned = plan.actions[index].clone();
            let clients = clients.clone();
            let resolution = Arc::clone(&resolution);
            let reporter = Arc::clone(&reporter);
            running.spawn(async move {
                reporter.started(&planned);
                let outcome = match run_step(&planned.action, &clients, &resolution).await {
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
                if is_account_creation(&plan.actions[result.0]) {
                    creations_in_flight -= 1;
                }
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
                stopping = true;
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
                        ready.push_back(dependent);
                    }
                }
            }
        }
    }
    report.not_started.extend(ready);
    report.not_started.extend(waiting_on.keys().copied());
    report.not_started.sort_unstable();
    report.done.sort_unstable();
    report.skipped.sort_unstable();
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn done_skipped_failed_and_not_started_stay_distinct() {
        let report = ApplyReport {
            done: vec![0, 1],
            skipped: vec![(2, "the endpoint lacks `CreateAnalyzer`".to_string())],
            failed: vec![],
            not_started: vec![],
        };
        assert_eq!(report.outcome(0), Outcome::Done);
        assert_eq!(report.outcome(2), Outcome::Skipped { reason: "the endpoint lacks `CreateAnalyzer`".to_string() });
        assert!(report.succeeded());
        assert_eq!(report.summary_line(1.3), "Apply complete: 2 done, 1 skipped, 0 failed in 1.3 s.");
        assert_eq!(
            report.outcome(2).progress_line("access_analyzer/analyzer security us-east-1"),
            "skipped access_analyzer/analyzer security us-east-1: the endpoint lacks `CreateAnalyzer`"
        );
        let stopped = ApplyReport {
            done: vec![0],
            skipped: vec![],
            failed: vec![(1, "AccessDenied".to_string())],
            not_started: vec![2, 3],
        };
        assert_eq!(stopped.outcome(3), Outcome::NotStarted);
        assert!(!stopped.succeeded());
        assert_eq!(stopped.summary_line(2.0), "Apply stopped: 1 done, 0 skipped, 1 failed, 2 not started in 2.0 s.");
        let json = serde_json::to_value(Outcome::Skipped { reason: "x".to_string() }).unwrap();
        assert_eq!(json, serde_json::json!({"result": "skipped", "reason": "x"}));
    }
}
