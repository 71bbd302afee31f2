//! `baseline.roles`: IAM roles in targeted accounts with trust to named accounts, roles or services,
//! MFA and external-id conditions, managed and inline policies. Drift in trust, attachments or
//! inline policies is repaired; roles the tool creates carry its ownership tag, and a tagged role
//! the spec no longer asks for in an account (the account left the role's targets, the role left
//! the spec) is removed. Roles it did not create are never deleted.

mod import;
mod validate;

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Context as _, Result};
use serde_json::{json, Map, Value};

use super::{aws_error, Actions, Baseline, BoxFuture, Context, Found, Ownership, Permissions, Places};
use crate::aws::errors::{is_already_exists, is_not_found};
use crate::aws::session::partition_of;
use crate::plan::control::{ControlKey, DesiredControl, Inputs};
use crate::spec::validate::Checker;
use crate::spec::{RoleSpec, OWNERSHIP_TAG, OWNERSHIP_VALUE};

pub const CONTROL: &str = "iam_role";

/// The trust policy for a role, with placeholders for account ids not known before apply.
pub fn trust_policy(role: &RoleSpec, partition: &str) -> Value {
    let trust = &role.trust;
    let account_principal = |account: &str| {
        if account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()) {
            format!("arn:{partition}:iam::{account}:root")
        } else {
            format!("arn:{partition}:iam::{{{{account:{account}}}}}:root")
        }
    };
    let mut principals: Vec<String> = trust.accounts.iter().map(|a| account_principal(a)).collect();
    for reference in &trust.roles {
        if let Some((account, role_name)) = reference.split_once('/') {
            let account_id = if account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()) {
                account.to_string()
            } else {
                format!("{{{{account:{account}}}}}")
            };
            principals.push(format!("arn:{partition}:iam::{account_id}:role/{role_name}"));
        }
    }
    principals.sort();
    let mut statements = Vec::new();
    if !principals.is_empty() {
        let mut statement = json!({
            "Effect": "Allow",
            "Principal": { "AWS": principals },
            "Action": "sts:AssumeRole",
        });
        let mut condition = Map::new();
        if trust.require_mfa {
            condition.insert("Bool".to_string(), json!({ "aws:MultiFactorAuthPresent": "true" }));
        }
        if let Some(external_id) = &trust.external_id {
            condition.insert("StringEquals".to_string(), json!({ "sts:ExternalId": external_id }));
        }
        if !condition.is_empty() {
            statement["Condition"] = Value::Object(condition);
        }
        statements.push(statement);
    }
    if !trust.services.is_empty() {
        let mut services = trust.services.clone();
        services.sort();
        statements.push(json!({ "Effect": "Allow", "Principal": { "Service": services }, "Action": "sts:AssumeRole" }));
    }
    json!({ "Version": "2012-10-17", "Statement": statements })
}

/// The attributes the plan compares for one role (what [`read_role`] reads), placeholders
/// unresolved; `inline` are its inline policies' documents by name.
pub fn attributes(role: &RoleSpec, partition: &str, inline: BTreeMap<String, Value>) -> Value {
    let mut managed = role.managed_policies.clone();
    managed.sort();
    json!({
        "trust_policy": trust_policy(role, partition),
        "description": role.description,
        "max_session_duration": role.max_session_duration,
        "managed_policies": managed,
        "inline_policies": inline,
    })
}

