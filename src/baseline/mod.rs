//! Security baselines: each folder owns one section of `baseline:` — its desired controls (pure),
//! its live reader and its write steps — so adding a baseline is adding one folder.
//!
//! A *control* is one configurable thing in one account (and region): the password policy of an
//! account, a role, a bucket, a trail. Desired and live controls are JSON attribute maps of the same
//! shape, so the planner compares them generically and the renderer shows attribute-level diffs.
//! Ids that are unknown until apply (account ids of new accounts, the organization id) appear as
//! placeholders (`{{account:log-archive}}`, `{{organization}}`) that `resolve` fills in.

pub mod access_analyzer;
pub mod aws_config;
pub mod cloudtrail;
pub mod contacts;
pub mod ebs_encryption;
pub mod guardduty;
pub mod log_archive;
pub mod password_policy;
pub mod public_access_block;
pub mod roles;
pub mod security_hub;

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::aws::session::Sessions;
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

    /// `password_policy in app-prod`, `guardduty/detector in security (eu-west-1)`.
    pub fn label(&self) -> String {
        match &self.region {
            Some(region) => format!("{} in {} ({region})", self.control, self.account),
            None => format!("{} in {}", self.control, self.account),
        }
    }
}

/// What the spec wants one control to be.
#[derive(Debug, Clone, PartialEq)]
pub struct DesiredControl {
    pub key: ControlKey,
    /// Attribute map; may hold placeholders.
    pub attributes: Value,
    /// Controls that must be in place first.
    pub after: Vec<ControlKey>,
    /// Trusted-access service principals that must be enabled first.
    pub after_services: Vec<String>,
    /// IAM actions the executor performs for this control (for the SCP lock-out check).
    pub needs: Vec<&'static str>,
}

impl DesiredControl {
    pub fn new(key: ControlKey, attributes: Value) -> DesiredControl {
        DesiredControl { key, attributes, after: Vec::new(), after_services: Vec::new(), needs: Vec::new() }
    }

    pub fn after(mut self, key: ControlKey) -> DesiredControl {
        self.after.push(key);
        self
    }

    pub fn after_service(mut self, service: &str) -> DesiredControl {
        self.after_services.push(service.to_string());
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

/// Every control the spec's baselines want, in dependency order (a control's `after` come first).
pub fn desired_controls(inputs: &Inputs<'_>) -> Vec<DesiredControl> {
    let mut controls = Vec::new();
    controls.extend(password_policy::desired(inputs));
    controls.extend(public_access_block::desired(inputs));
    controls.extend(contacts::desired(inputs));
    controls.extend(roles::desired(inputs));
    controls.extend(log_archive::desired(inputs));
    controls.extend(cloudtrail::desired(inputs));
    controls.extend(guardduty::desired(inputs));
    controls.extend(security_hub::desired(inputs));
    controls.extend(access_analyzer::desired(inputs));
    controls.extend(ebs_encryption::desired(inputs));
    controls.extend(aws_config::desired(inputs));
    controls
}

/// Service principals the baselines need trusted access for.
pub fn trusted_services(spec: &Spec) -> BTreeSet<String> {
    let baseline = &spec.baseline;
    let mut services = BTreeSet::new();
    let mut add = |present: bool, service: &str| {
        if present {
            services.insert(service.to_string());
        }
    };
    add(baseline.cloudtrail.is_some(), cloudtrail::SERVICE);
    add(baseline.guardduty.is_some(), guardduty::SERVICE);
    add(baseline.security_hub.is_some(), security_hub::SERVICE);
    add(baseline.access_analyzer.is_some(), access_analyzer::SERVICE);
    add(baseline.contacts.is_some(), contacts::SERVICE);
    services
}

/// Delegated administrators registered through Organizations (service principal, account name).
/// GuardDuty and Security Hub register theirs through their own APIs (controls of their own).
pub fn delegated_administrators(spec: &Spec) -> BTreeSet<(String, String)> {
    let mut admins = BTreeSet::new();
    if let Some(analyzer) = &spec.baseline.access_analyzer {
        admins.insert((access_analyzer::SERVICE.to_string(), analyzer.admin_account.clone()));
    }
    admins
}

/// Ids a placeholder can name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KnownIds {
    /// Account spec name -> id.
    pub accounts: BTreeMap<String, String>,
    pub organization: Option<String>,
}

/// Replaces every placeholder whose id is known; unknown ones stay (shown as "known after apply").
pub fn resolve(value: &Value, ids: &KnownIds) -> Value {
    match value {
        Value::String(text) if text.contains("{{") => Value::String(resolve_text(text, ids)),
        Value::Array(items) => Value::Array(items.iter().map(|item| resolve(item, ids)).collect()),
        Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), resolve(v, ids))).collect()),
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

/// Whether any placeholder is left.
pub fn has_placeholders(value: &Value) -> bool {
    match value {
        Value::String(text) => text.contains("{{"),
        Value::Array(items) => items.iter().any(has_placeholders),
        Value::Object(map) => map.values().any(has_placeholders),
        _ => false,
    }
}

