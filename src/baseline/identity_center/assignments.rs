//! Account assignments of one permission set: read in every account the set is provisioned to
//! and every account of the organization, exact for the principals the spec names (created when
//! missing, deleted when the spec drops them), reported as notes for every other principal. Both
//! writes are asynchronous: each is polled until SUCCEEDED (bounded); FAILED is an error with
//! AWS's reason.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::time::Duration;

use anyhow::{bail, Context as _, Result};
use aws_sdk_ssoadmin::types::{AccountAssignmentOperationStatus, PrincipalType, StatusValues, TargetType};
use serde_json::Value;

use super::super::{aws_error, Context};
use super::directory::{instance, place, principal_id, Instance};
use super::permission_set::{find, find_read, provisioned_accounts, WAIT};
use super::{Assignment, AssignmentsAttributes, Principal, GROUP};
use crate::baseline::attributes::{decode, encode};
use crate::plan::control::{has_placeholders, ControlKey};

/// What one read of a set's assignments found.
struct Found {
    /// Assignments of managed principals.
    managed: BTreeSet<Assignment>,
    /// Assignments of other principals, described for a note.
    unmanaged: Vec<String>,
    /// Managed principal -> its id (those that exist).
    ids: BTreeMap<Principal, String>,
}

/// The managed principals' ids; a principal this set's desired assignments name that matches
/// nothing is an error naming it, unless it is a group this run creates (`identity_center.groups`).
async fn resolve(
    context: &Context<'_>,
    key: &ControlKey,
    instance: &Instance,
    desired: &AssignmentsAttributes,
) -> Result<BTreeMap<Principal, String>> {
    let (account_id, region) = place(context, key)?;
    let directory = context.sessions.client::<aws_sdk_identitystore::Client>(account_id, Some(region)).await;
    let used: BTreeSet<&Principal> = desired.assignments.iter().map(|assignment| &assignment.principal).collect();
    let mut ids = BTreeMap::new();
    for principal in &desired.managed_principals {
        match principal_id(&directory, instance, principal).await? {
            Some(id) => {
                ids.insert(principal.clone(), id);
            }
            None if !used.contains(principal) => {}
            None => {
                let created = format!("{GROUP}{}", principal.name);
                let created_this_run = principal.principal_type == "GROUP"
                    && context.reads.is_some_and(|reads| {
                        reads.peers(&key.account, key.region.as_deref(), &created).any(|peer| peer.control == created)
                    });
                if !created_this_run {
                    let (noun, attribute, key_name) = if principal.principal_type == "USER" {
                        ("user", "user name", "user")
                    } else {
                        ("group", "display name", "group")
                    };
                    bail!(
                        "{noun} `{}` does not exist in the IAM Identity Center directory (no {noun} has that {attribute}); it is named by `identity_center.assignments[].{key_name}`\nhint: create it in IAM Identity Center (or, for a group, list it under `identity_center.groups` for landing-zone to create), or correct the name",
                        principal.name
                    );
                }
            }
        }
    }
    Ok(ids)
}

/// What one listing reads and how it names what it finds.
struct Listing<'a> {
    client: &'a aws_sdk_ssoadmin::Client,
    instance: &'a Instance,
    /// The permission set's ARN and name.
    arn: &'a str,
    set_name: &'a str,
    /// Account id -> spec name, for the accounts the run knows.
    names: BTreeMap<&'a str, &'a str>,
}

fn listing<'a>(
    context: &'a Context<'_>,
    client: &'a aws_sdk_ssoadmin::Client,
    instance: &'a Instance,
    arn: &'a str,
    set_name: &'a str,
) -> Listing<'a> {
    let names = context.ids.accounts.iter().map(|(name, id)| (id.as_str(), name.as_str())).collect();
    Listing { client, instance, arn, set_name, names }
}

async fn list(listing: &Listing<'_>, accounts: &BTreeSet<String>, ids: &BTreeMap<Principal, String>) -> Result<Found> {
    let Listing { client, instance, arn, set_name, .. } = listing;
    let principals: BTreeMap<(&str, &str), &Principal> =
        ids.iter().map(|(principal, id)| ((principal.principal_type.as_str(), id.as_str()), principal)).collect();
    let mut found = Found { managed: BTreeSet::new(), unmanaged: Vec::new(), ids: ids.clone() };
    for account in accounts {
        for (kind, id) in in_account(client, instance, arn, account).await? {
            match principals.get(&(kind.as_str(), id.as_str())) {
                Some(principal) => {
                    let account_name = listing.names.get(account.as_str()).map_or(account.as_str(), |name| name);
                    found.managed.insert(Assignment {
                        principal: (*principal).clone(),
                        account_name: account_name.to_string(),
                        account: account.clone(),
                    });
                }
                None => found.unmanaged.push(format!(
                    "{} {id} holds permission set `{set_name}` in account {account}: not in the spec, left in place",
                    kind.to_lowercase()
                )),
            }
        }
    }
    Ok(found)
}

