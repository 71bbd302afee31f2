//! `baseline.alerts`: findings reach people. In `account`, in every region of the spec:
//!
//! - `alerts/topic`: the SNS topic `landing-zone-alerts`, its policy (the account manages it;
//!   EventBridge rules of that account, and nobody else, publish to it) and its e-mail
//!   subscriptions, exact for e-mail: an address the spec drops is unsubscribed once it has
//!   confirmed (a pending subscription has no ARN to remove and expires on its own). A pending
//!   confirmation is a note, not drift.
//! - `alerts/rule/guardduty_findings` and `alerts/rule/security_hub_findings` (with `findings`):
//!   EventBridge rules on the default bus matching each service's findings at or above
//!   `min_severity`, on that service's own scale, with the topic as their one target.
//!
//! - with `root_activity`, in every targeted account: the role `LandingZoneRootActivityForwarder`
//!   (`alerts/forwarder_role`) and, in every region of the spec and in us-east-1, where root
//!   console sign-ins are recorded, the rule `landing-zone-root-activity`
//!   (`alerts/rule/root_activity_forwarder`) forwarding any root-user event to the event bus
//!   `landing-zone-root-activity` of `account` (`alerts/bus`, whose policy accepts only the
//!   organization), where a rule (`alerts/rule/root_activity`) sends it to the topic
//!   (`root_activity.rs`).
//!
//! The account should be GuardDuty's and Security Hub's delegated administrator, which receives
//! every member's findings (`validate` says so). The topic's policy follows
//! https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html#eb-sns-permissions.

mod import;
mod root_activity;
mod validate;

use crate::spec::validate::Checker;
use anyhow::{anyhow, Context as _, Result};
use aws_sdk_eventbridge::types::{RuleState, Target};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::attributes::{decode, encode};
use super::{aws_error, Actions, Baseline, BoxFuture, Context, Permissions};
use crate::aws::errors::{is_resource_not_found, is_sns_not_found};
use crate::aws::session::partition_of;
use crate::plan::control::{ControlKey, DesiredControl, Inputs};
use crate::spec::{Severity, OWNERSHIP_TAG, OWNERSHIP_VALUE};

pub const CONTROL: &str = "alerts";
pub const TOPIC: &str = "alerts/topic";
const RULE_PREFIX: &str = "alerts/rule/";
/// The topic's name in every region of the alerts account.
pub const TOPIC_NAME: &str = "landing-zone-alerts";
/// The id of the topic among a rule's targets.
const TARGET_ID: &str = "landing-zone-alerts";
/// The account's default event bus, where AWS services send their events.
const DEFAULT_BUS: &str = "default";
/// What SNS answers for a subscription not yet confirmed, in place of its ARN.
/// https://docs.aws.amazon.com/sns/latest/api/API_Subscription.html
const PENDING: &str = "PendingConfirmation";

/// The topic as the planner compares it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopicAttributes {
    pub name: String,
    pub policy: Value,
    /// Every e-mail address subscribed, confirmed or not, sorted.
    pub emails: Vec<String>,
    /// Addresses whose subscription waits for confirmation (read only; taken out as notes).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pending: Vec<String>,
}

/// One EventBridge rule on the default bus, as the planner compares it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleAttributes {
    pub name: String,
    /// The event bus it is on (`default`, or the root-activity bus).
    pub bus: String,
    pub pattern: Value,
    pub enabled: bool,
    /// Target ARNs, sorted.
    pub targets: Vec<String>,
    /// The role EventBridge assumes to deliver to the target (an event bus target).
    pub role: Option<String>,
}

/// The findings rules: (control suffix, rule name, event pattern at `min_severity`).
fn finding_rules(min_severity: Severity) -> [(&'static str, &'static str, Value); 2] {
    [
        ("guardduty_findings", "landing-zone-guardduty-findings", guardduty_pattern(min_severity)),
        ("security_hub_findings", "landing-zone-security-hub-findings", security_hub_pattern(min_severity)),
    ]
}

