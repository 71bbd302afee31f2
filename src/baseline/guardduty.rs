//! `baseline.guardduty`: GuardDuty organization-wide, per region — a detector in the management and
//! admin accounts, the security account as delegated administrator (set from the management
//! account), and the organization auto-enable setting (ALL | NEW | NONE) in the admin account.

use anyhow::{anyhow, bail, Result};
use aws_sdk_guardduty::types::AutoEnableMembers;
use serde_json::{json, Value};

use super::{aws_error, Context, ControlKey, DesiredControl, Inputs};
use crate::spec::AutoEnable;

pub const CONTROL: &str = "guardduty";
pub const SERVICE: &str = "guardduty.amazonaws.com";
const DETECTOR: &str = "guardduty/detector";
const ADMIN: &str = "guardduty/admin";
const ORGANIZATION: &str = "guardduty/organization_configuration";

pub fn desired(inputs: &Inputs<'_>) -> Vec<DesiredControl> {
    let (Some(guardduty), Some(management)) =
        (&inputs.spec.baseline.guardduty, &inputs.spec.organization.management_account)
    else {
        return Vec::new();
    };
    let admin = guardduty.admin_account.as_str();
    let auto_enable = match guardduty.auto_enable {
        AutoEnable::All => "ALL",
        AutoEnable::New => "NEW",
        AutoEnable::None => "NONE",
    };
    let mut controls = Vec::new();
    for region in inputs.regions() {
        let region = Some(region.as_str());
        let mut detector_accounts = vec![management.as_str()];
        if admin != management {
            detector_accounts.push(admin);
        }
        for account in &detector_accounts {
            controls.push(
                DesiredControl::new(ControlKey::new(DETECTOR, account, region), json!({ "enabled": true }))
                    .needs(&["guardduty:CreateDetector", "guardduty:UpdateDetector"]),
            );
        }
        controls.push(
            DesiredControl::new(
                ControlKey::new(ADMIN, management, region),
                json!({ "admin_account_id": format!("{{{{account:{admin}}}}}") }),
            )
            .after(ControlKey::new(DETECTOR, management, region))
            .after_service(SERVICE),
        );
        controls.push(
            DesiredControl::new(ControlKey::new(ORGANIZATION, admin, region), json!({ "auto_enable": auto_enable }))
                .after(ControlKey::new(ADMIN, management, region))
                .after(ControlKey::new(DETECTOR, admin, region))
                .needs(&["guardduty:UpdateOrganizationConfiguration"]),
        );
    }
    controls
}

async fn detector_id(client: &aws_sdk_guardduty::Client) -> Result<Option<String>> {
    let detectors = client.list_detectors().send().await.map_err(|error| aws_error("ListDetectors", error))?;
    Ok(detectors.detector_ids.unwrap_or_default().into_iter().next())
}

pub async fn read(context: &Context<'_>, key: &ControlKey, desired: &Value) -> Result<Option<Value>> {
    let client = context.sessions.guardduty(context.account_id(&key.account)?, key.region.as_deref()).await;
    match key.control.as_str() {
        DETECTOR => {
            let Some(id) = detector_id(&client).await? else { return Ok(None) };
            let detector =
                client.get_detector().detector_id(&id).send().await.map_err(|error| aws_error("GetDetector", error))?;
            Ok(Some(json!({ "enabled": detector.status.is_some_and(|status| status.as_str() == "ENABLED") })))
        }
        ADMIN => {
            let admins = client
                .list_organization_admin_accounts()
                .send()
                .await
                .map_err(|error| aws_error("ListOrganizationAdminAccounts", error))?;
            let wanted = desired["admin_account_id"].as_str().unwrap_or_default();
            let enabled = admins.admin_accounts.unwrap_or_default().into_iter().find(|admin| {
                admin.admin_account_id.as_deref() == Some(wanted)
                    && admin.admin_status.as_ref().is_some_and(|status| status.as_str() == "ENABLED")
            });
            Ok(enabled.map(|admin| json!({ "admin_account_id": admin.admin_account_id })))
        }
        ORGANIZATION => read_organization_configuration(&client).await,
        other => bail!("unknown control `{other}`"),
    }
}

pub async fn apply(context: &Context<'_>, key: &ControlKey, attributes: &Value) -> Result<()> {
    let client = context.sessions.guardduty(context.account_id(&key.account)?, key.region.as_deref()).await;
    match key.control.as_str() {
        DETECTOR => match detector_id(&client).await? {
            Some(id) => {
                client
                    .update_detector()
                    .detector_id(id)
                    .enable(true)
                    .send()
                    .await
                    .map_err(|error| aws_error("UpdateDetector", error))?;
                Ok(())
            }
            None => {
                client
                    .create_detector()
                    .enable(true)
                    .send()
                    .await
                    .map_err(|error| aws_error("CreateDetector", error))?;
                Ok(())
            }
        },
        ADMIN => {
            let admin = attributes["admin_account_id"].as_str().ok_or_else(|| anyhow!("no admin account id"))?;
            client
                .enable_organization_admin_account()
                .admin_account_id(admin)
                .send()
                .await
                .map_err(|error| aws_error("EnableOrganizationAdminAccount", error))?;
            Ok(())
        }
        ORGANIZATION => apply_organization_configuration(&client, attributes).await,
        other => bail!("unknown control `{other}`"),
    }
}

/// The admin account's organization auto-enable setting (None without a detector).
pub async fn read_organization_configuration(client: &aws_sdk_guardduty::Client) -> Result<Option<Value>> {
    let Some(id) = detector_id(client).await? else { return Ok(None) };
    let configuration = client
        .describe_organization_configuration()
        .detector_id(&id)
        .send()
        .await
        .map_err(|error| aws_error("DescribeOrganizationConfiguration", error))?;
    Ok(configuration.auto_enable_organization_members.map(|members| json!({ "auto_enable": members.as_str() })))
}

/// Sets AutoEnableOrganizationMembers (ALL | NEW | NONE) on the admin account's detector.
pub async fn apply_organization_configuration(client: &aws_sdk_guardduty::Client, attributes: &Value) -> Result<()> {
    let id = detector_id(client).await?.ok_or_else(|| anyhow!("the admin account has no detector"))?;
    let members = AutoEnableMembers::from(attributes["auto_enable"].as_str().unwrap_or("ALL"));
    client
        .update_organization_configuration()
        .detector_id(id)
        .auto_enable_organization_members(members)
        .send()
        .await
        .map_err(|error| aws_error("UpdateOrganizationConfiguration", error))?;
    Ok(())
}
