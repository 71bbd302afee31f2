//! `baseline.backup`: backups in the bunker. In the vault account (the log-archive account unless
//! `vault_account` says otherwise), home Region: a KMS key of its own (rotation on), an AWS Backup
//! vault encrypted with it whose access policy lets the organization copy into it, and Vault Lock.
//! In the management account: cross-account backup (`UpdateGlobalSettings`). For the organization:
//! trusted access for AWS Backup and the `BACKUP_POLICY` `landing-zone-backup` made from `plans`,
//! which joins the spec's own policies (created, compared, attached by the policy planner).
//!
//! Vault Lock in compliance mode is irreversible once its grace time has passed: the lock control
//! is marked irreversible (planned only with the opt-in), and a lock AWS no longer lets anyone
//! change reads as `immutable`, which the planner notes instead of planning.

mod documents;
mod import;
mod validate;
mod vault;

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::attributes::{decode, encode};
use super::{Actions, Baseline, BoxFuture, Context, Found, Ownership, Permissions, Places};
use crate::aws::session::partition_of;
use crate::plan::control::{ControlKey, DesiredControl, Inputs};
use crate::plan::desired::DesiredPolicy;
use crate::spec::validate::Checker;
use crate::spec::{BackupSpec, PolicyType, Spec};

pub use crate::baseline::kms_key::KeyAttributes;
use crate::baseline::kms_key::OwnedKey;

pub use documents::{
    backup_policy, key_policy, member_role, vault_access_policy, vault_arn, MEMBER_ROLE_NAME, MEMBER_VAULT,
};

pub const CONTROL: &str = "backup";
pub const KEY_CONTROL: &str = "backup/kms_key";
pub const VAULT_CONTROL: &str = "backup/vault";
pub const LOCK_CONTROL: &str = "backup/vault_lock";
pub const SETTINGS_CONTROL: &str = "backup/global_settings";
/// The vault the backup policy's rules back up into, in each targeted account and Region.
pub const MEMBER_VAULT_CONTROL: &str = "backup/member_vault";
/// The role the backup policy's selections name, in each targeted account.
pub const MEMBER_ROLE_CONTROL: &str = "backup/member_role";
/// The alias of the vault's key; its ARN is known before the key exists.
pub const KEY_ALIAS: &str = "alias/landing-zone-backup";
/// The vault's key, found by its alias; created with this description and the ownership tag.
const KEY: OwnedKey =
    OwnedKey { alias: KEY_ALIAS, description: "landing-zone backup vault: recovery points in the bunker" };
/// The backup policy the plans become.
pub const POLICY_NAME: &str = "landing-zone-backup";
pub const SERVICE: &str = "backup.amazonaws.com";

/// The vault's attributes (`backup/vault`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VaultAttributes {
    pub name: String,
    /// The key alias ARN the vault is encrypted with; live, the alias when the vault's key is the
    /// one the alias names, else the key ARN AWS reports.
    pub encryption_key: String,
    /// The vault access policy; null when the vault has none.
    pub access_policy: Value,
}

/// The vault's lock (`backup/vault_lock`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockAttributes {
    pub vault: String,
    /// `governance` (no grace time: removable) or `compliance` (immutable after the grace time).
    pub mode: String,
    pub min_retention_days: Option<u32>,
    pub max_retention_days: Option<u32>,
    /// Compliance mode's grace time. AWS reports the lock date, not this: read back as the spec's
    /// value while the vault is in compliance mode.
    pub changeable_for_days: Option<u32>,
    /// Live only: the grace time has passed and the lock differs from the spec; AWS refuses any
    /// change (the planner notes it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub immutable: Option<bool>,
}

/// Cross-account backup in the management account (`backup/global_settings`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingsAttributes {
    pub cross_account_backup: bool,
}

/// The lock the spec asks for, or None.
pub fn desired_lock(backup: &BackupSpec) -> Option<LockAttributes> {
    let lock = backup.vault_lock?;
    Some(LockAttributes {
        vault: backup.vault_name.clone(),
        mode: if lock.changeable_for_days.is_some() { "compliance" } else { "governance" }.to_string(),
        min_retention_days: lock.min_retention_days,
        max_retention_days: lock.max_retention_days,
        changeable_for_days: lock.changeable_for_days,
        immutable: None,
    })
}

