//! `baseline.alerts.root_activity`: any activity of the root user in a targeted account reaches the
//! alerts topic. Each targeted account forwards matching events from its default bus to the event
//! bus `landing-zone-root-activity` of the alerts account, through a role EventBridge assumes
//! ("the sending event bus must have IAM roles attached to them when sending events to another
//! account": https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-cross-account.html); that
//! bus accepts events from the organization's accounts only (`aws:PrincipalOrgID`:
//! https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-bus-perms.html), and a rule on
//! it sends them to the topic.
//!
//! Root console sign-ins, like the other global-service events (IAM, STS, sign-in), are recorded
//! in us-east-1 (https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-aws-console-sign-in-events.html,
//! https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-concepts.html#cloudtrail-concepts-global-service-events):
//! each targeted account forwards from us-east-1 too, to the bus of the home region when
//! us-east-1 is not one of the spec's (EventBridge delivers to event buses in other regions).

use anyhow::{anyhow, Context as _, Result};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::{RuleAttributes, DEFAULT_BUS, RULE_PREFIX, TOPIC, TOPIC_NAME};
use crate::aws::errors::is_resource_not_found;
use crate::aws::session::partition_of;
use crate::baseline::attributes::{decode, encode};
use crate::baseline::{aws_error, Context};
use crate::plan::control::{ControlKey, DesiredControl, Inputs};
use crate::spec::{AlertsSpec, OWNERSHIP_TAG, OWNERSHIP_VALUE};

pub const BUS: &str = "alerts/bus";
pub const FORWARDER_ROLE: &str = "alerts/forwarder_role";
/// The role each targeted account's forwarding rule delivers through.
pub const FORWARDER_ROLE_NAME: &str = "LandingZoneRootActivityForwarder";
/// The event bus of the alerts account that receives the organization's root activity, and the
/// name of the rules that forward to it and from it.
pub const BUS_NAME: &str = "landing-zone-root-activity";
/// Where root console sign-ins are recorded (commercial partition).
const SIGN_IN_REGION: &str = "us-east-1";

/// The central bus as the planner compares it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BusAttributes {
    pub name: String,
    pub policy: Value,
}

/// Any event the root user causes: its API calls and its console sign-ins, as CloudTrail sends
/// them to EventBridge, whose `userIdentity.type` is `Root`
/// (https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-user-identity.html).
fn root_pattern() -> Value {
    json!({
        "detail-type": ["AWS API Call via CloudTrail", "AWS Console Sign In via CloudTrail"],
        "detail": { "userIdentity": { "type": ["Root"] } },
    })
}

fn bus_arn(partition: &str, region: &str, account_id: &str) -> String {
    format!("arn:{partition}:events:{region}:{account_id}:event-bus/{BUS_NAME}")
}

