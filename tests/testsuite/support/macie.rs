//! Amazon Macie as AWS runs it, where moto 5.2.5 does not: moto gives every account an ENABLED
//! session from the start and lacks UpdateMacieSession, the organization configuration, CreateMember
//! and UpdateMemberSession. The strict layer keeps, per account and Region, whether Macie is
//! enabled (EnableMacie, or CreateMember by the delegated administrator), and answers the calls
//! that need it with AccessDeniedException ("Macie is not enabled") until then; it serves the
//! missing operations from its own state, for the delegated administrator only (recorded from the
//! management account's EnableOrganizationAdminAccount). UpdateMacieSession is passed to moto as
//! EnableMacie, which rewrites moto's session. Shapes from the API reference:
//! https://docs.aws.amazon.com/macie/latest/APIReference/macie.html
//! https://docs.aws.amazon.com/macie/latest/APIReference/admin-configuration.html
//! https://docs.aws.amazon.com/macie/latest/APIReference/members.html
//! https://docs.aws.amazon.com/macie/latest/APIReference/macie-members-id.html

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use super::proxy::{error_response, forward, Protocol, Request, Response};

#[derive(Default)]
pub struct MacieState {
    /// (account, Region) where Macie is enabled.
    enabled: BTreeSet<(String, String)>,
    /// Region -> the delegated administrator.
    admins: BTreeMap<String, String>,
    /// (administrator, Region) -> autoEnable.
    auto_enable: BTreeMap<(String, String), bool>,
    /// (administrator, Region) -> members: account id -> (email, relationship status).
    members: BTreeMap<(String, String), BTreeMap<String, (String, String)>>,
}

fn answer(value: Value) -> Response {
    Response {
        status: 200,
        headers: vec![("content-type".to_string(), "application/json".to_string())],
        body: value.to_string().into_bytes(),
    }
}

fn denied(message: &str) -> Response {
    error_response(Protocol::RestJson, 403, "AccessDeniedException", message)
}

fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Judges or serves a Macie request; None lets it through to moto.
pub async fn before(
    state: &std::sync::Mutex<MacieState>,
    upstream_port: u16,
    caller: &str,
    region: &str,
    operation: &str,
    request: &Request,
) -> Option<Response> {
    let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
    let here = (caller.to_string(), region.to_string());
    let needs_macie = [
        "GET /macie",
        "PATCH /macie",
        "GET /members",
        "POST /members",
        "PATCH /macie/members/{id}",
        "GET /admin/configuration",
        "PATCH /admin/configuration",
    ];
    if needs_macie.contains(&operation) && !lock(state).enabled.contains(&here) {
        return Some(denied("Macie is not enabled."));
    }
    let is_admin = lock(state).admins.get(region).is_some_and(|admin| admin == caller);
    let administrator_only =
        ["POST /members", "PATCH /macie/members/{id}", "GET /admin/configuration", "PATCH /admin/configuration"];
    if administrator_only.contains(&operation) && !is_admin {
        return Some(denied("The request was denied because the account is not the delegated Macie administrator."));
    }
    match operation {
        "PATCH /macie" => {
            let mut enable = Request {
                method: "POST".to_string(),
                target: request.target.clone(),
                headers: request.headers.clone(),
                body: json!({
                    "findingPublishingFrequency": body["findingPublishingFrequency"].as_str().unwrap_or("FIFTEEN_MINUTES"),
                    "status": body["status"].as_str().unwrap_or("ENABLED"),
                })
                .to_string()
                .into_bytes(),
            };
            enable.headers.retain(|(name, _)| !name.eq_ignore_ascii_case("content-length"));
            forward(upstream_port, &enable).await.ok()
        }
        "GET /admin/configuration" => {
            let auto_enable = lock(state).auto_enable.get(&here).copied().unwrap_or(false);
            Some(answer(json!({ "autoEnable": auto_enable, "maxAccountLimitReached": false })))
        }
        "PATCH /admin/configuration" => {
            lock(state).auto_enable.insert(here, body["autoEnable"].as_bool().unwrap_or(false));
            Some(answer(json!({})))
        }
        "POST /members" => {
            let account = body["account"]["accountId"].as_str().unwrap_or_default().to_string();
            let email = body["account"]["email"].as_str().unwrap_or_default().to_string();
            let mut state = lock(state);
            state
                .members
                .entry(here.clone())
                .or_default()
                .entry(account.clone())
                .or_insert((email, "Enabled".to_string()));
            // Adding an organization account as a member enables Macie for it.
            state.enabled.insert((account.clone(), region.to_string()));
            Some(answer(json!({ "arn": format!("arn:aws:macie2:{region}:{caller}:member/{account}") })))
        }
        "PATCH /macie/members/{id}" => {
            let account = request.target.split('?').next().unwrap_or_default().rsplit('/').next().unwrap_or_default();
            let status = if body["status"] == "PAUSED" { "Paused" } else { "Enabled" };
            let mut state = lock(state);
            match state.members.get_mut(&here).and_then(|members| members.get_mut(account)) {
                Some(member) => {
                    member.1 = status.to_string();
                    Some(answer(json!({})))
                }
                None => Some(error_response(
                    Protocol::RestJson,
                    404,
                    "ResourceNotFoundException",
                    "The request failed because the specified resource doesn't exist.",
                )),
            }
        }
        "GET /members" => {
            let state = lock(state);
            let members: Vec<Value> = state
                .members
                .get(&here)
                .into_iter()
                .flatten()
                .map(|(account, (email, status))| {
                    json!({ "accountId": account, "email": email, "relationshipStatus": status, "administratorAccountId": caller })
                })
                .collect();
            Some(answer(json!({ "members": members })))
        }
        _ => None,
    }
}

/// Records what moto accepted (Macie enabled, the region's delegated administrator), and gives
/// moto's session timestamps the UTC offset AWS's RFC 3339 `date-time` carries (moto sends
/// `2026-12-01T15:54:35.731175`, which the SDK refuses).
pub fn after(
    state: &std::sync::Mutex<MacieState>,
    caller: &str,
    region: &str,
    operation: &str,
    request: &Request,
    response: &mut Response,
) {
    if response.status != 200 {
        return;
    }
    if operation == "GET /macie" {
        if let Ok(mut session) = serde_json::from_slice::<Value>(&response.body) {
            for field in ["createdAt", "updatedAt"] {
                if let Some(time) = session[field].as_str().filter(|time| !time.ends_with('Z') && !time.contains('+')) {
                    session[field] = Value::String(format!("{time}Z"));
                }
            }
            response.body = session.to_string().into_bytes();
        }
    }
    let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
    let mut state = lock(state);
    match operation {
        "POST /macie" => {
            state.enabled.insert((caller.to_string(), region.to_string()));
        }
        "DELETE /macie" => {
            state.enabled.remove(&(caller.to_string(), region.to_string()));
        }
        "POST /admin" => {
            if let Some(admin) = body["adminAccountId"].as_str() {
                state.admins.insert(region.to_string(), admin.to_string());
            }
        }
        _ => {}
    }
}
