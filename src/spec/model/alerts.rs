//! `baseline.alerts`: where findings and root activity reach people.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::TargetedSpec;

/// `baseline.alerts`: where findings reach people.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AlertsSpec {
    /// The account that holds the topic and the rules (GuardDuty's and Security Hub's delegated
    /// administrator, which receives every member's findings).
    pub account: String,
    /// E-mail addresses subscribed to the topic (each confirms its subscription).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub email: Vec<String>,
    /// GuardDuty and Security Hub findings at or above a severity go to the topic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub findings: Option<FindingAlertsSpec>,
    /// Any activity of the root user in the targeted accounts goes to the topic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_activity: Option<TargetedSpec>,
}

/// `baseline.alerts.findings`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FindingAlertsSpec {
    /// The lowest severity that is sent (each service's own scale).
    #[serde(default)]
    pub min_severity: Severity,
}

/// A finding severity, lowest first.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum Severity {
    Low,
    Medium,
    #[default]
    High,
    Critical,
}
