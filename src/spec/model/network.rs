//! The network baselines' sections: `baseline.default_vpcs` and `baseline.flow_logs`
//! (`baseline.default_security_groups` is a plain `TargetedSpec`), and the top-level `network:`
//! section (Transit Gateways and the VPCs the tool builds).

use std::collections::BTreeMap;

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

/// `network:` — the VPCs landing-zone builds, and the Transit Gateways they attach to.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NetworkSpec {
    /// Transit Gateways; the key is the gateway's name in the spec.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub transit_gateways: BTreeMap<String, TransitGatewaySpec>,
    /// VPCs; the key is the VPC's name in the spec (its `Name` tag).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub vpcs: BTreeMap<String, VpcSpec>,
}

/// One Transit Gateway; the map key is its name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TransitGatewaySpec {
    /// The account that owns the gateway (the hub).
    pub account: String,
    /// Its Region: one of `organization.regions`.
    pub region: String,
    /// The private ASN of the Amazon side of its BGP sessions: 64512-65534 or
    /// 4200000000-4294967294; 64512 when omitted, as AWS defaults it.
    #[serde(default = "default_asn")]
    pub asn: u64,
    /// The accounts and OUs it is shared with through AWS RAM; VPCs of these accounts attach to it.
    #[serde(default, skip_serializing_if = "Targets::is_empty")]
    pub share_with: Targets,
}

/// AWS's default Amazon-side ASN
/// (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_TransitGatewayRequestOptions.html).
pub const DEFAULT_TRANSIT_GATEWAY_ASN: u64 = 64512;

fn default_asn() -> u64 {
    DEFAULT_TRANSIT_GATEWAY_ASN
}

/// One VPC; the map key is its name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VpcSpec {
    /// The account the VPC is in.
    pub account: String,
    /// Its Region: one of `organization.regions`.
    pub region: String,
    /// Its IPv4 CIDR block, `/16` to `/28`, in a private (RFC 1918) range.
    pub cidr: String,
    /// Its subnets by tier, each list one subnet per Availability Zone, in the order of the
    /// Region's zone names (`a`, `b`, ...).
    #[serde(default, skip_serializing_if = "SubnetsSpec::is_empty")]
    pub subnets: SubnetsSpec,
    /// The Transit Gateway (a key of `network.transit_gateways`) its private subnets attach to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transit_gateway: Option<String>,
}

/// A VPC's subnets by tier.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SubnetsSpec {
    /// Subnets with no route to the internet (the Transit Gateway attaches to these).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub private: Vec<String>,
    /// Subnets routed to an internet gateway (`0.0.0.0/0`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub public: Vec<String>,
}

impl SubnetsSpec {
    pub fn is_empty(&self) -> bool {
        self.private.is_empty() && self.public.is_empty()
    }

    /// `(tier, its CIDRs)`, private first.
    pub fn tiers(&self) -> [(SubnetTier, &[String]); 2] {
        [(SubnetTier::Private, &self.private), (SubnetTier::Public, &self.public)]
    }
}

/// A subnet tier: each has its own route table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum SubnetTier {
    Private,
    Public,
}

impl SubnetTier {
    /// Its key in the spec and its tag value.
    pub fn as_str(self) -> &'static str {
        match self {
            SubnetTier::Private => "private",
            SubnetTier::Public => "public",
        }
    }

    /// The tier a tag value names.
    pub fn from_tag(value: &str) -> Option<SubnetTier> {
        match value {
            "private" => Some(SubnetTier::Private),
            "public" => Some(SubnetTier::Public),
            _ => None,
        }
    }
}
