//! The network baselines against moto through the strict layer: `default_vpcs` (removed only with
//! `--allow-destructive`, one grouped plan entry, planned again when recreated by hand, left with
//! a note while a network interface is in it), `default_security_groups` (every rule revoked, a
//! rule added by hand planned and revoked) and `flow_logs` (a flow log per VPC to the bunker
//! bucket, whose policy admits the log delivery service for the targeted accounts only; one
//! deleted by hand planned and recreated). Each converges from nothing and plans nothing a second
//! time; `audit` reports what is left.

use aws_sdk_ec2::types::{Filter, IpPermission, IpRange};
use serde_json::Value;

use crate::support::{stderr, stdout, workspace, Moto};

const SPEC: &str = r#"
version: 1
organization:
  management_account: management
  regions: [us-east-1, eu-west-1]
units:
  Workloads: {}
accounts:
  management: { email: aws-root@example.com }
  log-archive: { email: aws+log-archive@example.com }
  app-a: { email: aws+app-a@example.com, unit: Workloads }
  app-b: { email: aws+app-b@example.com, unit: Workloads }
baseline:
  log_archive: { account: log-archive }
  default_vpcs: { targets: { units: [Workloads] }, delete: true }
  default_security_groups: { targets: { units: [Workloads] } }
  flow_logs: { targets: { units: [Workloads] }, traffic: REJECT }
"#;

fn plan(moto: &Moto, dir: &std::path::Path, extra: &[&str]) -> Value {
    let mut args = vec!["plan", "--format", "json"];
    args.extend_from_slice(extra);
    let output = moto.run(&args, dir);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    serde_json::from_str(&stdout(&output)).expect("plan json")
}

/// `kind control account region` of every action.
fn actions(plan: &Value) -> Vec<String> {
    plan["actions"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|action| {
            format!(
                "{} {} {} {}",
                action["kind"].as_str().unwrap_or("?"),
                action["control"]["control"].as_str().unwrap_or("-"),
                action["control"]["account"].as_str().unwrap_or("-"),
                action["control"]["region"].as_str().unwrap_or("-"),
            )
        })
        .collect()
}

fn apply(moto: &Moto, dir: &std::path::Path, extra: &[&str]) -> String {
    let mut args = vec!["apply", "--auto-approve"];
    args.extend_from_slice(extra);
    let output = moto.run(&args, dir);
    assert_eq!(output.status.code(), Some(0), "{}\n{}", stdout(&output), stderr(&output));
    stdout(&output)
}

async fn account_id(moto: &Moto, email: &str) -> String {
    let organizations = aws_sdk_organizations::Client::new(&moto.sdk_config().await);
    let accounts = organizations.list_accounts().send().await.expect("accounts").accounts.unwrap_or_default();
    accounts.iter().find(|account| account.email.as_deref() == Some(email)).and_then(|a| a.id.clone()).expect("account")
}

async fn ec2_in(moto: &Moto, account: Option<&str>, region: &str) -> aws_sdk_ec2::Client {
    let config = match account {
        Some(id) => moto.assumed_config(id).await,
        None => moto.sdk_config().await,
    };
    let config =
        aws_sdk_ec2::config::Builder::from(&config).region(aws_sdk_ec2::config::Region::new(region.to_string()));
    aws_sdk_ec2::Client::from_conf(config.build())
}

fn filter(name: &str, value: &str) -> Filter {
    Filter::builder().name(name).values(value).build()
}

async fn default_vpc(ec2: &aws_sdk_ec2::Client) -> Option<String> {
    let vpcs = ec2.describe_vpcs().filters(filter("is-default", "true")).send().await.expect("vpcs");
    vpcs.vpcs().first().and_then(|vpc| vpc.vpc_id().map(str::to_string))
}

fn audit(moto: &Moto, dir: &std::path::Path) -> Vec<Value> {
    let output = moto.run(&["audit", "--format", "json"], dir);
    let report: Value = serde_json::from_str(&stdout(&output)).expect("audit json");
    report["findings"].as_array().cloned().unwrap_or_default()
}

fn finding<'a>(findings: &'a [Value], account: &str, control: &str, region: &str) -> &'a Value {
    findings
        .iter()
        .find(|f| {
            f["scope"].as_str().is_some_and(|scope| scope.starts_with(&format!("{account} (")))
                && f["control"] == control
                && f["region"] == region
        })
        .unwrap_or_else(|| panic!("no {control} finding for {account} in {region}: {findings:?}"))
}

#[tokio::test]
async fn default_vpcs_go_with_allow_destructive_come_back_planned_and_stay_while_in_use() {
    let moto = Moto::start();
    let workspace = workspace(SPEC);
    let dir = workspace.path();

    // Without --allow-destructive the removals are blocked, everything else applies.
    apply(&moto, dir, &[]);
    let blocked = plan(&moto, dir, &[]);
    assert!(actions(&blocked).is_empty(), "only the blocked removals remain: {:?}", actions(&blocked));
    let text = moto.run_expecting(&["plan"], dir, 0);
    assert!(text.contains("Blocked") && text.contains("default_vpcs in app-a (us-east-1)"), "{text}");
    let app_a = account_id(&moto, "aws+app-a@example.com").await;
    let app_b = account_id(&moto, "aws+app-b@example.com").await;
    assert!(
        default_vpc(&ec2_in(&moto, Some(&app_a), "us-east-1").await).await.is_some(),
        "not removed without the flag"
    );

    // With it: four removals, one entry of the grouped plan.
    let planned = plan(&moto, dir, &["--allow-destructive"]);
    let mut removals = actions(&planned);
    removals.sort();
    assert_eq!(
        removals,
        [
            "remove_control default_vpcs app-a eu-west-1",
            "remove_control default_vpcs app-a us-east-1",
            "remove_control default_vpcs app-b eu-west-1",
            "remove_control default_vpcs app-b us-east-1",
        ]
    );
    let text = moto.run_expecting(&["plan", "--allow-destructive"], dir, 0);
    assert_eq!(text.lines().filter(|line| line.contains("- default_vpcs")).count(), 1, "one grouped entry: {text}");
    assert!(text.contains("- default_vpcs in all 2 accounts under Workloads (eu-west-1, us-east-1)"), "{text}");
    assert!(text.contains("the spec asks that the default VPC be gone"), "{text}");

    apply(&moto, dir, &["--allow-destructive"]);
    for account in [&app_a, &app_b] {
        for region in ["us-east-1", "eu-west-1"] {
            let ec2 = ec2_in(&moto, Some(account), region).await;
            assert_eq!(default_vpc(&ec2).await, None, "{account} {region}");
            let gateways = ec2.describe_internet_gateways().send().await.expect("gateways");
            assert!(gateways.internet_gateways().is_empty(), "its internet gateway went too: {account} {region}");
            let subnets = ec2.describe_subnets().send().await.expect("subnets");
            assert!(subnets.subnets().is_empty(), "its default subnets went too: {account} {region}");
        }
    }
    let management = ec2_in(&moto, None, "us-east-1").await;
    assert!(default_vpc(&management).await.is_some(), "an account outside the targets keeps its default VPC");
    let second = plan(&moto, dir, &["--allow-destructive"]);
    assert!(actions(&second).is_empty(), "a converged organization plans nothing: {:?}", actions(&second));
    let findings = audit(&moto, dir);
    assert_eq!(finding(&findings, "app-a", "default_vpcs", "us-east-1")["status"], "PASS");

    // Recreated by hand: planned for removal again, and removed.
    let app_a_east = ec2_in(&moto, Some(&app_a), "us-east-1").await;
    app_a_east.create_default_vpc().send().await.expect("create default vpc");
    let again = plan(&moto, dir, &["--allow-destructive"]);
    // Its new default security group has rules and its VPC no flow log: planned after the
    // removal, which leaves them nothing to do.
    assert_eq!(
        actions(&again),
        [
            "remove_control default_vpcs app-a us-east-1",
            "configure_control default_security_groups app-a us-east-1",
            "configure_control flow_logs app-a us-east-1",
        ]
    );
    let findings = audit(&moto, dir);
    let present = finding(&findings, "app-a", "default_vpcs", "us-east-1");
    assert_eq!(present["status"], "FAIL", "{present}");
    // Applied from a saved plan, as reviewed in a pull request: the re-read finds it as planned.
    moto.run_expecting(&["plan", "--allow-destructive", "--out", "reviewed.json"], dir, 0);
    apply(&moto, dir, &["--allow-destructive", "reviewed.json"]);
    assert_eq!(default_vpc(&app_a_east).await, None);
    let converged = plan(&moto, dir, &["--allow-destructive"]);
    assert!(actions(&converged).is_empty(), "{:?}", actions(&converged));

    // Recreated, and a network interface put in it: noted and left.
    let app_b_west = ec2_in(&moto, Some(&app_b), "eu-west-1").await;
    let vpc = app_b_west.create_default_vpc().send().await.expect("create default vpc");
    let vpc_id = vpc.vpc().and_then(|vpc| vpc.vpc_id()).unwrap_or_default().to_string();
    let subnets = app_b_west.describe_subnets().filters(filter("vpc-id", &vpc_id)).send().await.expect("subnets");
    let subnet = subnets.subnets().first().and_then(|subnet| subnet.subnet_id()).expect("a default subnet");
    let interface = app_b_west.create_network_interface().subnet_id(subnet).send().await.expect("interface");
    let interface_id = interface.network_interface().and_then(|i| i.network_interface_id()).unwrap_or_default();
    let in_use = plan(&moto, dir, &["--allow-destructive"]);
    assert!(
        !actions(&in_use).iter().any(|action| action.starts_with("remove_control default_vpcs")),
        "a default VPC in use is not removed: {:?}",
        actions(&in_use)
    );
    let notes = in_use["notes"].to_string();
    assert!(notes.contains("default_vpcs in app-b (eu-west-1)") && notes.contains(interface_id), "{notes}");
    let findings = audit(&moto, dir);
    let kept = finding(&findings, "app-b", "default_vpcs", "eu-west-1");
    assert_eq!(kept["status"], "FAIL");
    assert!(kept["detail"].as_str().is_some_and(|detail| detail.contains(interface_id)), "{kept}");
    apply(&moto, dir, &["--allow-destructive"]);
    assert_eq!(default_vpc(&app_b_west).await, Some(vpc_id), "left in place");
}

