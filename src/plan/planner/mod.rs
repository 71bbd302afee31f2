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
    AccountRef, Action, Blocked, Change, Note, Plan, PlannedAction, PolicyRef, TargetRef, UnitRef, PLAN_FORMAT_VERSION,
};
use super::desired::{DesiredOrganization, DesiredPolicy};
use crate::plan::control::{has_placeholders, referenced_accounts, resolve, ControlKey, KnownIds};
use crate::plan::policy_evaluator::{document_denies, Request};
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
        blocked: planner.blocked,
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
    blocked: Vec<Blocked>,
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
            blocked: Vec::new(),
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

    /// Whether a change the spec asks for may go ahead: its `organization.allow.*` opt-in (None
    /// for changes the spec asks for explicitly) and `--allow-destructive`. When not, the change is
    /// listed as blocked with what is missing, and the plan is not "no changes".
    fn opted_in(
        &mut self,
        resource: impl Into<String>,
        change: impl Into<String>,
        allow: Option<(&str, bool)>,
    ) -> bool {
        let spec_missing = allow.filter(|(_, set)| !set).map(|(name, _)| name);
        if spec_missing.is_none() && self.options.allow_destructive {
            return true;
        }
        let unblock = match (spec_missing, self.options.allow_destructive) {
            (Some(name), false) => format!("set `organization.allow.{name}: true` and pass --allow-destructive"),
            (Some(name), true) => format!("set `organization.allow.{name}: true`"),
            (None, _) => "pass --allow-destructive".to_string(),
        };
        self.blocked.push(Blocked { resource: resource.into(), change: change.into(), unblock });
        false
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

/// Whether a policy document guards the organization trail: it denies (or may deny) stopping or
/// deleting a trail to an ordinary principal of the accounts it reaches, as the policy evaluator
/// reads it. Uncertain counts as guarding, so that only what certainly guards nothing is detached
/// without the opt-in.
pub fn guards_trail(document: &Value) -> bool {
    const PROBE: &str = "arn:aws:iam::000000000000:role/AnyRole";
    ["cloudtrail:StopLogging", "cloudtrail:DeleteTrail"].iter().any(|action| {
        let request = Request { principal_arn: PROBE, action, resource: None, region: None };
        !document_denies("", document, &request).is_not_denied()
    })
}
