//! Member accounts' root credentials (issue 14, centralized root access part 2) against moto
//! through the strict layer, which serves `sts:AssumeRoot` and the root user's IAM credentials
//! (support/root_credentials.rs): the audit reports them per member account, and deleting them is
//! an explicit opt-in (the spec's `delete_member_root_credentials` and `--allow-destructive`).

use std::path::Path;

use serde_json::Value;

use crate::support::root_credentials::{of, seed, SeededRoot, ROOT_SESSION_KEY_PREFIX};
use crate::support::{stderr, stdout, workspace, Moto};

const SPEC: &str = "version: 1
organization:
  policy_types: [SERVICE_CONTROL_POLICY]
  management_account: management
  regions: [us-east-1]
  root_access: { credentials_management: true, root_sessions: true }
accounts:
  management: { email: root@example.com }
  app: { email: app@example.com }
  ops: { email: ops@example.com }
";

const DELETE: &str =
    "root_access: { credentials_management: true, root_sessions: true, delete_member_root_credentials: true }";

/// An organization with two members, `app` and `ops`, made by hand: their ids.
async fn organization(moto: &Moto) -> (String, String) {
    let client = aws_sdk_organizations::Client::new(&moto.sdk_config().await);
    let all = aws_sdk_organizations::types::OrganizationFeatureSet::All;
    client.create_organization().feature_set(all).send().await.expect("organization");
    let mut ids = Vec::new();
    for name in ["app", "ops"] {
        let email = format!("{name}@example.com");
        let created = client.create_account().account_name(name).email(email).send().await.expect("create");
        ids.push(created.create_account_status.and_then(|status| status.account_id).expect("account id"));
    }
    (ids[0].clone(), ids[1].clone())
}

fn app_root() -> SeededRoot {
    SeededRoot {
        password: true,
        access_keys: vec!["AKIAROOTKEY000000001".to_string(), "AKIAROOTKEY000000002".to_string()],
        mfa_devices: vec!["arn:aws:iam::000000000000:mfa/root-account-mfa-device".to_string()],
        signing_certificates: Vec::new(),
    }
}

fn calls(moto: &Moto, operation: &str) -> u64 {
    moto.strict_proxy().stats().calls.get(operation).copied().unwrap_or(0)
}

/// IAM actions signed with root session credentials (AssumeRoot's).
fn root_session_actions(moto: &Moto) -> Vec<String> {
    let stats = moto.strict_proxy().stats();
    let mut actions: Vec<String> = stats
        .signed_by
        .iter()
        .filter(|(key, _)| key.starts_with(ROOT_SESSION_KEY_PREFIX))
        .flat_map(|(_, operations)| operations.iter().cloned())
        .collect();
    actions.sort();
    actions.dedup();
    actions
}

fn findings(moto: &Moto, dir: &Path) -> Vec<Value> {
    let output = moto.run_expecting(&["audit", "--format", "json"], dir, 1);
    let report: Value = serde_json::from_str(&output).expect("audit json");
    report["findings"].as_array().expect("findings").clone()
}

fn root_findings(findings: &[Value]) -> Vec<(String, String, String)> {
    findings
        .iter()
        .filter(|finding| finding["control"] == "root credentials")
        .map(|finding| {
            let text = |key: &str| finding[key].as_str().unwrap_or_default().to_string();
            (text("scope"), text("status"), text("detail"))
        })
        .collect()
}

