//! Named predicates over AWS errors, so each write step states its idempotency explicitly
//! (`is_already_exists(&err)`) instead of matching strings inline.

use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// The AWS error code of a failure, if the service sent one.
pub fn error_code<E: ProvideErrorMetadata>(error: &E) -> Option<&str> {
    error.code()
}

fn code_is<E: ProvideErrorMetadata>(error: &E, codes: &[&str]) -> bool {
    error.code().is_some_and(|code| codes.contains(&code))
}

/// The thing being created is already there.
pub fn is_already_exists<E: ProvideErrorMetadata>(error: &E) -> bool {
    code_is(
        error,
        &[
            "DuplicateOrganizationalUnitException",
            "DuplicatePolicyException",
            "DuplicatePolicyAttachmentException",
            "DuplicateAccountException",
            "AlreadyInOrganizationException",
            "PolicyTypeAlreadyEnabledException",
            "AccountAlreadyRegisteredException",
            "EntityAlreadyExists",
        ],
    )
}

/// The thing being changed or removed is not there.
pub fn is_not_found<E: ProvideErrorMetadata>(error: &E) -> bool {
    code_is(
        error,
        &[
            "PolicyNotAttachedException",
            "PolicyNotFoundException",
            "OrganizationalUnitNotFoundException",
            "AccountNotFoundException",
            "TargetNotFoundException",
            "AccountNotRegisteredException",
            "NoSuchEntity",
        ],
    )
}

/// A service that names a missing resource `ResourceNotFoundException` (sso-admin, identitystore;
/// AWS Backup's "no such vault" and "no access policy":
/// https://docs.aws.amazon.com/aws-backup/latest/devguide/API_DescribeBackupVault.html).
pub fn is_resource_not_found<E: ProvideErrorMetadata>(error: &E) -> bool {
    code_is(error, &["ResourceNotFoundException"])
}

/// AWS Budgets: the budget, notification or subscriber is not there; also what DescribeBudgets
/// answers for an account without budgets
/// (https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_budgets_DescribeBudgets.html).
pub fn is_budgets_not_found<E: ProvideErrorMetadata>(error: &E) -> bool {
    code_is(error, &["NotFoundException"])
}

/// AWS Budgets: the budget, notification or subscriber being created is already there
/// (DuplicateRecordException, from CreateBudget, CreateNotification and CreateSubscriber).
/// https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_budgets_CreateBudget.html
/// https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_budgets_CreateSubscriber.html
pub fn is_budgets_duplicate<E: ProvideErrorMetadata>(error: &E) -> bool {
    code_is(error, &["DuplicateRecordException"])
}

/// AWS Config: StartConfigurationRecorder with no delivery channel yet
/// (NoAvailableDeliveryChannelException).
/// https://docs.aws.amazon.com/config/latest/APIReference/API_StartConfigurationRecorder.html
pub fn is_no_available_delivery_channel<E: ProvideErrorMetadata>(error: &E) -> bool {
    code_is(error, &["NoAvailableDeliveryChannelException"])
}

/// IAM's CreateServiceLinkedRole when the role exists: InvalidInput "Service role name ... has
/// been taken in this account" (EntityAlreadyExists in some emulators).
/// https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateServiceLinkedRole.html
pub fn is_service_linked_role_taken<E: ProvideErrorMetadata>(error: &E) -> bool {
    service_linked_role_taken(error.code(), error.message())
}

/// [`is_service_linked_role_taken`] on the code and message.
fn service_linked_role_taken(code: Option<&str>, message: Option<&str>) -> bool {
    match code {
        Some("EntityAlreadyExists") => true,
        Some("InvalidInput") => message.is_some_and(|message| message.contains("has been taken")),
        _ => false,
    }
}

/// The caller is not in an organization (so there is nothing to read yet).
pub fn is_no_organization<E: ProvideErrorMetadata>(error: &E) -> bool {
    code_is(error, &["AWSOrganizationsNotInUseException"])
}

/// Permission refused (on a just-created account this can be temporary).
pub fn is_access_denied<E: ProvideErrorMetadata>(error: &E) -> bool {
    code_is(error, &["AccessDenied", "AccessDeniedException", "AccessDeniedForDependencyException"])
}

