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

use super::{aws_error, Actions, Baseline, BoxFuture, Context, Permissions};
use crate::aws::session::partition_of;
use crate::plan::control::{ControlKey, DesiredControl, Inputs};
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
        "encryption": { "algorithm": "AES256", "key": null, "bucket_key": false },
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
        // S3 Bucket Keys cut the KMS requests (and their cost) for every delivered log object.
        "encryption": { "algorithm": "aws:kms", "key": key_alias_arn(spec, log_archive), "bucket_key": true },
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
        .needs(&[
            "kms:CreateKey",
            "kms:TagResource",
            "kms:CreateAlias",
            "kms:EnableKeyRotation",
            "kms:PutKeyPolicy",
            "kms:ListKeys",
            "kms:ListResourceTags",
        ]),
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
    let Some(key_id) = aliased_key(&kms).await? else {
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
            .and_then(|rule| {
                let bucket_key = rule.bucket_key_enabled.unwrap_or(false);
                rule.apply_server_side_encryption_by_default.map(|default| (default, bucket_key))
            })
            .map(|(default, bucket_key)| {
                json!({
                    "algorithm": default.sse_algorithm.as_str(),
                    "key": default.kms_master_key_id,
                    "bucket_key": bucket_key,
                })
            })
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
    // A key without the alias is this tool's when it carries the ownership tag and description:
    // an apply stopped between CreateKey and CreateAlias. Adopt it instead of creating another.
    let existing = match aliased_key(&kms).await? {
        Some(key_id) => Some(key_id),
        None => match unaliased_own_key(&kms).await? {
            Some(key_id) => {
                tracing::info!(key_id, "adopting the bunker key a stopped apply created without its alias");
                create_alias(&kms, &key_id).await?;
                Some(key_id)
            }
            None => None,
        },
    };
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
                .description(KEY_DESCRIPTION)
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
            create_alias(&kms, &key_id).await?;
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

/// The description every bunker key is created with; with the ownership tag, it tells the tool's
/// key from any other in the account.
const KEY_DESCRIPTION: &str = "landing-zone log archive: CloudTrail and Config logs";

/// The key `alias/landing-zone-logs` points to, reading every page of aliases.
async fn aliased_key(kms: &aws_sdk_kms::Client) -> Result<Option<String>> {
    let mut pages = kms.list_aliases().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|error| aws_error("ListAliases", error))?;
        if let Some(alias) = page.aliases().iter().find(|alias| alias.alias_name() == Some(KEY_ALIAS)) {
            return Ok(alias.target_key_id().map(str::to_string));
        }
    }
    Ok(None)
}

/// An enabled customer key of this tool's (ownership tag and description) that no alias names:
/// what an apply killed between CreateKey and CreateAlias leaves behind. Only called when the
/// alias is missing, so the extra reads cost nothing on a converged account.
async fn unaliased_own_key(kms: &aws_sdk_kms::Client) -> Result<Option<String>> {
    let mut pages = kms.list_keys().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|error| aws_error("ListKeys", error))?;
        for key_id in page.keys().iter().filter_map(|key| key.key_id()) {
            let described = kms.describe_key().key_id(key_id).send().await;
            let described = described.map_err(|error| aws_error("DescribeKey", error))?;
            let Some(metadata) = described.key_metadata() else { continue };
            let ours = metadata.key_manager() == Some(&aws_sdk_kms::types::KeyManagerType::Customer)
                && metadata.key_state() == Some(&aws_sdk_kms::types::KeyState::Enabled)
                && metadata.description() == Some(KEY_DESCRIPTION);
            if !ours {
                continue;
            }
            let tags = kms.list_resource_tags().key_id(key_id).send().await;
            let tags = tags.map_err(|error| aws_error("ListResourceTags", error))?;
            let owned = tags.tags().iter().any(|tag| {
                tag.tag_key() == crate::spec::OWNERSHIP_TAG && tag.tag_value() == crate::spec::OWNERSHIP_VALUE
            });
            if owned {
                return Ok(Some(key_id.to_string()));
            }
        }
    }
    Ok(None)
}

/// Points the bunker alias at `key_id`; an alias that already exists is left as it is.
async fn create_alias(kms: &aws_sdk_kms::Client, key_id: &str) -> Result<()> {
    match kms.create_alias().alias_name(KEY_ALIAS).target_key_id(key_id).send().await {
        Ok(_) => Ok(()),
        Err(error) if missing(&error, &["AlreadyExistsException"]) => Ok(()),
        Err(error) => Err(aws_error("CreateAlias", error)),
    }
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
            .bucket_key_enabled(encryption["bucket_key"].as_bool().unwrap_or(false))
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
    if changed("object_lock") {
        apply_object_lock(s3, bucket, lock, before.get("object_lock").unwrap_or(&Value::Null)).await?;
    }
    Ok(())
}

