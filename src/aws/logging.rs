//! One log line per AWS call (`-vv`): service, operation, account, Region, HTTP status, latency
//! and the SDK's attempt number; and at `-vvv` what was sent, without credentials.
//!
//! Every SDK client of a run sends through the one HTTP client of the shared config
//! (`shared_http_client`), so wrapping it logs every call of every client, whoever builds them.
//! The service and operation come from the span the SDK opens around each operation
//! (`rpc.service`, `rpc.method`) and its attempt from the orchestrator's `try_attempt` span: the
//! binary installs [`SdkSpans`], which keeps those fields. The account is the one whose
//! credentials signed the request (the access key id in the `Authorization` header, matched to
//! the sessions this run assumed), the Region is the signature's.
//!
//! What this module must never log: the `Authorization` header's signature, session tokens
//! (`X-Amz-Security-Token`), SSO bearer tokens, request bodies (an AssumeRole carries an external
//! id) or response bodies (AssumeRole's answer carries a secret key).

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use tracing_subscriber::registry::LookupSpan;

/// The target of the per-call lines (`-vv`).
pub const CALL_TARGET: &str = "landing_zone::aws::call";
/// The target of the request details (`-vvv`).
pub const REQUEST_TARGET: &str = "landing_zone::aws::request";

/// Which account each access key id belongs to: the caller's and every assumed session's.
fn accounts() -> &'static Mutex<HashMap<String, String>> {
    static ACCOUNTS: OnceLock<Mutex<HashMap<String, String>>> = OnceLock::new();
    ACCOUNTS.get_or_init(|| Mutex::new(HashMap::new()))
}

/// The caller's own access key id (the management account's credentials).
fn caller_key() -> &'static Mutex<Option<String>> {
    static CALLER: OnceLock<Mutex<Option<String>>> = OnceLock::new();
    CALLER.get_or_init(|| Mutex::new(None))
}

/// The caller's account, once known.
fn caller_account() -> &'static Mutex<Option<String>> {
    static ACCOUNT: OnceLock<Mutex<Option<String>>> = OnceLock::new();
    ACCOUNT.get_or_init(|| Mutex::new(None))
}

/// Records that `access_key_id` signs for `account` (an assumed-role session).
pub fn note_session(access_key_id: &str, account: &str) {
    if let Ok(mut accounts) = accounts().lock() {
        accounts.insert(access_key_id.to_string(), account.to_string());
    }
}

/// Records the caller's own access key id.
pub fn note_caller_key(access_key_id: &str) {
    if let Ok(mut key) = caller_key().lock() {
        *key = Some(access_key_id.to_string());
    }
}

/// Records the caller's account (the management account).
pub fn note_caller_account(account: &str) {
    if let Ok(mut known) = caller_account().lock() {
        *known = Some(account.to_string());
    }
}

/// The account an access key id signs for, in words.
fn account_of(access_key_id: Option<&str>) -> String {
    let Some(key) = access_key_id else { return "-".to_string() };
    if let Some(account) = accounts().lock().ok().and_then(|accounts| accounts.get(key).cloned()) {
        return account;
    }
    let is_caller = caller_key().lock().ok().and_then(|caller| caller.clone()).is_none_or(|caller| caller == key);
    if is_caller {
        return caller_account()
            .lock()
            .ok()
            .and_then(|account| account.clone())
            .unwrap_or_else(|| "caller".to_string());
    }
    "-".to_string()
}

/// The signing scope of a SigV4 `Authorization` header: access key id, Region and service. The
/// signature itself is never read. https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-signing-elements.html
fn signing_scope(authorization: &str) -> Option<(&str, &str, &str)> {
    let credential = authorization.split("Credential=").nth(1)?.split(',').next()?;
    let mut parts = credential.split('/');
    let key = parts.next()?;
    let _date = parts.next()?;
    let region = parts.next()?;
    let service = parts.next()?;
    Some((key, region, service))
}

/// Request headers whose values are shown at `-vvv`; every other header is named only.
const SHOWN_HEADERS: &[&str] = &[
    "host",
    "content-type",
    "content-length",
    "x-amz-target",
    "x-amz-date",
    "amz-sdk-request",
    "x-amz-content-sha256",
];