#[tokio::test]
async fn default_security_groups_are_emptied_and_every_vpc_logs_its_flows_to_the_bunker() {
    let moto = Moto::start();
    let workspace = workspace(SPEC);
    let dir = workspace.path();
    apply(&moto, dir, &["--allow-destructive"]);
    let second = plan(&moto, dir, &["--allow-destructive"]);
    assert!(actions(&second).is_empty(), "a converged organization plans nothing: {:?}", actions(&second));

    let app_a = account_id(&moto, "aws+app-a@example.com").await;
    let app_b = account_id(&moto, "aws+app-b@example.com").await;
    let bunker = account_id(&moto, "aws+log-archive@example.com").await;
    let bucket = format!("landing-zone-logs-{bunker}");

    // The bucket policy admits the log delivery service for the two workload accounts only.
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&moto.assumed_config(&bunker).await).force_path_style(true).build(),
    );
    let policy = s3.get_bucket_policy().bucket(&bucket).send().await.expect("bucket policy");
    let policy: Value = serde_json::from_str(policy.policy().unwrap_or_default()).expect("json");
    let write = policy["Statement"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|statement| statement["Sid"] == "AWSLogDeliveryWrite")
        .expect("the log delivery statement")
        .clone();
    assert_eq!(write["Principal"]["Service"], "delivery.logs.amazonaws.com");
    let mut sources: Vec<String> = write["Condition"]["StringEquals"]["aws:SourceAccount"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|id| id.as_str().map(str::to_string))
        .collect();
    sources.sort();
    let mut expected = vec![app_a.clone(), app_b.clone()];
    expected.sort();
    assert_eq!(sources, expected);
    assert_eq!(write["Condition"]["StringEquals"]["s3:x-amz-acl"], "bucket-owner-full-control");
    assert!(write["Condition"]["ArnLike"]["aws:SourceArn"].to_string().contains(&format!("arn:aws:logs:*:{app_a}:*")));

    // A VPC made by hand: its default group comes with rules; one more rule added by hand.
    let ec2 = ec2_in(&moto, Some(&app_a), "us-east-1").await;
    let vpc = ec2.create_vpc().cidr_block("10.20.0.0/16").send().await.expect("vpc");
    let vpc_id = vpc.vpc().and_then(|vpc| vpc.vpc_id()).unwrap_or_default().to_string();
    let groups = ec2
        .describe_security_groups()
        .filters(filter("vpc-id", &vpc_id))
        .filters(filter("group-name", "default"))
        .send()
        .await
        .expect("groups");
    let group_id = groups.security_groups().first().and_then(|g| g.group_id()).expect("default group").to_string();
    ec2.authorize_security_group_ingress()
        .group_id(&group_id)
        .ip_permissions(
            IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(22)
                .to_port(22)
                .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
                .build(),
        )
        .send()
        .await
        .expect("authorize");
    let drift = plan(&moto, dir, &["--allow-destructive"]);
    let mut changed = actions(&drift);
    changed.sort();
    assert_eq!(
        changed,
        ["configure_control default_security_groups app-a us-east-1", "configure_control flow_logs app-a us-east-1",]
    );
    assert!(drift.to_string().contains(&group_id), "the plan names the group: {drift}");
    let findings = audit(&moto, dir);
    let open = finding(&findings, "app-a", "default_security_groups", "us-east-1");
    assert!(open["detail"].as_str().is_some_and(|detail| detail.contains(&group_id)), "{open}");
    let unlogged = finding(&findings, "app-a", "flow_logs", "us-east-1");
    assert!(unlogged["detail"].as_str().is_some_and(|detail| detail.contains(&vpc_id)), "{unlogged}");
    apply(&moto, dir, &["--allow-destructive"]);
    let groups = ec2.describe_security_groups().filters(filter("group-name", "default")).send().await.expect("groups");
    for group in groups.security_groups() {
        assert!(
            group.ip_permissions().is_empty() && group.ip_permissions_egress().is_empty(),
            "no rule left in {group:?}"
        );
    }

    // Every VPC has a REJECT flow log to the bunker bucket.
    let flow_logs = ec2.describe_flow_logs().send().await.expect("flow logs");
    let logged: Vec<&str> = flow_logs
        .flow_logs()
        .iter()
        .filter(|log| {
            log.log_destination() == Some(&format!("arn:aws:s3:::{bucket}"))
                && log.traffic_type().map(|t| t.as_str()) == Some("REJECT")
        })
        .filter_map(|log| log.resource_id())
        .collect();
    assert!(logged.contains(&vpc_id.as_str()), "{logged:?}");
    let after = plan(&moto, dir, &["--allow-destructive"]);
    assert!(actions(&after).is_empty(), "{:?}", actions(&after));

    // A flow log deleted by hand: planned and made again.
    let ids: Vec<String> = flow_logs
        .flow_logs()
        .iter()
        .filter(|log| log.resource_id() == Some(vpc_id.as_str()))
        .filter_map(|log| log.flow_log_id().map(str::to_string))
        .collect();
    ec2.delete_flow_logs().set_flow_log_ids(Some(ids)).send().await.expect("delete flow log");
    let drift = plan(&moto, dir, &["--allow-destructive"]);
    assert_eq!(actions(&drift), ["configure_control flow_logs app-a us-east-1"]);
    apply(&moto, dir, &["--allow-destructive"]);
    let last = plan(&moto, dir, &["--allow-destructive"]);
    assert!(actions(&last).is_empty(), "{:?}", actions(&last));

    // `landing-zone permissions` allows every call these baselines made.
    let (caller, mut member, unknown) = crate::permissions::signed_actions(&moto);
    assert!(unknown.is_empty(), "{unknown:?}");
    // What this test did by hand in app-a, through the same role.
    for by_hand in ["ec2:AuthorizeSecurityGroupIngress", "ec2:CreateVpc", "ec2:DeleteFlowLogs"] {
        member.remove(by_hand);
    }
    for (signed, role) in [(&caller, "management"), (&member, "member")] {
        let printed = crate::permissions::policy_actions(&moto, "apply", role, dir);
        let missing: Vec<&String> =
            signed.iter().filter(|action| !crate::permissions::allows(&printed, action)).collect();
        assert!(missing.is_empty(), "`permissions apply --role {role}` lacks {missing:?}");
    }
    for action in ["ec2:CreateFlowLogs", "ec2:RevokeSecurityGroupIngress", "ec2:DeleteVpc", "ec2:DescribeFlowLogs"] {
        assert!(member.contains(action), "{action} was called in the members: {member:?}");
    }
}

