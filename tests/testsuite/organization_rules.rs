//! Organization-level rules of AWS that moto does not enforce, against the test proxy's strict
//! layer (`support/strict.rs`): the rules themselves (the Account API's trusted access and opt-in,
//! AssumeRole's trust, fresh accounts, organization policy limits) and the tool keeping them:
//! accounts read by `State`, the access role sent to CreateAccount, RCPFullAWSAccess, HTML error
//! pages off emulators, delegated-administrator lists read to the last page, existing accounts
//! enrolled in Security Hub, a refused member session carrying AssumeRole's code.
//! docs/aws-fidelity.md maps each rule to its AWS page and to the test here that covers it.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use crate::support::proxy::Faults;
use crate::support::strict::Strict;
use crate::support::{stderr, stdout, workspace, Moto};

const ORGANIZATION: &str = "version: 1
organization:
  policy_types: [SERVICE_CONTROL_POLICY]
  management_account: management
  regions: [us-east-1]
units:
  Sandbox: {}
  Workloads: {}
accounts:
  management: { email: root@example.com }
  sandbox: { email: sandbox@example.com, unit: Sandbox, tags: { env: sandbox } }
policies:
  FullAWSAccess:
    targets: { units: [Root, Sandbox, Workloads], accounts: [management, sandbox] }
";

fn kinds(plan: &Value) -> Vec<String> {
    plan["actions"].as_array().expect("actions").iter().map(|a| a["kind"].as_str().unwrap_or("").to_string()).collect()
}

async fn account_id(client: &aws_sdk_organizations::Client, email: &str) -> String {
    let accounts = client.list_accounts().send().await.expect("accounts").accounts.unwrap_or_default();
    accounts.into_iter().find(|a| a.email() == Some(email)).and_then(|a| a.id).expect("account by email")
}

async fn unit_id(client: &aws_sdk_organizations::Client, root: &str, name: &str) -> String {
    let units = client.list_organizational_units_for_parent().parent_id(root).send().await.expect("ous");
    units
        .organizational_units
        .unwrap_or_default()
        .into_iter()
        .find(|u| u.name() == Some(name))
        .and_then(|u| u.id)
        .expect("ou")
}

// ---------------------------------------------------------------------------------------------
// Fix 1: accounts carry `State` (ACTIVE...), not the retired `Status`.

#[tokio::test]
async fn accounts_are_read_by_state_for_moves_tags_import_and_audit() {
    let moto = Moto::start();
    let workspace = workspace(ORGANIZATION);
    let dir = workspace.path();
    moto.run_expecting(&["apply", "--auto-approve"], dir, 0);

    // The strict layer answers as AWS does today: State, and no Status.
    let client = aws_sdk_organizations::Client::new(&moto.sdk_config().await);
    let sandbox = account_id(&client, "sandbox@example.com").await;
    let described = client.describe_account().account_id(&sandbox).send().await.expect("describe");
    let account = described.account.expect("account");
    assert_eq!(account.state().map(|s| s.as_str()), Some("ACTIVE"));
    assert!(account.status().is_none(), "Status was retired on 2026-09-09");

    // Drift: the account moved by hand and its tag changed.
    let root = client.list_roots().send().await.expect("roots").roots.unwrap_or_default()[0].id.clone().expect("root");
    let sandbox_unit = unit_id(&client, &root, "Sandbox").await;
    let workloads_unit = unit_id(&client, &root, "Workloads").await;
    client
        .move_account()
        .account_id(&sandbox)
        .source_parent_id(&sandbox_unit)
        .destination_parent_id(&workloads_unit)
        .send()
        .await
        .expect("move by hand");
    let tag = aws_sdk_organizations::types::Tag::builder().key("env").value("other").build().expect("tag");
    client.tag_resource().resource_id(&sandbox).tags(tag).send().await.expect("tag by hand");

    let plan = moto.plan_json(dir);
    let kinds = kinds(&plan);
    assert!(kinds.iter().any(|kind| kind == "move_account"), "the move is planned: {kinds:?}\n{plan:#}");
    assert!(kinds.iter().any(|kind| kind.contains("tag")), "the tag repair is planned: {kinds:?}");
    assert!(!plan.to_string().contains("left as is"), "no account is skipped for its state: {plan:#}");
    moto.run_expecting(&["apply", "--auto-approve"], dir, 0);
    assert_eq!(moto.run(&["plan", "--detailed-exitcode"], dir).status.code(), Some(0), "converged");

    // import writes the accounts; audit checks them.
    let imported = tempfile::tempdir().expect("dir");
    moto.run_expecting(&["import", "--out", "."], imported.path(), 0);
    let spec = std::fs::read_to_string(imported.path().join("landing-zone.yaml")).expect("imported spec");
    assert!(spec.contains("sandbox@example.com"), "import wrote the account:\n{spec}");
    let audit = moto.run(&["audit", "--format", "json"], dir);
    let report: Value = serde_json::from_str(&stdout(&audit)).expect("audit json");
    let scoped = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|finding| finding["scope"].as_str().is_some_and(|scope| scope.contains(&sandbox)))
        .count();
    assert!(scoped > 0, "audit checked the member account: {report:#}");
}

