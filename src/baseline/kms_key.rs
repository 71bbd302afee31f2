//! A customer managed KMS key a baseline owns (the log archive's `log_archive/kms_key`, the
//! backup vault's `backup/kms_key`): found by its alias, created with the ownership tag and its
//! description (adopted when an apply stopped before its alias), rotation on, and its key policy
//! (built by the baseline) kept as the spec wants it.

use anyhow::{anyhow, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::aws::errors;
use crate::baseline::attributes::encode;
use crate::baseline::{aws_error, Context};

/// Which key: its alias, and the description it is created with (with the ownership tag, the
/// description tells the tool's key from any other in the account).
#[derive(Debug, Clone, Copy)]
pub struct OwnedKey {
    pub alias: &'static str,
    pub description: &'static str,
}

/// A key control's attributes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyAttributes {
    pub alias: String,
    pub rotation: bool,
    /// The key policy; live, what GetKeyPolicy returns (a string when it is not JSON).
    pub policy: Value,
}

pub async fn read_key(
    context: &Context<'_>,
    key: OwnedKey,
    account_id: &str,
    region: Option<&str>,
) -> Result<Option<Value>> {
    let kms = context.sessions.client::<aws_sdk_kms::Client>(account_id, region).await;
    let Some(key_id) = aliased_key(&kms, key).await? else {
        return Ok(None);
    };
    let rotation = kms
        .get_key_rotation_status()
        .key_id(&key_id)
        .send()
        .await
        .map_err(|error| aws_error("GetKeyRotationStatus", error))?
        .key_rotation_enabled;
    let policy = kms
        .get_key_policy()
        .key_id(&key_id)
        .policy_name("default")
        .send()
        .await
        .map_err(|error| aws_error("GetKeyPolicy", error))?
        .policy
        .map(|text| serde_json::from_str(&text).unwrap_or(Value::String(text)))
        .unwrap_or(Value::Null);
    Ok(Some(encode(&KeyAttributes { alias: key.alias.to_string(), rotation, policy })))
}

pub async fn apply_key(
    context: &Context<'_>,
    key: OwnedKey,
    account_id: &str,
    region: Option<&str>,
    attributes: &KeyAttributes,
) -> Result<()> {
    let kms = context.sessions.client::<aws_sdk_kms::Client>(account_id, region).await;
    let policy = attributes.policy.to_string();
    // A key without the alias is this tool's when it carries the ownership tag and description:
    // an apply stopped between CreateKey and CreateAlias. Adopt it instead of creating another.
    let existing = match aliased_key(&kms, key).await? {
        Some(key_id) => Some(key_id),
        None => match unaliased_own_key(&kms, key).await? {
            Some(key_id) => {
                tracing::info!(key_id, alias = key.alias, "adopting a key a stopped apply created without its alias");
                create_alias(&kms, key, &key_id).await?;
                Some(key_id)
            }
            None => None,
        },
    };
    let key_id = match existing {
        Some(key_id) => {
            kms.put_key_policy()
                .key_id(&key_id)
                .policy_name("default")
                .policy(&policy)
                .send()
                .await
                .map_err(|error| aws_error("PutKeyPolicy", error))?;
            key_id
        }
        None => {
            let created = kms
                .create_key()
                .description(key.description)
                .policy(&policy)
                .tags(
                    aws_sdk_kms::types::Tag::builder()
                        .tag_key(crate::spec::OWNERSHIP_TAG)
                        .tag_value(crate::spec::OWNERSHIP_VALUE)
                        .build()
                        .map_err(|error| anyhow!("{error}"))?,
                )
                .send()
                .await
                .map_err(|error| aws_error("CreateKey", error))?;
            let key_id = created
                .key_metadata
                .map(|metadata| metadata.key_id)
                .ok_or_else(|| anyhow!("CreateKey returned no key"))?;
            create_alias(&kms, key, &key_id).await?;
            key_id
        }
    };
    if attributes.rotation {
        kms.enable_key_rotation()
            .key_id(&key_id)
            .send()
            .await
            .map_err(|error| aws_error("EnableKeyRotation", error))?;
    }
    Ok(())
}

/// The key `key.alias` points to, reading every page of aliases.
async fn aliased_key(kms: &aws_sdk_kms::Client, key: OwnedKey) -> Result<Option<String>> {
    let mut pages = kms.list_aliases().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|error| aws_error("ListAliases", error))?;
        if let Some(alias) = page.aliases().iter().find(|alias| alias.alias_name() == Some(key.alias)) {
            return Ok(alias.target_key_id().map(str::to_string));
        }
    }
    Ok(None)
}

/// An enabled customer key of this tool's (ownership tag and description) that no alias names:
/// what an apply killed between CreateKey and CreateAlias leaves behind. Only called when the
/// alias is missing, so the extra reads cost nothing on a converged account.
async fn unaliased_own_key(kms: &aws_sdk_kms::Client, key: OwnedKey) -> Result<Option<String>> {
    let mut pages = kms.list_keys().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|error| aws_error("ListKeys", error))?;
        for key_id in page.keys().iter().filter_map(|key| key.key_id()) {
            let described = kms.describe_key().key_id(key_id).send().await;
            let described = described.map_err(|error| aws_error("DescribeKey", error))?;
            let Some(metadata) = described.key_metadata() else { continue };
            let ours = metadata.key_manager() == Some(&aws_sdk_kms::types::KeyManagerType::Customer)
                && metadata.key_state() == Some(&aws_sdk_kms::types::KeyState::Enabled)
                && metadata.description() == Some(key.description);
            if !ours {
                continue;
            }
            let tags = kms.list_resource_tags().key_id(key_id).send().await;
            let tags = tags.map_err(|error| aws_error("ListResourceTags", error))?;
            let owned = tags.tags().iter().any(|tag| {
                tag.tag_key() == crate::spec::OWNERSHIP_TAG && tag.tag_value() == crate::spec::OWNERSHIP_VALUE
            });
            if owned {
                return Ok(Some(key_id.to_string()));
            }
        }
    }
    Ok(None)
}

/// Points `key.alias` at `key_id`; an alias that already exists is left as it is.
async fn create_alias(kms: &aws_sdk_kms::Client, key: OwnedKey, key_id: &str) -> Result<()> {
    match kms.create_alias().alias_name(key.alias).target_key_id(key_id).send().await {
        Ok(_) => Ok(()),
        Err(error) if errors::is_already_exists_exception(&error) => Ok(()),
        Err(error) => Err(aws_error("CreateAlias", error)),
    }
}
