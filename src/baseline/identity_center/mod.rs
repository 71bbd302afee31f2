//! `identity_center:`: the home Region's IAM Identity Center instance, held by the management
//! account (or `identity_center.admin_account`). Three kinds of control, all in that account and
//! Region: `identity_center/group/NAME` (a group created in the Identity Center directory),
//! `identity_center/permission_set/NAME` (a permission set, exact: description, session duration,
//! relay state, managed and customer managed policies, inline policy, permissions boundary) and
//! `identity_center/assignments/SET` (every assignment of that set to the principals the spec
//! names, exact; others are reported as notes, never removed). A permission set landing-zone
//! created (it carries the ownership tag) that the spec no longer names is removed, its
//! assignments first.
//!
//! This file owns the typed attributes and the pure desired controls; `directory.rs` the instance
//! and name lookups, `permission_set.rs` and `assignments.rs` the reads and writes, `posture.rs`
//! what `audit` reads and `import.rs` what `import` reads.
//!
//! API: https://docs.aws.amazon.com/singlesignon/latest/APIReference/welcome.html
//! https://docs.aws.amazon.com/singlesignon/latest/IdentityStoreAPIReference/welcome.html

mod assignments;
mod directory;
mod import;
mod permission_set;
mod posture;
mod validate;

pub use import::{read_for_import, LiveAssignment, LiveIdentityCenter};
pub use posture::{posture, Posture};

use std::collections::BTreeSet;

use anyhow::Result;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::attributes::encode;
use super::{Actions, Baseline, BoxFuture, Context, Found, Ownership, Permissions, Places};
use crate::plan::control::{ControlKey, DesiredControl, Inputs};
use crate::spec::validate::Checker;
use crate::spec::{CustomerManagedPolicyReference, PermissionsBoundarySpec, Spec};

pub const CONTROL: &str = "identity_center";
const GROUP: &str = "identity_center/group/";
const PERMISSION_SET: &str = "identity_center/permission_set/";
const ASSIGNMENTS: &str = "identity_center/assignments/";

/// AWS's default when a permission set names no session duration.
/// https://docs.aws.amazon.com/singlesignon/latest/APIReference/API_CreatePermissionSet.html
pub const DEFAULT_SESSION_DURATION: &str = "PT1H";

/// A group of the Identity Center directory, by display name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupAttributes {
    pub display_name: String,
}

/// A permission set as the planner compares it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PermissionSetAttributes {
    pub description: Option<String>,
    /// ISO-8601 (`PT4H`).
    pub session_duration: String,
    pub relay_state: Option<String>,
    pub managed_policies: BTreeSet<String>,
    pub customer_managed_policies: BTreeSet<CustomerManagedPolicyReference>,
    /// Compared as parsed JSON: key order and whitespace are no change.
    pub inline_policy: Option<Value>,
    pub permissions_boundary: Option<PermissionsBoundarySpec>,
    /// Display-only, live side: what the reader left as it is and why (a description the spec
    /// does not give). Moved into the plan's notes before planning, never compared.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// One principal the spec names: `GROUP` by display name or `USER` by user name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Principal {
    /// `GROUP` or `USER`, as sso-admin spells `PrincipalType`.
    pub principal_type: String,
    pub name: String,
}

/// One account assignment of the control's permission set.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Assignment {
    pub principal: Principal,
    /// The account's spec name (its id when the spec does not name it). Orders the set (fields
    /// order `Ord`) so that it serializes in the same order before and after the ids resolve: the
    /// planner compares the serialized form, and `{{account:NAME}}` sorts apart from the id it
    /// becomes.
    pub account_name: String,
    /// The account id (a `{{account:NAME}}` placeholder until the account exists).
    pub account: String,
}

/// The assignments of one permission set to the principals the spec manages.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssignmentsAttributes {
    pub assignments: BTreeSet<Assignment>,
    /// Every principal the spec names anywhere in `identity_center` (the same live as desired:
    /// the reader copies it). Assignments of these to this set are exact; of others, notes.
    pub managed_principals: BTreeSet<Principal>,
    /// Display-only, live side: assignments of this set to principals the spec does not name.
    /// Moved into the plan's notes before planning (`Baseline::take_notes`), never compared.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unmanaged: Vec<String>,
}

/// The account that holds the instance's administration, by spec name.
pub fn admin_account(spec: &Spec) -> Option<&str> {
    let identity_center = spec.identity_center.as_ref()?;
    identity_center.admin_account.as_deref().or(spec.organization.management_account.as_deref())
}

