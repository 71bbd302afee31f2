//! `baseline.ebs_encryption`: EBS encryption by default in every targeted account and region.

use anyhow::Result;
use serde_json::{json, Value};

use super::{aws_error, Context, ControlKey, DesiredControl, Inputs};

pub const CONTROL: &str = "ebs_encryption_by_default";

pub fn desired(inputs: &Inputs<'_>) -> Vec<DesiredControl> {
    let Some(ebs) = &inputs.spec.baseline.ebs_encryption else { return Vec::new() };
    let mut controls = Vec::new();
    for account in inputs.accounts_for(&ebs.targets) {
        for region in inputs.regions() {
            controls.push(
                DesiredControl::new(ControlKey::new(CONTROL, &account, Some(region)), json!({ "enabled": true }))
                    .needs(&["ec2:EnableEbsEncryptionByDefault"]),
            );
        }
    }
    controls
}

pub async fn read(context: &Context<'_>, key: &ControlKey) -> Result<Option<Value>> {
    let ec2 = context.sessions.ec2(context.account_id(&key.account)?, key.region.as_deref()).await;
    let output = ec2
        .get_ebs_encryption_by_default()
        .send()
        .await
        .map_err(|error| aws_error("GetEbsEncryptionByDefault", error))?;
    Ok(Some(json!({ "enabled": output.ebs_encryption_by_default.unwrap_or(false) })))
}

pub async fn apply(context: &Context<'_>, key: &ControlKey, attributes: &Value) -> Result<()> {
    let ec2 = context.sessions.ec2(context.account_id(&key.account)?, key.region.as_deref()).await;
    if attributes["enabled"].as_bool().unwrap_or(true) {
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
