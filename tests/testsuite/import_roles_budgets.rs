//! `import` writes `baseline.roles` and `baseline.budgets` from what landing-zone created (the
//! roles and budgets carrying its `landing-zone:managed-by` tag): one entry per name, targeting
//! the accounts that have it, role trust written back in the spec's `trust:` shape and inline
//! policies as files under `policies/`; the plan of the imported spec is empty. What the spec cannot
//! say (a trust condition it has no word for, a budget that differs between accounts) leaves the
//! section out with a note, since with the section the plan would remove the tagged ones it does
//! not name; what the tool did not create (untagged) is never imported, and the note says so.
//! `baseline.backup` comes back from the organization's backup policy and the vault its copy
//! actions point to, only when every control it asks for reads back as it wants.

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
    organization-monthly:
      account: management
      limit_usd: 5000
      thresholds: [100, 80]
      forecast_threshold: 110
      notify: [ops@example.com, finance@example.com]
    workload-monthly:
      targets: { units: [Workloads] }
      limit_usd: 1000
      thresholds: [100]
      notify: [platform@example.com]
  roles:
    WorkloadAuditor:
      description: Read-only audit of the workloads
      targets: { units: [Workloads] }
      trust: { accounts: [security], require_mfa: true }
      managed_policies: [arn:aws:iam::aws:policy/ReadOnlyAccess]
      max_session_duration: 7200
      inline_policies:
        deny-billing: { Version: "2012-10-17", Statement: [{ Effect: Deny, Action: "aws-portal:*", Resource: "*" }] }
    VendorAudit:
      targets: { units: [Root] }
      trust: { accounts: ["111122223333"], external_id: vendor-7f3c9a2e }
      managed_policies: [arn:aws:iam::aws:policy/SecurityAudit]
    Chained:
      targets: { accounts: [security] }
      trust: { roles: [app-prod/WorkloadAuditor, security/OrganizationAccountAccessRole], services: [ec2.amazonaws.com] }
"#;

/// What import writes back: accounts named by their keys, the units the spec targeted by the
/// accounts in them, the inline policy as a file.
const IMPORTED: &str = r#"
budgets:
  organization-monthly:
    account: MANAGEMENT
    limit_usd: 5000
    thresholds: [80, 100]
    forecast_threshold: 110
    notify: [finance@example.com, ops@example.com]
  workload-monthly:
    targets: { accounts: [app-dev, app-prod] }
    limit_usd: 1000
    thresholds: [100]
    notify: [platform@example.com]
roles:
  Chained:
    targets: { accounts: [security] }
    trust:
      roles: [app-prod/WorkloadAuditor, security/OrganizationAccountAccessRole]
      services: [ec2.amazonaws.com]
      require_mfa: false
    max_session_duration: 3600
  VendorAudit:
    targets: { units: [Root] }
    trust: { accounts: ["111122223333"], require_mfa: false, external_id: vendor-7f3c9a2e }
    managed_policies: [arn:aws:iam::aws:policy/SecurityAudit]
    max_session_duration: 3600
  WorkloadAuditor:
    targets: { accounts: [app-dev, app-prod] }
    trust: { accounts: [security], require_mfa: true }
    description: Read-only audit of the workloads
    managed_policies: [arn:aws:iam::aws:policy/ReadOnlyAccess]
    inline_policies: { deny-billing: policies/role-WorkloadAuditor-deny-billing.json }
    max_session_duration: 7200
"#;

fn imported_spec(dir: &std::path::Path) -> serde_yaml::Value {
    let spec = std::fs::read_to_string(dir.join("landing-zone.yaml")).expect("imported spec");
    serde_yaml::from_str(&spec).expect("yaml")
}

fn import(moto: &Moto) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let output = moto.run(&["import", "--out", "."], dir.path());
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    (dir, stderr(&output))
}

/// The plan of the spec in `dir` changes nothing.
fn assert_plan_is_empty(moto: &Moto, dir: &std::path::Path) {
    let plan = moto.run(&["plan", "--detailed-exitcode"], dir);
    assert_eq!(plan.status.code(), Some(0), "{}\n{}", stdout(&plan), stderr(&plan));
}

/// Account ids by email.
async fn account_ids(moto: &Moto) -> std::collections::BTreeMap<String, String> {
    let organizations = aws_sdk_organizations::Client::new(&moto.sdk_config().await);
    let listed = organizations.list_accounts().send().await.expect("accounts").accounts.unwrap_or_default();
    listed.into_iter().filter_map(|account| Some((account.email?, account.id?))).collect()
}