// ---------------------------------------------------------------------------------------------
// Fix 14: the delegated-administrator lists are read to the last page.

#[tokio::test]
async fn delegated_services_are_read_to_the_last_page() {
    let moto = Moto::start();
    let config = moto.sdk_config().await;
    let client = aws_sdk_organizations::Client::new(&config);
    client
        .create_organization()
        .feature_set(aws_sdk_organizations::types::OrganizationFeatureSet::All)
        .send()
        .await
        .expect("org");
    let created =
        client.create_account().account_name("security").email("security@example.com").send().await.expect("create");
    let security = created.create_account_status.and_then(|status| status.account_id).expect("account id");
    for service in ["guardduty.amazonaws.com", "access-analyzer.amazonaws.com"] {
        client.enable_aws_service_access().service_principal(service).send().await.expect("trusted access");
        client
            .register_delegated_administrator()
            .account_id(&security)
            .service_principal(service)
            .send()
            .await
            .expect("register");
    }
    // AWS pages these lists; the strict layer cuts moto's whole answers into pages of one.
    let strict = Strict { delegated_page_size: Some(1), ..Strict::default() };
    moto.strict_proxy().set_faults(Faults { strict, ..Faults::none() });
    let live = landing_zone::live::read_organization(&client, &landing_zone::live::ReadScope::default(), 4)
        .await
        .expect("read the organization");
    let expected = [
        ("access-analyzer.amazonaws.com".to_string(), security.clone()),
        ("guardduty.amazonaws.com".to_string(), security.clone()),
    ];
    assert_eq!(live.delegated_administrators, expected.into_iter().collect(), "both services, from two pages");
}

// ---------------------------------------------------------------------------------------------
// The strict layer's rules, each against moto through the default proxy.

async fn organization_with_member(moto: &Moto) -> (aws_sdk_organizations::Client, String) {
    let client = aws_sdk_organizations::Client::new(&moto.sdk_config().await);
    client
        .create_organization()
        .feature_set(aws_sdk_organizations::types::OrganizationFeatureSet::All)
        .send()
        .await
        .expect("org");
    let created =
        client.create_account().account_name("member").email("member@example.com").send().await.expect("create");
    let member = created.create_account_status.and_then(|status| status.account_id).expect("account id");
    (client, member)
}

fn code_of<E: aws_smithy_types::error::metadata::ProvideErrorMetadata>(error: &E) -> String {
    error.code().unwrap_or_default().to_string()
}

