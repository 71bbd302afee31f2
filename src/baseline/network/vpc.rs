//! `network.vpcs`: one control `network/vpc/<name>` in the VPC's account and Region. Its
//! attributes are the VPC's block and, per subnet tier, the subnets (one per Availability Zone,
//! in the order of the Region's zone names), the subnets associated with the tier's route table
//! and the tier's default route (`internet_gateway` for `public`).
//!
//! Everything is found by its tags, never by an id kept between runs: the VPC carries
//! landing-zone's ownership tag and [`VPC_TAG`] = its name, subnets and route tables [`TIER_TAG`]
//! as well, the internet gateway [`VPC_TAG`]. Each is created with its tags in the same call
//! (`TagSpecifications`), so an apply interrupted anywhere leaves nothing untagged: the next one
//! finds what was made and goes on, and nothing is created twice. Applying converges from what it
//! reads afresh: missing pieces are created, a subnet associated with another route table is
//! moved back (ReplaceRouteTableAssociation), a default route deleted by hand is recreated. A VPC
//! with `transit_gateway` is attached on its private subnets and its private route table routes
//! `0.0.0.0/0` to the gateway ([`attached_gateway`]). A VPC of another account than the gateway's
//! attaches to it once the gateway is shared with that account through AWS RAM (`sharing`): the
//! gateway is found by the tags landing-zone put on it, read from the gateway's own account (the
//! VPC's account is not relied on to see the owner's tags), the attachment is made from the VPC's
//! account and accepted from the gateway's, where it waits in `pendingAcceptance` ("The VPC
//! attachment must be in the `pendingAcceptance` state",
//! https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_AcceptTransitGatewayVpcAttachment.html).
//! Gateways are created with `AutoAcceptSharedAttachments` left at its default ("Enable or disable
//! automatic acceptance of attachment requests. Disabled by default.",
//! https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_TransitGatewayRequestOptions.html;
//! AWS Config's ec2-transit-gateway-auto-vpc-attach-disabled finds a gateway that auto-accepts
//! NON_COMPLIANT, https://docs.aws.amazon.com/config/latest/developerguide/ec2-transit-gateway-auto-vpc-attach-disabled.html),
//! so the hub account accepts only the attachments the spec asks for.
//!
//! A VPC landing-zone made that the spec no longer lists is found by its tags ([`find`]) and
//! planned for removal with what landing-zone made in it ([`remove`]): a removal that needs
//! `organization.allow.delete_baseline_data` and `--allow-destructive` (it takes away addresses and
//! routes others may rely on), and only while no network interface is in it — one in use is noted
//! and left. A VPC without landing-zone's tags is never touched.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{bail, Result};
use aws_sdk_ec2::types::{
    AvailabilityZoneState, Filter, InternetGateway, ResourceType, RouteTable, Subnet, Tag, TagSpecification, Vpc,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::super::attributes::{decode, encode};
use super::super::default_vpcs::network_interfaces;
use super::super::vpcs::{ec2_client, filter};
use super::super::{aws_error, Context, Found};
use super::validate::covers_account;
use crate::aws::errors::{
    describe, is_ec2_dependency_violation, is_ec2_not_found, is_ec2_route_already_exists, is_ec2_route_not_found,
};
use crate::plan::control::{ControlKey, DesiredControl, Inputs};
use crate::spec::model::{SubnetTier, TransitGatewaySpec, VpcSpec};
use crate::spec::{Spec, OWNERSHIP_TAG, OWNERSHIP_VALUE};

/// Control names: `network/vpc/<name>`.
pub const PREFIX: &str = "network/vpc/";
/// The tag naming the spec's VPC a resource belongs to.
pub const VPC_TAG: &str = "landing-zone:network-vpc";
/// The tag naming a subnet's or route table's tier.
pub const TIER_TAG: &str = "landing-zone:tier";
/// Every IPv4 address: the default route's destination.
pub const DEFAULT_ROUTE: &str = "0.0.0.0/0";
/// The default route's target as the attributes name it.
pub const INTERNET_GATEWAY: &str = "internet_gateway";

/// One VPC.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VpcAttributes {
    /// Its spec name (the [`VPC_TAG`] value it is found by).
    pub name: String,
    pub cidr_block: String,
    /// Tier (`private`, `public`) -> what it has. Only the spec's tiers.
    pub tiers: BTreeMap<String, TierAttributes>,
    /// The Transit Gateway (its spec name) the private subnets are attached to; None: none wanted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transit_gateway: Option<String>,
    /// The account (its spec name) of the Transit Gateway, when it is not the VPC's own: the
    /// gateway is found, and the attachment accepted, from there. None: the VPC's account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transit_gateway_account: Option<String>,
    /// Why a VPC the spec no longer lists must stay (the network interfaces in it); only ever set
    /// by [`find`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kept_because: Option<String>,
}

/// One subnet tier of a VPC.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TierAttributes {
    /// The tier's subnets by block, in zone order; one in another zone than its place in the
    /// spec's list gives reads `<block> in <zone>`.
    pub subnets: Vec<String>,
    /// The blocks of the subnets associated with the tier's route table, in zone order.
    pub route_table_subnets: Vec<String>,
    /// The target of the route table's `0.0.0.0/0` route; None: no default route.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_route: Option<String>,
}

/// The control of one VPC.
pub fn key(name: &str, vpc: &VpcSpec) -> ControlKey {
    ControlKey::new(format!("{PREFIX}{name}"), &vpc.account, Some(&vpc.region))
}

/// The Transit Gateway a VPC attaches to: one of its Region, in the VPC's own account or shared
/// with it through the gateway's `share_with` (validation refuses anything else).
pub fn attached_gateway<'s>(spec: &'s Spec, vpc: &VpcSpec) -> Option<(&'s str, &'s TransitGatewaySpec)> {
    let network = spec.network.as_ref()?;
    let name = vpc.transit_gateway.as_deref()?;
    let (name, gateway) = network.transit_gateways.get_key_value(name)?;
    let reachable = gateway.account == vpc.account || covers_account(spec, &gateway.share_with, &vpc.account);
    (reachable && gateway.region == vpc.region).then_some((name.as_str(), gateway))
}

