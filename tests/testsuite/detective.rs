//! `baseline.detective` against moto and the strict layer (moto has no Detective: the layer serves
//! it as the API reference documents, `support/detective.rs`): the administrator designated from
//! the management account in each region, its behavior graph auto-enabling new accounts and every
//! existing account an enabled member; a second plan empty; auto-enable turned off and a member
//! removed by hand in one region planned there only and repaired; `audit` naming what is missing;
//! a bad administrator refused offline.

use std::collections::BTreeSet;

use aws_sdk_detective::config::Region;
use serde_json::Value;

use crate::support::outputs::{audit_findings, set};
use crate::support::{stderr, stdout, workspace, Moto};

/// moto's management account.
const MANAGEMENT: &str = "123456789012";

const SPEC: &str = r#"version: 1
organization:
  feature_set: ALL
  management_account: management
  regions: [us-east-1, eu-west-1]
units:
  Security: {}
  Workloads: {}
accounts:
  management: { email: aws-root@example.com, unit: Root }
  security: { email: aws+security@example.com, unit: Security }
  app-prod: { email: aws+app-prod@example.com, unit: Workloads }
baseline:
  detective: { admin_account: security }
"#;

async fn client(config: &aws_config::SdkConfig, region: &str) -> aws_sdk_detective::Client {
    aws_sdk_detective::Client::from_conf(
        aws_sdk_detective::config::Builder::from(config).region(Region::new(region.to_string())).build(),
    )
}

/// The administrator's graph in its region.
async fn graph(admin: &aws_sdk_detective::Client) -> String {
    let graphs = admin.list_graphs().send().await.expect("graphs").graph_list.unwrap_or_default();
    assert_eq!(graphs.len(), 1, "one behavior graph: {graphs:?}");
    graphs[0].arn.clone().expect("graph arn")
}

/// `account STATUS TYPE` of every member of the graph.
async fn members(admin: &aws_sdk_detective::Client, graph: &str) -> BTreeSet<String> {
    let listed = admin.list_members().graph_arn(graph).send().await.expect("members");
    listed
        .member_details
        .unwrap_or_default()
        .into_iter()
        .map(|member| {
            format!(
                "{} {} {}",
                member.account_id.unwrap_or_default(),
                member.status.map(|status| status.as_str().to_string()).unwrap_or_default(),
                member.invitation_type.map(|kind| kind.as_str().to_string()).unwrap_or_default()
            )
        })
        .collect()
}

/// `control account region` of every action of a JSON plan.
fn planned(moto: &Moto, dir: &std::path::Path) -> BTreeSet<String> {
    let output = moto.run(&["plan", "--format", "json"], dir);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let plan: Value = serde_json::from_str(&stdout(&output)).expect("json plan");
    plan["actions"]
        .as_array()
        .expect("actions")
        .iter()
        .map(|action| {
            let control = &action["control"];
            format!(
                "{} {} {}",
                control["control"].as_str().unwrap_or("?"),
                control["account"].as_str().unwrap_or("?"),
                control["region"].as_str().unwrap_or("-")
            )
        })
        .collect()
}