/// Sets (or, when `lock` is null, removes) the bucket's default Object Lock retention.
///
/// Object Lock is turned on at CreateBucket (`ObjectLockEnabledForBucket`). S3 can also turn it on
/// for an existing versioned bucket, but that can never be undone (nor versioning suspended again),
/// so the executor does not do it behind the user's back: it fails and says how to proceed, and the
/// bunker is never reported converged without the lock the spec asks for.
async fn apply_object_lock(s3: &aws_sdk_s3::Client, bucket: &str, lock: &Value, live: &Value) -> Result<()> {
    let mut configuration = ObjectLockConfiguration::builder().object_lock_enabled(ObjectLockEnabled::Enabled);
    if lock.is_null() {
        // A bucket's Object Lock cannot be disabled; without a rule, new objects get no default
        // retention, and versions already locked stay locked until their date.
        if live.is_null() {
            return Ok(());
        }
    } else {
        // A bucket created with Object Lock but whose rule was never written (a crash between the
        // two calls) reads as `null` too: ask S3 whether the bucket itself has it.
        if live.is_null() && !object_lock_enabled(s3, bucket).await? {
            bail!(
                "bucket `{bucket}` exists without Object Lock, and landing-zone does not turn it on for an existing bucket (it can never be turned off, and versioning can never be suspended again)\nhint: enable it deliberately (`aws s3api put-object-lock-configuration --bucket {bucket} --object-lock-configuration ObjectLockEnabled=Enabled`) and apply again, or set `baseline.log_archive.bucket_name` to a new bucket, or remove `object_lock` from the spec"
            );
        }
        let mode = ObjectLockRetentionMode::from(lock["mode"].as_str().unwrap_or("GOVERNANCE"));
        let days = lock["days"]
            .as_i64()
            .and_then(|days| i32::try_from(days).ok())
            .ok_or_else(|| anyhow!("object lock of bucket `{bucket}` without a number of days"))?;
        configuration = configuration.rule(
            ObjectLockRule::builder()
                .default_retention(DefaultRetention::builder().mode(mode).days(days).build())
                .build(),
        );
    }
    s3.put_object_lock_configuration()
        .bucket(bucket)
        .object_lock_configuration(configuration.build())
        .send()
        .await
        .map_err(|error| aws_error(&format!("PutObjectLockConfiguration `{bucket}`"), error))?;
    Ok(())
}

/// Whether Object Lock is enabled on the bucket (with or without a default retention rule).
async fn object_lock_enabled(s3: &aws_sdk_s3::Client, bucket: &str) -> Result<bool> {
    match s3.get_object_lock_configuration().bucket(bucket).send().await {
        Ok(output) => Ok(output
            .object_lock_configuration
            .and_then(|configuration| configuration.object_lock_enabled)
            .is_some_and(|enabled| enabled == ObjectLockEnabled::Enabled)),
        Err(error) if missing(&error, &["ObjectLockConfigurationNotFoundError"]) => Ok(false),
        Err(error) => Err(aws_error("GetObjectLockConfiguration", error)),
    }
}

/// The `baseline.log_archive` section in the registry.
pub struct LogArchive;