pub fn desired(inputs: &Inputs<'_>) -> Vec<DesiredControl> {
    let partition = partition_of(inputs.home_region());
    let mut controls = Vec::new();
    for (name, role) in &inputs.spec.baseline.roles {
        let inline: BTreeMap<String, Value> = role
            .inline_policies
            .keys()
            .filter_map(|policy| {
                inputs.role_documents.get(&(name.clone(), policy.clone())).map(|doc| (policy.clone(), doc.clone()))
            })
            .collect();
        let attributes = attributes(role, partition, inline);
        // A trusted role defined by this spec must exist before IAM accepts it as a principal.
        let trusted_roles: Vec<(String, String)> = role
            .trust
            .roles
            .iter()
            .filter_map(|reference| reference.split_once('/'))
            .filter(|(_, role_name)| inputs.spec.baseline.roles.contains_key(*role_name))
            .map(|(account, role_name)| (account.to_string(), role_name.to_string()))
            .collect();
        for account in inputs.accounts_for(&role.targets) {
            let mut control =
                DesiredControl::new(ControlKey::new(format!("{CONTROL}/{name}"), &account, None), attributes.clone())
                    .needs(&[
                        "iam:CreateRole",
                        "iam:UpdateAssumeRolePolicy",
                        "iam:AttachRolePolicy",
                        "iam:PutRolePolicy",
                    ]);
            for (trusted_account, trusted_role) in &trusted_roles {
                control = control.after(ControlKey::new(format!("{CONTROL}/{trusted_role}"), trusted_account, None));
            }
            controls.push(control);
        }
    }
    controls
}

fn role_name(key: &ControlKey) -> &str {
    key.control.split_once('/').map_or("", |(_, name)| name)
}

/// IAM returns policy documents URL-encoded.
pub fn decode_policy(text: &str) -> Value {
    if let Ok(value) = serde_json::from_str(text) {
        return value;
    }
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%' && index + 2 < bytes.len() {
            if let Ok(byte) = u8::from_str_radix(&text[index + 1..index + 3], 16) {
                decoded.push(byte);
                index += 3;
                continue;
            }
        }
        decoded.push(bytes[index]);
        index += 1;
    }
    let decoded = String::from_utf8_lossy(&decoded);
    serde_json::from_str(&decoded).unwrap_or(Value::String(decoded.to_string()))
}

pub async fn read(context: &Context<'_>, key: &ControlKey) -> Result<Option<Value>> {
    read_role(context, &key.account, role_name(key)).await
}

/// One role's attributes in `account` (trust, description, session duration, managed and inline
/// policies); None when it does not exist. Other baselines' roles (the backup role) read the same.
pub async fn read_role(context: &Context<'_>, account: &str, name: &str) -> Result<Option<Value>> {
    let iam = context.sessions.client::<aws_sdk_iam::Client>(context.account_id(account)?, None).await;
    let role = match iam.get_role().role_name(name).send().await {
        Ok(output) => output.role.context("GetRole returned no role")?,
        Err(error) if is_not_found(&error) => return Ok(None),
        Err(error) => return Err(aws_error("GetRole", error)),
    };
    let attached = iam
        .list_attached_role_policies()
        .role_name(name)
        .send()
        .await
        .map_err(|error| aws_error("ListAttachedRolePolicies", error))?;
    let mut managed: Vec<String> =
        attached.attached_policies.unwrap_or_default().into_iter().filter_map(|policy| policy.policy_arn).collect();
    managed.sort();
    let names =
        iam.list_role_policies().role_name(name).send().await.map_err(|error| aws_error("ListRolePolicies", error))?;
    let mut inline = BTreeMap::new();
    for policy_name in names.policy_names {
        let policy = iam
            .get_role_policy()
            .role_name(name)
            .policy_name(&policy_name)
            .send()
            .await
            .map_err(|error| aws_error("GetRolePolicy", error))?;
        inline.insert(policy_name, decode_policy(&policy.policy_document));
    }
    Ok(Some(json!({
        "trust_policy": role.assume_role_policy_document.as_deref().map(decode_policy).unwrap_or(Value::Null),
        "description": role.description.unwrap_or_default(),
        "max_session_duration": role.max_session_duration.unwrap_or(3600),
        "managed_policies": managed,
        "inline_policies": inline,
    })))
}