/// The strict layer's rule: a flow log to another account's bucket is refused (CreateFlowLogs
/// answers it in `Unsuccessful`) unless the bucket policy lets `delivery.logs.amazonaws.com` write
/// for the caller's account.
#[tokio::test]
async fn strict_flow_logs_to_another_accounts_bucket_need_its_policy() {
    let moto = Moto::start();
    let workspace = workspace(SPEC);
    let dir = workspace.path();
    apply(&moto, dir, &["--allow-destructive"]);
    let bunker = account_id(&moto, "aws+log-archive@example.com").await;
    let bucket = format!("arn:aws:s3:::landing-zone-logs-{bunker}");
    // The management account is not among flow_logs' targets: the bucket policy does not name it.
    let ec2 = ec2_in(&moto, None, "us-east-1").await;
    let vpc = default_vpc(&ec2).await.expect("the management account's default VPC");
    let create = |traffic: &str| {
        ec2.create_flow_logs()
            .resource_type(aws_sdk_ec2::types::FlowLogsResourceType::Vpc)
            .resource_ids(vpc.clone())
            .traffic_type(aws_sdk_ec2::types::TrafficType::from(traffic))
            .log_destination_type(aws_sdk_ec2::types::LogDestinationType::S3)
            .log_destination(bucket.clone())
            .send()
    };
    let refused = create("ALL").await.expect("an answer");
    assert!(refused.flow_log_ids().is_empty(), "{refused:?}");
    let message = refused.unsuccessful().first().and_then(|item| item.error()).and_then(|e| e.message());
    assert!(message.is_some_and(|m| m.contains("Access Denied for LogDestination")), "{refused:?}");
    let app_a = account_id(&moto, "aws+app-a@example.com").await;
    let member = ec2_in(&moto, Some(&app_a), "us-east-1").await;
    let vpc = member.create_vpc().cidr_block("10.30.0.0/16").send().await.expect("vpc");
    let accepted = member
        .create_flow_logs()
        .resource_type(aws_sdk_ec2::types::FlowLogsResourceType::Vpc)
        .resource_ids(vpc.vpc().and_then(|v| v.vpc_id()).unwrap_or_default())
        .traffic_type(aws_sdk_ec2::types::TrafficType::All)
        .log_destination_type(aws_sdk_ec2::types::LogDestinationType::S3)
        .log_destination(bucket.clone())
        .send()
        .await
        .expect("an answer");
    assert!(accepted.unsuccessful().is_empty() && accepted.flow_log_ids().len() == 1, "{accepted:?}");
}

/// The layer's reading of a bucket policy: the accounts its log delivery statement names, no one
/// else.
#[test]
fn strict_a_bucket_policy_admits_flow_logs_of_the_accounts_it_names_only() {
    use crate::support::flow_logs::admits;
    let policy = serde_json::json!({ "Statement": [{
        "Effect": "Allow",
        "Principal": { "Service": "delivery.logs.amazonaws.com" },
        "Action": "s3:PutObject",
        "Resource": ["arn:aws:s3:::logs/AWSLogs/111111111111/*"],
        "Condition": {
            "StringEquals": { "aws:SourceAccount": ["111111111111"], "s3:x-amz-acl": "bucket-owner-full-control" },
            "ArnLike": { "aws:SourceArn": ["arn:aws:logs:*:111111111111:*"] },
        },
    }] });
    assert!(admits(&policy, "logs", "111111111111", "eu-west-1"));
    assert!(!admits(&policy, "logs", "222222222222", "eu-west-1"));
    assert!(!admits(&serde_json::Value::Null, "logs", "111111111111", "eu-west-1"));
}

/// `network.vpcs`: a workload VPC with two private subnets and a public one.
const VPC_SPEC: &str = r#"
version: 1
organization:
  management_account: management
  regions: [us-east-1]
units:
  Workloads: {}
accounts:
  management: { email: aws-root@example.com }
  app-a: { email: aws+app-a@example.com, unit: Workloads }
network:
  vpcs:
    app-main:
      account: app-a
      region: us-east-1
      cidr: 10.10.0.0/16
      subnets: { private: [10.10.0.0/20, 10.10.16.0/20], public: [10.10.32.0/24] }
"#;

/// The VPCs landing-zone made for the spec's VPC `name`, by their tags.
async fn tagged_vpcs(ec2: &aws_sdk_ec2::Client, name: &str) -> Vec<aws_sdk_ec2::types::Vpc> {
    let vpcs = ec2
        .describe_vpcs()
        .filters(filter("tag:landing-zone:managed-by", "landing-zone"))
        .filters(filter("tag:landing-zone:network-vpc", name))
        .send()
        .await
        .expect("vpcs");
    vpcs.vpcs().to_vec()
}

/// Subnet block -> (zone, id) of a VPC.
async fn subnets_of(ec2: &aws_sdk_ec2::Client, vpc_id: &str) -> std::collections::BTreeMap<String, (String, String)> {
    let subnets = ec2.describe_subnets().filters(filter("vpc-id", vpc_id)).send().await.expect("subnets");
    subnets
        .subnets()
        .iter()
        .map(|subnet| {
            (
                subnet.cidr_block().unwrap_or_default().to_string(),
                (
                    subnet.availability_zone().unwrap_or_default().to_string(),
                    subnet.subnet_id().unwrap_or_default().to_string(),
                ),
            )
        })
        .collect()
}

/// The route table tagged with `tier` in a VPC.
async fn tier_table(ec2: &aws_sdk_ec2::Client, vpc_id: &str, tier: &str) -> aws_sdk_ec2::types::RouteTable {
    let tables = ec2
        .describe_route_tables()
        .filters(filter("vpc-id", vpc_id))
        .filters(filter("tag:landing-zone:tier", tier))
        .send()
        .await
        .expect("route tables");
    assert_eq!(tables.route_tables().len(), 1, "one {tier} route table: {tables:?}");
    tables.route_tables()[0].clone()
}

fn default_gateway(table: &aws_sdk_ec2::types::RouteTable) -> Option<String> {
    table
        .routes()
        .iter()
        .find(|route| route.destination_cidr_block() == Some("0.0.0.0/0"))
        .and_then(|route| route.gateway_id().map(str::to_string))
}

