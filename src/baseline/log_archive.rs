//! `baseline.log_archive`: the "data bunker" in the log-archive account, home region — a KMS key
//! (rotation on) CloudTrail and Config may encrypt with, the log bucket (SSE-KMS by default,
//! versioned, public access blocked, TLS only, writable only by the organization trail and Config,
//! access-logged, lifecycle, optional Object Lock) and its access-log bucket.

use anyhow::{anyhow, bail, Result};
use aws_sdk_s3::types::{
    BucketLifecycleConfiguration, BucketLocationConstraint, BucketLoggingStatus, BucketVersioningStatus,
    CreateBucketConfiguration, DefaultRetention, ExpirationStatus, LifecycleExpiration, LifecycleRule,
    LifecycleRuleFilter, LoggingEnabled, NoncurrentVersionExpiration, ObjectLockConfiguration, ObjectLockEnabled,
    ObjectLockRetentionMode, ObjectLockRule, PublicAccessBlockConfiguration, ServerSideEncryption,
    ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration, ServerSideEncryptionRule,
    VersioningConfiguration,
};
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use serde_json::{json, Value};

use super::{aws_error, Context, ControlKey, DesiredControl, Inputs};
use crate::aws::session::partition_of;
use crate::spec::{LogArchiveSpec, ObjectLockMode, Spec};

pub const CONTROL: &str = "log_archive";
pub const KEY_CONTROL: &str = "log_archive/kms_key";
pub const BUCKET_CONTROL: &str = "log_archive/bucket";
pub const ACCESS_LOG_CONTROL: &str = "log_archive/access_log_bucket";
/// The alias of the bunker key; its ARN is known before the key exists.
pub const KEY_ALIAS: &str = "alias/landing-zone-logs";
const RETENTION_RULE: &str = "landing-zone-retention";

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

