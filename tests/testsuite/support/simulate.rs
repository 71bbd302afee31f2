//! An in-memory model of what AWS does with each action, used to check the planner's convergence
//! (plan, simulate, plan again = empty) without AWS. It mirrors the AWS behaviours the planner
//! relies on: new OUs and accounts get the default policy of every enabled type attached.

use std::collections::{BTreeMap, BTreeSet};

use landing_zone::plan::action::{AccountRef, Action, Plan, PolicyRef, TargetRef, UnitRef};
use landing_zone::plan::state::{
    AccountState, LiveAccount, LiveOrganization, LivePolicy, LiveUnit, OrganizationInfo, RootInfo,
};
use landing_zone::spec::{PolicyType, ROOT};

/// Applies every action of `plan` to a copy of `live`, in order, and returns the result.
pub fn simulate(live: &LiveOrganization, plan: &Plan) -> LiveOrganization {
    let mut model = Model {
        live: live.clone(),
        units: BTreeMap::new(),
        accounts: BTreeMap::new(),
        policies: BTreeMap::new(),
        next_id: 0,
    };
    for planned in &plan.actions {
        model.apply(&planned.action);
    }
    model.live
}

struct Model {
    live: LiveOrganization,
    /// Planned path -> id assigned.
    units: BTreeMap<String, String>,
    accounts: BTreeMap<String, String>,
    policies: BTreeMap<String, String>,
    next_id: usize,
}

impl Model {
    fn fresh(&mut self, prefix: &str) -> String {
        self.next_id += 1;
        format!("{prefix}{:08}", self.next_id)
    }

    fn unit_id(&self, unit: &UnitRef) -> String {
        match unit {
            UnitRef::Existing { id, .. } => id.clone(),
            UnitRef::Planned { path } if path == ROOT => {
                self.live.root.as_ref().map(|r| r.id.clone()).unwrap_or_default()
            }
            UnitRef::Planned { path } => self.units.get(path).cloned().unwrap_or_default(),
        }
    }

    fn account_id(&self, account: &AccountRef) -> String {
        match account {
            AccountRef::Existing { id, .. } => id.clone(),
            AccountRef::Planned { name } => self.accounts.get(name).cloned().unwrap_or_default(),
        }
    }

    fn policy_id(&self, policy: &PolicyRef) -> String {
        match policy {
            PolicyRef::Existing { id, .. } => id.clone(),
            PolicyRef::Planned { name } => self.policies.get(name).cloned().unwrap_or_default(),
        }
    }

    fn target_id(&self, target: &TargetRef) -> String {
        match target {
            TargetRef::Unit { unit } => self.unit_id(unit),
            TargetRef::Account { account } => self.account_id(account),
        }
    }

    /// AWS attaches the default policy of each enabled type to every new target.
    fn attach_defaults(&mut self, target_id: &str) {
        let enabled: Vec<PolicyType> =
            PolicyType::ALL.into_iter().filter(|t| self.live.policy_type_enabled(*t)).collect();
        for policy_type in enabled {
            if let Some(name) = policy_type.aws_managed_default() {
                let id = format!("p-{name}");
                self.default_policy(policy_type, name).targets.insert(target_id.to_string());
                let _ = id;
            }
        }
    }

    fn default_policy(&mut self, policy_type: PolicyType, name: &str) -> &mut LivePolicy {
        let id = format!("p-{name}");
        self.live.policies.entry(id.clone()).or_insert_with(|| LivePolicy {
            id,
            name: name.to_string(),
            policy_type,
            description: String::new(),
            aws_managed: true,
            document: None,
            targets: BTreeSet::new(),
            tags: None,
        })
    }