#[tokio::test]
async fn vpcs_converge_from_nothing_plan_nothing_again_and_repair_drift() {
    let moto = Moto::start();
    let workspace = workspace(VPC_SPEC);
    let dir = workspace.path();

    let first = plan(&moto, dir, &[]);
    assert!(
        actions(&first).contains(&"configure_control network/vpc/app-main app-a us-east-1".to_string()),
        "{:?}",
        actions(&first)
    );
    apply(&moto, dir, &[]);
    let again = plan(&moto, dir, &[]);
    assert!(actions(&again).is_empty(), "a second plan is empty: {:?}", actions(&again));

    let app_a = account_id(&moto, "aws+app-a@example.com").await;
    let ec2 = ec2_in(&moto, Some(&app_a), "us-east-1").await;
    let vpcs = tagged_vpcs(&ec2, "app-main").await;
    assert_eq!(vpcs.len(), 1, "{vpcs:?}");
    assert_eq!(vpcs[0].cidr_block(), Some("10.10.0.0/16"));
    let vpc_id = vpcs[0].vpc_id().unwrap_or_default().to_string();
    // One subnet per zone, in the order of the zone names.
    let subnets = subnets_of(&ec2, &vpc_id).await;
    let zones: Vec<(&str, &str)> = subnets.iter().map(|(cidr, (zone, _))| (cidr.as_str(), zone.as_str())).collect();
    assert_eq!(
        zones,
        [("10.10.0.0/20", "us-east-1a"), ("10.10.16.0/20", "us-east-1b"), ("10.10.32.0/24", "us-east-1a")]
    );
    let public = tier_table(&ec2, &vpc_id, "public").await;
    let private = tier_table(&ec2, &vpc_id, "private").await;
    let gateways =
        ec2.describe_internet_gateways().filters(filter("attachment.vpc-id", &vpc_id)).send().await.expect("gateways");
    let gateway = gateways.internet_gateways()[0].internet_gateway_id().unwrap_or_default().to_string();
    assert_eq!(default_gateway(&public), Some(gateway.clone()), "public -> internet gateway");
    assert_eq!(default_gateway(&private), None, "no default route from the private tier");
    let associated = |table: &aws_sdk_ec2::types::RouteTable| -> Vec<String> {
        let mut ids: Vec<String> =
            table.associations().iter().filter_map(|a| a.subnet_id().map(str::to_string)).collect();
        ids.sort();
        ids
    };
    let mut private_ids = vec![subnets["10.10.0.0/20"].1.clone(), subnets["10.10.16.0/20"].1.clone()];
    private_ids.sort();
    assert_eq!(associated(&private), private_ids);
    assert_eq!(associated(&public), [subnets["10.10.32.0/24"].1.clone()]);

    // Drift by hand: the public default route deleted, a private subnet moved to the public table.
    ec2.delete_route()
        .route_table_id(public.route_table_id().unwrap_or_default())
        .destination_cidr_block("0.0.0.0/0")
        .send()
        .await
        .expect("delete route");
    let moved = subnets["10.10.16.0/20"].1.clone();
    let association = private
        .associations()
        .iter()
        .find(|a| a.subnet_id() == Some(moved.as_str()))
        .and_then(|a| a.route_table_association_id())
        .unwrap_or_default()
        .to_string();
    ec2.replace_route_table_association()
        .association_id(&association)
        .route_table_id(public.route_table_id().unwrap_or_default())
        .send()
        .await
        .expect("replace association");
    let drift = plan(&moto, dir, &[]);
    assert_eq!(actions(&drift), ["configure_control network/vpc/app-main app-a us-east-1"]);
    let text = moto.run_expecting(&["plan"], dir, 0);
    assert!(text.contains("internet_gateway") && text.contains("10.10.16.0/20"), "{text}");
    apply(&moto, dir, &[]);
    assert!(actions(&plan(&moto, dir, &[])).is_empty(), "repaired");
    let public = tier_table(&ec2, &vpc_id, "public").await;
    let private = tier_table(&ec2, &vpc_id, "private").await;
    assert_eq!(default_gateway(&public), Some(gateway));
    assert_eq!(associated(&private), private_ids);
    assert_eq!(tagged_vpcs(&ec2, "app-main").await.len(), 1, "still one VPC");

    // `landing-zone permissions` allows every call the tool made (this test's own calls by hand
    // are among them).
    let (caller, member, unknown) = crate::permissions::signed_actions(&moto);
    assert!(unknown.is_empty(), "{unknown:?}");
    for (signed, role) in [(&caller, "management"), (&member, "member")] {
        let printed = crate::permissions::policy_actions(&moto, "apply", role, dir);
        let missing: Vec<&String> =
            signed.iter().filter(|action| !crate::permissions::allows(&printed, action)).collect();
        assert!(missing.is_empty(), "`permissions apply --role {role}` lacks {missing:?}");
    }
    for action in ["ec2:CreateVpc", "ec2:CreateSubnet", "ec2:ReplaceRouteTableAssociation", "ec2:CreateRoute"] {
        assert!(member.contains(action), "{action} was called in the member: {member:?}");
    }

    // `audit` reports the VPC as the spec wants it.
    let findings = audit(&moto, dir);
    let vpc = finding(&findings, "app-a", "network/vpc/app-main", "us-east-1");
    assert_eq!(vpc["status"], "PASS", "{vpc}");
}

#[tokio::test]
async fn an_interrupted_vpc_apply_is_adopted_by_its_tags_and_nothing_is_made_twice() {
    let moto = Moto::start();
    let workspace = workspace(VPC_SPEC);
    let dir = workspace.path();
    // The accounts first, past the strict layer's fresh-account window.
    let without_network = VPC_SPEC.split("network:\n").next().unwrap_or_default().to_string();
    std::fs::write(dir.join("landing-zone.yaml"), &without_network).expect("spec");
    apply(&moto, dir, &[]);
    tokio::time::sleep(crate::support::strict::Strict::default().fresh_account_window).await;
    std::fs::write(dir.join("landing-zone.yaml"), VPC_SPEC).expect("spec");

    // An apply that stopped right after CreateVpc: the VPC with its tags, nothing else.
    let app_a = account_id(&moto, "aws+app-a@example.com").await;
    let ec2 = ec2_in(&moto, Some(&app_a), "us-east-1").await;
    let tags = aws_sdk_ec2::types::TagSpecification::builder()
        .resource_type(aws_sdk_ec2::types::ResourceType::Vpc)
        .tags(aws_sdk_ec2::types::Tag::builder().key("landing-zone:managed-by").value("landing-zone").build())
        .tags(aws_sdk_ec2::types::Tag::builder().key("landing-zone:network-vpc").value("app-main").build())
        .build();
    let made = ec2.create_vpc().cidr_block("10.10.0.0/16").tag_specifications(tags).send().await.expect("vpc");
    let made_id = made.vpc().and_then(|vpc| vpc.vpc_id()).unwrap_or_default().to_string();
    // And a public subnet made by a run that stopped before its route table.
    ec2.create_subnet()
        .vpc_id(&made_id)
        .cidr_block("10.10.32.0/24")
        .availability_zone("us-east-1a")
        .tag_specifications(
            aws_sdk_ec2::types::TagSpecification::builder()
                .resource_type(aws_sdk_ec2::types::ResourceType::Subnet)
                .tags(aws_sdk_ec2::types::Tag::builder().key("landing-zone:managed-by").value("landing-zone").build())
                .tags(aws_sdk_ec2::types::Tag::builder().key("landing-zone:network-vpc").value("app-main").build())
                .tags(aws_sdk_ec2::types::Tag::builder().key("landing-zone:tier").value("public").build())
                .build(),
        )
        .send()
        .await
        .expect("subnet");

    apply(&moto, dir, &[]);
    let vpcs = tagged_vpcs(&ec2, "app-main").await;
    assert_eq!(vpcs.len(), 1, "no second VPC: {vpcs:?}");
    assert_eq!(vpcs[0].vpc_id(), Some(made_id.as_str()), "the interrupted one, adopted");
    assert_eq!(subnets_of(&ec2, &made_id).await.len(), 3, "the public subnet adopted, the private ones made");
    assert!(actions(&plan(&moto, dir, &[])).is_empty());
    // A VPC made by hand, without landing-zone's tags, is not taken for it.
    let all = ec2.describe_vpcs().send().await.expect("vpcs");
    assert!(all.vpcs().iter().filter(|vpc| vpc.cidr_block() == Some("10.10.0.0/16")).count() == 1);
}

