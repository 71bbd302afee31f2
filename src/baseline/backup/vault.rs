//! The bunker's AWS Backup vault (`backup/vault`: created with the vault key, its access policy
//! kept as the spec wants it), its Vault Lock (`backup/vault_lock`) and cross-account backup in
//! the management account (`backup/global_settings`). Only these write steps call AWS Backup.

use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, bail, Result};
use serde_json::Value;

use super::{LockAttributes, SettingsAttributes, VaultAttributes, KEY_ALIAS};
use crate::aws::errors::{is_already_exists_exception, is_not_found_exception, is_resource_not_found};
use crate::baseline::attributes::encode;
use crate::baseline::{aws_error, Context};

/// The global setting that turns cross-account backup on.
/// https://docs.aws.amazon.com/aws-backup/latest/devguide/API_UpdateGlobalSettings.html
const CROSS_ACCOUNT: &str = "isCrossAccountBackupEnabled";

pub async fn read_vault(
    context: &Context<'_>,
    account_id: &str,
    region: Option<&str>,
    wanted: &VaultAttributes,
) -> Result<Option<Value>> {
    let backup = context.sessions.client::<aws_sdk_backup::Client>(account_id, region).await;
    let described = match backup.describe_backup_vault().backup_vault_name(&wanted.name).send().await {
        Ok(described) => described,
        Err(error) if is_resource_not_found(&error) => return Ok(None),
        Err(error) => return Err(aws_error("DescribeBackupVault", error)),
    };
    let live_key = described.encryption_key_arn().unwrap_or_default().to_string();
    // The vault reports its key's ARN; it is the spec's when the alias names that key.
    let kms = context.sessions.client::<aws_sdk_kms::Client>(account_id, region).await;
    let aliased = match kms.describe_key().key_id(KEY_ALIAS).send().await {
        Ok(output) => output.key_metadata().map(|metadata| metadata.arn().unwrap_or_default().to_string()),
        Err(error) if is_not_found_exception(&error) => None,
        Err(error) => return Err(aws_error("DescribeKey", error)),
    };
    let encryption_key =
        if aliased.as_deref() == Some(live_key.as_str()) { wanted.encryption_key.clone() } else { live_key };
    let access_policy = match backup.get_backup_vault_access_policy().backup_vault_name(&wanted.name).send().await {
        Ok(output) => output
            .policy()
            .map(|text| serde_json::from_str(text).unwrap_or(Value::String(text.to_string())))
            .unwrap_or(Value::Null),
        Err(error) if is_resource_not_found(&error) => Value::Null,
        Err(error) => return Err(aws_error("GetBackupVaultAccessPolicy", error)),
    };
    Ok(Some(encode(&VaultAttributes { name: wanted.name.clone(), encryption_key, access_policy })))
}

pub async fn apply_vault(
    context: &Context<'_>,
    account_id: &str,
    region: Option<&str>,
    wanted: &VaultAttributes,
    before: Option<&VaultAttributes>,
) -> Result<()> {
    let backup = context.sessions.client::<aws_sdk_backup::Client>(account_id, region).await;
    match before {
        None => {
            // CreateBackupVault takes the key's ARN, not its alias.
            // https://docs.aws.amazon.com/aws-backup/latest/devguide/API_CreateBackupVault.html
            let kms = context.sessions.client::<aws_sdk_kms::Client>(account_id, region).await;
            let key = kms.describe_key().key_id(KEY_ALIAS).send().await.map_err(|error| aws_error("DescribeKey", error))?;
            let key_arn = key
                .key_metadata()
                .and_then(|metadata| metadata.arn())
                .ok_or_else(|| anyhow!("DescribeKey `{KEY_ALIAS}` returned no key ARN"))?
                .to_string();
            let created = backup
                .create_backup_vault()
                .backup_vault_name(&wanted.name)
                .encryption_key_arn(key_arn)
                .backup_vault_tags(crate::spec::OWNERSHIP_TAG, crate::spec::OWNERSHIP_VALUE)
                .send()
                .await;
            match created {
                Ok(_) => {}
                Err(error) if is_already_exists_exception(&error) => {}
                Err(error) => return Err(aws_error("CreateBackupVault", error)),
            }
        }
        Some(live) if live.encryption_key != wanted.encryption_key => bail!(
            "backup vault `{}` is encrypted with `{}`, not `{}`; AWS Backup cannot change a vault's key\nhint: create the vault under another `baseline.backup.vault_name`, or delete this one deliberately once it is empty",
            wanted.name,
            live.encryption_key,
            wanted.encryption_key
        ),
        Some(_) => {}
    }
    if before.map(|live| &live.access_policy) != Some(&wanted.access_policy) {
        backup
            .put_backup_vault_access_policy()
            .backup_vault_name(&wanted.name)
            .policy(wanted.access_policy.to_string())
            .send()
            .await
            .map_err(|error| aws_error("PutBackupVaultAccessPolicy", error))?;
    }
    Ok(())
}

