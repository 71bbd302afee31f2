//! `baseline.security_hub`: Security Hub organization-wide, in every region of `organization.regions`.
//!
//! Controls per region: `security_hub/hub` in the management and admin accounts (Security Hub
//! enabled, without AWS's default standards: the spec says which); `security_hub/admin` in the
//! management account (the delegated administrator, set per region through Security Hub's own API);
//! `security_hub/organization_configuration` in the admin account (LOCAL configuration: auto-enable
//! new members, no default standards for them); `security_hub/standards` in the admin account (the
//! spec's standards enabled); `security_hub/members` in the admin account (the organization's
//! existing accounts enrolled with CreateMembers: LOCAL AutoEnable covers only accounts that join
//! later; `members.rs`).
//!
//! Under `configuration: central` (`central.rs`) the organization configuration is CENTRAL in the
//! home region only, after `security_hub/finding_aggregator` (cross-Region aggregation into the
//! home region, the spec's other regions linked), with `security_hub/configuration_policy` and
//! `security_hub/policy_association` there; the `standards` and `members` controls are not planned (the policy covers them).
//!
//! It never disables Security Hub or a standard and never replaces a delegated administrator it
//! finds. Standards enabled outside the spec are left alone and not shown: the standards control
//! reads only the spec's standards. The `read_*` / `apply_*` functions take the SDK client, so the
//! operations moto lacks are tested against recorded responses (tests/recorded_responses.rs).

pub mod central;
pub mod import;
pub mod members;
mod validate;

use std::collections::BTreeSet;

use anyhow::{anyhow, bail, Result};
use aws_sdk_securityhub::types::{AutoEnableStandards, StandardsSubscriptionRequest};
use serde_json::{json, Value};

use super::audit::{AuditedAccount, Finding, Status};
use super::organization_service::{
    self, Accounts, AdministratorApi, After, Control, Delegated, OrganizationService, Registration, Whose,
};
use super::{aws_error, Actions, Baseline, BoxFuture, Context, Permissions};
use crate::aws::errors;
use crate::aws::session::partition_of;
use crate::plan::control::{has_placeholders, ControlKey, DesiredControl, Inputs};
use crate::spec::validate::Checker;
use crate::spec::{SecurityHubConfiguration, SecurityStandard, Spec};

pub const CONTROL: &str = "security_hub";
pub const SERVICE: &str = "securityhub.amazonaws.com";
pub const HUB: &str = "security_hub/hub";
pub const ADMIN: &str = "security_hub/admin";
pub const ORGANIZATION: &str = "security_hub/organization_configuration";
pub const STANDARDS: &str = "security_hub/standards";
pub const MEMBERS: &str = "security_hub/members";
pub const POLICY: &str = "security_hub/configuration_policy";
pub const ASSOCIATION: &str = "security_hub/policy_association";
pub const AGGREGATOR: &str = "security_hub/finding_aggregator";

/// Subscription states that count as enabled: PENDING is on its way, INCOMPLETE is subscribed with
/// some controls failing. DELETING and FAILED are not enabled (BatchEnableStandards again).
const ENABLED_STATES: [&str; 3] = ["READY", "PENDING", "INCOMPLETE"];

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

/// Security Hub as an organization-wide service with a delegated administrator.
pub const ORGANIZATION_SERVICE: OrganizationService = OrganizationService {
    delegated: Delegated { principal: SERVICE, registration: Registration::ServiceApi },
    enabled: Some(Control {
        name: HUB,
        needs: &[
            "securityhub:EnableSecurityHub",
            // Enabling creates AWSServiceRoleForSecurityHub.
            "iam:CreateServiceLinkedRole",
        ],
    }),
    administrator: Control {
        name: ADMIN,
        needs: &[
            "securityhub:EnableOrganizationAdminAccount",
            "organizations:EnableAWSServiceAccess",
            "organizations:RegisterDelegatedAdministrator",
        ],
    },
    organization: Control { name: ORGANIZATION, needs: &["securityhub:UpdateOrganizationConfiguration"] },
    members: Control { name: MEMBERS, needs: &["securityhub:CreateMembers"] },
    // The management account enables its own hub first (AWS cannot enable it as a member).
    members_after: &[After::OrganizationConfiguration, After::Enabled(Whose::Management)],
};

