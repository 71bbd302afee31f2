//! IAM Identity Center (issue 14) against moto through the strict layer (which serves what moto
//! lacks: provisioning status, permissions boundaries, asynchronous assignment answers,
//! `support/identity_center.rs`): converge, the second plan empty, drift made by hand (a managed
//! policy attached, an assignment deleted) planned and repaired; an unknown group is a plan error
//! with no write; a change to an assigned set is provisioned again; an assignment the tool did
//! not make is a note, never removed. One moto per test.

use std::path::Path;

use serde_json::Value;

use crate::support::{stderr, stdout, workspace, Moto};

const SPEC: &str = r#"version: 1
organization:
  management_account: management
  regions: [us-east-1]
units:
  Infrastructure: {}
accounts:
  management: { email: root@example.com, unit: Root }
  shared: { email: shared@example.com, unit: Infrastructure }
identity_center:
  groups: [Platform]
  permission_sets:
    Administrator:
      description: Full access for the platform team
      session_duration: PT4H
      managed_policies: [arn:aws:iam::aws:policy/AdministratorAccess]
    Auditor:
      relay_state: https://console.aws.amazon.com/
      managed_policies: [arn:aws:iam::aws:policy/ReadOnlyAccess]
      inline_policy: { Version: "2012-10-17", Statement: [{ Effect: Deny, Action: "s3:DeleteBucket", Resource: "*" }] }
      permissions_boundary: { managed_policy: arn:aws:iam::aws:policy/ReadOnlyAccess }
  assignments:
    - { group: Platform, permission_set: Administrator, targets: { units: [Infrastructure] } }
    - { group: Auditors, permission_set: Auditor, targets: { units: [Root] } }
"#;

/// The controls a plan configures.
fn planned_controls(plan: &Value) -> Vec<String> {
    let actions = plan["actions"].as_array().expect("actions");
    let mut controls: Vec<String> =
        actions.iter().filter_map(|action| action["control"]["control"].as_str().map(str::to_string)).collect();
    controls.sort();
    controls
}

struct Directory {
    sso: aws_sdk_ssoadmin::Client,
    identity: aws_sdk_identitystore::Client,
    instance: String,
    store: String,
}

async fn directory(moto: &Moto) -> Directory {
    let config = moto.sdk_config().await;
    let sso = aws_sdk_ssoadmin::Client::new(&config);
    let identity = aws_sdk_identitystore::Client::new(&config);
    let instances = sso.list_instances().send().await.expect("instances").instances.unwrap_or_default();
    let first = instances.into_iter().next().expect("an instance");
    Directory {
        sso,
        identity,
        instance: first.instance_arn.expect("arn"),
        store: first.identity_store_id.expect("store"),
    }
}

impl Directory {
    async fn create_group(&self, name: &str) -> String {
        let created = self.identity.create_group().identity_store_id(&self.store).display_name(name).send().await;
        created.expect("create group").group_id
    }

    async fn set_arn(&self, name: &str) -> String {
        let sets = self.sso.list_permission_sets().instance_arn(&self.instance).send().await.expect("list");
        for arn in sets.permission_sets.unwrap_or_default() {
            let described = self
                .sso
                .describe_permission_set()
                .instance_arn(&self.instance)
                .permission_set_arn(&arn)
                .send()
                .await
                .expect("describe");
            if described.permission_set.and_then(|set| set.name).as_deref() == Some(name) {
                return arn;
            }
        }
        panic!("no permission set `{name}`")
    }

    async fn assignments(&self, account: &str, set: &str) -> Vec<(String, String)> {
        let listed = self
            .sso
            .list_account_assignments()
            .instance_arn(&self.instance)
            .account_id(account)
            .permission_set_arn(set)
            .send()
            .await
            .expect("list assignments");
        let mut found: Vec<(String, String)> = listed
            .account_assignments
            .unwrap_or_default()
            .into_iter()
            .map(|a| {
                (
                    a.principal_type.map(|t| t.as_str().to_string()).unwrap_or_default(),
                    a.principal_id.unwrap_or_default(),
                )
            })
            .collect();
        found.sort();
        found
    }

