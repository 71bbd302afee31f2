//! `baseline.log_archive`: the "data bunker" in the log-archive account, home region — a KMS key
//! (rotation on) CloudTrail and Config may encrypt with, the log bucket (SSE-KMS by default,
//! versioned, public access blocked, TLS only, writable only by the organization trail and Config,
//! access-logged, lifecycle, optional Object Lock) and its access-log bucket.

mod audit;
mod bucket;
mod documents;
mod import;
mod validate;

pub use import::locate_bunker;

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::attributes::{decode, encode};
use super::{Actions, Baseline, BoxFuture, Context, Permissions};
use crate::aws::session::partition_of;
use crate::plan::control::{ControlKey, DesiredControl, Inputs};
use crate::spec::validate::Checker;
use crate::spec::ObjectLockMode;

pub use crate::baseline::kms_key::KeyAttributes;
use crate::baseline::kms_key::{apply_key, read_key, OwnedKey};
use bucket::{apply_bucket, read_bucket};
pub use bucket::{policy_document, versioning_status};
pub use documents::{bucket_name, key_alias_arn, trail_arn};
use documents::{bucket_policy, deny_insecure_transport, key_policy};

pub const CONTROL: &str = "log_archive";
pub const KEY_CONTROL: &str = "log_archive/kms_key";
pub const BUCKET_CONTROL: &str = "log_archive/bucket";
pub const ACCESS_LOG_CONTROL: &str = "log_archive/access_log_bucket";
/// The alias of the bunker key; its ARN is known before the key exists.
pub const KEY_ALIAS: &str = "alias/landing-zone-logs";
/// The bunker key, found by its alias; created with this description and the ownership tag.
const KEY: OwnedKey =
    OwnedKey { alias: KEY_ALIAS, description: "landing-zone log archive: CloudTrail and Config logs" };
pub(crate) const RETENTION_RULE: &str = "landing-zone-retention";
pub(crate) const DELETE_MARKER_RULE: &str = "landing-zone-expired-delete-markers";

/// A bunker bucket's attributes (`log_archive/bucket`, `log_archive/access_log_bucket`); null
/// fields are settings the bucket does not have.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BucketAttributes {
    pub name: String,
    pub object_lock: Option<ObjectLock>,
    /// `Enabled` or `Suspended`; null when never set.
    pub versioning: Option<String>,
    pub encryption: Option<Encryption>,
    pub public_access_blocked: bool,
    pub policy: Value,
    /// Days before current versions expire.
    pub lifecycle_days: Option<i64>,
    /// Days noncurrent versions are kept.
    pub noncurrent_days: Option<i64>,
    /// Whether delete markers left without versions are removed.
    pub expired_delete_markers: Option<bool>,
    pub logging: Option<Logging>,
}

/// The bucket's default Object Lock retention.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObjectLock {
    /// `GOVERNANCE` or `COMPLIANCE`.
    pub mode: Option<String>,
    pub days: Option<i64>,
}

/// The bucket's default encryption.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Encryption {
    /// `aws:kms` or `AES256`.
    pub algorithm: String,
    pub key: Option<String>,
    pub bucket_key: bool,
}

/// Where the bucket's server access logs go.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Logging {
    pub bucket: String,
    pub prefix: String,
}

