//! The team workflow against moto: saved plans refused when the world moved, pull-request
//! markdown, graphs, the apply lock (waiting, refusing, force-unlock) and change history, and
//! `import` round trips (of an applied spec and of an organization built by hand).

use crate::support::{spec_workspace, stderr, stdout, Moto};
use aws_sdk_organizations::types::{OrganizationFeatureSet, PolicyType, Tag};
use aws_sdk_organizations::Client;

const MANAGEMENT: &str = "123456789012";

fn state_bucket() -> String {
    format!("landing-zone-state-{MANAGEMENT}-us-east-1")
}

async fn account_id(client: &Client, email: &str) -> String {
    let accounts = client.list_accounts().send().await.expect("accounts").accounts.unwrap_or_default();
    accounts.into_iter().find(|a| a.email.as_deref() == Some(email)).and_then(|a| a.id).expect("account")
}

async fn parent_of(client: &Client, id: &str) -> String {
    client.list_parents().child_id(id).send().await.expect("parents").parents.expect("p")[0].id.clone().expect("id")
}

#[tokio::test]
async fn saved_plans_apply_only_if_nothing_changed() {
    let moto = Moto::start_with_managed_policies();
    let workspace = spec_workspace(&[]);
    let dir = workspace.path();
    let output = moto.run(&["apply", "--auto-approve"], dir);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));

    // A reviewed change: sandbox moves to Workloads/Dev.
    let spec = std::fs::read_to_string(dir.join("landing-zone.yaml")).expect("spec");
    let moved = spec.replacen("unit: Sandbox", "unit: Workloads/Dev", 1);
    assert_ne!(spec, moved, "the edit applies");
    std::fs::write(dir.join("landing-zone.yaml"), &moved).expect("write");
    let saved = moto.run(&["plan", "--out", "reviewed.plan"], dir);
    assert_eq!(saved.status.code(), Some(0), "{}", stderr(&saved));
    let text = std::fs::read_to_string(dir.join("reviewed.plan")).expect("plan file");
    assert!(!text.contains("testing"), "a saved plan holds no credentials");

    // Someone moves what the plan moves by hand before the plan is applied: it is refused.
    let client = Client::new(&moto.sdk_config().await);
    let sandbox = account_id(&client, "aws+sandbox@example.com").await;
    let before = parent_of(&client, &sandbox).await;
    let root = client.list_roots().send().await.expect("roots").roots.expect("r")[0].id.clone().expect("id");
    let move_sandbox = |from: String, to: String| {
        let client = client.clone();
        let sandbox = sandbox.clone();
        async move {
            client
                .move_account()
                .account_id(&sandbox)
                .source_parent_id(from)
                .destination_parent_id(to)
                .send()
                .await
                .expect("move");
        }
    };
    move_sandbox(before.clone(), root.clone()).await;
    let refused = moto.run(&["apply", "reviewed.plan"], dir);
    assert_eq!(refused.status.code(), Some(1));
    let message = stderr(&refused);
    assert!(message.contains("nothing was applied") && message.contains("sandbox"), "{message}");
    assert_eq!(parent_of(&client, &sandbox).await, root, "nothing of the refused plan was applied");

    // Put it back; a change by hand to what the plan does not touch (app-dev moved to the root)
    // neither blocks the saved plan nor is undone by it.
    move_sandbox(root.clone(), before.clone()).await;
    let app_dev = account_id(&client, "aws+app-dev@example.com").await;
    let app_dev_parent = parent_of(&client, &app_dev).await;
    client
        .move_account()
        .account_id(&app_dev)
        .source_parent_id(&app_dev_parent)
        .destination_parent_id(&root)
        .send()
        .await
        .expect("move app-dev");
    let applied = moto.run(&["apply", "reviewed.plan"], dir);
    assert_eq!(applied.status.code(), Some(0), "{}\n{}", stdout(&applied), stderr(&applied));
    assert_eq!(parent_of(&client, &app_dev).await, root, "the untouched change is not undone");
    let dev_name = client
        .describe_organizational_unit()
        .organizational_unit_id(parent_of(&client, &sandbox).await)
        .send()
        .await
        .expect("ou")
        .organizational_unit
        .expect("ou")
        .name;
    assert_eq!(dev_name.as_deref(), Some("Dev"));

    // A plan made for another spec is refused before any call.
    std::fs::write(dir.join("landing-zone.yaml"), &spec).expect("write");
    let stale = moto.run(&["apply", "reviewed.plan"], dir);
    assert_eq!(stale.status.code(), Some(1));
    assert!(stderr(&stale).contains("the spec changed"), "{}", stderr(&stale));
}

