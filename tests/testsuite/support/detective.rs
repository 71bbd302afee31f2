//! Amazon Detective as AWS runs it: moto 5.2.5 has no Detective at all, so the strict layer serves
//! the operations landing-zone uses from its own state, per account and Region, forgotten with
//! moto's on `POST /moto-api/reset`:
//!
//! - EnableOrganizationAdminAccount, from the management account only: designates the Region's
//!   administrator and, when it has none, creates its behavior graph ("If the account does not
//!   have Detective enabled, then enables Detective for that account and creates a new behavior
//!   graph"). https://docs.aws.amazon.com/detective/latest/APIReference/API_EnableOrganizationAdminAccount.html
//! - ListOrganizationAdminAccounts, from the management account only.
//!   https://docs.aws.amazon.com/detective/latest/APIReference/API_ListOrganizationAdminAccounts.html
//! - ListGraphs: the graph the caller administers in the Region (one at most).
//!   https://docs.aws.amazon.com/detective/latest/APIReference/API_ListGraphs.html
//! - Describe/UpdateOrganizationConfiguration: the Region's administrator, on its own graph, only
//!   (AccessDeniedException otherwise).
//!   https://docs.aws.amazon.com/detective/latest/APIReference/API_DescribeOrganizationConfiguration.html
//!   https://docs.aws.amazon.com/detective/latest/APIReference/API_UpdateOrganizationConfiguration.html
//! - CreateMembers: at most 50 accounts; organization accounts in the organization behavior graph
//!   are enabled (`ENABLED`, invitation type `ORGANIZATION`), other accounts invited (`INVITED`,
//!   which needs the e-mail address); an account already a member comes back in
//!   `UnprocessedAccounts`. https://docs.aws.amazon.com/detective/latest/APIReference/API_CreateMembers.html
//! - ListMembers (paged by `MaxResults`, 1-200), DeleteMembers (the administrator removes a
//!   member), StartMonitoringMember (`ACCEPTED_BUT_DISABLED` back to `ENABLED`).
//!   https://docs.aws.amazon.com/detective/latest/APIReference/API_ListMembers.html
//!   https://docs.aws.amazon.com/detective/latest/APIReference/API_DeleteMembers.html
//!   https://docs.aws.amazon.com/detective/latest/APIReference/API_StartMonitoringMember.html
//!
//! A graph ARN has the documented shape `arn:aws:detective:<region>:<account>:graph:<32 hex>`;
//! a `GraphArn` the caller does not administer is ResourceNotFoundException.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use super::proxy::{error_response, Protocol, Request, Response};

/// A behavior graph.
#[derive(Debug, Clone)]
struct Graph {
    arn: String,
    auto_enable: bool,
    /// Account id -> its member record.
    members: BTreeMap<String, Member>,
}

#[derive(Debug, Clone)]
struct Member {
    email: String,
    /// `ENABLED`, `INVITED`, `ACCEPTED_BUT_DISABLED`, ...
    status: String,
    /// `ORGANIZATION` or `INVITATION`.
    invitation_type: String,
}

#[derive(Default)]
pub struct DetectiveState {
    /// Region -> the organization's Detective administrator there.
    admins: BTreeMap<String, String>,
    /// (account, Region) -> the graph the account administers.
    graphs: BTreeMap<(String, String), Graph>,
    /// Graphs made so far (for unique ARNs).
    made: u64,
}

impl DetectiveState {
    /// Everything, as moto forgets everything on reset.
    pub fn forget(&mut self) {
        *self = DetectiveState::default();
    }

    /// Sets a member's status, as AWS does on its own (ingestion stopped for volume:
    /// `ACCEPTED_BUT_DISABLED`, https://docs.aws.amazon.com/detective/latest/APIReference/API_MemberDetail.html).
    pub fn set_member_status(&mut self, admin: &str, region: &str, account: &str, status: &str) -> bool {
        let graph = self.graphs.get_mut(&(admin.to_string(), region.to_string()));
        match graph.and_then(|graph| graph.members.get_mut(account)) {
            Some(member) => {
                member.status = status.to_string();
                true
            }
            None => false,
        }
    }
}

