//! `import`: turns a live organization into a spec (and policy files) on which `plan` shows no
//! changes. Pure: live model in, spec model and documents out; the CLI writes the files.
//!
//! OUs and accounts are pinned by `id:` so later renames stay renames. Names that would collide as
//! spec keys get a suffix from their id. AWS-managed default policies are left out: the planner
//! never detaches what the spec does not name. Each baseline's live settings become `baseline:`, and
//! a baseline's own top-level section (Identity Center's `identity_center:`) its key (both read by
//! the CLI through the registry's `Baseline::import` and `Baseline::import_top_level`).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::baseline::import::{policy_file_name as file_name, ImportedTopLevel};
use crate::plan::state::LiveOrganization;
use crate::spec::{
    AccountSpec, BaselineSpec, DestructiveOptIns, DocumentSource, FeatureSet, OrganizationSpec, PolicySpec, PolicyType,
    RootAccessSpec, Spec, Targets, UnitSpec, OWNERSHIP_TAG, ROOT, ROOT_CREDENTIALS_MANAGEMENT, ROOT_SESSIONS,
};

/// A spec and the policy documents it references (file name under `policies/` -> document).
#[derive(Debug, Clone, PartialEq)]
pub struct Imported {
    pub spec: Spec,
    pub documents: BTreeMap<String, Value>,
}

/// What import recognises beyond the organization.
#[derive(Debug, Clone, Default)]
pub struct RecognisedBaselines {
    /// `baseline:` as the registry's baselines imported it (`baseline::import::import_sections`),
    /// naming accounts by [`account_names`].
    pub baseline: BaselineSpec,
    /// Top-level sections baselines import beside `baseline:`, with their policy documents.
    pub top_level: Vec<ImportedTopLevel>,
    /// The documents `baseline:` refers to (role inline policies): file name under `policies/`
    /// -> document.
    pub documents: BTreeMap<String, Value>,
    /// Organization policies a `baseline:` section makes (the backup policy), by type and name:
    /// not listed under `policies:` as well.
    pub organization_policies: Vec<(PolicyType, String)>,
}

fn visible_tags(tags: &Option<BTreeMap<String, String>>) -> Option<BTreeMap<String, String>> {
    let tags: BTreeMap<String, String> = tags
        .as_ref()?
        .iter()
        .filter(|(key, _)| key.as_str() != OWNERSHIP_TAG && !key.starts_with("aws:"))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    (!tags.is_empty()).then_some(tags)
}

/// A spec-safe account name: printable ASCII, at most 50 characters, unique.
fn account_key(name: &str, id: &str, taken: &mut BTreeSet<String>) -> String {
    let mut key: String = name.chars().filter(|c| (' '..='~').contains(c)).take(50).collect();
    if key.trim().is_empty() {
        key = format!("account-{id}");
    }
    if !taken.insert(key.clone()) {
        let suffix = format!("-{}", &id[id.len().saturating_sub(4)..]);
        key = format!("{}{suffix}", key.chars().take(50 - suffix.len()).collect::<String>());
        taken.insert(key.clone());
    }
    key
}

/// The spec name of every active account, by id: the keys `import` writes them under (and the
/// names its baseline sections must use).
pub fn account_names(live: &LiveOrganization) -> BTreeMap<String, String> {
    let mut taken = BTreeSet::new();
    live.accounts
        .values()
        .filter(|account| account.state.is_active())
        .map(|account| (account.id.clone(), account_key(&account.name, &account.id, &mut taken)))
        .collect()
}

