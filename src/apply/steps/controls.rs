//! Baseline control steps: resolve placeholders, then configure through the baseline that owns the
//! control, waiting out a new account that refuses its role for a while.

use super::*;
use crate::aws::errors::{is_account_still_activating, is_invalid_new_principal, is_new_account_not_ready};

/// How long a just-created account may refuse the executor's role before apply gives up.
pub(super) const NEW_ACCOUNT_ACCESS_TIMEOUT: Duration = Duration::from_secs(10 * 60);

/// `Action::ConfigureControl`.
pub(super) async fn configure_control(
    step: &Step<'_>,
    control: &ControlKey,
    before: &Option<Value>,
    after: &Value,
) -> Result<()> {
    let (clients, resolution, before) = (step.clients, step.resolution, before.as_ref());
    let (ids, new_account) = {
        let resolution = resolution.lock().await;
        let ids = KnownIds { accounts: resolution.accounts.clone(), organization: resolution.organization_id.clone() };
        (ids, resolution.created_accounts.contains(&control.account))
    };
    let after = resolve(after, &ids);
    if has_placeholders(&after) {
        bail!("{}: an id it refers to is still unknown: {after}", control.label());
    }
    let context = BaselineContext { sessions: &clients.sessions, ids: &ids, reads: None };
    let started = tokio::time::Instant::now();
    let mut tries: u32 = 0;
    loop {
        let error = match crate::baseline::apply(&context, control, &after, before).await {
            Ok(()) => return Ok(()),
            Err(error) => error,
        };
        if crate::baseline::unimplemented(&error).is_some() {
            // Only emulators lack AWS operations; the next plan notes the control as unmanaged.
            return Err(anyhow::Error::new(crate::apply::Skipped { reason: format!("{error:#}") }));
        }
        let Some(reason) = eventual_consistency(&error, new_account) else { return Err(error) };
        let limit = match reason {
            Waiting::NewAccount => NEW_ACCOUNT_ACCESS_TIMEOUT,
            Waiting::NewPrincipal => NEW_PRINCIPAL_TIMEOUT,
        };
        if started.elapsed() >= limit {
            return Err(error.context(format!(
                "{}: still refused after {} s of retries ({reason})",
                control.label(),
                limit.as_secs()
            )));
        }
        tries += 1;
        tracing::info!(control = %control.label(), tries, %reason, "not ready yet; retrying");
        tokio::time::sleep(eventual_consistency_delay(tries, fastrand::f64())).await;
    }
}

/// How long IAM may refuse a role created by this apply as a principal before apply gives up.
pub(super) const NEW_PRINCIPAL_TIMEOUT: Duration = Duration::from_secs(2 * 60);

/// Why a failed control is retried rather than reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Waiting {
    /// An account this apply created is not ready (SubscriptionRequiredException, OptInRequired,
    /// its access role refused).
    NewAccount,
    /// A role created seconds ago is not yet a valid principal in a trust policy.
    NewPrincipal,
}

impl std::fmt::Display for Waiting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Waiting::NewAccount => "a new account is not ready yet",
            Waiting::NewPrincipal => "a new role is not yet a valid principal",
        })
    }
}

/// Pure: whether an error is AWS's eventual consistency, decided on its typed code.
pub(super) fn eventual_consistency(error: &anyhow::Error, new_account: bool) -> Option<Waiting> {
    if new_account && is_new_account_not_ready(error) {
        return Some(Waiting::NewAccount);
    }
    // An account an interrupted apply created moments ago is not "new" to this apply, but AWS has
    // not finished activating its services either; only AccessDenied stays fatal for it (a role
    // that does not exist would otherwise be waited on for ten minutes).
    if is_account_still_activating(error) {
        return Some(Waiting::NewAccount);
    }
    // The principal may live in another account than the control's, created in this apply or an
    // interrupted one just before; only this message of IAM's means that.
    if is_invalid_new_principal(error) {
        return Some(Waiting::NewPrincipal);
    }
    None
}

/// Exponential backoff with full jitter: 0.5 s doubling, capped at 20 s.
pub(super) fn eventual_consistency_delay(tries: u32, jitter: f64) -> Duration {
    let ceiling = Duration::from_millis(500).saturating_mul(1 << tries.min(6)).min(Duration::from_secs(20));
    ceiling.mul_f64(jitter.clamp(0.0, 1.0)).max(Duration::from_millis(100))
}

/// `Action::RemoveControl`: through the baseline that owns the control, which checks its
/// ownership mark again before removing anything.
/// A removal in an account this apply created (a default VPC AWS made with it) waits out the
/// account's first minutes as configuring does.
pub(super) async fn remove_control(step: &Step<'_>, control: &ControlKey, before: &Value) -> Result<()> {
    let (ids, new_account) = {
        let resolution = step.resolution.lock().await;
        let ids = KnownIds { accounts: resolution.accounts.clone(), organization: resolution.organization_id.clone() };
        (ids, resolution.created_accounts.contains(&control.account))
    };
    let context = BaselineContext { sessions: &step.clients.sessions, ids: &ids, reads: None };
    let started = tokio::time::Instant::now();
    let mut tries: u32 = 0;
    loop {
        let error = match crate::baseline::remove(&context, control, before).await {
            Ok(()) => return Ok(()),
            Err(error) => error,
        };
        if crate::baseline::unimplemented(&error).is_some() {
            return Err(anyhow::Error::new(crate::apply::Skipped { reason: format!("{error:#}") }));
        }
        match eventual_consistency(&error, new_account) {
            Some(reason @ Waiting::NewAccount) if started.elapsed() < NEW_ACCOUNT_ACCESS_TIMEOUT => {
                tries += 1;
                tracing::info!(control = %control.label(), tries, %reason, "not ready yet; retrying");
                tokio::time::sleep(eventual_consistency_delay(tries, fastrand::f64())).await;
            }
            _ => return Err(error),
        }
    }
}