pub fn desired(inputs: &Inputs<'_>) -> Vec<DesiredControl> {
    // Without a management account there is nobody to delegate from; `validate` demands one.
    let (Some(hub), Some(management)) =
        (&inputs.spec.baseline.security_hub, &inputs.spec.organization.management_account)
    else {
        return Vec::new();
    };
    let admin = hub.admin_account.as_str();
    let accounts = Accounts { management, administrator: admin };
    let service = &ORGANIZATION_SERVICE;
    let enabled = json!({ "enabled": true });
    // Existing accounts: AutoEnable (LOCAL) reaches only accounts that join later.
    // https://docs.aws.amazon.com/securityhub/1.0/APIReference/API_CreateMembers.html
    let enrolled = members::Members::of_organization(inputs, admin);
    let mut controls = Vec::new();
    for region in inputs.regions() {
        let at = Some(region.as_str());
        controls.extend(service.enabled_controls(&accounts, region, &enabled));
        controls.push(service.administrator_control(&accounts, region));
        if hub.configuration == SecurityHubConfiguration::Central {
            controls.extend(central_controls(inputs, hub, admin, management, region));
            continue;
        }
        let organization = json!({ "auto_enable": hub.auto_enable.unwrap_or(true), "auto_enable_standards": "NONE" });
        controls.push(service.organization_control(&accounts, region, organization));
        if !enrolled.members.is_empty() {
            controls.push(service.members_control(&accounts, region, super::attributes::encode(&enrolled)));
        }
        // No standards listed: nothing to enable, so no control (never "disable the others").
        if !hub.standards.is_empty() {
            let standards: BTreeSet<String> =
                hub.standards.iter().map(|standard| standard_arn(*standard, region)).collect();
            controls.push(
                DesiredControl::new(ControlKey::new(STANDARDS, admin, at), json!({ "standards": standards }))
                    .after(ControlKey::new(HUB, admin, at))
                    .after_service(SERVICE)
                    .needs(&["securityhub:BatchEnableStandards"]),
            );
        }
    }
    controls
}

/// Central configuration's controls in one region: in the home region only (the delegated
/// administrator "can invoke this operation from the home Region" only:
/// https://docs.aws.amazon.com/securityhub/1.0/APIReference/API_CreateConfigurationPolicy.html),
/// nothing in linked regions beyond the hubs and the administrator.
fn central_controls(
    inputs: &Inputs<'_>,
    hub: &crate::spec::SecurityHubSpec,
    admin: &str,
    management: &str,
    region: &str,
) -> Vec<DesiredControl> {
    if region != inputs.home_region() {
        return Vec::new();
    }
    let at = Some(region);
    let organization = ControlKey::new(ORGANIZATION, admin, at);
    let policy = ControlKey::new(POLICY, admin, at);
    // Central configuration needs cross-Region aggregation into the home region first:
    // https://docs.aws.amazon.com/securityhub/latest/userguide/start-central-configuration.html
    let aggregator_key = ControlKey::new(AGGREGATOR, admin, at);
    let regions = inputs.regions();
    let mut aggregator = DesiredControl::new(
        aggregator_key.clone(),
        super::attributes::encode(&central::FindingAggregator::desired(region, regions)),
    )
    .after(ControlKey::new(ADMIN, management, at))
    .after_service(SERVICE)
    .needs(&[
        "securityhub:CreateFindingAggregator",
        "securityhub:UpdateFindingAggregator",
        "securityhub:ListFindingAggregators",
    ]);
    // The administrator's hub in every region it links (the linked regions' data has a hub to come from).
    for linked in regions {
        aggregator = aggregator.after(ControlKey::new(HUB, admin, Some(linked.as_str())));
    }
    // The policy's standard ARNs are the home region's (AWS's own example:
    // https://docs.aws.amazon.com/securityhub/1.0/APIReference/API_CreateConfigurationPolicy.html).
    let attributes = central::ConfigurationPolicy {
        name: central::POLICY_NAME.to_string(),
        service_enabled: true,
        enabled_standards: hub.standards.iter().map(|standard| standard_arn(*standard, region)).collect(),
        disabled_controls: BTreeSet::new(),
    };
    vec![
        aggregator,
        DesiredControl::new(organization.clone(), super::attributes::encode(&central::CentralOrganization::desired()))
            .after(aggregator_key)
            .after(ControlKey::new(ADMIN, management, at))
            .after(ControlKey::new(HUB, admin, at))
            .after_service(SERVICE)
            .needs(&["securityhub:UpdateOrganizationConfiguration"]),
        DesiredControl::new(policy.clone(), super::attributes::encode(&attributes))
            .after(organization)
            .after_service(SERVICE)
            .needs(&[
                "securityhub:CreateConfigurationPolicy",
                "securityhub:UpdateConfigurationPolicy",
                "securityhub:ListConfigurationPolicies",
            ]),
        DesiredControl::new(
            ControlKey::new(ASSOCIATION, admin, at),
            super::attributes::encode(&central::PolicyAssociation {
                policy: central::POLICY_NAME.to_string(),
                target: central::ROOT_TARGET.to_string(),
            }),
        )
        .after(policy)
        .after_service(SERVICE)
        .needs(&["securityhub:StartConfigurationPolicyAssociation", "organizations:ListRoots"]),
    ]
}

