//! `plan` and `apply` of the organization (OUs, accounts, policies) against moto, checked through
//! independent SDK reads: convergence, idempotence, drift repair, adoption after a crash, safety.

use std::collections::{BTreeMap, BTreeSet};

use crate::support::{spec_workspace, stderr, stdout, Moto};
use aws_sdk_organizations::Client;
use serde_json::Value;

/// The organization as an independent reader sees it.
#[derive(Debug, Default)]
struct Observed {
    /// OU path -> id.
    units: BTreeMap<String, String>,
    /// email -> (account id, OU path).
    accounts: BTreeMap<String, (String, String)>,
    /// policy name -> (id, document, target ids).
    policies: BTreeMap<String, (String, Value, BTreeSet<String>)>,
    root: String,
}

async fn observe(client: &Client) -> Observed {
    let root = client.list_roots().send().await.expect("roots").roots.expect("roots")[0].id.clone().expect("id");
    let mut observed = Observed { root: root.clone(), ..Default::default() };
    let mut frontier = vec![(root.clone(), "Root".to_string())];
    while let Some((parent, path)) = frontier.pop() {
        let units = client.list_organizational_units_for_parent().parent_id(&parent).send().await.expect("ous");
        for unit in units.organizational_units.unwrap_or_default() {
            let name = unit.name.expect("name");
            let child = if path == "Root" { name } else { format!("{path}/{name}") };
            let id = unit.id.expect("id");
            observed.units.insert(child.clone(), id.clone());
            frontier.push((id, child));
        }
        let accounts = client.list_accounts_for_parent().parent_id(&parent).send().await.expect("accounts");
        for account in accounts.accounts.unwrap_or_default() {
            observed
                .accounts
                .insert(account.email.expect("email").to_lowercase(), (account.id.expect("id"), path.clone()));
        }
    }
    let policies = client
        .list_policies()
        .filter(aws_sdk_organizations::types::PolicyType::ServiceControlPolicy)
        .send()
        .await
        .expect("policies");
    for summary in policies.policies.unwrap_or_default() {
        let id = summary.id.expect("id");
        let content =
            client.describe_policy().policy_id(&id).send().await.expect("describe").policy.expect("p").content;
        let document = content.map(|c| serde_json::from_str(&c).unwrap_or(Value::String(c))).unwrap_or(Value::Null);
        let targets = client.list_targets_for_policy().policy_id(&id).send().await.expect("targets");
        let targets = targets.targets.unwrap_or_default().into_iter().filter_map(|t| t.target_id).collect();
        observed.policies.insert(summary.name.expect("name"), (id, document, targets));
    }
    observed
}

fn read_json(path: &std::path::Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("read policy")).expect("policy json")
}

fn action_kinds(plan: &Value) -> Vec<String> {
    plan["actions"].as_array().expect("actions").iter().map(|a| a["kind"].as_str().expect("kind").to_string()).collect()
}

fn apply(moto: &Moto, dir: &std::path::Path) {
    let output = moto.run(&["apply", "--auto-approve"], dir);
    assert_eq!(output.status.code(), Some(0), "apply failed:\n{}\n{}", stdout(&output), stderr(&output));
}

fn plan_exit(moto: &Moto, dir: &std::path::Path) -> i32 {
    let output = moto.run(&["plan", "--detailed-exitcode"], dir);
    output.status.code().unwrap_or(-1)
}