/// GuardDuty findings at or above `min`: GuardDuty's numeric severity, Low 1.0-3.9, Medium
/// 4.0-6.9, High 7.0-8.9, Critical 9.0-10.0
/// (https://docs.aws.amazon.com/guardduty/latest/ug/guardduty_findings-severity.html), as
/// EventBridge receives them (`source` aws.guardduty, `detail-type` "GuardDuty Finding",
/// `detail.severity`: https://docs.aws.amazon.com/guardduty/latest/ug/guardduty_findings_eventbridge.html),
/// matched numerically (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html).
fn guardduty_pattern(min: Severity) -> Value {
    let lowest = match min {
        Severity::Low => 1,
        Severity::Medium => 4,
        Severity::High => 7,
        Severity::Critical => 9,
    };
    json!({
        "source": ["aws.guardduty"],
        "detail-type": ["GuardDuty Finding"],
        "detail": { "severity": [{ "numeric": [">=", lowest] }] },
    })
}

/// Security Hub findings at or above `min`: `Severity.Label` (INFORMATIONAL, LOW, MEDIUM, HIGH,
/// CRITICAL: https://docs.aws.amazon.com/securityhub/1.0/APIReference/API_Severity.html) of the
/// findings Security Hub sends as "Security Hub Findings - Imported"
/// (https://docs.aws.amazon.com/securityhub/latest/userguide/securityhub-cwe-integration-types.html).
fn security_hub_pattern(min: Severity) -> Value {
    let labels: Vec<&str> = [
        (Severity::Low, "LOW"),
        (Severity::Medium, "MEDIUM"),
        (Severity::High, "HIGH"),
        (Severity::Critical, "CRITICAL"),
    ]
    .into_iter()
    .filter(|(severity, _)| *severity >= min)
    .map(|(_, label)| label)
    .collect();
    json!({
        "source": ["aws.securityhub"],
        "detail-type": ["Security Hub Findings - Imported"],
        "detail": { "findings": { "Severity": { "Label": labels } } },
    })
}

fn topic_arn(partition: &str, region: &str, account_id: &str) -> String {
    format!("arn:{partition}:sns:{region}:{account_id}:{TOPIC_NAME}")
}

/// The topic's policy: the account manages its topic, and EventBridge publishes for rules of that
/// account only (`aws:SourceAccount`), so no principal outside it can publish or subscribe.
fn topic_policy(topic: &str, account_id: &str, partition: &str) -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AccountManages",
                "Effect": "Allow",
                "Principal": { "AWS": format!("arn:{partition}:iam::{account_id}:root") },
                "Action": [
                    "sns:GetTopicAttributes",
                    "sns:SetTopicAttributes",
                    "sns:AddPermission",
                    "sns:RemovePermission",
                    "sns:DeleteTopic",
                    "sns:Subscribe",
                    "sns:ListSubscriptionsByTopic",
                    "sns:Publish",
                ],
                "Resource": topic,
            },
            {
                "Sid": "EventBridgePublishes",
                "Effect": "Allow",
                "Principal": { "Service": "events.amazonaws.com" },
                "Action": "sns:Publish",
                "Resource": topic,
                "Condition": { "StringEquals": { "aws:SourceAccount": account_id } },
            },
        ],
    })
}