impl Baseline for LogArchive {
    fn family(&self) -> &'static str {
        CONTROL
    }

    fn section(&self) -> &'static str {
        "log_archive"
    }

    fn summary(&self) -> &'static str {
        "the data bunker: KMS key, log bucket and access-log bucket in the log-archive account"
    }

    fn desired(&self, inputs: &Inputs<'_>) -> Vec<DesiredControl> {
        desired(inputs)
    }

    fn permissions(&self) -> Permissions {
        Permissions {
            management: Actions { read: &[], write: &[] },
            in_account: Actions {
                read: &[
                    "s3:ListBucket",
                    "s3:GetEncryptionConfiguration",
                    "s3:GetLifecycleConfiguration",
                    "s3:GetBucketLogging",
                    "s3:GetBucketPolicy",
                    "s3:GetBucketVersioning",
                    "s3:GetBucketObjectLockConfiguration",
                    "s3:GetBucketPublicAccessBlock",
                    "kms:DescribeKey",
                    "kms:GetKeyPolicy",
                    "kms:GetKeyRotationStatus",
                    "kms:ListAliases",
                    "kms:ListKeys",
                    "kms:ListResourceTags",
                ],
                write: &[
                    "s3:CreateBucket",
                    "s3:PutEncryptionConfiguration",
                    "s3:PutLifecycleConfiguration",
                    "s3:PutBucketLogging",
                    "s3:PutBucketPolicy",
                    "s3:PutBucketVersioning",
                    "s3:PutBucketObjectLockConfiguration",
                    "s3:PutBucketPublicAccessBlock",
                    "kms:CreateKey",
                    "kms:CreateAlias",
                    "kms:EnableKeyRotation",
                    "kms:PutKeyPolicy",
                    "kms:TagResource",
                ],
            },
        }
    }

    fn read<'a>(
        &'a self,
        context: &'a Context<'_>,
        key: &'a ControlKey,
        desired: &'a Value,
    ) -> BoxFuture<'a, Result<Option<Value>>> {
        Box::pin(read(context, key, desired))
    }

    fn apply<'a>(
        &'a self,
        context: &'a Context<'_>,
        key: &'a ControlKey,
        attributes: &'a Value,
        before: Option<&'a Value>,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(apply(context, key, attributes, before))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::plan::control::{has_placeholders, resolve, KnownIds};

    const SPEC: &str = r#"
version: 1
organization: { management_account: management, regions: [eu-west-1, us-east-1] }
accounts:
  management: { email: root@example.com }
  log-archive: { email: logs@example.com }
baseline:
  log_archive: { account: log-archive, retention_days: 400, object_lock: compliance, object_lock_days: 30 }
  cloudtrail: { name: org-trail }
  aws_config: {}
