//! AWS Backup as AWS runs it, where moto 5.2.5 does not: moto has vaults and Vault Lock but lacks
//! the vault access policy (Put/Get/DeleteBackupVaultAccessPolicy) and the global settings
//! (Describe/UpdateGlobalSettings). The strict layer serves those from its own state, per account
//! and Region (an access policy only for a vault moto has), and enforces what moto lets through:
//! CreateBackupVault takes a KMS key ARN, never an alias; the access policy is a JSON policy;
//! `isCrossAccountBackupEnabled` is set only by the management account.
//!
//! Backup policies: moto 5.2.5 lists `BACKUP_POLICY` among its policy types (EnablePolicyType
//! takes it) but answers CreatePolicy of one with an HTML 500 (`NotImplementedError`: it has no
//! ARN format for the type). The layer keeps such a policy in moto as a `TAG_POLICY` stand-in and
//! answers as AWS does: `Type` BACKUP_POLICY and an ARN with `backup_policy` in CreatePolicy,
//! DescribePolicy, UpdatePolicy, ListPolicies and ListPoliciesForTarget (filtered by type), never
//! among the tag policies. Attaching, detaching, deleting and ListTargetsForPolicy go by id.
//! https://docs.aws.amazon.com/organizations/latest/APIReference/API_CreatePolicy.html
//! https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsorganizations.html#awsorganizations-resources-for-iam-policies
//! https://docs.aws.amazon.com/aws-backup/latest/devguide/API_CreateBackupVault.html
//! https://docs.aws.amazon.com/aws-backup/latest/devguide/API_PutBackupVaultAccessPolicy.html
//! https://docs.aws.amazon.com/aws-backup/latest/devguide/API_GetBackupVaultAccessPolicy.html
//! https://docs.aws.amazon.com/aws-backup/latest/devguide/API_UpdateGlobalSettings.html
//! https://docs.aws.amazon.com/aws-backup/latest/devguide/API_DescribeGlobalSettings.html

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use super::proxy::{error_response, forward, Protocol, Request, Response};
use super::strict::MANAGEMENT_ACCOUNT;

#[derive(Default)]
pub struct BackupState {
    /// (account, Region, vault) -> access policy text.
    access_policies: BTreeMap<(String, String, String), String>,
    /// (account, Region) -> global settings.
    settings: BTreeMap<(String, String), BTreeMap<String, String>>,
    /// Ids of the backup policies moto holds as `TAG_POLICY` stand-ins.
    backup_policies: BTreeSet<String>,
}

impl BackupState {
    pub fn forget(&mut self) {
        *self = BackupState::default();
    }
}

fn answer(value: Value) -> Response {
    Response {
        status: 200,
        headers: vec![("content-type".to_string(), "application/json".to_string())],
        body: value.to_string().into_bytes(),
    }
}

fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn invalid(message: &str) -> Response {
    error_response(Protocol::RestJson, 400, "InvalidParameterValueException", message)
}

/// Whether moto has the vault (DescribeBackupVault, signed as the caller).
async fn vault_exists(upstream_port: u16, request: &Request, vault: &str) -> bool {
    let headers: Vec<(String, String)> = request
        .headers
        .iter()
        .filter(|(name, _)| !name.eq_ignore_ascii_case("content-length") && !name.eq_ignore_ascii_case("content-type"))
        .cloned()
        .collect();
    let ask =
        Request { method: "GET".to_string(), target: format!("/backup-vaults/{vault}"), headers, body: Vec::new() };
    forward(upstream_port, &ask).await.is_ok_and(|response| response.status == 200)
}

