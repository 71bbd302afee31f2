//! `baseline.guardduty`: GuardDuty organization-wide, in every region of `organization.regions`.
//!
//! Controls per region: `guardduty/detector` (an enabled detector) in the management and admin
//! accounts; `guardduty/admin` in the management account (the delegated administrator, which
//! GuardDuty sets per region through its own API and which needs the management account's
//! detector first); `guardduty/organization_configuration` in the admin account
//! (AutoEnableOrganizationMembers = ALL | NEW | NONE, set on the admin's detector);
//! `guardduty/members` in the admin account when `auto_enable: new` (NEW covers only accounts that
//! join later: the organization's existing accounts are enrolled with CreateMembers).
//!
//! It never disables a detector, never deletes one and never replaces a delegated administrator
//! it finds: those are refused with a hint. The `read_*` / `apply_*` functions take the SDK client,
//! so the operations moto lacks are tested against recorded responses (tests/recorded_responses.rs).

pub mod import;
mod validate;

use std::collections::BTreeSet;

use anyhow::{anyhow, bail, Result};
use aws_sdk_guardduty::types::AutoEnableMembers;
use serde_json::{json, Value};

use super::attributes::{decode, encode};
use super::audit::{AuditedAccount, Finding};
use super::organization_service::{
    self, Accounts, AdministratorApi, After, Control, Delegated, OrganizationService, RegionAttributes, Registration,
};
use super::security_hub::members::Members;
use super::{aws_error, Actions, Baseline, BoxFuture, Context, Permissions};
use crate::plan::control::{ControlKey, DesiredControl, Inputs};
use crate::spec::validate::Checker;
use crate::spec::{AutoEnable, Spec};

pub const CONTROL: &str = "guardduty";
pub const SERVICE: &str = "guardduty.amazonaws.com";
pub const DETECTOR: &str = "guardduty/detector";
pub const ADMIN: &str = "guardduty/admin";
pub const ORGANIZATION: &str = "guardduty/organization_configuration";
pub const MEMBERS: &str = "guardduty/members";

/// GuardDuty's spelling of the spec's `auto_enable`.
fn auto_enable_members(auto_enable: AutoEnable) -> &'static str {
    match auto_enable {
        AutoEnable::All => "ALL",
        AutoEnable::New => "NEW",
        AutoEnable::None => "NONE",
    }
}

/// GuardDuty as an organization-wide service with a delegated administrator.
pub const ORGANIZATION_SERVICE: OrganizationService = OrganizationService {
    delegated: Delegated { principal: SERVICE, registration: Registration::ServiceApi },
    enabled: Some(Control {
        name: DETECTOR,
        needs: &[
            "guardduty:CreateDetector",
            "guardduty:UpdateDetector",
            // The first detector creates AWSServiceRoleForAmazonGuardDuty.
            "iam:CreateServiceLinkedRole",
        ],
    }),
    administrator: Control {
        name: ADMIN,
        needs: &[
            "guardduty:EnableOrganizationAdminAccount",
            "organizations:EnableAWSServiceAccess",
            "organizations:RegisterDelegatedAdministrator",
        ],
    },
    organization: Control { name: ORGANIZATION, needs: &["guardduty:UpdateOrganizationConfiguration"] },
    members: Control { name: MEMBERS, needs: &["guardduty:CreateMembers"] },
    members_after: &[After::OrganizationConfiguration],
};

pub fn desired(inputs: &Inputs<'_>) -> Vec<DesiredControl> {
    // Without a management account there is nobody to delegate from; `validate` demands one.
    let (Some(guardduty), Some(management)) =
        (&inputs.spec.baseline.guardduty, &inputs.spec.organization.management_account)
    else {
        return Vec::new();
    };
    let accounts = Accounts { management, administrator: &guardduty.admin_account };
    // NEW enables GuardDuty only in accounts that join later; existing ones are enrolled as
    // members. (ALL covers them itself; NONE says the spec does not want them enrolled.)
    // https://docs.aws.amazon.com/guardduty/latest/APIReference/API_CreateMembers.html
    let enrolled = super::security_hub::members::Members::of_organization(inputs, &guardduty.admin_account);
    let members = (guardduty.auto_enable == AutoEnable::New && !enrolled.members.is_empty())
        .then(|| super::attributes::encode(&enrolled));
    let mut controls = Vec::new();
    for region in inputs.regions() {
        let attributes = RegionAttributes {
            enabled: json!({ "enabled": true }),
            organization: json!({ "auto_enable": auto_enable_members(guardduty.auto_enable) }),
            members: members.clone(),
        };
        controls.extend(ORGANIZATION_SERVICE.region_controls(&accounts, region, attributes));
    }
    controls
}

