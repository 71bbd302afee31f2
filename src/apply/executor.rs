//! The scheduler: runs a plan's action graph with bounded concurrency, in dependency order.
//!
//! On the first hard failure it stops scheduling, lets in-flight actions finish, and reports what
//! was done, what failed and what was skipped. Every action is idempotent, so a re-run (a fresh
//! plan) converges. Progress goes through the `Reporter` trait.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

use tokio::sync::Mutex;
use tokio::task::JoinSet;

use super::steps::{run_step, Resolution};
use crate::aws::Clients;
use crate::plan::action::Action;
use crate::plan::control::KnownIds;
use crate::plan::{Plan, PlannedAction};

/// Receives progress; the CLI shows it, tests record it.
pub trait Reporter: Send + Sync {
    fn started(&self, action: &PlannedAction);
    fn finished(&self, action: &PlannedAction, outcome: &Result<(), String>);
}

/// A reporter that shows nothing.
pub struct SilentReporter;

impl Reporter for SilentReporter {
    fn started(&self, _: &PlannedAction) {}
    fn finished(&self, _: &PlannedAction, _: &Result<(), String>) {}
}

#[derive(Debug, Clone, Copy)]
pub struct ApplyOptions {
    pub parallelism: usize,
}

/// What an apply did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApplyReport {
    pub done: Vec<usize>,
    pub failed: Vec<(usize, String)>,
    pub skipped: Vec<usize>,
}

impl ApplyReport {
    pub fn succeeded(&self) -> bool {
        self.failed.is_empty() && self.skipped.is_empty()
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
                let outcome =
                    run_step(&planned.action, &clients, &resolution).await.map_err(|error| format!("{error:#}"));
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
        match outcome {
            Ok(()) => {
                report.done.push(index);
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
            Err(message) => {
                stopping = true;
                report.failed.push((index, message));
            }
        }
    }
    report.skipped.extend(ready);
    report.skipped.extend(waiting_on.keys().copied());
    report.skipped.sort_unstable();
    report.done.sort_unstable();
    report
}