/// Every assignment of the set `arn` in `account`, as (principal type, principal id).
/// https://docs.aws.amazon.com/singlesignon/latest/APIReference/API_ListAccountAssignments.html
pub(super) async fn in_account(
    client: &aws_sdk_ssoadmin::Client,
    instance: &Instance,
    arn: &str,
    account: &str,
) -> Result<Vec<(String, String)>> {
    let mut assignments = Vec::new();
    let mut pages = client
        .list_account_assignments()
        .instance_arn(&instance.arn)
        .account_id(account)
        .permission_set_arn(arn)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|error| aws_error("ListAccountAssignments", error))?;
        for assignment in page.account_assignments.unwrap_or_default() {
            let kind = assignment.principal_type.as_ref().map(|kind| kind.as_str().to_string()).unwrap_or_default();
            assignments.push((kind, assignment.principal_id.unwrap_or_default()));
        }
    }
    Ok(assignments)
}

/// Where to look: the accounts the set is provisioned to. An assignment provisions its set to its
/// account ("As part of a successful CreateAccountAssignment call, the specified permission set will
/// automatically be provisioned to the account"), so every account holding an assignment of the set
/// is listed; one ListAccountAssignments per such account, not per account of the organization.
/// moto lists none of them; the strict layer serves the list as AWS does.
/// https://docs.aws.amazon.com/singlesignon/latest/APIReference/API_CreateAccountAssignment.html
/// https://docs.aws.amazon.com/singlesignon/latest/APIReference/API_ListAccountsForProvisionedPermissionSet.html
pub(super) async fn accounts(
    client: &aws_sdk_ssoadmin::Client,
    instance: &Instance,
    arn: &str,
) -> Result<BTreeSet<String>> {
    provisioned_accounts(client, instance, arn).await
}

pub async fn read(context: &Context<'_>, key: &ControlKey, name: &str, desired: &Value) -> Result<Option<Value>> {
    let desired: AssignmentsAttributes = decode(key, desired)?;
    let instance = instance(context, key).await?;
    let ids = resolve(context, key, &instance, &desired).await?;
    let (account_id, region) = place(context, key)?;
    let client = context.sessions.client::<aws_sdk_ssoadmin::Client>(account_id, Some(region)).await;
    let Some(set) = find_read(context, key, &client, &instance, name).await? else { return Ok(None) };
    let arn = set.arn;
    let accounts = accounts(&client, &instance, &arn).await?;
    let found = list(&listing(context, &client, &instance, &arn, name), &accounts, &ids).await?;
    Ok(Some(encode(&AssignmentsAttributes {
        assignments: found.managed,
        managed_principals: desired.managed_principals,
        unmanaged: found.unmanaged,
    })))
}

