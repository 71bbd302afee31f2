//! `import` writes `network:` from what landing-zone made: a hub Transit Gateway with its ASN,
//! shared through AWS RAM with the Workloads unit and an account, and the workload VPCs (tiers,
//! subnets in zone order, attachments) are imported as they were applied and the plan of the
//! imported spec is empty; a VPC made by hand (not tagged as landing-zone's) and one whose routes
//! were changed by hand are left out, each with a note naming it (account, region, VPC id).

use aws_sdk_ec2::types::Filter;
use landing_zone::spec::model::NetworkSpec;

use crate::support::{stderr, stdout, workspace, Moto};

/// A network hub like `examples/network-hub.yaml`, in one region.
const SPEC: &str = r#"version: 1
organization:
  feature_set: ALL
  management_account: management
  regions: [us-east-1]
units:
  Infrastructure: {}
  Workloads: {}
accounts:
  management: { email: master@example.com, unit: Root }  # moto's own
  network: { email: aws+network@example.com, unit: Infrastructure }
  app-prod: { email: aws+app-prod@example.com, unit: Workloads }
  app-dev: { email: aws+app-dev@example.com, unit: Workloads }
  tools: { email: aws+tools@example.com, unit: Infrastructure }
network:
  transit_gateways:
    hub: { account: network, region: us-east-1, asn: 64600, share_with: { units: [Workloads], accounts: [tools] } }
  vpcs:
    app-prod-main:
      account: app-prod
      region: us-east-1
      cidr: 10.10.0.0/16
      subnets:
        private: [10.10.0.0/20, 10.10.16.0/20, 10.10.32.0/20]
        public: [10.10.128.0/24, 10.10.129.0/24]
      transit_gateway: hub
    app-dev-main:
      account: app-dev
      region: us-east-1
      cidr: 10.20.0.0/16
      subnets: { private: [10.20.0.0/20, 10.20.16.0/20] }
      transit_gateway: hub
    network-egress:
      account: network
      region: us-east-1
      cidr: 10.30.0.0/16
      subnets: { public: [10.30.0.0/24] }
"#;

/// The imported spec's `network:` section, typed (None when it has none).
fn imported_network(dir: &std::path::Path) -> Option<NetworkSpec> {
    let spec = std::fs::read_to_string(dir.join("landing-zone.yaml")).expect("imported spec");
    let spec: serde_yaml::Value = serde_yaml::from_str(&spec).expect("yaml");
    let network = spec.get("network")?.clone();
    Some(serde_yaml::from_value(network).expect("a `network:` section"))
}

fn import(moto: &Moto) -> (tempfile::TempDir, String) {
    let imported = tempfile::tempdir().expect("temp dir");
    let output = moto.run(&["import", "--out", ".", "--regions", "us-east-1"], imported.path());
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    (imported, stderr(&output))
}

async fn account_id(moto: &Moto, email: &str) -> String {
    let organizations = aws_sdk_organizations::Client::new(&moto.sdk_config().await);
    let accounts = organizations.list_accounts().send().await.expect("accounts").accounts.unwrap_or_default();
    accounts.iter().find(|account| account.email.as_deref() == Some(email)).and_then(|a| a.id.clone()).expect("account")
}

async fn ec2_of(moto: &Moto, email: &str) -> aws_sdk_ec2::Client {
    let config = moto.assumed_config(&account_id(moto, email).await).await;
    let config = aws_sdk_ec2::config::Builder::from(&config).region(aws_sdk_ec2::config::Region::new("us-east-1"));
    aws_sdk_ec2::Client::from_conf(config.build())
}

fn filter(name: &str, value: &str) -> Filter {
    Filter::builder().name(name).values(value).build()
}

#[tokio::test]
async fn import_writes_the_network_as_applied_and_leaves_out_vpcs_the_spec_cannot_write() {
    let moto = Moto::start();
    let applied = workspace(SPEC);
    let output = moto.run(&["apply", "--auto-approve"], applied.path());
    assert_eq!(output.status.code(), Some(0), "{}\n{}", stdout(&output), stderr(&output));

    let (imported, notes) = import(&moto);
    let reference: serde_yaml::Value = serde_yaml::from_str(SPEC).expect("yaml");
    let expected: NetworkSpec = serde_yaml::from_value(reference["network"].clone()).expect("the applied section");
    assert_eq!(imported_network(imported.path()), Some(expected.clone()), "{notes}");
    let plan = moto.run(&["plan", "--detailed-exitcode"], imported.path());
    assert_eq!(plan.status.code(), Some(0), "the imported spec plans nothing:\n{}\n{}", stdout(&plan), stderr(&plan));

    // A VPC made by hand, without landing-zone's tags: never adopted, so not imported; the note
    // names it. The rest is imported as before.
    let dev = ec2_of(&moto, "aws+app-dev@example.com").await;
    let by_hand = dev.create_vpc().cidr_block("10.50.0.0/16").send().await.expect("a VPC by hand");
    let by_hand = by_hand.vpc().and_then(|vpc| vpc.vpc_id()).expect("its id").to_string();
    let (again, notes) = import(&moto);
    assert!(
        notes.contains(&format!("VPC {by_hand} in account `app-dev` (us-east-1) is not tagged as landing-zone's")),
        "{notes}"
    );
    assert_eq!(imported_network(again.path()), Some(expected.clone()), "{notes}");
    let plan = moto.run(&["plan", "--detailed-exitcode"], again.path());
    assert_eq!(plan.status.code(), Some(0), "{}\n{}", stdout(&plan), stderr(&plan));

    // The public route of a VPC landing-zone made, deleted by hand: written as found, the plan
    // would make it again, so the VPC is left out and named; the others are still imported.
    let network = ec2_of(&moto, "aws+network@example.com").await;
    let egress = network
        .describe_vpcs()
        .filters(filter("tag:landing-zone:network-vpc", "network-egress"))
        .send()
        .await
        .expect("vpcs");
    let egress = egress.vpcs().first().and_then(|vpc| vpc.vpc_id()).expect("the egress VPC").to_string();
    let tables = network
        .describe_route_tables()
        .filters(filter("vpc-id", &egress))
        .filters(filter("tag:landing-zone:tier", "public"))
        .send()
        .await
        .expect("route tables");
    let table = tables.route_tables().first().and_then(|table| table.route_table_id()).expect("public table");
    network.delete_route().route_table_id(table).destination_cidr_block("0.0.0.0/0").send().await.expect("delete");
    let (drifted, notes) = import(&moto);
    assert!(
        notes.contains(&format!(
            "VPC {egress} (`network-egress`) in account `network` (us-east-1) is left out: it is not as `network.vpcs` builds one"
        )),
        "{notes}"
    );
    let mut without_egress = expected;
    without_egress.vpcs.remove("network-egress");
    assert_eq!(imported_network(drifted.path()), Some(without_egress), "{notes}");
    // A VPC landing-zone made that the spec does not list is one whose removal the plan lists,
    // blocked without the opt-ins: the only entry of the imported spec's plan, as the note says.
    assert!(notes.contains("blocked unless"), "{notes}");
    let plan = moto.run(&["plan"], drifted.path());
    let text = stdout(&plan);
    assert!(text.contains("Plan: 0 to add, 0 to change, 0 to destroy; 1 blocked"), "{text}\n{}", stderr(&plan));
    assert!(text.contains("! network/vpc/network-egress in network (us-east-1): remove it"), "{text}");
}