#[tokio::test]
async fn markdown_and_graphs_show_the_change_on_the_tree() {
    let moto = Moto::start_with_managed_policies();
    let workspace = spec_workspace(&[]);
    let dir = workspace.path();
    assert_eq!(moto.run(&["apply", "--auto-approve"], dir).status.code(), Some(0));
    let client = Client::new(&moto.sdk_config().await);
    let policies = client.list_policies().filter(PolicyType::ServiceControlPolicy).send().await.expect("policies");
    let leave = policies
        .policies
        .unwrap_or_default()
        .into_iter()
        .find(|p| p.name.as_deref() == Some("deny-leave-organization"))
        .expect("policy");
    client
        .update_policy()
        .policy_id(leave.id.expect("id"))
        .content(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"s3:*","Resource":"*"}]}"#)
        .send()
        .await
        .expect("update");
    let spec = std::fs::read_to_string(dir.join("landing-zone.yaml")).expect("spec");
    std::fs::write(dir.join("landing-zone.yaml"), spec.replacen("unit: Sandbox", "unit: Workloads/Dev", 1))
        .expect("write");

    let markdown = stdout(&moto.run(&["plan", "--format", "markdown"], dir));
    // Moving sandbox under Workloads also brings it what Workloads carries: the DeploymentRole,
    // the workload budget, and the root-activity forwarding of `baseline.alerts` (its role and a
    // rule in each of the two regions).
    assert!(markdown.contains("**Plan: 5 to add, 2 to change, 0 to destroy.**"), "{markdown}");
    assert!(markdown.contains("alerts/forwarder_role in sandbox"), "{markdown}");
    assert!(markdown.contains("roles/DeploymentRole in sandbox"), "{markdown}");
    assert!(
        markdown
            .contains("<details><summary><code>~</code> policy deny-leave-organization — reaches 7 accounts</summary>"),
        "{markdown}"
    );
    // 7, not 8: an SCP never restricts the management account.
    assert!(markdown.contains("```diff") && markdown.contains("-      \"Action\": \"s3:*\","), "{markdown}");
    assert!(markdown.contains("```mermaid\nflowchart TD"), "{markdown}");
    assert!(markdown.contains("| `move_account` | 1 |"), "{markdown}");
    let changed_line =
        markdown.lines().find(|line| line.contains("changed") && line.starts_with("  class ")).expect("marked nodes");
    assert!(!changed_line.is_empty());

    let mermaid = stdout(&moto.run(&["graph"], dir));
    assert!(
        mermaid.starts_with("flowchart TD")
            && mermaid.contains("[\"Workloads\"]")
            && mermaid.contains("([\"sandbox\"])"),
        "{mermaid}"
    );
    let dot = stdout(&moto.run(&["graph", "--format", "dot", "--live"], dir));
    // The live drawing names each OU and account with its AWS id (what `id:` pins in the spec).
    assert!(dot.starts_with("digraph organization") && dot.contains("label=\"Prod (ou-"), "{dot}");
    assert!(dot.contains("label=\"Root (r-"), "{dot}");
}