    async fn assign(&self, account: &str, set: &str, group: &str) {
        self.sso
            .create_account_assignment()
            .instance_arn(&self.instance)
            .target_id(account)
            .target_type(aws_sdk_ssoadmin::types::TargetType::AwsAccount)
            .permission_set_arn(set)
            .principal_type(aws_sdk_ssoadmin::types::PrincipalType::Group)
            .principal_id(group)
            .send()
            .await
            .expect("assign by hand");
    }
}

async fn account_id(moto: &Moto, name: &str) -> String {
    let client = aws_sdk_organizations::Client::new(&moto.sdk_config().await);
    let accounts = client.list_accounts().send().await.expect("accounts").accounts.unwrap_or_default();
    accounts.into_iter().find(|account| account.name.as_deref() == Some(name)).and_then(|a| a.id).expect("account")
}

#[tokio::test]
async fn identity_center_converges_and_repairs_drift() {
    let moto = Moto::start();
    let directory = directory(&moto).await;
    let auditors = directory.create_group("Auditors").await;
    let dir = workspace(SPEC);

    let text = moto.run_expecting(&["apply", "--auto-approve"], dir.path(), 0);
    assert!(text.contains("identity_center/permission_set/Auditor"), "{text}");
    let again = moto.run_expecting(&["plan", "--detailed-exitcode"], dir.path(), 0);
    assert!(again.contains("No changes") || !again.contains("identity_center/"), "second plan not empty:\n{again}");

    // Converged as the spec says, read back through the API.
    let administrator = directory.set_arn("Administrator").await;
    let auditor = directory.set_arn("Auditor").await;
    let described = directory
        .sso
        .describe_permission_set()
        .instance_arn(&directory.instance)
        .permission_set_arn(&administrator)
        .send()
        .await
        .expect("describe")
        .permission_set
        .expect("set");
    assert_eq!(described.session_duration.as_deref(), Some("PT4H"));
    let shared = account_id(&moto, "shared").await;
    let platform = directory
        .identity
        .get_group_id()
        .identity_store_id(&directory.store)
        .alternate_identifier(aws_sdk_identitystore::types::AlternateIdentifier::UniqueAttribute(
            aws_sdk_identitystore::types::UniqueAttribute::builder()
                .attribute_path("displayName")
                .attribute_value(aws_smithy_types::Document::String("Platform".to_string()))
                .build()
                .expect("attribute"),
        ))
        .send()
        .await
        .expect("Platform was created")
        .group_id;
    assert_eq!(directory.assignments(&shared, &administrator).await, [("GROUP".to_string(), platform.clone())]);
    // `units: [Root]` reaches the management account too.
    assert_eq!(directory.assignments("123456789012", &auditor).await, [("GROUP".to_string(), auditors.clone())]);
    assert_eq!(directory.assignments(&shared, &auditor).await, [("GROUP".to_string(), auditors.clone())]);

    // Drift by hand: a managed policy attached to a set, an assignment deleted.
    directory
        .sso
        .attach_managed_policy_to_permission_set()
        .instance_arn(&directory.instance)
        .permission_set_arn(&administrator)
        .managed_policy_arn("arn:aws:iam::aws:policy/ReadOnlyAccess")
        .send()
        .await
        .expect("attach by hand");
    directory
        .sso
        .delete_account_assignment()
        .instance_arn(&directory.instance)
        .target_id(&shared)
        .target_type(aws_sdk_ssoadmin::types::TargetType::AwsAccount)
        .permission_set_arn(&auditor)
        .principal_type(aws_sdk_ssoadmin::types::PrincipalType::Group)
        .principal_id(&auditors)
        .send()
        .await
        .expect("delete by hand");
    let drift = moto.plan_json(dir.path());
    assert_eq!(
        planned_controls(&drift),
        ["identity_center/assignments/Auditor", "identity_center/permission_set/Administrator"],
        "{drift:#}"
    );
    let text = moto.run_expecting(&["plan"], dir.path(), 0);
    assert!(text.contains("arn:aws:iam::aws:policy/ReadOnlyAccess"), "the hand-attached policy is shown:\n{text}");

    let before = moto.strict_proxy().stats().calls_of("sso");
    moto.run_expecting(&["apply", "--auto-approve"], dir.path(), 0);
    let after = moto.strict_proxy().stats().calls_of("sso");
    let count = |calls: &std::collections::BTreeMap<String, u64>, name: &str| calls.get(name).copied().unwrap_or(0);
    // The Administrator set is assigned: its change is provisioned again, and waited for.
    assert_eq!(count(&after, "ProvisionPermissionSet") - count(&before, "ProvisionPermissionSet"), 1, "{after:?}");
    assert!(
        count(&after, "DescribePermissionSetProvisioningStatus")
            > count(&before, "DescribePermissionSetProvisioningStatus"),
        "provisioning was polled: {after:?}"
    );
    assert!(
        count(&after, "DescribeAccountAssignmentCreationStatus")
            > count(&before, "DescribeAccountAssignmentCreationStatus"),
        "the assignment creation was polled: {after:?}"
    );
    assert_eq!(directory.assignments(&shared, &auditor).await, [("GROUP".to_string(), auditors.clone())]);
    let managed = directory
        .sso
        .list_managed_policies_in_permission_set()
        .instance_arn(&directory.instance)
        .permission_set_arn(&administrator)
        .send()
        .await
        .expect("list");
    let arns: Vec<String> =
        managed.attached_managed_policies.unwrap_or_default().into_iter().filter_map(|policy| policy.arn).collect();
    assert_eq!(arns, ["arn:aws:iam::aws:policy/AdministratorAccess"]);
    moto.strict_proxy().reset_stats();
    moto.run_expecting(&["plan", "--detailed-exitcode"], dir.path(), 0);
    // Assignments are read where each set is provisioned, not in every account: Administrator in
    // `shared`, Auditor in `management` and `shared`.
    let listed = moto.strict_proxy().stats().calls_of("sso");
    assert_eq!(count(&listed, "ListAccountAssignments"), 3, "{listed:?}");
}

