//! Permission sets: found by name, read whole (description, session duration, relay state,
//! managed and customer managed policies, inline policy, permissions boundary) and made exact —
//! what was added by hand is removed. A change to a set already provisioned to accounts is
//! followed by `ProvisionPermissionSet` to every provisioned account, waited for (bounded).
//!
//! Identity Center's APIs are throttled per account
//! (https://docs.aws.amazon.com/singlesignon/latest/userguide/limits.html): a plan lists and
//! describes the instance's permission sets once per run ([`summaries`], shared through
//! `RunReads`), not once per control that needs a set's ARN. The calls are made fewer, not paced:
//! the tool's limiter (`aws::rate_limit`) holds Organizations' per-operation rates only, and no
//! per-operation rate for sso-admin is encoded here; the SDK's standard retry backs off on
//! ThrottlingException.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context as _, Result};
use aws_sdk_ssoadmin::types::{
    CustomerManagedPolicyReference as SdkReference, PermissionsBoundary, PrincipalType, ProvisionTargetType,
    StatusValues, Tag,
};

use super::super::{aws_error, Context};
use super::directory::{instance, place, Instance};
use super::PermissionSetAttributes;
use crate::aws::errors::is_resource_not_found;
use crate::baseline::attributes::decode;
use crate::plan::control::ControlKey;
use crate::spec::{CustomerManagedPolicyReference, PermissionsBoundarySpec, OWNERSHIP_TAG, OWNERSHIP_VALUE};

/// The longest a write waits for an asynchronous Identity Center request.
pub const WAIT: Duration = Duration::from_secs(5 * 60);

/// One permission set as ListPermissionSets + DescribePermissionSet give it.
#[derive(Debug, Clone)]
pub struct Summary {
    pub name: String,
    pub arn: String,
    pub description: Option<String>,
    pub session_duration: Option<String>,
    pub relay_state: Option<String>,
}

/// The ARN of the permission set named `name`, if any (ListPermissionSets + DescribePermissionSet;
/// a name is unique per instance). Read afresh: for writes.
/// https://docs.aws.amazon.com/singlesignon/latest/APIReference/API_ListPermissionSets.html
pub async fn find(client: &aws_sdk_ssoadmin::Client, instance: &Instance, name: &str) -> Result<Option<String>> {
    let sets = summaries(client, instance).await?;
    Ok(sets.into_iter().find(|set| set.name == name).map(|set| set.arn))
}

/// The set named `name`, from the instance's sets read once per run (afresh without a run's
/// shared reads).
pub async fn find_read(
    context: &Context<'_>,
    key: &ControlKey,
    client: &aws_sdk_ssoadmin::Client,
    instance: &Instance,
    name: &str,
) -> Result<Option<Summary>> {
    let sets = match context.reads {
        Some(reads) => {
            let (account_id, region) = place(context, key)?;
            let batch = format!("sso permission sets {account_id} {region} {}", instance.arn);
            reads.once(batch, || summaries(client, instance)).await?
        }
        None => Arc::new(summaries(client, instance).await?),
    };
    Ok(sets.iter().find(|set| set.name == name).cloned())
}

/// Every permission set of the instance, as (name, ARN).
pub async fn all(client: &aws_sdk_ssoadmin::Client, instance: &Instance) -> Result<Vec<(String, String)>> {
    Ok(summaries(client, instance).await?.into_iter().map(|set| (set.name, set.arn)).collect())
}

/// Every permission set of the instance, described.
pub async fn summaries(client: &aws_sdk_ssoadmin::Client, instance: &Instance) -> Result<Vec<Summary>> {
    let mut sets = Vec::new();
    let mut pages = client.list_permission_sets().instance_arn(&instance.arn).into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|error| aws_error("ListPermissionSets", error))?;
        for arn in page.permission_sets.unwrap_or_default() {
            sets.push(describe(client, instance, &arn).await?);
        }
    }
    Ok(sets)
}

