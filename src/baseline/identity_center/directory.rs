//! The Identity Center instance of the admin account's home Region, and its directory: groups
//! and users looked up by display name / user name (identitystore), groups created there. Reads
//! here are shared by every control of a run through `RunReads` (one ListInstances per run).

use std::sync::Arc;

use anyhow::{bail, Context as _, Result};
use aws_sdk_identitystore::types::{AlternateIdentifier, UniqueAttribute};
use serde_json::Value;

use super::super::{aws_error, Context};
use super::{GroupAttributes, Principal};
use crate::aws::errors::is_resource_not_found;
use crate::baseline::attributes::encode;
use crate::plan::control::ControlKey;

/// The instance's ARN and its directory's id.
#[derive(Debug, Clone)]
pub struct Instance {
    pub arn: String,
    pub identity_store_id: String,
}

/// The account id and Region a control of this section runs in.
pub fn place<'a>(context: &'a Context<'_>, key: &'a ControlKey) -> Result<(&'a str, &'a str)> {
    let region = key.region.as_deref().context("identity_center controls carry their Region")?;
    Ok((context.account_id(&key.account)?, region))
}

/// The instance, read once per run.
pub async fn instance(context: &Context<'_>, key: &ControlKey) -> Result<Arc<Instance>> {
    let (account_id, region) = place(context, key)?;
    match context.reads {
        Some(reads) => {
            reads
                .once(format!("sso instance {account_id} {region}"), || list_instance(context, account_id, region))
                .await
        }
        None => Ok(Arc::new(list_instance(context, account_id, region).await?)),
    }
}

async fn list_instance(context: &Context<'_>, account_id: &str, region: &str) -> Result<Instance> {
    match find_instance(context, account_id, region).await? {
        Some(instance) => Ok(instance),
        None => bail!(
            "IAM Identity Center is not enabled in {region} for account {account_id}\nhint: enable it (organization instance) in the IAM Identity Center console of the management account in {region}, the spec's home Region, or set `identity_center.admin_account` to its delegated administrator"
        ),
    }
}

/// The active instance of `account_id` (an account id) in `region`; None when there is none.
pub async fn find_instance(context: &Context<'_>, account_id: &str, region: &str) -> Result<Option<Instance>> {
    let client = context.sessions.client::<aws_sdk_ssoadmin::Client>(account_id, Some(region)).await;
    // https://docs.aws.amazon.com/singlesignon/latest/APIReference/API_ListInstances.html
    let output = client.list_instances().send().await.map_err(|error| aws_error("ListInstances", error))?;
    let instance = output.instances.unwrap_or_default().into_iter().find(|instance| {
        // `Status` (CREATE_IN_PROGRESS | DELETE_IN_PROGRESS | ACTIVE); older answers omit it.
        instance.status.as_ref().is_none_or(|status| status.as_str() == "ACTIVE")
    });
    let Some(instance) = instance else { return Ok(None) };
    Ok(Some(Instance {
        arn: instance.instance_arn.context("ListInstances returned an instance without `InstanceArn`")?,
        identity_store_id: instance
            .identity_store_id
            .context("ListInstances returned an instance without `IdentityStoreId`")?,
    }))
}

/// The id of a principal by display name (groups) or user name (users); None when none matches.
/// https://docs.aws.amazon.com/singlesignon/latest/IdentityStoreAPIReference/API_GetGroupId.html
/// https://docs.aws.amazon.com/singlesignon/latest/IdentityStoreAPIReference/API_GetUserId.html
pub async fn principal_id(
    client: &aws_sdk_identitystore::Client,
    instance: &Instance,
    principal: &Principal,
) -> Result<Option<String>> {
    let path = if principal.principal_type == "USER" { "userName" } else { "displayName" };
    let identifier = AlternateIdentifier::UniqueAttribute(
        UniqueAttribute::builder()
            .attribute_path(path)
            .attribute_value(aws_smithy_types::Document::String(principal.name.clone()))
            .build()
            .context("identity store unique attribute")?,
    );
    if principal.principal_type == "USER" {
        let sent =
            client.get_user_id().identity_store_id(&instance.identity_store_id).alternate_identifier(identifier).send();
        match sent.await {
            Ok(output) => Ok(Some(output.user_id)),
            Err(error) if is_resource_not_found(&error) => Ok(None),
            Err(error) => Err(aws_error("GetUserId", error)),
        }
    } else {
        let sent = client
            .get_group_id()
            .identity_store_id(&instance.identity_store_id)
            .alternate_identifier(identifier)
            .send();
        match sent.await {
            Ok(output) => Ok(Some(output.group_id)),
            Err(error) if is_resource_not_found(&error) => Ok(None),
            Err(error) => Err(aws_error("GetGroupId", error)),
        }
    }
}

/// The display name (groups) or user name (users) of a principal id; None when none has that id.
/// https://docs.aws.amazon.com/singlesignon/latest/IdentityStoreAPIReference/API_DescribeGroup.html
/// https://docs.aws.amazon.com/singlesignon/latest/IdentityStoreAPIReference/API_DescribeUser.html
pub async fn principal_name(
    client: &aws_sdk_identitystore::Client,
    instance: &Instance,
    principal_type: &str,
    id: &str,
) -> Result<Option<String>> {
    if principal_type == "USER" {
        match client.describe_user().identity_store_id(&instance.identity_store_id).user_id(id).send().await {
            Ok(output) => Ok(output.user_name),
            Err(error) if is_resource_not_found(&error) => Ok(None),
            Err(error) => Err(aws_error("DescribeUser", error)),
        }
    } else {
        match client.describe_group().identity_store_id(&instance.identity_store_id).group_id(id).send().await {
            Ok(output) => Ok(output.display_name),
            Err(error) if is_resource_not_found(&error) => Ok(None),
            Err(error) => Err(aws_error("DescribeGroup", error)),
        }
    }
}

fn group(name: &str) -> Principal {
    Principal { principal_type: "GROUP".to_string(), name: name.to_string() }
}

pub async fn read_group(context: &Context<'_>, key: &ControlKey, name: &str) -> Result<Option<Value>> {
    let instance = instance(context, key).await?;
    let (account_id, region) = place(context, key)?;
    let client = context.sessions.client::<aws_sdk_identitystore::Client>(account_id, Some(region)).await;
    Ok(principal_id(&client, &instance, &group(name))
        .await?
        .map(|_| encode(&GroupAttributes { display_name: name.to_string() })))
}

/// Creates the group unless a group of that display name exists.
/// https://docs.aws.amazon.com/singlesignon/latest/IdentityStoreAPIReference/API_CreateGroup.html
pub async fn create_group(context: &Context<'_>, key: &ControlKey, name: &str) -> Result<()> {
    let instance = instance(context, key).await?;
    let (account_id, region) = place(context, key)?;
    let client = context.sessions.client::<aws_sdk_identitystore::Client>(account_id, Some(region)).await;
    if principal_id(&client, &instance, &group(name)).await?.is_some() {
        return Ok(());
    }
    match client.create_group().identity_store_id(&instance.identity_store_id).display_name(name).send().await {
        Ok(_) => Ok(()),
        // Display names are unique per directory: ConflictException means it is there now.
        Err(error) if crate::aws::errors::is_conflict(&error) => Ok(()),
        Err(error) => Err(aws_error("CreateGroup", error)),
    }
}
