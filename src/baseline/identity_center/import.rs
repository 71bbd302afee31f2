//! `import` of `identity_center:`: every permission set of the management account's instance in
//! the home Region, read whole, and every account assignment of each, its principal named as the
//! spec names it (group display name, user name), written as the section (an inline policy becomes
//! a policy file). Reads only.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Result;
use serde_json::Value;

use super::assignments::{accounts, in_account};
use super::directory::{find_instance, principal_name};
use super::permission_set::{all, read_arn};
use super::{PermissionSetAttributes, Principal, DEFAULT_SESSION_DURATION};
use crate::baseline::import::{policy_file_name, ImportScope, ImportedTopLevel, OwnSection};
use crate::baseline::Context;
use crate::plan::control::KnownIds;
use crate::spec::{AssignmentSpec, DocumentSource, IdentityCenterSpec, PermissionSetSpec, Targets};

/// One live account assignment.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct LiveAssignment {
    pub principal: Principal,
    pub permission_set: String,
    /// The account id.
    pub account: String,
}

/// The instance as import reads it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LiveIdentityCenter {
    /// Permission set name -> its attributes.
    pub permission_sets: BTreeMap<String, PermissionSetAttributes>,
    pub assignments: BTreeSet<LiveAssignment>,
    /// What was left out, and why (printed by the CLI).
    pub notes: Vec<String>,
}

/// Reads the management account's instance in `region`; None when it has none there.
/// `account_ids` are the imported accounts' ids.
pub async fn read_for_import<'a>(
    context: &Context<'_>,
    management: &str,
    account_ids: impl Iterator<Item = &'a String>,
    region: &str,
) -> Result<Option<LiveIdentityCenter>> {
    // Accounts are keyed by id here: the readers look accounts up by key, and names may repeat.
    let ids = KnownIds { accounts: account_ids.map(|id| (id.clone(), id.clone())).collect(), organization: None };
    let context = Context { sessions: context.sessions, ids: &ids, reads: None };
    let Some(instance) = find_instance(&context, management, region).await? else { return Ok(None) };
    let client = context.sessions.client::<aws_sdk_ssoadmin::Client>(management, Some(region)).await;
    let directory = context.sessions.client::<aws_sdk_identitystore::Client>(management, Some(region)).await;
    let mut found = LiveIdentityCenter::default();
    let mut names: BTreeMap<(String, String), Option<String>> = BTreeMap::new();
    for (set, arn) in all(&client, &instance).await? {
        found.permission_sets.insert(set.clone(), read_arn(&client, &instance, &arn).await?);
        for account in accounts(&client, &instance, &arn).await? {
            for (kind, id) in in_account(&client, &instance, &arn, &account).await? {
                let key = (kind.clone(), id.clone());
                let name = match names.get(&key) {
                    Some(name) => name.clone(),
                    None => {
                        let name = principal_name(&directory, &instance, &kind, &id).await?;
                        names.insert(key, name.clone());
                        name
                    }
                };
                let Some(name) = name else {
                    found.notes.push(format!(
                        "{} {id} holds permission set `{set}` in account {account} but is not in the directory: left out",
                        kind.to_lowercase()
                    ));
                    continue;
                };
                let principal = Principal { principal_type: kind, name };
                found.assignments.insert(LiveAssignment {
                    principal,
                    permission_set: set.clone(),
                    account: account.clone(),
                });
            }
        }
    }
    Ok(Some(found))
}

/// The section for the instance found in the home Region, with its notes; the section None when
/// the management account has no instance there, or one without permission sets.
pub async fn import(context: &Context<'_>, scope: &ImportScope) -> Result<Option<OwnSection>> {
    let (Some(management), Some(home)) = (&scope.management, scope.regions.first()) else { return Ok(None) };
    let management_id = context.account_id(management)?;
    let Some(live) = read_for_import(context, management_id, scope.accounts.values(), home).await? else {
        let note =
            format!("no IAM Identity Center instance in {home} for the management account: `identity_center` left out");
        return Ok(Some(OwnSection { found: None, notes: vec![note] }));
    };
    let notes = live.notes.clone();
    if live.permission_sets.is_empty() {
        // An instance without permission sets has nothing the section could name.
        return Ok(Some(OwnSection { found: None, notes }));
    }
    let account_names: BTreeMap<String, String> =
        scope.accounts.iter().map(|(name, id)| (id.clone(), name.clone())).collect();
    let (section, documents) = section(&live, &account_names);
    let section = ImportedTopLevel { key: "identity_center", section: serde_json::to_value(section)?, documents };
    Ok(Some(OwnSection { found: Some(section), notes }))
}

/// The `identity_center:` section: every permission set (an inline policy becomes a policy file,
/// returned by file name), and the assignments grouped by (permission set, principal) over the
/// imported accounts (`account_names`: id -> spec name). Groups are never listed: import names what
/// exists, it creates nothing.
pub fn section(
    live: &LiveIdentityCenter,
    account_names: &BTreeMap<String, String>,
) -> (IdentityCenterSpec, BTreeMap<String, Value>) {
    let mut files = BTreeSet::new();
    let mut documents = BTreeMap::new();
    let mut permission_sets = BTreeMap::new();
    for (name, set) in &live.permission_sets {
        let inline_policy = set.inline_policy.as_ref().map(|document| {
            let file = policy_file_name(&format!("permission-set-{name}"), &mut files);
            documents.insert(file.clone(), document.clone());
            DocumentSource::File(format!("policies/{file}"))
        });
        let spec = PermissionSetSpec {
            description: set.description.clone(),
            session_duration: (set.session_duration != DEFAULT_SESSION_DURATION).then(|| set.session_duration.clone()),
            relay_state: set.relay_state.clone(),
            managed_policies: set.managed_policies.iter().cloned().collect(),
            customer_managed_policies: set.customer_managed_policies.iter().cloned().collect(),
            inline_policy,
            permissions_boundary: set.permissions_boundary.clone(),
        };
        permission_sets.insert(name.clone(), spec);
    }
    let mut grouped: BTreeMap<(&str, &Principal), Vec<String>> = BTreeMap::new();
    for assignment in &live.assignments {
        // Accounts that are not imported (suspended, or gone) cannot be named.
        let Some(account) = account_names.get(&assignment.account) else { continue };
        grouped.entry((&assignment.permission_set, &assignment.principal)).or_default().push(account.clone());
    }
    let assignments = grouped
        .into_iter()
        .map(|((set, principal), mut accounts)| {
            accounts.sort();
            accounts.dedup();
            let user = principal.principal_type == "USER";
            AssignmentSpec {
                group: (!user).then(|| principal.name.clone()),
                user: user.then(|| principal.name.clone()),
                permission_set: set.to_string(),
                targets: Targets { accounts, ..Targets::default() },
            }
        })
        .collect();
    (IdentityCenterSpec { admin_account: None, groups: Vec::new(), permission_sets, assignments }, documents)
}
