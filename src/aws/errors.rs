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
