//! `PolicyType`: the Organizations policy types a spec can enable and attach, with what AWS says
//! about each (its API name, its document size, how many attach to one target, its AWS-managed
//! default). Part of `spec::model`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Every Organizations policy type.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PolicyType {
    #[default]
    ServiceControlPolicy,
    ResourceControlPolicy,
    TagPolicy,
    BackupPolicy,
    #[serde(rename = "AISERVICES_OPT_OUT_POLICY")]
    AiServicesOptOutPolicy,
    ChatbotPolicy,
    #[serde(rename = "DECLARATIVE_POLICY_EC2")]
    DeclarativePolicyEc2,
    SecurityhubPolicy,
    InspectorPolicy,
    BedrockPolicy,
    #[serde(rename = "S3_POLICY")]
    S3Policy,
}

impl PolicyType {
    /// All variants, in a stable order.
    pub const ALL: [PolicyType; 11] = [
        PolicyType::ServiceControlPolicy,
        PolicyType::ResourceControlPolicy,
        PolicyType::TagPolicy,
        PolicyType::BackupPolicy,
        PolicyType::AiServicesOptOutPolicy,
        PolicyType::ChatbotPolicy,
        PolicyType::DeclarativePolicyEc2,
        PolicyType::SecurityhubPolicy,
        PolicyType::InspectorPolicy,
        PolicyType::BedrockPolicy,
        PolicyType::S3Policy,
    ];

    /// The name AWS uses for this type.
    pub fn as_aws(self) -> &'static str {
        match self {
            PolicyType::ServiceControlPolicy => "SERVICE_CONTROL_POLICY",
            PolicyType::ResourceControlPolicy => "RESOURCE_CONTROL_POLICY",
            PolicyType::TagPolicy => "TAG_POLICY",
            PolicyType::BackupPolicy => "BACKUP_POLICY",
            PolicyType::AiServicesOptOutPolicy => "AISERVICES_OPT_OUT_POLICY",
            PolicyType::ChatbotPolicy => "CHATBOT_POLICY",
            PolicyType::DeclarativePolicyEc2 => "DECLARATIVE_POLICY_EC2",
            PolicyType::SecurityhubPolicy => "SECURITYHUB_POLICY",
            PolicyType::InspectorPolicy => "INSPECTOR_POLICY",
            PolicyType::BedrockPolicy => "BEDROCK_POLICY",
            PolicyType::S3Policy => "S3_POLICY",
        }
    }

    /// Parses AWS's name for a type.
    pub fn from_aws(name: &str) -> Option<PolicyType> {
        Self::ALL.into_iter().find(|t| t.as_aws() == name)
    }

    /// Largest document AWS accepts for this type, in characters of the minified JSON, from the
    /// English Organizations quotas page
    /// (https://docs.aws.amazon.com/organizations/latest/userguide/orgs_reference_limits.html). SCPs
    /// allow 10,240 characters since May 2026; AWS's translated quota pages still give 5,120, and
    /// where pages disagree the newer figure wins.
    pub fn max_document_chars(self) -> usize {
        match self {
            PolicyType::ServiceControlPolicy => 10_240,
            PolicyType::ResourceControlPolicy => 5_120,
            PolicyType::AiServicesOptOutPolicy => 2_500,
            _ => 10_000,
        }
    }

    /// Most policies of this type attached directly to one target, the AWS-managed default included,
    /// where AWS sets such a limit (the same quotas page).
    pub fn max_per_target(self) -> Option<usize> {
        match self {
            PolicyType::ServiceControlPolicy => Some(10),
            PolicyType::ResourceControlPolicy => Some(5),
            _ => None,
        }
    }

    /// The AWS-managed policy attached to every target when the type is enabled, if any.
    pub fn aws_managed_default(self) -> Option<&'static str> {
        match self {
            PolicyType::ServiceControlPolicy => Some("FullAWSAccess"),
            PolicyType::ResourceControlPolicy => Some("RCPFullAWSAccess"),
            _ => None,
        }
    }

    /// Authorization policies (SCP, RCP) are IAM-style documents with `Version` and `Statement`.
    pub fn is_authorization(self) -> bool {
        matches!(self, PolicyType::ServiceControlPolicy | PolicyType::ResourceControlPolicy)
    }
}

impl std::fmt::Display for PolicyType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_aws())
    }
}
