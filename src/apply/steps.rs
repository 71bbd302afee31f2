//! The steps that write to AWS: one per `Action`, each idempotent on retry and after a crash.
//!
//! Each step knows its own "already exists" and "not found" outcomes (through `aws::errors`) and
//! records the ids of what it creates in the shared `Resolution`, so later actions can refer to
//! planned things by path or name.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use aws_sdk_organizations::types::{CreateAccountState, PolicyType as AwsPolicyType, PolicyTypeStatus, Tag};
use tokio::sync::Mutex;

use crate::aws::errors::{describe, is_already_exists, is_not_found};
use crate::aws::retry::{call_once, classify, facts_of, with_retry, RetryClass, RetryPolicy};
use crate::aws::Clients;
use crate::baseline::Context as BaselineContext;
use crate::plan::action::{AccountRef, Action, PolicyRef, TargetRef, UnitRef};
use crate::plan::control::{has_placeholders, resolve, ControlKey, KnownIds};
use crate::spec::{PolicyType, ROOT};

/// Ids of things created during this apply, by the names the plan uses for them.
#[derive(Debug, Default)]
pub struct Resolution {
    pub root_id: Option<String>,
    pub organization_id: Option<String>,
    /// Accounts created by this apply: they may refuse calls for a while (AWS-FACTS.md).
    pub created_accounts: std::collections::BTreeSet<String>,
    pub units: BTreeMap<String, String>,
    pub accounts: BTreeMap<String, String>,
    pub policies: BTreeMap<String, String>,
}

/// How long CreateAccount may take before the apply gives up waiting (AWS usually needs minutes).
const ACCOUNT_CREATION_TIMEOUT: Duration = Duration::from_secs(30 * 60);
const POLICY_TYPE_TIMEOUT: Duration = Duration::from_secs(5 * 60);

async fn unit_id(unit: &UnitRef, resolution: &Mutex<Resolution>) -> Result<String> {
    match unit {
        UnitRef::Existing { id, .. } => Ok(id.clone()),
        UnitRef::Planned { path } if path == ROOT => {
            resolution.lock().await.root_id.clone().context("the root id is not known yet")
        }
        UnitRef::Planned { path } => {
            resolution.lock().await.units.get(path).cloned().with_context(|| format!("unit `{path}` was not created"))
        }
    }
}

async fn account_id(account: &AccountRef, resolution: &Mutex<Resolution>) -> Result<String> {
    match account {
        AccountRef::Existing { id, .. } => Ok(id.clone()),
        AccountRef::Planned { name } => resolution
            .lock()
            .await
            .accounts
            .get(name)
            .cloned()
            .with_context(|| format!("account `{name}` was not created")),
    }
}

async fn policy_id(policy: &PolicyRef, resolution: &Mutex<Resolution>) -> Result<String> {
    match policy {
        PolicyRef::Existing { id, .. } => Ok(id.clone()),
        PolicyRef::Planned { name } => resolution
            .lock()
            .await
            .policies
            .get(name)
            .cloned()
            .with_context(|| format!("policy `{name}` was not created")),
    }
}

async fn target_id(target: &TargetRef, resolution: &Mutex<Resolution>) -> Result<String> {
    match target {
        TargetRef::Unit { unit } => unit_id(unit, resolution).await,
        TargetRef::Account { account } => account_id(account, resolution).await,
    }
}

fn aws_tags(tags: &BTreeMap<String, String>) -> Result<Vec<Tag>> {
    tags.iter()
        .map(|(key, value)| {
            Tag::builder().key(key).value(value).build().map_err(|error| anyhow!("bad tag `{key}`: {error}"))
        })
        .collect()
}