#[tokio::test]
async fn detective_converges_with_every_account_a_member_and_repairs_drift() {
    let moto = Moto::start();
    let workspace = workspace(SPEC);
    let dir = workspace.path();
    let output = moto.run(&["apply", "--auto-approve"], dir);
    assert_eq!(output.status.code(), Some(0), "{}\n{}", stdout(&output), stderr(&output));

    let organizations = aws_sdk_organizations::Client::new(&moto.sdk_config().await);
    let listed = organizations.list_accounts().send().await.expect("accounts").accounts.unwrap_or_default();
    let id_of = |email: &str| {
        listed.iter().find(|a| a.email.as_deref() == Some(email)).and_then(|a| a.id.clone()).expect("account id")
    };
    let (prod, security) = (id_of("aws+app-prod@example.com"), id_of("aws+security@example.com"));
    let trusted = organizations.list_aws_service_access_for_organization().send().await.expect("trusted access");
    let trusted: Vec<String> = trusted
        .enabled_service_principals
        .unwrap_or_default()
        .into_iter()
        .filter_map(|principal| principal.service_principal)
        .collect();
    assert!(trusted.contains(&"detective.amazonaws.com".to_string()), "{trusted:?}");

    let management_config = moto.sdk_config().await;
    let admin_config = moto.assumed_config(&security).await;
    let enrolled = set(&[&format!("{MANAGEMENT} ENABLED ORGANIZATION"), &format!("{prod} ENABLED ORGANIZATION")]);
    for region in ["us-east-1", "eu-west-1"] {
        let management = client(&management_config, region).await;
        let admins = management.list_organization_admin_accounts().send().await.expect("admins");
        let admins: Vec<String> =
            admins.administrators.unwrap_or_default().into_iter().filter_map(|admin| admin.account_id).collect();
        assert_eq!(admins, [security.as_str()], "{region}");
        let admin = client(&admin_config, region).await;
        let graph = graph(&admin).await;
        let configuration =
            admin.describe_organization_configuration().graph_arn(&graph).send().await.expect("configuration");
        assert!(configuration.auto_enable, "{region}: new accounts auto-enabled");
        // Existing accounts are enabled as organization members, not invited.
        assert_eq!(members(&admin, &graph).await, enrolled, "{region}");
    }
    let second = moto.run(&["plan", "--detailed-exitcode"], dir);
    assert_eq!(second.status.code(), Some(0), "second plan is empty:\n{}", stdout(&second));

    // Drift by hand in eu-west-1: auto-enable off, app-prod removed from the graph.
    let admin = client(&admin_config, "eu-west-1").await;
    let graph_arn = graph(&admin).await;
    admin
        .update_organization_configuration()
        .graph_arn(&graph_arn)
        .auto_enable(false)
        .send()
        .await
        .expect("auto-enable off");
    admin.delete_members().graph_arn(&graph_arn).account_ids(&prod).send().await.expect("remove a member");
    assert_eq!(
        planned(&moto, dir),
        set(&["detective/members security eu-west-1", "detective/organization_configuration security eu-west-1"])
    );
    let findings = audit_findings(&moto, dir, "detective/");
    assert!(findings.contains("detective/members security FAIL"), "{findings:?}");
    assert!(findings.contains("detective/organization_configuration security FAIL"), "{findings:?}");
    let audit = moto.run(&["audit", "--format", "json"], dir);
    assert!(
        stdout(&audit).contains(&format!("accounts not enabled as Detective members here: {prod}")),
        "{}",
        stdout(&audit)
    );

    let repair = moto.run(&["apply", "--auto-approve"], dir);
    assert_eq!(repair.status.code(), Some(0), "{}\n{}", stdout(&repair), stderr(&repair));
    assert_eq!(members(&admin, &graph_arn).await, enrolled);
    let configuration =
        admin.describe_organization_configuration().graph_arn(&graph_arn).send().await.expect("configuration");
    assert!(configuration.auto_enable);
    let last = moto.run(&["plan", "--detailed-exitcode"], dir);
    assert_eq!(last.status.code(), Some(0), "repaired:\n{}", stdout(&last));
    let findings = audit_findings(&moto, dir, "detective/");
    assert_eq!(
        findings,
        set(&[
            "detective/admin management PASS",
            "detective/members security PASS",
            "detective/organization_configuration security PASS"
        ])
    );

    // `landing-zone permissions` allows every call the baseline made.
    let (caller, mut member, unknown) = crate::permissions::signed_actions(&moto);
    assert!(unknown.is_empty(), "{unknown:?}");
    // What this test did by hand as the administrator, through the same role.
    member.remove("detective:DeleteMembers");
    for (signed, role) in [(&caller, "management"), (&member, "member")] {
        let printed = crate::permissions::policy_actions(&moto, "apply", role, dir);
        let missing: Vec<&String> =
            signed.iter().filter(|action| !crate::permissions::allows(&printed, action)).collect();
        assert!(missing.is_empty(), "`permissions apply --role {role}` lacks {missing:?}");
    }
    for action in ["detective:CreateMembers", "detective:UpdateOrganizationConfiguration", "detective:ListMembers"] {
        assert!(member.contains(action), "{action} was called in the administrator: {member:?}");
    }
    assert!(caller.contains("detective:EnableOrganizationAdminAccount"), "{caller:?}");
}

