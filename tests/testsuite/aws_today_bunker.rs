//! Issue 11, fixes 8, 10, 11 and 12 against the strict layer: opt-in Regions enabled (and waited
//! for) before anything runs there, and the bunker's key policy and lifecycle as AWS documents them.
//! docs/aws-fidelity.md maps each to its AWS page.

use std::path::Path;

use serde_json::Value;

use crate::support::{stderr, stdout, workspace, Moto};

/// Creates the spec's accounts first and waits out the strict layer's fresh-account window (a new
/// account answers SubscriptionRequiredException for a while, which is not what these tests test).
async fn with_accounts_created(moto: &Moto, spec: &str) -> tempfile::TempDir {
    let accounts_only = spec.split("baseline:").next().unwrap_or(spec).replace(", af-south-1]", "]");
    let dir = workspace(&accounts_only);
    run_ok(moto, &["apply", "--auto-approve"], dir.path());
    tokio::time::sleep(crate::support::strict::Strict::default().fresh_account_window).await;
    std::fs::write(dir.path().join("landing-zone.yaml"), spec).expect("write spec");
    dir
}

fn run_ok(moto: &Moto, args: &[&str], dir: &Path) -> String {
    let output = moto.run(args, dir);
    assert_eq!(output.status.code(), Some(0), "{args:?} failed:\n{}\n{}", stdout(&output), stderr(&output));
    stdout(&output)
}

async fn account_id(moto: &Moto, email: &str) -> String {
    let client = aws_sdk_organizations::Client::new(&moto.sdk_config().await);
    let accounts = client.list_accounts().send().await.expect("accounts").accounts.unwrap_or_default();
    accounts.into_iter().find(|a| a.email() == Some(email)).and_then(|a| a.id).expect("account by email")
}

fn planned(plan: &Value) -> Vec<String> {
    plan["actions"]
        .as_array()
        .expect("actions")
        .iter()
        .filter_map(|action| {
            let control = &action["control"];
            Some(format!(
                "{} {} {}",
                control["control"].as_str()?,
                control["account"].as_str()?,
                control["region"].as_str().unwrap_or("-")
            ))
        })
        .collect()
}

const OPT_IN: &str = "version: 1
organization:
  management_account: management
  regions: [us-east-1, af-south-1]
accounts:
  management: { email: root@example.com }
  app: { email: app@example.com }
baseline:
  ebs_encryption: { targets: { accounts: [management, app] } }
";

// Fix 8: an opt-in Region in `organization.regions` is enabled in every account (ENABLING, then
// ENABLED: apply waits) before the baselines there; without it every call there fails.
#[tokio::test]
async fn opt_in_regions_are_enabled_before_anything_runs_there() {
    let moto = Moto::start();
    let workspace = with_accounts_created(&moto, OPT_IN).await;
    let dir = workspace.path();

    let plan: Value = serde_json::from_str(&run_ok(&moto, &["plan", "--format", "json"], dir)).expect("plan json");
    let actions = planned(&plan);
    for wanted in [
        "region_opt_in management af-south-1",
        "region_opt_in app af-south-1",
        "ebs_encryption_by_default app af-south-1",
    ] {
        assert!(actions.iter().any(|action| action == wanted), "{wanted} not planned: {actions:#?}");
    }
    assert!(!actions.iter().any(|action| action.starts_with("region_opt_in") && action.ends_with("us-east-1")));

    run_ok(&moto, &["apply", "--auto-approve"], dir);
    let app = account_id(&moto, "app@example.com").await;
    let account = aws_sdk_account::Client::new(&moto.sdk_config().await);
    for target in [Some(app.clone()), None] {
        let status = account
            .get_region_opt_status()
            .set_account_id(target.clone())
            .region_name("af-south-1")
            .send()
            .await
            .expect("status")
            .region_opt_status
            .map(|status| status.as_str().to_string());
        assert_eq!(status.as_deref(), Some("ENABLED"), "{target:?}");
    }
    let ec2 = aws_sdk_ec2::Client::new(
        &moto.assumed_config(&app).await.to_builder().region(aws_config::Region::new("af-south-1")).build(),
    );
    let encrypted = ec2.get_ebs_encryption_by_default().send().await.expect("af-south-1 answers once enabled");
    assert_eq!(encrypted.ebs_encryption_by_default, Some(true));
    let output = moto.run(&["plan", "--detailed-exitcode"], dir);
    assert_eq!(output.status.code(), Some(0), "converged:\n{}\n{}", stdout(&output), stderr(&output));
}

