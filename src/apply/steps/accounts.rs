//! Account steps: create (never twice: an unanswered request is found and adopted), move, rename, close.

use super::*;

/// How long CreateAccount may take before the apply gives up waiting (AWS usually needs minutes).
pub(super) const ACCOUNT_CREATION_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// `Action::CreateAccount`.
pub(super) async fn create_account(
    step: &Step<'_>,
    name: &str,
    email: &str,
    tags: &BTreeMap<String, String>,
    pending_request: &Option<String>,
) -> Result<()> {
    let clients = step.clients;
    let resolution = step.resolution;
    let request_id = match pending_request {
        Some(request) => request.clone(),
        // The plan was made under the apply lock from a fresh read, which adopts any
        // IN_PROGRESS request of an earlier run (`pending_request`): none is left to find.
        None => request_account(clients, name, email, tags).await?,
    };
    let id = wait_for_account(clients, name, &request_id).await?;
    let mut resolution = resolution.lock().await;
    resolution.accounts.insert(name.to_string(), id);
    resolution.created_accounts.insert(name.to_string());
    Ok(())
}

/// `Action::MoveAccount`.
pub(super) async fn move_account(step: &Step<'_>, account: &AccountRef, from: &UnitRef, to: &UnitRef) -> Result<()> {
    let organizations = &step.clients.organizations;
    let retry = RetryPolicy::default();
    let clients = step.clients;
    let resolution = step.resolution;
    let account = account_id(account, resolution).await?;
    let source = unit_id(from, resolution).await?;
    let destination = unit_id(to, resolution).await?;
    let moved = with_retry(&retry, "MoveAccount", || {
        organizations
            .move_account()
            .account_id(&account)
            .source_parent_id(&source)
            .destination_parent_id(&destination)
            .send()
    })
    .await;
    match moved {
        Ok(_) => Ok(()),
        Err(error) if is_already_exists(&error) => Ok(()),
        Err(error) => {
            // After a crash the account may already sit at the destination.
            if current_parent(clients, &account).await.ok().as_deref() == Some(destination.as_str()) {
                Ok(())
            } else {
                bail!("MoveAccount `{account}` failed: {}", describe(&error))
            }
        }
    }
}

/// `Action::RenameAccount`: `account:PutAccountName` with the caller's credentials. A member is
/// named with `AccountId` (the plan enabled trusted access for `account.amazonaws.com` first); the
/// management account is named without it: "the management account can't specify its own
/// `AccountId`; it must call the operation in standalone context".
/// https://docs.aws.amazon.com/accounts/latest/reference/API_PutAccountName.html
/// Idempotent: naming an account what it is called already changes nothing, so throttles are
/// retried. AWS allows PutAccountName "1 per second, burst to 1 per second" per caller account
/// (https://docs.aws.amazon.com/accounts/latest/reference/quotas.html): renames running in
/// parallel are paced by the client's token bucket (`aws::rate_limit`), not left to throttle.
pub(super) async fn rename_account(step: &Step<'_>, account: &AccountRef, name: &str, management: bool) -> Result<()> {
    let sessions = &step.clients.sessions;
    let caller = sessions.management_account().await.context("the management account is not known yet")?;
    let client = sessions.client::<aws_sdk_account::Client>(&caller, None).await;
    let account_id = if management { None } else { Some(account_id(account, step.resolution).await?) };
    let renamed = with_retry(&RetryPolicy::default(), "PutAccountName", || {
        client.put_account_name().account_name(name).set_account_id(account_id.clone()).send()
    })
    .await;
    match renamed {
        Ok(_) => Ok(()),
        Err(error) => {
            let failure = crate::aws::errors::aws_error("PutAccountName", error);
            // Only an emulator answers an Account API call with an HTML page (it lacks the
            // operation); on AWS `aws_error` makes that an error of its own.
            if crate::aws::errors::unimplemented(&failure).is_some() {
                return Err(anyhow::Error::new(crate::apply::Skipped { reason: format!("{failure:#}") }));
            }
            Err(failure.context(format!(
                "naming account `{name}` failed\nhint: the caller needs `account:PutAccountName`, and a member account needs trusted access for `account.amazonaws.com`"
            )))
        }
    }
}

/// `Action::CloseAccount`.
pub(super) async fn close_account(step: &Step<'_>, id: &str, name: &str) -> Result<()> {
    let organizations = &step.clients.organizations;
    let retry = RetryPolicy::default();
    with_retry(&retry, "CloseAccount", || organizations.close_account().account_id(id).send())
        .await
        .map_err(|error| anyhow!("CloseAccount `{name}` failed: {}", describe(&error)))?;
    Ok(())
}