/// Judges or serves an AWS Backup request; None lets it through to moto.
pub async fn before(
    state: &std::sync::Mutex<BackupState>,
    upstream_port: u16,
    caller: &str,
    region: &str,
    request: &Request,
) -> Option<Response> {
    let path = request.target.split('?').next().unwrap_or_default().to_string();
    let segments: Vec<&str> = path.split('/').filter(|segment| !segment.is_empty()).collect();
    let here = (caller.to_string(), region.to_string());
    match (request.method.as_str(), segments.as_slice()) {
        // ListTags (`GET /tags/{ResourceArn}`,
        // https://docs.aws.amazon.com/aws-backup/latest/devguide/API_ListTags.html): moto 5.2.5 reads
        // the ARN from the path's second-to-last segment, so without a trailing slash it answers
        // every resource with no tags. Forwarded with the slash, moto finds the resource's tags.
        ("GET", ["tags", _]) if !path.ends_with('/') => {
            let (_, query) = request.target.split_once('?').unwrap_or((&request.target, ""));
            let target = if query.is_empty() { format!("{path}/") } else { format!("{path}/?{query}") };
            let forwarded = Request {
                method: request.method.clone(),
                target,
                headers: request.headers.clone(),
                body: request.body.clone(),
            };
            forward(upstream_port, &forwarded).await.ok()
        }
        ("PUT", ["backup-vaults", _]) => {
            let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
            let key = body["EncryptionKeyArn"].as_str().unwrap_or_default();
            (key.contains(":alias/") || key.starts_with("alias/"))
                .then(|| invalid("EncryptionKeyArn must be the ARN of a KMS key, not of an alias."))
        }
        (method, ["backup-vaults", vault, "access-policy"]) => {
            let vault = percent_decode(vault);
            if !vault_exists(upstream_port, request, &vault).await {
                return Some(error_response(
                    Protocol::RestJson,
                    400,
                    "ResourceNotFoundException",
                    &format!("Backup vault {vault} not found"),
                ));
            }
            let key = (caller.to_string(), region.to_string(), vault.clone());
            match method {
                "PUT" => {
                    let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
                    let policy = body["Policy"].as_str().unwrap_or_default();
                    if !serde_json::from_str::<Value>(policy).is_ok_and(|parsed| parsed.is_object()) {
                        return Some(invalid("Policy is not a valid JSON policy document."));
                    }
                    lock(state).access_policies.insert(key, policy.to_string());
                    Some(answer(json!({})))
                }
                "GET" => match lock(state).access_policies.get(&key) {
                    Some(policy) => Some(answer(json!({ "BackupVaultName": vault, "Policy": policy }))),
                    None => Some(error_response(
                        Protocol::RestJson,
                        400,
                        "ResourceNotFoundException",
                        &format!("Backup vault {vault} has no access policy"),
                    )),
                },
                "DELETE" => {
                    lock(state).access_policies.remove(&key);
                    Some(answer(json!({})))
                }
                _ => None,
            }
        }
        ("GET", ["global-settings"]) => {
            let settings = lock(state).settings.get(&here).cloned().unwrap_or_default();
            let mut all = BTreeMap::from([("isCrossAccountBackupEnabled".to_string(), "false".to_string())]);
            all.extend(settings);
            Some(answer(json!({ "GlobalSettings": all })))
        }
        ("PUT", ["global-settings"]) => {
            // "Only the management account of an organization can update this setting."
            if caller != MANAGEMENT_ACCOUNT {
                return Some(error_response(
                    Protocol::RestJson,
                    400,
                    "InvalidRequestException",
                    "Cross-account backup can only be set by the management account of an organization.",
                ));
            }
            let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
            let Some(settings) = body["GlobalSettings"].as_object() else {
                return Some(invalid("GlobalSettings is required."));
            };
            let mut state = lock(state);
            let entry = state.settings.entry(here).or_default();
            for (name, value) in settings {
                entry.insert(name.clone(), value.as_str().unwrap_or_default().to_string());
            }
            Some(answer(json!({})))
        }
        _ => None,
    }
}

fn percent_decode(text: &str) -> String {
    super::strict::percent_decode(text)
}

const BACKUP_POLICY: &str = "BACKUP_POLICY";
const STAND_IN: &str = "TAG_POLICY";

