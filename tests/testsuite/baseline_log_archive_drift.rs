//! The data bunker against moto, beyond `baseline_log_archive.rs`: the access-log bucket and the
//! settings that test leaves unread (versioning, Bucket Keys, the trail's exact key), drift in every
//! control of the bunker and the trail planned exactly and repaired, and Object Lock asked of a
//! bucket that exists without it refused with a message rather than skipped.

use std::collections::BTreeSet;

use crate::support::{repo_root, spec_workspace, stderr, stdout, Moto};
use serde_json::Value;

/// moto's default account, where the executor (and the organization trail) lives.
const MANAGEMENT: &str = "123456789012";

/// `kind control account` of every planned action.
fn planned(moto: &Moto, dir: &std::path::Path) -> (BTreeSet<String>, Vec<Value>) {
    let output = moto.run(&["plan", "--format", "json"], dir);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let plan: Value = serde_json::from_str(&stdout(&output)).expect("plan json");
    let actions = plan["actions"].as_array().cloned().unwrap_or_default();
    let keys = actions
        .iter()
        .map(|action| {
            format!(
                "{} {} {}",
                action["kind"].as_str().unwrap_or("?"),
                action["control"]["control"].as_str().unwrap_or("?"),
                action["control"]["account"].as_str().unwrap_or("?")
            )
        })
        .collect();
    (keys, actions)
}

fn action_for<'a>(actions: &'a [Value], control: &str) -> &'a Value {
    actions.iter().find(|action| action["control"]["control"] == control).expect("action for control")
}

async fn bunker_id(moto: &Moto) -> String {
    let organizations = aws_sdk_organizations::Client::new(&moto.sdk_config().await);
    let accounts = organizations.list_accounts().send().await.expect("accounts").accounts.unwrap_or_default();
    accounts
        .iter()
        .find(|account| account.email.as_deref() == Some("aws+log-archive@example.com"))
        .and_then(|account| account.id.clone())
        .expect("the log-archive account")
}

fn s3_client(config: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(config).force_path_style(true).build())
}

/// Versioning read through the crate's reader only because moto 5.2.5 answers GetBucketVersioning
/// with a root element the SDK rejects; the reader falls back to the raw body then.
async fn versioning(s3: &aws_sdk_s3::Client, bucket: &str) -> Option<String> {
    landing_zone::baseline::log_archive::versioning_status(s3, bucket).await.expect("versioning")
}

fn policy_of(text: Option<String>) -> Value {
    serde_json::from_str(&text.expect("policy text")).expect("policy json")
}

fn statement(policy: &Value, sid: &str) -> Value {
    policy["Statement"].as_array().into_iter().flatten().find(|s| s["Sid"] == sid).cloned().unwrap_or(Value::Null)
}

