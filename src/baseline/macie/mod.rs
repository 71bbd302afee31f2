//! `baseline.macie`: Amazon Macie organization-wide, in every region of `organization.regions`.
//!
//! Controls per region: `macie/session` in the management and admin accounts (Macie enabled, with
//! the spec's finding publication frequency); `macie/admin` in the management account (the
//! delegated administrator, designated through Macie's own API from the management account);
//! `macie/organization_configuration` in the admin account (`autoEnable` for accounts that join
//! later); `macie/members` in the admin account (every other account of the spec a member with
//! Macie enabled: `autoEnable` covers only new accounts, so existing ones are added with
//! CreateMember, which enables Macie for them).
//!
//! It never disables Macie, never removes a member and never replaces a delegated administrator it
//! finds (refused with a hint). Members outside the spec are neither read nor touched.
//! API: https://docs.aws.amazon.com/macie/latest/APIReference/operation-list.html

mod import;
mod validate;

use anyhow::{Context as _, Result};
use aws_sdk_macie2::types::{AccountDetail, FindingPublishingFrequency, MacieStatus};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::attributes::{decode, encode};
use super::organization_service::{
    self, Accounts, AdministratorApi, After, Control, Delegated, OrganizationService, RegionAttributes, Registration,
    Whose,
};
use super::{aws_error, Actions, Baseline, BoxFuture, Context, Permissions};
use crate::aws::errors;
use crate::plan::control::{has_placeholders, ControlKey, DesiredControl, Inputs};
use crate::spec::validate::Checker;
use crate::spec::{MacieFindingFrequency, Spec};

pub const CONTROL: &str = "macie";
pub const SERVICE: &str = "macie.amazonaws.com";
pub const SESSION: &str = "macie/session";
pub const ADMIN: &str = "macie/admin";
pub const ORGANIZATION: &str = "macie/organization_configuration";
pub const MEMBERS: &str = "macie/members";

/// `macie/session`: the account's Macie session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionAttributes {
    /// `ENABLED` or `PAUSED`.
    pub status: String,
    /// `FIFTEEN_MINUTES` | `ONE_HOUR` | `SIX_HOURS`.
    pub finding_publishing_frequency: String,
}

/// `macie/admin`: the region's delegated administrator.
pub use super::organization_service::AdminAttributes;

/// `macie/organization_configuration`: Macie enabled in accounts as they join.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrganizationAttributes {
    pub auto_enable: bool,
}

/// `macie/members`: the spec's accounts as members of the administrator, in the spec's order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MembersAttributes {
    pub members: Vec<MemberAttributes>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberAttributes {
    pub account_id: String,
    /// Lower-cased: AWS keeps the address as it was sent.
    pub email: String,
    /// The relationship AWS reports: `Enabled` when Macie runs there for the administrator.
    pub relationship: String,
}

fn frequency(frequency: MacieFindingFrequency) -> &'static str {
    match frequency {
        MacieFindingFrequency::FifteenMinutes => "FIFTEEN_MINUTES",
        MacieFindingFrequency::OneHour => "ONE_HOUR",
        MacieFindingFrequency::SixHours => "SIX_HOURS",
    }
}

/// Macie as an organization-wide service with a delegated administrator.
pub const ORGANIZATION_SERVICE: OrganizationService = OrganizationService {
    delegated: Delegated { principal: SERVICE, registration: Registration::ServiceApi },
    enabled: Some(Control {
        name: SESSION,
        needs: &[
            "macie2:EnableMacie",
            "macie2:UpdateMacieSession",
            // Enabling creates AWSServiceRoleForAmazonMacie.
            "iam:CreateServiceLinkedRole",
        ],
    }),
    administrator: Control {
        name: ADMIN,
        needs: &[
            "macie2:EnableOrganizationAdminAccount",
            "organizations:EnableAWSServiceAccess",
            "organizations:RegisterDelegatedAdministrator",
        ],
    },
    organization: Control { name: ORGANIZATION, needs: &["macie2:UpdateOrganizationConfiguration"] },
    members: Control { name: MEMBERS, needs: &["macie2:CreateMember", "macie2:UpdateMemberSession"] },
    members_after: &[After::Administrator, After::Enabled(Whose::Administrator)],
};

