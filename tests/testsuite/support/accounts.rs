//! Setting up accounts before the behaviour a test is about: created by the binary, past the strict
//! layer's fresh-account window, and looked up by email.

use std::path::Path;

use super::{stderr, stdout, workspace, Moto};

/// Creates the spec's accounts first and waits out the strict layer's fresh-account window (a new
/// account answers SubscriptionRequiredException for a while, which is not what these tests test).
pub async fn with_accounts_created(moto: &Moto, spec: &str) -> tempfile::TempDir {
    let accounts_only = spec.split("baseline:").next().unwrap_or(spec).replace(", af-south-1]", "]");
    let dir = workspace(&accounts_only);
    run_ok(moto, &["apply", "--auto-approve"], dir.path());
    tokio::time::sleep(crate::support::strict::Strict::default().fresh_account_window).await;
    std::fs::write(dir.path().join("landing-zone.yaml"), spec).expect("write spec");
    dir
}

pub fn run_ok(moto: &Moto, args: &[&str], dir: &Path) -> String {
    let output = moto.run(args, dir);
    assert_eq!(output.status.code(), Some(0), "{args:?} failed:\n{}\n{}", stdout(&output), stderr(&output));
    stdout(&output)
}

pub async fn account_id(moto: &Moto, email: &str) -> String {
    let client = aws_sdk_organizations::Client::new(&moto.sdk_config().await);
    let accounts = client.list_accounts().send().await.expect("accounts").accounts.unwrap_or_default();
    accounts.into_iter().find(|a| a.email() == Some(email)).and_then(|a| a.id).expect("account by email")
}
