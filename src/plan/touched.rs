//! What a reviewed plan touches, and digests of exactly those live objects: the accounts, units,
//! policies, attachments and controls its actions name, plus what their preconditions rest on
//! (trusted access and delegated administrators they need, the controls they come after, the
//! absence of what they create). `apply` re-reads only these under the lock and refuses the plan
//! when one digest moved since the review. Pure: computed from the plan, the desired model and a
//! live model; it reads nothing.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::action::{AccountRef, Action, Plan, PolicyRef, TargetRef, UnitRef};
use super::control::ControlKey;
use super::desired::DesiredOrganization;
use super::state::{LiveOrganization, LivePolicy};
use crate::spec::PolicyType;

/// The objects a plan's actions depend on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Touched {
    /// Live ids of existing accounts, units and policies the actions name.
    pub ids: BTreeSet<String>,
    /// Live ids of the targets whose policy attachments change.
    pub attachment_targets: BTreeSet<String>,
    /// Controls configured, and the controls they come after (transitively).
    pub controls: BTreeSet<ControlKey>,
    /// Trusted-access service principals enabled or needed first.
    pub services: BTreeSet<String>,
    /// Services whose delegated administrator is registered.
    pub delegated_services: BTreeSet<String>,
    /// Emails (lower-case) of accounts created: none may exist when the plan runs.
    pub new_account_emails: BTreeSet<String>,
    /// Paths of units created.
    pub new_unit_paths: BTreeSet<String>,
    /// Policies created, by type and name.
    pub new_policies: BTreeSet<(PolicyType, String)>,
    /// Whether the plan creates accounts (the IN_PROGRESS requests it would adopt matter).
    pub creates_accounts: bool,
    /// Controls removed (what the tool created and the spec no longer asks for): found again by
    /// searching their accounts, not by the spec's controls.
    pub removed: BTreeSet<ControlKey>,
}

impl Touched {
    /// What `plan`'s actions touch; `desired` gives the controls and services each configured
    /// control comes after.
    pub fn of(plan: &Plan, desired: &DesiredOrganization) -> Touched {
        let mut touched = Touched::default();
        let account = |touched: &mut Touched, reference: &AccountRef| {
            if let AccountRef::Existing { id, .. } = reference {
                touched.ids.insert(id.clone());
            }
        };
        let unit = |touched: &mut Touched, reference: &UnitRef| {
            if let UnitRef::Existing { id, .. } = reference {
                touched.ids.insert(id.clone());
            }
        };
        for planned in &plan.actions {
            match &planned.action {
                Action::CreateOrganization { .. }
                | Action::EnablePolicyType { .. }
                | Action::EnableRootAccessFeature { .. } => {}
                Action::EnableServiceAccess { service } => {
                    touched.services.insert(service.clone());
                }
                Action::RegisterDelegatedAdministrator { service, account: admin } => {
                    touched.services.insert(service.clone());
                    touched.delegated_services.insert(service.clone());
                    account(&mut touched, admin);
                }
                Action::CreateUnit { path, parent, .. } => {
                    touched.new_unit_paths.insert(path.clone());
                    unit(&mut touched, parent);
                }
                Action::RenameUnit { id, .. }
                | Action::DeleteUnit { id, .. }
                | Action::CloseAccount { id, .. }
                | Action::DeleteRootCredentials { id, .. } => {
                    touched.ids.insert(id.clone());
                }
                Action::CreateAccount { email, .. } => {
                    touched.new_account_emails.insert(email.to_lowercase());
                    touched.creates_accounts = true;
                }
                Action::MoveAccount { account: subject, from, to } => {
                    account(&mut touched, subject);
                    unit(&mut touched, from);
                    unit(&mut touched, to);
                }
                Action::RenameAccount { account: subject, .. } => account(&mut touched, subject),
                Action::CreatePolicy { name, policy_type, .. } => {
                    touched.new_policies.insert((*policy_type, name.clone()));
                }
                Action::UpdatePolicy { id, .. } | Action::DeletePolicy { id, .. } => {
                    touched.ids.insert(id.clone());
                }
                Action::AttachPolicy { policy, target, .. } | Action::DetachPolicy { policy, target, .. } => {
                    if let PolicyRef::Existing { id, .. } = policy {
                        touched.ids.insert(id.clone());
                    }
                    match target {
                        TargetRef::Unit { unit: reference } => {
                            unit(&mut touched, reference);
                            if let UnitRef::Existing { id, .. } = reference {
                                touched.attachment_targets.insert(id.clone());
                            }
                        }
                        TargetRef::Account { account: reference } => {
                            account(&mut touched, reference);
                            if let AccountRef::Existing { id, .. } = reference {
                                touched.attachment_targets.insert(id.clone());
                            }
                        }
                    }
                }
                // The control itself is re-read; its account's own attributes (tags, unit) are
                // not what the action changes, and the structure read still finds the account.
                Action::ConfigureControl { control, .. } => {
                    touched.controls.insert(control.clone());
                }
                Action::RemoveControl { control, .. } => {
                    touched.controls.insert(control.clone());
                    touched.removed.insert(control.clone());
                }
                Action::UpdateTags { resource_id, .. } => {
                    touched.ids.insert(resource_id.clone());
                }
            }
        }
        // A configured control rests on the controls it comes after and the trusted access its
        // baseline needs, even where those need no change themselves.
        let by_key: BTreeMap<&ControlKey, &crate::plan::control::DesiredControl> =
            desired.controls.iter().map(|control| (&control.key, control)).collect();
        let mut pending: Vec<ControlKey> = touched.controls.iter().cloned().collect();
        while let Some(key) = pending.pop() {
            let Some(control) = by_key.get(&key) else { continue };
            touched.services.extend(control.after_services.iter().cloned());
            for dependency in &control.after {
                if touched.controls.insert(dependency.clone()) {
                    pending.push(dependency.clone());
                }
            }
        }
        touched
    }