fn deny_insecure_transport(bucket_arn: &str) -> Value {
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

fn key_policy(spec: &Spec, log_archive: &LogArchiveSpec, partition: &str) -> Value {
    let bunker_root = format!("arn:{partition}:iam::{{{{account:{}}}}}:root", log_archive.account);
    let mut statements = vec![json!({
        "Sid": "BunkerAccountAdministers",
        "Effect": "Allow",
        "Principal": { "AWS": bunker_root },
        "Action": "kms:*",
        "Resource": "*",
    })];
    if let Some(management) = &spec.organization.management_account {
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

fn bucket_policy(spec: &Spec, bucket: &str, partition: &str) -> Value {
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

pub fn desired(inputs: &Inputs<'_>) -> Vec<DesiredControl> {
    let spec = inputs.spec;
    let Some(log_archive) = &spec.baseline.log_archive else { return Vec::new() };
    let region = inputs.home_region();
    let partition = partition_of(region);
    let account = log_archive.account.as_str();
    let bucket = bucket_name(log_archive);
    let access_logs = format!("{bucket}-access-logs");
    let key = ControlKey::new(KEY_CONTROL, account, Some(region));
    let access_log_key = ControlKey::new(ACCESS_LOG_CONTROL, account, Some(region));
    let access_log_arn = format!("arn:{partition}:s3:::{access_logs}");
    let access_log_bucket = json!({
        "name": access_logs,
        "object_lock": null,
        "versioning": "Enabled",
        // S3 server access logs cannot be delivered to SSE-KMS buckets.
        "encryption": { "algorithm": "AES256", "key": null },
        "public_access_blocked": true,
        "policy": { "Version": "2012-10-17", "Statement": [
            deny_insecure_transport(&access_log_arn),
            {
                "Sid": "ServerAccessLogsWrite",
                "Effect": "Allow",
                "Principal": { "Service": "logging.s3.amazonaws.com" },
                "Action": "s3:PutObject",
                "Resource": format!("{access_log_arn}/*"),
                "Condition": { "StringEquals": { "aws:SourceAccount": format!("{{{{account:{account}}}}}") } },
            },
        ] },
        "lifecycle_days": log_archive.retention_days,
        "logging": null,
    });
    let log_bucket = json!({
        "name": bucket,
        "object_lock": log_archive.object_lock.map(|mode| json!({
            "mode": match mode { ObjectLockMode::Governance => "GOVERNANCE", ObjectLockMode::Compliance => "COMPLIANCE" },
            "days": log_archive.object_lock_days,
        })),
        "versioning": "Enabled",
        "encryption": { "algorithm": "aws:kms", "key": key_alias_arn(spec, log_archive) },
        "public_access_blocked": true,
        "policy": bucket_policy(spec, &bucket, partition),
        "lifecycle_days": log_archive.retention_days,
        "logging": { "bucket": access_logs, "prefix": "log-bucket/" },
    });
    let bucket_needs: &[&'static str] = &[
        "s3:CreateBucket",
        "s3:PutBucketPolicy",
        "s3:PutEncryptionConfiguration",
        "s3:PutBucketVersioning",
        "s3:PutBucketPublicAccessBlock",
        "s3:PutLifecycleConfiguration",
        "s3:PutBucketLogging",
        "s3:PutBucketObjectLockConfiguration",
    ];
    vec![
        DesiredControl::new(
            key.clone(),
            json!({ "alias": KEY_ALIAS, "rotation": true, "policy": key_policy(spec, log_archive, partition) }),
        )
        .needs(&["kms:CreateKey", "kms:CreateAlias", "kms:EnableKeyRotation", "kms:PutKeyPolicy"]),
        DesiredControl::new(access_log_key.clone(), access_log_bucket).needs(bucket_needs),
        DesiredControl::new(ControlKey::new(BUCKET_CONTROL, account, Some(region)), log_bucket)
            .after(key)
            .after(access_log_key)
            .needs(bucket_needs),
    ]
}

/// Reads the live state; `desired` (placeholders resolved) names the bucket.
pub async fn read(context: &Context<'_>, key: &ControlKey, desired: &Value) -> Result<Option<Value>> {
    let account_id = context.account_id(&key.account)?;
    match key.control.as_str() {
        KEY_CONTROL => read_key(context, account_id, key.region.as_deref()).await,
        BUCKET_CONTROL | ACCESS_LOG_CONTROL => {
            let bucket = desired["name"].as_str().ok_or_else(|| anyhow!("bucket control without a name"))?;
            read_bucket(&context.sessions.s3(account_id, key.region.as_deref()).await, bucket).await
        }
        other => bail!("unknown control `{other}`"),
    }
}

async fn read_key(context: &Context<'_>, account_id: &str, region: Option<&str>) -> Result<Option<Value>> {
    let kms = context.sessions.kms(account_id, region).await;
    let aliases = kms.list_aliases().send().await.map_err(|error| aws_error("ListAliases", error))?;
    let Some(key_id) = aliases
        .aliases
        .unwrap_or_default()
        .into_iter()
        .find(|alias| alias.alias_name.as_deref() == Some(KEY_ALIAS))
        .and_then(|alias| alias.target_key_id)
    else {
        return Ok(None);
    };
    let rotation = kms
        .get_key_rotation_status()
        .key_id(&key_id)
        .send()
        .await
        .map_err(|error| aws_error("GetKeyRotationStatus", error))?
        .key_rotation_enabled;
    let policy = kms
        .get_key_policy()
        .key_id(&key_id)
        .policy_name("default")
        .send()
        .await
        .map_err(|error| aws_error("GetKeyPolicy", error))?
        .policy
        .map(|text| serde_json::from_str(&text).unwrap_or(Value::String(text)))
        .unwrap_or(Value::Null);
    Ok(Some(json!({ "alias": KEY_ALIAS, "rotation": rotation, "policy": policy })))
}

fn missing(error: &impl ProvideErrorMetadata, codes: &[&str]) -> bool {
    error.code().is_some_and(|code| codes.contains(&code))
}

async fn read_bucket(s3: &aws_sdk_s3::Client, bucket: &str) -> Result<Option<Value>> {
    match s3.head_bucket().bucket(bucket).send().await {
        Ok(_) => {}
        Err(error) if error.raw_response().is_some_and(|response| response.status().as_u16() == 404) => {
            return Ok(None)
        }
        Err(error) if missing(&error, &["NoSuchBucket", "NotFound"]) => return Ok(None),
        Err(error) => return Err(aws_error("HeadBucket", error)),
    }
    let versioning = versioning_status(s3, bucket).await?;
    let encryption = match s3.get_bucket_encryption().bucket(bucket).send().await {
        Ok(output) => output
            .server_side_encryption_configuration
            .and_then(|configuration| configuration.rules.into_iter().next())
            .and_then(|rule| rule.apply_server_side_encryption_by_default)
            .map(|default| json!({ "algorithm": default.sse_algorithm.as_str(), "key": default.kms_master_key_id }))
            .unwrap_or(Value::Null),
        Err(error) if missing(&error, &["ServerSideEncryptionConfigurationNotFoundError"]) => Value::Null,
        Err(error) => return Err(aws_error("GetBucketEncryption", error)),
    };
    let public_access_blocked = match s3.get_public_access_block().bucket(bucket).send().await {
        Ok(output) => output.public_access_block_configuration.is_some_and(|block| {
            block.block_public_acls == Some(true)
                && block.ignore_public_acls == Some(true)
                && block.block_public_policy == Some(true)
                && block.restrict_public_buckets == Some(true)
        }),
        Err(error) if missing(&error, &["NoSuchPublicAccessBlockConfiguration"]) => false,
        Err(error) => return Err(aws_error("GetPublicAccessBlock", error)),
    };
    let policy = match s3.get_bucket_policy().bucket(bucket).send().await {
        Ok(output) => {
            output.policy.map(|text| serde_json::from_str(&text).unwrap_or(Value::String(text))).unwrap_or(Value::Null)
        }
        Err(error) if missing(&error, &["NoSuchBucketPolicy"]) => Value::Null,
        Err(error) => return Err(aws_error("GetBucketPolicy", error)),
    };
    let lifecycle_days = match s3.get_bucket_lifecycle_configuration().bucket(bucket).send().await {
        Ok(output) => output
            .rules
            .unwrap_or_default()
            .into_iter()
            .find(|rule| rule.id.as_deref() == Some(RETENTION_RULE) && rule.status == ExpirationStatus::Enabled)
            .and_then(|rule| rule.expiration.and_then(|expiration| expiration.days))
            .map_or(Value::Null, |days| json!(days)),
        Err(error) if missing(&error, &["NoSuchLifecycleConfiguration"]) => Value::Null,
        Err(error) => return Err(aws_error("GetBucketLifecycleConfiguration", error)),
    };
    let logging = match s3.get_bucket_logging().bucket(bucket).send().await {
        Ok(output) => output
            .logging_enabled
            .map(|logging| json!({ "bucket": logging.target_bucket, "prefix": logging.target_prefix }))
            .unwrap_or(Value::Null),
        Err(error) => return Err(aws_error("GetBucketLogging", error)),
    };
    let object_lock = match s3.get_object_lock_configuration().bucket(bucket).send().await {
        Ok(output) => output
            .object_lock_configuration
            .and_then(|configuration| configuration.rule)
            .and_then(|rule| rule.default_retention)
            .map(|retention| {
                json!({ "mode": retention.mode.map(|mode| mode.as_str().to_string()), "days": retention.days })
            })
            .unwrap_or(Value::Null),
        Err(error) if missing(&error, &["ObjectLockConfigurationNotFoundError"]) => Value::Null,
        Err(error) => return Err(aws_error("GetObjectLockConfiguration", error)),
    };
    Ok(Some(json!({
        "name": bucket,
        "object_lock": object_lock,
        "versioning": versioning,
        "encryption": encryption,
        "public_access_blocked": public_access_blocked,
        "policy": policy,
        "lifecycle_days": lifecycle_days,
        "logging": logging,
    })))
}

/// The bucket's versioning status (`Enabled`, `Suspended`, or None when never set).
pub async fn versioning_status(s3: &aws_sdk_s3::Client, bucket: &str) -> Result<Option<String>> {
    match s3.get_bucket_versioning().bucket(bucket).send().await {
        Ok(output) => Ok(output.status.map(|status| status.as_str().to_string())),
        Err(error) => {
            // moto 5.2.5 answers with a `GetBucketVersioningResponse` root element, which the SDK
            // rejects; AWS sends `VersioningConfiguration`. Read the status from the raw body then.
            let body = error.raw_response().and_then(|response| response.body().bytes()).map(String::from_utf8_lossy);
            match body {
                Some(body) if body.contains("GetBucketVersioningResponse") => Ok(body
                    .split("<Status>")
                    .nth(1)
                    .and_then(|rest| rest.split("</Status>").next())
                    .map(str::to_string)),
                _ => Err(aws_error("GetBucketVersioning", error)),
            }
        }
    }
}

pub async fn apply(context: &Context<'_>, key: &ControlKey, attributes: &Value, before: Option<&Value>) -> Result<()> {
    let account_id = context.account_id(&key.account)?;
    let region = key.region.as_deref();
    match key.control.as_str() {
        KEY_CONTROL => apply_key(context, account_id, region, attributes).await,
        BUCKET_CONTROL | ACCESS_LOG_CONTROL => {
            let s3 = context.sessions.s3(account_id, region).await;
            apply_bucket(&s3, region.unwrap_or("us-east-1"), attributes, before).await
        }
        other => bail!("unknown control `{other}`"),
    }
}

async fn apply_key(context: &Context<'_>, account_id: &str, region: Option<&str>, attributes: &Value) -> Result<()> {
    let kms = context.sessions.kms(account_id, region).await;
    let policy = attributes["policy"].to_string();
    let aliases = kms.list_aliases().send().await.map_err(|error| aws_error("ListAliases", error))?;
    let existing = aliases
        .aliases
        .unwrap_or_default()
        .into_iter()
        .find(|alias| alias.alias_name.as_deref() == Some(KEY_ALIAS))
        .and_then(|alias| alias.target_key_id);
    let key_id = match existing {
        Some(key_id) => {
            kms.put_key_policy()
                .key_id(&key_id)
                .policy_name("default")
                .policy(&policy)
                .send()
                .await
                .map_err(|error| aws_error("PutKeyPolicy", error))?;
            key_id
        }
        None => {
            let created = kms
                .create_key()
                .description("landing-zone log archive: CloudTrail and Config logs")
                .policy(&policy)
                .tags(
                    aws_sdk_kms::types::Tag::builder()
                        .tag_key(crate::spec::OWNERSHIP_TAG)
                        .tag_value(crate::spec::OWNERSHIP_VALUE)
                        .build()
                        .map_err(|error| anyhow!("{error}"))?,
                )
                .send()
                .await
                .map_err(|error| aws_error("CreateKey", error))?;
            let key_id = created
                .key_metadata
                .map(|metadata| metadata.key_id)
                .ok_or_else(|| anyhow!("CreateKey returned no key"))?;
            match kms.create_alias().alias_name(KEY_ALIAS).target_key_id(&key_id).send().await {
                Ok(_) => {}
                Err(error) if missing(&error, &["AlreadyExistsException"]) => {}
                Err(error) => return Err(aws_error("CreateAlias", error)),
            }
            key_id
        }
    };
    if attributes["rotation"].as_bool().unwrap_or(true) {
        kms.enable_key_rotation()
            .key_id(&key_id)
            .send()
            .await
            .map_err(|error| aws_error("EnableKeyRotation", error))?;
    }
    Ok(())
}

async fn apply_bucket(s3: &aws_sdk_s3::Client, region: &str, attributes: &Value, before: Option<&Value>) -> Result<()> {
    let bucket = attributes["name"].as_str().ok_or_else(|| anyhow!("bucket control without a name"))?;
    let lock = &attributes["object_lock"];
    let empty = json!({});
    let before = before.unwrap_or(&empty);
    let exists = before.get("name").is_some();
    if !exists {
        let mut create = s3.create_bucket().bucket(bucket).object_lock_enabled_for_bucket(!lock.is_null());
        if region != "us-east-1" {
            create = create.create_bucket_configuration(
                CreateBucketConfiguration::builder()
                    .location_constraint(BucketLocationConstraint::from(region))
                    .build(),
            );
        }
        match create.send().await {
            Ok(_) => {}
            Err(error) if missing(&error, &["BucketAlreadyOwnedByYou"]) => {}
            Err(error) => return Err(aws_error(&format!("CreateBucket `{bucket}`"), error)),
        }
    }
    let changed = |name: &str| !exists || before.get(name) != attributes.get(name);
    if changed("versioning") {
        s3.put_bucket_versioning()
            .bucket(bucket)
            .versioning_configuration(
                VersioningConfiguration::builder().status(BucketVersioningStatus::Enabled).build(),
            )
            .send()
            .await
            .map_err(|error| aws_error("PutBucketVersioning", error))?;
    }
    if changed("public_access_blocked") {
        let block = PublicAccessBlockConfiguration::builder()
            .block_public_acls(true)
            .ignore_public_acls(true)
            .block_public_policy(true)
            .restrict_public_buckets(true)
            .build();
        s3.put_public_access_block()
            .bucket(bucket)
            .public_access_block_configuration(block)
            .send()
            .await
            .map_err(|error| aws_error("PutPublicAccessBlock", error))?;
    }
    if changed("encryption") {
        let encryption = &attributes["encryption"];
        let mut default = ServerSideEncryptionByDefault::builder()
            .sse_algorithm(ServerSideEncryption::from(encryption["algorithm"].as_str().unwrap_or("AES256")));
        if let Some(key) = encryption["key"].as_str() {
            default = default.kms_master_key_id(key);
        }
        let rule = ServerSideEncryptionRule::builder()
            .apply_server_side_encryption_by_default(default.build().map_err(|error| anyhow!("{error}"))?)
            .bucket_key_enabled(encryption["key"].is_string())
            .build();
        let configuration =
            ServerSideEncryptionConfiguration::builder().rules(rule).build().map_err(|error| anyhow!("{error}"))?;
        s3.put_bucket_encryption()
            .bucket(bucket)
            .server_side_encryption_configuration(configuration)
            .send()
            .await
            .map_err(|error| aws_error("PutBucketEncryption", error))?;
    }
    if changed("policy") {
        s3.put_bucket_policy()
            .bucket(bucket)
            .policy(attributes["policy"].to_string())
            .send()
            .await
            .map_err(|error| aws_error("PutBucketPolicy", error))?;
    }
    if changed("lifecycle_days") {
        match attributes["lifecycle_days"].as_i64().and_then(|days| i32::try_from(days).ok()) {
            Some(days) => {
                let rule = LifecycleRule::builder()
                    .id(RETENTION_RULE)
                    .status(ExpirationStatus::Enabled)
                    .filter(LifecycleRuleFilter::builder().prefix("").build())
                    .expiration(LifecycleExpiration::builder().days(days).build())
                    .noncurrent_version_expiration(NoncurrentVersionExpiration::builder().noncurrent_days(days).build())
                    .build()
                    .map_err(|error| anyhow!("{error}"))?;
                let configuration =
                    BucketLifecycleConfiguration::builder().rules(rule).build().map_err(|error| anyhow!("{error}"))?;
                s3.put_bucket_lifecycle_configuration()
                    .bucket(bucket)
                    .lifecycle_configuration(configuration)
                    .send()
                    .await
                    .map_err(|error| aws_error("PutBucketLifecycleConfiguration", error))?;
            }
            None => {
                s3.delete_bucket_lifecycle()
                    .bucket(bucket)
                    .send()
                    .await
                    .map_err(|error| aws_error("DeleteBucketLifecycle", error))?;
            }
        }
    }
    if changed("logging") {
        let mut status = BucketLoggingStatus::builder();
        if let (Some(target), Some(prefix)) =
            (attributes["logging"]["bucket"].as_str(), attributes["logging"]["prefix"].as_str())
        {
            status = status.logging_enabled(
                LoggingEnabled::builder()
                    .target_bucket(target)
                    .target_prefix(prefix)
                    .build()
                    .map_err(|error| anyhow!("{error}"))?,
            );
        }
        s3.put_bucket_logging()
            .bucket(bucket)
            .bucket_logging_status(status.build())
            .send()
            .await
            .map_err(|error| aws_error("PutBucketLogging", error))?;
    }
    if changed("object_lock") && !lock.is_null() {
        if exists && before["object_lock"].is_null() {
            bail!(
                "bucket `{bucket}` exists without Object Lock, which S3 only enables when a bucket is created; create a new bucket (set `bucket_name`) or remove `object_lock` from the spec"
            );
        }
        let mode = ObjectLockRetentionMode::from(lock["mode"].as_str().unwrap_or("GOVERNANCE"));
        let days = lock["days"].as_i64().and_then(|days| i32::try_from(days).ok()).unwrap_or(365);
        let configuration = ObjectLockConfiguration::builder()
            .object_lock_enabled(ObjectLockEnabled::Enabled)
            .rule(
                ObjectLockRule::builder()
                    .default_retention(DefaultRetention::builder().mode(mode).days(days).build())
                    .build(),
            )
            .build();
        s3.put_object_lock_configuration()
            .bucket(bucket)
            .object_lock_configuration(configuration)
            .send()
            .await
            .map_err(|error| aws_error("PutObjectLockConfiguration", error))?;
    }
    Ok(())
}