/// Builds the spec. `regions` become `organization.regions` (home region first). Fails only if a
/// baseline's top-level section does not fit the spec model (a defect, not a user error).
pub fn import(
    live: &LiveOrganization,
    regions: Vec<String>,
    baselines: RecognisedBaselines,
) -> anyhow::Result<Imported> {
    let root_id = live.root.as_ref().map(|root| root.id.clone()).unwrap_or_default();

    fn units_under(live: &LiveOrganization, parent: &str) -> BTreeMap<String, UnitSpec> {
        live.units
            .values()
            .filter(|unit| unit.parent_id == parent)
            .map(|unit| {
                let spec = UnitSpec {
                    id: Some(unit.id.clone()),
                    tags: visible_tags(&unit.tags),
                    units: units_under(live, &unit.id),
                };
                (unit.name.clone(), spec)
            })
            .collect()
    }
    let units = units_under(live, &root_id);

    let management_id = live.organization.as_ref().map(|org| org.management_account_id.clone());
    let account_names = account_names(live);
    let mut accounts = BTreeMap::new();
    let mut management_account = None;
    for account in live.accounts.values().filter(|account| account.state.is_active()) {
        let Some(key) = account_names.get(&account.id).cloned() else { continue };
        if management_id.as_deref() == Some(account.id.as_str()) {
            management_account = Some(key.clone());
        }
        // Two accounts may share a name in AWS; the second gets a distinct key and keeps its name.
        let name = (key != account.name).then(|| account.name.clone());
        accounts.insert(
            key,
            AccountSpec {
                email: account.email.clone(),
                name,
                unit: live.path_of(&account.parent_id).unwrap_or_else(|| ROOT.to_string()),
                id: Some(account.id.clone()),
                tags: visible_tags(&account.tags),
                close: false,
            },
        );
    }

    // The documents of the baselines' sections keep their names; policies' files avoid them.
    let mut documents: BTreeMap<String, Value> =
        baselines.top_level.iter().flat_map(|section| section.documents.clone()).collect();
    documents.extend(baselines.documents.clone());
    let mut files: BTreeSet<String> = documents.keys().cloned().collect();
    let mut policies = BTreeMap::new();
    let mut policy_types = BTreeSet::new();
    if let Some(root) = &live.root {
        policy_types.extend(root.policy_types.iter().filter(|(_, status)| *status == "ENABLED").map(|(t, _)| *t));
    }
    // Policies of a type not enabled on the root are left out: naming them would enable the type.
    for policy in live.policies.values().filter(|policy| {
        !policy.aws_managed
            && policy_types.contains(&policy.policy_type)
            && !baselines.organization_policies.contains(&(policy.policy_type, policy.name.clone()))
    }) {
        let Some(document) = &policy.document else { continue };
        let mut key = policy.name.clone();
        if policies.contains_key(&key) {
            key = format!("{}-{}", policy.name, policy.policy_type.as_aws().to_lowercase());
        }
        let file = file_name(&key, &mut files);
        documents.insert(file.clone(), document.clone());
        let mut targets = Targets::default();
        for target in &policy.targets {
            if *target == root_id {
                targets.units.push(ROOT.to_string());
            } else if live.units.contains_key(target) {
                targets.units.extend(live.path_of(target));
            } else if let Some(name) = account_names.get(target) {
                targets.accounts.push(name.clone());
            }
        }
        targets.units.sort();
        targets.accounts.sort();
        policies.insert(
            key,
            PolicySpec {
                policy_type: policy.policy_type,
                description: policy.description.clone(),
                document: Some(DocumentSource::File(format!("policies/{file}"))),
                targets,
                tags: visible_tags(&policy.tags),
            },
        );
    }

    let baseline = baselines.baseline;
    let spec = Spec {
        version: 1,
        organization: OrganizationSpec {
            feature_set: if live.organization.as_ref().is_some_and(|org| org.all_features) {
                FeatureSet::All
            } else {
                FeatureSet::ConsolidatedBilling
            },
            policy_types: policy_types.into_iter().collect(),
            access_role: "OrganizationAccountAccessRole".to_string(),
            external_id: None,
            management_account,
            regions,
            trusted_services: live.trusted_services.iter().cloned().collect(),
            delegated_administrators: BTreeMap::new(),
            allow: DestructiveOptIns::default(),
            root_access: (!live.root_access_features.is_empty()).then(|| RootAccessSpec {
                credentials_management: live.root_access_features.contains(ROOT_CREDENTIALS_MANAGEMENT),
                root_sessions: live.root_access_features.contains(ROOT_SESSIONS),
                delete_member_root_credentials: false,
            }),
        },
        units,
        accounts,
        policies,
        baseline,
        identity_center: None,
        network: None,
    };
    Ok(Imported { spec: with_top_level(spec, &baselines.top_level)?, documents })
}

/// The spec with the baselines' own top-level sections under their keys.
fn with_top_level(spec: Spec, sections: &[ImportedTopLevel]) -> anyhow::Result<Spec> {
    if sections.is_empty() {
        return Ok(spec);
    }
    let mut value = serde_json::to_value(&spec)?;
    for section in sections {
        value[section.key] = section.section.clone();
    }
    serde_json::from_value(value).map_err(|error| anyhow::anyhow!("an imported top-level section: {error}"))
}

/// The spec as YAML, with the schema line editors use.
pub fn to_yaml(spec: &Spec) -> Result<String, serde_yaml::Error> {
    let body = serde_yaml::to_string(spec)?;
    Ok(format!(
        "# yaml-language-server: $schema=https://raw.githubusercontent.com/landing-zone/landing-zone/main/docs/landing-zone.schema.json\n# Written by `landing-zone import`: OUs and accounts are pinned by id.\n{body}"
    ))
}
