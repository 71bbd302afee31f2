//! Sessions in member accounts: one assumed-role credential provider per account, cached, refreshed
//! by the SDK before expiry, with session names that identify the tool, and per-region SDK configs.
//!
//! Every call made through a session is retried by the SDK's standard retry mode (throttles, 5xx,
//! dropped connections): baseline code calls the SDK directly, not through `retry::with_retry`.
//!
//! The management account uses the caller's own credentials. Client constructors here also fix
//! the emulator quirks of S3 (path-style addressing) and S3 Control (the account id in the host).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use aws_config::sts::AssumeRoleProvider;
use aws_config::{Region, SdkConfig};
use aws_credential_types::provider::SharedCredentialsProvider;
use tokio::sync::{Mutex, RwLock};

/// Builds SDK configs for any account of the organization.
#[derive(Debug)]
pub struct Sessions {
    base: SdkConfig,
    access_role: String,
    external_id: Option<String>,
    endpoint_override: Option<String>,
    management_account_id: RwLock<Option<String>>,
    providers: Mutex<HashMap<String, SharedCredentialsProvider>>,
}

/// How long one assumed-role session lasts; the SDK refreshes it before it runs out.
const SESSION_LENGTH: Duration = Duration::from_secs(3600);

impl Sessions {
    pub fn new(base: SdkConfig, access_role: String, external_id: Option<String>) -> Sessions {
        let endpoint_override = base.endpoint_url().map(str::to_string);
        // Baseline calls (IAM, S3, KMS, CloudTrail... and the STS calls behind each session) do
        // not go through `retry::with_retry`: they get the SDK's standard retries, which cover
        // throttling codes, 5xx and dropped connections. Without them one throttle anywhere in a
        // member account fails the plan or the apply.
        let base = base.to_builder().retry_config(baseline_retry_config()).build();
        Sessions {
            base,
            access_role,
            external_id,
            endpoint_override,
            management_account_id: RwLock::new(None),
            providers: Mutex::new(HashMap::new()),
        }
    }

    /// The role assumed in member accounts (`organization.access_role`); CreateAccount names it
    /// so that the accounts it creates carry the role these sessions assume.
    pub fn access_role(&self) -> &str {
        &self.access_role
    }

    /// Records which account is the management account (its calls need no role).
    pub async fn set_management_account(&self, account_id: &str) {
        *self.management_account_id.write().await = Some(account_id.to_string());
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
        let role_arn = format!("arn:{partition}:iam::{account_id}:role/{}", self.access_role);
        let mut builder = AssumeRoleProvider::builder(role_arn)
            .session_name(format!("landing-zone-{account_id}"))
            .session_length(SESSION_LENGTH)
            .configure(&self.base);
        if let Some(external_id) = &self.external_id {
            builder = builder.external_id(external_id);
        }
        let provider = SharedCredentialsProvider::new(builder.build().await);
        providers.insert(account_id.to_string(), provider.clone());
        provider
    }

    pub async fn iam(&self, account_id: &str) -> aws_sdk_iam::Client {
        aws_sdk_iam::Client::new(&self.config(account_id, None).await)
    }

    pub async fn s3(&self, account_id: &str, region: Option<&str>) -> aws_sdk_s3::Client {
        let config = self.config(account_id, region).await;
        let s3_config =
            aws_sdk_s3::config::Builder::from(&config).force_path_style(self.endpoint_override.is_some()).build();
        aws_sdk_s3::Client::from_conf(s3_config)
    }

    /// S3 Control puts the account id in the host name (`{account}.s3-control...`); against an
    /// emulator endpoint that host does not resolve, so the endpoint is used as given.
    pub async fn s3control(&self, account_id: &str) -> aws_sdk_s3control::Client {
        let config = self.config(account_id, None).await;
        let mut builder = aws_sdk_s3control::config::Builder::from(&config);
        if let Some(endpoint) = &self.endpoint_override {
            builder = builder.endpoint_resolver(FixedEndpoint(endpoint.clone()));
        }
        aws_sdk_s3control::Client::from_conf(builder.build())
    }

    pub async fn kms(&self, account_id: &str, region: Option<&str>) -> aws_sdk_kms::Client {
        aws_sdk_kms::Client::new(&self.config(account_id, region).await)
    }

    pub async fn cloudtrail(&self, account_id: &str, region: Option<&str>) -> aws_sdk_cloudtrail::Client {
        aws_sdk_cloudtrail::Client::new(&self.config(account_id, region).await)
    }

    pub async fn account(&self, account_id: &str) -> aws_sdk_account::Client {
        aws_sdk_account::Client::new(&self.config(account_id, None).await)
    }

    pub async fn guardduty(&self, account_id: &str, region: Option<&str>) -> aws_sdk_guardduty::Client {
        aws_sdk_guardduty::Client::new(&self.config(account_id, region).await)
    }

    pub async fn securityhub(&self, account_id: &str, region: Option<&str>) -> aws_sdk_securityhub::Client {
        aws_sdk_securityhub::Client::new(&self.config(account_id, region).await)
    }

    pub async fn config_service(&self, account_id: &str, region: Option<&str>) -> aws_sdk_config::Client {
        aws_sdk_config::Client::new(&self.config(account_id, region).await)
    }

    pub async fn access_analyzer(&self, account_id: &str, region: Option<&str>) -> aws_sdk_accessanalyzer::Client {
        aws_sdk_accessanalyzer::Client::new(&self.config(account_id, region).await)
    }

    pub async fn ec2(&self, account_id: &str, region: Option<&str>) -> aws_sdk_ec2::Client {
        aws_sdk_ec2::Client::new(&self.config(account_id, region).await)
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

/// Shared handle.
pub type SharedSessions = Arc<Sessions>;