#[tokio::test]
async fn an_unknown_group_is_a_plan_error_with_no_write() {
    let moto = Moto::start();
    // The instance landing-zone manages is the organization instance of the management account:
    // before an organization exists an account can hold only an account instance (CreateInstance
    // "for a standalone AWS account that is not managed by AWS Organizations"), so the directory
    // that names `Auditors` is read once the organization exists. moto serves an instance without
    // any organization.
    // https://docs.aws.amazon.com/singlesignon/latest/APIReference/API_CreateInstance.html
    let organizations = aws_sdk_organizations::Client::new(&moto.sdk_config().await);
    organizations.create_organization().send().await.expect("organization");
    let dir = workspace(SPEC);
    // apply plans before it takes the lock: a plan error writes nothing, not even the lock.
    for args in [&["plan"][..], &["apply", "--auto-approve"][..]] {
        moto.strict_proxy().reset_stats();
        let output = moto.run(args, dir.path());
        assert_eq!(output.status.code(), Some(1), "{args:?}: {}", stdout(&output));
        let error = stderr(&output);
        assert!(error.contains("group `Auditors` does not exist"), "{args:?}: {error}");
        assert!(error.contains("identity_center.groups"), "{args:?}: the hint names the fix: {error}");
        let made = moto.strict_proxy().stats().writes;
        assert!(made.is_empty(), "{args:?}: writes reached AWS: {made:?}");
    }
}

#[tokio::test]
async fn assignments_the_tool_did_not_make_are_notes_not_removed() {
    let moto = Moto::start();
    let directory = directory(&moto).await;
    directory.create_group("Auditors").await;
    let dir = workspace(SPEC);
    moto.run_expecting(&["apply", "--auto-approve"], dir.path(), 0);

    let contractors = directory.create_group("Contractors").await;
    let administrator = directory.set_arn("Administrator").await;
    let shared = account_id(&moto, "shared").await;
    directory.assign(&shared, &administrator, &contractors).await;

    let text = moto.run_expecting(&["plan", "--detailed-exitcode"], dir.path(), 0);
    assert!(text.contains(&contractors) && text.contains("left in place"), "a note names it:\n{text}");
    moto.run_expecting(&["apply", "--auto-approve"], dir.path(), 0);
    let held = directory.assignments(&shared, &administrator).await;
    assert!(held.iter().any(|(_, id)| id == &contractors), "the hand-made assignment was removed: {held:?}");
}

/// `status detail` of the audit's Identity Center findings, by scope's first word.
fn audit_findings(moto: &Moto, dir: &Path) -> Vec<String> {
    let output = moto.run(&["audit", "--format", "json"], dir);
    let report: Value = serde_json::from_str(&stdout(&output)).expect("audit json");
    let mut found: Vec<String> = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|finding| finding["control"] == "identity center")
        .map(|finding| {
            let scope = finding["scope"].as_str().unwrap_or_default().split(' ').next().unwrap_or_default();
            format!(
                "{scope} {} {}",
                finding["status"].as_str().unwrap_or_default(),
                finding["detail"].as_str().unwrap_or_default()
            )
        })
        .collect();
    found.sort();
    found
}

