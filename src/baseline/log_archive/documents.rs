//! The bunker's pure policy documents: the key policy, the log bucket's policy, and the names and
//! ARNs they refer to (with `{{account:NAME}}` / `{{organization}}` placeholders). No I/O: the
//! executor resolves the placeholders and `key.rs` / `bucket.rs` send the documents.

use serde_json::{json, Value};

use super::KEY_ALIAS;
use crate::aws::session::partition_of;
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

/// The bunker key's policy: the bunker account administers it; the organization trail (and only
/// it) may encrypt with it; AWS Config deliveries from this organization (and only it) may.
pub fn key_policy(spec: &Spec, log_archive: &LogArchiveSpec, partition: &str, flow_log_accounts: &[String]) -> Value {
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
    // https://docs.aws.amazon.com/awscloudtrail/latest/userguide/create-kms-key-policy-for-cloudtrail.html:
    // "as a security best practice, add an aws:SourceArn condition key to the KMS key policy"; its
    // value is the ARN of the trail that uses the key. Every CloudTrail statement carries it, so no
    // other trail (another account's included) can use the bunker key: the confused deputy.
    if let (Some(trail_arn), Some(management)) = (trail_arn(spec), &spec.organization.management_account) {
        statements.push(json!({
            "Sid": "CloudTrailEncrypts",
            "Effect": "Allow",
            "Principal": { "Service": "cloudtrail.amazonaws.com" },
            "Action": "kms:GenerateDataKey*",
            "Resource": "*",
            "Condition": {
                "StringEquals": { "aws:SourceArn": trail_arn },
                "StringLike": {
                    "kms:EncryptionContext:aws:cloudtrail:arn": format!("arn:{partition}:cloudtrail:*:{{{{account:{management}}}}}:trail/*")
                },
            },
        }));
        statements.push(json!({
            "Sid": "CloudTrailDescribesKey",
            "Effect": "Allow",
            "Principal": { "Service": "cloudtrail.amazonaws.com" },
            "Action": "kms:DescribeKey",
            "Resource": "*",
            "Condition": { "StringEquals": { "aws:SourceArn": trail_arn } },
        }));
        // Same page: "if you are using an existing S3 bucket with an S3 Bucket Key, kms:Decrypt
        // permissions are required to create or update a trail with SSE-KMS encryption enabled".
        // The log bucket always uses a Bucket Key (see `desired`).
        statements.push(json!({
            "Sid": "CloudTrailDecryptsForBucketKey",
            "Effect": "Allow",
            "Principal": { "Service": "cloudtrail.amazonaws.com" },
            "Action": "kms:Decrypt",
            "Resource": "*",
            "Condition": { "StringEquals": { "aws:SourceArn": trail_arn } },
        }));
    }
    if spec.baseline.aws_config.is_some() {
        // https://docs.aws.amazon.com/config/latest/developerguide/s3-kms-key-policy.html: limit
        // the service principal to the accounts whose Config delivers; for an organization,
        // `aws:SourceOrgID` (every targeted account is a member).
        statements.push(json!({
            "Sid": "ConfigEncrypts",
            "Effect": "Allow",
            "Principal": { "Service": "config.amazonaws.com" },
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": "*",
            "Condition": { "StringEquals": { "aws:SourceOrgID": "{{organization}}" } },
        }));
    }
    if !flow_log_accounts.is_empty() {
        // https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/AWS-logs-infrastructure-V2-S3.html#AWS-logs-SSE-KMS-S3:
        // a bucket encrypted with a customer managed key needs the key to let the log delivery
        // service use it, limited (as the bucket policy) to the accounts whose logs it delivers.
        statements.push(json!({
            "Sid": "FlowLogDeliveryEncrypts",
            "Effect": "Allow",
            "Principal": { "Service": "delivery.logs.amazonaws.com" },
            "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
            "Resource": "*",
            "Condition": flow_log_conditions(flow_log_accounts, partition),
        }));
    }
    json!({ "Version": "2012-10-17", "Statement": statements })
}

