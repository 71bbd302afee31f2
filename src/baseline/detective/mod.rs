//! `baseline.detective`: Amazon Detective organization-wide, in every region of
//! `organization.regions`.
//!
//! Controls per region: `detective/admin` in the management account (the Detective administrator,
//! designated through Detective's own API from the management account; designating it enables
//! Detective there and creates its behavior graph, so there is no control of its own for that);
//! `detective/organization_configuration` in the admin account (`AutoEnable`: organization
//! accounts that join later become members); `detective/members` in the admin account (every
//! other account of the spec an enabled member of the organization behavior graph: `AutoEnable`
//! covers only new accounts, so existing ones are enabled with CreateMembers — organization
//! accounts are enabled by it, not invited).
//!
//! Prerequisites: the current user guide asks only for the Detective IAM permissions (and a recent
//! AWS CLI); older guides asked for GuardDuty enabled for 48 hours first, today's does not, so
//! this baseline does not wait for `baseline.guardduty`:
//! https://docs.aws.amazon.com/detective/latest/userguide/detective-prerequisites.html
//!
//! It never disables Detective, never removes a member and never replaces an administrator it
//! finds (refused with a hint). Members outside the spec are neither read nor touched.
//! API: https://docs.aws.amazon.com/detective/latest/APIReference/API_Operations.html

mod import;
mod validate;

use anyhow::{bail, Context as _, Result};
use aws_sdk_detective::types::{Account, MemberStatus};
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
use crate::spec::Spec;

pub const CONTROL: &str = "detective";
pub const SERVICE: &str = "detective.amazonaws.com";
pub const ADMIN: &str = "detective/admin";
pub const ORGANIZATION: &str = "detective/organization_configuration";
pub const MEMBERS: &str = "detective/members";

/// CreateMembers takes at most 50 accounts a call.
/// https://docs.aws.amazon.com/detective/latest/APIReference/API_CreateMembers.html
const CREATE_MEMBERS_BATCH: usize = 50;

/// `detective/admin`: the region's Detective administrator.
pub use super::organization_service::AdminAttributes;

/// `detective/organization_configuration`: organization accounts enabled as members as they join.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrganizationAttributes {
    pub auto_enable: bool,
}

/// `detective/members`: the spec's accounts as members of the organization behavior graph, in the
/// spec's order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MembersAttributes {
    pub members: Vec<MemberAttributes>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberAttributes {
    pub account_id: String,
    /// Sent with CreateMembers (the SDK requires it; AWS does not need it for organization
    /// accounts), not compared: the reader carries the spec's.
    pub email: String,
    /// The member contributes data to the graph (`ENABLED`, or `VERIFICATION_IN_PROGRESS` on its
    /// way there); false for `ACCEPTED_BUT_DISABLED` and the invitation states.
    pub enabled: bool,
}

/// Detective as an organization-wide service with a delegated administrator: designating the
/// administrator enables Detective there and creates its behavior graph
/// (https://docs.aws.amazon.com/detective/latest/APIReference/API_EnableOrganizationAdminAccount.html),
/// so, like Inspector, it has no `enabled` control.
pub const ORGANIZATION_SERVICE: OrganizationService = OrganizationService {
    delegated: Delegated { principal: SERVICE, registration: Registration::ServiceApi },
    enabled: None,
    administrator: Control {
        name: ADMIN,
        needs: &[
            "detective:EnableOrganizationAdminAccount",
            // Detective registers the administrator with Organizations itself.
            "organizations:EnableAWSServiceAccess",
            "organizations:RegisterDelegatedAdministrator",
        ],
    },
    organization: Control {
        name: ORGANIZATION,
        needs: &["detective:ListGraphs", "detective:UpdateOrganizationConfiguration"],
    },
    members: Control {
        name: MEMBERS,
        needs: &["detective:ListGraphs", "detective:CreateMembers", "detective:StartMonitoringMember"],
    },
    members_after: &[After::Administrator],
};