#[tokio::test]
async fn audit_reports_unassigned_accounts_and_administrator_sets() {
    let moto = Moto::start();
    let directory = directory(&moto).await;
    directory.create_group("Auditors").await;
    // Only the Administrator set is assigned (to `shared`): `management` has no assignment.
    let spec = SPEC.replace("    - { group: Auditors, permission_set: Auditor, targets: { units: [Root] } }\n", "");
    let dir = workspace(&spec);
    moto.run_expecting(&["apply", "--auto-approve"], dir.path(), 0);
    let findings = audit_findings(&moto, dir.path());
    assert_eq!(
        findings,
        [
            "management FAIL no Identity Center assignment: nobody signs in here through Identity Center",
            "organization FAIL permission set `Administrator` grants AdministratorAccess",
            "shared PASS some permission set is assigned here",
        ],
        "{findings:#?}"
    );
}

#[tokio::test]
async fn a_change_to_an_assigned_set_is_provisioned_again() {
    let moto = Moto::start();
    let directory = directory(&moto).await;
    directory.create_group("Auditors").await;
    let dir = workspace(SPEC);
    moto.run_expecting(&["apply", "--auto-approve"], dir.path(), 0);
    let provisioned =
        || moto.strict_proxy().stats().calls_of("sso").get("ProvisionPermissionSet").copied().unwrap_or(0);
    assert_eq!(provisioned(), 0, "new sets are provisioned by their assignments, not again");

    let changed = SPEC
        .replace("session_duration: PT4H", "session_duration: PT8H")
        .replace("Action: \"s3:DeleteBucket\"", "Action: [\"s3:DeleteBucket\", \"s3:DeleteObject\"]");
    std::fs::write(dir.path().join("landing-zone.yaml"), changed).expect("write spec");
    let plan = moto.plan_json(dir.path());
    assert_eq!(
        planned_controls(&plan),
        ["identity_center/permission_set/Administrator", "identity_center/permission_set/Auditor"],
        "{plan:#}"
    );
    moto.run_expecting(&["apply", "--auto-approve"], dir.path(), 0);
    assert_eq!(provisioned(), 2, "both sets are assigned, each is provisioned once");
    moto.run_expecting(&["plan", "--detailed-exitcode"], dir.path(), 0);
}