/// ConflictException: the request conflicts with the resource as it is. Inspector's
/// EnableDelegatedAdminAccount (already the administrator), Macie's EnableMacie (already enabled),
/// Access Analyzer's CreateAnalyzer (the name is taken), the Account API's EnableRegion (the Region
/// is still disabling) and identitystore's CreateGroup (the group exists) answer it.
/// https://docs.aws.amazon.com/inspector/v2/APIReference/API_EnableDelegatedAdminAccount.html
/// https://docs.aws.amazon.com/macie/latest/APIReference/macie.html
/// https://docs.aws.amazon.com/access-analyzer/latest/APIReference/API_CreateAnalyzer.html
/// https://docs.aws.amazon.com/accounts/latest/reference/API_EnableRegion.html
/// https://docs.aws.amazon.com/singlesignon/latest/IdentityStoreAPIReference/API_CreateGroup.html
pub fn is_conflict<E: ProvideErrorMetadata>(error: &E) -> bool {
    code_is(error, &["ConflictException"])
}

/// ResourceConflictException: Security Hub's EnableSecurityHub in an account already subscribed.
/// https://docs.aws.amazon.com/securityhub/1.0/APIReference/API_EnableSecurityHub.html
pub fn is_resource_conflict<E: ProvideErrorMetadata>(error: &E) -> bool {
    code_is(error, &["ResourceConflictException"])
}

/// InvalidAccessException: Security Hub is not enabled in the account (or the account may not
/// make the call). https://docs.aws.amazon.com/securityhub/1.0/APIReference/API_DescribeHub.html
pub fn is_invalid_access<E: ProvideErrorMetadata>(error: &E) -> bool {
    code_is(error, &["InvalidAccessException"])
}

/// Security Hub is not enabled in the account: InvalidAccessException ("not subscribed to AWS
/// Security Hub"), or ResourceNotFoundException.
/// https://docs.aws.amazon.com/securityhub/1.0/APIReference/API_DescribeHub.html
pub fn is_security_hub_not_enabled<E: ProvideErrorMetadata>(error: &E) -> bool {
    code_is(error, &["InvalidAccessException", "ResourceNotFoundException"])
}

/// Security Hub's organization calls from an account that is not (yet) the administrator, or
/// whose hub is not central yet: InvalidAccessException, AccessDeniedException or
/// ResourceNotFoundException, by the code of the failure.
/// https://docs.aws.amazon.com/securityhub/1.0/APIReference/API_DescribeOrganizationConfiguration.html
pub fn is_not_security_hub_administrator_code(code: Option<&str>) -> bool {
    code.is_some_and(|code| {
        matches!(code, "InvalidAccessException" | "AccessDeniedException" | "ResourceNotFoundException")
    })
}

/// [`is_not_security_hub_administrator_code`] of an SDK error.
pub fn is_not_security_hub_administrator<E: ProvideErrorMetadata>(error: &E) -> bool {
    is_not_security_hub_administrator_code(error.code())
}

/// Macie is not enabled in the account and region: AccessDeniedException "Macie is not enabled"
/// (ResourceNotFoundException after DisableMacie).
/// https://docs.aws.amazon.com/macie/latest/APIReference/macie.html
/// https://docs.aws.amazon.com/macie/latest/APIReference/errors.html
pub fn is_macie_not_enabled<E: ProvideErrorMetadata>(error: &E) -> bool {
    match error.code() {
        Some("ResourceNotFoundException") => true,
        Some("AccessDeniedException") => error.message().is_some_and(|message| message.contains("not enabled")),
        _ => false,
    }
}

/// ValidationException: Inspector's DescribeOrganizationConfiguration from an account that is not
/// the delegated administrator.
/// https://docs.aws.amazon.com/inspector/v2/APIReference/API_DescribeOrganizationConfiguration.html
pub fn is_validation<E: ProvideErrorMetadata>(error: &E) -> bool {
    code_is(error, &["ValidationException"])
}

/// BadRequestException: GuardDuty's DescribeOrganizationConfiguration with a detector that is not
/// the administrator's ("you do not have required AWS Organization master permission").
/// https://docs.aws.amazon.com/guardduty/latest/APIReference/API_DescribeOrganizationConfiguration.html
pub fn is_bad_request<E: ProvideErrorMetadata>(error: &E) -> bool {
    code_is(error, &["BadRequestException"])
}

