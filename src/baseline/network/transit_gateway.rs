//! `network.transit_gateways`: one control `network/transit_gateway/<name>` in the gateway's
//! account and Region, whose attributes are its name and its Amazon-side ASN.
//!
//! The gateway is created with its tags in the same call (landing-zone's ownership tag and
//! [`GATEWAY_TAG`] = its name) and found by them, so an interrupted apply is adopted and no second
//! gateway is made. An ASN changed by hand is set back with ModifyTransitGateway ("The modify ASN
//! operation is not allowed on a transit gateway if it has the following attachments: Dynamic
//! VPN, Static VPN, Direct Connect Gateway, Connect": AWS's answer then stops the apply, with its
//! message:
//! https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_ModifyTransitGatewayOptions.html).
//! A gateway the spec stops listing is left in place.
//!
//! VPCs attach to it through their control (`vpc::attach`): those of its own account, and those of
//! the accounts it is shared with through AWS RAM (`sharing`), whose attachments are accepted from
//! here. Gateways are created with `AutoAcceptSharedAttachments` at its default, disabled (see
//! `vpc`).

use anyhow::{bail, Result};
use aws_sdk_ec2::types::{
    Filter, ModifyTransitGatewayOptions, ResourceType, Tag, TagSpecification, TransitGateway,
    TransitGatewayRequestOptions,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::super::attributes::{decode, encode};
use super::super::vpcs::{ec2_client, filter};
use super::super::{aws_error, Context};
use crate::plan::control::{ControlKey, DesiredControl, Inputs};
use crate::spec::model::TransitGatewaySpec;
use crate::spec::{OWNERSHIP_TAG, OWNERSHIP_VALUE};

/// Control names: `network/transit_gateway/<name>`.
pub const PREFIX: &str = "network/transit_gateway/";
/// The tag naming the spec's gateway a Transit Gateway is.
pub const GATEWAY_TAG: &str = "landing-zone:transit-gateway";

/// One Transit Gateway.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransitGatewayAttributes {
    /// Its spec name (the [`GATEWAY_TAG`] value it is found by).
    pub name: String,
    /// The Amazon side's private ASN.
    pub asn: u64,
}

/// The control of one gateway.
pub fn key(name: &str, gateway: &TransitGatewaySpec) -> ControlKey {
    ControlKey::new(format!("{PREFIX}{name}"), &gateway.account, Some(&gateway.region))
}

pub fn desired(inputs: &Inputs<'_>) -> Vec<DesiredControl> {
    let Some(network) = &inputs.spec.network else { return Vec::new() };
    network
        .transit_gateways
        .iter()
        .map(|(name, gateway)| {
            let attributes = TransitGatewayAttributes { name: name.clone(), asn: gateway.asn };
            DesiredControl::new(key(name, gateway), encode(&attributes))
                .needs(&["ec2:CreateTransitGateway", "ec2:ModifyTransitGateway"])
        })
        .collect()
}

/// The gateway landing-zone made for the spec's `name`, found by its tags; deleted ones aside.
pub(super) async fn find(ec2: &aws_sdk_ec2::Client, name: &str) -> Result<Option<TransitGateway>> {
    Ok(tagged(ec2, filter(&format!("tag:{GATEWAY_TAG}"), name)).await?.into_iter().next())
}

/// Every gateway landing-zone made in the client's account and Region (any [`GATEWAY_TAG`]), by
/// id; deleted ones aside. What `import` adopts.
pub(super) async fn all(ec2: &aws_sdk_ec2::Client) -> Result<Vec<TransitGateway>> {
    tagged(ec2, Filter::builder().name("tag-key").values(GATEWAY_TAG).build()).await
}

/// The gateways with landing-zone's ownership tag that `named` also selects, by id.
/// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeTransitGateways.html
async fn tagged(ec2: &aws_sdk_ec2::Client, named: Filter) -> Result<Vec<TransitGateway>> {
    let filters = vec![
        filter(&format!("tag:{OWNERSHIP_TAG}"), OWNERSHIP_VALUE),
        named,
        Filter::builder().name("state").values("pending").values("available").values("modifying").build(),
    ];
    let mut pages = ec2.describe_transit_gateways().set_filters(Some(filters)).into_paginator().items().send();
    let mut found = Vec::new();
    while let Some(gateway) = pages.next().await {
        found.push(gateway.map_err(|error| aws_error("DescribeTransitGateways", error))?);
    }
    found.sort_by(|a, b| a.transit_gateway_id.cmp(&b.transit_gateway_id));
    Ok(found)
}

/// The gateway's Amazon-side ASN.
pub(super) fn asn_of(gateway: &TransitGateway) -> u64 {
    gateway.options().and_then(|options| options.amazon_side_asn()).map_or(0, |asn| asn.max(0) as u64)
}

/// Reads the gateway the spec names; None when landing-zone has not made it.
pub async fn read(context: &Context<'_>, key: &ControlKey, desired: &Value) -> Result<Option<Value>> {
    let wanted: TransitGatewayAttributes = decode(key, desired)?;
    let ec2 = ec2_client(context, key).await?;
    let Some(gateway) = find(&ec2, &wanted.name).await? else { return Ok(None) };
    Ok(Some(encode(&TransitGatewayAttributes { name: wanted.name, asn: asn_of(&gateway) })))
}

/// Creates the gateway (or adopts the one an interrupted apply made) and sets its ASN.
pub async fn apply(context: &Context<'_>, key: &ControlKey, attributes: &Value) -> Result<()> {
    let wanted: TransitGatewayAttributes = decode(key, attributes)?;
    let Ok(asn) = i64::try_from(wanted.asn) else { bail!("{}: ASN {} is out of range", key.label(), wanted.asn) };
    let ec2 = ec2_client(context, key).await?;
    let Some(gateway) = find(&ec2, &wanted.name).await? else {
        let tags = TagSpecification::builder()
            .resource_type(ResourceType::TransitGateway)
            .tags(Tag::builder().key(OWNERSHIP_TAG).value(OWNERSHIP_VALUE).build())
            .tags(Tag::builder().key(GATEWAY_TAG).value(&wanted.name).build())
            .tags(Tag::builder().key("Name").value(&wanted.name).build())
            .build();
        // https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateTransitGateway.html
        ec2.create_transit_gateway()
            .description(format!("landing-zone: network.transit_gateways.{}", wanted.name))
            .options(TransitGatewayRequestOptions::builder().amazon_side_asn(asn).build())
            .tag_specifications(tags)
            .send()
            .await
            .map_err(|error| aws_error("CreateTransitGateway", error))?;
        return Ok(());
    };
    if asn_of(&gateway) != wanted.asn {
        // https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_ModifyTransitGateway.html
        ec2.modify_transit_gateway()
            .transit_gateway_id(gateway.transit_gateway_id().unwrap_or_default())
            .options(ModifyTransitGatewayOptions::builder().amazon_side_asn(asn).build())
            .send()
            .await
            .map_err(|error| aws_error("ModifyTransitGateway", error))?;
    }
    Ok(())
}