#[tokio::test]
async fn strict_account_api_needs_trusted_access_and_regions_opt_in() {
    let moto = Moto::start();
    let (organizations, member) = organization_with_member(&moto).await;
    let config = moto.sdk_config().await;
    let account = aws_sdk_account::Client::new(&config);
    let get = || account.get_region_opt_status().account_id(&member).region_name("af-south-1").send();
    let refused = get().await.expect_err("no trusted access for account.amazonaws.com yet");
    assert_eq!(code_of(&refused), "AccessDeniedException");
    let contact = account
        .put_alternate_contact()
        .account_id(&member)
        .alternate_contact_type(aws_sdk_account::types::AlternateContactType::Security)
        .name("Security")
        .email_address("security@example.com")
        .phone_number("+1 555 0100")
        .title("CISO")
        .send()
        .await;
    assert_eq!(code_of(&contact.expect_err("refused too")), "AccessDeniedException");
    organizations.enable_aws_service_access().service_principal("account.amazonaws.com").send().await.expect("trust");

    // Opt-in Regions are disabled until enabled (ENABLING, then ENABLED); calls there fail before.
    let status = get().await.expect("status").region_opt_status.map(|s| s.as_str().to_string());
    assert_eq!(status.as_deref(), Some("DISABLED"));
    let member_config = moto.assumed_config(&member).await;
    let cape_town = member_config.to_builder().region(aws_config::Region::new("af-south-1")).build();
    let iam_there = aws_sdk_sts::Client::new(&cape_town).get_caller_identity().send().await;
    assert_eq!(code_of(&iam_there.expect_err("disabled Region")), "InvalidClientTokenId");
    account.enable_region().account_id(&member).region_name("af-south-1").send().await.expect("enable");
    let status = get().await.expect("status").region_opt_status.map(|s| s.as_str().to_string());
    assert_eq!(status.as_deref(), Some("ENABLING"));
    tokio::time::sleep(Strict::default().region_enabling_time + Duration::from_millis(100)).await;
    let status = get().await.expect("status").region_opt_status.map(|s| s.as_str().to_string());
    assert_eq!(status.as_deref(), Some("ENABLED"));
    aws_sdk_sts::Client::new(&cape_town).get_caller_identity().send().await.expect("enabled Region answers");
}

#[tokio::test]
async fn strict_assume_role_needs_the_role_and_its_trust() {
    let moto = Moto::start();
    let (_, member) = organization_with_member(&moto).await;
    tokio::time::sleep(Strict::default().fresh_account_window).await;
    let sts = aws_sdk_sts::Client::new(&moto.sdk_config().await);
    let assume = |role: &str| {
        sts.assume_role().role_arn(format!("arn:aws:iam::{member}:role/{role}")).role_session_name("t").send()
    };
    assume("OrganizationAccountAccessRole").await.expect("the role CreateAccount made trusts the management account");
    assert_eq!(code_of(&assume("Missing").await.expect_err("no such role")), "AccessDenied");

    let iam = aws_sdk_iam::Client::new(&moto.assumed_config(&member).await);
    let trust_other = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::999999999999:root"},"Action":"sts:AssumeRole"}]}"#;
    iam.create_role().role_name("Other").assume_role_policy_document(trust_other).send().await.expect("role");
    assert_eq!(code_of(&assume("Other").await.expect_err("trust names another account")), "AccessDenied");

    // A role created seconds ago is an invalid principal in another trust policy for a while.
    let arn = iam.get_role().role_name("Other").send().await.expect("role").role.expect("role").arn;
    let trusting = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"{arn}"}},"Action":"sts:AssumeRole"}}]}}"#
    );
    let early = iam.create_role().role_name("Trusting").assume_role_policy_document(&trusting).send().await;
    assert_eq!(code_of(&early.expect_err("new principal")), "MalformedPolicyDocument");
    tokio::time::sleep(Strict::default().new_principal_window).await;
    iam.create_role()
        .role_name("Trusting")
        .assume_role_policy_document(&trusting)
        .send()
        .await
        .expect("later it is valid");
}

#[tokio::test]
async fn strict_new_accounts_need_a_while() {
    let moto = Moto::start();
    let (_, member) = organization_with_member(&moto).await;
    let iam = aws_sdk_iam::Client::new(&moto.assumed_config(&member).await);
    let early = iam.list_roles().send().await;
    assert_eq!(code_of(&early.expect_err("fresh account")), "SubscriptionRequiredException");
    tokio::time::sleep(Strict::default().fresh_account_window).await;
    iam.list_roles().send().await.expect("a while later the account answers");
}