/// The principals the spec names: created groups and every assignment's group or user.
fn managed_principals(spec: &Spec) -> BTreeSet<Principal> {
    let Some(identity_center) = &spec.identity_center else { return BTreeSet::new() };
    let group = |name: &str| Principal { principal_type: "GROUP".to_string(), name: name.to_string() };
    let mut principals: BTreeSet<Principal> = identity_center.groups.iter().map(|name| group(name)).collect();
    for assignment in &identity_center.assignments {
        if let Some(name) = &assignment.group {
            principals.insert(group(name));
        }
        if let Some(name) = &assignment.user {
            principals.insert(Principal { principal_type: "USER".to_string(), name: name.clone() });
        }
    }
    principals
}

/// The attributes the spec asks of one permission set. Pure.
pub fn permission_set_attributes(inputs: &Inputs<'_>, name: &str) -> Option<PermissionSetAttributes> {
    let set = inputs.spec.identity_center.as_ref()?.permission_sets.get(name)?;
    Some(PermissionSetAttributes {
        description: set.description.clone(),
        session_duration: set.session_duration.clone().unwrap_or_else(|| DEFAULT_SESSION_DURATION.to_string()),
        relay_state: set.relay_state.clone(),
        managed_policies: set.managed_policies.iter().cloned().collect(),
        customer_managed_policies: set.customer_managed_policies.iter().cloned().collect(),
        inline_policy: inputs.permission_set_documents.get(name).cloned(),
        permissions_boundary: set.permissions_boundary.clone(),
        notes: Vec::new(),
    })
}

/// Every control of `identity_center:`: groups, then permission sets, then their assignments.
pub fn desired(inputs: &Inputs<'_>) -> Vec<DesiredControl> {
    let spec = inputs.spec;
    let (Some(identity_center), Some(admin)) = (&spec.identity_center, admin_account(spec)) else {
        return Vec::new();
    };
    let region = Some(inputs.home_region());
    let mut controls = Vec::new();
    let group_key = |name: &str| ControlKey::new(format!("{GROUP}{name}"), admin, region);
    for name in &identity_center.groups {
        let attributes = encode(&GroupAttributes { display_name: name.clone() });
        controls.push(DesiredControl::new(group_key(name), attributes).needs(&["identitystore:CreateGroup"]));
    }
    let principals = managed_principals(spec);
    for name in identity_center.permission_sets.keys() {
        let Some(attributes) = permission_set_attributes(inputs, name) else { continue };
        let set_key = ControlKey::new(format!("{PERMISSION_SET}{name}"), admin, region);
        controls.push(DesiredControl::new(set_key.clone(), encode(&attributes)).needs(&[
            "sso:CreatePermissionSet",
            "sso:ProvisionPermissionSet",
            "sso:TagResource",
        ]));
        let mut assignments = BTreeSet::new();
        let mut after_groups = BTreeSet::new();
        for assignment in identity_center.assignments.iter().filter(|assignment| &assignment.permission_set == name) {
            let principal = match (&assignment.group, &assignment.user) {
                (Some(group), _) => {
                    if identity_center.groups.contains(group) {
                        after_groups.insert(group.clone());
                    }
                    Principal { principal_type: "GROUP".to_string(), name: group.clone() }
                }
                (None, Some(user)) => Principal { principal_type: "USER".to_string(), name: user.clone() },
                // `validate` demands one of the two.
                (None, None) => continue,
            };
            for account in inputs.accounts_for(&assignment.targets) {
                let id = inputs
                    .accounts
                    .iter()
                    .find(|desired| desired.name == account)
                    .and_then(|desired| desired.id.clone())
                    .unwrap_or_else(|| format!("{{{{account:{account}}}}}"));
                assignments.insert(Assignment { principal: principal.clone(), account_name: account, account: id });
            }
        }
        let attributes =
            AssignmentsAttributes { assignments, managed_principals: principals.clone(), unmanaged: Vec::new() };
        let mut control =
            DesiredControl::new(ControlKey::new(format!("{ASSIGNMENTS}{name}"), admin, region), encode(&attributes))
                .after(set_key)
                .needs(&["sso:CreateAccountAssignment"]);
        for group in after_groups {
            control = control.after(group_key(&group));
        }
        controls.push(control);
    }
    controls
}

