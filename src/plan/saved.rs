//! Saved plans (`plan --out FILE`, `apply FILE`): the plan, the spec's content hash, and a digest
//! of every live object the plan was made from, so apply can refuse a plan whose world moved.
//!
//! A saved plan holds no credentials: only ids, names, attributes and digests. Its file carries an
//! `integrity` field (SHA-256 of the rest), checked before any of it is used. That catches a file
//! edited or damaged on its way through a pull request or a CI artifact store; it cannot stop an
//! editor who recomputes the digest, which is why `apply FILE` also re-plans under the lock and
//! applies only if the fresh actions equal the saved ones (`ops::apply`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::action::Plan;
use crate::plan::control::KnownIds;
use crate::plan::state::LiveOrganization;

/// Version of the saved-plan file format.
pub const SAVED_PLAN_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedPlan {
    pub format_version: u32,
    pub tool_version: String,
    /// RFC 3339, UTC.
    pub created_at: String,
    /// SHA-256 of the spec text and every document it references.
    pub spec_digest: String,
    /// Object address (`account 1234…`, `policy p-…`, `control …`) -> SHA-256 of its live state.
    pub live_digests: BTreeMap<String, String>,
    pub known_accounts: BTreeMap<String, String>,
    pub known_organization: Option<String>,
    pub plan: Plan,
}

impl SavedPlan {
    pub fn known_ids(&self) -> KnownIds {
        KnownIds { accounts: self.known_accounts.clone(), organization: self.known_organization.clone() }
    }
}

/// The file field that seals a saved plan.
pub const INTEGRITY_FIELD: &str = "integrity";