/// The member vault the backup policy names (`backup/member_vault`): `{"name": ...}` when it exists.
/// https://docs.aws.amazon.com/aws-backup/latest/devguide/API_DescribeBackupVault.html
pub async fn read_member_vault(context: &Context<'_>, account_id: &str, region: Option<&str>) -> Result<Option<Value>> {
    let backup = context.sessions.client::<aws_sdk_backup::Client>(account_id, region).await;
    match backup.describe_backup_vault().backup_vault_name(super::MEMBER_VAULT).send().await {
        Ok(_) => Ok(Some(serde_json::json!({ "name": super::MEMBER_VAULT }))),
        Err(error) if is_resource_not_found(&error) => Ok(None),
        Err(error) => Err(aws_error("DescribeBackupVault", error)),
    }
}

/// Creates the member vault with the ownership tag, encrypted with AWS Backup's default key (no
/// `EncryptionKeyArn`); one that exists is success.
/// https://docs.aws.amazon.com/aws-backup/latest/devguide/API_CreateBackupVault.html
pub async fn apply_member_vault(context: &Context<'_>, account_id: &str, region: Option<&str>) -> Result<()> {
    let backup = context.sessions.client::<aws_sdk_backup::Client>(account_id, region).await;
    let created = backup
        .create_backup_vault()
        .backup_vault_name(super::MEMBER_VAULT)
        .backup_vault_tags(crate::spec::OWNERSHIP_TAG, crate::spec::OWNERSHIP_VALUE)
        .send()
        .await;
    match created {
        Ok(_) => Ok(()),
        Err(error) if is_already_exists_exception(&error) => Ok(()),
        Err(error) => Err(aws_error("CreateBackupVault", error)),
    }
}

/// The member vault in `region` when it exists: whether it carries landing-zone's ownership tag.
/// https://docs.aws.amazon.com/aws-backup/latest/devguide/API_ListTags.html
pub async fn member_vault_owned(context: &Context<'_>, account_id: &str, region: Option<&str>) -> Result<Option<bool>> {
    let backup = context.sessions.client::<aws_sdk_backup::Client>(account_id, region).await;
    let described = match backup.describe_backup_vault().backup_vault_name(super::MEMBER_VAULT).send().await {
        Ok(described) => described,
        Err(error) if is_resource_not_found(&error) => return Ok(None),
        Err(error) => return Err(aws_error("DescribeBackupVault", error)),
    };
    let arn = described.backup_vault_arn().unwrap_or_default().to_string();
    let mut owned = false;
    let mut pages = backup.list_tags().resource_arn(&arn).into_paginator().send();
    while let Some(page) = pages.next().await {
        match page {
            Ok(page) => {
                owned |= page.tags().is_some_and(|tags| {
                    tags.get(crate::spec::OWNERSHIP_TAG).map(String::as_str) == Some(crate::spec::OWNERSHIP_VALUE)
                })
            }
            Err(error) if is_resource_not_found(&error) => return Ok(None),
            Err(error) => return Err(aws_error("ListTags", error)),
        }
    }
    Ok(Some(owned))
}

/// Deletes the member vault landing-zone created; refuses one without its tag; one already gone
/// is success. AWS deletes only an empty vault (InvalidRequestException otherwise, reported):
/// https://docs.aws.amazon.com/aws-backup/latest/devguide/API_DeleteBackupVault.html
pub async fn remove_member_vault(
    context: &Context<'_>,
    label: &str,
    account_id: &str,
    region: Option<&str>,
) -> Result<()> {
    match member_vault_owned(context, account_id, region).await? {
        None => return Ok(()),
        Some(false) => bail!(
            "{label}: the vault no longer carries the `{}` tag; landing-zone removes only what it created\nhint: plan again",
            crate::spec::OWNERSHIP_TAG
        ),
        Some(true) => {}
    }
    let backup = context.sessions.client::<aws_sdk_backup::Client>(account_id, region).await;
    match backup.delete_backup_vault().backup_vault_name(super::MEMBER_VAULT).send().await {
        Ok(_) => Ok(()),
        Err(error) if is_resource_not_found(&error) => Ok(()),
        Err(error) => Err(aws_error("DeleteBackupVault", error)),
    }
}