pub fn desired(inputs: &Inputs<'_>) -> Vec<DesiredControl> {
    let Some(alerts) = &inputs.spec.baseline.alerts else { return Vec::new() };
    let partition = partition_of(inputs.home_region());
    let account_id = format!("{{{{account:{}}}}}", alerts.account);
    let mut emails = alerts.email.clone();
    emails.sort();
    emails.dedup();
    let mut controls = Vec::new();
    for region in inputs.regions() {
        let at = Some(region.as_str());
        let arn = topic_arn(partition, region, &account_id);
        let topic = ControlKey::new(TOPIC, &alerts.account, at);
        controls.push(
            DesiredControl::new(
                topic.clone(),
                encode(&TopicAttributes {
                    name: TOPIC_NAME.to_string(),
                    policy: topic_policy(&arn, &account_id, partition),
                    emails: emails.clone(),
                    pending: Vec::new(),
                }),
            )
            .needs(&["sns:CreateTopic", "sns:SetTopicAttributes", "sns:Subscribe", "sns:TagResource"]),
        );
        let Some(findings) = &alerts.findings else { continue };
        for (suffix, name, pattern) in finding_rules(findings.min_severity) {
            controls.push(
                DesiredControl::new(
                    ControlKey::new(format!("{RULE_PREFIX}{suffix}"), &alerts.account, at),
                    encode(&RuleAttributes {
                        name: name.to_string(),
                        bus: DEFAULT_BUS.to_string(),
                        pattern,
                        enabled: true,
                        targets: vec![arn.clone()],
                        role: None,
                    }),
                )
                .after(topic.clone())
                .needs(&["events:PutRule", "events:PutTargets"]),
            );
        }
    }
    controls.extend(root_activity::desired(inputs, alerts));
    controls
}

async fn read_topic(context: &Context<'_>, key: &ControlKey) -> Result<Option<Value>> {
    let account_id = context.account_id(&key.account)?;
    let region = key.region.as_deref().context("alerts controls carry their region")?;
    let sns = context.sessions.client::<aws_sdk_sns::Client>(account_id, Some(region)).await;
    let arn = topic_arn(partition_of(region), region, account_id);
    // https://docs.aws.amazon.com/sns/latest/api/API_GetTopicAttributes.html
    let attributes = match sns.get_topic_attributes().topic_arn(&arn).send().await {
        Ok(output) => output.attributes.unwrap_or_default(),
        Err(error) if is_sns_not_found(&error) => return Ok(None),
        Err(error) => return Err(aws_error("GetTopicAttributes", error)),
    };
    let policy = match attributes.get("Policy") {
        Some(text) => serde_json::from_str(text).map_err(|error| anyhow!("the topic's policy is not JSON: {error}"))?,
        None => Value::Null,
    };
    let (mut emails, mut pending) = (Vec::new(), Vec::new());
    for (endpoint, subscription) in email_subscriptions(&sns, &arn).await? {
        if subscription == PENDING {
            pending.push(endpoint.clone());
        }
        emails.push(endpoint);
    }
    emails.sort();
    emails.dedup();
    pending.sort();
    Ok(Some(encode(&TopicAttributes { name: TOPIC_NAME.to_string(), policy, emails, pending })))
}

/// (endpoint, subscription ARN or `PendingConfirmation`) of every e-mail subscription of the topic.
/// https://docs.aws.amazon.com/sns/latest/api/API_ListSubscriptionsByTopic.html
async fn email_subscriptions(sns: &aws_sdk_sns::Client, topic: &str) -> Result<Vec<(String, String)>> {
    let mut found = Vec::new();
    let mut pages = sns.list_subscriptions_by_topic().topic_arn(topic).into_paginator().items().send();
    while let Some(subscription) = pages.next().await {
        let subscription = subscription.map_err(|error| aws_error("ListSubscriptionsByTopic", error))?;
        if subscription.protocol.as_deref() != Some("email") {
            continue;
        }
        let (Some(endpoint), Some(arn)) = (subscription.endpoint, subscription.subscription_arn) else { continue };
        found.push((endpoint, arn));
    }
    Ok(found)
}