/// Why a saved-plan file is refused before anything in it is used.
#[derive(Debug, thiserror::Error)]
pub enum SavedPlanError {
    #[error("it is not JSON: {0}")]
    NotJson(#[source] serde_json::Error),
    #[error("it has no `integrity` field: it was not written by `landing-zone plan --out`")]
    Unsealed,
    #[error("its content does not match its `integrity` digest: it was edited or damaged after `landing-zone plan --out` wrote it")]
    Tampered,
    #[error("it is not a landing-zone plan of format version {SAVED_PLAN_VERSION}: {0}")]
    NotAPlan(#[source] serde_json::Error),
}

impl SavedPlan {
    /// The file text: the plan as pretty JSON with its `integrity` digest.
    pub fn to_file_text(&self) -> Result<String, serde_json::Error> {
        let mut value = serde_json::to_value(self)?;
        let seal = format!("sha256:{}", digest(&value));
        if let serde_json::Value::Object(map) = &mut value {
            map.insert(INTEGRITY_FIELD.to_string(), serde_json::Value::String(seal));
        }
        serde_json::to_string_pretty(&value)
    }

    /// Reads a saved-plan file: the digest is checked before the plan is interpreted.
    pub fn from_file_text(text: &str) -> Result<SavedPlan, SavedPlanError> {
        let mut value: serde_json::Value = serde_json::from_str(text).map_err(SavedPlanError::NotJson)?;
        let recorded = value
            .as_object_mut()
            .and_then(|map| map.remove(INTEGRITY_FIELD))
            .and_then(|seal| seal.as_str().map(str::to_string))
            .ok_or(SavedPlanError::Unsealed)?;
        if recorded != format!("sha256:{}", digest(&value)) {
            return Err(SavedPlanError::Tampered);
        }
        let saved: SavedPlan = serde_json::from_value(value).map_err(SavedPlanError::NotAPlan)?;
        if saved.format_version != SAVED_PLAN_VERSION {
            return Err(SavedPlanError::NotAPlan(serde::de::Error::custom(format!(
                "format version {}",
                saved.format_version
            ))));
        }
        Ok(saved)
    }
}

fn digest(value: &impl Serialize) -> String {
    let bytes = serde_json::to_vec(value).unwrap_or_default();
    format!("{:x}", Sha256::digest(bytes))
}

/// A digest per live object read.
pub fn live_digests(live: &LiveOrganization) -> BTreeMap<String, String> {
    let mut digests = BTreeMap::new();
    digests.insert("organization".to_string(), digest(&(&live.organization, &live.root)));
    digests.insert("trusted services".to_string(), digest(&live.trusted_services));
    digests.insert("delegated administrators".to_string(), digest(&live.delegated_administrators));
    digests.insert("pending account creations".to_string(), digest(&live.pending_account_creations));
    for unit in live.units.values() {
        digests.insert(format!("unit {} ({})", live.path_of(&unit.id).unwrap_or_default(), unit.id), digest(unit));
    }
    for account in live.accounts.values() {
        digests.insert(format!("account {} ({})", account.name, account.id), digest(account));
    }
    for policy in live.policies.values() {
        digests.insert(format!("policy {} ({})", policy.name, policy.id), digest(policy));
    }
    for (key, value) in &live.controls {
        digests.insert(format!("control {}", key.label()), digest(value));
    }
    digests
}

/// What differs between the digests a plan was made from and the current ones.
pub fn changed_objects(saved: &BTreeMap<String, String>, current: &BTreeMap<String, String>) -> Vec<String> {
    let mut changes = Vec::new();
    for (address, digest) in saved {
        match current.get(address) {
            None => changes.push(format!("{address}: gone")),
            Some(now) if now != digest => changes.push(format!("{address}: changed")),
            Some(_) => {}
        }
    }
    for address in current.keys().filter(|address| !saved.contains_key(*address)) {
        changes.push(format!("{address}: new"));
    }
    changes
}

/// Seconds since the Unix epoch as RFC 3339 UTC (no clock is read here).
pub fn rfc3339(unix_seconds: u64) -> String {
    let days = unix_seconds / 86_400;
    let seconds_of_day = unix_seconds % 86_400;
    // Howard Hinnant's civil-from-days.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 { month_index + 3 } else { month_index - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        seconds_of_day / 3600,
        (seconds_of_day % 3600) / 60,
        seconds_of_day % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_timestamps() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_795_478_400), "2026-11-24T00:00:00Z");
        assert_eq!(rfc3339(951_782_400 + 3_661), "2000-02-29T01:01:01Z");
    }

    fn sample() -> SavedPlan {
        SavedPlan {
            format_version: SAVED_PLAN_VERSION,
            tool_version: "0".to_string(),
            created_at: rfc3339(0),
            spec_digest: "spec".to_string(),
            live_digests: BTreeMap::new(),
            known_accounts: [("app".to_string(), "111111111111".to_string())].into_iter().collect(),
            known_organization: None,
            plan: Plan { format_version: 1, actions: Vec::new(), warnings: Vec::new(), notes: Vec::new() },
        }
    }

    #[test]
    fn a_sealed_plan_reads_back_unchanged() {
        let text = sample().to_file_text().expect("serializes");
        assert_eq!(SavedPlan::from_file_text(&text).expect("reads"), sample());
    }

    #[test]
    fn an_edited_or_unsealed_plan_is_refused_before_use() {
        let text = sample().to_file_text().expect("serializes");
        let edited = text.replace("111111111111", "222222222222");
        assert!(matches!(SavedPlan::from_file_text(&edited), Err(SavedPlanError::Tampered)));
        let mut value: serde_json::Value = serde_json::from_str(&text).expect("json");
        value.as_object_mut().expect("object").remove(INTEGRITY_FIELD);
        assert!(matches!(SavedPlan::from_file_text(&value.to_string()), Err(SavedPlanError::Unsealed)));
        assert!(matches!(SavedPlan::from_file_text("not json"), Err(SavedPlanError::NotJson(_))));
    }

    #[test]
    fn reports_changed_gone_and_new_objects() {
        let saved: BTreeMap<String, String> =
            [("a", "1"), ("b", "2")].iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let current: BTreeMap<String, String> =
            [("a", "1"), ("b", "3"), ("c", "4")].iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        assert_eq!(changed_objects(&saved, &current), ["b: changed", "c: new"]);
        assert!(changed_objects(&saved, &saved).is_empty());
    }
}
