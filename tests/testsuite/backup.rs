//! `baseline.backup` against moto through the strict layer (which serves the vault access policy
//! and the global settings moto lacks, `support/backup.rs`): converge, a second plan with nothing
//! to do, drift made by hand (lock changed and removed, access policy removed, backup policy
//! detached) planned and repaired, and compliance-mode Vault Lock refused without its opt-in.

use serde_json::Value;

use crate::support::{stderr, stdout, workspace, Moto};

const SPEC: &str = r#"
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

fn plan(moto: &Moto, dir: &std::path::Path, extra: &[&str]) -> Value {
    let mut args = vec!["plan", "--format", "json"];
    args.extend_from_slice(extra);
    let output = moto.run(&args, dir);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    serde_json::from_str(&stdout(&output)).expect("plan json")
}

/// `kind control` of every action (`attach_policy -` for attachments).
fn actions(plan: &Value) -> Vec<String> {
    plan["actions"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|action| {
            format!(
                "{} {}",
                action["kind"].as_str().unwrap_or("?"),
                action["control"]["control"].as_str().unwrap_or("-")
            )
        })
        .collect()
}

fn apply(moto: &Moto, dir: &std::path::Path) {
    let output = moto.run(&["apply", "--auto-approve"], dir);
    assert_eq!(output.status.code(), Some(0), "{}\n{}", stdout(&output), stderr(&output));
}

async fn account_id(moto: &Moto, email: &str) -> String {
    let organizations = aws_sdk_organizations::Client::new(&moto.sdk_config().await);
    let accounts = organizations.list_accounts().send().await.expect("accounts").accounts.unwrap_or_default();
    accounts.iter().find(|account| account.email.as_deref() == Some(email)).and_then(|a| a.id.clone()).expect("account")
}

#[tokio::test]
async fn the_bunker_vault_converges_and_drift_by_hand_is_planned_and_repaired() {
    let moto = Moto::start_with_managed_policies();
    let workspace = workspace(SPEC);
    let dir = workspace.path();
    apply(&moto, dir);
    let second = plan(&moto, dir, &[]);
    assert!(actions(&second).is_empty(), "a converged organization plans nothing: {:?}", actions(&second));

    let bunker = account_id(&moto, "aws+log-archive@example.com").await;
    let backup = aws_sdk_backup::Client::new(&moto.assumed_config(&bunker).await);
    let vault = backup.describe_backup_vault().backup_vault_name("landing-zone-bunker").send().await.expect("vault");
    let key = vault.encryption_key_arn().unwrap_or_default();
    assert!(key.contains(":key/"), "the vault is encrypted with the key's ARN, not its alias: {key}");
    assert_eq!(
        (vault.locked(), vault.min_retention_days(), vault.max_retention_days()),
        (Some(true), Some(7), Some(400))
    );
    assert!(vault.lock_date().is_none(), "governance mode: no lock date");
    let access = backup.get_backup_vault_access_policy().backup_vault_name("landing-zone-bunker").send().await;
    let access: Value =
        serde_json::from_str(access.expect("access policy").policy().unwrap_or_default()).expect("json");
    assert_eq!(access["Statement"][0]["Action"], "backup:CopyIntoBackupVault");
    assert!(access["Statement"][0]["Condition"]["StringEquals"]["aws:PrincipalOrgID"]
        .as_str()
        .is_some_and(|id| id.starts_with("o-")));

    let organizations = aws_sdk_organizations::Client::new(&moto.sdk_config().await);
    let policies = organizations
        .list_policies()
        .filter(aws_sdk_organizations::types::PolicyType::BackupPolicy)
        .send()
        .await
        .expect("policies");
    let policy =
        policies.policies().iter().find(|p| p.name() == Some("landing-zone-backup")).expect("the backup policy");
    let policy_id = policy.id().unwrap_or_default().to_string();
    let described = organizations.describe_policy().policy_id(&policy_id).send().await.expect("describe");
    let content: Value =
        serde_json::from_str(described.policy().and_then(|p| p.content()).unwrap_or_default()).expect("content");
    let vault_arn = format!("arn:aws:backup:us-east-1:{bunker}:backup-vault:landing-zone-bunker");
    let copy = &content["plans"]["daily"]["rules"]["daily"]["copy_actions"][vault_arn.as_str()];
    assert_eq!(
        copy["target_backup_vault_arn"]["@@assign"],
        vault_arn.as_str(),
        "copies go to the bunker vault: {content}"
    );
    assert_eq!(copy["lifecycle"]["delete_after_days"]["@@assign"], "365");
    let targets = organizations.list_targets_for_policy().policy_id(&policy_id).send().await.expect("targets");
    let target_id = targets.targets()[0].target_id().unwrap_or_default().to_string();
    assert!(target_id.starts_with("ou-"), "attached to Workloads: {target_id}");

    // Drift by hand: lock removed, access policy removed, backup policy detached.
    backup
        .delete_backup_vault_lock_configuration()
        .backup_vault_name("landing-zone-bunker")
        .send()
        .await
        .expect("unlock");
    backup
        .delete_backup_vault_access_policy()
        .backup_vault_name("landing-zone-bunker")
        .send()
        .await
        .expect("no policy");
    organizations.detach_policy().policy_id(&policy_id).target_id(&target_id).send().await.expect("detach");
    let drifted = actions(&plan(&moto, dir, &[]));
    assert_eq!(
        drifted,
        ["attach_policy -", "configure_control backup/vault", "configure_control backup/vault_lock"],
        "exactly the three drifts"
    );
    apply(&moto, dir);
    assert!(actions(&plan(&moto, dir, &[])).is_empty(), "repaired");

    // The lock changed by hand: planned back.
    backup
        .put_backup_vault_lock_configuration()
        .backup_vault_name("landing-zone-bunker")
        .min_retention_days(1)
        .max_retention_days(400)
        .send()
        .await
        .expect("relock");
    let changed = plan(&moto, dir, &[]);
    assert_eq!(actions(&changed), ["configure_control backup/vault_lock"]);
    assert_eq!(changed["actions"][0]["before"]["min_retention_days"], 1);
    assert_eq!(changed["actions"][0]["after"]["min_retention_days"], 7);
    apply(&moto, dir);
    assert!(actions(&plan(&moto, dir, &[])).is_empty(), "repaired");
}