#[tokio::test]
async fn import_writes_the_identity_center_section_plan_shows_no_change() {
    let moto = Moto::start();
    let directory = directory(&moto).await;
    directory.create_group("Auditors").await;
    let spec = SPEC.replace(
        "      managed_policies: [arn:aws:iam::aws:policy/AdministratorAccess]\n",
        "      managed_policies: [arn:aws:iam::aws:policy/AdministratorAccess]\n      customer_managed_policies: [{ name: TeamBoundary, path: /teams/ }]\n",
    );
    let applied = workspace(&spec);
    moto.run_expecting(&["apply", "--auto-approve"], applied.path(), 0);

    let imported = tempfile::tempdir().expect("temp dir");
    moto.run_expecting(&["import", "--out", "."], imported.path(), 0);
    let text = std::fs::read_to_string(imported.path().join("landing-zone.yaml")).expect("imported spec");
    let written: serde_yaml::Value = serde_yaml::from_str(&text).expect("yaml");
    let section = &written["identity_center"];
    let sets = section["permission_sets"].as_mapping().unwrap_or_else(|| panic!("no permission sets:\n{text}"));
    let names: Vec<&str> = sets.keys().filter_map(|key| key.as_str()).collect();
    assert_eq!(names, ["Administrator", "Auditor"], "{text}");
    let administrator = &section["permission_sets"]["Administrator"];
    assert_eq!(administrator["session_duration"].as_str(), Some("PT4H"), "{text}");
    assert_eq!(administrator["description"].as_str(), Some("Full access for the platform team"), "{text}");
    assert_eq!(administrator["customer_managed_policies"][0]["path"].as_str(), Some("/teams/"), "{text}");
    let auditor = &section["permission_sets"]["Auditor"];
    assert_eq!(auditor["relay_state"].as_str(), Some("https://console.aws.amazon.com/"), "{text}");
    assert_eq!(
        auditor["permissions_boundary"]["managed_policy"].as_str(),
        Some("arn:aws:iam::aws:policy/ReadOnlyAccess"),
        "{text}"
    );
    // The inline policy is a policy file like the other imported documents.
    let file = auditor["inline_policy"].as_str().unwrap_or_else(|| panic!("no inline policy file:\n{text}"));
    assert!(file.starts_with("policies/"), "{text}");
    let document: Value =
        serde_json::from_str(&std::fs::read_to_string(imported.path().join(file)).expect("policy file")).expect("json");
    assert_eq!(document["Statement"][0]["Action"], "s3:DeleteBucket", "{document:#}");
    // Import never creates groups; assignments name the principals and the imported accounts.
    assert!(section.get("groups").is_none(), "{text}");
    let assignments: Vec<String> = section["assignments"]
        .as_sequence()
        .unwrap_or_else(|| panic!("no assignments:\n{text}"))
        .iter()
        .map(|assignment| serde_json::to_string(&assignment).expect("json"))
        .collect();
    assert_eq!(
        assignments,
        [
            r#"{"group":"Platform","permission_set":"Administrator","targets":{"accounts":["shared"]}}"#,
            r#"{"group":"Auditors","permission_set":"Auditor","targets":{"accounts":["management","shared"]}}"#,
        ],
        "{text}"
    );

    // The imported spec manages the instance as the applied one does: no Identity Center change.
    let plan = moto.plan_json(imported.path());
    let controls = planned_controls(&plan);
    assert!(controls.iter().all(|control| !control.starts_with("identity_center/")), "{plan:#}");
    // And it does manage it: drift by hand is planned from the imported spec.
    let set = directory.set_arn("Administrator").await;
    directory
        .sso
        .attach_managed_policy_to_permission_set()
        .instance_arn(&directory.instance)
        .permission_set_arn(&set)
        .managed_policy_arn("arn:aws:iam::aws:policy/ReadOnlyAccess")
        .send()
        .await
        .expect("attach by hand");
    let drift = moto.plan_json(imported.path());
    assert!(
        planned_controls(&drift).contains(&"identity_center/permission_set/Administrator".to_string()),
        "{drift:#}"
    );
}

/// Calls of one sso-admin operation since the proxy's statistics were last reset.
fn sso_calls(moto: &Moto, operation: &str) -> u64 {
    moto.strict_proxy().stats().calls_of("sso").get(operation).copied().unwrap_or(0)
}

async fn describe_set(directory: &Directory, name: &str) -> aws_sdk_ssoadmin::types::PermissionSet {
    let arn = directory.set_arn(name).await;
    let described =
        directory.sso.describe_permission_set().instance_arn(&directory.instance).permission_set_arn(&arn).send();
    described.await.expect("describe").permission_set.expect("set")
}

/// A description cannot be removed (UpdatePermissionSet: `Description` has a minimum length of 1,
/// and a field it is not sent stays as it is). One dropped from the spec is left in place with a
/// note, never planned: no UpdatePermissionSet, no provisioning again, and the plan converges.
/// https://docs.aws.amazon.com/singlesignon/latest/APIReference/API_UpdatePermissionSet.html
#[tokio::test]
async fn a_description_dropped_from_the_spec_is_kept_and_the_plan_converges() {
    let moto = Moto::start();
    let directory = directory(&moto).await;
    directory.create_group("Auditors").await;
    let dir = workspace(SPEC);
    moto.run_expecting(&["apply", "--auto-approve"], dir.path(), 0);

    let without = SPEC.replace("      description: Full access for the platform team\n", "");
    std::fs::write(dir.path().join("landing-zone.yaml"), &without).expect("write spec");
    let plan = moto.plan_json(dir.path());
    let controls = planned_controls(&plan);
    assert!(controls.iter().all(|control| !control.starts_with("identity_center/")), "{plan:#}");
    let text = moto.run_expecting(&["plan", "--detailed-exitcode"], dir.path(), 0);
    assert!(text.contains("keeps its description"), "the plan says why it stays:\n{text}");
    moto.strict_proxy().reset_stats();
    moto.run_expecting(&["apply", "--auto-approve"], dir.path(), 0);
    assert_eq!(sso_calls(&moto, "UpdatePermissionSet"), 0);
    assert_eq!(sso_calls(&moto, "ProvisionPermissionSet"), 0);

    // Another change to the set leaves the description too, and the next plan is empty.
    std::fs::write(dir.path().join("landing-zone.yaml"), without.replace("PT4H", "PT8H")).expect("write spec");
    moto.strict_proxy().reset_stats();
    moto.run_expecting(&["apply", "--auto-approve"], dir.path(), 0);
    assert_eq!(sso_calls(&moto, "UpdatePermissionSet"), 1);
    let described = describe_set(&directory, "Administrator").await;
    assert_eq!(described.description.as_deref(), Some("Full access for the platform team"));
    assert_eq!(described.session_duration.as_deref(), Some("PT8H"));
    moto.run_expecting(&["plan", "--detailed-exitcode"], dir.path(), 0);
}

