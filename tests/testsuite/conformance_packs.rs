//! `baseline.conformance_packs` (issue 24) against moto through the strict layer, which serves
//! organization conformance packs as AWS documents them (`support/conformance_packs.rs`: moto
//! cannot take a pack by `TemplateBody`): a pack converges from nothing in every account, the next
//! plan is empty, a pack deleted by hand and a template edited in the spec are planned again, and
//! `validate` refuses a bad template offline, at its line and column in the template file, and the
//! section without `baseline.aws_config`.

use crate::support::{stderr, stdout, workspace, Moto};

const SPEC: &str = r#"version: 1
organization:
  feature_set: ALL
  management_account: management
  regions: [us-east-1]
units:
  Security: {}
accounts:
  management: { email: aws-root@example.com, unit: Root }
  log-archive: { email: aws+log-archive@example.com, unit: Security }
baseline:
  log_archive: { account: log-archive }
  aws_config: { targets: { units: [Root] } }
  conformance_packs:
    operational-best-practices: { template: packs/operational-best-practices.yaml }
"#;

const TEMPLATE: &str = r#"Parameters:
  AccessKeysRotatedParamMaxAccessKeyAge:
    Default: "90"
    Type: String
Resources:
  AccessKeysRotated:
    Type: AWS::Config::ConfigRule
    Properties:
      ConfigRuleName: access-keys-rotated
      InputParameters:
        maxAccessKeyAge: !Ref AccessKeysRotatedParamMaxAccessKeyAge
      Source:
        Owner: AWS
        SourceIdentifier: ACCESS_KEYS_ROTATED
"#;

const PACK: &str = "operational-best-practices";

fn with_template(spec: &str, template: &str) -> tempfile::TempDir {
    let dir = workspace(spec);
    std::fs::create_dir_all(dir.path().join("packs")).expect("packs dir");
    std::fs::write(dir.path().join("packs/operational-best-practices.yaml"), template).expect("template");
    dir
}

fn validate(dir: &std::path::Path) -> (Option<i32>, String) {
    // No endpoint and no credentials: validate must not need AWS.
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_landing-zone"))
        .args(["validate"])
        .current_dir(dir)
        .env_remove("AWS_ENDPOINT_URL")
        .env("AWS_ACCESS_KEY_ID", "")
        .env("AWS_SECRET_ACCESS_KEY", "")
        .output()
        .expect("run");
    (output.status.code(), format!("{}{}", stdout(&output), stderr(&output)))
}

