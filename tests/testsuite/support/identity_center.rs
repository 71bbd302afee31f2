//! IAM Identity Center (sso-admin) as AWS runs it, where moto 5.2.5 does not:
//! - moto lacks DescribePermissionSetProvisioningStatus and the permissions boundary operations
//!   (Put/Get/DeletePermissionsBoundary…): served from this state;
//! - moto answers ProvisionPermissionSet and CreateAccountAssignment / DeleteAccountAssignment as
//!   already SUCCEEDED, and its Describe…Status answers carry no `Status`; AWS answers IN_PROGRESS
//!   and the caller polls. The layer rewrites the first answers to IN_PROGRESS and the status
//!   answers to SUCCEEDED, so the tool's polling runs;
//! - moto lists a set under ListAccountsForProvisionedPermissionSet only after an explicit
//!   ProvisionPermissionSet (and then names the caller's own account), while AWS provisions the set
//!   to an account as part of CreateAccountAssignment ("As part of a successful
//!   CreateAccountAssignment call, the specified permission set will automatically be provisioned
//!   to the account"): served from the assignments made through the layer;
//! - strict rules moto does not enforce: a permission set name is unique per instance
//!   (ConflictException), and PutInlinePolicyToPermissionSet's `InlinePolicy` is at most 32,768
//!   characters (ValidationException);
//! - a permission set's `Description` is 1-700 characters of
//!   `[\u0009\u000A\u000D\u0020-\u007E\u00A1-\u00FF]` (ValidationException), and
//!   UpdatePermissionSet changes only the fields it is sent, while moto clears the others: the
//!   layer keeps the fields AWS would hold (from CreatePermissionSet and each UpdatePermissionSet)
//!   and writes them into moto's DescribePermissionSet answers;
//! - only the management account manages the management account's assignments and the
//!   permission sets provisioned to it ("management account only" tasks, which a delegated
//!   administrator cannot do): CreateAccountAssignment / DeleteAccountAssignment targeting the
//!   management account and ProvisionPermissionSet reaching it, from any other account, are
//!   AccessDeniedException (https://docs.aws.amazon.com/singlesignon/latest/userguide/delegated-admin.html).
//!
//! - moto keeps no tags of a permission set and lacks ListTagsForResource: the layer keeps the
//!   `Tags` of each CreatePermissionSet and serves ListTagsForResource from them
//!   (ResourceNotFoundException for a set it does not know, as for a deleted one);
//!
//! https://docs.aws.amazon.com/singlesignon/latest/APIReference/API_ListTagsForResource.html
//! https://docs.aws.amazon.com/singlesignon/latest/APIReference/API_ProvisionPermissionSet.html
//! https://docs.aws.amazon.com/singlesignon/latest/APIReference/API_DescribePermissionSetProvisioningStatus.html
//! https://docs.aws.amazon.com/singlesignon/latest/APIReference/API_CreateAccountAssignment.html
//! https://docs.aws.amazon.com/singlesignon/latest/APIReference/API_CreatePermissionSet.html
//! https://docs.aws.amazon.com/singlesignon/latest/APIReference/API_PutInlinePolicyToPermissionSet.html
//! https://docs.aws.amazon.com/singlesignon/latest/APIReference/API_PutPermissionsBoundaryToPermissionSet.html
//! https://docs.aws.amazon.com/singlesignon/latest/APIReference/API_UpdatePermissionSet.html

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use super::proxy::{error_response, Protocol, Request, Response};
use super::strict::MANAGEMENT_ACCOUNT;

/// The fields UpdatePermissionSet changes only when sent.
const SET_FIELDS: [&str; 3] = ["Description", "SessionDuration", "RelayState"];

#[derive(Default)]
pub struct IdentityCenterState {
    /// ProvisionPermissionSet request id -> (permission set ARN, account).
    provisioning: BTreeMap<String, (String, String)>,
    /// Permission set ARN -> accounts it is provisioned to (by assignment).
    provisioned: BTreeMap<String, BTreeSet<String>>,
    /// Permission set ARN -> its boundary (the request's `PermissionsBoundary`).
    boundaries: BTreeMap<String, Value>,
    /// (caller, instance ARN, name) -> permission set ARN, for sets created through the layer.
    names: BTreeMap<(String, String, String), String>,
    /// Permission set ARN -> the fields of `SET_FIELDS` it was last sent, as AWS keeps them.
    fields: BTreeMap<String, BTreeMap<&'static str, Value>>,
    /// Permission set ARN -> the `Tags` of its CreatePermissionSet.
    tags: BTreeMap<String, Value>,
}

