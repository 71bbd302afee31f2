//! Sharing `network.transit_gateways` through AWS RAM, for the VPCs of other accounts to attach.
//!
//! Two controls:
//!
//! - `network/ram_sharing` in the management account: resource sharing with the organization is
//!   on, so that a share can name OUs and reaches the organization's accounts without
//!   invitations. It is enabled with RAM's EnableSharingWithAwsOrganization ("You must call this
//!   operation from an IAM role or user in the organization's management account"; it creates
//!   RAM's service-linked role, which enabling trusted access through Organizations alone would
//!   not: https://docs.aws.amazon.com/ram/latest/APIReference/API_EnableSharingWithAwsOrganization.html).
//!   RAM has no call that reads the setting back; it is read as Organizations' trusted access for
//!   `ram.amazonaws.com` (the integration that call sets up; RAM is among the services
//!   Organizations lists there:
//!   https://docs.aws.amazon.com/organizations/latest/APIReference/API_ListAWSServiceAccessForOrganization.html).
//!   Nothing turns it off again.
//! - `network/transit_gateway_share/<name>` in the gateway's account and Region: a resource share
//!   named `landing-zone-<name>`, tagged with landing-zone's ownership tag and [`SHARE_TAG`] =
//!   the gateway's name and found by them (an interrupted apply is adopted, nothing is made
//!   twice), holding the gateway's ARN, with `allowExternalPrincipals: false` (only principals of
//!   the organization), shared with the gateway's `share_with`: OUs by their ARN
//!   (`arn:aws:organizations::<management>:ou/<org id>/<ou id>`), `Root` as the organization's
//!   ARN, accounts by their id
//!   (https://docs.aws.amazon.com/ram/latest/APIReference/API_CreateResourceShare.html). A
//!   principal disassociated by hand is associated again, one the spec drops is disassociated
//!   (https://docs.aws.amazon.com/ram/latest/APIReference/API_AssociateResourceShare.html,
//!   https://docs.aws.amazon.com/ram/latest/APIReference/API_DisassociateResourceShare.html).
//!
//! RAM cannot take principals out of an OU it shares with, so `share_with.exclude` is refused
//! offline (`validate`).

use std::collections::BTreeMap;

use anyhow::{bail, Result};
use aws_sdk_ram::types::{ResourceOwner, ResourceShareAssociationStatus, ResourceShareAssociationType, TagFilter};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::super::attributes::{decode, encode};
use super::super::vpcs::ec2_client;
use super::super::{aws_error, Context};
use crate::plan::control::{ControlKey, DesiredControl, Inputs};
use crate::spec::model::TransitGatewaySpec;
use crate::spec::{OWNERSHIP_TAG, OWNERSHIP_VALUE, ROOT};

/// The control of resource sharing with the organization.
pub const SHARING_CONTROL: &str = "network/ram_sharing";
/// Control names of the gateways' shares: `network/transit_gateway_share/<name>`.
pub const SHARE_PREFIX: &str = "network/transit_gateway_share/";
/// The tag naming the spec's gateway a resource share is for.
pub const SHARE_TAG: &str = "landing-zone:transit-gateway-share";
/// RAM's service principal, as Organizations lists its trusted access.
pub const RAM_SERVICE: &str = "ram.amazonaws.com";
/// How a unit is named among a share's principals (`unit Workloads/Prod`).
pub(super) const UNIT: &str = "unit ";

/// Resource sharing with the organization.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SharingAttributes {
    pub enabled: bool,
}

/// One gateway's resource share.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShareAttributes {
    /// The gateway's spec name (the [`SHARE_TAG`] value it is found by).
    pub name: String,
    /// Whether the gateway itself is in the share.
    pub shares_gateway: bool,
    /// `unit <path>` (`unit Root`: the whole organization) and account ids, in the spec's order;
    /// principals the spec does not name come last, as RAM names them.
    pub principals: Vec<String>,
}

/// The name of the share of the spec's gateway `name`.
pub fn share_name(name: &str) -> String {
    format!("landing-zone-{name}")
}

/// The sharing control, in the management account (None when the spec names none: `validate`
/// refuses a `share_with` then).
pub fn sharing_key(inputs: &Inputs<'_>) -> Option<ControlKey> {
    let management = inputs.spec.organization.management_account.as_deref()?;
    Some(ControlKey::new(SHARING_CONTROL, management, None))
}