pub fn desired(inputs: &Inputs<'_>) -> Vec<DesiredControl> {
    let spec = inputs.spec;
    let Some(backup) = &spec.baseline.backup else { return Vec::new() };
    let Some(account) = backup.vault_account(spec) else { return Vec::new() };
    let region = inputs.home_region();
    let partition = partition_of(region);
    let key = ControlKey::new(KEY_CONTROL, account, Some(region));
    let vault = ControlKey::new(VAULT_CONTROL, account, Some(region));
    let mut controls = vec![
        DesiredControl::new(
            key.clone(),
            encode(&KeyAttributes {
                alias: KEY_ALIAS.to_string(),
                rotation: true,
                policy: key_policy(account, partition),
            }),
        )
        .needs(&[
            "kms:CreateKey",
            "kms:TagResource",
            "kms:CreateAlias",
            "kms:EnableKeyRotation",
            "kms:PutKeyPolicy",
        ]),
        DesiredControl::new(
            vault.clone(),
            encode(&VaultAttributes {
                name: backup.vault_name.clone(),
                encryption_key: format!("arn:{partition}:kms:{region}:{{{{account:{account}}}}}:{KEY_ALIAS}"),
                access_policy: vault_access_policy(&vault_arn(account, region, &backup.vault_name)),
            }),
        )
        .after(key)
        .needs(&["backup:CreateBackupVault", "backup:PutBackupVaultAccessPolicy"]),
    ];
    if let Some(lock) = desired_lock(backup) {
        let compliance = lock.changeable_for_days.is_some();
        let mut control = DesiredControl::new(ControlKey::new(LOCK_CONTROL, account, Some(region)), encode(&lock))
            .after(vault)
            .needs(&["backup:PutBackupVaultLockConfiguration"]);
        if compliance {
            // https://docs.aws.amazon.com/aws-backup/latest/devguide/vault-lock.html: "After the
            // grace time expires, the vault and its lock are immutable. They cannot be changed
            // or deleted by any user or by AWS."
            control = control.irreversible(
                "Vault Lock in compliance mode: once its grace time has passed, nobody (AWS included) can change or delete the lock, and recovery points cannot be deleted before their retention ends",
            );
        }
        controls.push(control);
    }
    controls.extend(member_controls(inputs, backup));
    if let Some(management) = &spec.organization.management_account {
        controls.push(
            DesiredControl::new(
                ControlKey::new(SETTINGS_CONTROL, management, Some(region)),
                encode(&SettingsAttributes { cross_account_backup: true }),
            )
            .after_service(SERVICE)
            .needs(&["backup:UpdateGlobalSettings"]),
        );
    }
    controls
}

/// What the backup policy names in each account it reaches: the role (once per account) and the
/// vault (in each Region of the plans that cover the account).
fn member_controls(inputs: &Inputs<'_>, backup: &BackupSpec) -> Vec<DesiredControl> {
    let home = inputs.home_region();
    let mut regions_of: std::collections::BTreeMap<String, std::collections::BTreeSet<String>> = Default::default();
    let mut order: Vec<String> = Vec::new();
    for plan in backup.plans.values() {
        let regions: Vec<String> = if plan.regions.is_empty() { vec![home.to_string()] } else { plan.regions.clone() };
        for account in inputs.accounts_for(&plan.targets) {
            if !regions_of.contains_key(&account) {
                order.push(account.clone());
            }
            regions_of.entry(account).or_default().extend(regions.iter().cloned());
        }
    }
    let role = member_role(partition_of(home));
    let mut controls = Vec::new();
    for account in order {
        let role_key = ControlKey::new(MEMBER_ROLE_CONTROL, &account, None);
        controls.push(DesiredControl::new(role_key, role.clone()).needs(&[
            "iam:CreateRole",
            "iam:UpdateAssumeRolePolicy",
            "iam:AttachRolePolicy",
        ]));
        for region in regions_of.get(&account).into_iter().flatten() {
            controls.push(
                DesiredControl::new(
                    ControlKey::new(MEMBER_VAULT_CONTROL, &account, Some(region)),
                    serde_json::json!({ "name": MEMBER_VAULT }),
                )
                .needs(&["backup:CreateBackupVault"]),
            );
        }
    }
    controls
}

/// The backup policy the plans become, attached to every plan's targets; None without plans.
pub fn desired_policy(spec: &Spec) -> Option<DesiredPolicy> {
    let backup = spec.baseline.backup.as_ref()?;
    if backup.plans.is_empty() {
        return None;
    }
    let account = backup.vault_account(spec)?;
    let region = spec.organization.regions.first().map_or("us-east-1", String::as_str);
    let vault = vault_arn(account, region, &backup.vault_name);
    Some(DesiredPolicy {
        name: POLICY_NAME.to_string(),
        policy_type: PolicyType::BackupPolicy,
        description: "landing-zone: backup plans copying into the bunker vault".to_string(),
        document: Some(backup_policy(backup, region, &vault)),
        target_units: backup.plans.values().flat_map(|plan| plan.targets.units.iter().cloned()).collect(),
        target_accounts: backup.plans.values().flat_map(|plan| plan.targets.accounts.iter().cloned()).collect(),
        tags: None,
    })
}

