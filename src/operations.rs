//! Operations the commands call: each joins pipeline stages and returns data, never prints.

use std::sync::Arc;

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use futures::stream::{self, StreamExt, TryStreamExt};

use crate::apply::{execute, ApplyOptions, ApplyReport, Reporter};
use crate::aws::{load_config, Clients, ConnectOptions};
use crate::baseline::Context as BaselineContext;
use crate::live::{read_organization, LiveOrganization, ReadScope};
use crate::plan::control::{ControlKey, KnownIds};
use crate::plan::{plan, DesiredOrganization, Plan, PlanOptions};
use crate::spec::ValidSpec;

/// What `plan` produced: the plan, the state it was made from, and the ids known before apply.
#[derive(Debug, Clone)]
pub struct PlanOutcome {
    pub plan: Plan,
    pub live: LiveOrganization,
    pub known: KnownIds,
}

/// The tags the spec manages decide which tags are read.
pub fn read_scope(valid: &ValidSpec) -> ReadScope {
    let desired = crate::baseline::desired_organization(valid);
    ReadScope {
        unit_tags: desired.units.iter().filter(|unit| unit.tags.is_some()).map(|unit| unit.path.clone()).collect(),
        account_tags: desired
            .accounts
            .iter()
            .filter(|account| account.tags.is_some())
            .flat_map(|account| std::iter::once(account.email.to_lowercase()).chain(account.id.clone()))
            .collect(),
        all_tags: false,
        policy_types: desired.policy_types.clone(),
        skip_policy_tags: desired
            .policies
            .iter()
            .filter(|policy| policy.tags.is_none())
            .map(|policy| (policy.policy_type, policy.name.clone()))
            .collect(),
    }
}

/// Connects to AWS: the spec's home region unless the profile or `--region` says otherwise.
pub async fn connect(connect: &ConnectOptions, valid: Option<&ValidSpec>) -> Clients {
    let mut options = connect.clone();
    if options.fallback_region.is_none() {
        options.fallback_region = valid.and_then(|valid| valid.spec.organization.regions.first().cloned());
    }
    let config = load_config(&options).await;
    let organization = valid.map(|valid| &valid.spec.organization);
    let access_role = organization.map_or("OrganizationAccountAccessRole", |org| org.access_role.as_str());
    Clients::new(&config, access_role, organization.and_then(|org| org.external_id.clone()))
}

/// Reads the live organization and every baseline control in existing accounts, then plans.
pub async fn make_plan(
    valid: &ValidSpec,
    clients: &Clients,
    options: PlanOptions,
    parallelism: usize,
) -> Result<PlanOutcome> {
    let mut live = read_organization(&clients.organizations, &read_scope(valid), parallelism)
        .await
        .context("reading the live organization failed")?;
    if let Some(organization) = &live.organization {
        clients.sessions.set_management_account(&organization.management_account_id).await;
    }
    let desired = crate::baseline::desired_organization(valid);
    let known = KnownIds {
        accounts: match_accounts(&desired, &live),
        organization: live.organization.as_ref().map(|org| org.id.clone()),
    };
    let (controls, unsupported) = read_controls(&desired, &known, &live, clients, parallelism).await?;
    live.controls = controls;
    live.unsupported_controls = unsupported;
    let plan = plan(&desired, &live, options)?;
    Ok(PlanOutcome { plan, live, known })
}

pub use crate::plan::planner::match_accounts;

/// Reads the live attributes of every desired control in accounts that exist, concurrently.
async fn read_controls(
    desired: &DesiredOrganization,
    known: &KnownIds,
    live: &LiveOrganization,
    clients: &Clients,
    parallelism: usize,
) -> Result<(BTreeMap<ControlKey, Option<serde_json::Value>>, BTreeMap<ControlKey, String>)> {
    let context = BaselineContext { sessions: &clients.sessions, ids: known };
    let controls: Vec<(&ControlKey, serde_json::Value)> = desired
        .controls
        .iter()
        .filter(|control| known.accounts.contains_key(&control.key.account))
        .map(|control| (&control.key, crate::plan::control::resolve(&control.attributes, known)))
        .collect();
    type Read = (ControlKey, Result<Option<serde_json::Value>, String>);
    let results: Vec<Read> = stream::iter(controls)
        .map(|(key, attributes)| {
            let context = &context;
            let unreadable = needs_missing_trusted_access(key, known, live);
            async move {
                if unreadable {
                    // AWS refuses the read (AccessDeniedException) until trusted access is on, and
                    // no contact was set through it yet: absent. The plan enables it first.
                    return Ok::<Read, anyhow::Error>((key.clone(), Ok(None)));
                }
                match crate::baseline::read(context, key, &attributes).await {
                    Ok(value) => Ok::<Read, anyhow::Error>((key.clone(), Ok(value))),
                    Err(error) => match crate::baseline::unimplemented(&error) {
                        Some(missing) => Ok((key.clone(), Err(missing.operation.clone()))),
                        None => Err(error.context(format!("reading {}", key.label()))),
                    },
                }
            }
        })
        .buffer_unordered(parallelism.max(1))
        .try_collect()
        .await?;
    let mut controls = BTreeMap::new();
    let mut unsupported = BTreeMap::new();
    for (key, result) in results {
        match result {
            Ok(value) => {
                controls.insert(key, value);
            }
            Err(operation) => {
                unsupported.insert(key, operation);
            }
        }
    }
    Ok((controls, unsupported))
}