#[tokio::test]
async fn applies_never_interleave() {
    let moto = Moto::start_with_managed_policies();
    let workspace = spec_workspace(&[]);
    let dir = workspace.path();
    assert_eq!(moto.run(&["apply", "--auto-approve"], dir).status.code(), Some(0));
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&moto.sdk_config().await).force_path_style(true).build(),
    );
    let history = s3.list_objects_v2().bucket(state_bucket()).prefix("history/").send().await.expect("history");
    assert_eq!(history.key_count(), Some(1), "the first apply left one history record");
    assert!(s3.get_object().bucket(state_bucket()).key("lock.json").send().await.is_err(), "the lock was released");

    // Somebody else holds the lock: apply waits, then refuses, naming the holder.
    let held = r#"{"id":"deadbeef00000001","holder":"arn:aws:iam::123456789012:user/alice","since":"2026-11-22T10:00:00Z","host":"ci-7","pid":4242}"#;
    s3.put_object()
        .bucket(state_bucket())
        .key("lock.json")
        .body(held.as_bytes().to_vec().into())
        .send()
        .await
        .expect("lock");
    let spec = std::fs::read_to_string(dir.join("landing-zone.yaml")).expect("spec");
    std::fs::write(dir.join("landing-zone.yaml"), spec.replacen("unit: Sandbox", "unit: Workloads/Dev", 1))
        .expect("write");
    let blocked = moto.run(&["apply", "--auto-approve", "--lock-timeout", "1"], dir);
    assert_eq!(blocked.status.code(), Some(1));
    let message = stderr(&blocked);
    assert!(
        message.contains("user/alice") && message.contains("deadbeef00000001") && message.contains("force-unlock"),
        "{message}"
    );
    // While it waits it says so, naming the holder, before the refusal.
    let waiting =
        message.find("waiting for the lock held by arn:aws:iam::123456789012:user/alice since 2026-11-22T10:00:00Z");
    assert!(waiting.is_some_and(|at| message.find("error:").is_some_and(|error| at < error)), "{message}");
    assert!(message.contains("host ci-7, pid 4242"), "{message}");
    assert_eq!(moto.run(&["plan", "--detailed-exitcode"], dir).status.code(), Some(2), "nothing was applied");

    let wrong = moto.run(&["force-unlock", "0000000000000000"], dir);
    assert_eq!(wrong.status.code(), Some(1), "a wrong id frees nothing");
    let freed = moto.run(&["force-unlock", "deadbeef00000001"], dir);
    assert_eq!(freed.status.code(), Some(0), "{}", stderr(&freed));

    // Two applies at once: one waits for the other; the second then finds nothing to do.
    let spawn = || moto.command(&["apply", "--auto-approve", "--lock-timeout", "120"], dir, &moto.endpoint).output();
    let (first, second) = std::thread::scope(|scope| {
        let first = scope.spawn(spawn);
        let second = scope.spawn(spawn);
        (first.join().expect("join").expect("run"), second.join().expect("join").expect("run"))
    });
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    assert_eq!(second.status.code(), Some(0), "{}", stderr(&second));
    let moves =
        [&first, &second].iter().filter(|output| stdout(output).contains("unit: Sandbox → Workloads/Dev")).count();
    assert!(moves >= 1, "one of them moved the account");
    let applied = [&first, &second].iter().filter(|output| stdout(output).contains("Apply complete")).count();
    assert_eq!(applied, 1, "the other re-planned under the lock and found nothing to do");
    assert_eq!(moto.run(&["plan", "--detailed-exitcode"], dir).status.code(), Some(0));
}

