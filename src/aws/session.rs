//! Sessions in member accounts: one assumed-role credential provider per account, cached here for
//! the whole run and refreshed before expiry, with session names that identify the tool, and
//! per-region SDK configs. One AssumeRole per member account per run, however many regions and
//! controls share it (issue 13).
//!
//! Every call made through a session is retried by the SDK's standard retry mode (throttles, 5xx,
//! dropped connections): baseline code calls the SDK directly, not through `retry::with_retry`.
//!
//! The management account uses the caller's own credentials. Client constructors here also fix
//! the emulator quirks of S3 (path-style addressing) and S3 Control (the account id in the host).

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_config::{Region, SdkConfig};
use aws_credential_types::provider::{self, error::CredentialsError, ProvideCredentials, SharedCredentialsProvider};
use aws_credential_types::Credentials;
use tokio::sync::{Mutex, RwLock};

/// Builds SDK configs for any account of the organization.
#[derive(Debug)]
pub struct Sessions {
    base: SdkConfig,
    access_role: String,
    external_id: Option<String>,
    endpoint_override: Option<String>,
    management_account_id: RwLock<Option<String>>,
    /// The one STS client every account's session is assumed through.
    sts: aws_sdk_sts::Client,
    providers: Mutex<HashMap<String, SharedCredentialsProvider>>,
    /// Work done once per account and run, by what it is (`once_per_account`).
    once: Mutex<HashMap<(String, &'static str), OnceMarker>>,
    /// Clients already built, by service, account and region ([`Sessions::client`]).
    clients: std::sync::Mutex<ClientCache>,
}

/// The clients [`Sessions::client`] built, so that each (service, account, region) is built once
/// while it is in use rather than once per call: building one (its config, runtime plugins and
/// endpoint resolver) costs more of the tool's CPU than signing the call it makes (issue 25).
/// Bounded, least recently used out first: an organization's accounts are read and written a few
/// at a time (`Concurrency::accounts`), so a thousand accounts do not hold a thousand accounts'
/// clients.
#[derive(Debug, Default)]
struct ClientCache {
    entries: HashMap<ClientKey, (Arc<dyn Any + Send + Sync>, u64)>,
    /// Bumped on every use; an entry's is its last use.
    clock: u64,
}

/// A client's service (its type), account id and region.
type ClientKey = (TypeId, String, Option<String>);

/// The most clients kept: a few dozen accounts' worth of every service in every region.
const CLIENTS_KEPT: usize = 512;

impl ClientCache {
    fn get<C: Clone + 'static>(&mut self, key: &ClientKey) -> Option<C> {
        self.clock += 1;
        let clock = self.clock;
        let (client, used) = self.entries.get_mut(key)?;
        *used = clock;
        client.downcast_ref::<C>().cloned()
    }

    fn insert<C: Send + Sync + 'static>(&mut self, key: ClientKey, client: C) {
        if self.entries.len() >= CLIENTS_KEPT {
            let oldest = self.entries.iter().min_by_key(|(_, (_, used))| *used).map(|(key, _)| key.clone());
            if let Some(oldest) = oldest {
                self.entries.remove(&oldest);
            }
        }
        self.clock += 1;
        self.entries.insert(key, (Arc::new(client), self.clock));
    }
}

/// Whether one piece of once-per-account work is done (set when it succeeded).
type OnceMarker = Arc<tokio::sync::OnceCell<()>>;

/// How long one assumed-role session lasts; [`CachedCredentials`] refreshes it before it runs out.
const SESSION_LENGTH: Duration = Duration::from_secs(3600);

/// How long before its expiry a session is replaced: longer than any single call or retry chain
/// takes, so a long apply never signs with credentials about to lapse.
const REFRESH_MARGIN: Duration = Duration::from_secs(300);

impl Sessions {
    pub fn new(base: SdkConfig, access_role: String, external_id: Option<String>) -> Sessions {
        let endpoint_override = base.endpoint_url().map(str::to_string);
        // Baseline calls (IAM, S3, KMS, CloudTrail... and the STS calls behind each session) do
        // not go through `retry::with_retry`: they get the SDK's standard retries, which cover
        // throttling codes, 5xx and dropped connections. Without them one throttle anywhere in a
        // member account fails the plan or the apply.
        let base = base.to_builder().retry_config(baseline_retry_config()).build();
        Sessions {
            sts: aws_sdk_sts::Client::new(&base),
            base,
            access_role,
            external_id,
            endpoint_override,
            management_account_id: RwLock::new(None),
            providers: Mutex::new(HashMap::new()),
            once: Mutex::new(HashMap::new()),
            clients: std::sync::Mutex::new(ClientCache::default()),
        }
    }

