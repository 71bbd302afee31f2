//! Opt-in Regions (`region_opt_in`): every account of the spec has each opt-in Region of
//! `organization.regions` enabled, through the Account API from the management account
//! (`GetRegionOptStatus` / `EnableRegion` with the member's `AccountId`; the management account's
//! own without it), and the executor waits until the Region is `ENABLED` (enabling is asynchronous).
//!
//! Every other control in that account and Region runs after it ([`gate`]), and the live reader
//! reads such a control as absent while the Region is not enabled (AWS refuses every call there):
//! the plan shows the Region's enablement and what follows it, and apply orders them.
//!
//! This module owns the Region controls only; which Regions are opt-in is data in `spec::regions`.
//! https://docs.aws.amazon.com/accounts/latest/reference/manage-acct-regions.html

use std::collections::BTreeSet;
use std::time::Duration;

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::attributes::{decode, encode};
use super::{aws_error, Actions, Baseline, BoxFuture, Context, Permissions};
use crate::aws::retry::{with_retry, RetryPolicy};
use crate::plan::control::{ControlKey, DesiredControl, Inputs};
use crate::spec::regions::is_opt_in;
use crate::spec::Spec;

pub const CONTROL: &str = "region_opt_in";
/// The Account API's trusted-access principal (calls with a member's `AccountId` need it).
pub const SERVICE: &str = "account.amazonaws.com";
/// The status the spec wants (`RegionOptStatus`).
pub const ENABLED: &str = "ENABLED";
/// How long apply waits for `ENABLING` to become `ENABLED`. AWS: enabling "takes a few minutes
/// for most accounts, but this can take several hours"
/// (https://docs.aws.amazon.com/accounts/latest/reference/API_EnableRegion.html): the common case
/// is waited out; past this the apply fails naming the account and Region, and a later apply
/// resumes the wait (it reads ENABLING and sends no second EnableRegion).
const WAIT_LIMIT: Duration = Duration::from_secs(30 * 60);
/// Region-opt requests (EnableRegion / DisableRegion) in progress at once, as AWS limits them:
/// "Number of concurrent region-opt requests per account: 6" and "per organization: 50"
/// (https://docs.aws.amazon.com/accounts/latest/reference/quotas.html). A request is in progress
/// from EnableRegion until the Region reads ENABLED.
pub const OPT_INS_PER_ACCOUNT: usize = 6;
pub const OPT_INS_PER_ORGANIZATION: usize = 50;
/// How often a progress line is logged while a Region is being enabled.
const PROGRESS_EVERY: Duration = Duration::from_secs(30);

/// Slots for region-opt requests in progress: one per account of `per_account`, and one of
/// `per_organization` shared by every account. A slot is held from before EnableRegion until the
/// Region is ENABLED (or the wait gives up), so no more requests are in progress than AWS allows.
pub struct OptInSlots {
    per_account: usize,
    organization: std::sync::Arc<tokio::sync::Semaphore>,
    accounts: std::sync::Mutex<std::collections::HashMap<String, std::sync::Arc<tokio::sync::Semaphore>>>,
}

/// A held slot; dropping it frees both permits.
pub struct OptInSlot {
    _account: tokio::sync::OwnedSemaphorePermit,
    _organization: tokio::sync::OwnedSemaphorePermit,
}

impl OptInSlots {
    pub fn new(per_account: usize, per_organization: usize) -> OptInSlots {
        OptInSlots {
            per_account: per_account.max(1),
            organization: std::sync::Arc::new(tokio::sync::Semaphore::new(per_organization.max(1))),
            accounts: std::sync::Mutex::new(std::collections::HashMap::new()),
        }
    }

    /// Waits for a slot in `account` and one in the organization (the account's first, so a
    /// request waiting for its account holds none of the organization's).
    pub async fn acquire(&self, account: &str) -> Result<OptInSlot> {
        let semaphore = {
            // A poisoned lock only means another task panicked mid-insert; the map is usable.
            let mut accounts = self.accounts.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let per_account = self.per_account;
            std::sync::Arc::clone(
                accounts
                    .entry(account.to_string())
                    .or_insert_with(|| std::sync::Arc::new(tokio::sync::Semaphore::new(per_account))),
            )
        };
        let account_permit = semaphore.acquire_owned().await?;
        let organization_permit = std::sync::Arc::clone(&self.organization).acquire_owned().await?;
        Ok(OptInSlot { _account: account_permit, _organization: organization_permit })
    }
}

