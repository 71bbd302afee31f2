//! `baseline.inspector` against moto: Inspector's delegated administrator designated by the
//! binary, the spec's scan types enabled in the existing accounts, drift repaired.

use std::collections::BTreeSet;

use crate::support::outputs::{audit_findings, plan_controls, set};
use crate::support::{stderr, stdout, Moto};

/// moto's management account.
const MANAGEMENT: &str = "123456789012";

const INSPECTOR_SPEC: &str = r#"version: 1
organization:
  feature_set: ALL
  management_account: management
  regions: [us-east-1]
units:
  Security: {}
  Workloads: {}
accounts:
  management: { email: aws-root@example.com, unit: Root }
  security: { email: aws+security@example.com, unit: Security }
  app-prod: { email: aws+app-prod@example.com, unit: Workloads }
baseline:
  inspector:
    admin_account: security
    scan: [ec2, ecr, lambda]
"#;

/// `account: enabled scan types` as the administrator reads them.
async fn inspector_scans(admin: &aws_sdk_inspector2::Client, ids: &[&str]) -> BTreeSet<String> {
    let ids: Vec<String> = ids.iter().map(|id| id.to_string()).collect();
    let output = admin.batch_get_account_status().set_account_ids(Some(ids)).send().await.expect("status");
    output
        .accounts
        .into_iter()
        .map(|account| {
            let state = account.resource_state.expect("resource state");
            let status = |state: Option<aws_sdk_inspector2::types::State>| {
                state.map(|s| s.status.as_str().to_string()).unwrap_or_default()
            };
            format!(
                "{}: ec2 {} ecr {} lambda {} lambda_code {}",
                account.account_id,
                status(state.ec2),
                status(state.ecr),
                status(state.lambda),
                status(state.lambda_code)
            )
        })
        .collect()
}

#[tokio::test]
async fn inspector_scans_existing_members_and_repairs_drift() {
    let moto = Moto::start();
    let workspace = tempfile::tempdir().expect("temp dir");
    let dir = workspace.path();
    std::fs::write(dir.join("landing-zone.yaml"), INSPECTOR_SPEC).expect("write spec");
    let output = moto.run(&["apply", "--auto-approve"], dir);
    assert_eq!(output.status.code(), Some(0), "{}\n{}", stdout(&output), stderr(&output));

    let organizations = aws_sdk_organizations::Client::new(&moto.sdk_config().await);
    let listed = organizations.list_accounts().send().await.expect("accounts").accounts.unwrap_or_default();
    let id_of = |email: &str| {
        listed.iter().find(|a| a.email.as_deref() == Some(email)).and_then(|a| a.id.clone()).expect("account id")
    };
    let (prod, security) = (id_of("aws+app-prod@example.com"), id_of("aws+security@example.com"));
    let management = aws_sdk_inspector2::Client::new(&moto.sdk_config().await);
    let admin = aws_sdk_inspector2::Client::new(&moto.assumed_config(&security).await);

    let admins = management.list_delegated_admin_accounts().send().await.expect("admins");
    let admins: Vec<String> =
        admins.delegated_admin_accounts.unwrap_or_default().into_iter().filter_map(|a| a.account_id).collect();
    assert_eq!(admins, [security.as_str()]);
    let auto =
        admin.describe_organization_configuration().send().await.expect("configuration").auto_enable.expect("auto");
    assert_eq!((auto.ec2, auto.ecr, auto.lambda, auto.lambda_code), (true, true, Some(true), Some(false)));
    // Existing accounts are associated and scanned, not only accounts that join later.
    let members = admin.list_members().only_associated(true).send().await.expect("members").members.unwrap_or_default();
    let members: BTreeSet<String> = members.into_iter().filter_map(|m| m.account_id).collect();
    assert_eq!(members, set(&[MANAGEMENT, &prod]));
    let enabled = |id: &str| format!("{id}: ec2 ENABLED ecr ENABLED lambda ENABLED lambda_code DISABLED");
    let all = [MANAGEMENT, security.as_str(), prod.as_str()];
    assert_eq!(inspector_scans(&admin, &all).await, all.iter().map(|id| enabled(id)).collect());
    let second = moto.run(&["plan", "--detailed-exitcode"], dir);
    assert_eq!(second.status.code(), Some(0), "second plan is empty:\n{}", stdout(&second));

    // Drift by hand: ECR scanning off in app-prod, Lambda auto-enable off.
    admin
        .disable()
        .account_ids(&prod)
        .resource_types(aws_sdk_inspector2::types::ResourceScanType::Ecr)
        .send()
        .await
        .expect("disable ECR scanning");
    let off = aws_sdk_inspector2::types::AutoEnable::builder().ec2(true).ecr(true).lambda(false).build().expect("auto");
    admin.update_organization_configuration().auto_enable(off).send().await.expect("auto-enable");
    let (controls, plan) = plan_controls(&moto, dir);
    assert_eq!(
        controls,
        set(&["inspector/accounts security", "inspector/organization_configuration security"]),
        "{plan:#}"
    );

    let repair = moto.run(&["apply", "--auto-approve"], dir);
    assert_eq!(repair.status.code(), Some(0), "{}\n{}", stdout(&repair), stderr(&repair));
    assert_eq!(inspector_scans(&admin, &all).await, all.iter().map(|id| enabled(id)).collect());
    let auto =
        admin.describe_organization_configuration().send().await.expect("configuration").auto_enable.expect("auto");
    assert_eq!(auto.lambda, Some(true));
    let last = moto.run(&["plan", "--detailed-exitcode"], dir);
    assert_eq!(last.status.code(), Some(0), "repaired:\n{}", stdout(&last));
    let findings = audit_findings(&moto, dir, "inspector/");
    assert_eq!(
        findings,
        set(&[
            "inspector/accounts security PASS",
            "inspector/admin management PASS",
            "inspector/organization_configuration security PASS"
        ])
    );
}
