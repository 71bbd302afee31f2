//! The bunker's buckets (`log_archive/bucket`, `log_archive/access_log_bucket`): read attribute by
//! attribute, and written only where they differ — versioning, public access block, encryption,
//! policy, lifecycle, server access logging and Object Lock.

use anyhow::{anyhow, bail, Result};
use aws_sdk_s3::types::{
    BucketLifecycleConfiguration, BucketLocationConstraint, BucketLoggingStatus, BucketVersioningStatus,
    CreateBucketConfiguration, DefaultRetention, ExpirationStatus, LifecycleExpiration, LifecycleRule,
    LifecycleRuleFilter, LoggingEnabled, NoncurrentVersionExpiration, ObjectLockConfiguration, ObjectLockEnabled,
    ObjectLockRetentionMode, ObjectLockRule, PublicAccessBlockConfiguration, ServerSideEncryption,
    ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration, ServerSideEncryptionRule,
    VersioningConfiguration,
};
use serde_json::{json, Value};

use super::{BucketAttributes, Encryption, Logging, ObjectLock, DELETE_MARKER_RULE, RETENTION_RULE};
use crate::aws::errors;
use crate::baseline::attributes::encode;
use crate::baseline::aws_error;

pub async fn read_bucket(s3: &aws_sdk_s3::Client, bucket: &str) -> Result<Option<Value>> {
    match s3.head_bucket().bucket(bucket).send().await {
        Ok(_) => {}
        Err(error) if error.raw_response().is_some_and(|response| response.status().as_u16() == 404) => {
            return Ok(None)
        }
        Err(error) if errors::is_no_such_bucket(&error) => return Ok(None),
        Err(error) => return Err(aws_error("HeadBucket", error)),
    }
    let versioning = versioning_status(s3, bucket).await?;
    let encryption = encryption_configuration(s3, bucket)
        .await?
        .and_then(|configuration| configuration.rules.into_iter().next())
        .and_then(|rule| {
            let bucket_key = rule.bucket_key_enabled.unwrap_or(false);
            rule.apply_server_side_encryption_by_default.map(|default| (default, bucket_key))
        })
        .map(|(default, bucket_key)| Encryption {
            algorithm: default.sse_algorithm.as_str().to_string(),
            key: default.kms_master_key_id,
            bucket_key,
        });
    let public_access_blocked = public_access_block(s3, bucket).await?.is_some_and(|block| {
        block.block_public_acls == Some(true)
            && block.ignore_public_acls == Some(true)
            && block.block_public_policy == Some(true)
            && block.restrict_public_buckets == Some(true)
    });
    let policy = policy_document(s3, bucket).await?;
    let (lifecycle_days, noncurrent_days, expired_delete_markers) =
        match s3.get_bucket_lifecycle_configuration().bucket(bucket).send().await {
            Ok(output) => read_lifecycle(&output.rules.unwrap_or_default()),
            Err(error) if errors::is_no_lifecycle_configuration(&error) => (None, None, None),
            Err(error) => return Err(aws_error("GetBucketLifecycleConfiguration", error)),
        };
    let logging = match s3.get_bucket_logging().bucket(bucket).send().await {
        Ok(output) => output
            .logging_enabled
            .map(|logging| Logging { bucket: logging.target_bucket, prefix: logging.target_prefix }),
        Err(error) => return Err(aws_error("GetBucketLogging", error)),
    };
    let object_lock = match s3.get_object_lock_configuration().bucket(bucket).send().await {
        Ok(output) => output
            .object_lock_configuration
            .and_then(|configuration| configuration.rule)
            .and_then(|rule| rule.default_retention)
            .map(|retention| ObjectLock {
                mode: retention.mode.map(|mode| mode.as_str().to_string()),
                days: retention.days.map(i64::from),
            }),
        Err(error) if errors::is_no_object_lock_configuration(&error) => None,
        Err(error) => return Err(aws_error("GetObjectLockConfiguration", error)),
    };
    Ok(Some(encode(&BucketAttributes {
        name: bucket.to_string(),
        object_lock,
        versioning,
        encryption,
        public_access_blocked,
        policy,
        lifecycle_days,
        noncurrent_days,
        expired_delete_markers,
        logging,
    })))
}

/// The bucket's default encryption; None when it has none.
pub async fn encryption_configuration(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
) -> Result<Option<aws_sdk_s3::types::ServerSideEncryptionConfiguration>> {
    match s3.get_bucket_encryption().bucket(bucket).send().await {
        Ok(output) => Ok(output.server_side_encryption_configuration),
        Err(error) if errors::is_no_bucket_encryption(&error) => Ok(None),
        Err(error) => Err(aws_error("GetBucketEncryption", error)),
    }
}

