//! `baseline.inspector`: Amazon Inspector organization-wide, in every region of
//! `organization.regions`.
//!
//! Controls per region: `inspector/admin` in the management account (the delegated
//! administrator, designated through Inspector's own API from the management account);
//! `inspector/organization_configuration` in the admin account (the scan types auto-enabled for
//! accounts that join later); `inspector/accounts` in the admin account (every account of the spec
//! an associated member with the spec's scan types enabled: auto-enable covers only new accounts,
//! so existing ones are associated with AssociateMember and enabled with Enable).
//!
//! It never disables a scan type, never disassociates a member and never replaces a delegated
//! administrator it finds (refused with a hint). Scan types outside the spec and accounts outside
//! the spec are neither read nor touched.
//! API: https://docs.aws.amazon.com/inspector/v2/APIReference/API_Operations.html

mod import;
mod validate;

use anyhow::{bail, Result};
use aws_sdk_inspector2::types::{AutoEnable, ResourceScanType, ResourceState, State};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::attributes::{decode, encode};
use super::organization_service::{
    self, Accounts, AdministratorApi, After, Control, Delegated, OrganizationService, RegionAttributes, Registration,
};
use super::{aws_error, Actions, Baseline, BoxFuture, Context, Permissions};
use crate::aws::errors;
use crate::plan::control::{has_placeholders, ControlKey, DesiredControl, Inputs};
use crate::spec::validate::Checker;
use crate::spec::{InspectorScan, Spec};

pub const CONTROL: &str = "inspector";
pub const SERVICE: &str = "inspector2.amazonaws.com";
pub const ADMIN: &str = "inspector/admin";
pub const ORGANIZATION: &str = "inspector/organization_configuration";
pub const ACCOUNTS: &str = "inspector/accounts";

/// BatchGetAccountStatus takes at most 10 account ids a call.
/// https://docs.aws.amazon.com/inspector/v2/APIReference/API_BatchGetAccountStatus.html
const STATUS_BATCH: usize = 10;

/// `inspector/admin`: the region's delegated administrator.
pub use super::organization_service::AdminAttributes;

/// `inspector/organization_configuration`: the scan types auto-enabled for new members.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrganizationAttributes {
    pub ec2: bool,
    pub ecr: bool,
    pub lambda: bool,
    pub lambda_code: bool,
}

/// `inspector/accounts`: the spec's accounts, in the spec's order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountsAttributes {
    pub accounts: Vec<AccountAttributes>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountAttributes {
    pub account_id: String,
    /// An associated member of the administrator (the administrator itself counts as one).
    pub associated: bool,
    /// The spec's scan types that are enabled (or enabling) there, in the spec's order.
    pub scans: Vec<String>,
}

fn scan_name(scan: InspectorScan) -> &'static str {
    match scan {
        InspectorScan::Ec2 => "EC2",
        InspectorScan::Ecr => "ECR",
        InspectorScan::Lambda => "LAMBDA",
        InspectorScan::LambdaCode => "LAMBDA_CODE",
    }
}

/// The state of one scan type in a ResourceState.
fn scan_state<'a>(state: &'a ResourceState, scan: &str) -> Option<&'a State> {
    match scan {
        "EC2" => state.ec2.as_ref(),
        "ECR" => state.ecr.as_ref(),
        "LAMBDA" => state.lambda.as_ref(),
        "LAMBDA_CODE" => state.lambda_code.as_ref(),
        _ => None,
    }
}

/// Inspector as an organization-wide service with a delegated administrator: designating the
/// administrator enables it there, so it has no control of its own for that; its members control is
/// `inspector/accounts` (associated, with the spec's scan types enabled).
pub const ORGANIZATION_SERVICE: OrganizationService = OrganizationService {
    delegated: Delegated { principal: SERVICE, registration: Registration::ServiceApi },
    enabled: None,
    administrator: Control {
        name: ADMIN,
        needs: &[
            "inspector2:EnableDelegatedAdminAccount",
            "organizations:EnableAWSServiceAccess",
            "organizations:RegisterDelegatedAdministrator",
        ],
    },
    organization: Control { name: ORGANIZATION, needs: &["inspector2:UpdateOrganizationConfiguration"] },
    members: Control { name: ACCOUNTS, needs: &["inspector2:AssociateMember", "inspector2:Enable"] },
    members_after: &[After::Administrator],
};

