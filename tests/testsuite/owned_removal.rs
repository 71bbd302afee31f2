//! What landing-zone created and the spec no longer asks for is removed (issue 20, item 4): an
//! account moved out of a budget's and a role's targets loses the budget and the role (`-` in the
//! plan, removed by apply, the next plan empty), while a budget and a role of the same names that
//! someone else made (no `landing-zone:managed-by` tag) are noted and never touched. moto drops
//! budget tags; the strict layer keeps them (`support/budgets.rs`).

use crate::support::{stderr, stdout, workspace, Moto};

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
    workload-monthly:
      targets: { units: [Workloads] }
      limit_usd: 1000
      thresholds: [100]
      notify: [platform@example.com]
  roles:
    WorkloadAuditor:
      targets: { units: [Workloads] }
      trust: { accounts: [security] }
      managed_policies: [arn:aws:iam::aws:policy/ReadOnlyAccess]
      inline_policies:
        deny-billing: { Version: "2012-10-17", Statement: [{ Effect: Deny, Action: "aws-portal:*", Resource: "*" }] }
"#;

/// The names of the budgets in one account, read as that account.
async fn budgets(client: &aws_sdk_budgets::Client, account: &str) -> Vec<String> {
    let listed = client.describe_budgets().account_id(account).send().await.expect("budgets");
    let mut names: Vec<String> =
        listed.budgets.unwrap_or_default().into_iter().map(|budget| budget.budget_name).collect();
    names.sort();
    names
}

async fn has_role(client: &aws_sdk_iam::Client, name: &str) -> bool {
    match client.get_role().role_name(name).send().await {
        Ok(_) => true,
        Err(error) if error.as_service_error().is_some_and(|e| e.is_no_such_entity_exception()) => false,
        Err(error) => panic!("GetRole {name}: {error:?}"),
    }
}

/// `kind address` of every action of a JSON plan.
fn actions(plan: &serde_json::Value) -> Vec<String> {
    let mut shown: Vec<String> = plan["actions"]
        .as_array()
        .expect("actions")
        .iter()
        .map(|action| {
            let control = &action["control"];
            let address = match control["control"].as_str() {
                Some(name) => format!("{name} in {}", control["account"].as_str().unwrap_or("?")),
                None => action["account"]["name"].as_str().unwrap_or("?").to_string(),
            };
            format!("{} {address}", action["kind"].as_str().unwrap_or("?"))
        })
        .collect();
    shown.sort();
    shown
}