#[tokio::test]
async fn compliance_mode_needs_the_spec_opt_in_and_the_flag_and_is_refused_before_any_write() {
    let moto = Moto::start_with_managed_policies();
    let compliance = SPEC.replace("max_retention_days: 400 }", "max_retention_days: 400, changeable_for_days: 3 }");
    let workspace = workspace(&compliance);
    let dir = workspace.path();
    moto.strict_proxy().reset_stats();
    let output = moto.run(&["apply", "--auto-approve"], dir);
    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
    let message = stderr(&output);
    assert!(message.contains("compliance mode"), "{message}");
    assert!(message.contains("organization.allow.compliance_vault_lock"), "{message}");
    assert!(message.contains("landing-zone.yaml:"), "names the file and line: {message}");
    assert!(
        moto.strict_proxy().stats().writes.is_empty(),
        "no write reached AWS: {:?}",
        moto.strict_proxy().stats().writes
    );

    // With the spec's opt-in but without --allow-destructive: everything but the lock is planned,
    // and the plan says why.
    let opted_in = compliance.replace(
        "  management_account: management\n",
        "  management_account: management\n  allow: { compliance_vault_lock: true }\n",
    );
    std::fs::write(dir.join("landing-zone.yaml"), &opted_in).expect("write spec");
    let without_flag = plan(&moto, dir, &[]);
    assert!(!actions(&without_flag).contains(&"configure_control backup/vault_lock".to_string()));
    // Held back by the missing flag: a blocked change, with what unblocks it.
    let blocked = without_flag["blocked"].to_string();
    assert!(blocked.contains("irreversible") && blocked.contains("--allow-destructive"), "{blocked}");
    assert_eq!(without_flag["summary"]["blocked"], 1, "{blocked}");
    // With both: planned, and shown as irreversible.
    let with_flag = plan(&moto, dir, &["--allow-destructive"]);
    assert!(actions(&with_flag).contains(&"configure_control backup/vault_lock".to_string()));
    assert!(with_flag["warnings"].to_string().contains("is irreversible"));
}

