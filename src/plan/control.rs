//! The planner's control vocabulary, pure: a *control* is one configurable thing in one account
//! (and region) — the password policy of an account, a role, a bucket, a trail. Desired and live
//! controls are attribute maps of the same shape (each baseline's typed attribute struct, in its
//! serialized form), so the planner compares them generically and the renderer shows
//! attribute-level diffs. Ids unknown until apply (account ids of new accounts, the organization
//! id) appear as placeholders (`{{account:log-archive}}`, `{{organization}}`) that `resolve` fills.
//!
//! Everything here is data and pure functions: `live`, `apply` and the baselines import it; it
//! imports no SDK type and does no I/O.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::plan::desired::DesiredAccount;
use crate::spec::{Spec, Targets, ROOT};

/// Identifies one control: what, in which account (spec name), in which region.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ControlKey {
    /// `password_policy`, `iam_role/SecurityAuditor`, `guardduty/detector`...
    pub control: String,
    pub account: String,
    pub region: Option<String>,
}

impl ControlKey {
    pub fn new(control: impl Into<String>, account: &str, region: Option<&str>) -> ControlKey {
        ControlKey { control: control.into(), account: account.to_string(), region: region.map(str::to_string) }
    }

    /// The control as plans show it, in the spec's own words (`s3_block_public_access`, not the
    /// stored id `s3_account_public_access_block`), so a reader can grep the plan for a spec key.
    pub fn display_name(&self) -> String {
        display_control(&self.control)
    }

    /// [`ControlKey::label`] in the spec's own words: `s3_block_public_access in app-prod`. Display
    /// only; identities (digests of saved plans) keep [`ControlKey::label`].
    pub fn display_label(&self) -> String {
        match &self.region {
            Some(region) => format!("{} in {} ({region})", self.display_name(), self.account),
            None => format!("{} in {}", self.display_name(), self.account),
        }
    }

    /// `password_policy in app-prod`, `guardduty/detector in security (eu-west-1)`.
    pub fn label(&self) -> String {
        match &self.region {
            Some(region) => format!("{} in {} ({region})", self.control, self.account),
            None => format!("{} in {}", self.control, self.account),
        }
    }
}

/// Control families whose stored id is not their key under `baseline:`: (id, spec key). The ids
/// stay as they are (saved plans and digests carry them); plans show the spec's key. Checked
/// against each baseline's `section()` in the registry by `spec_names_match_the_registry`.
pub const SPEC_NAMES: &[(&str, &str)] = &[
    ("s3_account_public_access_block", "s3_block_public_access"),
    ("budget", "budgets"),
    ("alternate_contact", "contacts"),
    ("ebs_encryption_by_default", "ebs_encryption"),
    ("iam_role", "roles"),
];

/// A control name (`iam_role/SecurityAuditor`) with its family in the spec's words
/// (`roles/SecurityAuditor`).
pub fn display_control(control: &str) -> String {
    let (family, rest) = control.split_once('/').map_or((control, None), |(family, rest)| (family, Some(rest)));
    let shown = SPEC_NAMES.iter().find(|(id, _)| *id == family).map_or(family, |(_, spec)| *spec);
    match rest {
        Some(rest) => format!("{shown}/{rest}"),
        None => shown.to_string(),
    }
}

/// What the spec wants one control to be.
#[derive(Debug, Clone, PartialEq)]
pub struct DesiredControl {
    pub key: ControlKey,
    /// Attribute map; may hold placeholders. Shared: by the plan's actions (an action's `after` is
    /// this same map when it holds no placeholder), and between accounts wanting the same
    /// attributes ([`share_attributes`]). At a thousand accounts the controls' attributes are
    /// most of a plan's memory (issue 25).
    pub attributes: Arc<Value>,
    /// Controls that must be in place first.
    pub after: Vec<ControlKey>,
    /// Trusted-access service principals that must be enabled first.
    pub after_services: Vec<String>,
    /// IAM actions the executor performs for this control (for the SCP lock-out check).
    pub needs: Vec<&'static str>,
    /// Why configuring it cannot be undone (Vault Lock in compliance mode): planned only with the
    /// spec's opt-in and `--allow-destructive`, and shown as irreversible.
    pub irreversible: Option<&'static str>,
    /// The spec wants the control's resource gone (a default VPC), for this reason: a live one is
    /// planned for removal (`-`, with `--allow-destructive`) unless its live attributes say why it
    /// must stay ([`kept_because`]); an absent one is no change. Its attributes are unused.
    pub absent: Option<&'static str>,
    /// AWS makes the resource with every new account (a default VPC in each Region): in an account
    /// the plan creates, an absent control is removed right after the account is made.
    pub made_with_account: bool,
}

impl DesiredControl {
    pub fn new(key: ControlKey, attributes: Value) -> DesiredControl {
        DesiredControl {
            key,
            attributes: Arc::new(attributes),
            after: Vec::new(),
            after_services: Vec::new(),
            needs: Vec::new(),
            irreversible: None,
            absent: None,
            made_with_account: false,
        }
    }

