//! The apply lock and the change history, both kept in a state bucket the tool owns in the
//! management account (encrypted, versioned, public access blocked).
//!
//! The lock is one object written with a conditional write (`If-None-Match: *`), so two applies can
//! never both hold it; it records who holds it and since when. Every apply appends a record of
//! what it did under `history/`: the organization's change history.

use std::time::Duration;

use anyhow::{anyhow, bail, Context as _, Result};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    BucketLocationConstraint, BucketVersioningStatus, CreateBucketConfiguration, PublicAccessBlockConfiguration,
    ServerSideEncryption, ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration, ServerSideEncryptionRule,
    VersioningConfiguration,
};
use serde::{Deserialize, Serialize};

use crate::aws::errors;
use crate::aws::retry::{with_retry, RetryPolicy};
use crate::aws::session::Sessions;

/// The IAM actions the state store calls in the management account: the bucket (created and
/// hardened once), the lock object and the change history. `HeadBucket` is `s3:ListBucket`.
pub const PERMISSIONS: crate::baseline::Actions = crate::baseline::Actions {
    read: &[],
    write: &[
        "s3:CreateBucket",
        "s3:PutBucketPublicAccessBlock",
        "s3:PutEncryptionConfiguration",
        "s3:PutBucketVersioning",
        "s3:GetObject",
        "s3:PutObject",
        "s3:DeleteObject",
        "s3:ListBucket",
    ],
};

const LOCK_KEY: &str = "lock.json";

/// Who holds the lock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockInfo {
    pub id: String,
    pub holder: String,
    pub since: String,
    pub host: String,
    pub pid: u32,
    /// The operating-system user that ran the apply (older locks lack it).
    #[serde(default)]
    pub user: String,
}

impl LockInfo {
    /// A new lock for this process: a random id, the caller's ARN, the time, host, pid and user.
    pub fn for_this_process(holder: &str, since: String) -> LockInfo {
        LockInfo {
            id: format!("{:016x}", fastrand::u64(..)),
            holder: holder.to_string(),
            since,
            host: host_name(),
            pid: std::process::id(),
            user: ["USER", "USERNAME", "LOGNAME"]
                .iter()
                .find_map(|name| std::env::var(name).ok().filter(|value| !value.is_empty()))
                .unwrap_or_else(|| "unknown".to_string()),
        }
    }
}

/// This machine's name: the kernel's on Linux (`HOSTNAME` is a shell variable, rarely exported),
/// else the environment's, else `unknown`.
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|name| name.trim().to_string())
        .filter(|name| !name.is_empty())
        .or_else(|| {
            ["HOSTNAME", "COMPUTERNAME"].iter().find_map(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
        })
        .unwrap_or_else(|| "unknown".to_string())
}

/// How often a wait for the lock says it is still waiting.
const WAITING_NOTICE: Duration = Duration::from_secs(15);

/// Who holds the lock, in words: the caller's ARN, since when, and where it runs.
fn describe_holder(holder: Option<&LockInfo>) -> String {
    holder.map_or_else(
        || "another apply".to_string(),
        |lock| {
            format!(
                "{} since {} (lock id {}, host {}, pid {}, user {})",
                lock.holder, lock.since, lock.id, lock.host, lock.pid, lock.user
            )
        },
    )
}

/// The state bucket of an organization: `landing-zone-state-<management account>-<region>`.
pub fn state_bucket_name(management_account_id: &str, region: &str) -> String {
    format!("landing-zone-state-{management_account_id}-{region}")
}

/// Where the lock and history live.
pub struct StateStore {
    client: aws_sdk_s3::Client,
    pub bucket: String,
    region: String,
}

impl StateStore {
    pub async fn new(sessions: &Sessions, management_account_id: &str, region: &str) -> StateStore {
        StateStore {
            client: sessions.client::<aws_sdk_s3::Client>(management_account_id, Some(region)).await,
            bucket: state_bucket_name(management_account_id, region),
            region: region.to_string(),
        }
    }