#[tokio::test]
async fn the_audit_reports_member_root_credentials_through_one_assume_root_each() {
    let moto = Moto::start();
    let (app, ops) = organization(&moto).await;
    let dir = workspace(SPEC);

    // Without root credentials management the audit says it could not check, and never assumes root.
    let before = root_findings(&findings(&moto, dir.path()));
    assert_eq!(before.len(), 1, "{before:?}");
    assert_eq!((before[0].0.as_str(), before[0].1.as_str()), ("organization", "ERROR"));
    assert!(before[0].2.contains("could not check") && before[0].2.contains("credentials_management"), "{before:?}");
    assert_eq!(calls(&moto, "sts:AssumeRoot"), 0);

    moto.run_expecting(&["apply", "--auto-approve"], dir.path(), 0);
    seed(moto.port, &app, app_root());
    moto.strict_proxy().reset_stats();
    let after = root_findings(&findings(&moto, dir.path()));
    assert_eq!(
        after,
        [
            (
                format!("app ({app})"),
                "FAIL".to_string(),
                "the root user has: password, 2 access keys, 1 MFA device".to_string()
            ),
            (format!("ops ({ops})"), "PASS".to_string(), "none".to_string()),
        ]
    );
    // One AssumeRoot per member account, none for the management account.
    assert_eq!(calls(&moto, "sts:AssumeRoot"), 2);
    // The root sessions only read, each read allowed by IAMAuditRootUserCredentials.
    let actions = root_session_actions(&moto);
    assert_eq!(
        actions,
        ["iam:GetLoginProfile", "iam:ListAccessKeys", "iam:ListMFADevices", "iam:ListSigningCertificates"]
    );
    for action in &actions {
        assert!(landing_zone::live::root_credentials::AUDIT_TASK_ACTIONS.contains(&action.as_str()), "{action}");
    }
    assert_eq!(of(moto.port, &app), app_root(), "the audit changed nothing");
    // The caller's own policy carries AssumeRoot (the root sessions' calls are the task policy's).
    let policy = moto.run_expecting(&["permissions", "plan", "--role", "management"], dir.path(), 0);
    assert!(policy.contains("\"sts:AssumeRoot\""), "{policy}");
}

#[tokio::test]
async fn deleting_member_root_credentials_needs_the_spec_and_the_flag() {
    let moto = Moto::start();
    let (app, ops) = organization(&moto).await;
    let dir = workspace(SPEC);
    moto.run_expecting(&["apply", "--auto-approve"], dir.path(), 0);
    let mut root = app_root();
    root.signing_certificates.push("CERTROOT0000000000000001".to_string());
    seed(moto.port, &app, root.clone());
    let deletes =
        ["iam:DeleteLoginProfile", "iam:DeleteAccessKey", "iam:DeactivateMFADevice", "iam:DeleteSigningCertificate"];

    // The flag alone: the spec does not ask, so nothing is read.
    moto.strict_proxy().reset_stats();
    moto.run_expecting(&["plan", "--allow-destructive", "--detailed-exitcode"], dir.path(), 0);
    assert_eq!(calls(&moto, "sts:AssumeRoot"), 0);

    // The spec alone: blocked (pending), no AssumeRoot, and apply deletes nothing.
    std::fs::write(
        dir.path().join("landing-zone.yaml"),
        SPEC.replace("root_access: { credentials_management: true, root_sessions: true }", DELETE),
    )
    .expect("spec");
    let text = moto.run_expecting(&["plan"], dir.path(), 0);
    assert!(
        text.contains("Blocked")
            && text.contains("read and delete member accounts' root credentials")
            && text.contains("unblock: pass --allow-destructive"),
        "{text}"
    );
    assert!(!text.contains("root credentials of account"), "{text}");
    moto.run_expecting(&["apply", "--auto-approve"], dir.path(), 0);
    assert_eq!(calls(&moto, "sts:AssumeRoot"), 0);
    for delete in deletes {
        assert_eq!(calls(&moto, delete), 0, "{delete}");
    }
    assert_eq!(of(moto.port, &app), root);

    // Both: planned as one irreversible action for the member that has credentials.
    moto.strict_proxy().reset_stats();
    let text = moto.run_expecting(&["plan", "--allow-destructive"], dir.path(), 0);
    assert!(
        text.contains(
            "- root credentials of account app: password, 2 access keys, 1 MFA device, 1 signing certificate"
        ),
        "{text}"
    );
    assert!(text.contains("irreversible") && text.contains("0 to add, 0 to change, 1 to destroy"), "{text}");
    assert_eq!(calls(&moto, "sts:AssumeRoot"), 2, "one AssumeRoot per member account");
    let plan: Value =
        serde_json::from_str(&moto.run_expecting(&["plan", "--allow-destructive", "--format", "json"], dir.path(), 0))
            .expect("plan json");
    let actions = plan["actions"].as_array().expect("actions");
    assert_eq!(actions.len(), 1, "{plan:#}");
    assert_eq!(actions[0]["kind"], "delete_root_credentials");
    assert_eq!(actions[0]["id"], Value::from(app.clone()));
    assert!(!plan.to_string().contains(&ops), "nothing for `ops`, which has no root credentials: {plan:#}");

    moto.strict_proxy().reset_stats();
    moto.run_expecting(&["apply", "--allow-destructive", "--auto-approve"], dir.path(), 0);
    assert_eq!(of(moto.port, &app), SeededRoot::default(), "every root credential of `app` deleted");
    // One call per credential: the password, each of the 2 access keys, the MFA device, the certificate.
    for (delete, expected) in deletes.into_iter().zip([1, 2, 1, 1]) {
        assert_eq!(calls(&moto, delete), expected, "{delete}");
    }
    let written: Vec<String> = root_session_actions(&moto)
        .into_iter()
        .filter(|action| !landing_zone::live::root_credentials::AUDIT_TASK_ACTIONS.contains(&action.as_str()))
        .collect();
    for action in &written {
        assert!(landing_zone::live::root_credentials::DELETE_TASK_ACTIONS.contains(&action.as_str()), "{action}");
    }
    moto.run_expecting(&["plan", "--allow-destructive", "--detailed-exitcode"], dir.path(), 0);
}