/// The private route table's default route to a gateway, as the attributes name it.
fn to_transit_gateway(name: &str) -> String {
    format!("transit_gateway {name}")
}

/// The attributes the spec wants for one VPC; `gateway`: the Transit Gateway it attaches to.
pub fn wanted(name: &str, vpc: &VpcSpec, attached: Option<(&str, &TransitGatewaySpec)>) -> VpcAttributes {
    let gateway = attached.map(|(name, _)| name);
    let mut tiers = BTreeMap::new();
    for (tier, cidrs) in vpc.subnets.tiers() {
        if cidrs.is_empty() {
            continue;
        }
        tiers.insert(
            tier.as_str().to_string(),
            TierAttributes {
                subnets: cidrs.to_vec(),
                route_table_subnets: cidrs.to_vec(),
                default_route: match tier {
                    SubnetTier::Public => Some(INTERNET_GATEWAY.to_string()),
                    SubnetTier::Private => gateway.map(to_transit_gateway),
                },
            },
        );
    }
    VpcAttributes {
        name: name.to_string(),
        cidr_block: vpc.cidr.clone(),
        tiers,
        transit_gateway: gateway.map(str::to_string),
        transit_gateway_account: attached
            .filter(|(_, gateway)| gateway.account != vpc.account)
            .map(|(_, gateway)| gateway.account.clone()),
        kept_because: None,
    }
}

pub fn desired(inputs: &Inputs<'_>) -> Vec<DesiredControl> {
    let Some(network) = &inputs.spec.network else { return Vec::new() };
    network
        .vpcs
        .iter()
        .map(|(name, vpc)| {
            let gateway = attached_gateway(inputs.spec, vpc);
            let control = DesiredControl::new(key(name, vpc), encode(&wanted(name, vpc, gateway))).needs(&[
                "ec2:CreateVpc",
                "ec2:CreateSubnet",
                "ec2:CreateRouteTable",
                "ec2:CreateRoute",
                "ec2:AssociateRouteTable",
            ]);
            match gateway {
                // The gateway first; one of another account, once shared with this one.
                Some((gateway_name, gateway)) if gateway.account != vpc.account => control
                    .after(super::transit_gateway::key(gateway_name, gateway))
                    .after(super::sharing::share_key(gateway_name, gateway))
                    .needs(&["ec2:CreateTransitGatewayVpcAttachment", "ec2:AcceptTransitGatewayVpcAttachment"]),
                Some((gateway_name, gateway)) => control
                    .after(super::transit_gateway::key(gateway_name, gateway))
                    .needs(&["ec2:CreateTransitGatewayVpcAttachment"]),
                None => control,
            }
        })
        .collect()
}

fn tag(key: &str, value: &str) -> Tag {
    Tag::builder().key(key).value(value).build()
}

pub(super) fn tag_value<'t>(tags: &'t [Tag], key: &str) -> Option<&'t str> {
    tags.iter().find(|tag| tag.key() == Some(key)).and_then(Tag::value)
}

pub(super) fn owned(tags: &[Tag]) -> bool {
    tag_value(tags, OWNERSHIP_TAG) == Some(OWNERSHIP_VALUE)
}

/// The tags of a resource made for the spec's VPC `name` (and tier), with its console name.
fn tags_for(resource: ResourceType, name: &str, tier: Option<SubnetTier>, display: String) -> TagSpecification {
    let mut tags = vec![tag(OWNERSHIP_TAG, OWNERSHIP_VALUE), tag(VPC_TAG, name), tag("Name", &display)];
    if let Some(tier) = tier {
        tags.push(tag(TIER_TAG, tier.as_str()));
    }
    TagSpecification::builder().resource_type(resource).set_tags(Some(tags)).build()
}

fn ownership_filters(name: &str) -> Vec<Filter> {
    vec![filter(&format!("tag:{OWNERSHIP_TAG}"), OWNERSHIP_VALUE), filter(&format!("tag:{VPC_TAG}"), name)]
}

/// The VPC landing-zone made for the spec's `name`, found by its tags.
/// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeVpcs.html (`tag:<key>`
/// filters)
async fn find_vpc(ec2: &aws_sdk_ec2::Client, name: &str) -> Result<Option<Vpc>> {
    let mut pages = ec2.describe_vpcs().set_filters(Some(ownership_filters(name))).into_paginator().items().send();
    let mut found = Vec::new();
    while let Some(vpc) = pages.next().await {
        found.push(vpc.map_err(|error| aws_error("DescribeVpcs", error))?);
    }
    found.sort_by(|a, b| a.vpc_id.cmp(&b.vpc_id));
    Ok(found.into_iter().next())
}

/// The Region's Availability Zones available to the account, sorted by name: the places of a
/// tier's subnets, in order. Local and Wavelength Zones are left out (`zone-type`).
/// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeAvailabilityZones.html
async fn zones(ec2: &aws_sdk_ec2::Client) -> Result<Vec<String>> {
    let output = ec2
        .describe_availability_zones()
        .filters(filter("zone-type", "availability-zone"))
        .send()
        .await
        .map_err(|error| aws_error("DescribeAvailabilityZones", error))?;
    let mut names: Vec<String> = output
        .availability_zones()
        .iter()
        .filter(|zone| zone.state() == Some(&AvailabilityZoneState::Available))
        .filter_map(|zone| zone.zone_name().map(str::to_string))
        .collect();
    names.sort();
    Ok(names)
}

/// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeSubnets.html
pub(super) async fn subnets(ec2: &aws_sdk_ec2::Client, vpc_id: &str) -> Result<Vec<Subnet>> {
    let mut pages = ec2.describe_subnets().filters(filter("vpc-id", vpc_id)).into_paginator().items().send();
    let mut found = Vec::new();
    while let Some(subnet) = pages.next().await {
        found.push(subnet.map_err(|error| aws_error("DescribeSubnets", error))?);
    }
    Ok(found)
}

/// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeRouteTables.html
async fn route_tables(ec2: &aws_sdk_ec2::Client, vpc_id: &str) -> Result<Vec<RouteTable>> {
    let mut pages = ec2.describe_route_tables().filters(filter("vpc-id", vpc_id)).into_paginator().items().send();
    let mut found = Vec::new();
    while let Some(table) = pages.next().await {
        found.push(table.map_err(|error| aws_error("DescribeRouteTables", error))?);
    }
    Ok(found)
}

/// The internet gateways made for the spec's VPC `name` (attached or not), found by their tags.
/// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeInternetGateways.html
async fn internet_gateways(ec2: &aws_sdk_ec2::Client, name: &str) -> Result<Vec<InternetGateway>> {
    let mut pages =
        ec2.describe_internet_gateways().set_filters(Some(ownership_filters(name))).into_paginator().items().send();
    let mut found = Vec::new();
    while let Some(gateway) = pages.next().await {
        found.push(gateway.map_err(|error| aws_error("DescribeInternetGateways", error))?);
    }
    found.sort_by(|a, b| a.internet_gateway_id.cmp(&b.internet_gateway_id));
    Ok(found)
}

/// The tier's route table landing-zone made (tagged with the tier).
fn tier_table(tables: &[RouteTable], tier: SubnetTier) -> Option<&RouteTable> {
    tables.iter().find(|table| owned(table.tags()) && tag_value(table.tags(), TIER_TAG) == Some(tier.as_str()))
}

/// The target of a route table's default route, as the attributes name it; `gateway`: the id and
/// spec name of the VPC's Transit Gateway.
fn default_route(table: &RouteTable, gateway: Option<(&str, &str)>) -> Option<String> {
    let route = table.routes().iter().find(|route| route.destination_cidr_block() == Some(DEFAULT_ROUTE))?;
    if route.gateway_id().is_some_and(|id| id.starts_with("igw-")) {
        return Some(INTERNET_GATEWAY.to_string());
    }
    if let Some(id) = route.transit_gateway_id() {
        return Some(match gateway {
            Some((ours, name)) if ours == id => to_transit_gateway(name),
            _ => format!("transit_gateway {id}"),
        });
    }
    Some("other".to_string())
}

/// Reads the VPC the spec names; None when landing-zone has not made it.
pub async fn read(context: &Context<'_>, key: &ControlKey, desired: &Value) -> Result<Option<Value>> {
    let wanted: VpcAttributes = decode(key, desired)?;
    let ec2 = ec2_client(context, key).await?;
    let Some(vpc) = find_vpc(&ec2, &wanted.name).await? else { return Ok(None) };
    let vpc_id = vpc.vpc_id().unwrap_or_default();
    let zones = zones(&ec2).await?;
    let subnets = subnets(&ec2, vpc_id).await?;
    let tables = route_tables(&ec2, vpc_id).await?;
    // The gateway the spec attaches the VPC to, by its tags (from its own account), and whether
    // the attachment is there.
    let gateway = match &wanted.transit_gateway {
        Some(name) => super::transit_gateway::find(&gateway_client(context, key, &wanted).await?, name)
            .await?
            .and_then(|gateway| gateway.transit_gateway_id().map(|id| (id.to_string(), name.clone()))),
        None => None,
    };
    let attached = match &gateway {
        Some((id, name)) => attachment(&ec2, id, vpc_id).await?.map(|_| name.clone()),
        None => None,
    };
    let gateway_ref = gateway.as_ref().map(|(id, name)| (id.as_str(), name.as_str()));
    let mut tiers = BTreeMap::new();
    let empty = TierAttributes::default();
    for tier in [SubnetTier::Private, SubnetTier::Public] {
        let tier_name = tier.as_str().to_string();
        // A tier the spec has, or one landing-zone made that the spec dropped (shown, so that its
        // removal is planned).
        let wanted_tier = wanted.tiers.get(&tier_name).unwrap_or(&empty);
        // The tier's subnets, by zone then block; each shown by its block, and its zone when that
        // is not the zone its place in the spec's list gives.
        let mut mine: Vec<&Subnet> = subnets
            .iter()
            .filter(|subnet| owned(subnet.tags()) && tag_value(subnet.tags(), TIER_TAG) == Some(tier_name.as_str()))
            .collect();
        mine.sort_by_key(|subnet| {
            (subnet.availability_zone().map(str::to_string), subnet.cidr_block().map(str::to_string))
        });
        let shown = |subnet: &Subnet| -> String {
            let cidr = subnet.cidr_block().unwrap_or_default();
            let zone = subnet.availability_zone().unwrap_or_default();
            let place = wanted_tier.subnets.iter().position(|wanted| wanted == cidr);
            match place.and_then(|place| zones.get(place)) {
                Some(expected) if expected == zone => cidr.to_string(),
                _ => format!("{cidr} in {zone}"),
            }
        };
        let table = tier_table(&tables, tier);
        if !wanted.tiers.contains_key(&tier_name) && mine.is_empty() && table.is_none() {
            continue;
        }
        let associated: Vec<String> = mine
            .iter()
            .filter(|subnet| {
                table.is_some_and(|table| {
                    table.associations().iter().any(|association| association.subnet_id() == subnet.subnet_id())
                })
            })
            .map(|subnet| subnet.cidr_block().unwrap_or_default().to_string())
            .collect();
        tiers.insert(
            tier_name,
            TierAttributes {
                subnets: mine.iter().map(|subnet| shown(subnet)).collect(),
                route_table_subnets: associated,
                default_route: table.and_then(|table| default_route(table, gateway_ref)),
            },
        );
    }
    Ok(Some(encode(&VpcAttributes {
        name: wanted.name,
        cidr_block: vpc.cidr_block().unwrap_or_default().to_string(),
        transit_gateway_account: attached.as_ref().and(wanted.transit_gateway_account.clone()),
        tiers,
        transit_gateway: attached,
        kept_because: None,
    })))
}

