//! The detection baselines' desired controls for the repository's landing zone, as a pure function
//! (no emulator): which controls exist in which account and region, what they wait for, and the
//! IAM actions they declare for the lock-out check. The emulator test proves they converge; this
//! one pins the shape, including the cross-baseline agreement on the bunker bucket.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use landing_zone::baseline::load_spec_from_str;
use landing_zone::baseline::{aws_config, guardduty, security_hub};
use landing_zone::plan::control::{ControlKey, DesiredControl};

fn controls(edits: &[(&str, &str)]) -> Vec<DesiredControl> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("landing-zone.yaml");
    let mut text = std::fs::read_to_string(&path).expect("landing-zone.yaml");
    for (from, to) in edits {
        assert!(text.contains(from), "`{from}` not in landing-zone.yaml");
        text = text.replacen(from, to, 1);
    }
    let valid = load_spec_from_str(&path, text).unwrap_or_else(|errors| panic!("{:?}", errors.diagnostics));
    landing_zone::baseline::desired_organization(&valid).controls
}

fn family(control: &DesiredControl) -> &str {
    control.key.control.split('/').next().unwrap_or_default()
}

fn label(key: &ControlKey) -> String {
    format!("{} {} {}", key.control, key.account, key.region.as_deref().unwrap_or("-"))
}

#[test]
fn guardduty_and_security_hub_controls_per_region() {
    let all = controls(&[]);
    let labels: BTreeSet<String> = all
        .iter()
        .filter(|control| ["guardduty", "security_hub"].contains(&family(control)))
        .map(|control| label(&control.key))
        .collect();
    let mut expected = BTreeSet::new();
    for region in ["us-east-1", "eu-west-1"] {
        for control in [
            "guardduty/detector management",
            "guardduty/detector security",
            "guardduty/admin management",
            "guardduty/organization_configuration security",
            "security_hub/hub management",
            "security_hub/hub security",
            "security_hub/admin management",
            "security_hub/organization_configuration security",
            "security_hub/standards security",
            "security_hub/members security",
        ] {
            expected.insert(format!("{control} {region}"));
        }
    }
    assert_eq!(labels, expected);

    let by_key: BTreeMap<String, &DesiredControl> = all.iter().map(|control| (label(&control.key), control)).collect();
    let admin = by_key["guardduty/admin management eu-west-1"];
    assert_eq!(admin.attributes["admin_account_id"], "{{account:security}}");
    assert_eq!(admin.after, [ControlKey::new(guardduty::DETECTOR, "management", Some("eu-west-1"))]);
    assert_eq!(admin.after_services, [guardduty::SERVICE]);
    let organization = by_key["guardduty/organization_configuration security eu-west-1"];
    assert_eq!(*organization.attributes, serde_json::json!({ "auto_enable": "ALL" }));
    assert!(organization.after.contains(&ControlKey::new(guardduty::ADMIN, "management", Some("eu-west-1"))));
    let standards = by_key["security_hub/standards security eu-west-1"];
    assert_eq!(
        standards.attributes["standards"],
        serde_json::json!([
            "arn:aws:securityhub:eu-west-1::standards/aws-foundational-security-best-practices/v/1.0.0",
            "arn:aws:securityhub:eu-west-1::standards/cis-aws-foundations-benchmark/v/3.0.0",
        ])
    );
    assert!(standards.after.contains(&ControlKey::new(security_hub::HUB, "security", Some("eu-west-1"))));
    assert_eq!(
        *by_key["security_hub/organization_configuration security us-east-1"].attributes,
        serde_json::json!({ "auto_enable": true, "auto_enable_standards": "NONE" })
    );
}

#[test]
fn no_standards_control_without_standards() {
    let all = controls(&[(
        "    standards:\n      - aws-foundational-security-best-practices\n      - cis-aws-foundations-benchmark\n",
        "",
    )]);
    assert!(all.iter().all(|control| control.key.control != security_hub::STANDARDS));
    assert!(all.iter().any(|control| control.key.control == security_hub::HUB));
}

#[test]
fn access_analyzer_in_the_admin_account_per_region_after_the_delegation() {
    let all = controls(&[]);
    let analyzers: Vec<&DesiredControl> = all.iter().filter(|control| family(control) == "access_analyzer").collect();
    let labels: Vec<String> = analyzers.iter().map(|control| label(&control.key)).collect();
    assert_eq!(labels, ["access_analyzer/analyzer security us-east-1", "access_analyzer/analyzer security eu-west-1"]);
    for analyzer in analyzers {
        assert_eq!(*analyzer.attributes, serde_json::json!({ "name": "organization", "type": "ORGANIZATION" }));
        assert_eq!(analyzer.after_services, ["access-analyzer.amazonaws.com"]);
    }
}

