//! The per-run read cache: what a baseline's reader may share with the other reads of the same
//! run, so one call can answer several controls (AWS Config's `DescribeConfigRules` names every
//! rule of an account and region at once). It holds the key of every control the run reads, and the results of batched reads, each loaded once. It lives as long as one read
//! of the organization and never outlives it: nothing here is a cache across runs.

use std::any::Any;
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, PoisonError};

use anyhow::{anyhow, Result};
use tokio::sync::OnceCell;

use crate::plan::control::ControlKey;

type Slot = Arc<OnceCell<Arc<dyn Any + Send + Sync>>>;

/// Shared by every read of one run.
#[derive(Default)]
pub struct RunReads {
    /// Every control read this run.
    controls: BTreeSet<ControlKey>,
    /// By the account whose reads alone use them (None: any read of the run), then by key.
    batches: Mutex<HashMap<Option<String>, HashMap<String, Slot>>>,
}

impl RunReads {
    pub fn new(controls: BTreeSet<ControlKey>) -> RunReads {
        RunReads { controls, batches: Mutex::new(HashMap::new()) }
    }

    /// Drops the batches of `account` (loaded with [`RunReads::once_in_account`]): once its
    /// controls are read and its resources searched, nothing else asks for them. At a thousand
    /// accounts the config rules' listings alone were 11 MB of a plan's peak (issue 25). A later
    /// read of them loads them again.
    pub fn forget_account(&self, account: &str) {
        self.batches.lock().unwrap_or_else(PoisonError::into_inner).remove(&Some(account.to_string()));
    }

    /// [`RunReads::once`] for a batch only `account`'s reads use (its spec name), which
    /// [`RunReads::forget_account`] drops.
    pub async fn once_in_account<T, F, Fut>(&self, account: &str, key: String, load: F) -> Result<Arc<T>>
    where
        T: Any + Send + Sync,
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<T>>,
    {
        self.load(Some(account.to_string()), key, load).await
    }

    /// Every control this run reads.
    pub fn controls(&self) -> &BTreeSet<ControlKey> {
        &self.controls
    }

    /// The controls of this run in `account` and `region` whose name starts with `prefix`.
    pub fn peers<'a>(
        &'a self,
        account: &'a str,
        region: Option<&'a str>,
        prefix: &'a str,
    ) -> impl Iterator<Item = &'a ControlKey> + 'a {
        self.controls.iter().filter(move |key| {
            key.account == account && key.region.as_deref() == region && key.control.starts_with(prefix)
        })
    }

    /// The result of `load` for `key`, loaded once per run however many readers ask at once. A
    /// failed load is not kept: the next reader tries again (and reports its own error).
    pub async fn once<T, F, Fut>(&self, key: String, load: F) -> Result<Arc<T>>
    where
        T: Any + Send + Sync,
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<T>>,
    {
        self.load(None, key, load).await
    }

    async fn load<T, F, Fut>(&self, account: Option<String>, key: String, load: F) -> Result<Arc<T>>
    where
        T: Any + Send + Sync,
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<T>>,
    {
        let slot = {
            let mut batches = self.batches.lock().unwrap_or_else(PoisonError::into_inner);
            batches.entry(account).or_default().entry(key.clone()).or_default().clone()
        };
        let value = slot
            .get_or_try_init(|| async { load().await.map(|value| Arc::new(value) as Arc<dyn Any + Send + Sync>) })
            .await?
            .clone();
        value.downcast::<T>().map_err(|_| anyhow!("the batched read `{key}` was loaded with another type"))
    }
}

impl std::fmt::Debug for RunReads {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("RunReads").field("controls", &self.controls.len()).finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test]
    async fn a_batch_loads_once_for_every_reader_and_a_failure_is_retried() {
        let reads = RunReads::default();
        let loads = AtomicUsize::new(0);
        let readers = (0..10).map(|_| {
            reads.once("rules a us-east-1".to_string(), || async {
                loads.fetch_add(1, Ordering::SeqCst);
                tokio::task::yield_now().await;
                Ok(vec!["RULE".to_string()])
            })
        });
        for read in futures::future::join_all(readers).await {
            assert_eq!(*read.expect("read"), vec!["RULE".to_string()]);
        }
        assert_eq!(loads.load(Ordering::SeqCst), 1);

        let failed: Result<Arc<u8>> = reads.once("other".to_string(), || async { Err(anyhow!("throttled")) }).await;
        assert!(failed.is_err());
        let retried = reads.once("other".to_string(), || async { Ok(7u8) }).await.expect("retried");
        assert_eq!(*retried, 7);
    }

    #[tokio::test]
    async fn an_accounts_batches_are_dropped_when_it_is_done_and_the_others_stay() {
        let reads = RunReads::default();
        let loads = AtomicUsize::new(0);
        let load = |value: u8| {
            let loads = &loads;
            move || async move {
                loads.fetch_add(1, Ordering::SeqCst);
                Ok(value)
            }
        };
        let app = reads.once_in_account("app", "rules app us-east-1".to_string(), load(1)).await.expect("app");
        reads.once_in_account("other", "rules other us-east-1".to_string(), load(2)).await.expect("other");
        reads.once("instance".to_string(), load(3)).await.expect("run-wide");
        assert_eq!(loads.load(Ordering::SeqCst), 3);
        reads.forget_account("app");
        // What was handed out stays readable; the run no longer holds it.
        assert_eq!(Arc::strong_count(&app), 1);
        reads.once_in_account("other", "rules other us-east-1".to_string(), load(9)).await.expect("other");
        reads.once("instance".to_string(), load(9)).await.expect("run-wide");
        assert_eq!(loads.load(Ordering::SeqCst), 3, "the other account's batch and the run's stay");
        let again = reads.once_in_account("app", "rules app us-east-1".to_string(), load(4)).await.expect("app");
        assert_eq!((*again, loads.load(Ordering::SeqCst)), (4, 4), "a forgotten batch is loaded again");
    }

    #[test]
    fn peers_are_the_controls_of_one_account_and_region() {
        let key = |control: &str, account: &str, region: &str| ControlKey::new(control, account, Some(region));
        let reads = RunReads::new(BTreeSet::from([
            key("aws_config/rule/A", "app", "us-east-1"),
            key("aws_config/rule/B", "app", "us-east-1"),
            key("aws_config/rule/A", "app", "eu-west-1"),
            key("aws_config/recorder", "app", "us-east-1"),
            key("aws_config/rule/A", "other", "us-east-1"),
        ]));
        let peers: Vec<String> =
            reads.peers("app", Some("us-east-1"), "aws_config/rule/").map(|key| key.control.clone()).collect();
        assert_eq!(peers, ["aws_config/rule/A", "aws_config/rule/B"]);
    }
}
