//! `baseline.alerts` (issue 24) against moto through the strict layer (which keeps e-mail
//! subscriptions pending until confirmed, as AWS does: `support/sns.rs`): the topic, its policy,
//! its subscriptions and the findings rules converge, a pending confirmation is a note and not a
//! change, drift made by hand (the policy replaced, a target added to a rule, an address dropped
//! from the spec) is repaired, and `validate` refuses alerts held away from the findings'
//! delegated administrator.

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
  security: { email: aws+security@example.com, unit: Security }
baseline:
  alerts:
    account: security
    email: [secops@example.com, oncall@example.com]
    findings: { min_severity: HIGH }
"#;

async fn account_id(moto: &Moto, email: &str) -> String {
    let organizations = aws_sdk_organizations::Client::new(&moto.sdk_config().await);
    let listed = organizations.list_accounts().send().await.expect("accounts").accounts.unwrap_or_default();
    listed.into_iter().find(|a| a.email.as_deref() == Some(email)).and_then(|a| a.id).expect("account id")
}

/// (endpoint, subscription ARN) of the topic's e-mail subscriptions, sorted.
async fn subscriptions(sns: &aws_sdk_sns::Client, topic: &str) -> Vec<(String, String)> {
    let listed = sns.list_subscriptions_by_topic().topic_arn(topic).send().await.expect("subscriptions");
    let mut found: Vec<(String, String)> = listed
        .subscriptions
        .unwrap_or_default()
        .into_iter()
        .filter(|s| s.protocol.as_deref() == Some("email"))
        .map(|s| (s.endpoint.unwrap_or_default(), s.subscription_arn.unwrap_or_default()))
        .collect();
    found.sort();
    found
}

#[tokio::test]
async fn alerts_converge_note_pending_confirmations_and_repair_drift() {
    let moto = Moto::start();
    let dir = workspace(SPEC);
    let dir = dir.path();
    moto.run_expecting(&["apply", "--auto-approve"], dir, 0);

    let security = account_id(&moto, "aws+security@example.com").await;
    let config = moto.assumed_config(&security).await;
    let (sns, events) = (aws_sdk_sns::Client::new(&config), aws_sdk_eventbridge::Client::new(&config));
    let topic = format!("arn:aws:sns:us-east-1:{security}:landing-zone-alerts");
    let attributes = sns.get_topic_attributes().topic_arn(&topic).send().await.expect("the topic");
    let policy: serde_json::Value =
        serde_json::from_str(attributes.attributes.unwrap_or_default().get("Policy").expect("a policy")).expect("json");
    assert_eq!(policy["Statement"][1]["Principal"]["Service"], "events.amazonaws.com", "{policy:#}");
    assert_eq!(policy["Statement"][1]["Condition"]["StringEquals"]["aws:SourceAccount"], security.as_str());
    let subscribed = subscriptions(&sns, &topic).await;
    assert_eq!(
        subscribed.iter().map(|(endpoint, arn)| (endpoint.as_str(), arn.as_str())).collect::<Vec<_>>(),
        [("oncall@example.com", "PendingConfirmation"), ("secops@example.com", "PendingConfirmation")]
    );
    let rule = events.describe_rule().name("landing-zone-guardduty-findings").send().await.expect("the rule");
    let pattern: serde_json::Value = serde_json::from_str(rule.event_pattern().expect("a pattern")).expect("json");
    assert_eq!(pattern["detail"]["severity"][0]["numeric"], serde_json::json!([">=", 7]), "{pattern:#}");
    let targets = events.list_targets_by_rule().rule("landing-zone-guardduty-findings").send().await.expect("targets");
    assert_eq!(targets.targets().iter().map(|t| t.arn()).collect::<Vec<_>>(), [topic.as_str()]);
    let hub = events.describe_rule().name("landing-zone-security-hub-findings").send().await.expect("the rule");
    assert!(hub.event_pattern().unwrap_or_default().contains("CRITICAL"));

    // Pending confirmations are notes, not changes.
    let pending = moto.run(&["plan", "--detailed-exitcode"], dir);
    let text = stdout(&pending);
    assert_eq!(pending.status.code(), Some(0), "{text}\n{}", stderr(&pending));
    assert!(text.contains("secops@example.com has not confirmed its subscription yet"), "{text}");

    // Drift by hand: the policy replaced, a target added to the rule; oncall confirms and then
    // leaves the spec.
    moto.strict_proxy().confirm_email("oncall@example.com");
    moto.strict_proxy().confirm_email("secops@example.com");
    let open = serde_json::json!({ "Version": "2012-10-17", "Statement": [{ "Effect": "Allow",
        "Principal": { "AWS": "*" }, "Action": "sns:Publish", "Resource": topic }] });
    sns.set_topic_attributes()
        .topic_arn(&topic)
        .attribute_name("Policy")
        .attribute_value(open.to_string())
        .send()
        .await
        .expect("policy by hand");
    let extra = aws_sdk_eventbridge::types::Target::builder()
        .id("someone-elses")
        .arn(format!("arn:aws:sns:us-east-1:{security}:elsewhere"))
        .build()
        .expect("target");
    events.put_targets().rule("landing-zone-guardduty-findings").targets(extra).send().await.expect("target by hand");
    std::fs::write(dir.join("landing-zone.yaml"), SPEC.replace(", oncall@example.com", "")).expect("spec");

    let drifted = moto.run(&["plan", "--detailed-exitcode"], dir);
    assert_eq!(drifted.status.code(), Some(2), "{}\n{}", stdout(&drifted), stderr(&drifted));
    let text = stdout(&drifted);
    assert!(text.contains("alerts/topic") && text.contains("alerts/rule/guardduty_findings"), "{text}");
    moto.run_expecting(&["apply", "--auto-approve"], dir, 0);

    let subscribed = subscriptions(&sns, &topic).await;
    assert_eq!(subscribed.iter().map(|(endpoint, _)| endpoint.as_str()).collect::<Vec<_>>(), ["secops@example.com"]);
    let targets = events.list_targets_by_rule().rule("landing-zone-guardduty-findings").send().await.expect("targets");
    assert_eq!(targets.targets().iter().map(|t| t.arn()).collect::<Vec<_>>(), [topic.as_str()]);
    let again = moto.run(&["plan", "--detailed-exitcode"], dir);
    assert_eq!(again.status.code(), Some(0), "the next plan is empty:\n{}\n{}", stdout(&again), stderr(&again));
}