pub async fn read(context: &Context<'_>, key: &ControlKey, desired: &Value) -> Result<Option<Value>> {
    let account_id = context.account_id(&key.account)?;
    let region = key.region.as_deref();
    match key.control.as_str() {
        KEY_CONTROL => crate::baseline::kms_key::read_key(context, KEY, account_id, region).await,
        VAULT_CONTROL => vault::read_vault(context, account_id, region, &decode(key, desired)?).await,
        LOCK_CONTROL => vault::read_lock(context, account_id, region, &decode(key, desired)?).await,
        SETTINGS_CONTROL => vault::read_settings(context, account_id, region).await,
        MEMBER_VAULT_CONTROL => vault::read_member_vault(context, account_id, region).await,
        MEMBER_ROLE_CONTROL => crate::baseline::roles::read_role(context, &key.account, MEMBER_ROLE_NAME).await,
        other => bail!("unknown control `{other}`"),
    }
}

pub async fn apply(context: &Context<'_>, key: &ControlKey, attributes: &Value, before: Option<&Value>) -> Result<()> {
    let account_id = context.account_id(&key.account)?;
    let region = key.region.as_deref();
    match key.control.as_str() {
        KEY_CONTROL => {
            crate::baseline::kms_key::apply_key(context, KEY, account_id, region, &decode(key, attributes)?).await
        }
        VAULT_CONTROL => {
            let before = before.map(|value| decode::<VaultAttributes>(key, value)).transpose()?;
            vault::apply_vault(context, account_id, region, &decode(key, attributes)?, before.as_ref()).await
        }
        LOCK_CONTROL => vault::apply_lock(context, account_id, region, &decode(key, attributes)?).await,
        SETTINGS_CONTROL => vault::apply_settings(context, account_id, region, &decode(key, attributes)?).await,
        MEMBER_VAULT_CONTROL => vault::apply_member_vault(context, account_id, region).await,
        MEMBER_ROLE_CONTROL => {
            crate::baseline::roles::apply_role(context, &key.account, MEMBER_ROLE_NAME, attributes, before).await
        }
        other => bail!("unknown control `{other}`"),
    }
}

/// What removing a member vault loses: its recovery points (AWS deletes only an empty vault).
const VAULT_LOSES: &str =
    "deletes the vault `landing-zone-backup`, which AWS allows only once its recovery points are deleted";

/// The member role (no region) or the member vault (in `region`) landing-zone made in `account`,
/// when the spec no longer asks for it there.
pub async fn find(
    context: &Context<'_>,
    account: &str,
    region: Option<&str>,
    wanted: &std::collections::BTreeSet<ControlKey>,
) -> Result<Vec<Found>> {
    let account_id = context.account_id(account)?;
    match region {
        None => {
            let key = ControlKey::new(MEMBER_ROLE_CONTROL, account, None);
            if wanted.contains(&key) {
                return Ok(Vec::new());
            }
            let iam = context.sessions.client::<aws_sdk_iam::Client>(account_id, None).await;
            let Some(owned) = crate::baseline::roles::is_owned(&iam, MEMBER_ROLE_NAME).await? else {
                return Ok(Vec::new());
            };
            let attributes = match owned {
                true => {
                    crate::baseline::roles::read_role(context, account, MEMBER_ROLE_NAME).await?.unwrap_or(Value::Null)
                }
                false => Value::Null,
            };
            Ok(vec![Found { key, owned, attributes, loses_data: None }])
        }
        Some(region) => {
            let key = ControlKey::new(MEMBER_VAULT_CONTROL, account, Some(region));
            if wanted.contains(&key) {
                return Ok(Vec::new());
            }
            let Some(owned) = vault::member_vault_owned(context, account_id, Some(region)).await? else {
                return Ok(Vec::new());
            };
            let attributes = if owned { serde_json::json!({ "name": MEMBER_VAULT }) } else { Value::Null };
            Ok(vec![Found { key, owned, attributes, loses_data: Some(VAULT_LOSES) }])
        }
    }
}