pub fn desired(inputs: &Inputs<'_>) -> Vec<DesiredControl> {
    // Without a management account there is nobody to delegate from; `validate` demands one.
    let (Some(detective), Some(management)) =
        (&inputs.spec.baseline.detective, &inputs.spec.organization.management_account)
    else {
        return Vec::new();
    };
    let admin = detective.admin_account.as_str();
    let accounts = Accounts { management, administrator: admin };
    let members = MembersAttributes {
        members: inputs
            .accounts
            .iter()
            .filter(|account| !account.close && account.name != admin)
            .map(|account| MemberAttributes {
                account_id: format!("{{{{account:{}}}}}", account.name),
                email: account.email.to_lowercase(),
                enabled: true,
            })
            .collect(),
    };
    let members = (!members.members.is_empty()).then(|| encode(&members));
    let mut controls = Vec::new();
    for region in inputs.regions() {
        let attributes = RegionAttributes {
            enabled: Value::Null,
            organization: encode(&OrganizationAttributes { auto_enable: true }),
            members: members.clone(),
        };
        controls.extend(ORGANIZATION_SERVICE.region_controls(&accounts, region, attributes));
    }
    controls
}

pub async fn read(context: &Context<'_>, key: &ControlKey, desired: &Value) -> Result<Option<Value>> {
    let client = context
        .sessions
        .client::<aws_sdk_detective::Client>(context.account_id(&key.account)?, key.region.as_deref())
        .await;
    match key.control.as_str() {
        ADMIN => organization_service::read_administrator(&client).await,
        ORGANIZATION => read_organization_configuration(&client).await,
        MEMBERS => read_members(&client, &decode(key, desired)?).await,
        other => bail!("unknown control `{other}`"),
    }
}

pub async fn apply(context: &Context<'_>, key: &ControlKey, attributes: &Value) -> Result<()> {
    let client = context
        .sessions
        .client::<aws_sdk_detective::Client>(context.account_id(&key.account)?, key.region.as_deref())
        .await;
    let region = key.region.as_deref().unwrap_or_default();
    match key.control.as_str() {
        ADMIN => {
            let desired: AdminAttributes = decode(key, attributes)?;
            organization_service::apply_administrator(&client, region, &desired.admin_account_id).await
        }
        ORGANIZATION => {
            let graph = administrator_graph(&client, key).await?;
            apply_organization_configuration(&client, &graph, &decode(key, attributes)?).await
        }
        MEMBERS => {
            let graph = administrator_graph(&client, key).await?;
            apply_members(&client, &graph, key, &decode(key, attributes)?).await
        }
        other => bail!("unknown control `{other}`"),
    }
}

impl AdministratorApi for aws_sdk_detective::Client {
    fn enabled_administrator(&self) -> BoxFuture<'_, Result<Option<String>>> {
        Box::pin(async move {
            let mut pages = self.list_organization_admin_accounts().into_paginator().send();
            while let Some(page) = pages.next().await {
                // https://docs.aws.amazon.com/detective/latest/APIReference/API_ListOrganizationAdminAccounts.html
                // (no status: an administrator listed is the region's administrator).
                let page = page.map_err(|error| aws_error("ListOrganizationAdminAccounts", error))?;
                if let Some(admin) =
                    page.administrators.unwrap_or_default().into_iter().find_map(|admin| admin.account_id)
                {
                    return Ok(Some(admin));
                }
            }
            Ok(None)
        })
    }

    fn enable_administrator<'a>(&'a self, account_id: &'a str) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            // https://docs.aws.amazon.com/detective/latest/APIReference/API_EnableOrganizationAdminAccount.html
            self.enable_organization_admin_account()
                .account_id(account_id)
                .send()
                .await
                .map_err(|error| aws_error("EnableOrganizationAdminAccount", error))?;
            Ok(())
        })
    }

    fn another_administrator(&self, region: &str, current: &str, wanted: &str) -> anyhow::Error {
        // DisableOrganizationAdminAccount takes no account: it removes the region's administrator
        // and deletes the organization behavior graph.
        // https://docs.aws.amazon.com/detective/latest/APIReference/API_DisableOrganizationAdminAccount.html
        anyhow::anyhow!(
            "Amazon Detective in {region} already has account {current} as administrator, not {wanted}; landing-zone does not replace an administrator\nhint: run `aws detective disable-organization-admin-account --region {region}` from the management account deliberately (it deletes the organization behavior graph), or set `baseline.detective.admin_account` to that account"
        )
    }
}

/// The behavior graph the caller administers in its region; None without one. An account
/// administers at most one graph a region, so the list holds one at most.
/// https://docs.aws.amazon.com/detective/latest/APIReference/API_ListGraphs.html
pub async fn graph_of(client: &aws_sdk_detective::Client) -> Result<Option<String>> {
    let mut pages = client.list_graphs().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|error| aws_error("ListGraphs", error))?;
        if let Some(arn) = page.graph_list.unwrap_or_default().into_iter().find_map(|graph| graph.arn) {
            return Ok(Some(arn));
        }
    }
    Ok(None)
}