#[tokio::test]
async fn an_account_moved_out_of_the_targets_loses_what_the_tool_made_there_and_nothing_else() {
    let moto = Moto::start_with_managed_policies();
    let dir = workspace(SPEC);
    let dir = dir.path();
    moto.run_expecting(&["apply", "--auto-approve"], dir, 0);

    let organizations = aws_sdk_organizations::Client::new(&moto.sdk_config().await);
    let listed = organizations.list_accounts().send().await.expect("accounts").accounts.unwrap_or_default();
    let id_of = |email: &str| {
        listed.iter().find(|a| a.email.as_deref() == Some(email)).and_then(|a| a.id.clone()).expect("account id")
    };
    let (prod, dev, security) =
        (id_of("aws+app-prod@example.com"), id_of("aws+app-dev@example.com"), id_of("aws+security@example.com"));
    let budgets_in = |config| aws_sdk_budgets::Client::new(config);
    let (prod_config, dev_config, security_config) =
        (moto.assumed_config(&prod).await, moto.assumed_config(&dev).await, moto.assumed_config(&security).await);
    let (prod_budgets, dev_budgets, security_budgets) =
        (budgets_in(&prod_config), budgets_in(&dev_config), budgets_in(&security_config));
    let (prod_iam, dev_iam, security_iam) = (
        aws_sdk_iam::Client::new(&prod_config),
        aws_sdk_iam::Client::new(&dev_config),
        aws_sdk_iam::Client::new(&security_config),
    );
    assert_eq!(budgets(&dev_budgets, &dev).await, ["workload-monthly"]);
    assert!(has_role(&dev_iam, "WorkloadAuditor").await);

    // Someone else's budget and role of the same names in the security account, untagged.
    let budget = aws_sdk_budgets::types::Budget::builder()
        .budget_name("workload-monthly")
        .budget_limit(aws_sdk_budgets::types::Spend::builder().amount("10").unit("USD").build().expect("spend"))
        .time_unit(aws_sdk_budgets::types::TimeUnit::Monthly)
        .budget_type(aws_sdk_budgets::types::BudgetType::Cost)
        .build()
        .expect("budget");
    security_budgets.create_budget().account_id(&security).budget(budget).send().await.expect("hand-made budget");
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    security_iam
        .create_role()
        .role_name("WorkloadAuditor")
        .assume_role_policy_document(trust)
        .send()
        .await
        .expect("hand-made role");

    // app-dev leaves Workloads: its budget and role are the tool's and no longer wanted there.
    let moved = SPEC.replace(
        "app-dev: { email: aws+app-dev@example.com, unit: Workloads }",
        "app-dev: { email: aws+app-dev@example.com, unit: Security }",
    );
    std::fs::write(dir.join("landing-zone.yaml"), &moved).expect("spec");
    let plan = moto.plan_json(dir);
    assert_eq!(
        actions(&plan),
        [
            "move_account app-dev",
            "remove_control budget/workload-monthly in app-dev",
            "remove_control iam_role/WorkloadAuditor in app-dev",
        ],
        "{plan:#}"
    );
    let text = moto.run_expecting(&["plan"], dir, 0);
    assert!(text.contains("- budgets/workload-monthly in app-dev"), "{text}");
    assert!(text.contains("- roles/WorkloadAuditor in app-dev"), "{text}");
    assert!(text.contains("to destroy") && text.contains("2 to destroy"), "{text}");
    for unowned in ["budgets/workload-monthly in security", "roles/WorkloadAuditor in security"] {
        assert!(
            text.contains(&format!("{unowned}: exists, but landing-zone did not create it")),
            "{unowned} is noted:\n{text}"
        );
    }

    // Applied as reviewed: a saved plan, whose removals apply finds again before it acts.
    moto.run_expecting(&["plan", "--out", "reviewed.plan"], dir, 0);
    let output = moto.run(&["apply", "reviewed.plan"], dir);
    assert_eq!(output.status.code(), Some(0), "{}\n{}", stdout(&output), stderr(&output));
    assert!(budgets(&dev_budgets, &dev).await.is_empty(), "the budget left app-dev");
    assert!(!has_role(&dev_iam, "WorkloadAuditor").await, "the role left app-dev");
    // What stays wanted stays; what someone else made is untouched.
    assert_eq!(budgets(&prod_budgets, &prod).await, ["workload-monthly"]);
    assert!(has_role(&prod_iam, "WorkloadAuditor").await);
    assert_eq!(budgets(&security_budgets, &security).await, ["workload-monthly"]);
    assert!(has_role(&security_iam, "WorkloadAuditor").await);

    let again = moto.run(&["plan", "--detailed-exitcode"], dir);
    assert_eq!(again.status.code(), Some(0), "the next plan is empty:\n{}\n{}", stdout(&again), stderr(&again));
}

#[tokio::test]
async fn a_role_that_lost_the_tag_after_review_is_not_removed() {
    let moto = Moto::start_with_managed_policies();
    let dir = workspace(SPEC);
    let dir = dir.path();
    moto.run_expecting(&["apply", "--auto-approve"], dir, 0);
    let moved = SPEC.replace(
        "app-dev: { email: aws+app-dev@example.com, unit: Workloads }",
        "app-dev: { email: aws+app-dev@example.com, unit: Security }",
    );
    std::fs::write(dir.join("landing-zone.yaml"), &moved).expect("spec");
    moto.run_expecting(&["plan", "--out", "reviewed.plan"], dir, 0);

    // After the review, someone takes the role over: it no longer carries landing-zone's tag.
    let organizations = aws_sdk_organizations::Client::new(&moto.sdk_config().await);
    let listed = organizations.list_accounts().send().await.expect("accounts").accounts.unwrap_or_default();
    let dev = listed
        .iter()
        .find(|a| a.email.as_deref() == Some("aws+app-dev@example.com"))
        .and_then(|a| a.id.clone())
        .expect("app-dev");
    let iam = aws_sdk_iam::Client::new(&moto.assumed_config(&dev).await);
    iam.untag_role().role_name("WorkloadAuditor").tag_keys("landing-zone:managed-by").send().await.expect("untag");

    // Read again under the lock, the role is no longer the tool's: the reviewed removal is no
    // longer planned, so nothing is applied (apply's own step checks the tag once more as well).
    let output = moto.run(&["apply", "reviewed.plan"], dir);
    assert_ne!(output.status.code(), Some(0), "{}\n{}", stdout(&output), stderr(&output));
    let message = stderr(&output);
    assert!(
        message.contains("`roles/WorkloadAuditor in app-dev`") && message.contains("is no longer planned"),
        "{message}"
    );
    assert!(has_role(&iam, "WorkloadAuditor").await, "the role someone took over is kept");
    let budgets_in_dev = aws_sdk_budgets::Client::new(&moto.assumed_config(&dev).await);
    assert_eq!(budgets(&budgets_in_dev, &dev).await, ["workload-monthly"], "nothing was applied");
}