pub async fn remove(context: &Context<'_>, key: &ControlKey) -> Result<()> {
    match key.control.as_str() {
        MEMBER_ROLE_CONTROL => crate::baseline::roles::remove_role(context, key, MEMBER_ROLE_NAME).await,
        MEMBER_VAULT_CONTROL => {
            let account_id = context.account_id(&key.account)?;
            vault::remove_member_vault(context, &key.label(), account_id, key.region.as_deref()).await
        }
        other => bail!("`{other}` is not removed by landing-zone"),
    }
}

/// The `baseline.backup` section in the registry.
pub struct Backup;

impl Baseline for Backup {
    fn validate(&self, checker: &mut Checker<'_>) {
        validate::check(checker);
    }

    fn owned_role_names(&self) -> &'static [&'static str] {
        &[MEMBER_ROLE_NAME]
    }

    fn family(&self) -> &'static str {
        CONTROL
    }

    fn section(&self) -> &'static str {
        "backup"
    }

    fn summary(&self) -> &'static str {
        "backups in the bunker: a KMS-encrypted, locked AWS Backup vault the organization copies into, cross-account backup, and the organization backup policy"
    }

    fn desired(&self, inputs: &Inputs<'_>) -> Vec<DesiredControl> {
        desired(inputs)
    }

    fn trusted_services(&self, spec: &Spec) -> Vec<&'static str> {
        if spec.baseline.backup.is_some() {
            vec![SERVICE]
        } else {
            Vec::new()
        }
    }

    fn permissions(&self) -> Permissions {
        Permissions {
            management: Actions { read: &[], write: &[] },
            in_account: Actions {
                read: &[
                    "backup:DescribeBackupVault",
                    "backup:GetBackupVaultAccessPolicy",
                    "backup:DescribeGlobalSettings",
                    "backup:ListTags",
                    "iam:ListRoleTags",
                    "iam:GetRole",
                    "iam:GetRolePolicy",
                    "iam:ListAttachedRolePolicies",
                    "iam:ListRolePolicies",
                    "kms:DescribeKey",
                    "kms:GetKeyPolicy",
                    "kms:GetKeyRotationStatus",
                    "kms:ListAliases",
                    "kms:ListKeys",
                    "kms:ListResourceTags",
                ],
                write: &[
                    "backup:CreateBackupVault",
                    "backup:PutBackupVaultAccessPolicy",
                    "backup:PutBackupVaultLockConfiguration",
                    "backup:DeleteBackupVaultLockConfiguration",
                    "backup:UpdateGlobalSettings",
                    "backup:TagResource",
                    "backup:DeleteBackupVault",
                    "iam:DeleteRole",
                    // The member role (`backup/member_role`), as `baseline.roles` makes roles.
                    "iam:CreateRole",
                    "iam:TagRole",
                    "iam:UpdateRole",
                    "iam:UpdateAssumeRolePolicy",
                    "iam:AttachRolePolicy",
                    "iam:DetachRolePolicy",
                    "iam:PutRolePolicy",
                    "iam:DeleteRolePolicy",
                    // CreateBackupVault with a customer managed key: the caller needs these on the
                    // key (https://docs.aws.amazon.com/aws-backup/latest/devguide/create-a-vault.html).
                    "backup-storage:MountCapsule",
                    "kms:CreateGrant",
                    "kms:Decrypt",
                    "kms:GenerateDataKey",
                    "kms:RetireGrant",
                    "kms:CreateKey",
                    "kms:CreateAlias",
                    "kms:EnableKeyRotation",
                    "kms:PutKeyPolicy",
                    "kms:TagResource",
                ],
            },
        }
    }

    fn read<'a>(
        &'a self,
        context: &'a Context<'_>,
        key: &'a ControlKey,
        desired: &'a Value,
    ) -> BoxFuture<'a, Result<Option<Value>>> {
        Box::pin(read(context, key, desired))
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
        // What the backup policy names in member accounts: the role (per account) and the vault
        // (per Region). The bunker's own vault, key and lock are never removed.
        Some(Ownership { places: Places::Both })
    }

    fn find<'a>(
        &'a self,
        context: &'a Context<'_>,
        account: &'a str,
        region: Option<&'a str>,
        wanted: &'a std::collections::BTreeSet<ControlKey>,
    ) -> BoxFuture<'a, Result<Vec<Found>>> {
        Box::pin(find(context, account, region, wanted))
    }

    fn remove<'a>(
        &'a self,
        context: &'a Context<'_>,
        key: &'a ControlKey,
        _before: &'a Value,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(remove(context, key))
    }

    fn import<'a>(
        &'a self,
        context: &'a Context<'_>,
        scope: &'a super::import::ImportScope,
    ) -> BoxFuture<'a, Result<Option<super::import::ImportedSection>>> {
        Box::pin(import::import(context, scope))
    }
}