/// The process's slots (one apply per process).
fn slots() -> &'static OptInSlots {
    static SLOTS: std::sync::OnceLock<OptInSlots> = std::sync::OnceLock::new();
    SLOTS.get_or_init(|| OptInSlots::new(OPT_INS_PER_ACCOUNT, OPT_INS_PER_ORGANIZATION))
}

/// The live or desired state of one opt-in Region in one account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegionOptIn {
    /// `RegionOptStatus`: ENABLED, ENABLING, DISABLING, DISABLED, ENABLED_BY_DEFAULT.
    /// https://docs.aws.amazon.com/accounts/latest/reference/API_GetRegionOptStatus.html
    pub status: String,
}

/// The opt-in Regions of the spec.
fn opt_in_regions(spec: &Spec) -> Vec<&str> {
    spec.organization.regions.iter().map(String::as_str).filter(|region| is_opt_in(region)).collect()
}

pub fn desired(inputs: &Inputs<'_>) -> Vec<DesiredControl> {
    let regions = opt_in_regions(inputs.spec);
    if regions.is_empty() {
        return Vec::new();
    }
    let attributes = encode(&RegionOptIn { status: ENABLED.to_string() });
    let mut controls = Vec::new();
    for account in inputs.accounts.iter().filter(|account| !account.close) {
        for region in &regions {
            controls.push(
                DesiredControl::new(ControlKey::new(CONTROL, &account.name, Some(region)), attributes.clone())
                    .after_service(SERVICE),
            );
        }
    }
    controls
}

/// Makes every other control in an opt-in Region wait for that Region's enablement in its account.
pub fn gate(controls: &mut [DesiredControl]) {
    let gates: BTreeSet<ControlKey> =
        controls.iter().filter(|control| control.key.control == CONTROL).map(|control| control.key.clone()).collect();
    if gates.is_empty() {
        return;
    }
    for control in controls.iter_mut().filter(|control| control.key.control != CONTROL) {
        let Some(region) = control.key.region.as_deref() else { continue };
        let gate = ControlKey::new(CONTROL, &control.key.account, Some(region));
        if gates.contains(&gate) && !control.after.contains(&gate) {
            control.after.push(gate);
        }
    }
}

/// Whether a Region control's live value says the Region can be used.
pub fn usable(live: Option<&Value>) -> bool {
    live.and_then(|value| value["status"].as_str())
        .is_some_and(|status| status == ENABLED || status == "ENABLED_BY_DEFAULT")
}

/// The Account API takes no `AccountId` for the caller's own account (the management account).
async fn target_account(context: &Context<'_>, key: &ControlKey) -> Result<(aws_sdk_account::Client, Option<String>)> {
    let account_id = context.account_id(&key.account)?.to_string();
    let management = context.sessions.management_account().await;
    let client =
        context.sessions.client::<aws_sdk_account::Client>(management.as_deref().unwrap_or_default(), None).await;
    Ok((client, (management.as_deref() != Some(account_id.as_str())).then_some(account_id)))
}

fn region_of(key: &ControlKey) -> Result<&str> {
    match key.region.as_deref() {
        Some(region) => Ok(region),
        None => bail!("{} has no region", key.label()),
    }
}

async fn status(client: &aws_sdk_account::Client, account: Option<String>, region: &str) -> Result<String> {
    let output = with_retry(&RetryPolicy::default(), "GetRegionOptStatus", || {
        client.get_region_opt_status().set_account_id(account.clone()).region_name(region).send()
    })
    .await
    .map_err(|error| aws_error("GetRegionOptStatus", error))?;
    Ok(output.region_opt_status.map(|status| status.as_str().to_string()).unwrap_or_default())
}

pub async fn read(context: &Context<'_>, key: &ControlKey) -> Result<Option<Value>> {
    let (client, account) = target_account(context, key).await?;
    let status = status(&client, account, region_of(key)?).await?;
    Ok(Some(encode(&RegionOptIn { status })))
}