/// Makes the VPC match `attributes`, from what it reads afresh (see the module's documentation).
pub async fn apply(context: &Context<'_>, key: &ControlKey, attributes: &Value) -> Result<()> {
    let wanted: VpcAttributes = decode(key, attributes)?;
    let ec2 = ec2_client(context, key).await?;
    let vpc = match find_vpc(&ec2, &wanted.name).await? {
        Some(vpc) => vpc,
        None => {
            // https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateVpc.html
            let output = ec2
                .create_vpc()
                .cidr_block(&wanted.cidr_block)
                .tag_specifications(tags_for(ResourceType::Vpc, &wanted.name, None, wanted.name.clone()))
                .send()
                .await
                .map_err(|error| aws_error("CreateVpc", error))?;
            match output.vpc {
                Some(vpc) => vpc,
                None => bail!("{}: CreateVpc returned no VPC", key.label()),
            }
        }
    };
    let Some(vpc_id) = vpc.vpc_id().map(str::to_string) else { bail!("{}: the VPC has no id", key.label()) };
    if vpc.cidr_block() != Some(wanted.cidr_block.as_str()) {
        bail!(
            "{}: VPC {vpc_id} has the block {}, the spec {}: a VPC's primary block cannot change\nhint: give the VPC a new name in the spec to build a new one",
            key.label(),
            vpc.cidr_block().unwrap_or("none"),
            wanted.cidr_block
        );
    }
    let zones = zones(&ec2).await?;
    for (tier_name, tier_wanted) in &wanted.tiers {
        let Some(tier) = SubnetTier::from_tag(tier_name) else { continue };
        if tier_wanted.subnets.len() > zones.len() {
            bail!(
                "{}: {} {tier_name} subnets, and the account sees {} Availability Zones in this Region ({})\nhint: list at most {} subnets per tier",
                key.label(),
                tier_wanted.subnets.len(),
                zones.len(),
                zones.join(", "),
                zones.len()
            );
        }
        let subnet_ids = converge_subnets(&ec2, key, &wanted.name, &vpc_id, tier, &tier_wanted.subnets, &zones).await?;
        let table_id = converge_route_table(&ec2, &wanted.name, &vpc_id, tier, &subnet_ids).await?;
        let target = match tier {
            SubnetTier::Public => {
                Some(RouteTarget::InternetGateway(internet_gateway(&ec2, &wanted.name, &vpc_id).await?))
            }
            SubnetTier::Private => match &wanted.transit_gateway {
                Some(name) => {
                    let owner = gateway_client(context, key, &wanted).await?;
                    Some(RouteTarget::TransitGateway(
                        attach(&ec2, &owner, key, name, &wanted.name, &vpc_id, &subnet_ids).await?,
                    ))
                }
                None => None,
            },
        };
        converge_default_route(&ec2, &table_id, target.as_ref()).await?;
    }
    // A tier the spec dropped: its subnets and route table go (the internet gateway stays
    // attached, unused).
    for tier in [SubnetTier::Private, SubnetTier::Public] {
        if wanted.tiers.contains_key(tier.as_str()) {
            continue;
        }
        let tables = route_tables(&ec2, &vpc_id).await?;
        if let Some(table) = tier_table(&tables, tier) {
            for association in table.associations().iter().filter(|association| association.main() != Some(true)) {
                let Some(association_id) = association.route_table_association_id() else { continue };
                // https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DisassociateRouteTable.html
                match ec2.disassociate_route_table().association_id(association_id).send().await {
                    Ok(_) => {}
                    Err(error) if is_ec2_route_not_found(&error) => {}
                    Err(error) => return Err(aws_error("DisassociateRouteTable", error)),
                }
            }
        }
        converge_subnets(&ec2, key, &wanted.name, &vpc_id, tier, &[], &zones).await?;
        if let Some(table_id) = tier_table(&tables, tier).and_then(|table| table.route_table_id()) {
            // https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DeleteRouteTable.html
            match ec2.delete_route_table().route_table_id(table_id).send().await {
                Ok(_) => {}
                Err(error) if is_ec2_route_not_found(&error) => {}
                Err(error) => return Err(aws_error("DeleteRouteTable", error)),
            }
        }
    }
    Ok(())
}

/// The VPC's attachment to the gateway, if any is there or on its way; deleted ones aside.
/// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeTransitGatewayVpcAttachments.html
async fn attachment(
    ec2: &aws_sdk_ec2::Client,
    gateway_id: &str,
    vpc_id: &str,
) -> Result<Option<aws_sdk_ec2::types::TransitGatewayVpcAttachment>> {
    Ok(attachments(ec2, vpc_id, Some(gateway_id)).await?.into_iter().next())
}

/// The ids of the Transit Gateways the VPC is attached to (attachments on their way or there),
/// as the VPC's account sees them (filter `vpc-id`:
/// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeTransitGatewayVpcAttachments.html).
/// What `import` reads a VPC's `transit_gateway` from.
pub(super) async fn attached_gateways(ec2: &aws_sdk_ec2::Client, vpc_id: &str) -> Result<Vec<String>> {
    let mut ids: Vec<String> = attachments(ec2, vpc_id, None)
        .await?
        .iter()
        .filter_map(|attachment| attachment.transit_gateway_id().map(str::to_string))
        .collect();
    ids.sort();
    ids.dedup();
    Ok(ids)
}