/// Account ids that are GuardDuty members of the administrator's detector (associated or not).
/// https://docs.aws.amazon.com/guardduty/latest/APIReference/API_ListMembers.html
pub async fn list_members(client: &aws_sdk_guardduty::Client, detector: &str) -> Result<BTreeSet<String>> {
    let mut ids = BTreeSet::new();
    let mut pages = client.list_members().detector_id(detector).only_associated("false").into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|error| aws_error("ListMembers", error))?;
        ids.extend(page.members.unwrap_or_default().into_iter().filter_map(|member| member.account_id));
    }
    Ok(ids)
}

/// The spec's accounts that are members; None without a detector.
pub async fn read_members(
    client: &aws_sdk_guardduty::Client,
    key: &ControlKey,
    desired: &Value,
) -> Result<Option<Value>> {
    let desired: Members = decode(key, desired)?;
    let Some(detector) = detector_id(client).await? else { return Ok(None) };
    let live = list_members(client, &detector).await?;
    Ok(Some(encode(&desired.present(&live))))
}

/// `CreateMembers` for the spec's accounts that are not members yet, in one call; an account
/// GuardDuty did not process is an error naming it and its reason.
pub async fn apply_members(client: &aws_sdk_guardduty::Client, key: &ControlKey, attributes: &Value) -> Result<()> {
    let desired: Members = decode(key, attributes)?;
    let detector = detector_id(client)
        .await?
        .ok_or_else(|| anyhow!("{}: the administrator has no detector in this region", key.label()))?;
    let missing = desired.missing(&list_members(client, &detector).await?);
    if missing.is_empty() {
        return Ok(());
    }
    let details: Vec<aws_sdk_guardduty::types::AccountDetail> = missing
        .iter()
        .map(|member| {
            aws_sdk_guardduty::types::AccountDetail::builder()
                .account_id(&member.account_id)
                .email(&member.email)
                .build()
        })
        .collect();
    let output = client
        .create_members()
        .detector_id(&detector)
        .set_account_details(Some(details))
        .send()
        .await
        .map_err(|error| aws_error("CreateMembers", error))?;
    let refused: Vec<String> = output
        .unprocessed_accounts
        .unwrap_or_default()
        .into_iter()
        .map(|account| format!("`{}`: {}", account.account_id.unwrap_or_default(), account.result.unwrap_or_default()))
        .collect();
    if !refused.is_empty() {
        bail!(
            "{}: CreateMembers did not enrol {}\nhint: the account must be in the organization and not a member of another administrator",
            key.label(),
            refused.join(", ")
        );
    }
    Ok(())
}

pub async fn read(context: &Context<'_>, key: &ControlKey, desired: &Value) -> Result<Option<Value>> {
    let client = context
        .sessions
        .client::<aws_sdk_guardduty::Client>(context.account_id(&key.account)?, key.region.as_deref())
        .await;
    match key.control.as_str() {
        DETECTOR => read_detector(&client).await,
        ADMIN => read_admin(&client).await,
        ORGANIZATION => read_organization_configuration(&client).await,
        MEMBERS => read_members(&client, key, desired).await,
        other => bail!("unknown control `{other}`"),
    }
}

pub async fn apply(context: &Context<'_>, key: &ControlKey, attributes: &Value) -> Result<()> {
    let client = context
        .sessions
        .client::<aws_sdk_guardduty::Client>(context.account_id(&key.account)?, key.region.as_deref())
        .await;
    match key.control.as_str() {
        DETECTOR => apply_detector(&client).await,
        ADMIN => apply_admin(&client, key.region.as_deref().unwrap_or_default(), attributes).await,
        ORGANIZATION => apply_organization_configuration(&client, attributes).await,
        MEMBERS => apply_members(&client, key, attributes).await,
        other => bail!("unknown control `{other}`"),
    }
}

