//! Operations the commands call: each joins pipeline stages and returns data, never prints.

use std::sync::Arc;

use anyhow::{Context, Result};

use crate::apply::{execute, ApplyOptions, ApplyReport, Reporter};
use crate::aws::{load_config, Clients, ConnectOptions};
use crate::live::{read_organization, LiveOrganization, ReadScope};
use crate::plan::{plan, DesiredOrganization, Plan, PlanOptions};
use crate::spec::ValidSpec;

/// What `plan` produced: the plan and the state it was made from.
#[derive(Debug, Clone)]
pub struct PlanOutcome {
    pub plan: Plan,
    pub live: LiveOrganization,
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
    Clients::new(&config)
}

/// Reads the live organization and plans the spec against it.
pub async fn make_plan(
    valid: &ValidSpec,
    clients: &Clients,
    options: PlanOptions,
    parallelism: usize,
) -> Result<PlanOutcome> {
    let live = read_organization(&clients.organizations, &read_scope(valid), parallelism)
        .await
        .context("reading the live organization failed")?;
    let desired = DesiredOrganization::from_spec(valid);
    let plan = plan(&desired, &live, options)?;
    Ok(PlanOutcome { plan, live })
}

/// Applies a plan.
pub async fn apply_plan(
    plan: &Plan,
    clients: &Clients,
    parallelism: usize,
    reporter: Arc<dyn Reporter>,
) -> ApplyReport {
    execute(plan, clients, ApplyOptions { parallelism }, reporter).await
}