/// TrailNotFoundException: CloudTrail has no trail of that name.
/// https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_GetTrailStatus.html
pub fn is_trail_not_found<E: ProvideErrorMetadata>(error: &E) -> bool {
    code_is(error, &["TrailNotFoundException"])
}

/// TrailAlreadyExistsException: CreateTrail with a name already taken.
/// https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_CreateTrail.html
pub fn is_trail_already_exists<E: ProvideErrorMetadata>(error: &E) -> bool {
    code_is(error, &["TrailAlreadyExistsException"])
}

/// AWS Config has no rule by that name (DescribeConfigRules naming a missing rule, DeleteConfigRule).
/// https://docs.aws.amazon.com/config/latest/APIReference/API_DeleteConfigRule.html
pub fn is_no_such_config_rule<E: ProvideErrorMetadata>(error: &E) -> bool {
    code_is(error, &["NoSuchConfigRuleException"])
}

/// AWS Config has no organization conformance pack by that name
/// (DescribeOrganizationConformancePacks naming a missing pack).
/// https://docs.aws.amazon.com/config/latest/APIReference/API_DescribeOrganizationConformancePacks.html
pub fn is_no_such_organization_conformance_pack<E: ProvideErrorMetadata>(error: &E) -> bool {
    code_is(error, &["NoSuchOrganizationConformancePackException"])
}

/// AWS Config's ResourceInUseException: for DeleteConfigRule, the rule is being deleted (or its
/// evaluation results are), or a remediation action is still associated with it.
/// https://docs.aws.amazon.com/config/latest/APIReference/API_DeleteConfigRule.html
pub fn is_resource_in_use<E: ProvideErrorMetadata>(error: &E) -> bool {
    code_is(error, &["ResourceInUseException"])
}

/// Amazon SNS has no such topic (or subscription): `NotFound`.
/// https://docs.aws.amazon.com/sns/latest/api/API_GetTopicAttributes.html
pub fn is_sns_not_found<E: ProvideErrorMetadata>(error: &E) -> bool {
    code_is(error, &["NotFound", "NotFoundException"])
}

/// NotFoundException: KMS (DescribeKey: no such key or alias), AWS Backup and AWS Budgets name a
/// missing resource so. https://docs.aws.amazon.com/kms/latest/APIReference/API_DescribeKey.html
pub fn is_not_found_exception<E: ProvideErrorMetadata>(error: &E) -> bool {
    code_is(error, &["NotFoundException"])
}

/// AlreadyExistsException: KMS's CreateAlias with an alias name already taken (AWS Backup's
/// CreateBackupVault answers it too).
/// https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateAlias.html
pub fn is_already_exists_exception<E: ProvideErrorMetadata>(error: &E) -> bool {
    code_is(error, &["AlreadyExistsException"])
}

/// S3 (account level, S3 Control's GetPublicAccessBlock; bucket level, S3's) has no Block Public
/// Access configuration. https://docs.aws.amazon.com/AmazonS3/latest/API/API_control_GetPublicAccessBlock.html
/// https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html
pub fn is_no_public_access_block<E: ProvideErrorMetadata>(error: &E) -> bool {
    code_is(error, &["NoSuchPublicAccessBlockConfiguration"])
}

/// The bucket does not exist: NoSuchBucket, or NotFound (HeadBucket answers a bare 404).
/// https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadBucket.html
pub fn is_no_such_bucket<E: ProvideErrorMetadata>(error: &E) -> bool {
    code_is(error, &["NoSuchBucket", "NotFound"])
}

/// The object (or its bucket) does not exist. https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html
pub fn is_no_such_object<E: ProvideErrorMetadata>(error: &E) -> bool {
    code_is(error, &["NoSuchKey", "NoSuchBucket"])
}

/// CreateBucket of a bucket the caller already owns (outside us-east-1).
/// https://docs.aws.amazon.com/AmazonS3/latest/API/API_CreateBucket.html
pub fn is_bucket_already_owned<E: ProvideErrorMetadata>(error: &E) -> bool {
    code_is(error, &["BucketAlreadyOwnedByYou"])
}

/// A conditional write (`If-None-Match: *`) lost: the object exists (412 PreconditionFailed) or
/// another conditional write to it is in flight (409 ConditionalRequestConflict).
/// https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html
pub fn is_precondition_failed<E: ProvideErrorMetadata>(error: &E) -> bool {
    code_is(error, &["PreconditionFailed", "ConditionalRequestConflict"])
}

