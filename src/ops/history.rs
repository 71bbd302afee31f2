//! `history`: the applies recorded in the state bucket (`apply::lock::StateStore`), as data.
//! Reads only; the CLI renders.
//!
//! A record is `history/<started at>-<lock id>.json`, written by every apply (`ops::apply`); its id
//! is the lock id. Records written before the id, result and end time were kept are read too:
//! their id comes from the key, their result from their counts.

use anyhow::{bail, Result};
use serde::Serialize;
use serde_json::Value;

use crate::apply::lock::StateStore;

/// One apply, as `history` lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HistoryEntry {
    /// The lock id of the apply: what `history show` takes.
    pub id: String,
    pub started_at: String,
    pub finished_at: Option<String>,
    /// The caller's ARN.
    pub who: String,
    /// The operating-system user and host that ran it.
    pub user: String,
    pub host: String,
    /// complete | incomplete | stopped | interrupted.
    pub result: String,
    /// The plan's counts (`add`, `change`, `destroy`, ...).
    pub summary: Value,
    /// How many actions the plan had.
    pub actions: usize,
    pub failed_accounts: Vec<String>,
    pub tool_version: String,
}

/// The lock id at the end of a history key (`history/<time>-<id>.json`).
fn id_of(key: &str) -> &str {
    let name = key.trim_start_matches("history/").trim_end_matches(".json");
    name.rsplit('-').next().unwrap_or(name)
}

fn text(record: &Value, field: &str) -> String {
    record[field].as_str().unwrap_or_default().to_string()
}

/// The entry of one record (`key` names it when the record predates its `id`).
pub fn entry(key: &str, record: &Value) -> HistoryEntry {
    let outcome = &record["outcome"];
    let count = |field: &str| outcome[field].as_u64().unwrap_or(0);
    let result = record["result"].as_str().map(str::to_string).unwrap_or_else(|| {
        if outcome.is_null() {
            "interrupted".to_string()
        } else if count("failed") == 0 && count("not_started") == 0 {
            "complete".to_string()
        } else {
            "incomplete".to_string()
        }
    });
    HistoryEntry {
        id: record["id"].as_str().map_or_else(|| id_of(key).to_string(), str::to_string),
        started_at: text(record, "started_at"),
        finished_at: record["finished_at"].as_str().map(str::to_string),
        who: text(record, "who"),
        user: text(record, "user"),
        host: text(record, "host"),
        result,
        summary: record["summary"].clone(),
        actions: record["actions"].as_array().map_or(0, Vec::len),
        failed_accounts: outcome["failed_accounts"]
            .as_array()
            .map(|accounts| accounts.iter().filter_map(Value::as_str).map(str::to_string).collect())
            .unwrap_or_default(),
        tool_version: text(record, "tool_version"),
    }
}

/// Every apply recorded, oldest first.
pub async fn list(store: &StateStore) -> Result<Vec<HistoryEntry>> {
    let keys = store.history().await?;
    let records = futures::future::try_join_all(keys.iter().map(|key| store.read_record(key))).await?;
    Ok(keys.iter().zip(&records).map(|(key, record)| entry(key, record)).collect())
}

/// The whole record of the apply with this id (a lock id, or its unique beginning).
pub async fn show(store: &StateStore, id: &str) -> Result<(HistoryEntry, Value)> {
    let keys = store.history().await?;
    let matching: Vec<&String> = keys.iter().filter(|key| !id.is_empty() && id_of(key).starts_with(id)).collect();
    match matching.as_slice() {
        [key] => {
            let record = store.read_record(key).await?;
            Ok((entry(key, &record), record))
        }
        [] => bail!(
            "no apply with id `{id}` in the change history of `{}`\nhint: `landing-zone history` lists them",
            store.bucket
        ),
        _ => bail!("{} applies have ids starting with `{id}`: give more of it", matching.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_entry_reads_new_records_and_old_ones() {
        let new = json!({
            "id": "00ab", "result": "stopped", "started_at": "2026-12-06T10:00:00Z", "finished_at": "2026-12-06T10:01:00Z",
            "who": "arn:aws:iam::123456789012:user/alice", "user": "alice", "host": "ci",
            "summary": { "add": 1, "change": 0, "destroy": 0 },
            "outcome": { "done": 0, "failed": 1, "not_started": 0, "failed_accounts": [] },
            "actions": [{ "address": "account/app" }],
        });
        let entry = entry("history/2026-12-06T10:00:00Z-00ab.json", &new);
        assert_eq!((entry.id.as_str(), entry.result.as_str(), entry.actions), ("00ab", "stopped", 1));
        // Before `id` and `result` were kept: both from the key and the counts.
        let old = json!({ "started_at": "t", "outcome": { "failed": 0, "not_started": 0, "failed_accounts": ["app"] }, "actions": [] });
        let entry = super::entry("history/2026-12-06T10:00:00Z-00cd.json", &old);
        assert_eq!((entry.id.as_str(), entry.result.as_str()), ("00cd", "complete"));
        assert_eq!(entry.failed_accounts, vec!["app".to_string()]);
        let interrupted = super::entry("history/x-ef.json", &json!({ "outcome": null }));
        assert_eq!(interrupted.result, "interrupted");
    }
}
