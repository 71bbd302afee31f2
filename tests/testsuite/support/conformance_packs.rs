//! AWS Config organization conformance packs as AWS documents them, served by the strict layer:
//! moto 5.2.5 cannot take a pack given by `TemplateBody` alone (it matches `TemplateS3Uri` against
//! `s3://.*` unconditionally and fails with an internal error when it is absent), checks neither
//! the name, the body's size nor the caller, and reports one account's status whatever the
//! organization holds. The layer keeps the packs itself, per caller account and Region:
//!
//! - PutOrganizationConformancePack: only the management account (or Config's delegated
//!   administrator) may call it; the name matches `[a-zA-Z][-a-zA-Z0-9]*` (1-128); `TemplateBody`
//!   is 1-51,200 bytes; `TemplateS3Uri` or `TemplateBody` is given
//!   (https://docs.aws.amazon.com/config/latest/APIReference/API_PutOrganizationConformancePack.html).
//!   The pack deploys to every account of the organization but its `ExcludedAccounts`: where AWS Config records in that
//!   Region it succeeds, elsewhere it fails — a conformance pack needs the recorder
//!   (https://docs.aws.amazon.com/config/latest/developerguide/cpack-prerequisites.html). The
//!   deployment is asynchronous: the first status read after a put answers `*_IN_PROGRESS`.
//! - DescribeOrganizationConformancePacks, GetOrganizationConformancePackDetailedStatus and
//!   DeleteOrganizationConformancePack answer NoSuchOrganizationConformancePackException for a
//!   name that does not exist
//!   (https://docs.aws.amazon.com/config/latest/APIReference/API_DescribeOrganizationConformancePacks.html,
//!   https://docs.aws.amazon.com/config/latest/APIReference/API_GetOrganizationConformancePackDetailedStatus.html).
//! - A pack's `Tags` are kept from the put that creates it ("Tags are added at creation and cannot
//!   be updated with this operation"), and ListTagsForResource answers them for the pack's ARN
//!   (https://docs.aws.amazon.com/config/latest/APIReference/API_PutOrganizationConformancePack.html,
//!   https://docs.aws.amazon.com/config/latest/APIReference/API_ListTagsForResource.html); other
//!   ARNs (Config rules) go to moto.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::proxy::{error_response, Protocol, Request, Response};
use super::strict::{moto_in, Context, MANAGEMENT_ACCOUNT};

const MAX_TEMPLATE_BODY: usize = 51_200;

/// One pack, as the layer keeps it.
#[derive(Debug, Clone)]
struct Pack {
    arn: String,
    input_parameters: Value,
    excluded_accounts: Value,
    /// Account id -> its deployment status once the deployment is done.
    statuses: BTreeMap<String, &'static str>,
    /// Status reads left that answer "in progress".
    in_progress_reads: u32,
    updated: bool,
    /// The `Tags` of the put that created it.
    tags: Value,
}

/// The packs, by (caller account, Region, name).
#[derive(Default)]
pub struct ConformancePackState {
    packs: BTreeMap<(String, String, String), Pack>,
    /// PutOrganizationConformancePack calls served (for tests that assert none was made).
    pub puts: usize,
}

impl ConformancePackState {
    pub fn forget(&mut self) {
        *self = ConformancePackState::default();
    }
}

fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn ok(body: Value) -> Response {
    Response {
        status: 200,
        headers: vec![("content-type".to_string(), "application/x-amz-json-1.1".to_string())],
        body: body.to_string().into_bytes(),
    }
}

fn no_such(name: &str) -> Response {
    error_response(
        Protocol::Json,
        400,
        "NoSuchOrganizationConformancePackException",
        &format!("One or more organization conformance packs with specified names are not present: {name}"),
    )
}

fn validation(message: &str) -> Response {
    error_response(Protocol::Json, 400, "ValidationException", message)
}

fn is_pack_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|first| first.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-')
        && name.len() <= 128
}

/// Every account id of the organization, as the management account lists them.
async fn organization_accounts(context: &Context<'_>) -> Vec<String> {
    let mut ids = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let body = match &token {
            Some(token) => json!({ "NextToken": token }),
            None => json!({}),
        };
        let target = "AWSOrganizationsV20161128.ListAccounts";
        let Some(response) =
            moto_in(context, "us-east-1", "organizations", super::CALLER_KEY, &[], Some(target), body.to_string())
                .await
        else {
            return ids;
        };
        let page: Value = serde_json::from_slice(&response.body).unwrap_or(Value::Null);
        ids.extend(
            page["Accounts"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|account| account["Status"] != "SUSPENDED")
                .filter_map(|account| account["Id"].as_str().map(str::to_string)),
        );
        token = page["NextToken"].as_str().filter(|token| !token.is_empty()).map(str::to_string);
        if token.is_none() {
            return ids;
        }
    }
}

/// Whether AWS Config records in `account` and `region` (moto's state, read as that account).
async fn recording(context: &Context<'_>, account: &str, region: &str) -> bool {
    let target = "StarlingDoveService.DescribeConfigurationRecorderStatus";
    let headers = [("x-moto-account-id", account)];
    let Some(response) =
        moto_in(context, region, "config", super::CALLER_KEY, &headers, Some(target), "{}".to_string()).await
    else {
        return false;
    };
    let status: Value = serde_json::from_slice(&response.body).unwrap_or(Value::Null);
    status["ConfigurationRecordersStatus"].as_array().into_iter().flatten().any(|status| status["recording"] == true)
}