async fn apply_topic(context: &Context<'_>, key: &ControlKey, attributes: &Value) -> Result<()> {
    let wanted: TopicAttributes = decode(key, attributes)?;
    let account_id = context.account_id(&key.account)?;
    let region = key.region.as_deref().context("alerts controls carry their region")?;
    let sns = context.sessions.client::<aws_sdk_sns::Client>(account_id, Some(region)).await;
    // CreateTopic is idempotent by name: an existing topic's ARN comes back. The ownership tag
    // marks it as landing-zone's (https://docs.aws.amazon.com/sns/latest/api/API_CreateTopic.html).
    let tag = aws_sdk_sns::types::Tag::builder()
        .key(OWNERSHIP_TAG)
        .value(OWNERSHIP_VALUE)
        .build()
        .map_err(|error| anyhow!("the ownership tag: {error}"))?;
    let arn = sns
        .create_topic()
        .name(&wanted.name)
        .tags(tag)
        .send()
        .await
        .map_err(|error| aws_error("CreateTopic", error))?
        .topic_arn
        .context("CreateTopic returned no `TopicArn`")?;
    // https://docs.aws.amazon.com/sns/latest/api/API_SetTopicAttributes.html
    sns.set_topic_attributes()
        .topic_arn(&arn)
        .attribute_name("Policy")
        .attribute_value(wanted.policy.to_string())
        .send()
        .await
        .map_err(|error| aws_error("SetTopicAttributes", error))?;
    let present = email_subscriptions(&sns, &arn).await?;
    for email in &wanted.emails {
        if present.iter().any(|(endpoint, _)| endpoint == email) {
            continue;
        }
        // SNS e-mails the address a confirmation link; the subscription is pending until then.
        // https://docs.aws.amazon.com/sns/latest/api/API_Subscribe.html
        sns.subscribe()
            .topic_arn(&arn)
            .protocol("email")
            .endpoint(email)
            .send()
            .await
            .map_err(|error| aws_error("Subscribe", error))?;
    }
    for (endpoint, subscription) in present {
        if wanted.emails.contains(&endpoint) || subscription == PENDING {
            continue;
        }
        // https://docs.aws.amazon.com/sns/latest/api/API_Unsubscribe.html
        match sns.unsubscribe().subscription_arn(&subscription).send().await {
            Ok(_) => {}
            Err(error) if is_sns_not_found(&error) => {}
            Err(error) => return Err(aws_error("Unsubscribe", error)),
        }
    }
    Ok(())
}

async fn read_rule(context: &Context<'_>, key: &ControlKey, desired: &Value) -> Result<Option<Value>> {
    let name = desired["name"].as_str().context("an alerts rule has a name")?;
    let bus = desired["bus"].as_str().unwrap_or(DEFAULT_BUS);
    let account_id = context.account_id(&key.account)?;
    let events = context.sessions.client::<aws_sdk_eventbridge::Client>(account_id, key.region.as_deref()).await;
    // https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_DescribeRule.html
    let rule = match events.describe_rule().name(name).event_bus_name(bus).send().await {
        Ok(rule) => rule,
        Err(error) if is_resource_not_found(&error) => return Ok(None),
        Err(error) => return Err(aws_error("DescribeRule", error)),
    };
    let pattern = match rule.event_pattern.as_deref() {
        Some(text) => serde_json::from_str(text).map_err(|error| anyhow!("rule `{name}`'s pattern: {error}"))?,
        None => Value::Null,
    };
    let listed = rule_targets(&events, name, bus).await?;
    let role = listed.iter().find_map(|target| target.role_arn.clone());
    let mut targets: Vec<String> = listed.into_iter().map(|target| target.arn).collect();
    targets.sort();
    Ok(Some(encode(&RuleAttributes {
        name: name.to_string(),
        bus: bus.to_string(),
        pattern,
        enabled: rule.state == Some(RuleState::Enabled),
        targets,
        role,
    })))
}

/// Every target of the rule `name`, page by page (the service model declares no paginator for
/// ListTargetsByRule: https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_ListTargetsByRule.html).
async fn rule_targets(events: &aws_sdk_eventbridge::Client, name: &str, bus: &str) -> Result<Vec<Target>> {
    let mut targets = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = events
            .list_targets_by_rule()
            .rule(name)
            .event_bus_name(bus)
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|error| aws_error("ListTargetsByRule", error))?;
        targets.extend(page.targets.unwrap_or_default());
        token = page.next_token.filter(|next| !next.is_empty());
        if token.is_none() {
            return Ok(targets);
        }
    }
}

