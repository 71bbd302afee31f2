//! Detection baselines against moto: GuardDuty detectors and delegated admin, Security Hub, AWS
//! Config recorder/channel/rules per account and region — read back independently, broken by hand,
//! repaired. Operations moto lacks are tested in `recorded_responses.rs`.

mod support;

use std::collections::BTreeSet;

use serde_json::Value;
use support::{spec_workspace, stderr, stdout, Moto};

#[tokio::test]
async fn detection_baselines_converge_and_repair_drift() {
    let moto = Moto::start_with_managed_policies();
    let workspace = spec_workspace(&[]);
    let dir = workspace.path();
    let output = moto.run(&["apply", "--auto-approve"], dir);
    assert_eq!(output.status.code(), Some(0), "{}\n{}", stdout(&output), stderr(&output));

    let organizations = aws_sdk_organizations::Client::new(&moto.sdk_config().await);
    let accounts = organizations.list_accounts().send().await.expect("accounts").accounts.unwrap_or_default();
    let id_of = |email: &str| {
        accounts.iter().find(|a| a.email.as_deref() == Some(email)).and_then(|a| a.id.clone()).expect("id")
    };
    let security = id_of("aws+security@example.com");
    let app_prod = id_of("aws+app-prod@example.com");

    for region in ["us-east-1", "eu-west-1"] {
        let regional =
            |config: aws_config::SdkConfig| config.to_builder().region(aws_config::Region::new(region)).build();
        let management = regional(moto.sdk_config().await);
        let admin = regional(moto.assumed_config(&security).await);
        for config in [&management, &admin] {
            let detectors = aws_sdk_guardduty::Client::new(config).list_detectors().send().await.expect("detectors");
            assert_eq!(detectors.detector_ids.map(|ids| ids.len()), Some(1), "{region}");
            assert!(aws_sdk_securityhub::Client::new(config).describe_hub().send().await.is_ok(), "hub in {region}");
        }
        let admins = aws_sdk_guardduty::Client::new(&management)
            .list_organization_admin_accounts()
            .send()
            .await
            .expect("admins");
        let admin_ids: Vec<String> =
            admins.admin_accounts.unwrap_or_default().into_iter().filter_map(|a| a.admin_account_id).collect();
        assert_eq!(admin_ids, std::slice::from_ref(&security), "GuardDuty delegated admin in {region}");

        let config = aws_sdk_config::Client::new(&regional(moto.assumed_config(&app_prod).await));
        let recorders = config.describe_configuration_recorders().send().await.expect("recorders");
        let recorder = recorders.configuration_recorders.expect("r")[0].clone();
        assert!(recorder.role_arn.as_deref().is_some_and(|arn| arn.ends_with("AWSServiceRoleForConfig")));
        let include_global = recorder.recording_group.map(|g| g.include_global_resource_types);
        assert_eq!(include_global, Some(region == "us-east-1"), "global types only in the home region");
        let status = config.describe_configuration_recorder_status().send().await.expect("status");
        assert!(status.configuration_recorders_status.expect("s")[0].recording);
        let channels =
            config.describe_delivery_channels().send().await.expect("channels").delivery_channels.expect("c");
        assert!(channels[0].s3_bucket_name.as_deref().is_some_and(|b| b.starts_with("landing-zone-logs-")));
        let rules = config.describe_config_rules().send().await.expect("rules").config_rules.unwrap_or_default();
        let names: BTreeSet<String> = rules.iter().filter_map(|r| r.config_rule_name.clone()).collect();
        assert_eq!(
            names,
            ["ACCESS_KEYS_ROTATED", "S3_BUCKET_VERSIONING_ENABLED"].iter().map(|s| s.to_string()).collect()
        );
        let rotated =
            rules.iter().find(|r| r.config_rule_name.as_deref() == Some("ACCESS_KEYS_ROTATED")).expect("rule");
        let parameters: Value =
            serde_json::from_str(rotated.input_parameters.as_deref().unwrap_or("{}")).expect("json");
        assert_eq!(parameters["maxAccessKeyAge"], "90");
    }

    // The plan notes the controls moto cannot read instead of failing, and is otherwise empty.
    let plan = moto.run(&["plan", "--detailed-exitcode"], dir);
    assert_eq!(plan.status.code(), Some(0), "{}", stdout(&plan));
    assert!(stdout(&plan).contains("the endpoint does not implement ListAnalyzers"), "{}", stdout(&plan));

    // Break: a GuardDuty detector in the admin account (eu-west-1), a Config rule in app-prod.
    let admin_eu =
        moto.assumed_config(&security).await.to_builder().region(aws_config::Region::new("eu-west-1")).build();
    let guardduty = aws_sdk_guardduty::Client::new(&admin_eu);
    let detector = guardduty.list_detectors().send().await.expect("d").detector_ids.expect("ids")[0].clone();
    guardduty.delete_detector().detector_id(detector).send().await.expect("delete detector");
    let config = aws_sdk_config::Client::new(&moto.assumed_config(&app_prod).await);
    config.delete_config_rule().config_rule_name("S3_BUCKET_VERSIONING_ENABLED").send().await.expect("delete rule");

    let output = moto.run(&["plan", "--format", "json"], dir);
    let planned: Value = serde_json::from_str(&stdout(&output)).expect("json");
    let controls: BTreeSet<String> = planned["actions"]
        .as_array()
        .expect("actions")
        .iter()
        .map(|a| {
            format!(
                "{} {} {}",
                a["control"]["control"].as_str().unwrap_or("?"),
                a["control"]["account"].as_str().unwrap_or("?"),
                a["control"]["region"].as_str().unwrap_or("-")
            )
        })
        .collect();
    // The organization configuration hangs off the admin account's detector: it goes with it.
    let expected: BTreeSet<String> = [
        "guardduty/detector security eu-west-1",
        "guardduty/organization_configuration security eu-west-1",
        "aws_config/rule/S3_BUCKET_VERSIONING_ENABLED app-prod us-east-1",
    ]
    .into_iter()
    .map(str::to_string)
    .collect();
    assert_eq!(controls, expected);
    let repaired = moto.run(&["apply", "--auto-approve"], dir);
    assert_eq!(repaired.status.code(), Some(0), "{}", stderr(&repaired));
    assert_eq!(moto.run(&["plan", "--detailed-exitcode"], dir).status.code(), Some(0));
}