/// `network.transit_gateways`: a hub gateway in the network account.
const GATEWAY_SPEC: &str = r#"
version: 1
organization:
  management_account: management
  regions: [us-east-1]
units:
  Infrastructure: {}
  Workloads: {}
accounts:
  management: { email: aws-root@example.com }
  network: { email: aws+network@example.com, unit: Infrastructure }
  app-a: { email: aws+app-a@example.com, unit: Workloads }
network:
  transit_gateways:
    hub: { account: network, region: us-east-1, asn: 64600, share_with: { units: [Workloads] } }
"#;

/// The Transit Gateways landing-zone made for the spec's gateway `name`, by their tags.
async fn tagged_gateways(ec2: &aws_sdk_ec2::Client, name: &str) -> Vec<aws_sdk_ec2::types::TransitGateway> {
    let gateways = ec2
        .describe_transit_gateways()
        .filters(filter("tag:landing-zone:managed-by", "landing-zone"))
        .filters(filter("tag:landing-zone:transit-gateway", name))
        .send()
        .await
        .expect("transit gateways");
    gateways.transit_gateways().to_vec()
}

fn asn(gateway: &aws_sdk_ec2::types::TransitGateway) -> Option<i64> {
    gateway.options().and_then(|options| options.amazon_side_asn())
}

#[tokio::test]
async fn a_transit_gateway_converges_with_its_asn_is_found_by_its_tags_and_its_asn_repaired() {
    let moto = Moto::start();
    let workspace = workspace(GATEWAY_SPEC);
    let dir = workspace.path();

    let first = plan(&moto, dir, &[]);
    assert!(
        actions(&first).contains(&"configure_control network/transit_gateway/hub network us-east-1".to_string()),
        "{:?}",
        actions(&first)
    );
    apply(&moto, dir, &[]);
    assert!(actions(&plan(&moto, dir, &[])).is_empty(), "a second plan is empty");
    let network = account_id(&moto, "aws+network@example.com").await;
    let ec2 = ec2_in(&moto, Some(&network), "us-east-1").await;
    let gateways = tagged_gateways(&ec2, "hub").await;
    assert_eq!(gateways.len(), 1, "{gateways:?}");
    assert_eq!(asn(&gateways[0]), Some(64600));
    let id = gateways[0].transit_gateway_id().unwrap_or_default().to_string();

    // The ASN changed by hand is planned and set back, on the same gateway.
    ec2.modify_transit_gateway()
        .transit_gateway_id(&id)
        .options(aws_sdk_ec2::types::ModifyTransitGatewayOptions::builder().amazon_side_asn(64512).build())
        .send()
        .await
        .expect("modify");
    let drift = plan(&moto, dir, &[]);
    assert_eq!(actions(&drift), ["configure_control network/transit_gateway/hub network us-east-1"]);
    let text = moto.run_expecting(&["plan"], dir, 0);
    assert!(text.contains("64512") && text.contains("64600"), "{text}");
    apply(&moto, dir, &[]);
    assert!(actions(&plan(&moto, dir, &[])).is_empty(), "repaired");
    let gateways = tagged_gateways(&ec2, "hub").await;
    assert_eq!(gateways.len(), 1, "no second gateway: {gateways:?}");
    assert_eq!(gateways[0].transit_gateway_id(), Some(id.as_str()));
    assert_eq!(asn(&gateways[0]), Some(64600));
    // Nothing anywhere else: the gateway is in the network account only.
    let app_a = account_id(&moto, "aws+app-a@example.com").await;
    assert!(tagged_gateways(&ec2_in(&moto, Some(&app_a), "us-east-1").await, "hub").await.is_empty());
}

#[tokio::test]
async fn a_vpc_the_spec_drops_is_removed_with_the_opt_ins_and_left_while_in_use() {
    let moto = Moto::start();
    let two = format!(
        "{VPC_SPEC}    app-extra: {{ account: app-a, region: us-east-1, cidr: 10.20.0.0/16, subnets: {{ public: [10.20.0.0/24] }} }}\n"
    );
    let workspace = workspace(&two);
    let dir = workspace.path();
    apply(&moto, dir, &[]);
    let app_a = account_id(&moto, "aws+app-a@example.com").await;
    let ec2 = ec2_in(&moto, Some(&app_a), "us-east-1").await;
    let extra = tagged_vpcs(&ec2, "app-extra").await;
    assert_eq!(extra.len(), 1);
    let extra_id = extra[0].vpc_id().unwrap_or_default().to_string();
    // A VPC made by hand in the same account is never a candidate.
    let by_hand = ec2.create_vpc().cidr_block("10.30.0.0/16").send().await.expect("vpc");
    let by_hand_id = by_hand.vpc().and_then(|vpc| vpc.vpc_id()).unwrap_or_default().to_string();

    // The spec drops it: without the opt-ins the removal is blocked.
    std::fs::write(dir.join("landing-zone.yaml"), VPC_SPEC).expect("spec");
    assert!(actions(&plan(&moto, dir, &[])).is_empty());
    let text = moto.run_expecting(&["plan"], dir, 0);
    assert!(text.contains("Blocked") && text.contains("network/vpc/app-extra"), "{text}");
    let opted_in = VPC_SPEC.replace(
        "  management_account: management\n",
        "  management_account: management\n  allow: { delete_baseline_data: true }\n",
    );
    std::fs::write(dir.join("landing-zone.yaml"), &opted_in).expect("spec");

    // While a network interface is in it, it is noted and left.
    let subnet = subnets_of(&ec2, &extra_id).await["10.20.0.0/24"].1.clone();
    let interface = ec2.create_network_interface().subnet_id(&subnet).send().await.expect("interface");
    let interface_id =
        interface.network_interface().and_then(|eni| eni.network_interface_id()).unwrap_or_default().to_string();
    assert!(actions(&plan(&moto, dir, &["--allow-destructive"])).is_empty());
    let text = moto.run_expecting(&["plan", "--allow-destructive"], dir, 0);
    assert!(text.contains("left in place") && text.contains(&interface_id), "{text}");

    // Once nothing is in it, it goes with what landing-zone made in it.
    ec2.delete_network_interface().network_interface_id(&interface_id).send().await.expect("delete interface");
    let planned = plan(&moto, dir, &["--allow-destructive"]);
    assert_eq!(actions(&planned), ["remove_control network/vpc/app-extra app-a us-east-1"]);
    apply(&moto, dir, &["--allow-destructive"]);
    assert!(tagged_vpcs(&ec2, "app-extra").await.is_empty(), "removed");
    assert_eq!(tagged_vpcs(&ec2, "app-main").await.len(), 1, "the spec's VPC stays");
    let left = ec2.describe_vpcs().vpc_ids(&by_hand_id).send().await.expect("by hand");
    assert_eq!(left.vpcs().len(), 1, "the VPC made by hand stays");
    assert!(actions(&plan(&moto, dir, &["--allow-destructive"])).is_empty());
}

