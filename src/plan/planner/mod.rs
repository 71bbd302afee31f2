//! The planner: a pure function `(desired, live, options) -> Plan`. No I/O, no clock, no SDK types.
//!
//! It matches desired things to live ones (OUs by pinned id or parent + name; accounts by pinned
//! id, email, or as the management account; policies by type + name), emits the actions that close
//! the gap with their dependencies, and enforces the rules AWS would otherwise reject mid-apply
//! (never leave a target without an SCP, per-target policy limits). Unmanaged things become notes.

mod accounts;
mod controls;
mod organization;
mod policies;
mod units;

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::action::{
    AccountRef, Action, Change, Note, Plan, PlannedAction, PolicyRef, TargetRef, UnitRef, PLAN_FORMAT_VERSION,
};
use super::desired::{DesiredOrganization, DesiredPolicy};
use crate::plan::control::{has_placeholders, referenced_accounts, resolve, ControlKey, KnownIds};
use crate::plan::state::{LiveOrganization, LivePolicy};
use crate::spec::{PolicyType, OWNERSHIP_TAG, OWNERSHIP_VALUE, ROOT};

/// The Account Management service: renaming a member account needs its trusted access.
const ACCOUNT_SERVICE: &str = "account.amazonaws.com";

/// IAM: centralized root access needs its trusted access.
const IAM_SERVICE: &str = "iam.amazonaws.com";

/// Choices made on the command line.
#[derive(Debug, Clone, Copy, Default)]
pub struct PlanOptions {
    /// `--allow-destructive`: together with the spec's `organization.allow`, permits closing
    /// accounts, deleting empty OUs and detaching trail guards.
    pub allow_destructive: bool,
}

/// A spec that cannot be reached from the live state without breaking an AWS rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("account `{name}` pins id `{id}`, which is not a member of the organization")]
    AccountIdNotFound { name: String, id: String },
    #[error("unit `{path}` pins id `{id}`, which is not in the organization")]
    UnitIdNotFound { path: String, id: String },
    #[error("unit `{path}` (id `{id}`) sits under `{live_parent}` in AWS; AWS cannot move an OU to another parent")]
    UnitMoved { path: String, id: String, live_parent: String },
    #[error("account `{name}` ({email}) would be account `{id}`, which the spec already assigns to `{claimant}`; fix the email or the pinned id")]
    EmailClaimed { name: String, email: String, id: String, claimant: String },
    #[error("unit `{path}` (id `{id}`) cannot be renamed: its sibling `{other}` already has that name; rename or remove the sibling first")]
    NameTaken { path: String, id: String, other: String },
    #[error("the spec manages the targets of an AWS-managed default policy and creates the organization, but does not name `organization.management_account`; the account CreateOrganization makes would be left unplanned")]
    UnnamedManagementAccount,
    #[error("{target} would be left without any service control policy; AWS requires at least one (keep FullAWSAccess or attach another)")]
    LastScp { target: String },
    #[error("internal error: the plan's dependencies form a cycle ({}); nothing was applied", .0.join(" -> "))]
    DependencyCycle(Vec<String>),
    #[error("{target} would have {count} {policy_type}s attached; AWS allows {max}")]
    TooManyPolicies { target: String, policy_type: PolicyType, count: usize, max: usize },
}

/// Plans the changes that make `live` match `desired`.
pub fn plan(desired: &DesiredOrganization, live: &LiveOrganization, options: PlanOptions) -> Result<Plan, PlanError> {
    let mut planner = Planner::new(desired, live, options);
    planner.organization();
    planner.policy_types();
    planner.trusted_services();
    planner.root_access();
    planner.root_credentials();
    planner.units()?;
    planner.accounts()?;
    planner.policies()?;
    planner.delegated_administrators();
    planner.controls();
    planner.removals();
    planner.order_scps_after_controls();
    planner.unmanaged_units();
    // A cycle would leave its actions waiting forever: refuse the plan instead of skipping them.
    if let Some(cycle) = super::action::dependency_cycle(&planner.actions) {
        let names = cycle.iter().filter_map(|index| planner.actions.get(*index)).map(|a| a.action.address()).collect();
        return Err(PlanError::DependencyCycle(names));
    }
    Ok(Plan {
        format_version: PLAN_FORMAT_VERSION,
        actions: planner.actions,
        warnings: planner.warnings,
        notes: planner.notes,
    })
}

/// A desired thing resolved to a live id or to the action that creates it.
#[derive(Debug, Clone)]
struct Resolved<R> {
    reference: R,
    created_by: Option<usize>,
}

