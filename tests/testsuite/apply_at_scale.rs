//! Apply at scale (issue 13), through the strict proxy in front of moto:
//!
//! - a failure confined to one account (its control write refused there) does not stop the other
//!   accounts: they converge, the report and the exit status name the failed account, and the next
//!   apply finishes it with no write repeated elsewhere;
//! - AWS Config's global service-linked role is created once per account (not once per region),
//!   and each recorder is started once (not first refused for want of a channel).

use std::collections::BTreeMap;
use std::path::Path;

use crate::support::proxy::{Faults, Refusal};
use crate::support::{stderr, stdout, Moto};

const REGIONS: &str = "[us-east-1, eu-west-1]";

/// The management account, `log-archive`, and `apps` workload accounts in `Workloads`, with
/// `baseline` appended (YAML under `baseline:`, indented by two).
fn spec(apps: usize, baseline: &str) -> String {
    let mut text = format!(
        "version: 1\norganization:\n  management_account: management\n  regions: {REGIONS}\n\
         units:\n  Workloads: {{}}\naccounts:\n  management: {{ email: aws-root@example.com }}\n\
         \x20 log-archive: {{ email: aws+log-archive@example.com }}\n"
    );
    for app in 1..=apps {
        text.push_str(&format!("  app-{app}: {{ email: aws+app-{app}@example.com, unit: Workloads }}\n"));
    }
    if !baseline.is_empty() {
        text.push_str("baseline:\n");
        text.push_str(baseline);
    }
    text
}

/// Runs the tool; returns its output and the calls it made, by operation.
fn run(moto: &Moto, dir: &Path, args: &[&str]) -> (std::process::Output, BTreeMap<String, u64>) {
    let proxy = moto.strict_proxy();
    proxy.reset_stats();
    let output = moto.run(args, dir);
    (output, proxy.stats().calls)
}

fn count(calls: &BTreeMap<String, u64>, operation: &str) -> u64 {
    calls.get(operation).copied().unwrap_or(0)
}

/// Creates the accounts of `spec(apps, "")`, then waits out the strict layer's new-account window.
fn organization(moto: &Moto, dir: &Path, apps: usize) {
    std::fs::write(dir.join("landing-zone.yaml"), spec(apps, "")).expect("spec");
    let (output, _) = run(moto, dir, &["apply", "--auto-approve"]);
    assert_eq!(output.status.code(), Some(0), "{}\n{}", stdout(&output), stderr(&output));
    std::thread::sleep(std::time::Duration::from_millis(1500));
}

async fn account_ids(moto: &Moto) -> BTreeMap<String, String> {
    let client = aws_sdk_organizations::Client::new(&moto.sdk_config().await);
    let accounts = client.list_accounts().send().await.expect("accounts").accounts.unwrap_or_default();
    accounts.into_iter().map(|account| (account.name.expect("name"), account.id.expect("id"))).collect()
}

async fn password_policy_length(moto: &Moto, id: &str) -> Option<i32> {
    let config = if id == "123456789012" { moto.sdk_config().await } else { moto.assumed_config(id).await };
    let iam = aws_sdk_iam::Client::new(&config);
    iam.get_account_password_policy().send().await.ok()?.password_policy?.minimum_password_length
}

#[tokio::test]
async fn a_failure_in_one_account_leaves_the_others_converged() {
    let moto = Moto::start();
    let workspace = tempfile::tempdir().expect("workspace");
    let dir = workspace.path();
    organization(&moto, dir, 3);
    let ids = account_ids(&moto).await;
    std::fs::write(
        dir.join("landing-zone.yaml"),
        spec(3, "  password_policy: { minimum_length: 14 }\n  s3_block_public_access: {}\n"),
    )
    .expect("spec");

    // Account app-2 refuses the password policy write (an SCP there, say).
    let refused = Refusal { operation: "iam:UpdateAccountPasswordPolicy".to_string(), account: ids["app-2"].clone() };
    moto.strict_proxy().set_faults(Faults { refuse_in_account: vec![refused], ..Faults::none() });
    let (output, _) = run(&moto, dir, &["apply", "--auto-approve"]);
    let (out, err) = (stdout(&output), stderr(&output));
    assert_eq!(output.status.code(), Some(1), "a failed account fails the apply: {out}\n{err}");
    assert!(out.contains("Apply incomplete:"), "{out}");
    assert!(err.contains("error: 1 account failed: `app-2`"), "{err}");
    assert!(err.contains("password_policy") && err.contains("AccessDenied"), "{err}");
    // Every other account converged; app-2 did not get the policy.
    for name in ["management", "log-archive", "app-1", "app-3"] {
        assert_eq!(password_policy_length(&moto, &ids[name]).await, Some(14), "{name}: {out}\n{err}");
    }
    assert_eq!(password_policy_length(&moto, &ids["app-2"]).await, None);

    // The refusal lifted, the next apply finishes app-2 and writes nothing anywhere else.
    moto.strict_proxy().set_faults(Faults::none());
    let (output, calls) = run(&moto, dir, &["apply", "--auto-approve"]);
    assert_eq!(output.status.code(), Some(0), "{}\n{}", stdout(&output), stderr(&output));
    assert_eq!(count(&calls, "iam:UpdateAccountPasswordPolicy"), 1, "app-2 only: {calls:#?}");
    assert!(count(&calls, "s3control:PutPublicAccessBlock") <= 1, "app-2 at most: {calls:#?}");
    assert_eq!(password_policy_length(&moto, &ids["app-2"]).await, Some(14));
    let (output, _) = run(&moto, dir, &["plan", "--detailed-exitcode"]);
    assert_eq!(output.status.code(), Some(0), "converged: {}", stdout(&output));
}

#[tokio::test]
async fn config_creates_its_service_linked_role_once_per_account_and_starts_each_recorder_once() {
    let moto = Moto::start();
    let workspace = tempfile::tempdir().expect("workspace");
    let dir = workspace.path();
    let apps = 2;
    organization(&moto, dir, apps);
    std::fs::write(
        dir.join("landing-zone.yaml"),
        spec(
            apps,
            "  log_archive: { account: log-archive }\n  aws_config:\n    targets: { units: [Workloads] }\n\
             \x20   rules: { S3_BUCKET_VERSIONING_ENABLED: {} }\n",
        ),
    )
    .expect("spec");
    let (output, calls) = run(&moto, dir, &["apply", "--auto-approve"]);
    assert_eq!(output.status.code(), Some(0), "{}\n{}", stdout(&output), stderr(&output));
    let (accounts, regions) = (apps as u64, 2);
    assert_eq!(count(&calls, "config:PutConfigurationRecorder"), accounts * regions, "{calls:#?}");
    // The role is global: one call per account, whatever the regions.
    assert_eq!(count(&calls, "iam:CreateServiceLinkedRole"), accounts, "{calls:#?}");
    // Started once, by the channel's apply, once the channel exists.
    assert_eq!(count(&calls, "config:StartConfigurationRecorder"), accounts * regions, "{calls:#?}");
    let (output, _) = run(&moto, dir, &["plan", "--detailed-exitcode"]);
    assert_eq!(output.status.code(), Some(0), "recording, converged: {}", stdout(&output));
}