/// The VPC's live attachments (to `gateway_id` only, when given), by attachment id.
async fn attachments(
    ec2: &aws_sdk_ec2::Client,
    vpc_id: &str,
    gateway_id: Option<&str>,
) -> Result<Vec<aws_sdk_ec2::types::TransitGatewayVpcAttachment>> {
    let mut filters = vec![
        filter("vpc-id", vpc_id),
        Filter::builder()
            .name("state")
            .set_values(Some(
                ["initiating", "initiatingRequest", "pendingAcceptance", "pending", "available", "modifying"]
                    .map(str::to_string)
                    .to_vec(),
            ))
            .build(),
    ];
    filters.extend(gateway_id.map(|id| filter("transit-gateway-id", id)));
    let mut pages =
        ec2.describe_transit_gateway_vpc_attachments().set_filters(Some(filters)).into_paginator().items().send();
    let mut found = Vec::new();
    while let Some(attachment) = pages.next().await {
        found.push(attachment.map_err(|error| aws_error("DescribeTransitGatewayVpcAttachments", error))?);
    }
    found.sort_by(|a, b| a.transit_gateway_attachment_id.cmp(&b.transit_gateway_attachment_id));
    Ok(found)
}

/// The EC2 client of the account of the VPC's Transit Gateway, in the VPC's Region: the VPC's
/// own, or the hub account that shares the gateway.
async fn gateway_client(
    context: &Context<'_>,
    key: &ControlKey,
    wanted: &VpcAttributes,
) -> Result<aws_sdk_ec2::Client> {
    match &wanted.transit_gateway_account {
        Some(account) => Ok(context
            .sessions
            .client::<aws_sdk_ec2::Client>(context.account_id(account)?, key.region.as_deref())
            .await),
        None => ec2_client(context, key).await,
    }
}

/// How long an attachment may take to become `available` before apply gives up.
const ATTACHMENT_WAIT: std::time::Duration = std::time::Duration::from_secs(600);

/// Attaches the VPC's private subnets to the spec's gateway `gateway` (found with `owner`, the
/// client of the gateway's account), adopting the attachment an earlier apply made, accepts it
/// from the gateway's account when it waits for that, and waits until it is `available`: a route
/// to the gateway needs it. Returns the gateway's id.
/// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateTransitGatewayVpcAttachment.html
async fn attach(
    ec2: &aws_sdk_ec2::Client,
    owner: &aws_sdk_ec2::Client,
    key: &ControlKey,
    gateway: &str,
    name: &str,
    vpc_id: &str,
    subnet_ids: &[String],
) -> Result<String> {
    let Some(gateway_id) = super::transit_gateway::find(owner, gateway).await?.and_then(|g| g.transit_gateway_id)
    else {
        bail!("{}: transit gateway `{gateway}` is not there yet\nhint: apply again once it is", key.label());
    };
    if attachment(ec2, &gateway_id, vpc_id).await?.is_none() {
        ec2.create_transit_gateway_vpc_attachment()
            .transit_gateway_id(&gateway_id)
            .vpc_id(vpc_id)
            .set_subnet_ids(Some(subnet_ids.to_vec()))
            .tag_specifications(tags_for(
                ResourceType::TransitGatewayAttachment,
                name,
                None,
                format!("{name}-{gateway}"),
            ))
            .send()
            .await
            .map_err(|error| aws_error("CreateTransitGatewayVpcAttachment", error))?;
    }
    let started = std::time::Instant::now();
    loop {
        let state = attachment(ec2, &gateway_id, vpc_id).await?.and_then(|a| a.state);
        match state {
            Some(aws_sdk_ec2::types::TransitGatewayAttachmentState::Available) => return Ok(gateway_id),
            // An attachment in the gateway's own account is accepted automatically; one waiting for
            // acceptance (another account's, the gateway not auto-accepting) is accepted by the
            // gateway's owner
            // (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_AcceptTransitGatewayVpcAttachment.html).
            Some(aws_sdk_ec2::types::TransitGatewayAttachmentState::PendingAcceptance) => {
                if let Some(attachment_id) =
                    attachment(ec2, &gateway_id, vpc_id).await?.and_then(|a| a.transit_gateway_attachment_id)
                {
                    owner
                        .accept_transit_gateway_vpc_attachment()
                        .transit_gateway_attachment_id(attachment_id)
                        .send()
                        .await
                        .map_err(|error| aws_error("AcceptTransitGatewayVpcAttachment", error))?;
                }
            }
            None => bail!("{}: the attachment to `{gateway}` is gone (rejected or failed)", key.label()),
            Some(_) => {}
        }
        if started.elapsed() > ATTACHMENT_WAIT {
            bail!("{}: the attachment to `{gateway}` is not available after {:?}", key.label(), ATTACHMENT_WAIT);
        }
        tokio::time::sleep(std::time::Duration::from_secs(5)).await;
    }
}

/// Where a default route goes.
enum RouteTarget {
    InternetGateway(String),
    TransitGateway(String),
}

impl RouteTarget {
    fn matches(&self, route: &aws_sdk_ec2::types::Route) -> bool {
        match self {
            RouteTarget::InternetGateway(id) => route.gateway_id() == Some(id.as_str()),
            RouteTarget::TransitGateway(id) => route.transit_gateway_id() == Some(id.as_str()),
        }
    }
}

