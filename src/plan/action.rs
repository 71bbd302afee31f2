//! The planning vocabulary: one `Action` enum, references to things that exist or are planned, and
//! the `Plan` that orders them with explicit dependencies. Serializable: the JSON plan format
//! (docs/plan-format.md) is exactly these types.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::spec::PolicyType;

/// Version of the JSON plan format.
pub const PLAN_FORMAT_VERSION: u32 = 1;

/// An OU or the root: one that exists (by id) or one an earlier action creates (by path).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum UnitRef {
    Existing { id: String, path: String },
    Planned { path: String },
}

impl UnitRef {
    pub fn path(&self) -> &str {
        match self {
            UnitRef::Existing { path, .. } | UnitRef::Planned { path } => path,
        }
    }
}

/// An account that exists (by id) or that an earlier action creates (by spec name).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum AccountRef {
    Existing { id: String, name: String },
    Planned { name: String },
}

impl AccountRef {
    pub fn name(&self) -> &str {
        match self {
            AccountRef::Existing { name, .. } | AccountRef::Planned { name } => name,
        }
    }
}

/// A policy that exists (by id) or that an earlier action creates (by name).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum PolicyRef {
    Existing { id: String, name: String },
    Planned { name: String },
}

impl PolicyRef {
    pub fn name(&self) -> &str {
        match self {
            PolicyRef::Existing { name, .. } | PolicyRef::Planned { name } => name,
        }
    }
}

/// Where a policy attaches.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TargetRef {
    Unit { unit: UnitRef },
    Account { account: AccountRef },
}

impl TargetRef {
    /// `Root`, `unit Workloads/Prod`, `account app-prod`.
    pub fn label(&self) -> String {
        match self {
            TargetRef::Unit { unit } if unit.path() == crate::spec::ROOT => "Root".to_string(),
            TargetRef::Unit { unit } => format!("unit {}", unit.path()),
            TargetRef::Account { account } => format!("account {}", account.name()),
        }
    }
}

/// A before/after pair of one attribute.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change<T> {
    pub before: T,
    pub after: T,
}

/// Everything the executor can do. Each action is idempotent on retry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Action {
    /// The caller's account becomes the management account, known in the spec as `management_account`.
    CreateOrganization {
        management_account: Option<String>,
    },
    EnablePolicyType {
        policy_type: PolicyType,
    },
    EnableServiceAccess {
        service: String,
    },
    RegisterDelegatedAdministrator {
        service: String,
        account: AccountRef,
    },
    /// Turn on a centralized root access feature (`RootCredentialsManagement`, `RootSessions`).
    EnableRootAccessFeature {
        feature: String,
    },
    CreateUnit {
        path: String,
        name: String,
        parent: UnitRef,
        tags: BTreeMap<String, String>,
    },
    RenameUnit {
        id: String,
        path: String,
        name: Change<String>,
    },
    DeleteUnit {
        id: String,
        path: String,
    },
    CreateAccount {
        name: String,
        email: String,
        tags: BTreeMap<String, String>,
        /// An IN_PROGRESS CreateAccount request for this name, found after a crash: adopted, not repeated.
        pending_request: Option<String>,
    },
    MoveAccount {
        account: AccountRef,
        from: UnitRef,
        to: UnitRef,
    },
    CloseAccount {
        id: String,
        name: String,
    },
    /// Delete a member account's root user credentials through an `sts:AssumeRoot` session
    /// (task policy `IAMDeleteRootUserCredentials`): exactly those the plan read. Irreversible.
    DeleteRootCredentials {
        id: String,
        name: String,
        credentials: crate::plan::state::RootCredentials,
    },
    /// Give an account the spec's name (`account:PutAccountName`).
    RenameAccount {
        account: AccountRef,
        /// The name AWS has now; None when it is not known before apply (the management account of
        /// an organization this plan creates).
        before: Option<String>,
        after: String,
        /// The management account renames itself without `AccountId` (AWS refuses its own id);
        /// members are renamed with `AccountId`, which needs trusted access for `account.amazonaws.com`.
        management: bool,
    },
    CreatePolicy {
        name: String,
        policy_type: PolicyType,
        description: String,
        document: Value,
        tags: BTreeMap<String, String>,
    },
    UpdatePolicy {
        id: String,
        name: String,
        policy_type: PolicyType,
        description: Option<Change<String>>,
        document: Option<Change<Value>>,
    },
    DeletePolicy {
        id: String,
        name: String,
        policy_type: PolicyType,
    },
    AttachPolicy {
        policy: PolicyRef,
        policy_type: PolicyType,
        target: TargetRef,
    },
    DetachPolicy {
        policy: PolicyRef,
        policy_type: PolicyType,
        target: TargetRef,
    },
    /// Make one baseline control (in one account and region) match the spec.
    ConfigureControl {
        control: crate::plan::control::ControlKey,
        account: AccountRef,
        /// Live attributes; None when the control does not exist yet.
        before: Option<Value>,
        /// Desired attributes; `{{account:NAME}}` placeholders are filled in at apply time. The
        /// desired organization's own map when it holds no placeholder (`control::resolve_shared`).
        #[serde(with = "shared_value")]
        after: std::sync::Arc<Value>,
    },
    /// Remove a baseline resource landing-zone created (it carries the tool's ownership mark) that
    /// the spec no longer asks for in that account (and region). Resources of the same kind the
    /// tool did not create are never removed: the plan notes them.
    RemoveControl {
        control: crate::plan::control::ControlKey,
        account: AccountRef,
        /// Live attributes, as read when planning.
        before: Value,
        /// Why it goes, when not because the spec stopped asking for it (the spec wants the
        /// resource gone: a default VPC).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    UpdateTags {
        resource_id: String,
        /// Display-only: `unit Security`, `account app-prod`, `policy deny-leave`.
        resource: String,
        tags: Change<BTreeMap<String, String>>,
    },
}