#[tokio::test]
async fn roles_and_budgets_come_back_as_applied_and_plan_nothing() {
    let moto = Moto::start_with_managed_policies();
    let applied = workspace(SPEC);
    moto.run_expecting(&["apply", "--auto-approve"], applied.path(), 0);

    let (imported, notes) = import(&moto);
    let spec = imported_spec(imported.path());
    let management = spec["organization"]["management_account"].as_str().expect("management account").to_string();
    let expected: serde_yaml::Value =
        serde_yaml::from_str(&IMPORTED.replace("MANAGEMENT", &management)).expect("expected sections");
    assert_eq!(spec["baseline"]["budgets"], expected["budgets"], "{notes}");
    assert_eq!(spec["baseline"]["roles"], expected["roles"], "{notes}");
    let document = std::fs::read_to_string(imported.path().join("policies/role-WorkloadAuditor-deny-billing.json"))
        .expect("the inline policy's file");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&document).expect("json"),
        serde_json::json!({ "Version": "2012-10-17", "Statement": [{ "Effect": "Deny", "Action": "aws-portal:*", "Resource": "*" }] })
    );
    assert!(!notes.contains("`baseline.roles` left out") && !notes.contains("`baseline.budgets` left out"), "{notes}");
    moto.run_expecting(&["validate"], imported.path(), 0);
    assert_plan_is_empty(&moto, imported.path());
}

#[tokio::test]
async fn what_the_spec_cannot_say_or_the_tool_did_not_make_is_left_out_with_a_note() {
    let moto = Moto::start_with_managed_policies();
    let applied = workspace(SPEC);
    moto.run_expecting(&["apply", "--auto-approve"], applied.path(), 0);
    let ids = account_ids(&moto).await;
    let (security, dev) = (&ids["aws+security@example.com"], &ids["aws+app-dev@example.com"]);
    let (security_config, dev_config) = (moto.assumed_config(security).await, moto.assumed_config(dev).await);

    // Made by hand, without the tag: a role in app-dev and a budget in security. Never imported;
    // the tool's own roles and budgets still are.
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    let dev_iam = aws_sdk_iam::Client::new(&dev_config);
    dev_iam.create_role().role_name("HandMade").assume_role_policy_document(trust).send().await.expect("role");
    let spend = aws_sdk_budgets::types::Spend::builder().amount("10").unit("USD").build().expect("spend");
    let budget = |name: &str| {
        aws_sdk_budgets::types::Budget::builder()
            .budget_name(name)
            .budget_limit(spend.clone())
            .time_unit(aws_sdk_budgets::types::TimeUnit::Monthly)
            .budget_type(aws_sdk_budgets::types::BudgetType::Cost)
            .build()
            .expect("budget")
    };
    let security_budgets = aws_sdk_budgets::Client::new(&security_config);
    security_budgets.create_budget().account_id(security).budget(budget("team-monthly")).send().await.expect("budget");
    let (imported, notes) = import(&moto);
    let spec = imported_spec(imported.path());
    assert!(
        notes.contains("roles without the `landing-zone:managed-by` tag are not imported")
            && notes.contains("`HandMade` (`app-dev`)")
            && notes.contains("would take such a role over in place"),
        "{notes}"
    );
    assert!(
        notes.contains("budgets without the `landing-zone:managed-by` tag are not imported")
            && notes.contains("`team-monthly` (`security`)"),
        "{notes}"
    );
    assert!(spec["baseline"]["roles"]["HandMade"].is_null() && !spec["baseline"]["roles"]["Chained"].is_null());
    assert!(
        spec["baseline"]["budgets"]["team-monthly"].is_null()
            && !spec["baseline"]["budgets"]["workload-monthly"].is_null()
    );
    assert_plan_is_empty(&moto, imported.path());

    // Chained's trust gains a condition `trust:` has no word for, and app-dev's budget a higher
    // limit than app-prod's: neither can be written, and the sections without them would have the
    // plan remove them, so both sections are left out, naming why.
    let condition = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":["ec2.amazonaws.com"]},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"aws:SourceAccount":"111122223333"}}}]}"#;
    aws_sdk_iam::Client::new(&security_config)
        .update_assume_role_policy()
        .role_name("Chained")
        .policy_document(condition)
        .send()
        .await
        .expect("trust changed by hand");
    let raised = aws_sdk_budgets::types::Budget::builder()
        .budget_name("workload-monthly")
        .budget_limit(aws_sdk_budgets::types::Spend::builder().amount("1500").unit("USD").build().expect("spend"))
        .time_unit(aws_sdk_budgets::types::TimeUnit::Monthly)
        .budget_type(aws_sdk_budgets::types::BudgetType::Cost)
        .build()
        .expect("budget");
    aws_sdk_budgets::Client::new(&dev_config)
        .update_budget()
        .account_id(dev)
        .new_budget(raised)
        .send()
        .await
        .expect("limit raised by hand");
    let (imported, notes) = import(&moto);
    let spec = imported_spec(imported.path());
    assert!(spec["baseline"]["roles"].is_null(), "{:?}", spec["baseline"]);
    assert!(spec["baseline"]["budgets"].is_null(), "{:?}", spec["baseline"]);
    assert!(
        notes.contains("`baseline.roles` left out: role `Chained` has a trust policy `trust:` cannot express")
            && notes.contains("the plan would remove the roles landing-zone created that it does not name"),
        "{notes}"
    );
    assert!(
        notes.contains(
            "`baseline.budgets` left out: budget `workload-monthly` differs between `app-dev` and `app-prod`"
        ),
        "{notes}"
    );
    // Without the sections the plan neither changes nor removes them.
    assert_plan_is_empty(&moto, imported.path());
}