pub fn desired(inputs: &Inputs<'_>) -> Vec<DesiredControl> {
    // Without a management account there is nobody to delegate from; `validate` demands one.
    let (Some(macie), Some(management)) = (&inputs.spec.baseline.macie, &inputs.spec.organization.management_account)
    else {
        return Vec::new();
    };
    let admin = macie.admin_account.as_str();
    let accounts = Accounts { management, administrator: admin };
    let session = encode(&SessionAttributes {
        status: "ENABLED".to_string(),
        finding_publishing_frequency: frequency(macie.finding_frequency).to_string(),
    });
    let members = MembersAttributes {
        members: inputs
            .accounts
            .iter()
            .filter(|account| !account.close && account.name != admin)
            .map(|account| MemberAttributes {
                account_id: format!("{{{{account:{}}}}}", account.name),
                email: account.email.to_lowercase(),
                relationship: "Enabled".to_string(),
            })
            .collect(),
    };
    // `auto_enable: false` leaves membership to the user: no member is added.
    let members = (macie.auto_enable && !members.members.is_empty()).then(|| encode(&members));
    let mut controls = Vec::new();
    for region in inputs.regions() {
        let attributes = RegionAttributes {
            enabled: session.clone(),
            organization: encode(&OrganizationAttributes { auto_enable: macie.auto_enable }),
            members: members.clone(),
        };
        controls.extend(ORGANIZATION_SERVICE.region_controls(&accounts, region, attributes));
    }
    controls
}

pub async fn read(context: &Context<'_>, key: &ControlKey, desired: &Value) -> Result<Option<Value>> {
    let client = context
        .sessions
        .client::<aws_sdk_macie2::Client>(context.account_id(&key.account)?, key.region.as_deref())
        .await;
    match key.control.as_str() {
        SESSION => read_session(&client).await,
        ADMIN => read_admin(&client).await,
        ORGANIZATION => read_organization_configuration(&client).await,
        MEMBERS => read_members(&client, key, desired).await,
        other => anyhow::bail!("unknown control `{other}`"),
    }
}

pub async fn apply(context: &Context<'_>, key: &ControlKey, attributes: &Value) -> Result<()> {
    let client = context
        .sessions
        .client::<aws_sdk_macie2::Client>(context.account_id(&key.account)?, key.region.as_deref())
        .await;
    let region = key.region.as_deref().unwrap_or_default();
    match key.control.as_str() {
        SESSION => apply_session(&client, &decode(key, attributes)?).await,
        ADMIN => apply_admin(&client, region, &decode(key, attributes)?).await,
        ORGANIZATION => apply_organization_configuration(&client, &decode(key, attributes)?).await,
        MEMBERS => apply_members(&client, key, &decode(key, attributes)?).await,
        other => anyhow::bail!("unknown control `{other}`"),
    }
}

/// The account's session; None where Macie is not enabled.
pub async fn read_session(client: &aws_sdk_macie2::Client) -> Result<Option<Value>> {
    // https://docs.aws.amazon.com/macie/latest/APIReference/macie.html (GET /macie)
    let session = match client.get_macie_session().send().await {
        Ok(session) => session,
        Err(error) if error.as_service_error().is_some_and(errors::is_macie_not_enabled) => return Ok(None),
        Err(error) => return Err(aws_error("GetMacieSession", error)),
    };
    Ok(Some(encode(&SessionAttributes {
        status: session.status.map(|status| status.as_str().to_string()).unwrap_or_default(),
        finding_publishing_frequency: session
            .finding_publishing_frequency
            .map(|frequency| frequency.as_str().to_string())
            .unwrap_or_default(),
    })))
}

/// Enables Macie with the frequency, or sets the frequency (and ENABLED) on the session there is.
pub async fn apply_session(client: &aws_sdk_macie2::Client, desired: &SessionAttributes) -> Result<()> {
    let frequency = FindingPublishingFrequency::from(desired.finding_publishing_frequency.as_str());
    let status = MacieStatus::from(desired.status.as_str());
    if read_session(client).await?.is_none() {
        // https://docs.aws.amazon.com/macie/latest/APIReference/macie.html (POST /macie)
        match client.enable_macie().finding_publishing_frequency(frequency).status(status).send().await {
            Ok(_) => return Ok(()),
            // Enabled since it was read (a retried apply): set the frequency below.
            Err(error) if errors::is_conflict(&error) => {}
            Err(error) => return Err(aws_error("EnableMacie", error)),
        }
    }
    // https://docs.aws.amazon.com/macie/latest/APIReference/macie.html (PATCH /macie)
    client
        .update_macie_session()
        .finding_publishing_frequency(FindingPublishingFrequency::from(desired.finding_publishing_frequency.as_str()))
        .status(MacieStatus::from(desired.status.as_str()))
        .send()
        .await
        .map_err(|error| aws_error("UpdateMacieSession", error))?;
    Ok(())
}