    /// Creates and hardens the bucket if needed (idempotent).
    pub async fn ensure_bucket(&self) -> Result<()> {
        let retry = RetryPolicy::default();
        let mut create = self.client.create_bucket().bucket(&self.bucket);
        if self.region != "us-east-1" {
            create = create.create_bucket_configuration(
                CreateBucketConfiguration::builder()
                    .location_constraint(BucketLocationConstraint::from(self.region.as_str()))
                    .build(),
            );
        }
        match create.send().await {
            Ok(_) => {}
            Err(error) if errors::is_bucket_already_owned(&error) => {}
            Err(error) => {
                bail!("creating state bucket `{}` failed: {}", self.bucket, crate::aws::errors::describe(&error))
            }
        }
        let block = PublicAccessBlockConfiguration::builder()
            .block_public_acls(true)
            .ignore_public_acls(true)
            .block_public_policy(true)
            .restrict_public_buckets(true)
            .build();
        with_retry(&retry, "PutPublicAccessBlock", || {
            self.client
                .put_public_access_block()
                .bucket(&self.bucket)
                .public_access_block_configuration(block.clone())
                .send()
        })
        .await
        .map_err(|error| {
            anyhow!("PutPublicAccessBlock on the state bucket failed: {}", crate::aws::errors::describe(&error))
        })?;
        let encryption = ServerSideEncryptionConfiguration::builder()
            .rules(
                ServerSideEncryptionRule::builder()
                    .apply_server_side_encryption_by_default(
                        ServerSideEncryptionByDefault::builder()
                            .sse_algorithm(ServerSideEncryption::Aes256)
                            .build()
                            .map_err(|error| anyhow!("{error}"))?,
                    )
                    .build(),
            )
            .build()
            .map_err(|error| anyhow!("{error}"))?;
        with_retry(&retry, "PutBucketEncryption", || {
            self.client
                .put_bucket_encryption()
                .bucket(&self.bucket)
                .server_side_encryption_configuration(encryption.clone())
                .send()
        })
        .await
        .map_err(|error| {
            anyhow!("PutBucketEncryption on the state bucket failed: {}", crate::aws::errors::describe(&error))
        })?;
        with_retry(&retry, "PutBucketVersioning", || {
            self.client
                .put_bucket_versioning()
                .bucket(&self.bucket)
                .versioning_configuration(
                    VersioningConfiguration::builder().status(BucketVersioningStatus::Enabled).build(),
                )
                .send()
        })
        .await
        .map_err(|error| {
            anyhow!("PutBucketVersioning on the state bucket failed: {}", crate::aws::errors::describe(&error))
        })?;
        Ok(())
    }

    /// Takes the lock, waiting up to `timeout` for a holder to release it.
    pub async fn acquire(&self, info: &LockInfo, timeout: Duration) -> Result<()> {
        let body = serde_json::to_vec_pretty(info)?;
        let started = tokio::time::Instant::now();
        let mut delay = Duration::from_millis(500);
        let mut last_notice = None;
        loop {
            let written = self
                .client
                .put_object()
                .bucket(&self.bucket)
                .key(LOCK_KEY)
                .if_none_match("*")
                .body(ByteStream::from(body.clone()))
                .content_type("application/json")
                .send()
                .await;
            match written {
                Ok(_) => return Ok(()),
                Err(error) if errors::is_precondition_failed(&error) => {
                    // The write may have succeeded with its response lost, and the retry found our
                    // own lock: that is the lock taken, not a wait for ourselves.
                    if self.holder().await.ok().flatten().is_some_and(|holder| holder.id == info.id) {
                        return Ok(());
                    }
                    if started.elapsed() >= timeout {
                        let who = describe_holder(self.holder().await.ok().flatten().as_ref());
                        bail!(
                            "the organization is locked by {who}\nhint: wait for it to finish, raise --lock-timeout, or if its holder died run `landing-zone force-unlock <lock id>`"
                        );
                    }
                    // Said when the wait starts and then every `WAITING_NOTICE`, at the default
                    // verbosity: a wait of up to --lock-timeout must not look like a hang.
                    if last_notice.is_none_or(|said: tokio::time::Instant| said.elapsed() >= WAITING_NOTICE) {
                        let who = describe_holder(self.holder().await.ok().flatten().as_ref());
                        let waited = started.elapsed().as_secs();
                        let left = timeout.saturating_sub(started.elapsed()).as_secs();
                        tracing::warn!(
                            "waiting for the lock held by {who}: waited {waited} s, giving up in {left} s (--lock-timeout)"
                        );
                        last_notice = Some(tokio::time::Instant::now());
                    }
                    tokio::time::sleep(
                        delay.min(timeout.saturating_sub(started.elapsed()).max(Duration::from_millis(50))),
                    )
                    .await;
                    delay = (delay * 2).min(Duration::from_secs(10));
                }
                Err(error) => bail!("taking the lock failed: {}", crate::aws::errors::describe(&error)),
            }
        }
    }

