//! Operations moto 5.2.5 lacks, tested against recorded AWS responses (aws-smithy-mocks): GuardDuty
//! organization configuration, Security Hub standards and delegated-administrator listing, IAM
//! Access Analyzer analyzers. Also the AWS error answers moto gives differently (codes of "not the
//! administrator", "not subscribed", "name taken"). The product implements all of these fully;
//! these tests pin their reading, their idempotency and the requests they send.
//!
//! Modeled outputs are built with the SDK builders; AWS errors are the HTTP responses AWS sends
//! (status, `x-amzn-errortype`, JSON body), so the SDK parses them as it would in production.
//! docs/testing.md lists every operation covered here.

use aws_sdk_accessanalyzer::operation::create_analyzer::CreateAnalyzerOutput;
use aws_sdk_accessanalyzer::operation::list_analyzers::ListAnalyzersOutput;
use aws_sdk_accessanalyzer::types::{AnalyzerStatus, AnalyzerSummary, Type};
use aws_sdk_guardduty::operation::describe_organization_configuration::DescribeOrganizationConfigurationOutput;
use aws_sdk_guardduty::operation::enable_organization_admin_account::EnableOrganizationAdminAccountOutput;
use aws_sdk_guardduty::operation::list_detectors::ListDetectorsOutput;
use aws_sdk_guardduty::operation::update_organization_configuration::UpdateOrganizationConfigurationOutput;
use aws_sdk_guardduty::types::AutoEnableMembers;
use aws_sdk_securityhub::operation::batch_enable_standards::BatchEnableStandardsOutput;
use aws_sdk_securityhub::operation::get_enabled_standards::GetEnabledStandardsOutput;
use aws_sdk_securityhub::operation::list_organization_admin_accounts::ListOrganizationAdminAccountsOutput;
use aws_sdk_securityhub::types::{AdminStatus, StandardsStatus, StandardsSubscription};
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use landing_zone::baseline::{access_analyzer, guardduty, security_hub};
use serde_json::json;

const DETECTOR: &str = "12abc34d567e8fa901bc2d34e56789f0";
const ADMIN: &str = "222222222222";
const OTHER_ADMIN: &str = "999999999999";
const FSBP: &str = "arn:aws:securityhub:us-east-1::standards/aws-foundational-security-best-practices/v/1.0.0";
const CIS: &str = "arn:aws:securityhub:us-east-1::standards/cis-aws-foundations-benchmark/v/3.0.0";
const NIST: &str = "arn:aws:securityhub:us-east-1::standards/nist-800-53/v/5.0.0";
const CIS_1_2: &str = "arn:aws:securityhub:::ruleset/cis-aws-foundations-benchmark/v/1.2.0";

/// An AWS error as a restJson1 service sends it.
fn aws_error(status: u16, code: &'static str, message: &str) -> HttpResponse {
    let body = json!({ "__type": code, "message": message }).to_string();
    let mut response = HttpResponse::new(StatusCode::try_from(status).expect("status"), SdkBody::from(body));
    response.headers_mut().insert("content-type", "application/json");
    response.headers_mut().insert("x-amzn-errortype", code);
    response
}

fn guardduty_detectors() -> aws_smithy_mocks::Rule {
    mock!(aws_sdk_guardduty::Client::list_detectors)
        .then_output(|| ListDetectorsOutput::builder().detector_ids(DETECTOR).build())
}

fn subscription(arn: &str, status: StandardsStatus) -> StandardsSubscription {
    let name = arn.rsplit_once("standards/").map_or(arn, |(_, name)| name);
    StandardsSubscription::builder()
        .standards_subscription_arn(format!("arn:aws:securityhub:us-east-1:{ADMIN}:subscription/{name}"))
        .standards_arn(arn)
        .standards_status(status)
        .build()
}

// ---- GuardDuty: DescribeOrganizationConfiguration, UpdateOrganizationConfiguration ----

