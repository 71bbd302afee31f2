//! Saved plans (`plan --out FILE`, `apply FILE`): the plan, the spec's content hash, and a digest
//! of every live object the plan was made from, so apply can refuse a plan whose world moved.
//!
//! A saved plan holds no credentials: only ids, names, attributes and digests. Its `plan_digest`
//! is checked before the plan is used. That catches a file edited or damaged on its way through a
//! pull request or a CI artifact store; it cannot stop an editor who recomputes the digest, which
//! is why `apply FILE` also re-plans under the lock and applies only if the fresh actions equal
//! the saved ones (`ops::apply`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::action::Plan;
use crate::plan::control::KnownIds;
use crate::plan::state::LiveOrganization;

/// Version of the saved-plan file format (2: `plan_digest`; 3: `targets`, and `live_digests`
/// holds only the objects the plan touches, `plan::touched`).
pub const SAVED_PLAN_VERSION: u32 = 3;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedPlan {
    pub format_version: u32,
    pub tool_version: String,
    /// RFC 3339, UTC.
    pub created_at: String,
    /// SHA-256 of the spec text and every document it references.
    pub spec_digest: String,
    /// Object address (`account 1234…`, `policy p-…`, `control …`) -> SHA-256 of its live state,
    /// for the objects the plan touches (`plan::touched::Touched`): apply re-reads those and
    /// refuses the plan when one moved.
    pub live_digests: BTreeMap<String, String>,
    /// The `--target`s the plan was made with (`account:NAME`, `unit:PATH`); empty: the whole
    /// organization. `apply FILE` applies with the same targets.
    #[serde(default)]
    pub targets: Vec<String>,
    pub known_accounts: BTreeMap<String, String>,
    pub known_organization: Option<String>,
    /// SHA-256 of the plan as saved: `show` and `apply` refuse a file whose plan was edited. A
    /// checksum, not a signature (anyone who can edit the file can recompute it): it catches a
    /// hand edit or a damaged file, not an attacker with write access to where plans are kept.
    pub plan_digest: String,
    pub plan: Plan,
}

/// Why a saved plan cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SavedPlanError {
    #[error("not a landing-zone plan: {0}")]
    NotAPlan(#[source] serde_json::Error),
    #[error("saved-plan format {found} is not the format {SAVED_PLAN_VERSION} this landing-zone reads")]
    UnsupportedVersion { found: u64 },
    #[error("the plan in the file was changed after it was saved (its digest does not match `plan_digest`)")]
    Tampered,
    #[error("the plan is inconsistent: {0}")]
    Inconsistent(String),
}

/// The digest `plan_digest` holds.
pub fn plan_digest(plan: &Plan) -> String {
    digest(plan)
}

impl SavedPlan {
    /// Reads a saved plan from its JSON text and checks it: the format version, the digest of the
    /// plan, and that every index and dependency points inside the plan.
    pub fn from_json(text: &str) -> Result<SavedPlan, SavedPlanError> {
        let value: serde_json::Value = serde_json::from_str(text).map_err(SavedPlanError::NotAPlan)?;
        // The version first, so an older or newer file says so instead of naming a missing field.
        match value.get("format_version").and_then(serde_json::Value::as_u64) {
            Some(version) if version == u64::from(SAVED_PLAN_VERSION) => {}
            Some(found) => return Err(SavedPlanError::UnsupportedVersion { found }),
            None => {
                return Err(SavedPlanError::NotAPlan(serde::de::Error::missing_field("format_version")));
            }
        }
        let saved: SavedPlan = serde_json::from_value(value).map_err(SavedPlanError::NotAPlan)?;
        if plan_digest(&saved.plan) != saved.plan_digest {
            return Err(SavedPlanError::Tampered);
        }
        let count = saved.plan.actions.len();
        for (position, planned) in saved.plan.actions.iter().enumerate() {
            if planned.index != position {
                return Err(SavedPlanError::Inconsistent(format!("action {position} is numbered {}", planned.index)));
            }
            if let Some(dependency) = planned.depends_on.iter().find(|dependency| **dependency >= count) {
                return Err(SavedPlanError::Inconsistent(format!(
                    "action {position} depends on action {dependency}, which does not exist"
                )));
            }
        }
        Ok(saved)
    }

    pub fn known_ids(&self) -> KnownIds {
        KnownIds { accounts: self.known_accounts.clone(), organization: self.known_organization.clone() }
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

    fn saved(plan: Plan) -> SavedPlan {
        SavedPlan {
            format_version: SAVED_PLAN_VERSION,
            tool_version: "0".to_string(),
            created_at: rfc3339(0),
            spec_digest: String::new(),
            live_digests: BTreeMap::new(),
            targets: Vec::new(),
            known_accounts: BTreeMap::new(),
            known_organization: None,
            plan_digest: plan_digest(&plan),
            plan,
        }
    }

    fn one_action() -> Plan {
        Plan {
            format_version: 1,
            actions: vec![crate::plan::PlannedAction {
                index: 0,
                action: crate::plan::Action::EnableServiceAccess { service: "guardduty.amazonaws.com".to_string() },
                depends_on: vec![],
                reaches_accounts: 0,
            }],
            warnings: vec![],
            notes: vec![],
            blocked: Vec::new(),
        }
    }

    #[test]
    fn a_saved_plan_reads_back_and_an_edited_one_is_refused() {
        let text = serde_json::to_string_pretty(&saved(one_action())).unwrap();
        assert_eq!(SavedPlan::from_json(&text).unwrap(), saved(one_action()));
        let edited = text.replace("guardduty.amazonaws.com", "evil.amazonaws.com");
        assert!(matches!(SavedPlan::from_json(&edited), Err(SavedPlanError::Tampered)));
        assert!(matches!(SavedPlan::from_json("{\"plan\": 1"), Err(SavedPlanError::NotAPlan(_))));
        let older = text.replacen("\"format_version\": 3", "\"format_version\": 2", 1);
        assert!(matches!(SavedPlan::from_json(&older), Err(SavedPlanError::UnsupportedVersion { found: 2 })));
        let mut broken = one_action();
        broken.actions[0].depends_on.push(7);
        let text = serde_json::to_string(&saved(broken)).unwrap();
        assert!(matches!(SavedPlan::from_json(&text), Err(SavedPlanError::Inconsistent(_))));
    }

    #[test]
    fn formats_timestamps() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_795_478_400), "2026-11-24T00:00:00Z");
        assert_eq!(rfc3339(951_782_400 + 3_661), "2000-02-29T01:01:01Z");
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