struct Planner<'a> {
    desired: &'a DesiredOrganization,
    live: &'a LiveOrganization,
    options: PlanOptions,
    actions: Vec<PlannedAction>,
    warnings: Vec<String>,
    notes: Vec<Note>,
    create_organization: Option<usize>,
    policy_type_actions: BTreeMap<PolicyType, usize>,
    service_actions: BTreeMap<String, usize>,
    units: BTreeMap<String, Resolved<UnitRef>>,
    accounts: BTreeMap<String, Resolved<AccountRef>>,
    matched_unit_ids: BTreeSet<String>,
    matched_account_ids: BTreeSet<String>,
    delegated_admin_actions: BTreeMap<String, Vec<usize>>,
    control_actions: BTreeMap<ControlKey, usize>,
}

impl<'a> Planner<'a> {
    fn new(desired: &'a DesiredOrganization, live: &'a LiveOrganization, options: PlanOptions) -> Planner<'a> {
        Planner {
            desired,
            live,
            options,
            actions: Vec::new(),
            warnings: Vec::new(),
            notes: Vec::new(),
            create_organization: None,
            policy_type_actions: BTreeMap::new(),
            service_actions: BTreeMap::new(),
            units: BTreeMap::new(),
            accounts: BTreeMap::new(),
            matched_unit_ids: BTreeSet::new(),
            matched_account_ids: BTreeSet::new(),
            delegated_admin_actions: BTreeMap::new(),
            control_actions: BTreeMap::new(),
        }
    }

    /// Appends an action; everything depends on creating the organization when that is planned.
    fn push(&mut self, action: Action, depends_on: impl IntoIterator<Item = Option<usize>>, reaches: usize) -> usize {
        let index = self.actions.len();
        let mut depends_on: Vec<usize> = depends_on.into_iter().flatten().collect();
        if let Some(create) = self.create_organization {
            if create != index {
                depends_on.push(create);
            }
        }
        depends_on.sort_unstable();
        depends_on.dedup();
        self.actions.push(PlannedAction { index, action, depends_on, reaches_accounts: reaches });
        index
    }

    fn note(&mut self, resource: impl Into<String>, message: impl Into<String>) {
        self.notes.push(Note { resource: resource.into(), message: message.into() });
    }

    fn root(&self) -> UnitRef {
        match &self.live.root {
            Some(root) => UnitRef::Existing { id: root.id.clone(), path: ROOT.to_string() },
            None => UnitRef::Planned { path: ROOT.to_string() },
        }
    }
}

/// Spec account name -> live account id. Pinned ids claim first, then emails (case-insensitive),
/// then the spec's `management_account` falls back to the live management account; a live account
/// is never claimed twice.
pub fn match_accounts(desired: &DesiredOrganization, live: &LiveOrganization) -> BTreeMap<String, String> {
    let mut matches: BTreeMap<String, String> = BTreeMap::new();
    let mut claimed: BTreeSet<String> = BTreeSet::new();
    for account in &desired.accounts {
        if let Some(id) = account.id.as_ref().filter(|id| live.accounts.contains_key(*id)) {
            if claimed.insert(id.clone()) {
                matches.insert(account.name.clone(), id.clone());
            }
        }
    }
    let by_email: BTreeMap<String, &str> =
        live.accounts.values().map(|account| (account.email.to_lowercase(), account.id.as_str())).collect();
    for account in desired.accounts.iter().filter(|account| account.id.is_none()) {
        if let Some(id) = by_email.get(&account.email.to_lowercase()) {
            if claimed.insert((*id).to_string()) {
                matches.insert(account.name.clone(), (*id).to_string());
            }
        }
    }
    if let (Some(name), Some(organization)) = (&desired.management_account, &live.organization) {
        let unmatched = !matches.contains_key(name);
        let pinned_elsewhere = desired.accounts.iter().any(|account| &account.name == name && account.id.is_some());
        if unmatched && !pinned_elsewhere && claimed.insert(organization.management_account_id.clone()) {
            matches.insert(name.clone(), organization.management_account_id.clone());
        }
    }
    matches
}

/// The ledger key of a target: the live id, or `unit:<path>` / `account:<name>` for planned ones.
fn target_key(target: &TargetRef) -> String {
    match target {
        TargetRef::Unit { unit: UnitRef::Existing { id, .. } } => id.clone(),
        TargetRef::Unit { unit: UnitRef::Planned { path } } => format!("unit:{path}"),
        TargetRef::Account { account: AccountRef::Existing { id, .. } } => id.clone(),
        TargetRef::Account { account: AccountRef::Planned { name } } => format!("account:{name}"),
    }
}

/// Which policy (by type and name) is attached to which target, as the plan goes along.
struct AttachmentLedger {
    attached: BTreeSet<(PolicyType, String, String)>,
    live: BTreeSet<(PolicyType, String, String)>,
}

