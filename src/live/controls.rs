//! Reads every desired baseline control in the accounts that exist, wide across accounts and
//! narrow within each, through the baseline that owns each control (the registry). Controls an emulator cannot read (it lacks the
//! operation) are returned apart, so the planner notes them instead of planning them. It also
//! searches the accounts for what landing-zone created and the spec no longer asks for
//! ([`find_owned`], through `Baseline::find`), likewise wide across accounts and narrow within each.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Result;
use futures::stream::{self, StreamExt, TryStreamExt};

use crate::aws::session::Sessions;
use crate::aws::Concurrency;
use crate::baseline::reads::RunReads;
use crate::baseline::Context as BaselineContext;
use crate::live::early::EarlyReads;
use crate::live::progress::{ReadReporter, ReadTally};
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
    (reads, early): (&RunReads, Option<&EarlyReads<'_>>),
) -> Result<ControlReads> {
    // Attributes are resolved (placeholders filled in) as each control is read, not all up front:
    // at 1,000 accounts a resolved copy of every control's attributes is megabytes held for the
    // whole read.
    let controls: Vec<&DesiredControl> =
        desired.controls.iter().filter(|control| known.accounts.contains_key(&control.key.account)).collect();
    let context = BaselineContext { sessions, ids: known, reads: Some(reads) };
    let tally = ReadTally::new(controls.iter().map(|control| &control.key));
    reporter.progress(tally.now());
    let mut by_account: BTreeMap<&str, Vec<&DesiredControl>> = BTreeMap::new();
    for control in controls {
        by_account.entry(control.key.account.as_str()).or_default().push(control);
    }
    tracing::info!("reading {} controls in {} accounts", tally.now().controls, by_account.len());
    let reading = Reading { context: &context, known, live, tally: &tally, reporter, calls: concurrency.calls };
    let (reading, tally) = (&reading, &tally);
    let per_account: Vec<Vec<Read>> = stream::iter(by_account)
        .map(|(account, controls)| async move {
            // Read already while the tree was walked (`live::early`): only told as read now.
            if let Some(reads) = finished_early(early, account).await.and_then(|done| done.take_reads()) {
                for (key, _) in &reads {
                    reporter.progress(tally.read(key));
                }
                return Ok(reads);
            }
            reading.read_account(controls).await
        })
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

/// What was read of `account` while the tree was walked, if anything.
async fn finished_early(
    early: Option<&EarlyReads<'_>>,
    account: &str,
) -> Option<std::sync::Arc<crate::live::early::AccountReads>> {
    early?.finished(account).await
}

/// One control's read: its live attributes (None: absent), or the operation the endpoint lacks.
pub(super) type Read = (ControlKey, Result<Option<serde_json::Value>, String>);

/// What one round of concurrent reads shares.
pub(super) struct Reading<'a> {
    pub(super) context: &'a BaselineContext<'a>,
    pub(super) known: &'a KnownIds,
    pub(super) live: &'a LiveOrganization,
    pub(super) tally: &'a ReadTally,
    pub(super) reporter: &'a dyn ReadReporter,
    /// Reads at once within the account.
    pub(super) calls: usize,
}

impl Reading<'_> {
    /// One account's controls. Its opt-in Regions first: a control in a Region the account has
    /// not enabled cannot be read (AWS refuses every call there) and reads as absent; the plan
    /// enables the Region first.
    pub(super) async fn read_account(&self, controls: Vec<&DesiredControl>) -> Result<Vec<Read>> {
        let (gates, rest): (Vec<_>, Vec<_>) =
            controls.into_iter().partition(|control| crate::baseline::is_region_gate(&control.key));
        let mut results = self.read(gates, &BTreeSet::new()).await?;
        let closed: BTreeSet<(String, String)> = results
            .iter()
            .filter(|(key, result)| !matches!(result, Ok(value) if crate::baseline::region_usable(key, value.as_ref())))
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

/// What the baselines that track what they create found where the spec does not ask for it.
#[derive(Debug, Default)]
pub struct FoundControls {
    /// Created by landing-zone: live attributes, and what removing it loses (if anything).
    pub owned: BTreeMap<ControlKey, (serde_json::Value, Option<String>)>,
    /// Not created by landing-zone: never removed.
    pub unowned: BTreeSet<ControlKey>,
}

/// Where to look for what the tool created and no longer wants.
#[derive(Clone, Copy)]
pub struct FindScope<'a> {
    /// The baselines whose resources are searched (`baseline::tracked`).
    pub baselines: &'a [&'static dyn crate::baseline::Baseline],
    /// Only these accounts (spec names); None: every existing, active account of the spec.
    pub accounts: Option<&'a BTreeSet<String>>,
    /// Keep only these controls (a reviewed plan's removals, read again); None: all.
    pub keys: Option<&'a BTreeSet<ControlKey>>,
}

