//! The planner: a pure function `(desired, live, options) -> Plan`. No I/O, no clock, no SDK types.
//!
//! It matches desired things to live ones (OUs by pinned id or parent + name; accounts by pinned
//! id, email, or as the management account; policies by type + name), emits the actions that close
//! the gap with their dependencies, and enforces the rules AWS would otherwise reject mid-apply
//! (never leave a target without an SCP, per-target policy limits). Unmanaged things become notes.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::action::{
    AccountRef, Action, Change, Note, Plan, PlannedAction, PolicyRef, TargetRef, UnitRef, PLAN_FORMAT_VERSION,
};
use super::desired::{DesiredOrganization, DesiredPolicy};
use crate::plan::control::{referenced_accounts, resolve, ControlKey, KnownIds};
use crate::plan::state::{LiveOrganization, LivePolicy};
use crate::spec::{PolicyType, OWNERSHIP_TAG, OWNERSHIP_VALUE, ROOT};

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
    #[error("{target} would have {count} {policy_type}s attached; AWS allows {max}")]
    TooManyPolicies { target: String, policy_type: PolicyType, count: usize, max: usize },
}

/// Plans the changes that make `live` match `desired`.
pub fn plan(desired: &DesiredOrganization, live: &LiveOrganization, options: PlanOptions) -> Result<Plan, PlanError> {
    let mut planner = Planner::new(desired, live, options);
    planner.organization();
    planner.policy_types();
    planner.trusted_services();
    planner.units()?;
    planner.accounts()?;
    planner.policies()?;
    planner.delegated_administrators();
    planner.controls();
    planner.order_scps_after_controls();
    planner.unmanaged_units();
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

    fn organization(&mut self) {
        if self.live.organization.is_none() {
            let management_account = self.desired.management_account.clone();
            if management_account.is_none() {
                self.warnings.push(
                    "no organization exists yet and `organization.management_account` is not set: the caller's account becomes the management account and no spec account is matched to it".to_string(),
                );
            }
            let index = self.push(Action::CreateOrganization { management_account }, [], 0);
            self.create_organization = Some(index);
        }
        let root = self.root();
        self.units.insert(ROOT.to_string(), Resolved { reference: root, created_by: self.create_organization });
    }

    fn policy_types(&mut self) {
        for policy_type in self.desired.policy_types.clone() {
            if !self.live.policy_type_enabled(policy_type) {
                let index = self.push(Action::EnablePolicyType { policy_type }, [], 0);
                self.policy_type_actions.insert(policy_type, index);
            }
        }
        if let Some(root) = &self.live.root {
            for (policy_type, status) in &root.policy_types {
                if !self.desired.policy_types.contains(policy_type) && status == "ENABLED" {
                    self.notes.push(Note {
                        resource: format!("policy type {policy_type}"),
                        message: "enabled in the organization but not in `organization.policy_types`; left as is"
                            .to_string(),
                    });
                }
            }
        }
    }

    fn trusted_services(&mut self) {
        for service in self.desired.trusted_services.clone() {
            if !self.live.trusted_services.contains(&service) {
                let index = self.push(Action::EnableServiceAccess { service: service.clone() }, [], 0);
                self.service_actions.insert(service, index);
            }
        }
    }

    fn units(&mut self) -> Result<(), PlanError> {
        for unit in &self.desired.units {
            let parent = self
                .units
                .get(&unit.parent_path)
                .cloned()
                .unwrap_or_else(|| Resolved { reference: self.root(), created_by: self.create_organization });
            let parent_id = match &parent.reference {
                UnitRef::Existing { id, .. } => Some(id.clone()),
                UnitRef::Planned { .. } => None,
            };
            let live_unit = match &unit.id {
                Some(id) => {
                    let live_unit = self
                        .live
                        .units
                        .get(id)
                        .ok_or_else(|| PlanError::UnitIdNotFound { path: unit.path.clone(), id: id.clone() })?;
                    if parent_id.as_deref() != Some(live_unit.parent_id.as_str()) {
                        return Err(PlanError::UnitMoved {
                            path: unit.path.clone(),
                            id: id.clone(),
                            live_parent: self
                                .live
                                .path_of(&live_unit.parent_id)
                                .unwrap_or_else(|| live_unit.parent_id.clone()),
                        });
                    }
                    Some(live_unit)
                }
                None => parent_id.as_ref().and_then(|parent_id| {
                    self.live
                        .units
                        .values()
                        .find(|candidate| &candidate.parent_id == parent_id && candidate.name == unit.name)
                }),
            };
            match live_unit {
                Some(live_unit) => {
                    self.matched_unit_ids.insert(live_unit.id.clone());
                    let reference = UnitRef::Existing { id: live_unit.id.clone(), path: unit.path.clone() };
                    self.units.insert(unit.path.clone(), Resolved { reference, created_by: None });
                    if live_unit.name != unit.name {
                        let taken = self.live.units.values().find(|other| {
                            other.parent_id == live_unit.parent_id
                                && other.id != live_unit.id
                                && other.name == unit.name
                        });
                        if let Some(other) = taken {
                            return Err(PlanError::NameTaken {
                                path: unit.path.clone(),
                                id: live_unit.id.clone(),
                                other: other.id.clone(),
                            });
                        }
                        let name = Change { before: live_unit.name.clone(), after: unit.name.clone() };
                        let action = Action::RenameUnit { id: live_unit.id.clone(), path: unit.path.clone(), name };
                        self.push(action, [], 0);
                    }
                    if let Some(tags) = &unit.tags {
                        let before = live_unit.tags.clone().unwrap_or_default();
                        self.update_tags(&live_unit.id, format!("unit {}", unit.path), before, tags.clone());
                    }
                }
                None => {
                    let action = Action::CreateUnit {
                        path: unit.path.clone(),
                        name: unit.name.clone(),
                        parent: parent.reference.clone(),
                        tags: unit.tags.clone().unwrap_or_default(),
                    };
                    let index = self.push(action, [parent.created_by], 0);
                    let reference = UnitRef::Planned { path: unit.path.clone() };
                    self.units.insert(unit.path.clone(), Resolved { reference, created_by: Some(index) });
                }
            }
        }
        Ok(())
    }

    fn update_tags(
        &mut self,
        resource_id: &str,
        resource: String,
        before: BTreeMap<String, String>,
        after: BTreeMap<String, String>,
    ) {
        if before != after {
            let tags = Change { before, after };
            self.push(Action::UpdateTags { resource_id: resource_id.to_string(), resource, tags }, [], 0);
        }
    }

    fn unit_for(&self, path: &str) -> Resolved<UnitRef> {
        self.units
            .get(path)
            .cloned()
            .unwrap_or_else(|| Resolved { reference: self.root(), created_by: self.create_organization })
    }

    fn accounts(&mut self) -> Result<(), PlanError> {
        let mut pinned: BTreeMap<&str, &str> = BTreeMap::new();
        for account in &self.desired.accounts {
            if let Some(id) = &account.id {
                if !self.live.accounts.contains_key(id) {
                    return Err(PlanError::AccountIdNotFound { name: account.name.clone(), id: id.clone() });
                }
                if let Some(first) = pinned.insert(id, &account.name) {
                    return Err(PlanError::EmailClaimed {
                        name: account.name.clone(),
                        email: account.email.clone(),
                        id: id.clone(),
                        claimant: first.to_string(),
                    });
                }
            }
        }
        let matches = match_accounts(self.desired, self.live);
        // An email that belongs to a live account another spec entry claims cannot be created
        // again: AWS would refuse it (EMAIL_ALREADY_EXISTS) mid-apply.
        for account in self.desired.accounts.iter().filter(|account| !matches.contains_key(&account.name)) {
            let owner = self.live.accounts.values().find(|live| live.email.eq_ignore_ascii_case(&account.email));
            if let Some(owner) = owner {
                if let Some((claimant, _)) = matches.iter().find(|(_, id)| **id == owner.id) {
                    return Err(PlanError::EmailClaimed {
                        name: account.name.clone(),
                        email: account.email.clone(),
                        id: owner.id.clone(),
                        claimant: claimant.clone(),
                    });
                }
            }
        }
        let management_id = self.live.organization.as_ref().map(|org| org.management_account_id.clone());
        for account in &self.desired.accounts {
            let is_management = self.desired.management_account.as_deref() == Some(account.name.as_str());
            let live_id: Option<String> = matches.get(&account.name).cloned();
            let target = self.unit_for(&account.unit_path);
            match live_id.and_then(|id| self.live.accounts.get(&id)) {
                Some(live_account) => {
                    self.matched_account_ids.insert(live_account.id.clone());
                    let reference = AccountRef::Existing { id: live_account.id.clone(), name: account.name.clone() };
                    self.accounts
                        .insert(account.name.clone(), Resolved { reference: reference.clone(), created_by: None });
                    if live_account.status != "ACTIVE" {
                        self.note(
                            format!("account {}", account.name),
                            format!("status is {}; left as is", live_account.status),
                        );
                        continue;
                    }
                    if account.close && management_id.as_deref() == Some(live_account.id.as_str()) {
                        self.warnings.push(format!(
                            "account `{}` is the management account and cannot be closed; `close: true` is ignored",
                            account.name
                        ));
                    } else if account.close {
                        if self.desired.allow.close_accounts && self.options.allow_destructive {
                            let action =
                                Action::CloseAccount { id: live_account.id.clone(), name: account.name.clone() };
                            self.push(action, [], 1);
                        } else {
                            self.warnings.push(format!(
                                "account `{}` is marked `close: true`; pass --allow-destructive to close it",
                                account.name
                            ));
                        }
                        continue;
                    }
                    if live_account.name != account.name {
                        self.note(
                            format!("account {}", account.name),
                            format!(
                                "AWS names this account `{}`; the spec's name is used only inside the spec",
                                live_account.name
                            ),
                        );
                    }
                    let in_place =
                        matches!(&target.reference, UnitRef::Existing { id, .. } if *id == live_account.parent_id);
                    if !in_place {
                        let from_path = self
                            .live
                            .path_of(&live_account.parent_id)
                            .unwrap_or_else(|| live_account.parent_id.clone());
                        let action = Action::MoveAccount {
                            account: reference,
                            from: UnitRef::Existing { id: live_account.parent_id.clone(), path: from_path },
                            to: target.reference.clone(),
                        };
                        self.push(action, [target.created_by], 1);
                    }
                    if let Some(tags) = &account.tags {
                        let before = live_account.tags.clone().unwrap_or_default();
                        self.update_tags(&live_account.id, format!("account {}", account.name), before, tags.clone());
                    }
                }
                None if account.close => {}
                None if is_management && self.live.organization.is_none() => {
                    let reference = AccountRef::Planned { name: account.name.clone() };
                    let created_by = self.create_organization;
                    self.accounts.insert(account.name.clone(), Resolved { reference: reference.clone(), created_by });
                    if account.unit_path != ROOT {
                        let action =
                            Action::MoveAccount { account: reference, from: self.root(), to: target.reference.clone() };
                        self.push(action, [target.created_by], 1);
                    }
                    if let Some(tags) = &account.tags {
                        // Its id is known once the organization exists: a placeholder the executor fills.
                        let resource_id = format!("{{{{account:{}}}}}", account.name);
                        self.update_tags(
                            &resource_id,
                            format!("account {}", account.name),
                            BTreeMap::new(),
                            tags.clone(),
                        );
                    }
                }
                None => {
                    let pending_request = self
                        .live
                        .pending_account_creations
                        .iter()
                        .find(|pending| pending.account_name == account.name)
                        .map(|pending| pending.request_id.clone());
                    let action = Action::CreateAccount {
                        name: account.name.clone(),
                        email: account.email.clone(),
                        tags: account.tags.clone().unwrap_or_default(),
                        pending_request,
                    };
                    let create = self.push(action, [], 1);
                    let reference = AccountRef::Planned { name: account.name.clone() };
                    self.accounts.insert(
                        account.name.clone(),
                        Resolved { reference: reference.clone(), created_by: Some(create) },
                    );
                    if account.unit_path != ROOT {
                        let action =
                            Action::MoveAccount { account: reference, from: self.root(), to: target.reference.clone() };
                        let moved = self.push(action, [Some(create), target.created_by], 1);
                        // Later actions on this account (attachments) wait for it to be in place.
                        if let Some(resolved) = self.accounts.get_mut(&account.name) {
                            resolved.created_by = Some(moved);
                        }
                    }
                }
            }
        }
        for live_account in self.live.accounts.values() {
            if !self.matched_account_ids.contains(&live_account.id) {
                let path = self.live.path_of(&live_account.parent_id).unwrap_or_default();
                self.notes.push(Note {
                    resource: format!("account {} ({})", live_account.name, live_account.id),
                    message: format!("not in the spec (in {path}, {}); left alone", live_account.email),
                });
            }
        }
        Ok(())
    }

    fn target_of_unit(&self, path: &str) -> (TargetRef, Option<usize>) {
        let resolved = self.unit_for(path);
        (TargetRef::Unit { unit: resolved.reference }, resolved.created_by)
    }

    fn target_of_account(&self, name: &str) -> Option<(TargetRef, Option<usize>)> {
        self.accounts
            .get(name)
            .map(|resolved| (TargetRef::Account { account: resolved.reference.clone() }, resolved.created_by))
    }

    fn reaches(&self, target: &TargetRef) -> usize {
        match target {
            TargetRef::Unit { unit } => self.desired.accounts_under(unit.path()),
            TargetRef::Account { .. } => 1,
        }
    }

    fn type_is_active(&self, policy_type: PolicyType) -> bool {
        self.live.policy_type_enabled(policy_type) || self.policy_type_actions.contains_key(&policy_type)
    }

    fn policies(&mut self) -> Result<(), PlanError> {
        let manages_default = self.desired.policies.iter().any(|policy| policy.document.is_none());
        if manages_default && self.live.organization.is_none() && self.desired.management_account.is_none() {
            return Err(PlanError::UnnamedManagementAccount);
        }
        let mut ledger = AttachmentLedger::from_live(self.live);
        // Targets AWS attaches its default policy to on its own: every new OU and account, and every
        // existing target when the type is enabled by this plan.
        let mut implicit_targets: Vec<TargetRef> = Vec::new();
        for resolved in self.units.values() {
            if matches!(resolved.reference, UnitRef::Planned { .. }) {
                implicit_targets.push(TargetRef::Unit { unit: resolved.reference.clone() });
            }
        }
        for resolved in self.accounts.values() {
            if matches!(resolved.reference, AccountRef::Planned { .. }) {
                implicit_targets.push(TargetRef::Account { account: resolved.reference.clone() });
            }
        }
        for policy_type in PolicyType::ALL {
            let Some(default_name) = policy_type.aws_managed_default() else {
                continue;
            };
            if !self.type_is_active(policy_type) {
                continue;
            }
            let newly_enabled = !self.live.policy_type_enabled(policy_type);
            for target in &implicit_targets {
                ledger.attach(policy_type, default_name, target_key(target));
            }
            if newly_enabled {
                for key in self.existing_target_keys() {
                    ledger.attach(policy_type, default_name, key);
                }
            }
        }

        // What each target holds before the plan's own attachments: live, plus AWS's defaults.
        ledger.live = ledger.attached.clone();

        let mut planned_policies: BTreeSet<(PolicyType, String)> = BTreeSet::new();
        let mut attach_actions: Vec<(PolicyType, String, usize)> = Vec::new();
        let mut detach_actions: Vec<(PolicyType, String, usize)> = Vec::new();
        let mut detaches_by_policy: BTreeMap<String, Vec<usize>> = BTreeMap::new();

        for desired in &self.desired.policies {
            planned_policies.insert((desired.policy_type, desired.name.clone()));
            let live_policy = self
                .live
                .policies
                .values()
                .find(|live| live.policy_type == desired.policy_type && live.name == desired.name);
            let type_action = self.policy_type_actions.get(&desired.policy_type).copied();
            let (policy_ref, created_by) = match (live_policy, &desired.document) {
                (Some(live_policy), _) => {
                    self.update_policy(desired, live_policy);
                    (PolicyRef::Existing { id: live_policy.id.clone(), name: desired.name.clone() }, None)
                }
                (None, None) => {
                    // The AWS-managed default appears when its type is enabled; AWS gives it a fixed id.
                    (PolicyRef::Existing { id: format!("p-{}", desired.name), name: desired.name.clone() }, type_action)
                }
                (None, Some(document)) => {
                    let mut tags = desired.tags.clone().unwrap_or_default();
                    tags.insert(OWNERSHIP_TAG.to_string(), OWNERSHIP_VALUE.to_string());
                    let action = Action::CreatePolicy {
                        name: desired.name.clone(),
                        policy_type: desired.policy_type,
                        description: desired.description.clone(),
                        document: document.clone(),
                        tags,
                    };
                    let index = self.push(action, [type_action], 0);
                    (PolicyRef::Planned { name: desired.name.clone() }, Some(index))
                }
            };

            let mut wanted: Vec<(TargetRef, Option<usize>)> = Vec::new();
            for unit in &desired.target_units {
                wanted.push(self.target_of_unit(unit));
            }
            for account in &desired.target_accounts {
                if let Some(target) = self.target_of_account(account) {
                    wanted.push(target);
                }
            }
            let wanted_keys: BTreeSet<String> = wanted.iter().map(|(target, _)| target_key(target)).collect();
            for (target, target_created_by) in wanted {
                let key = target_key(&target);
                if ledger.is_attached(desired.policy_type, &desired.name, &key) {
                    continue;
                }
                ledger.attach(desired.policy_type, &desired.name, key.clone());
                let reaches = self.reaches(&target);
                let action =
                    Action::AttachPolicy { policy: policy_ref.clone(), policy_type: desired.policy_type, target };
                let index = self.push(action, [created_by, target_created_by, type_action], reaches);
                attach_actions.push((desired.policy_type, key, index));
            }
            let attached_now: Vec<String> = ledger.targets_of(desired.policy_type, &desired.name);
            for key in attached_now {
                if wanted_keys.contains(&key) {
                    continue;
                }
                let Some(target) = self.target_from_key(&key) else {
                    continue;
                };
                if self.is_trail_guard(live_policy) && !self.trail_guard_detach_allowed() {
                    self.warnings.push(format!(
                        "not detaching `{}` from {}: it guards the organization trail; set `organization.allow.detach_trail_guards` and pass --allow-destructive",
                        desired.name,
                        target.label()
                    ));
                    continue;
                }
                ledger.detach(desired.policy_type, &desired.name, &key);
                let reaches = self.reaches(&target);
                let target_created_by = self.created_by_of(&target);
                let action =
                    Action::DetachPolicy { policy: policy_ref.clone(), policy_type: desired.policy_type, target };
                let index = self.push(action, [created_by, target_created_by, type_action], reaches);
                detach_actions.push((desired.policy_type, key.clone(), index));
                detaches_by_policy.entry(desired.name.clone()).or_default().push(index);
            }
        }

        // Customer-managed policies the spec does not name: delete what the tool owns, note the rest.
        let live_policies: Vec<&LivePolicy> = self.live.policies.values().collect();
        for live_policy in live_policies {
            if live_policy.aws_managed
                || planned_policies.contains(&(live_policy.policy_type, live_policy.name.clone()))
            {
                continue;
            }
            if !live_policy.owned_by_tool() {
                self.note(
                    format!("policy {}", live_policy.name),
                    format!(
                        "{} not in the spec and not created by landing-zone (attached to {} targets); left alone",
                        live_policy.policy_type,
                        live_policy.targets.len()
                    ),
                );
                continue;
            }
            if self.is_trail_guard(Some(live_policy)) && !self.trail_guard_detach_allowed() {
                self.warnings.push(format!(
                    "not deleting `{}`: it guards the organization trail; set `organization.allow.detach_trail_guards` and pass --allow-destructive",
                    live_policy.name
                ));
                continue;
            }
            let policy_ref = PolicyRef::Existing { id: live_policy.id.clone(), name: live_policy.name.clone() };
            let mut detaches = Vec::new();
            for key in ledger.targets_of(live_policy.policy_type, &live_policy.name) {
                let Some(target) = self.target_from_key(&key) else {
                    continue;
                };
                ledger.detach(live_policy.policy_type, &live_policy.name, &key);
                let reaches = self.reaches(&target);
                let action =
                    Action::DetachPolicy { policy: policy_ref.clone(), policy_type: live_policy.policy_type, target };
                let index = self.push(action, [], reaches);
                detach_actions.push((live_policy.policy_type, key, index));
                detaches.push(index);
            }
            let action = Action::DeletePolicy {
                id: live_policy.id.clone(),
                name: live_policy.name.clone(),
                policy_type: live_policy.policy_type,
            };
            self.push(action, detaches.into_iter().map(Some), 0);
        }

        self.check_attachment_rules(&ledger)?;
        self.order_attachments(&ledger, &attach_actions, &detach_actions);
        Ok(())
    }

    fn update_policy(&mut self, desired: &DesiredPolicy, live_policy: &LivePolicy) {
        if live_policy.aws_managed {
            return;
        }
        let description = (live_policy.description != desired.description)
            .then(|| Change { before: live_policy.description.clone(), after: desired.description.clone() });
        let mut document = match (&desired.document, &live_policy.document) {
            (Some(after), before) if before.as_ref() != Some(after) => {
                Some(Change { before: before.clone().unwrap_or(Value::Null), after: after.clone() })
            }
            _ => None,
        };
        // Rewriting a trail guard into something that no longer guards is a detachment in effect.
        let removes_guard =
            document.as_ref().is_some_and(|change| guards_trail(&change.before) && !guards_trail(&change.after));
        if removes_guard && !self.trail_guard_detach_allowed() {
            self.warnings.push(format!(
                "not rewriting `{}`: the new document no longer guards the organization trail; set `organization.allow.detach_trail_guards` and pass --allow-destructive",
                desired.name
            ));
            document = None;
        }
        if description.is_some() || document.is_some() {
            let reaches = desired.target_units.iter().map(|unit| self.desired.accounts_under(unit)).sum::<usize>()
                + desired.target_accounts.len();
            let action = Action::UpdatePolicy {
                id: live_policy.id.clone(),
                name: desired.name.clone(),
                policy_type: desired.policy_type,
                description,
                document,
            };
            self.push(action, [], reaches);
        }
        // Tags are managed when the spec lists them; the ownership mark is only ever set at
        // creation, so a policy the tool adopted (by name or through `import`) is never deleted.
        if let Some(tags) = &desired.tags {
            let before = live_policy.tags.clone().unwrap_or_default();
            let mut after = tags.clone();
            if let Some(mark) = before.get(OWNERSHIP_TAG) {
                after.insert(OWNERSHIP_TAG.to_string(), mark.clone());
            }
            self.update_tags(&live_policy.id, format!("policy {}", desired.name), before, after);
        }
    }

    fn trail_guard_detach_allowed(&self) -> bool {
        self.desired.allow.detach_trail_guards && self.options.allow_destructive
    }

    fn is_trail_guard(&self, live_policy: Option<&LivePolicy>) -> bool {
        live_policy.and_then(|policy| policy.document.as_ref()).is_some_and(guards_trail)
    }

    fn existing_target_keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = Vec::new();
        if let Some(root) = &self.live.root {
            keys.push(root.id.clone());
        }
        keys.extend(self.live.units.keys().cloned());
        keys.extend(self.live.accounts.keys().cloned());
        keys
    }

    fn created_by_of(&self, target: &TargetRef) -> Option<usize> {
        match target {
            TargetRef::Unit { unit } => self.units.get(unit.path()).and_then(|resolved| resolved.created_by),
            TargetRef::Account { account } => {
                self.accounts.get(account.name()).and_then(|resolved| resolved.created_by)
            }
        }
    }

    /// Rebuilds a target from its ledger key (a live id, or `unit:`/`account:` + a planned name).
    fn target_from_key(&self, key: &str) -> Option<TargetRef> {
        if let Some(path) = key.strip_prefix("unit:") {
            return Some(TargetRef::Unit { unit: UnitRef::Planned { path: path.to_string() } });
        }
        if let Some(name) = key.strip_prefix("account:") {
            return Some(TargetRef::Account { account: AccountRef::Planned { name: name.to_string() } });
        }
        if self.live.root.as_ref().is_some_and(|root| root.id == key) {
            return Some(TargetRef::Unit { unit: UnitRef::Existing { id: key.to_string(), path: ROOT.to_string() } });
        }
        if self.live.units.contains_key(key) {
            let path = self
                .units
                .iter()
                .find(|(_, resolved)| matches!(&resolved.reference, UnitRef::Existing { id, .. } if id == key))
                .map(|(path, _)| path.clone())
                .or_else(|| self.live.path_of(key))
                .unwrap_or_else(|| key.to_string());
            return Some(TargetRef::Unit { unit: UnitRef::Existing { id: key.to_string(), path } });
        }
        if let Some(account) = self.live.accounts.get(key) {
            let name = self
                .accounts
                .iter()
                .find(|(_, resolved)| matches!(&resolved.reference, AccountRef::Existing { id, .. } if id == key))
                .map(|(name, _)| name.clone())
                .unwrap_or_else(|| account.name.clone());
            return Some(TargetRef::Account { account: AccountRef::Existing { id: key.to_string(), name } });
        }
        None
    }

    /// AWS's per-target rules, checked on the state the plan leaves behind.
    fn check_attachment_rules(&self, ledger: &AttachmentLedger) -> Result<(), PlanError> {
        let mut targets: Vec<String> = self.existing_target_keys();
        targets.retain(|key| {
            // Closed (suspended) accounts, and those the plan closes, are outside AWS's rule.
            let inactive = self.live.accounts.get(key).is_some_and(|account| account.status != "ACTIVE");
            let closing = self
                .actions
                .iter()
                .any(|planned| matches!(&planned.action, Action::CloseAccount { id, .. } if id == key));
            !inactive && !closing
        });
        for resolved in self.units.values() {
            if let UnitRef::Planned { path } = &resolved.reference {
                targets.push(format!("unit:{path}"));
            }
        }
        for resolved in self.accounts.values() {
            if let AccountRef::Planned { name } = &resolved.reference {
                targets.push(format!("account:{name}"));
            }
        }
        for policy_type in [PolicyType::ServiceControlPolicy, PolicyType::ResourceControlPolicy] {
            if !self.type_is_active(policy_type) {
                continue;
            }
            let max = policy_type.max_per_target().unwrap_or(usize::MAX);
            for key in &targets {
                let count = ledger.count(policy_type, key);
                let label = self.target_from_key(key).map_or_else(|| key.clone(), |target| target.label());
                if policy_type == PolicyType::ServiceControlPolicy && count == 0 {
                    return Err(PlanError::LastScp { target: label });
                }
                if count > max {
                    return Err(PlanError::TooManyPolicies { target: label, policy_type, count, max });
                }
            }
        }
        Ok(())
    }

    /// On each target, orders its attachments and detachments into one chain so the count of
    /// policies of a type never passes AWS's limit nor drops to zero in between: attach while there
    /// is room, then detach one to make room, and so on.
    fn order_attachments(
        &mut self,
        ledger: &AttachmentLedger,
        attaches: &[(PolicyType, String, usize)],
        detaches: &[(PolicyType, String, usize)],
    ) {
        let mut targets: BTreeSet<(PolicyType, &str)> = BTreeSet::new();
        targets.extend(attaches.iter().map(|(t, k, _)| (*t, k.as_str())));
        targets.extend(detaches.iter().map(|(t, k, _)| (*t, k.as_str())));
        for (policy_type, key) in targets {
            let mut pending_attaches: Vec<usize> =
                attaches.iter().filter(|(t, k, _)| *t == policy_type && k == key).map(|(_, _, i)| *i).collect();
            let mut pending_detaches: Vec<usize> =
                detaches.iter().filter(|(t, k, _)| *t == policy_type && k == key).map(|(_, _, i)| *i).collect();
            if pending_attaches.is_empty() || pending_detaches.is_empty() {
                continue;
            }
            pending_attaches.reverse();
            pending_detaches.reverse();
            let max = policy_type.max_per_target().unwrap_or(usize::MAX);
            let mut count = ledger.live_count(policy_type, key);
            let mut previous: Option<usize> = None;
            while !pending_attaches.is_empty() || !pending_detaches.is_empty() {
                let attach_now =
                    !pending_attaches.is_empty() && (count < max || pending_detaches.is_empty() || count <= 1);
                let next = if attach_now {
                    count += 1;
                    pending_attaches.pop()
                } else {
                    count = count.saturating_sub(1);
                    pending_detaches.pop()
                };
                let Some(next) = next else { break };
                if let Some(previous) = previous {
                    let depends_on = &mut self.actions[next].depends_on;
                    depends_on.push(previous);
                    depends_on.sort_unstable();
                    depends_on.dedup();
                }
                previous = Some(next);
            }
        }
    }

    fn delegated_administrators(&mut self) {
        for (service, account_name) in self.desired.delegated_administrators.clone() {
            let Some(account) = self.accounts.get(&account_name).cloned() else {
                continue;
            };
            let registered = match &account.reference {
                AccountRef::Existing { id, .. } => {
                    self.live.delegated_administrators.contains(&(service.clone(), id.clone()))
                }
                AccountRef::Planned { .. } => false,
            };
            if !registered {
                let service_action = self.service_actions.get(&service).copied();
                let action =
                    Action::RegisterDelegatedAdministrator { service: service.clone(), account: account.reference };
                self.push(action, [service_action, account.created_by], 0);
            }
        }
    }

    /// Ids known before apply: accounts that exist, the organization.
    fn known_ids(&self) -> KnownIds {
        let accounts = self
            .accounts
            .iter()
            .filter_map(|(name, resolved)| match &resolved.reference {
                AccountRef::Existing { id, .. } => Some((name.clone(), id.clone())),
                AccountRef::Planned { .. } => None,
            })
            .collect();
        KnownIds { accounts, organization: self.live.organization.as_ref().map(|org| org.id.clone()) }
    }

    /// Baseline controls: configure each one whose live attributes differ from the spec's.
    fn controls(&mut self) {
        let ids = self.known_ids();
        for control in &self.desired.controls {
            let Some(account) = self.accounts.get(&control.key.account).cloned() else { continue };
            if let Some(operation) = self.live.unsupported_controls.get(&control.key) {
                self.notes.push(Note {
                    resource: control.key.label(),
                    message: format!("not managed here: the endpoint does not implement {operation}"),
                });
                continue;
            }
            let after = resolve(&control.attributes, &ids);
            let before = self.live.controls.get(&control.key).cloned().flatten();
            if before.as_ref() == Some(&after) {
                continue;
            }
            let mut depends: Vec<Option<usize>> = vec![account.created_by];
            // An id this control names (a delegated administrator, a bucket owner) that does not
            // exist yet: the account is created first.
            for name in referenced_accounts(&after) {
                depends.push(self.accounts.get(&name).and_then(|referenced| referenced.created_by));
            }
            for service in &control.after_services {
                depends.push(self.service_actions.get(service).copied());
                depends.extend(self.delegated_admin_actions.get(service).into_iter().flatten().map(|i| Some(*i)));
            }
            depends.extend(control.after.iter().map(|key| self.control_actions.get(key).copied()));
            let action =
                Action::ConfigureControl { control: control.key.clone(), account: account.reference, before, after };
            let index = self.push(action, depends, 1);
            self.control_actions.insert(control.key.clone(), index);
        }
    }

    /// An SCP that denies what the executor does for a control in an account is attached only
    /// after that control is configured there; without an exemption for the executor's role the
    /// plan warns that later repairs of that control will be refused (DESIGN.md §3, lock-out).
    fn order_scps_after_controls(&mut self) {
        let management = self.desired.management_account.clone();
        let attaches: Vec<(usize, String, TargetRef)> = self
            .actions
            .iter()
            .filter_map(|planned| match &planned.action {
                Action::AttachPolicy { policy, policy_type: PolicyType::ServiceControlPolicy, target } => {
                    Some((planned.index, policy.name().to_string(), target.clone()))
                }
                _ => None,
            })
            .collect();
        let mut warned = BTreeSet::new();
        for (attach, policy_name, target) in attaches {
            let Some(document) =
                self.desired.policies.iter().find(|p| p.name == policy_name).and_then(|p| p.document.clone())
            else {
                continue;
            };
            for control in &self.desired.controls {
                if Some(&control.key.account) == management.as_ref()
                    || !self.target_covers(&target, &control.key.account)
                {
                    continue;
                }
                let Some(denial) =
                    control.needs.iter().find_map(|action| denies(&document, action, &self.desired.access_role))
                else {
                    continue;
                };
                if let Some(index) = self.control_actions.get(&control.key).copied() {
                    self.actions[attach].depends_on.push(index);
                    self.actions[attach].depends_on.sort_unstable();
                    self.actions[attach].depends_on.dedup();
                }
                let family = control.key.control.split('/').next().unwrap_or_default().to_string();
                if !denial.exempts_executor && warned.insert((policy_name.clone(), family.clone())) {
                    self.warnings.push(format!(
                        "lock-out: SCP `{policy_name}` denies `{}` to every principal in the accounts it reaches, landing-zone's `{}` role included; `{family}` is configured before it is attached, but later drift there cannot be repaired — exempt the role with an `ArnNotLike` condition on `aws:PrincipalArn`",
                        denial.action, self.desired.access_role
                    ));
                }
            }
        }
    }

    /// Whether a policy target reaches an account (by spec name), as the spec places accounts.
    fn target_covers(&self, target: &TargetRef, account: &str) -> bool {
        match target {
            TargetRef::Account { account: reference } => reference.name() == account,
            TargetRef::Unit { unit } => self.desired.accounts.iter().any(|desired| {
                desired.name == account
                    && (unit.path() == ROOT
                        || desired.unit_path == unit.path()
                        || desired.unit_path.starts_with(&format!("{}/", unit.path())))
            }),
        }
    }

    /// Live OUs the spec does not name: deleted when empty and opted in, otherwise noted.
    fn unmanaged_units(&mut self) {
        let mut unmatched: Vec<(String, String)> = self
            .live
            .units
            .values()
            .filter(|unit| !self.matched_unit_ids.contains(&unit.id))
            .map(|unit| (self.live.path_of(&unit.id).unwrap_or_else(|| unit.name.clone()), unit.id.clone()))
            .collect();
        // Deepest first, so a parent's deletion can wait for its children's.
        unmatched.sort_by(|a, b| b.0.split('/').count().cmp(&a.0.split('/').count()).then_with(|| a.0.cmp(&b.0)));
        let allowed = self.desired.allow.delete_empty_units && self.options.allow_destructive;
        let mut deletions: BTreeMap<String, usize> = BTreeMap::new();
        for (path, id) in unmatched {
            let children: Vec<&str> =
                self.live.units.values().filter(|unit| unit.parent_id == id).map(|unit| unit.id.as_str()).collect();
            // Accounts this plan moves out do not keep the OU from being deleted; the deletion waits for them.
            let moves_out: BTreeMap<&str, usize> = self
                .actions
                .iter()
                .filter_map(|planned| match &planned.action {
                    Action::MoveAccount {
                        account: AccountRef::Existing { id: account, .. },
                        from: UnitRef::Existing { id: from, .. },
                        ..
                    } if *from == id => Some((account.as_str(), planned.index)),
                    _ => None,
                })
                .collect();
            let has_accounts = self
                .live
                .accounts
                .values()
                .any(|account| account.parent_id == id && !moves_out.contains_key(account.id.as_str()));
            let children_deleted = children.iter().all(|child| deletions.contains_key(*child));
            if allowed && !has_accounts && children_deleted {
                let mut depends: Vec<Option<usize>> =
                    children.iter().map(|child| deletions.get(*child).copied()).collect();
                depends.extend(moves_out.values().map(|index| Some(*index)));
                let index = self.push(Action::DeleteUnit { id: id.clone(), path: path.clone() }, depends, 0);
                deletions.insert(id, index);
            } else if allowed {
                self.note(format!("unit {path}"), "not in the spec, but not empty: left alone");
            } else {
                self.note(format!("unit {path}"), "not in the spec; left alone (opt in with `organization.allow.delete_empty_units` and --allow-destructive to delete it when empty)");
            }
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