#[test]
fn aws_config_everywhere_delivering_to_the_bunker_bucket() {
    let all = controls(&[]);
    let keys: BTreeSet<ControlKey> = all.iter().map(|control| control.key.clone()).collect();
    let config: Vec<&DesiredControl> = all.iter().filter(|control| family(control) == "aws_config").collect();
    // 8 accounts x 2 regions x (recorder, channel, 2 rules).
    assert_eq!(config.len(), 8 * 2 * 4);
    let bucket_control = all
        .iter()
        .find(|control| control.key.control == "log_archive/bucket")
        .expect("the log-archive baseline's bucket control");
    for control in &config {
        for after in &control.after {
            assert!(
                keys.contains(after),
                "{} waits for {}, which no baseline produces",
                label(&control.key),
                label(after)
            );
        }
        let home = control.key.region.as_deref() == Some("us-east-1");
        match control.key.control.as_str() {
            aws_config::RECORDER => {
                assert_eq!(control.attributes["include_global_resource_types"], home, "{}", label(&control.key));
                assert_eq!(control.attributes["recording"], true);
                assert_eq!(
                    control.attributes["role_arn"],
                    format!(
                        "arn:aws:iam::{{{{account:{}}}}}:role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig",
                        control.key.account
                    )
                );
                assert!(
                    control.needs.contains(&"iam:CreateServiceLinkedRole") && control.needs.contains(&"iam:PassRole")
                );
            }
            aws_config::CHANNEL => {
                assert!(control.after.contains(&bucket_control.key), "the channel waits for the bunker bucket");
                assert_eq!(control.attributes["bucket"], bucket_control.attributes["name"], "same bucket name");
            }
            rule => {
                assert!(rule.starts_with(aws_config::RULE_PREFIX), "{rule}");
                let recorder =
                    ControlKey::new(aws_config::RECORDER, &control.key.account, control.key.region.as_deref());
                assert_eq!(control.after, [recorder], "rules need the recorder only");
                assert_eq!(control.attributes["owner"], "AWS");
            }
        }
    }
}

#[test]
fn every_detection_control_declares_what_it_does() {
    for control in controls(&[]) {
        if ["guardduty", "security_hub", "access_analyzer", "aws_config"].contains(&family(&control)) {
            assert!(!control.needs.is_empty(), "{} declares no IAM actions", label(&control.key));
        }
    }
}

/// Every configured control runs after the creation of each account it names: the Security Hub
/// administrator control lives in the management account but names the security account, and
/// once ran before that account existed ("an id it refers to is still unknown").
#[test]
fn controls_wait_for_the_accounts_they_name() {
    use landing_zone::plan::state::LiveOrganization;
    use landing_zone::plan::{plan, Action, PlanOptions};

    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("landing-zone.yaml");
    let text = std::fs::read_to_string(&path).expect("landing-zone.yaml");
    let valid = load_spec_from_str(&path, text).unwrap_or_else(|errors| panic!("{:?}", errors.diagnostics));
    let desired = landing_zone::baseline::desired_organization(&valid);
    let plan = plan(&desired, &LiveOrganization::default(), PlanOptions::default()).expect("plan");
    let created: BTreeMap<String, usize> = plan
        .actions
        .iter()
        .filter_map(|planned| match &planned.action {
            Action::CreateAccount { name, .. } => Some((name.clone(), planned.index)),
            _ => None,
        })
        .collect();
    let before = |index: usize| {
        let mut seen = BTreeSet::new();
        let mut frontier = vec![index];
        while let Some(next) = frontier.pop() {
            for dependency in &plan.actions[next].depends_on {
                if seen.insert(*dependency) {
                    frontier.push(*dependency);
                }
            }
        }
        seen
    };
    let mut checked = 0;
    for planned in &plan.actions {
        let Action::ConfigureControl { control, after, .. } = &planned.action else { continue };
        let text = after.to_string();
        for (name, creation) in &created {
            if text.contains(&format!("{{{{account:{name}}}}}")) {
                checked += 1;
                assert!(
                    before(planned.index).contains(creation),
                    "{} names `{name}` but does not wait for its creation",
                    label(control)
                );
            }
        }
    }
    assert!(checked >= 4, "controls naming other accounts were checked: {checked}");
}

// Issue 11, item 6: Security Hub central configuration.

const AUTO_ENABLE: &str = "    auto_enable: true\n";

fn security_hub_labels(all: &[DesiredControl]) -> BTreeSet<String> {
    all.iter().filter(|control| family(control) == "security_hub").map(|control| label(&control.key)).collect()
}