/// The region's delegated administrator (whoever it is); None without one.
pub async fn read_admin(client: &aws_sdk_macie2::Client) -> Result<Option<Value>> {
    organization_service::read_administrator(client).await
}

/// Designates the delegated administrator; refuses to replace another one (read afresh).
pub async fn apply_admin(client: &aws_sdk_macie2::Client, region: &str, desired: &AdminAttributes) -> Result<()> {
    organization_service::apply_administrator(client, region, &desired.admin_account_id).await
}

impl AdministratorApi for aws_sdk_macie2::Client {
    fn enabled_administrator(&self) -> BoxFuture<'_, Result<Option<String>>> {
        Box::pin(async move {
            let mut pages = self.list_organization_admin_accounts().into_paginator().send();
            while let Some(page) = pages.next().await {
                // https://docs.aws.amazon.com/macie/latest/APIReference/admin.html (GET /admin)
                let page = match page {
                    Ok(page) => page,
                    Err(error) if error.as_service_error().is_some_and(errors::is_macie_not_enabled) => {
                        return Ok(None)
                    }
                    Err(error) => return Err(aws_error("ListOrganizationAdminAccounts", error)),
                };
                // DISABLING_IN_PROGRESS is on its way out: it is not the administrator any more.
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

    fn enable_administrator<'a>(&'a self, account_id: &'a str) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            // https://docs.aws.amazon.com/macie/latest/APIReference/admin.html (POST /admin)
            self.enable_organization_admin_account()
                .admin_account_id(account_id)
                .send()
                .await
                .map_err(|error| aws_error("EnableOrganizationAdminAccount", error))?;
            Ok(())
        })
    }

    fn another_administrator(&self, region: &str, current: &str, wanted: &str) -> anyhow::Error {
        organization_service::another_organization_admin_account("Macie", "macie2", "macie", region, current, wanted)
    }
}

/// `{ auto_enable }` as the administrator reads it; None while the account is not the
/// administrator (or Macie is not enabled there).
pub async fn read_organization_configuration(client: &aws_sdk_macie2::Client) -> Result<Option<Value>> {
    // https://docs.aws.amazon.com/macie/latest/APIReference/admin-configuration.html (GET)
    match client.describe_organization_configuration().send().await {
        Ok(configuration) => {
            Ok(Some(encode(&OrganizationAttributes { auto_enable: configuration.auto_enable.unwrap_or(false) })))
        }
        // Not (yet) the administrator: AccessDeniedException (or "not enabled").
        Err(error) if errors::is_access_denied(&error) || errors::is_resource_not_found(&error) => Ok(None),
        Err(error) => Err(aws_error("DescribeOrganizationConfiguration", error)),
    }
}

pub async fn apply_organization_configuration(
    client: &aws_sdk_macie2::Client,
    desired: &OrganizationAttributes,
) -> Result<()> {
    // https://docs.aws.amazon.com/macie/latest/APIReference/admin-configuration.html (PATCH)
    client
        .update_organization_configuration()
        .auto_enable(desired.auto_enable)
        .send()
        .await
        .map_err(|error| aws_error("UpdateOrganizationConfiguration", error))?;
    Ok(())
}

/// Every current member of the administrator: account id -> (email, relationship).
async fn list_members(client: &aws_sdk_macie2::Client) -> Result<Vec<MemberAttributes>> {
    let mut members = Vec::new();
    let mut pages = client.list_members().only_associated("false").into_paginator().send();
    while let Some(page) = pages.next().await {
        // https://docs.aws.amazon.com/macie/latest/APIReference/members.html (GET /members)
        let page = page.map_err(|error| aws_error("ListMembers", error))?;
        for member in page.members.unwrap_or_default() {
            let Some(account_id) = member.account_id else { continue };
            members.push(MemberAttributes {
                account_id,
                email: member.email.unwrap_or_default().to_lowercase(),
                relationship: member.relationship_status.map(|status| status.as_str().to_string()).unwrap_or_default(),
            });
        }
    }
    Ok(members)
}