#[tokio::test]
async fn guardduty_organization_configuration_is_read_and_set_on_the_admin_detector() {
    let detectors = guardduty_detectors();
    let describe = mock!(aws_sdk_guardduty::Client::describe_organization_configuration)
        .match_requests(|request| request.detector_id() == Some(DETECTOR))
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
            request.detector_id() == Some(DETECTOR)
                && request.auto_enable_organization_members() == Some(&AutoEnableMembers::All)
        })
        .then_output(|| UpdateOrganizationConfigurationOutput::builder().build());
    let client = mock_client!(aws_sdk_guardduty, RuleMode::MatchAny, [&detectors, &update]);
    guardduty::apply_organization_configuration(&client, &json!({ "auto_enable": "ALL" })).await.expect("apply");
    assert_eq!(update.num_calls(), 1, "one UpdateOrganizationConfiguration with ALL");
    assert!(
        guardduty::apply_organization_configuration(&client, &json!({ "auto_enable": "SOME" })).await.is_err(),
        "an unknown value is refused before any write"
    );
    assert_eq!(update.num_calls(), 1);
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
async fn guardduty_organization_configuration_reads_as_absent_before_the_account_is_administrator() {
    let detectors = guardduty_detectors();
    let refused = mock!(aws_sdk_guardduty::Client::describe_organization_configuration).then_http_response(|| {
        aws_error(
            400,
            "BadRequestException",
            "The request failed because you do not have required AWS Organization master permission.",
        )
    });
    let client = mock_client!(aws_sdk_guardduty, RuleMode::MatchAny, [&detectors, &refused]);
    assert_eq!(guardduty::read_organization_configuration(&client).await.expect("read"), None);
    assert_eq!(refused.num_calls(), 1);

    let broken = mock!(aws_sdk_guardduty::Client::describe_organization_configuration)
        .then_http_response(|| aws_error(500, "InternalServerErrorException", "Internal server error"));
    let client = mock_client!(aws_sdk_guardduty, RuleMode::MatchAny, [&detectors, &broken]);
    let error = guardduty::read_organization_configuration(&client).await.expect_err("other errors are errors");
    assert!(format!("{error:#}").contains("DescribeOrganizationConfiguration"), "{error:#}");
}

