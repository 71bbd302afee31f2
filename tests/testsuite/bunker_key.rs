//! The bunker's KMS key and lifecycle against the strict layer: the key policy names the
//! organization trail (CloudTrail refuses a key that does not let it encrypt for this trail), and
//! the lifecycle does not double the retention. docs/aws-fidelity.md maps each rule to its AWS page.

use serde_json::Value;

use crate::support::accounts::{account_id, run_ok, with_accounts_created};
use crate::support::{stderr, stdout, Moto};

const BUNKER: &str = "version: 1
organization:
  management_account: management
  regions: [us-east-1]
accounts:
  management: { email: root@example.com }
  log-archive: { email: logs@example.com }
baseline:
  log_archive: { account: log-archive, retention_days: 30 }
  cloudtrail: { name: org-trail }
";

// Fixes 10 and 12: the key policy names the trail; the lifecycle expires noncurrent versions a day
// after the current ones and removes expired delete markers; the result reads back converged.
#[tokio::test]
async fn the_bunker_key_names_the_trail_and_retention_is_not_doubled() {
    let moto = Moto::start();
    let workspace = with_accounts_created(&moto, BUNKER).await;
    let dir = workspace.path();
    run_ok(&moto, &["apply", "--auto-approve"], dir);
    let bunker = account_id(&moto, "logs@example.com").await;
    let config = moto.assumed_config(&bunker).await;

    let s3 = aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&config).force_path_style(true).build());
    let bucket = format!("landing-zone-logs-{bunker}");
    let rules = s3.get_bucket_lifecycle_configuration().bucket(&bucket).send().await.expect("lifecycle").rules;
    let rules = rules.unwrap_or_default();
    let retention = rules.iter().find(|rule| rule.id() == Some("landing-zone-retention")).expect("retention rule");
    assert_eq!(retention.expiration().and_then(|expiration| expiration.days()), Some(30));
    assert_eq!(retention.noncurrent_version_expiration().and_then(|noncurrent| noncurrent.noncurrent_days()), Some(1));
    assert!(
        rules.iter().any(
            |rule| rule.expiration().and_then(|expiration| expiration.expired_object_delete_marker()) == Some(true)
        ),
        "expired delete markers are removed: {rules:#?}"
    );

    let kms = aws_sdk_kms::Client::new(&config);
    let aliases = kms.list_aliases().send().await.expect("aliases").aliases.unwrap_or_default();
    let key_id = aliases
        .iter()
        .find(|alias| alias.alias_name() == Some("alias/landing-zone-logs"))
        .and_then(|alias| alias.target_key_id())
        .expect("the bunker key");
    let policy = kms
        .get_key_policy()
        .key_id(key_id)
        .policy_name("default")
        .send()
        .await
        .expect("key policy")
        .policy
        .expect("policy");
    let policy: Value = serde_json::from_str(&policy).expect("json");
    let trail_arn = "arn:aws:cloudtrail:us-east-1:123456789012:trail/org-trail";
    let cloudtrail_statements: Vec<&Value> = policy["Statement"]
        .as_array()
        .expect("statements")
        .iter()
        .filter(|statement| statement["Principal"]["Service"] == "cloudtrail.amazonaws.com")
        .collect();
    assert_eq!(cloudtrail_statements.len(), 3, "{policy:#}");
    for statement in cloudtrail_statements {
        assert_eq!(statement["Condition"]["StringEquals"]["aws:SourceArn"], trail_arn, "{statement:#}");
    }
    let output = moto.run(&["plan", "--detailed-exitcode"], dir);
    assert_eq!(output.status.code(), Some(0), "converged:\n{}\n{}", stdout(&output), stderr(&output));
}

// Strict layer: CloudTrail refuses a key whose policy does not let it encrypt for this trail
// (InsufficientEncryptionPolicyException), so the `aws:SourceArn` of fix 10 must name the trail
// exactly: the bunker test above passes through this rule.
#[tokio::test]
async fn strict_cloudtrail_needs_a_key_policy_for_this_trail() {
    let moto = Moto::start();
    let config = moto.sdk_config().await;
    let kms = aws_sdk_kms::Client::new(&config);
    let policy = |trail: &str| {
        serde_json::json!({ "Version": "2012-10-17", "Statement": [
            { "Effect": "Allow", "Principal": { "AWS": "arn:aws:iam::123456789012:root" }, "Action": "kms:*", "Resource": "*" },
            { "Effect": "Allow", "Principal": { "Service": "cloudtrail.amazonaws.com" }, "Action": "kms:GenerateDataKey*",
              "Resource": "*", "Condition": { "StringEquals": { "aws:SourceArn": format!("arn:aws:cloudtrail:us-east-1:123456789012:trail/{trail}") } } },
        ] })
        .to_string()
    };
    let key = kms.create_key().policy(policy("another-trail")).send().await.expect("key");
    let key_arn = key.key_metadata.and_then(|metadata| metadata.arn).expect("arn");
    let cloudtrail = aws_sdk_cloudtrail::Client::new(&config);
    let create = || cloudtrail.create_trail().name("mine").s3_bucket_name("some-bucket").kms_key_id(&key_arn).send();
    let refused = create().await.expect_err("the key policy names another trail");
    assert_eq!(
        aws_smithy_types::error::metadata::ProvideErrorMetadata::code(&refused),
        Some("InsufficientEncryptionPolicyException")
    );
    kms.put_key_policy().key_id(&key_arn).policy_name("default").policy(policy("mine")).send().await.expect("policy");
    if let Err(error) = create().await {
        assert_ne!(
            aws_smithy_types::error::metadata::ProvideErrorMetadata::code(&error),
            Some("InsufficientEncryptionPolicyException"),
            "the key policy names this trail"
        );
    }
}