pub(super) async fn current_parent(clients: &Clients, account_id: &str) -> Result<String> {
    let output = with_retry(&RetryPolicy::default(), "ListParents", || {
        clients.organizations.list_parents().child_id(account_id).send()
    })
    .await
    .map_err(|error| anyhow!("ListParents failed: {}", describe(&error)))?;
    output.parents().first().and_then(|parent| parent.id.clone()).context("account has no parent")
}

/// Sends CreateAccount once, and never twice for one account: when an attempt may have reached
/// AWS without its answer coming back (a dropped connection, a 5xx), the next attempt first looks
/// for the request it may have started, by name, and for a finished one by email as well.
/// Throttles and concurrent-modification refusals did not create anything and are simply retried.
pub(super) async fn request_account(
    clients: &Clients,
    name: &str,
    email: &str,
    tags: &BTreeMap<String, String>,
) -> Result<String> {
    let policy = RetryPolicy::default();
    let mut maybe_sent = false;
    for tries in 1..=policy.max_attempts {
        if maybe_sent {
            if let Some(request) = find_account_request(clients, name, email).await? {
                tracing::info!(name, request, "adopting the CreateAccount request an unanswered attempt started");
                return Ok(request);
            }
        }
        // `RoleName` is the role Organizations creates in the new account, trusting the
        // management account; sessions assume `organization.access_role`, so both must agree or
        // the account is unreachable. Without it AWS names the role OrganizationAccountAccessRole.
        // https://docs.aws.amazon.com/organizations/latest/APIReference/API_CreateAccount.html
        let create = clients
            .organizations
            .create_account()
            .account_name(name)
            .email(email)
            .role_name(clients.sessions.access_role())
            .set_tags(aws_tags(tags).ok());
        let sent = call_once("CreateAccount", create.send()).await;
        let error = match sent {
            Ok(output) => {
                return output
                    .create_account_status
                    .and_then(|status| status.id)
                    .context("CreateAccount returned no request id");
            }
            Err(error) => error,
        };
        match classify(facts_of(&error)) {
            RetryClass::Fatal => bail!("CreateAccount `{name}` failed: {}", describe(&error)),
            RetryClass::Transient => maybe_sent = true,
            RetryClass::Throttled | RetryClass::ConcurrentModification => {}
        }
        tracing::debug!(name, tries, error = %describe(&error), "retrying CreateAccount");
        tokio::time::sleep(policy.delay(tries, fastrand::f64())).await;
    }
    bail!("CreateAccount `{name}` failed after {} attempts", policy.max_attempts)
}

/// The CreateAccount request an unanswered attempt may have started: one IN_PROGRESS for `name`,
/// or one SUCCEEDED for `name` whose account has `email` (it finished before the answer was lost).
pub(super) async fn find_account_request(clients: &Clients, name: &str, email: &str) -> Result<Option<String>> {
    let states = vec![CreateAccountState::InProgress, CreateAccountState::Succeeded];
    // Paged by hand: each page is one call through `with_retry` (paced to the Organizations
    // API's rate, retried alone on its throttles), as `live::organization` pages its lists.
    let mut token: Option<String> = None;
    loop {
        let output = with_retry(&RetryPolicy::default(), "ListCreateAccountStatus", || {
            clients
                .organizations
                .list_create_account_status()
                .set_states(Some(states.clone()))
                .set_next_token(token.clone())
                .send()
        })
        .await
        .map_err(|error| anyhow!("ListCreateAccountStatus failed: {}", describe(&error)))?;
        for status in output.create_account_statuses() {
            if status.account_name() != Some(name) {
                continue;
            }
            let Some(request) = status.id.clone() else { continue };
            if status.state() == Some(&CreateAccountState::InProgress) {
                return Ok(Some(request));
            }
            if let (Some(CreateAccountState::Succeeded), Some(account)) = (status.state(), status.account_id()) {
                if account_email(clients, account).await?.is_some_and(|found| found.eq_ignore_ascii_case(email)) {
                    return Ok(Some(request));
                }
            }
        }
        token = output.next_token;
        if token.is_none() {
            return Ok(None);
        }
    }
}

pub(super) async fn account_email(clients: &Clients, account_id: &str) -> Result<Option<String>> {
    let output = with_retry(&RetryPolicy::default(), "DescribeAccount", || {
        clients.organizations.describe_account().account_id(account_id).send()
    })
    .await;
    match output {
        Ok(output) => Ok(output.account.and_then(|account| account.email)),
        Err(error) if is_not_found(&error) => Ok(None),
        Err(error) => bail!("DescribeAccount `{account_id}` failed: {}", describe(&error)),
    }
}

