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

/// A service that names a missing resource `ResourceNotFoundException` (sso-admin, identitystore).
pub fn is_resource_not_found<E: ProvideErrorMetadata>(error: &E) -> bool {
    code_is(error, &["ResourceNotFoundException"])
}

/// AWS Budgets: the budget, notification or subscriber is not there; also what DescribeBudgets
/// answers for an account without budgets
/// (https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_budgets_DescribeBudgets.html).
pub fn is_budgets_not_found<E: ProvideErrorMetadata>(error: &E) -> bool {
    code_is(error, &["NotFoundException"])
}

/// The caller is not in an organization (so there is nothing to read yet).
pub fn is_no_organization<E: ProvideErrorMetadata>(error: &E) -> bool {
    code_is(error, &["AWSOrganizationsNotInUseException"])
}

/// Permission refused (on a just-created account this can be temporary).
pub fn is_access_denied<E: ProvideErrorMetadata>(error: &E) -> bool {
    code_is(error, &["AccessDenied", "AccessDeniedException", "AccessDeniedForDependencyException"])
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