/// The organization's root id, listed with the management account's credentials.
async fn root_id(context: &Context<'_>) -> Result<String> {
    let management = context
        .sessions
        .management_account()
        .await
        .ok_or_else(|| anyhow!("the management account is not known, so the organization root cannot be listed"))?;
    let organizations = aws_sdk_organizations::Client::new(&context.sessions.config(&management, None).await);
    let roots = organizations.list_roots().send().await.map_err(|error| aws_error("ListRoots", error))?;
    roots
        .roots
        .unwrap_or_default()
        .into_iter()
        .find_map(|root| root.id)
        .ok_or_else(|| anyhow!("ListRoots returned no root"))
}

/// Whether `desired` is the central configuration's organization control.
fn is_central(desired: &Value) -> bool {
    desired.get("configuration_type").is_some()
}

pub async fn read(context: &Context<'_>, key: &ControlKey, desired: &Value) -> Result<Option<Value>> {
    let client = context
        .sessions
        .client::<aws_sdk_securityhub::Client>(context.account_id(&key.account)?, key.region.as_deref())
        .await;
    match key.control.as_str() {
        HUB => read_hub(&client).await,
        ADMIN => match read_admin(&client).await {
            Err(error) if super::unimplemented(&error).is_some() => {
                // The endpoint cannot list administrators (moto). Only the delegated administrator
                // may read the organization configuration, so asking as that account tells the same.
                let admin = desired["admin_account_id"].as_str().unwrap_or_default();
                if admin.is_empty() || has_placeholders(&desired["admin_account_id"]) {
                    return Ok(None);
                }
                let as_admin =
                    context.sessions.client::<aws_sdk_securityhub::Client>(admin, key.region.as_deref()).await;
                let configured = as_admin.describe_organization_configuration().send().await;
                Ok(configured.ok().map(|_| json!({ "admin_account_id": admin })))
            }
            other => other,
        },
        ORGANIZATION if is_central(desired) => central::read_central_organization(&client).await,
        ORGANIZATION => read_organization_configuration(&client).await,
        STANDARDS => read_standards(&client, desired).await,
        MEMBERS => members::read_members(&client, key, desired).await,
        POLICY => central::read_configuration_policy(&client, key, desired).await,
        ASSOCIATION => central::read_policy_association(&client).await,
        AGGREGATOR => central::read_finding_aggregator(&client).await,
        other => bail!("unknown control `{other}`"),
    }
}