/// How an action shows in the summary line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    Add,
    Change,
    Destroy,
}

impl Action {
    pub fn change_kind(&self) -> ChangeKind {
        match self {
            Action::CreateOrganization { .. }
            | Action::EnablePolicyType { .. }
            | Action::EnableServiceAccess { .. }
            | Action::RegisterDelegatedAdministrator { .. }
            | Action::EnableRootAccessFeature { .. }
            | Action::CreateUnit { .. }
            | Action::CreateAccount { .. }
            | Action::CreatePolicy { .. }
            | Action::AttachPolicy { .. } => ChangeKind::Add,
            Action::ConfigureControl { before: None, .. } => ChangeKind::Add,
            Action::RenameUnit { .. }
            | Action::RenameAccount { .. }
            | Action::ConfigureControl { .. }
            | Action::MoveAccount { .. }
            | Action::UpdatePolicy { .. }
            | Action::UpdateTags { .. } => ChangeKind::Change,
            Action::DeleteUnit { .. }
            | Action::CloseAccount { .. }
            | Action::DeleteRootCredentials { .. }
            | Action::DeletePolicy { .. }
            | Action::DetachPolicy { .. }
            | Action::RemoveControl { .. } => ChangeKind::Destroy,
        }
    }

    /// What the action did, in the past tense, for apply's progress: `created`, `moved`, `tagged`.
    pub fn past_tense(&self) -> &'static str {
        match self {
            Action::CreateOrganization { .. }
            | Action::CreateUnit { .. }
            | Action::CreateAccount { .. }
            | Action::CreatePolicy { .. }
            | Action::ConfigureControl { before: None, .. } => "created",
            Action::EnablePolicyType { .. }
            | Action::EnableServiceAccess { .. }
            | Action::EnableRootAccessFeature { .. } => "enabled",
            Action::RegisterDelegatedAdministrator { .. } => "registered",
            Action::RenameUnit { .. } | Action::RenameAccount { .. } => "renamed",
            Action::MoveAccount { .. } => "moved",
            Action::UpdatePolicy { .. } | Action::ConfigureControl { .. } => "updated",
            Action::AttachPolicy { .. } => "attached",
            Action::DetachPolicy { .. } => "detached",
            Action::UpdateTags { .. } => "tagged",
            Action::DeleteUnit { .. } | Action::DeletePolicy { .. } | Action::DeleteRootCredentials { .. } => "deleted",
            Action::RemoveControl { .. } => "removed",
            Action::CloseAccount { .. } => "closed",
        }
    }

    /// The thing the action touched, for a line that starts with [`Action::past_tense`]:
    /// `tagged account security` rather than `tagged tags of account security`, `attached policy x
    /// to Root`.
    pub fn done_address(&self) -> String {
        match self {
            Action::UpdateTags { resource, .. } => resource.clone(),
            Action::AttachPolicy { policy, target, .. } => format!("policy {} to {}", policy.name(), target.label()),
            Action::DetachPolicy { policy, target, .. } => format!("policy {} from {}", policy.name(), target.label()),
            other => other.address(),
        }
    }

    /// A short address for the thing the action touches: `unit Workloads/Prod`, `policy x -> Root`.
    pub fn address(&self) -> String {
        match self {
            Action::CreateOrganization { .. } => "organization".to_string(),
            Action::EnablePolicyType { policy_type } => format!("policy type {policy_type}"),
            Action::EnableServiceAccess { service } => format!("trusted access {service}"),
            Action::EnableRootAccessFeature { feature } => format!("root access {feature}"),
            Action::RegisterDelegatedAdministrator { service, account } => {
                format!("delegated administrator {service} = {}", account.name())
            }
            Action::CreateUnit { path, .. } | Action::DeleteUnit { path, .. } | Action::RenameUnit { path, .. } => {
                format!("unit {path}")
            }
            Action::CreateAccount { name, .. } | Action::CloseAccount { name, .. } => {
                format!("account {name}")
            }
            Action::MoveAccount { account, .. } | Action::RenameAccount { account, .. } => {
                format!("account {}", account.name())
            }
            Action::DeleteRootCredentials { name, credentials, .. } => {
                format!("root credentials of account {name}: {}", credentials.summary())
            }
            Action::CreatePolicy { name, .. }
            | Action::UpdatePolicy { name, .. }
            | Action::DeletePolicy { name, .. } => {
                format!("policy {name}")
            }
            Action::AttachPolicy { policy, target, .. } | Action::DetachPolicy { policy, target, .. } => {
                format!("attachment {} -> {}", policy.name(), target.label())
            }
            Action::UpdateTags { resource, .. } => format!("tags of {resource}"),
            Action::ConfigureControl { control, .. } | Action::RemoveControl { control, .. } => control.display_label(),
        }
    }
}

