//! Reads every desired baseline control in the accounts that exist, wide across accounts and
//! narrow within each, through the baseline that owns each control (the registry). Controls an emulator cannot read (it lacks the
//! operation) are returned apart, so the planner notes them instead of planning them.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Result;
use futures::stream::{self, StreamExt, TryStreamExt};

use crate::aws::session::Sessions;
use crate::aws::Concurrency;
use crate::baseline::Context as BaselineContext;
use crate::live::progress::{ReadReporter, ReadTally};
use crate::live::reads::RunReads;
use crate::plan::control::{ControlKey, DesiredControl, KnownIds};
use crate::plan::state::LiveOrganization;
use crate::plan::DesiredOrganization;

/// Live attributes by control (None: absent), and the controls the endpoint cannot read.
pub type ControlReads = (BTreeMap<ControlKey, Option<serde_json::Value>>, BTreeMap<ControlKey, String>);

/// Reads the live attributes of every desired control in accounts that exist, telling
/// `reporter` how far it is.
///
/// Each account's controls are read together, `concurrency.calls` at once, in up to
/// `concurrency.accounts` accounts at once: every member account has its own rate limits, so a
/// thousand accounts are read wide, and no one account sees more than a few calls at a time.
pub async fn read_controls_reporting(
    desired: &DesiredOrganization,
    known: &KnownIds,
    live: &LiveOrganization,
    sessions: &Sessions,
    concurrency: Concurrency,
    reporter: &dyn ReadReporter,
) -> Result<ControlReads> {
    // Attributes are resolved (placeholders filled in) as each control is read, not all up front:
    // at 1,000 accounts a resolved copy of every control's attributes is megabytes held for the
    // whole read.
    let controls: Vec<&DesiredControl> =
        desired.controls.iter().filter(|control| known.accounts.contains_key(&control.key.account)).collect();
    let reads = RunReads::new(controls.iter().map(|control| control.key.clone()).collect());
    let context = BaselineContext { sessions, ids: known, reads: Some(&reads) };
    let tally = ReadTally::new(controls.iter().map(|control| &control.key));
    reporter.progress(tally.now());
    let mut by_account: BTreeMap<&str, Vec<&DesiredControl>> = BTreeMap::new();
    for control in controls {
        by_account.entry(control.key.account.as_str()).or_default().push(control);
    }
    tracing::info!("reading {} controls in {} accounts", tally.now().controls, by_account.len());
    let reading = Reading { context: &context, known, live, tally: &tally, reporter, calls: concurrency.calls };
    let per_account: Vec<Vec<Read>> = stream::iter(by_account.into_values())
        .map(|controls| reading.read_account(controls))
        .buffer_unordered(concurrency.accounts.max(1))
        .try_collect()
        .await?;
    reporter.finished(tally.now());
    let mut controls = BTreeMap::new();
    let mut unsupported = BTreeMap::new();
    for (key, result) in per_account.into_iter().flatten() {
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

type Read = (ControlKey, Result<Option<serde_json::Value>, String>);

/// What one round of concurrent reads shares.
struct Reading<'a> {
    context: &'a BaselineContext<'a>,
    known: &'a KnownIds,
    live: &'a LiveOrganization,
    tally: &'a ReadTally,
    reporter: &'a dyn ReadReporter,
    /// Reads at once within the account.
    calls: usize,
}

impl Reading<'_> {
    /// One account's controls. Its opt-in Regions first: a control in a Region the account has
    /// not enabled cannot be read (AWS refuses every call there) and reads as absent; the plan
    /// enables the Region first.
    async fn read_account(&self, controls: Vec<&DesiredControl>) -> Result<Vec<Read>> {
        let (gates, rest): (Vec<_>, Vec<_>) =
            controls.into_iter().partition(|control| control.key.control == crate::baseline::regions::CONTROL);
        let mut results = self.read(gates, &BTreeSet::new()).await?;
        let closed: BTreeSet<(String, String)> = results
            .iter()
            .filter(|(_, result)| !matches!(result, Ok(value) if crate::baseline::regions::usable(value.as_ref())))
            .filter_map(|(key, _)| Some((key.account.clone(), key.region.clone()?)))
            .collect();
        results.extend(self.read(rest, &closed).await?);
        if let Some((key, _)) = results.first() {
            tracing::info!("account {}: {} controls read", key.account, results.len());
        }
        Ok(results)
    }

    /// Reads `controls` concurrently; those in a `closed` (account, Region) read as absent.
    async fn read(&self, controls: Vec<&DesiredControl>, closed: &BTreeSet<(String, String)>) -> Result<Vec<Read>> {
        stream::iter(controls)
            .map(|control| {
                let key = &control.key;
                let disabled_region =
                    key.region.as_ref().is_some_and(|region| closed.contains(&(key.account.clone(), region.clone())));
                let unreadable = disabled_region || needs_missing_trusted_access(key, self.known, self.live);
                async move {
                    if unreadable {
                        // AWS refuses the read (AccessDeniedException) until trusted access is on,
                        // or the Region is enabled, and nothing was set there yet: absent. The
                        // plan enables the access or the Region first.
                        self.reporter.progress(self.tally.read(key));
                        return Ok::<Read, anyhow::Error>((key.clone(), Ok(None)));
                    }
                    let attributes = crate::plan::control::resolve(&control.attributes, self.known);
                    let read = read_waiting_for_activation(self.context, key, &attributes).await;
                    self.reporter.progress(self.tally.read(key));
                    match read {
                        Ok(value) => Ok::<Read, anyhow::Error>((key.clone(), Ok(value))),
                        Err(error) => match crate::baseline::unimplemented(&error) {
                            Some(missing) => Ok((key.clone(), Err(missing.operation.clone()))),
                            None => Err(error.context(format!("reading {}", key.label()))),
                        },
                    }
                }
            })
            .buffer_unordered(self.calls.max(1))
            .try_collect()
            .await
    }
}

/// Whether reading `key` needs trusted access the organization does not have yet (the baseline
/// that owns it says which service, `Baseline::read_needs_trusted_access`). The management
/// account's own controls are read with its own credentials and need none.
fn needs_missing_trusted_access(key: &ControlKey, known: &KnownIds, live: &LiveOrganization) -> bool {
    let management = live.organization.as_ref().map(|org| org.management_account_id.as_str());
    let Ok(owner) = crate::baseline::owner(key) else { return false };
    owner.read_needs_trusted_access(key).is_some_and(|service| !live.trusted_services.contains(service))
        && known.accounts.get(&key.account).map(String::as_str) != management
}

/// How long a read waits for an account whose services AWS is still activating.
const ACTIVATION_WAIT: std::time::Duration = std::time::Duration::from_secs(5 * 60);

/// Reads one control; an account created minutes ago (by an earlier or interrupted apply) answers
/// `SubscriptionRequiredException` / `OptInRequired` until AWS has activated its services, which
/// says "not yet", not "no": wait for it with backoff (bounded), as the write steps do.
async fn read_waiting_for_activation(
    context: &BaselineContext<'_>,
    key: &ControlKey,
    attributes: &serde_json::Value,
) -> Result<Option<serde_json::Value>> {
    let started = tokio::time::Instant::now();
    let mut delay = std::time::Duration::from_millis(250);
    loop {
        match crate::baseline::read(context, key, attributes).await {
            Err(error)
                if crate::aws::errors::is_account_still_activating(&error) && started.elapsed() < ACTIVATION_WAIT =>
            {
                tracing::info!(control = %key.label(), "the account is still being activated; reading again");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(std::time::Duration::from_secs(15));
            }
            other => return other,
        }
    }
}