    /// AWS makes the resource with every new account (see [`DesiredControl::made_with_account`]).
    pub fn made_with_account(mut self) -> DesiredControl {
        self.made_with_account = true;
        self
    }

    /// The spec wants the resource gone, for `why` (see [`DesiredControl::absent`]).
    pub fn absent(mut self, why: &'static str) -> DesiredControl {
        self.absent = Some(why);
        self
    }

    pub fn after(mut self, key: ControlKey) -> DesiredControl {
        self.after.push(key);
        self
    }

    pub fn after_service(mut self, service: &str) -> DesiredControl {
        self.after_services.push(service.to_string());
        self
    }

    pub fn irreversible(mut self, why: &'static str) -> DesiredControl {
        self.irreversible = Some(why);
        self
    }

    pub fn needs(mut self, actions: &[&'static str]) -> DesiredControl {
        self.needs.extend_from_slice(actions);
        self
    }
}

/// What the pure desired functions see.
pub struct Inputs<'a> {
    pub spec: &'a Spec,
    pub accounts: &'a [DesiredAccount],
    /// Parsed inline role policies by (role, policy name).
    pub role_documents: &'a BTreeMap<(String, String), Value>,
    /// Parsed permission set inline policies by permission set name (`identity_center`).
    pub permission_set_documents: &'a BTreeMap<String, Value>,
}

impl Inputs<'_> {
    /// Account names the targets cover (units cover their subtree), minus exclusions, in spec order.
    pub fn accounts_for(&self, targets: &Targets) -> Vec<String> {
        let covers = |unit: &str, account_unit: &str| {
            unit == ROOT || account_unit == unit || account_unit.starts_with(&format!("{unit}/"))
        };
        self.accounts
            .iter()
            .filter(|account| !account.close)
            .filter(|account| {
                targets.accounts.contains(&account.name)
                    || targets.units.iter().any(|unit| covers(unit, &account.unit_path))
            })
            .filter(|account| {
                !targets.exclude.iter().any(|excluded| {
                    excluded == &account.name || (excluded != ROOT && covers(excluded, &account.unit_path))
                })
            })
            .map(|account| account.name.clone())
            .collect()
    }

    pub fn regions(&self) -> &[String] {
        &self.spec.organization.regions
    }

    pub fn home_region(&self) -> &str {
        self.spec.organization.regions.first().map_or("us-east-1", String::as_str)
    }
}

/// Ids a placeholder can name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KnownIds {
    /// Account spec name -> id.
    pub accounts: BTreeMap<String, String>,
    pub organization: Option<String>,
}

/// [`resolve`], sharing `value` itself when it holds no placeholder (most attributes): a plan's
/// actions then hold the desired organization's attributes rather than copies of them.
pub fn resolve_shared(value: &Arc<Value>, ids: &KnownIds) -> Arc<Value> {
    match has_placeholders(value) {
        true => Arc::new(resolve(value, ids)),
        false => Arc::clone(value),
    }
}

/// Makes controls wanting equal attributes share one map: a baseline builds each account's
/// controls on their own, and most of them are alike in every account (a password policy, a
/// recorder). Returns how many distinct maps remain.
pub fn share_attributes(controls: &mut [DesiredControl]) -> usize {
    let mut distinct: HashMap<String, Arc<Value>> = HashMap::new();
    for control in controls.iter_mut() {
        // Serialized, a map's text is its identity: equal texts are equal maps, keys in the
        // same order (maps equal but ordered apart stay apart, which costs memory, not meaning).
        let text = control.attributes.to_string();
        match distinct.get(&text) {
            Some(shared) => control.attributes = Arc::clone(shared),
            None => {
                distinct.insert(text, Arc::clone(&control.attributes));
            }
        }
    }
    distinct.len()
}

