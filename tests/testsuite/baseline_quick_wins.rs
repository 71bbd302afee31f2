//! The maturity model's remaining quick wins against moto (issue 15): AWS Budgets alarms applied
//! by the binary, read back independently (management credentials for the management account,
//! assumed roles for members), a second plan empty, drift made by hand planned exactly (attribute
//! level), reported by `audit` per account, and repaired. moto lacks `UpdateBudget` and the
//! subscriber operations: the strict layer serves them (`support/budgets.rs`, docs/testing.md).

use std::collections::BTreeSet;

use aws_sdk_budgets::types::{
    ComparisonOperator, Notification, NotificationType, Subscriber, SubscriptionType, ThresholdType,
};
use serde_json::Value;

use crate::support::{stderr, stdout, Moto};

const SPEC: &str = r#"version: 1
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
  app-dev: { email: aws+app-dev@example.com, unit: Workloads }
baseline:
  budgets:
    organization-monthly:
      account: management
      limit_usd: 5000
      thresholds: [80, 100]
      forecast_threshold: 110
      notify: [finance@example.com]
    workload-monthly:
      targets: { units: [Workloads] }
      limit_usd: 1000
      thresholds: [100]
      notify: [platform@example.com]
"#;

const MANAGEMENT: &str = "123456789012";

fn workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("landing-zone.yaml"), SPEC).expect("write spec");
    dir
}

fn alarm(kind: NotificationType, threshold: f64) -> Notification {
    Notification::builder()
        .notification_type(kind)
        .comparison_operator(ComparisonOperator::GreaterThan)
        .threshold(threshold)
        .threshold_type(ThresholdType::Percentage)
        .build()
        .expect("notification")
}

fn email(address: &str) -> Subscriber {
    Subscriber::builder().subscription_type(SubscriptionType::Email).address(address).build().expect("subscriber")
}

/// `(limit, [(type threshold: subscribers)])` of one budget, read as an independent reader would.
async fn read(client: &aws_sdk_budgets::Client, account: &str, name: &str) -> (String, BTreeSet<String>) {
    let budget = client.describe_budget().account_id(account).budget_name(name).send().await.expect("budget");
    let budget = budget.budget.expect("budget");
    assert_eq!((budget.time_unit.as_str(), budget.budget_type.as_str()), ("MONTHLY", "COST"), "{name} in {account}");
    let limit = budget.budget_limit.map(|spend| format!("{} {}", spend.amount, spend.unit)).unwrap_or_default();
    let notifications = client
        .describe_notifications_for_budget()
        .account_id(account)
        .budget_name(name)
        .send()
        .await
        .expect("notifications")
        .notifications
        .unwrap_or_default();
    let mut alarms = BTreeSet::new();
    for notification in notifications {
        let subscribers = client
            .describe_subscribers_for_notification()
            .account_id(account)
            .budget_name(name)
            .notification(notification.clone())
            .send()
            .await
            .expect("subscribers")
            .subscribers
            .unwrap_or_default();
        let mut addresses: Vec<String> = subscribers.into_iter().map(|s| s.address).collect();
        addresses.sort();
        alarms.insert(format!(
            "{} {} {}: {}",
            notification.notification_type.as_str(),
            notification.comparison_operator.as_str(),
            notification.threshold,
            addresses.join(",")
        ));
    }
    (limit.split_once('.').map_or(limit.clone(), |(whole, _)| format!("{whole} USD")), alarms)
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|item| item.to_string()).collect()
}

/// `control account` of every action of a JSON plan.
fn plan_controls(moto: &Moto, dir: &std::path::Path) -> (BTreeSet<String>, Value) {
    let output = moto.run(&["plan", "--format", "json"], dir);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let plan: Value = serde_json::from_str(&stdout(&output)).expect("json plan");
    let controls = plan["actions"]
        .as_array()
        .expect("actions")
        .iter()
        .map(|action| {
            format!(
                "{} {}",
                action["control"]["control"].as_str().unwrap_or("?"),
                action["control"]["account"].as_str().unwrap_or("?")
            )
        })
        .collect();
    (controls, plan)
}

/// `control account status` of the audit's findings about budgets.
fn budget_findings(moto: &Moto, dir: &std::path::Path) -> BTreeSet<String> {
    budget_findings_of(moto, dir, "budget/")
}

/// `control account status` of the audit's findings about controls starting with `prefix`.
fn budget_findings_of(moto: &Moto, dir: &std::path::Path, prefix: &str) -> BTreeSet<String> {
    let output = moto.run(&["audit", "--format", "json"], dir);
    let report: Value = serde_json::from_str(&stdout(&output)).expect("audit json");
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|finding| finding["control"].as_str().is_some_and(|control| control.starts_with(prefix)))
        .map(|finding| {
            let scope = finding["scope"].as_str().unwrap_or_default();
            let account = scope.split(' ').next().unwrap_or_default();
            format!(
                "{} {account} {}",
                finding["control"].as_str().unwrap_or_default(),
                finding["status"].as_str().unwrap_or_default()
            )
        })
        .collect()
}