#[tokio::test]
async fn import_round_trips_an_applied_spec() {
    let moto = Moto::start_with_managed_policies();
    let workspace = spec_workspace(&[]);
    assert_eq!(moto.run(&["apply", "--auto-approve"], workspace.path()).status.code(), Some(0));
    let imported = tempfile::tempdir().expect("dir");
    moto.strict_proxy().reset_stats();
    let output = moto.run(&["import", "--out", ".", "--regions", "us-east-1,eu-west-1"], imported.path());
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    // The trail and the bunker, which the trail's, the bunker's and AWS Config's imports all need,
    // are read once.
    let calls = moto.strict_proxy().stats().calls;
    assert_eq!(calls.get("cloudtrail:DescribeTrails").copied(), Some(1), "{calls:#?}");
    assert!(imported.path().join("policies/region-allow-list.json").exists());
    // The baselines the spec applied come back as the spec wrote them: every account carries them,
    // so they target the root.
    let spec = std::fs::read_to_string(imported.path().join("landing-zone.yaml")).expect("spec");
    let spec: serde_yaml::Value = serde_yaml::from_str(&spec).expect("yaml");
    let baseline = &spec["baseline"];
    let root = serde_yaml::from_str::<serde_yaml::Value>("{ units: [Root] }").expect("targets");
    for section in ["password_policy", "s3_block_public_access", "ebs_encryption", "contacts"] {
        assert_eq!(baseline[section]["targets"], root, "{section}: {baseline:?}");
    }
    assert_eq!(baseline["password_policy"]["minimum_length"], 14, "{baseline:?}");
    assert_eq!(baseline["password_policy"]["reuse_prevention"], 24, "{baseline:?}");
    assert_eq!(baseline["contacts"]["security"]["email"], "security@example.com", "{baseline:?}");
    assert_eq!(baseline["guardduty"]["admin_account"], "security", "{baseline:?}");
    assert_eq!(baseline["security_hub"]["admin_account"], "security", "{baseline:?}");
    // The bunker (found through the organization trail's bucket, with its retention and Object
    // Lock), the trail and AWS Config (every account delivering to the bunker, with the rules) come
    // back as the reference spec wrote them.
    let reference = std::fs::read_to_string(workspace.path().join("landing-zone.yaml")).expect("reference spec");
    let reference: serde_yaml::Value = serde_yaml::from_str(&reference).expect("yaml");
    for section in ["log_archive", "cloudtrail", "aws_config"] {
        assert_eq!(baseline[section], reference["baseline"][section], "{section}: {baseline:?}");
    }
    // moto has no Access Analyzer: the section is left out, and the note says why.
    assert!(baseline["access_analyzer"].is_null(), "{baseline:?}");
    assert!(
        stderr(&output).contains("`baseline.access_analyzer` left out: it could not be read: ")
            && stderr(&output).contains("does not implement ListAnalyzers"),
        "{}",
        stderr(&output)
    );
    let validate = moto.run(&["validate"], imported.path());
    assert_eq!(validate.status.code(), Some(0), "{}", stderr(&validate));
    let plan = moto.run(&["plan", "--detailed-exitcode"], imported.path());
    assert_eq!(plan.status.code(), Some(0), "{}", stdout(&plan));

    // One account's password policy changed by hand: the section targets the accounts that share
    // the common one, names the other, and the plan still leaves everything as it is.
    let organizations = Client::new(&moto.sdk_config().await);
    let accounts = organizations.list_accounts().send().await.expect("accounts").accounts.unwrap_or_default();
    let sandbox = accounts.iter().find(|a| a.name.as_deref() == Some("sandbox")).and_then(|a| a.id.clone());
    let sandbox = sandbox.expect("the sandbox account");
    aws_sdk_iam::Client::new(&moto.assumed_config(&sandbox).await)
        .update_account_password_policy()
        .minimum_password_length(8)
        .send()
        .await
        .expect("a weaker policy by hand");
    let again = tempfile::tempdir().expect("dir");
    let output = moto.run(&["import", "--out", ".", "--regions", "us-east-1,eu-west-1"], again.path());
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(stderr(&output).contains("`sandbox`"), "the account left out is named: {}", stderr(&output));
    let spec = std::fs::read_to_string(again.path().join("landing-zone.yaml")).expect("spec");
    let spec: serde_yaml::Value = serde_yaml::from_str(&spec).expect("yaml");
    let policy = &spec["baseline"]["password_policy"];
    assert_eq!(policy["minimum_length"], 14, "{policy:?}");
    let targeted = policy["targets"]["accounts"].as_sequence().expect("accounts listed");
    assert_eq!(targeted.len(), 7, "{policy:?}");
    assert!(!targeted.iter().any(|account| account == "sandbox"), "{policy:?}");
    let plan = moto.run(&["plan", "--detailed-exitcode"], again.path());
    assert_eq!(plan.status.code(), Some(0), "{}", stdout(&plan));
}