#[tokio::test]
async fn drift_in_every_bunker_control_and_the_trail_is_planned_exactly_and_repaired() {
    let moto = Moto::start_with_env(&[("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")]);
    let workspace = spec_workspace(&[]);
    let dir = workspace.path();
    let output = moto.run(&["apply", "--auto-approve"], dir);
    assert_eq!(output.status.code(), Some(0), "{}\n{}", stdout(&output), stderr(&output));

    let bunker = bunker_id(&moto).await;
    let bucket = format!("landing-zone-logs-{bunker}");
    let access_logs = format!("{bucket}-access-logs");
    let key_alias = format!("arn:aws:kms:us-east-1:{bunker}:alias/landing-zone-logs");
    let bunker_config = moto.assumed_config(&bunker).await;
    let s3 = s3_client(&bunker_config);

    // The log bucket: versioned, SSE-KMS with a Bucket Key.
    assert_eq!(versioning(&s3, &bucket).await.as_deref(), Some("Enabled"));
    let encryption = s3.get_bucket_encryption().bucket(&bucket).send().await.expect("encryption");
    let rule = encryption.server_side_encryption_configuration.expect("configuration").rules[0].clone();
    assert_eq!(rule.bucket_key_enabled, Some(true));
    let default = rule.apply_server_side_encryption_by_default.expect("default encryption");
    assert_eq!((default.sse_algorithm.as_str(), default.kms_master_key_id.as_deref()), ("aws:kms", Some(&*key_alias)));
    let logging = s3.get_bucket_logging().bucket(&bucket).send().await.expect("logging").logging_enabled.expect("on");
    assert_eq!((logging.target_bucket.as_str(), logging.target_prefix.as_str()), (access_logs.as_str(), "log-bucket/"));
    let policy = policy_of(s3.get_bucket_policy().bucket(&bucket).send().await.expect("policy").policy);
    assert_eq!(statement(&policy, "CloudTrailAclCheck")["Action"], "s3:GetBucketAcl");
    assert!(
        statement(&policy, "CloudTrailWrite")["Resource"].to_string().contains(&format!("AWSLogs/{MANAGEMENT}/*")),
        "{policy}"
    );
    assert_eq!(statement(&policy, "DenyInsecureTransport")["Effect"], "Deny");

    // The access-log bucket: SSE-S3 (server access logs cannot go to SSE-KMS), versioned, public
    // access blocked, TLS only, writable by S3 logging on behalf of the bunker account alone.
    assert_eq!(versioning(&s3, &access_logs).await.as_deref(), Some("Enabled"));
    let encryption = s3.get_bucket_encryption().bucket(&access_logs).send().await.expect("encryption");
    let rule = encryption.server_side_encryption_configuration.expect("configuration").rules[0].clone();
    assert_eq!(rule.apply_server_side_encryption_by_default.expect("default").sse_algorithm.as_str(), "AES256");
    let block = s3
        .get_public_access_block()
        .bucket(&access_logs)
        .send()
        .await
        .expect("public access block")
        .public_access_block_configuration
        .expect("configuration");
    assert_eq!(
        (block.block_public_acls, block.ignore_public_acls, block.block_public_policy, block.restrict_public_buckets),
        (Some(true), Some(true), Some(true), Some(true))
    );
    let policy = policy_of(s3.get_bucket_policy().bucket(&access_logs).send().await.expect("policy").policy);
    assert_eq!(statement(&policy, "DenyInsecureTransport")["Condition"]["Bool"]["aws:SecureTransport"], "false");
    let write = statement(&policy, "ServerAccessLogsWrite");
    assert_eq!(write["Principal"]["Service"], "logging.s3.amazonaws.com");
    assert_eq!(write["Condition"]["StringEquals"]["aws:SourceAccount"], bunker.as_str());
    assert!(s3.get_object_lock_configuration().bucket(&access_logs).send().await.is_err(), "no Object Lock");

    // The trail names the bunker bucket and the key by its alias ARN, exactly.
    let cloudtrail = aws_sdk_cloudtrail::Client::new(&moto.sdk_config().await);
    let trails = cloudtrail.describe_trails().trail_name_list("organization-trail").send().await.expect("trails");
    let trail = trails.trail_list.expect("trail list")[0].clone();
    assert_eq!(trail.kms_key_id.as_deref(), Some(key_alias.as_str()));
    assert_eq!(trail.s3_bucket_name.as_deref(), Some(bucket.as_str()));
    assert_eq!(trail.include_global_service_events, Some(true));
    assert_eq!(moto.run(&["plan", "--detailed-exitcode"], dir).status.code(), Some(0), "converged");

    // Break one thing in each of the four controls.
    let kms = aws_sdk_kms::Client::new(&bunker_config);
    let aliases = kms.list_aliases().send().await.expect("aliases").aliases.unwrap_or_default();
    let key = aliases
        .iter()
        .find(|alias| alias.alias_name.as_deref() == Some("alias/landing-zone-logs"))
        .and_then(|alias| alias.target_key_id.clone())
        .expect("the bunker key");
    kms.disable_key_rotation().key_id(&key).send().await.expect("disable rotation");
    // The access-log bucket has no Object Lock, so S3 lets its versioning be suspended.
    s3.put_bucket_versioning()
        .bucket(&access_logs)
        .versioning_configuration(
            aws_sdk_s3::types::VersioningConfiguration::builder()
                .status(aws_sdk_s3::types::BucketVersioningStatus::Suspended)
                .build(),
        )
        .send()
        .await
        .expect("suspend versioning");
    s3.delete_bucket_policy().bucket(&bucket).send().await.expect("delete policy");
    cloudtrail.stop_logging().name("organization-trail").send().await.expect("stop logging");

    let (keys, actions) = planned(&moto, dir);
    let expected: BTreeSet<String> = [
        "configure_control log_archive/kms_key log-archive",
        "configure_control log_archive/access_log_bucket log-archive",
        "configure_control log_archive/bucket log-archive",
        "configure_control cloudtrail/trail management",
    ]
    .into_iter()
    .map(str::to_string)
    .collect();
    assert_eq!(keys, expected);
    let changes = |control: &str, attribute: &str| {
        let action = action_for(&actions, control);
        (action["before"][attribute].clone(), action["after"][attribute].clone())
    };
    assert_eq!(changes("log_archive/kms_key", "rotation"), (Value::Bool(false), Value::Bool(true)));
    assert_eq!(changes("log_archive/access_log_bucket", "versioning"), ("Suspended".into(), "Enabled".into()));
    let (before, after) = changes("log_archive/bucket", "policy");
    assert_eq!(before, Value::Null);
    assert_eq!(statement(&after, "CloudTrailAclCheck")["Principal"]["Service"], "cloudtrail.amazonaws.com");
    assert_eq!(changes("cloudtrail/trail", "logging"), (Value::Bool(false), Value::Bool(true)));

    let repaired = moto.run(&["apply", "--auto-approve"], dir);
    assert_eq!(repaired.status.code(), Some(0), "{}\n{}", stdout(&repaired), stderr(&repaired));
    assert_eq!(moto.run(&["plan", "--detailed-exitcode"], dir).status.code(), Some(0), "repaired");
    assert!(kms.get_key_rotation_status().key_id(&key).send().await.expect("rotation").key_rotation_enabled);
    assert_eq!(versioning(&s3, &access_logs).await.as_deref(), Some("Enabled"));
    let policy = policy_of(s3.get_bucket_policy().bucket(&bucket).send().await.expect("policy").policy);
    assert_eq!(statement(&policy, "DenyInsecureTransport")["Condition"]["Bool"]["aws:SecureTransport"], "false");
    let status = cloudtrail.get_trail_status().name("organization-trail").send().await.expect("status");
    assert_eq!(status.is_logging, Some(true));
}