#[tokio::test]
async fn budgets_converge_report_and_repair_drift() {
    let moto = Moto::start();
    let dir = workspace();
    let dir = dir.path();
    let output = moto.run(&["apply", "--auto-approve"], dir);
    assert_eq!(output.status.code(), Some(0), "{}\n{}", stdout(&output), stderr(&output));

    let organizations = aws_sdk_organizations::Client::new(&moto.sdk_config().await);
    let listed = organizations.list_accounts().send().await.expect("accounts").accounts.unwrap_or_default();
    let id_of = |email: &str| {
        listed.iter().find(|a| a.email.as_deref() == Some(email)).and_then(|a| a.id.clone()).expect("account id")
    };
    let (prod, dev, security) =
        (id_of("aws+app-prod@example.com"), id_of("aws+app-dev@example.com"), id_of("aws+security@example.com"));
    let management = aws_sdk_budgets::Client::new(&moto.sdk_config().await);
    let as_prod = aws_sdk_budgets::Client::new(&moto.assumed_config(&prod).await);
    let as_dev = aws_sdk_budgets::Client::new(&moto.assumed_config(&dev).await);
    let as_security = aws_sdk_budgets::Client::new(&moto.assumed_config(&security).await);

    let organization_alarms = set(&[
        "ACTUAL GREATER_THAN 80: finance@example.com",
        "ACTUAL GREATER_THAN 100: finance@example.com",
        "FORECASTED GREATER_THAN 110: finance@example.com",
    ]);
    let workload_alarms = set(&["ACTUAL GREATER_THAN 100: platform@example.com"]);
    assert_eq!(
        read(&management, MANAGEMENT, "organization-monthly").await,
        ("5000 USD".to_string(), organization_alarms.clone())
    );
    for (client, id) in [(&as_prod, &prod), (&as_dev, &dev)] {
        assert_eq!(read(client, id, "workload-monthly").await, ("1000 USD".to_string(), workload_alarms.clone()));
    }
    // Not targeted: no budget in the security account, and none in the management account but its own.
    let none = as_security.describe_budgets().account_id(&security).send().await.expect("budgets");
    assert!(none.budgets.unwrap_or_default().is_empty(), "the security account has no budget");
    let own = management.describe_budgets().account_id(MANAGEMENT).send().await.expect("budgets");
    let names: Vec<String> = own.budgets.unwrap_or_default().into_iter().map(|b| b.budget_name).collect();
    assert_eq!(names, ["organization-monthly"]);

    let second = moto.run(&["plan", "--detailed-exitcode"], dir);
    assert_eq!(second.status.code(), Some(0), "second plan is empty:\n{}", stdout(&second));
    assert_eq!(
        budget_findings(&moto, dir),
        set(&[
            "budget/organization-monthly management PASS",
            "budget/workload-monthly app-dev PASS",
            "budget/workload-monthly app-prod PASS",
        ])
    );

    // Drift by hand: a raised limit in app-prod; in the management account the forecast alarm
    // deleted and an alarm added; in app-dev an extra recipient.
    let raised = aws_sdk_budgets::types::Budget::builder()
        .budget_name("workload-monthly")
        .budget_limit(aws_sdk_budgets::types::Spend::builder().amount("1500").unit("USD").build().expect("spend"))
        .time_unit(aws_sdk_budgets::types::TimeUnit::Monthly)
        .budget_type(aws_sdk_budgets::types::BudgetType::Cost)
        .build()
        .expect("budget");
    as_prod.update_budget().account_id(&prod).new_budget(raised).send().await.expect("raise the limit");
    management
        .delete_notification()
        .account_id(MANAGEMENT)
        .budget_name("organization-monthly")
        .notification(alarm(NotificationType::Forecasted, 110.0))
        .send()
        .await
        .expect("delete the forecast alarm");
    management
        .create_notification()
        .account_id(MANAGEMENT)
        .budget_name("organization-monthly")
        .notification(alarm(NotificationType::Actual, 50.0))
        .subscribers(email("someone@example.com"))
        .send()
        .await
        .expect("add an alarm");
    as_dev
        .create_subscriber()
        .account_id(&dev)
        .budget_name("workload-monthly")
        .notification(alarm(NotificationType::Actual, 100.0))
        .subscriber(email("intruder@example.com"))
        .send()
        .await
        .expect("add a recipient");

    let (controls, plan) = plan_controls(&moto, dir);
    assert_eq!(
        controls,
        set(&[
            "budget/organization-monthly management",
            "budget/workload-monthly app-dev",
            "budget/workload-monthly app-prod",
        ]),
        "{plan:#}"
    );
    let text = stdout(&moto.run(&["plan"], dir));
    assert!(text.contains("1500") && text.contains("intruder@example.com"), "attribute-level plan:\n{text}");
    assert_eq!(
        budget_findings(&moto, dir),
        set(&[
            "budget/organization-monthly management FAIL",
            "budget/workload-monthly app-dev FAIL",
            "budget/workload-monthly app-prod FAIL",
        ])
    );

    let repair = moto.run(&["apply", "--auto-approve"], dir);
    assert_eq!(repair.status.code(), Some(0), "{}\n{}", stdout(&repair), stderr(&repair));
    assert_eq!(
        read(&management, MANAGEMENT, "organization-monthly").await,
        ("5000 USD".to_string(), organization_alarms)
    );
    for (client, id) in [(&as_prod, &prod), (&as_dev, &dev)] {
        assert_eq!(read(client, id, "workload-monthly").await, ("1000 USD".to_string(), workload_alarms.clone()));
    }
    let last = moto.run(&["plan", "--detailed-exitcode"], dir);
    assert_eq!(last.status.code(), Some(0), "repaired:\n{}", stdout(&last));
}

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
    let findings = budget_findings_of(&moto, dir, "inspector/");
    assert_eq!(
        findings,
        set(&[
            "inspector/accounts security PASS",
            "inspector/admin management PASS",
            "inspector/organization_configuration security PASS"
        ])
    );
}