pub fn desired(inputs: &Inputs<'_>) -> Vec<DesiredControl> {
    let spec = inputs.spec;
    let Some(log_archive) = &spec.baseline.log_archive else { return Vec::new() };
    let region = inputs.home_region();
    let partition = partition_of(region);
    let account = log_archive.account.as_str();
    let bucket = bucket_name(log_archive);
    // The accounts whose VPC flow logs the bunker receives (`baseline.flow_logs`).
    let flow_log_accounts = crate::baseline::flow_logs::source_accounts(inputs);
    let access_logs = format!("{bucket}-access-logs");
    let key = ControlKey::new(KEY_CONTROL, account, Some(region));
    let access_log_key = ControlKey::new(ACCESS_LOG_CONTROL, account, Some(region));
    let access_log_arn = format!("arn:{partition}:s3:::{access_logs}");
    let retention = |days: Option<u32>| (days.map(i64::from), days.map(|_| 1), days.map(|_| true));
    let (lifecycle_days, noncurrent_days, expired_delete_markers) = retention(log_archive.retention_days);
    let access_log_bucket = encode(&BucketAttributes {
        name: access_logs.clone(),
        object_lock: None,
        versioning: Some("Enabled".to_string()),
        // S3 server access logs cannot be delivered to SSE-KMS buckets.
        encryption: Some(Encryption { algorithm: "AES256".to_string(), key: None, bucket_key: false }),
        public_access_blocked: true,
        policy: json!({ "Version": "2012-10-17", "Statement": [
            deny_insecure_transport(&access_log_arn),
            {
                "Sid": "ServerAccessLogsWrite",
                "Effect": "Allow",
                "Principal": { "Service": "logging.s3.amazonaws.com" },
                "Action": "s3:PutObject",
                "Resource": format!("{access_log_arn}/*"),
                "Condition": { "StringEquals": { "aws:SourceAccount": format!("{{{{account:{account}}}}}") } },
            },
        ] }),
        lifecycle_days,
        noncurrent_days,
        expired_delete_markers,
        logging: None,
    });
    let log_bucket = encode(&BucketAttributes {
        name: bucket.clone(),
        object_lock: log_archive.object_lock.map(|mode| ObjectLock {
            mode: Some(
                match mode {
                    ObjectLockMode::Governance => "GOVERNANCE",
                    ObjectLockMode::Compliance => "COMPLIANCE",
                }
                .to_string(),
            ),
            days: Some(i64::from(log_archive.object_lock_days)),
        }),
        versioning: Some("Enabled".to_string()),
        // S3 Bucket Keys cut the KMS requests (and their cost) for every delivered log object.
        encryption: Some(Encryption {
            algorithm: "aws:kms".to_string(),
            key: Some(key_alias_arn(spec, log_archive)),
            bucket_key: true,
        }),
        public_access_blocked: true,
        policy: bucket_policy(spec, &bucket, partition, &flow_log_accounts),
        lifecycle_days,
        noncurrent_days,
        expired_delete_markers,
        logging: Some(Logging { bucket: access_logs, prefix: "log-bucket/".to_string() }),
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
            encode(&KeyAttributes {
                alias: KEY_ALIAS.to_string(),
                rotation: true,
                policy: key_policy(spec, log_archive, partition, &flow_log_accounts),
            }),
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
        KEY_CONTROL => read_key(context, KEY, account_id, key.region.as_deref()).await,
        BUCKET_CONTROL | ACCESS_LOG_CONTROL => {
            let wanted: BucketAttributes = decode(key, desired)?;
            read_bucket(
                &context.sessions.client::<aws_sdk_s3::Client>(account_id, key.region.as_deref()).await,
                &wanted.name,
            )
            .await
        }
        other => bail!("unknown control `{other}`"),
    }
}

pub async fn apply(context: &Context<'_>, key: &ControlKey, attributes: &Value, before: Option<&Value>) -> Result<()> {
    let account_id = context.account_id(&key.account)?;
    let region = key.region.as_deref();
    match key.control.as_str() {
        KEY_CONTROL => apply_key(context, KEY, account_id, region, &decode(key, attributes)?).await,
        BUCKET_CONTROL | ACCESS_LOG_CONTROL => {
            // Decoded first: a mistyped attribute is an error before any write.
            let wanted: BucketAttributes = decode(key, attributes)?;
            let s3 = context.sessions.client::<aws_sdk_s3::Client>(account_id, region).await;
            apply_bucket(&s3, region.unwrap_or("us-east-1"), &wanted, attributes, before).await
        }
        other => bail!("unknown control `{other}`"),
    }
}

/// The `baseline.log_archive` section in the registry.
pub struct LogArchive;

impl Baseline for LogArchive {
    fn validate(&self, checker: &mut Checker<'_>) {
        validate::check(checker);
    }

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

    fn audit_organization<'a>(
        &'a self,
        context: &'a Context<'_>,
        organization: &'a crate::baseline::audit::AuditedOrganization<'a>,
    ) -> BoxFuture<'a, Vec<crate::baseline::audit::Finding>> {
        Box::pin(audit::audit_organization(context, organization))
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

    fn import<'a>(
        &'a self,
        context: &'a Context<'_>,
        scope: &'a super::import::ImportScope,
    ) -> BoxFuture<'a, Result<Option<super::import::ImportedSection>>> {
        Box::pin(import::import(context, scope))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::plan::control::{has_placeholders, resolve, KnownIds};
    use crate::spec::Spec;

    pub(super) const SPEC: &str = r#"
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

    pub(super) fn spec(edits: &[(&str, &str)]) -> Spec {
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

    pub(super) fn controls(spec: &Spec) -> BTreeMap<String, DesiredControl> {
        let role_documents = BTreeMap::new();
        let inputs =
            Inputs { spec, accounts: &[], role_documents: &role_documents, permission_set_documents: &BTreeMap::new() };
        desired(&inputs).into_iter().map(|control| (control.key.control.clone(), control)).collect()
    }

    pub(super) fn statement(policy: &Value, sid: &str) -> Value {
        policy["Statement"].as_array().into_iter().flatten().find(|s| s["Sid"] == sid).cloned().unwrap_or(Value::Null)
    }

    pub(super) fn sids(policy: &Value) -> Vec<String> {
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
        let inputs = Inputs {
            spec: &spec,
            accounts: &[],
            role_documents: &role_documents,
            permission_set_documents: &BTreeMap::new(),
        };
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
        assert_eq!(bucket["noncurrent_days"], 1, "noncurrent versions go a day after expiry, not 400 days");
        assert_eq!(bucket["expired_delete_markers"], true);
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
    fn attributes_are_typed_and_a_misspelt_one_is_an_error_before_any_write() {
        let controls = controls(&spec(&[]));
        let key = &controls[BUCKET_CONTROL].key;
        let bucket: BucketAttributes = decode(key, &controls[BUCKET_CONTROL].attributes).expect("decodes");
        assert_eq!(encode(&bucket), *controls[BUCKET_CONTROL].attributes, "round trip");
        assert_eq!(bucket.object_lock, Some(ObjectLock { mode: Some("COMPLIANCE".to_string()), days: Some(30) }));
        let key_attributes: KeyAttributes =
            decode(&controls[KEY_CONTROL].key, &controls[KEY_CONTROL].attributes).expect("decodes");
        assert!(key_attributes.rotation);
        let mut misspelt = (*controls[BUCKET_CONTROL].attributes).clone();
        if let Some(map) = misspelt.as_object_mut() {
            let days = map.remove("lifecycle_days").unwrap_or_default();
            map.insert("lifecycle_day".to_string(), days);
        }
        assert!(decode::<BucketAttributes>(key, &misspelt).is_err());
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