/// The `identity_center:` section in the registry.
pub struct IdentityCenter;

impl Baseline for IdentityCenter {
    fn validate(&self, checker: &mut Checker<'_>) {
        validate::check(checker);
    }

    fn family(&self) -> &'static str {
        CONTROL
    }

    fn section(&self) -> &'static str {
        "identity_center"
    }

    fn summary(&self) -> &'static str {
        "IAM Identity Center groups, permission sets and account assignments (top-level `identity_center:`)"
    }

    fn desired(&self, inputs: &Inputs<'_>) -> Vec<DesiredControl> {
        desired(inputs)
    }

    fn trusted_services(&self, spec: &Spec) -> Vec<&'static str> {
        match spec.identity_center.as_ref().and_then(|section| section.admin_account.as_ref()) {
            Some(_) => vec!["sso.amazonaws.com"],
            None => Vec::new(),
        }
    }

    fn delegated_administrators(&self, spec: &Spec) -> Vec<(String, String)> {
        // https://docs.aws.amazon.com/singlesignon/latest/userguide/delegated-admin.html
        match spec.identity_center.as_ref().and_then(|section| section.admin_account.clone()) {
            Some(admin) => vec![("sso.amazonaws.com".to_string(), admin)],
            None => Vec::new(),
        }
    }

    fn permissions(&self) -> Permissions {
        Permissions {
            management: Actions::default(),
            in_account: Actions {
                read: &[
                    "sso:ListInstances",
                    "sso:ListPermissionSets",
                    "sso:DescribePermissionSet",
                    "sso:ListManagedPoliciesInPermissionSet",
                    "sso:ListCustomerManagedPolicyReferencesInPermissionSet",
                    "sso:GetInlinePolicyForPermissionSet",
                    "sso:GetPermissionsBoundaryForPermissionSet",
                    "sso:ListAccountsForProvisionedPermissionSet",
                    "sso:ListAccountAssignments",
                    "sso:ListTagsForResource",
                    "identitystore:GetGroupId",
                    "identitystore:GetUserId",
                    // `import` names assigned principals.
                    "identitystore:DescribeGroup",
                    "identitystore:DescribeUser",
                ],
                // ProvisionPermissionSet and the assignment calls make Identity Center create and
                // update IAM roles in the assigned accounts on the caller's behalf, which needs
                // these IAM actions from the caller too:
                // https://docs.aws.amazon.com/singlesignon/latest/userguide/iam-auth-access-using-id-policies.html
                write: &[
                    "sso:CreatePermissionSet",
                    "sso:UpdatePermissionSet",
                    "sso:AttachManagedPolicyToPermissionSet",
                    "sso:DetachManagedPolicyFromPermissionSet",
                    "sso:AttachCustomerManagedPolicyReferenceToPermissionSet",
                    "sso:DetachCustomerManagedPolicyReferenceFromPermissionSet",
                    "sso:PutInlinePolicyToPermissionSet",
                    "sso:DeleteInlinePolicyFromPermissionSet",
                    "sso:PutPermissionsBoundaryToPermissionSet",
                    "sso:DeletePermissionsBoundaryFromPermissionSet",
                    "sso:ProvisionPermissionSet",
                    "sso:DescribePermissionSetProvisioningStatus",
                    "sso:CreateAccountAssignment",
                    "sso:DeleteAccountAssignment",
                    "sso:DescribeAccountAssignmentCreationStatus",
                    "sso:DescribeAccountAssignmentDeletionStatus",
                    "sso:DeletePermissionSet",
                    "sso:TagResource",
                    "identitystore:CreateGroup",
                    "iam:AttachRolePolicy",
                    "iam:CreateRole",
                    "iam:DeleteRole",
                    "iam:DeleteRolePolicy",
                    "iam:DetachRolePolicy",
                    "iam:GetRole",
                    "iam:ListAttachedRolePolicies",
                    "iam:ListRolePolicies",
                    "iam:PutRolePolicy",
                    "iam:PutRolePermissionsBoundary",
                    "iam:DeleteRolePermissionsBoundary",
                    "iam:UpdateRole",
                    "iam:GetSAMLProvider",
                    "iam:CreateSAMLProvider",
                ],
            },
        }
    }

    /// An instance encrypted with a customer managed KMS key needs its administrators to use that
    /// key through Identity Center and the identity store: AWS's baseline IAM statement for
    /// Identity Center administrators allows `kms:Decrypt`, `kms:Encrypt` and
    /// `kms:GenerateDataKeyWithoutPlaintext` on the key, conditioned on `kms:ViaService`
    /// `sso.*.amazonaws.com` / `identitystore.*.amazonaws.com`, and `kms:DescribeKey`.
    /// https://docs.aws.amazon.com/singlesignon/latest/userguide/baseline-KMS-key-policy.html
    /// https://docs.aws.amazon.com/singlesignon/latest/userguide/encryption-at-rest.html
    /// The key's ARN is the instance's, unknown before a run: `Resource` is `*`, and the
    /// `kms:ViaService` condition keeps the grant to calls Identity Center makes (DescribeKey too:
    /// the tool never calls KMS itself). Reads only decrypt; writes also encrypt.
    fn conditioned_permissions(&self, apply: bool) -> Vec<Value> {
        let actions: &[&str] = if apply {
            &["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKeyWithoutPlaintext"]
        } else {
            &["kms:Decrypt", "kms:DescribeKey"]
        };
        vec![serde_json::json!({
            "Sid": "IdentityCenterCustomerManagedKey",
            "Effect": "Allow",
            "Action": actions,
            "Resource": "*",
            "Condition": { "StringLike": { "kms:ViaService": ["sso.*.amazonaws.com", "identitystore.*.amazonaws.com"] } },
        })]
    }

    fn take_notes(&self, key: &ControlKey, live: &mut Value) -> Vec<String> {
        let field = if key.control.starts_with(ASSIGNMENTS) {
            "unmanaged"
        } else if key.control.starts_with(PERMISSION_SET) {
            "notes"
        } else {
            return Vec::new();
        };
        match live.as_object_mut().and_then(|map| map.remove(field)) {
            Some(Value::Array(items)) => {
                items.into_iter().filter_map(|item| item.as_str().map(str::to_string)).collect()
            }
            _ => Vec::new(),
        }
    }

    fn read<'a>(
        &'a self,
        context: &'a Context<'_>,
        key: &'a ControlKey,
        desired: &'a Value,
    ) -> BoxFuture<'a, Result<Option<Value>>> {
        Box::pin(async move {
            if let Some(name) = key.control.strip_prefix(GROUP) {
                directory::read_group(context, key, name).await
            } else if let Some(name) = key.control.strip_prefix(PERMISSION_SET) {
                Ok(permission_set::read(context, key, name, desired).await?.map(|attributes| encode(&attributes)))
            } else if let Some(name) = key.control.strip_prefix(ASSIGNMENTS) {
                assignments::read(context, key, name, desired).await
            } else {
                anyhow::bail!("unknown identity_center control `{}`", key.control)
            }
        })
    }

    fn audit_organization<'a>(
        &'a self,
        context: &'a Context<'_>,
        organization: &'a super::audit::AuditedOrganization<'a>,
    ) -> BoxFuture<'a, Vec<super::audit::Finding>> {
        Box::pin(posture::audit_organization(context, organization))
    }

    fn apply<'a>(
        &'a self,
        context: &'a Context<'_>,
        key: &'a ControlKey,
        attributes: &'a Value,
        _before: Option<&'a Value>,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            if let Some(name) = key.control.strip_prefix(GROUP) {
                directory::create_group(context, key, name).await
            } else if let Some(name) = key.control.strip_prefix(PERMISSION_SET) {
                permission_set::apply(context, key, name, attributes).await
            } else if let Some(name) = key.control.strip_prefix(ASSIGNMENTS) {
                assignments::apply(context, key, name, attributes).await
            } else {
                anyhow::bail!("unknown identity_center control `{}`", key.control)
            }
        })
    }

    /// Permission sets carry the ownership tag; one landing-zone created that the spec no longer
    /// names is removed with its assignments.
    fn ownership(&self) -> Option<Ownership> {
        Some(Ownership { places: Places::Regions })
    }

    fn find<'a>(
        &'a self,
        context: &'a Context<'_>,
        account: &'a str,
        region: Option<&'a str>,
        wanted: &'a BTreeSet<ControlKey>,
    ) -> BoxFuture<'a, Result<Vec<Found>>> {
        Box::pin(async move {
            // Searched only where the section's controls are: the admin account's home Region.
            // Keys order by control name first, so the section's controls are one range of
            // `wanted` (called for every account and region: no scan of every control).
            let section = ControlKey::new(format!("{CONTROL}/"), "", None);
            let Some(probe) = wanted
                .range(section..)
                .take_while(|key| key.control.starts_with(CONTROL))
                .find(|key| key.account == account && key.region.as_deref() == region)
            else {
                return Ok(Vec::new());
            };
            permission_set::unwanted(context, probe, wanted).await
        })
    }

    fn remove<'a>(
        &'a self,
        context: &'a Context<'_>,
        key: &'a ControlKey,
        _before: &'a Value,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let Some(name) = key.control.strip_prefix(PERMISSION_SET) else {
                anyhow::bail!("{}: landing-zone removes only permission sets of `identity_center`", key.label())
            };
            permission_set::remove(context, key, name).await
        })
    }

    fn import_top_level<'a>(
        &'a self,
        context: &'a Context<'_>,
        scope: &'a super::import::ImportScope,
    ) -> BoxFuture<'a, Result<Option<super::import::OwnSection>>> {
        Box::pin(import::import(context, scope))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::plan::desired::DesiredAccount;

    const SPEC: &str = r#"
