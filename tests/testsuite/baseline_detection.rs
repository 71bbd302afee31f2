//! Detection baselines against moto: GuardDuty detectors and delegated administrator, Security Hub
//! hubs and organization configuration, and AWS Config (recorder, delivery channel into the bunker,
//! managed rules) in every account and region — applied by the binary, read back independently
//! through assumed roles, broken by hand, planned exactly, repaired.
//!
//! The spec is the repository's landing zone without what moto cannot emulate at all (Access
//! Analyzer analyzers, Security Hub standards). GuardDuty's organization configuration cannot be
//! left out without GuardDuty; moto lacks its operations, so the plan notes it as not managed.
//! Those operations are tested in `recorded_responses.rs`.

use std::collections::{BTreeMap, BTreeSet};

use crate::support::{spec_workspace, stderr, stdout, Moto};
use aws_config::{Region, SdkConfig};
use serde_json::Value;

const REGIONS: [&str; 2] = ["us-east-1", "eu-west-1"];
const HOME: &str = "us-east-1";

fn in_region(config: &SdkConfig, region: &str) -> SdkConfig {
    config.to_builder().region(Region::new(region.to_string())).build()
}

/// `control account region` of every action of a JSON plan.
fn planned_controls(plan: &Value) -> BTreeSet<String> {
    plan["actions"]
        .as_array()
        .expect("actions")
        .iter()
        .map(|action| {
            format!(
                "{} {} {}",
                action["control"]["control"].as_str().unwrap_or("?"),
                action["control"]["account"].as_str().unwrap_or("?"),
                action["control"]["region"].as_str().unwrap_or("-")
            )
        })
        .collect()
}