/// Carries out one action.
pub async fn run_step(action: &Action, clients: &Clients, resolution: &Mutex<Resolution>) -> Result<()> {
    let organizations = &clients.organizations;
    let retry = RetryPolicy::default();
    match action {
        Action::CreateOrganization { management_account } => {
            let created = with_retry(&retry, "CreateOrganization", || {
                organizations
                    .create_organization()
                    .feature_set(aws_sdk_organizations::types::OrganizationFeatureSet::All)
                    .send()
            })
            .await;
            if let Err(error) = created {
                if !is_already_exists(&error) {
                    bail!("CreateOrganization failed: {}", describe(&error));
                }
            }
            let organization =
                with_retry(&retry, "DescribeOrganization", || organizations.describe_organization().send())
                    .await
                    .map_err(|error| anyhow!("DescribeOrganization failed: {}", describe(&error)))?
                    .organization
                    .context("DescribeOrganization returned nothing")?;
            let roots = with_retry(&retry, "ListRoots", || organizations.list_roots().send())
                .await
                .map_err(|error| anyhow!("ListRoots failed: {}", describe(&error)))?;
            let root_id = roots.roots().first().and_then(|root| root.id.clone()).context("no root")?;
            if let Some(id) = &organization.master_account_id {
                clients.sessions.set_management_account(id).await;
            }
            let mut resolution = resolution.lock().await;
            resolution.root_id = Some(root_id);
            resolution.organization_id = organization.id.clone();
            if let (Some(name), Some(id)) = (management_account, organization.master_account_id) {
                resolution.accounts.insert(name.clone(), id);
            }
            Ok(())
        }
        Action::EnablePolicyType { policy_type } => {
            let root = unit_id(&UnitRef::Planned { path: ROOT.to_string() }, resolution).await;
            let root = match root {
                Ok(root) => root,
                Err(_) => current_root(clients).await?,
            };
            let enabled = with_retry(&retry, "EnablePolicyType", || {
                organizations
                    .enable_policy_type()
                    .root_id(&root)
                    .policy_type(AwsPolicyType::from(policy_type.as_aws()))
                    .send()
            })
            .await;
            if let Err(error) = enabled {
                if !is_already_exists(&error) {
                    bail!("EnablePolicyType {policy_type} failed: {}", describe(&error));
                }
            }
            wait_for_policy_type(clients, *policy_type).await
        }
        Action::EnableServiceAccess { service } => {
            with_retry(&retry, "EnableAWSServiceAccess", || {
                organizations.enable_aws_service_access().service_principal(service).send()
            })
            .await
            .map_err(|error| anyhow!("EnableAWSServiceAccess {service} failed: {}", describe(&error)))?;
            Ok(())
        }
        Action::RegisterDelegatedAdministrator { service, account } => {
            let account = account_id(account, resolution).await?;
            let registered = with_retry(&retry, "RegisterDelegatedAdministrator", || {
                organizations.register_delegated_administrator().account_id(&account).service_principal(service).send()
            })
            .await;
            match registered {
                Ok(_) => Ok(()),
                Err(error) if is_already_exists(&error) => Ok(()),
                Err(error) => bail!("RegisterDelegatedAdministrator {service} failed: {}", describe(&error)),
            }
        }
        Action::CreateUnit { path, name, parent, tags } => {
            let parent_id = unit_id(parent, resolution).await?;
            let created = with_retry(&retry, "CreateOrganizationalUnit", || {
                organizations
                    .create_organizational_unit()
                    .parent_id(&parent_id)
                    .name(name)
                    .set_tags(aws_tags(tags).ok())
                    .send()
            })
            .await;
            let id = match created {
                Ok(output) => output.organizational_unit.and_then(|unit| unit.id).context("no OU id returned")?,
                // Created by an earlier, interrupted run: adopt it.
                Err(error) if is_already_exists(&error) => find_unit(clients, &parent_id, name).await?,
                Err(error) => bail!("CreateOrganizationalUnit `{path}` failed: {}", describe(&error)),
            };
            resolution.lock().await.units.insert(path.clone(), id);
            Ok(())
        }
        Action::RenameUnit { id, name, .. } => {
            with_retry(&retry, "UpdateOrganizationalUnit", || {
                organizations.update_organizational_unit().organizational_unit_id(id).name(&name.after).send()
            })
            .await
            .map_err(|error| anyhow!("UpdateOrganizationalUnit `{id}` failed: {}", describe(&error)))?;
            Ok(())
        }
        Action::DeleteUnit { id, path } => {
            match with_retry(&retry, "DeleteOrganizationalUnit", || {
                organizations.delete_organizational_unit().organizational_unit_id(id).send()
            })
            .await
            {
                Ok(_) => Ok(()),
                Err(error) if is_not_found(&error) => Ok(()),
                Err(error) => bail!("DeleteOrganizationalUnit `{path}` failed: {}", describe(&error)),
            }
        }
        Action::CreateAccount { name, email, tags, pending_request } => {
            let request_id = match pending_request {
                Some(request) => request.clone(),
                // The plan was made under the apply lock from a fresh read, which adopts any
                // IN_PROGRESS request of an earlier run (`pending_request`): none is left to find.
                None => request_account(clients, name, email, tags).await?,
            };
            let id = wait_for_account(clients, name, &request_id).await?;
            let mut resolution = resolution.lock().await;
            resolution.accounts.insert(name.clone(), id);
            resolution.created_accounts.insert(name.clone());
            Ok(())
        }
        Action::MoveAccount { account, from, to } => {
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
        Action::CloseAccount { id, name } => {
            with_retry(&retry, "CloseAccount", || organizations.close_account().account_id(id).send())
                .await
                .map_err(|error| anyhow!("CloseAccount `{name}` failed: {}", describe(&error)))?;
            Ok(())
        }
        Action::CreatePolicy { name, policy_type, description, document, tags } => {
            let content = document.to_string();
            let created = with_retry(&retry, "CreatePolicy", || {
                organizations
                    .create_policy()
                    .name(name)
                    .r#type(AwsPolicyType::from(policy_type.as_aws()))
                    .description(description)
                    .content(&content)
                    .set_tags(aws_tags(tags).ok())
                    .send()
            })
            .await;
            let id = match created {
                Ok(output) => output
                    .policy
                    .and_then(|policy| policy.policy_summary)
                    .and_then(|summary| summary.id)
                    .context("CreatePolicy returned no id")?,
                Err(error) if is_already_exists(&error) => find_policy(clients, *policy_type, name).await?,
                Err(error) => bail!("CreatePolicy `{name}` failed: {}", describe(&error)),
            };
            resolution.lock().await.policies.insert(name.clone(), id);
            Ok(())
        }
        Action::UpdatePolicy { id, name, description, document, .. } => {
            let content = document.as_ref().map(|change| change.after.to_string());
            let description = description.as_ref().map(|change| change.after.clone());
            with_retry(&retry, "UpdatePolicy", || {
                organizations
                    .update_policy()
                    .policy_id(id)
                    .set_content(content.clone())
                    .set_description(description.clone())
                    .send()
            })
            .await
            .map_err(|error| anyhow!("UpdatePolicy `{name}` failed: {}", describe(&error)))?;
            Ok(())
        }
        Action::DeletePolicy { id, name, .. } => {
            match with_retry(&retry, "DeletePolicy", || organizations.delete_policy().policy_id(id).send()).await {
                Ok(_) => Ok(()),
                Err(error) if is_not_found(&error) => Ok(()),
                Err(error) => bail!("DeletePolicy `{name}` failed: {}", describe(&error)),
            }
        }
        Action::AttachPolicy { policy, target, .. } => {
            let policy_id = policy_id(policy, resolution).await?;
            let target_id = target_id(target, resolution).await?;
            match with_retry(&retry, "AttachPolicy", || {
                organizations.attach_policy().policy_id(&policy_id).target_id(&target_id).send()
            })
            .await
            {
                Ok(_) => Ok(()),
                Err(error) if is_already_exists(&error) => Ok(()),
                Err(error) => {
                    bail!("AttachPolicy `{}` to {} failed: {}", policy.name(), target.label(), describe(&error))
                }
            }
        }
        Action::DetachPolicy { policy, target, .. } => {
            let policy_id = policy_id(policy, resolution).await?;
            let target_id = target_id(target, resolution).await?;
            match with_retry(&retry, "DetachPolicy", || {
                organizations.detach_policy().policy_id(&policy_id).target_id(&target_id).send()
            })
            .await
            {
                Ok(_) => Ok(()),
                Err(error) if is_not_found(&error) => Ok(()),
                Err(error) => {
                    bail!("DetachPolicy `{}` from {} failed: {}", policy.name(), target.label(), describe(&error))
                }
            }
        }
        Action::ConfigureControl { control, before, after, .. } => {
            configure_control(clients, resolution, control, before.as_ref(), after).await
        }
        Action::UpdateTags { resource_id, resource, tags } => {
            // The management account of an organization this apply created is named by placeholder.
            let resource_id = &if resource_id.contains("{{") {
                let resolution = resolution.lock().await;
                let ids = KnownIds {
                    accounts: resolution.accounts.clone(),
                    organization: resolution.organization_id.clone(),
                };
                crate::plan::control::resolve(&serde_json::Value::String(resource_id.clone()), &ids)
                    .as_str()
                    .unwrap_or_default()
                    .to_string()
            } else {
                resource_id.clone()
            };
            let removed: Vec<String> =
                tags.before.keys().filter(|key| !tags.after.contains_key(*key)).cloned().collect();
            if !removed.is_empty() {
                with_retry(&retry, "UntagResource", || {
                    organizations.untag_resource().resource_id(resource_id).set_tag_keys(Some(removed.clone())).send()
                })
                .await
                .map_err(|error| anyhow!("UntagResource {resource} failed: {}", describe(&error)))?;
            }
            let changed: BTreeMap<String, String> = tags
                .after
                .iter()
                .filter(|(key, value)| tags.before.get(*key) != Some(*value))
                .map(|(key, value)| (key.clone(), value.clone()))
                .collect();
            if !changed.is_empty() {
                let aws = aws_tags(&changed)?;
                with_retry(&retry, "TagResource", || {
                    organizations.tag_resource().resource_id(resource_id).set_tags(Some(aws.clone())).send()
                })
                .await
                .map_err(|error| anyhow!("TagResource {resource} failed: {}", describe(&error)))?;
            }
            Ok(())
        }
    }
}

/// How long a just-created account may refuse the executor's role before apply gives up.
const NEW_ACCOUNT_ACCESS_TIMEOUT: Duration = Duration::from_secs(10 * 60);

async fn configure_control(
    clients: &Clients,
    resolution: &Mutex<Resolution>,
    control: &ControlKey,
    before: Option<&serde_json::Value>,
    after: &serde_json::Value,
) -> Result<()> {
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
                tracing::warn!(control = %control.label(), "{error}; skipped");
                return Ok(());
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

fn is_access_denied_text(error: &anyhow::Error) -> bool {
    let text = format!("{error:#}");
    text.contains("AccessDenied") || text.contains("not authorized")
}

async fn current_root(clients: &Clients) -> Result<String> {
    let roots = with_retry(&RetryPolicy::default(), "ListRoots", || clients.organizations.list_roots().send())
        .await
        .map_err(|error| anyhow!("ListRoots failed: {}", describe(&error)))?;
    roots.roots().first().and_then(|root| root.id.clone()).context("the organization has no root")
}

/// EnablePolicyType can leave the type PENDING_ENABLE for a while; attachments must wait.
async fn wait_for_policy_type(clients: &Clients, policy_type: PolicyType) -> Result<()> {
    let started = tokio::time::Instant::now();
    let mut delay = Duration::from_millis(250);
    loop {
        let roots = with_retry(&RetryPolicy::default(), "ListRoots", || clients.organizations.list_roots().send())
            .await
            .map_err(|error| anyhow!("ListRoots failed: {}", describe(&error)))?;
        let status = roots
            .roots()
            .first()
            .map(|root| root.policy_types())
            .unwrap_or_default()
            .iter()
            .find(|summary| summary.r#type().map(|t| t.as_str()) == Some(policy_type.as_aws()))
            .and_then(|summary| summary.status().cloned());
        if status == Some(PolicyTypeStatus::Enabled) {
            return Ok(());
        }
        if started.elapsed() > POLICY_TYPE_TIMEOUT {
            bail!("policy type {policy_type} is still {status:?} after {} s", POLICY_TYPE_TIMEOUT.as_secs());
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(5));
    }
}

async fn find_unit(clients: &Clients, parent_id: &str, name: &str) -> Result<String> {
    let mut token: Option<String> = None;
    loop {
        let output = with_retry(&RetryPolicy::default(), "ListOrganizationalUnitsForParent", || {
            clients
                .organizations
                .list_organizational_units_for_parent()
                .parent_id(parent_id)
                .set_next_token(token.clone())
                .send()
        })
        .await
        .map_err(|error| anyhow!("ListOrganizationalUnitsForParent failed: {}", describe(&error)))?;
        if let Some(id) =
            output.organizational_units().iter().find(|unit| unit.name() == Some(name)).and_then(|unit| unit.id.clone())
        {
            return Ok(id);
        }
        token = output.next_token;
        if token.is_none() {
            bail!("OU `{name}` reported as existing under `{parent_id}` but not found there");
        }
    }
}

async fn find_policy(clients: &Clients, policy_type: PolicyType, name: &str) -> Result<String> {
    let mut token: Option<String> = None;
    loop {
        let output = with_retry(&RetryPolicy::default(), "ListPolicies", || {
            clients
                .organizations
                .list_policies()
                .filter(AwsPolicyType::from(policy_type.as_aws()))
                .set_next_token(token.clone())
                .send()
        })
        .await
        .map_err(|error| anyhow!("ListPolicies failed: {}", describe(&error)))?;
        if let Some(id) =
            output.policies().iter().find(|policy| policy.name() == Some(name)).and_then(|policy| policy.id.clone())
        {
            return Ok(id);
        }
        token = output.next_token;
        if token.is_none() {
            bail!("policy `{name}` reported as existing but not found");
        }
    }
}

async fn current_parent(clients: &Clients, account_id: &str) -> Result<String> {
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
async fn request_account(
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
        let create =
            clients.organizations.create_account().account_name(name).email(email).set_tags(aws_tags(tags).ok());
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
async fn find_account_request(clients: &Clients, name: &str, email: &str) -> Result<Option<String>> {
    let states = vec![CreateAccountState::InProgress, CreateAccountState::Succeeded];
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

async fn account_email(clients: &Clients, account_id: &str) -> Result<Option<String>> {
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
async fn wait_for_account(clients: &Clients, name: &str, request_id: &str) -> Result<String> {
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
                let hint = if reason == "EMAIL_ALREADY_EXISTS" {
                    "\nhint: the email belongs to an account outside this organization; use another or invite that account and adopt it with `id:`"
                } else {
                    ""
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