async fn apply_rule(context: &Context<'_>, key: &ControlKey, attributes: &Value) -> Result<()> {
    let wanted: RuleAttributes = decode(key, attributes)?;
    let account_id = context.account_id(&key.account)?;
    let events = context.sessions.client::<aws_sdk_eventbridge::Client>(account_id, key.region.as_deref()).await;
    let tag = aws_sdk_eventbridge::types::Tag::builder()
        .key(OWNERSHIP_TAG)
        .value(OWNERSHIP_VALUE)
        .build()
        .map_err(|error| anyhow!("the ownership tag: {error}"))?;
    // PutRule creates or updates the rule by name (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutRule.html).
    events
        .put_rule()
        .name(&wanted.name)
        .event_bus_name(&wanted.bus)
        .event_pattern(wanted.pattern.to_string())
        .state(if wanted.enabled { RuleState::Enabled } else { RuleState::Disabled })
        .tags(tag)
        .send()
        .await
        .map_err(|error| aws_error("PutRule", error))?;
    let topic = wanted.targets.first().context("an alerts rule has its topic as target")?;
    // https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutTargets.html
    let target = Target::builder()
        .id(TARGET_ID)
        .arn(topic)
        .set_role_arn(wanted.role.clone())
        .build()
        .map_err(|error| anyhow!("the target: {error}"))?;
    let put = events
        .put_targets()
        .rule(&wanted.name)
        .event_bus_name(&wanted.bus)
        .targets(target)
        .send()
        .await
        .map_err(|error| aws_error("PutTargets", error))?;
    if put.failed_entry_count > 0 {
        let reason = put.failed_entries.unwrap_or_default().into_iter().next().and_then(|entry| entry.error_message);
        anyhow::bail!("PutTargets refused the topic of `{}`: {}", wanted.name, reason.unwrap_or_default());
    }
    // Targets added by hand go: the rule sends findings to the topic only.
    let others: Vec<String> = rule_targets(&events, &wanted.name, &wanted.bus)
        .await?
        .into_iter()
        .map(|target| target.id)
        .filter(|id| id != TARGET_ID)
        .collect();
    if !others.is_empty() {
        // https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_RemoveTargets.html
        events
            .remove_targets()
            .rule(&wanted.name)
            .event_bus_name(&wanted.bus)
            .set_ids(Some(others))
            .send()
            .await
            .map_err(|error| aws_error("RemoveTargets", error))?;
    }
    Ok(())
}

/// The `baseline.alerts` section in the registry.
pub struct Alerts;