/// https://docs.aws.amazon.com/singlesignon/latest/APIReference/API_DescribePermissionSet.html
async fn describe(client: &aws_sdk_ssoadmin::Client, instance: &Instance, arn: &str) -> Result<Summary> {
    let described = client
        .describe_permission_set()
        .instance_arn(&instance.arn)
        .permission_set_arn(arn)
        .send()
        .await
        .map_err(|error| aws_error("DescribePermissionSet", error))?
        .permission_set
        .context("DescribePermissionSet returned no `PermissionSet`")?;
    Ok(Summary {
        name: described.name.with_context(|| format!("DescribePermissionSet returned no `Name` for {arn}"))?,
        arn: arn.to_string(),
        description: described.description,
        session_duration: described.session_duration,
        relay_state: described.relay_state,
    })
}

fn reference_of(reference: &SdkReference) -> CustomerManagedPolicyReference {
    // "Path: ... The default is /" (API_CustomerManagedPolicyReference).
    CustomerManagedPolicyReference {
        name: reference.name.clone(),
        path: reference.path.clone().unwrap_or_else(|| "/".to_string()),
    }
}

fn sdk_reference(reference: &CustomerManagedPolicyReference) -> Result<SdkReference> {
    SdkReference::builder()
        .name(&reference.name)
        .path(&reference.path)
        .build()
        .with_context(|| format!("customer managed policy reference `{}`", reference.name))
}

/// Reads the set named `name` whole; None when there is none. A description the spec does not
/// give is left as it is, with a note: AWS cannot clear one (UpdatePermissionSet's `Description`
/// has a minimum length of 1, and a field it is not sent stays unchanged), so comparing it would
/// plan the same change on every run.
/// https://docs.aws.amazon.com/singlesignon/latest/APIReference/API_UpdatePermissionSet.html
pub async fn read(
    context: &Context<'_>,
    key: &ControlKey,
    name: &str,
    desired: &serde_json::Value,
) -> Result<Option<PermissionSetAttributes>> {
    let desired: PermissionSetAttributes = decode(key, desired)?;
    let instance = instance(context, key).await?;
    let (account_id, region) = place(context, key)?;
    let client = context.sessions.client::<aws_sdk_ssoadmin::Client>(account_id, Some(region)).await;
    let Some(summary) = find_read(context, key, &client, &instance, name).await? else { return Ok(None) };
    let mut live = read_details(&client, &instance, &summary).await?;
    if desired.description.is_none() {
        if let Some(description) = live.description.take() {
            live.notes.push(format!(
                "permission set `{name}` keeps its description {description:?}: the spec gives none, and AWS cannot remove a description (only replace it)"
            ));
        }
    }
    Ok(Some(live))
}

pub(super) async fn read_arn(
    client: &aws_sdk_ssoadmin::Client,
    instance: &Instance,
    arn: &str,
) -> Result<PermissionSetAttributes> {
    let summary = describe(client, instance, arn).await?;
    read_details(client, instance, &summary).await
}