/// One action in the plan, with what it waits for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedAction {
    /// Position in `Plan::actions`.
    pub index: usize,
    #[serde(flatten)]
    pub action: Action,
    /// Indices of actions that must finish first.
    pub depends_on: Vec<usize>,
    /// Display-only: how many accounts the change reaches (policies: every account under the target).
    pub reaches_accounts: usize,
}

/// Something the plan will not change but the reader should know.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Note {
    pub resource: String,
    pub message: String,
}

/// A change the spec asks for that a missing opt-in holds back: not applied, but pending — the
/// plan is not "no changes" while one exists (`--detailed-exitcode` exits 2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Blocked {
    /// What it is about: `account sandbox-old`, `attachment deny-cloudtrail-tampering -> Root`.
    pub resource: String,
    /// What the change would do: `close the account`.
    pub change: String,
    /// What lets it through: `pass --allow-destructive`.
    pub unblock: String,
}

/// The planner's output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub format_version: u32,
    pub actions: Vec<PlannedAction>,
    /// Risks the reviewer must see first (lock-out, what AWS will not let anyone change).
    pub warnings: Vec<String>,
    /// Unmanaged resources and changes the tool cannot make.
    pub notes: Vec<Note>,
    /// Changes held back by a missing opt-in (`organization.allow.*`, `--allow-destructive`).
    /// Left out of the serialized plan when empty, so a plan saved before the field existed keeps
    /// its `plan_digest`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub blocked: Vec<Blocked>,
}

/// Counts for the summary line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub add: usize,
    pub change: usize,
    pub destroy: usize,
    /// Changes held back by a missing opt-in (`Plan::blocked`).
    #[serde(default)]
    pub blocked: usize,
    /// Of `change`, the moves of accounts this plan creates into their OUs (a new account is
    /// created in the root, then moved): counted as the actions they are, and labelled, so the
    /// plan's counts add up to the actions apply runs.
    #[serde(default)]
    pub new_account_moves: usize,
}

impl Plan {
    /// Nothing to execute (changes may still be blocked: see [`Plan::has_changes`]).
    pub fn is_empty(&self) -> bool {
        self.actions.is_empty()
    }

    /// Whether the organization differs from the spec: actions to execute, or changes a missing
    /// opt-in holds back. Only a plan without either is "no changes".
    pub fn has_changes(&self) -> bool {
        !self.actions.is_empty() || !self.blocked.is_empty()
    }