#[test]
fn alerts_away_from_the_findings_administrator_are_refused_offline() {
    let spec = SPEC
        .replace("  Security: {}\n", "  Security: {}\n  Logs: {}\n")
        .replace(
            "  security: { email: aws+security@example.com, unit: Security }\n",
            "  security: { email: aws+security@example.com, unit: Security }\n  log-archive: { email: aws+logs@example.com, unit: Logs }\n",
        )
        .replace("    account: security\n", "    account: log-archive\n")
        .replace("baseline:\n", "baseline:\n  guardduty: { admin_account: security }\n");
    let dir = workspace(&spec);
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_landing-zone"))
        .args(["validate"])
        .current_dir(dir.path())
        .output()
        .expect("run");
    let text = format!("{}{}", stdout(&output), stderr(&output));
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(text.contains("delegated administrator `security`"), "{text}");
    assert!(text.contains("set `baseline.alerts.account: security`"), "{text}");
    assert!(text.contains("landing-zone.yaml:"), "located: {text}");
}

const ROOT_SPEC: &str = r#"version: 1
organization:
  feature_set: ALL
  management_account: management
  regions: [eu-west-1]
units:
  Security: {}
  Workloads: {}
accounts:
  management: { email: aws-root@example.com, unit: Root }
  security: { email: aws+security@example.com, unit: Security }
  app-prod: { email: aws+app-prod@example.com, unit: Workloads }
baseline:
  alerts:
    account: security
    email: [secops@example.com]
    root_activity: { targets: { units: [Workloads] } }
"#;

/// `(target ARN, role ARN)` of the rule `name` on `bus`.
async fn rule_targets(events: &aws_sdk_eventbridge::Client, name: &str, bus: &str) -> Vec<(String, Option<String>)> {
    let listed = events.list_targets_by_rule().rule(name).event_bus_name(bus).send().await.expect("targets");
    listed.targets().iter().map(|t| (t.arn().to_string(), t.role_arn().map(str::to_string))).collect()
}

