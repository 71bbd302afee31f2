//! The data bunker and the organization trail against moto: every hardening setting read back
//! independently (assumed role into the log-archive account), then broken by hand and repaired.

use std::collections::BTreeSet;

use crate::support::{spec_workspace, stderr, stdout, Moto};
use serde_json::Value;

fn plan_controls(moto: &Moto, dir: &std::path::Path) -> BTreeSet<String> {
    let output = moto.run(&["plan", "--format", "json"], dir);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let plan: Value = serde_json::from_str(&stdout(&output)).expect("json");
    plan["actions"]
        .as_array()
        .expect("actions")
        .iter()
        .map(|action| {
            format!(
                "{} {}",
                action["control"]["control"].as_str().unwrap_or("?"),
                action["control"]["account"].as_str().unwrap_or("?")
            )
        })
        .collect()
}

#[tokio::test]
async fn the_bunker_and_the_trail_are_hardened_and_repaired() {
    let moto = Moto::start_with_managed_policies();
    let workspace = spec_workspace(&[]);
    let dir = workspace.path();
    let output = moto.run(&["apply", "--auto-approve"], dir);
    assert_eq!(output.status.code(), Some(0), "{}\n{}", stdout(&output), stderr(&output));

    let organizations = aws_sdk_organizations::Client::new(&moto.sdk_config().await);
    let accounts = organizations.list_accounts().send().await.expect("accounts").accounts.unwrap_or_default();
    let bunker = accounts
        .iter()
        .find(|a| a.email.as_deref() == Some("aws+log-archive@example.com"))
        .and_then(|a| a.id.clone())
        .expect("bunker");
    let organization_id =
        organizations.describe_organization().send().await.expect("org").organization.expect("o").id.expect("id");
    let bucket = format!("landing-zone-logs-{bunker}");
    let bunker_config = moto.assumed_config(&bunker).await;
    let s3 =
        aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&bunker_config).force_path_style(true).build());

    let encryption = s3.get_bucket_encryption().bucket(&bucket).send().await.expect("encryption");
    let rule = encryption.server_side_encryption_configuration.expect("configuration").rules[0].clone();
    let default = rule.apply_server_side_encryption_by_default.expect("default");
    assert_eq!(default.sse_algorithm.as_str(), "aws:kms");
    assert_eq!(
        default.kms_master_key_id.as_deref(),
        Some(format!("arn:aws:kms:us-east-1:{bunker}:alias/landing-zone-logs").as_str())
    );
    let block = s3
        .get_public_access_block()
        .bucket(&bucket)
        .send()
        .await
        .expect("bpa")
        .public_access_block_configuration
        .expect("c");
    assert_eq!(
        (block.block_public_acls, block.block_public_policy, block.restrict_public_buckets),
        (Some(true), Some(true), Some(true))
    );
    let policy: Value =
        serde_json::from_str(&s3.get_bucket_policy().bucket(&bucket).send().await.expect("policy").policy.expect("p"))
            .expect("json");
    let statements = policy["Statement"].as_array().expect("statements");
    let by_sid = |sid: &str| statements.iter().find(|s| s["Sid"] == sid).cloned().unwrap_or(Value::Null);
    assert_eq!(by_sid("DenyInsecureTransport")["Condition"]["Bool"]["aws:SecureTransport"], "false");
    let write = by_sid("CloudTrailWrite");
    assert_eq!(write["Condition"]["StringEquals"]["s3:x-amz-acl"], "bucket-owner-full-control");
    assert_eq!(
        write["Condition"]["StringEquals"]["aws:SourceArn"],
        "arn:aws:cloudtrail:us-east-1:123456789012:trail/organization-trail"
    );
    assert!(write["Resource"].to_string().contains(&format!("AWSLogs/{organization_id}/*")), "{write}");
    let lifecycle = s3.get_bucket_lifecycle_configuration().bucket(&bucket).send().await.expect("lifecycle");
    assert_eq!(lifecycle.rules.expect("rules")[0].expiration.as_ref().and_then(|e| e.days), Some(400));
    let logging =
        s3.get_bucket_logging().bucket(&bucket).send().await.expect("logging").logging_enabled.expect("enabled");
    assert_eq!(logging.target_bucket, format!("{bucket}-access-logs"));
    let lock = s3
        .get_object_lock_configuration()
        .bucket(&bucket)
        .send()
        .await
        .expect("lock")
        .object_lock_configuration
        .expect("c");
    let retention = lock.rule.expect("rule").default_retention.expect("retention");
    assert_eq!(
        (retention.mode.map(|m| m.as_str().to_string()), retention.days),
        (Some("GOVERNANCE".to_string()), Some(365))
    );

    let kms = aws_sdk_kms::Client::new(&bunker_config);
    let aliases = kms.list_aliases().send().await.expect("aliases").aliases.unwrap_or_default();
    let key = aliases
        .iter()
        .find(|a| a.alias_name.as_deref() == Some("alias/landing-zone-logs"))
        .and_then(|a| a.target_key_id.clone())
        .expect("key");
    assert!(kms.get_key_rotation_status().key_id(&key).send().await.expect("rotation").key_rotation_enabled);
    let key_policy =
        kms.get_key_policy().key_id(&key).policy_name("default").send().await.expect("policy").policy.expect("p");
    assert!(
        key_policy.contains("cloudtrail.amazonaws.com") && key_policy.contains("kms:GenerateDataKey*"),
        "{key_policy}"
    );

    let cloudtrail = aws_sdk_cloudtrail::Client::new(&moto.sdk_config().await);
    let trail = cloudtrail
        .describe_trails()
        .trail_name_list("organization-trail")
        .send()
        .await
        .expect("trails")
        .trail_list
        .expect("l")[0]
        .clone();
    assert_eq!(
        (trail.is_organization_trail, trail.is_multi_region_trail, trail.log_file_validation_enabled),
        (Some(true), Some(true), Some(true))
    );
    assert_eq!(trail.s3_bucket_name.as_deref(), Some(bucket.as_str()));
    assert!(trail.kms_key_id.as_deref().is_some_and(|k| k.ends_with("alias/landing-zone-logs")));
    assert_eq!(
        cloudtrail.get_trail_status().name("organization-trail").send().await.expect("status").is_logging,
        Some(true)
    );
    assert_eq!(moto.run(&["plan", "--detailed-exitcode"], dir).status.code(), Some(0), "converged");

    // Break the bunker and the trail by hand.
    s3.delete_bucket_policy().bucket(&bucket).send().await.expect("delete policy");
    s3.delete_bucket_lifecycle().bucket(&bucket).send().await.expect("delete lifecycle");
    cloudtrail.stop_logging().name("organization-trail").send().await.expect("stop");
    let expected: BTreeSet<String> =
        ["log_archive/bucket log-archive", "cloudtrail/trail management"].into_iter().map(str::to_string).collect();
    assert_eq!(plan_controls(&moto, dir), expected);
    let text = stdout(&moto.run(&["plan"], dir));
    assert!(text.contains("logging: false → true") && text.contains("lifecycle_days: null → 400"), "{text}");

    let repaired = moto.run(&["apply", "--auto-approve"], dir);
    assert_eq!(repaired.status.code(), Some(0), "{}\n{}", stdout(&repaired), stderr(&repaired));
    assert_eq!(moto.run(&["plan", "--detailed-exitcode"], dir).status.code(), Some(0));
    assert_eq!(
        cloudtrail.get_trail_status().name("organization-trail").send().await.expect("status").is_logging,
        Some(true)
    );
    assert!(s3.get_bucket_policy().bucket(&bucket).send().await.is_ok());
}
