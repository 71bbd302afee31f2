//! EC2 reads the network baselines share (`default_vpcs`, `default_security_groups`,
//! `flow_logs`): the VPCs of one account and Region, each page through the SDK's paginators. No
//! writes.

use anyhow::Result;
use aws_sdk_ec2::types::{Filter, Vpc};

use super::{aws_error, Context};
use crate::plan::control::ControlKey;

/// The EC2 client of the control's account and Region.
pub async fn ec2_client(context: &Context<'_>, key: &ControlKey) -> Result<aws_sdk_ec2::Client> {
    Ok(context.sessions.client::<aws_sdk_ec2::Client>(context.account_id(&key.account)?, key.region.as_deref()).await)
}

/// A DescribeX filter of one name and value.
pub fn filter(name: &str, value: &str) -> Filter {
    Filter::builder().name(name).values(value).build()
}

/// Every VPC of the account and Region (with `is_default` set, only the default one, which AWS
/// keeps at most one of per Region:
/// https://docs.aws.amazon.com/vpc/latest/userguide/default-vpc.html).
/// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeVpcs.html
pub async fn vpcs(ec2: &aws_sdk_ec2::Client, only_default: bool) -> Result<Vec<Vpc>> {
    let mut request = ec2.describe_vpcs();
    if only_default {
        request = request.filters(filter("is-default", "true"));
    }
    let mut pages = request.into_paginator().items().send();
    let mut vpcs = Vec::new();
    while let Some(vpc) = pages.next().await {
        vpcs.push(vpc.map_err(|error| aws_error("DescribeVpcs", error))?);
    }
    vpcs.sort_by(|a, b| a.vpc_id.cmp(&b.vpc_id));
    Ok(vpcs)
}