/// What readers and steps get: sessions, and the ids of every account by spec name.
pub struct Context<'a> {
    pub sessions: &'a Sessions,
    pub ids: &'a KnownIds,
}

impl Context<'_> {
    pub fn account_id(&self, account: &str) -> Result<&str> {
        match self.ids.accounts.get(account) {
            Some(id) => Ok(id),
            None => bail!("the id of account `{account}` is not known"),
        }
    }
}

/// Reads one control's live attributes (None: absent). `desired` is the control's desired
/// attributes with known ids filled in; readers use it to find what they read (a bucket's name).
pub async fn read(context: &Context<'_>, key: &ControlKey, desired: &Value) -> Result<Option<Value>> {
    let family = key.control.split('/').next().unwrap_or_default();
    match family {
        password_policy::CONTROL => password_policy::read(context, key).await,
        public_access_block::CONTROL => public_access_block::read(context, key).await,
        contacts::CONTROL => contacts::read(context, key).await,
        roles::CONTROL => roles::read(context, key).await,
        log_archive::CONTROL => log_archive::read(context, key, desired).await,
        cloudtrail::CONTROL => cloudtrail::read(context, key, desired).await,
        guardduty::CONTROL => guardduty::read(context, key, desired).await,
        security_hub::CONTROL => security_hub::read(context, key, desired).await,
        access_analyzer::CONTROL => access_analyzer::read(context, key, desired).await,
        ebs_encryption::CONTROL => ebs_encryption::read(context, key).await,
        aws_config::CONTROL => aws_config::read(context, key, desired).await,
        other => bail!("unknown control family `{other}`"),
    }
}

/// Makes one control match `attributes` (placeholders already resolved).
pub async fn apply(context: &Context<'_>, key: &ControlKey, attributes: &Value, before: Option<&Value>) -> Result<()> {
    let family = key.control.split('/').next().unwrap_or_default();
    match family {
        password_policy::CONTROL => password_policy::apply(context, key, attributes).await,
        public_access_block::CONTROL => public_access_block::apply(context, key, attributes).await,
        contacts::CONTROL => contacts::apply(context, key, attributes).await,
        roles::CONTROL => roles::apply(context, key, attributes, before).await,
        log_archive::CONTROL => log_archive::apply(context, key, attributes, before).await,
        cloudtrail::CONTROL => cloudtrail::apply(context, key, attributes, before).await,
        guardduty::CONTROL => guardduty::apply(context, key, attributes).await,
        security_hub::CONTROL => security_hub::apply(context, key, attributes, before).await,
        access_analyzer::CONTROL => access_analyzer::apply(context, key, attributes).await,
        ebs_encryption::CONTROL => ebs_encryption::apply(context, key, attributes).await,
        aws_config::CONTROL => aws_config::apply(context, key, attributes, before).await,
        other => bail!("unknown control family `{other}`"),
    }
}

/// The endpoint answered an operation with an HTML error page instead of an AWS error: it does
/// not implement the operation. AWS never does this; emulators (moto) do for operations they lack.
/// Readers and steps report it so the plan can say the control is not managed there.
#[derive(Debug, thiserror::Error)]
#[error("the endpoint does not implement {operation} (AWS does; this happens against emulators)")]
pub struct Unimplemented {
    pub operation: String,
}

/// The refusal to replace another delegated administrator: doing so has organization-wide effects
/// and must be deliberate. `service` is the display name, `cli` the AWS CLI's service name and
/// `section` the spec's `baseline.<section>`.
pub fn another_administrator(
    service: &str,
    cli: &str,
    section: &str,
    region: &str,
    current: &str,
    admin: &str,
) -> anyhow::Error {
    anyhow::anyhow!(
        "{service} in {region} already has account {current} as delegated administrator, not {admin}; landing-zone does not replace a delegated administrator\nhint: run `aws {cli} disable-organization-admin-account --admin-account-id {current} --region {region}` from the management account deliberately, or set `baseline.{section}.admin_account` to that account"
    )
}

/// `Err(e)` -> a readable message with the AWS code, or `Unimplemented`.
pub fn aws_error<E>(
    what: &str,
    error: aws_smithy_runtime_api::client::result::SdkError<
        E,
        aws_smithy_runtime_api::client::orchestrator::HttpResponse,
    >,
) -> anyhow::Error
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let html = error
        .raw_response()
        .filter(|response| matches!(response.status().as_u16(), 404 | 500 | 501))
        .and_then(|response| response.body().bytes())
        .is_some_and(|body| body.starts_with(b"<!doctype html>") || body.starts_with(b"<!DOCTYPE html>"));
    if html {
        return anyhow::Error::new(Unimplemented { operation: what.to_string() });
    }
    anyhow::anyhow!("{what} failed: {}", crate::aws::errors::describe(&error))
}

/// Whether an error (anywhere in its chain) is `Unimplemented`.
pub fn unimplemented(error: &anyhow::Error) -> Option<&Unimplemented> {
    error.chain().find_map(|cause| cause.downcast_ref::<Unimplemented>())
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
