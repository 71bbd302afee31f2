//! The bunker's pure policy documents: the key policy, the log bucket's policy, and the names and
//! ARNs they refer to (with `{{account:NAME}}` / `{{organization}}` placeholders). No I/O: the
//! executor resolves the placeholders and `key.rs` / `bucket.rs` send the documents.

use serde_json::{json, Value};

use crate::aws::session::partition_of;
use super::KEY_ALIAS;
use crate::spec::{LogArchiveSpec, Spec};

/// The log bucket's name (placeholders for the bunker account id).
pub fn bucket_name(log_archive: &LogArchiveSpec) -> String {
    log_archive
        .bucket_name
        .clone()
        .unwrap_or_else(|| format!("landing-zone-logs-{{{{account:{}}}}}", log_archive.account))
}

/// The ARN of the bunker key's alias (what the bucket and the trail refer to).
pub fn key_alias_arn(spec: &Spec, log_archive: &LogArchiveSpec) -> String {
    let region = spec.organization.regions.first().map_or("us-east-1", String::as_str);
    format!("arn:{}:kms:{region}:{{{{account:{}}}}}:{KEY_ALIAS}", partition_of(region), log_archive.account)
}

/// The organization trail's ARN, if the spec has one (it lives in the management account).
pub fn trail_arn(spec: &Spec) -> Option<String> {
    let trail = spec.baseline.cloudtrail.as_ref()?;
    let management = spec.organization.management_account.as_ref()?;
    let region = spec.organization.regions.first().map_or("us-east-1", String::as_str);
    Some(format!("arn:{}:cloudtrail:{region}:{{{{account:{management}}}}}:trail/{}", partition_of(region), trail.name))
}

pub fn deny_insecure_transport(bucket_arn: &str) -> Value {
    json!({
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        // `{"AWS": "*"}` is IAM's equivalent of `"*"`; moto 5.2.5 fails on the bare string when it
        // checks a server-access-log target's policy.
        "Principal": { "AWS": "*" },
        "Action": "s3:*",
        "Resource": [bucket_arn, format!("{bucket_arn}/*")],
        "Condition": { "Bool": { "aws:SecureTransport": "false" } },
    })
}

pub fn key_policy(spec: &Spec, log_archive: &LogArchiveSpec, partition: &str) -> Value {
    let bunker_root = format!("arn:{partition}:iam::{{{{account:{}}}}}:root", log_archive.account);
    let mut statements = vec![json!({
        "Sid": "BunkerAccountAdministers",
        "Effect": "Allow",
        "Principal": { "AWS": bunker_root },
        "Action": "kms:*",
        "Resource": "*",
    })];
    // Only when there is a trail to write, as in the bucket policy: a key is not open to a service
    // the spec does not use.
    let trail_account = spec.baseline.cloudtrail.as_ref().and(spec.organization.management_account.as_ref());
    if let Some(management) = trail_account {
        statements.push(json!({
            "Sid": "CloudTrailEncrypts",
            "Effect": "Allow",
            "Principal": { "Service": "cloudtrail.amazonaws.com" },
            "Action": "kms:GenerateDataKey*",
            "Resource": "*",
            "Condition": { "StringLike": {
                "kms:EncryptionContext:aws:cloudtrail:arn": format!("arn:{partition}:cloudtrail:*:{{{{account:{management}}}}}:trail/*")
            } },
        }));
        statements.push(json!({
            "Sid": "CloudTrailDescribesKey",
            "Effect": "Allow",
            "Principal": { "Service": "cloudtrail.amazonaws.com" },
            "Action": "kms:DescribeKey",
            "Resource": "*",
        }));
    }
    if spec.baseline.aws_config.is_some() {
        statements.push(json!({
            "Sid": "ConfigEncrypts",
            "Effect": "Allow",
            "Principal": { "Service": "config.amazonaws.com" },
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": "*",
        }));
    }
    json!({ "Version": "2012-10-17", "Statement": statements })
}

pub fn bucket_policy(spec: &Spec, bucket: &str, partition: &str) -> Value {
    let bucket_arn = format!("arn:{partition}:s3:::{bucket}");
    let mut statements = vec![deny_insecure_transport(&bucket_arn)];
    if let (Some(trail_arn), Some(management)) = (trail_arn(spec), &spec.organization.management_account) {
        statements.push(json!({
            "Sid": "CloudTrailAclCheck",
            "Effect": "Allow",
            "Principal": { "Service": "cloudtrail.amazonaws.com" },
            "Action": "s3:GetBucketAcl",
            "Resource": bucket_arn,
            "Condition": { "StringEquals": { "aws:SourceArn": trail_arn } },
        }));
        statements.push(json!({
            "Sid": "CloudTrailWrite",
            "Effect": "Allow",
            "Principal": { "Service": "cloudtrail.amazonaws.com" },
            "Action": "s3:PutObject",
            "Resource": [
                format!("{bucket_arn}/AWSLogs/{{{{account:{management}}}}}/*"),
                format!("{bucket_arn}/AWSLogs/{{{{organization}}}}/*"),
            ],
            "Condition": { "StringEquals": { "s3:x-amz-acl": "bucket-owner-full-control", "aws:SourceArn": trail_arn } },
        }));
    }
    if spec.baseline.aws_config.is_some() {
        statements.push(json!({
            "Sid": "ConfigAclCheck",
            "Effect": "Allow",
            "Principal": { "Service": "config.amazonaws.com" },
            "Action": ["s3:GetBucketAcl", "s3:ListBucket"],
            "Resource": bucket_arn,
        }));
        statements.push(json!({
            "Sid": "ConfigWrite",
            "Effect": "Allow",
            "Principal": { "Service": "config.amazonaws.com" },
            "Action": "s3:PutObject",
            "Resource": format!("{bucket_arn}/AWSLogs/*/Config/*"),
            "Condition": { "StringEquals": { "s3:x-amz-acl": "bucket-owner-full-control" } },
        }));
    }
    json!({ "Version": "2012-10-17", "Statement": statements })
}