pub fn desired(inputs: &Inputs<'_>) -> Vec<DesiredControl> {
    // Without a management account there is nobody to delegate from; `validate` demands one.
    let (Some(inspector), Some(management)) =
        (&inputs.spec.baseline.inspector, &inputs.spec.organization.management_account)
    else {
        return Vec::new();
    };
    let admin = inspector.admin_account.as_str();
    let wants = |scan: InspectorScan| inspector.scan.contains(&scan);
    let organization = OrganizationAttributes {
        ec2: wants(InspectorScan::Ec2),
        ecr: wants(InspectorScan::Ecr),
        lambda: wants(InspectorScan::Lambda),
        lambda_code: wants(InspectorScan::LambdaCode),
    };
    let scans: Vec<String> = inspector.scan.iter().map(|scan| scan_name(*scan).to_string()).collect();
    let accounts_attributes = AccountsAttributes {
        accounts: inputs
            .accounts
            .iter()
            .filter(|account| !account.close)
            .map(|account| AccountAttributes {
                account_id: format!("{{{{account:{}}}}}", account.name),
                associated: true,
                scans: scans.clone(),
            })
            .collect(),
    };
    let accounts = Accounts { management, administrator: admin };
    let accounts_attributes = (!scans.is_empty()).then(|| encode(&accounts_attributes));
    let mut controls = Vec::new();
    for region in inputs.regions() {
        let attributes = RegionAttributes {
            enabled: Value::Null,
            organization: encode(&organization),
            members: accounts_attributes.clone(),
        };
        controls.extend(ORGANIZATION_SERVICE.region_controls(&accounts, region, attributes));
    }
    controls
}

pub async fn read(context: &Context<'_>, key: &ControlKey, desired: &Value) -> Result<Option<Value>> {
    let client = context
        .sessions
        .client::<aws_sdk_inspector2::Client>(context.account_id(&key.account)?, key.region.as_deref())
        .await;
    match key.control.as_str() {
        ADMIN => read_admin(&client).await,
        ORGANIZATION => read_organization_configuration(&client).await,
        ACCOUNTS => {
            let admin_id = context.account_id(&key.account)?;
            read_accounts(&client, admin_id, &decode(key, desired)?).await
        }
        other => bail!("unknown control `{other}`"),
    }
}

pub async fn apply(context: &Context<'_>, key: &ControlKey, attributes: &Value) -> Result<()> {
    let client = context
        .sessions
        .client::<aws_sdk_inspector2::Client>(context.account_id(&key.account)?, key.region.as_deref())
        .await;
    let region = key.region.as_deref().unwrap_or_default();
    match key.control.as_str() {
        ADMIN => apply_admin(&client, region, &decode(key, attributes)?).await,
        ORGANIZATION => apply_organization_configuration(&client, &decode(key, attributes)?).await,
        ACCOUNTS => {
            let admin_id = context.account_id(&key.account)?;
            apply_accounts(&client, admin_id, &decode(key, attributes)?).await
        }
        other => bail!("unknown control `{other}`"),
    }
}

/// The region's delegated administrator (whoever it is); None without one.
pub async fn read_admin(client: &aws_sdk_inspector2::Client) -> Result<Option<Value>> {
    organization_service::read_administrator(client).await
}

/// Designates the delegated administrator; refuses to replace another one (read afresh).
pub async fn apply_admin(client: &aws_sdk_inspector2::Client, region: &str, desired: &AdminAttributes) -> Result<()> {
    organization_service::apply_administrator(client, region, &desired.admin_account_id).await
}