    /// The role assumed in member accounts (`organization.access_role`); CreateAccount names it
    /// so that the accounts it creates carry the role these sessions assume.
    pub fn access_role(&self) -> &str {
        &self.access_role
    }

    /// Records which account is the management account (its calls need no role).
    pub async fn set_management_account(&self, account_id: &str) {
        let mut management = self.management_account_id.write().await;
        if management.as_deref() == Some(account_id) {
            // Told again (the early reads, then the reads after the walk): its clients stand.
            return;
        }
        *management = Some(account_id.to_string());
        drop(management);
        // A client built before for that account signed with an assumed role: build it again.
        self.clients.lock().unwrap_or_else(std::sync::PoisonError::into_inner).entries.clear();
        super::logging::note_caller_account(account_id);
    }

    pub async fn management_account(&self) -> Option<String> {
        self.management_account_id.read().await.clone()
    }

    /// The SDK config for `account_id`, in `region` (the base region when None).
    pub async fn config(&self, account_id: &str, region: Option<&str>) -> SdkConfig {
        let mut builder = self.base.to_builder();
        if self.management_account_id.read().await.as_deref() != Some(account_id) {
            builder = builder.credentials_provider(self.provider(account_id).await);
        }
        if let Some(region) = region {
            builder = builder.region(Region::new(region.to_string()));
        }
        builder.build()
    }

    async fn provider(&self, account_id: &str) -> SharedCredentialsProvider {
        let mut providers = self.providers.lock().await;
        if let Some(provider) = providers.get(account_id) {
            return provider.clone();
        }
        let partition = partition_of(self.base.region().map(Region::as_ref).unwrap_or("us-east-1"));
        let role = AccessRole {
            sts: self.sts.clone(),
            role_arn: format!("arn:{partition}:iam::{account_id}:role/{}", self.access_role),
            session_name: format!("landing-zone-{account_id}"),
            external_id: self.external_id.clone(),
        };
        let provider = SharedCredentialsProvider::new(CachedCredentials::new(role));
        providers.insert(account_id.to_string(), provider.clone());
        provider
    }

    /// Runs `work` once per account and run for `what` (a global resource every region's control
    /// needs, such as AWS Config's service-linked role): concurrent callers wait for the first and
    /// share its success; after a failure the next caller tries again.
    pub async fn once_per_account<E, F, Fut>(&self, account_id: &str, what: &'static str, work: F) -> Result<(), E>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<(), E>>,
    {
        let cell = Arc::clone(self.once.lock().await.entry((account_id.to_string(), what)).or_default());
        cell.get_or_try_init(work).await.map(|_| ())
    }

    /// A client of any AWS service for `account_id`, in `region` (the base region when None):
    /// `sessions.client::<aws_sdk_iam::Client>(account, None)`. Global services (IAM, Budgets,
    /// Account Management, S3 Control) take None; Identity Center's take the instance's Region.
    /// Built once per (service, account, region) while in use ([`ClientCache`]); SDK clients are
    /// cheap handles to shared state, so the copy returned shares its connections and credentials.
    pub async fn client<C: ServiceClient>(&self, account_id: &str, region: Option<&str>) -> C {
        let key = (TypeId::of::<C>(), account_id.to_string(), region.map(str::to_string));
        if let Some(client) = self.clients.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get::<C>(&key) {
            return client;
        }
        let client = C::from_sdk_config(&self.config(account_id, region).await, self.endpoint_override.as_deref());
        self.clients.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(key, client.clone());
        client
    }
}

/// An SDK client built from one account's and region's config: what [`Sessions::client`] returns.
pub trait ServiceClient: Clone + Send + Sync + 'static {
    /// `endpoint_override` is the emulator's endpoint when one is set (the clients that need to
    /// know fix their addressing for it).
    fn from_sdk_config(config: &SdkConfig, endpoint_override: Option<&str>) -> Self;
}

/// Clients built from the config as it is.
macro_rules! service_clients {
    ($($client:ty),* $(,)?) => {
        $(impl ServiceClient for $client {
            fn from_sdk_config(config: &SdkConfig, _endpoint_override: Option<&str>) -> Self {
                <$client>::new(config)
            }
        })*
    };
}

service_clients!(
    aws_sdk_accessanalyzer::Client,
    aws_sdk_account::Client,
    aws_sdk_backup::Client,
    aws_sdk_budgets::Client,
    aws_sdk_cloudtrail::Client,
    aws_sdk_config::Client,
    aws_sdk_detective::Client,
    aws_sdk_ec2::Client,
    aws_sdk_eventbridge::Client,
    aws_sdk_guardduty::Client,
    aws_sdk_iam::Client,
    aws_sdk_identitystore::Client,
    aws_sdk_inspector2::Client,
    aws_sdk_kms::Client,
    aws_sdk_macie2::Client,
    aws_sdk_ram::Client,
    aws_sdk_securityhub::Client,
    aws_sdk_sns::Client,
    aws_sdk_ssoadmin::Client,
);

