//! The desired organization: the spec flattened into what the planner compares (OU paths in
//! parent-first order, accounts with their unit path, policies with parsed documents and resolved
//! targets). Pure: built from a `ValidSpec`, or directly by tests.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::plan::control::{DesiredControl, Inputs};
use crate::spec::{DestructiveOptIns, PolicyType, UnitSpec, ValidSpec, ROOT};

/// What the baselines ask of the organization: their controls, the trusted access they need, the
/// delegated administrators they register. Built by `baseline::demands` from the registry; the
/// planner's side only sees this data.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BaselineDemands {
    /// In dependency order (a control's `after` come first).
    pub controls: Vec<DesiredControl>,
    pub trusted_services: BTreeSet<String>,
    /// (service principal, account name).
    pub delegated_administrators: BTreeSet<(String, String)>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct DesiredOrganization {
    pub policy_types: BTreeSet<PolicyType>,
    pub trusted_services: BTreeSet<String>,
    /// (service principal, account name).
    pub delegated_administrators: BTreeSet<(String, String)>,
    /// Parent-first (sorted by depth, then path).
    pub units: Vec<DesiredUnit>,
    pub accounts: Vec<DesiredAccount>,
    pub policies: Vec<DesiredPolicy>,
    pub management_account: Option<String>,
    pub allow: DestructiveOptIns,
    /// Baseline controls, in dependency order.
    pub controls: Vec<DesiredControl>,
    /// The role the executor assumes in member accounts (for the SCP lock-out check).
    pub access_role: String,
    /// Centralized root access features to enable (`RootCredentialsManagement`, `RootSessions`).
    pub root_access_features: BTreeSet<String>,
    /// `organization.root_access.delete_member_root_credentials` (with `--allow-destructive`,
    /// the plan reads and deletes member accounts' root credentials).
    pub delete_member_root_credentials: bool,
    /// `organization.regions`, home region first.
    pub regions: Vec<String>,
    /// The `baseline:` sections the spec has (their keys), and `identity_center` when the spec has
    /// that top-level section: what the spec manages at all, so that what a section's entries no
    /// longer cover is searched for only where the section exists.
    pub baseline_sections: BTreeSet<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredUnit {
    pub path: String,
    pub name: String,
    /// `Root` or the parent's path.
    pub parent_path: String,
    pub id: Option<String>,
    pub tags: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredAccount {
    /// The spec's key: how the plan refers to the account.
    pub name: String,
    /// Its name in AWS when that is not the key (`accounts.X.name`).
    pub aws_name: Option<String>,
    pub email: String,
    pub unit_path: String,
    pub id: Option<String>,
    pub tags: Option<BTreeMap<String, String>>,
    pub close: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DesiredPolicy {
    pub name: String,
    pub policy_type: PolicyType,
    pub description: String,
    /// None for an AWS-managed default whose targets the spec manages.
    pub document: Option<Value>,
    pub target_units: BTreeSet<String>,
    pub target_accounts: BTreeSet<String>,
    pub tags: Option<BTreeMap<String, String>>,
}

impl DesiredAccount {
    /// The name the account carries in AWS.
    pub fn aws_name(&self) -> &str {
        self.aws_name.as_deref().unwrap_or(&self.name)
    }
}

impl DesiredOrganization {
    /// This organization with only the controls `keep` accepts: itself, uncopied, when it accepts
    /// every one (an apply touching every control, as the first apply to a thousand accounts
    /// does), else a copy holding only those. The other fields are copied, the controls left
    /// out never are: at a thousand accounts the controls are most of the desired organization's
    /// memory (issue 25).
    pub fn with_controls_only(
        &self,
        keep: impl Fn(&DesiredControl) -> bool,
    ) -> std::borrow::Cow<'_, DesiredOrganization> {
        if self.controls.iter().all(&keep) {
            return std::borrow::Cow::Borrowed(self);
        }
        let DesiredOrganization {
            policy_types,
            trusted_services,
            delegated_administrators,
            units,
            accounts,
            policies,
            management_account,
            allow,
            controls,
            access_role,
            root_access_features,
            delete_member_root_credentials,
            regions,
            baseline_sections,
        } = self;
        std::borrow::Cow::Owned(DesiredOrganization {
            policy_types: policy_types.clone(),
            trusted_services: trusted_services.clone(),
            delegated_administrators: delegated_administrators.clone(),
            units: units.clone(),
            accounts: accounts.clone(),
            policies: policies.clone(),
            management_account: management_account.clone(),
            allow: allow.clone(),
            controls: controls.iter().filter(|control| keep(control)).cloned().collect(),
            access_role: access_role.clone(),
            root_access_features: root_access_features.clone(),
            delete_member_root_credentials: *delete_member_root_credentials,
            regions: regions.clone(),
            baseline_sections: baseline_sections.clone(),
        })
    }

    /// Flattens a validated spec; `baselines` turns the flattened accounts into the baselines'
    /// demands (`baseline::desired_organization` passes the registry's).
    pub fn from_spec(valid: &ValidSpec, baselines: impl FnOnce(&Inputs<'_>) -> BaselineDemands) -> DesiredOrganization {
        let spec = &valid.spec;
        let mut units = Vec::new();
        flatten_units(ROOT, &spec.units, &mut units);
        units.sort_by(|a, b| depth(&a.path).cmp(&depth(&b.path)).then_with(|| a.path.cmp(&b.path)));
        let accounts: Vec<DesiredAccount> = spec
            .accounts
            .iter()
            .map(|(name, account)| DesiredAccount {
                name: name.clone(),
                aws_name: account.name.clone(),
                email: account.email.clone(),
                unit_path: account.unit.clone(),
                id: account.id.clone(),
                tags: account.tags.clone(),
                close: account.close,
            })
            .collect();
        let policies = spec
            .policies
            .iter()
            .map(|(name, policy)| DesiredPolicy {
                name: name.clone(),
                policy_type: policy.policy_type,
                description: policy.description.clone(),
                document: valid.policy_documents.get(name).cloned(),
                target_units: policy.targets.units.iter().cloned().collect(),
                target_accounts: policy.targets.accounts.iter().cloned().collect(),
                tags: policy.tags.clone(),
            })
            .collect();
        let mut trusted_services: BTreeSet<String> = spec.organization.trusted_services.iter().cloned().collect();
        let delegated_administrators: BTreeSet<(String, String)> = spec
            .organization
            .delegated_administrators
            .iter()
            .map(|(service, account)| (service.clone(), account.clone()))
            .collect();
        let mut delegated_administrators = delegated_administrators;
        let demands = baselines(&Inputs {
            spec,
            accounts: &accounts,
            role_documents: &valid.role_documents,
            permission_set_documents: &valid.permission_set_documents,
        });
        delegated_administrators.extend(demands.delegated_administrators);
        trusted_services.extend(demands.trusted_services);
        trusted_services.extend(delegated_administrators.iter().map(|(service, _)| service.clone()));
        let mut controls = demands.controls;
        crate::plan::control::share_attributes(&mut controls);
        DesiredOrganization {
            policy_types: spec.organization.policy_types.iter().copied().collect(),
            trusted_services,
            delegated_administrators,
            units,
            accounts,
            policies,
            management_account: spec.organization.management_account.clone(),
            allow: spec.organization.allow.clone(),
            controls,
            access_role: spec.organization.access_role.clone(),
            root_access_features: spec
                .organization
                .root_access
                .iter()
                .flat_map(|root_access| root_access.features())
                .map(str::to_string)
                .collect(),
            delete_member_root_credentials: spec
                .organization
                .root_access
                .as_ref()
                .is_some_and(|root_access| root_access.delete_member_root_credentials),
            regions: spec.organization.regions.clone(),
            baseline_sections: serde_json::to_value(&spec.baseline)
                .ok()
                .and_then(|sections| {
                    sections.as_object().map(|sections| {
                        sections
                            .iter()
                            .filter(|(_, value)| !value.is_null())
                            .map(|(key, _)| key.clone())
                            .collect::<Vec<_>>()
                    })
                })
                .unwrap_or_default()
                .into_iter()
                .chain(spec.identity_center.is_some().then(|| "identity_center".to_string()))
                .chain(spec.network.is_some().then(|| "network".to_string()))
                .collect(),
        }
    }

    /// Names of the accounts at or below `unit_path` (`Root` covers all).
    pub fn accounts_under(&self, unit_path: &str) -> usize {
        self.accounts
            .iter()
            .filter(|account| {
                unit_path == ROOT
                    || account.unit_path == unit_path
                    || account.unit_path.starts_with(&format!("{unit_path}/"))
            })
            .count()
    }
}

fn depth(path: &str) -> usize {
    path.split('/').count()
}

fn flatten_units(parent: &str, units: &BTreeMap<String, UnitSpec>, out: &mut Vec<DesiredUnit>) {
    for (name, unit) in units {
        let path = if parent == ROOT { name.clone() } else { format!("{parent}/{name}") };
        out.push(DesiredUnit {
            path: path.clone(),
            name: name.clone(),
            parent_path: parent.to_string(),
            id: unit.id.clone(),
            tags: unit.tags.clone(),
        });
        flatten_units(&path, &unit.units, out);
    }
}