/// The tier's subnets, one per zone in order, made where missing; a subnet of the tier that the
/// spec no longer lists, or in the wrong zone, is deleted (it fails while something uses it).
/// Returns their ids.
async fn converge_subnets(
    ec2: &aws_sdk_ec2::Client,
    key: &ControlKey,
    name: &str,
    vpc_id: &str,
    tier: SubnetTier,
    cidrs: &[String],
    zones: &[String],
) -> Result<Vec<String>> {
    let live = subnets(ec2, vpc_id).await?;
    // Subnets of this tier that are not where the spec wants them go first: their blocks may be
    // needed again in the right zone.
    for subnet in
        live.iter().filter(|subnet| owned(subnet.tags()) && tag_value(subnet.tags(), TIER_TAG) == Some(tier.as_str()))
    {
        let cidr = subnet.cidr_block().unwrap_or_default();
        let right_place = cidrs
            .iter()
            .position(|wanted| wanted == cidr)
            .and_then(|place| zones.get(place))
            .is_some_and(|zone| subnet.availability_zone() == Some(zone.as_str()));
        if !right_place {
            let Some(id) = subnet.subnet_id() else { continue };
            // https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DeleteSubnet.html
            match ec2.delete_subnet().subnet_id(id).send().await {
                Ok(_) => {}
                Err(error) if is_ec2_not_found(&error) => {}
                Err(error) => {
                    return Err(aws_error("DeleteSubnet", error).context(format!(
                        "{}: subnet {id} ({cidr}) is no longer in the spec's {} subnets (or is in the wrong zone) and could not be removed",
                        key.label(),
                        tier.as_str()
                    )))
                }
            }
        }
    }
    let live = subnets(ec2, vpc_id).await?;
    let mut ids = Vec::new();
    for (cidr, zone) in cidrs.iter().zip(zones) {
        if let Some(existing) = live.iter().find(|subnet| subnet.cidr_block() == Some(cidr.as_str())) {
            if !owned(existing.tags()) || tag_value(existing.tags(), TIER_TAG) != Some(tier.as_str()) {
                bail!(
                    "{}: subnet {} ({cidr}) is in the VPC and landing-zone did not make it as a {} subnet\nhint: remove it, or choose another block",
                    key.label(),
                    existing.subnet_id().unwrap_or_default(),
                    tier.as_str()
                );
            }
            ids.extend(existing.subnet_id().map(str::to_string));
            continue;
        }
        // https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateSubnet.html
        let output = ec2
            .create_subnet()
            .vpc_id(vpc_id)
            .cidr_block(cidr)
            .availability_zone(zone)
            .tag_specifications(tags_for(
                ResourceType::Subnet,
                name,
                Some(tier),
                format!("{name}-{}-{zone}", tier.as_str()),
            ))
            .send()
            .await
            .map_err(|error| aws_error("CreateSubnet", error))?;
        ids.extend(output.subnet.and_then(|subnet| subnet.subnet_id));
    }
    Ok(ids)
}

/// The tier's route table, made when missing, associated with exactly the tier's subnets (a
/// subnet associated elsewhere is moved; one no longer in the tier is let go). Returns its id.
async fn converge_route_table(
    ec2: &aws_sdk_ec2::Client,
    name: &str,
    vpc_id: &str,
    tier: SubnetTier,
    subnet_ids: &[String],
) -> Result<String> {
    let tables = route_tables(ec2, vpc_id).await?;
    let table_id = match tier_table(&tables, tier).and_then(|table| table.route_table_id()) {
        Some(id) => id.to_string(),
        None => {
            // https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateRouteTable.html
            let output = ec2
                .create_route_table()
                .vpc_id(vpc_id)
                .tag_specifications(tags_for(
                    ResourceType::RouteTable,
                    name,
                    Some(tier),
                    format!("{name}-{}", tier.as_str()),
                ))
                .send()
                .await
                .map_err(|error| aws_error("CreateRouteTable", error))?;
            match output.route_table.and_then(|table| table.route_table_id) {
                Some(id) => id,
                None => bail!("CreateRouteTable returned no route table"),
            }
        }
    };
    for subnet_id in subnet_ids {
        // A subnet is associated with at most one route table; without an explicit association
        // it uses the main one. https://docs.aws.amazon.com/vpc/latest/userguide/subnet-route-tables.html
        let current = tables.iter().find_map(|table| {
            table.associations().iter().find(|association| association.subnet_id() == Some(subnet_id.as_str())).map(
                |association| (table.route_table_id().unwrap_or_default(), association.route_table_association_id()),
            )
        });
        match current {
            Some((table, _)) if table == table_id => {}
            Some((_, Some(association))) => {
                // https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_ReplaceRouteTableAssociation.html
                ec2.replace_route_table_association()
                    .association_id(association)
                    .route_table_id(&table_id)
                    .send()
                    .await
                    .map_err(|error| aws_error("ReplaceRouteTableAssociation", error))?;
            }
            _ => {
                // https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_AssociateRouteTable.html
                ec2.associate_route_table()
                    .route_table_id(&table_id)
                    .subnet_id(subnet_id)
                    .send()
                    .await
                    .map_err(|error| aws_error("AssociateRouteTable", error))?;
            }
        }
    }
    if let Some(table) = tables.iter().find(|table| table.route_table_id() == Some(table_id.as_str())) {
        for association in table.associations() {
            let stray = association.subnet_id().is_some_and(|subnet| !subnet_ids.iter().any(|id| id == subnet));
            let Some(association_id) = association.route_table_association_id().filter(|_| stray) else { continue };
            // https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DisassociateRouteTable.html
            match ec2.disassociate_route_table().association_id(association_id).send().await {
                Ok(_) => {}
                Err(error) if is_ec2_route_not_found(&error) => {}
                Err(error) => return Err(aws_error("DisassociateRouteTable", error)),
            }
        }
    }
    Ok(table_id)
}

/// The VPC's internet gateway: the one made for it (found by its tags, attached here when an
/// earlier apply stopped before attaching it), or a new one. Returns its id.
async fn internet_gateway(ec2: &aws_sdk_ec2::Client, name: &str, vpc_id: &str) -> Result<String> {
    let gateways = internet_gateways(ec2, name).await?;
    let attached = gateways
        .iter()
        .find(|gateway| gateway.attachments().iter().any(|attachment| attachment.vpc_id() == Some(vpc_id)));
    if let Some(id) = attached.and_then(|gateway| gateway.internet_gateway_id()) {
        return Ok(id.to_string());
    }
    let loose = gateways.iter().find(|gateway| gateway.attachments().is_empty()).and_then(|g| g.internet_gateway_id());
    let id = match loose {
        Some(id) => id.to_string(),
        None => {
            // https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateInternetGateway.html
            let output = ec2
                .create_internet_gateway()
                .tag_specifications(tags_for(ResourceType::InternetGateway, name, None, name.to_string()))
                .send()
                .await
                .map_err(|error| aws_error("CreateInternetGateway", error))?;
            match output.internet_gateway.and_then(|gateway| gateway.internet_gateway_id) {
                Some(id) => id,
                None => bail!("CreateInternetGateway returned no gateway"),
            }
        }
    };
    // https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_AttachInternetGateway.html
    ec2.attach_internet_gateway()
        .internet_gateway_id(&id)
        .vpc_id(vpc_id)
        .send()
        .await
        .map_err(|error| aws_error("AttachInternetGateway", error))?;
    Ok(id)
}