impl Baseline for Alerts {
    fn owned_role_names(&self) -> &'static [&'static str] {
        &[root_activity::FORWARDER_ROLE_NAME]
    }

    fn audited_by_reader(&self) -> bool {
        true
    }

    fn family(&self) -> &'static str {
        CONTROL
    }

    fn section(&self) -> &'static str {
        "alerts"
    }

    fn summary(&self) -> &'static str {
        "an SNS topic with e-mail subscriptions, and EventBridge rules sending GuardDuty and Security Hub findings to it"
    }

    fn validate(&self, checker: &mut Checker<'_>) {
        validate::check(checker);
    }

    fn desired(&self, inputs: &Inputs<'_>) -> Vec<DesiredControl> {
        desired(inputs)
    }

    fn permissions(&self) -> Permissions {
        Permissions {
            management: Actions { read: &[], write: &[] },
            in_account: Actions {
                read: &[
                    "events:DescribeEventBus",
                    "events:DescribeRule",
                    "iam:GetRole",
                    "iam:GetRolePolicy",
                    "iam:ListAttachedRolePolicies",
                    "iam:ListRolePolicies",
                    "events:ListTargetsByRule",
                    "sns:GetTopicAttributes",
                    "sns:ListSubscriptionsByTopic",
                ],
                write: &[
                    "events:CreateEventBus",
                    "events:PutPermission",
                    "events:PutRule",
                    "events:PutTargets",
                    "events:RemoveTargets",
                    "events:TagResource",
                    "sns:CreateTopic",
                    "sns:SetTopicAttributes",
                    "sns:Subscribe",
                    "sns:TagResource",
                    "sns:Unsubscribe",
                    "iam:CreateRole",
                    "iam:PassRole",
                    "iam:PutRolePolicy",
                    "iam:TagRole",
                    "iam:UpdateAssumeRolePolicy",
                    "iam:UpdateRole",
                ],
            },
        }
    }

    fn take_notes(&self, key: &ControlKey, live: &mut Value) -> Vec<String> {
        if key.control != TOPIC {
            return Vec::new();
        }
        let Some(Value::Array(pending)) = live.as_object_mut().and_then(|map| map.remove("pending")) else {
            return Vec::new();
        };
        pending
            .iter()
            .filter_map(Value::as_str)
            .map(|email| {
                format!("{email} has not confirmed its subscription yet: SNS sent it a confirmation e-mail, and sends it no alert until it follows the link")
            })
            .collect()
    }

    fn audit_gap(&self, key: &ControlKey, notes: &[String]) -> Option<String> {
        (key.control == TOPIC && !notes.is_empty()).then(|| notes.join("; "))
    }

    fn import<'a>(
        &'a self,
        context: &'a Context<'_>,
        scope: &'a super::import::ImportScope,
    ) -> BoxFuture<'a, Result<Option<super::import::ImportedSection>>> {
        Box::pin(import::import(context, scope))
    }

    fn read<'a>(
        &'a self,
        context: &'a Context<'_>,
        key: &'a ControlKey,
        desired: &'a Value,
    ) -> BoxFuture<'a, Result<Option<Value>>> {
        Box::pin(async move {
            match key.control.as_str() {
                TOPIC => read_topic(context, key).await,
                root_activity::BUS => root_activity::read_bus(context, key).await,
                root_activity::FORWARDER_ROLE => {
                    super::roles::read_role(context, &key.account, root_activity::FORWARDER_ROLE_NAME).await
                }
                _ => read_rule(context, key, desired).await,
            }
        })
    }

    fn apply<'a>(
        &'a self,
        context: &'a Context<'_>,
        key: &'a ControlKey,
        attributes: &'a Value,
        before: Option<&'a Value>,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            match key.control.as_str() {
                TOPIC => apply_topic(context, key, attributes).await,
                root_activity::BUS => root_activity::apply_bus(context, key, attributes).await,
                root_activity::FORWARDER_ROLE => {
                    let name = root_activity::FORWARDER_ROLE_NAME;
                    super::roles::apply_role(context, &key.account, name, attributes, before).await
                }
                control if control.starts_with(RULE_PREFIX) => apply_rule(context, key, attributes).await,
                other => anyhow::bail!("unknown alerts control `{other}`"),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_service_is_matched_on_its_own_severity_scale() {
        assert_eq!(guardduty_pattern(Severity::High)["detail"]["severity"][0]["numeric"], json!([">=", 7]));
        assert_eq!(guardduty_pattern(Severity::Low)["detail"]["severity"][0]["numeric"], json!([">=", 1]));
        assert_eq!(
            security_hub_pattern(Severity::High)["detail"]["findings"]["Severity"]["Label"],
            json!(["HIGH", "CRITICAL"])
        );
        assert_eq!(
            security_hub_pattern(Severity::Medium)["detail"]["findings"]["Severity"]["Label"],
            json!(["MEDIUM", "HIGH", "CRITICAL"])
        );
        assert_eq!(
            security_hub_pattern(Severity::Critical)["detail"]["findings"]["Severity"]["Label"],
            json!(["CRITICAL"])
        );
    }

    #[test]
    fn only_eventbridge_for_the_account_itself_publishes() {
        let policy = topic_policy("arn:aws:sns:us-east-1:111111111111:landing-zone-alerts", "111111111111", "aws");
        let statements = policy["Statement"].as_array().expect("statements");
        assert_eq!(statements.len(), 2);
        let publish = &statements[1];
        assert_eq!(publish["Principal"], json!({ "Service": "events.amazonaws.com" }));
        assert_eq!(publish["Condition"]["StringEquals"]["aws:SourceAccount"], "111111111111");
        assert_eq!(statements[0]["Principal"]["AWS"], "arn:aws:iam::111111111111:root");
    }
}