#[tokio::test]
async fn root_activity_is_forwarded_from_every_region_and_us_east_1_and_a_deleted_rule_comes_back() {
    let moto = Moto::start();
    let dir = workspace(ROOT_SPEC);
    let dir = dir.path();
    moto.run_expecting(&["apply", "--auto-approve"], dir, 0);

    let (security, prod) =
        (account_id(&moto, "aws+security@example.com").await, account_id(&moto, "aws+app-prod@example.com").await);
    let organization = aws_sdk_organizations::Client::new(&moto.sdk_config().await);
    let org_id = organization.describe_organization().send().await.expect("org").organization.and_then(|o| o.id);
    let central = aws_sdk_eventbridge::Client::new(
        &moto
            .assumed_config(&security)
            .await
            .into_builder()
            .region(aws_sdk_eventbridge::config::Region::new("eu-west-1"))
            .build(),
    );
    let bus = central.describe_event_bus().name("landing-zone-root-activity").send().await.expect("the bus");
    let policy: serde_json::Value = serde_json::from_str(bus.policy().expect("a policy")).expect("json");
    assert_eq!(
        policy["Statement"][0]["Condition"]["StringEquals"]["aws:PrincipalOrgID"],
        serde_json::json!(org_id.expect("org id")),
        "{policy:#}"
    );
    let bus_arn = format!("arn:aws:events:eu-west-1:{security}:event-bus/landing-zone-root-activity");
    assert_eq!(
        rule_targets(&central, "landing-zone-root-activity", "landing-zone-root-activity").await,
        [(format!("arn:aws:sns:eu-west-1:{security}:landing-zone-alerts"), None)]
    );

    let role = format!("arn:aws:iam::{prod}:role/LandingZoneRootActivityForwarder");
    let prod_config = moto.assumed_config(&prod).await;
    let iam = aws_sdk_iam::Client::new(&prod_config);
    iam.get_role().role_name("LandingZoneRootActivityForwarder").send().await.expect("the forwarding role");
    for region in ["eu-west-1", "us-east-1"] {
        let events = aws_sdk_eventbridge::Client::new(
            &prod_config.clone().into_builder().region(aws_sdk_eventbridge::config::Region::new(region)).build(),
        );
        let rule = events.describe_rule().name("landing-zone-root-activity").send().await.expect("a forwarding rule");
        assert!(rule.event_pattern().unwrap_or_default().contains("Root"), "{region}");
        assert_eq!(
            rule_targets(&events, "landing-zone-root-activity", "default").await,
            [(bus_arn.clone(), Some(role.clone()))],
            "{region} forwards to the home region's bus"
        );
    }
    let again = moto.run(&["plan", "--detailed-exitcode"], dir);
    assert_eq!(again.status.code(), Some(0), "converged:\n{}\n{}", stdout(&again), stderr(&again));

    // Someone deletes the us-east-1 forwarding rule: the plan puts it back.
    let virginia = aws_sdk_eventbridge::Client::new(
        &prod_config.clone().into_builder().region(aws_sdk_eventbridge::config::Region::new("us-east-1")).build(),
    );
    virginia
        .remove_targets()
        .rule("landing-zone-root-activity")
        .ids("landing-zone-alerts")
        .send()
        .await
        .expect("remove");
    virginia.delete_rule().name("landing-zone-root-activity").send().await.expect("delete by hand");
    let drifted = moto.run(&["plan", "--detailed-exitcode"], dir);
    let text = stdout(&drifted);
    assert_eq!(drifted.status.code(), Some(2), "{text}\n{}", stderr(&drifted));
    assert!(text.contains("alerts/rule/root_activity_forwarder in app-prod (us-east-1)"), "{text}");
    // The audit names the account and region without the forwarding rule, and only those.
    let audit = moto.run(&["audit", "--format", "json"], dir);
    let report: serde_json::Value = serde_json::from_str(&stdout(&audit)).expect("audit json");
    let forwarding: Vec<(String, String, String)> = report["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|f| f["control"] == "alerts/rule/root_activity_forwarder")
        .map(|f| {
            let text = |field: &str| f[field].as_str().unwrap_or_default().to_string();
            (text("scope"), text("region"), text("status"))
        })
        .collect();
    assert_eq!(forwarding.len(), 2, "{report:#}");
    assert!(
        forwarding.iter().any(|(scope, region, status)| scope.starts_with("app-prod")
            && region == "us-east-1"
            && status.eq_ignore_ascii_case("fail")),
        "{forwarding:?}"
    );
    assert!(
        forwarding.iter().any(|(_, region, status)| region == "eu-west-1" && status.eq_ignore_ascii_case("pass")),
        "{forwarding:?}"
    );
    // The plan only notes an unconfirmed subscription (nothing to change), but no alert reaches
    // that address yet: the audit says so.
    let topic = report["findings"].as_array().into_iter().flatten().find(|f| f["control"] == "alerts/topic");
    assert!(
        topic.is_some_and(|f| f["status"].as_str().is_some_and(|status| status.eq_ignore_ascii_case("fail"))
            && f["detail"].as_str().is_some_and(|detail| detail.contains("secops@example.com has not confirmed"))),
        "an unconfirmed subscription is a gap: {topic:?}"
    );
    moto.strict_proxy().confirm_email("secops@example.com");
    let audit = moto.run(&["audit", "--format", "json"], dir);
    let report: serde_json::Value = serde_json::from_str(&stdout(&audit)).expect("audit json");
    let topic = report["findings"].as_array().into_iter().flatten().find(|f| f["control"] == "alerts/topic");
    assert!(
        topic.is_some_and(|f| f["status"].as_str().is_some_and(|status| status.eq_ignore_ascii_case("pass"))),
        "confirmed, the topic passes: {topic:?}"
    );
    moto.run_expecting(&["apply", "--auto-approve"], dir, 0);
    virginia.describe_rule().name("landing-zone-root-activity").send().await.expect("the rule is back");
    let again = moto.run(&["plan", "--detailed-exitcode"], dir);
    assert_eq!(again.status.code(), Some(0), "converged:\n{}\n{}", stdout(&again), stderr(&again));
}