impl AdministratorApi for aws_sdk_inspector2::Client {
    fn enabled_administrator(&self) -> BoxFuture<'_, Result<Option<String>>> {
        Box::pin(async move {
            let mut pages = self.list_delegated_admin_accounts().into_paginator().send();
            while let Some(page) = pages.next().await {
                // https://docs.aws.amazon.com/inspector/v2/APIReference/API_ListDelegatedAdminAccounts.html
                let page = page.map_err(|error| aws_error("ListDelegatedAdminAccounts", error))?;
                // DISABLE_IN_PROGRESS is on its way out: it is not the administrator any more.
                let enabled =
                    page.delegated_admin_accounts.unwrap_or_default().into_iter().find_map(|admin| {
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
            // https://docs.aws.amazon.com/inspector/v2/APIReference/API_EnableDelegatedAdminAccount.html
            match self.enable_delegated_admin_account().delegated_admin_account_id(account_id).send().await {
                Ok(_) => Ok(()),
                // "ConflictException: ... already the delegated administrator" on a retried call.
                Err(error) if errors::is_conflict(&error) => Ok(()),
                Err(error) => Err(aws_error("EnableDelegatedAdminAccount", error)),
            }
        })
    }

    fn another_administrator(&self, region: &str, current: &str, wanted: &str) -> anyhow::Error {
        anyhow::anyhow!(
            "Amazon Inspector in {region} already has account {current} as delegated administrator, not {wanted}; landing-zone does not replace a delegated administrator\nhint: run `aws inspector2 disable-delegated-admin-account --delegated-admin-account-id {current} --region {region}` from the management account deliberately, or set `baseline.inspector.admin_account` to that account"
        )
    }
}

/// The auto-enabled scan types, as the administrator reads them; None while the account is not
/// the administrator.
pub async fn read_organization_configuration(client: &aws_sdk_inspector2::Client) -> Result<Option<Value>> {
    // https://docs.aws.amazon.com/inspector/v2/APIReference/API_DescribeOrganizationConfiguration.html
    let configuration = match client.describe_organization_configuration().send().await {
        Ok(configuration) => configuration,
        Err(error) if errors::is_access_denied(&error) || errors::is_validation(&error) => return Ok(None),
        Err(error) => return Err(aws_error("DescribeOrganizationConfiguration", error)),
    };
    let Some(auto) = configuration.auto_enable else { return Ok(None) };
    Ok(Some(encode(&OrganizationAttributes {
        ec2: auto.ec2,
        ecr: auto.ecr,
        lambda: auto.lambda.unwrap_or(false),
        lambda_code: auto.lambda_code.unwrap_or(false),
    })))
}

pub async fn apply_organization_configuration(
    client: &aws_sdk_inspector2::Client,
    desired: &OrganizationAttributes,
) -> Result<()> {
    let auto_enable = AutoEnable::builder()
        .ec2(desired.ec2)
        .ecr(desired.ecr)
        .lambda(desired.lambda)
        .lambda_code(desired.lambda_code)
        .build()
        .map_err(|error| anyhow::anyhow!("Inspector auto-enable: {error}"))?;
    // https://docs.aws.amazon.com/inspector/v2/APIReference/API_UpdateOrganizationConfiguration.html
    client
        .update_organization_configuration()
        .auto_enable(auto_enable)
        .send()
        .await
        .map_err(|error| aws_error("UpdateOrganizationConfiguration", error))?;
    Ok(())
}

/// Account ids that are associated members of the administrator.
async fn associated_members(client: &aws_sdk_inspector2::Client) -> Result<Option<Vec<String>>> {
    let mut members = Vec::new();
    let mut pages = client.list_members().only_associated(true).into_paginator().send();
    while let Some(page) = pages.next().await {
        // https://docs.aws.amazon.com/inspector/v2/APIReference/API_ListMembers.html
        let page = match page {
            Ok(page) => page,
            // Not (yet) the administrator.
            Err(error) if errors::is_access_denied(&error) => return Ok(None),
            Err(error) => return Err(aws_error("ListMembers", error)),
        };
        members.extend(
            page.members
                .unwrap_or_default()
                .into_iter()
                .filter(|member| member.relationship_status.as_ref().is_some_and(|status| status.as_str() == "ENABLED"))
                .filter_map(|member| member.account_id),
        );
    }
    Ok(Some(members))
}

/// Each account's `(id, resource state)`, read as the administrator, 10 ids a call.
async fn resource_states(client: &aws_sdk_inspector2::Client, ids: &[String]) -> Result<Vec<(String, ResourceState)>> {
    let mut states = Vec::new();
    for batch in ids.chunks(STATUS_BATCH) {
        // https://docs.aws.amazon.com/inspector/v2/APIReference/API_BatchGetAccountStatus.html
        let output = client
            .batch_get_account_status()
            .set_account_ids(Some(batch.to_vec()))
            .send()
            .await
            .map_err(|error| aws_error("BatchGetAccountStatus", error))?;
        states.extend(
            output.accounts.into_iter().filter_map(|account| Some((account.account_id, account.resource_state?))),
        );
    }
    Ok(states)
}

/// The spec's accounts as the administrator sees them, in the spec's order; None while the account
/// is not the administrator.
pub async fn read_accounts(
    client: &aws_sdk_inspector2::Client,
    admin_id: &str,
    desired: &AccountsAttributes,
) -> Result<Option<Value>> {
    let Some(members) = associated_members(client).await? else { return Ok(None) };
    let known: Vec<&AccountAttributes> = desired
        .accounts
        .iter()
        .filter(|account| !has_placeholders(&Value::String(account.account_id.clone())))
        .collect();
    let ids: Vec<String> = known.iter().map(|account| account.account_id.clone()).collect();
    let states = resource_states(client, &ids).await?;
    let accounts = known
        .iter()
        .map(|wanted| {
            let state = states.iter().find(|(id, _)| id == &wanted.account_id).map(|(_, state)| state);
            let scans = wanted
                .scans
                .iter()
                .filter(|scan| {
                    state
                        .and_then(|state| scan_state(state, scan))
                        .is_some_and(|state| matches!(state.status.as_str(), "ENABLED" | "ENABLING"))
                })
                .cloned()
                .collect();
            AccountAttributes {
                associated: wanted.account_id == admin_id || members.contains(&wanted.account_id),
                account_id: wanted.account_id.clone(),
                scans,
            }
        })
        .collect();
    Ok(Some(encode(&AccountsAttributes { accounts })))
}

/// Associates the accounts that are not members yet, then enables the missing scan types (never
/// disables one). A refusal for an account (`failedAccounts`) is an error naming it.
pub async fn apply_accounts(
    client: &aws_sdk_inspector2::Client,
    admin_id: &str,
    desired: &AccountsAttributes,
) -> Result<()> {
    let members = associated_members(client)
        .await?
        .ok_or_else(|| anyhow::anyhow!("account {admin_id} is not the Inspector delegated administrator yet"))?;
    for account in &desired.accounts {
        if account.account_id != admin_id && !members.contains(&account.account_id) {
            // https://docs.aws.amazon.com/inspector/v2/APIReference/API_AssociateMember.html
            client
                .associate_member()
                .account_id(&account.account_id)
                .send()
                .await
                .map_err(|error| aws_error("AssociateMember", error))?;
        }
    }
    let ids: Vec<String> = desired.accounts.iter().map(|account| account.account_id.clone()).collect();
    let states = resource_states(client, &ids).await?;
    for account in &desired.accounts {
        let state = states.iter().find(|(id, _)| id == &account.account_id).map(|(_, state)| state);
        let missing: Vec<ResourceScanType> = account
            .scans
            .iter()
            .filter(|scan| {
                !state
                    .and_then(|state| scan_state(state, scan))
                    .is_some_and(|state| matches!(state.status.as_str(), "ENABLED" | "ENABLING"))
            })
            .map(|scan| ResourceScanType::from(scan.as_str()))
            .collect();
        if missing.is_empty() {
            continue;
        }
        // https://docs.aws.amazon.com/inspector/v2/APIReference/API_Enable.html
        let output = client
            .enable()
            .account_ids(&account.account_id)
            .set_resource_types(Some(missing))
            .send()
            .await
            .map_err(|error| aws_error("Enable", error))?;
        if let Some(failed) = output.failed_accounts.unwrap_or_default().first() {
            bail!(
                "Amazon Inspector refused to enable scanning in account {}: {} ({})",
                failed.account_id,
                failed.error_code.as_str(),
                failed.error_message
            );
        }
    }
    Ok(())
}

/// The `baseline.inspector` section in the registry.
pub struct Inspector;

impl Baseline for Inspector {
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
        "inspector"
    }

    fn summary(&self) -> &'static str {
        "Inspector delegated administrator, auto-enabled scan types and every existing account scanned, in every region"
    }

