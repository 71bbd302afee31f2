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
    /// Policies a targeted read listed but did not read (document, tags and targets unknown): not
    /// attached to the targets nor their ancestors, and attached to none of them by the spec.
    /// The planner plans nothing for them (`live::organization`'s `PolicyFocus` says why).
    #[serde(skip)]
    pub unread_policies: BTreeSet<String>,
    /// After a targeted read, the live containers whose attachments are known in full (the
    /// targets and their ancestors); None: all. The per-target rules are checked on these only.
    #[serde(skip)]
    pub attachments_known_for: Option<BTreeSet<String>>,
    /// (service principal, account id) pairs.
    pub delegated_administrators: BTreeSet<(String, String)>,
    /// Centralized root access features enabled (IAM `ListOrganizationsFeatures`; read only when
    /// trusted access for `iam.amazonaws.com` is on, since IAM refuses the call before).
    #[serde(default)]
    pub root_access_features: BTreeSet<String>,
    /// Root credentials of member accounts, by account id: read only when the spec opts into
    /// deleting them and `--allow-destructive` is given (through `sts:AssumeRoot`); None otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_credentials: Option<BTreeMap<String, RootCredentials>>,
    /// CreateAccount requests still IN_PROGRESS (after a crash, these are adopted, never repeated).
    pub pending_account_creations: Vec<PendingAccountCreation>,
    /// Baseline controls read in existing accounts (None: the control does not exist there).
    #[serde(default, with = "control_map")]
    pub controls: BTreeMap<crate::plan::control::ControlKey, Option<Value>>,
    /// Controls the endpoint cannot read because it does not implement the operation (emulators
    /// only): the operation's name. The planner notes them instead of planning them.
    #[serde(skip)]
    pub unsupported_controls: BTreeMap<crate::plan::control::ControlKey, String>,
    /// The endpoint does not implement the Account API's account names (emulators only): the
    /// operation's name. The planner notes a name difference instead of planning a rename.
    #[serde(skip)]
    pub account_names_unsupported: Option<String>,
    /// What control readers saw but the controls do not own (`Baseline::take_notes`): display
    /// only, the planner shows them as notes.
    #[serde(skip)]
    pub control_notes: BTreeMap<crate::plan::control::ControlKey, Vec<String>>,
    /// Baseline resources landing-zone created (they carry its ownership mark) found where the
    /// spec does not ask for them, with what removing each loses that the spec cannot re-create
    /// (None: nothing). Their live attributes are in `controls`.
    #[serde(skip)]
    pub owned_controls: BTreeMap<crate::plan::control::ControlKey, Option<String>>,
    /// Resources of the same kinds that landing-zone did not create, found where the spec does not
    /// ask for them: never removed (the plan notes those that bear a name the spec uses).
    #[serde(skip)]
    pub unowned_controls: BTreeSet<crate::plan::control::ControlKey>,
}

/// The root user credentials of one account (IAM reads without a user name in an AssumeRoot
/// session): what exists, by id, so that apply deletes exactly what the plan showed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RootCredentials {
    /// A console password (login profile).
    pub password: bool,
    /// Access key ids.
    pub access_keys: Vec<String>,
    /// MFA device serial numbers (virtual device ARNs, hardware serials).
    pub mfa_devices: Vec<String>,
    /// Signing certificate ids.
    pub signing_certificates: Vec<String>,
}

impl RootCredentials {
    pub fn is_empty(&self) -> bool {
        !self.password
            && self.access_keys.is_empty()
            && self.mfa_devices.is_empty()
            && self.signing_certificates.is_empty()
    }

    /// `password, 2 access keys, 1 MFA device`, or `none`.
    pub fn summary(&self) -> String {
        fn count(items: usize, one: &str, many: &str) -> Option<String> {
            match items {
                0 => None,
                1 => Some(format!("1 {one}")),
                n => Some(format!("{n} {many}")),
            }
        }
        let parts: Vec<String> = [
            self.password.then(|| "password".to_string()),
            count(self.access_keys.len(), "access key", "access keys"),
            count(self.mfa_devices.len(), "MFA device", "MFA devices"),
            count(self.signing_certificates.len(), "signing certificate", "signing certificates"),
        ]
        .into_iter()
        .flatten()
        .collect();
        if parts.is_empty() {
            "none".to_string()
        } else {
            parts.join(", ")
        }
    }
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
    /// The account's lifecycle state (`Account.State`). `alias`: saved plans written before the
    /// field was renamed from the retired `Status`.
    #[serde(alias = "status")]
    pub state: AccountState,
    pub parent_id: String,
    /// Read only for accounts whose tags the spec manages.
    pub tags: Option<BTreeMap<String, String>>,
}

/// An account's lifecycle state, as Organizations reports it in `Account.State`
/// (ListAccounts, ListAccountsForParent, DescribeAccount). The older `Account.Status` was retired
/// on 2026-09-09 and is never read.
/// https://docs.aws.amazon.com/organizations/latest/APIReference/API_Account.html
/// https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_accounts_account_state.html
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum AccountState {
    /// Sign-up started but never completed: the account is unusable until it is.
    PendingActivation,
    /// Fully operational.
    Active,
    /// Closed by its owner or AWS, within the 90-day post-closure period.
    Suspended,
    /// A CloseAccount request is in progress.
    PendingClosure,
    /// Permanently closed.
    Closed,
    /// A value this version does not know (or none at all): treated as not active.
    Unknown(String),
}

impl AccountState {
    pub fn from_aws(value: &str) -> AccountState {
        match value {
            "PENDING_ACTIVATION" => AccountState::PendingActivation,
            "ACTIVE" => AccountState::Active,
            "SUSPENDED" => AccountState::Suspended,
            "PENDING_CLOSURE" => AccountState::PendingClosure,
            "CLOSED" => AccountState::Closed,
            other => AccountState::Unknown(other.to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            AccountState::PendingActivation => "PENDING_ACTIVATION",
            AccountState::Active => "ACTIVE",
            AccountState::Suspended => "SUSPENDED",
            AccountState::PendingClosure => "PENDING_CLOSURE",
            AccountState::Closed => "CLOSED",
            AccountState::Unknown(other) => other,
        }
    }

    /// Only ACTIVE accounts are moved, tagged, baselined, imported and audited.
    pub fn is_active(&self) -> bool {
        *self == AccountState::Active
    }
}

impl From<String> for AccountState {
    fn from(value: String) -> AccountState {
        AccountState::from_aws(&value)
    }
}

impl From<AccountState> for String {
    fn from(state: AccountState) -> String {
        state.as_str().to_string()
    }
}

impl std::fmt::Display for AccountState {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AccountState::Unknown(value) if value.is_empty() => formatter.write_str("unknown"),
            state => formatter.write_str(state.as_str()),
        }
    }
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