/// `aws:SourceAccount` one of the accounts, and `aws:SourceArn` a log delivery of one of them in
/// any Region: what https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-s3-permissions.html
/// puts on both statements ("It is also a best practice to use the aws:SourceAccount and
/// aws:SourceArn condition keys to protect yourself against the confused deputy problem"), with
/// the list form the CloudWatch Logs page gives for several source accounts
/// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/AWS-logs-infrastructure-V2-S3.html).
fn flow_log_conditions(accounts: &[String], partition: &str) -> Value {
    let ids: Vec<String> = accounts.iter().map(|account| format!("{{{{account:{account}}}}}")).collect();
    let arns: Vec<String> = ids.iter().map(|id| format!("arn:{partition}:logs:*:{id}:*")).collect();
    json!({
        "StringEquals": { "aws:SourceAccount": ids },
        "ArnLike": { "aws:SourceArn": arns },
    })
}

/// The log delivery service (VPC flow logs) may check the bucket and write under `AWSLogs/<id>/`
/// for each account whose flow logs the spec sends here, and for no one else.
/// https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-s3-permissions.html
pub fn flow_log_statements(bucket_arn: &str, accounts: &[String], partition: &str) -> Vec<Value> {
    if accounts.is_empty() {
        return Vec::new();
    }
    let conditions = flow_log_conditions(accounts, partition);
    let mut write_conditions = conditions.clone();
    write_conditions["StringEquals"]["s3:x-amz-acl"] = json!("bucket-owner-full-control");
    let objects: Vec<String> =
        accounts.iter().map(|account| format!("{bucket_arn}/AWSLogs/{{{{account:{account}}}}}/*")).collect();
    vec![
        json!({
            "Sid": "AWSLogDeliveryWrite",
            "Effect": "Allow",
            "Principal": { "Service": "delivery.logs.amazonaws.com" },
            "Action": "s3:PutObject",
            "Resource": objects,
            "Condition": write_conditions,
        }),
        json!({
            "Sid": "AWSLogDeliveryAclCheck",
            "Effect": "Allow",
            "Principal": { "Service": "delivery.logs.amazonaws.com" },
            "Action": ["s3:GetBucketAcl", "s3:ListBucket"],
            "Resource": bucket_arn,
            "Condition": conditions,
        }),
    ]
}

