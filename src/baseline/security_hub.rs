//! `baseline.security_hub`: Security Hub organization-wide, per region — the hub in the management
//! and admin accounts, the admin account as delegated administrator, the organization
//! configuration (auto-enable), and the standards the spec lists, enabled in the admin account.

use std::collections::BTreeSet;

use anyhow::{anyhow, bail, Result};
use aws_sdk_securityhub::types::{AutoEnableStandards, StandardsSubscriptionRequest};
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use serde_json::{json, Value};

use super::{aws_error, Context, ControlKey, DesiredControl, Inputs};
use crate::aws::session::partition_of;
use crate::spec::SecurityStandard;

pub const CONTROL: &str = "security_hub";
pub const SERVICE: &str = "securityhub.amazonaws.com";
const HUB: &str = "security_hub/hub";
const ADMIN: &str = "security_hub/admin";
const ORGANIZATION: &str = "security_hub/organization_configuration";
const STANDARDS: &str = "security_hub/standards";

/// The ARN of a standard in a region.
pub fn standard_arn(standard: SecurityStandard, region: &str) -> String {
    let path = match standard {
        SecurityStandard::AwsFoundationalSecurityBestPractices => "aws-foundational-security-best-practices/v/1.0.0",
        SecurityStandard::CisAwsFoundationsBenchmark => "cis-aws-foundations-benchmark/v/3.0.0",
        SecurityStandard::NistSp80053 => "nist-800-53/v/5.0.0",
        SecurityStandard::PciDss => "pci-dss/v/3.2.1",
    };
    format!("arn:{}:securityhub:{region}::standards/{path}", partition_of(region))
}

pub fn desired(inputs: &Inputs<'_>) -> Vec<DesiredControl> {
    let (Some(hub), Some(management)) =
        (&inputs.spec.baseline.security_hub, &inputs.spec.organization.management_account)
    else {
        return Vec::new();
    };
    let admin = hub.admin_account.as_str();
    let mut controls = Vec::new();
    for region in inputs.regions() {
        let at = Some(region.as_str());
        let mut hub_accounts = vec![management.as_str()];
        if admin != management {
            hub_accounts.push(admin);
        }
        for account in &hub_accounts {
            controls.push(
                DesiredControl::new(ControlKey::new(HUB, account, at), json!({ "enabled": true }))
                    .needs(&["securityhub:EnableSecurityHub"]),
            );
        }
        controls.push(
            DesiredControl::new(
                ControlKey::new(ADMIN, management, at),
                json!({ "admin_account_id": format!("{{{{account:{admin}}}}}") }),
            )
            .after(ControlKey::new(HUB, management, at))
            .after_service(SERVICE),
        );
        controls.push(
            DesiredControl::new(
                ControlKey::new(ORGANIZATION, admin, at),
                json!({ "auto_enable": hub.auto_enable, "auto_enable_standards": "NONE" }),
            )
            .after(ControlKey::new(ADMIN, management, at))
            .after(ControlKey::new(HUB, admin, at))
            .needs(&["securityhub:UpdateOrganizationConfiguration"]),
        );
        let standards: BTreeSet<String> =
            hub.standards.iter().map(|standard| standard_arn(*standard, region)).collect();
        controls.push(
            DesiredControl::new(ControlKey::new(STANDARDS, admin, at), json!({ "standards": standards }))
                .after(ControlKey::new(HUB, admin, at))
                .needs(&["securityhub:BatchEnableStandards"]),
        );
    }
    controls
}