/// The account's detector in the client's region (GuardDuty allows one per account and region).
async fn detector_id(client: &aws_sdk_guardduty::Client) -> Result<Option<String>> {
    let detectors = client.list_detectors().send().await.map_err(|error| aws_error("ListDetectors", error))?;
    Ok(detectors.detector_ids.unwrap_or_default().into_iter().next())
}

/// `audit`: a detector in each audited region, found as `plan` finds the detector it reads
/// (`ListDetectors`; its status is the plan's business).
async fn audit_account(context: &Context<'_>, account: &AuditedAccount<'_>) -> Vec<Finding> {
    const CHECK: &str = "GuardDuty";
    let mut findings = Vec::new();
    for region in account.regions {
        let client = context.sessions.client::<aws_sdk_guardduty::Client>(account.id, Some(region)).await;
        findings.push(match detector_id(&client).await {
            Ok(detector) => Finding::check(
                account.scope,
                CHECK,
                Some(region),
                detector.is_some(),
                "detector present",
                "no detector",
            ),
            Err(error) => Finding::read_failed(account.scope, CHECK, Some(region), &error),
        });
    }
    findings
}

/// `{ enabled }` of the account's detector; None without one.
pub async fn read_detector(client: &aws_sdk_guardduty::Client) -> Result<Option<Value>> {
    let Some(id) = detector_id(client).await? else { return Ok(None) };
    let detector =
        client.get_detector().detector_id(&id).send().await.map_err(|error| aws_error("GetDetector", error))?;
    let enabled = detector.status.is_some_and(|status| status.as_str() == "ENABLED");
    Ok(Some(json!({ "enabled": enabled })))
}

/// Creates the detector, or re-enables a suspended one.
pub async fn apply_detector(client: &aws_sdk_guardduty::Client) -> Result<()> {
    match detector_id(client).await? {
        Some(id) => {
            client
                .update_detector()
                .detector_id(&id)
                .enable(true)
                .send()
                .await
                .map_err(|error| aws_error("UpdateDetector", error))?;
        }
        None => {
            client.create_detector().enable(true).send().await.map_err(|error| aws_error("CreateDetector", error))?;
        }
    }
    Ok(())
}

/// `{ admin_account_id }` of the region's delegated administrator (whoever it is); None without one.
pub async fn read_admin(client: &aws_sdk_guardduty::Client) -> Result<Option<Value>> {
    organization_service::read_administrator(client).await
}

/// Designates the delegated administrator; refuses to replace another one.
pub async fn apply_admin(client: &aws_sdk_guardduty::Client, region: &str, attributes: &Value) -> Result<()> {
    let admin = attributes["admin_account_id"].as_str().ok_or_else(|| anyhow!("no admin account id"))?;
    organization_service::apply_administrator(client, region, admin).await
}

impl AdministratorApi for aws_sdk_guardduty::Client {
    // https://docs.aws.amazon.com/guardduty/latest/APIReference/API_ListOrganizationAdminAccounts.html
    fn enabled_administrator(&self) -> BoxFuture<'_, Result<Option<String>>> {
        Box::pin(async move {
            let mut pages = self.list_organization_admin_accounts().into_paginator().send();
            while let Some(page) = pages.next().await {
                let page = page.map_err(|error| aws_error("ListOrganizationAdminAccounts", error))?;
                // DISABLE_IN_PROGRESS is on its way out: it is not the administrator any more.
                let enabled = page.admin_accounts.unwrap_or_default().into_iter().find_map(|admin| {
                    admin.admin_status.filter(|status| status.as_str() == "ENABLED").and(admin.admin_account_id)
                });
                if enabled.is_some() {
                    return Ok(enabled);
                }
            }
            Ok(None)
        })
    }

    // https://docs.aws.amazon.com/guardduty/latest/APIReference/API_EnableOrganizationAdminAccount.html
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
            "GuardDuty",
            "guardduty",
            "guardduty",
            region,
            current,
            wanted,
        )
    }
}

