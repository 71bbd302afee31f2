//! The steps that write to AWS: one per `Action`, each idempotent on retry and after a crash.
//!
//! Each step knows its own "already exists" and "not found" outcomes (through `aws::errors`) and
//! records the ids of what it creates in the shared `Resolution`, so later actions can refer to
//! planned things by path or name.

mod accounts;
mod controls;
mod organization;
mod policies;
mod units;

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use aws_sdk_organizations::types::{CreateAccountState, PolicyType as AwsPolicyType, PolicyTypeStatus, Tag};
use tokio::sync::Mutex;

use crate::aws::errors::{describe, is_already_exists, is_not_found};
use crate::aws::retry::{call_once, classify, facts_of, with_retry, RetryClass, RetryPolicy};
use crate::aws::Clients;
use crate::baseline::Context as BaselineContext;
use crate::plan::action::{AccountRef, Action, Change, PolicyRef, TargetRef, UnitRef};
use crate::plan::control::{has_placeholders, resolve, ControlKey, KnownIds};
use crate::spec::{PolicyType, ROOT};
use serde_json::Value;

/// The IAM actions the organization-level steps call (with the caller's credentials), and the
/// reads that find what an interrupted run created. `CreateAccount` and `EnableAWSServiceAccess`
/// create service-linked roles, hence `iam:CreateServiceLinkedRole`; assuming the access role in
/// member accounts is `sts:AssumeRole`, who the caller is `sts:GetCallerIdentity`.
pub const PERMISSIONS: crate::baseline::Actions = crate::baseline::Actions {
    read: &["organizations:Describe*", "organizations:List*", "sts:AssumeRole", "sts:GetCallerIdentity"],
    write: &[
        "organizations:CreateOrganization",
        "organizations:EnablePolicyType",
        "organizations:EnableAWSServiceAccess",
        "organizations:RegisterDelegatedAdministrator",
        "organizations:CreateOrganizationalUnit",
        "organizations:UpdateOrganizationalUnit",
        "organizations:DeleteOrganizationalUnit",
        "organizations:CreateAccount",
        "organizations:MoveAccount",
        "organizations:CloseAccount",
        "account:PutAccountName",
        "iam:EnableOrganizationsRootCredentialsManagement",
        "iam:EnableOrganizationsRootSessions",
        "organizations:CreatePolicy",
        "organizations:UpdatePolicy",
        "organizations:DeletePolicy",
        "organizations:AttachPolicy",
        "organizations:DetachPolicy",
        "organizations:TagResource",
        "organizations:UntagResource",
        "iam:CreateServiceLinkedRole",
    ],
};

/// Ids of things created during this apply, by the names the plan uses for them.
#[derive(Debug, Default)]
pub struct Resolution {
    pub root_id: Option<String>,
    pub organization_id: Option<String>,
    /// Accounts created by this apply: they may refuse calls for a while ("it can take several
    /// minutes before the account is fully available",
    /// https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_accounts_create.html).
    pub created_accounts: std::collections::BTreeSet<String>,
    pub units: BTreeMap<String, String>,
    pub accounts: BTreeMap<String, String>,
    pub policies: BTreeMap<String, String>,
}

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

/// What every step gets: the clients, and the ids of what this apply has created so far.
pub(super) struct Step<'a> {
    pub(super) clients: &'a Clients,
    pub(super) resolution: &'a Mutex<Resolution>,
}

/// Carries out one action.
pub async fn run_step(action: &Action, clients: &Clients, resolution: &Mutex<Resolution>) -> Result<()> {
    let step = Step { clients, resolution };
    match action {
        Action::CreateOrganization { management_account } => {
            organization::create_organization(&step, management_account).await
        }
        Action::EnablePolicyType { policy_type } => organization::enable_policy_type(&step, policy_type).await,
        Action::EnableServiceAccess { service } => organization::enable_service_access(&step, service).await,
        Action::EnableRootAccessFeature { feature } => organization::enable_root_access_feature(&step, feature).await,
        Action::RegisterDelegatedAdministrator { service, account } => {
            organization::register_delegated_administrator(&step, service, account).await
        }
        Action::CreateUnit { path, name, parent, tags } => units::create_unit(&step, path, name, parent, tags).await,
        Action::RenameUnit { id, name, .. } => units::rename_unit(&step, id, name).await,
        Action::DeleteUnit { id, path } => units::delete_unit(&step, id, path).await,
        Action::CreateAccount { name, email, tags, pending_request } => {
            accounts::create_account(&step, name, email, tags, pending_request).await
        }
        Action::MoveAccount { account, from, to } => accounts::move_account(&step, account, from, to).await,
        Action::CloseAccount { id, name } => accounts::close_account(&step, id, name).await,
        Action::DeleteRootCredentials { id, name, credentials } => {
            accounts::delete_root_credentials(&step, id, name, credentials).await
        }
        Action::RenameAccount { account, after, management, .. } => {
            accounts::rename_account(&step, account, after, *management).await
        }
        Action::CreatePolicy { name, policy_type, description, document, tags } => {
            policies::create_policy(&step, name, policy_type, description, document, tags).await
        }
        Action::UpdatePolicy { id, name, description, document, .. } => {
            policies::update_policy(&step, id, name, description, document).await
        }
        Action::DeletePolicy { id, name, .. } => policies::delete_policy(&step, id, name).await,
        Action::AttachPolicy { policy, target, .. } => policies::attach_policy(&step, policy, target).await,
        Action::DetachPolicy { policy, target, .. } => policies::detach_policy(&step, policy, target).await,
        Action::ConfigureControl { control, before, after, .. } => {
            controls::configure_control(&step, control, before, after).await
        }
        Action::RemoveControl { control, before, .. } => controls::remove_control(&step, control, before).await,
        Action::UpdateTags { resource_id, resource, tags } => {
            organization::update_tags(&step, resource_id, resource, tags).await
        }
    }
}

async fn current_root(clients: &Clients) -> Result<String> {
    let roots = with_retry(&RetryPolicy::default(), "ListRoots", || clients.organizations.list_roots().send())
        .await
        .map_err(|error| anyhow!("ListRoots failed: {}", describe(&error)))?;
    roots.roots().first().and_then(|root| root.id.clone()).context("the organization has no root")
}
