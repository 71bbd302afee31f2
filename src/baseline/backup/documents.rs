//! The backup baseline's documents, pure: the vault key's policy, the vault access policy and the
//! organization backup policy made from `plans`. Account ids the plan does not know yet are
//! placeholders (`{{account:NAME}}`, `{{organization}}`) resolved before they are compared or sent.

use serde_json::{json, Map, Value};

use crate::aws::session::partition_of;
use crate::spec::BackupSpec;

/// The member-account vault each rule backs up into. AWS requires it to exist in every account
/// that receives the policy
/// (https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_backup_syntax.html),
/// and only the AWS Backup console makes a `Default` one: "if you use AWS Backup through the AWS CLI,
/// AWS SDK, or AWS CloudFormation, a default vault is not created"
/// (https://docs.aws.amazon.com/aws-backup/latest/devguide/create-a-vault.html). So the policy names
/// a vault landing-zone creates in each targeted account and Region (`backup/member_vault`).
pub const MEMBER_VAULT: &str = "landing-zone-backup";
/// The role AWS Backup assumes in member accounts (`$account` is the policy's own variable). AWS
/// Backup's default service role exists only where the console created it
/// (https://docs.aws.amazon.com/aws-backup/latest/devguide/iam-service-roles.html), so the policy
/// names a role landing-zone creates in each targeted account (`backup/member_role`).
pub const MEMBER_ROLE_NAME: &str = "LandingZoneBackup";
pub const MEMBER_ROLE: &str = "role/LandingZoneBackup";
/// The AWS managed policies AWS documents for a role AWS Backup backs up and restores with:
/// https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AWSBackupServiceRolePolicyForBackup.html,
/// https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AWSBackupServiceRolePolicyForRestores.html.
pub const MEMBER_ROLE_POLICIES: [&str; 2] =
    ["service-role/AWSBackupServiceRolePolicyForBackup", "service-role/AWSBackupServiceRolePolicyForRestores"];

/// The member role's attributes, as `baseline.roles` compares a role: trusted by AWS Backup, with
/// AWS's backup and restore policies.
pub fn member_role(partition: &str) -> Value {
    let mut managed: Vec<String> =
        MEMBER_ROLE_POLICIES.iter().map(|policy| format!("arn:{partition}:iam::aws:policy/{policy}")).collect();
    managed.sort();
    json!({
        "trust_policy": {
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": { "Service": ["backup.amazonaws.com"] },
                "Action": "sts:AssumeRole",
            }],
        },
        "description": "landing-zone: AWS Backup runs the organization backup policy's plans with this role",
        "max_session_duration": 3600,
        "managed_policies": managed,
        "inline_policies": {},
    })
}

/// `arn:aws:backup:REGION:{{account:NAME}}:backup-vault:NAME`.
pub fn vault_arn(account: &str, region: &str, vault: &str) -> String {
    format!("arn:{}:backup:{region}:{{{{account:{account}}}}}:backup-vault:{vault}", partition_of(region))
}

/// The vault key's policy: the vault account administers it; AWS Backup in that account may use it.
/// https://docs.aws.amazon.com/aws-backup/latest/devguide/encryption.html
pub fn key_policy(account: &str, partition: &str) -> Value {
    let account_id = format!("{{{{account:{account}}}}}");
    json!({ "Version": "2012-10-17", "Statement": [
        {
            "Sid": "VaultAccountAdministers",
            "Effect": "Allow",
            "Principal": { "AWS": format!("arn:{partition}:iam::{account_id}:root") },
            "Action": "kms:*",
            "Resource": "*",
        },
        {
            "Sid": "AwsBackupEncrypts",
            "Effect": "Allow",
            "Principal": { "Service": "backup.amazonaws.com" },
            "Action": ["kms:Decrypt", "kms:GenerateDataKey*", "kms:DescribeKey", "kms:CreateGrant"],
            "Resource": "*",
            "Condition": { "StringEquals": { "aws:SourceAccount": account_id } },
        },
    ] })
}

/// The vault access policy: any principal of the organization may copy into the vault.
/// https://docs.aws.amazon.com/aws-backup/latest/devguide/create-cross-account-backup.html
pub fn vault_access_policy(vault_arn: &str) -> Value {
    json!({ "Version": "2012-10-17", "Statement": [{
        "Sid": "OrganizationCopiesIn",
        "Effect": "Allow",
        "Principal": { "AWS": "*" },
        "Action": "backup:CopyIntoBackupVault",
        "Resource": vault_arn,
        "Condition": { "StringEquals": { "aws:PrincipalOrgID": "{{organization}}" } },
    }] })
}

fn assign(value: Value) -> Value {
    json!({ "@@assign": value })
}

/// The `BACKUP_POLICY` document: one plan per `plans` entry, one rule each, a tag selection per
/// tag, and a copy into the bunker vault when `copy_to_bunker_retention_days` is set. Numbers are
/// strings, as in AWS's examples.
/// https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_backup_syntax.html
pub fn backup_policy(backup: &BackupSpec, home_region: &str, bunker_vault_arn: &str) -> Value {
    let partition = partition_of(home_region);
    let mut plans = Map::new();
    for (name, plan) in &backup.plans {
        let regions: Vec<String> =
            if plan.regions.is_empty() { vec![home_region.to_string()] } else { plan.regions.clone() };
        let mut rule = Map::new();
        rule.insert("schedule_expression".to_string(), assign(json!(plan.schedule)));
        rule.insert("target_backup_vault_name".to_string(), assign(json!(MEMBER_VAULT)));
        rule.insert(
            "lifecycle".to_string(),
            json!({ "delete_after_days": assign(json!(plan.retention_days.to_string())) }),
        );
        if let Some(days) = plan.copy_to_bunker_retention_days {
            rule.insert(
                "copy_actions".to_string(),
                json!({ bunker_vault_arn: {
                    "target_backup_vault_arn": assign(json!(bunker_vault_arn)),
                    "lifecycle": { "delete_after_days": assign(json!(days.to_string())) },
                } }),
            );
        }
        let mut tags = Map::new();
        for (tag_key, tag_value) in &plan.selection_tags {
            tags.insert(
                format!("{name}-{tag_key}"),
                json!({
                    "iam_role_arn": assign(json!(format!("arn:{partition}:iam::$account:{MEMBER_ROLE}"))),
                    "tag_key": assign(json!(tag_key)),
                    "tag_value": assign(json!([tag_value])),
                }),
            );
        }
        plans.insert(
            name.clone(),
            json!({
                "regions": assign(json!(regions)),
                "rules": { name.clone(): Value::Object(rule) },
                "selections": { "tags": Value::Object(tags) },
            }),
        );
    }
    json!({ "plans": Value::Object(plans) })
}