version: 1
organization: { management_account: management, regions: [eu-west-1, us-east-1] }
units: { Infrastructure: {} }
accounts:
  management: { email: root@example.com, unit: Root }
  shared: { email: shared@example.com, unit: Infrastructure }
identity_center:
  groups: [Platform]
  permission_sets:
    Administrator: { session_duration: PT4H, managed_policies: [arn:aws:iam::aws:policy/AdministratorAccess] }
    Auditor: { managed_policies: [arn:aws:iam::aws:policy/ReadOnlyAccess] }
  assignments:
    - { group: Platform, permission_set: Administrator, targets: { units: [Infrastructure] } }
    - { user: alice, permission_set: Auditor, targets: { accounts: [management, shared] } }
"#;

    fn account(name: &str, unit: &str, id: Option<&str>) -> DesiredAccount {
        DesiredAccount {
            name: name.to_string(),
            aws_name: None,
            email: format!("{name}@example.com"),
            unit_path: unit.to_string(),
            id: id.map(str::to_string),
            tags: None,
            close: false,
        }
    }

    #[test]
    fn controls_live_in_the_admin_account_home_region_and_assignments_expand_units() {
        let spec: Spec = serde_yaml::from_str(SPEC).expect("spec");
        let accounts = [account("management", "Root", Some("111111111111")), account("shared", "Infrastructure", None)];
        let (roles, sets) = (BTreeMap::new(), BTreeMap::new());
        let inputs =
            Inputs { spec: &spec, accounts: &accounts, role_documents: &roles, permission_set_documents: &sets };
        let controls = desired(&inputs);
        let names: Vec<&str> = controls.iter().map(|control| control.key.control.as_str()).collect();
        assert_eq!(
            names,
            [
                "identity_center/group/Platform",
                "identity_center/permission_set/Administrator",
                "identity_center/assignments/Administrator",
                "identity_center/permission_set/Auditor",
                "identity_center/assignments/Auditor",
            ]
        );
        assert!(controls
            .iter()
            .all(|control| control.key.account == "management" && control.key.region.as_deref() == Some("eu-west-1")));
        let administrator: PermissionSetAttributes =
            serde_json::from_value((*controls[1].attributes).clone()).expect("set");
        assert_eq!(administrator.session_duration, "PT4H");
        let auditor: PermissionSetAttributes = serde_json::from_value((*controls[3].attributes).clone()).expect("set");
        assert_eq!(auditor.session_duration, DEFAULT_SESSION_DURATION);
        // A unit reaches the account the same plan creates, through a placeholder.
        let assigned: AssignmentsAttributes = serde_json::from_value((*controls[2].attributes).clone()).expect("a");
        let accounts: Vec<&str> = assigned.assignments.iter().map(|a| a.account.as_str()).collect();
        assert_eq!(accounts, ["{{account:shared}}"]);
        assert!(controls[2].after.iter().any(|key| key.control == "identity_center/group/Platform"));
        let audited: AssignmentsAttributes = serde_json::from_value((*controls[4].attributes).clone()).expect("a");
        let accounts: BTreeSet<&str> = audited.assignments.iter().map(|a| a.account.as_str()).collect();
        assert_eq!(accounts, BTreeSet::from(["111111111111", "{{account:shared}}"]));
        assert_eq!(audited.managed_principals.len(), 2);
    }
}