/// The administrator's graph, for a write that needs it; an error while the account has none
/// (not the administrator yet).
async fn administrator_graph(client: &aws_sdk_detective::Client, key: &ControlKey) -> Result<String> {
    graph_of(client).await?.ok_or_else(|| {
        anyhow::anyhow!(
            "{}: account `{}` has no Detective behavior graph: it is not Detective's administrator in {} yet",
            key.label(),
            key.account,
            key.region.as_deref().unwrap_or_default()
        )
    })
}

/// `{ auto_enable }` as the administrator reads it; None while the account has no graph or is not
/// the organization's administrator.
pub async fn read_organization_configuration(client: &aws_sdk_detective::Client) -> Result<Option<Value>> {
    let Some(graph) = graph_of(client).await? else { return Ok(None) };
    // https://docs.aws.amazon.com/detective/latest/APIReference/API_DescribeOrganizationConfiguration.html
    match client.describe_organization_configuration().graph_arn(&graph).send().await {
        Ok(configuration) => Ok(Some(encode(&OrganizationAttributes { auto_enable: configuration.auto_enable }))),
        // A graph of its own, but not the organization's: "Can only be called by the Detective
        // administrator account for the organization" (AccessDeniedException).
        Err(error) if errors::is_access_denied(&error) => Ok(None),
        Err(error) => Err(aws_error("DescribeOrganizationConfiguration", error)),
    }
}

pub async fn apply_organization_configuration(
    client: &aws_sdk_detective::Client,
    graph: &str,
    desired: &OrganizationAttributes,
) -> Result<()> {
    // https://docs.aws.amazon.com/detective/latest/APIReference/API_UpdateOrganizationConfiguration.html
    client
        .update_organization_configuration()
        .graph_arn(graph)
        .auto_enable(desired.auto_enable)
        .send()
        .await
        .map_err(|error| aws_error("UpdateOrganizationConfiguration", error))?;
    Ok(())
}

/// Every member of the graph: account id -> its status. For the organization behavior graph the
/// list leaves out organization accounts that are not enabled as members.
/// https://docs.aws.amazon.com/detective/latest/APIReference/API_ListMembers.html
async fn list_members(client: &aws_sdk_detective::Client, graph: &str) -> Result<Vec<(String, MemberStatus)>> {
    let mut members = Vec::new();
    let mut pages = client.list_members().graph_arn(graph).into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|error| aws_error("ListMembers", error))?;
        for member in page.member_details.unwrap_or_default() {
            if let (Some(account_id), Some(status)) = (member.account_id, member.status) {
                members.push((account_id, status));
            }
        }
    }
    Ok(members)
}

/// Contributing data, or verified on its way to it.
fn is_enabled(status: &MemberStatus) -> bool {
    matches!(status, MemberStatus::Enabled | MemberStatus::VerificationInProgress)
}

/// The spec's accounts, in the spec's order, each `enabled` when it is an enabled member of the
/// graph (so only a difference in membership is a change, and `audit` can name the others). None
/// while the account has no graph.
pub async fn read_members(client: &aws_sdk_detective::Client, desired: &MembersAttributes) -> Result<Option<Value>> {
    let Some(graph) = graph_of(client).await? else { return Ok(None) };
    let live = match list_members(client, &graph).await {
        Ok(live) => live,
        Err(error) if errors::is_access_denied_failure(&error) => return Ok(None),
        Err(error) => return Err(error),
    };
    let members = desired
        .members
        .iter()
        .filter(|wanted| !has_placeholders(&Value::String(wanted.account_id.clone())))
        .map(|wanted| {
            let status = live.iter().find(|(account_id, _)| account_id == &wanted.account_id).map(|(_, status)| status);
            MemberAttributes { enabled: status.is_some_and(is_enabled), ..wanted.clone() }
        })
        .collect();
    Ok(Some(encode(&MembersAttributes { members })))
}