/// `{ auto_enable }` of the admin account's organization configuration. None without a detector, or
/// while the account is not (yet) the delegated administrator.
pub async fn read_organization_configuration(client: &aws_sdk_guardduty::Client) -> Result<Option<Value>> {
    let Some(id) = detector_id(client).await? else { return Ok(None) };
    let configuration = match client.describe_organization_configuration().detector_id(&id).send().await {
        Ok(configuration) => configuration,
        // AWS answers a detector that is not the administrator's with BadRequestException ("you do
        // not have required AWS Organization master permission"); the detector id is the one
        // ListDetectors just returned, so that is the only bad thing the request can carry.
        Err(error) if crate::aws::errors::is_bad_request(&error) => return Ok(None),
        Err(error) => return Err(aws_error("DescribeOrganizationConfiguration", error)),
    };
    #[expect(deprecated, reason = "the only field older organization configurations report")]
    let legacy_auto_enable = configuration.auto_enable;
    let members = match (configuration.auto_enable_organization_members, legacy_auto_enable) {
        (Some(members), _) => members.as_str().to_string(),
        // Organizations configured before AutoEnableOrganizationMembers existed report only the
        // deprecated boolean, which meant "new members".
        (None, Some(true)) => "NEW".to_string(),
        (None, _) => "NONE".to_string(),
    };
    Ok(Some(json!({ "auto_enable": members })))
}

/// Sets AutoEnableOrganizationMembers (ALL | NEW | NONE) on the admin account's detector.
pub async fn apply_organization_configuration(client: &aws_sdk_guardduty::Client, attributes: &Value) -> Result<()> {
    let members = match attributes["auto_enable"].as_str() {
        Some("ALL") => AutoEnableMembers::All,
        Some("NEW") => AutoEnableMembers::New,
        Some("NONE") => AutoEnableMembers::None,
        other => bail!("GuardDuty auto-enable must be ALL, NEW or NONE, not {other:?}"),
    };
    let id = detector_id(client)
        .await?
        .ok_or_else(|| anyhow!("the GuardDuty administrator account has no detector in this region"))?;
    client
        .update_organization_configuration()
        .detector_id(&id)
        .auto_enable_organization_members(members)
        .send()
        .await
        .map_err(|error| aws_error("UpdateOrganizationConfiguration", error))?;
    Ok(())
}

/// The `baseline.guardduty` section in the registry.
pub struct GuardDuty;

impl Baseline for GuardDuty {
    fn validate(&self, checker: &mut Checker<'_>) {
        validate::check(checker);
    }

    fn family(&self) -> &'static str {
        CONTROL
    }

    fn section(&self) -> &'static str {
        "guardduty"
    }

    fn summary(&self) -> &'static str {
        "GuardDuty detectors, delegated administrator and organization auto-enable in every region"
    }

    fn desired(&self, inputs: &Inputs<'_>) -> Vec<DesiredControl> {
        desired(inputs)
    }

    fn trusted_services(&self, spec: &Spec) -> Vec<&'static str> {
        ORGANIZATION_SERVICE.delegated.trusted_services(spec.baseline.guardduty.is_some())
    }

    fn permissions(&self) -> Permissions {
        Permissions {
            management: Actions {
                read: &["guardduty:ListOrganizationAdminAccounts"],
                write: &["guardduty:EnableOrganizationAdminAccount", "iam:CreateServiceLinkedRole"],
            },
            in_account: Actions {
                read: &[
                    "guardduty:ListDetectors",
                    "guardduty:GetDetector",
                    "guardduty:DescribeOrganizationConfiguration",
                    "guardduty:ListMembers",
                ],
                write: &[
                    "guardduty:CreateDetector",
                    "guardduty:UpdateDetector",
                    "guardduty:UpdateOrganizationConfiguration",
                    "guardduty:CreateMembers",
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
        _before: Option<&'a Value>,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(apply(context, key, attributes))
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
    fn auto_enable_uses_guardduty_spelling() {
        assert_eq!(auto_enable_members(AutoEnable::All), "ALL");
        assert_eq!(auto_enable_members(AutoEnable::New), "NEW");
        assert_eq!(auto_enable_members(AutoEnable::None), "NONE");
    }
}