#[tokio::test]
async fn another_detective_administrator_is_refused_not_replaced() {
    let moto = Moto::start();
    let workspace = workspace(SPEC);
    let dir = workspace.path();
    let organizations = aws_sdk_organizations::Client::new(&moto.sdk_config().await);
    let first = moto.run(&["apply", "--auto-approve"], dir);
    assert_eq!(first.status.code(), Some(0), "{}\n{}", stdout(&first), stderr(&first));
    let management = client(&moto.sdk_config().await, "us-east-1").await;
    let listed = organizations.list_accounts().send().await.expect("accounts").accounts.unwrap_or_default();
    let prod = listed
        .iter()
        .find(|a| a.email.as_deref() == Some("aws+app-prod@example.com"))
        .and_then(|a| a.id.clone())
        .expect("app-prod");
    // Someone designates app-prod by hand in us-east-1.
    management.enable_organization_admin_account().account_id(&prod).send().await.expect("designate by hand");
    let refused = moto.run(&["apply", "--auto-approve"], dir);
    let said = format!("{}{}", stdout(&refused), stderr(&refused));
    assert_eq!(refused.status.code(), Some(1), "{said}");
    assert!(said.contains(&format!("already has account {prod} as administrator")), "{said}");
    assert!(said.contains("hint: run `aws detective disable-organization-admin-account --region us-east-1`"), "{said}");
    let admins = management.list_organization_admin_accounts().send().await.expect("admins");
    let admins: Vec<String> =
        admins.administrators.unwrap_or_default().into_iter().filter_map(|admin| admin.account_id).collect();
    assert_eq!(admins, [prod.as_str()], "not replaced");
}

#[test]
fn a_detective_administrator_outside_the_spec_is_refused_before_any_call() {
    let moto = Moto::start();
    let workspace =
        workspace(&SPEC.replace("detective: { admin_account: security }", "detective: { admin_account: securty }"));
    let dir = workspace.path();
    for command in [&["validate"][..], &["plan"][..]] {
        let output = moto.run(command, dir);
        let said = format!("{}{}", stdout(&output), stderr(&output));
        assert_eq!(output.status.code(), Some(1), "{said}");
        assert!(said.contains("securty"), "{said}");
        assert!(said.contains("landing-zone.yaml:"), "located: {said}");
    }
    assert!(moto.strict_proxy().stats().calls.is_empty(), "no AWS call: {:?}", moto.strict_proxy().stats().calls);
}

/// A member whose ingestion AWS stopped (`ACCEPTED_BUT_DISABLED`) is a change in its region,
/// started again with StartMonitoringMember, not added a second time.
#[tokio::test]
async fn a_member_whose_ingestion_stopped_is_monitored_again() {
    let moto = Moto::start();
    let workspace = workspace(&SPEC.replace("regions: [us-east-1, eu-west-1]", "regions: [us-east-1]"));
    let dir = workspace.path();
    let output = moto.run(&["apply", "--auto-approve"], dir);
    assert_eq!(output.status.code(), Some(0), "{}\n{}", stdout(&output), stderr(&output));
    let organizations = aws_sdk_organizations::Client::new(&moto.sdk_config().await);
    let listed = organizations.list_accounts().send().await.expect("accounts").accounts.unwrap_or_default();
    let id_of = |email: &str| {
        listed.iter().find(|a| a.email.as_deref() == Some(email)).and_then(|a| a.id.clone()).expect("account id")
    };
    let (prod, security) = (id_of("aws+app-prod@example.com"), id_of("aws+security@example.com"));
    assert!(moto.strict_proxy().disable_detective_member(&security, "us-east-1", &prod));
    assert_eq!(planned(&moto, dir), set(&["detective/members security us-east-1"]));
    moto.strict_proxy().reset_stats();
    let repair = moto.run(&["apply", "--auto-approve"], dir);
    assert_eq!(repair.status.code(), Some(0), "{}\n{}", stdout(&repair), stderr(&repair));
    let calls = moto.strict_proxy().stats().calls_of("detective");
    assert_eq!(calls.get("POST /graph/member/monitoringstate"), Some(&1), "{calls:?}");
    assert_eq!(calls.get("POST /graph/members"), None, "not added again: {calls:?}");
    let admin = client(&moto.assumed_config(&security).await, "us-east-1").await;
    let graph = graph(&admin).await;
    assert!(members(&admin, &graph).await.contains(&format!("{prod} ENABLED ORGANIZATION")));
    let last = moto.run(&["plan", "--detailed-exitcode"], dir);
    assert_eq!(last.status.code(), Some(0), "repaired:\n{}", stdout(&last));
}
