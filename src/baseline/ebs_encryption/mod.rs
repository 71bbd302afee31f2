//! `baseline.ebs_encryption`: EBS encryption by default in every targeted account and region.

mod validate;

use crate::spec::validate::Checker;
use anyhow::Result;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::attributes::{decode, encode};
use super::{aws_error, Actions, Baseline, BoxFuture, Context, Permissions};
use crate::plan::control::{ControlKey, DesiredControl, Inputs};

pub const CONTROL: &str = "ebs_encryption_by_default";

/// Whether new EBS volumes in one account and region are encrypted by default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EbsEncryptionAttributes {
    pub enabled: bool,
}

pub fn desired(inputs: &Inputs<'_>) -> Vec<DesiredControl> {
    let Some(ebs) = &inputs.spec.baseline.ebs_encryption else { return Vec::new() };
    let mut controls = Vec::new();
    for account in inputs.accounts_for(&ebs.targets) {
        for region in inputs.regions() {
            controls.push(
                DesiredControl::new(
                    ControlKey::new(CONTROL, &account, Some(region)),
                    encode(&EbsEncryptionAttributes { enabled: true }),
                )
                .needs(&["ec2:EnableEbsEncryptionByDefault"]),
            );
        }
    }
    controls
}

pub async fn read(context: &Context<'_>, key: &ControlKey) -> Result<Option<Value>> {
    let ec2 =
        context.sessions.client::<aws_sdk_ec2::Client>(context.account_id(&key.account)?, key.region.as_deref()).await;
    let output = ec2
        .get_ebs_encryption_by_default()
        .send()
        .await
        .map_err(|error| aws_error("GetEbsEncryptionByDefault", error))?;
    Ok(Some(encode(&EbsEncryptionAttributes { enabled: output.ebs_encryption_by_default.unwrap_or(false) })))
}

pub async fn apply(context: &Context<'_>, key: &ControlKey, attributes: &Value) -> Result<()> {
    let wanted: EbsEncryptionAttributes = decode(key, attributes)?;
    let ec2 =
        context.sessions.client::<aws_sdk_ec2::Client>(context.account_id(&key.account)?, key.region.as_deref()).await;
    if wanted.enabled {
        ec2.enable_ebs_encryption_by_default()
            .send()
            .await
            .map_err(|error| aws_error("EnableEbsEncryptionByDefault", error))?;
    } else {
        ec2.disable_ebs_encryption_by_default()
            .send()
            .await
            .map_err(|error| aws_error("DisableEbsEncryptionByDefault", error))?;
    }
    Ok(())
}

/// The section: the accounts where new volumes are encrypted by default in every region of the
/// imported spec (an account encrypted in only some of them is left out, and named).
pub async fn import(
    context: &Context<'_>,
    scope: &super::import::ImportScope,
) -> Result<Option<super::import::ImportedSection>> {
    let found = super::import::per_account(scope, |account| async move {
        for region in &scope.regions {
            let key = ControlKey::new(CONTROL, &account, Some(region));
            let live = read(context, &key).await?.map(|live| decode::<EbsEncryptionAttributes>(&key, &live));
            if !live.transpose()?.is_some_and(|live| live.enabled) {
                return Ok(None);
            }
        }
        Ok(Some(true))
    })
    .await?;
    let Some((_, targets, notes)) = super::import::common_setting(scope, "ebs_encryption", &found) else {
        return Ok(None);
    };
    super::import::ImportedSection::new(crate::spec::TargetedSpec { targets }, notes).map(Some)
}

/// The `baseline.ebs_encryption` section in the registry.
pub struct EbsEncryption;

impl Baseline for EbsEncryption {
    fn validate(&self, checker: &mut Checker<'_>) {
        validate::check(checker);
    }

    fn family(&self) -> &'static str {
        CONTROL
    }

    fn section(&self) -> &'static str {
        "ebs_encryption"
    }

    fn summary(&self) -> &'static str {
        "EBS encryption by default in every targeted account and region"
    }

    fn desired(&self, inputs: &Inputs<'_>) -> Vec<DesiredControl> {
        desired(inputs)
    }

    fn permissions(&self) -> Permissions {
        Permissions {
            management: Actions { read: &[], write: &[] },
            in_account: Actions {
                read: &["ec2:GetEbsEncryptionByDefault"],
                write: &["ec2:EnableEbsEncryptionByDefault", "ec2:DisableEbsEncryptionByDefault"],
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
        _before: Option<&'a Value>,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(apply(context, key, attributes))
    }

    fn import<'a>(
        &'a self,
        context: &'a Context<'_>,
        scope: &'a super::import::ImportScope,
    ) -> BoxFuture<'a, Result<Option<super::import::ImportedSection>>> {
        Box::pin(import(context, scope))
    }
}