#[tokio::test]
async fn a_vpc_of_the_gateways_account_attaches_its_private_subnets_and_routes_to_it() {
    let moto = Moto::start();
    let spec = format!(
        "{GATEWAY_SPEC}  vpcs:\n    hub-vpc: {{ account: network, region: us-east-1, cidr: 10.0.0.0/16, subnets: {{ private: [10.0.0.0/24, 10.0.1.0/24] }}, transit_gateway: hub }}\n"
    );
    let workspace = workspace(&spec);
    let dir = workspace.path();
    apply(&moto, dir, &[]);
    assert!(actions(&plan(&moto, dir, &[])).is_empty(), "a second plan is empty");

    let network = account_id(&moto, "aws+network@example.com").await;
    let ec2 = ec2_in(&moto, Some(&network), "us-east-1").await;
    let gateway = tagged_gateways(&ec2, "hub").await[0].transit_gateway_id().unwrap_or_default().to_string();
    let vpc_id = tagged_vpcs(&ec2, "hub-vpc").await[0].vpc_id().unwrap_or_default().to_string();
    let attachments = ec2
        .describe_transit_gateway_vpc_attachments()
        .filters(filter("vpc-id", &vpc_id))
        .send()
        .await
        .expect("attachments");
    assert_eq!(attachments.transit_gateway_vpc_attachments().len(), 1, "{attachments:?}");
    let attachment = &attachments.transit_gateway_vpc_attachments()[0];
    assert_eq!(attachment.transit_gateway_id(), Some(gateway.as_str()));
    let subnets = subnets_of(&ec2, &vpc_id).await;
    let mut private: Vec<String> = subnets.values().map(|(_, id)| id.clone()).collect();
    private.sort();
    let mut attached: Vec<String> = attachment.subnet_ids().to_vec();
    attached.sort();
    assert_eq!(attached, private, "the attachment is on the private subnets");
    let to_gateway = |table: &aws_sdk_ec2::types::RouteTable| {
        table
            .routes()
            .iter()
            .find(|route| route.destination_cidr_block() == Some("0.0.0.0/0"))
            .and_then(|route| route.transit_gateway_id().map(str::to_string))
    };
    let table = tier_table(&ec2, &vpc_id, "private").await;
    assert_eq!(to_gateway(&table), Some(gateway.clone()));

    // The route to the gateway deleted by hand is planned and made again; no second attachment.
    ec2.delete_route()
        .route_table_id(table.route_table_id().unwrap_or_default())
        .destination_cidr_block("0.0.0.0/0")
        .send()
        .await
        .expect("delete route");
    let drift = plan(&moto, dir, &[]);
    assert_eq!(actions(&drift), ["configure_control network/vpc/hub-vpc network us-east-1"]);
    let text = moto.run_expecting(&["plan"], dir, 0);
    assert!(text.contains("transit_gateway hub"), "{text}");
    apply(&moto, dir, &[]);
    assert!(actions(&plan(&moto, dir, &[])).is_empty(), "repaired");
    assert_eq!(to_gateway(&tier_table(&ec2, &vpc_id, "private").await), Some(gateway));
    let attachments = ec2
        .describe_transit_gateway_vpc_attachments()
        .filters(filter("vpc-id", &vpc_id))
        .send()
        .await
        .expect("attachments");
    assert_eq!(attachments.transit_gateway_vpc_attachments().len(), 1, "one attachment");

    // `landing-zone permissions` allows every call the tool made.
    let (caller, member, unknown) = crate::permissions::signed_actions(&moto);
    assert!(unknown.is_empty(), "{unknown:?}");
    for (signed, role) in [(&caller, "management"), (&member, "member")] {
        let printed = crate::permissions::policy_actions(&moto, "apply", role, dir);
        let missing: Vec<&String> =
            signed.iter().filter(|action| !crate::permissions::allows(&printed, action)).collect();
        assert!(missing.is_empty(), "`permissions apply --role {role}` lacks {missing:?}");
    }
    assert!(member.contains("ec2:CreateTransitGatewayVpcAttachment"), "{member:?}");
}

#[tokio::test]
async fn a_subnet_tier_the_spec_drops_goes_with_its_route_table() {
    let moto = Moto::start();
    let workspace = workspace(VPC_SPEC);
    let dir = workspace.path();
    apply(&moto, dir, &[]);
    let app_a = account_id(&moto, "aws+app-a@example.com").await;
    let ec2 = ec2_in(&moto, Some(&app_a), "us-east-1").await;
    let vpc_id = tagged_vpcs(&ec2, "app-main").await[0].vpc_id().unwrap_or_default().to_string();
    assert_eq!(subnets_of(&ec2, &vpc_id).await.len(), 3);

    let private_only = VPC_SPEC.replace(", public: [10.10.32.0/24]", "");
    std::fs::write(dir.join("landing-zone.yaml"), &private_only).expect("spec");
    let planned = plan(&moto, dir, &[]);
    assert_eq!(actions(&planned), ["configure_control network/vpc/app-main app-a us-east-1"]);
    apply(&moto, dir, &[]);
    assert!(actions(&plan(&moto, dir, &[])).is_empty(), "converged");
    let left: Vec<String> = subnets_of(&ec2, &vpc_id).await.into_keys().collect();
    assert_eq!(left, ["10.10.0.0/20", "10.10.16.0/20"]);
    let public = ec2
        .describe_route_tables()
        .filters(filter("vpc-id", &vpc_id))
        .filters(filter("tag:landing-zone:tier", "public"))
        .send()
        .await
        .expect("route tables");
    assert!(public.route_tables().is_empty(), "the public route table is gone");
}

/// A RAM client of `account` (the management account when None) in us-east-1.
async fn ram_in(moto: &Moto, account: Option<&str>) -> aws_sdk_ram::Client {
    let config = match account {
        Some(id) => moto.assumed_config(id).await,
        None => moto.sdk_config().await,
    };
    let config =
        aws_sdk_ram::config::Builder::from(&config).region(aws_sdk_ram::config::Region::new("us-east-1".to_string()));
    aws_sdk_ram::Client::from_conf(config.build())
}

/// The shares landing-zone made for the spec's gateway `name`, by their tags: (ARN, name,
/// allowExternalPrincipals).
async fn tagged_shares(ram: &aws_sdk_ram::Client, name: &str) -> Vec<(String, String, Option<bool>)> {
    let shares = ram
        .get_resource_shares()
        .resource_owner(aws_sdk_ram::types::ResourceOwner::SelfValue)
        .tag_filters(
            aws_sdk_ram::types::TagFilter::builder()
                .tag_key("landing-zone:transit-gateway-share")
                .tag_values(name)
                .build(),
        )
        .send()
        .await
        .expect("resource shares");
    shares
        .resource_shares()
        .iter()
        .map(|share| {
            (
                share.resource_share_arn().unwrap_or_default().to_string(),
                share.name().unwrap_or_default().to_string(),
                share.allow_external_principals(),
            )
        })
        .collect()
}

/// The share's associated entities of one type, `ASSOCIATED` only, sorted.
async fn share_associations(
    ram: &aws_sdk_ram::Client,
    share: &str,
    kind: aws_sdk_ram::types::ResourceShareAssociationType,
) -> Vec<String> {
    let associations = ram
        .get_resource_share_associations()
        .association_type(kind)
        .resource_share_arns(share)
        .association_status(aws_sdk_ram::types::ResourceShareAssociationStatus::Associated)
        .send()
        .await
        .expect("associations");
    let mut entities: Vec<String> = associations
        .resource_share_associations()
        .iter()
        .filter_map(|association| association.associated_entity().map(str::to_string))
        .collect();
    entities.sort();
    entities
}

/// The ARN of the spec's unit `name` (a child of the root).
async fn unit_arn(moto: &Moto, name: &str) -> String {
    let organizations = aws_sdk_organizations::Client::new(&moto.sdk_config().await);
    let roots = organizations.list_roots().send().await.expect("roots");
    let root = roots.roots()[0].id().unwrap_or_default().to_string();
    let units = organizations.list_organizational_units_for_parent().parent_id(root).send().await.expect("units");
    units
        .organizational_units()
        .iter()
        .find(|unit| unit.name() == Some(name))
        .and_then(|unit| unit.arn().map(str::to_string))
        .expect("unit")
}

