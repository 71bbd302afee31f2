//! Operations moto 5.2.5 lacks, tested against recorded AWS responses (aws-smithy-mocks): GuardDuty
//! organization configuration, Security Hub standards, IAM Access Analyzer analyzers. The product
//! implements them fully; these tests pin their reading, idempotency and requests.

use aws_sdk_accessanalyzer::operation::create_analyzer::CreateAnalyzerOutput;
use aws_sdk_accessanalyzer::operation::list_analyzers::ListAnalyzersOutput;
use aws_sdk_accessanalyzer::types::{AnalyzerStatus, AnalyzerSummary, Type};
use aws_sdk_guardduty::operation::describe_organization_configuration::DescribeOrganizationConfigurationOutput;
use aws_sdk_guardduty::operation::list_detectors::ListDetectorsOutput;
use aws_sdk_guardduty::operation::update_organization_configuration::UpdateOrganizationConfigurationOutput;
use aws_sdk_guardduty::types::AutoEnableMembers;
use aws_sdk_securityhub::operation::batch_enable_standards::BatchEnableStandardsOutput;
use aws_sdk_securityhub::operation::get_enabled_standards::GetEnabledStandardsOutput;
use aws_sdk_securityhub::types::{StandardsStatus, StandardsSubscription};
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use landing_zone::baseline::{access_analyzer, guardduty, security_hub};
use serde_json::json;

const FSBP: &str = "arn:aws:securityhub:us-east-1::standards/aws-foundational-security-best-practices/v/1.0.0";
const CIS: &str = "arn:aws:securityhub:us-east-1::standards/cis-aws-foundations-benchmark/v/3.0.0";

#[tokio::test]
async fn guardduty_organization_configuration_is_read_and_set_on_the_admin_detector() {
    let detectors = mock!(aws_sdk_guardduty::Client::list_detectors)
        .then_output(|| ListDetectorsOutput::builder().detector_ids("12abc34d567e8fa901bc2d34e56789f0").build());
    let describe = mock!(aws_sdk_guardduty::Client::describe_organization_configuration)
        .match_requests(|request| request.detector_id() == Some("12abc34d567e8fa901bc2d34e56789f0"))
        .then_output(|| {
            DescribeOrganizationConfigurationOutput::builder()
                .auto_enable_organization_members(AutoEnableMembers::New)
                .member_account_limit_reached(false)
                .build()
        });
    let client = mock_client!(aws_sdk_guardduty, RuleMode::MatchAny, [&detectors, &describe]);
    let live = guardduty::read_organization_configuration(&client).await.expect("read");
    assert_eq!(live, Some(json!({ "auto_enable": "NEW" })));

    let update = mock!(aws_sdk_guardduty::Client::update_organization_configuration)
        .match_requests(|request| {
            request.detector_id() == Some("12abc34d567e8fa901bc2d34e56789f0")
                && request.auto_enable_organization_members() == Some(&AutoEnableMembers::All)
        })
        .then_output(|| UpdateOrganizationConfigurationOutput::builder().build());
    let client = mock_client!(aws_sdk_guardduty, RuleMode::MatchAny, [&detectors, &update]);
    guardduty::apply_organization_configuration(&client, &json!({ "auto_enable": "ALL" })).await.expect("apply");
    assert_eq!(update.num_calls(), 1, "one UpdateOrganizationConfiguration with ALL");
}

#[tokio::test]
async fn guardduty_without_an_admin_detector_reads_as_absent() {
    let detectors = mock!(aws_sdk_guardduty::Client::list_detectors)
        .sequence()
        .output(|| ListDetectorsOutput::builder().build())
        .repeatedly()
        .build();
    let client = mock_client!(aws_sdk_guardduty, [&detectors]);
    assert_eq!(guardduty::read_organization_configuration(&client).await.expect("read"), None);
    assert!(guardduty::apply_organization_configuration(&client, &json!({ "auto_enable": "ALL" })).await.is_err());
}