/// Against an emulator, S3 is addressed path-style (bucket names are no host names there).
impl ServiceClient for aws_sdk_s3::Client {
    fn from_sdk_config(config: &SdkConfig, endpoint_override: Option<&str>) -> Self {
        aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(config).force_path_style(endpoint_override.is_some()).build(),
        )
    }
}

/// S3 Control puts the account id in the host name (`{account}.s3-control...`); against an
/// emulator endpoint that host does not resolve, so the endpoint is used as given.
impl ServiceClient for aws_sdk_s3control::Client {
    fn from_sdk_config(config: &SdkConfig, endpoint_override: Option<&str>) -> Self {
        let mut builder = aws_sdk_s3control::config::Builder::from(config);
        if let Some(endpoint) = endpoint_override {
            builder = builder.endpoint_resolver(FixedEndpoint(endpoint.to_string()));
        }
        aws_sdk_s3control::Client::from_conf(builder.build())
    }
}

/// Retries of every call made through a session: the SDK's standard mode (exponential backoff
/// with full jitter), more attempts and a shorter first backoff than its defaults.
pub fn baseline_retry_config() -> aws_config::retry::RetryConfig {
    aws_config::retry::RetryConfig::standard()
        .with_max_attempts(5)
        .with_initial_backoff(Duration::from_millis(100))
        .with_max_backoff(Duration::from_secs(5))
}

/// The ARN partition of a region.
pub fn partition_of(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

#[derive(Debug)]
struct FixedEndpoint(String);

impl aws_sdk_s3control::config::endpoint::ResolveEndpoint for FixedEndpoint {
    fn resolve_endpoint<'a>(
        &'a self,
        _params: &'a aws_sdk_s3control::config::endpoint::Params,
    ) -> aws_smithy_runtime_api::client::endpoint::EndpointFuture<'a> {
        aws_smithy_runtime_api::client::endpoint::EndpointFuture::ready(Ok(
            aws_smithy_types::endpoint::Endpoint::builder().url(self.0.clone()).build(),
        ))
    }
}

/// The access role's credentials in one member account (`sts:AssumeRole`, one hour), through the
/// STS client every account shares.
///
/// The SDK's `AssumeRoleProvider` builds an STS client of its own for each provider (its config,
/// runtime plugins and identity cache): one per member account, a thousand at 1,000 accounts,
/// held for the whole run (issue 13's memory). The call is the same: the role, a session name
/// that identifies the tool, the external id when the spec sets one.
/// https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html
#[derive(Debug)]
struct AccessRole {
    sts: aws_sdk_sts::Client,
    role_arn: String,
    session_name: String,
    external_id: Option<String>,
}

impl AccessRole {
    async fn assume(&self) -> provider::Result {
        let output = self
            .sts
            .assume_role()
            .role_arn(&self.role_arn)
            .role_session_name(&self.session_name)
            .duration_seconds(i32::try_from(SESSION_LENGTH.as_secs()).unwrap_or(3600))
            .set_external_id(self.external_id.clone())
            .send()
            .await
            // The SDK error stays the source: `errors::AwsFailure` finds AssumeRole's code there.
            .map_err(CredentialsError::provider_error)?;
        let issued =
            output.credentials.ok_or_else(|| CredentialsError::unhandled("AssumeRole returned no credentials"))?;
        let expiry = SystemTime::try_from(issued.expiration).map_err(CredentialsError::unhandled)?;
        if let Some(account) = self.role_arn.split(':').nth(4) {
            super::logging::note_session(&issued.access_key_id, account);
        }
        Ok(Credentials::new(
            issued.access_key_id,
            issued.secret_access_key,
            Some(issued.session_token),
            Some(expiry),
            "landing-zone-access-role",
        ))
    }
}

impl ProvideCredentials for AccessRole {
    fn provide_credentials<'a>(&'a self) -> provider::future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        provider::future::ProvideCredentials::new(self.assume())
    }
}