/// The control of one gateway's share.
pub fn share_key(name: &str, gateway: &TransitGatewaySpec) -> ControlKey {
    ControlKey::new(format!("{SHARE_PREFIX}{name}"), &gateway.account, Some(&gateway.region))
}

/// The principals the spec shares `gateway` with, as the attributes name them.
fn wanted_principals(gateway: &TransitGatewaySpec) -> Vec<String> {
    let mut principals: Vec<String> = gateway.share_with.units.iter().map(|unit| format!("{UNIT}{unit}")).collect();
    principals.extend(gateway.share_with.accounts.iter().map(|account| format!("{{{{account:{account}}}}}")));
    principals.dedup();
    principals
}

pub fn desired(inputs: &Inputs<'_>) -> Vec<DesiredControl> {
    let Some(network) = &inputs.spec.network else { return Vec::new() };
    let shared: Vec<_> =
        network.transit_gateways.iter().filter(|(_, gateway)| !gateway.share_with.is_empty()).collect();
    let Some(sharing) = sharing_key(inputs).filter(|_| !shared.is_empty()) else { return Vec::new() };
    let mut controls = vec![DesiredControl::new(sharing.clone(), encode(&SharingAttributes { enabled: true }))
        .needs(&["ram:EnableSharingWithAwsOrganization"])];
    for (name, gateway) in shared {
        let attributes =
            ShareAttributes { name: name.clone(), shares_gateway: true, principals: wanted_principals(gateway) };
        controls.push(
            DesiredControl::new(share_key(name, gateway), encode(&attributes))
                .after(super::transit_gateway::key(name, gateway))
                .after(sharing.clone())
                .needs(&["ram:CreateResourceShare", "ram:AssociateResourceShare", "ram:DisassociateResourceShare"]),
        );
    }
    controls
}

async fn management_id(context: &Context<'_>) -> Result<String> {
    match context.sessions.management_account().await {
        Some(id) => Ok(id),
        None => bail!("the management account is not known"),
    }
}

/// Reads whether RAM's trusted access is on in the organization.
pub async fn read_sharing(context: &Context<'_>) -> Result<Option<Value>> {
    let management = management_id(context).await?;
    let organizations = aws_sdk_organizations::Client::new(&context.sessions.config(&management, None).await);
    let mut pages = organizations.list_aws_service_access_for_organization().into_paginator().send();
    let mut enabled = false;
    while let Some(page) = pages.next().await {
        let page = page.map_err(|error| aws_error("ListAWSServiceAccessForOrganization", error))?;
        enabled |=
            page.enabled_service_principals().iter().any(|service| service.service_principal() == Some(RAM_SERVICE));
    }
    Ok(Some(encode(&SharingAttributes { enabled })))
}

/// Enables resource sharing with the organization, from the management account.
pub async fn apply_sharing(context: &Context<'_>, key: &ControlKey, attributes: &Value) -> Result<()> {
    let wanted: SharingAttributes = decode(key, attributes)?;
    if !wanted.enabled {
        return Ok(());
    }
    let management = management_id(context).await?;
    let ram = context.sessions.client::<aws_sdk_ram::Client>(&management, None).await;
    // https://docs.aws.amazon.com/ram/latest/APIReference/API_EnableSharingWithAwsOrganization.html
    let output = ram
        .enable_sharing_with_aws_organization()
        .send()
        .await
        .map_err(|error| aws_error("EnableSharingWithAwsOrganization", error))?;
    if output.return_value() == Some(false) {
        bail!("{}: EnableSharingWithAwsOrganization returned false", key.label());
    }
    Ok(())
}

pub(super) async fn ram_client(context: &Context<'_>, key: &ControlKey) -> Result<aws_sdk_ram::Client> {
    Ok(context.sessions.client::<aws_sdk_ram::Client>(context.account_id(&key.account)?, key.region.as_deref()).await)
}