#[tokio::test]
async fn import_adopts_an_organization_built_by_hand() {
    let moto = Moto::start();
    let client = Client::new(&moto.sdk_config().await);
    client.create_organization().feature_set(OrganizationFeatureSet::All).send().await.expect("org");
    let root = client.list_roots().send().await.expect("roots").roots.expect("r")[0].id.clone().expect("id");
    client.enable_policy_type().root_id(&root).policy_type(PolicyType::ServiceControlPolicy).send().await.expect("scp");
    let team = client.create_organizational_unit().parent_id(&root).name("Team A").send().await.expect("ou");
    let team = team.organizational_unit.expect("ou").id.expect("id");
    let nested = client.create_organizational_unit().parent_id(&team).name("Nested").send().await.expect("ou");
    let nested = nested.organizational_unit.expect("ou").id.expect("id");
    client
        .tag_resource()
        .resource_id(&nested)
        .tags(Tag::builder().key("owner").value("team-a").build().expect("tag"))
        .send()
        .await
        .expect("tag");
    for (name, email) in [("alpha", "alpha@example.com"), ("alpha", "alpha2@example.com")] {
        let created = client.create_account().account_name(name).email(email).send().await.expect("account");
        let id = created.create_account_status.expect("status").account_id.expect("id");
        client
            .move_account()
            .account_id(&id)
            .source_parent_id(&root)
            .destination_parent_id(&nested)
            .send()
            .await
            .expect("move");
    }
    let policy = client
        .create_policy()
        .name("no ec2/rds")
        .description("hand made")
        .content(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":["ec2:*","rds:*"],"Resource":"*"}]}"#,
        )
        .r#type(PolicyType::ServiceControlPolicy)
        .tags(Tag::builder().key("team").value("a").build().expect("tag"))
        .send()
        .await
        .expect("policy");
    let policy = policy.policy.expect("p").policy_summary.expect("s").id.expect("id");
    client.attach_policy().policy_id(&policy).target_id(&team).send().await.expect("attach");

    let dir = tempfile::tempdir().expect("dir");
    let output = moto.run(&["import", "--out", "."], dir.path());
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let spec = std::fs::read_to_string(dir.path().join("landing-zone.yaml")).expect("spec");
    assert!(spec.contains("Team A:") && spec.contains("owner: team-a"), "{spec}");
    assert!(spec.contains("alpha-"), "two accounts named alike get distinct keys: {spec}");
    let validate = moto.run(&["validate"], dir.path());
    assert_eq!(validate.status.code(), Some(0), "{}", stderr(&validate));
    let plan = moto.run(&["plan", "--detailed-exitcode"], dir.path());
    assert_eq!(plan.status.code(), Some(0), "{}\n{}", stdout(&plan), stderr(&plan));

    // Removing the adopted policy from the spec does not delete it: the tool did not create it.
    let without: String = std::fs::read_to_string(dir.path().join("landing-zone.yaml"))
        .expect("spec")
        .split("\npolicies:\n")
        .next()
        .expect("head")
        .to_string();
    let rest = spec.split("\npolicies:\n").nth(1).expect("policies section");
    let after_policies =
        rest.split_once("\nbaseline:").map(|(_, tail)| format!("\nbaseline:{tail}")).unwrap_or_default();
    std::fs::write(dir.path().join("landing-zone.yaml"), format!("{without}\n{after_policies}")).expect("write");
    let plan = moto.run(&["plan", "--format", "json"], dir.path());
    let plan: serde_json::Value = serde_json::from_str(&stdout(&plan)).expect("json");
    assert_eq!(plan["actions"].as_array().map(Vec::len), Some(0), "{plan:#}");
    assert!(plan["notes"].to_string().contains("no ec2/rds"), "reported as unmanaged: {plan:#}");
}

