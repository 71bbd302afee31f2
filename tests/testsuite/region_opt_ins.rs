//! Opt-in Regions against the strict layer: an opt-in Region of `organization.regions` is enabled
//! (and waited for) in every account before anything runs there, at most six at once per account,
//! as AWS documents. docs/aws-fidelity.md maps each rule to its AWS page.

use serde_json::Value;

use crate::support::accounts::{account_id, run_ok, with_accounts_created};
use crate::support::{stderr, stdout, workspace, Moto};

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