    fn desired(&self, inputs: &Inputs<'_>) -> Vec<DesiredControl> {
        desired(inputs)
    }

    fn trusted_services(&self, spec: &Spec) -> Vec<&'static str> {
        ORGANIZATION_SERVICE.delegated.trusted_services(spec.baseline.inspector.is_some())
    }

    fn permissions(&self) -> Permissions {
        // https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoninspector2.html
        Permissions {
            management: Actions {
                read: &["inspector2:ListDelegatedAdminAccounts"],
                write: &["inspector2:EnableDelegatedAdminAccount", "iam:CreateServiceLinkedRole"],
            },
            in_account: Actions {
                read: &[
                    "inspector2:DescribeOrganizationConfiguration",
                    "inspector2:ListMembers",
                    "inspector2:BatchGetAccountStatus",
                ],
                write: &[
                    "inspector2:UpdateOrganizationConfiguration",
                    "inspector2:AssociateMember",
                    "inspector2:Enable",
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
    fn scan_types_use_inspector_spelling() {
        let names: Vec<&str> =
            [InspectorScan::Ec2, InspectorScan::Ecr, InspectorScan::Lambda, InspectorScan::LambdaCode]
                .into_iter()
                .map(scan_name)
                .collect();
        assert_eq!(names, ["EC2", "ECR", "LAMBDA", "LAMBDA_CODE"]);
        assert!(names.iter().all(|name| ResourceScanType::values().contains(name)), "every name is one the SDK knows");
    }
}
