//! Retrying AWS calls: a pure decision `(error facts, attempt) -> retry after d | give up`, and the
//! loop that applies it with exponential backoff and full jitter.
//!
//! Throttles (TooManyRequestsException), ConcurrentModificationException under parallel writes,
//! 5xx and dropped connections are retried; everything else is the caller's to judge. Every
//! attempt first waits for the operation's published rate (`rate_limit`), so throttles stay rare.

use std::future::Future;
use std::time::Duration;

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// What is known about a failed call, independent of the SDK's types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorFacts<'a> {
    pub code: Option<&'a str>,
    pub http_status: Option<u16>,
    /// The request never got a response (connection refused/reset, timeout).
    pub transport: bool,
}

/// Whether and why to retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryClass {
    Throttled,
    ConcurrentModification,
    Transient,
    Fatal,
}

const THROTTLE_CODES: &[&str] = &[
    "TooManyRequestsException",
    "ThrottlingException",
    "Throttling",
    "RequestLimitExceeded",
    "SlowDown",
    "RequestThrottled",
];
const TRANSIENT_CODES: &[&str] =
    &["ServiceException", "InternalFailure", "ServiceUnavailable", "InternalError", "RequestTimeout"];

/// Classifies a failure. Pure: tested as a table.
pub fn classify(facts: ErrorFacts<'_>) -> RetryClass {
    match facts.code {
        Some(code) if THROTTLE_CODES.contains(&code) => RetryClass::Throttled,
        Some("ConcurrentModificationException") => RetryClass::ConcurrentModification,
        Some(code) if TRANSIENT_CODES.contains(&code) => RetryClass::Transient,
        _ if facts.transport => RetryClass::Transient,
        _ if facts.http_status == Some(429) => RetryClass::Throttled,
        _ if facts.http_status.is_some_and(|status| status >= 500) => RetryClass::Transient,
        _ => RetryClass::Fatal,
    }
}

/// Backoff settings.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub base: Duration,
    pub cap: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy { max_attempts: 10, base: Duration::from_millis(100), cap: Duration::from_secs(20) }
    }
}

impl RetryPolicy {
    /// Full jitter: a uniform delay in [0, min(cap, base * 2^attempt)].
    pub fn delay(&self, attempt: u32, unit_random: f64) -> Duration {
        let exponential = self.base.saturating_mul(2u32.saturating_pow(attempt.min(16)));
        exponential.min(self.cap).mul_f64(unit_random.clamp(0.0, 1.0))
    }
}

/// Facts of an SDK error.
pub fn facts_of<E: ProvideErrorMetadata>(error: &SdkError<E, HttpResponse>) -> ErrorFacts<'_> {
    let transport =
        matches!(error, SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) | SdkError::ResponseError(_));
    let http_status = match error {
        SdkError::ServiceError(_) => error.raw_response().map(|response| response.status().as_u16()),
        _ => None,
    };
    ErrorFacts { code: error.code(), http_status, transport }
}

/// Attempts at a call whose connection is refused: nothing listens at the endpoint (a mistyped
/// `--endpoint-url`, an emulator not started). AWS's endpoints do not refuse connections, so a
/// short bounded retry covers a restart and the user hears of the mistake in about a second
/// instead of after the full backoff.
pub const REFUSED_ATTEMPTS: u32 = 3;

/// Whether an error, or any error it was caused by, is a refused TCP connection.
pub fn is_connection_refused(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(error);
    while let Some(cause) = current {
        if cause.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::ConnectionRefused)
            || cause.to_string().contains("Connection refused")
        {
            return true;
        }
        current = cause.source();
    }
    false
}

fn refused<E>(error: &SdkError<E, HttpResponse>) -> bool {
    match error {
        SdkError::DispatchFailure(failure) => failure.as_connector_error().is_some_and(|e| is_connection_refused(e)),
        _ => false,
    }
}

/// Whether a call failed because the caller's credentials could not be loaded (no credentials,
/// an unknown profile, an expired SSO session): retrying cannot help (`credentials`).
fn credentials_failed<E>(error: &SdkError<E, HttpResponse>) -> bool {
    match error {
        SdkError::DispatchFailure(failure) => {
            failure.as_connector_error().is_some_and(|e| super::credentials::is_credentials_failure(e))
        }
        _ => false,
    }
}

