//! `baseline.default_vpcs`: the default VPC, and what AWS made with it (its default subnets and
//! its internet gateway), removed in every targeted account and Region of the spec.
//!
//! One control `default_vpcs` per account and Region that the spec wants absent
//! (`DesiredControl::absent`): the reader says whether a default VPC is there, and why it must
//! stay when a network interface is in it (`kept_because`: the plan notes it and leaves it); the
//! planner plans a present one for removal (`-`, with `--allow-destructive`), and one recreated
//! by hand (`CreateDefaultVpc`) is simply present again. The removal reads afresh and deletes in
//! the order AWS requires: the internet gateway detached and deleted, then the subnets, then the
//! VPC. "You can delete a default VPC in the same way you delete any other VPC … you must first
//! delete or detach all of its resources" (subnets, internet gateway):
//! https://docs.aws.amazon.com/vpc/latest/userguide/delete-default-vpc.html and
//! https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DeleteVpc.html ("You must detach or
//! delete all gateways and resources that are associated with the VPC before you can delete it
//! … When you delete the VPC, it deletes the default security group, network ACL, and route
//! table for the VPC").

mod import;

use crate::spec::validate::Checker;
use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::attributes::encode;
use super::vpcs::{ec2_client, filter, vpcs};
use super::{aws_error, Actions, Baseline, BoxFuture, Context, Permissions};
use crate::aws::errors::{is_ec2_dependency_violation, is_ec2_not_found};
use crate::plan::control::{ControlKey, DesiredControl, Inputs};

pub const CONTROL: &str = "default_vpcs";

/// Why the plan removes it (its `why` line).
const WHY: &str = "the spec asks that the default VPC be gone: baseline.default_vpcs";

/// A default VPC as the plan shows it. No ids: the same removal in many accounts and Regions is
/// one entry of the grouped plan; the removal finds the VPC again when it runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DefaultVpcAttributes {
    /// `172.31.0.0/16` for the default VPCs AWS makes.
    pub cidr_block: String,
    /// Whether an internet gateway is attached (AWS attaches one to every default VPC).
    pub internet_gateway: bool,
    /// Why it must stay: the network interfaces in it (an instance, a load balancer, a Lambda
    /// function in the VPC). The planner notes it and plans nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kept_because: Option<String>,
}

pub fn desired(inputs: &Inputs<'_>) -> Vec<DesiredControl> {
    let Some(section) = &inputs.spec.baseline.default_vpcs else { return Vec::new() };
    if !section.delete {
        return Vec::new();
    }
    let mut controls = Vec::new();
    for account in inputs.accounts_for(&section.targets) {
        for region in inputs.regions() {
            controls.push(
                DesiredControl::new(ControlKey::new(CONTROL, &account, Some(region)), json!({}))
                    .absent(WHY)
                    // "If you created your AWS account after 2013-12-04, it supports only EC2-VPC
                    // … and has a default VPC in each AWS Region":
                    // https://docs.aws.amazon.com/vpc/latest/userguide/default-vpc.html
                    .made_with_account()
                    .needs(&["ec2:DeleteVpc", "ec2:DeleteSubnet", "ec2:DeleteInternetGateway"]),
            );
        }
    }
    controls
}

/// The network interfaces in a VPC, by id.
/// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeNetworkInterfaces.html
pub(crate) async fn network_interfaces(ec2: &aws_sdk_ec2::Client, vpc_id: &str) -> Result<Vec<String>> {
    let mut pages = ec2.describe_network_interfaces().filters(filter("vpc-id", vpc_id)).into_paginator().items().send();
    let mut ids = Vec::new();
    while let Some(interface) = pages.next().await {
        let interface = interface.map_err(|error| aws_error("DescribeNetworkInterfaces", error))?;
        ids.extend(interface.network_interface_id);
    }
    ids.sort();
    Ok(ids)
}