/// Serves an organization conformance pack operation; None lets any other request through.
pub async fn before(
    context: &Context<'_>,
    state: &std::sync::Mutex<ConformancePackState>,
    caller: &str,
    region: &str,
) -> Option<Response> {
    let operation = context.operation.name.as_str();
    let request: &Request = context.request;
    let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
    if operation == "ListTagsForResource" {
        let arn = body["ResourceArn"].as_str().unwrap_or_default();
        let state = lock(state);
        let pack = state.packs.values().find(|pack| pack.arn == arn)?;
        let tags = if pack.tags.is_array() { pack.tags.clone() } else { json!([]) };
        return Some(ok(json!({ "Tags": tags })));
    }
    if !operation.contains("OrganizationConformancePack") {
        return None;
    }
    let key = |name: &str| (caller.to_string(), region.to_string(), name.to_string());
    match operation {
        "PutOrganizationConformancePack" => {
            if caller != MANAGEMENT_ACCOUNT {
                return Some(error_response(
                    Protocol::Json,
                    400,
                    "OrganizationAccessDeniedException",
                    "Only a management account and a delegated administrator can call this API.",
                ));
            }
            let name = body["OrganizationConformancePackName"].as_str().unwrap_or_default();
            if !is_pack_name(name) {
                return Some(validation(&format!("Value '{name}' at 'organizationConformancePackName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z][-a-zA-Z0-9]*")));
            }
            let template = body["TemplateBody"].as_str().unwrap_or_default();
            if body["TemplateS3Uri"].is_null() && template.is_empty() {
                return Some(validation("Either the TemplateS3Uri or the TemplateBody must be provided."));
            }
            if template.len() > MAX_TEMPLATE_BODY {
                return Some(validation(&format!("Value at 'templateBody' failed to satisfy constraint: Member must have length less than or equal to {MAX_TEMPLATE_BODY}")));
            }
            let mut statuses = BTreeMap::new();
            let existing_tags = lock(state).packs.get(&key(name)).map(|pack| pack.tags.clone());
            let updated = existing_tags.is_some();
            let excluded: Vec<&str> =
                body["ExcludedAccounts"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
            for account in organization_accounts(context).await {
                if excluded.contains(&account.as_str()) {
                    continue;
                }
                let status = match (recording(context, &account, region).await, updated) {
                    (true, false) => "CREATE_SUCCESSFUL",
                    (true, true) => "UPDATE_SUCCESSFUL",
                    (false, false) => "CREATE_FAILED",
                    (false, true) => "UPDATE_FAILED",
                };
                statuses.insert(account, status);
            }
            let arn = format!("arn:aws:config:{region}:{caller}:organization-conformance-pack/{name}-lz0000");
            let pack = Pack {
                arn: arn.clone(),
                input_parameters: body["ConformancePackInputParameters"].clone(),
                excluded_accounts: body["ExcludedAccounts"].clone(),
                statuses,
                in_progress_reads: 1,
                updated,
                tags: existing_tags.unwrap_or_else(|| body["Tags"].clone()),
            };
            let mut state = lock(state);
            state.puts += 1;
            state.packs.insert(key(name), pack);
            Some(ok(json!({ "OrganizationConformancePackArn": arn })))
        }
        "DescribeOrganizationConformancePacks" => {
            let state = lock(state);
            let names: Vec<String> = body["OrganizationConformancePackNames"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|name| name.as_str().map(str::to_string))
                .collect();
            let describe = |name: &str, pack: &Pack| {
                let mut described = json!({
                    "OrganizationConformancePackName": name,
                    "OrganizationConformancePackArn": pack.arn,
                    "LastUpdateTime": 1_767_225_600,
                });
                if pack.excluded_accounts.is_array() {
                    described["ExcludedAccounts"] = pack.excluded_accounts.clone();
                }
                if pack.input_parameters.is_array() {
                    described["ConformancePackInputParameters"] = pack.input_parameters.clone();
                }
                described
            };
            let mut packs = Vec::new();
            if names.is_empty() {
                for ((account, at, name), pack) in &state.packs {
                    if account == caller && at == region {
                        packs.push(describe(name, pack));
                    }
                }
            }
            for name in &names {
                let Some(pack) = state.packs.get(&key(name)) else { return Some(no_such(name)) };
                packs.push(describe(name, pack));
            }
            Some(ok(json!({ "OrganizationConformancePacks": packs })))
        }
        "GetOrganizationConformancePackDetailedStatus" => {
            let name = body["OrganizationConformancePackName"].as_str().unwrap_or_default();
            let mut state = lock(state);
            let Some(pack) = state.packs.get_mut(&key(name)) else { return Some(no_such(name)) };
            let in_progress = pack.in_progress_reads > 0;
            pack.in_progress_reads = pack.in_progress_reads.saturating_sub(1);
            let statuses: Vec<Value> = pack
                .statuses
                .iter()
                .map(|(account, status)| {
                    let status = match (in_progress, pack.updated) {
                        (true, false) => "CREATE_IN_PROGRESS",
                        (true, true) => "UPDATE_IN_PROGRESS",
                        (false, _) => status,
                    };
                    let mut entry = json!({
                        "AccountId": account,
                        "ConformancePackName": format!("OrgConformsPack-{name}-lz0000"),
                        "Status": status,
                    });
                    if status.ends_with("_FAILED") {
                        entry["ErrorCode"] = json!("NoAvailableConfigurationRecorderException");
                        entry["ErrorMessage"] = json!("Config is not recording in this account and Region.");
                    }
                    entry
                })
                .collect();
            Some(ok(json!({ "OrganizationConformancePackDetailedStatuses": statuses })))
        }
        "DeleteOrganizationConformancePack" => {
            let name = body["OrganizationConformancePackName"].as_str().unwrap_or_default();
            match lock(state).packs.remove(&key(name)) {
                Some(_) => Some(ok(json!({}))),
                None => Some(no_such(name)),
            }
        }
        _ => None,
    }
}
