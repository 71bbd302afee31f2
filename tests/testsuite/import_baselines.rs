//! `import` writes the sections of the delegated-administrator services it finds (Macie,
//! Inspector and Detective here; GuardDuty, Security Hub, the bunker, the trail and Access Analyzer in
//! `workflow::import_round_trips_an_applied_spec`), the plan of the imported spec is empty, and a
//! setting that differs between regions leaves its section out with a note naming the region.

use aws_sdk_inspector2::types::AutoEnable;

use crate::support::{stderr, stdout, Moto};

const SPEC: &str = r#"version: 1
organization:
  feature_set: ALL
  management_account: management
  regions: [us-east-1, eu-west-1]
units:
  Security: {}
  Workloads: {}
accounts:
  management: { email: master@example.com, unit: Root }  # moto's own
  security: { email: aws+security@example.com, unit: Security }
  app-prod: { email: aws+app-prod@example.com, unit: Workloads }
baseline:
  macie:
    admin_account: security
    auto_enable: true
    finding_frequency: ONE_HOUR
  inspector:
    admin_account: security
    scan: [ec2, lambda]
  detective:
    admin_account: security
"#;

fn section(dir: &std::path::Path, name: &str) -> serde_yaml::Value {
    let spec = std::fs::read_to_string(dir.join("landing-zone.yaml")).expect("imported spec");
    let spec: serde_yaml::Value = serde_yaml::from_str(&spec).expect("yaml");
    spec["baseline"][name].clone()
}

#[tokio::test]
async fn import_writes_macie_inspector_and_detective_as_applied_and_leaves_out_what_differs_by_region() {
    let moto = Moto::start();
    let applied = tempfile::tempdir().expect("temp dir");
    std::fs::write(applied.path().join("landing-zone.yaml"), SPEC).expect("write spec");
    let output = moto.run(&["apply", "--auto-approve"], applied.path());
    assert_eq!(output.status.code(), Some(0), "{}\n{}", stdout(&output), stderr(&output));

    let imported = tempfile::tempdir().expect("temp dir");
    let output = moto.run(&["import", "--out", ".", "--regions", "us-east-1,eu-west-1"], imported.path());
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let reference: serde_yaml::Value = serde_yaml::from_str(SPEC).expect("yaml");
    for name in ["macie", "inspector", "detective"] {
        assert_eq!(section(imported.path(), name), reference["baseline"][name], "{name}");
    }
    let plan = moto.run(&["plan", "--detailed-exitcode"], imported.path());
    assert_eq!(plan.status.code(), Some(0), "{}\n{}", stdout(&plan), stderr(&plan));

    // Inspector's administrator auto-enables another scan type in eu-west-1 only: one section
    // cannot say that, so it is left out and the region named; Macie is still written.
    let organizations = aws_sdk_organizations::Client::new(&moto.sdk_config().await);
    let listed = organizations.list_accounts().send().await.expect("accounts").accounts.unwrap_or_default();
    let security = listed
        .iter()
        .find(|account| account.email.as_deref() == Some("aws+security@example.com"))
        .and_then(|account| account.id.clone())
        .expect("the security account");
    let as_security = moto.assumed_config(&security).await;
    let eu = as_security.to_builder().region(aws_config::Region::new("eu-west-1")).build();
    aws_sdk_inspector2::Client::new(&eu)
        .update_organization_configuration()
        .auto_enable(AutoEnable::builder().ec2(true).ecr(true).lambda(true).build().expect("auto-enable"))
        .send()
        .await
        .expect("auto-enable ECR by hand in eu-west-1");
    let again = tempfile::tempdir().expect("temp dir");
    let output = moto.run(&["import", "--out", ".", "--regions", "us-east-1,eu-west-1"], again.path());
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(section(again.path(), "inspector").is_null(), "{:?}", section(again.path(), "inspector"));
    let notes = stderr(&output);
    assert!(notes.contains("`baseline.inspector` left out: eu-west-1 differs from us-east-1"), "{notes}");
    assert_eq!(section(again.path(), "macie"), reference["baseline"]["macie"]);
}

/// Against an endpoint where a baseline cannot be read (moto itself, without the strict layer: no
/// Detective at all, Macie answers the SDK cannot parse), that baseline's section is left out with
/// a note saying why, and the rest of the organization is still imported.
#[tokio::test]
async fn an_endpoint_without_a_baselines_calls_leaves_only_that_section_out() {
    let moto = Moto::start();
    let applied = tempfile::tempdir().expect("temp dir");
    std::fs::write(applied.path().join("landing-zone.yaml"), SPEC).expect("write spec");
    let output = moto.run(&["apply", "--auto-approve"], applied.path());
    assert_eq!(output.status.code(), Some(0), "{}\n{}", stdout(&output), stderr(&output));

    let raw = format!("http://127.0.0.1:{}", moto.port);
    let imported = tempfile::tempdir().expect("temp dir");
    let output = moto.run_with_endpoint(&["import", "--out", "."], imported.path(), &raw);
    let notes = stderr(&output);
    assert_eq!(output.status.code(), Some(0), "{notes}");
    assert!(notes.contains("`baseline.detective` left out: ") && notes.contains("does not implement"), "{notes}");
    assert!(section(imported.path(), "detective").is_null());
    assert!(notes.contains("`baseline.macie` left out: it could not be read: "), "{notes}");
    assert!(section(imported.path(), "macie").is_null());
    let spec = std::fs::read_to_string(imported.path().join("landing-zone.yaml")).expect("imported spec");
    assert!(spec.contains("security"), "the accounts are imported: {spec}");
}