/// The bucket's Block Public Access switches; None when it has none.
pub async fn public_access_block(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
) -> Result<Option<aws_sdk_s3::types::PublicAccessBlockConfiguration>> {
    match s3.get_public_access_block().bucket(bucket).send().await {
        Ok(output) => Ok(output.public_access_block_configuration),
        Err(error) if errors::is_no_public_access_block(&error) => Ok(None),
        Err(error) => Err(aws_error("GetPublicAccessBlock", error)),
    }
}

/// The bucket's policy document as S3 returns it; None when it has none.
pub async fn policy_text(s3: &aws_sdk_s3::Client, bucket: &str) -> Result<Option<String>> {
    match s3.get_bucket_policy().bucket(bucket).send().await {
        Ok(output) => Ok(output.policy),
        Err(error) if errors::is_no_bucket_policy(&error) => Ok(None),
        Err(error) => Err(aws_error("GetBucketPolicy", error)),
    }
}

/// The bucket's policy as a document (the text as it is when it is not JSON); Null when it has
/// none. What the plan compares, and all another baseline's import needs of the bucket.
pub async fn policy_document(s3: &aws_sdk_s3::Client, bucket: &str) -> Result<Value> {
    Ok(policy_text(s3, bucket)
        .await?
        .map(|text| serde_json::from_str(&text).unwrap_or(Value::String(text)))
        .unwrap_or(Value::Null))
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

pub async fn apply_bucket(
    s3: &aws_sdk_s3::Client,
    region: &str,
    wanted: &BucketAttributes,
    attributes: &Value,
    before: Option<&Value>,
) -> Result<()> {
    let bucket = wanted.name.as_str();
    let lock = wanted.object_lock.as_ref();
    let empty = json!({});
    let before = before.unwrap_or(&empty);
    let exists = before.get("name").is_some();
    if !exists {
        let mut create = s3.create_bucket().bucket(bucket).object_lock_enabled_for_bucket(lock.is_some());
        if region != "us-east-1" {
            create = create.create_bucket_configuration(
                CreateBucketConfiguration::builder()
                    .location_constraint(BucketLocationConstraint::from(region))
                    .build(),
            );
        }
        match create.send().await {
            Ok(_) => {}
            Err(error) if errors::is_bucket_already_owned(&error) => {}
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
        let Some(encryption) = &wanted.encryption else {
            bail!("bucket `{bucket}`: landing-zone does not remove a bucket's default encryption");
        };
        let mut default = ServerSideEncryptionByDefault::builder()
            .sse_algorithm(ServerSideEncryption::from(encryption.algorithm.as_str()));
        if let Some(key) = &encryption.key {
            default = default.kms_master_key_id(key);
        }
        let rule = ServerSideEncryptionRule::builder()
            .apply_server_side_encryption_by_default(default.build().map_err(|error| anyhow!("{error}"))?)
            .bucket_key_enabled(encryption.bucket_key)
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
            .policy(wanted.policy.to_string())
            .send()
            .await
            .map_err(|error| aws_error("PutBucketPolicy", error))?;
    }
    if changed("lifecycle_days") || changed("noncurrent_days") || changed("expired_delete_markers") {
        match wanted.lifecycle_days.and_then(|days| i32::try_from(days).ok()) {
            Some(days) => {
                let noncurrent = wanted.noncurrent_days.and_then(|days| i32::try_from(days).ok());
                let configuration = BucketLifecycleConfiguration::builder()
                    .set_rules(Some(lifecycle_rules(days, noncurrent.unwrap_or(1))?))
                    .build()
                    .map_err(|error| anyhow!("{error}"))?;
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
        if let Some(Logging { bucket: target, prefix }) = &wanted.logging {
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
async fn apply_object_lock(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    lock: Option<&ObjectLock>,
    live: &Value,
) -> Result<()> {
    let mut configuration = ObjectLockConfiguration::builder().object_lock_enabled(ObjectLockEnabled::Enabled);
    match lock {
        // A bucket's Object Lock cannot be disabled; without a rule, new objects get no default
        // retention, and versions already locked stay locked until their date.
        None if live.is_null() => return Ok(()),
        None => {}
        Some(lock) => {
            // A bucket created with Object Lock but whose rule was never written (a crash between
            // the two calls) reads as `null` too: ask S3 whether the bucket itself has it.
            if live.is_null() && !object_lock_enabled(s3, bucket).await? {
                bail!(
                    "bucket `{bucket}` exists without Object Lock, and landing-zone does not turn it on for an existing bucket (it can never be turned off, and versioning can never be suspended again)\nhint: enable it deliberately (`aws s3api put-object-lock-configuration --bucket {bucket} --object-lock-configuration ObjectLockEnabled=Enabled`) and apply again, or set `baseline.log_archive.bucket_name` to a new bucket, or remove `object_lock` from the spec"
                );
            }
            let mode = ObjectLockRetentionMode::from(lock.mode.as_deref().unwrap_or("GOVERNANCE"));
            let days = lock
                .days
                .and_then(|days| i32::try_from(days).ok())
                .ok_or_else(|| anyhow!("object lock of bucket `{bucket}` without a number of days"))?;
            configuration = configuration.rule(
                ObjectLockRule::builder()
                    .default_retention(DefaultRetention::builder().mode(mode).days(days).build())
                    .build(),
            );
        }
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
        Err(error) if errors::is_no_object_lock_configuration(&error) => Ok(false),
        Err(error) => Err(aws_error("GetObjectLockConfiguration", error)),
    }
}

/// The bunker's retention as lifecycle rules: current versions expire after `days` (on a versioned
/// bucket, S3 adds a delete marker and the version becomes noncurrent); noncurrent versions are
/// removed `noncurrent_days` later (one day: without it a log is kept `days` more, the retention
/// doubled); delete markers left without versions are removed.
///
/// `ExpiredObjectDeleteMarker` "cannot be specified with Days or Date in a Lifecycle Expiration
/// Policy", hence a second rule.
/// https://docs.aws.amazon.com/AmazonS3/latest/API/API_LifecycleExpiration.html
/// https://docs.aws.amazon.com/AmazonS3/latest/userguide/lifecycle-expire-general-considerations.html
///
/// Object Lock: lifecycle never removes a version under retention ("S3 Lifecycle ... does not
/// delete locked objects"); such a version goes once its retain-until date has passed. Validation
/// keeps `retention_days` at least `object_lock_days`, so expiry never aims at a locked version it
/// created itself.
pub fn lifecycle_rules(days: i32, noncurrent_days: i32) -> Result<Vec<LifecycleRule>> {
    let everything = || LifecycleRuleFilter::builder().prefix("").build();
    let retention = LifecycleRule::builder()
        .id(RETENTION_RULE)
        .status(ExpirationStatus::Enabled)
        .filter(everything())
        .expiration(LifecycleExpiration::builder().days(days).build())
        .noncurrent_version_expiration(NoncurrentVersionExpiration::builder().noncurrent_days(noncurrent_days).build())
        .build()
        .map_err(|error| anyhow!("{error}"))?;
    let delete_markers = LifecycleRule::builder()
        .id(DELETE_MARKER_RULE)
        .status(ExpirationStatus::Enabled)
        .filter(everything())
        .expiration(LifecycleExpiration::builder().expired_object_delete_marker(true).build())
        .build()
        .map_err(|error| anyhow!("{error}"))?;
    Ok(vec![retention, delete_markers])
}

/// (current-version days, noncurrent days, expired delete markers removed) from the live rules:
/// only this tool's enabled rules count; null where absent.
pub fn read_lifecycle(rules: &[LifecycleRule]) -> (Option<i64>, Option<i64>, Option<bool>) {
    let enabled =
        |id: &str| rules.iter().find(|rule| rule.id.as_deref() == Some(id) && rule.status == ExpirationStatus::Enabled);
    let Some(retention) = enabled(RETENTION_RULE) else { return (None, None, None) };
    let days = retention.expiration.as_ref().and_then(|expiration| expiration.days);
    let noncurrent = retention.noncurrent_version_expiration.as_ref().and_then(|noncurrent| noncurrent.noncurrent_days);
    let markers = enabled(DELETE_MARKER_RULE)
        .and_then(|rule| rule.expiration.as_ref())
        .and_then(|expiration| expiration.expired_object_delete_marker)
        .unwrap_or(false);
    (days.map(i64::from), noncurrent.map(i64::from), Some(markers))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retention_is_not_doubled_and_delete_markers_go() {
        // Issue 11, fix 12.
        let rules = lifecycle_rules(400, 1).expect("rules");
        assert_eq!(rules.len(), 2);
        let retention = &rules[0];
        assert_eq!(retention.expiration.as_ref().and_then(|expiration| expiration.days), Some(400));
        assert_eq!(
            retention.noncurrent_version_expiration.as_ref().and_then(|noncurrent| noncurrent.noncurrent_days),
            Some(1)
        );
        let markers = &rules[1];
        let expiration = markers.expiration.as_ref().expect("expiration");
        assert_eq!(expiration.expired_object_delete_marker, Some(true));
        assert_eq!(expiration.days, None, "ExpiredObjectDeleteMarker cannot be specified with Days");
        assert_eq!(read_lifecycle(&rules), (Some(400), Some(1), Some(true)));
    }

    #[test]
    fn an_old_lifecycle_reads_as_different() {
        // What this tool wrote before fix 12: noncurrent versions kept as long as current ones.
        let old = LifecycleRule::builder()
            .id(RETENTION_RULE)
            .status(ExpirationStatus::Enabled)
            .expiration(LifecycleExpiration::builder().days(400).build())
            .noncurrent_version_expiration(NoncurrentVersionExpiration::builder().noncurrent_days(400).build())
            .build()
            .expect("rule");
        assert_eq!(read_lifecycle(&[old]), (Some(400), Some(400), Some(false)));
        assert_eq!(read_lifecycle(&[]), (None, None, None));
    }
}