/// The request at `-vvv`: method, path (a query that carries credentials is left out), headers
/// (values only of [`SHOWN_HEADERS`]) and the body's size, never its content.
fn request_detail(request: &HttpRequest) -> String {
    let uri = request.uri();
    let lowered = uri.to_ascii_lowercase();
    let uri = if lowered.contains("x-amz-signature")
        || lowered.contains("x-amz-security-token")
        || lowered.contains("x-amz-credential")
    {
        uri.split('?').next().unwrap_or_default().to_string() + "?(query with credentials left out)"
    } else {
        uri.to_string()
    };
    let mut headers: Vec<String> = request
        .headers()
        .iter()
        .map(|(name, value)| {
            let name = name.to_ascii_lowercase();
            if SHOWN_HEADERS.contains(&name.as_str()) {
                format!("{name}: {value}")
            } else {
                format!("{name}: (not shown)")
            }
        })
        .collect();
    headers.sort();
    let body = request.body().content_length().map_or_else(|| "streamed".to_string(), |size| format!("{size} bytes"));
    format!("{} {uri}; headers {}; body {body}", request.method(), headers.join(", "))
}

/// The operation of an awsQuery / ec2Query request (`Action=` in a form body): IAM, STS, EC2.
fn query_action(request: &HttpRequest) -> Option<String> {
    let body = std::str::from_utf8(request.body().bytes()?).ok()?;
    body.split('&').find_map(|pair| pair.strip_prefix("Action=")).map(str::to_string)
}

/// The SDK operation a span belongs to (`rpc.service`, `rpc.method` of the SDK's span).
#[derive(Debug, Clone, Default)]
struct SdkOperation {
    service: String,
    operation: String,
}

/// The SDK's attempt number (`try_attempt{attempt=N}`).
#[derive(Debug, Clone, Copy)]
struct SdkAttempt(u64);

#[derive(Default)]
struct SpanFields {
    operation: SdkOperation,
    attempt: Option<u64>,
}

impl tracing::field::Visit for SpanFields {
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        match field.name() {
            "rpc.service" => self.operation.service = value.to_string(),
            "rpc.method" => self.operation.operation = value.to_string(),
            _ => {}
        }
    }

    fn record_u64(&mut self, field: &tracing::field::Field, value: u64) {
        if field.name() == "attempt" {
            self.attempt = Some(value);
        }
    }

    fn record_i64(&mut self, field: &tracing::field::Field, value: i64) {
        if field.name() == "attempt" {
            self.attempt = u64::try_from(value).ok();
        }
    }

    fn record_debug(&mut self, _field: &tracing::field::Field, _value: &dyn std::fmt::Debug) {}
}

/// Keeps, on the SDK's own spans, the operation they run and the attempt: what the HTTP client
/// wrapper reads to name each call. Its filter ([`SdkSpans::wants`]) takes only the SDK's spans,
/// never an event, so nothing of the SDK's own logging is printed.
#[derive(Debug, Default)]
pub struct SdkSpans;

impl SdkSpans {
    /// The spans this layer needs: the operation spans of the `aws_sdk_*` crates and the
    /// orchestrator's attempt spans.
    pub fn wants(metadata: &tracing::Metadata<'_>) -> bool {
        metadata.is_span()
            && (metadata.target().starts_with("aws_sdk_")
                || (metadata.target().starts_with("aws_smithy_runtime") && metadata.name() == "try_attempt"))
    }
}

impl<S> tracing_subscriber::Layer<S> for SdkSpans
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(
        &self,
        attributes: &tracing::span::Attributes<'_>,
        id: &tracing::span::Id,
        context: tracing_subscriber::layer::Context<'_, S>,
    ) {
        let mut fields = SpanFields::default();
        attributes.record(&mut fields);
        let Some(span) = context.span(id) else { return };
        let mut extensions = span.extensions_mut();
        if !fields.operation.operation.is_empty() {
            extensions.insert(fields.operation);
        } else if let Some(attempt) = fields.attempt {
            extensions.insert(SdkAttempt(attempt));
        }
    }
}

/// The operation and attempt of the SDK call running now, from the current span and its parents.
fn current_call() -> (Option<SdkOperation>, Option<u64>) {
    let Some(id) = tracing::Span::current().id() else { return (None, None) };
    tracing::dispatcher::get_default(|dispatch| {
        let Some(registry) = dispatch.downcast_ref::<tracing_subscriber::Registry>() else { return (None, None) };
        let Some(span) = registry.span(&id) else { return (None, None) };
        let mut operation = None;
        let mut attempt = None;
        for span in span.scope() {
            let extensions = span.extensions();
            if attempt.is_none() {
                attempt = extensions.get::<SdkAttempt>().map(|attempt| attempt.0);
            }
            if let Some(found) = extensions.get::<SdkOperation>() {
                operation = Some(found.clone());
                break;
            }
        }
        (operation, attempt)
    })
}