/// Whether an instant AWS reports has passed.
fn has_passed(instant: &aws_smithy_types::DateTime) -> bool {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_secs());
    instant.secs() <= i64::try_from(now).unwrap_or(i64::MAX)
}

/// The live lock. Compliance mode is a vault with a lock date; after it the lock is immutable.
/// https://docs.aws.amazon.com/aws-backup/latest/devguide/vault-lock.html
pub async fn read_lock(
    context: &Context<'_>,
    account_id: &str,
    region: Option<&str>,
    wanted: &LockAttributes,
) -> Result<Option<Value>> {
    let backup = context.sessions.client::<aws_sdk_backup::Client>(account_id, region).await;
    let described = match backup.describe_backup_vault().backup_vault_name(&wanted.vault).send().await {
        Ok(described) => described,
        Err(error) if is_resource_not_found(&error) => return Ok(None),
        Err(error) => return Err(aws_error("DescribeBackupVault", error)),
    };
    if described.locked() != Some(true) {
        return Ok(None);
    }
    let lock_date = described.lock_date();
    let compliance = lock_date.is_some();
    let days = |value: Option<i64>| value.and_then(|days| u32::try_from(days).ok());
    let mut live = LockAttributes {
        vault: wanted.vault.clone(),
        mode: if compliance { "compliance" } else { "governance" }.to_string(),
        min_retention_days: days(described.min_retention_days()),
        max_retention_days: days(described.max_retention_days()),
        // Not reported by AWS (only the lock date is): the spec's, while in compliance mode.
        changeable_for_days: if compliance { wanted.changeable_for_days } else { None },
        immutable: None,
    };
    if lock_date.is_some_and(has_passed) && &live != wanted {
        live.immutable = Some(true);
    }
    Ok(Some(encode(&live)))
}

pub async fn apply_lock(
    context: &Context<'_>,
    account_id: &str,
    region: Option<&str>,
    wanted: &LockAttributes,
) -> Result<()> {
    let backup = context.sessions.client::<aws_sdk_backup::Client>(account_id, region).await;
    // From compliance mode (within its grace time) back to governance: a lock date cannot be
    // taken off by PutBackupVaultLockConfiguration, so the lock is deleted and put again.
    if wanted.changeable_for_days.is_none() {
        let described = backup
            .describe_backup_vault()
            .backup_vault_name(&wanted.vault)
            .send()
            .await
            .map_err(|error| aws_error("DescribeBackupVault", error))?;
        if described.lock_date().is_some() {
            backup
                .delete_backup_vault_lock_configuration()
                .backup_vault_name(&wanted.vault)
                .send()
                .await
                .map_err(|error| aws_error("DeleteBackupVaultLockConfiguration", error))?;
        }
    }
    backup
        .put_backup_vault_lock_configuration()
        .backup_vault_name(&wanted.vault)
        .set_min_retention_days(wanted.min_retention_days.map(i64::from))
        .set_max_retention_days(wanted.max_retention_days.map(i64::from))
        .set_changeable_for_days(wanted.changeable_for_days.map(i64::from))
        .send()
        .await
        .map_err(|error| aws_error("PutBackupVaultLockConfiguration", error))?;
    Ok(())
}

/// https://docs.aws.amazon.com/aws-backup/latest/devguide/API_DescribeGlobalSettings.html
pub async fn read_settings(context: &Context<'_>, account_id: &str, region: Option<&str>) -> Result<Option<Value>> {
    let backup = context.sessions.client::<aws_sdk_backup::Client>(account_id, region).await;
    let settings =
        backup.describe_global_settings().send().await.map_err(|error| aws_error("DescribeGlobalSettings", error))?;
    let enabled = settings
        .global_settings()
        .and_then(|settings| settings.get(CROSS_ACCOUNT))
        .is_some_and(|value| value == "true");
    Ok(Some(encode(&SettingsAttributes { cross_account_backup: enabled })))
}

pub async fn apply_settings(
    context: &Context<'_>,
    account_id: &str,
    region: Option<&str>,
    wanted: &SettingsAttributes,
) -> Result<()> {
    let backup = context.sessions.client::<aws_sdk_backup::Client>(account_id, region).await;
    backup
        .update_global_settings()
        .global_settings(CROSS_ACCOUNT, wanted.cross_account_backup.to_string())
        .send()
        .await
        .map_err(|error| aws_error("UpdateGlobalSettings", error))?;
    Ok(())
}
