//! `security_hub/members`: the organization's existing accounts enrolled as Security Hub members of
//! the delegated administrator, per region. Under LOCAL configuration `AutoEnable` only covers
//! accounts that join the organization later; accounts already in it need `CreateMembers`
//! (https://docs.aws.amazon.com/securityhub/1.0/APIReference/API_CreateMembers.html). Read with
//! `ListMembers` (`OnlyAssociated: false`,
//! https://docs.aws.amazon.com/securityhub/1.0/APIReference/API_ListMembers.html). It only ever
//! adds members; members outside the spec are left alone and not shown.
//!
//! The attributes (`Members`) are shared with GuardDuty's member enrolment.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::baseline::attributes::{decode, encode};
use crate::baseline::aws_error;
use crate::plan::control::{ControlKey, Inputs};

/// The accounts a delegated administrator must have as members, by spec account name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Members {
    pub members: BTreeMap<String, Member>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Member {
    /// The account id, or its `{{account:NAME}}` placeholder until the account exists.
    pub account_id: String,
    pub email: String,
}

impl Members {
    /// Every account of the spec that is not being closed, except the administrator itself.
    pub fn of_organization(inputs: &Inputs<'_>, admin: &str) -> Members {
        let members = inputs
            .accounts
            .iter()
            .filter(|account| !account.close && account.name != admin)
            .map(|account| {
                let account_id = account.id.clone().unwrap_or_else(|| format!("{{{{account:{}}}}}", account.name));
                (account.name.clone(), Member { account_id, email: account.email.clone() })
            })
            .collect();
        Members { members }
    }

    /// The desired members that `live` (account ids that are members) already holds.
    pub fn present(&self, live: &BTreeSet<String>) -> Members {
        let members = self
            .members
            .iter()
            .filter(|(_, member)| live.contains(&member.account_id))
            .map(|(n, m)| (n.clone(), m.clone()));
        Members { members: members.collect() }
    }

    /// The desired members missing from `live`.
    pub fn missing(&self, live: &BTreeSet<String>) -> Vec<Member> {
        self.members.values().filter(|member| !live.contains(&member.account_id)).cloned().collect()
    }
}

/// Account ids that are Security Hub members of this administrator (associated or not).
pub async fn list_members(client: &aws_sdk_securityhub::Client) -> Result<BTreeSet<String>> {
    let mut ids = BTreeSet::new();
    let mut pages = client.list_members().only_associated(false).into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|error| aws_error("ListMembers", error))?;
        ids.extend(page.members.unwrap_or_default().into_iter().filter_map(|member| member.account_id));
    }
    Ok(ids)
}

/// The spec's accounts that are members, in the control's serialized form.
pub async fn read_members(
    client: &aws_sdk_securityhub::Client,
    key: &ControlKey,
    desired: &Value,
) -> Result<Option<Value>> {
    let desired: Members = decode(key, desired)?;
    let live = list_members(client).await?;
    Ok(Some(encode(&desired.present(&live))))
}

/// `CreateMembers` for the spec's accounts that are not members yet, in one call; an account AWS
/// did not process is an error naming it and AWS's reason.
pub async fn apply_members(client: &aws_sdk_securityhub::Client, key: &ControlKey, attributes: &Value) -> Result<()> {
    let desired: Members = decode(key, attributes)?;
    let live = list_members(client).await?;
    let missing = desired.missing(&live);
    if missing.is_empty() {
        return Ok(());
    }
    let details: Vec<aws_sdk_securityhub::types::AccountDetails> = missing
        .iter()
        .map(|member| {
            aws_sdk_securityhub::types::AccountDetails::builder()
                .account_id(&member.account_id)
                .email(&member.email)
                .build()
        })
        .collect();
    let output = client
        .create_members()
        .set_account_details(Some(details))
        .send()
        .await
        .map_err(|error| aws_error("CreateMembers", error))?;
    let refused: Vec<String> = output
        .unprocessed_accounts
        .unwrap_or_default()
        .into_iter()
        .map(|result| {
            format!("`{}`: {}", result.account_id.unwrap_or_default(), result.processing_result.unwrap_or_default())
        })
        .collect();
    if !refused.is_empty() {
        bail!(
            "{}: CreateMembers did not enrol {}\nhint: the account must be in the organization and not a member of another administrator",
            key.label(),
            refused.join(", ")
        );
    }
    Ok(())
}