/// Polls DescribeCreateAccountStatus with backoff until the account exists or creation failed.
pub(super) async fn wait_for_account(clients: &Clients, name: &str, request_id: &str) -> Result<String> {
    let started = tokio::time::Instant::now();
    let mut delay = Duration::from_millis(500);
    loop {
        let output = with_retry(&RetryPolicy::default(), "DescribeCreateAccountStatus", || {
            clients.organizations.describe_create_account_status().create_account_request_id(request_id).send()
        })
        .await
        .map_err(|error| anyhow!("DescribeCreateAccountStatus `{request_id}` failed: {}", describe(&error)))?;
        let status = output.create_account_status.context("no status returned")?;
        match status.state {
            Some(CreateAccountState::Succeeded) => {
                return status.account_id.with_context(|| format!("account `{name}` succeeded without an id"));
            }
            Some(CreateAccountState::Failed) => {
                let reason = status.failure_reason.map(|reason| reason.as_str().to_string()).unwrap_or_default();
                // https://docs.aws.amazon.com/organizations/latest/APIReference/API_CreateAccountStatus.html
                let hint = if reason == "EMAIL_ALREADY_EXISTS" {
                    format!(
                        "\nhint: an AWS account with that email already exists (created or invited elsewhere); landing-zone cannot create a second one. Invite that account into the organization, create the `{role}` role in it (trusting the management account), then adopt it with `id:` under `accounts.{name}` — or give `{name}` another email",
                        role = clients.sessions.access_role()
                    )
                } else {
                    String::new()
                };
                bail!("creating account `{name}` failed: {reason}{hint}");
            }
            _ => {}
        }
        if started.elapsed() > ACCOUNT_CREATION_TIMEOUT {
            bail!("account `{name}` is still being created after {} minutes; re-run apply to keep waiting (the request is adopted, not repeated)", ACCOUNT_CREATION_TIMEOUT.as_secs() / 60);
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(10));
    }
}

/// `Action::DeleteRootCredentials`: deletes exactly the root credentials the plan showed, in one
/// `sts:AssumeRoot` session scoped by `IAMDeleteRootUserCredentials` (live/root_credentials.rs).
/// https://docs.aws.amazon.com/IAM/latest/UserGuide/id_root-user-privileged-task.html
pub(super) async fn delete_root_credentials(
    step: &Step<'_>,
    id: &str,
    name: &str,
    credentials: &crate::plan::state::RootCredentials,
) -> Result<()> {
    let sessions = &step.clients.sessions;
    let management = sessions.management_account().await.context("the management account is not known yet")?;
    delete_root_user_credentials(sessions, &management, id, credentials)
        .await
        .with_context(|| format!("deleting the root credentials of account `{name}` ({id}) failed"))
}

/// Deletes exactly `credentials` from the root user of `target`, in one `IAMDeleteRootUserCredentials`
/// session. Something already gone (NoSuchEntity) counts as deleted, so a retry after a crash
/// finishes the job.
async fn delete_root_user_credentials(
    sessions: &crate::aws::session::Sessions,
    management: &str,
    target: &str,
    credentials: &crate::plan::state::RootCredentials,
) -> Result<()> {
    let iam = crate::live::root_credentials::root_session(
        sessions,
        management,
        target,
        crate::live::root_credentials::DELETE_TASK,
    )
    .await?;
    if credentials.password {
        tolerate(iam.delete_login_profile().send().await, "DeleteLoginProfile").map_err(anyhow::Error::msg)?;
    }
    for key in &credentials.access_keys {
        tolerate(iam.delete_access_key().access_key_id(key).send().await, "DeleteAccessKey")
            .map_err(anyhow::Error::msg)?;
    }
    for serial in &credentials.mfa_devices {
        tolerate(iam.deactivate_mfa_device().serial_number(serial).send().await, "DeactivateMFADevice")
            .map_err(anyhow::Error::msg)?;
    }
    for certificate in &credentials.signing_certificates {
        let result = iam.delete_signing_certificate().certificate_id(certificate).send().await;
        tolerate(result, "DeleteSigningCertificate").map_err(anyhow::Error::msg)?;
    }
    Ok(())
}

/// Ok when the call succeeded or the credential was already gone.
fn tolerate<T, E>(result: Result<T, aws_sdk_iam::error::SdkError<E>>, operation: &str) -> Result<(), String>
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match result {
        Ok(_) => Ok(()),
        Err(error) if crate::aws::errors::is_not_found(&error) => Ok(()),
        Err(error) => Err(format!("{operation} failed: {}", crate::aws::errors::describe(&error))),
    }
}
