//! The one place that builds SDK configuration and clients, and that knows AWS's error vocabulary.
//!
//! Other modules receive clients from here and ask `errors` whether a failure is "already exists",
//! "not found" or worth a retry; none of them builds an SDK config of its own.

pub mod credentials;
pub mod errors;
pub mod logging;
pub mod rate_limit;
pub mod retry;
pub mod session;

use aws_config::{BehaviorVersion, Region, SdkConfig};

/// Where and as whom to talk to AWS.
#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    pub profile: Option<String>,
    pub region: Option<String>,
    pub endpoint_url: Option<String>,
    /// Used when neither `region` nor the profile names one (the spec's home region).
    pub fallback_region: Option<String>,
}

/// Loads the standard credential chain (env, profile, SSO, IMDS...) with the overrides given.
///
/// The SDK's own retries are off here: every Organizations call goes through `retry::with_retry`,
/// whose decisions are a tested pure function and whose attempts the benchmarks can count. Sessions
/// (`session::Sessions`, used by the baselines) turn the SDK's standard retries back on.
pub async fn load_config(options: &ConnectOptions) -> SdkConfig {
    let mut loader =
        aws_config::defaults(BehaviorVersion::latest()).retry_config(aws_config::retry::RetryConfig::disabled());
    if let Some(profile) = &options.profile {
        loader = loader.profile_name(profile);
    }
    // Region: --region, then AWS_REGION / the profile, then the spec's home region. Instance
    // metadata is not asked: a provisioner runs on a workstation or in CI, where it only times out.
    let fallback = options.fallback_region.clone().unwrap_or_else(|| "us-east-1".to_string());
    let mut profile_region = aws_config::profile::ProfileFileRegionProvider::builder();
    if let Some(profile) = &options.profile {
        profile_region = profile_region.profile_name(profile);
    }
    let region = aws_config::meta::region::RegionProviderChain::first_try(options.region.clone().map(Region::new))
        .or_else(aws_config::environment::EnvironmentVariableRegionProvider::new())
        .or_else(profile_region.build())
        .or_else(Region::new(fallback));
    loader = loader.region(region);
    if let Some(endpoint) = &options.endpoint_url {
        loader = loader.endpoint_url(endpoint.clone());
    }
    loader.http_client(shared_http_client()).load().await
}

/// The HTTP client every SDK client of the run shares: one connection pool and one TLS
/// configuration (root certificates loaded once).
///
/// Without it each `Client::new` (and each assumed-role provider's STS client) builds its own
/// default client with its own pool and TLS context (`aws-smithy-runtime`'s
/// `default_http_client_plugin_v2`, used whenever `SdkConfig` carries no `http_client`): with a
/// client per service, account and region that is thousands of pools at 1,000 accounts, most of
/// the plan's memory (issue 13), and a new connection for nearly every call. Built as the SDK's
/// default is (rustls with aws-lc, the proxy settings of the environment), so nothing else changes.
///
/// Wrapped in `logging::LoggingHttpClient`, which logs every call at `-vv` (for every client,
/// however it is built).
pub fn shared_http_client() -> aws_smithy_runtime_api::client::http::SharedHttpClient {
    use aws_smithy_http_client::proxy::ProxyConfig;
    use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
    logging::LoggingHttpClient::wrap(aws_smithy_http_client::Builder::new().build_with_connector_fn(
        |settings, components| {
            let mut connector =
                aws_smithy_http_client::ConnectorBuilder::default().tls_provider(Provider::Rustls(CryptoMode::AwsLc));
            connector.set_connector_settings(settings.cloned());
            if let Some(components) = components {
                connector.set_sleep_impl(components.sleep_impl());
            }
            connector.set_proxy_config(Some(ProxyConfig::from_env()));
            connector.build()
        },
    ))
}

/// How many AWS calls run at once.
///
/// AWS sets its rate limits per account: the Organizations API's per operation for the management
/// account (`rate_limit` paces those), EC2's per account and Region
/// (https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-throttling.html), STS's per calling
/// account and Region (AWS publishes no default rate for STS; its throttles are retried). A thousand member
/// accounts are a thousand separate budgets, so reads and writes spread wide across accounts and
/// stay narrow within each one (issue 13).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Concurrency {
    /// Calls at once against the Organizations API, and within any one account (`--parallelism`).
    pub calls: usize,
    /// Accounts read or written at once (`--accounts-at-once`).
    pub accounts: usize,
}

impl Concurrency {
    /// The command line's defaults.
    pub const DEFAULT: Concurrency = Concurrency { calls: 8, accounts: 32 };
}

/// The organization-level clients (the management account) and sessions into every account.
#[derive(Debug, Clone)]
pub struct Clients {
    pub organizations: aws_sdk_organizations::Client,
    pub sts: aws_sdk_sts::Client,
    pub sessions: std::sync::Arc<session::Sessions>,
}

impl Clients {
    /// `access_role` (and `external_id`) are used to assume into member accounts.
    pub fn new(config: &SdkConfig, access_role: &str, external_id: Option<String>) -> Clients {
        errors::note_endpoint_override(config.endpoint_url().is_some());
        Clients {
            organizations: aws_sdk_organizations::Client::new(config),
            sts: aws_sdk_sts::Client::new(config),
            sessions: std::sync::Arc::new(session::Sessions::new(config.clone(), access_role.to_string(), external_id)),
        }
    }
}

/// Who is calling: the account and ARN of the credentials in use.
#[derive(Debug, Clone)]
pub struct CallerIdentity {
    pub account: String,
    pub arn: String,
}

pub async fn caller_identity(clients: &Clients) -> anyhow::Result<CallerIdentity> {
    let output = retry::with_retry(&retry::RetryPolicy::default(), "GetCallerIdentity", || {
        clients.sts.get_caller_identity().send()
    })
    .await
    .map_err(|error| anyhow::anyhow!("GetCallerIdentity failed: {}", errors::describe(&error)))?;
    Ok(CallerIdentity { account: output.account.unwrap_or_default(), arn: output.arn.unwrap_or_default() })
}