/// The active share landing-zone made for the spec's gateway `name`, found by its tags: its ARN.
/// https://docs.aws.amazon.com/ram/latest/APIReference/API_GetResourceShares.html
pub(super) async fn find_share(ram: &aws_sdk_ram::Client, name: &str) -> Result<Option<String>> {
    let mut pages = ram
        .get_resource_shares()
        .resource_owner(ResourceOwner::SelfValue)
        .resource_share_status(aws_sdk_ram::types::ResourceShareStatus::Active)
        .tag_filters(TagFilter::builder().tag_key(SHARE_TAG).tag_values(name).build())
        .into_paginator()
        .send();
    let mut found = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|error| aws_error("GetResourceShares", error))?;
        for share in page.resource_shares() {
            let owned =
                share.tags().iter().any(|tag| tag.key() == Some(OWNERSHIP_TAG) && tag.value() == Some(OWNERSHIP_VALUE));
            if owned {
                found.extend(share.resource_share_arn().map(str::to_string));
            }
        }
    }
    found.sort();
    Ok(found.into_iter().next())
}

/// The share's associated entities of one type (principals or resources), associated or on
/// their way; disassociated and failed ones aside.
/// https://docs.aws.amazon.com/ram/latest/APIReference/API_GetResourceShareAssociations.html
pub(super) async fn associated(
    ram: &aws_sdk_ram::Client,
    share_arn: &str,
    association: ResourceShareAssociationType,
) -> Result<Vec<String>> {
    let mut pages = ram
        .get_resource_share_associations()
        .association_type(association)
        .resource_share_arns(share_arn)
        .into_paginator()
        .send();
    let mut found = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|error| aws_error("GetResourceShareAssociations", error))?;
        for entry in page.resource_share_associations() {
            let live = matches!(
                entry.status(),
                Some(ResourceShareAssociationStatus::Associated | ResourceShareAssociationStatus::Associating)
            );
            if live {
                found.extend(entry.associated_entity().map(str::to_string));
            }
        }
    }
    found.sort();
    found.dedup();
    Ok(found)
}

/// The organization's principals RAM names: unit path -> ARN (`Root` -> the organization's ARN),
/// read from the management account.
/// https://docs.aws.amazon.com/organizations/latest/APIReference/API_ListOrganizationalUnitsForParent.html
pub(super) async fn unit_arns(context: &Context<'_>) -> Result<BTreeMap<String, String>> {
    let management = management_id(context).await?;
    let organizations = aws_sdk_organizations::Client::new(&context.sessions.config(&management, None).await);
    let organization =
        organizations.describe_organization().send().await.map_err(|error| aws_error("DescribeOrganization", error))?;
    let mut arns = BTreeMap::new();
    if let Some(arn) = organization.organization().and_then(|organization| organization.arn()) {
        arns.insert(ROOT.to_string(), arn.to_string());
    }
    let mut roots = organizations.list_roots().into_paginator().send();
    let mut parents: Vec<(String, String)> = Vec::new();
    while let Some(page) = roots.next().await {
        let page = page.map_err(|error| aws_error("ListRoots", error))?;
        parents.extend(page.roots().iter().filter_map(|root| root.id().map(|id| (id.to_string(), String::new()))));
    }
    while let Some((parent, path)) = parents.pop() {
        let mut pages = organizations.list_organizational_units_for_parent().parent_id(&parent).into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|error| aws_error("ListOrganizationalUnitsForParent", error))?;
            for unit in page.organizational_units() {
                let (Some(id), Some(name), Some(arn)) = (unit.id(), unit.name(), unit.arn()) else { continue };
                let unit_path = if path.is_empty() { name.to_string() } else { format!("{path}/{name}") };
                arns.insert(unit_path.clone(), arn.to_string());
                parents.push((id.to_string(), unit_path));
            }
        }
    }
    Ok(arns)
}

/// The principal RAM takes for one the attributes name.
fn principal_arn(key: &ControlKey, principal: &str, units: &BTreeMap<String, String>) -> Result<String> {
    match principal.strip_prefix(UNIT) {
        Some(path) => match units.get(path) {
            Some(arn) => Ok(arn.clone()),
            None => {
                bail!("{}: unit `{path}` is not in the organization yet\nhint: apply again once it is", key.label())
            }
        },
        None if principal.contains("{{") => {
            bail!("{}: the id of {principal} is not known yet\nhint: apply again once the account exists", key.label())
        }
        None => Ok(principal.to_string()),
    }
}

/// The gateway's ARN, when landing-zone has made it.
async fn gateway_arn(context: &Context<'_>, key: &ControlKey, name: &str) -> Result<Option<String>> {
    let ec2 = ec2_client(context, key).await?;
    Ok(super::transit_gateway::find(&ec2, name).await?.and_then(|gateway| gateway.transit_gateway_arn))
}