    fn apply(&mut self, action: &Action) {
        match action {
            Action::CreateOrganization { management_account } => {
                let management_id = "000000000001".to_string();
                let root_id = "r-root".to_string();
                self.live.organization = Some(OrganizationInfo {
                    id: "o-model".to_string(),
                    management_account_id: management_id.clone(),
                    management_account_email: "management@example.com".to_string(),
                    all_features: true,
                });
                self.live.root = Some(RootInfo { id: root_id.clone(), policy_types: BTreeMap::new() });
                self.live.accounts.insert(
                    management_id.clone(),
                    LiveAccount {
                        id: management_id.clone(),
                        name: "management".to_string(),
                        email: "management@example.com".to_string(),
                        state: AccountState::Active,
                        parent_id: root_id.clone(),
                        tags: Some(BTreeMap::new()),
                    },
                );
                if let Some(name) = management_account {
                    self.accounts.insert(name.clone(), management_id.clone());
                }
                self.attach_defaults(&root_id);
                self.attach_defaults(&management_id);
            }
            Action::EnablePolicyType { policy_type } => {
                if let Some(root) = self.live.root.as_mut() {
                    root.policy_types.insert(*policy_type, "ENABLED".to_string());
                }
                if let Some(name) = policy_type.aws_managed_default() {
                    let mut targets: Vec<String> = self.live.root.iter().map(|r| r.id.clone()).collect();
                    targets.extend(self.live.units.keys().cloned());
                    targets.extend(self.live.accounts.keys().cloned());
                    self.default_policy(*policy_type, name).targets.extend(targets);
                }
            }
            Action::EnableServiceAccess { service } => {
                self.live.trusted_services.insert(service.clone());
            }
            Action::EnableRootAccessFeature { feature } => {
                self.live.root_access_features.insert(feature.clone());
            }
            Action::RegisterDelegatedAdministrator { service, account } => {
                let id = self.account_id(account);
                self.live.delegated_administrators.insert((service.clone(), id));
            }
            Action::CreateUnit { path, name, parent, tags } => {
                let id = self.fresh("ou-model-");
                let parent_id = self.unit_id(parent);
                self.live.units.insert(
                    id.clone(),
                    LiveUnit { id: id.clone(), name: name.clone(), parent_id, tags: Some(tags.clone()) },
                );
                self.units.insert(path.clone(), id.clone());
                self.attach_defaults(&id);
            }
            Action::RenameUnit { id, name, .. } => {
                if let Some(unit) = self.live.units.get_mut(id) {
                    unit.name = name.after.clone();
                }
            }
            Action::DeleteUnit { id, .. } => {
                self.live.units.remove(id);
                for policy in self.live.policies.values_mut() {
                    policy.targets.remove(id);
                }
            }
            Action::CreateAccount { name, email, tags, .. } => {
                let id = format!("{:012}", 100_000_000_000usize + self.next_id);
                self.next_id += 1;
                let root_id = self.live.root.as_ref().map(|r| r.id.clone()).unwrap_or_default();
                self.live.accounts.insert(
                    id.clone(),
                    LiveAccount {
                        id: id.clone(),
                        name: name.clone(),
                        email: email.clone(),
                        state: AccountState::Active,
                        parent_id: root_id,
                        tags: Some(tags.clone()),
                    },
                );
                self.accounts.insert(name.clone(), id.clone());
                self.attach_defaults(&id);
            }
            Action::MoveAccount { account, to, .. } => {
                let id = self.account_id(account);
                let parent = self.unit_id(to);
                if let Some(live_account) = self.live.accounts.get_mut(&id) {
                    live_account.parent_id = parent;
                }
            }
            Action::RenameAccount { account, after, .. } => {
                let id = self.account_id(account);
                if let Some(live_account) = self.live.accounts.get_mut(&id) {
                    live_account.name = after.clone();
                }
            }
            Action::CloseAccount { id, .. } => {
                if let Some(account) = self.live.accounts.get_mut(id) {
                    account.state = AccountState::Suspended;
                }
            }
            Action::DeleteRootCredentials { id, .. } => {
                if let Some(credentials) = self.live.root_credentials.as_mut() {
                    credentials.insert(id.clone(), Default::default());
                }
            }
            Action::CreatePolicy { name, policy_type, description, document, tags } => {
                let id = self.fresh("p-model");
                self.live.policies.insert(
                    id.clone(),
                    LivePolicy {
                        id: id.clone(),
                        name: name.clone(),
                        policy_type: *policy_type,
                        description: description.clone(),
                        aws_managed: false,
                        document: Some(document.clone()),
                        targets: BTreeSet::new(),
                        tags: Some(tags.clone()),
                    },
                );
                self.policies.insert(name.clone(), id);
            }
            Action::UpdatePolicy { id, description, document, .. } => {
                if let Some(policy) = self.live.policies.get_mut(id) {
                    if let Some(change) = description {
                        policy.description = change.after.clone();
                    }
                    if let Some(change) = document {
                        policy.document = Some(change.after.clone());
                    }
                }
            }
            Action::DeletePolicy { id, .. } => {
                self.live.policies.remove(id);
            }
            Action::AttachPolicy { policy, target, .. } => {
                let policy_id = self.policy_id(policy);
                let target_id = self.target_id(target);
                if let Some(policy) = self.live.policies.get_mut(&policy_id) {
                    policy.targets.insert(target_id);
                }
            }
            Action::DetachPolicy { policy, target, .. } => {
                let policy_id = self.policy_id(policy);
                let target_id = self.target_id(target);
                if let Some(policy) = self.live.policies.get_mut(&policy_id) {
                    policy.targets.remove(&target_id);
                }
            }
            Action::ConfigureControl { control, after, .. } => {
                let ids = landing_zone::plan::control::KnownIds {
                    accounts: self.accounts.clone(),
                    organization: self.live.organization.as_ref().map(|org| org.id.clone()),
                };
                self.live.controls.insert(control.clone(), Some(landing_zone::plan::control::resolve(after, &ids)));
            }
            Action::RemoveControl { control, .. } => {
                self.live.controls.remove(control);
                self.live.owned_controls.remove(control);
            }
            Action::UpdateTags { resource_id, tags, .. } => {
                let after = Some(tags.after.clone());
                let resource_id = &if resource_id.contains("{{") {
                    let ids =
                        landing_zone::plan::control::KnownIds { accounts: self.accounts.clone(), organization: None };
                    landing_zone::plan::control::resolve(&serde_json::Value::String(resource_id.clone()), &ids)
                        .as_str()
                        .unwrap_or_default()
                        .to_string()
                } else {
                    resource_id.clone()
                };
                if let Some(unit) = self.live.units.get_mut(resource_id) {
                    unit.tags = after;
                } else if let Some(account) = self.live.accounts.get_mut(resource_id) {
                    account.tags = after;
                } else if let Some(policy) = self.live.policies.get_mut(resource_id) {
                    policy.tags = after;
                }
            }
        }
    }
}
