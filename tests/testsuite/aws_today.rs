//! The tool against AWS as documented today, through the test proxy's strict layer
//! (`support/strict.rs`): the rules themselves, and the organization-level fixes of issue 11 that
//! moto's leniency hid (account `State`, the access role sent to CreateAccount, RCPFullAWSAccess,
//! HTML error pages off emulators, paged delegated-administrator lists). docs/aws-fidelity.md maps
//! each rule to its AWS page and to the test here that covers it.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use crate::support::proxy::{Faults, Proxy};
use crate::support::strict::Strict;
use crate::support::{stderr, stdout, Moto};

const ORGANIZATION: &str = "version: 1
organization:
  policy_types: [SERVICE_CONTROL_POLICY]
  management_account: management
  regions: [us-east-1]
units:
  Sandbox: {}
  Workloads: {}
accounts:
  management: { email: root@example.com }
  sandbox: { email: sandbox@example.com, unit: Sandbox, tags: { env: sandbox } }
policies:
  FullAWSAccess:
    targets: { units: [Root, Sandbox, Workloads], accounts: [management, sandbox] }
";

fn workspace(spec: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("landing-zone.yaml"), spec).expect("write spec");
    dir
}

fn run_ok(moto: &Moto, args: &[&str], dir: &Path) -> String {
    let output = moto.run(args, dir);
    assert_eq!(output.status.code(), Some(0), "{args:?} failed:\n{}\n{}", stdout(&output), stderr(&output));
    stdout(&output)
}

fn plan_json(moto: &Moto, dir: &Path) -> Value {
    serde_json::from_str(&run_ok(moto, &["plan", "--format", "json"], dir)).expect("plan json")
}

fn kinds(plan: &Value) -> Vec<String> {
    plan["actions"].as_array().expect("actions").iter().map(|a| a["kind"].as_str().unwrap_or("").to_string()).collect()
}

async fn account_id(client: &aws_sdk_organizations::Client, email: &str) -> String {
    let accounts = client.list_accounts().send().await.expect("accounts").accounts.unwrap_or_default();
    accounts.into_iter().find(|a| a.email() == Some(email)).and_then(|a| a.id).expect("account by email")
}

async fn unit_id(client: &aws_sdk_organizations::Client, root: &str, name: &str) -> String {
    let units = client.list_organizational_units_for_parent().parent_id(root).send().await.expect("ous");
    units.organizational_units.unwrap_or_default().into_iter().find(|u| u.name() == Some(name)).and_then(|u| u.id).expect("ou")
}

// ---------------------------------------------------------------------------------------------
// Fix 1: accounts carry `State` (ACTIVE...), not the retired `Status`.

#[tokio::test]
async fn accounts_are_read_by_state_for_moves_tags_import_and_audit() {
    let moto = Moto::start();
    let workspace = workspace(ORGANIZATION);
    let dir = workspace.path();
    run_ok(&moto, &["apply", "--auto-approve"], dir);

    // The strict layer answers as AWS does today: State, and no Status.
    let client = aws_sdk_organizations::Client::new(&moto.sdk_config().await);
    let sandbox = account_id(&client, "sandbox@example.com").await;
    let described = client.describe_account().account_id(&sandbox).send().await.expect("describe");
    let account = described.account.expect("account");
    assert_eq!(account.state().map(|s| s.as_str()), Some("ACTIVE"));
    assert!(account.status().is_none(), "Status was retired on 2026-09-09");

    // Drift: the account moved by hand and its tag changed.
    let root = client.list_roots().send().await.expect("roots").roots.unwrap_or_default()[0].id.clone().expect("root");
    let sandbox_unit = unit_id(&client, &root, "Sandbox").await;
    let workloads_unit = unit_id(&client, &root, "Workloads").await;
    client
        .move_account()
        .account_id(&sandbox)
        .source_parent_id(&sandbox_unit)
        .destination_parent_id(&workloads_unit)
        .send()
        .await
        .expect("move by hand");
    let tag = aws_sdk_organizations::types::Tag::builder().key("env").value("other").build().expect("tag");
    client.tag_resource().resource_id(&sandbox).tags(tag).send().await.expect("tag by hand");

    let plan = plan_json(&moto, dir);
    let kinds = kinds(&plan);
    assert!(kinds.iter().any(|kind| kind == "move_account"), "the move is planned: {kinds:?}\n{plan:#}");
    assert!(kinds.iter().any(|kind| kind.contains("tag")), "the tag repair is planned: {kinds:?}");
    assert!(!plan.to_string().contains("left as is"), "no account is skipped for its state: {plan:#}");
    run_ok(&moto, &["apply", "--auto-approve"], dir);
    assert_eq!(moto.run(&["plan", "--detailed-exitcode"], dir).status.code(), Some(0), "converged");

    // import writes the accounts; audit checks them.
    let imported = tempfile::tempdir().expect("dir");
    run_ok(&moto, &["import", "--out", "."], imported.path());
    let spec = std::fs::read_to_string(imported.path().join("landing-zone.yaml")).expect("imported spec");
    assert!(spec.contains("sandbox@example.com"), "import wrote the account:\n{spec}");
    let audit = moto.run(&["audit", "--format", "json"], dir);
    let report: Value = serde_json::from_str(&stdout(&audit)).expect("audit json");
    let scoped = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|finding| finding["scope"].as_str().is_some_and(|scope| scope.contains(&sandbox)))
        .count();
    assert!(scoped > 0, "audit checked the member account: {report:#}");
}
