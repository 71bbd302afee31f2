//! The caller's credentials, found once before the first AWS call: a profile that is not in the
//! config files, or no credentials anywhere, is one clear error within seconds instead of an
//! Organizations call retried for half a minute and ending on an instance-metadata error.
//!
//! The SDK's default chain tries, in order: the environment, the shared config and credentials
//! files (the profile, with its SSO session, `credential_process` or role), web identity, the ECS
//! container endpoint, then EC2 instance metadata (IMDS)
//! (https://docs.aws.amazon.com/sdkref/latest/guide/standardized-credentials.html). What this
//! module must not do: keep or print the credentials themselves.

use std::time::{Duration, SystemTime};

use aws_config::SdkConfig;
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{self, ProvideCredentials, SharedCredentialsProvider};
use aws_credential_types::Credentials;
use aws_smithy_types::error::display::DisplayErrorContext;

/// Why the caller has no credentials to use.
#[derive(Debug, thiserror::Error)]
pub enum CredentialsProblem {
    /// `--profile` / `AWS_PROFILE` names a profile neither config file has.
    #[error(
        "AWS profile `{profile}` is not in the config files ({files}){known}\nhint: run `aws configure --profile {profile}` (or `aws configure sso --profile {profile}`), pass an existing profile with `--profile`, or unset AWS_PROFILE"
    )]
    UnknownProfile { profile: String, files: String, known: String },
    /// The config files could not be read or parsed.
    #[error("the AWS config files cannot be read: {detail}\nhint: fix the file it names, or point AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE elsewhere")]
    UnreadableProfiles { detail: String },
    /// Every source of the chain was tried and none had credentials; `metadata` is what instance
    /// metadata, the last source, answered when it answered at all (empty, or `: <why>`).
    #[error(
        "no AWS credentials found; tried: environment variables (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY), {profile} in ~/.aws/config and ~/.aws/credentials (with SSO and credential_process), web identity (AWS_WEB_IDENTITY_TOKEN_FILE), the ECS container endpoint, EC2 instance metadata{metadata}\nhint: run `aws configure` or `aws sso login --profile NAME` and pass `--profile NAME`, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
    )]
    NotFound { profile: String, metadata: String },
    /// A source was configured but failed (an expired SSO session, a failing `credential_process`...).
    #[error("loading AWS credentials failed: {detail}\nhint: if it names SSO, run `aws sso login`{profile_flag}; check the profile with `aws sts get-caller-identity`{profile_flag}")]
    Failed { detail: String, profile_flag: String },
}

/// Checks that `profile` (when named) exists and that the chain of `config` yields credentials,
/// and returns `config` with those credentials kept (so a `credential_process` or an SSO call is
/// not made a second time by the first client).
pub async fn check(config: SdkConfig, profile: Option<&str>) -> Result<SdkConfig, CredentialsProblem> {
    if let Some(profile) = profile {
        check_profile(profile).await?;
    }
    let Some(chain) = config.credentials_provider() else {
        return Ok(config);
    };
    match chain.provide_credentials().await {
        Ok(credentials) => {
            super::logging::note_caller_key(credentials.access_key_id());
            let primed = Primed { first: std::sync::Mutex::new(Some(credentials)), inner: chain };
            Ok(config.to_builder().credentials_provider(SharedCredentialsProvider::new(primed)).build())
        }
        Err(error) => Err(problem_of(&error, profile)),
    }
}

/// What a failed chain means for the user.
fn problem_of(error: &CredentialsError, profile: Option<&str>) -> CredentialsProblem {
    let profile_words = profile.map_or_else(|| "the default profile".to_string(), |name| format!("profile `{name}`"));
    match error {
        CredentialsError::CredentialsNotLoaded(_) => {
            CredentialsProblem::NotFound { profile: profile_words, metadata: String::new() }
        }
        // Instance metadata is the chain's last source: it fails only when every source before it
        // had nothing (an answer refusing the token, as where IMDS is turned off or blocked, is
        // an error rather than "not loaded").
        other if from_instance_metadata(other) => CredentialsProblem::NotFound {
            profile: profile_words,
            metadata: format!(" (which answered: {})", causes(other)),
        },
        other => CredentialsProblem::Failed {
            detail: causes(other),
            profile_flag: profile.map(|name| format!(" --profile {name}")).unwrap_or_default(),
        },
    }
}

/// Whether the instance metadata provider is what failed.
fn from_instance_metadata(error: &CredentialsError) -> bool {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(cause) = current {
        if cause.downcast_ref::<aws_config::imds::client::error::ImdsError>().is_some() {
            return true;
        }
        current = cause.source();
    }
    // Some versions box the IMDS error as a token error without the type above.
    DisplayErrorContext(error).to_string().contains("IMDS")
}