    /// The current holder, if any.
    pub async fn holder(&self) -> Result<Option<LockInfo>> {
        match self.client.get_object().bucket(&self.bucket).key(LOCK_KEY).send().await {
            Ok(output) => {
                let bytes = output.body.collect().await.context("reading the lock object")?.into_bytes();
                Ok(Some(serde_json::from_slice(&bytes).context("the lock object is not landing-zone's")?))
            }
            Err(error) if errors::is_no_such_object(&error) => Ok(None),
            Err(error) => bail!("reading the lock failed: {}", crate::aws::errors::describe(&error)),
        }
    }

    /// Releases the lock if `id` still holds it; `force` (force-unlock) names the id to free.
    pub async fn release(&self, id: &str) -> Result<bool> {
        match self.holder().await? {
            Some(lock) if lock.id == id => {
                self.client
                    .delete_object()
                    .bucket(&self.bucket)
                    .key(LOCK_KEY)
                    .send()
                    .await
                    .map_err(|error| anyhow!("releasing the lock failed: {}", crate::aws::errors::describe(&error)))?;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    /// Appends a record to the change history.
    pub async fn record(&self, name: &str, record: &serde_json::Value) -> Result<()> {
        let body = serde_json::to_vec_pretty(record)?;
        with_retry(&RetryPolicy::default(), "PutObject", || {
            self.client
                .put_object()
                .bucket(&self.bucket)
                .key(format!("history/{name}.json"))
                .body(ByteStream::from(body.clone()))
                .content_type("application/json")
                .send()
        })
        .await
        .map_err(|error| anyhow!("writing the change history failed: {}", crate::aws::errors::describe(&error)))?;
        Ok(())
    }

    /// Keys of the change history, oldest first (every page of ListObjectsV2).
    pub async fn history(&self) -> Result<Vec<String>> {
        let mut keys = Vec::new();
        let mut pages = self.client.list_objects_v2().bucket(&self.bucket).prefix("history/").into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = match page {
                Ok(page) => page,
                // No apply ever ran here: no bucket, no history.
                Err(error) if errors::is_no_such_bucket(&error) => return Ok(Vec::new()),
                Err(error) => {
                    bail!("listing the change history failed: {}", crate::aws::errors::describe(&error))
                }
            };
            keys.extend(page.contents.unwrap_or_default().into_iter().filter_map(|object| object.key));
        }
        keys.sort();
        Ok(keys)
    }

    /// One record of the change history, by its key (as [`StateStore::history`] lists it).
    pub async fn read_record(&self, key: &str) -> Result<serde_json::Value> {
        let output = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|error| anyhow!("reading `{key}` failed: {}", crate::aws::errors::describe(&error)))?;
        let bytes = output.body.collect().await.with_context(|| format!("reading `{key}`"))?.into_bytes();
        serde_json::from_slice(&bytes).with_context(|| format!("`{key}` is not a landing-zone history record"))
    }
}