/// The set's attributes: the described fields of `summary`, and its policies and boundary.
async fn read_details(
    client: &aws_sdk_ssoadmin::Client,
    instance: &Instance,
    summary: &Summary,
) -> Result<PermissionSetAttributes> {
    let arn = summary.arn.as_str();
    let mut managed_policies = BTreeSet::new();
    // https://docs.aws.amazon.com/singlesignon/latest/APIReference/API_ListManagedPoliciesInPermissionSet.html
    let mut pages = client
        .list_managed_policies_in_permission_set()
        .instance_arn(&instance.arn)
        .permission_set_arn(arn)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|error| aws_error("ListManagedPoliciesInPermissionSet", error))?;
        managed_policies.extend(page.attached_managed_policies.unwrap_or_default().into_iter().filter_map(|p| p.arn));
    }
    let mut customer_managed_policies = BTreeSet::new();
    // https://docs.aws.amazon.com/singlesignon/latest/APIReference/API_ListCustomerManagedPolicyReferencesInPermissionSet.html
    let mut pages = client
        .list_customer_managed_policy_references_in_permission_set()
        .instance_arn(&instance.arn)
        .permission_set_arn(arn)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|error| aws_error("ListCustomerManagedPolicyReferencesInPermissionSet", error))?;
        customer_managed_policies
            .extend(page.customer_managed_policy_references.unwrap_or_default().iter().map(reference_of));
    }
    // https://docs.aws.amazon.com/singlesignon/latest/APIReference/API_GetInlinePolicyForPermissionSet.html
    let inline = client
        .get_inline_policy_for_permission_set()
        .instance_arn(&instance.arn)
        .permission_set_arn(arn)
        .send()
        .await
        .map_err(|error| aws_error("GetInlinePolicyForPermissionSet", error))?
        .inline_policy
        .filter(|text| !text.is_empty());
    // An inline policy that is not JSON never equals the spec's: kept as its text.
    let inline_policy = inline.map(|text| serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)));
    // https://docs.aws.amazon.com/singlesignon/latest/APIReference/API_GetPermissionsBoundaryForPermissionSet.html
    let permissions_boundary = match client
        .get_permissions_boundary_for_permission_set()
        .instance_arn(&instance.arn)
        .permission_set_arn(arn)
        .send()
        .await
    {
        Ok(output) => output.permissions_boundary.map(|boundary| PermissionsBoundarySpec {
            managed_policy: boundary.managed_policy_arn,
            customer_managed_policy: boundary.customer_managed_policy_reference.as_ref().map(reference_of),
        }),
        // "ResourceNotFoundException" is how a set without a boundary answers.
        Err(error) if is_resource_not_found(&error) => None,
        Err(error) => return Err(aws_error("GetPermissionsBoundaryForPermissionSet", error)),
    };
    Ok(PermissionSetAttributes {
        description: summary.description.clone().filter(|text| !text.is_empty()),
        session_duration: summary
            .session_duration
            .clone()
            .unwrap_or_else(|| super::DEFAULT_SESSION_DURATION.to_string()),
        relay_state: summary.relay_state.clone().filter(|text| !text.is_empty()),
        managed_policies,
        customer_managed_policies,
        inline_policy,
        permissions_boundary,
        notes: Vec::new(),
    })
}