/// The bucket has no default encryption configuration.
/// https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketEncryption.html
pub fn is_no_bucket_encryption<E: ProvideErrorMetadata>(error: &E) -> bool {
    code_is(error, &["ServerSideEncryptionConfigurationNotFoundError"])
}

/// The bucket has no policy. https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketPolicy.html
pub fn is_no_bucket_policy<E: ProvideErrorMetadata>(error: &E) -> bool {
    code_is(error, &["NoSuchBucketPolicy"])
}

/// The bucket has no lifecycle configuration.
/// https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketLifecycleConfiguration.html
pub fn is_no_lifecycle_configuration<E: ProvideErrorMetadata>(error: &E) -> bool {
    code_is(error, &["NoSuchLifecycleConfiguration"])
}

/// The bucket has no Object Lock configuration.
/// https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObjectLockConfiguration.html
pub fn is_no_object_lock_configuration<E: ProvideErrorMetadata>(error: &E) -> bool {
    code_is(error, &["ObjectLockConfigurationNotFoundError"])
}

/// IAM's ListOrganizationsFeatures without IAM's trusted access (ServiceAccessNotEnabled) or
/// without an organization (OrganizationNotFound): no root access feature can be enabled.
/// https://docs.aws.amazon.com/IAM/latest/APIReference/API_ListOrganizationsFeatures.html
pub fn is_organization_features_unavailable<E: ProvideErrorMetadata>(error: &E) -> bool {
    code_is(error, &["ServiceAccessNotEnabledException", "OrganizationNotFoundException"])
}

/// EC2: the VPC, subnet, internet gateway (or its attachment), security group, rule or flow log
/// named is not there (already removed: success for a removal).
/// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html
pub fn is_ec2_not_found<E: ProvideErrorMetadata>(error: &E) -> bool {
    code_is(
        error,
        &[
            "InvalidVpcID.NotFound",
            "InvalidSubnetID.NotFound",
            "InvalidInternetGatewayID.NotFound",
            "Gateway.NotAttached",
            "InvalidGroup.NotFound",
            "InvalidPermission.NotFound",
            "InvalidFlowLogId.NotFound",
        ],
    )
}

/// EC2: a route to that destination is already in the route table (CreateRoute): replace it.
/// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html
pub fn is_ec2_route_already_exists<E: ProvideErrorMetadata>(error: &E) -> bool {
    code_is(error, &["RouteAlreadyExists"])
}

/// EC2: no route to that destination in the route table (ReplaceRoute, DeleteRoute), or the
/// route table or association is gone.
/// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html
pub fn is_ec2_route_not_found<E: ProvideErrorMetadata>(error: &E) -> bool {
    code_is(error, &["InvalidRoute.NotFound", "InvalidRouteTableID.NotFound", "InvalidAssociationID.NotFound"])
}

/// EC2: the object cannot be deleted because something still depends on it (a VPC with
/// instances, endpoints or security groups of its own).
/// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html
pub fn is_ec2_dependency_violation<E: ProvideErrorMetadata>(error: &E) -> bool {
    code_is(error, &["DependencyViolation"])
}

/// Renders an SDK error with its code and message, never its raw request or response (which
/// could hold secrets: an STS answer that failed to parse carries the session credentials).
pub fn describe<E: ProvideErrorMetadata + std::error::Error>(error: &E) -> String {
    match (error.code(), error.message()) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (Some(code), None) => code.to_string(),
        // Transport and credential failures: the chain of causes says what went wrong. Only their
        // Display, not `DisplayErrorContext`, whose Debug suffix dumps the raw HTTP response.
        _ => {
            let mut text = error.to_string();
            let mut source = error.source();
            while let Some(cause) = source {
                text.push_str(": ");
                text.push_str(&cause.to_string());
                source = cause.source();
            }
            text
        }
    }
}

/// The endpoint answered an operation with an HTML error page instead of an AWS error: it does
/// not implement the operation. AWS never does this; emulators (moto) do for operations they lack.
/// Readers and steps report it so the plan can say the control is not managed there.
#[derive(Debug, thiserror::Error)]
#[error("the endpoint does not implement {operation} (AWS does; this happens against emulators)")]
pub struct Unimplemented {
    pub operation: String,
}