/// The layer's rules for permission set fields: UpdatePermissionSet leaves what it is not sent
/// (moto clears it), and a description is 1-700 characters of AWS's pattern.
#[tokio::test]
async fn strict_update_permission_set_leaves_unsent_fields_and_checks_descriptions() {
    let moto = Moto::start();
    let directory = directory(&moto).await;
    let created = directory
        .sso
        .create_permission_set()
        .instance_arn(&directory.instance)
        .name("Reader")
        .description("kept")
        .session_duration("PT2H")
        .send()
        .await
        .expect("create");
    let arn = created.permission_set.and_then(|set| set.permission_set_arn).expect("arn");
    let update = || directory.sso.update_permission_set().instance_arn(&directory.instance).permission_set_arn(&arn);
    update().session_duration("PT3H").send().await.expect("update the duration only");
    let described = describe_set(&directory, "Reader").await;
    assert_eq!(described.description.as_deref(), Some("kept"));
    assert_eq!(described.session_duration.as_deref(), Some("PT3H"));
    for refused in ["", "a \u{2192} b"] {
        let error = update().description(refused).send().await.expect_err("refused");
        assert_eq!(error.into_service_error().meta().code(), Some("ValidationException"), "{refused:?}");
    }
    assert_eq!(describe_set(&directory, "Reader").await.description.as_deref(), Some("kept"));
}

/// Only the management account manages the management account's assignments and the permission
/// sets provisioned to it: another account's CreateAccountAssignment or ProvisionPermissionSet
/// targeting it is refused, as a delegated administrator's is.
/// https://docs.aws.amazon.com/singlesignon/latest/userguide/delegated-admin.html
#[tokio::test]
async fn strict_only_the_management_account_manages_its_assignments() {
    use aws_sdk_ssoadmin::types::{PrincipalType, ProvisionTargetType, TargetType};
    let moto = Moto::start();
    let organizations = aws_sdk_organizations::Client::new(&moto.sdk_config().await);
    organizations.create_organization().send().await.expect("organization");
    organizations.create_account().account_name("security").email("security@example.com").send().await.expect("a");
    let security = account_id(&moto, "security").await;
    // A new account answers nothing for a moment (the layer's fresh-account window).
    tokio::time::sleep(crate::support::strict::Strict::default().fresh_account_window).await;
    let sso = aws_sdk_ssoadmin::Client::new(&moto.assumed_config(&security).await);
    let instances = sso.list_instances().send().await.expect("instances").instances.unwrap_or_default();
    let instance = instances.into_iter().next().and_then(|instance| instance.instance_arn).expect("an instance");
    // moto answers a set created without a duration with a number where AWS sends ISO-8601.
    let created = sso.create_permission_set().instance_arn(&instance).name("Auditor").session_duration("PT1H");
    let created = created.send().await.expect("set");
    let set = created.permission_set.and_then(|set| set.permission_set_arn).expect("arn");
    let assign = |target: &str| {
        sso.create_account_assignment()
            .instance_arn(&instance)
            .target_id(target)
            .target_type(TargetType::AwsAccount)
            .permission_set_arn(&set)
            .principal_type(PrincipalType::Group)
            .principal_id("g-1234567890")
            .send()
    };
    let error = assign("123456789012").await.expect_err("the management account's assignment is refused");
    assert_eq!(error.into_service_error().meta().code(), Some("AccessDeniedException"));
    assign(&security).await.expect("its own account's assignment is accepted");
    let provision = |target: Option<&str>| {
        let request = sso.provision_permission_set().instance_arn(&instance).permission_set_arn(&set);
        match target {
            Some(account) => request.target_type(ProvisionTargetType::AwsAccount).target_id(account).send(),
            None => request.target_type(ProvisionTargetType::AllProvisionedAccounts).send(),
        }
    };
    let error = provision(Some("123456789012")).await.expect_err("provisioning to the management account is refused");
    assert_eq!(error.into_service_error().meta().code(), Some("AccessDeniedException"));
    provision(None).await.expect("the set is provisioned to member accounts only");
}