pub fn bucket_policy(spec: &Spec, bucket: &str, partition: &str, flow_log_accounts: &[String]) -> Value {
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
    // https://docs.aws.amazon.com/config/latest/developerguide/s3-bucket-policy.html: without a
    // condition on the source, "any AWS Config service principal" (any AWS customer's Config) could
    // deliver into the bucket. `AWS:SourceAccount` fits one account; the bunker receives every
    // account of the organization, so `aws:SourceOrgID` (the page's organization form).
    if spec.baseline.aws_config.is_some() {
        statements.push(json!({
            "Sid": "ConfigAclCheck",
            "Effect": "Allow",
            "Principal": { "Service": "config.amazonaws.com" },
            "Action": ["s3:GetBucketAcl", "s3:ListBucket"],
            "Resource": bucket_arn,
            "Condition": { "StringEquals": { "aws:SourceOrgID": "{{organization}}" } },
        }));
        statements.push(json!({
            "Sid": "ConfigWrite",
            "Effect": "Allow",
            "Principal": { "Service": "config.amazonaws.com" },
            "Action": "s3:PutObject",
            "Resource": format!("{bucket_arn}/AWSLogs/*/Config/*"),
            "Condition": { "StringEquals": {
                "s3:x-amz-acl": "bucket-owner-full-control",
                "aws:SourceOrgID": "{{organization}}",
            } },
        }));
    }
    statements.extend(flow_log_statements(&bucket_arn, flow_log_accounts, partition));
    json!({ "Version": "2012-10-17", "Statement": statements })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::tests::{controls, sids, spec, statement};
    use super::super::{BUCKET_CONTROL, KEY_ALIAS, KEY_CONTROL};

    const TRAIL_ARN: &str = "arn:aws:cloudtrail:eu-west-1:{{account:management}}:trail/org-trail";

    #[test]
    fn flow_logs_may_be_delivered_for_the_named_accounts_only() {
        let accounts = ["app".to_string(), "web".to_string()];
        let statements = super::flow_log_statements("arn:aws:s3:::logs", &accounts, "aws");
        let ids = json!(["{{account:app}}", "{{account:web}}"]);
        let arns = json!(["arn:aws:logs:*:{{account:app}}:*", "arn:aws:logs:*:{{account:web}}:*"]);
        assert_eq!(statements[0]["Sid"], "AWSLogDeliveryWrite");
        assert_eq!(statements[0]["Principal"]["Service"], "delivery.logs.amazonaws.com");
        assert_eq!(
            statements[0]["Resource"],
            json!(["arn:aws:s3:::logs/AWSLogs/{{account:app}}/*", "arn:aws:s3:::logs/AWSLogs/{{account:web}}/*"])
        );
        assert_eq!(
            statements[0]["Condition"],
            json!({ "StringEquals": { "aws:SourceAccount": ids, "s3:x-amz-acl": "bucket-owner-full-control" },
                    "ArnLike": { "aws:SourceArn": arns } })
        );
        assert_eq!(statements[1]["Sid"], "AWSLogDeliveryAclCheck");
        assert_eq!(statements[1]["Resource"], "arn:aws:s3:::logs");
        assert_eq!(
            statements[1]["Condition"],
            json!({ "StringEquals": { "aws:SourceAccount": ids }, "ArnLike": { "aws:SourceArn": arns } })
        );
        assert!(super::flow_log_statements("arn:aws:s3:::logs", &[], "aws").is_empty(), "none without flow_logs");
    }

    #[test]
    fn the_bucket_policy_denies_plain_http_and_admits_only_the_organization_trail_and_config() {
        let controls = controls(&spec(&[]));
        let policy = &controls[BUCKET_CONTROL].attributes["policy"];
        assert_eq!(
            sids(policy),
            ["DenyInsecureTransport", "CloudTrailAclCheck", "CloudTrailWrite", "ConfigAclCheck", "ConfigWrite"]
        );
        let bucket_arn = "arn:aws:s3:::landing-zone-logs-{{account:log-archive}}";
        let deny = statement(policy, "DenyInsecureTransport");
        assert_eq!(deny["Effect"], "Deny");
        assert_eq!(deny["Action"], "s3:*");
        assert_eq!(deny["Condition"], json!({ "Bool": { "aws:SecureTransport": "false" } }));
        assert_eq!(deny["Resource"], json!([bucket_arn, format!("{bucket_arn}/*")]));

        let trail_arn = TRAIL_ARN;
        let acl = statement(policy, "CloudTrailAclCheck");
        assert_eq!(acl["Principal"], json!({ "Service": "cloudtrail.amazonaws.com" }));
        assert_eq!(acl["Action"], "s3:GetBucketAcl");
        assert_eq!(acl["Resource"], bucket_arn);
        let write = statement(policy, "CloudTrailWrite");
        assert_eq!(write["Action"], "s3:PutObject");
        assert_eq!(
            write["Resource"],
            json!([
                format!("{bucket_arn}/AWSLogs/{{{{account:management}}}}/*"),
                format!("{bucket_arn}/AWSLogs/{{{{organization}}}}/*")
            ])
        );
        assert_eq!(
            write["Condition"],
            json!({ "StringEquals": { "s3:x-amz-acl": "bucket-owner-full-control", "aws:SourceArn": trail_arn } })
        );

        let config = statement(policy, "ConfigWrite");
        assert_eq!(config["Principal"], json!({ "Service": "config.amazonaws.com" }));
        assert_eq!(config["Resource"], format!("{bucket_arn}/AWSLogs/*/Config/*"));
        assert_eq!(config["Condition"]["StringEquals"]["s3:x-amz-acl"], "bucket-owner-full-control");
        assert_eq!(statement(policy, "ConfigAclCheck")["Action"], json!(["s3:GetBucketAcl", "s3:ListBucket"]));
    }

    /// Issue 11, fix 11: without a source condition any AWS customer's Config could deliver into
    /// the bunker (confused deputy); every Config statement is limited to this organization.
    #[test]
    fn config_may_write_only_for_this_organization() {
        let controls = controls(&spec(&[]));
        let bucket_policy = &controls[BUCKET_CONTROL].attributes["policy"];
        let key_policy = &controls[KEY_CONTROL].attributes["policy"];
        for (policy, sid) in
            [(bucket_policy, "ConfigAclCheck"), (bucket_policy, "ConfigWrite"), (key_policy, "ConfigEncrypts")]
        {
            assert_eq!(
                statement(policy, sid)["Condition"]["StringEquals"]["aws:SourceOrgID"],
                "{{organization}}",
                "{sid}: {policy:#}"
            );
        }
    }

    /// Issue 11, fix 10: every CloudTrail statement of the key policy names the organization
    /// trail (`aws:SourceArn`), and the Decrypt a Bucket Key needs is granted to it alone.
    #[test]
    fn only_the_organization_trail_may_use_the_key() {
        let controls = controls(&spec(&[]));
        let policy = &controls[KEY_CONTROL].attributes["policy"];
        for sid in ["CloudTrailEncrypts", "CloudTrailDescribesKey", "CloudTrailDecryptsForBucketKey"] {
            let found = statement(policy, sid);
            assert_eq!(found["Principal"], json!({ "Service": "cloudtrail.amazonaws.com" }), "{sid}");
            assert_eq!(found["Condition"]["StringEquals"]["aws:SourceArn"], TRAIL_ARN, "{sid}");
        }
        assert_eq!(statement(policy, "CloudTrailDecryptsForBucketKey")["Action"], "kms:Decrypt");
        assert_eq!(controls[BUCKET_CONTROL].attributes["encryption"]["bucket_key"], true, "why Decrypt is needed");
    }

    #[test]
    fn statements_for_absent_services_are_left_out() {
        let controls = controls(&spec(&[("  cloudtrail: { name: org-trail }\n", ""), ("  aws_config: {}\n", "")]));
        assert_eq!(sids(&controls[BUCKET_CONTROL].attributes["policy"]), ["DenyInsecureTransport"]);
        assert_eq!(sids(&controls[KEY_CONTROL].attributes["policy"]), ["BunkerAccountAdministers"]);
    }

    #[test]
    fn the_key_rotates_and_lets_the_management_accounts_trails_and_config_encrypt() {
        let controls = controls(&spec(&[]));
        let key = &controls[KEY_CONTROL].attributes;
        assert_eq!(key["alias"], KEY_ALIAS);
        assert_eq!(key["rotation"], true);
        let policy = &key["policy"];
        assert_eq!(
            sids(policy),
            [
                "BunkerAccountAdministers",
                "CloudTrailEncrypts",
                "CloudTrailDescribesKey",
                "CloudTrailDecryptsForBucketKey",
                "ConfigEncrypts"
            ]
        );
        let admin = statement(policy, "BunkerAccountAdministers");
        assert_eq!(admin["Principal"], json!({ "AWS": "arn:aws:iam::{{account:log-archive}}:root" }));
        assert_eq!(admin["Action"], "kms:*");
        let encrypt = statement(policy, "CloudTrailEncrypts");
        assert_eq!(encrypt["Action"], "kms:GenerateDataKey*");
        assert_eq!(
            encrypt["Condition"]["StringLike"]["kms:EncryptionContext:aws:cloudtrail:arn"],
            "arn:aws:cloudtrail:*:{{account:management}}:trail/*"
        );
        assert_eq!(statement(policy, "CloudTrailDescribesKey")["Action"], "kms:DescribeKey");
        assert_eq!(statement(policy, "ConfigEncrypts")["Action"], json!(["kms:Decrypt", "kms:GenerateDataKey"]));
    }
}