/// AWS Config rules (issue 20, item 4): a rule dropped from the spec goes from every account, and
/// every rule goes from an account that leaves the targets; the recorder and channel stay, and a
/// rule someone else made, untagged, is never touched.
const CONFIG_SPEC: &str = r#"version: 1
organization:
  feature_set: ALL
  management_account: management
  regions: [us-east-1]
units:
  Security: {}
  Workloads: {}
accounts:
  management: { email: aws-root@example.com, unit: Root }
  log-archive: { email: aws+logs@example.com, unit: Security }
  app-prod: { email: aws+app-prod@example.com, unit: Workloads }
  app-dev: { email: aws+app-dev@example.com, unit: Workloads }
baseline:
  log_archive: { account: log-archive }
  aws_config:
    targets: { units: [Workloads] }
    rules:
      ACCESS_KEYS_ROTATED: { maxAccessKeyAge: "90" }
      S3_BUCKET_VERSIONING_ENABLED: {}
"#;

/// The names of the AWS Config rules in one account's region.
async fn config_rules(client: &aws_sdk_config::Client) -> Vec<String> {
    let listed = client.describe_config_rules().send().await.expect("rules");
    let mut names: Vec<String> =
        listed.config_rules.unwrap_or_default().into_iter().filter_map(|rule| rule.config_rule_name).collect();
    names.sort();
    names
}

#[tokio::test]
async fn config_rules_the_spec_drops_or_an_account_leaves_are_removed_and_no_other() {
    let moto = Moto::start();
    let dir = workspace(CONFIG_SPEC);
    let dir = dir.path();
    moto.run_expecting(&["apply", "--auto-approve"], dir, 0);

    let organizations = aws_sdk_organizations::Client::new(&moto.sdk_config().await);
    let listed = organizations.list_accounts().send().await.expect("accounts").accounts.unwrap_or_default();
    let id_of = |email: &str| {
        listed.iter().find(|a| a.email.as_deref() == Some(email)).and_then(|a| a.id.clone()).expect("account id")
    };
    let (prod, dev) = (id_of("aws+app-prod@example.com"), id_of("aws+app-dev@example.com"));
    let prod_config = aws_sdk_config::Client::new(&moto.assumed_config(&prod).await);
    let dev_config = aws_sdk_config::Client::new(&moto.assumed_config(&dev).await);
    assert_eq!(config_rules(&dev_config).await, ["ACCESS_KEYS_ROTATED", "S3_BUCKET_VERSIONING_ENABLED"]);

    // Someone else's rule in app-prod, of the shape landing-zone makes but untagged.
    let source = aws_sdk_config::types::Source::builder()
        .owner(aws_sdk_config::types::Owner::Aws)
        .source_identifier("ROOT_ACCOUNT_MFA_ENABLED")
        .build()
        .expect("source");
    let theirs = aws_sdk_config::types::ConfigRule::builder()
        .config_rule_name("ROOT_ACCOUNT_MFA_ENABLED")
        .source(source)
        .build();
    prod_config.put_config_rule().config_rule(theirs).send().await.expect("hand-made rule");

    // ACCESS_KEYS_ROTATED leaves the spec; app-dev leaves Workloads.
    let changed = CONFIG_SPEC.replace("      ACCESS_KEYS_ROTATED: { maxAccessKeyAge: \"90\" }\n", "").replace(
        "app-dev: { email: aws+app-dev@example.com, unit: Workloads }",
        "app-dev: { email: aws+app-dev@example.com, unit: Security }",
    );
    std::fs::write(dir.join("landing-zone.yaml"), &changed).expect("spec");
    let plan = moto.plan_json(dir);
    assert_eq!(
        actions(&plan),
        [
            "move_account app-dev",
            "remove_control aws_config/rule/ACCESS_KEYS_ROTATED in app-dev",
            "remove_control aws_config/rule/ACCESS_KEYS_ROTATED in app-prod",
            "remove_control aws_config/rule/S3_BUCKET_VERSIONING_ENABLED in app-dev",
        ],
        "{plan:#}"
    );
    let text = moto.run_expecting(&["plan"], dir, 0);
    assert!(text.contains("3 to destroy"), "{text}");

    moto.run_expecting(&["apply", "--auto-approve"], dir, 0);
    assert_eq!(config_rules(&prod_config).await, ["ROOT_ACCOUNT_MFA_ENABLED", "S3_BUCKET_VERSIONING_ENABLED"]);
    assert!(config_rules(&dev_config).await.is_empty(), "app-dev keeps no rule of the tool's");
    let recorders = dev_config.describe_configuration_recorders().send().await.expect("recorders");
    assert_eq!(recorders.configuration_recorders().len(), 1, "the recorder of an account that left stays");

    let again = moto.run(&["plan", "--detailed-exitcode"], dir);
    assert_eq!(again.status.code(), Some(0), "the next plan is empty:\n{}\n{}", stdout(&again), stderr(&again));
}