/// Replaces every placeholder whose id is known; unknown ones stay (shown as "known after apply").
pub fn resolve(value: &Value, ids: &KnownIds) -> Value {
    match value {
        Value::String(text) if text.contains("{{") => Value::String(resolve_text(text, ids)),
        Value::Array(items) => Value::Array(items.iter().map(|item| resolve(item, ids)).collect()),
        // Keys too: a backup policy's `copy_actions` is keyed by the destination vault's ARN.
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (if k.contains("{{") { resolve_text(k, ids) } else { k.clone() }, resolve(v, ids)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn resolve_text(text: &str, ids: &KnownIds) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find("}}") else {
            out.push_str(&rest[start..]);
            return out;
        };
        let name = &rest[start + 2..start + end];
        let replacement = match name.split_once(':') {
            Some(("account", account)) => ids.accounts.get(account).cloned(),
            None if name == "organization" => ids.organization.clone(),
            _ => None,
        };
        match replacement {
            Some(id) => out.push_str(&id),
            None => out.push_str(&rest[start..start + end + 2]),
        }
        rest = &rest[start + end + 2..];
    }
    out.push_str(rest);
    out
}

/// The accounts (by spec name) whose ids `value` still waits for: its `{{account:NAME}}`
/// placeholders. A control that names one must run after that account exists.
pub fn referenced_accounts(value: &Value) -> BTreeSet<String> {
    fn collect(value: &Value, names: &mut BTreeSet<String>) {
        match value {
            Value::String(text) => {
                let mut rest = text.as_str();
                while let Some(start) = rest.find("{{account:") {
                    let after = &rest[start + "{{account:".len()..];
                    let Some(end) = after.find("}}") else { return };
                    names.insert(after[..end].to_string());
                    rest = &after[end + 2..];
                }
            }
            Value::Array(items) => items.iter().for_each(|item| collect(item, names)),
            Value::Object(map) => map.values().for_each(|item| collect(item, names)),
            _ => {}
        }
    }
    let mut names = BTreeSet::new();
    collect(value, &mut names);
    names
}

/// Whether live attributes say AWS no longer lets anyone change the control (`immutable: true`,
/// as a Vault Lock past its grace time reads): the planner notes a difference instead of planning.
pub fn is_immutable(live: &Value) -> bool {
    live.get("immutable") == Some(&Value::Bool(true))
}

/// Why a resource the spec wants gone must stay, as its reader says (`kept_because`: a default
/// VPC a network interface still uses): the planner notes it and plans nothing.
pub fn kept_because(live: &Value) -> Option<&str> {
    live.get("kept_because").and_then(Value::as_str)
}

/// Whether any placeholder is left.
pub fn has_placeholders(value: &Value) -> bool {
    match value {
        Value::String(text) => text.contains("{{"),
        Value::Array(items) => items.iter().any(has_placeholders),
        Value::Object(map) => map.iter().any(|(key, value)| key.contains("{{") || has_placeholders(value)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_resolve_when_known() {
        let mut ids = KnownIds::default();
        ids.accounts.insert("log-archive".to_string(), "111111111111".to_string());
        let value = serde_json::json!({"arn": "arn:aws:s3:::logs-{{account:log-archive}}", "org": "{{organization}}"});
        let resolved = resolve(&value, &ids);
        assert_eq!(resolved["arn"], "arn:aws:s3:::logs-111111111111");
        assert_eq!(resolved["org"], "{{organization}}");
        assert!(has_placeholders(&resolved));
        ids.organization = Some("o-abc".to_string());
        assert!(!has_placeholders(&resolve(&value, &ids)));
    }

    #[test]
    fn attributes_without_placeholders_are_shared_not_copied() {
        let mut ids = KnownIds::default();
        ids.accounts.insert("log-archive".to_string(), "111111111111".to_string());
        let plain = Arc::new(serde_json::json!({"minimum_length": 14, "names": ["a", "b"]}));
        assert!(Arc::ptr_eq(&resolve_shared(&plain, &ids), &plain));
        let templated = Arc::new(serde_json::json!({"bucket": "logs-{{account:log-archive}}"}));
        let resolved = resolve_shared(&templated, &ids);
        assert!(!Arc::ptr_eq(&resolved, &templated));
        assert_eq!(resolved["bucket"], "logs-111111111111");
    }

    #[test]
    fn controls_wanting_equal_attributes_share_one_map() {
        let control = |account: &str, length: u64| {
            DesiredControl::new(
                ControlKey::new("password_policy", account, None),
                serde_json::json!({"minimum_length": length, "require_symbols": true}),
            )
        };
        let mut controls = vec![control("a", 14), control("b", 14), control("c", 20), control("d", 14)];
        assert!(!Arc::ptr_eq(&controls[0].attributes, &controls[1].attributes));
        assert_eq!(share_attributes(&mut controls), 2);
        assert!(Arc::ptr_eq(&controls[0].attributes, &controls[1].attributes));
        assert!(Arc::ptr_eq(&controls[0].attributes, &controls[3].attributes));
        assert!(!Arc::ptr_eq(&controls[0].attributes, &controls[2].attributes));
        assert_eq!(controls[2].attributes["minimum_length"], 20);
    }

    #[test]
    fn placeholders_in_keys_resolve_and_count() {
        let mut ids = KnownIds::default();
        let value =
            serde_json::json!({"arn:aws:backup:us-east-1:{{account:log-archive}}:backup-vault:v": {"days": "7"}});
        assert!(has_placeholders(&value));
        ids.accounts.insert("log-archive".to_string(), "111111111111".to_string());
        let resolved = resolve(&value, &ids);
        assert_eq!(resolved["arn:aws:backup:us-east-1:111111111111:backup-vault:v"]["days"], "7");
        assert!(!has_placeholders(&resolved));
    }

    #[test]
    fn referenced_accounts_are_the_unresolved_account_placeholders() {
        let value = serde_json::json!({
            "admin": "{{account:security}}",
            "arns": ["arn:aws:iam::{{account:log-archive}}:root", "x{{account:security}}y{{organization}}"],
            "broken": "{{account:unclosed",
        });
        let names: Vec<String> = referenced_accounts(&value).into_iter().collect();
        assert_eq!(names, ["log-archive", "security"]);
        assert!(referenced_accounts(&serde_json::json!({"id": "111111111111"})).is_empty());
    }
}