/// Credentials from `inner`, kept until [`REFRESH_MARGIN`] before they expire.
///
/// The SDK's own identity cache is not enough on its own at organization scale: it keeps at most
/// 64 partitions (one per credentials provider, `aws-smithy-runtime`'s `DEFAULT_MAX_PARTITIONS`)
/// and evicts an arbitrary one past that, so with 1,000 accounts read concurrently each account's
/// session was assumed again and again (4,748 AssumeRole for 1,000 members, issue 13). This cache
/// belongs to the account's provider, so an eviction there costs a lock here, not a call. The lock
/// is held across the load: concurrent first uses of one account make a single AssumeRole.
#[derive(Debug)]
pub struct CachedCredentials<P> {
    inner: P,
    cached: Mutex<Option<Credentials>>,
}

impl<P: ProvideCredentials> CachedCredentials<P> {
    pub fn new(inner: P) -> CachedCredentials<P> {
        CachedCredentials { inner, cached: Mutex::new(None) }
    }

    async fn load(&self) -> provider::Result {
        let mut cached = self.cached.lock().await;
        if let Some(credentials) =
            cached.as_ref().filter(|credentials| still_fresh(credentials.expiry(), SystemTime::now()))
        {
            return Ok(credentials.clone());
        }
        let credentials = self.inner.provide_credentials().await?;
        *cached = Some(credentials.clone());
        Ok(credentials)
    }
}

impl<P: ProvideCredentials> ProvideCredentials for CachedCredentials<P> {
    fn provide_credentials<'a>(&'a self) -> provider::future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        provider::future::ProvideCredentials::new(self.load())
    }
}

/// Whether credentials expiring at `expiry` may still be handed out at `now`.
fn still_fresh(expiry: Option<SystemTime>, now: SystemTime) -> bool {
    expiry.is_none_or(|expiry| expiry.duration_since(now).is_ok_and(|left| left > REFRESH_MARGIN))
}

/// Shared handle.
pub type SharedSessions = Arc<Sessions>;

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[test]
    fn the_client_cache_keeps_the_recently_used_and_drops_the_oldest() {
        let key = |account: usize| (TypeId::of::<String>(), format!("{account:012}"), None);
        let mut cache = ClientCache::default();
        for account in 0..CLIENTS_KEPT {
            cache.insert(key(account), format!("client {account}"));
        }
        // Account 0 is used again: account 1 is now the least recently used.
        assert_eq!(cache.get::<String>(&key(0)).as_deref(), Some("client 0"));
        cache.insert(key(CLIENTS_KEPT), "one more".to_string());
        assert_eq!(cache.entries.len(), CLIENTS_KEPT);
        assert_eq!(cache.get::<String>(&key(1)), None, "the least recently used went");
        assert_eq!(cache.get::<String>(&key(0)).as_deref(), Some("client 0"));
        assert_eq!(cache.get::<String>(&key(CLIENTS_KEPT)).as_deref(), Some("one more"));
        // Another service's client under the same account and region is another entry.
        assert_eq!(cache.get::<u32>(&(TypeId::of::<u32>(), key(0).1, None)), None);
    }

    /// Hands out credentials that expire `lifetime` from now, counting the calls.
    #[derive(Debug)]
    struct Counting {
        calls: Arc<AtomicUsize>,
        lifetime: Duration,
    }

    impl ProvideCredentials for Counting {
        fn provide_credentials<'a>(&'a self) -> provider::future::ProvideCredentials<'a>
        where
            Self: 'a,
        {
            self.calls.fetch_add(1, Ordering::SeqCst);
            let expiry = SystemTime::now() + self.lifetime;
            provider::future::ProvideCredentials::ready(Ok(Credentials::new("a", "s", None, Some(expiry), "test")))
        }
    }

    #[tokio::test]
    async fn one_session_serves_every_use_until_it_nears_expiry() {
        let calls = Arc::new(AtomicUsize::new(0));
        let cached = Arc::new(CachedCredentials::new(Counting { calls: calls.clone(), lifetime: SESSION_LENGTH }));
        let uses = (0..50).map(|_| {
            let cached = cached.clone();
            tokio::spawn(async move { cached.provide_credentials().await })
        });
        for used in futures::future::join_all(uses).await {
            assert!(used.expect("joined").is_ok());
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1, "concurrent first uses share one AssumeRole");

        // A session inside the refresh margin is replaced before it is used again.
        let calls = Arc::new(AtomicUsize::new(0));
        let short = CachedCredentials::new(Counting { calls: calls.clone(), lifetime: REFRESH_MARGIN / 2 });
        short.provide_credentials().await.expect("first");
        short.provide_credentials().await.expect("second");
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn freshness_leaves_a_margin_before_expiry() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        assert!(still_fresh(None, now));
        assert!(still_fresh(Some(now + SESSION_LENGTH), now));
        assert!(!still_fresh(Some(now + REFRESH_MARGIN), now));
        assert!(!still_fresh(Some(now - Duration::from_secs(1)), now));
    }
}
