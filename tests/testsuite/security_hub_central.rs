//! Security Hub central configuration (`baseline.security_hub.configuration: central`) end to end
//! against moto through the strict layer, which serves the operations moto lacks (finding
//! aggregators, configuration policies, associations) and refuses central configuration without
//! cross-Region aggregation in the home Region, as AWS documents
//! (https://docs.aws.amazon.com/securityhub/latest/userguide/start-central-configuration.html).

use aws_sdk_securityhub::types::{AssociationFilters, AssociationType, OrganizationConfiguration};
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::support::{workspace, Moto};

const CENTRAL: &str = "version: 1
organization:
  policy_types: [SERVICE_CONTROL_POLICY]
  management_account: management
  regions: [us-east-1, eu-west-1]
accounts:
  management: { email: root@example.com }
  security: { email: security@example.com }
baseline:
  security_hub:
    admin_account: security
    configuration: central
    standards: [aws-foundational-security-best-practices]
";

async fn account_id(moto: &Moto, email: &str) -> String {
    let organizations = aws_sdk_organizations::Client::new(&moto.sdk_config().await);
    let listed = organizations.list_accounts().send().await.expect("accounts");
    let account = listed.accounts().iter().find(|account| account.email() == Some(email)).expect("account");
    account.id().expect("id").to_string()
}

/// The delegated administrator's Security Hub client in `region`.
async fn hub_of(moto: &Moto, account: &str, region: &'static str) -> aws_sdk_securityhub::Client {
    let config = moto.assumed_config(account).await;
    let config = config.to_builder().region(aws_config::Region::new(region)).build();
    aws_sdk_securityhub::Client::new(&config)
}

/// Apply creates the finding aggregator (home region us-east-1, eu-west-1 linked) before it turns
/// the organization to CENTRAL, then the policy and its association with the root; the second
/// plan shows no changes. Without the aggregator the layer refuses CENTRAL, as AWS does.
#[tokio::test]
async fn central_configuration_converges_after_its_finding_aggregator() {
    let moto = Moto::start();
    let dir = workspace(CENTRAL);
    let text = moto.run_expecting(&["plan"], dir.path(), 0);
    moto.run_expecting(&["apply", "--auto-approve"], dir.path(), 0);
    assert!(text.contains("security_hub/finding_aggregator"), "{text}");
    let second = moto.run_expecting(&["plan", "--detailed-exitcode"], dir.path(), 0);
    assert!(second.contains("Plan: 0 to add, 0 to change, 0 to destroy."), "{second}");

    let security = account_id(&moto, "security@example.com").await;
    let hub = hub_of(&moto, &security, "us-east-1").await;
    let aggregators = hub.list_finding_aggregators().send().await.expect("aggregators");
    let arns: Vec<&str> = aggregators.finding_aggregators().iter().filter_map(|a| a.finding_aggregator_arn()).collect();
    assert_eq!(arns.len(), 1, "one aggregator: {arns:?}");
    let aggregator = hub.get_finding_aggregator().finding_aggregator_arn(arns[0]).send().await.expect("aggregator");
    assert_eq!(aggregator.finding_aggregation_region(), Some("us-east-1"));
    assert_eq!(aggregator.region_linking_mode(), Some("SPECIFIED_REGIONS"));
    assert_eq!(aggregator.regions(), ["eu-west-1"]);

    let organization = hub.describe_organization_configuration().send().await.expect("organization configuration");
    let kind = organization.organization_configuration().and_then(|configuration| configuration.configuration_type());
    assert_eq!(kind.map(|kind| kind.as_str()), Some("CENTRAL"));
    let policies = hub.list_configuration_policies().send().await.expect("policies");
    let names: Vec<&str> = policies.configuration_policy_summaries().iter().filter_map(|p| p.name()).collect();
    assert_eq!(names, ["landing-zone"]);
    let applied = AssociationFilters::builder().association_type(AssociationType::Applied).build();
    let associations = hub.list_configuration_policy_associations().filters(applied).send().await.expect("list");
    let targets: Vec<&str> =
        associations.configuration_policy_association_summaries().iter().filter_map(|a| a.target_id()).collect();
    assert_eq!(targets.len(), 1, "the root: {targets:?}");
    assert!(targets[0].starts_with("r-"), "{targets:?}");

    // The layer's rule, asked directly: from eu-west-1, where no aggregator aggregates, CENTRAL
    // is refused.
    let linked = hub_of(&moto, &security, "eu-west-1").await;
    let central = OrganizationConfiguration::builder()
        .configuration_type(aws_sdk_securityhub::types::OrganizationConfigurationConfigurationType::Central)
        .build();
    let refused = linked
        .update_organization_configuration()
        .auto_enable(false)
        .organization_configuration(central)
        .send()
        .await
        .expect_err("no aggregator with eu-west-1 as its home region");
    assert_eq!(refused.code(), Some("InvalidInputException"), "{refused:?}");
}

/// The linked regions follow `organization.regions`: a region added to the spec is linked by
/// updating the aggregator in place (never a second aggregator).
#[tokio::test]
async fn a_region_added_to_the_spec_is_linked_to_the_aggregator() {
    let moto = Moto::start();
    let dir = workspace(CENTRAL);
    moto.run_expecting(&["apply", "--auto-approve"], dir.path(), 0);
    let wider = CENTRAL.replace("[us-east-1, eu-west-1]", "[us-east-1, eu-west-1, us-west-2]");
    std::fs::write(dir.path().join("landing-zone.yaml"), wider).expect("spec");
    let text = moto.run_expecting(&["plan"], dir.path(), 0);
    assert!(text.contains("~ security_hub/finding_aggregator"), "{text}");
    moto.run_expecting(&["apply", "--auto-approve"], dir.path(), 0);
    moto.run_expecting(&["plan", "--detailed-exitcode"], dir.path(), 0);

    let security = account_id(&moto, "security@example.com").await;
    let hub = hub_of(&moto, &security, "us-east-1").await;
    let aggregators = hub.list_finding_aggregators().send().await.expect("aggregators");
    let arns: Vec<&str> = aggregators.finding_aggregators().iter().filter_map(|a| a.finding_aggregator_arn()).collect();
    assert_eq!(arns.len(), 1, "updated, not duplicated: {arns:?}");
    let aggregator = hub.get_finding_aggregator().finding_aggregator_arn(arns[0]).send().await.expect("aggregator");
    assert_eq!(aggregator.regions(), ["eu-west-1", "us-west-2"]);
}