#[tokio::test]
async fn audit_reports_the_posture_and_fails_on_gaps() {
    let moto = Moto::start_with_managed_policies();
    let workspace = spec_workspace(&[]);
    let dir = workspace.path();
    let before = moto.run(&["audit", "--format", "json"], dir);
    assert_eq!(before.status.code(), Some(1), "no organization yet is a failing posture");

    assert_eq!(moto.run(&["apply", "--auto-approve"], dir).status.code(), Some(0));
    let before_audit = emulator_state(&moto);
    moto.strict_proxy().reset_stats();
    let output = moto.run(&["audit", "--format", "json"], dir);
    // The audit reads through the baselines' own readers, one call per check: one read of each
    // posture setting per account (per account and region for GuardDuty and Security Hub), the
    // detector listed but not described, each bunker bucket setting read once.
    let calls = moto.strict_proxy().stats().calls;
    let count = |operation: &str| calls.get(operation).copied().unwrap_or_default();
    let accounts = count("iam:GetAccountSummary");
    assert!(accounts > 1, "{calls:?}");
    assert_eq!(count("iam:GetAccountPasswordPolicy"), accounts, "{calls:?}");
    assert_eq!(count("s3control:GetPublicAccessBlock"), accounts, "{calls:?}");
    assert_eq!(count("account:POST /getAlternateContact"), accounts, "{calls:?}");
    assert_eq!(count("guardduty:GET /detector"), 2 * accounts, "two regions: {calls:?}");
    assert_eq!(count("securityhub:GET /accounts"), 2 * accounts, "two regions: {calls:?}");
    assert!(!calls.keys().any(|operation| operation.starts_with("guardduty:GET /detector/")), "{calls:?}");
    for read in ["DescribeTrails", "GetTrailStatus"] {
        assert_eq!(count(&format!("cloudtrail:{read}")), 1, "{calls:?}");
    }
    for read in ["GetBucketVersioning", "GetBucketEncryption", "GetBucketPublicAccessBlock", "GetBucketPolicy"] {
        assert_eq!(count(&format!("s3:{read}")), 1, "{calls:?}");
    }
    let report: serde_json::Value = serde_json::from_str(&stdout(&output)).expect("json");
    let findings = report["findings"].as_array().expect("findings");
    let status = |scope_part: &str, control: &str| -> Vec<String> {
        findings
            .iter()
            .filter(|f| f["scope"].as_str().unwrap_or("").contains(scope_part) && f["control"] == control)
            .map(|f| f["status"].as_str().unwrap_or("").to_string())
            .collect()
    };
    assert_eq!(status("app-prod", "password policy"), ["PASS"]);
    assert_eq!(status("sandbox", "S3 Block Public Access"), ["PASS"]);
    assert_eq!(status("security", "security contact"), ["PASS"]);
    assert_eq!(status("organization", "organization trail: logging"), ["PASS"]);
    // The bunker bucket is read as `plan` reads it (moto's GetBucketVersioning answer included).
    for check in ["versioning", "SSE-KMS", "public access blocked", "TLS only"] {
        assert_eq!(status("log archive", &format!("bunker bucket: {check}")), ["PASS"], "{check}");
    }
    assert_eq!(status("organization", "scp: organization trail protected"), ["PASS"]);
    assert_eq!(status("organization", "scp: region allow-list"), ["PASS"]);
    assert_eq!(status("organization", "scp: S3 Block Public Access frozen"), ["PASS"]);
    // moto's root users have no MFA: the report says so and the exit status fails.
    assert_eq!(status("app-prod", "root MFA"), ["FAIL"]);
    assert_eq!(output.status.code(), Some(1));

    let text = stdout(&moto.run(&["audit"], dir));
    assert!(text.starts_with("SCOPE") && text.contains("PASS") && text.contains("checks,"), "{text}");
    // Read-only: the emulator's whole state (every service but STS sessions) is unchanged.
    let after_audit = emulator_state(&moto);
    let changed: Vec<&String> = after_audit
        .as_object()
        .expect("object")
        .iter()
        .filter(|(service, state)| before_audit.get(service.as_str()) != Some(*state))
        .map(|(service, _)| service)
        .collect();
    assert!(changed.is_empty(), "audit changed the state of {changed:?}");
}

/// moto's dump of the state of every service the tool writes to. Left out: STS and IAM (assumed
/// sessions and "role last used" change on every read), S3 (the bunker's server access logging
/// writes log objects when the audit reads the bucket, as AWS does) and ELB/EC2 (regional backends
/// moto creates on first touch).
fn emulator_state(moto: &Moto) -> serde_json::Value {
    let output = std::process::Command::new("curl")
        .args(["-sf", &format!("{}/moto-api/data.json", moto.endpoint)])
        .output()
        .expect("curl");
    let mut state: serde_json::Value = serde_json::from_slice(&output.stdout).expect("state json");
    if let Some(map) = state.as_object_mut() {
        let kept = ["organizations", "cloudtrail", "guardduty", "securityhub", "config", "kms", "account", "s3control"];
        map.retain(|service, _| kept.contains(&service.as_str()));
    }
    assert!(state.get("organizations").is_some(), "the dump covers the organization");
    state
}