/// The spec's accounts among the administrator's members, in the spec's order (so only a
/// difference in membership is a change). None while the account is not the administrator.
pub async fn read_members(client: &aws_sdk_macie2::Client, key: &ControlKey, desired: &Value) -> Result<Option<Value>> {
    let desired: MembersAttributes = decode(key, desired)?;
    let live = match list_members(client).await {
        Ok(live) => live,
        Err(error) if errors::is_access_denied_failure(&error) => return Ok(None),
        Err(error) => return Err(error),
    };
    let members = desired
        .members
        .iter()
        .filter(|wanted| !has_placeholders(&Value::String(wanted.account_id.clone())))
        .filter_map(|wanted| live.iter().find(|member| member.account_id == wanted.account_id).cloned())
        .collect();
    Ok(Some(encode(&MembersAttributes { members })))
}

/// Adds the missing members (CreateMember enables Macie for an organization account) and
/// re-enables paused ones; never removes one.
pub async fn apply_members(
    client: &aws_sdk_macie2::Client,
    key: &ControlKey,
    desired: &MembersAttributes,
) -> Result<()> {
    let live = list_members(client).await?;
    for wanted in &desired.members {
        match live.iter().find(|member| member.account_id == wanted.account_id) {
            Some(member) if member.relationship == "Enabled" => {}
            Some(member) if member.relationship == "Paused" => {
                // https://docs.aws.amazon.com/macie/latest/APIReference/macie-members-id.html (PATCH)
                client
                    .update_member_session()
                    .id(&member.account_id)
                    .status(MacieStatus::Enabled)
                    .send()
                    .await
                    .map_err(|error| aws_error("UpdateMemberSession", error))?;
            }
            _ => {
                // https://docs.aws.amazon.com/macie/latest/APIReference/members.html (POST /members)
                let account = AccountDetail::builder().account_id(&wanted.account_id).email(&wanted.email).build();
                client
                    .create_member()
                    .account(account)
                    .send()
                    .await
                    .map_err(|error| aws_error("CreateMember", error))
                    .with_context(|| format!("{}: adding account {}", key.label(), wanted.account_id))?;
            }
        }
    }
    Ok(())
}

/// The `baseline.macie` section in the registry.
pub struct Macie;

impl Baseline for Macie {
    fn validate(&self, checker: &mut Checker<'_>) {
        validate::check(checker);
    }

    fn audited_by_reader(&self) -> bool {
        true
    }

    fn family(&self) -> &'static str {
        CONTROL
    }

    fn section(&self) -> &'static str {
        "macie"
    }

    fn summary(&self) -> &'static str {
        "Macie enabled, delegated administrator, auto-enable and every existing account a member, in every region"
    }

    fn desired(&self, inputs: &Inputs<'_>) -> Vec<DesiredControl> {
        desired(inputs)
    }

    fn trusted_services(&self, spec: &Spec) -> Vec<&'static str> {
        ORGANIZATION_SERVICE.delegated.trusted_services(spec.baseline.macie.is_some())
    }

    fn permissions(&self) -> Permissions {
        // https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonmacie.html
        Permissions {
            management: Actions {
                read: &["macie2:ListOrganizationAdminAccounts"],
                write: &["macie2:EnableOrganizationAdminAccount", "iam:CreateServiceLinkedRole"],
            },
            in_account: Actions {
                read: &["macie2:GetMacieSession", "macie2:DescribeOrganizationConfiguration", "macie2:ListMembers"],
                write: &[
                    "macie2:EnableMacie",
                    "macie2:UpdateMacieSession",
                    "macie2:UpdateOrganizationConfiguration",
                    "macie2:CreateMember",
                    "macie2:UpdateMemberSession",
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
    fn frequencies_use_macie_spelling() {
        assert_eq!(frequency(MacieFindingFrequency::FifteenMinutes), "FIFTEEN_MINUTES");
        assert_eq!(frequency(MacieFindingFrequency::OneHour), "ONE_HOUR");
        assert_eq!(frequency(MacieFindingFrequency::SixHours), "SIX_HOURS");
    }
}