const BACKUP_SPEC: &str = r#"
version: 1
organization:
  management_account: management
  regions: [us-east-1]
units:
  Workloads: {}
accounts:
  management: { email: aws-root@example.com }
  log-archive: { email: aws+log-archive@example.com }
  app: { email: aws+app@example.com, unit: Workloads }
baseline:
  backup:
    vault_account: log-archive
    vault_lock: { min_retention_days: 7, max_retention_days: 400 }
    plans:
      daily:
        schedule: cron(0 5 ? * * *)
        retention_days: 35
        copy_to_bunker_retention_days: 365
        selection_tags: { backup: daily }
        targets: { units: [Workloads] }
"#;

/// The backup policy comes back as the `plans` that make it and the bunker vault (account, name,
/// lock) as its copy actions point to it; the policy is not listed under `policies:` as well, and
/// the plan is empty. A member role deleted by hand leaves the section out, naming it, and the
/// policy is imported as one of `policies:`, so the plan still changes nothing.
#[tokio::test]
async fn backup_comes_back_from_its_policy_and_its_vault() {
    let moto = Moto::start_with_managed_policies();
    let applied = workspace(BACKUP_SPEC);
    moto.run_expecting(&["apply", "--auto-approve"], applied.path(), 0);

    let (imported, notes) = import(&moto);
    let spec = imported_spec(imported.path());
    let reference: serde_yaml::Value = serde_yaml::from_str(BACKUP_SPEC).expect("yaml");
    let mut expected = reference["baseline"]["backup"].clone();
    expected["vault_name"] = "landing-zone-bunker".into();
    assert_eq!(spec["baseline"]["backup"], expected, "{notes}");
    assert!(spec["policies"]["landing-zone-backup"].is_null(), "{:?}", spec["policies"]);
    assert_plan_is_empty(&moto, imported.path());

    let ids = account_ids(&moto).await;
    let iam = aws_sdk_iam::Client::new(&moto.assumed_config(&ids["aws+app@example.com"]).await);
    let attached = iam.list_attached_role_policies().role_name("LandingZoneBackup").send().await.expect("policies");
    for policy in attached.attached_policies.unwrap_or_default() {
        let arn = policy.policy_arn.unwrap_or_default();
        iam.detach_role_policy().role_name("LandingZoneBackup").policy_arn(arn).send().await.expect("detach");
    }
    iam.delete_role().role_name("LandingZoneBackup").send().await.expect("the member role deleted by hand");
    let (imported, notes) = import(&moto);
    let spec = imported_spec(imported.path());
    assert!(spec["baseline"]["backup"].is_null(), "{:?}", spec["baseline"]);
    assert!(
        notes.contains("`baseline.backup` left out: backup/member_role in app is not as the section would have it"),
        "{notes}"
    );
    assert!(!spec["policies"]["landing-zone-backup"].is_null(), "{:?}", spec["policies"]);
    assert_plan_is_empty(&moto, imported.path());
}
