//! `plan`: read the live organization and every control of the spec's baselines, then plan. Also
//! what `apply` and the other operations share: connecting, the read scope, saving a plan.

use anyhow::{Context, Result};

use crate::aws::{load_config, Clients, ConnectOptions};
use crate::live::controls::read_controls_reporting;
use crate::live::progress::{ReadReporter, SilentReadReporter};
use crate::live::{read_organization, LiveOrganization, ReadScope};
use crate::plan::control::KnownIds;
use crate::plan::saved::{live_digests, plan_digest, SavedPlan, SAVED_PLAN_VERSION};
use crate::plan::{plan, Plan, PlanOptions};
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
    make_plan_reporting(valid, clients, options, parallelism, &SilentReadReporter).await
}

/// [`make_plan`], telling `reporter` how reading the controls goes.
pub async fn make_plan_reporting(
    valid: &ValidSpec,
    clients: &Clients,
    options: PlanOptions,
    parallelism: usize,
    reporter: &dyn ReadReporter,
) -> Result<PlanOutcome> {
    let mut live = read_organization(&clients.organizations, &read_scope(valid), parallelism)
        .await
        .context("reading the live organization failed")?;
    if let Some(organization) = &live.organization {
        clients.sessions.set_management_account(&organization.management_account_id).await;
    }
    read_root_access(clients, &mut live).await?;
    let desired = crate::baseline::desired_organization(valid);
    // Root credentials are read only when the spec and the command line both opt into deleting
    // them, and only once root credentials management is on (AssumeRoot needs it).
    if desired.delete_member_root_credentials
        && options.allow_destructive
        && live.root_access_features.contains(crate::spec::ROOT_CREDENTIALS_MANAGEMENT)
    {
        live.root_credentials = Some(read_member_root_credentials(clients, &live, parallelism).await?);
    }
    let known = KnownIds {
        accounts: match_accounts(&desired, &live),
        organization: live.organization.as_ref().map(|org| org.id.clone()),
    };
    let (controls, unsupported) =
        read_controls_reporting(&desired, &known, &live, &clients.sessions, parallelism, reporter).await?;
    live.controls = controls;
    live.unsupported_controls = unsupported;
    live.account_names_unsupported = account_names_unsupported(clients).await;
    let plan = plan(&desired, &live, options)?;
    Ok(PlanOutcome { plan, live, known })
}

pub use crate::plan::planner::match_accounts;

/// Fills in the centralized root access features, read only where IAM would answer (an
/// organization with trusted access for `iam.amazonaws.com`): one call, none otherwise.
pub async fn read_root_access(clients: &Clients, live: &mut LiveOrganization) -> Result<()> {
    let Some(organization) = &live.organization else { return Ok(()) };
    if !live.trusted_services.contains("iam.amazonaws.com") {
        return Ok(());
    }
    let iam = clients.sessions.iam(&organization.management_account_id).await;
    live.root_access_features = crate::live::organization::read_root_access_features(&iam).await?;
    Ok(())
}

/// Every active member account's root credentials (one AssumeRoot each); the first failure fails
/// the plan, since a plan that skipped an account would not show what apply leaves behind.
async fn read_member_root_credentials(
    clients: &Clients,
    live: &LiveOrganization,
    parallelism: usize,
) -> Result<std::collections::BTreeMap<String, crate::plan::state::RootCredentials>> {
    let Some(organization) = &live.organization else { return Ok(Default::default()) };
    let management = &organization.management_account_id;
    let members: Vec<String> = live
        .accounts
        .values()
        .filter(|account| account.state.is_active() && &account.id != management)
        .map(|account| account.id.clone())
        .collect();
    let read =
        crate::live::root_credentials::read_members(&clients.sessions, management, &members, parallelism).await;
    read.into_iter().map(|(id, result)| result.map(|credentials| (id, credentials))).collect()
}

/// The current time as RFC 3339 UTC.
pub fn now_rfc3339() -> String {
    let seconds = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    crate::plan::saved::rfc3339(seconds)
}

/// The plan as `plan --out` saves it: with the spec's digest and a digest of every live object it
/// was made from, so `apply FILE` can refuse it when either moved.
pub fn saved_plan(valid: &ValidSpec, outcome: &PlanOutcome) -> SavedPlan {
    SavedPlan {
        format_version: SAVED_PLAN_VERSION,
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        created_at: now_rfc3339(),
        spec_digest: valid.content_digest(),
        live_digests: live_digests(&outcome.live),
        known_accounts: outcome.known.accounts.clone(),
        known_organization: outcome.known.organization.clone(),
        plan_digest: plan_digest(&outcome.plan),
        plan: outcome.plan.clone(),
    }
}

/// Against an emulator (an endpoint override), whether it lacks the Account API's account names:
/// one `GetAccountInformation` of the management account, answered with an HTML page by emulators
/// that lack the operation. Never called against AWS, which has it.
async fn account_names_unsupported(clients: &Clients) -> Option<String> {
    if !crate::aws::errors::endpoint_overridden() {
        return None;
    }
    let management = clients.sessions.management_account().await?;
    let client = clients.sessions.account(&management).await;
    let error = client.get_account_information().send().await.err()?;
    let failure = crate::baseline::aws_error("GetAccountInformation", error);
    crate::baseline::unimplemented(&failure).map(|_| "PutAccountName".to_string())
}