/// Identity Center's APIs are throttled per account: a plan lists and describes the instance's
/// permission sets once, not once per set and assignments control (two sets here, four
/// controls that need a set's ARN).
/// https://docs.aws.amazon.com/singlesignon/latest/userguide/limits.html
#[tokio::test]
async fn permission_sets_are_listed_and_described_once_per_plan() {
    let moto = Moto::start();
    let directory = directory(&moto).await;
    directory.create_group("Auditors").await;
    let dir = workspace(SPEC);
    moto.run_expecting(&["apply", "--auto-approve"], dir.path(), 0);
    moto.strict_proxy().reset_stats();
    moto.run_expecting(&["plan", "--detailed-exitcode"], dir.path(), 0);
    assert_eq!(sso_calls(&moto, "ListPermissionSets"), 1);
    assert_eq!(sso_calls(&moto, "DescribePermissionSet"), 2);
}

/// Issue 20, item 4: a permission set landing-zone created that the spec no longer names is
/// removed, its assignments first; one someone else made (no ownership tag) is never touched.
#[tokio::test]
async fn a_permission_set_the_spec_drops_is_removed_with_its_assignments_and_no_other() {
    let moto = Moto::start();
    let directory = directory(&moto).await;
    directory.create_group("Auditors").await;
    let dir = workspace(SPEC);
    moto.run_expecting(&["apply", "--auto-approve"], dir.path(), 0);
    let shared = account_id(&moto, "shared").await;
    let administrator = directory.set_arn("Administrator").await;
    assert_eq!(directory.assignments(&shared, &administrator).await.len(), 1);

    // Someone else's set, untagged.
    let theirs = directory
        .sso
        .create_permission_set()
        .instance_arn(&directory.instance)
        .name("BreakGlass")
        .session_duration("PT1H")
        .send()
        .await
        .expect("hand-made set");
    let theirs = theirs.permission_set.and_then(|set| set.permission_set_arn).expect("arn");

    // Administrator leaves the spec, with its assignment.
    let dropped = SPEC
        .replace(
            "    Administrator:\n      description: Full access for the platform team\n      session_duration: PT4H\n      managed_policies: [arn:aws:iam::aws:policy/AdministratorAccess]\n",
            "",
        )
        .replace("    - { group: Platform, permission_set: Administrator, targets: { units: [Infrastructure] } }\n", "");
    assert_ne!(dropped, SPEC);
    std::fs::write(dir.path().join("landing-zone.yaml"), &dropped).expect("spec");
    let plan = moto.plan_json(dir.path());
    let removals: Vec<String> = plan["actions"]
        .as_array()
        .expect("actions")
        .iter()
        .filter(|action| action["kind"] == "remove_control")
        .filter_map(|action| action["control"]["control"].as_str().map(str::to_string))
        .collect();
    assert_eq!(removals, ["identity_center/permission_set/Administrator"], "{plan:#}");

    moto.run_expecting(&["apply", "--auto-approve"], dir.path(), 0);
    let sets = directory.sso.list_permission_sets().instance_arn(&directory.instance).send().await.expect("sets");
    let sets = sets.permission_sets.unwrap_or_default();
    assert!(!sets.contains(&administrator), "the dropped set is gone: {sets:?}");
    assert!(sets.contains(&theirs), "the hand-made set stays: {sets:?}");
    assert_eq!(sets.len(), 2, "Auditor and BreakGlass remain: {sets:?}");
    assert!(directory.assignments(&shared, &administrator).await.is_empty(), "its assignment went first");

    let again = moto.run(&["plan", "--detailed-exitcode"], dir.path());
    assert_eq!(again.status.code(), Some(0), "the next plan is empty:\n{}\n{}", stdout(&again), stderr(&again));
}