#[tokio::test]
async fn applies_the_root_landing_zone_and_converges() {
    let moto = Moto::start_with_managed_policies();
    let workspace = spec_workspace(&[]);
    let dir = workspace.path();
    assert_eq!(plan_exit(&moto, dir), 2, "an empty emulator needs changes");

    apply(&moto, dir);
    let client = Client::new(&moto.sdk_config().await);
    let observed = observe(&client).await;

    // The OU tree is exactly the spec's.
    let expected_units: BTreeSet<&str> =
        ["Security", "Infrastructure", "Workloads", "Workloads/Prod", "Workloads/Staging", "Workloads/Dev", "Sandbox"]
            .into_iter()
            .collect();
    let units: BTreeSet<&str> = observed.units.keys().map(String::as_str).collect();
    assert_eq!(units, expected_units);

    // Every account sits in its OU with its tags; the spec's management account is moto's master.
    let spec: serde_yaml::Value =
        serde_yaml::from_str(&std::fs::read_to_string(dir.join("landing-zone.yaml")).expect("spec")).expect("yaml");
    for (name, account) in spec["accounts"].as_mapping().expect("accounts") {
        let name = name.as_str().expect("name");
        if name == "management" {
            continue;
        }
        let email = account["email"].as_str().expect("email").to_lowercase();
        let unit = account["unit"].as_str().unwrap_or("Root");
        let (id, path) = observed.accounts.get(&email).unwrap_or_else(|| panic!("account {name} missing"));
        assert_eq!(path, unit, "account {name} is in the wrong OU");
        if let Some(tags) = account["tags"].as_mapping() {
            let live = client.list_tags_for_resource().resource_id(id).send().await.expect("tags");
            let live: BTreeMap<String, String> =
                live.tags.unwrap_or_default().into_iter().map(|t| (t.key, t.value)).collect();
            for (key, value) in tags {
                assert_eq!(live.get(key.as_str().expect("key")).map(String::as_str), value.as_str(), "tag of {name}");
            }
        }
    }
    assert_eq!(observed.accounts.len(), 8, "one account per spec entry, nothing duplicated");

    // Every policy has the file's content and exactly the spec's targets (+ nothing else).
    for (name, policy) in spec["policies"].as_mapping().expect("policies") {
        let name = name.as_str().expect("name");
        let (_, document, targets) = observed.policies.get(name).unwrap_or_else(|| panic!("policy {name} missing"));
        assert_eq!(document, &read_json(&dir.join(policy["document"].as_str().expect("path"))), "content of {name}");
        let mut expected = BTreeSet::new();
        for unit in policy["targets"]["units"].as_sequence().into_iter().flatten() {
            let unit = unit.as_str().expect("unit");
            expected.insert(if unit == "Root" { observed.root.clone() } else { observed.units[unit].clone() });
        }
        for account in policy["targets"]["accounts"].as_sequence().into_iter().flatten() {
            let email = spec["accounts"][account.as_str().expect("a")]["email"].as_str().expect("email").to_lowercase();
            expected.insert(observed.accounts[&email].0.clone());
        }
        assert_eq!(targets, &expected, "targets of {name}");
    }
    // FullAWSAccess stays attached to the root.
    assert!(observed.policies["FullAWSAccess"].2.contains(&observed.root));

    assert_eq!(plan_exit(&moto, dir), 0, "a second plan must be empty");
    let again = moto.run(&["apply", "--auto-approve"], dir);
    assert!(stdout(&again).contains("No changes"), "second apply must do nothing: {}", stdout(&again));
}

#[tokio::test]
async fn repairs_drift_and_reports_unmanaged_resources() {
    let moto = Moto::start_with_managed_policies();
    let workspace = spec_workspace(&[]);
    let dir = workspace.path();
    apply(&moto, dir);
    let client = Client::new(&moto.sdk_config().await);
    let observed = observe(&client).await;

    // Drift made by hand: detach a guardrail, move an account, rewrite a policy, add strays.
    let (allow_list, _, _) = &observed.policies["region-allow-list"];
    client.detach_policy().policy_id(allow_list).target_id(&observed.units["Sandbox"]).send().await.expect("detach");
    let (dev, _) = &observed.accounts["aws+app-dev@example.com"];
    client
        .move_account()
        .account_id(dev)
        .source_parent_id(&observed.units["Workloads/Dev"])
        .destination_parent_id(&observed.root)
        .send()
        .await
        .expect("move");
    let (leave, _, _) = &observed.policies["deny-leave-organization"];
    client
        .update_policy()
        .policy_id(leave)
        .content(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"s3:*","Resource":"*"}]}"#)
        .send()
        .await
        .expect("update");
    client
        .create_policy()
        .name("hand-made")
        .description("made in the console")
        .content(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"ec2:*","Resource":"*"}]}"#)
        .r#type(aws_sdk_organizations::types::PolicyType::ServiceControlPolicy)
        .send()
        .await
        .expect("stray policy");
    client.create_organizational_unit().parent_id(&observed.root).name("Stray").send().await.expect("stray ou");

    assert_eq!(plan_exit(&moto, dir), 2);
    let plan = moto.plan_json(dir);
    let mut kinds = action_kinds(&plan);
    kinds.sort();
    assert_eq!(kinds, ["attach_policy", "move_account", "update_policy"], "exactly the drift: {plan:#}");
    let text = stdout(&moto.run(&["plan"], dir));
    assert!(text.contains("-  \"Action\": \"s3:*\"") || text.contains("\"s3:*\""), "policy diff shown:\n{text}");
    assert!(text.contains("policy hand-made") && text.contains("unit Stray"), "unmanaged notes:\n{text}");
    assert!(text.contains("Plan: 1 to add, 2 to change, 0 to destroy."), "{text}");

    apply(&moto, dir);
    assert_eq!(plan_exit(&moto, dir), 0);
    let repaired = observe(&client).await;
    assert_eq!(repaired.accounts["aws+app-dev@example.com"].1, "Workloads/Dev");
    assert!(repaired.policies["region-allow-list"].2.contains(&repaired.units["Sandbox"]));
    assert!(repaired.policies.contains_key("hand-made"), "unmanaged policy left alone");
    assert!(repaired.units.contains_key("Stray"), "unmanaged OU left alone");
}