#[tokio::test]
async fn strict_organization_policy_rules() {
    let moto = Moto::start();
    let (organizations, member) = organization_with_member(&moto).await;
    let root =
        organizations.list_roots().send().await.expect("roots").roots.unwrap_or_default()[0].id.clone().expect("root");
    use aws_sdk_organizations::types::PolicyType;

    // RCPFullAWSAccess cannot be detached.
    organizations
        .enable_policy_type()
        .root_id(&root)
        .policy_type(PolicyType::ResourceControlPolicy)
        .send()
        .await
        .expect("rcp");
    let detach = organizations.detach_policy().policy_id("p-RCPFullAWSAccess").target_id(&root).send().await;
    assert_eq!(code_of(&detach.expect_err("cannot detach")), "ConstraintViolationException");

    // Non-IAM policy types reject IAM-shaped documents.
    organizations.enable_policy_type().root_id(&root).policy_type(PolicyType::TagPolicy).send().await.expect("tag");
    let iam_shaped = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}"#;
    let create = |content: &str| {
        organizations
            .create_policy()
            .name("tags")
            .description("d")
            .r#type(PolicyType::TagPolicy)
            .content(content)
            .send()
    };
    assert_eq!(code_of(&create(iam_shaped).await.expect_err("IAM-shaped")), "MalformedPolicyDocumentException");
    let tag_policy = r#"{"tags":{"env":{"tag_key":{"@@assign":"env"}}}}"#;
    let created = create(tag_policy).await.expect("tag-policy syntax");
    let id = created.policy.and_then(|p| p.policy_summary).and_then(|s| s.id).expect("id");
    let update = organizations.update_policy().policy_id(&id).content(iam_shaped).send().await;
    assert_eq!(code_of(&update.expect_err("IAM-shaped update")), "MalformedPolicyDocumentException");

    // Only the management account or the registered delegated administrator creates an
    // ORGANIZATION analyzer.
    tokio::time::sleep(Strict::default().fresh_account_window).await;
    let analyzer = aws_sdk_accessanalyzer::Client::new(&moto.assumed_config(&member).await);
    let refused = analyzer
        .create_analyzer()
        .analyzer_name("org")
        .r#type(aws_sdk_accessanalyzer::types::Type::Organization)
        .send()
        .await;
    assert_eq!(code_of(&refused.expect_err("not the delegated administrator")), "AccessDeniedException");
    let before = moto.strict_proxy().stats().strict_answers.get("access-analyzer:PUT /analyzer").copied();
    organizations
        .enable_aws_service_access()
        .service_principal("access-analyzer.amazonaws.com")
        .send()
        .await
        .expect("trust");
    organizations
        .register_delegated_administrator()
        .account_id(&member)
        .service_principal("access-analyzer.amazonaws.com")
        .send()
        .await
        .expect("register");
    let _ = analyzer
        .create_analyzer()
        .analyzer_name("org")
        .r#type(aws_sdk_accessanalyzer::types::Type::Organization)
        .send()
        .await;
    let after = moto.strict_proxy().stats().strict_answers.get("access-analyzer:PUT /analyzer").copied();
    assert_eq!(before, after, "the delegated administrator's request reaches the emulator");

    // Security Hub under central configuration keeps AutoEnable false.
    let hub = aws_sdk_securityhub::Client::new(&moto.sdk_config().await);
    let central = aws_sdk_securityhub::types::OrganizationConfiguration::builder()
        .configuration_type(aws_sdk_securityhub::types::OrganizationConfigurationConfigurationType::Central)
        .build();
    let refused =
        hub.update_organization_configuration().auto_enable(true).organization_configuration(central).send().await;
    assert_eq!(code_of(&refused.expect_err("AutoEnable under CENTRAL")), "InvalidInputException");
}

// ---------------------------------------------------------------------------------------------
// Fixes 3 and 9: a custom access role reaches CreateAccount, and a new account's first seconds
// (SubscriptionRequiredException) and a new role's (Invalid principal) are waited out.

const CUSTOM_ROLE: &str = "version: 1
organization:
  policy_types: [SERVICE_CONTROL_POLICY]
  management_account: management
  access_role: LandingZoneExecution
  regions: [us-east-1]
