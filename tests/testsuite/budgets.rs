//! `baseline.budgets` against moto: AWS Budgets alarms applied by the binary, read back independently (management credentials for the management account,
//! assumed roles for members), a second plan empty, drift made by hand planned exactly (attribute
//! level), reported by `audit` per account, and repaired. moto lacks `UpdateBudget` and the
//! subscriber operations: the strict layer serves them (`support/budgets.rs`, docs/testing.md).

use std::collections::BTreeSet;

use crate::support::outputs::{audit_findings, plan_controls, set};
use crate::support::{stderr, stdout, Moto};
use aws_sdk_budgets::types::{
    ComparisonOperator, Notification, NotificationType, Subscriber, SubscriptionType, ThresholdType,
};

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

/// `control account status` of the audit's findings about budgets.
fn budget_findings(moto: &Moto, dir: &std::path::Path) -> BTreeSet<String> {
    audit_findings(moto, dir, "budget/")
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