#[tokio::test]
async fn adopts_what_an_interrupted_apply_created() {
    let moto = Moto::start_with_managed_policies();
    let workspace = spec_workspace(&[]);
    let dir = workspace.path();
    let client = Client::new(&moto.sdk_config().await);

    // A previous run created the organization, one OU, one account and one policy, then died.
    client
        .create_organization()
        .feature_set(aws_sdk_organizations::types::OrganizationFeatureSet::All)
        .send()
        .await
        .expect("org");
    let root = client.list_roots().send().await.expect("roots").roots.expect("r")[0].id.clone().expect("id");
    client.create_organizational_unit().parent_id(&root).name("Security").send().await.expect("ou");
    client.create_account().account_name("security").email("aws+security@example.com").send().await.expect("account");
    client
        .create_policy()
        .name("deny-leave-organization")
        .description("Member accounts may not leave the organization")
        .content(read_json(&dir.join("policies/deny-leave-organization.json")).to_string())
        .r#type(aws_sdk_organizations::types::PolicyType::ServiceControlPolicy)
        .tags(
            aws_sdk_organizations::types::Tag::builder()
                .key("landing-zone:managed-by")
                .value("landing-zone")
                .build()
                .expect("tag"),
        )
        .send()
        .await
        .expect("policy");

    let plan = moto.plan_json(dir);
    let creates: Vec<String> = plan["actions"]
        .as_array()
        .expect("actions")
        .iter()
        .filter(|a| ["create_unit", "create_account", "create_policy"].contains(&a["kind"].as_str().unwrap_or("")))
        .map(|a| format!("{} {}", a["kind"], a["name"]))
        .collect();
    assert!(!creates.iter().any(|c| c.contains("\"Security\"") && c.contains("create_unit")), "{creates:?}");
    assert!(!creates.iter().any(|c| c.contains("\"security\"")), "{creates:?}");
    assert!(!creates.iter().any(|c| c.contains("deny-leave-organization")), "{creates:?}");

    apply(&moto, dir);
    assert_eq!(plan_exit(&moto, dir), 0);
    let observed = observe(&client).await;
    let accounts = client.list_accounts().send().await.expect("accounts").accounts.unwrap_or_default();
    let emails: Vec<String> = accounts.iter().filter_map(|a| a.email.clone()).map(|e| e.to_lowercase()).collect();
    let unique: BTreeSet<&String> = emails.iter().collect();
    assert_eq!(emails.len(), unique.len(), "no account created twice: {emails:?}");
    assert_eq!(observed.accounts["aws+security@example.com"].1, "Security");
    let policies = client
        .list_policies()
        .filter(aws_sdk_organizations::types::PolicyType::ServiceControlPolicy)
        .send()
        .await
        .expect("policies")
        .policies
        .unwrap_or_default();
    let named = policies.iter().filter(|p| p.name.as_deref() == Some("deny-leave-organization")).count();
    assert_eq!(named, 1, "no policy created twice");
}

#[tokio::test]
async fn deletes_only_owned_policies_and_keeps_every_target_guarded() {
    let moto = Moto::start_with_managed_policies();
    let extra = "policies:\n  scratch-guardrail:\n    description: temporary\n    document: { Version: \"2012-10-17\", Statement: [{ Effect: Deny, Action: \"gamelift:*\", Resource: \"*\" }] }\n    targets: { units: [Sandbox] }\n";
    let workspace = spec_workspace(&[("policies:\n", extra)]);
    let dir = workspace.path();
    apply(&moto, dir);
    let client = Client::new(&moto.sdk_config().await);
    assert!(observe(&client).await.policies.contains_key("scratch-guardrail"));

    // Removed from the spec: the tool created it, so it is detached, then deleted.
    let spec = std::fs::read_to_string(dir.join("landing-zone.yaml")).expect("spec").replace(extra, "policies:\n");
    std::fs::write(dir.join("landing-zone.yaml"), spec).expect("write");
    let plan = moto.plan_json(dir);
    assert_eq!(action_kinds(&plan), ["detach_policy", "delete_policy"], "{plan:#}");
    let delete = &plan["actions"][1];
    assert!(
        delete["depends_on"].as_array().expect("deps").contains(&plan["actions"][0]["index"]),
        "detach before delete"
    );
    apply(&moto, dir);
    assert!(!observe(&client).await.policies.contains_key("scratch-guardrail"));
}

