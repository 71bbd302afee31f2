//! What `import` reads of Identity Center: every permission set of the management account's
//! instance in the home Region, read whole, and every account assignment of each, its principal
//! named as the spec names it (group display name, user name). Returns data; the import op turns
//! it into the `identity_center:` section.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Result;

use super::assignments::{accounts, in_account};
use super::directory::{find_instance, principal_name};
use super::permission_set::{all, read_arn};
use super::{PermissionSetAttributes, Principal};
use crate::baseline::Context;
use crate::plan::control::KnownIds;
use crate::plan::state::LiveOrganization;

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
pub async fn read_for_import(
    clients: &crate::aws::Clients,
    live: &LiveOrganization,
    region: &str,
) -> Result<Option<LiveIdentityCenter>> {
    let Some(management) = live.organization.as_ref().map(|org| org.management_account_id.clone()) else {
        return Ok(None);
    };
    // Accounts are keyed by id here: the readers look accounts up by key, and names may repeat.
    let ids = KnownIds {
        accounts: live.accounts.values().map(|account| (account.id.clone(), account.id.clone())).collect(),
        organization: live.organization.as_ref().map(|org| org.id.clone()),
    };
    let context = Context { sessions: &clients.sessions, ids: &ids, reads: None };
    let Some(instance) = find_instance(&context, &management, region).await? else { return Ok(None) };
    let client = clients.sessions.client::<aws_sdk_ssoadmin::Client>(&management, Some(region)).await;
    let directory = clients.sessions.client::<aws_sdk_identitystore::Client>(&management, Some(region)).await;
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