/// Makes the set named `name` match `attributes`, read afresh (not from the plan), and provisions
/// it again where it is provisioned when it changed.
pub async fn apply(context: &Context<'_>, key: &ControlKey, name: &str, attributes: &serde_json::Value) -> Result<()> {
    let mut wanted: PermissionSetAttributes = decode(key, attributes)?;
    let instance = instance(context, key).await?;
    let (account_id, region) = place(context, key)?;
    let client = context.sessions.client::<aws_sdk_ssoadmin::Client>(account_id, Some(region)).await;
    let arn = find(&client, &instance, name).await?;
    let (arn, present, existed) = match arn {
        Some(arn) => {
            let present = read_arn(&client, &instance, &arn).await?;
            (arn, present, true)
        }
        None => {
            // https://docs.aws.amazon.com/singlesignon/latest/APIReference/API_CreatePermissionSet.html
            // The ownership tag marks the sets landing-zone creates, so that one the spec drops is
            // removed and no other is ("Tags: The tags to attach to the new PermissionSet").
            let owned = Tag::builder()
                .key(OWNERSHIP_TAG)
                .value(OWNERSHIP_VALUE)
                .build()
                .map_err(|error| anyhow::anyhow!("the ownership tag: {error}"))?;
            let created = client
                .create_permission_set()
                .instance_arn(&instance.arn)
                .name(name)
                .set_description(wanted.description.clone())
                .session_duration(&wanted.session_duration)
                .set_relay_state(wanted.relay_state.clone())
                .tags(owned)
                .send()
                .await
                .map_err(|error| aws_error("CreatePermissionSet", error))?;
            let arn = created
                .permission_set
                .and_then(|set| set.permission_set_arn)
                .context("CreatePermissionSet returned no `PermissionSetArn`")?;
            let present = PermissionSetAttributes {
                description: wanted.description.clone(),
                session_duration: wanted.session_duration.clone(),
                relay_state: wanted.relay_state.clone(),
                ..PermissionSetAttributes::default()
            };
            (arn, present, false)
        }
    };
    // A description the spec does not give stays as it is (`read`): AWS cannot clear it.
    if wanted.description.is_none() {
        wanted.description.clone_from(&present.description);
    }
    if present == wanted {
        return Ok(());
    }
    if (&present.description, &present.session_duration, &present.relay_state)
        != (&wanted.description, &wanted.session_duration, &wanted.relay_state)
    {
        // https://docs.aws.amazon.com/singlesignon/latest/APIReference/API_UpdatePermissionSet.html
        client
            .update_permission_set()
            .instance_arn(&instance.arn)
            .permission_set_arn(&arn)
            .set_description(wanted.description.clone())
            .session_duration(&wanted.session_duration)
            .set_relay_state(wanted.relay_state.clone())
            .send()
            .await
            .map_err(|error| aws_error("UpdatePermissionSet", error))?;
    }
    for policy in wanted.managed_policies.difference(&present.managed_policies) {
        // https://docs.aws.amazon.com/singlesignon/latest/APIReference/API_AttachManagedPolicyToPermissionSet.html
        client
            .attach_managed_policy_to_permission_set()
            .instance_arn(&instance.arn)
            .permission_set_arn(&arn)
            .managed_policy_arn(policy)
            .send()
            .await
            .map_err(|error| aws_error("AttachManagedPolicyToPermissionSet", error))?;
    }
    for policy in present.managed_policies.difference(&wanted.managed_policies) {
        match client
            .detach_managed_policy_from_permission_set()
            .instance_arn(&instance.arn)
            .permission_set_arn(&arn)
            .managed_policy_arn(policy)
            .send()
            .await
        {
            Ok(_) => {}
            Err(error) if is_resource_not_found(&error) => {}
            Err(error) => return Err(aws_error("DetachManagedPolicyFromPermissionSet", error)),
        }
    }
    for reference in wanted.customer_managed_policies.difference(&present.customer_managed_policies) {
        client
            .attach_customer_managed_policy_reference_to_permission_set()
            .instance_arn(&instance.arn)
            .permission_set_arn(&arn)
            .customer_managed_policy_reference(sdk_reference(reference)?)
            .send()
            .await
            .map_err(|error| aws_error("AttachCustomerManagedPolicyReferenceToPermissionSet", error))?;
    }
    for reference in present.customer_managed_policies.difference(&wanted.customer_managed_policies) {
        match client
            .detach_customer_managed_policy_reference_from_permission_set()
            .instance_arn(&instance.arn)
            .permission_set_arn(&arn)
            .customer_managed_policy_reference(sdk_reference(reference)?)
            .send()
            .await
        {
            Ok(_) => {}
            Err(error) if is_resource_not_found(&error) => {}
            Err(error) => return Err(aws_error("DetachCustomerManagedPolicyReferenceFromPermissionSet", error)),
        }
    }
    if present.inline_policy != wanted.inline_policy {
        match &wanted.inline_policy {
            // Sent minified: the 32,768-character limit counts what is sent.
            // https://docs.aws.amazon.com/singlesignon/latest/APIReference/API_PutInlinePolicyToPermissionSet.html
            Some(document) => client
                .put_inline_policy_to_permission_set()
                .instance_arn(&instance.arn)
                .permission_set_arn(&arn)
                .inline_policy(document.to_string())
                .send()
                .await
                .map(|_| ())
                .map_err(|error| aws_error("PutInlinePolicyToPermissionSet", error))?,
            None => client
                .delete_inline_policy_from_permission_set()
                .instance_arn(&instance.arn)
                .permission_set_arn(&arn)
                .send()
                .await
                .map(|_| ())
                .map_err(|error| aws_error("DeleteInlinePolicyFromPermissionSet", error))?,
        }
    }
    if present.permissions_boundary != wanted.permissions_boundary {
        match &wanted.permissions_boundary {
            // https://docs.aws.amazon.com/singlesignon/latest/APIReference/API_PutPermissionsBoundaryToPermissionSet.html
            Some(boundary) => {
                let reference = boundary.customer_managed_policy.as_ref().map(sdk_reference).transpose()?;
                let boundary = PermissionsBoundary::builder()
                    .set_managed_policy_arn(boundary.managed_policy.clone())
                    .set_customer_managed_policy_reference(reference)
                    .build();
                client
                    .put_permissions_boundary_to_permission_set()
                    .instance_arn(&instance.arn)
                    .permission_set_arn(&arn)
                    .permissions_boundary(boundary)
                    .send()
                    .await
                    .map_err(|error| aws_error("PutPermissionsBoundaryToPermissionSet", error))?;
            }
            None => match client
                .delete_permissions_boundary_from_permission_set()
                .instance_arn(&instance.arn)
                .permission_set_arn(&arn)
                .send()
                .await
            {
                Ok(_) => {}
                Err(error) if is_resource_not_found(&error) => {}
                Err(error) => return Err(aws_error("DeletePermissionsBoundaryFromPermissionSet", error)),
            },
        }
    }
    if existed {
        provision_if_provisioned(&client, &instance, &arn, name).await?;
    }
    Ok(())
}