pub async fn apply(context: &Context<'_>, key: &ControlKey, attributes: &Value) -> Result<()> {
    let wanted: RegionOptIn = decode(key, attributes)?;
    if wanted.status != ENABLED {
        bail!("{}: landing-zone only enables Regions, it does not disable them", key.label());
    }
    let (client, account) = target_account(context, key).await?;
    let region = region_of(key)?;
    let current = status(&client, account.clone(), region).await?;
    if matches!(current.as_str(), ENABLED | "ENABLED_BY_DEFAULT") {
        return Ok(());
    }
    // An ENABLING Region is a request in progress too: it holds a slot while it is waited for.
    let _slot = slots().acquire(&key.account).await?;
    let current = status(&client, account.clone(), region).await?;
    if matches!(current.as_str(), "DISABLED" | "DISABLING") {
        // https://docs.aws.amazon.com/accounts/latest/reference/API_EnableRegion.html: a Region
        // still DISABLING answers ConflictException; the wait below retries it.
        let enabled = with_retry(&RetryPolicy::default(), "EnableRegion", || {
            client.enable_region().set_account_id(account.clone()).region_name(region).send()
        })
        .await;
        match enabled {
            Ok(_) => {}
            Err(error) if crate::aws::errors::is_conflict(&error) => {}
            Err(error) => return Err(aws_error("EnableRegion", error)),
        }
    }
    // ENABLING -> ENABLED: poll with a growing interval (250 ms up to 15 s), saying so every 30 s.
    let started = std::time::Instant::now();
    let mut interval = Duration::from_millis(250);
    let mut reported: Option<std::time::Instant> = None;
    loop {
        let status = status(&client, account.clone(), region).await?;
        match status.as_str() {
            ENABLED | "ENABLED_BY_DEFAULT" => return Ok(()),
            "DISABLED" => {
                with_retry(&RetryPolicy::default(), "EnableRegion", || {
                    client.enable_region().set_account_id(account.clone()).region_name(region).send()
                })
                .await
                .map_err(|error| aws_error("EnableRegion", error))?;
            }
            _ => {}
        }
        if reported.is_none_or(|at| at.elapsed() >= PROGRESS_EVERY) {
            tracing::info!(
                "waiting for {region} to be enabled in account `{}`: {status} after {} s",
                key.account,
                started.elapsed().as_secs()
            );
            reported = Some(std::time::Instant::now());
        }
        if started.elapsed() > WAIT_LIMIT {
            return Err(still_waiting(&key.account, region, &status, WAIT_LIMIT));
        }
        tokio::time::sleep(interval).await;
        interval = (interval * 2).min(Duration::from_secs(15));
    }
}

/// The error of a wait that gave up: names the account, the Region, its status and the wait.
fn still_waiting(account: &str, region: &str, status: &str, waited: Duration) -> anyhow::Error {
    anyhow::anyhow!(
        "{region} is still {status} in account `{account}` after {} minutes\nhint: AWS can take several hours to enable a Region; run apply again later to resume the wait",
        waited.as_secs() / 60
    )
}

/// The Region opt-in controls in the registry; they come with `organization.regions`, not a
/// `baseline:` section.
pub struct Regions;