/// `Err(e)` -> a readable message with the AWS code, or `Unimplemented`.
pub fn aws_error<E>(
    what: &str,
    error: aws_smithy_runtime_api::client::result::SdkError<
        E,
        aws_smithy_runtime_api::client::orchestrator::HttpResponse,
    >,
) -> anyhow::Error
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let html_status = error
        .raw_response()
        .filter(|response| matches!(response.status().as_u16(), 404 | 500 | 501))
        .filter(|response| {
            response
                .body()
                .bytes()
                .is_some_and(|body| body.starts_with(b"<!doctype html>") || body.starts_with(b"<!DOCTYPE html>"))
        })
        .map(|response| response.status().as_u16());
    match html_status {
        Some(status) => html_error(what, status, endpoint_overridden()),
        // Typed, so retry decisions read AWS's code (`failure_code`), not the text.
        None => anyhow::Error::new(AwsFailure::new(what, &error)),
    }
}

/// An HTML error page instead of an AWS error. Only an emulator (an endpoint override) answers an
/// operation it lacks that way, so only there is it `Unimplemented` (the control is noted, not
/// managed); AWS itself never does, so without an override it is an error that fails the run.
pub fn html_error(what: &str, status: u16, endpoint_overridden: bool) -> anyhow::Error {
    if endpoint_overridden {
        anyhow::Error::new(Unimplemented { operation: what.to_string() })
    } else {
        anyhow::anyhow!(
            "{what} failed: HTTP {status} with an HTML page instead of an AWS error\nhint: check the network path to AWS (a proxy or captive portal answering in its place)"
        )
    }
}

/// Whether an error (anywhere in its chain) is `Unimplemented`.
pub fn unimplemented(error: &anyhow::Error) -> Option<&Unimplemented> {
    error.chain().find_map(|cause| cause.downcast_ref::<Unimplemented>())
}

/// Whether the clients of this process talk to an endpoint override (an emulator), not AWS.
static ENDPOINT_OVERRIDE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Records whether an endpoint override is set (`Clients::new` does, from its SDK config).
pub fn note_endpoint_override(overridden: bool) {
    ENDPOINT_OVERRIDE.store(overridden, std::sync::atomic::Ordering::Relaxed);
}

/// Whether an endpoint override is set: only then may an HTML error page mean "not implemented".
pub fn endpoint_overridden() -> bool {
    ENDPOINT_OVERRIDE.load(std::sync::atomic::Ordering::Relaxed)
}

/// An AWS failure carried through `anyhow` with its error code kept typed, so retry decisions
/// read the code (`failure_code`) instead of searching the rendered text.
#[derive(Debug, thiserror::Error)]
#[error("{operation} failed: {description}")]
pub struct AwsFailure {
    pub operation: String,
    /// AWS's error code; for a call whose credentials could not be obtained (the assumed role
    /// refused), the code of the AssumeRole failure behind it.
    pub code: Option<String>,
    pub message: Option<String>,
    /// `describe` of the SDK error (code and message, or the chain of causes).
    pub description: String,
}

impl AwsFailure {
    pub fn new<E: ProvideErrorMetadata + std::error::Error + 'static>(operation: &str, error: &E) -> AwsFailure {
        let (code, message) = match error.code() {
            Some(code) => (Some(code.to_string()), error.message().map(str::to_string)),
            None => assume_role_failure(error)
                .map(|inner| (inner.code().map(str::to_string), inner.message().map(str::to_string)))
                .unwrap_or_default(),
        };
        AwsFailure { operation: operation.to_string(), code, message, description: describe(error) }
    }
}

/// The AssumeRole failure behind a call that could not get credentials for a member account
/// (the SDK reports it as a dispatch failure without a code of its own).
fn assume_role_failure<'a>(
    error: &'a (dyn std::error::Error + 'static),
) -> Option<&'a aws_sdk_sts::operation::assume_role::AssumeRoleError> {
    let mut cause = error.source();
    while let Some(inner) = cause {
        if let Some(found) = inner.downcast_ref::<aws_sdk_sts::operation::assume_role::AssumeRoleError>() {
            return Some(found);
        }
        cause = inner.source();
    }
    None
}