/// `plan --detailed-exitcode` with a closure the spec asks for (`close: true`, and the spec's
/// opt-in) but without `--allow-destructive`: the closure is pending, so the exit status is 2 and
/// the plan lists it as blocked with what unblocks it — never "No changes".
#[test]
fn a_blocked_change_is_a_change_for_the_exit_code() {
    let moto = Moto::start_with_managed_policies();
    let workspace = spec_workspace(&[]);
    let dir = workspace.path();
    moto.run_expecting(&["apply", "--auto-approve"], dir, 0);
    moto.run_expecting(&["plan", "--detailed-exitcode"], dir, 0);

    let path = dir.join("landing-zone.yaml");
    let text = std::fs::read_to_string(&path).expect("read spec");
    let text = text.replacen("organization:\n", "organization:\n  allow: { close_accounts: true }\n", 1);
    let marked = mark_close(&text, "sandbox");
    std::fs::write(&path, marked).expect("write spec");

    let plan = moto.run_expecting(&["plan", "--detailed-exitcode"], dir, 2);
    assert!(!plan.contains("No changes"), "{plan}");
    assert!(
        plan.contains("Blocked") && plan.contains("account sandbox") && plan.contains("pass --allow-destructive"),
        "{plan}"
    );
    assert!(plan.contains("1 blocked"), "{plan}");
    let json: serde_json::Value =
        serde_json::from_str(&moto.run_expecting(&["plan", "--format", "json"], dir, 0)).expect("json");
    assert_eq!(json["summary"]["blocked"], 1, "{json}");
    assert_eq!(json["blocked"][0]["resource"], "account sandbox", "{json}");
    // With the flag the closure is an action.
    let flagged = moto.run_expecting(&["plan", "--detailed-exitcode", "--allow-destructive"], dir, 2);
    assert!(!flagged.contains("Blocked"), "{flagged}");
}

/// `close: true` added to the named account's entry of the repository's spec.
fn mark_close(spec: &str, account: &str) -> String {
    let header = format!("  {account}:\n");
    let position = spec.find(&header).unwrap_or_else(|| panic!("account `{account}` not in the spec"));
    let (before, after) = spec.split_at(position + header.len());
    format!("{before}    close: true\n{after}")
}

/// Issue 25: `apply --auto-approve` with nothing to do reads, says so, and takes no lock: not one
/// write, not one call to the state bucket. A change is still applied under the lock and recorded.
#[tokio::test]
async fn auto_approve_with_nothing_to_do_takes_no_lock_and_writes_nothing() {
    const SMALL: &str = "version: 1\norganization:\n  feature_set: ALL\n  management_account: management\n  regions: [us-east-1]\nunits:\n  Workloads: {}\naccounts:\n  management: { email: aws-root@example.com, unit: Root }\n  app: { email: aws+app@example.com, unit: Workloads }\n";
    let moto = Moto::start();
    let workspace = crate::support::workspace(SMALL);
    let dir = workspace.path();
    moto.run_expecting(&["apply", "--auto-approve"], dir, 0);
    let proxy = moto.strict_proxy();
    proxy.reset_stats();
    let output = moto.run(&["apply", "--auto-approve"], dir);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(stdout(&output).contains("No changes"), "{}", stdout(&output));
    let stats = proxy.stats();
    assert!(stats.writes.is_empty(), "nothing written: {:?}", stats.writes);
    let state: Vec<&String> = stats.calls.keys().filter(|operation| operation.starts_with("s3:")).collect();
    assert!(state.is_empty(), "the state bucket is not touched: {state:?}");

    // A change: applied under the lock, and the apply is recorded in the state bucket.
    std::fs::write(
        dir.join("landing-zone.yaml"),
        SMALL.replace("  Workloads: {}\n", "  Workloads: {}\n  Sandbox: {}\n"),
    )
    .expect("spec");
    proxy.reset_stats();
    moto.run_expecting(&["apply", "--auto-approve"], dir, 0);
    let stats = proxy.stats();
    assert!(stats.writes.iter().any(|write| write.contains("CreateOrganizationalUnit")), "{:?}", stats.writes);
    assert!(stats.calls.keys().any(|operation| operation == "s3:PutObject"), "lock and history: {:?}", stats.calls);
}