/// A `Description` AWS refuses: the reason, or None.
fn refused_description(body: &Value) -> Option<&'static str> {
    let description = body.get("Description")?.as_str()?;
    let length = description.chars().count();
    let allowed = |c: char| matches!(c, '\u{9}' | '\u{A}' | '\u{D}' | '\u{20}'..='\u{7E}' | '\u{A1}'..='\u{FF}');
    if !(1..=700).contains(&length) {
        Some("Member must have length between 1 and 700")
    } else if !description.chars().all(allowed) {
        Some("Member must satisfy regular expression pattern: [\\u0009\\u000A\\u000D\\u0020-\\u007E\\u00A1-\\u00FF]*")
    } else {
        None
    }
}

/// Whether an account other than the management account asks to manage what only the management
/// account may: an assignment in the management account, or provisioning a set to it.
fn management_account_only(state: &IdentityCenterState, caller: &str, operation: &str, body: &Value) -> bool {
    if caller == MANAGEMENT_ACCOUNT {
        return false;
    }
    let target = body["TargetId"].as_str() == Some(MANAGEMENT_ACCOUNT);
    match operation {
        "CreateAccountAssignment" | "DeleteAccountAssignment" => target,
        "ProvisionPermissionSet" => {
            let set = body["PermissionSetArn"].as_str().unwrap_or_default();
            let provisioned = state.provisioned.get(set).is_some_and(|accounts| accounts.contains(MANAGEMENT_ACCOUNT));
            target || (body["TargetType"].as_str() == Some("ALL_PROVISIONED_ACCOUNTS") && provisioned)
        }
        _ => false,
    }
}

fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn answer(value: Value) -> Response {
    Response {
        status: 200,
        headers: vec![("content-type".to_string(), "application/x-amz-json-1.1".to_string())],
        body: value.to_string().into_bytes(),
    }
}

/// Judges or serves an sso-admin request; None lets it through to moto.
pub fn before(
    state: &std::sync::Mutex<IdentityCenterState>,
    caller: &str,
    operation: &str,
    request: &Request,
) -> Option<Response> {
    let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
    let set = body["PermissionSetArn"].as_str().unwrap_or_default().to_string();
    let mut state = lock(state);
    if management_account_only(&state, caller, operation, &body) {
        return Some(error_response(
            Protocol::Json,
            400,
            "AccessDeniedException",
            "The management account's assignments and the permission sets provisioned to it can be managed only from the management account",
        ));
    }
    if matches!(operation, "CreatePermissionSet" | "UpdatePermissionSet") {
        if let Some(reason) = refused_description(&body) {
            return Some(error_response(
                Protocol::Json,
                400,
                "ValidationException",
                &format!("1 validation error detected: Value at 'description' failed to satisfy constraint: {reason}"),
            ));
        }
    }
    match operation {
        "CreatePermissionSet" => {
            let key = (
                caller.to_string(),
                body["InstanceArn"].as_str().unwrap_or_default().to_string(),
                body["Name"].as_str().unwrap_or_default().to_string(),
            );
            state.names.contains_key(&key).then(|| {
                error_response(
                    Protocol::Json,
                    400,
                    "ConflictException",
                    &format!("PermissionSet with name {} already exists.", key.2),
                )
            })
        }
        "PutInlinePolicyToPermissionSet" => {
            let length = body["InlinePolicy"].as_str().map_or(0, |text| text.chars().count());
            (length > 32_768).then(|| {
                error_response(
                    Protocol::Json,
                    400,
                    "ValidationException",
                    "1 validation error detected: Value at 'inlinePolicy' failed to satisfy constraint: Member must have length less than or equal to 32768",
                )
            })
        }
        "PutPermissionsBoundaryToPermissionSet" => {
            state.boundaries.insert(set, body["PermissionsBoundary"].clone());
            Some(answer(json!({})))
        }
        "GetPermissionsBoundaryForPermissionSet" => Some(match state.boundaries.get(&set) {
            Some(boundary) => answer(json!({ "PermissionsBoundary": boundary })),
            None => {
                error_response(Protocol::Json, 400, "ResourceNotFoundException", "Could not find permissions boundary")
            }
        }),
        "DeletePermissionsBoundaryFromPermissionSet" => Some(match state.boundaries.remove(&set) {
            Some(_) => answer(json!({})),
            None => {
                error_response(Protocol::Json, 400, "ResourceNotFoundException", "Could not find permissions boundary")
            }
        }),
        "ListTagsForResource" => {
            let arn = body["ResourceArn"].as_str().unwrap_or_default();
            Some(match (state.fields.contains_key(arn), state.tags.get(arn)) {
                (true, tags) => answer(json!({ "Tags": tags.cloned().unwrap_or_else(|| json!([])) })),
                (false, _) => {
                    error_response(Protocol::Json, 400, "ResourceNotFoundException", "Could not find resource")
                }
            })
        }
        "ListAccountsForProvisionedPermissionSet" => {
            let accounts: Vec<&String> = state.provisioned.get(&set).into_iter().flatten().collect();
            Some(answer(json!({ "AccountIds": accounts })))
        }
        "DescribePermissionSetProvisioningStatus" => {
            let request_id = body["ProvisionPermissionSetRequestId"].as_str().unwrap_or_default();
            Some(match state.provisioning.get(request_id) {
                Some((arn, account)) => answer(json!({ "PermissionSetProvisioningStatus": {
                    "AccountId": account, "PermissionSetArn": arn, "RequestId": request_id, "Status": "SUCCEEDED",
                }})),
                None => error_response(Protocol::Json, 400, "ResourceNotFoundException", "Request not found"),
            })
        }
        _ => None,
    }
}