    /// Digests of the touched objects as `live` has them, keyed by a name a person can read.
    /// Objects absent from `live` digest as absent, so one that appears or vanishes between two
    /// reads shows as changed.
    pub fn digests(&self, live: &LiveOrganization) -> BTreeMap<String, String> {
        let mut digests = BTreeMap::new();
        digests.insert("organization".to_string(), digest(&(&live.organization, &live.root)));
        for id in &self.ids {
            let (address, value) = if let Some(unit) = live.units.get(id) {
                (format!("unit {} ({id})", live.path_of(id).unwrap_or_default()), digest(unit))
            } else if let Some(account) = live.accounts.get(id) {
                (format!("account {} ({id})", account.name), digest(account))
            } else if let Some(policy) = live.policies.get(id) {
                // Its attachments are digested per target: attaching it elsewhere by hand does not
                // move what this plan does.
                let content = LivePolicy { targets: BTreeSet::new(), ..policy.clone() };
                (format!("policy {} ({id})", policy.name), digest(&content))
            } else if live.root.as_ref().is_some_and(|root| &root.id == id) {
                continue;
            } else {
                (format!("object {id}"), "absent".to_string())
            };
            digests.insert(address, value);
        }
        for target in &self.attachment_targets {
            let attached: BTreeSet<&str> = live
                .policies
                .values()
                .filter(|policy| policy.targets.contains(target))
                .map(|policy| policy.id.as_str())
                .collect();
            digests.insert(format!("policies attached to {target}"), digest(&attached));
        }
        for key in &self.controls {
            digests.insert(format!("control {}", key.label()), digest(&live.controls.get(key)));
        }
        for service in &self.services {
            digests.insert(format!("trusted access {service}"), digest(&live.trusted_services.contains(service)));
        }
        for service in &self.delegated_services {
            let admins: Vec<&str> = live
                .delegated_administrators
                .iter()
                .filter(|(principal, _)| principal == service)
                .map(|(_, account)| account.as_str())
                .collect();
            digests.insert(format!("delegated administrators of {service}"), digest(&admins));
        }
        for email in &self.new_account_emails {
            let existing: Vec<&str> = live
                .accounts
                .values()
                .filter(|account| account.email.to_lowercase() == *email)
                .map(|account| account.id.as_str())
                .collect();
            digests.insert(format!("account with email {email}"), digest(&existing));
        }
        if !self.new_unit_paths.is_empty() {
            let by_path = live.units_by_path();
            for path in &self.new_unit_paths {
                let existing = by_path.get(path).map(|unit| unit.id.as_str());
                digests.insert(format!("unit {path}"), digest(&existing));
            }
        }
        for (policy_type, name) in &self.new_policies {
            let existing: Vec<&str> = live
                .policies
                .values()
                .filter(|policy| policy.policy_type == *policy_type && &policy.name == name)
                .map(|policy| policy.id.as_str())
                .collect();
            digests.insert(format!("policy {name} ({policy_type})"), digest(&existing));
        }
        if self.creates_accounts {
            digests.insert("pending account creations".to_string(), digest(&live.pending_account_creations));
        }
        digests
    }