fn string_set(value: &Value) -> BTreeSet<String> {
    value
        .as_array()
        .map(|items| items.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default()
}

pub async fn apply(context: &Context<'_>, key: &ControlKey, attributes: &Value, before: Option<&Value>) -> Result<()> {
    apply_role(context, &key.account, role_name(key), attributes, before).await
}

/// Makes one role in `account` match `attributes`: created with the ownership tag, or its trust,
/// description, session duration and policies brought in line with `before` as the diff.
pub async fn apply_role(
    context: &Context<'_>,
    account: &str,
    name: &str,
    attributes: &Value,
    before: Option<&Value>,
) -> Result<()> {
    let iam = context.sessions.client::<aws_sdk_iam::Client>(context.account_id(account)?, None).await;
    let trust = attributes["trust_policy"].to_string();
    let description = attributes["description"].as_str().unwrap_or_default().to_string();
    let duration = attributes["max_session_duration"].as_i64().and_then(|d| i32::try_from(d).ok()).unwrap_or(3600);
    let created = iam
        .create_role()
        .role_name(name)
        .assume_role_policy_document(&trust)
        .description(&description)
        .max_session_duration(duration)
        .tags(
            aws_sdk_iam::types::Tag::builder()
                .key(OWNERSHIP_TAG)
                .value(OWNERSHIP_VALUE)
                .build()
                .map_err(|e| anyhow::anyhow!("{e}"))?,
        )
        .send()
        .await;
    let existed = match created {
        Ok(_) => false,
        Err(error) if is_already_exists(&error) => true,
        Err(error) => return Err(aws_error("CreateRole", error)),
    };
    let empty = json!({});
    let before = if existed { before.unwrap_or(&empty) } else { &empty };
    if existed {
        if before["trust_policy"] != attributes["trust_policy"] {
            iam.update_assume_role_policy()
                .role_name(name)
                .policy_document(&trust)
                .send()
                .await
                .map_err(|error| aws_error("UpdateAssumeRolePolicy", error))?;
        }
        if before["description"] != attributes["description"]
            || before["max_session_duration"] != attributes["max_session_duration"]
        {
            iam.update_role()
                .role_name(name)
                .description(&description)
                .max_session_duration(duration)
                .send()
                .await
                .map_err(|error| aws_error("UpdateRole", error))?;
        }
    }
    let wanted = string_set(&attributes["managed_policies"]);
    let present = string_set(&before["managed_policies"]);
    for arn in wanted.difference(&present) {
        iam.attach_role_policy()
            .role_name(name)
            .policy_arn(arn)
            .send()
            .await
            .map_err(|error| aws_error("AttachRolePolicy", error))?;
    }
    for arn in present.difference(&wanted) {
        match iam.detach_role_policy().role_name(name).policy_arn(arn).send().await {
            Ok(_) => {}
            Err(error) if is_not_found(&error) => {}
            Err(error) => return Err(aws_error("DetachRolePolicy", error)),
        }
    }
    let wanted_inline = attributes["inline_policies"].as_object().cloned().unwrap_or_default();
    let present_inline = before["inline_policies"].as_object().cloned().unwrap_or_default();
    for (policy_name, document) in &wanted_inline {
        if present_inline.get(policy_name) != Some(document) {
            iam.put_role_policy()
                .role_name(name)
                .policy_name(policy_name)
                .policy_document(document.to_string())
                .send()
                .await
                .map_err(|error| aws_error("PutRolePolicy", error))?;
        }
    }
    for policy_name in present_inline.keys().filter(|policy_name| !wanted_inline.contains_key(*policy_name)) {
        match iam.delete_role_policy().role_name(name).policy_name(policy_name).send().await {
            Ok(_) => {}
            Err(error) if is_not_found(&error) => {}
            Err(error) => return Err(aws_error("DeleteRolePolicy", error)),
        }
    }
    Ok(())
}

/// Roles never searched for removal: AWS's service-linked roles (`/aws-service-role/`), Identity
/// Center's (`/aws-reserved/`), the executor's own access role, and the roles other baselines
/// create and remove themselves ([`super::Baseline::owned_role_names`]).
fn never_removed(path: &str, name: &str, access_role: &str) -> bool {
    path.starts_with("/aws-service-role/")
        || path.starts_with("/aws-reserved/")
        || name == access_role
        || super::REGISTRY.iter().any(|baseline| baseline.owned_role_names().contains(&name))
}

/// Whether a role carries landing-zone's ownership tag; None when the role is gone.
/// https://docs.aws.amazon.com/IAM/latest/APIReference/API_ListRoleTags.html
pub async fn is_owned(iam: &aws_sdk_iam::Client, name: &str) -> Result<Option<bool>> {
    let mut owned = false;
    let mut pages = iam.list_role_tags().role_name(name).into_paginator().send();
    while let Some(page) = pages.next().await {
        match page {
            Ok(page) => owned |= page.tags.iter().any(|tag| tag.key == OWNERSHIP_TAG && tag.value == OWNERSHIP_VALUE),
            Err(error) if is_not_found(&error) => return Ok(None),
            Err(error) => return Err(aws_error("ListRoleTags", error)),
        }
    }
    Ok(Some(owned))
}

/// Every role in the account that `wanted` does not name (but those [`never_removed`]), marked
/// owned when it carries the ownership tag. ListRoles does not return tags
/// (https://docs.aws.amazon.com/IAM/latest/APIReference/API_ListRoles.html), so each candidate's
/// are listed.
pub async fn find(context: &Context<'_>, account: &str, wanted: &BTreeSet<ControlKey>) -> Result<Vec<Found>> {
    let iam = context.sessions.client::<aws_sdk_iam::Client>(context.account_id(account)?, None).await;
    let access_role = context.sessions.access_role();
    let mut candidates = Vec::new();
    let mut pages = iam.list_roles().into_paginator().items().send();
    while let Some(role) = pages.next().await {
        let role = role.map_err(|error| aws_error("ListRoles", error))?;
        if never_removed(&role.path, &role.role_name, access_role) {
            continue;
        }
        let key = ControlKey::new(format!("{CONTROL}/{}", role.role_name), account, None);
        if !wanted.contains(&key) {
            candidates.push((key, role.role_name));
        }
    }
    let mut found = Vec::new();
    for (key, name) in candidates {
        let owned = is_owned(&iam, &name).await?.unwrap_or(false);
        let attributes = match owned {
            true => read(context, &key).await?.unwrap_or(Value::Null),
            false => Value::Null,
        };
        found.push(Found { key, owned, attributes, loses_data: None });
    }
    Ok(found)
}

/// Deletes a role landing-zone created: its inline policies and managed-policy attachments
/// first, then the role (IAM refuses to delete a role that still has them:
/// https://docs.aws.amazon.com/IAM/latest/APIReference/API_DeleteRole.html). Refuses a role that
/// no longer carries the ownership tag; one already gone is success. Roles the tool creates have no
/// instance profile; one added by hand makes DeleteRole fail with IAM's DeleteConflict, which is
/// reported.
pub async fn remove(context: &Context<'_>, key: &ControlKey) -> Result<()> {
    remove_role(context, key, role_name(key)).await
}

/// [`remove`] for a role named `name` in `key`'s account (other baselines' roles: the backup role).
pub async fn remove_role(context: &Context<'_>, key: &ControlKey, name: &str) -> Result<()> {
    let iam = context.sessions.client::<aws_sdk_iam::Client>(context.account_id(&key.account)?, None).await;
    match is_owned(&iam, name).await? {
        None => return Ok(()),
        Some(false) => anyhow::bail!(
            "{}: the role no longer carries the `{OWNERSHIP_TAG}` tag; landing-zone removes only what it created\nhint: plan again",
            key.label()
        ),
        Some(true) => {}
    }
    let mut policies = iam.list_role_policies().role_name(name).into_paginator().items().send();
    let mut inline = Vec::new();
    while let Some(policy) = policies.next().await {
        match policy {
            Ok(policy) => inline.push(policy),
            Err(error) if is_not_found(&error) => return Ok(()),
            Err(error) => return Err(aws_error("ListRolePolicies", error)),
        }
    }
    for policy in inline {
        match iam.delete_role_policy().role_name(name).policy_name(&policy).send().await {
            Ok(_) => {}
            Err(error) if is_not_found(&error) => {}
            Err(error) => return Err(aws_error("DeleteRolePolicy", error)),
        }
    }
    let mut attached = iam.list_attached_role_policies().role_name(name).into_paginator().items().send();
    let mut arns = Vec::new();
    while let Some(policy) = attached.next().await {
        match policy {
            Ok(policy) => arns.extend(policy.policy_arn),
            Err(error) if is_not_found(&error) => return Ok(()),
            Err(error) => return Err(aws_error("ListAttachedRolePolicies", error)),
        }
    }
    for arn in arns {
        match iam.detach_role_policy().role_name(name).policy_arn(&arn).send().await {
            Ok(_) => {}
            Err(error) if is_not_found(&error) => {}
            Err(error) => return Err(aws_error("DetachRolePolicy", error)),
        }
    }
    match iam.delete_role().role_name(name).send().await {
        Ok(_) => Ok(()),
        Err(error) if is_not_found(&error) => Ok(()),
        Err(error) => Err(aws_error("DeleteRole", error)),
    }
}

/// The `baseline.roles` section in the registry.
pub struct Roles;

impl Baseline for Roles {
    fn validate(&self, checker: &mut Checker<'_>) {
        validate::check(checker);
    }

    fn family(&self) -> &'static str {
        CONTROL
    }

    fn section(&self) -> &'static str {
        "roles"
    }

    fn summary(&self) -> &'static str {
        "IAM roles (trust, managed and inline policies) in targeted accounts"
    }

    fn desired(&self, inputs: &Inputs<'_>) -> Vec<DesiredControl> {
        desired(inputs)
    }

    fn permissions(&self) -> Permissions {
        Permissions {
            management: Actions { read: &[], write: &[] },
            in_account: Actions {
                read: &[
                    "iam:GetRole",
                    "iam:GetRolePolicy",
                    "iam:ListAttachedRolePolicies",
                    "iam:ListRolePolicies",
                    "iam:ListRoles",
                    "iam:ListRoleTags",
                ],
                write: &[
                    "iam:DeleteRole",
                    "iam:CreateRole",
                    "iam:UpdateRole",
                    "iam:UpdateAssumeRolePolicy",
                    "iam:AttachRolePolicy",
                    "iam:DetachRolePolicy",
                    "iam:PutRolePolicy",
                    "iam:DeleteRolePolicy",
                    "iam:TagRole",
                ],
            },
        }
    }

    fn read<'a>(
        &'a self,
        context: &'a Context<'_>,
        key: &'a ControlKey,
        _desired: &'a Value,
    ) -> BoxFuture<'a, Result<Option<Value>>> {
        Box::pin(read(context, key))
    }

    fn apply<'a>(
        &'a self,
        context: &'a Context<'_>,
        key: &'a ControlKey,
        attributes: &'a Value,
        before: Option<&'a Value>,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(apply(context, key, attributes, before))
    }

    fn ownership(&self) -> Option<Ownership> {
        // A role holds nothing the spec cannot re-create: its trust and policies are the spec's.
        Some(Ownership { places: Places::Account })
    }

    fn find<'a>(
        &'a self,
        context: &'a Context<'_>,
        account: &'a str,
        _region: Option<&'a str>,
        wanted: &'a BTreeSet<ControlKey>,
    ) -> BoxFuture<'a, Result<Vec<Found>>> {
        Box::pin(find(context, account, wanted))
    }

    fn import<'a>(
        &'a self,
        context: &'a Context<'_>,
        scope: &'a super::import::ImportScope,
    ) -> BoxFuture<'a, Result<Option<super::import::ImportedSection>>> {
        Box::pin(import::import(context, scope))
    }

    fn remove<'a>(
        &'a self,
        context: &'a Context<'_>,
        key: &'a ControlKey,
        _before: &'a Value,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(remove(context, key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_url_encoded_policies() {
        let encoded = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%5D%7D";
        assert_eq!(decode_policy(encoded), json!({"Version": "2012-10-17", "Statement": []}));
        assert_eq!(decode_policy("{\"a\":1}"), json!({"a": 1}));
    }
}