/// Whether reading `key` needs trusted access the organization does not have yet: the Account
/// API called with a member's `AccountId` needs trusted access for `account.amazonaws.com`
/// (https://docs.aws.amazon.com/accounts/latest/reference/API_GetAlternateContact.html).
fn needs_missing_trusted_access(key: &ControlKey, known: &KnownIds, live: &LiveOrganization) -> bool {
    let management = live.organization.as_ref().map(|org| org.management_account_id.as_str());
    key.control.split('/').next() == Some(crate::baseline::contacts::CONTROL)
        && !live.trusted_services.contains(crate::baseline::contacts::SERVICE)
        && known.accounts.get(&key.account).map(String::as_str) != management
}

/// Applies a plan.
pub async fn apply_plan(
    plan: &Plan,
    clients: &Clients,
    parallelism: usize,
    reporter: Arc<dyn Reporter>,
    known: &KnownIds,
) -> ApplyReport {
    execute(plan, clients, ApplyOptions { parallelism }, reporter, known).await
}

/// Who is calling: the account and ARN of the credentials in use.
#[derive(Debug, Clone)]
pub struct CallerIdentity {
    pub account: String,
    pub arn: String,
}

pub async fn caller_identity(clients: &Clients) -> Result<CallerIdentity> {
    let output = crate::aws::retry::with_retry(&crate::aws::retry::RetryPolicy::default(), "GetCallerIdentity", || {
        clients.sts.get_caller_identity().send()
    })
    .await
    .map_err(|error| anyhow::anyhow!("GetCallerIdentity failed: {}", crate::aws::errors::describe(&error)))?;
    Ok(CallerIdentity { account: output.account.unwrap_or_default(), arn: output.arn.unwrap_or_default() })
}

/// The current time as RFC 3339 UTC.
pub fn now_rfc3339() -> String {
    let seconds = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    crate::plan::saved::rfc3339(seconds)
}

/// The management account's IAM password policy, as the spec would write it.
pub async fn read_management_password_policy(clients: &Clients) -> Result<Option<crate::spec::PasswordPolicySpec>> {
    let caller = caller_identity(clients).await?;
    clients.sessions.set_management_account(&caller.account).await;
    let iam = clients.sessions.iam(&caller.account).await;
    let policy = match iam.get_account_password_policy().send().await {
        Ok(output) => output.password_policy,
        Err(error) if crate::aws::errors::is_not_found(&error) => None,
        Err(error) => anyhow::bail!("GetAccountPasswordPolicy failed: {}", crate::aws::errors::describe(&error)),
    };
    Ok(policy.map(|policy| crate::spec::PasswordPolicySpec {
        targets: crate::spec::Targets::everywhere(),
        minimum_length: policy.minimum_password_length.and_then(|n| u32::try_from(n).ok()).unwrap_or(6),
        require_symbols: policy.require_symbols,
        require_numbers: policy.require_numbers,
        require_uppercase: policy.require_uppercase_characters,
        require_lowercase: policy.require_lowercase_characters,
        allow_users_to_change: policy.allow_users_to_change_password,
        max_age_days: policy.max_password_age.filter(|days| *days > 0).and_then(|n| u32::try_from(n).ok()),
        reuse_prevention: policy.password_reuse_prevention.filter(|n| *n > 0).and_then(|n| u32::try_from(n).ok()),
        hard_expiry: policy.hard_expiry.unwrap_or(false),
    }))
}