pub async fn apply(context: &Context<'_>, key: &ControlKey, name: &str, attributes: &Value) -> Result<()> {
    if has_placeholders(attributes) {
        bail!("the assignments of permission set `{name}` name an account whose id is not known yet");
    }
    let wanted: AssignmentsAttributes = decode(key, attributes)?;
    let instance = instance(context, key).await?;
    let ids = resolve(context, key, &instance, &wanted).await?;
    let (account_id, region) = place(context, key)?;
    let client = context.sessions.client::<aws_sdk_ssoadmin::Client>(account_id, Some(region)).await;
    let arn = find(&client, &instance, name)
        .await?
        .with_context(|| format!("permission set `{name}` does not exist in the Identity Center instance"))?;
    let accounts = accounts(&client, &instance, &arn).await?;
    let found = list(&listing(context, &client, &instance, &arn, name), &accounts, &ids).await?;
    for assignment in wanted.assignments.difference(&found.managed) {
        let principal = found.ids.get(&assignment.principal).with_context(|| {
            format!(
                "{} `{}` does not exist in the directory",
                assignment.principal.principal_type, assignment.principal.name
            )
        })?;
        // https://docs.aws.amazon.com/singlesignon/latest/APIReference/API_CreateAccountAssignment.html
        let status = client
            .create_account_assignment()
            .instance_arn(&instance.arn)
            .target_id(&assignment.account)
            .target_type(TargetType::AwsAccount)
            .permission_set_arn(&arn)
            .principal_type(PrincipalType::from(assignment.principal.principal_type.as_str()))
            .principal_id(principal)
            .send()
            .await
            .map_err(|error| aws_error("CreateAccountAssignment", error))?
            .account_assignment_creation_status
            .context("CreateAccountAssignment returned no status")?;
        let what = format!("assigning `{name}` to {} in {}", assignment.principal.name, assignment.account);
        wait(&what, status, |request| {
            let client = client.clone();
            let instance_arn = instance.arn.clone();
            async move {
                // https://docs.aws.amazon.com/singlesignon/latest/APIReference/API_DescribeAccountAssignmentCreationStatus.html
                client
                    .describe_account_assignment_creation_status()
                    .instance_arn(instance_arn)
                    .account_assignment_creation_request_id(request)
                    .send()
                    .await
                    .map_err(|error| aws_error("DescribeAccountAssignmentCreationStatus", error))
                    .map(|output| output.account_assignment_creation_status)
            }
        })
        .await?;
    }
    for assignment in found.managed.difference(&wanted.assignments) {
        let Some(principal) = found.ids.get(&assignment.principal) else { continue };
        let kind = PrincipalType::from(assignment.principal.principal_type.as_str());
        let what = format!("removing `{name}` from {} in {}", assignment.principal.name, assignment.account);
        delete(&client, &instance, &arn, (kind, principal), &assignment.account, &what).await?;
    }
    Ok(())
}

/// Deletes one assignment of the set `arn` and polls the deletion to completion.
/// https://docs.aws.amazon.com/singlesignon/latest/APIReference/API_DeleteAccountAssignment.html
pub(super) async fn delete(
    client: &aws_sdk_ssoadmin::Client,
    instance: &Instance,
    arn: &str,
    (kind, principal): (PrincipalType, &str),
    account: &str,
    what: &str,
) -> Result<()> {
    let status = client
        .delete_account_assignment()
        .instance_arn(&instance.arn)
        .target_id(account)
        .target_type(TargetType::AwsAccount)
        .permission_set_arn(arn)
        .principal_type(kind)
        .principal_id(principal)
        .send()
        .await
        .map_err(|error| aws_error("DeleteAccountAssignment", error))?
        .account_assignment_deletion_status
        .context("DeleteAccountAssignment returned no status")?;
    wait(what, status, |request| {
        let client = client.clone();
        let instance_arn = instance.arn.clone();
        async move {
            // https://docs.aws.amazon.com/singlesignon/latest/APIReference/API_DescribeAccountAssignmentDeletionStatus.html
            client
                .describe_account_assignment_deletion_status()
                .instance_arn(instance_arn)
                .account_assignment_deletion_request_id(request)
                .send()
                .await
                .map_err(|error| aws_error("DescribeAccountAssignmentDeletionStatus", error))
                .map(|output| output.account_assignment_deletion_status)
        }
    })
    .await
}

/// Polls an assignment request until SUCCEEDED (bounded by [`WAIT`]); FAILED is an error.
async fn wait<F, Fut>(what: &str, first: AccountAssignmentOperationStatus, mut poll: F) -> Result<()>
where
    F: FnMut(String) -> Fut,
    Fut: Future<Output = Result<Option<AccountAssignmentOperationStatus>>>,
{
    let request = first.request_id.clone().with_context(|| format!("{what}: AWS returned no `RequestId`"))?;
    let mut current = first;
    let started = tokio::time::Instant::now();
    let mut delay = Duration::from_millis(200);
    loop {
        match &current.status {
            Some(StatusValues::Succeeded) => return Ok(()),
            Some(StatusValues::Failed) => {
                bail!("{what} failed: {}", current.failure_reason.as_deref().unwrap_or("no reason given"))
            }
            _ if started.elapsed() > WAIT => bail!("{what} (request {request}) did not finish in {WAIT:?}"),
            _ => {}
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(5));
        current = poll(request.clone()).await?.with_context(|| format!("{what}: the status answer was empty"))?;
        if current.status.is_none() {
            bail!("{what}: the status answer has no `Status`");
        }
    }
}
