//! `baseline.flow_logs`: every VPC in the targeted accounts and Regions has a flow log, of the
//! spec's traffic type, delivered to the log archive bucket (`baseline.log_archive`, which
//! `validate` demands). The bucket's policy lets the log delivery service write for these
//! accounts only (`log_archive::documents::flow_log_statements`).
//!
//! One control `flow_logs` per account and Region: its attributes are the destination, the
//! traffic type and the VPCs lacking such a flow log (none is what the spec wants), so a VPC
//! created later, or a flow log deleted by hand, is a planned change. Applying lists the VPCs
//! afresh and creates the missing flow logs, tagged as landing-zone's; flow logs to other
//! destinations are left alone. A flow log to S3 needs no IAM role
//! (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateFlowLogs.html:
//! `DeliverLogsPermissionArn` "is required if the destination type is cloud-watch-logs, or if the
//! destination type is kinesis-data-firehose and the delivery stream and the resources to monitor
//! are in different accounts"); its delivery rests on the bucket policy
//! (https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-s3-permissions.html).

mod import;

use crate::spec::validate::Checker;
use std::collections::BTreeSet;

use anyhow::{bail, Result};
use aws_sdk_ec2::types::{FlowLogsResourceType, LogDestinationType, ResourceType, Tag, TagSpecification, TrafficType};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::attributes::{decode, encode};
use super::vpcs::{ec2_client, vpcs};
use super::{aws_error, Actions, Baseline, BoxFuture, Context, Permissions};
use crate::aws::session::partition_of;
use crate::plan::control::{ControlKey, DesiredControl, Inputs};
use crate::spec::{OWNERSHIP_TAG, OWNERSHIP_VALUE};

pub const CONTROL: &str = "flow_logs";

/// VPCs per CreateFlowLogs call. AWS caps `ResourceIds` at 25 for transit gateway resource types
/// (https://docs.aws.amazon.com/vpc/latest/tgw/flow-logs-api-cli.html) and documents no cap for
/// VPCs; the same batch keeps each answer's `Unsuccessful` list short.
const RESOURCES_PER_CALL: usize = 25;

/// The flow logs of one account and Region.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlowLogAttributes {
    /// The log archive bucket's ARN (`arn:aws:s3:::bucket`).
    pub destination: String,
    /// `ALL`, `ACCEPT` or `REJECT`.
    pub traffic: String,
    /// VPCs with no flow log of that traffic type to that bucket, sorted; empty is what the spec
    /// wants.
    pub vpcs_without_flow_log: Vec<String>,
}

/// The log archive bucket's ARN as a flow log names it (placeholders for the bunker's id).
pub fn destination(inputs: &Inputs<'_>) -> Option<String> {
    let log_archive = inputs.spec.baseline.log_archive.as_ref()?;
    let partition = partition_of(inputs.home_region());
    Some(format!("arn:{partition}:s3:::{}", crate::baseline::log_archive::bucket_name(log_archive)))
}

/// The accounts whose flow logs the spec sends to the bunker (the bucket policy admits these).
pub fn source_accounts(inputs: &Inputs<'_>) -> Vec<String> {
    match &inputs.spec.baseline.flow_logs {
        Some(section) => inputs.accounts_for(&section.targets),
        None => Vec::new(),
    }
}

pub fn desired(inputs: &Inputs<'_>) -> Vec<DesiredControl> {
    let Some(section) = &inputs.spec.baseline.flow_logs else { return Vec::new() };
    // `validate` refuses the section without `baseline.log_archive`.
    let Some(destination) = destination(inputs) else { return Vec::new() };
    let Some(log_archive) = &inputs.spec.baseline.log_archive else { return Vec::new() };
    let bucket =
        ControlKey::new(crate::baseline::log_archive::BUCKET_CONTROL, &log_archive.account, Some(inputs.home_region()));
    let default_vpcs = inputs.spec.baseline.default_vpcs.as_ref().filter(|section| section.delete);
    let removed_default_vpc: Vec<String> =
        default_vpcs.map(|section| inputs.accounts_for(&section.targets)).unwrap_or_default();
    let attributes = encode(&FlowLogAttributes {
        destination,
        traffic: section.traffic.as_str().to_string(),
        vpcs_without_flow_log: Vec::new(),
    });
    let mut controls = Vec::new();
    for account in inputs.accounts_for(&section.targets) {
        for region in inputs.regions() {
            // The bucket and its policy admitting this account come first.
            let mut control = DesiredControl::new(ControlKey::new(CONTROL, &account, Some(region)), attributes.clone())
                .after(bucket.clone())
                .needs(&["ec2:CreateFlowLogs"]);
            // No flow log for a default VPC about to go.
            if removed_default_vpc.contains(&account) {
                control =
                    control.after(ControlKey::new(crate::baseline::default_vpcs::CONTROL, &account, Some(region)));
            }
            controls.push(control);
        }
    }
    controls
}

/// The VPCs with a flow log to `destination` (ignoring a trailing `/` or a folder), each with the
/// flow log's traffic type: (VPC id, `ALL` | `ACCEPT` | `REJECT`).
/// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeFlowLogs.html
async fn flow_logs_to(ec2: &aws_sdk_ec2::Client, destination: &str) -> Result<Vec<(String, String)>> {
    let mut pages = ec2.describe_flow_logs().into_paginator().items().send();
    let mut found = Vec::new();
    while let Some(flow_log) = pages.next().await {
        let flow_log = flow_log.map_err(|error| aws_error("DescribeFlowLogs", error))?;
        let to_bucket = flow_log.log_destination_type() == Some(&LogDestinationType::S3)
            && flow_log.log_destination().is_some_and(|arn| {
                arn == destination || arn.strip_prefix(destination).is_some_and(|rest| rest.starts_with('/'))
            });
        if let (true, Some(vpc), Some(traffic)) = (to_bucket, flow_log.resource_id(), flow_log.traffic_type()) {
            found.push((vpc.to_string(), traffic.as_str().to_string()));
        }
    }
    Ok(found)
}

