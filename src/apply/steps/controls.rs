//! Baseline control steps: resolve placeholders, then configure through the baseline that owns the
//! control, waiting out a new account that refuses its role for a while.

use super::*;

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
    let context = BaselineContext { sessions: &clients.sessions, ids: &ids };
    let started = tokio::time::Instant::now();
    let mut delay = Duration::from_secs(2);
    loop {
        match crate::baseline::apply(&context, control, &after, before).await {
            Ok(()) => return Ok(()),
            Err(error) if crate::baseline::unimplemented(&error).is_some() => {
                // Only emulators lack AWS operations; the next plan notes the control as unmanaged.
                return Err(anyhow::Error::new(crate::apply::Skipped { reason: format!("{error:#}") }));
            }
            // A new account's role can be refused for minutes after SUCCEEDED.
            Err(error)
                if new_account && is_access_denied_text(&error) && started.elapsed() < NEW_ACCOUNT_ACCESS_TIMEOUT =>
            {
                tracing::info!(control = %control.label(), "new account refuses access yet; retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(30));
            }
            Err(error) => return Err(error),
        }
    }
}

pub(super) fn is_access_denied_text(error: &anyhow::Error) -> bool {
    let text = format!("{error:#}");
    text.contains("AccessDenied") || text.contains("not authorized")
}