accounts:
  management: { email: root@example.com }
  workload: { email: workload@example.com }
baseline:
  password_policy: { targets: { accounts: [workload] }, minimum_length: 16 }
  roles:
    Deployer:
      targets: { accounts: [workload] }
      trust: { accounts: [management] }
    Auditor:
      targets: { accounts: [workload] }
      trust: { roles: [workload/Deployer] }
";

/// Runs the binary with a deadline: the executor retries a refused role on a new account for
/// minutes, which is AWS's behaviour but not a useful test failure.
fn run_within(moto: &Moto, args: &[&str], dir: &Path, deadline: Duration) -> (Option<i32>, String) {
    let mut child = moto
        .command(args, dir, &moto.endpoint)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let started = std::time::Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            let output = child.wait_with_output().expect("output");
            return (status.code(), format!("{}\n{}", stdout(&output), stderr(&output)));
        }
        if started.elapsed() > deadline {
            child.kill().ok();
            let output = child.wait_with_output().expect("output");
            return (None, format!("killed after {deadline:?}\n{}\n{}", stdout(&output), stderr(&output)));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[tokio::test]
async fn custom_access_role_and_new_accounts_and_roles_converge() {
    let moto = Moto::start();
    let workspace = workspace(CUSTOM_ROLE);
    let dir = workspace.path();
    let started = std::time::Instant::now();
    let (code, output) = run_within(&moto, &["apply", "--auto-approve"], dir, Duration::from_secs(45));
    let took = started.elapsed();
    assert_eq!(code, Some(0), "apply with a custom access role converges through AWS's delays:\n{output}");

    // The role CreateAccount made is the spec's, and the executor reached the account through it.
    let organizations = aws_sdk_organizations::Client::new(&moto.sdk_config().await);
    let workload = account_id(&organizations, "workload@example.com").await;
    let iam = aws_sdk_iam::Client::new(&moto.assumed_config_as(&workload, "LandingZoneExecution").await);
    assert!(
        iam.get_role().role_name("OrganizationAccountAccessRole").send().await.is_err(),
        "CreateAccount was told the spec's role name, not left to its default"
    );
    let policy = iam.get_account_password_policy().send().await.expect("password policy set through that role");
    assert_eq!(policy.password_policy.and_then(|p| p.minimum_password_length), Some(16));
    let auditor = iam.get_role().role_name("Auditor").send().await.expect("the role trusting a new role").role;
    let trust = auditor.and_then(|role| role.assume_role_policy_document).unwrap_or_default();
    assert!(percent_decoded(&trust).contains(":role/Deployer"), "{trust}");

    // The strict layer did refuse: the new account's first second, and the new role as a principal.
    let refused = moto.strict_proxy().stats().strict_answers;
    assert!(refused.contains_key("iam:UpdateAccountPasswordPolicy"), "the new account refused at first: {refused:?}");
    assert!(refused.contains_key("iam:CreateRole"), "CreateRole was refused at first: {refused:?}");
    assert_eq!(moto.run(&["plan", "--detailed-exitcode"], dir).status.code(), Some(0), "converged");
    eprintln!("apply through the fresh-account and new-principal windows took {took:?}; refused: {refused:?}");
}

fn percent_decoded(text: &str) -> String {
    crate::support::strict::percent_decode(text)
}

// ---------------------------------------------------------------------------------------------
// Fix 14 (part): an email taken by an account outside the organization.

#[tokio::test]
async fn email_taken_elsewhere_says_how_to_adopt_the_account() {
    let moto = Moto::start();
    let strict = Strict { emails_elsewhere: vec!["Legacy@example.com".to_string()], ..Strict::default() };
    moto.strict_proxy().set_faults(Faults { strict, ..Faults::none() });
    let spec = ORGANIZATION
        .replace(
            "  sandbox: { email: sandbox@example.com",
            "  legacy: { email: legacy@example.com }\n  sandbox: { email: sandbox@example.com",
        )
        .replace("accounts: [management, sandbox]", "accounts: [management, sandbox, legacy]");
    let workspace = workspace(&spec);
    let output = moto.run(&["apply", "--auto-approve"], workspace.path());
    let text = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    let failure = text.lines().skip_while(|line| !line.contains("EMAIL_ALREADY_EXISTS")).collect::<Vec<_>>().join("\n");
    assert!(failure.contains("creating account `legacy` failed: EMAIL_ALREADY_EXISTS"), "{text}");
    for needed in ["hint:", "invite", "`OrganizationAccountAccessRole`", "`id:`", "`accounts.legacy`"] {
        assert!(failure.contains(needed), "the hint names {needed}:\n{text}");
    }
}

// ---------------------------------------------------------------------------------------------
// Fix 7: accounts already in the organization are enrolled as Security Hub members (LOCAL
// AutoEnable reaches only accounts that join later).

const MEMBERS_BEFORE: &str = "version: 1
organization:
  policy_types: [SERVICE_CONTROL_POLICY]
  management_account: management
  regions: [us-east-1]
accounts:
  management: { email: root@example.com }
  security: { email: security@example.com }
  workload: { email: workload@example.com }
";

#[tokio::test]
async fn existing_accounts_are_enrolled_in_security_hub() {
    let moto = Moto::start();
    let workspace = workspace(MEMBERS_BEFORE);
    let dir = workspace.path();
    moto.run_expecting(&["apply", "--auto-approve"], dir, 0);
    let spec = format!("{MEMBERS_BEFORE}baseline:\n  security_hub: {{ admin_account: security }}\n");
    std::fs::write(dir.join("landing-zone.yaml"), spec).expect("spec");

    let plan = moto.plan_json(dir);
    let enrolment: Vec<&Value> = plan["actions"]
        .as_array()
        .expect("actions")
        .iter()
        .filter(|action| action["control"]["control"] == "security_hub/members")
        .collect();
    assert_eq!(enrolment.len(), 1, "the existing accounts are enrolled: {plan:#}");
    moto.run_expecting(&["apply", "--auto-approve"], dir, 0);

    let organizations = aws_sdk_organizations::Client::new(&moto.sdk_config().await);
    let security = account_id(&organizations, "security@example.com").await;
    let workload = account_id(&organizations, "workload@example.com").await;
    let hub = aws_sdk_securityhub::Client::new(&moto.assumed_config(&security).await);
    let members = hub.list_members().only_associated(false).send().await.expect("members").members.unwrap_or_default();
    let ids: std::collections::BTreeSet<String> = members.into_iter().filter_map(|member| member.account_id).collect();
    let expected: std::collections::BTreeSet<String> =
        [workload, landing_zone_management(&organizations).await].into_iter().collect();
    assert_eq!(ids, expected, "the workload and management accounts are members of the administrator");
    assert_eq!(moto.run(&["plan", "--detailed-exitcode"], dir).status.code(), Some(0), "converged");
}

async fn landing_zone_management(client: &aws_sdk_organizations::Client) -> String {
    let organization = client.describe_organization().send().await.expect("organization").organization;
    organization.and_then(|organization| organization.master_account_id).expect("management account id")
}

/// A member session AWS refuses (here: the access role does not exist) fails the call made with
/// it, and the failure carries AssumeRole's own code, which retry and wait decisions read
/// (`aws::errors::AwsFailure`): the shared-STS session provider keeps the SDK error as its source.
#[tokio::test]
async fn a_refused_member_session_carries_assume_roles_code() {
    let moto = Moto::start();
    let (_, member) = organization_with_member(&moto).await;
    let clients = landing_zone::aws::Clients::new(&moto.sdk_config().await, "NoSuchAccessRole", None);
    let iam = clients.sessions.client::<aws_sdk_iam::Client>(&member, None).await;
    let error = iam.get_account_password_policy().send().await.expect_err("no role to assume");
    let failure = landing_zone::aws::errors::AwsFailure::new("GetAccountPasswordPolicy", &error);
    assert_eq!(failure.code.as_deref(), Some("AccessDenied"), "{failure}");
    let calls = moto.strict_proxy().stats().calls;
    assert_eq!(calls.get("iam:GetAccountPasswordPolicy"), None, "nothing is sent without credentials: {calls:?}");
}