/// Rewrites moto's answers to AWS's asynchronous shape and records what later requests need.
pub fn after(
    state: &std::sync::Mutex<IdentityCenterState>,
    caller: &str,
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
    let field = match operation {
        "CreatePermissionSet" => {
            if let Some(arn) = answer_body["PermissionSet"]["PermissionSetArn"].as_str() {
                let key = (
                    caller.to_string(),
                    body["InstanceArn"].as_str().unwrap_or_default().to_string(),
                    body["Name"].as_str().unwrap_or_default().to_string(),
                );
                state.names.insert(key, arn.to_string());
                let sent = SET_FIELDS.iter().filter_map(|field| Some((*field, body.get(*field)?.clone())));
                state.fields.insert(arn.to_string(), sent.collect());
                if let Some(tags) = body.get("Tags") {
                    state.tags.insert(arn.to_string(), tags.clone());
                }
            }
            return;
        }
        "UpdatePermissionSet" => {
            let arn = body["PermissionSetArn"].as_str().unwrap_or_default().to_string();
            let kept = state.fields.entry(arn).or_default();
            for field in SET_FIELDS {
                if let Some(value) = body.get(field) {
                    kept.insert(field, value.clone());
                }
            }
            return;
        }
        "DescribePermissionSet" => {
            let arn = body["PermissionSetArn"].as_str().unwrap_or_default();
            let Some(kept) = state.fields.get(arn) else { return };
            let Some(set) = answer_body.get_mut("PermissionSet").and_then(Value::as_object_mut) else { return };
            for (field, value) in kept {
                set.insert((*field).to_string(), value.clone());
            }
            response.body = answer_body.to_string().into_bytes();
            return;
        }
        "DeletePermissionSet" => {
            let arn = body["PermissionSetArn"].as_str().unwrap_or_default();
            state.names.retain(|_, value| value != arn);
            state.fields.remove(arn);
            state.tags.remove(arn);
            return;
        }
        "ProvisionPermissionSet" => {
            let status = &mut answer_body["PermissionSetProvisioningStatus"];
            let request_id = status["RequestId"].as_str().unwrap_or_default().to_string();
            let arn = body["PermissionSetArn"].as_str().unwrap_or_default().to_string();
            state.provisioning.insert(request_id, (arn, caller.to_string()));
            status["Status"] = json!("IN_PROGRESS");
            response.body = answer_body.to_string().into_bytes();
            return;
        }
        "CreateAccountAssignment" => {
            let arn = body["PermissionSetArn"].as_str().unwrap_or_default().to_string();
            let account = body["TargetId"].as_str().unwrap_or_default().to_string();
            state.provisioned.entry(arn).or_default().insert(account);
            "AccountAssignmentCreationStatus"
        }
        "DeleteAccountAssignment" => "AccountAssignmentDeletionStatus",
        "DescribeAccountAssignmentCreationStatus" | "DescribeAccountAssignmentDeletionStatus" => {
            let field = if operation.contains("Creation") {
                "AccountAssignmentCreationStatus"
            } else {
                "AccountAssignmentDeletionStatus"
            };
            answer_body[field]["Status"] = json!("SUCCEEDED");
            response.body = answer_body.to_string().into_bytes();
            return;
        }
        _ => return,
    };
    answer_body[field]["Status"] = json!("IN_PROGRESS");
    response.body = answer_body.to_string().into_bytes();
}