/// The internet gateways attached to a VPC, by id.
/// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeInternetGateways.html
async fn internet_gateways(ec2: &aws_sdk_ec2::Client, vpc_id: &str) -> Result<Vec<String>> {
    let mut pages =
        ec2.describe_internet_gateways().filters(filter("attachment.vpc-id", vpc_id)).into_paginator().items().send();
    let mut ids = Vec::new();
    while let Some(gateway) = pages.next().await {
        let gateway = gateway.map_err(|error| aws_error("DescribeInternetGateways", error))?;
        ids.extend(gateway.internet_gateway_id);
    }
    Ok(ids)
}

/// The subnets of a VPC, by id.
/// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeSubnets.html
async fn subnets(ec2: &aws_sdk_ec2::Client, vpc_id: &str) -> Result<Vec<String>> {
    let mut pages = ec2.describe_subnets().filters(filter("vpc-id", vpc_id)).into_paginator().items().send();
    let mut ids = Vec::new();
    while let Some(subnet) = pages.next().await {
        let subnet = subnet.map_err(|error| aws_error("DescribeSubnets", error))?;
        ids.extend(subnet.subnet_id);
    }
    Ok(ids)
}

/// Why a VPC with these network interfaces must stay; None when none is in it.
fn kept_because(interfaces: &[String]) -> Option<String> {
    match interfaces {
        [] => None,
        [only] => Some(format!(
            "network interface {only} is in it (an instance, load balancer or function uses the default VPC); remove what uses it and plan again"
        )),
        many => Some(format!(
            "{} network interfaces are in it ({}); remove what uses the default VPC and plan again",
            many.len(),
            many.join(", ")
        )),
    }
}

/// The default VPC of the control's account and Region; None when there is none.
pub async fn read(context: &Context<'_>, key: &ControlKey) -> Result<Option<Value>> {
    let ec2 = ec2_client(context, key).await?;
    let Some(vpc) = vpcs(&ec2, true).await?.into_iter().next() else { return Ok(None) };
    let vpc_id = vpc.vpc_id.unwrap_or_default();
    let interfaces = network_interfaces(&ec2, &vpc_id).await?;
    Ok(Some(encode(&DefaultVpcAttributes {
        cidr_block: vpc.cidr_block.unwrap_or_default(),
        internet_gateway: !internet_gateways(&ec2, &vpc_id).await?.is_empty(),
        kept_because: kept_because(&interfaces),
    })))
}

/// Removes the default VPC, read afresh: refuses one a network interface is now in; the internet
/// gateway is detached and deleted, then the subnets, then the VPC (the order DeleteVpc needs).
/// One already gone is success.
pub async fn remove(context: &Context<'_>, key: &ControlKey) -> Result<()> {
    let ec2 = ec2_client(context, key).await?;
    let Some(vpc) = vpcs(&ec2, true).await?.into_iter().next() else { return Ok(()) };
    let Some(vpc_id) = vpc.vpc_id else { return Ok(()) };
    if let Some(why) = kept_because(&network_interfaces(&ec2, &vpc_id).await?) {
        bail!("{}: default VPC {vpc_id} is in use and was left: {why}", key.label());
    }
    for gateway in internet_gateways(&ec2, &vpc_id).await? {
        // https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DetachInternetGateway.html
        match ec2.detach_internet_gateway().internet_gateway_id(&gateway).vpc_id(&vpc_id).send().await {
            Ok(_) => {}
            Err(error) if is_ec2_not_found(&error) => {}
            Err(error) => return Err(aws_error("DetachInternetGateway", error)),
        }
        // https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DeleteInternetGateway.html
        match ec2.delete_internet_gateway().internet_gateway_id(&gateway).send().await {
            Ok(_) => {}
            Err(error) if is_ec2_not_found(&error) => {}
            Err(error) => return Err(aws_error("DeleteInternetGateway", error)),
        }
    }
    for subnet in subnets(&ec2, &vpc_id).await? {
        // https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DeleteSubnet.html
        match ec2.delete_subnet().subnet_id(&subnet).send().await {
            Ok(_) => {}
            Err(error) if is_ec2_not_found(&error) => {}
            Err(error) if is_ec2_dependency_violation(&error) => bail!(
                "{}: subnet {subnet} of default VPC {vpc_id} still has resources: {}\nhint: remove them and apply again",
                key.label(),
                crate::aws::errors::describe(&error)
            ),
            Err(error) => return Err(aws_error("DeleteSubnet", error)),
        }
    }
    match ec2.delete_vpc().vpc_id(&vpc_id).send().await {
        Ok(_) => Ok(()),
        Err(error) if is_ec2_not_found(&error) => Ok(()),
        Err(error) if is_ec2_dependency_violation(&error) => bail!(
            "{}: default VPC {vpc_id} still has resources of its own (security groups, route tables, endpoints): {}\nhint: remove them and apply again",
            key.label(),
            crate::aws::errors::describe(&error)
        ),
        Err(error) => Err(aws_error("DeleteVpc", error)),
    }
}