#[tokio::test]
async fn object_lock_for_a_bucket_that_exists_without_it_fails_with_a_message() {
    let moto = Moto::start_with_env(&[("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")]);
    let workspace = spec_workspace(&[("    object_lock: governance\n", "")]);
    let dir = workspace.path();
    let output = moto.run(&["apply", "--auto-approve"], dir);
    assert_eq!(output.status.code(), Some(0), "{}\n{}", stdout(&output), stderr(&output));
    let bunker = bunker_id(&moto).await;
    let bucket = format!("landing-zone-logs-{bunker}");
    let s3 = s3_client(&moto.assumed_config(&bunker).await);
    assert!(s3.get_object_lock_configuration().bucket(&bucket).send().await.is_err(), "created without a lock");

    // The spec now asks for Object Lock: the repository's spec, unedited.
    let spec = std::fs::read_to_string(repo_root().join("landing-zone.yaml")).expect("spec");
    std::fs::write(dir.join("landing-zone.yaml"), spec).expect("write spec");
    let (keys, _) = planned(&moto, dir);
    assert_eq!(keys, BTreeSet::from(["configure_control log_archive/bucket log-archive".to_string()]));

    let refused = moto.run(&["apply", "--auto-approve"], dir);
    let text = format!("{}\n{}", stdout(&refused), stderr(&refused));
    assert_eq!(refused.status.code(), Some(1), "{text}");
    assert!(text.contains(&format!("bucket `{bucket}` exists without Object Lock")), "{text}");
    assert!(text.contains("bucket_name"), "the message says how to proceed: {text}");
    // Never reported converged, and nothing turned the lock on behind the user's back.
    assert_eq!(moto.run(&["plan", "--detailed-exitcode"], dir).status.code(), Some(2));
    assert!(s3.get_object_lock_configuration().bucket(&bucket).send().await.is_err(), "still without a lock");
}