impl Baseline for Regions {
    fn family(&self) -> &'static str {
        CONTROL
    }

    fn is_region_gate(&self, key: &ControlKey) -> bool {
        key.control == CONTROL
    }

    fn region_usable(&self, live: Option<&Value>) -> bool {
        usable(live)
    }

    fn section(&self) -> &'static str {
        "regions"
    }

    fn summary(&self) -> &'static str {
        "opt-in Regions of `organization.regions` enabled in every account, through the Account API"
    }

    fn desired(&self, inputs: &Inputs<'_>) -> Vec<DesiredControl> {
        desired(inputs)
    }

    fn trusted_services(&self, spec: &Spec) -> Vec<&'static str> {
        if opt_in_regions(spec).is_empty() {
            Vec::new()
        } else {
            vec![SERVICE]
        }
    }

    // https://docs.aws.amazon.com/accounts/latest/reference/API_GetRegionOptStatus.html: with an
    // `AccountId`, the caller is the management account and trusted access must be enabled.
    fn read_needs_trusted_access(&self, _key: &ControlKey) -> Option<&'static str> {
        Some(SERVICE)
    }

    fn permissions(&self) -> Permissions {
        Permissions {
            management: Actions { read: &["account:GetRegionOptStatus"], write: &["account:EnableRegion"] },
            in_account: Actions { read: &[], write: &[] },
        }
    }

    fn read<'a>(
        &'a self,
        context: &'a Context<'_>,
        key: &'a ControlKey,
        _desired: &'a Value,
    ) -> BoxFuture<'a, Result<Option<Value>>> {
        Box::pin(read(context, key))
    }

    fn apply<'a>(
        &'a self,
        context: &'a Context<'_>,
        key: &'a ControlKey,
        attributes: &'a Value,
        _before: Option<&'a Value>,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(apply(context, key, attributes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn control(name: &str, account: &str, region: Option<&str>) -> DesiredControl {
        DesiredControl::new(ControlKey::new(name, account, region), serde_json::json!({}))
    }

    #[test]
    fn controls_in_an_opt_in_region_wait_for_its_enablement_in_their_account() {
        let mut controls = vec![
            control(CONTROL, "app", Some("af-south-1")),
            control("guardduty/detector", "app", Some("af-south-1")),
            control("guardduty/detector", "app", Some("us-east-1")),
            control("guardduty/detector", "other", Some("af-south-1")),
            control("password_policy", "app", None),
        ];
        gate(&mut controls);
        let gate_key = ControlKey::new(CONTROL, "app", Some("af-south-1"));
        assert_eq!(controls[1].after, [gate_key]);
        assert!(controls[0].after.is_empty(), "the gate does not wait for itself");
        assert!(controls[2].after.is_empty(), "a default Region needs no gate");
        assert!(controls[3].after.is_empty(), "no gate for that account: nothing to wait for");
        assert!(controls[4].after.is_empty(), "global controls need no Region");
    }

    /// 72 opt-ins over 12 accounts, each holding its slot a while: never more than 6 in progress
    /// in an account nor 50 in the organization, and the organization's 50 are all used.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn opt_in_slots_keep_to_six_per_account_and_fifty_per_organization() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::sync::Arc;
        let slots = Arc::new(OptInSlots::new(OPT_INS_PER_ACCOUNT, OPT_INS_PER_ORGANIZATION));
        let total = Arc::new(AtomicUsize::new(0));
        let most_total = Arc::new(AtomicUsize::new(0));
        let per_account: Arc<Vec<AtomicUsize>> = Arc::new((0..12).map(|_| AtomicUsize::new(0)).collect());
        let most_per_account = Arc::new(AtomicUsize::new(0));
        let mut tasks = tokio::task::JoinSet::new();
        for request in 0..72 {
            let (slots, total, most_total) = (Arc::clone(&slots), Arc::clone(&total), Arc::clone(&most_total));
            let (per_account, most_per_account) = (Arc::clone(&per_account), Arc::clone(&most_per_account));
            tasks.spawn(async move {
                let account = request % 12;
                let _slot = slots.acquire(&format!("account-{account}")).await.expect("slot");
                let now = total.fetch_add(1, Ordering::SeqCst) + 1;
                most_total.fetch_max(now, Ordering::SeqCst);
                let in_account = per_account[account].fetch_add(1, Ordering::SeqCst) + 1;
                most_per_account.fetch_max(in_account, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(50)).await;
                per_account[account].fetch_sub(1, Ordering::SeqCst);
                total.fetch_sub(1, Ordering::SeqCst);
            });
        }
        while tasks.join_next().await.is_some() {}
        assert_eq!(most_total.load(Ordering::SeqCst), OPT_INS_PER_ORGANIZATION);
        assert!(most_per_account.load(Ordering::SeqCst) <= OPT_INS_PER_ACCOUNT);
    }

    #[test]
    fn a_wait_that_gives_up_names_the_account_and_the_region() {
        let message = format!("{:#}", still_waiting("app", "af-south-1", "ENABLING", WAIT_LIMIT));
        assert!(message.starts_with("af-south-1 is still ENABLING in account `app` after 30 minutes"), "{message}");
        assert!(message.contains("hint: AWS can take several hours"), "{message}");
    }

    #[test]
    fn only_enabled_regions_are_usable() {
        let value = |status: &str| encode(&RegionOptIn { status: status.to_string() });
        assert!(usable(Some(&value("ENABLED"))));
        assert!(usable(Some(&value("ENABLED_BY_DEFAULT"))));
        for status in ["ENABLING", "DISABLED", "DISABLING"] {
            assert!(!usable(Some(&value(status))), "{status}");
        }
        assert!(!usable(None));
    }
}
