//! `import` of `baseline.log_archive`: the bunker bucket — the one the organization trail writes
//! to, else one with the name the tool gives it (`landing-zone-logs-<account id>`) — with its
//! retention and Object Lock. Reads only.

use anyhow::Result;

use super::bucket::read_bucket;
use super::BucketAttributes;
use crate::baseline::import::{per_account, ImportScope, ImportedSection};
use crate::baseline::{aws_error, Context};
use crate::spec::{LogArchiveSpec, ObjectLockMode};

/// The bunker found: the spec name of its account and its bucket.
#[derive(Debug, Clone, PartialEq)]
pub struct Bunker {
    pub account: String,
    pub bucket: String,
}

/// The name the tool gives the bunker bucket in the account with this id.
fn default_bucket(account_id: &str) -> String {
    format!("landing-zone-logs-{account_id}")
}

/// The bunker: the imported account holding `trail_bucket` (the organization trail's bucket) when
/// given, else the account holding a bucket with the tool's name for it. A bucket with the tool's
/// name is placed without a call; any other is looked for in each account's bucket list.
async fn find_bunker(context: &Context<'_>, scope: &ImportScope, trail_bucket: Option<&str>) -> Result<Option<Bunker>> {
    let named = |bucket: &str| {
        scope
            .accounts
            .iter()
            .find(|(_, id)| default_bucket(id) == bucket)
            .map(|(account, _)| Bunker { account: account.clone(), bucket: bucket.to_string() })
    };
    if let Some(found) = trail_bucket.and_then(named) {
        return Ok(Some(found));
    }
    let home = scope.regions.first().map(String::as_str);
    let holding = per_account(scope, |account| async move {
        let id = context.account_id(&account)?;
        let s3 = context.sessions.client::<aws_sdk_s3::Client>(id, home).await;
        let mut pages = s3.list_buckets().into_paginator().send();
        // https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListBuckets.html
        while let Some(page) = pages.next().await {
            let page = page.map_err(|error| aws_error("ListBuckets", error))?;
            for bucket in page.buckets.unwrap_or_default() {
                let Some(name) = bucket.name else { continue };
                let wanted = trail_bucket.map_or_else(|| default_bucket(id), str::to_string);
                if name == wanted {
                    return Ok(Some(name));
                }
            }
        }
        Ok(None)
    })
    .await?;
    Ok(holding.into_iter().next().map(|(account, bucket)| Bunker { account, bucket }))
}

/// The bunker as `import` finds it: the bucket the (first) organization trail writes to, else the
/// one with the tool's name. Found once per import when the context shares reads (the bunker's,
/// the trail's and AWS Config's imports all need it; the search may list every account's buckets).
pub async fn locate_bunker(context: &Context<'_>, scope: &ImportScope) -> Result<Option<Bunker>> {
    let locate = || async {
        let trails = crate::baseline::cloudtrail::organization_trails(context, scope).await?;
        let trail_bucket = trails.first().and_then(|trail| trail.s3_bucket_name.as_deref());
        find_bunker(context, scope, trail_bucket).await
    };
    match context.reads {
        Some(reads) => Ok(reads.once("import: the bunker".to_string(), locate).await?.as_ref().clone()),
        None => locate().await,
    }
}

/// The section for the bunker found, with the retention and Object Lock its bucket has.
pub async fn import(context: &Context<'_>, scope: &ImportScope) -> Result<Option<ImportedSection>> {
    let Some(bunker) = locate_bunker(context, scope).await? else { return Ok(None) };
    let id = context.account_id(&bunker.account)?;
    let s3 = context.sessions.client::<aws_sdk_s3::Client>(id, scope.regions.first().map(String::as_str)).await;
    let Some(live) = read_bucket(&s3, &bunker.bucket).await? else { return Ok(None) };
    let live: BucketAttributes = serde_json::from_value(live)?;
    let mut notes = Vec::new();
    let object_lock = live.object_lock.as_ref().and_then(|lock| match lock.mode.as_deref() {
        Some("GOVERNANCE") => Some(ObjectLockMode::Governance),
        Some("COMPLIANCE") => Some(ObjectLockMode::Compliance),
        _ => None,
    });
    let object_lock_days =
        live.object_lock.as_ref().and_then(|lock| lock.days).and_then(|days| u32::try_from(days).ok());
    let retention_days = live.lifecycle_days.and_then(|days| u32::try_from(days).ok());
    if live.lifecycle_days.is_some() && live.expired_delete_markers != Some(true) {
        notes.push(format!(
            "the bunker `{}` expires objects by a lifecycle the tool does not write; the plan of the imported spec replaces it with its own",
            bunker.bucket
        ));
    }
    let section = LogArchiveSpec {
        bucket_name: (bunker.bucket != default_bucket(id)).then(|| bunker.bucket.clone()),
        account: bunker.account,
        retention_days,
        object_lock,
        object_lock_days: object_lock_days.unwrap_or(crate::spec::default_object_lock_days()),
    };
    ImportedSection::new(section, notes).map(Some)
}