    /// Account ids and emails, and unit paths, whose tags a re-read needs (those the plan touches).
    pub fn containers(&self, live: &LiveOrganization) -> (BTreeSet<String>, BTreeSet<String>) {
        let accounts = self
            .ids
            .iter()
            .filter_map(|id| live.accounts.get(id))
            .flat_map(|account| [account.id.clone(), account.email.to_lowercase()])
            .collect();
        let units =
            self.ids.iter().filter(|id| live.units.contains_key(*id)).filter_map(|id| live.path_of(id)).collect();
        (accounts, units)
    }
}

fn digest(value: &impl Serialize) -> String {
    let bytes = serde_json::to_vec(value).unwrap_or_default();
    format!("{:x}", Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::action::{PlannedAction, PLAN_FORMAT_VERSION};
    use crate::plan::state::{AccountState, LiveAccount};

    fn live() -> LiveOrganization {
        let mut live = LiveOrganization::default();
        for (id, name) in [("111", "dev"), ("222", "prod")] {
            live.accounts.insert(
                id.to_string(),
                LiveAccount {
                    id: id.to_string(),
                    name: name.to_string(),
                    email: format!("{name}@example.com"),
                    state: AccountState::Active,
                    parent_id: "r-1".to_string(),
                    tags: None,
                },
            );
        }
        live.controls.insert(ControlKey::new("password_policy", "dev", None), None);
        live.controls.insert(ControlKey::new("password_policy", "prod", None), None);
        live
    }

    fn plan() -> Plan {
        Plan {
            format_version: PLAN_FORMAT_VERSION,
            actions: vec![
                PlannedAction {
                    index: 0,
                    action: Action::ConfigureControl {
                        control: ControlKey::new("password_policy", "dev", None),
                        account: AccountRef::Existing { id: "111".to_string(), name: "dev".to_string() },
                        before: None,
                        after: serde_json::json!({"minimum_length": 14}).into(),
                    },
                    depends_on: vec![],
                    reaches_accounts: 1,
                },
                PlannedAction {
                    index: 1,
                    action: Action::CreateAccount {
                        name: "new".to_string(),
                        email: "New@example.com".to_string(),
                        tags: BTreeMap::new(),
                        pending_request: None,
                    },
                    depends_on: vec![],
                    reaches_accounts: 1,
                },
            ],
            warnings: vec![],
            notes: vec![],
            blocked: Vec::new(),
        }
    }

    #[test]
    fn a_change_to_a_touched_object_moves_its_digest_and_an_untouched_one_does_not() {
        let touched = Touched::of(&plan(), &DesiredOrganization::default());
        let before = touched.digests(&live());
        assert!(before.contains_key("control password_policy in dev"), "{before:?}");
        assert!(before.contains_key("account with email new@example.com"), "{before:?}");
        assert!(!before.keys().any(|key| key.contains("prod")), "{before:?}");

        let mut untouched = live();
        untouched.controls.insert(ControlKey::new("password_policy", "prod", None), Some(serde_json::json!({})));
        untouched.accounts.get_mut("222").unwrap().parent_id = "ou-x".to_string();
        assert_eq!(touched.digests(&untouched), before);

        let mut moved = live();
        moved.controls.insert(ControlKey::new("password_policy", "dev", None), Some(serde_json::json!({})));
        let changes = crate::plan::saved::changed_objects(&before, &touched.digests(&moved));
        assert_eq!(changes, ["control password_policy in dev: changed"]);

        let mut created = live();
        let mut account = created.accounts["222"].clone();
        account.id = "333".to_string();
        account.email = "NEW@example.com".to_string();
        created.accounts.insert("333".to_string(), account);
        let changes = crate::plan::saved::changed_objects(&before, &touched.digests(&created));
        assert_eq!(changes, ["account with email new@example.com: changed"]);
    }

    #[test]
    fn a_control_rests_on_the_controls_it_comes_after() {
        let mut desired = DesiredOrganization::default();
        let mut control = crate::plan::control::DesiredControl::new(
            ControlKey::new("password_policy", "dev", None),
            serde_json::json!({}),
        );
        let bucket = ControlKey::new("log_archive/bucket", "prod", None);
        control.after.push(bucket.clone());
        control.after_services.push("config.amazonaws.com".to_string());
        desired.controls.push(control);
        let touched = Touched::of(&plan(), &desired);
        assert!(touched.controls.contains(&bucket));
        assert!(touched.services.contains("config.amazonaws.com"));
    }
}