/// The `baseline.default_vpcs` section in the registry.
pub struct DefaultVpcs;

impl Baseline for DefaultVpcs {
    fn audited_by_reader(&self) -> bool {
        true
    }

    fn family(&self) -> &'static str {
        CONTROL
    }

    fn section(&self) -> &'static str {
        "default_vpcs"
    }

    fn summary(&self) -> &'static str {
        "the default VPC with its default subnets and internet gateway removed in every targeted account and region, unless a network interface is in it"
    }

    fn validate(&self, checker: &mut Checker<'_>) {
        if let Some(section) = &checker.spec().baseline.default_vpcs {
            checker.targets(&["baseline", "default_vpcs", "targets"], &section.targets, true);
        }
    }

    fn desired(&self, inputs: &Inputs<'_>) -> Vec<DesiredControl> {
        desired(inputs)
    }

    fn permissions(&self) -> Permissions {
        // https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonec2.html
        Permissions {
            management: Actions { read: &[], write: &[] },
            in_account: Actions {
                read: &["ec2:DescribeVpcs", "ec2:DescribeNetworkInterfaces", "ec2:DescribeInternetGateways"],
                write: &[
                    "ec2:DescribeSubnets",
                    "ec2:DetachInternetGateway",
                    "ec2:DeleteInternetGateway",
                    "ec2:DeleteSubnet",
                    "ec2:DeleteVpc",
                ],
            },
        }
    }

    fn read<'a>(
        &'a self,
        context: &'a Context<'_>,
        key: &'a ControlKey,
        _desired: &'a Value,
    ) -> BoxFuture<'a, Result<Option<Value>>> {
        Box::pin(read(context, key))
    }

    fn apply<'a>(
        &'a self,
        _context: &'a Context<'_>,
        key: &'a ControlKey,
        _attributes: &'a Value,
        _before: Option<&'a Value>,
    ) -> BoxFuture<'a, Result<()>> {
        // The planner never configures a control the spec wants absent: it removes it.
        Box::pin(async move { bail!("{}: a default VPC is only ever removed", key.label()) })
    }

    fn remove<'a>(
        &'a self,
        context: &'a Context<'_>,
        key: &'a ControlKey,
        _before: &'a Value,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(remove(context, key))
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
    fn a_default_vpc_in_use_says_which_interfaces_keep_it() {
        assert_eq!(kept_because(&[]), None);
        let one = kept_because(&["eni-1".to_string()]).unwrap_or_default();
        assert!(one.contains("eni-1"), "{one}");
        let two = kept_because(&["eni-1".to_string(), "eni-2".to_string()]).unwrap_or_default();
        assert!(two.starts_with("2 network interfaces") && two.contains("eni-1, eni-2"), "{two}");
        let live = encode(&DefaultVpcAttributes {
            cidr_block: "172.31.0.0/16".to_string(),
            internet_gateway: true,
            kept_because: Some(one.clone()),
        });
        assert_eq!(crate::plan::control::kept_because(&live), Some(one.as_str()));
    }
}
