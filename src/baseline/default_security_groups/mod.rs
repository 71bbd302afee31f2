//! `baseline.default_security_groups`: the default security group of every VPC in the targeted
//! accounts and Regions holds no inbound and no outbound rule, so nothing launched without a
//! security group of its own can talk to anything. Security Hub control EC2.2 ("VPC default
//! security groups should not allow inbound or outbound traffic", after CIS AWS Foundations
//! Benchmark 5.4): https://docs.aws.amazon.com/securityhub/latest/userguide/ec2-controls.html#ec2-2
//!
//! One control `default_security_groups` per account and Region: its attributes are the default
//! groups that hold rules (none is what the spec wants), so a rule added by hand is a planned
//! change, and applying revokes every rule of every default group, read afresh. A default group
//! cannot be deleted (DeleteSecurityGroup: "You can't delete the default security group",
//! https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DeleteSecurityGroup.html), only
//! emptied; a new VPC's default group comes with an inbound rule from itself and an outbound rule
//! to everywhere (https://docs.aws.amazon.com/vpc/latest/userguide/default-security-group.html).

mod import;

use crate::spec::validate::Checker;
use std::collections::BTreeMap;

use anyhow::Result;
use aws_sdk_ec2::types::SecurityGroup;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::attributes::encode;
use super::vpcs::{ec2_client, filter};
use super::{aws_error, Actions, Baseline, BoxFuture, Context, Permissions};
use crate::aws::errors::is_ec2_not_found;
use crate::plan::control::{ControlKey, DesiredControl, Inputs};

pub const CONTROL: &str = "default_security_groups";

/// The default security groups of one account and Region that hold rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DefaultSecurityGroupAttributes {
    /// `sg-… (vpc-…)` -> `1 inbound, 1 outbound rule`; empty is what the spec wants.
    pub with_rules: BTreeMap<String, String>,
}

pub fn desired(inputs: &Inputs<'_>) -> Vec<DesiredControl> {
    let Some(section) = &inputs.spec.baseline.default_security_groups else { return Vec::new() };
    let mut controls = Vec::new();
    let default_vpcs =
        inputs.spec.baseline.default_vpcs.as_ref().filter(|section| section.delete).map(|section| &section.targets);
    let removed_default_vpc: Vec<String> = default_vpcs.map(|targets| inputs.accounts_for(targets)).unwrap_or_default();
    for account in inputs.accounts_for(&section.targets) {
        for region in inputs.regions() {
            let mut control = DesiredControl::new(
                ControlKey::new(CONTROL, &account, Some(region)),
                encode(&DefaultSecurityGroupAttributes { with_rules: BTreeMap::new() }),
            )
            .needs(&["ec2:RevokeSecurityGroupIngress", "ec2:RevokeSecurityGroupEgress"]);
            // A default VPC being removed takes its default group with it: no revoke there.
            if removed_default_vpc.contains(&account) {
                control =
                    control.after(ControlKey::new(crate::baseline::default_vpcs::CONTROL, &account, Some(region)));
            }
            controls.push(control);
        }
    }
    controls
}

/// Every VPC's default security group in the account and Region.
/// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeSecurityGroups.html
async fn default_groups(ec2: &aws_sdk_ec2::Client) -> Result<Vec<SecurityGroup>> {
    let mut pages =
        ec2.describe_security_groups().filters(filter("group-name", "default")).into_paginator().items().send();
    let mut groups = Vec::new();
    while let Some(group) = pages.next().await {
        groups.push(group.map_err(|error| aws_error("DescribeSecurityGroups", error))?);
    }
    Ok(groups)
}

fn rules_of(group: &SecurityGroup) -> Option<(String, String)> {
    let inbound = group.ip_permissions().len();
    let outbound = group.ip_permissions_egress().len();
    if inbound == 0 && outbound == 0 {
        return None;
    }
    let name = format!("{} ({})", group.group_id().unwrap_or_default(), group.vpc_id().unwrap_or_default());
    let plural = if outbound == 1 { "" } else { "s" };
    Some((name, format!("{inbound} inbound, {outbound} outbound rule{plural}")))
}

pub async fn read(context: &Context<'_>, key: &ControlKey) -> Result<Option<Value>> {
    let ec2 = ec2_client(context, key).await?;
    let with_rules = default_groups(&ec2).await?.iter().filter_map(rules_of).collect();
    Ok(Some(encode(&DefaultSecurityGroupAttributes { with_rules })))
}

/// Revokes every inbound and outbound rule of every default security group, read afresh (a
/// group or rule gone meanwhile is success).
pub async fn apply(context: &Context<'_>, key: &ControlKey) -> Result<()> {
    let ec2 = ec2_client(context, key).await?;
    for group in default_groups(&ec2).await? {
        let Some(group_id) = group.group_id() else { continue };
        if !group.ip_permissions().is_empty() {
            // https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_RevokeSecurityGroupIngress.html
            match ec2
                .revoke_security_group_ingress()
                .group_id(group_id)
                .set_ip_permissions(Some(group.ip_permissions().to_vec()))
                .send()
                .await
            {
                Ok(_) => {}
                Err(error) if is_ec2_not_found(&error) => {}
                Err(error) => return Err(aws_error("RevokeSecurityGroupIngress", error)),
            }
        }
        if !group.ip_permissions_egress().is_empty() {
            // https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_RevokeSecurityGroupEgress.html
            match ec2
                .revoke_security_group_egress()
                .group_id(group_id)
                .set_ip_permissions(Some(group.ip_permissions_egress().to_vec()))
                .send()
                .await
            {
                Ok(_) => {}
                Err(error) if is_ec2_not_found(&error) => {}
                Err(error) => return Err(aws_error("RevokeSecurityGroupEgress", error)),
            }
        }
    }
    Ok(())
}

/// The `baseline.default_security_groups` section in the registry.
pub struct DefaultSecurityGroups;

impl Baseline for DefaultSecurityGroups {
    fn audited_by_reader(&self) -> bool {
        true
    }

    fn family(&self) -> &'static str {
        CONTROL
    }

    fn section(&self) -> &'static str {
        "default_security_groups"
    }

    fn summary(&self) -> &'static str {
        "no inbound or outbound rule in the default security group of every VPC in the targeted accounts and regions (Security Hub EC2.2)"
    }

    fn validate(&self, checker: &mut Checker<'_>) {
        if let Some(section) = &checker.spec().baseline.default_security_groups {
            checker.targets(&["baseline", "default_security_groups", "targets"], &section.targets, true);
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
                read: &["ec2:DescribeSecurityGroups"],
                write: &["ec2:RevokeSecurityGroupIngress", "ec2:RevokeSecurityGroupEgress"],
            },
        }
    }

    fn audit_detail(&self, _key: &ControlKey, live: &Value) -> Option<String> {
        let live: DefaultSecurityGroupAttributes = serde_json::from_value(live.clone()).ok()?;
        let groups: Vec<String> = live.with_rules.iter().map(|(group, rules)| format!("{group}: {rules}")).collect();
        Some(format!("default security groups with rules: {}", groups.join("; ")))
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
        context: &'a Context<'_>,
        key: &'a ControlKey,
        _attributes: &'a Value,
        _before: Option<&'a Value>,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(apply(context, key))
    }

    fn import<'a>(
        &'a self,
        context: &'a Context<'_>,
        scope: &'a super::import::ImportScope,
    ) -> BoxFuture<'a, Result<Option<super::import::ImportedSection>>> {
        Box::pin(import::import(context, scope))
    }
}