/// Reads the gateway's share; None when landing-zone has not made it.
pub async fn read_share(context: &Context<'_>, key: &ControlKey, desired: &Value) -> Result<Option<Value>> {
    let wanted: ShareAttributes = decode(key, desired)?;
    let ram = ram_client(context, key).await?;
    let Some(share) = find_share(&ram, &wanted.name).await? else { return Ok(None) };
    let resources = associated(&ram, &share, ResourceShareAssociationType::Resource).await?;
    let gateway = gateway_arn(context, key, &wanted.name).await?;
    let shares_gateway = gateway.is_some_and(|arn| resources.contains(&arn));
    let live = associated(&ram, &share, ResourceShareAssociationType::Principal).await?;
    let units = unit_arns(context).await?;
    let by_arn: BTreeMap<&str, String> =
        units.iter().map(|(path, arn)| (arn.as_str(), format!("{UNIT}{path}"))).collect();
    let shown: Vec<String> = live
        .iter()
        .map(|principal| by_arn.get(principal.as_str()).cloned().unwrap_or_else(|| principal.clone()))
        .collect();
    // The spec's order first, then what it does not name.
    let mut principals: Vec<String> = wanted.principals.iter().filter(|p| shown.contains(p)).cloned().collect();
    principals.extend(shown.into_iter().filter(|principal| !wanted.principals.contains(principal)));
    Ok(Some(encode(&ShareAttributes { name: wanted.name, shares_gateway, principals })))
}

/// Makes the gateway's share match `attributes`, from what it reads afresh.
pub async fn apply_share(context: &Context<'_>, key: &ControlKey, attributes: &Value) -> Result<()> {
    let wanted: ShareAttributes = decode(key, attributes)?;
    let Some(gateway) = gateway_arn(context, key, &wanted.name).await? else {
        bail!("{}: transit gateway `{}` is not there yet\nhint: apply again once it is", key.label(), wanted.name);
    };
    let units = unit_arns(context).await?;
    let mut principals = Vec::new();
    for principal in &wanted.principals {
        principals.push(principal_arn(key, principal, &units)?);
    }
    let ram = ram_client(context, key).await?;
    let Some(share) = find_share(&ram, &wanted.name).await? else {
        let tags = [(OWNERSHIP_TAG, OWNERSHIP_VALUE), (SHARE_TAG, wanted.name.as_str())]
            .map(|(key, value)| aws_sdk_ram::types::Tag::builder().key(key).value(value).build());
        // https://docs.aws.amazon.com/ram/latest/APIReference/API_CreateResourceShare.html
        ram.create_resource_share()
            .name(share_name(&wanted.name))
            .resource_arns(&gateway)
            .set_principals(Some(principals))
            .allow_external_principals(false)
            .set_tags(Some(tags.to_vec()))
            .send()
            .await
            .map_err(|error| aws_error("CreateResourceShare", error))?;
        return Ok(());
    };
    let resources = associated(&ram, &share, ResourceShareAssociationType::Resource).await?;
    let live = associated(&ram, &share, ResourceShareAssociationType::Principal).await?;
    let missing: Vec<String> = principals.iter().filter(|principal| !live.contains(principal)).cloned().collect();
    let resource_missing = !resources.contains(&gateway);
    if resource_missing || !missing.is_empty() {
        // https://docs.aws.amazon.com/ram/latest/APIReference/API_AssociateResourceShare.html
        ram.associate_resource_share()
            .resource_share_arn(&share)
            .set_resource_arns(resource_missing.then(|| vec![gateway.clone()]))
            .set_principals((!missing.is_empty()).then_some(missing))
            .send()
            .await
            .map_err(|error| aws_error("AssociateResourceShare", error))?;
    }
    let extra: Vec<String> = live.iter().filter(|principal| !principals.contains(principal)).cloned().collect();
    if !extra.is_empty() {
        // https://docs.aws.amazon.com/ram/latest/APIReference/API_DisassociateResourceShare.html
        ram.disassociate_resource_share()
            .resource_share_arn(&share)
            .set_principals(Some(extra))
            .send()
            .await
            .map_err(|error| aws_error("DisassociateResourceShare", error))?;
    }
    Ok(())
}