pub async fn apply(context: &Context<'_>, key: &ControlKey, attributes: &Value, before: Option<&Value>) -> Result<()> {
    let client = context
        .sessions
        .client::<aws_sdk_securityhub::Client>(context.account_id(&key.account)?, key.region.as_deref())
        .await;
    match key.control.as_str() {
        HUB => apply_hub(&client).await,
        ADMIN => apply_admin(&client, key.region.as_deref().unwrap_or_default(), attributes).await,
        ORGANIZATION if is_central(attributes) => central::apply_central_organization(&client, key, attributes).await,
        ORGANIZATION => apply_organization_configuration(&client, attributes).await,
        STANDARDS => apply_standards(&client, attributes, before).await,
        MEMBERS => members::apply_members(&client, key, attributes).await,
        POLICY => central::apply_configuration_policy(&client, key, attributes).await,
        ASSOCIATION => central::apply_policy_association(&client, key, &root_id(context).await?, attributes).await,
        AGGREGATOR => central::apply_finding_aggregator(&client, key, attributes).await,
        other => bail!("unknown control `{other}`"),
    }
}

/// `{ enabled: true }` when the account is subscribed to Security Hub; None when it is not.
pub async fn read_hub(client: &aws_sdk_securityhub::Client) -> Result<Option<Value>> {
    match client.describe_hub().send().await {
        Ok(_) => Ok(Some(json!({ "enabled": true }))),
        // "Account ... is not subscribed to AWS Security Hub" (InvalidAccessException, 401).
        Err(error) if errors::is_security_hub_not_enabled(&error) => Ok(None),
        Err(error) => Err(aws_error("DescribeHub", error)),
    }
}

/// `audit`: Security Hub enabled in each audited region, read as `plan` reads the hub.
async fn audit_account(context: &Context<'_>, account: &AuditedAccount<'_>) -> Vec<Finding> {
    const CHECK: &str = "Security Hub";
    let mut findings = Vec::new();
    for region in account.regions {
        let client = context.sessions.client::<aws_sdk_securityhub::Client>(account.id, Some(region)).await;
        findings.push(match read_hub(&client).await {
            Ok(Some(_)) => Finding::new(account.scope, CHECK, Some(region), Status::Pass, "enabled"),
            Ok(None) => Finding::new(account.scope, CHECK, Some(region), Status::Fail, "not enabled"),
            Err(error) => Finding::read_failed(account.scope, CHECK, Some(region), &error),
        });
    }
    findings
}

/// Enables Security Hub without the default standards; already enabled is success.
pub async fn apply_hub(client: &aws_sdk_securityhub::Client) -> Result<()> {
    match client.enable_security_hub().enable_default_standards(false).send().await {
        Ok(_) => Ok(()),
        // "Account ... is already subscribed to Security Hub".
        Err(error) if errors::is_resource_conflict(&error) => Ok(()),
        Err(error) => Err(aws_error("EnableSecurityHub", error)),
    }
}

/// `{ admin_account_id }` of the region's delegated administrator (whoever it is); None without one.
pub async fn read_admin(client: &aws_sdk_securityhub::Client) -> Result<Option<Value>> {
    organization_service::read_administrator(client).await
}

/// Designates the delegated administrator; refuses to replace another one.
pub async fn apply_admin(client: &aws_sdk_securityhub::Client, region: &str, attributes: &Value) -> Result<()> {
    let admin = attributes["admin_account_id"].as_str().ok_or_else(|| anyhow!("no admin account id"))?;
    organization_service::apply_administrator(client, region, admin).await
}