/// The accounts the set is provisioned to.
/// https://docs.aws.amazon.com/singlesignon/latest/APIReference/API_ListAccountsForProvisionedPermissionSet.html
pub async fn provisioned_accounts(
    client: &aws_sdk_ssoadmin::Client,
    instance: &Instance,
    arn: &str,
) -> Result<BTreeSet<String>> {
    let mut accounts = BTreeSet::new();
    let mut pages = client
        .list_accounts_for_provisioned_permission_set()
        .instance_arn(&instance.arn)
        .permission_set_arn(arn)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|error| aws_error("ListAccountsForProvisionedPermissionSet", error))?;
        accounts.extend(page.account_ids.unwrap_or_default());
    }
    Ok(accounts)
}

/// A changed set reaches the accounts it is assigned in only once provisioned again: "If the
/// permission set is already referenced by one or more account assignments, you will need to call
/// ProvisionPermissionSet after this action" (API_PutInlinePolicyToPermissionSet.html and the
/// other write pages). Asynchronous: polled until SUCCEEDED, bounded; FAILED is an error.
async fn provision_if_provisioned(
    client: &aws_sdk_ssoadmin::Client,
    instance: &Instance,
    arn: &str,
    name: &str,
) -> Result<()> {
    if provisioned_accounts(client, instance, arn).await?.is_empty() {
        return Ok(());
    }
    // https://docs.aws.amazon.com/singlesignon/latest/APIReference/API_ProvisionPermissionSet.html
    let status = client
        .provision_permission_set()
        .instance_arn(&instance.arn)
        .permission_set_arn(arn)
        .target_type(ProvisionTargetType::AllProvisionedAccounts)
        .send()
        .await
        .map_err(|error| aws_error("ProvisionPermissionSet", error))?
        .permission_set_provisioning_status
        .context("ProvisionPermissionSet returned no `PermissionSetProvisioningStatus`")?;
    let mut current = (status.status, status.failure_reason);
    let request = status.request_id.context("ProvisionPermissionSet returned no `RequestId`")?;
    let started = tokio::time::Instant::now();
    let mut delay = Duration::from_millis(200);
    loop {
        match current {
            (Some(StatusValues::Succeeded), _) => return Ok(()),
            (Some(StatusValues::Failed), reason) => bail!(
                "provisioning permission set `{name}` failed: {}",
                reason.unwrap_or_else(|| "no reason given".to_string())
            ),
            _ if started.elapsed() > WAIT => {
                bail!("provisioning permission set `{name}` (request {request}) did not finish in {WAIT:?}")
            }
            _ => {}
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(5));
        // https://docs.aws.amazon.com/singlesignon/latest/APIReference/API_DescribePermissionSetProvisioningStatus.html
        let described = client
            .describe_permission_set_provisioning_status()
            .instance_arn(&instance.arn)
            .provision_permission_set_request_id(&request)
            .send()
            .await
            .map_err(|error| aws_error("DescribePermissionSetProvisioningStatus", error))?
            .permission_set_provisioning_status
            .context("DescribePermissionSetProvisioningStatus returned no status")?;
        if described.status.is_none() {
            bail!("DescribePermissionSetProvisioningStatus answered without `Status`");
        }
        current = (described.status, described.failure_reason);
    }
}

