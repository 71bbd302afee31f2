//! Identity and root (issue 14) against moto through the strict layer: accounts renamed to their
//! spec names (`account:PutAccountName`) and centralized root access (IAM's organization
//! features), both served by the layer since moto lacks them: converged, the second plan empty,
//! drift made by hand planned and repaired.

use std::time::Duration;

use serde_json::Value;

use crate::support::{workspace, Moto};

const ORGANIZATION: &str = "version: 1
organization:
  policy_types: [SERVICE_CONTROL_POLICY]
  management_account: management
  regions: [us-east-1]
accounts:
  management: { email: root@example.com }
  app: { email: legacy@example.com }
  ops: { email: ops@example.com, name: Ops Team }
";

fn kinds(plan: &Value) -> Vec<String> {
    let actions = plan["actions"].as_array().expect("actions");
    actions.iter().map(|action| action["kind"].as_str().unwrap_or_default().to_string()).collect()
}

fn code_of<E: aws_smithy_types::error::metadata::ProvideErrorMetadata>(error: &E) -> String {
    error.code().unwrap_or_default().to_string()
}

/// An organization made by hand, with one member named otherwise than the spec names it.
async fn organization_with_legacy_member(moto: &Moto) -> (aws_sdk_organizations::Client, String) {
    let client = aws_sdk_organizations::Client::new(&moto.sdk_config().await);
    let all = aws_sdk_organizations::types::OrganizationFeatureSet::All;
    client.create_organization().feature_set(all).send().await.expect("organization");
    let created =
        client.create_account().account_name("Legacy App").email("legacy@example.com").send().await.expect("create");
    let member = created.create_account_status.and_then(|status| status.account_id).expect("account id");
    (client, member)
}

async fn name_of(client: &aws_sdk_organizations::Client, id: &str) -> String {
    let described = client.describe_account().account_id(id).send().await.expect("describe");
    described.account.and_then(|account| account.name).expect("name")
}