pub async fn read(context: &Context<'_>, key: &ControlKey, desired: &Value) -> Result<Option<Value>> {
    let client = context.sessions.securityhub(context.account_id(&key.account)?, key.region.as_deref()).await;
    match key.control.as_str() {
        HUB => match client.describe_hub().send().await {
            Ok(_) => Ok(Some(json!({ "enabled": true }))),
            Err(error)
                if matches!(error.code(), Some("InvalidAccessException") | Some("ResourceNotFoundException")) =>
            {
                Ok(None)
            }
            Err(error) => Err(aws_error("DescribeHub", error)),
        },
        ADMIN => {
            let listed = client.list_organization_admin_accounts().send().await;
            match listed {
                Ok(admins) => Ok(admins
                    .admin_accounts
                    .unwrap_or_default()
                    .into_iter()
                    .find(|admin| admin.status.as_ref().is_some_and(|status| status.as_str() == "ENABLED"))
                    .map(|admin| json!({ "admin_account_id": admin.account_id }))),
                Err(error) => {
                    let error = aws_error("ListOrganizationAdminAccounts", error);
                    if super::unimplemented(&error).is_none() {
                        return Err(error);
                    }
                    // The endpoint cannot list admins (moto): only the delegated administrator may
                    // read the organization configuration, so asking as the admin tells the same.
                    let admin = desired["admin_account_id"].as_str().unwrap_or_default();
                    let as_admin = context.sessions.securityhub(admin, key.region.as_deref()).await;
                    match as_admin.describe_organization_configuration().send().await {
                        Ok(_) => Ok(Some(json!({ "admin_account_id": admin }))),
                        Err(_) => Ok(None),
                    }
                }
            }
        }
        ORGANIZATION => match client.describe_organization_configuration().send().await {
            Ok(configuration) => Ok(Some(json!({
                "auto_enable": configuration.auto_enable.unwrap_or(false),
                "auto_enable_standards": configuration.auto_enable_standards.map_or("NONE".to_string(), |s| s.as_str().to_string()),
            }))),
            // Not (yet) the delegated administrator: nothing is configured from this account.
            Err(error) if matches!(error.code(), Some("ResourceNotFoundException") | Some("AccessDeniedException")) => {
                Ok(None)
            }
            Err(error) => Err(aws_error("DescribeOrganizationConfiguration", error)),
        },
        STANDARDS => read_standards(&client).await,
        other => bail!("unknown control `{other}`"),
    }
}

pub async fn apply(context: &Context<'_>, key: &ControlKey, attributes: &Value, before: Option<&Value>) -> Result<()> {
    let client = context.sessions.securityhub(context.account_id(&key.account)?, key.region.as_deref()).await;
    match key.control.as_str() {
        HUB => match client.enable_security_hub().enable_default_standards(false).send().await {
            Ok(_) => Ok(()),
            Err(error) if error.code() == Some("ResourceConflictException") => Ok(()),
            Err(error) => Err(aws_error("EnableSecurityHub", error)),
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
        ORGANIZATION => {
            client
                .update_organization_configuration()
                .auto_enable(attributes["auto_enable"].as_bool().unwrap_or(true))
                .auto_enable_standards(AutoEnableStandards::from(
                    attributes["auto_enable_standards"].as_str().unwrap_or("NONE"),
                ))
                .send()
                .await
                .map_err(|error| aws_error("UpdateOrganizationConfiguration", error))?;
            Ok(())
        }
        STANDARDS => enable_standards(&client, attributes, before).await,
        other => bail!("unknown control `{other}`"),
    }
}

/// The standards enabled in the account, as a sorted set of ARNs.
pub async fn read_standards(client: &aws_sdk_securityhub::Client) -> Result<Option<Value>> {
    let mut standards = BTreeSet::new();
    let mut token: Option<String> = None;
    loop {
        let page = client
            .get_enabled_standards()
            .set_next_token(token.clone())
            .send()
            .await
            .map_err(|error| aws_error("GetEnabledStandards", error))?;
        standards.extend(page.standards_subscriptions.unwrap_or_default().into_iter().filter_map(|s| s.standards_arn));
        token = page.next_token.filter(|next| !next.is_empty());
        if token.is_none() {
            return Ok(Some(json!({ "standards": standards })));
        }
    }
}

/// Enables the standards the spec lists that `before` lacks.
pub async fn enable_standards(
    client: &aws_sdk_securityhub::Client,
    attributes: &Value,
    before: Option<&Value>,
) -> Result<()> {
    let present: BTreeSet<&str> = before
        .and_then(|before| before["standards"].as_array())
        .map(|items| items.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let missing: Vec<StandardsSubscriptionRequest> = attributes["standards"]
        .as_array()
        .map(|items| items.iter().filter_map(Value::as_str).filter(|arn| !present.contains(arn)).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .map(|arn| StandardsSubscriptionRequest::builder().standards_arn(arn).build())
        .collect();
    if !missing.is_empty() {
        client
            .batch_enable_standards()
            .set_standards_subscription_requests(Some(missing))
            .send()
            .await
            .map_err(|error| aws_error("BatchEnableStandards", error))?;
    }
    Ok(())
}