impl AdministratorApi for aws_sdk_securityhub::Client {
    // https://docs.aws.amazon.com/securityhub/1.0/APIReference/API_ListOrganizationAdminAccounts.html
    fn enabled_administrator(&self) -> BoxFuture<'_, Result<Option<String>>> {
        Box::pin(async move {
            let mut pages = self.list_organization_admin_accounts().into_paginator().send();
            while let Some(page) = pages.next().await {
                let page = match page {
                    Ok(page) => page,
                    // The management account is not subscribed in this region: nothing is delegated from it.
                    Err(error) if errors::is_invalid_access(&error) => return Ok(None),
                    Err(error) => return Err(aws_error("ListOrganizationAdminAccounts", error)),
                };
                // DISABLE_IN_PROGRESS is on its way out: it is not the administrator any more.
                let enabled =
                    page.admin_accounts.unwrap_or_default().into_iter().find_map(|admin| {
                        admin.status.filter(|status| status.as_str() == "ENABLED").and(admin.account_id)
                    });
                if enabled.is_some() {
                    return Ok(enabled);
                }
            }
            Ok(None)
        })
    }

    // https://docs.aws.amazon.com/securityhub/1.0/APIReference/API_EnableOrganizationAdminAccount.html
    fn enable_administrator<'a>(&'a self, account_id: &'a str) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            self.enable_organization_admin_account()
                .admin_account_id(account_id)
                .send()
                .await
                .map_err(|error| aws_error("EnableOrganizationAdminAccount", error))?;
            Ok(())
        })
    }

    fn another_administrator(&self, region: &str, current: &str, wanted: &str) -> anyhow::Error {
        organization_service::another_organization_admin_account(
            "Security Hub",
            "securityhub",
            "security_hub",
            region,
            current,
            wanted,
        )
    }

    /// An endpoint that cannot list administrators (moto) cannot tell: designate.
    fn designates_when_unlisted(&self) -> bool {
        true
    }
}

/// `{ auto_enable, auto_enable_standards }` as the delegated administrator sees them; None while
/// the account is not (yet) the administrator.
pub async fn read_organization_configuration(client: &aws_sdk_securityhub::Client) -> Result<Option<Value>> {
    match client.describe_organization_configuration().send().await {
        Ok(configuration) => Ok(Some(json!({
            "auto_enable": configuration.auto_enable.unwrap_or(false),
            "auto_enable_standards": configuration
                .auto_enable_standards
                .map_or_else(|| "NONE".to_string(), |standards| standards.as_str().to_string()),
        }))),
        // AWS: "Account ... is not an administrator for this organization" (InvalidAccessException);
        // moto says AccessDeniedException.
        Err(error) if errors::is_not_security_hub_administrator(&error) => Ok(None),
        Err(error) => Err(aws_error("DescribeOrganizationConfiguration", error)),
    }
}

/// Sets auto-enable for new members (LOCAL configuration) and the standards they get.
pub async fn apply_organization_configuration(client: &aws_sdk_securityhub::Client, attributes: &Value) -> Result<()> {
    let auto_enable =
        attributes["auto_enable"].as_bool().ok_or_else(|| anyhow!("organization configuration without auto_enable"))?;
    let standards = match attributes["auto_enable_standards"].as_str() {
        Some("NONE") => AutoEnableStandards::None,
        Some("DEFAULT") => AutoEnableStandards::Default,
        other => bail!("Security Hub auto-enable standards must be NONE or DEFAULT, not {other:?}"),
    };
    client
        .update_organization_configuration()
        .auto_enable(auto_enable)
        .auto_enable_standards(standards)
        .send()
        .await
        .map_err(|error| aws_error("UpdateOrganizationConfiguration", error))?;
    Ok(())
}

/// `{ standards }`: which of the desired standards are enabled, as a sorted set of ARNs. Standards
/// the spec does not list are not reported (they are not landing-zone's to change). None while the
/// account is not subscribed to Security Hub.
pub async fn read_standards(client: &aws_sdk_securityhub::Client, desired: &Value) -> Result<Option<Value>> {
    let wanted: BTreeSet<&str> = desired["standards"]
        .as_array()
        .map(|items| items.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut enabled = BTreeSet::new();
    let mut pages = client.get_enabled_standards().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = match page {
            Ok(page) => page,
            Err(error) if errors::is_invalid_access(&error) => return Ok(None),
            Err(error) => return Err(aws_error("GetEnabledStandards", error)),
        };
        for subscription in page.standards_subscriptions.unwrap_or_default() {
            let active =
                subscription.standards_status.as_ref().is_some_and(|status| ENABLED_STATES.contains(&status.as_str()));
            if let Some(arn) = subscription.standards_arn.filter(|arn| active && wanted.contains(arn.as_str())) {
                enabled.insert(arn);
            }
        }
    }
    Ok(Some(json!({ "standards": enabled })))
}