/// Eight opt-in Regions for one account: AWS allows 6 region-opt requests in progress per account
/// (50 per organization), and the layer refuses the seventh, as AWS does
/// (https://docs.aws.amazon.com/accounts/latest/reference/quotas.html). Each Region stays ENABLING
/// for several polls. Apply keeps to 6 at once, waits each out with a progress line naming the
/// account and Region, and converges without a refusal.
#[tokio::test]
async fn region_opt_ins_keep_to_six_at_once_per_account() {
    use crate::support::proxy::Faults;
    use crate::support::strict::Strict;
    let moto = Moto::start();
    let strict = Strict { region_enabling_time: std::time::Duration::from_millis(1500), ..Strict::default() };
    moto.strict_proxy().set_faults(Faults { strict, ..Faults::default() });
    let regions = [
        "af-south-1",
        "ap-east-1",
        "ap-south-2",
        "ap-southeast-3",
        "ap-southeast-4",
        "eu-south-1",
        "me-south-1",
        "il-central-1",
    ];
    let spec = format!(
        "version: 1\norganization:\n  management_account: management\n  regions: [us-east-1, {}]\naccounts:\n  management: {{ email: root@example.com }}\n",
        regions.join(", ")
    );
    let dir = workspace(&spec);
    let output = moto.run(&["apply", "--auto-approve", "-v"], dir.path());
    let log = stderr(&output);
    assert_eq!(output.status.code(), Some(0), "{}\n{log}", stdout(&output));
    assert_eq!(moto.strict_proxy().region_opt_in_refusals(), 0, "no EnableRegion beyond 6 at once:\n{log}");
    let calls = moto.strict_proxy().stats().calls;
    assert_eq!(calls.get("account:POST /enableRegion"), Some(&8), "one EnableRegion per Region: {calls:?}");
    assert!(log.contains("waiting for af-south-1 to be enabled in account `management`: ENABLING"), "{log}");
    let account = aws_sdk_account::Client::new(&moto.sdk_config().await);
    for region in regions {
        let status = account.get_region_opt_status().region_name(region).send().await.expect("status");
        assert_eq!(status.region_opt_status().map(|status| status.as_str()), Some("ENABLED"), "{region}");
    }
    let output = moto.run(&["plan", "--detailed-exitcode"], dir.path());
    assert_eq!(output.status.code(), Some(0), "converged:\n{}\n{}", stdout(&output), stderr(&output));
}

/// The layer's rule, asked directly: a seventh Region while six are ENABLING is refused with
/// TooManyRequestsException; once they are ENABLED it is accepted.
#[tokio::test]
async fn strict_region_opt_ins_are_limited_to_six_at_once_per_account() {
    let moto = Moto::start();
    let config = moto.sdk_config().await;
    let config = aws_sdk_account::config::Builder::from(&config)
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .build();
    let account = aws_sdk_account::Client::from_conf(config);
    for region in ["af-south-1", "ap-east-1", "ap-south-2", "ap-southeast-3", "ap-southeast-4", "eu-south-1"] {
        account.enable_region().region_name(region).send().await.expect("within the six");
    }
    let refused = account.enable_region().region_name("me-south-1").send().await.expect_err("a seventh at once");
    assert_eq!(
        aws_smithy_types::error::metadata::ProvideErrorMetadata::code(&refused),
        Some("TooManyRequestsException")
    );
    assert_eq!(moto.strict_proxy().region_opt_in_refusals(), 1);
    tokio::time::sleep(crate::support::strict::Strict::default().region_enabling_time).await;
    account.enable_region().region_name("me-south-1").send().await.expect("the six are ENABLED now");
}

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