/// Enables the missing organization accounts as members (CreateMembers, 50 a call) and restarts
/// data ingestion for members `ACCEPTED_BUT_DISABLED` (StartMonitoringMember); never removes one.
/// An account Detective could not process is an error naming it and AWS's reason.
pub async fn apply_members(
    client: &aws_sdk_detective::Client,
    graph: &str,
    key: &ControlKey,
    desired: &MembersAttributes,
) -> Result<()> {
    let live = list_members(client, graph).await?;
    let mut missing = Vec::new();
    for wanted in &desired.members {
        match live.iter().find(|(account_id, _)| account_id == &wanted.account_id).map(|(_, status)| status) {
            None => missing.push(wanted),
            Some(status) if is_enabled(status) => {}
            Some(MemberStatus::AcceptedButDisabled) => {
                // https://docs.aws.amazon.com/detective/latest/APIReference/API_StartMonitoringMember.html
                client
                    .start_monitoring_member()
                    .graph_arn(graph)
                    .account_id(&wanted.account_id)
                    .send()
                    .await
                    .map_err(|error| aws_error("StartMonitoringMember", error))
                    .with_context(|| format!("{}: account {}", key.label(), wanted.account_id))?;
            }
            Some(status) => bail!(
                "{}: account {} is a Detective member with status {}, which landing-zone cannot enable\nhint: remove it from the behavior graph (`aws detective delete-members`) so that it is enabled as an organization account",
                key.label(),
                wanted.account_id,
                status.as_str()
            ),
        }
    }
    for batch in missing.chunks(CREATE_MEMBERS_BATCH) {
        let accounts = batch
            .iter()
            .map(|member| Account::builder().account_id(&member.account_id).email_address(&member.email).build())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|error| anyhow::anyhow!("{}: {error}", key.label()))?;
        // https://docs.aws.amazon.com/detective/latest/APIReference/API_CreateMembers.html
        let output = client
            .create_members()
            .graph_arn(graph)
            .set_accounts(Some(accounts))
            .send()
            .await
            .map_err(|error| aws_error("CreateMembers", error))?;
        if let Some(unprocessed) = output.unprocessed_accounts.unwrap_or_default().first() {
            bail!(
                "{}: Amazon Detective could not enable account {} as a member: {}",
                key.label(),
                unprocessed.account_id.as_deref().unwrap_or("?"),
                unprocessed.reason.as_deref().unwrap_or("no reason given")
            );
        }
    }
    Ok(())
}

/// The `baseline.detective` section in the registry.
pub struct Detective;

impl Baseline for Detective {
    fn validate(&self, checker: &mut Checker<'_>) {
        validate::check(checker);
    }

    fn audited_by_reader(&self) -> bool {
        true
    }

    fn audit_detail(&self, key: &ControlKey, live: &Value) -> Option<String> {
        if key.control != MEMBERS {
            return None;
        }
        let live: MembersAttributes = serde_json::from_value(live.clone()).ok()?;
        let without: Vec<&str> =
            live.members.iter().filter(|member| !member.enabled).map(|member| member.account_id.as_str()).collect();
        (!without.is_empty()).then(|| format!("accounts not enabled as Detective members here: {}", without.join(", ")))
    }

    fn family(&self) -> &'static str {
        CONTROL
    }

    fn section(&self) -> &'static str {
        "detective"
    }

    fn summary(&self) -> &'static str {
        "Detective administrator and its behavior graph, auto-enable and every existing account an enabled member, in every region"
    }

    fn desired(&self, inputs: &Inputs<'_>) -> Vec<DesiredControl> {
        desired(inputs)
    }

    fn trusted_services(&self, spec: &Spec) -> Vec<&'static str> {
        ORGANIZATION_SERVICE.delegated.trusted_services(spec.baseline.detective.is_some())
    }

    fn permissions(&self) -> Permissions {
        // https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazondetective.html
        Permissions {
            management: Actions {
                read: &["detective:ListOrganizationAdminAccounts"],
                write: &[
                    "detective:EnableOrganizationAdminAccount",
                    "organizations:EnableAWSServiceAccess",
                    "organizations:RegisterDelegatedAdministrator",
                ],
            },
            in_account: Actions {
                read: &["detective:ListGraphs", "detective:DescribeOrganizationConfiguration", "detective:ListMembers"],
                write: &[
                    "detective:UpdateOrganizationConfiguration",
                    "detective:CreateMembers",
                    "detective:StartMonitoringMember",
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
    fn enrolled_members_are_enabled_or_being_verified() {
        assert!(is_enabled(&MemberStatus::Enabled));
        assert!(is_enabled(&MemberStatus::VerificationInProgress));
        for status in ["ACCEPTED_BUT_DISABLED", "INVITED", "VERIFICATION_FAILED"] {
            assert!(!is_enabled(&MemberStatus::from(status)), "{status}");
        }
    }
}