#[tokio::test]
async fn refuses_to_leave_a_target_without_an_scp() {
    let moto = Moto::start_with_managed_policies();
    let minimal = "version: 1\norganization:\n  policy_types: [SERVICE_CONTROL_POLICY]\n  management_account: management\n  regions: [us-east-1]\nunits:\n  Lonely: {}\naccounts:\n  management: { email: root@example.com }\npolicies:\n  FullAWSAccess:\n    targets: { units: [Root], accounts: [management] }\n";
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(dir.path().join("landing-zone.yaml"), minimal).expect("write");
    let output = moto.run(&["plan"], dir.path());
    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
    assert!(stderr(&output).contains("without any service control policy"), "{}", stderr(&output));
    let output = moto.run(&["apply", "--auto-approve"], dir.path());
    assert_eq!(output.status.code(), Some(1));
    let client = Client::new(&moto.sdk_config().await);
    assert!(client.describe_organization().send().await.is_err(), "no write happened");
}

#[tokio::test]
async fn bad_input_makes_no_aws_call() {
    let moto = Moto::start_with_managed_policies();
    let workspace = spec_workspace(&[("unit: Workloads/Prod", "unit: Workloads/Prd")]);
    for command in [&["plan"][..], &["apply", "--auto-approve"][..]] {
        let output = moto.run(command, workspace.path());
        assert_eq!(output.status.code(), Some(1));
        let message = stderr(&output);
        assert!(message.contains("landing-zone.yaml:") && message.contains("Workloads/Prd"), "{message}");
        assert!(message.contains("did you mean `Workloads/Prod`?"), "{message}");
    }
    let client = Client::new(&moto.sdk_config().await);
    assert!(client.describe_organization().send().await.is_err(), "nothing was created");
}

#[tokio::test]
async fn deletes_an_emptied_ou_only_with_both_opt_ins() {
    let moto = Moto::start();
    let spec = |units: &str, allow: &str| {
        format!(
            "version: 1\norganization:\n  policy_types: [SERVICE_CONTROL_POLICY]\n  management_account: management\n  regions: [us-east-1]\n{allow}units:\n  Keep: {{}}\n{units}accounts:\n  management: {{ email: root@example.com }}\n  worker: {{ email: worker@example.com, unit: Keep }}\n"
        )
    };
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("landing-zone.yaml");
    std::fs::write(&path, spec("  Temp: {}\n", "")).expect("write");
    let output = moto.run(&["apply", "--auto-approve"], dir.path());
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));

    std::fs::write(&path, spec("", "")).expect("write");
    let noted = stdout(&moto.run(&["plan", "--allow-destructive"], dir.path()));
    assert!(noted.contains("unit Temp: not in the spec; left alone"), "no spec opt-in: {noted}");
    std::fs::write(&path, spec("", "  allow: { delete_empty_units: true }\n")).expect("write");
    // The spec opts in, the flag is missing: a pending deletion, listed as blocked.
    let blocked = stdout(&moto.run(&["plan"], dir.path()));
    assert!(
        blocked.contains("Blocked") && blocked.contains("unit Temp") && blocked.contains("pass --allow-destructive"),
        "no flag: {blocked}"
    );
    assert!(!blocked.contains("No changes"), "{blocked}");
    let planned = stdout(&moto.run(&["plan", "--allow-destructive"], dir.path()));
    assert!(planned.contains("- unit Temp") && planned.contains("0 to add, 0 to change, 1 to destroy"), "{planned}");
    let output = moto.run(&["apply", "--auto-approve", "--allow-destructive"], dir.path());
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let client = Client::new(&moto.sdk_config().await);
    assert!(!observe(&client).await.units.contains_key("Temp"));
    assert!(observe(&client).await.units.contains_key("Keep"), "only the OU that left the spec");
}