#[test]
fn security_hub_central_plans_one_policy_on_the_root_from_the_home_region() {
    let all = controls(&[(AUTO_ENABLE, "    configuration: central\n")]);
    let mut expected = BTreeSet::new();
    for region in ["us-east-1", "eu-west-1"] {
        for control in ["security_hub/hub management", "security_hub/hub security", "security_hub/admin management"] {
            expected.insert(format!("{control} {region}"));
        }
    }
    // Home region only; no per-account standards or members (the policy covers them).
    for control in [
        "security_hub/finding_aggregator security",
        "security_hub/organization_configuration security",
        "security_hub/configuration_policy security",
        "security_hub/policy_association security",
    ] {
        expected.insert(format!("{control} us-east-1"));
    }
    assert_eq!(security_hub_labels(&all), expected);

    let by_key: BTreeMap<String, &DesiredControl> = all.iter().map(|control| (label(&control.key), control)).collect();
    let organization = by_key["security_hub/organization_configuration security us-east-1"];
    assert_eq!(
        *organization.attributes,
        serde_json::json!({ "configuration_type": "CENTRAL", "auto_enable": false, "auto_enable_standards": "NONE" })
    );
    assert!(organization.after.contains(&ControlKey::new(security_hub::ADMIN, "management", Some("us-east-1"))));
    // Central configuration needs cross-Region aggregation into the home region first, linking
    // the spec's other regions (start-central-configuration.html).
    let aggregator = by_key["security_hub/finding_aggregator security us-east-1"];
    assert_eq!(
        *aggregator.attributes,
        serde_json::json!({ "home_region": "us-east-1", "region_linking_mode": "SPECIFIED_REGIONS", "regions": ["eu-west-1"] })
    );
    assert!(organization.after.contains(&aggregator.key), "CENTRAL waits for the aggregator");
    assert!(aggregator.after.contains(&ControlKey::new(security_hub::ADMIN, "management", Some("us-east-1"))));
    assert!(aggregator.needs.contains(&"securityhub:CreateFindingAggregator"));
    let policy = by_key["security_hub/configuration_policy security us-east-1"];
    assert_eq!(
        *policy.attributes,
        serde_json::json!({
            "name": "landing-zone",
            "service_enabled": true,
            "enabled_standards": [
                "arn:aws:securityhub:us-east-1::standards/aws-foundational-security-best-practices/v/1.0.0",
                "arn:aws:securityhub:us-east-1::standards/cis-aws-foundations-benchmark/v/3.0.0",
            ],
            "disabled_controls": [],
        })
    );
    assert_eq!(policy.after, std::slice::from_ref(&organization.key), "the policy needs CENTRAL first");
    let association = by_key["security_hub/policy_association security us-east-1"];
    assert_eq!(*association.attributes, serde_json::json!({ "policy": "landing-zone", "target": "root" }));
    assert_eq!(association.after, std::slice::from_ref(&policy.key));
    for control in [organization, policy, association] {
        assert!(!control.needs.is_empty());
    }
    assert!(association.needs.contains(&"securityhub:StartConfigurationPolicyAssociation"));
}

#[test]
fn security_hub_local_is_the_default_and_unchanged() {
    let explicit = controls(&[(AUTO_ENABLE, "    auto_enable: true\n    configuration: local\n")]);
    let default = controls(&[]);
    assert_eq!(security_hub_labels(&explicit), security_hub_labels(&default));
    assert!(default
        .iter()
        .all(|control| ![security_hub::POLICY, security_hub::ASSOCIATION].contains(&control.key.control.as_str())));
    let without_auto_enable = controls(&[(AUTO_ENABLE, "")]);
    let organization = without_auto_enable
        .iter()
        .find(|control| control.key.control == security_hub::ORGANIZATION)
        .expect("organization configuration");
    assert_eq!(*organization.attributes, serde_json::json!({ "auto_enable": true, "auto_enable_standards": "NONE" }));
}

#[test]
fn security_hub_configuration_is_validated_offline_with_its_position() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("landing-zone.yaml");
    let text = std::fs::read_to_string(&path).expect("landing-zone.yaml");
    let line_of = |text: &str, needle: &str| text.lines().position(|line| line == needle).expect("line") + 1;

    let unknown = text.replacen(AUTO_ENABLE, "    configuration: centrel\n", 1);
    let errors = load_spec_from_str(&path, unknown.clone()).expect_err("unknown value");
    let diagnostic = &errors.diagnostics[0];
    assert!(diagnostic.message.contains("unknown variant `centrel`"), "{}", diagnostic.message);
    let location = diagnostic.location.as_ref().expect("location");
    assert_eq!((location.line, location.column), (line_of(&unknown, "    configuration: centrel"), 20));

    let contradiction = text.replacen(AUTO_ENABLE, "    auto_enable: true\n    configuration: central\n", 1);
    let errors = load_spec_from_str(&path, contradiction.clone()).expect_err("auto_enable under central");
    assert_eq!(errors.diagnostics.len(), 1);
    let diagnostic = &errors.diagnostics[0];
    assert!(diagnostic.message.contains("`auto_enable: true` cannot apply under `configuration: central`"));
    assert!(diagnostic.help.as_deref().is_some_and(|help| help.contains("remove `auto_enable`")));
    let location = diagnostic.location.as_ref().expect("location");
    assert_eq!(location.file, path.display().to_string());
    assert_eq!((location.line, location.column), (line_of(&contradiction, "    auto_enable: true"), 18));

    // `auto_enable: false` says what AWS does anyway: accepted.
    let agreeing = text.replacen(AUTO_ENABLE, "    auto_enable: false\n    configuration: central\n", 1);
    assert!(load_spec_from_str(&path, agreeing).is_ok());
}