#[tokio::test]
async fn conformance_packs_converge_plan_empty_and_repair_drift() {
    let moto = Moto::start();
    let dir = with_template(SPEC, TEMPLATE);
    let dir = dir.path();
    let applied = moto.run_expecting(&["apply", "--auto-approve"], dir, 0);
    assert!(applied.contains("conformance_packs/operational-best-practices"), "{applied}");

    let config = aws_sdk_config::Client::new(&moto.sdk_config().await);
    let packs = config
        .describe_organization_conformance_packs()
        .organization_conformance_pack_names(PACK)
        .send()
        .await
        .expect("the pack");
    let pack = &packs.organization_conformance_packs()[0];
    let hash = pack
        .conformance_pack_input_parameters()
        .iter()
        .find(|parameter| parameter.parameter_name() == "LandingZoneTemplateSha256")
        .map(|parameter| parameter.parameter_value().to_string())
        .expect("the template's hash is passed with the pack");
    assert_eq!(hash.len(), 64, "{hash}");
    let statuses = config
        .get_organization_conformance_pack_detailed_status()
        .organization_conformance_pack_name(PACK)
        .send()
        .await
        .expect("statuses");
    let statuses = statuses.organization_conformance_pack_detailed_statuses();
    assert_eq!(statuses.len(), 2, "one status per account: {statuses:?}");
    assert!(statuses.iter().all(|status| status.status().as_str() == "CREATE_SUCCESSFUL"), "{statuses:?}");

    let again = moto.run(&["plan", "--detailed-exitcode"], dir);
    assert_eq!(again.status.code(), Some(0), "the next plan is empty:\n{}\n{}", stdout(&again), stderr(&again));
    let audit = moto.run(&["audit"], dir);
    let text = stdout(&audit);
    assert!(
        text.lines().any(|line| line.contains("conformance_packs/operational-best-practices") && line.contains("PASS")),
        "{text}\n{}",
        stderr(&audit)
    );

    // Deleted by hand: planned again, and audit says it is missing.
    config
        .delete_organization_conformance_pack()
        .organization_conformance_pack_name(PACK)
        .send()
        .await
        .expect("delete");
    let missing = moto.run(&["plan", "--detailed-exitcode"], dir);
    let text = stdout(&missing);
    assert_eq!(missing.status.code(), Some(2), "{text}\n{}", stderr(&missing));
    assert!(text.contains("conformance_packs/operational-best-practices"), "{text}");
    let audit = stdout(&moto.run(&["audit"], dir));
    assert!(
        audit
            .lines()
            .any(|line| line.contains("conformance_packs/operational-best-practices") && line.contains("FAIL")),
        "{audit}"
    );
    moto.run_expecting(&["apply", "--auto-approve"], dir, 0);
    moto.run_expecting(&["plan", "--detailed-exitcode"], dir, 0);

    // The template edited in the spec's folder: an update of the pack.
    let edited = TEMPLATE.replace("Default: \"90\"", "Default: \"45\"");
    std::fs::write(dir.join("packs/operational-best-practices.yaml"), edited).expect("edit");
    let plan = moto.run(&["plan", "--detailed-exitcode", "--format", "json"], dir);
    assert_eq!(plan.status.code(), Some(2), "{}\n{}", stdout(&plan), stderr(&plan));
    let plan: serde_json::Value = serde_json::from_str(&stdout(&plan)).expect("json plan");
    let actions = plan["actions"].as_array().expect("actions");
    assert_eq!(actions.len(), 1, "{plan:#}");
    assert_eq!(actions[0]["control"]["control"], "conformance_packs/operational-best-practices", "{plan:#}");
    assert!(actions[0]["before"].is_object(), "an update, not a creation: {plan:#}");
    moto.run_expecting(&["apply", "--auto-approve"], dir, 0);
    let packs = config.describe_organization_conformance_packs().organization_conformance_pack_names(PACK).send().await;
    let packs = packs.expect("the pack");
    let updated = packs.organization_conformance_packs()[0]
        .conformance_pack_input_parameters()
        .iter()
        .find(|parameter| parameter.parameter_name() == "LandingZoneTemplateSha256")
        .map(|parameter| parameter.parameter_value().to_string());
    assert_ne!(updated.as_deref(), Some(hash.as_str()), "the new template's hash was deployed");
    moto.run_expecting(&["plan", "--detailed-exitcode"], dir, 0);
}

#[test]
fn a_bad_template_is_refused_offline_at_its_line_and_column() {
    let bad = TEMPLATE
        .replace("    Type: AWS::Config::ConfigRule\n", "    Type: AWS::S3::Bucket\n")
        .replace("Resources:\n", "Resource:\n  Extra: {}\nResources:\n");
    let dir = with_template(SPEC, &bad);
    let (code, text) = validate(dir.path());
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("unknown template section `Resource`"), "{text}");
    assert!(text.contains("did you mean `Resources`"), "{text}");
    assert!(text.contains("packs/operational-best-practices.yaml:5:1"), "located in the template: {text}");
    assert!(text.contains("`AWS::S3::Bucket`"), "{text}");
    assert!(text.contains("packs/operational-best-practices.yaml:9:11"), "located in the template: {text}");
    assert!(text.contains("referenced from"), "{text}");

    let no_source =
        TEMPLATE.replace("      Source:\n        Owner: AWS\n        SourceIdentifier: ACCESS_KEYS_ROTATED\n", "");
    let dir = with_template(SPEC, &no_source);
    let (code, text) = validate(dir.path());
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("has no `Source`"), "{text}");

    let dir = with_template(&SPEC.replace("operational-best-practices:", "1-bad-name:"), TEMPLATE);
    let (code, text) = validate(dir.path());
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("`1-bad-name` is not a valid conformance pack name"), "{text}");

    let too_big = format!("{TEMPLATE}Metadata:\n  Padding: \"{}\"\n", "x".repeat(52_000));
    let dir = with_template(SPEC, &too_big);
    let (code, text) = validate(dir.path());
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("at most 51200 bytes"), "{text}");

    let dir = with_template(SPEC, TEMPLATE);
    let (code, text) = validate(dir.path());
    assert_eq!(code, Some(0), "the good template passes: {text}");
}