#[tokio::test]
async fn detection_baselines_converge_and_repair_drift() {
    let moto = Moto::start_with_env(&[("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")]);
    let workspace = spec_workspace(&[
        (
            "    standards:\n      - aws-foundational-security-best-practices\n      - cis-aws-foundations-benchmark\n",
            "",
        ),
        ("  access_analyzer:\n    admin_account: security\n    analyzer_name: organization\n", ""),
    ]);
    let dir = workspace.path();
    let output = moto.run(&["apply", "--auto-approve"], dir);
    assert_eq!(output.status.code(), Some(0), "{}\n{}", stdout(&output), stderr(&output));

    // Every account of the spec, by name, with the config an independent reader would use.
    let management = moto.sdk_config().await;
    let organizations = aws_sdk_organizations::Client::new(&management);
    let listed = organizations.list_accounts().send().await.expect("accounts").accounts.unwrap_or_default();
    let spec_accounts = [
        ("management", "aws-root@example.com"),
        ("shared-services", "aws+shared-services@example.com"),
        ("log-archive", "aws+log-archive@example.com"),
        ("security", "aws+security@example.com"),
        ("app-prod", "aws+app-prod@example.com"),
        ("app-staging", "aws+app-staging@example.com"),
        ("app-dev", "aws+app-dev@example.com"),
        ("sandbox", "aws+sandbox@example.com"),
    ];
    let management_id = organizations
        .describe_organization()
        .send()
        .await
        .expect("organization")
        .organization
        .and_then(|organization| organization.master_account_id)
        .expect("management id");
    let mut ids = BTreeMap::new();
    let mut configs = BTreeMap::new();
    for (name, email) in spec_accounts {
        let id = if name == "management" {
            management_id.clone()
        } else {
            listed.iter().find(|a| a.email.as_deref() == Some(email)).and_then(|a| a.id.clone()).expect("account id")
        };
        let config = if name == "management" { moto.sdk_config().await } else { moto.assumed_config(&id).await };
        ids.insert(name, id);
        configs.insert(name, config);
    }
    let security = ids["security"].clone();
    let bunker_bucket = format!("landing-zone-logs-{}", ids["log-archive"]);
    let bunker = aws_sdk_s3::config::Builder::from(&configs["log-archive"]).force_path_style(true).build();
    aws_sdk_s3::Client::from_conf(bunker)
        .head_bucket()
        .bucket(&bunker_bucket)
        .send()
        .await
        .expect("the bunker bucket the channels deliver to exists in the log-archive account");

    for region in REGIONS {
        // GuardDuty: an enabled detector in the management and admin accounts, the admin delegated.
        for account in ["management", "security"] {
            let guardduty = aws_sdk_guardduty::Client::new(&in_region(&configs[account], region));
            let detectors =
                guardduty.list_detectors().send().await.expect("detectors").detector_ids.unwrap_or_default();
            assert_eq!(detectors.len(), 1, "one detector in {account} ({region})");
            let detector = guardduty.get_detector().detector_id(&detectors[0]).send().await.expect("detector");
            assert_eq!(detector.status.map(|s| s.as_str().to_string()).as_deref(), Some("ENABLED"));
        }
        let admins = aws_sdk_guardduty::Client::new(&in_region(&management, region))
            .list_organization_admin_accounts()
            .send()
            .await
            .expect("admins")
            .admin_accounts
            .unwrap_or_default();
        let admin_ids: Vec<&str> = admins.iter().filter_map(|a| a.admin_account_id.as_deref()).collect();
        assert_eq!(admin_ids, [security.as_str()], "GuardDuty delegated administrator in {region}");

        // Security Hub: hubs in the management and admin accounts; the admin reads the organization
        // configuration (only the delegated administrator may), the management account may not.
        for account in ["management", "security"] {
            let hub =
                aws_sdk_securityhub::Client::new(&in_region(&configs[account], region)).describe_hub().send().await;
            assert!(hub.is_ok(), "Security Hub in {account} ({region}): {hub:?}");
        }
        let as_admin = aws_sdk_securityhub::Client::new(&in_region(&configs["security"], region));
        let organization = as_admin.describe_organization_configuration().send().await.expect("admin reads");
        assert_eq!(organization.auto_enable, Some(true), "{region}");
        assert_eq!(organization.auto_enable_standards.map(|s| s.as_str().to_string()).as_deref(), Some("NONE"));
        let as_management = aws_sdk_securityhub::Client::new(&in_region(&management, region));
        assert!(as_management.describe_organization_configuration().send().await.is_err(), "not the admin");

        // AWS Config in every account (targets: Root).
        for (name, id) in &ids {
            let config = aws_sdk_config::Client::new(&in_region(&configs[name], region));
            let recorders = config.describe_configuration_recorders().send().await.expect("recorders");
            let recorders = recorders.configuration_recorders.unwrap_or_default();
            assert_eq!(recorders.len(), 1, "{name} ({region})");
            assert_eq!(recorders[0].name.as_deref(), Some("default"));
            assert_eq!(
                recorders[0].role_arn.as_deref(),
                Some(
                    format!("arn:aws:iam::{id}:role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig")
                        .as_str()
                ),
                "the service-linked role of {name}"
            );
            let group = recorders[0].recording_group.clone().expect("recording group");
            assert!(group.all_supported);
            assert_eq!(group.include_global_resource_types, region == HOME, "global types only in the home region");
            let status = config.describe_configuration_recorder_status().send().await.expect("status");
            assert!(status.configuration_recorders_status.unwrap_or_default().iter().all(|s| s.recording), "{name}");
            let channels = config.describe_delivery_channels().send().await.expect("channels");
            let channels = channels.delivery_channels.unwrap_or_default();
            assert_eq!(channels.len(), 1);
            assert_eq!(channels[0].name.as_deref(), Some("default"));
            assert_eq!(channels[0].s3_bucket_name.as_deref(), Some(bunker_bucket.as_str()), "{name} ({region})");
            let rules = config.describe_config_rules().send().await.expect("rules").config_rules.unwrap_or_default();
            let mut by_name: BTreeMap<String, (String, String, Value)> = BTreeMap::new();
            for rule in rules {
                let source = rule.source.expect("source");
                let parameters: Value =
                    serde_json::from_str(rule.input_parameters.as_deref().unwrap_or("{}")).expect("json");
                by_name.insert(
                    rule.config_rule_name.expect("name"),
                    (source.owner.as_str().to_string(), source.source_identifier.unwrap_or_default(), parameters),
                );
            }
            assert_eq!(
                by_name,
                BTreeMap::from([
                    (
                        "ACCESS_KEYS_ROTATED".to_string(),
                        (
                            "AWS".to_string(),
                            "ACCESS_KEYS_ROTATED".to_string(),
                            serde_json::json!({"maxAccessKeyAge": "90"})
                        )
                    ),
                    (
                        "S3_BUCKET_VERSIONING_ENABLED".to_string(),
                        ("AWS".to_string(), "S3_BUCKET_VERSIONING_ENABLED".to_string(), serde_json::json!({}))
                    ),
                ]),
                "{name} ({region})"
            );
        }
    }
    // The recorder's service-linked role was created in every account. (moto names it
    // `AWSServiceRoleForconfig`, lower-case c, where AWS says `AWSServiceRoleForConfig`, the name the
    // recorder uses; moto's Config does not check the role, so only its creation is checked here.)
    for (name, config) in &configs {
        let roles = aws_sdk_iam::Client::new(config)
            .list_roles()
            .path_prefix("/aws-service-role/config.amazonaws.com/")
            .send()
            .await
            .expect("roles");
        assert_eq!(roles.roles.len(), 1, "one service-linked role for AWS Config in {name}");
    }

    // Converged: nothing to do. The only notes are GuardDuty's organization configuration, whose
    // operations moto lacks (one per region).
    let plan = moto.run(&["plan", "--detailed-exitcode", "--format", "json"], dir);
    assert_eq!(plan.status.code(), Some(0), "{}\n{}", stdout(&plan), stderr(&plan));
    let planned: Value = serde_json::from_str(&stdout(&plan)).expect("json plan");
    let notes: BTreeSet<String> = planned["notes"]
        .as_array()
        .expect("notes")
        .iter()
        .filter(|note| note["message"].as_str().is_some_and(|m| m.contains("does not implement")))
        .map(|note| {
            format!("{} | {}", note["resource"].as_str().unwrap_or("?"), note["message"].as_str().unwrap_or("?"))
        })
        .collect();
    let expected_notes: BTreeSet<String> = REGIONS
        .iter()
        .map(|region| {
            format!(
                "guardduty/organization_configuration in security ({region}) | not managed here: the endpoint does not implement DescribeOrganizationConfiguration"
            )
        })
        .collect();
    assert_eq!(notes, expected_notes);

    // Break four controls by hand.
    let security_eu = in_region(&configs["security"], "eu-west-1");
    let guardduty = aws_sdk_guardduty::Client::new(&security_eu);
    let detector = guardduty.list_detectors().send().await.expect("d").detector_ids.expect("ids")[0].clone();
    guardduty.delete_detector().detector_id(detector).send().await.expect("delete detector");
    let app_prod = aws_sdk_config::Client::new(&in_region(&configs["app-prod"], HOME));
    app_prod.delete_config_rule().config_rule_name("S3_BUCKET_VERSIONING_ENABLED").send().await.expect("delete rule");
    let sandbox_eu = aws_sdk_config::Client::new(&in_region(&configs["sandbox"], "eu-west-1"));
    sandbox_eu.stop_configuration_recorder().configuration_recorder_name("default").send().await.expect("stop");
    let app_dev_eu = aws_sdk_config::Client::new(&in_region(&configs["app-dev"], "eu-west-1"));
    let loosened = aws_sdk_config::types::ConfigRule::builder()
        .config_rule_name("ACCESS_KEYS_ROTATED")
        .source(
            aws_sdk_config::types::Source::builder()
                .owner(aws_sdk_config::types::Owner::Aws)
                .source_identifier("ACCESS_KEYS_ROTATED")
                .build()
                .expect("source"),
        )
        .input_parameters(r#"{"maxAccessKeyAge":"365"}"#)
        .build();
    app_dev_eu.put_config_rule().config_rule(loosened).send().await.expect("loosen rule");

    // The plan shows exactly those, with what changed.
    let output = moto.run(&["plan", "--format", "json"], dir);
    let planned: Value = serde_json::from_str(&stdout(&output)).expect("json");
    let expected: BTreeSet<String> = [
        "guardduty/detector security eu-west-1",
        // The organization configuration hangs off the admin account's detector: it goes with it.
        "guardduty/organization_configuration security eu-west-1",
        "aws_config/rule/S3_BUCKET_VERSIONING_ENABLED app-prod us-east-1",
        "aws_config/recorder sandbox eu-west-1",
        "aws_config/rule/ACCESS_KEYS_ROTATED app-dev eu-west-1",
    ]
    .into_iter()
    .map(str::to_string)
    .collect();
    assert_eq!(planned_controls(&planned), expected);
    let actions = planned["actions"].as_array().expect("actions");
    let action = |control: &str| {
        actions.iter().find(|a| a["control"]["control"] == control).unwrap_or_else(|| panic!("{control} planned"))
    };
    let recorder = action("aws_config/recorder");
    assert_eq!(
        (&recorder["before"]["recording"], &recorder["after"]["recording"]),
        (&Value::Bool(false), &Value::Bool(true))
    );
    let rotated = action("aws_config/rule/ACCESS_KEYS_ROTATED");
    assert_eq!(rotated["before"]["parameters"]["maxAccessKeyAge"], "365");
    assert_eq!(rotated["after"]["parameters"]["maxAccessKeyAge"], "90");
    assert!(action("aws_config/rule/S3_BUCKET_VERSIONING_ENABLED")["before"].is_null(), "deleted reads as absent");

    // Apply repairs them, and the plan is empty again.
    let repaired = moto.run(&["apply", "--auto-approve"], dir);
    assert_eq!(repaired.status.code(), Some(0), "{}\n{}", stdout(&repaired), stderr(&repaired));
    let detectors = guardduty.list_detectors().send().await.expect("d").detector_ids.unwrap_or_default();
    assert_eq!(detectors.len(), 1, "detector recreated");
    let status = sandbox_eu.describe_configuration_recorder_status().send().await.expect("status");
    assert!(status.configuration_recorders_status.unwrap_or_default().iter().all(|s| s.recording), "recording again");
    let rule = app_dev_eu.describe_config_rules().config_rule_names("ACCESS_KEYS_ROTATED").send().await.expect("rule");
    let parameters = rule.config_rules.unwrap_or_default()[0].input_parameters.clone().unwrap_or_default();
    assert_eq!(serde_json::from_str::<Value>(&parameters).expect("json")["maxAccessKeyAge"], "90");
    let again = moto.run(&["plan", "--detailed-exitcode"], dir);
    assert_eq!(again.status.code(), Some(0), "{}", stdout(&again));
}