/// The date-time AWS sends (ISO 8601 with an offset); the layer's clock does not matter.
const TIME: &str = "2026-12-01T00:00:00Z";

fn answer(value: Value) -> Response {
    Response {
        status: 200,
        headers: vec![("content-type".to_string(), "application/json".to_string())],
        body: value.to_string().into_bytes(),
    }
}

fn error(status: u16, code: &str, message: &str) -> Response {
    error_response(Protocol::RestJson, status, code, message)
}

fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The operations this layer serves (so the caller can read the organization first for the one
/// that needs it).
pub fn serves(operation: &str) -> bool {
    [
        "POST /orgs/enableAdminAccount",
        "POST /orgs/adminAccountslist",
        "POST /graphs/list",
        "POST /orgs/describeOrganizationConfiguration",
        "POST /orgs/updateOrganizationConfiguration",
        "POST /graph/members",
        "POST /graph/members/list",
        "POST /graph/members/removal",
        "POST /graph/member/monitoringstate",
    ]
    .contains(&operation)
}

fn member_json(graph: &Graph, administrator: &str, account: &str, member: &Member) -> Value {
    json!({
        "AccountId": account,
        "AdministratorId": administrator,
        "EmailAddress": member.email,
        "GraphArn": graph.arn,
        "InvitationType": member.invitation_type,
        "Status": member.status,
        "InvitedTime": TIME,
        "UpdatedTime": TIME,
    })
}

/// Serves a Detective request. `management` is the organization's management account and
/// `organization` its accounts (read from moto for CreateMembers only).
pub fn before(
    state: &std::sync::Mutex<DetectiveState>,
    caller: &str,
    region: &str,
    management: &str,
    organization: &BTreeSet<String>,
    operation: &str,
    request: &Request,
) -> Option<Response> {
    if !serves(operation) {
        return None;
    }
    let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
    let mut state = lock(state);
    let here = (caller.to_string(), region.to_string());
    let management_only = "Can only be called by the organization management account.";
    match operation {
        "POST /orgs/enableAdminAccount" => {
            if caller != management {
                return Some(error(403, "AccessDeniedException", management_only));
            }
            let Some(account) =
                body["AccountId"].as_str().filter(|id| id.len() == 12 && id.chars().all(|c| c.is_ascii_digit()))
            else {
                return Some(error(400, "ValidationException", "AccountId must be 12 digits."));
            };
            state.admins.insert(region.to_string(), account.to_string());
            let key = (account.to_string(), region.to_string());
            if !state.graphs.contains_key(&key) {
                state.made += 1;
                let arn = format!("arn:aws:detective:{region}:{account}:graph:{:032x}", state.made);
                state.graphs.insert(key, Graph { arn, auto_enable: false, members: BTreeMap::new() });
            }
            Some(answer(json!({})))
        }
        "POST /orgs/adminAccountslist" => {
            if caller != management {
                return Some(error(403, "AccessDeniedException", management_only));
            }
            let administrators: Vec<Value> = state
                .admins
                .get(region)
                .map(|admin| {
                    let graph = state.graphs.get(&(admin.clone(), region.to_string()));
                    json!({ "AccountId": admin, "GraphArn": graph.map(|graph| graph.arn.clone()), "DelegationTime": TIME })
                })
                .into_iter()
                .collect();
            Some(answer(json!({ "Administrators": administrators })))
        }
        "POST /graphs/list" => {
            let graphs: Vec<Value> = state
                .graphs
                .get(&here)
                .map(|graph| json!({ "Arn": graph.arn, "CreatedTime": TIME }))
                .into_iter()
                .collect();
            Some(answer(json!({ "GraphList": graphs })))
        }
        _ => {
            // Every other operation names a graph the caller must administer.
            let is_admin = state.admins.get(region).is_some_and(|admin| admin == caller);
            let Some(graph) = state.graphs.get_mut(&here).filter(|graph| body["GraphArn"] == graph.arn.as_str()) else {
                return Some(error(404, "ResourceNotFoundException", "The request refers to a nonexistent resource."));
            };
            graph_operation(graph, caller, is_admin, organization, operation, &body)
        }
    }
}

fn graph_operation(
    graph: &mut Graph,
    caller: &str,
    is_admin: bool,
    organization: &BTreeSet<String>,
    operation: &str,
    body: &Value,
) -> Option<Response> {
    let administrator_only = "Can only be called by the Detective administrator account for the organization.";
    match operation {
        "POST /orgs/describeOrganizationConfiguration" => {
            if !is_admin {
                return Some(error(403, "AccessDeniedException", administrator_only));
            }
            Some(answer(json!({ "AutoEnable": graph.auto_enable })))
        }
        "POST /orgs/updateOrganizationConfiguration" => {
            if !is_admin {
                return Some(error(403, "AccessDeniedException", administrator_only));
            }
            graph.auto_enable = body["AutoEnable"].as_bool().unwrap_or(false);
            Some(answer(json!({})))
        }
        "POST /graph/members" => {
            let accounts = body["Accounts"].as_array().cloned().unwrap_or_default();
            if accounts.is_empty() || accounts.len() > 50 {
                return Some(error(400, "ValidationException", "Accounts must list 1 to 50 accounts."));
            }
            let mut created = Vec::new();
            let mut unprocessed = Vec::new();
            for account in accounts {
                let id = account["AccountId"].as_str().unwrap_or_default().to_string();
                let email = account["EmailAddress"].as_str().unwrap_or_default().to_string();
                if id == caller || graph.members.contains_key(&id) {
                    unprocessed.push(
                        json!({ "AccountId": id, "Reason": "The account is already a member of the behavior graph." }),
                    );
                    continue;
                }
                // Organization accounts of the organization behavior graph are enabled, not invited.
                let member = if is_admin && organization.contains(&id) {
                    Member { email, status: "ENABLED".to_string(), invitation_type: "ORGANIZATION".to_string() }
                } else if email.is_empty() {
                    unprocessed
                        .push(json!({ "AccountId": id, "Reason": "An invited account needs its email address." }));
                    continue;
                } else {
                    Member { email, status: "INVITED".to_string(), invitation_type: "INVITATION".to_string() }
                };
                created.push(member_json(graph, caller, &id, &member));
                graph.members.insert(id, member);
            }
            Some(answer(json!({ "Members": created, "UnprocessedAccounts": unprocessed })))
        }
        "POST /graph/members/list" => {
            let page_size = body["MaxResults"].as_u64().unwrap_or(100);
            if !(1..=200).contains(&page_size) {
                return Some(error(400, "ValidationException", "MaxResults must be 1 to 200."));
            }
            let start: usize = body["NextToken"].as_str().and_then(|token| token.parse().ok()).unwrap_or(0);
            let page_size = usize::try_from(page_size).unwrap_or(100);
            let listed: Vec<Value> = graph
                .members
                .iter()
                .skip(start)
                .take(page_size)
                .map(|(account, member)| member_json(graph, caller, account, member))
                .collect();
            let next = (start + page_size < graph.members.len()).then(|| (start + page_size).to_string());
            Some(answer(json!({ "MemberDetails": listed, "NextToken": next })))
        }
        "POST /graph/members/removal" => {
            let ids: Vec<String> = body["AccountIds"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|id| id.as_str().map(str::to_string))
                .collect();
            let (removed, unprocessed): (Vec<String>, Vec<String>) =
                ids.into_iter().partition(|id| graph.members.remove(id).is_some());
            let unprocessed: Vec<Value> = unprocessed
                .iter()
                .map(|id| json!({ "AccountId": id, "Reason": "The account is not a member." }))
                .collect();
            Some(answer(json!({ "AccountIds": removed, "UnprocessedAccounts": unprocessed })))
        }
        "POST /graph/member/monitoringstate" => {
            let account = body["AccountId"].as_str().unwrap_or_default();
            match graph.members.get_mut(account) {
                Some(member) if member.status == "ACCEPTED_BUT_DISABLED" => {
                    member.status = "ENABLED".to_string();
                    Some(answer(json!({})))
                }
                Some(_) => Some(error(409, "ConflictException", "The member account is not ACCEPTED_BUT_DISABLED.")),
                None => Some(error(404, "ResourceNotFoundException", "The request refers to a nonexistent resource.")),
            }
        }
        _ => None,
    }
}