/// Whether the set `arn` carries the ownership tag; None when the set is gone.
/// https://docs.aws.amazon.com/singlesignon/latest/APIReference/API_ListTagsForResource.html
pub(super) async fn is_owned(
    client: &aws_sdk_ssoadmin::Client,
    instance: &Instance,
    arn: &str,
) -> Result<Option<bool>> {
    let mut owned = false;
    let mut pages =
        client.list_tags_for_resource().instance_arn(&instance.arn).resource_arn(arn).into_paginator().items().send();
    while let Some(tag) = pages.next().await {
        match tag {
            Ok(tag) => owned |= tag.key == OWNERSHIP_TAG && tag.value == OWNERSHIP_VALUE,
            Err(error) if is_resource_not_found(&error) => return Ok(None),
            Err(error) => return Err(aws_error("ListTagsForResource", error)),
        }
    }
    Ok(Some(owned))
}

/// Every permission set of the instance that `wanted` does not name, marked owned when it carries
/// the ownership tag (ListPermissionSets answers ARNs only, so each candidate's tags are read),
/// with the attributes of those owned. `probe` is any key of the section's account and Region.
pub(super) async fn unwanted(
    context: &Context<'_>,
    probe: &ControlKey,
    wanted: &BTreeSet<ControlKey>,
) -> Result<Vec<crate::baseline::Found>> {
    let instance = instance(context, probe).await?;
    let (account_id, region) = place(context, probe)?;
    let client = context.sessions.client::<aws_sdk_ssoadmin::Client>(account_id, Some(region)).await;
    let sets = match context.reads {
        Some(reads) => {
            let batch = format!("sso permission sets {account_id} {region} {}", instance.arn);
            reads.once(batch, || summaries(&client, &instance)).await?
        }
        None => Arc::new(summaries(&client, &instance).await?),
    };
    let mut found = Vec::new();
    for set in sets.iter() {
        let key = ControlKey::new(format!("{}{}", super::PERMISSION_SET, set.name), &probe.account, Some(region));
        if wanted.contains(&key) {
            continue;
        }
        let Some(owned) = is_owned(&client, &instance, &set.arn).await? else { continue };
        let attributes = match owned {
            true => crate::baseline::attributes::encode(&read_details(&client, &instance, set).await?),
            false => serde_json::Value::Null,
        };
        found.push(crate::baseline::Found { key, owned, attributes, loses_data: None });
    }
    Ok(found)
}

/// Deletes a permission set landing-zone created: every account assignment of it first (in each
/// account it is provisioned to, each deletion polled to completion), then the set. Refuses a set
/// that no longer carries the ownership tag; one already gone is success.
/// https://docs.aws.amazon.com/singlesignon/latest/APIReference/API_DeleteAccountAssignment.html
/// https://docs.aws.amazon.com/singlesignon/latest/APIReference/API_DeletePermissionSet.html
pub(super) async fn remove(context: &Context<'_>, key: &ControlKey, name: &str) -> Result<()> {
    let instance = instance(context, key).await?;
    let (account_id, region) = place(context, key)?;
    let client = context.sessions.client::<aws_sdk_ssoadmin::Client>(account_id, Some(region)).await;
    let Some(arn) = find(&client, &instance, name).await? else { return Ok(()) };
    match is_owned(&client, &instance, &arn).await? {
        None => return Ok(()),
        Some(false) => bail!(
            "{}: the permission set no longer carries the `{OWNERSHIP_TAG}` tag; landing-zone removes only what it created\nhint: plan again",
            key.label()
        ),
        Some(true) => {}
    }
    for account in provisioned_accounts(&client, &instance, &arn).await? {
        for (kind, principal) in super::assignments::in_account(&client, &instance, &arn, &account).await? {
            super::assignments::delete(
                &client,
                &instance,
                &arn,
                (PrincipalType::from(kind.as_str()), &principal),
                &account,
                &format!("removing `{name}` from {} {principal} in {account}", kind.to_lowercase()),
            )
            .await?;
        }
    }
    match client.delete_permission_set().instance_arn(&instance.arn).permission_set_arn(&arn).send().await {
        Ok(_) => Ok(()),
        Err(error) if is_resource_not_found(&error) => Ok(()),
        Err(error) => Err(aws_error("DeletePermissionSet", error)),
    }
}
