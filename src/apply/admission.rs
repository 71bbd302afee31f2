//! Which ready action the executor starts next, and whose failure a failed action is.
//!
//! Each action runs in a lane: its own account's (controls, the root user's credentials) or the
//! organization's (every Organizations API call in the management account). [`Admission`] hands
//! out ready actions within the concurrency bounds of each lane and of account creations;
//! [`failure_scope`] says whether a failure stops one account or the whole apply. Pure: no I/O.

use std::collections::{BTreeMap, VecDeque};

use crate::aws::Concurrency;
use crate::plan::action::{AccountRef, Action};
use crate::plan::{Plan, PlannedAction};

/// CreateAccount requests AWS lets be in progress at once: five, on the Organizations quotas page
/// (https://docs.aws.amazon.com/organizations/latest/userguide/orgs_reference_limits.html).
pub const ACCOUNT_CREATIONS_IN_FLIGHT: usize = 5;

fn is_account_creation(action: &PlannedAction) -> bool {
    matches!(action.action, Action::CreateAccount { .. })
}

/// Whose failure an action's failure is.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum FailureScope {
    /// Stops every new start: the organization's shape, policies and services.
    Organization,
    /// Stops only this account's new starts.
    Account(AccountKey),
}

/// One account, as actions name it: by id once it exists, by spec name while it is planned.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum AccountKey {
    Id(String),
    Planned(String),
}

impl AccountKey {
    fn of(account: &AccountRef) -> AccountKey {
        match account {
            AccountRef::Existing { id, .. } => AccountKey::Id(id.clone()),
            AccountRef::Planned { name } => AccountKey::Planned(name.clone()),
        }
    }
}

/// An Organizations account id is 12 digits (root ids start `r-`, OU ids `ou-`, policy ids `p-`).
/// https://docs.aws.amazon.com/organizations/latest/APIReference/API_Account.html
fn is_account_id(resource_id: &str) -> bool {
    resource_id.len() == 12 && resource_id.bytes().all(|byte| byte.is_ascii_digit())
}

/// Which failure `action` belongs to: an account's own actions (its controls, its tags, creating,
/// moving, renaming or closing it) fail alone; the rest is the organization's. A creation is the
/// account's: AWS answers for each request on its own (`EMAIL_ALREADY_EXISTS` concerns one email),
/// and what needs the account waits on the creation anyway.
pub fn failure_scope(action: &Action) -> FailureScope {
    match action {
        Action::ConfigureControl { account, .. }
        | Action::RemoveControl { account, .. }
        | Action::MoveAccount { account, .. }
        | Action::RenameAccount { account, .. } => FailureScope::Account(AccountKey::of(account)),
        Action::CreateAccount { name, .. } => FailureScope::Account(AccountKey::Planned(name.clone())),
        Action::CloseAccount { id, .. } | Action::DeleteRootCredentials { id, .. } => {
            FailureScope::Account(AccountKey::Id(id.clone()))
        }
        Action::UpdateTags { resource_id, .. } if is_account_id(resource_id) => {
            FailureScope::Account(AccountKey::Id(resource_id.clone()))
        }
        Action::CreateOrganization { .. }
        | Action::EnablePolicyType { .. }
        | Action::EnableServiceAccess { .. }
        | Action::RegisterDelegatedAdministrator { .. }
        | Action::EnableRootAccessFeature { .. }
        | Action::CreateUnit { .. }
        | Action::RenameUnit { .. }
        | Action::DeleteUnit { .. }
        | Action::CreatePolicy { .. }
        | Action::UpdatePolicy { .. }
        | Action::DeletePolicy { .. }
        | Action::AttachPolicy { .. }
        | Action::DetachPolicy { .. }
        | Action::UpdateTags { .. } => FailureScope::Organization,
    }
}

/// The account name a failed account-level action reports (display only).
pub(super) fn account_name(action: &Action) -> String {
    match action {
        Action::ConfigureControl { account, .. }
        | Action::RemoveControl { account, .. }
        | Action::MoveAccount { account, .. }
        | Action::RenameAccount { account, .. } => account.name().to_string(),
        Action::CreateAccount { name, .. } | Action::CloseAccount { name, .. } => name.clone(),
        Action::UpdateTags { resource, resource_id, .. } => {
            resource.strip_prefix("account ").unwrap_or(resource_id).to_string()
        }
        other => other.address(),
    }
}

/// Whose rate limits an action's calls count against, for the concurrency bounds: a control or
/// the root user's credentials are written in their own account; everything else (the
/// organization's shape, policies and services, and creating, moving, renaming, tagging or closing
/// an account) is a call to the Organizations API in the management account.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Lane {
    Organization,
    Account(AccountKey),
}