/// The route table's `0.0.0.0/0` route: to `target`, or none.
async fn converge_default_route(ec2: &aws_sdk_ec2::Client, table_id: &str, target: Option<&RouteTarget>) -> Result<()> {
    let tables = ec2
        .describe_route_tables()
        .route_table_ids(table_id)
        .send()
        .await
        .map_err(|error| aws_error("DescribeRouteTables", error))?;
    let current = tables
        .route_tables()
        .iter()
        .flat_map(RouteTable::routes)
        .find(|route| route.destination_cidr_block() == Some(DEFAULT_ROUTE));
    match (current, target) {
        (Some(route), Some(target)) if target.matches(route) => Ok(()),
        (Some(_), Some(target)) => {
            // https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_ReplaceRoute.html
            let request = ec2.replace_route().route_table_id(table_id).destination_cidr_block(DEFAULT_ROUTE);
            let request = match target {
                RouteTarget::InternetGateway(id) => request.gateway_id(id),
                RouteTarget::TransitGateway(id) => request.transit_gateway_id(id),
            };
            request.send().await.map_err(|error| aws_error("ReplaceRoute", error))?;
            Ok(())
        }
        (None, Some(target)) => {
            // https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateRoute.html
            let request = ec2.create_route().route_table_id(table_id).destination_cidr_block(DEFAULT_ROUTE);
            let request = match target {
                RouteTarget::InternetGateway(id) => request.gateway_id(id),
                RouteTarget::TransitGateway(id) => request.transit_gateway_id(id),
            };
            match request.send().await {
                Ok(_) => Ok(()),
                Err(error) if is_ec2_route_already_exists(&error) => Ok(()),
                Err(error) => Err(aws_error("CreateRoute", error)),
            }
        }
        (Some(_), None) => {
            // https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DeleteRoute.html
            match ec2.delete_route().route_table_id(table_id).destination_cidr_block(DEFAULT_ROUTE).send().await {
                Ok(_) => Ok(()),
                Err(error) if is_ec2_route_not_found(&error) => Ok(()),
                Err(error) => Err(aws_error("DeleteRoute", error)),
            }
        }
        (None, None) => Ok(()),
    }
}

/// What removing a VPC landing-zone made takes away: the spec can build it again, but not give
/// back what others routed to it.
pub const REMOVAL_LOSES: &str =
    "deletes the VPC with its subnets, route tables and internet gateway: addresses and routes others may rely on";

/// Why a VPC with these network interfaces must stay; None when none is in it.
fn in_use(interfaces: &[String]) -> Option<String> {
    match interfaces {
        [] => None,
        many => Some(format!(
            "{} network interface(s) are in it ({}); move or remove what uses the VPC and plan again",
            many.len(),
            many.join(", ")
        )),
    }
}

/// Every VPC landing-zone made in the account and Region whose control is not in `wanted`.
pub async fn find(
    context: &Context<'_>,
    account: &str,
    region: Option<&str>,
    wanted: &BTreeSet<ControlKey>,
) -> Result<Vec<Found>> {
    let Some(region) = region else { return Ok(Vec::new()) };
    let probe = ControlKey::new(PREFIX, account, Some(region));
    let ec2 = ec2_client(context, &probe).await?;
    let mut pages = ec2
        .describe_vpcs()
        .filters(filter(&format!("tag:{OWNERSHIP_TAG}"), OWNERSHIP_VALUE))
        .filters(Filter::builder().name("tag-key").values(VPC_TAG).build())
        .into_paginator()
        .items()
        .send();
    let mut vpcs = Vec::new();
    while let Some(vpc) = pages.next().await {
        vpcs.push(vpc.map_err(|error| aws_error("DescribeVpcs", error))?);
    }
    let mut found = Vec::new();
    for vpc in vpcs {
        let Some(name) = tag_value(vpc.tags(), VPC_TAG) else { continue };
        let key = ControlKey::new(format!("{PREFIX}{name}"), account, Some(region));
        if wanted.contains(&key) {
            continue;
        }
        let interfaces = network_interfaces(&ec2, vpc.vpc_id().unwrap_or_default()).await?;
        let attributes = VpcAttributes {
            name: name.to_string(),
            cidr_block: vpc.cidr_block().unwrap_or_default().to_string(),
            tiers: BTreeMap::new(),
            transit_gateway: None,
            transit_gateway_account: None,
            kept_because: in_use(&interfaces),
        };
        found.push(Found { key, owned: true, attributes: encode(&attributes), loses_data: Some(REMOVAL_LOSES) });
    }
    Ok(found)
}