#[tokio::test]
async fn security_hub_standards_enable_only_what_is_missing() {
    let pages = mock!(aws_sdk_securityhub::Client::get_enabled_standards)
        .sequence()
        .output(|| {
            GetEnabledStandardsOutput::builder()
                .standards_subscriptions(
                    StandardsSubscription::builder()
                        .standards_subscription_arn("arn:aws:securityhub:us-east-1:111111111111:subscription/aws-foundational-security-best-practices/v/1.0.0")
                        .standards_arn(FSBP)
                        .standards_status(StandardsStatus::Ready)
                        .build(),
                )
                .next_token("page-2")
                .build()
        })
        .output(|| GetEnabledStandardsOutput::builder().build())
        .build();
    let client = mock_client!(aws_sdk_securityhub, [&pages]);
    let live = security_hub::read_standards(&client).await.expect("read");
    assert_eq!(live, Some(json!({ "standards": [FSBP] })), "pages are followed to the end");

    let enable = mock!(aws_sdk_securityhub::Client::batch_enable_standards)
        .match_requests(|request| {
            let arns: Vec<&str> =
                request.standards_subscription_requests().iter().filter_map(|r| r.standards_arn()).collect();
            arns == [CIS]
        })
        .then_output(|| BatchEnableStandardsOutput::builder().build());
    let client = mock_client!(aws_sdk_securityhub, [&enable]);
    security_hub::enable_standards(&client, &json!({ "standards": [FSBP, CIS] }), live.as_ref()).await.expect("enable");
    assert_eq!(enable.num_calls(), 1, "only CIS was missing");

    let none = mock!(aws_sdk_securityhub::Client::batch_enable_standards)
        .then_output(|| BatchEnableStandardsOutput::builder().build());
    let client = mock_client!(aws_sdk_securityhub, [&none]);
    let all = json!({ "standards": [FSBP, CIS] });
    security_hub::enable_standards(&client, &all, Some(&all)).await.expect("nothing to do");
    assert_eq!(none.num_calls(), 0, "no call when every standard is enabled");
}

#[tokio::test]
async fn access_analyzer_finds_or_creates_the_organization_analyzer() {
    let listed = mock!(aws_sdk_accessanalyzer::Client::list_analyzers)
        .match_requests(|request| request.r#type() == Some(&Type::Organization))
        .sequence()
        .output(|| {
            ListAnalyzersOutput::builder()
                .analyzers(
                    AnalyzerSummary::builder()
                        .arn("arn:aws:access-analyzer:us-east-1:222222222222:analyzer/organization")
                        .name("organization")
                        .r#type(Type::Organization)
                        .created_at(aws_smithy_types::DateTime::from_secs(1_700_000_000))
                        .status(AnalyzerStatus::Active)
                        .build()
                        .expect("summary"),
                )
                .build()
                .expect("output")
        })
        .repeatedly()
        .build();
    let client = mock_client!(aws_sdk_accessanalyzer, [&listed]);
    assert_eq!(
        access_analyzer::read_analyzer(&client, "organization").await.expect("read"),
        Some(json!({ "name": "organization", "type": "ORGANIZATION" }))
    );
    let client = mock_client!(aws_sdk_accessanalyzer, [&listed]);
    assert_eq!(access_analyzer::read_analyzer(&client, "other").await.expect("read"), None);

    let created = mock!(aws_sdk_accessanalyzer::Client::create_analyzer)
        .match_requests(|request| {
            request.analyzer_name() == Some("organization") && request.r#type() == Some(&Type::Organization)
        })
        .then_output(|| {
            CreateAnalyzerOutput::builder()
                .arn("arn:aws:access-analyzer:us-east-1:222222222222:analyzer/organization")
                .build()
        });
    let client = mock_client!(aws_sdk_accessanalyzer, [&created]);
    access_analyzer::create_analyzer(&client, "organization").await.expect("create");
    assert_eq!(created.num_calls(), 1);
}