#[tokio::test]
async fn deleting_root_credentials_without_credentials_management_is_refused_offline() {
    let moto = Moto::start();
    let spec = SPEC.replace(
        "root_access: { credentials_management: true, root_sessions: true }",
        "root_access: { root_sessions: true, delete_member_root_credentials: true }",
    );
    let dir = workspace(&spec);
    let output = moto.run(&["plan", "--allow-destructive"], dir.path());
    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
    let message = stderr(&output);
    assert!(
        message.contains("landing-zone.yaml:6:") && message.contains("needs `credentials_management: true`"),
        "{message}"
    );
    assert!(moto.strict_proxy().stats().calls.is_empty(), "no call to AWS");
}

#[tokio::test]
async fn strict_assume_root_rules() {
    let moto = Moto::start();
    let (app, _) = organization(&moto).await;
    let sts = aws_sdk_sts::Client::new(&moto.sdk_config().await);
    let task = |name: &str| {
        aws_sdk_sts::types::PolicyDescriptorType::builder()
            .arn(format!("arn:aws:iam::aws:policy/root-task/{name}"))
            .build()
    };
    let code = |error: &aws_sdk_sts::error::SdkError<aws_sdk_sts::operation::assume_root::AssumeRootError>| {
        aws_smithy_types::error::metadata::ProvideErrorMetadata::code(error).unwrap_or_default().to_string()
    };
    let assume =
        |target: String, policy: &str| sts.assume_root().target_principal(target).task_policy_arn(task(policy)).send();
    let refused = assume(app.clone(), "IAMAuditRootUserCredentials").await.expect_err("no root access yet");
    assert_eq!(code(&refused), "AccessDenied");
    let organizations = aws_sdk_organizations::Client::new(&moto.sdk_config().await);
    organizations.enable_aws_service_access().service_principal("iam.amazonaws.com").send().await.expect("trust");
    let iam = aws_sdk_iam::Client::new(&moto.sdk_config().await);
    iam.enable_organizations_root_sessions().send().await.expect("root sessions");
    let refused = assume(app.clone(), "IAMAuditRootUserCredentials").await.expect_err("credentials management is off");
    assert_eq!(code(&refused), "AccessDenied");
    iam.enable_organizations_root_credentials_management().send().await.expect("credentials management");
    let refused = assume(app.clone(), "AdministratorAccess").await.expect_err("not a root-task policy");
    assert_eq!(code(&refused), "ValidationError");
    let refused =
        assume("123456789012".to_string(), "IAMAuditRootUserCredentials").await.expect_err("the management account");
    assert_eq!(code(&refused), "AccessDenied");
    let session = assume(app.clone(), "IAMAuditRootUserCredentials").await.expect("a root session");
    let credentials = session.credentials.expect("credentials");
    assert!(credentials.access_key_id.starts_with(ROOT_SESSION_KEY_PREFIX));
}