#[tokio::test]
async fn accounts_are_renamed_to_their_spec_names() {
    let moto = Moto::start();
    let (client, member) = organization_with_legacy_member(&moto).await;
    let management = "123456789012";
    let dir = workspace(ORGANIZATION);

    let text = moto.run_expecting(&["plan"], dir.path(), 0);
    assert!(text.contains("~ account app") && text.contains(r#"name: "Legacy App" → "app""#), "{text}");
    assert!(text.contains("~ account management") && text.contains(r#"name: "master" → "management""#), "{text}");
    assert!(!text.contains("the spec's name is used only inside the spec"), "a rename, not a note:\n{text}");
    let plan = moto.plan_json(dir.path());
    let mut planned = kinds(&plan);
    planned.sort();
    // (moto lists no policy type on a new root: docs/testing.md.)
    assert_eq!(
        planned,
        [
            "create_account",
            "enable_policy_type",
            "enable_service_access",
            "rename_account",
            "rename_account",
            "rename_account"
        ],
        "{plan:#}"
    );
    // A new account is created under its key, then given its `name:`.
    assert!(text.contains(r#"name: "ops" → "Ops Team""#), "{text}");
    // The member's rename waits for trusted access for the Account Management service.
    let actions = plan["actions"].as_array().expect("actions");
    let trust = actions.iter().position(|a| a["service"] == "account.amazonaws.com").expect("trusted access");
    let rename_member = actions.iter().find(|a| a["after"] == "app").expect("member rename");
    assert_eq!(rename_member["management"], false);
    assert!(rename_member["depends_on"].as_array().expect("deps").contains(&Value::from(trust)), "{plan:#}");
    let rename_management = actions.iter().find(|a| a["after"] == "management").expect("management rename");
    assert_eq!(
        (rename_management["management"].clone(), rename_management["depends_on"].clone()),
        (Value::Bool(true), Value::Array(vec![]))
    );

    moto.run_expecting(&["apply", "--auto-approve"], dir.path(), 0);
    assert_eq!(name_of(&client, &member).await, "app");
    assert_eq!(name_of(&client, management).await, "management");
    let listed = client.list_accounts().send().await.expect("accounts").accounts.unwrap_or_default();
    let mut names: Vec<&str> = listed.iter().filter_map(|account| account.name()).collect();
    names.sort_unstable();
    assert_eq!(names, ["Ops Team", "app", "management"]);
    let second = moto.run_expecting(&["plan", "--detailed-exitcode"], dir.path(), 0);
    assert!(second.contains("Plan: 0 to add, 0 to change, 0 to destroy."), "{second}");

    // Drift made by hand: the member renamed in the console. The apply above just spent the
    // caller's PutAccountName token (1 per second, the strict layer's published rate): the hand
    // rename retries until the bucket refills, as a person's second rename would simply wait.
    let patient = aws_config::retry::RetryConfig::standard().with_max_attempts(10);
    let account = aws_sdk_account::Client::new(&moto.sdk_config().await.to_builder().retry_config(patient).build());
    account.put_account_name().account_id(&member).account_name("hand-renamed").send().await.expect("rename");
    let plan = moto.plan_json(dir.path());
    assert_eq!(kinds(&plan), ["rename_account"], "exactly the drift: {plan:#}");
    let text = moto.run_expecting(&["plan"], dir.path(), 0);
    assert!(text.contains(r#"name: "hand-renamed" → "app""#) && text.contains("0 to add, 1 to change"), "{text}");
    moto.run_expecting(&["apply", "--auto-approve"], dir.path(), 0);
    assert_eq!(name_of(&client, &member).await, "app");
    moto.run_expecting(&["plan", "--detailed-exitcode"], dir.path(), 0);
}

#[tokio::test]
async fn a_new_organization_names_its_management_account() {
    let moto = Moto::start();
    let dir = workspace(
        &ORGANIZATION
            .replace("  app: { email: legacy@example.com }\n", "")
            .replace("  ops: { email: ops@example.com, name: Ops Team }\n", ""),
    );
    let text = moto.run_expecting(&["plan"], dir.path(), 0);
    assert!(text.contains(r#"name: (known after apply) → "management""#), "{text}");
    moto.run_expecting(&["apply", "--auto-approve"], dir.path(), 0);
    let client = aws_sdk_organizations::Client::new(&moto.sdk_config().await);
    assert_eq!(name_of(&client, "123456789012").await, "management");
    moto.run_expecting(&["plan", "--detailed-exitcode"], dir.path(), 0);
}

#[tokio::test]
async fn strict_put_account_name_rules() {
    let moto = Moto::start();
    let (organizations, member) = organization_with_legacy_member(&moto).await;
    let account = aws_sdk_account::Client::new(&moto.sdk_config().await);
    // One call a second: AWS throttles PutAccountName above that (see the test below).
    let put = |id: Option<&str>, name: &str| {
        let request = account.put_account_name().set_account_id(id.map(str::to_string)).account_name(name);
        async move {
            tokio::time::sleep(Duration::from_millis(1100)).await;
            request.send().await
        }
    };
    let refused = put(Some(&member), "renamed").await.expect_err("no trusted access for account.amazonaws.com yet");
    assert_eq!(code_of(&refused), "AccessDeniedException");
    organizations.enable_aws_service_access().service_principal("account.amazonaws.com").send().await.expect("trust");
    let own = put(Some("123456789012"), "boss").await.expect_err("the management account cannot name its own id");
    assert_eq!(code_of(&own), "AccessDeniedException");
    let bad = put(Some(&member), "a<b").await.expect_err("`<` is outside [ -;=?-~]");
    assert_eq!(code_of(&bad), "ValidationException");
    put(Some(&member), "renamed").await.expect("member renamed");
    put(None, "boss").await.expect("the management account renames itself without AccountId");
    assert_eq!(name_of(&organizations, &member).await, "renamed");
    assert_eq!(name_of(&organizations, "123456789012").await, "boss");
    let root =
        organizations.list_roots().send().await.expect("roots").roots.unwrap_or_default()[0].id.clone().expect("id");
    let under_root = organizations.list_accounts_for_parent().parent_id(root).send().await.expect("list");
    let mut names: Vec<String> = under_root.accounts().iter().filter_map(|a| a.name.clone()).collect();
    names.sort();
    assert_eq!(names, ["boss", "renamed"]);
}

/// The Account Management quotas page gives PutAccountName "1 per second, burst to 1 per second"
/// per caller account (https://docs.aws.amazon.com/accounts/latest/reference/quotas.html): the
/// layer answers a second call within the second with TooManyRequestsException (HTTP 429), as AWS.
#[tokio::test]
async fn strict_put_account_name_is_limited_to_one_a_second_per_caller() {
    let moto = Moto::start();
    organization_with_legacy_member(&moto).await;
    let config = moto.sdk_config().await;
    // The SDK's own retries would hide the throttle.
    let config = aws_sdk_account::config::Builder::from(&config)
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .build();
    let account = aws_sdk_account::Client::from_conf(config);
    account.put_account_name().account_name("first").send().await.expect("the first call of the second");
    let throttled = account.put_account_name().account_name("second").send().await.expect_err("a second call at once");
    assert_eq!(code_of(&throttled), "TooManyRequestsException");
    assert_eq!(throttled.raw_response().map(|response| response.status().as_u16()), Some(429));
    tokio::time::sleep(Duration::from_millis(1100)).await;
    account.put_account_name().account_name("third").send().await.expect("a second later the bucket has a token");
    assert_eq!(moto.strict_proxy().stats().rate_throttled.get("PutAccountName"), Some(&1));
}

/// Renaming seven accounts in one apply (six members and the management account) stays under
/// PutAccountName's published rate of one a second per caller: the client paces the calls
/// (`aws::rate_limit`), so the layer, which throttles above the rate as AWS does, never throttles
/// one, and the apply converges.
#[tokio::test]
async fn renaming_many_accounts_is_paced_under_the_published_rate() {
    let moto = Moto::start();
    let client = aws_sdk_organizations::Client::new(&moto.sdk_config().await);
    let all = aws_sdk_organizations::types::OrganizationFeatureSet::All;
    client.create_organization().feature_set(all).send().await.expect("organization");
    let mut spec = ORGANIZATION
        .replace("  app: { email: legacy@example.com }\n", "")
        .replace("  ops: { email: ops@example.com, name: Ops Team }\n", "");
    let mut members = Vec::new();
    for index in 0..6 {
        let email = format!("team-{index}@example.com");
        let created =
            client.create_account().account_name(format!("Legacy {index}")).email(&email).send().await.expect("create");
        members.push(created.create_account_status.and_then(|status| status.account_id).expect("account id"));
        spec.push_str(&format!("  team-{index}: {{ email: {email} }}\n"));
    }
    let dir = workspace(&spec);
    let plan = moto.plan_json(dir.path());
    assert_eq!(kinds(&plan).iter().filter(|kind| *kind == "rename_account").count(), 7, "{plan:#}");

    // Client-side limiting on, as in production.
    let output = moto
        .command(&["apply", "--auto-approve"], dir.path(), &moto.endpoint)
        .env_remove("LANDING_ZONE_RATE_LIMIT")
        .output()
        .expect("run landing-zone");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let stats = moto.strict_proxy().stats();
    assert_eq!(stats.calls.get("account:POST /putAccountName"), Some(&7), "one call per rename: {:?}", stats.calls);
    assert_eq!(stats.rate_throttled.get("PutAccountName"), None, "no rename was throttled");
    for (index, member) in members.iter().enumerate() {
        assert_eq!(name_of(&client, member).await, format!("team-{index}"));
    }
    assert_eq!(name_of(&client, "123456789012").await, "management");
    moto.run_expecting(&["plan", "--detailed-exitcode"], dir.path(), 0);
}

const ROOT_ACCESS: &str = "version: 1
organization:
  policy_types: [SERVICE_CONTROL_POLICY]
  management_account: management
  regions: [us-east-1]
  root_access: { credentials_management: true, root_sessions: true }
accounts:
  management: { email: root@example.com }
";

async fn root_features(iam: &aws_sdk_iam::Client) -> Vec<String> {
    let listed = iam.list_organizations_features().send().await.expect("features");
    let mut features: Vec<String> = listed.enabled_features().iter().map(|f| f.as_str().to_string()).collect();
    features.sort();
    features
}

#[tokio::test]
async fn centralized_root_access_is_enabled_after_trusted_access_for_iam() {
    let moto = Moto::start();
    let (_, _member) = organization_with_legacy_member(&moto).await;
    let dir = workspace(
        &ROOT_ACCESS.replace("accounts:\n", "accounts:\n  legacy: { email: legacy@example.com, name: Legacy App }\n"),
    );
    let plan = moto.plan_json(dir.path());
    let actions = plan["actions"].as_array().expect("actions");
    let trust = actions.iter().position(|a| a["service"] == "iam.amazonaws.com").expect("trusted access for IAM");
    let features: Vec<&Value> = actions.iter().filter(|a| a["kind"] == "enable_root_access_feature").collect();
    let names: Vec<&str> = features.iter().filter_map(|a| a["feature"].as_str()).collect();
    assert_eq!(names, ["RootCredentialsManagement", "RootSessions"], "{plan:#}");
    for feature in &features {
        assert!(feature["depends_on"].as_array().expect("deps").contains(&Value::from(trust)), "{plan:#}");
    }
    let text = moto.run_expecting(&["plan"], dir.path(), 0);
    assert!(
        text.contains("+ root access RootCredentialsManagement") && text.contains("+ root access RootSessions"),
        "{text}"
    );

    moto.run_expecting(&["apply", "--auto-approve"], dir.path(), 0);
    let iam = aws_sdk_iam::Client::new(&moto.sdk_config().await);
    assert_eq!(root_features(&iam).await, ["RootCredentialsManagement", "RootSessions"]);
    moto.run_expecting(&["plan", "--detailed-exitcode"], dir.path(), 0);

    // `import` writes what it finds, and plan on the imported spec changes nothing.
    let imported = tempfile::tempdir().expect("dir");
    moto.run_expecting(&["import", "--out", "."], imported.path(), 0);
    let spec = std::fs::read_to_string(imported.path().join("landing-zone.yaml")).expect("spec");
    assert!(
        spec.contains("root_access:")
            && spec.contains("credentials_management: true")
            && spec.contains("root_sessions: true"),
        "{spec}"
    );
    moto.run_expecting(&["plan", "--detailed-exitcode"], imported.path(), 0);

    // Drift made by hand: root sessions turned off.
    iam.disable_organizations_root_sessions().send().await.expect("disable");
    let plan = moto.plan_json(dir.path());
    assert_eq!(kinds(&plan), ["enable_root_access_feature"], "exactly the drift: {plan:#}");
    assert_eq!(plan["actions"][0]["feature"], "RootSessions");
    moto.run_expecting(&["apply", "--auto-approve"], dir.path(), 0);
    assert_eq!(root_features(&iam).await, ["RootCredentialsManagement", "RootSessions"]);
    moto.run_expecting(&["plan", "--detailed-exitcode"], dir.path(), 0);
}

#[tokio::test]
async fn strict_root_access_rules() {
    let moto = Moto::start();
    let (organizations, member) = organization_with_legacy_member(&moto).await;
    let iam = aws_sdk_iam::Client::new(&moto.sdk_config().await);
    let refused = iam.list_organizations_features().send().await.expect_err("no trusted access for IAM yet");
    assert_eq!(code_of(&refused), "ServiceAccessNotEnabledException");
    let refused = iam.enable_organizations_root_sessions().send().await.expect_err("no trusted access for IAM yet");
    assert_eq!(code_of(&refused), "ServiceAccessNotEnabledException");
    organizations.enable_aws_service_access().service_principal("iam.amazonaws.com").send().await.expect("trust");
    assert!(root_features(&iam).await.is_empty());
    // (A new account answers nothing in its first second: the layer's fresh-account rule.)
    tokio::time::sleep(crate::support::strict::Strict::default().fresh_account_window + Duration::from_millis(100))
        .await;
    let member_iam = aws_sdk_iam::Client::new(&moto.assumed_config(&member).await);
    let refused = member_iam.enable_organizations_root_sessions().send().await.expect_err("a member account");
    assert_eq!(code_of(&refused), "AccountNotManagementOrDelegatedAdministratorException");
    iam.enable_organizations_root_sessions().send().await.expect("enable");
    assert_eq!(root_features(&iam).await, ["RootSessions"]);
}