/// Removes a VPC landing-zone made, read afresh: refuses one a network interface is now in; its
/// internet gateway is detached and deleted, then its subnets and route tables, then the VPC
/// (DeleteVpc: "You must detach or delete all gateways and resources that are associated with the
/// VPC before you can delete it",
/// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DeleteVpc.html). One gone is
/// success; one without landing-zone's tags is never found, so never removed.
pub async fn remove(context: &Context<'_>, key: &ControlKey) -> Result<()> {
    let Some(name) = key.control.strip_prefix(PREFIX) else { bail!("{}: not a VPC control", key.label()) };
    let ec2 = ec2_client(context, key).await?;
    let Some(vpc) = find_vpc(&ec2, name).await? else { return Ok(()) };
    let Some(vpc_id) = vpc.vpc_id().map(str::to_string) else { return Ok(()) };
    if let Some(why) = in_use(&network_interfaces(&ec2, &vpc_id).await?) {
        bail!("{}: VPC {vpc_id} is in use and was left: {why}", key.label());
    }
    for gateway in internet_gateways(&ec2, name).await? {
        let Some(gateway_id) = gateway.internet_gateway_id() else { continue };
        for attachment in gateway.attachments() {
            let Some(attached) = attachment.vpc_id() else { continue };
            // https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DetachInternetGateway.html
            match ec2.detach_internet_gateway().internet_gateway_id(gateway_id).vpc_id(attached).send().await {
                Ok(_) => {}
                Err(error) if is_ec2_not_found(&error) => {}
                Err(error) => return Err(aws_error("DetachInternetGateway", error)),
            }
        }
        // https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DeleteInternetGateway.html
        match ec2.delete_internet_gateway().internet_gateway_id(gateway_id).send().await {
            Ok(_) => {}
            Err(error) if is_ec2_not_found(&error) => {}
            Err(error) => return Err(aws_error("DeleteInternetGateway", error)),
        }
    }
    // A route table is deleted once no subnet is associated with it ("You must disassociate the
    // route table from any subnets before you can delete it",
    // https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DeleteRouteTable.html).
    let tables = route_tables(&ec2, &vpc_id).await?;
    for table in tables.iter().filter(|table| owned(table.tags())) {
        for association in table.associations().iter().filter(|association| association.main() != Some(true)) {
            let Some(association_id) = association.route_table_association_id() else { continue };
            // https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DisassociateRouteTable.html
            match ec2.disassociate_route_table().association_id(association_id).send().await {
                Ok(_) => {}
                Err(error) if is_ec2_route_not_found(&error) => {}
                Err(error) => return Err(aws_error("DisassociateRouteTable", error)),
            }
        }
    }
    for subnet in subnets(&ec2, &vpc_id).await?.iter().filter(|subnet| owned(subnet.tags())) {
        let Some(subnet_id) = subnet.subnet_id() else { continue };
        // https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DeleteSubnet.html
        match ec2.delete_subnet().subnet_id(subnet_id).send().await {
            Ok(_) => {}
            Err(error) if is_ec2_not_found(&error) => {}
            Err(error) => return Err(aws_error("DeleteSubnet", error)),
        }
    }
    for table in tables.iter().filter(|table| owned(table.tags())) {
        let Some(table_id) = table.route_table_id() else { continue };
        // https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DeleteRouteTable.html
        match ec2.delete_route_table().route_table_id(table_id).send().await {
            Ok(_) => {}
            Err(error) if is_ec2_route_not_found(&error) => {}
            Err(error) => return Err(aws_error("DeleteRouteTable", error)),
        }
    }
    // https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DeleteVpc.html
    match ec2.delete_vpc().vpc_id(&vpc_id).send().await {
        Ok(_) => Ok(()),
        Err(error) if is_ec2_not_found(&error) => Ok(()),
        Err(error) if is_ec2_dependency_violation(&error) => bail!(
            "{}: VPC {vpc_id} still has resources landing-zone did not make (subnets, gateways, endpoints, security groups): {}\nhint: remove them and apply again",
            key.label(),
            describe(&error)
        ),
        Err(error) => Err(aws_error("DeleteVpc", error)),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::spec::Spec;

    fn controls(text: &str) -> Vec<DesiredControl> {
        let spec: Spec = match serde_yaml::from_str(text) {
            Ok(spec) => spec,
            Err(error) => panic!("spec: {error}"),
        };
        let none = BTreeMap::new();
        desired(&Inputs {
            spec: &spec,
            accounts: &[],
            role_documents: &none,
            permission_set_documents: &BTreeMap::new(),
        })
    }

    const SPEC: &str = r#"
version: 1
organization: { feature_set: ALL, management_account: management, regions: [us-east-1] }
accounts:
  management: { email: root@example.com, unit: Root }
  network: { email: network@example.com, unit: Root }
  app: { email: app@example.com, unit: Root }
network:
  transit_gateways:
    hub: { account: network, region: us-east-1, share_with: { accounts: [app] } }
  vpcs:
    hub-main: { account: network, region: us-east-1, cidr: 10.0.0.0/16, subnets: { private: [10.0.0.0/20] }, transit_gateway: hub }
    app-main: { account: app, region: us-east-1, cidr: 10.1.0.0/16, subnets: { private: [10.1.0.0/20] }, transit_gateway: hub }
"#;

    /// A VPC of another account than its gateway's attaches to it once it is shared with that
    /// account: its control wants the attachment, names the gateway's account, comes after the
    /// gateway and its share; one of the gateway's account names none.
    #[test]
    fn a_vpc_of_another_account_attaches_to_the_shared_gateway_after_its_share() {
        let controls = controls(SPEC);
        let app = controls.iter().find(|control| control.key.account == "app").expect("the app VPC");
        assert_eq!(app.attributes["transit_gateway"], "hub", "{}", app.attributes);
        assert_eq!(app.attributes["transit_gateway_account"], "network", "{}", app.attributes);
        assert_eq!(app.attributes["tiers"]["private"]["default_route"], "transit_gateway hub");
        assert!(app.after.iter().any(|key| key.control == "network/transit_gateway/hub"), "{:?}", app.after);
        assert!(app.after.iter().any(|key| key.control == "network/transit_gateway_share/hub"), "{:?}", app.after);
        let hub = controls.iter().find(|control| control.key.account == "network").expect("the hub VPC");
        assert_eq!(hub.attributes["transit_gateway"], "hub");
        assert!(hub.attributes["transit_gateway_account"].is_null(), "{}", hub.attributes);
    }
}
