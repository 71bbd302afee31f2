//! The `identity_center:` section of the spec: groups, permission sets and assignments. Part of
//! `spec::model`; its rules are in `baseline::identity_center::validate`.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{DocumentSource, Targets};

/// `identity_center:` — the home Region's IAM Identity Center instance, managed from the
/// management account or from `admin_account` (a registered delegated administrator).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IdentityCenterSpec {
    /// The account that holds the instance's administration (default: the management account).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_account: Option<String>,
    /// Groups created in the Identity Center directory (built-in identity source), by display name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    /// Permission sets, exact; the key is the permission set name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub permission_sets: BTreeMap<String, PermissionSetSpec>,
    /// Account assignments: a group or user, a permission set, the accounts it reaches.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub assignments: Vec<AssignmentSpec>,
}

/// One permission set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PermissionSetSpec {
    /// At most 700 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// ISO-8601 duration between PT1H and PT12H (default PT1H).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_duration: Option<String>,
    /// The URL users land on in the console.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relay_state: Option<String>,
    /// AWS managed policy ARNs (at most 20).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub managed_policies: Vec<String>,
    /// Customer managed policies, by name and path, that must exist in every assigned account.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub customer_managed_policies: Vec<CustomerManagedPolicyReference>,
    /// The inline policy: a JSON file path or an inline mapping.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inline_policy: Option<DocumentSource>,
    /// The permissions boundary: exactly one of its two fields.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions_boundary: Option<PermissionsBoundarySpec>,
}

/// A customer managed policy by name and path (`/` by default).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerManagedPolicyReference {
    pub name: String,
    #[serde(default = "default_policy_path")]
    pub path: String,
}

fn default_policy_path() -> String {
    "/".to_string()
}

/// A permission set's permissions boundary: an AWS managed policy or a customer managed one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PermissionsBoundarySpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managed_policy: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_managed_policy: Option<CustomerManagedPolicyReference>,
}

/// One assignment: exactly one of `group` (display name) or `user` (user name).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignmentSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    pub permission_set: String,
    pub targets: Targets,
}
