//! Amazon Inspector rules moto 5.2.5 does not enforce: the organization configuration is the
//! delegated administrator's alone (AccessDeniedException for anyone else), and the administrator
//! enables scanning only in itself and its associated members (others come back in
//! `failedAccounts` with ACCESS_DENIED, as Enable reports per account). Both are judged against
//! moto's own state: the delegated administrators as the management account sees them, the
//! members as the caller sees them.
//! https://docs.aws.amazon.com/inspector/v2/APIReference/API_UpdateOrganizationConfiguration.html
//! https://docs.aws.amazon.com/inspector/v2/APIReference/API_Enable.html
//! https://docs.aws.amazon.com/inspector/latest/user/managing-multiple-accounts.html

use serde_json::{json, Value};

use super::proxy::{error_response, forward, Protocol, Request, Response};

/// The management account's access key (moto's default account).
const MANAGEMENT_KEY: &str = super::CALLER_KEY;

/// The same request sent to moto as another operation (`path`, `body`), signed with `access_key`.
async fn ask_moto(
    upstream_port: u16,
    request: &Request,
    access_key: Option<&str>,
    path: &str,
    body: Value,
) -> Option<Value> {
    let mut headers: Vec<(String, String)> = request
        .headers
        .iter()
        .filter(|(name, _)| !name.eq_ignore_ascii_case("content-length"))
        .filter(|(name, _)| access_key.is_none() || !name.eq_ignore_ascii_case("x-amz-security-token"))
        .cloned()
        .collect();
    if let Some(key) = access_key {
        for (name, value) in headers.iter_mut() {
            if name.eq_ignore_ascii_case("authorization") {
                if let Some((before, after)) = value.split_once("Credential=") {
                    let rest = after.split_once('/').map_or("", |(_, rest)| rest);
                    *value = format!("{before}Credential={key}/{rest}");
                }
            }
        }
    }
    let ask =
        Request { method: "POST".to_string(), target: path.to_string(), headers, body: body.to_string().into_bytes() };
    let response = forward(upstream_port, &ask).await.ok()?;
    serde_json::from_slice(&response.body).ok()
}

/// Judges an Inspector request; None lets it through to moto.
pub async fn before(upstream_port: u16, caller: &str, operation: &str, request: &Request) -> Option<Response> {
    match operation {
        "POST /organizationconfiguration/describe" | "POST /organizationconfiguration/update" => {
            let admins =
                ask_moto(upstream_port, request, Some(MANAGEMENT_KEY), "/delegatedadminaccounts/list", json!({}))
                    .await?;
            let is_admin = admins["delegatedAdminAccounts"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|admin| admin["accountId"] == caller && admin["status"] == "ENABLED");
            (!is_admin).then(|| {
                error_response(
                    Protocol::RestJson,
                    403,
                    "AccessDeniedException",
                    "Only the delegated administrator can manage the organization configuration.",
                )
            })
        }
        "POST /enable" => {
            let body: Value = serde_json::from_slice(&request.body).ok()?;
            let ids: Vec<String> =
                body["accountIds"].as_array()?.iter().filter_map(|id| id.as_str().map(str::to_string)).collect();
            let members =
                ask_moto(upstream_port, request, None, "/members/list", json!({ "onlyAssociated": true })).await?;
            let associated = |id: &str| {
                members["members"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|member| member["accountId"] == id && member["relationshipStatus"] == "ENABLED")
            };
            let refused: Vec<&String> = ids.iter().filter(|id| id.as_str() != caller && !associated(id)).collect();
            if refused.is_empty() {
                return None;
            }
            let failed: Vec<Value> = refused
                .iter()
                .map(|id| json!({ "accountId": id, "errorCode": "ACCESS_DENIED", "errorMessage": "The account is not an associated member of the delegated administrator." }))
                .collect();
            let allowed: Vec<&String> = ids.iter().filter(|id| !refused.contains(id)).collect();
            let mut accounts = Vec::new();
            if !allowed.is_empty() {
                let mut forwarded = body.clone();
                forwarded["accountIds"] = json!(allowed);
                let enabled = ask_moto(upstream_port, request, None, "/enable", forwarded).await?;
                accounts = enabled["accounts"].as_array().cloned().unwrap_or_default();
            }
            Some(Response {
                status: 200,
                headers: vec![("content-type".to_string(), "application/json".to_string())],
                body: json!({ "accounts": accounts, "failedAccounts": failed }).to_string().into_bytes(),
            })
        }
        _ => None,
    }
}