#[tokio::test]
async fn a_shared_gateway_is_shared_through_ram_with_its_units_and_accounts_and_the_share_repaired() {
    let moto = Moto::start();
    let workspace = workspace(GATEWAY_SPEC);
    let dir = workspace.path();

    let first = actions(&plan(&moto, dir, &[]));
    for wanted in [
        "configure_control network/ram_sharing management -",
        "configure_control network/transit_gateway_share/hub network us-east-1",
    ] {
        assert!(first.contains(&wanted.to_string()), "{wanted}: {first:?}");
    }
    apply(&moto, dir, &[]);
    assert!(actions(&plan(&moto, dir, &[])).is_empty(), "a second plan is empty");

    // Sharing with the organization is on: Organizations lists RAM's trusted access.
    let organizations = aws_sdk_organizations::Client::new(&moto.sdk_config().await);
    let services = organizations.list_aws_service_access_for_organization().send().await.expect("services");
    assert!(
        services
            .enabled_service_principals()
            .iter()
            .any(|service| service.service_principal() == Some("ram.amazonaws.com")),
        "{services:?}"
    );

    // One share in the hub's account, found by its tags, with the gateway, for the Workloads OU.
    let network = account_id(&moto, "aws+network@example.com").await;
    let ram = ram_in(&moto, Some(&network)).await;
    let shares = tagged_shares(&ram, "hub").await;
    assert_eq!(shares.len(), 1, "{shares:?}");
    let (share, name, external) = shares[0].clone();
    assert_eq!((name.as_str(), external), ("landing-zone-hub", Some(false)));
    let ec2 = ec2_in(&moto, Some(&network), "us-east-1").await;
    let gateway = tagged_gateways(&ec2, "hub").await[0].transit_gateway_arn().unwrap_or_default().to_string();
    use aws_sdk_ram::types::ResourceShareAssociationType::{Principal, Resource};
    assert_eq!(share_associations(&ram, &share, Resource).await, vec![gateway.clone()]);
    let workloads = unit_arn(&moto, "Workloads").await;
    assert_eq!(share_associations(&ram, &share, Principal).await, vec![workloads.clone()]);

    // The OU disassociated by hand is planned and associated again, on the same share.
    ram.disassociate_resource_share().resource_share_arn(&share).principals(&workloads).send().await.expect("drift");
    assert!(share_associations(&ram, &share, Principal).await.is_empty());
    let drift = plan(&moto, dir, &[]);
    assert_eq!(actions(&drift), ["configure_control network/transit_gateway_share/hub network us-east-1"]);
    let text = moto.run_expecting(&["plan"], dir, 0);
    assert!(text.contains("unit Workloads"), "{text}");
    apply(&moto, dir, &[]);
    assert!(actions(&plan(&moto, dir, &[])).is_empty(), "repaired");
    assert_eq!(tagged_shares(&ram, "hub").await.len(), 1, "no second share");
    assert_eq!(share_associations(&ram, &share, Principal).await, vec![workloads.clone()]);

    // The spec shares with one account instead: it is associated, the OU it dropped disassociated.
    let app_a = account_id(&moto, "aws+app-a@example.com").await;
    let by_account = GATEWAY_SPEC.replace("share_with: { units: [Workloads] }", "share_with: { accounts: [app-a] }");
    std::fs::write(dir.join("landing-zone.yaml"), &by_account).expect("spec");
    assert_eq!(
        actions(&plan(&moto, dir, &[])),
        ["configure_control network/transit_gateway_share/hub network us-east-1"]
    );
    apply(&moto, dir, &[]);
    assert!(actions(&plan(&moto, dir, &[])).is_empty(), "converged");
    assert_eq!(share_associations(&ram, &share, Principal).await, vec![app_a.clone()]);
    assert_eq!(share_associations(&ram, &share, Resource).await, [gateway]);

    // The member account sees the share as shared with it.
    let member = ram_in(&moto, Some(&app_a)).await;
    let received = member
        .get_resource_shares()
        .resource_owner(aws_sdk_ram::types::ResourceOwner::OtherAccounts)
        .send()
        .await
        .expect("shares with the member");
    assert_eq!(received.resource_shares().len(), 1, "{received:?}");

    // `landing-zone permissions` allows every call the tool made.
    let (caller, member, unknown) = crate::permissions::signed_actions(&moto);
    assert!(unknown.is_empty(), "{unknown:?}");
    for (signed, role) in [(&caller, "management"), (&member, "member")] {
        let printed = crate::permissions::policy_actions(&moto, "apply", role, dir);
        let missing: Vec<&String> =
            signed.iter().filter(|action| !crate::permissions::allows(&printed, action)).collect();
        assert!(missing.is_empty(), "`permissions apply --role {role}` lacks {missing:?}");
    }
    assert!(caller.contains("ram:EnableSharingWithAwsOrganization"), "{caller:?}");
    assert!(member.contains("ram:CreateResourceShare"), "{member:?}");
}

#[tokio::test]
async fn strict_ram_shares_with_units_only_once_sharing_with_the_organization_is_on() {
    let moto = Moto::start();
    let workspace = workspace(GATEWAY_SPEC);
    let dir = workspace.path();
    // The organization and its accounts, without the network section.
    let without_network = GATEWAY_SPEC.split("network:\n").next().unwrap_or_default().to_string();
    std::fs::write(dir.join("landing-zone.yaml"), &without_network).expect("spec");
    apply(&moto, dir, &[]);
    // The new accounts' first second answers SubscriptionRequiredException (the strict layer's
    // fresh-account window).
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let network = account_id(&moto, "aws+network@example.com").await;
    let ram = ram_in(&moto, Some(&network)).await;
    let workloads = unit_arn(&moto, "Workloads").await;
    let refused = ram.create_resource_share().name("early").principals(&workloads).send().await;
    let code = refused
        .as_ref()
        .err()
        .and_then(|error| aws_sdk_ram::error::ProvideErrorMetadata::code(error).map(str::to_string));
    assert_eq!(code.as_deref(), Some("OperationNotPermittedException"), "{refused:?}");
    // A member account cannot turn it on; the management account can.
    let refused = ram.enable_sharing_with_aws_organization().send().await;
    assert!(refused.is_err(), "{refused:?}");
    ram_in(&moto, None).await.enable_sharing_with_aws_organization().send().await.expect("enable");
    ram.create_resource_share().name("now").principals(&workloads).send().await.expect("shared with the unit");
}

/// The spec of a workload VPC in `app-a` attached to the hub gateway of `network`, shared with
/// the Workloads unit.
fn cross_account_spec() -> String {
    format!(
        "{GATEWAY_SPEC}  vpcs:\n    app-vpc: {{ account: app-a, region: us-east-1, cidr: 10.20.0.0/16, subnets: {{ private: [10.20.0.0/24, 10.20.1.0/24] }}, transit_gateway: hub }}\n"
    )
}

