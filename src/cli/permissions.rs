//! `landing-zone permissions plan|apply`: the IAM policy each command needs in the management
//! account (member accounts are reached through `organization.access_role`).

use clap::{Args, ValueEnum};

use super::{write_stdout, EXIT_OK};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Command {
    /// Read-only: plan, audit, import, graph --live.
    Plan,
    /// Everything apply writes.
    Apply,
}

#[derive(Debug, Args)]
pub struct PermissionsArgs {
    #[arg(value_enum)]
    pub command: Command,
}

/// Reads `plan` makes: the organization, and the baselines through the access role.
pub const READ_ACTIONS: &[&str] = &[
    "organizations:Describe*",
    "organizations:List*",
    "sts:GetCallerIdentity",
    "sts:AssumeRole",
    "account:GetAlternateContact",
    "iam:GetAccountPasswordPolicy",
    "iam:GetRole",
    "iam:ListAttachedRolePolicies",
    "iam:ListRolePolicies",
    "iam:GetRolePolicy",
    "iam:GetAccountSummary",
    "s3:GetAccountPublicAccessBlock",
    "s3:GetBucket*",
    "s3:GetEncryptionConfiguration",
    "s3:GetLifecycleConfiguration",
    "s3:ListBucket",
    "s3:GetObject",
    "kms:DescribeKey",
    "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus",
    "kms:ListAliases",
    // Apply's adoption of a bunker key a stopped apply left without its alias.
    "kms:ListKeys",
    "kms:ListResourceTags",
    "cloudtrail:DescribeTrails",
    "cloudtrail:GetTrailStatus",
    "guardduty:List*",
    "guardduty:Get*",
    "guardduty:DescribeOrganizationConfiguration",
    "securityhub:Describe*",
    "securityhub:Get*",
    "securityhub:List*",
    "access-analyzer:List*",
    "config:Describe*",
    "ec2:GetEbsEncryptionByDefault",
];

/// Writes `apply` makes on top of the reads.
pub const WRITE_ACTIONS: &[&str] = &[
    "organizations:CreateOrganization",
    "organizations:EnablePolicyType",
    "organizations:EnableAWSServiceAccess",
    "organizations:RegisterDelegatedAdministrator",
    "organizations:CreateOrganizationalUnit",
    "organizations:UpdateOrganizationalUnit",
    "organizations:DeleteOrganizationalUnit",
    "organizations:CreateAccount",
    "organizations:MoveAccount",
    "organizations:CloseAccount",
    "organizations:CreatePolicy",
    "organizations:UpdatePolicy",
    "organizations:DeletePolicy",
    "organizations:AttachPolicy",
    "organizations:DetachPolicy",
    "organizations:TagResource",
    "organizations:UntagResource",
    "iam:CreateServiceLinkedRole",
    "account:PutAlternateContact",
    "s3:CreateBucket",
    "s3:PutObject",
    "s3:DeleteObject",
    "s3:PutBucketPublicAccessBlock",
    "s3:PutEncryptionConfiguration",
    "s3:PutBucketVersioning",
    "s3:PutBucketPolicy",
    "s3:PutLifecycleConfiguration",
    "s3:PutBucketLogging",
    "s3:PutBucketObjectLockConfiguration",
    "cloudtrail:CreateTrail",
    "cloudtrail:UpdateTrail",
    "cloudtrail:StartLogging",
    "guardduty:CreateDetector",
    "guardduty:EnableOrganizationAdminAccount",
    "securityhub:EnableSecurityHub",
    "securityhub:EnableOrganizationAdminAccount",
];

/// The policy document for a command.
pub fn policy(command: Command) -> serde_json::Value {
    let mut actions: Vec<&str> = READ_ACTIONS.to_vec();
    if command == Command::Apply {
        actions.extend_from_slice(WRITE_ACTIONS);
    }
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{ "Sid": "LandingZone", "Effect": "Allow", "Action": actions, "Resource": "*" }],
    })
}

pub fn run(args: &PermissionsArgs) -> anyhow::Result<u8> {
    write_stdout(&(serde_json::to_string_pretty(&policy(args.command))? + "\n"))?;
    Ok(EXIT_OK)
}
