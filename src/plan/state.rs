//! The live organization as plain data (`live/` fills it): what the readers found, with no SDK types, so the planner
//! and its tests can build and inspect it freely.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::spec::PolicyType;

/// Everything landing-zone knows about the organization, read in one pass.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LiveOrganization {
    /// None when the caller's account is not in an organization yet.
    pub organization: Option<OrganizationInfo>,
    pub root: Option<RootInfo>,
    /// OUs by id.
    pub units: BTreeMap<String, LiveUnit>,
    /// Accounts by id.
    pub accounts: BTreeMap<String, LiveAccount>,
    /// Policies by id, of every enabled type.
    pub policies: BTreeMap<String, LivePolicy>,
    /// Service principals with trusted access.
    pub trusted_services: BTreeSet<String>,
    /// (service principal, account id) pairs.
    pub delegated_administrators: BTreeSet<(String, String)>,
    /// CreateAccount requests still IN_PROGRESS (after a crash, these are adopted, never repeated).
    pub pending_account_creations: Vec<PendingAccountCreation>,
    /// Baseline controls read in existing accounts (None: the control does not exist there).
    #[serde(default, with = "control_map")]
    pub controls: BTreeMap<crate::plan::control::ControlKey, Option<Value>>,
    /// Controls the endpoint cannot read because it does not implement the operation (emulators
    /// only): the operation's name. The planner notes them instead of planning them.
    #[serde(skip)]
    pub unsupported_controls: BTreeMap<crate::plan::control::ControlKey, String>,
}

/// JSON objects need string keys: controls serialize as a list of (key, value) pairs.
mod control_map {
    use std::collections::BTreeMap;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use serde_json::Value;

    use crate::plan::control::ControlKey;

    pub fn serialize<S: Serializer>(
        map: &BTreeMap<ControlKey, Option<Value>>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        map.iter().collect::<Vec<_>>().serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<BTreeMap<ControlKey, Option<Value>>, D::Error> {
        Ok(Vec::<(ControlKey, Option<Value>)>::deserialize(deserializer)?.into_iter().collect())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrganizationInfo {
    pub id: String,
    pub management_account_id: String,
    pub management_account_email: String,
    pub all_features: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RootInfo {
    pub id: String,
    /// Policy type -> status as AWS reports it (ENABLED, PENDING_ENABLE, PENDING_DISABLE).
    pub policy_types: BTreeMap<PolicyType, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveUnit {
    pub id: String,
    pub name: String,
    /// Root id or OU id.
    pub parent_id: String,
    /// Read only for OUs whose tags the spec manages.
    pub tags: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveAccount {
    pub id: String,
    pub name: String,
    pub email: String,
    /// ACTIVE, SUSPENDED, PENDING_CLOSURE...
    pub status: String,
    pub parent_id: String,
    /// Read only for accounts whose tags the spec manages.
    pub tags: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LivePolicy {
    pub id: String,
    pub name: String,
    pub policy_type: PolicyType,
    pub description: String,
    pub aws_managed: bool,
    /// Parsed content (customer-managed policies only).
    pub document: Option<Value>,
    /// Root, OU and account ids the policy is attached to directly.
    pub targets: BTreeSet<String>,
    /// Customer-managed policies only.
    pub tags: Option<BTreeMap<String, String>>,
}

impl LivePolicy {
    /// Whether landing-zone created (or adopted) this policy: its ownership tag says so.
    pub fn owned_by_tool(&self) -> bool {
        self.tags
            .as_ref()
            .and_then(|tags| tags.get(crate::spec::OWNERSHIP_TAG))
            .is_some_and(|value| value == crate::spec::OWNERSHIP_VALUE)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingAccountCreation {
    pub request_id: String,
    pub account_name: String,
}

impl LiveOrganization {
    /// The path of a container (`Root`, `Workloads/Prod`), or None if the id is unknown.
    pub fn path_of(&self, container_id: &str) -> Option<String> {
        if self.root.as_ref().is_some_and(|root| root.id == container_id) {
            return Some(crate::spec::ROOT.to_string());
        }
        let mut names = Vec::new();
        let mut current = container_id;
        for _ in 0..=crate::spec::validate::MAX_UNIT_DEPTH + 1 {
            if self.root.as_ref().is_some_and(|root| root.id == current) {
                names.reverse();
                return Some(names.join("/"));
            }
            let unit = self.units.get(current)?;
            names.push(unit.name.as_str());
            current = &unit.parent_id;
        }
        None
    }

    /// Every OU by path.
    pub fn units_by_path(&self) -> BTreeMap<String, &LiveUnit> {
        self.units.values().filter_map(|unit| self.path_of(&unit.id).map(|path| (path, unit))).collect()
    }

    /// Whether a policy type is ENABLED on the root.
    pub fn policy_type_enabled(&self, policy_type: PolicyType) -> bool {
        self.root
            .as_ref()
            .and_then(|root| root.policy_types.get(&policy_type))
            .is_some_and(|status| status == "ENABLED")
    }
}
