//! The network baselines' sections: `baseline.default_vpcs` and `baseline.flow_logs`
//! (`baseline.default_security_groups` is a plain `TargetedSpec`).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Targets;

/// `baseline.default_vpcs`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DefaultVpcsSpec {
    #[serde(default = "Targets::everywhere")]
    pub targets: Targets,
    /// Remove them (needs `--allow-destructive` at plan and apply). `false` turns the section
    /// off: nothing is planned or audited.
    #[serde(default)]
    pub delete: bool,
}

/// `baseline.flow_logs`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FlowLogsSpec {
    #[serde(default = "Targets::everywhere")]
    pub targets: Targets,
    /// Which traffic the flow logs record.
    #[serde(default)]
    pub traffic: FlowLogTraffic,
}

/// A flow log's `TrafficType`
/// (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateFlowLogs.html).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum FlowLogTraffic {
    #[default]
    All,
    Accept,
    Reject,
}

impl FlowLogTraffic {
    /// As the EC2 API spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            FlowLogTraffic::All => "ALL",
            FlowLogTraffic::Accept => "ACCEPT",
            FlowLogTraffic::Reject => "REJECT",
        }
    }
}