/// The controls of `root_activity` (none without it).
pub fn desired(inputs: &Inputs<'_>, alerts: &AlertsSpec) -> Vec<DesiredControl> {
    let Some(root_activity) = &alerts.root_activity else { return Vec::new() };
    let home = inputs.home_region();
    let partition = partition_of(home);
    let central = format!("{{{{account:{}}}}}", alerts.account);
    let mut controls = Vec::new();
    for region in inputs.regions() {
        let at = Some(region.as_str());
        let bus = ControlKey::new(BUS, &alerts.account, at);
        let arn = bus_arn(partition, region, &central);
        controls.push(
            DesiredControl::new(
                bus.clone(),
                encode(&BusAttributes {
                    name: BUS_NAME.to_string(),
                    policy: json!({
                        "Version": "2012-10-17",
                        "Statement": [{
                            "Sid": "OrganizationSends",
                            "Effect": "Allow",
                            "Principal": "*",
                            "Action": "events:PutEvents",
                            "Resource": arn,
                            "Condition": { "StringEquals": { "aws:PrincipalOrgID": "{{organization}}" } },
                        }],
                    }),
                }),
            )
            .needs(&["events:CreateEventBus", "events:PutPermission"]),
        );
        controls.push(
            DesiredControl::new(
                ControlKey::new(format!("{RULE_PREFIX}root_activity"), &alerts.account, at),
                encode(&RuleAttributes {
                    name: BUS_NAME.to_string(),
                    bus: BUS_NAME.to_string(),
                    pattern: root_pattern(),
                    enabled: true,
                    targets: vec![format!("arn:{partition}:sns:{region}:{central}:{TOPIC_NAME}")],
                    role: None,
                }),
            )
            .after(bus)
            .after(ControlKey::new(TOPIC, &alerts.account, at))
            .needs(&["events:PutRule", "events:PutTargets"]),
        );
    }
    // Forwarding regions: the spec's, and us-east-1 for console sign-ins (commercial partition),
    // each with the bus it delivers to.
    let mut forwarding: Vec<(String, String)> =
        inputs.regions().iter().map(|region| (region.clone(), region.clone())).collect();
    if partition == "aws" && !inputs.regions().iter().any(|region| region == SIGN_IN_REGION) {
        forwarding.push((SIGN_IN_REGION.to_string(), home.to_string()));
    }
    let central_buses = format!("arn:{partition}:events:*:{central}:event-bus/{BUS_NAME}");
    for account in inputs.accounts_for(&root_activity.targets) {
        let role = ControlKey::new(FORWARDER_ROLE, &account, None);
        controls.push(
            DesiredControl::new(
                role.clone(),
                json!({
                    "trust_policy": {
                        "Version": "2012-10-17",
                        "Statement": [{
                            "Effect": "Allow",
                            "Principal": { "Service": ["events.amazonaws.com"] },
                            "Action": "sts:AssumeRole",
                        }],
                    },
                    "description": "EventBridge forwards the root user's activity to the alerts account (landing-zone)",
                    "max_session_duration": 3600,
                    "managed_policies": [],
                    "inline_policies": {
                        "forward-root-activity": {
                            "Version": "2012-10-17",
                            "Statement": [{ "Effect": "Allow", "Action": "events:PutEvents", "Resource": central_buses }],
                        },
                    },
                }),
            )
            .needs(&["iam:CreateRole", "iam:PutRolePolicy", "iam:TagRole"]),
        );
        let role_arn = format!("arn:{partition}:iam::{{{{account:{account}}}}}:role/{FORWARDER_ROLE_NAME}");
        for (region, bus_region) in &forwarding {
            controls.push(
                DesiredControl::new(
                    ControlKey::new(format!("{RULE_PREFIX}root_activity_forwarder"), &account, Some(region)),
                    encode(&RuleAttributes {
                        name: BUS_NAME.to_string(),
                        bus: DEFAULT_BUS.to_string(),
                        pattern: root_pattern(),
                        enabled: true,
                        targets: vec![bus_arn(partition, bus_region, &central)],
                        role: Some(role_arn.clone()),
                    }),
                )
                .after(role.clone())
                .after(ControlKey::new(BUS, &alerts.account, Some(bus_region)))
                .needs(&["events:PutRule", "events:PutTargets", "iam:PassRole"]),
            );
        }
    }
    controls
}

/// The central bus; None when it does not exist.
/// https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_DescribeEventBus.html
pub async fn read_bus(context: &Context<'_>, key: &ControlKey) -> Result<Option<Value>> {
    let account_id = context.account_id(&key.account)?;
    let events = context.sessions.client::<aws_sdk_eventbridge::Client>(account_id, key.region.as_deref()).await;
    let bus = match events.describe_event_bus().name(BUS_NAME).send().await {
        Ok(bus) => bus,
        Err(error) if is_resource_not_found(&error) => return Ok(None),
        Err(error) => return Err(aws_error("DescribeEventBus", error)),
    };
    let policy = match bus.policy.as_deref() {
        Some(text) => serde_json::from_str(text).map_err(|error| anyhow!("the bus policy is not JSON: {error}"))?,
        None => Value::Null,
    };
    Ok(Some(encode(&BusAttributes { name: BUS_NAME.to_string(), policy })))
}

/// Creates the central bus (with the ownership tag) when missing and sets its policy.
/// https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_CreateEventBus.html
/// https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutPermission.html
pub async fn apply_bus(context: &Context<'_>, key: &ControlKey, attributes: &Value) -> Result<()> {
    let wanted: BusAttributes = decode(key, attributes)?;
    let account_id = context.account_id(&key.account)?;
    let events = context.sessions.client::<aws_sdk_eventbridge::Client>(account_id, key.region.as_deref()).await;
    let tag = aws_sdk_eventbridge::types::Tag::builder()
        .key(OWNERSHIP_TAG)
        .value(OWNERSHIP_VALUE)
        .build()
        .map_err(|error| anyhow!("the ownership tag: {error}"))?;
    match events.create_event_bus().name(&wanted.name).tags(tag).send().await {
        Ok(_) => {}
        Err(error) if error.as_service_error().is_some_and(|e| e.is_resource_already_exists_exception()) => {}
        Err(error) => return Err(aws_error("CreateEventBus", error)),
    }
    events
        .put_permission()
        .event_bus_name(&wanted.name)
        .policy(wanted.policy.to_string())
        .send()
        .await
        .map_err(|error| aws_error("PutPermission", error))
        .context("setting the root-activity bus policy")?;
    Ok(())
}