    pub fn summary(&self) -> Summary {
        let mut summary = Summary { blocked: self.blocked.len(), ..Summary::default() };
        let created: std::collections::BTreeSet<&str> = self
            .actions
            .iter()
            .filter_map(|planned| match &planned.action {
                Action::CreateAccount { name, .. } => Some(name.as_str()),
                _ => None,
            })
            .collect();
        for planned in &self.actions {
            match planned.action.change_kind() {
                ChangeKind::Add => summary.add += 1,
                ChangeKind::Change => summary.change += 1,
                ChangeKind::Destroy => summary.destroy += 1,
            }
            if let Action::MoveAccount { account: AccountRef::Planned { name }, .. } = &planned.action {
                if created.contains(name.as_str()) {
                    summary.new_account_moves += 1;
                }
            }
        }
        summary
    }
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Plan: {} to add, {} to change, {} to destroy", self.add, self.change, self.destroy)?;
        if self.new_account_moves > 0 {
            write!(
                f,
                " ({} of the changes move{} new accounts into their OUs)",
                self.new_account_moves,
                if self.new_account_moves == 1 { "s" } else { "" }
            )?;
        }
        if self.blocked > 0 {
            write!(f, "; {} blocked (needs an opt-in)", self.blocked)?;
        }
        f.write_str(".")
    }
}

/// The first dependency cycle among `actions` (indices, the first repeated at the end), if any.
/// A plan with one could never finish: the executor would wait forever on its members.
pub fn dependency_cycle(actions: &[PlannedAction]) -> Option<Vec<usize>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Open,
        Closed,
    }
    let mut marks = vec![Mark::New; actions.len()];
    for start in 0..actions.len() {
        if marks[start] != Mark::New {
            continue;
        }
        // Iterative depth-first search: (action, next dependency to visit).
        let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
        marks[start] = Mark::Open;
        while let Some((node, next)) = stack.last().copied() {
            let dependencies = actions.get(node).map_or(&[][..], |action| action.depends_on.as_slice());
            match dependencies.get(next) {
                None => {
                    marks[node] = Mark::Closed;
                    stack.pop();
                }
                Some(&dependency) => {
                    if let Some(top) = stack.last_mut() {
                        top.1 += 1;
                    }
                    match marks.get(dependency) {
                        Some(Mark::New) => {
                            marks[dependency] = Mark::Open;
                            stack.push((dependency, 0));
                        }
                        Some(Mark::Open) => {
                            let from = stack.iter().position(|(index, _)| *index == dependency).unwrap_or(0);
                            let mut cycle: Vec<usize> = stack[from..].iter().map(|(index, _)| *index).collect();
                            cycle.push(dependency);
                            return Some(cycle);
                        }
                        // Closed, or an index outside the plan (checked where plans are read).
                        _ => {}
                    }
                }
            }
        }
    }
    None
}

/// Writes and reads an `Arc<Value>` as the value itself (a saved plan holds no sharing). By hand
/// rather than with serde's `rc` feature, which would rebuild serde and every crate above it, the
/// SDK's included, for one field.
mod shared_value {
    use std::sync::Arc;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use serde_json::Value;

    pub fn serialize<S: Serializer>(value: &Arc<Value>, serializer: S) -> Result<S::Ok, S::Error> {
        value.as_ref().serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Arc<Value>, D::Error> {
        Value::deserialize(deserializer).map(Arc::new)
    }
}

#[cfg(test)]
mod cycle_tests {
    use super::*;

    fn actions(dependencies: &[&[usize]]) -> Vec<PlannedAction> {
        dependencies
            .iter()
            .enumerate()
            .map(|(index, depends_on)| PlannedAction {
                index,
                action: Action::EnableServiceAccess { service: format!("s{index}") },
                depends_on: depends_on.to_vec(),
                reaches_accounts: 0,
            })
            .collect()
    }

    #[test]
    fn an_acyclic_plan_has_no_cycle() {
        assert_eq!(dependency_cycle(&actions(&[&[], &[0], &[0, 1], &[2]])), None);
    }

    #[test]
    fn a_cycle_is_found_and_named() {
        assert_eq!(dependency_cycle(&actions(&[&[], &[2], &[3], &[1]])), Some(vec![1, 2, 3, 1]));
        assert_eq!(dependency_cycle(&actions(&[&[0]])), Some(vec![0, 0]));
    }
}