/// Two Regions, a plan backing up in both: each targeted account gets the vault and the role the
/// policy names, in each Region the plan covers; untargeted accounts get neither.
const MEMBERS_SPEC: &str = r#"
version: 1
organization:
  management_account: management
  regions: [us-east-1, eu-west-1]
units:
  Workloads: {}
accounts:
  management: { email: aws-root@example.com }
  log-archive: { email: aws+log-archive@example.com }
  app: { email: aws+app@example.com, unit: Workloads }
  web: { email: aws+web@example.com, unit: Workloads }
baseline:
  backup:
    vault_account: log-archive
    plans:
      daily:
        schedule: cron(0 5 ? * * *)
        retention_days: 35
        copy_to_bunker_retention_days: 365
        regions: [us-east-1, eu-west-1]
        selection_tags: { backup: daily }
        targets: { units: [Workloads] }
"#;

#[tokio::test]
async fn each_targeted_account_has_the_vault_and_the_role_the_backup_policy_names() {
    let moto = Moto::start_with_managed_policies();
    let workspace = workspace(MEMBERS_SPEC);
    let dir = workspace.path();
    apply(&moto, dir);

    // The policy names the vault and the role by what the tool creates.
    let organizations = aws_sdk_organizations::Client::new(&moto.sdk_config().await);
    let policies = organizations
        .list_policies()
        .filter(aws_sdk_organizations::types::PolicyType::BackupPolicy)
        .send()
        .await
        .expect("policies");
    let policy = policies.policies().iter().find(|p| p.name() == Some("landing-zone-backup")).expect("policy");
    let described = organizations.describe_policy().policy_id(policy.id().unwrap_or_default()).send().await;
    let content: Value =
        serde_json::from_str(described.expect("describe").policy().and_then(|p| p.content()).unwrap_or_default())
            .expect("content");
    let daily = &content["plans"]["daily"];
    let vault_name = daily["rules"]["daily"]["target_backup_vault_name"]["@@assign"].as_str().expect("vault name");
    let role_arn = daily["selections"]["tags"]["daily-backup"]["iam_role_arn"]["@@assign"].as_str().expect("role");
    let role_name = role_arn.rsplit_once(":role/").map(|(_, name)| name).expect("role name");
    assert_eq!(role_arn, format!("arn:aws:iam::$account:role/{role_name}"), "{content}");

    for email in ["aws+app@example.com", "aws+web@example.com"] {
        let id = account_id(&moto, email).await;
        let config = moto.assumed_config(&id).await;
        for region in ["us-east-1", "eu-west-1"] {
            let regional = config.to_builder().region(aws_config::Region::new(region)).build();
            let backup = aws_sdk_backup::Client::new(&regional);
            let vault = backup.describe_backup_vault().backup_vault_name(vault_name).send().await;
            assert!(vault.is_ok(), "{email} has the vault `{vault_name}` in {region}: {vault:?}");
            let arn = vault.as_ref().ok().and_then(|v| v.backup_vault_arn()).unwrap_or_default().to_string();
            let tags = backup.list_tags().resource_arn(&arn).send().await.expect("tags");
            let mark = tags.tags().and_then(|tags| tags.get("landing-zone:managed-by")).map(String::as_str);
            assert_eq!(mark, Some("landing-zone"), "the vault is marked as landing-zone's");
        }
        let iam = aws_sdk_iam::Client::new(&config);
        let role = iam.get_role().role_name(role_name).send().await.expect("the role the policy names");
        let trust = role.role().and_then(|role| role.assume_role_policy_document()).unwrap_or_default();
        // IAM returns the document URL-encoded.
        let trust: Value = serde_json::from_str(trust).unwrap_or_else(|_| percent_decoded(trust));
        assert_eq!(
            trust["Statement"][0]["Principal"]["Service"],
            serde_json::json!(["backup.amazonaws.com"]),
            "{trust}"
        );
        let attached = iam.list_attached_role_policies().role_name(role_name).send().await.expect("attached");
        let mut arns: Vec<&str> = attached.attached_policies().iter().filter_map(|p| p.policy_arn()).collect();
        arns.sort();
        assert_eq!(
            arns,
            [
                "arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup",
                "arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForRestores",
            ]
        );
    }
    // Not targeted: the bunker account has no member vault and no member role.
    let bunker = account_id(&moto, "aws+log-archive@example.com").await;
    let config = moto.assumed_config(&bunker).await;
    let backup = aws_sdk_backup::Client::new(&config);
    assert!(backup.describe_backup_vault().backup_vault_name(vault_name).send().await.is_err());
    assert!(aws_sdk_iam::Client::new(&config).get_role().role_name(role_name).send().await.is_err());

    let second = plan(&moto, dir, &[]);
    assert!(actions(&second).is_empty(), "a converged organization plans nothing: {:?}", actions(&second));

    // `web` leaves the plans' targets: its role goes; its vaults would lose recovery points, so
    // they go only with the spec's opt-in and --allow-destructive, and are a warning before.
    let moved = MEMBERS_SPEC
        .replace("web: { email: aws+web@example.com, unit: Workloads }", "web: { email: aws+web@example.com }");
    std::fs::write(dir.join("landing-zone.yaml"), &moved).expect("spec");
    let blocked = plan(&moto, dir, &[]);
    let mut shown = actions(&blocked);
    shown.sort();
    assert_eq!(shown, ["move_account -", "remove_control backup/member_role"], "{blocked:#}");
    let held: Vec<&Value> = blocked["blocked"].as_array().expect("blocked").iter().collect();
    assert_eq!(held.len(), 2, "one per Region: {held:?}");
    assert!(
        held.iter().all(|b| b["resource"].as_str().is_some_and(|r| r.starts_with("backup/member_vault in web ("))
            && b["unblock"].as_str().is_some_and(|u| u.contains("organization.allow.delete_baseline_data"))),
        "{held:?}"
    );
    let opted = moved.replace(
        "  management_account: management\n",
        "  management_account: management\n  allow: { delete_baseline_data: true }\n",
    );
    std::fs::write(dir.join("landing-zone.yaml"), &opted).expect("spec");
    let allowed = plan(&moto, dir, &["--allow-destructive"]);
    let mut shown = actions(&allowed);
    shown.sort();
    assert_eq!(
        shown,
        [
            "move_account -",
            "remove_control backup/member_role",
            "remove_control backup/member_vault",
            "remove_control backup/member_vault",
        ],
        "{allowed:#}"
    );
    let output = moto.run(&["apply", "--auto-approve", "--allow-destructive"], dir);
    assert_eq!(output.status.code(), Some(0), "{}\n{}", stdout(&output), stderr(&output));
    let web = account_id(&moto, "aws+web@example.com").await;
    let config = moto.assumed_config(&web).await;
    for region in ["us-east-1", "eu-west-1"] {
        let regional = config.to_builder().region(aws_config::Region::new(region)).build();
        let backup = aws_sdk_backup::Client::new(&regional);
        assert!(backup.describe_backup_vault().backup_vault_name(vault_name).send().await.is_err(), "{region}");
    }
    assert!(aws_sdk_iam::Client::new(&config).get_role().role_name(role_name).send().await.is_err());
    // `app` keeps both.
    let app = account_id(&moto, "aws+app@example.com").await;
    let app_config = moto.assumed_config(&app).await;
    assert!(aws_sdk_iam::Client::new(&app_config).get_role().role_name(role_name).send().await.is_ok());
    let again = plan(&moto, dir, &["--allow-destructive"]);
    assert!(actions(&again).is_empty(), "{:?}", actions(&again));
}

/// A URL-encoded JSON document, decoded and parsed (Null if it is not JSON).
fn percent_decoded(text: &str) -> Value {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let escaped = (bytes[index] == b'%' && index + 2 < bytes.len())
            .then(|| u8::from_str_radix(&text[index + 1..index + 3], 16).ok())
            .flatten();
        match escaped {
            Some(byte) => {
                decoded.push(byte);
                index += 3;
            }
            None => {
                decoded.push(bytes[index]);
                index += 1;
            }
        }
    }
    serde_json::from_slice(&decoded).unwrap_or(Value::Null)
}
