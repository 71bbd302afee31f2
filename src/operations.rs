//! Operations the commands call: each joins pipeline stages and returns data, never prints.

use std::sync::Arc;

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use futures::stream::{self, StreamExt, TryStreamExt};

use crate::apply::{execute, ApplyOptions, ApplyReport, Reporter};
use crate::aws::{load_config, Clients, ConnectOptions};
use crate::baseline::{Context as BaselineContext, ControlKey, KnownIds};
use crate::live::{read_organization, LiveOrganization, ReadScope};
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
    let desired = DesiredOrganization::from_spec(valid);
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
    let desired = DesiredOrganization::from_spec(valid);
    let known = KnownIds {
        accounts: match_accounts(&desired, &live),
        organization: live.organization.as_ref().map(|org| org.id.clone()),
    };
    live.controls = read_controls(&desired, &known, clients, parallelism).await?;
    let plan = plan(&desired, &live, options)?;
    Ok(PlanOutcome { plan, live, known })
}

/// Spec account name -> live account id, matched as the planner matches (pinned id, email,
/// management account).
pub fn match_accounts(desired: &DesiredOrganization, live: &LiveOrganization) -> BTreeMap<String, String> {
    let by_email: BTreeMap<String, &str> =
        live.accounts.values().map(|account| (account.email.to_lowercase(), account.id.as_str())).collect();
    desired
        .accounts
        .iter()
        .filter_map(|account| {
            let id = match &account.id {
                Some(id) => live.accounts.contains_key(id).then(|| id.clone()),
                None => by_email.get(&account.email.to_lowercase()).map(|id| (*id).to_string()).or_else(|| {
                    (desired.management_account.as_deref() == Some(account.name.as_str()))
                        .then(|| live.organization.as_ref().map(|org| org.management_account_id.clone()))
                        .flatten()
                }),
            };
            id.map(|id| (account.name.clone(), id))
        })
        .collect()
}

/// Reads the live attributes of every desired control in accounts that exist, concurrently.
async fn read_controls(
    desired: &DesiredOrganization,
    known: &KnownIds,
    clients: &Clients,
    parallelism: usize,
) -> Result<BTreeMap<ControlKey, Option<serde_json::Value>>> {
    let context = BaselineContext { sessions: &clients.sessions, ids: known };
    let keys: Vec<&ControlKey> = desired
        .controls
        .iter()
        .map(|control| &control.key)
        .filter(|key| known.accounts.contains_key(&key.account))
        .collect();
    let results: Vec<(ControlKey, Option<serde_json::Value>)> = stream::iter(keys)
        .map(|key| {
            let context = &context;
            async move {
                let value =
                    crate::baseline::read(context, key).await.with_context(|| format!("reading {}", key.label()))?;
                Ok::<_, anyhow::Error>((key.clone(), value))
            }
        })
        .buffer_unordered(parallelism.max(1))
        .try_collect()
        .await?;
    Ok(results.into_iter().collect())
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