#[tokio::test]
async fn guardduty_legacy_auto_enable_boolean_reads_as_new_members() {
    let detectors = guardduty_detectors();
    // An organization configured before AutoEnableOrganizationMembers: only the boolean comes back.
    let legacy = mock!(aws_sdk_guardduty::Client::describe_organization_configuration).then_http_response(|| {
        HttpResponse::new(
            StatusCode::try_from(200).expect("status"),
            SdkBody::from(r#"{"autoEnable":true,"memberAccountLimitReached":false}"#),
        )
    });
    let client = mock_client!(aws_sdk_guardduty, RuleMode::MatchAny, [&detectors, &legacy]);
    assert_eq!(
        guardduty::read_organization_configuration(&client).await.expect("read"),
        Some(json!({ "auto_enable": "NEW" }))
    );
}

// ---- GuardDuty: ListOrganizationAdminAccounts (paging, status), EnableOrganizationAdminAccount ----

#[tokio::test]
async fn guardduty_admin_is_the_enabled_one_across_pages_and_is_never_replaced() {
    use aws_sdk_guardduty::operation::list_organization_admin_accounts::ListOrganizationAdminAccountsOutput;
    use aws_sdk_guardduty::types::{AdminAccount, AdminStatus};
    let admins = mock!(aws_sdk_guardduty::Client::list_organization_admin_accounts)
        .sequence()
        .output(|| {
            ListOrganizationAdminAccountsOutput::builder()
                .admin_accounts(
                    AdminAccount::builder()
                        .admin_account_id("333333333333")
                        .admin_status(AdminStatus::DisableInProgress)
                        .build(),
                )
                .next_token("page-2")
                .build()
        })
        .output(|| {
            ListOrganizationAdminAccountsOutput::builder()
                .admin_accounts(
                    AdminAccount::builder().admin_account_id(OTHER_ADMIN).admin_status(AdminStatus::Enabled).build(),
                )
                .build()
        })
        .repeatedly()
        .build();
    let enable = mock!(aws_sdk_guardduty::Client::enable_organization_admin_account)
        .then_output(|| EnableOrganizationAdminAccountOutput::builder().build());
    let client = mock_client!(aws_sdk_guardduty, RuleMode::MatchAny, [&admins, &enable]);
    assert_eq!(
        guardduty::read_admin(&client).await.expect("read"),
        Some(json!({ "admin_account_id": OTHER_ADMIN })),
        "a disabling administrator is not the administrator; the next page is read"
    );
    let error = guardduty::apply_admin(&client, "eu-west-1", &json!({ "admin_account_id": ADMIN }))
        .await
        .expect_err("another administrator is not replaced");
    let text = error.to_string();
    assert!(text.contains(OTHER_ADMIN) && text.contains("\nhint: "), "{text}");
    guardduty::apply_admin(&client, "eu-west-1", &json!({ "admin_account_id": OTHER_ADMIN })).await.expect("same");
    assert_eq!(enable.num_calls(), 0, "no write when refused or already so");

    let none = mock!(aws_sdk_guardduty::Client::list_organization_admin_accounts)
        .then_output(|| ListOrganizationAdminAccountsOutput::builder().build());
    let enable = mock!(aws_sdk_guardduty::Client::enable_organization_admin_account)
        .match_requests(|request| request.admin_account_id() == Some(ADMIN))
        .then_output(|| EnableOrganizationAdminAccountOutput::builder().build());
    let client = mock_client!(aws_sdk_guardduty, RuleMode::MatchAny, [&none, &enable]);
    guardduty::apply_admin(&client, "eu-west-1", &json!({ "admin_account_id": ADMIN })).await.expect("designate");
    assert_eq!(enable.num_calls(), 1);
}

// ---- Security Hub: GetEnabledStandards, BatchEnableStandards ----

#[tokio::test]
async fn security_hub_standards_read_the_spec_standards_that_are_enabled() {
    let pages = mock!(aws_sdk_securityhub::Client::get_enabled_standards)
        .sequence()
        .output(|| {
            GetEnabledStandardsOutput::builder()
                .standards_subscriptions(subscription(FSBP, StandardsStatus::Ready))
                // Enabled by someone else, not in the spec: not landing-zone's, not shown.
                .standards_subscriptions(subscription(CIS_1_2, StandardsStatus::Ready))
                .next_token("page-2")
                .build()
        })
        .output(|| {
            GetEnabledStandardsOutput::builder()
                // A failed subscription is not enabled: it reads as missing, so it is enabled again.
                .standards_subscriptions(subscription(CIS, StandardsStatus::Failed))
                .standards_subscriptions(subscription(NIST, StandardsStatus::Incomplete))
                .build()
        })
        .build();
    let client = mock_client!(aws_sdk_securityhub, [&pages]);
    let desired = json!({ "standards": [FSBP, CIS, NIST] });
    let live = security_hub::read_standards(&client, &desired).await.expect("read");
    assert_eq!(live, Some(json!({ "standards": [FSBP, NIST] })), "pages are followed to the end");
    assert_eq!(pages.num_calls(), 2);
}

#[tokio::test]
async fn security_hub_standards_read_as_absent_without_a_hub() {
    let refused = mock!(aws_sdk_securityhub::Client::get_enabled_standards).then_http_response(|| {
        aws_error(401, "InvalidAccessException", "Account 222222222222 is not subscribed to AWS Security Hub")
    });
    let client = mock_client!(aws_sdk_securityhub, [&refused]);
    assert_eq!(security_hub::read_standards(&client, &json!({ "standards": [FSBP] })).await.expect("read"), None);
}

#[tokio::test]
async fn security_hub_standards_enable_only_what_is_missing() {
    let enable = mock!(aws_sdk_securityhub::Client::batch_enable_standards)
        .match_requests(|request| {
            let arns: Vec<&str> =
                request.standards_subscription_requests().iter().filter_map(|r| r.standards_arn()).collect();
            arns == [CIS]
        })
        .then_output(|| BatchEnableStandardsOutput::builder().build());
    let client = mock_client!(aws_sdk_securityhub, [&enable]);
    let before = json!({ "standards": [FSBP] });
    security_hub::apply_standards(&client, &json!({ "standards": [CIS, FSBP] }), Some(&before)).await.expect("enable");
    assert_eq!(enable.num_calls(), 1, "only CIS was missing");

    let all = mock!(aws_sdk_securityhub::Client::batch_enable_standards)
        .match_requests(|request| request.standards_subscription_requests().len() == 2)
        .then_output(|| BatchEnableStandardsOutput::builder().build());
    let client = mock_client!(aws_sdk_securityhub, [&all]);
    security_hub::apply_standards(&client, &json!({ "standards": [CIS, FSBP] }), None).await.expect("enable");
    assert_eq!(all.num_calls(), 1, "without a hub before, every standard in one call");

    let none = mock!(aws_sdk_securityhub::Client::batch_enable_standards)
        .then_output(|| BatchEnableStandardsOutput::builder().build());
    let client = mock_client!(aws_sdk_securityhub, [&none]);
    let every = json!({ "standards": [FSBP, CIS] });
    security_hub::apply_standards(&client, &every, Some(&every)).await.expect("nothing to do");
    assert_eq!(none.num_calls(), 0, "no call when every standard is enabled");
}

// ---- Security Hub: ListOrganizationAdminAccounts, EnableOrganizationAdminAccount ----

#[tokio::test]
async fn security_hub_admin_is_read_and_never_replaced() {
    use aws_sdk_securityhub::operation::enable_organization_admin_account::EnableOrganizationAdminAccountOutput;
    use aws_sdk_securityhub::types::AdminAccount;
    let admins = mock!(aws_sdk_securityhub::Client::list_organization_admin_accounts).then_output(|| {
        ListOrganizationAdminAccountsOutput::builder()
            .admin_accounts(AdminAccount::builder().account_id(OTHER_ADMIN).status(AdminStatus::Enabled).build())
            .build()
    });
    let enable = mock!(aws_sdk_securityhub::Client::enable_organization_admin_account)
        .then_output(|| EnableOrganizationAdminAccountOutput::builder().build());
    let client = mock_client!(aws_sdk_securityhub, RuleMode::MatchAny, [&admins, &enable]);
    assert_eq!(
        security_hub::read_admin(&client).await.expect("read"),
        Some(json!({ "admin_account_id": OTHER_ADMIN }))
    );
    let error = security_hub::apply_admin(&client, "us-east-1", &json!({ "admin_account_id": ADMIN }))
        .await
        .expect_err("refused");
    assert!(error.to_string().contains("disable-organization-admin-account"), "{error}");
    assert_eq!(enable.num_calls(), 0);

    let none = mock!(aws_sdk_securityhub::Client::list_organization_admin_accounts)
        .then_output(|| ListOrganizationAdminAccountsOutput::builder().build());
    let enable = mock!(aws_sdk_securityhub::Client::enable_organization_admin_account)
        .match_requests(|request| request.admin_account_id() == Some(ADMIN))
        .then_output(|| EnableOrganizationAdminAccountOutput::builder().build());
    let client = mock_client!(aws_sdk_securityhub, RuleMode::MatchAny, [&none, &enable]);
    assert_eq!(security_hub::read_admin(&client).await.expect("read"), None);
    security_hub::apply_admin(&client, "us-east-1", &json!({ "admin_account_id": ADMIN })).await.expect("designate");
    assert_eq!(enable.num_calls(), 1);
}

// ---- Security Hub: AWS's own error codes for "not subscribed" and "not the administrator" ----

#[tokio::test]
async fn security_hub_reads_aws_refusals_as_absent() {
    let no_hub = mock!(aws_sdk_securityhub::Client::describe_hub).then_http_response(|| {
        aws_error(401, "InvalidAccessException", "Account 222222222222 is not subscribed to AWS Security Hub")
    });
    let not_admin = mock!(aws_sdk_securityhub::Client::describe_organization_configuration).then_http_response(|| {
        aws_error(401, "InvalidAccessException", "Account 222222222222 is not an administrator for this organization")
    });
    let client = mock_client!(aws_sdk_securityhub, RuleMode::MatchAny, [&no_hub, &not_admin]);
    assert_eq!(security_hub::read_hub(&client).await.expect("read"), None);
    assert_eq!(security_hub::read_organization_configuration(&client).await.expect("read"), None);

    let already = mock!(aws_sdk_securityhub::Client::enable_security_hub).then_http_response(|| {
        aws_error(409, "ResourceConflictException", "Account 222222222222 is already subscribed to Security Hub")
    });
    let client = mock_client!(aws_sdk_securityhub, [&already]);
    security_hub::apply_hub(&client).await.expect("already enabled is success");
}

// ---- IAM Access Analyzer: ListAnalyzers, CreateAnalyzer ----

fn organization_analyzer(name: &str) -> AnalyzerSummary {
    AnalyzerSummary::builder()
        .arn(format!("arn:aws:access-analyzer:us-east-1:{ADMIN}:analyzer/{name}"))
        .name(name)
        .r#type(Type::Organization)
        .created_at(aws_smithy_types::DateTime::from_secs(1_700_000_000))
        .status(AnalyzerStatus::Active)
        .build()
        .expect("summary")
}

#[tokio::test]
async fn access_analyzer_finds_the_organization_analyzer_across_pages() {
    let listed = mock!(aws_sdk_accessanalyzer::Client::list_analyzers)
        .match_requests(|request| request.r#type() == Some(&Type::Organization))
        .sequence()
        .output(|| {
            ListAnalyzersOutput::builder()
                .analyzers(organization_analyzer("legacy"))
                .next_token("page-2")
                .build()
                .expect("output")
        })
        .output(|| ListAnalyzersOutput::builder().analyzers(organization_analyzer("organization")).build().expect("o"))
        .build();
    let client = mock_client!(aws_sdk_accessanalyzer, [&listed]);
    assert_eq!(
        access_analyzer::read_analyzer(&client, "organization").await.expect("read"),
        Some(json!({ "name": "organization", "type": "ORGANIZATION" }))
    );
    assert_eq!(listed.num_calls(), 2);

    let empty = mock!(aws_sdk_accessanalyzer::Client::list_analyzers)
        .then_output(|| ListAnalyzersOutput::builder().set_analyzers(Some(Vec::new())).build().expect("output"));
    let client = mock_client!(aws_sdk_accessanalyzer, [&empty]);
    assert_eq!(access_analyzer::read_analyzer(&client, "organization").await.expect("read"), None);
}

#[tokio::test]
async fn access_analyzer_creates_the_organization_analyzer_once() {
    let created = mock!(aws_sdk_accessanalyzer::Client::create_analyzer)
        .match_requests(|request| {
            request.analyzer_name() == Some("organization") && request.r#type() == Some(&Type::Organization)
        })
        .then_output(|| {
            CreateAnalyzerOutput::builder()
                .arn(format!("arn:aws:access-analyzer:us-east-1:{ADMIN}:analyzer/organization"))
                .build()
        });
    let client = mock_client!(aws_sdk_accessanalyzer, [&created]);
    access_analyzer::create_analyzer(&client, "organization").await.expect("create");
    assert_eq!(created.num_calls(), 1);

    // The name is taken by the analyzer wanted (an earlier, interrupted run): success.
    let conflict = mock!(aws_sdk_accessanalyzer::Client::create_analyzer)
        .then_http_response(|| aws_error(409, "ConflictException", "Analyzer organization already exists"));
    let listed = mock!(aws_sdk_accessanalyzer::Client::list_analyzers).then_output(|| {
        ListAnalyzersOutput::builder().analyzers(organization_analyzer("organization")).build().expect("o")
    });
    let client = mock_client!(aws_sdk_accessanalyzer, RuleMode::MatchAny, [&conflict, &listed]);
    access_analyzer::create_analyzer(&client, "organization").await.expect("already there");

    // Taken by an analyzer of another type: refused with a hint, nothing replaced.
    let none = mock!(aws_sdk_accessanalyzer::Client::list_analyzers)
        .then_output(|| ListAnalyzersOutput::builder().set_analyzers(Some(Vec::new())).build().expect("output"));
    let client = mock_client!(aws_sdk_accessanalyzer, RuleMode::MatchAny, [&conflict, &none]);
    let error = access_analyzer::create_analyzer(&client, "organization").await.expect_err("another type");
    assert!(error.to_string().contains("\nhint: "), "{error}");
}

// Issue 11, item 7: GuardDuty `auto_enable: new` leaves the organization's existing accounts out;
// the administrator enrols them with CreateMembers (moto has neither ListMembers nor CreateMembers).

#[tokio::test]
async fn guardduty_members_are_read_to_the_last_page_and_only_the_missing_are_created() {
    use aws_sdk_guardduty::operation::create_members::CreateMembersOutput;
    use aws_sdk_guardduty::operation::list_members::ListMembersOutput;
    let member = |id: &str| aws_sdk_guardduty::types::Member::builder().account_id(id).email("x@example.com").build();
    let first = mock!(aws_sdk_guardduty::Client::list_members)
        .match_requests(|request| {
            request.detector_id() == Some(DETECTOR)
                && request.only_associated() == Some("false")
                && request.next_token().is_none()
        })
        .then_output(move || ListMembersOutput::builder().members(member("111111111111")).next_token("page-2").build());
    let second = mock!(aws_sdk_guardduty::Client::list_members)
        .match_requests(|request| request.next_token() == Some("page-2"))
        .then_output(|| ListMembersOutput::builder().build());
    let create = mock!(aws_sdk_guardduty::Client::create_members)
        .match_requests(|request| {
            let ids: Vec<Option<&str>> = request.account_details().iter().map(|detail| detail.account_id()).collect();
            request.detector_id() == Some(DETECTOR) && ids == [Some("333333333333")]
        })
        .then_output(|| CreateMembersOutput::builder().build());
    let detectors = guardduty_detectors();
    let client = mock_client!(aws_sdk_guardduty, RuleMode::MatchAny, [&detectors, &first, &second, &create]);
    let key = landing_zone::plan::control::ControlKey::new(guardduty::MEMBERS, "security", Some("us-east-1"));
    let desired = json!({ "members": {
        "management": { "account_id": "111111111111", "email": "mgmt@example.com" },
        "workload": { "account_id": "333333333333", "email": "workload@example.com" },
    } });
    let live = guardduty::read_members(&client, &key, &desired).await.expect("read");
    assert_eq!(
        live,
        Some(json!({ "members": { "management": { "account_id": "111111111111", "email": "mgmt@example.com" } } })),
        "only the spec's accounts that are members, read from both pages"
    );
    guardduty::apply_members(&client, &key, &desired).await.expect("apply");
    assert_eq!(create.num_calls(), 1, "one CreateMembers, for the missing account only");

    let refused = mock!(aws_sdk_guardduty::Client::create_members).then_output(|| {
        CreateMembersOutput::builder()
            .unprocessed_accounts(
                aws_sdk_guardduty::types::UnprocessedAccount::builder()
                    .account_id("333333333333")
                    .result("The account is already a member of another administrator")
                    .build(),
            )
            .build()
    });
    let first_again =
        mock!(aws_sdk_guardduty::Client::list_members).then_output(|| ListMembersOutput::builder().build());
    let client = mock_client!(aws_sdk_guardduty, RuleMode::MatchAny, [&detectors, &first_again, &refused]);
    let error = guardduty::apply_members(&client, &key, &desired).await.expect_err("unprocessed account");
    let text = format!("{error:#}");
    assert!(text.contains("`333333333333`: The account is already a member") && text.contains("hint:"), "{text}");
}

// Issue 11, item 6: Security Hub central configuration (moto has none of these operations).

mod security_hub_central {
    use super::{aws_error, CIS, FSBP};
    use aws_sdk_securityhub::operation::create_configuration_policy::CreateConfigurationPolicyOutput;
    use aws_sdk_securityhub::operation::describe_organization_configuration::DescribeOrganizationConfigurationOutput;
    use aws_sdk_securityhub::operation::get_configuration_policy::GetConfigurationPolicyOutput;
    use aws_sdk_securityhub::operation::list_configuration_policies::ListConfigurationPoliciesOutput;
    use aws_sdk_securityhub::operation::list_configuration_policy_associations::ListConfigurationPolicyAssociationsOutput;
    use aws_sdk_securityhub::operation::start_configuration_policy_association::StartConfigurationPolicyAssociationOutput;
    use aws_sdk_securityhub::operation::update_configuration_policy::UpdateConfigurationPolicyOutput;
    use aws_sdk_securityhub::operation::update_organization_configuration::UpdateOrganizationConfigurationOutput;
    use aws_sdk_securityhub::types::{
        AssociationType, AutoEnableStandards, ConfigurationPolicyAssociationStatus,
        ConfigurationPolicyAssociationSummary, ConfigurationPolicySummary, OrganizationConfiguration,
        OrganizationConfigurationConfigurationType as Kind, OrganizationConfigurationStatus, Policy,
        SecurityControlsConfiguration, SecurityHubPolicy, Target, TargetType,
    };
    use aws_smithy_mocks::{mock, mock_client, RuleMode};
    use landing_zone::baseline::security_hub::{self, central};
    use landing_zone::plan::control::ControlKey;
    use serde_json::json;

    const POLICY_ID: &str = "a1b2c3d4-5678-90ab-cdef-EXAMPLE11111";
    const ROOT: &str = "r-ab12";

    fn key(control: &str) -> ControlKey {
        ControlKey::new(control, "security", Some("us-east-1"))
    }

    fn summary(id: &str, name: &str) -> ConfigurationPolicySummary {
        ConfigurationPolicySummary::builder().id(id).name(name).build()
    }

    fn policies() -> aws_smithy_mocks::Rule {
        mock!(aws_sdk_securityhub::Client::list_configuration_policies)
            .sequence()
            .output(|| {
                ListConfigurationPoliciesOutput::builder()
                    .configuration_policy_summaries(summary("other-id", "someone-else"))
                    .next_token("page-2")
                    .build()
            })
            .output(|| {
                ListConfigurationPoliciesOutput::builder()
                    .configuration_policy_summaries(summary(POLICY_ID, central::POLICY_NAME))
                    .build()
            })
            .repeatedly()
            .build()
    }

    fn desired_policy() -> serde_json::Value {
        json!({ "name": "landing-zone", "service_enabled": true, "enabled_standards": [FSBP, CIS], "disabled_controls": [] })
    }

    #[tokio::test]
    async fn organization_configuration_reads_type_and_status_and_is_set_to_central() {
        let describe = |kind: Kind, status: OrganizationConfigurationStatus, auto_enable: bool| {
            mock!(aws_sdk_securityhub::Client::describe_organization_configuration).then_output(move || {
                DescribeOrganizationConfigurationOutput::builder()
                    .auto_enable(auto_enable)
                    .auto_enable_standards(AutoEnableStandards::None)
                    .organization_configuration(
                        OrganizationConfiguration::builder()
                            .configuration_type(kind.clone())
                            .status(status.clone())
                            .status_message("Home Region has no finding aggregator")
                            .build(),
                    )
                    .build()
            })
        };
        let local = describe(Kind::Local, OrganizationConfigurationStatus::Enabled, true);
        let client = mock_client!(aws_sdk_securityhub, [&local]);
        assert_eq!(
            central::read_central_organization(&client).await.expect("read"),
            Some(json!({ "configuration_type": "LOCAL", "auto_enable": true, "auto_enable_standards": "NONE" }))
        );
        let failed = describe(Kind::Central, OrganizationConfigurationStatus::Failed, false);
        let client = mock_client!(aws_sdk_securityhub, [&failed]);
        let live = central::read_central_organization(&client).await.expect("read");
        assert_eq!(
            live.as_ref().map(|live| live["configuration_type"].clone()),
            Some(json!("CENTRAL (FAILED: Home Region has no finding aggregator)")),
            "a failed switch is not central: the plan shows it still to do"
        );
        let enabled = describe(Kind::Central, OrganizationConfigurationStatus::Enabled, false);
        let client = mock_client!(aws_sdk_securityhub, [&enabled]);
        let desired = central::CentralOrganization::desired();
        assert_eq!(
            central::read_central_organization(&client).await.expect("read"),
            Some(landing_zone::baseline::attributes::encode(&desired))
        );

        let update = mock!(aws_sdk_securityhub::Client::update_organization_configuration)
            .match_requests(|request| {
                // AutoEnable false, AutoEnableStandards NONE: what AWS requires under CENTRAL.
                // https://docs.aws.amazon.com/securityhub/1.0/APIReference/API_UpdateOrganizationConfiguration.html
                request.auto_enable() == Some(false)
                    && request.auto_enable_standards() == Some(&AutoEnableStandards::None)
                    && request.organization_configuration().and_then(|c| c.configuration_type()) == Some(&Kind::Central)
            })
            .then_output(|| UpdateOrganizationConfigurationOutput::builder().build());
        let client = mock_client!(aws_sdk_securityhub, [&update]);
        let attributes = landing_zone::baseline::attributes::encode(&desired);
        central::apply_central_organization(&client, &key(security_hub::ORGANIZATION), &attributes)
            .await
            .expect("apply");
        assert_eq!(update.num_calls(), 1);

        let refused = mock!(aws_sdk_securityhub::Client::update_organization_configuration).then_http_response(|| {
            aws_error(400, "InvalidInputException", "Central configuration requires a finding aggregator")
        });
        let client = mock_client!(aws_sdk_securityhub, [&refused]);
        let error = central::apply_central_organization(&client, &key(security_hub::ORGANIZATION), &attributes)
            .await
            .expect_err("refused");
        let text = format!("{error:#}");
        assert!(
            text.contains("security_hub/finding_aggregator") && text.contains("cross-Region aggregation"),
            "{text}"
        );
    }

    #[tokio::test]
    async fn configuration_policy_is_found_by_name_across_pages_and_read() {
        let list = policies();
        let get = mock!(aws_sdk_securityhub::Client::get_configuration_policy)
            .match_requests(|request| request.identifier() == Some(POLICY_ID))
            .then_output(|| {
                GetConfigurationPolicyOutput::builder()
                    .id(POLICY_ID)
                    .name(central::POLICY_NAME)
                    .configuration_policy(Policy::SecurityHub(
                        SecurityHubPolicy::builder()
                            .service_enabled(true)
                            .enabled_standard_identifiers(FSBP)
                            .security_controls_configuration(
                                SecurityControlsConfiguration::builder()
                                    .disabled_security_control_identifiers("CloudWatch.1")
                                    .build(),
                            )
                            .build(),
                    ))
                    .build()
            });
        let client = mock_client!(aws_sdk_securityhub, RuleMode::MatchAny, [&list, &get]);
        let live = central::read_configuration_policy(&client, &key(security_hub::POLICY), &desired_policy())
            .await
            .expect("read");
        assert_eq!(
            live,
            Some(json!({
                "name": "landing-zone", "service_enabled": true,
                "enabled_standards": [FSBP], "disabled_controls": ["CloudWatch.1"],
            }))
        );
        assert_eq!(list.num_calls(), 2, "both pages of ListConfigurationPolicies");
        assert_eq!(get.num_calls(), 1);

        let none = mock!(aws_sdk_securityhub::Client::list_configuration_policies)
            .then_output(|| ListConfigurationPoliciesOutput::builder().build());
        let client = mock_client!(aws_sdk_securityhub, [&none]);
        let (policy_key, desired) = (key(security_hub::POLICY), desired_policy());
        let absent = central::read_configuration_policy(&client, &policy_key, &desired);
        assert_eq!(absent.await.expect("read"), None);

        let not_central = mock!(aws_sdk_securityhub::Client::list_configuration_policies).then_http_response(|| {
            aws_error(
                403,
                "AccessDeniedException",
                "You must be the delegated administrator using central configuration",
            )
        });
        let client = mock_client!(aws_sdk_securityhub, [&not_central]);
        let absent = central::read_configuration_policy(&client, &policy_key, &desired);
        assert_eq!(absent.await.expect("not central yet reads as absent"), None);
    }

    fn sent_policy_is_desired(policy: Option<&Policy>) -> bool {
        let Some(Policy::SecurityHub(hub)) = policy else { return false };
        hub.service_enabled() == Some(true)
            && hub.enabled_standard_identifiers() == [FSBP, CIS]
            && hub
                .security_controls_configuration()
                .is_some_and(|controls| controls.disabled_security_control_identifiers().is_empty())
    }

    #[tokio::test]
    async fn configuration_policy_is_created_once_then_updated_in_place() {
        let none = mock!(aws_sdk_securityhub::Client::list_configuration_policies)
            .then_output(|| ListConfigurationPoliciesOutput::builder().build());
        let create = mock!(aws_sdk_securityhub::Client::create_configuration_policy)
            .match_requests(|request| {
                request.name() == Some(central::POLICY_NAME) && sent_policy_is_desired(request.configuration_policy())
            })
            .then_output(|| CreateConfigurationPolicyOutput::builder().id(POLICY_ID).build());
        let update = mock!(aws_sdk_securityhub::Client::update_configuration_policy)
            .then_output(|| UpdateConfigurationPolicyOutput::builder().build());
        let client = mock_client!(aws_sdk_securityhub, RuleMode::MatchAny, [&none, &create, &update]);
        central::apply_configuration_policy(&client, &key(security_hub::POLICY), &desired_policy())
            .await
            .expect("create");
        assert_eq!((create.num_calls(), update.num_calls()), (1, 0));

        // A policy of that name exists (changed by hand, or an interrupted run): updated, never duplicated.
        let list = policies();
        let create = mock!(aws_sdk_securityhub::Client::create_configuration_policy)
            .then_output(|| CreateConfigurationPolicyOutput::builder().build());
        let update = mock!(aws_sdk_securityhub::Client::update_configuration_policy)
            .match_requests(|request| {
                request.identifier() == Some(POLICY_ID)
                    && request.name() == Some(central::POLICY_NAME)
                    && sent_policy_is_desired(request.configuration_policy())
            })
            .then_output(|| UpdateConfigurationPolicyOutput::builder().build());
        let client = mock_client!(aws_sdk_securityhub, RuleMode::MatchAny, [&list, &create, &update]);
        central::apply_configuration_policy(&client, &key(security_hub::POLICY), &desired_policy())
            .await
            .expect("update");
        assert_eq!((create.num_calls(), update.num_calls()), (0, 1));
    }

    fn root_association(status: ConfigurationPolicyAssociationStatus) -> ConfigurationPolicyAssociationSummary {
        ConfigurationPolicyAssociationSummary::builder()
            .configuration_policy_id(POLICY_ID)
            .target_id(ROOT)
            .target_type(TargetType::Root)
            .association_type(AssociationType::Applied)
            .association_status(status)
            .association_status_message("An account is suspended")
            .build()
    }

    #[tokio::test]
    async fn root_association_is_read_by_policy_name_and_started_with_the_root_id() {
        let ou = ConfigurationPolicyAssociationSummary::builder()
            .configuration_policy_id("other-id")
            .target_id("ou-ab12-34cd56ef")
            .target_type(TargetType::OrganizationalUnit)
            .association_type(AssociationType::Applied)
            .build();
        let associations = mock!(aws_sdk_securityhub::Client::list_configuration_policy_associations)
            .match_requests(|request| {
                request.filters().and_then(|filters| filters.association_type()) == Some(&AssociationType::Applied)
            })
            .sequence()
            .output(move || {
                ListConfigurationPolicyAssociationsOutput::builder()
                    .configuration_policy_association_summaries(ou.clone())
                    .next_token("page-2")
                    .build()
            })
            .output(|| {
                ListConfigurationPolicyAssociationsOutput::builder()
                    .configuration_policy_association_summaries(root_association(
                        ConfigurationPolicyAssociationStatus::Success,
                    ))
                    .build()
            })
            .build();
        let list = policies();
        let client = mock_client!(aws_sdk_securityhub, RuleMode::MatchAny, [&associations, &list]);
        assert_eq!(
            central::read_policy_association(&client).await.expect("read"),
            Some(json!({ "policy": "landing-zone", "target": "root" })),
            "the root's applied policy, found on the second page, by name"
        );

        let failed = mock!(aws_sdk_securityhub::Client::list_configuration_policy_associations).then_output(|| {
            ListConfigurationPolicyAssociationsOutput::builder()
                .configuration_policy_association_summaries(root_association(
                    ConfigurationPolicyAssociationStatus::Failed,
                ))
                .build()
        });
        let list = policies();
        let client = mock_client!(aws_sdk_securityhub, RuleMode::MatchAny, [&failed, &list]);
        assert_eq!(
            central::read_policy_association(&client).await.expect("read"),
            Some(json!({ "policy": "landing-zone (FAILED: An account is suspended)", "target": "root" }))
        );

        let none = mock!(aws_sdk_securityhub::Client::list_configuration_policy_associations)
            .then_output(|| ListConfigurationPolicyAssociationsOutput::builder().build());
        let client = mock_client!(aws_sdk_securityhub, [&none]);
        assert_eq!(central::read_policy_association(&client).await.expect("read"), None);

        let list = policies();
        let start = mock!(aws_sdk_securityhub::Client::start_configuration_policy_association)
            .match_requests(|request| {
                request.configuration_policy_identifier() == Some(POLICY_ID)
                    && request.target() == Some(&Target::RootId(ROOT.to_string()))
            })
            .then_output(|| StartConfigurationPolicyAssociationOutput::builder().build());
        let client = mock_client!(aws_sdk_securityhub, RuleMode::MatchAny, [&list, &start]);
        let attributes = json!({ "policy": "landing-zone", "target": "root" });
        central::apply_policy_association(&client, &key(security_hub::ASSOCIATION), ROOT, &attributes)
            .await
            .expect("associate");
        assert_eq!(start.num_calls(), 1);

        let empty = mock!(aws_sdk_securityhub::Client::list_configuration_policies)
            .then_output(|| ListConfigurationPoliciesOutput::builder().build());
        let client = mock_client!(aws_sdk_securityhub, RuleMode::MatchAny, [&empty, &start]);
        let error = central::apply_policy_association(&client, &key(security_hub::ASSOCIATION), ROOT, &attributes)
            .await
            .expect_err("no policy yet");
        assert!(error.to_string().contains("\nhint: "), "{error}");
        assert_eq!(start.num_calls(), 1, "no association without the policy");
    }
}