/// The error and its causes as sentences joined by `: ` — the SDK's `DisplayErrorContext` ends
/// with the error's Rust debug form, which users must not see. A cause that repeats what was
/// already said is left out.
fn causes(error: &(dyn std::error::Error + 'static)) -> String {
    let mut said: Vec<String> = Vec::new();
    let mut current = Some(error);
    while let Some(cause) = current {
        let text = cause.to_string();
        if !text.is_empty() && !said.iter().any(|earlier| earlier.contains(&text)) {
            said.push(text);
        }
        current = cause.source();
    }
    said.join(": ")
}

/// A profile named on the command line or in `AWS_PROFILE` must be in `~/.aws/config` (as
/// `[profile NAME]`) or `~/.aws/credentials` (as `[NAME]`); the SDK would otherwise go on to the
/// next source silently and end at instance metadata.
/// https://docs.aws.amazon.com/sdkref/latest/guide/file-format.html
async fn check_profile(profile: &str) -> Result<(), CredentialsProblem> {
    use aws_types::os_shim_internal::{Env, Fs};
    // The default files (`~/.aws/config`, `~/.aws/credentials`, or where AWS_CONFIG_FILE and
    // AWS_SHARED_CREDENTIALS_FILE point), as the SDK's own chain reads them.
    let set = aws_config::profile::load(&Fs::real(), &Env::real(), &Default::default(), None)
        .await
        .map_err(|error| CredentialsProblem::UnreadableProfiles { detail: causes(&error) })?;
    if set.get_profile(profile).is_some() {
        return Ok(());
    }
    let mut names: Vec<&str> = set.profiles().collect();
    names.sort_unstable();
    let known = if names.is_empty() {
        "; no profile is defined".to_string()
    } else {
        format!("; profiles there: {}", names.join(", "))
    };
    let config_file = std::env::var("AWS_CONFIG_FILE").unwrap_or_else(|_| "~/.aws/config".to_string());
    let credentials_file =
        std::env::var("AWS_SHARED_CREDENTIALS_FILE").unwrap_or_else(|_| "~/.aws/credentials".to_string());
    Err(CredentialsProblem::UnknownProfile {
        profile: profile.to_string(),
        files: format!("{config_file}, {credentials_file}"),
        known,
    })
}

/// Whether `error` (or what caused it) is a failure to load the caller's own credentials: no
/// retry can help, so it is reported at once. An AssumeRole refused for a throttle inside a
/// member account's credentials is not one of these: it is judged by its own error code.
pub fn is_credentials_failure(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(error);
    let mut found = false;
    while let Some(cause) = current {
        if cause.downcast_ref::<CredentialsError>().is_some() {
            found = true;
        }
        if let Some(assume) = cause.downcast_ref::<aws_sdk_sts::error::SdkError<
            aws_sdk_sts::operation::assume_role::AssumeRoleError,
            aws_smithy_runtime_api::client::orchestrator::HttpResponse,
        >>() {
            return super::retry::classify(super::retry::facts_of(assume)) == super::retry::RetryClass::Fatal;
        }
        current = cause.source();
    }
    found
}

/// How long before their expiry the first credentials are fetched again from the chain.
const REFRESH_MARGIN: Duration = Duration::from_secs(300);

/// The credentials the check found, handed out until they near expiry; then the chain again.
#[derive(Debug)]
struct Primed {
    first: std::sync::Mutex<Option<Credentials>>,
    inner: SharedCredentialsProvider,
}

impl Primed {
    fn still_good(&self) -> Option<Credentials> {
        let first = self.first.lock().ok()?;
        first.as_ref().filter(|credentials| usable(credentials.expiry(), SystemTime::now())).cloned()
    }
}

/// Whether credentials expiring at `expiry` may still be used at `now`.
fn usable(expiry: Option<SystemTime>, now: SystemTime) -> bool {
    expiry.is_none_or(|expiry| expiry.duration_since(now).is_ok_and(|left| left > REFRESH_MARGIN))
}

impl ProvideCredentials for Primed {
    fn provide_credentials<'a>(&'a self) -> provider::future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        match self.still_good() {
            Some(credentials) => provider::future::ProvideCredentials::ready(Ok(credentials)),
            None => {
                let inner = self.inner.clone();
                provider::future::ProvideCredentials::new(async move { inner.provide_credentials().await })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_credentials_says_what_was_tried_and_how_to_fix_it() {
        let error = CredentialsError::not_loaded("no credentials found in chain");
        let text = problem_of(&error, Some("audit")).to_string();
        for expected in
            ["no AWS credentials found", "environment", "profile `audit`", "SSO", "instance metadata", "hint:"]
        {
            assert!(text.contains(expected), "{expected} in {text}");
        }
    }

    #[test]
    fn the_callers_credential_failures_are_not_retried_but_throttled_role_sessions_are() {
        let chain = CredentialsError::not_loaded("no credentials found in chain");
        assert!(is_credentials_failure(&chain));
        let other = std::io::Error::other("connection reset");
        assert!(!is_credentials_failure(&other));
    }

    #[test]
    fn primed_credentials_are_used_until_they_near_expiry() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        assert!(usable(None, now));
        assert!(usable(Some(now + Duration::from_secs(3600)), now));
        assert!(!usable(Some(now + Duration::from_secs(60)), now));
    }
}