#[test]
fn conformance_packs_without_aws_config_are_refused() {
    let dir = with_template(&SPEC.replace("  aws_config: { targets: { units: [Root] } }\n", ""), TEMPLATE);
    let (code, text) = validate(dir.path());
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("`baseline.conformance_packs` needs `baseline.aws_config`"), "{text}");
    assert!(text.contains("landing-zone.yaml:"), "located: {text}");
}

/// The spec's accounts where Config does not record are excluded from the pack; an account of the
/// organization the spec does not know gets the pack, fails it (no recorder), and `apply` and
/// `audit` name it.
#[tokio::test]
async fn accounts_without_recording_are_excluded_and_a_failed_deployment_is_reported() {
    let moto = Moto::start();
    let spec = SPEC
        .replace("aws_config: { targets: { units: [Root] } }", "aws_config: { targets: { accounts: [management] } }");
    let dir = with_template(&spec, TEMPLATE);
    let dir = dir.path();
    moto.run_expecting(&["apply", "--auto-approve"], dir, 0);
    let base = moto.sdk_config().await;
    let organizations = aws_sdk_organizations::Client::new(&base);
    let accounts = organizations.list_accounts().send().await.expect("accounts").accounts.unwrap_or_default();
    let id_of = |email: &str| {
        accounts.iter().find(|a| a.email.as_deref() == Some(email)).and_then(|a| a.id.clone()).expect("account id")
    };
    let log_archive = id_of("aws+log-archive@example.com");
    let config = aws_sdk_config::Client::new(&base);
    let packs = config
        .describe_organization_conformance_packs()
        .organization_conformance_pack_names(PACK)
        .send()
        .await
        .expect("the pack");
    assert_eq!(packs.organization_conformance_packs()[0].excluded_accounts(), [log_archive]);
    moto.run_expecting(&["plan", "--detailed-exitcode"], dir, 0);

    // An account made outside the spec, without a recorder: the next put fails there.
    organizations.create_account().account_name("stray").email("stray@example.com").send().await.expect("create");
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    let accounts = organizations.list_accounts().send().await.expect("accounts").accounts.unwrap_or_default();
    let stray = accounts
        .iter()
        .find(|a| a.email.as_deref() == Some("stray@example.com"))
        .and_then(|a| a.id.clone())
        .expect("stray id");
    std::fs::write(dir.join("packs/operational-best-practices.yaml"), TEMPLATE.replace("\"90\"", "\"45\""))
        .expect("edit");
    let failed = moto.run(&["apply", "--auto-approve"], dir);
    let text = format!("{}{}", stdout(&failed), stderr(&failed));
    assert_eq!(failed.status.code(), Some(1), "{text}");
    assert!(text.contains(&format!("did not deploy to {stray} (UPDATE_FAILED)")), "{text}");
    let audit = stdout(&moto.run(&["audit"], dir));
    assert!(
        audit.lines().any(|line| line.contains("conformance_packs/operational-best-practices")
            && line.contains("FAIL")
            && line.contains(&format!("not deployed in {stray}: UPDATE_FAILED"))),
        "{audit}"
    );
}

/// The names of the organization conformance packs of the management account in us-east-1.
async fn pack_names(config: &aws_sdk_config::Client) -> Vec<String> {
    let described = config.describe_organization_conformance_packs().send().await.expect("packs");
    let mut names: Vec<String> = described
        .organization_conformance_packs()
        .iter()
        .map(|pack| pack.organization_conformance_pack_name().to_string())
        .collect();
    names.sort();
    names
}