/// Searches every existing, active account of the spec (and each of the spec's regions for
/// regional kinds) for the resources each tracking baseline created where the spec no longer asks
/// for them, wide across accounts and `concurrency.calls` at once within each. Accounts the spec
/// closes are skipped: their resources go with them. `context` is the reads' own: a search answers
/// from what the reads already listed where it can (AWS Config's rules of an account and region).
pub async fn find_owned(
    desired: &DesiredOrganization,
    regions: &[String],
    live: &LiveOrganization,
    context: &BaselineContext<'_>,
    concurrency: Concurrency,
    scope: FindScope<'_>,
    early: Option<&EarlyReads<'_>>,
) -> Result<FoundControls> {
    let known = context.ids;
    if scope.baselines.is_empty() {
        return Ok(FoundControls::default());
    }
    let wanted: BTreeSet<ControlKey> = desired.controls.iter().map(|control| control.key.clone()).collect();
    let accounts: Vec<&str> = desired
        .accounts
        .iter()
        .filter(|account| !account.close)
        .filter(|account| scope.accounts.is_none_or(|names| names.contains(&account.name)))
        .filter(|account| match scope.keys {
            Some(keys) => keys.iter().any(|key| key.account == account.name),
            None => true,
        })
        .filter(|account| {
            known.accounts.get(&account.name).and_then(|id| live.accounts.get(id)).is_some_and(|a| a.state.is_active())
        })
        .map(|account| account.name.as_str())
        .collect();
    tracing::debug!(accounts = ?accounts, "searching for what landing-zone created");
    let wanted = &wanted;
    // Wide across accounts, at most `concurrency.calls` searches at once within each.
    let results: Vec<Vec<crate::baseline::Found>> = stream::iter(accounts)
        .map(|account| async move {
            // Searched already while the tree was walked (`live::early`).
            if let Some(found) = finished_early(early, account).await.and_then(|done| done.take_found()) {
                return Ok::<_, anyhow::Error>(found);
            }
            let found = search_account(scope.baselines, context, account, regions, wanted, concurrency.calls).await?;
            // The account's controls were read before the search: its batched listings are done.
            if let Some(reads) = context.reads {
                reads.forget_account(account);
            }
            Ok(found)
        })
        .buffer_unordered(concurrency.accounts.max(1))
        .try_collect()
        .await?;
    let mut found = FoundControls::default();
    for item in results.into_iter().flatten() {
        if wanted.contains(&item.key) || scope.keys.is_some_and(|keys| !keys.contains(&item.key)) {
            continue;
        }
        if item.owned {
            found.owned.insert(item.key, (item.attributes, item.loses_data.map(str::to_string)));
        } else {
            found.unowned.insert(item.key);
        }
    }
    Ok(found)
}

/// One account's searches for what `baselines` created there: one per baseline and, for
/// regional kinds, per Region, `calls` at once.
pub(super) async fn search_account(
    baselines: &[&'static dyn crate::baseline::Baseline],
    context: &BaselineContext<'_>,
    account: &str,
    regions: &[String],
    wanted: &BTreeSet<ControlKey>,
    calls: usize,
) -> Result<Vec<crate::baseline::Found>> {
    let mut searches: Vec<(&'static dyn crate::baseline::Baseline, Option<&str>)> = Vec::new();
    for baseline in baselines {
        let Some(ownership) = baseline.ownership() else { continue };
        let (account_wide, regional) = match ownership.places {
            crate::baseline::Places::Account => (true, false),
            crate::baseline::Places::Regions => (false, true),
            crate::baseline::Places::Both => (true, true),
        };
        if account_wide {
            searches.push((*baseline, None));
        }
        if regional {
            searches.extend(regions.iter().map(|region| (*baseline, Some(region.as_str()))));
        }
    }
    let found: Vec<Vec<crate::baseline::Found>> = stream::iter(searches)
        .map(|(baseline, region)| search(baseline, context, account, region, wanted))
        .buffer_unordered(calls.max(1))
        .try_collect()
        .await?;
    Ok(found.into_iter().flatten().collect())
}

/// One search; an endpoint that lacks the listing (emulators only) finds nothing.
async fn search(
    baseline: &'static dyn crate::baseline::Baseline,
    context: &BaselineContext<'_>,
    account: &str,
    region: Option<&str>,
    wanted: &BTreeSet<ControlKey>,
) -> Result<Vec<crate::baseline::Found>> {
    match find_waiting_for_activation(baseline, context, account, region, wanted).await {
        Ok(found) => Ok(found),
        Err(error) if crate::baseline::unimplemented(&error).is_some() => {
            tracing::debug!(account, family = baseline.family(), "{error:#}");
            Ok(Vec::new())
        }
        Err(error) => Err(error.context(format!(
            "searching {account}{} for what landing-zone created ({})",
            region.map(|region| format!(" ({region})")).unwrap_or_default(),
            baseline.family()
        ))),
    }
}

/// One search, waiting (bounded) for an account whose services AWS is still activating.
async fn find_waiting_for_activation(
    baseline: &'static dyn crate::baseline::Baseline,
    context: &BaselineContext<'_>,
    account: &str,
    region: Option<&str>,
    wanted: &BTreeSet<ControlKey>,
) -> Result<Vec<crate::baseline::Found>> {
    let started = tokio::time::Instant::now();
    let mut delay = std::time::Duration::from_millis(250);
    loop {
        match baseline.find(context, account, region, wanted).await {
            Err(error)
                if crate::aws::errors::is_account_still_activating(&error) && started.elapsed() < ACTIVATION_WAIT =>
            {
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(std::time::Duration::from_secs(15));
            }
            other => return other,
        }
    }
}