/// The shared HTTP client, logging each call it sends.
#[derive(Debug)]
pub struct LoggingHttpClient {
    inner: SharedHttpClient,
}

impl LoggingHttpClient {
    pub fn wrap(inner: SharedHttpClient) -> SharedHttpClient {
        SharedHttpClient::new(LoggingHttpClient { inner })
    }
}

impl HttpClient for LoggingHttpClient {
    fn http_connector(&self, settings: &HttpConnectorSettings, components: &RuntimeComponents) -> SharedHttpConnector {
        SharedHttpConnector::new(LoggingConnector { inner: self.inner.http_connector(settings, components) })
    }

    fn connector_metadata(&self) -> Option<aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata> {
        self.inner.connector_metadata()
    }
}

#[derive(Debug)]
struct LoggingConnector {
    inner: SharedHttpConnector,
}

impl HttpConnector for LoggingConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let calls = tracing::enabled!(target: CALL_TARGET, tracing::Level::DEBUG);
        if !calls {
            return self.inner.call(request);
        }
        if tracing::enabled!(target: REQUEST_TARGET, tracing::Level::TRACE) {
            tracing::trace!(target: REQUEST_TARGET, "{}", request_detail(&request));
        }
        let (operation, attempt) = current_call();
        let scope = request.headers().get("authorization").and_then(signing_scope);
        let account = account_of(scope.map(|(key, _, _)| key));
        let region = scope.map_or("-", |(_, region, _)| region).to_string();
        let service = operation
            .as_ref()
            .map(|operation| operation.service.to_lowercase().replace(' ', "-"))
            .or_else(|| scope.map(|(_, _, service)| service.to_string()))
            .unwrap_or_else(|| "-".to_string());
        let operation = operation
            .map(|operation| operation.operation)
            .or_else(|| query_action(&request))
            .or_else(|| {
                request
                    .headers()
                    .get("x-amz-target")
                    .map(|target| target.rsplit('.').next().unwrap_or(target).to_string())
            })
            .unwrap_or_else(|| format!("{} {}", request.method(), request.uri()));
        let started = Instant::now();
        let sent = self.inner.call(request);
        HttpConnectorFuture::new(async move {
            let result = sent.await;
            let took = started.elapsed().as_millis();
            let attempt = attempt
                .filter(|attempt| *attempt > 1)
                .map(|attempt| format!(" (attempt {attempt})"))
                .unwrap_or_default();
            match &result {
                Ok(response) => tracing::debug!(
                    target: CALL_TARGET,
                    "{service} {operation} account {account} {region}: {} in {took} ms{attempt}",
                    response.status().as_u16()
                ),
                Err(error) => tracing::debug!(
                    target: CALL_TARGET,
                    "{service} {operation} account {account} {region}: no response after {took} ms{attempt}: {error}"
                ),
            }
            result
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signing_scope_is_read_without_the_signature() {
        let header = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261206/eu-west-1/organizations/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc123";
        assert_eq!(signing_scope(header), Some(("AKIDEXAMPLE", "eu-west-1", "organizations")));
        assert_eq!(signing_scope("Bearer x"), None);
    }

    #[test]
    fn request_details_leave_out_credentials() {
        let mut request =
            HttpRequest::new(aws_smithy_types::body::SdkBody::from("Action=AssumeRole&ExternalId=SECRET-ID"));
        request.set_method("POST").expect("method");
        request.set_uri("https://sts.amazonaws.com/?X-Amz-Security-Token=SECRET-TOKEN").expect("uri");
        let headers = request.headers_mut();
        headers.insert("authorization", "AWS4-HMAC-SHA256 Credential=AKID/1/us-east-1/sts/aws4_request, Signature=SIG");
        headers.insert("x-amz-security-token", "SECRET-TOKEN");
        headers.insert("content-type", "application/x-www-form-urlencoded");
        let detail = request_detail(&request);
        for secret in ["SECRET-TOKEN", "SIG", "SECRET-ID", "AKID"] {
            assert!(!detail.contains(secret), "{secret} in {detail}");
        }
        assert!(detail.contains("POST https://sts.amazonaws.com/") && detail.contains("authorization: (not shown)"));
        assert_eq!(query_action(&request).as_deref(), Some("AssumeRole"));
    }
}