/// `kind control` of a JSON plan's actions, and its blocked changes' resources.
fn plan_of(moto: &Moto, dir: &std::path::Path, flags: &[&str]) -> (Vec<String>, Vec<String>) {
    let mut args = vec!["plan", "--format", "json"];
    args.extend_from_slice(flags);
    let output = moto.run(&args, dir);
    assert!(matches!(output.status.code(), Some(0 | 2)), "{}", stderr(&output));
    let plan: serde_json::Value = serde_json::from_str(&stdout(&output)).expect("json plan");
    let mut actions: Vec<String> = plan["actions"]
        .as_array()
        .expect("actions")
        .iter()
        .map(|action| {
            format!(
                "{} {}",
                action["kind"].as_str().unwrap_or("?"),
                action["control"]["control"].as_str().unwrap_or("-")
            )
        })
        .collect();
    actions.sort();
    let blocked = plan["blocked"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|blocked| {
            format!("{} | {}", blocked["resource"].as_str().unwrap_or("?"), blocked["unblock"].as_str().unwrap_or("?"))
        })
        .collect();
    (actions, blocked)
}

/// A pack landing-zone created that leaves `conformance_packs` is removed (it deletes the pack's
/// rules and their results in every account: the spec's opt-in and `--allow-destructive`), while
/// a pack made by hand is never touched.
#[tokio::test]
async fn a_pack_the_spec_drops_is_removed_and_one_made_by_hand_is_left() {
    let moto = Moto::start();
    let two = SPEC.replace(
        "    operational-best-practices: { template: packs/operational-best-practices.yaml }\n",
        "    operational-best-practices: { template: packs/operational-best-practices.yaml }\n    access-keys: { template: packs/operational-best-practices.yaml }\n",
    );
    let dir = with_template(&two, TEMPLATE);
    let dir = dir.path();
    moto.run_expecting(&["apply", "--auto-approve"], dir, 0);
    let config = aws_sdk_config::Client::new(&moto.sdk_config().await);
    // A pack made by hand, without landing-zone's tag.
    config
        .put_organization_conformance_pack()
        .organization_conformance_pack_name("hand-made")
        .template_body(TEMPLATE)
        .send()
        .await
        .expect("a pack made by hand");
    assert_eq!(pack_names(&config).await, ["access-keys", "hand-made", PACK]);
    let (actions, blocked) = plan_of(&moto, dir, &[]);
    assert!(actions.is_empty() && blocked.is_empty(), "the hand-made pack is not planned: {actions:?} {blocked:?}");

    // `access-keys` leaves the spec: held back until the spec opts in and the flag is passed.
    std::fs::write(dir.join("landing-zone.yaml"), SPEC).expect("spec");
    let (actions, blocked) = plan_of(&moto, dir, &["--allow-destructive"]);
    assert!(actions.is_empty(), "{actions:?}");
    assert_eq!(blocked.len(), 1, "{blocked:?}");
    assert!(blocked[0].starts_with("conformance_packs/access-keys"), "{blocked:?}");
    assert!(blocked[0].contains("organization.allow.delete_baseline_data"), "{blocked:?}");
    let opted = SPEC.replace(
        "  management_account: management\n",
        "  management_account: management\n  allow: { delete_baseline_data: true }\n",
    );
    std::fs::write(dir.join("landing-zone.yaml"), &opted).expect("spec");
    let (actions, blocked) = plan_of(&moto, dir, &[]);
    assert!(actions.is_empty() && blocked.len() == 1, "without the flag: {actions:?} {blocked:?}");
    assert!(blocked[0].contains("--allow-destructive"), "{blocked:?}");
    let (actions, blocked) = plan_of(&moto, dir, &["--allow-destructive"]);
    assert_eq!(actions, ["remove_control conformance_packs/access-keys"], "{blocked:?}");

    let output = moto.run(&["apply", "--auto-approve", "--allow-destructive"], dir);
    assert_eq!(output.status.code(), Some(0), "{}\n{}", stdout(&output), stderr(&output));
    assert_eq!(pack_names(&config).await, ["hand-made", PACK], "the dropped pack is gone, the others stay");
    let (actions, blocked) = plan_of(&moto, dir, &["--allow-destructive"]);
    assert!(actions.is_empty() && blocked.is_empty(), "{actions:?} {blocked:?}");
}