fn lane(action: &Action) -> Lane {
    match action {
        Action::ConfigureControl { account, .. } | Action::RemoveControl { account, .. } => {
            Lane::Account(AccountKey::of(account))
        }
        Action::DeleteRootCredentials { id, .. } => Lane::Account(AccountKey::Id(id.clone())),
        _ => Lane::Organization,
    }
}

/// The ready actions by lane, and what runs in each: hands out the next action the bounds admit.
/// The organization's lane runs up to `calls` actions; each account's up to `calls`, in up to
/// `accounts` accounts at once; account creations up to [`ACCOUNT_CREATIONS_IN_FLIGHT`].
pub(super) struct Admission {
    bounds: Concurrency,
    ready: BTreeMap<Lane, VecDeque<usize>>,
    running: BTreeMap<Lane, usize>,
    creations_in_flight: usize,
}

impl Admission {
    pub(super) fn new(bounds: Concurrency) -> Admission {
        Admission { bounds, ready: BTreeMap::new(), running: BTreeMap::new(), creations_in_flight: 0 }
    }

    pub(super) fn push(&mut self, plan: &Plan, index: usize) {
        self.ready.entry(lane(&plan.actions[index].action)).or_default().push_back(index);
    }

    pub(super) fn accounts_running(&self) -> usize {
        self.running.keys().filter(|lane| matches!(lane, Lane::Account(_))).count()
    }

    /// The next action to start, if the bounds admit one: the organization's lane first (what it
    /// does unblocks the most), then accounts already running, then new accounts.
    pub(super) fn next(&mut self, plan: &Plan) -> Option<usize> {
        let calls = self.bounds.calls.max(1);
        let mut chosen = None;
        if self.running.get(&Lane::Organization).copied().unwrap_or(0) < calls {
            if let Some(queue) = self.ready.get(&Lane::Organization) {
                let creations_full = self.creations_in_flight >= ACCOUNT_CREATIONS_IN_FLIGHT;
                // AWS refuses a sixth CreateAccount while five are in progress: past that, the
                // next ready action that is not a creation goes first.
                let admissible =
                    queue.iter().position(|index| !(creations_full && is_account_creation(&plan.actions[*index])));
                chosen = admissible.map(|position| (Lane::Organization, position));
            }
        }
        // Both searches walk the running lanes (at most `accounts` of them), never every ready one.
        if chosen.is_none() {
            let mut running_lanes = self.running.iter().filter(|(lane, running)| {
                matches!(lane, Lane::Account(_)) && **running < calls && self.ready.contains_key(*lane)
            });
            chosen = running_lanes.next().map(|(lane, _)| (lane.clone(), 0));
        }
        if chosen.is_none() && self.accounts_running() < self.bounds.accounts.max(1) {
            let mut new_lanes =
                self.ready.keys().filter(|lane| matches!(lane, Lane::Account(_)) && !self.running.contains_key(*lane));
            chosen = new_lanes.next().map(|lane| (lane.clone(), 0));
        }
        let (lane, position) = chosen?;
        let queue = self.ready.get_mut(&lane)?;
        let index = queue.remove(position)?;
        if queue.is_empty() {
            self.ready.remove(&lane);
        }
        *self.running.entry(lane).or_default() += 1;
        if is_account_creation(&plan.actions[index]) {
            self.creations_in_flight += 1;
        }
        Some(index)
    }

    pub(super) fn finished(&mut self, plan: &Plan, index: usize) {
        let lane = lane(&plan.actions[index].action);
        if let Some(running) = self.running.get_mut(&lane) {
            *running -= 1;
            if *running == 0 {
                self.running.remove(&lane);
            }
        }
        if is_account_creation(&plan.actions[index]) {
            self.creations_in_flight -= 1;
        }
    }

    /// Takes the ready actions `blocked` refuses out of the queues.
    pub(super) fn set_aside(&mut self, blocked: impl Fn(usize) -> bool) -> Vec<usize> {
        let mut taken = Vec::new();
        for queue in self.ready.values_mut() {
            queue.retain(|index| {
                let block = blocked(*index);
                if block {
                    taken.push(*index);
                }
                !block
            });
        }
        self.ready.retain(|_, queue| !queue.is_empty());
        taken
    }

    /// Every action still waiting to start.
    pub(super) fn remaining(self) -> impl Iterator<Item = usize> {
        self.ready.into_values().flatten()
    }
}