"#;

    fn spec(edits: &[(&str, &str)]) -> Spec {
        let mut text = SPEC.to_string();
        for (from, to) in edits {
            assert!(text.contains(from), "`{from}` not in the test spec");
            text = text.replacen(from, to, 1);
        }
        match serde_yaml::from_str(&text) {
            Ok(spec) => spec,
            Err(error) => panic!("test spec: {error}"),
        }
    }

    fn controls(spec: &Spec) -> BTreeMap<String, DesiredControl> {
        let role_documents = BTreeMap::new();
        let inputs = Inputs { spec, accounts: &[], role_documents: &role_documents };
        desired(&inputs).into_iter().map(|control| (control.key.control.clone(), control)).collect()
    }

    fn statement(policy: &Value, sid: &str) -> Value {
        policy["Statement"].as_array().into_iter().flatten().find(|s| s["Sid"] == sid).cloned().unwrap_or(Value::Null)
    }

    fn sids(policy: &Value) -> Vec<String> {
        policy["Statement"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|statement| statement["Sid"].as_str().map(str::to_string))
            .collect()
    }

    #[test]
    fn three_controls_in_the_bunker_home_region_in_dependency_order() {
        let spec = spec(&[]);
        let role_documents = BTreeMap::new();
        let inputs = Inputs { spec: &spec, accounts: &[], role_documents: &role_documents };
        let all = desired(&inputs);
        let names: Vec<&str> = all.iter().map(|control| control.key.control.as_str()).collect();
        assert_eq!(names, [KEY_CONTROL, ACCESS_LOG_CONTROL, BUCKET_CONTROL]);
        for control in &all {
            assert_eq!(control.key.account, "log-archive");
            assert_eq!(control.key.region.as_deref(), Some("eu-west-1"), "home region = regions[0]");
            assert!(!control.needs.is_empty());
        }
        let bucket = &all[2];
        assert_eq!(
            bucket.after,
            [
                ControlKey::new(KEY_CONTROL, "log-archive", Some("eu-west-1")),
                ControlKey::new(ACCESS_LOG_CONTROL, "log-archive", Some("eu-west-1")),
            ]
        );
        assert!(
            bucket.needs.contains(&"s3:PutBucketPolicy") && bucket.needs.contains(&"s3:PutEncryptionConfiguration")
        );
        assert!(all[0].needs.contains(&"kms:CreateKey"));
    }

    #[test]
    fn the_log_bucket_is_encrypted_with_the_key_alias_versioned_blocked_logged_and_expiring() {
        let controls = controls(&spec(&[]));
        let bucket = &controls[BUCKET_CONTROL].attributes;
        assert_eq!(bucket["name"], "landing-zone-logs-{{account:log-archive}}");
        assert_eq!(
            bucket["encryption"],
            json!({
                "algorithm": "aws:kms",
                "key": "arn:aws:kms:eu-west-1:{{account:log-archive}}:alias/landing-zone-logs",
                "bucket_key": true,
            })
        );
        assert_eq!(bucket["versioning"], "Enabled");
        assert_eq!(bucket["public_access_blocked"], true);
        assert_eq!(bucket["lifecycle_days"], 400);
        assert_eq!(
            bucket["logging"],
            json!({ "bucket": "landing-zone-logs-{{account:log-archive}}-access-logs", "prefix": "log-bucket/" })
        );
        assert_eq!(bucket["object_lock"], json!({ "mode": "COMPLIANCE", "days": 30 }));

        let named = controls_for_bucket_name("audit-logs");
        assert_eq!(named[BUCKET_CONTROL].attributes["name"], "audit-logs");
        assert_eq!(named[ACCESS_LOG_CONTROL].attributes["name"], "audit-logs-access-logs");
    }

    fn controls_for_bucket_name(name: &str) -> BTreeMap<String, DesiredControl> {
        let replacement = format!("account: log-archive, bucket_name: {name},");
        controls(&spec(&[("account: log-archive,", replacement.as_str())]))
    }

    #[test]
    fn without_object_lock_or_retention_the_attributes_are_null() {
        let controls =
            controls(&spec(&[(", object_lock: compliance, object_lock_days: 30", ""), ("retention_days: 400", "")]));
        let bucket = &controls[BUCKET_CONTROL].attributes;
        assert_eq!(bucket["object_lock"], Value::Null);
        assert_eq!(bucket["lifecycle_days"], Value::Null);
        assert_eq!(controls[ACCESS_LOG_CONTROL].attributes["lifecycle_days"], Value::Null);
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

        let trail_arn = "arn:aws:cloudtrail:eu-west-1:{{account:management}}:trail/org-trail";
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
            ["BunkerAccountAdministers", "CloudTrailEncrypts", "CloudTrailDescribesKey", "ConfigEncrypts"]
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

    #[test]
    fn the_access_log_bucket_is_sse_s3_and_writable_only_by_s3_logging_for_the_bunker() {
        let controls = controls(&spec(&[]));
        let bucket = &controls[ACCESS_LOG_CONTROL].attributes;
        assert_eq!(bucket["name"], "landing-zone-logs-{{account:log-archive}}-access-logs");
        assert_eq!(bucket["encryption"], json!({ "algorithm": "AES256", "key": null, "bucket_key": false }));
        assert_eq!(bucket["versioning"], "Enabled");
        assert_eq!(bucket["public_access_blocked"], true);
        assert_eq!(bucket["object_lock"], Value::Null, "Object Lock buckets cannot receive server access logs");
        assert_eq!(bucket["logging"], Value::Null);
        let policy = &bucket["policy"];
        assert_eq!(sids(policy), ["DenyInsecureTransport", "ServerAccessLogsWrite"]);
        let write = statement(policy, "ServerAccessLogsWrite");
        assert_eq!(write["Principal"], json!({ "Service": "logging.s3.amazonaws.com" }));
        assert_eq!(write["Action"], "s3:PutObject");
        assert_eq!(write["Condition"], json!({ "StringEquals": { "aws:SourceAccount": "{{account:log-archive}}" } }));
    }

    #[test]
    fn every_placeholder_resolves_once_the_ids_are_known() {
        let controls = controls(&spec(&[]));
        let mut ids = KnownIds::default();
        ids.accounts.insert("log-archive".to_string(), "222222222222".to_string());
        ids.accounts.insert("management".to_string(), "111111111111".to_string());
        let partial = resolve(&controls[BUCKET_CONTROL].attributes, &ids);
        assert!(has_placeholders(&partial), "the organization id is still unknown");
        ids.organization = Some("o-abcdef1234".to_string());
        for control in controls.values() {
            let resolved = resolve(&control.attributes, &ids);
            assert!(!has_placeholders(&resolved), "{}: {resolved}", control.key.control);
        }
        let resolved = resolve(&controls[BUCKET_CONTROL].attributes, &ids);
        assert_eq!(resolved["name"], "landing-zone-logs-222222222222");
        assert_eq!(
            statement(&resolved["policy"], "CloudTrailWrite")["Resource"][1],
            "arn:aws:s3:::landing-zone-logs-222222222222/AWSLogs/o-abcdef1234/*"
        );
    }
}