/// Enables the desired standards that `before` lacks (all of them without `before`), in one call.
pub async fn apply_standards(
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
        .ok_or_else(|| anyhow!("standards control without a list of standards"))?
        .iter()
        .filter_map(Value::as_str)
        .filter(|arn| !present.contains(arn))
        .map(|arn| StandardsSubscriptionRequest::builder().standards_arn(arn).build())
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    client
        .batch_enable_standards()
        .set_standards_subscription_requests(Some(missing))
        .send()
        .await
        .map_err(|error| aws_error("BatchEnableStandards", error))?;
    Ok(())
}

/// The `baseline.security_hub` section in the registry.
pub struct SecurityHub;

impl Baseline for SecurityHub {
    fn validate(&self, checker: &mut Checker<'_>) {
        validate::check(checker);
    }

    fn family(&self) -> &'static str {
        CONTROL
    }

    fn section(&self) -> &'static str {
        "security_hub"
    }

    fn summary(&self) -> &'static str {
        "Security Hub hubs, delegated administrator, organization configuration and standards in every region"
    }

    fn desired(&self, inputs: &Inputs<'_>) -> Vec<DesiredControl> {
        desired(inputs)
    }

    fn trusted_services(&self, spec: &Spec) -> Vec<&'static str> {
        ORGANIZATION_SERVICE.delegated.trusted_services(spec.baseline.security_hub.is_some())
    }

    fn permissions(&self) -> Permissions {
        Permissions {
            management: Actions {
                // ListRoots: the root id the central policy is associated with.
                read: &["securityhub:ListOrganizationAdminAccounts", "organizations:ListRoots"],
                write: &["securityhub:EnableOrganizationAdminAccount", "iam:CreateServiceLinkedRole"],
            },
            in_account: Actions {
                read: &[
                    "securityhub:DescribeHub",
                    "securityhub:DescribeOrganizationConfiguration",
                    "securityhub:GetEnabledStandards",
                    "securityhub:ListMembers",
                    "securityhub:ListConfigurationPolicies",
                    "securityhub:GetConfigurationPolicy",
                    "securityhub:ListConfigurationPolicyAssociations",
                    "securityhub:ListFindingAggregators",
                    "securityhub:GetFindingAggregator",
                ],
                write: &[
                    "securityhub:EnableSecurityHub",
                    "securityhub:UpdateOrganizationConfiguration",
                    "securityhub:BatchEnableStandards",
                    "securityhub:CreateMembers",
                    "securityhub:CreateConfigurationPolicy",
                    "securityhub:UpdateConfigurationPolicy",
                    "securityhub:StartConfigurationPolicyAssociation",
                    "securityhub:CreateFindingAggregator",
                    "securityhub:UpdateFindingAggregator",
                    "iam:CreateServiceLinkedRole",
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

    fn audit_account<'a>(
        &'a self,
        context: &'a Context<'_>,
        account: &'a AuditedAccount<'a>,
    ) -> BoxFuture<'a, Vec<Finding>> {
        Box::pin(audit_account(context, account))
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

    fn import<'a>(
        &'a self,
        context: &'a Context<'_>,
        scope: &'a super::import::ImportScope,
    ) -> BoxFuture<'a, Result<Option<super::import::ImportedSection>>> {
        Box::pin(import::import(context, scope))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_arns_are_regional_and_partitioned() {
        assert_eq!(
            standard_arn(SecurityStandard::AwsFoundationalSecurityBestPractices, "eu-west-1"),
            "arn:aws:securityhub:eu-west-1::standards/aws-foundational-security-best-practices/v/1.0.0"
        );
        assert_eq!(
            standard_arn(SecurityStandard::CisAwsFoundationsBenchmark, "us-east-1"),
            "arn:aws:securityhub:us-east-1::standards/cis-aws-foundations-benchmark/v/3.0.0"
        );
        assert_eq!(
            standard_arn(SecurityStandard::NistSp80053, "us-gov-west-1"),
            "arn:aws-us-gov:securityhub:us-gov-west-1::standards/nist-800-53/v/5.0.0"
        );
        assert_eq!(
            standard_arn(SecurityStandard::PciDss, "us-east-1"),
            "arn:aws:securityhub:us-east-1::standards/pci-dss/v/3.2.1"
        );
    }
}