impl AttachmentLedger {
    fn from_live(live: &LiveOrganization) -> AttachmentLedger {
        let attached: BTreeSet<(PolicyType, String, String)> = live
            .policies
            .values()
            .flat_map(|policy| {
                policy.targets.iter().map(move |target| (policy.policy_type, policy.name.clone(), target.clone()))
            })
            .collect();
        AttachmentLedger { live: attached.clone(), attached }
    }

    fn attach(&mut self, policy_type: PolicyType, name: &str, target: String) {
        self.attached.insert((policy_type, name.to_string(), target));
    }

    fn detach(&mut self, policy_type: PolicyType, name: &str, target: &str) {
        self.attached.remove(&(policy_type, name.to_string(), target.to_string()));
    }

    fn is_attached(&self, policy_type: PolicyType, name: &str, target: &str) -> bool {
        self.attached.contains(&(policy_type, name.to_string(), target.to_string()))
    }

    fn targets_of(&self, policy_type: PolicyType, name: &str) -> Vec<String> {
        self.attached
            .iter()
            .filter(|(t, n, _)| *t == policy_type && n == name)
            .map(|(_, _, target)| target.clone())
            .collect()
    }

    fn count(&self, policy_type: PolicyType, target: &str) -> usize {
        self.attached.iter().filter(|(t, _, k)| *t == policy_type && k == target).count()
    }

    fn live_count(&self, policy_type: PolicyType, target: &str) -> usize {
        self.live.iter().filter(|(t, _, k)| *t == policy_type && k == target).count()
    }
}

/// Whether a policy document denies stopping, deleting or changing CloudTrail trails.
pub fn guards_trail(document: &Value) -> bool {
    const GUARDED: &[&str] =
        &["cloudtrail:stoplogging", "cloudtrail:deletetrail", "cloudtrail:*", "cloudtrail:updatetrail"];
    let statements = match document.get("Statement") {
        Some(Value::Array(statements)) => statements.clone(),
        Some(statement @ Value::Object(_)) => vec![statement.clone()],
        _ => return false,
    };
    statements.iter().any(|statement| {
        let denies = statement.get("Effect").and_then(Value::as_str) == Some("Deny");
        let actions: Vec<String> = match statement.get("Action") {
            Some(Value::String(action)) => vec![action.to_lowercase()],
            Some(Value::Array(actions)) => actions.iter().filter_map(Value::as_str).map(str::to_lowercase).collect(),
            _ => Vec::new(),
        };
        denies && actions.iter().any(|action| GUARDED.contains(&action.as_str()))
    })
}

/// An SCP statement that denies an action the executor needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    pub action: String,
    /// The statement carries a condition naming the executor's role (an exemption).
    pub exempts_executor: bool,
}

/// Whether `document` denies `action` (IAM wildcards, case-insensitive). Statements limited to
/// regions (`aws:RequestedRegion`) are not counted: the executor works only in the spec's regions.
pub fn denies(document: &Value, action: &str, access_role: &str) -> Option<Denial> {
    let statements = match document.get("Statement") {
        Some(Value::Array(statements)) => statements.clone(),
        Some(statement @ Value::Object(_)) => vec![statement.clone()],
        _ => return None,
    };
    let wanted = action.to_lowercase();
    statements.iter().find_map(|statement| {
        if statement.get("Effect").and_then(Value::as_str) != Some("Deny") {
            return None;
        }
        let patterns: Vec<String> = match statement.get("Action") {
            Some(Value::String(pattern)) => vec![pattern.to_lowercase()],
            Some(Value::Array(patterns)) => patterns.iter().filter_map(Value::as_str).map(str::to_lowercase).collect(),
            _ => return None,
        };
        if !patterns.iter().any(|pattern| wildcard_match(pattern, &wanted)) {
            return None;
        }
        let condition = statement.get("Condition").map(Value::to_string).unwrap_or_default();
        if condition.contains("aws:RequestedRegion") {
            return None;
        }
        Some(Denial { action: action.to_string(), exempts_executor: condition.contains(access_role) })
    })
}

/// IAM-style `*` and `?` matching.
fn wildcard_match(pattern: &str, text: &str) -> bool {
    let (pattern, text): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut p, mut t, mut star, mut mark) = (0, 0, None, 0);
    while t < text.len() {
        if p < pattern.len() && (pattern[p] == '?' || pattern[p] == text[t]) {
            p += 1;
            t += 1;
        } else if p < pattern.len() && pattern[p] == '*' {
            star = Some(p);
            mark = t;
            p += 1;
        } else if let Some(star_at) = star {
            p = star_at + 1;
            mark += 1;
            t = mark;
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|c| *c == '*')
}