/// Calls made per operation (attempts included), for `LANDING_ZONE_CALL_STATS` and benchmarks.
static CALLS: std::sync::Mutex<std::collections::BTreeMap<String, u64>> =
    std::sync::Mutex::new(std::collections::BTreeMap::new());

fn count_call(operation: &str) {
    if let Ok(mut calls) = CALLS.lock() {
        *calls.entry(operation.to_string()).or_default() += 1;
    }
}

/// Throttling answers met so far (each retried), for progress reports.
static THROTTLES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// How many throttling answers `with_retry` has met in this process.
pub fn throttles_met() -> u64 {
    THROTTLES.load(std::sync::atomic::Ordering::Relaxed)
}

/// A snapshot of the calls made so far, by operation.
pub fn call_counts() -> std::collections::BTreeMap<String, u64> {
    CALLS.lock().map(|calls| calls.clone()).unwrap_or_default()
}

/// One call, not retried: waits for the operation's published rate and counts the call. For
/// callers with their own retry loop (a write that must not be repeated blindly).
pub async fn call_once<T, E, Fut>(what: &str, call: Fut) -> Result<T, SdkError<E, HttpResponse>>
where
    Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
{
    super::rate_limit::acquire(what).await;
    count_call(what);
    call.await
}

/// Runs `operation` until it succeeds, fails fatally, or runs out of attempts.
pub async fn with_retry<T, E, F, Fut>(
    policy: &RetryPolicy,
    what: &str,
    mut operation: F,
) -> Result<T, SdkError<E, HttpResponse>>
where
    E: ProvideErrorMetadata,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
{
    let mut attempt = 0;
    loop {
        match call_once(what, operation()).await {
            Ok(value) => return Ok(value),
            Err(error) => {
                if credentials_failed(&error) {
                    return Err(error);
                }
                let facts = facts_of(&error);
                let class = classify(facts);
                if class == RetryClass::Throttled {
                    THROTTLES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
                let refused = refused(&error);
                attempt += 1;
                let limit = if refused { REFUSED_ATTEMPTS.min(policy.max_attempts) } else { policy.max_attempts };
                if class == RetryClass::Fatal || attempt >= limit {
                    return Err(error);
                }
                let delay = policy.delay(attempt, fastrand::f64());
                if facts.transport {
                    // A network failure is news to the user (throttles are expected and paced):
                    // one line per retry at the default verbosity, instead of a silent wait.
                    let reason = if refused { "connection refused" } else { "no response" };
                    tracing::warn!(
                        "{what}: {reason}; retrying in {:.1} s (attempt {} of {limit})",
                        delay.as_secs_f64(),
                        attempt + 1
                    );
                } else {
                    tracing::debug!(operation = what, ?class, attempt, delay_ms = delay.as_millis() as u64, "retrying");
                }
                tokio::time::sleep(delay).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(code: Option<&str>, http_status: Option<u16>, transport: bool) -> ErrorFacts<'_> {
        ErrorFacts { code, http_status, transport }
    }

    #[test]
    fn classification_table() {
        let table = [
            (facts(Some("TooManyRequestsException"), Some(400), false), RetryClass::Throttled),
            (facts(Some("ThrottlingException"), Some(400), false), RetryClass::Throttled),
            (facts(Some("ConcurrentModificationException"), Some(400), false), RetryClass::ConcurrentModification),
            (facts(Some("ServiceException"), Some(500), false), RetryClass::Transient),
            (facts(None, None, true), RetryClass::Transient),
            (facts(None, Some(503), false), RetryClass::Transient),
            (facts(None, Some(429), false), RetryClass::Throttled),
            (facts(Some("AccessDeniedException"), Some(403), false), RetryClass::Fatal),
            (facts(Some("DuplicatePolicyException"), Some(400), false), RetryClass::Fatal),
            (facts(Some("ConstraintViolationException"), Some(400), false), RetryClass::Fatal),
        ];
        for (input, expected) in table {
            assert_eq!(classify(input), expected, "{input:?}");
        }
    }

    #[test]
    fn full_jitter_is_bounded_by_the_cap() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.delay(3, 0.0), Duration::ZERO);
        assert_eq!(policy.delay(3, 1.0), Duration::from_millis(800));
        assert_eq!(policy.delay(30, 1.0), policy.cap);
    }
}
