//! `baseline.macie` against moto: Macie enabled organization-wide by the binary, the existing
//! accounts enrolled as members of the delegated administrator, drift repaired, and another
//! administrator refused rather than replaced.

use std::collections::BTreeSet;

use crate::support::outputs::{plan_controls, set};
use crate::support::{stderr, stdout, Moto};

/// moto's management account.
const MANAGEMENT: &str = "123456789012";

const MACIE_SPEC: &str = r#"version: 1
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
  app-dev: { email: aws+app-dev@example.com, unit: Workloads }
baseline:
  macie:
    admin_account: security
    auto_enable: true
    finding_frequency: SIX_HOURS
"#;

fn macie_in(config: &aws_config::SdkConfig, region: &str) -> aws_sdk_macie2::Client {
    aws_sdk_macie2::Client::new(&config.to_builder().region(aws_config::Region::new(region.to_string())).build())
}

/// `account: relationship` of the administrator's members.
async fn macie_members(admin: &aws_sdk_macie2::Client) -> BTreeSet<String> {
    let members = admin.list_members().only_associated("false").send().await.expect("members");
    members
        .members
        .unwrap_or_default()
        .into_iter()
        .map(|m| {
            format!(
                "{}: {}",
                m.account_id.unwrap_or_default(),
                m.relationship_status.map(|s| s.as_str().to_string()).unwrap_or_default()
            )
        })
        .collect()
}

#[tokio::test]
async fn macie_enrolls_existing_members_and_repairs_drift() {
    let moto = Moto::start();
    let workspace = tempfile::tempdir().expect("temp dir");
    let dir = workspace.path();
    std::fs::write(dir.join("landing-zone.yaml"), MACIE_SPEC).expect("write spec");
    let output = moto.run(&["apply", "--auto-approve"], dir);
    assert_eq!(output.status.code(), Some(0), "{}\n{}", stdout(&output), stderr(&output));

    let organizations = aws_sdk_organizations::Client::new(&moto.sdk_config().await);
    let listed = organizations.list_accounts().send().await.expect("accounts").accounts.unwrap_or_default();
    let id_of = |email: &str| {
        listed.iter().find(|a| a.email.as_deref() == Some(email)).and_then(|a| a.id.clone()).expect("account id")
    };
    let (prod, dev, security) =
        (id_of("aws+app-prod@example.com"), id_of("aws+app-dev@example.com"), id_of("aws+security@example.com"));
    let management = moto.sdk_config().await;
    let as_security = moto.assumed_config(&security).await;
    let as_prod = moto.assumed_config(&prod).await;
    let members = set(&[&format!("{MANAGEMENT}: Enabled"), &format!("{prod}: Enabled"), &format!("{dev}: Enabled")]);
    for region in ["us-east-1", "eu-west-1"] {
        let admins = macie_in(&management, region).list_organization_admin_accounts().send().await.expect("admins");
        let admins: Vec<String> =
            admins.admin_accounts.unwrap_or_default().into_iter().filter_map(|admin| admin.account_id).collect();
        assert_eq!(admins, [security.as_str()], "delegated administrator in {region}");
        let admin = macie_in(&as_security, region);
        let session = admin.get_macie_session().send().await.expect("the administrator's session");
        assert_eq!(session.status.map(|s| s.as_str().to_string()).as_deref(), Some("ENABLED"));
        assert_eq!(session.finding_publishing_frequency.map(|f| f.as_str().to_string()).as_deref(), Some("SIX_HOURS"));
        let configuration = admin.describe_organization_configuration().send().await.expect("configuration");
        assert_eq!(configuration.auto_enable, Some(true), "{region}");
        // Existing accounts are members, not only accounts that join later; Macie runs there.
        assert_eq!(macie_members(&admin).await, members, "{region}");
        let member = macie_in(&as_prod, region).get_macie_session().send().await.expect("enabled in a member");
        assert_eq!(member.status.map(|s| s.as_str().to_string()).as_deref(), Some("ENABLED"));
    }
    let second = moto.run(&["plan", "--detailed-exitcode"], dir);
    assert_eq!(second.status.code(), Some(0), "second plan is empty:\n{}", stdout(&second));

    // Drift by hand in eu-west-1: the frequency, auto-enable and a paused member.
    let admin = macie_in(&as_security, "eu-west-1");
    admin
        .update_macie_session()
        .finding_publishing_frequency(aws_sdk_macie2::types::FindingPublishingFrequency::FifteenMinutes)
        .send()
        .await
        .expect("frequency");
    admin.update_organization_configuration().auto_enable(false).send().await.expect("auto-enable off");
    admin
        .update_member_session()
        .id(&dev)
        .status(aws_sdk_macie2::types::MacieStatus::Paused)
        .send()
        .await
        .expect("pause a member");
    let (controls, plan) = plan_controls(&moto, dir);
    assert_eq!(
        controls,
        set(&["macie/members security", "macie/organization_configuration security", "macie/session security"]),
        "{plan:#}"
    );
    assert!(
        plan["actions"].as_array().expect("actions").iter().all(|action| action["control"]["region"] == "eu-west-1"),
        "{plan:#}"
    );
    let text = stdout(&moto.run(&["plan"], dir));
    assert!(text.contains("FIFTEEN_MINUTES") && text.contains("Paused"), "attribute-level plan:\n{text}");

    let repair = moto.run(&["apply", "--auto-approve"], dir);
    assert_eq!(repair.status.code(), Some(0), "{}\n{}", stdout(&repair), stderr(&repair));
    assert_eq!(macie_members(&admin).await, members);
    assert_eq!(admin.describe_organization_configuration().send().await.expect("c").auto_enable, Some(true));
    let session = admin.get_macie_session().send().await.expect("session");
    assert_eq!(session.finding_publishing_frequency.map(|f| f.as_str().to_string()).as_deref(), Some("SIX_HOURS"));
    let last = moto.run(&["plan", "--detailed-exitcode"], dir);
    assert_eq!(last.status.code(), Some(0), "repaired:\n{}", stdout(&last));

    // Another delegated administrator is reported, refused with a hint, never replaced.
    macie_in(&management, "us-east-1")
        .enable_organization_admin_account()
        .admin_account_id(&prod)
        .send()
        .await
        .expect("by hand");
    let refused = moto.run(&["apply", "--auto-approve"], dir);
    assert_eq!(refused.status.code(), Some(1), "{}", stdout(&refused));
    let said = format!("{}{}", stdout(&refused), stderr(&refused));
    assert!(said.contains("does not replace a delegated administrator") && said.contains("hint:"), "{said}");
    let admins = macie_in(&management, "us-east-1").list_organization_admin_accounts().send().await.expect("admins");
    let admins: Vec<String> =
        admins.admin_accounts.unwrap_or_default().into_iter().filter_map(|a| a.account_id).collect();
    assert_eq!(admins, [prod.as_str()], "not replaced");
}