/// A policy summary as AWS shows a backup policy.
fn relabel(summary: &mut Value) {
    summary["Type"] = json!(BACKUP_POLICY);
    if let Some(arn) = summary["Arn"].as_str() {
        summary["Arn"] = json!(arn.replace("/tag_policy/", "/backup_policy/"));
    }
}

/// The request with its JSON body changed (moto does not check signatures).
fn with_body(request: &Request, body: &Value) -> Request {
    Request {
        method: request.method.clone(),
        target: request.target.clone(),
        headers: request.headers.clone(),
        body: body.to_string().into_bytes(),
    }
}

fn answer_json_1_1(value: &Value) -> Response {
    Response {
        status: 200,
        headers: vec![("content-type".to_string(), "application/x-amz-json-1.1".to_string())],
        body: value.to_string().into_bytes(),
    }
}

/// Serves the Organizations requests about backup policies moto cannot make; None lets the
/// request through to moto (and `organizations_after` relabels its answer).
pub async fn organizations_before(
    state: &std::sync::Mutex<BackupState>,
    upstream_port: u16,
    operation: &str,
    request: &Request,
) -> Option<Response> {
    let mut body: Value = serde_json::from_slice(&request.body).ok()?;
    match operation {
        "CreatePolicy" if body["Type"] == BACKUP_POLICY => {
            body["Type"] = json!(STAND_IN);
            let response = forward(upstream_port, &with_body(request, &body)).await.ok()?;
            if response.status != 200 {
                return Some(response);
            }
            let Ok(mut created) = serde_json::from_slice::<Value>(&response.body) else { return Some(response) };
            let summary = &mut created["Policy"]["PolicySummary"];
            if let Some(id) = summary["Id"].as_str() {
                lock(state).backup_policies.insert(id.to_string());
            }
            relabel(summary);
            Some(answer_json_1_1(&created))
        }
        "ListPolicies" | "ListPoliciesForTarget" if body["Filter"] == BACKUP_POLICY => {
            body["Filter"] = json!(STAND_IN);
            let response = forward(upstream_port, &with_body(request, &body)).await.ok()?;
            if response.status != 200 {
                return Some(response);
            }
            let Ok(mut listed) = serde_json::from_slice::<Value>(&response.body) else { return Some(response) };
            let backup = lock(state).backup_policies.clone();
            if let Some(policies) = listed["Policies"].as_array_mut() {
                policies.retain(|policy| policy["Id"].as_str().is_some_and(|id| backup.contains(id)));
                policies.iter_mut().for_each(relabel);
            }
            Some(answer_json_1_1(&listed))
        }
        _ => None,
    }
}

/// Relabels moto's answers about a backup policy's stand-in; drops the stand-ins from the tag
/// policies.
pub fn organizations_after(
    state: &std::sync::Mutex<BackupState>,
    operation: &str,
    request: &Request,
    response: &mut Response,
) {
    if response.status != 200 {
        return;
    }
    let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
    let Ok(mut answer_body) = serde_json::from_slice::<Value>(&response.body) else { return };
    let mut state = lock(state);
    match operation {
        "DescribePolicy" | "UpdatePolicy" => {
            let summary = &mut answer_body["Policy"]["PolicySummary"];
            if !summary["Id"].as_str().is_some_and(|id| state.backup_policies.contains(id)) {
                return;
            }
            relabel(summary);
        }
        "ListPolicies" | "ListPoliciesForTarget" if body["Filter"] == STAND_IN => {
            let Some(policies) = answer_body["Policies"].as_array_mut() else { return };
            policies.retain(|policy| !policy["Id"].as_str().is_some_and(|id| state.backup_policies.contains(id)));
        }
        "DeletePolicy" => {
            if let Some(id) = body["PolicyId"].as_str() {
                state.backup_policies.remove(id);
            }
            return;
        }
        _ => return,
    }
    response.body = answer_body.to_string().into_bytes();
}