/// The VPCs with a flow log of `traffic` to `destination`.
async fn covered_vpcs(ec2: &aws_sdk_ec2::Client, destination: &str, traffic: &str) -> Result<BTreeSet<String>> {
    Ok(flow_logs_to(ec2, destination)
        .await?
        .into_iter()
        .filter(|(_, logged)| logged == traffic)
        .map(|(vpc, _)| vpc)
        .collect())
}

async fn missing(ec2: &aws_sdk_ec2::Client, wanted: &FlowLogAttributes) -> Result<Vec<String>> {
    let covered = covered_vpcs(ec2, &wanted.destination, &wanted.traffic).await?;
    Ok(vpcs(ec2, false).await?.into_iter().filter_map(|vpc| vpc.vpc_id).filter(|id| !covered.contains(id)).collect())
}

/// `desired` (placeholders resolved) names the bucket and the traffic type.
pub async fn read(context: &Context<'_>, key: &ControlKey, desired: &Value) -> Result<Option<Value>> {
    let wanted: FlowLogAttributes = decode(key, desired)?;
    let ec2 = ec2_client(context, key).await?;
    let vpcs_without_flow_log = missing(&ec2, &wanted).await?;
    Ok(Some(encode(&FlowLogAttributes { vpcs_without_flow_log, ..wanted })))
}

/// Creates a flow log for every VPC lacking one, listed afresh.
pub async fn apply(context: &Context<'_>, key: &ControlKey, attributes: &Value) -> Result<()> {
    let wanted: FlowLogAttributes = decode(key, attributes)?;
    let ec2 = ec2_client(context, key).await?;
    let lacking = missing(&ec2, &wanted).await?;
    let tags = TagSpecification::builder()
        .resource_type(ResourceType::VpcFlowLog)
        .tags(Tag::builder().key(OWNERSHIP_TAG).value(OWNERSHIP_VALUE).build())
        .build();
    for batch in lacking.chunks(RESOURCES_PER_CALL) {
        // https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateFlowLogs.html: a
        // resource the flow log could not be made for comes back in `Unsuccessful`, not as an error.
        let output = ec2
            .create_flow_logs()
            .resource_type(FlowLogsResourceType::Vpc)
            .set_resource_ids(Some(batch.to_vec()))
            .traffic_type(TrafficType::from(wanted.traffic.as_str()))
            .log_destination_type(LogDestinationType::S3)
            .log_destination(&wanted.destination)
            .tag_specifications(tags.clone())
            .send()
            .await
            .map_err(|error| aws_error("CreateFlowLogs", error))?;
        let failures: Vec<String> = output
            .unsuccessful()
            .iter()
            .map(|item| {
                let error = item.error();
                format!(
                    "{}: {}",
                    item.resource_id().unwrap_or_default(),
                    error.and_then(|error| error.message()).unwrap_or("refused")
                )
            })
            .collect();
        if !failures.is_empty() {
            bail!(
                "{}: CreateFlowLogs refused {}\nhint: the log archive bucket's policy must let `delivery.logs.amazonaws.com` write for this account (apply `baseline.log_archive` first)",
                key.label(),
                failures.join("; ")
            );
        }
    }
    Ok(())
}

/// The `baseline.flow_logs` section in the registry.
pub struct FlowLogs;

impl Baseline for FlowLogs {
    fn audited_by_reader(&self) -> bool {
        true
    }

    fn family(&self) -> &'static str {
        CONTROL
    }

    fn section(&self) -> &'static str {
        "flow_logs"
    }

    fn summary(&self) -> &'static str {
        "a flow log to the log archive bucket for every VPC in the targeted accounts and regions"
    }

    fn validate(&self, checker: &mut Checker<'_>) {
        let baseline = &checker.spec().baseline;
        let Some(section) = &baseline.flow_logs else { return };
        checker.targets(&["baseline", "flow_logs", "targets"], &section.targets, true);
        // The flow logs go to the log archive bucket, whose policy admits the log delivery
        // service for these accounts: without the bunker there is nowhere to send them.
        if baseline.log_archive.is_none() {
            checker.error_at(
                &["baseline", "flow_logs"],
                true,
                "`baseline.flow_logs` delivers to the log archive bucket, and the spec has no `baseline.log_archive`"
                    .to_string(),
                Some("add `baseline.log_archive: { account: <the log archive account> }`".to_string()),
            );
        }
    }

    fn desired(&self, inputs: &Inputs<'_>) -> Vec<DesiredControl> {
        desired(inputs)
    }

    fn permissions(&self) -> Permissions {
        // https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonec2.html;
        // a flow log created with tags needs ec2:CreateTags on it as well.
        Permissions {
            management: Actions { read: &[], write: &[] },
            in_account: Actions {
                read: &["ec2:DescribeVpcs", "ec2:DescribeFlowLogs"],
                write: &["ec2:CreateFlowLogs", "ec2:CreateTags"],
            },
        }
    }

    fn audit_detail(&self, _key: &ControlKey, live: &Value) -> Option<String> {
        let live: FlowLogAttributes = serde_json::from_value(live.clone()).ok()?;
        Some(format!("VPCs without a flow log to the log archive: {}", live.vpcs_without_flow_log.join(", ")))
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