/// The `AwsFailure` anywhere in an error's chain.
pub fn failure_of(error: &anyhow::Error) -> Option<&AwsFailure> {
    error.chain().find_map(|cause| cause.downcast_ref::<AwsFailure>())
}

/// The AWS error code anywhere in an error's chain.
pub fn failure_code(error: &anyhow::Error) -> Option<&str> {
    failure_of(error).and_then(|failure| failure.code.as_deref())
}

/// An `AccessDeniedException` anywhere in an error's chain (a reader's failure carried through
/// `anyhow`). https://docs.aws.amazon.com/macie/latest/APIReference/errors.html
pub fn is_access_denied_failure(error: &anyhow::Error) -> bool {
    failure_code(error) == Some("AccessDeniedException")
}

/// `SubscriptionRequiredException` / `OptInRequired` say nothing but "this account's services are
/// not activated yet": true of any account created minutes ago, also by an earlier apply that was
/// interrupted (https://docs.aws.amazon.com/accounts/latest/reference/manage-acct-creating.html:
/// a new account can take a while before every service is available).
pub fn is_account_still_activating(error: &anyhow::Error) -> bool {
    failure_code(error).is_some_and(|code| matches!(code, "SubscriptionRequiredException" | "OptInRequired"))
}

/// A just-created account that is not ready yet: its services answer
/// SubscriptionRequiredException (EC2: OptInRequired) until activation finishes, and its access
/// role may be refused (AccessDenied) for a while after CreateAccount SUCCEEDED.
/// https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_accounts_create.html
pub fn is_new_account_not_ready(error: &anyhow::Error) -> bool {
    failure_code(error).is_some_and(|code| {
        matches!(code, "SubscriptionRequiredException" | "OptInRequired" | "AccessDenied" | "AccessDeniedException")
    })
}

/// IAM refusing a principal it does not know yet: a role created seconds earlier, named in a
/// trust policy, is "Invalid principal in policy" (MalformedPolicyDocument) until it replicates.
/// https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_general.html#troubleshoot_general_eventual-consistency
pub fn is_invalid_new_principal(error: &anyhow::Error) -> bool {
    failure_of(error).is_some_and(|failure| {
        failure.code.as_deref() == Some("MalformedPolicyDocument")
            && failure.message.as_deref().is_some_and(|message| message.contains("Invalid principal"))
    })
}

#[cfg(test)]
mod activation_tests {
    use super::*;

    #[test]
    fn html_pages_are_unimplemented_only_with_an_endpoint_override() {
        // Issue 11, fix 13: against AWS (no override) an HTML page fails the run.
        assert!(unimplemented(&html_error("ListAnalyzers", 404, false)).is_none());
        assert!(format!("{:#}", html_error("ListAnalyzers", 404, false)).contains("ListAnalyzers failed: HTTP 404"));
        let emulated = html_error("ListAnalyzers", 404, true);
        assert_eq!(unimplemented(&emulated).map(|missing| missing.operation.as_str()), Some("ListAnalyzers"));
    }

    fn failure(code: &str) -> anyhow::Error {
        anyhow::Error::new(AwsFailure {
            operation: "PutPublicAccessBlock".to_string(),
            code: Some(code.to_string()),
            message: None,
            description: code.to_string(),
        })
    }

    #[test]
    fn activation_errors_are_waited_on_for_any_account_access_denied_only_for_new_ones() {
        assert!(is_account_still_activating(&failure("SubscriptionRequiredException")));
        assert!(is_account_still_activating(&failure("OptInRequired")));
        assert!(!is_account_still_activating(&failure("AccessDenied")));
        assert!(is_new_account_not_ready(&failure("AccessDenied")));
    }
}

#[cfg(test)]
mod service_linked_role_tests {
    use super::service_linked_role_taken;

    #[test]
    fn an_existing_service_linked_role_is_success() {
        let taken =
            "Service role name AWSServiceRoleForConfig has been taken in this account, please try a different suffix.";
        assert!(service_linked_role_taken(Some("InvalidInput"), Some(taken)));
        assert!(service_linked_role_taken(Some("EntityAlreadyExists"), None));
        assert!(!service_linked_role_taken(Some("InvalidInput"), Some("Invalid service name")));
        assert!(!service_linked_role_taken(Some("AccessDenied"), None));
    }
}