#[tokio::test]
async fn a_vpc_of_another_account_attaches_to_the_shared_gateway_accepted_by_the_hub_and_routes_to_it() {
    let moto = Moto::start();
    let workspace = workspace(&cross_account_spec());
    let dir = workspace.path();
    let text = moto.run_expecting(&["plan"], dir, 0);
    assert!(!text.contains("not attached"), "{text}");
    assert!(text.contains("transit_gateway hub"), "{text}");
    apply(&moto, dir, &[]);
    assert!(actions(&plan(&moto, dir, &[])).is_empty(), "a second plan is empty");

    let network = account_id(&moto, "aws+network@example.com").await;
    let app_a = account_id(&moto, "aws+app-a@example.com").await;
    let hub = ec2_in(&moto, Some(&network), "us-east-1").await;
    let ec2 = ec2_in(&moto, Some(&app_a), "us-east-1").await;
    let gateway = tagged_gateways(&hub, "hub").await[0].transit_gateway_id().unwrap_or_default().to_string();
    let vpc_id = tagged_vpcs(&ec2, "app-vpc").await[0].vpc_id().unwrap_or_default().to_string();
    // One attachment, made from the VPC's account on its private subnets, accepted by the hub.
    for (who, client) in [("app-a", &ec2), ("network", &hub)] {
        let attachments = client
            .describe_transit_gateway_vpc_attachments()
            .filters(filter("vpc-id", &vpc_id))
            .send()
            .await
            .expect("attachments");
        let found = attachments.transit_gateway_vpc_attachments();
        assert_eq!(found.len(), 1, "{who}: {attachments:?}");
        assert_eq!(found[0].transit_gateway_id(), Some(gateway.as_str()), "{who}");
        assert_eq!(found[0].vpc_owner_id(), Some(app_a.as_str()), "{who}");
        assert_eq!(found[0].state(), Some(&aws_sdk_ec2::types::TransitGatewayAttachmentState::Available), "{who}");
        let mut attached: Vec<String> = found[0].subnet_ids().to_vec();
        attached.sort();
        let mut private: Vec<String> = subnets_of(&ec2, &vpc_id).await.values().map(|(_, id)| id.clone()).collect();
        private.sort();
        assert_eq!(attached, private, "{who}: the attachment is on the private subnets");
    }
    let to_gateway = |table: &aws_sdk_ec2::types::RouteTable| {
        table
            .routes()
            .iter()
            .find(|route| route.destination_cidr_block() == Some("0.0.0.0/0"))
            .and_then(|route| route.transit_gateway_id().map(str::to_string))
    };
    let table = tier_table(&ec2, &vpc_id, "private").await;
    assert_eq!(to_gateway(&table), Some(gateway.clone()));

    // The route deleted by hand is planned and made again; no second attachment.
    ec2.delete_route()
        .route_table_id(table.route_table_id().unwrap_or_default())
        .destination_cidr_block("0.0.0.0/0")
        .send()
        .await
        .expect("delete route");
    assert_eq!(to_gateway(&tier_table(&ec2, &vpc_id, "private").await), None);
    assert_eq!(actions(&plan(&moto, dir, &[])), ["configure_control network/vpc/app-vpc app-a us-east-1"]);
    apply(&moto, dir, &[]);
    assert!(actions(&plan(&moto, dir, &[])).is_empty(), "repaired");
    assert_eq!(to_gateway(&tier_table(&ec2, &vpc_id, "private").await), Some(gateway));
    let attachments = ec2.describe_transit_gateway_vpc_attachments().send().await.expect("attachments");
    assert_eq!(attachments.transit_gateway_vpc_attachments().len(), 1, "one attachment");

    // `landing-zone permissions` allows every call the tool made.
    let (caller, member, unknown) = crate::permissions::signed_actions(&moto);
    assert!(unknown.is_empty(), "{unknown:?}");
    for (signed, role) in [(&caller, "management"), (&member, "member")] {
        let printed = crate::permissions::policy_actions(&moto, "apply", role, dir);
        let missing: Vec<&String> =
            signed.iter().filter(|action| !crate::permissions::allows(&printed, action)).collect();
        assert!(missing.is_empty(), "`permissions apply --role {role}` lacks {missing:?}");
    }
    assert!(member.contains("ec2:AcceptTransitGatewayVpcAttachment"), "{member:?}");
}

/// The layer: an attachment to a gateway shared with the caller waits for the owner's acceptance,
/// which the VPC's account cannot give; one to a gateway not shared with the caller is refused.
#[tokio::test]
async fn strict_a_shared_gateways_attachment_waits_for_its_owner_to_accept_it() {
    let moto = Moto::start();
    let workspace = workspace(GATEWAY_SPEC);
    let dir = workspace.path();
    apply(&moto, dir, &[]);
    let network = account_id(&moto, "aws+network@example.com").await;
    let app_a = account_id(&moto, "aws+app-a@example.com").await;
    let hub = ec2_in(&moto, Some(&network), "us-east-1").await;
    let ec2 = ec2_in(&moto, Some(&app_a), "us-east-1").await;
    let gateway = tagged_gateways(&hub, "hub").await[0].transit_gateway_id().unwrap_or_default().to_string();
    let vpc = ec2.create_vpc().cidr_block("10.30.0.0/16").send().await.expect("vpc");
    let vpc_id = vpc.vpc().and_then(|vpc| vpc.vpc_id()).unwrap_or_default().to_string();
    let subnet = ec2.create_subnet().vpc_id(&vpc_id).cidr_block("10.30.0.0/24").send().await.expect("subnet");
    let subnet_id = subnet.subnet().and_then(|subnet| subnet.subnet_id()).unwrap_or_default().to_string();
    let made = ec2
        .create_transit_gateway_vpc_attachment()
        .transit_gateway_id(&gateway)
        .vpc_id(&vpc_id)
        .subnet_ids(&subnet_id)
        .send()
        .await
        .expect("attachment");
    let attachment = made.transit_gateway_vpc_attachment().expect("the attachment");
    use aws_sdk_ec2::types::TransitGatewayAttachmentState::{Available, PendingAcceptance};
    assert_eq!(attachment.state(), Some(&PendingAcceptance));
    let id = attachment.transit_gateway_attachment_id().unwrap_or_default().to_string();
    // The hub sees it waiting (DescribeTransitGatewayAttachments names the VPC's owner).
    let listed = hub
        .describe_transit_gateway_attachments()
        .filters(filter("state", "pendingAcceptance"))
        .send()
        .await
        .expect("attachments");
    let listed = listed.transit_gateway_attachments();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0].resource_owner_id(), Some(app_a.as_str()));
    assert!(ec2.accept_transit_gateway_vpc_attachment().transit_gateway_attachment_id(&id).send().await.is_err());
    let accepted =
        hub.accept_transit_gateway_vpc_attachment().transit_gateway_attachment_id(&id).send().await.expect("accept");
    assert_eq!(accepted.transit_gateway_vpc_attachment().and_then(|a| a.state()), Some(&Available));

    // A gateway not shared with the caller (the management account) is not found.
    let management = ec2_in(&moto, None, "us-east-1").await;
    let vpc = management.create_vpc().cidr_block("10.31.0.0/16").send().await.expect("vpc");
    let vpc_id = vpc.vpc().and_then(|vpc| vpc.vpc_id()).unwrap_or_default().to_string();
    let refused =
        management.create_transit_gateway_vpc_attachment().transit_gateway_id(&gateway).vpc_id(&vpc_id).send().await;
    assert!(refused.is_err(), "{refused:?}");
}

/// The hub account and its gateway added to the spec in one change, with a VPC of an existing
/// account attached to it: the plan reads the VPC as not attached yet (the hub has no id yet), and
/// one apply makes the account, the gateway, its share and the attachment.
#[tokio::test]
async fn a_vpc_attached_to_the_gateway_of_a_hub_account_not_made_yet_plans_and_converges() {
    let moto = Moto::start();
    let without_hub = GATEWAY_SPEC
        .replace("  network: { email: aws+network@example.com, unit: Infrastructure }\n", "")
        .split("network:\n  transit_gateways:")
        .next()
        .unwrap_or_default()
        .to_string();
    let workspace = workspace(&without_hub);
    let dir = workspace.path();
    apply(&moto, dir, &[]);
    std::fs::write(dir.join("landing-zone.yaml"), cross_account_spec()).expect("spec");
    let planned = actions(&plan(&moto, dir, &[]));
    assert!(planned.contains(&"configure_control network/vpc/app-vpc app-a us-east-1".to_string()), "{planned:?}");
    apply(&moto, dir, &[]);
    assert!(actions(&plan(&moto, dir, &[])).is_empty(), "a second plan is empty");
}
