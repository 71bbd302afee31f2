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
//!   characters (ValidationException).
//!
//! https://docs.aws.amazon.com/singlesignon/latest/APIReference/API_ProvisionPermissionSet.html
//! https://docs.aws.amazon.com/singlesignon/latest/APIReference/API_DescribePermissionSetProvisioningStatus.html
//! https://docs.aws.amazon.com/singlesignon/latest/APIReference/API_CreateAccountAssignment.html
//! https://docs.aws.amazon.com/singlesignon/latest/APIReference/API_CreatePermissionSet.html
//! https://docs.aws.amazon.com/singlesignon/latest/APIReference/API_PutInlinePolicyToPermissionSet.html
//! https://docs.aws.amazon.com/singlesignon/latest/APIReference/API_PutPermissionsBoundaryToPermissionSet.html

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use super::proxy::{error_response, Protocol, Request, Response};

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
            }
            return;
        }
        "DeletePermissionSet" => {
            let arn = body["PermissionSetArn"].as_str().unwrap_or_default();
            state.names.retain(|_, value| value != arn);
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
