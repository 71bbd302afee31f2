//! Security Hub central configuration, which moto 5.2.5 lacks, served by the strict layer from
//! its own state: finding aggregators (cross-Region aggregation), configuration policies and
//! their associations; and the rule that central configuration needs a finding aggregator in the
//! Region it is turned on from (the home Region).
//!
//! - Central configuration's prerequisites: "you must integrate Security Hub CSPM with AWS
//!   Organizations and designate a home Region", the home Region being cross-Region aggregation's
//!   aggregation Region:
//!   https://docs.aws.amazon.com/securityhub/latest/userguide/start-central-configuration.html,
//!   https://docs.aws.amazon.com/securityhub/latest/userguide/aggregation-central-configuration.html.
//!   AWS documents the refusal, not its code: the layer answers InvalidInputException (HTTP 400).
//! - Aggregators: https://docs.aws.amazon.com/securityhub/1.0/APIReference/API_CreateFindingAggregator.html
//!   (home Region only; one per account), API_UpdateFindingAggregator.html (from the aggregation
//!   Region), API_ListFindingAggregators.html, API_GetFindingAggregator.html.
//! - Configuration policies and associations, which only the delegated administrator under
//!   central configuration may use (AccessDeniedException otherwise):
//!   https://docs.aws.amazon.com/securityhub/1.0/APIReference/API_CreateConfigurationPolicy.html
//!   and its sibling pages (Get, List, Update; StartConfigurationPolicyAssociation,
//!   ListConfigurationPolicyAssociations).
//!
//! moto keeps the organization configuration itself, but refuses a `ConfigurationType` sent
//! without `Status` (an output-only field the SDK never sends): the layer forwards the update with
//! `Status: ENABLED` added, so moto's DescribeOrganizationConfiguration reports it as AWS does.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use super::proxy::{error_response, forward, Protocol, Request, Response};

#[derive(Debug, Clone)]
struct Aggregator {
    arn: String,
    region: String,
    mode: String,
    regions: Vec<String>,
}

#[derive(Default)]
pub struct SecurityHubState {
    /// Account -> its finding aggregator (an account has at most one).
    aggregators: BTreeMap<String, Aggregator>,
    /// (account, Region) under central configuration.
    central: BTreeSet<(String, String)>,
    /// (account, Region) -> configuration policies, each as GetConfigurationPolicy answers it.
    policies: BTreeMap<(String, String), Vec<Value>>,
    /// (account, Region) -> association summaries, one per target.
    associations: BTreeMap<(String, String), Vec<Value>>,
    created: u64,
}

fn body(request: &Request) -> Value {
    serde_json::from_slice(&request.body).unwrap_or(Value::Null)
}

fn answer(value: Value) -> Response {
    Response {
        status: 200,
        headers: vec![("content-type".to_string(), "application/json".to_string())],
        body: value.to_string().into_bytes(),
    }
}

fn refuse(status: u16, code: &str, message: &str) -> Response {
    error_response(Protocol::RestJson, status, code, message)
}

/// A path segment as sent (the SDK percent-encodes an ARN's `:` and `/` in a label).
fn decoded(segment: &str) -> String {
    segment.replace("%3A", ":").replace("%3a", ":").replace("%2F", "/").replace("%2f", "/")
}

/// Serves or refuses the Security Hub requests above; None passes the request on to moto.
pub async fn before(
    state: &std::sync::Mutex<SecurityHubState>,
    port: u16,
    caller: &str,
    region: &str,
    request: &Request,
) -> Option<Response> {
    let path = request.target.split('?').next().unwrap_or_default().to_string();
    let key = (caller.to_string(), region.to_string());
    if request.method == "POST" && path == "/organization/configuration" {
        return organization_configuration(state, port, key, request).await;
    }
    let mut state = state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let request_body = body(request);
    match (request.method.as_str(), path.as_str()) {
        ("POST", "/findingAggregator/create") => {
            if let Some(existing) = state.aggregators.get(caller) {
                let message = format!("A finding aggregator already exists in {}: {}", existing.region, existing.arn);
                return Some(refuse(400, "InvalidInputException", &message));
            }
            let aggregator = match linking(&request_body, region) {
                Ok((mode, regions)) => {
                    state.created += 1;
                    let arn = format!(
                        "arn:aws:securityhub:{region}:{caller}:finding-aggregator/00000000-0000-4000-8000-{:012}",
                        state.created
                    );
                    Aggregator { arn, region: region.to_string(), mode, regions }
                }
                Err(response) => return Some(response),
            };
            let answered = aggregator_answer(&aggregator);
            state.aggregators.insert(caller.to_string(), aggregator);
            Some(answer(answered))
        }
        ("PATCH", "/findingAggregator/update") => {
            let arn = request_body["FindingAggregatorArn"].as_str().unwrap_or_default();
            let (mode, regions) = match linking(&request_body, region) {
                Ok(linked) => linked,
                Err(response) => return Some(response),
            };
            let Some(aggregator) = state.aggregators.get_mut(caller).filter(|aggregator| aggregator.arn == arn) else {
                return Some(refuse(404, "ResourceNotFoundException", &format!("No finding aggregator {arn}")));
            };
            if aggregator.region != region {
                let message =
                    format!("Update the finding aggregator from its aggregation Region {}", aggregator.region);
                return Some(refuse(400, "InvalidInputException", &message));
            }
            aggregator.mode = mode;
            aggregator.regions = regions;
            Some(answer(aggregator_answer(aggregator)))
        }
        ("GET", "/findingAggregator/list") => {
            let listed: Vec<Value> = state
                .aggregators
                .get(caller)
                .map(|aggregator| json!({ "FindingAggregatorArn": aggregator.arn }))
                .into_iter()
                .collect();
            Some(answer(json!({ "FindingAggregators": listed })))
        }
        ("GET", _) if path.starts_with("/findingAggregator/get/") => {
            let arn = decoded(&path["/findingAggregator/get/".len()..]);
            match state.aggregators.get(caller).filter(|aggregator| aggregator.arn == arn) {
                Some(aggregator) => Some(answer(aggregator_answer(aggregator))),
                None => Some(refuse(404, "ResourceNotFoundException", &format!("No finding aggregator {arn}"))),
            }
        }
        _ if path.starts_with("/configurationPolicy") => {
            if !state.central.contains(&key) {
                return Some(refuse(
                    403,
                    "AccessDeniedException",
                    "Only the delegated administrator can use configuration policies, from the home Region, under central configuration.",
                ));
            }
            Some(configuration_policies(&mut state, key, &request.method, &path, &request_body))
        }
        _ => None,
    }
}

/// RegionLinkingMode and Regions of a create or update request, checked as the API reference
/// describes them: `SPECIFIED_REGIONS` and `ALL_REGIONS_EXCEPT_SPECIFIED` need Regions, the
/// other modes take none.
fn linking(request: &Value, region: &str) -> Result<(String, Vec<String>), Response> {
    let mode = request["RegionLinkingMode"].as_str().unwrap_or_default().to_string();
    let mut regions: Vec<String> =
        request["Regions"].as_array().into_iter().flatten().filter_map(Value::as_str).map(str::to_string).collect();
    regions.sort();
    let invalid = |message: &str| Err(refuse(400, "InvalidInputException", message));
    match mode.as_str() {
        "SPECIFIED_REGIONS" | "ALL_REGIONS_EXCEPT_SPECIFIED" if regions.is_empty() => {
            invalid("Regions is required for this RegionLinkingMode.")
        }
        "ALL_REGIONS" | "NO_REGIONS" if !regions.is_empty() => {
            invalid("Regions must be empty for this RegionLinkingMode.")
        }
        "SPECIFIED_REGIONS" | "ALL_REGIONS_EXCEPT_SPECIFIED" | "ALL_REGIONS" | "NO_REGIONS" => {
            if regions.iter().any(|linked| linked == region) {
                return invalid("The home Region cannot be a linked Region.");
            }
            Ok((mode, regions))
        }
        _ => invalid(
            "RegionLinkingMode must be ALL_REGIONS, ALL_REGIONS_EXCEPT_SPECIFIED, SPECIFIED_REGIONS or NO_REGIONS.",
        ),
    }
}

fn aggregator_answer(aggregator: &Aggregator) -> Value {
    json!({
        "FindingAggregatorArn": aggregator.arn,
        "FindingAggregationRegion": aggregator.region,
        "RegionLinkingMode": aggregator.mode,
        "Regions": aggregator.regions,
    })
}

/// UpdateOrganizationConfiguration with `ConfigurationType: CENTRAL` is refused without a finding
/// aggregator in this Region; otherwise moto is sent the update with `Status: ENABLED`.
async fn organization_configuration(
    state: &std::sync::Mutex<SecurityHubState>,
    port: u16,
    key: (String, String),
    request: &Request,
) -> Option<Response> {
    let mut request_body = body(request);
    let kind = request_body["OrganizationConfiguration"]["ConfigurationType"].as_str()?.to_string();
    let (account, region) = key.clone();
    if kind == "CENTRAL" {
        let home = {
            let state = state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            state.aggregators.get(&account).map(|aggregator| aggregator.region.clone())
        };
        if home.as_deref() != Some(region.as_str()) {
            return Some(refuse(
                400,
                "InvalidInputException",
                &format!("Central configuration needs cross-Region aggregation with {region} as the home Region: create a finding aggregator there first."),
            ));
        }
    }
    if request_body["OrganizationConfiguration"].get("Status").is_none() {
        request_body["OrganizationConfiguration"]["Status"] = json!("ENABLED");
    }
    let mut forwarded = Request {
        method: request.method.clone(),
        target: request.target.clone(),
        headers: request.headers.clone(),
        body: Vec::new(),
    };
    forwarded.body = request_body.to_string().into_bytes();
    let response = match forward(port, &forwarded).await {
        Ok(response) => response,
        Err(error) => return Some(refuse(500, "InternalException", &format!("moto: {error}"))),
    };
    if response.status == 200 {
        let mut state = state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if kind == "CENTRAL" {
            state.central.insert(key);
        } else {
            state.central.remove(&key);
        }
    }
    Some(response)
}

fn configuration_policies(
    state: &mut SecurityHubState,
    key: (String, String),
    method: &str,
    path: &str,
    request: &Value,
) -> Response {
    let (account, region) = key.clone();
    let not_found =
        |identifier: &str| refuse(404, "ResourceNotFoundException", &format!("No configuration policy {identifier}"));
    let matches = |policy: &Value, identifier: &str| policy["Id"] == identifier || policy["Arn"] == identifier;
    match (method, path) {
        ("POST", "/configurationPolicy/create") => {
            let name = request["Name"].as_str().unwrap_or_default();
            let policies = state.policies.entry(key.clone()).or_default();
            if policies.iter().any(|policy| policy["Name"] == name) {
                return refuse(
                    409,
                    "ResourceConflictException",
                    &format!("A configuration policy named {name} exists"),
                );
            }
            state.created += 1;
            let id = format!("00000000-0000-4000-9000-{:012}", state.created);
            let policy = json!({
                "Arn": format!("arn:aws:securityhub:{region}:{account}:configuration-policy/{id}"),
                "Id": id,
                "Name": name,
                "Description": request["Description"],
                "ConfigurationPolicy": request["ConfigurationPolicy"],
            });
            state.policies.entry(key).or_default().push(policy.clone());
            answer(policy)
        }
        ("GET", "/configurationPolicy/list") => {
            let summaries: Vec<Value> = state
                .policies
                .get(&key)
                .into_iter()
                .flatten()
                .map(|policy| {
                    json!({
                        "Arn": policy["Arn"],
                        "Id": policy["Id"],
                        "Name": policy["Name"],
                        "Description": policy["Description"],
                        "ServiceEnabled": policy["ConfigurationPolicy"]["SecurityHub"]["ServiceEnabled"],
                    })
                })
                .collect();
            answer(json!({ "ConfigurationPolicySummaries": summaries }))
        }
        ("GET", _) if path.starts_with("/configurationPolicy/get/") => {
            let identifier = decoded(&path["/configurationPolicy/get/".len()..]);
            match state.policies.get(&key).into_iter().flatten().find(|policy| matches(policy, &identifier)) {
                Some(policy) => answer(policy.clone()),
                None => not_found(&identifier),
            }
        }
        ("PATCH", _) => {
            let identifier = decoded(&path["/configurationPolicy/".len()..]);
            let Some(policy) =
                state.policies.get_mut(&key).into_iter().flatten().find(|policy| matches(policy, &identifier))
            else {
                return not_found(&identifier);
            };
            for field in ["Name", "Description", "ConfigurationPolicy"] {
                if !request[field].is_null() {
                    policy[field] = request[field].clone();
                }
            }
            answer(policy.clone())
        }
        ("POST", "/configurationPolicyAssociation/associate") => {
            let identifier = request["ConfigurationPolicyIdentifier"].as_str().unwrap_or_default();
            let Some(policy) =
                state.policies.get(&key).into_iter().flatten().find(|policy| matches(policy, identifier))
            else {
                return not_found(identifier);
            };
            let target = &request["Target"];
            let (target_type, target_id) = if let Some(id) = target["RootId"].as_str() {
                ("ROOT", id)
            } else if let Some(id) = target["OrganizationalUnitId"].as_str() {
                ("ORGANIZATIONAL_UNIT", id)
            } else if let Some(id) = target["AccountId"].as_str() {
                ("ACCOUNT", id)
            } else {
                return refuse(400, "InvalidInputException", "Target needs RootId, OrganizationalUnitId or AccountId.");
            };
            let summary = json!({
                "ConfigurationPolicyId": policy["Id"],
                "TargetId": target_id,
                "TargetType": target_type,
                "AssociationType": "APPLIED",
                "AssociationStatus": "SUCCESS",
            });
            let associations = state.associations.entry(key).or_default();
            associations.retain(|association| association["TargetId"] != target_id);
            associations.push(summary.clone());
            answer(summary)
        }
        ("POST", "/configurationPolicyAssociation/list") => {
            let wanted = request["Filters"]["AssociationType"].as_str();
            let summaries: Vec<Value> = state
                .associations
                .get(&key)
                .into_iter()
                .flatten()
                .filter(|association| wanted.is_none_or(|kind| association["AssociationType"] == kind))
                .cloned()
                .collect();
            answer(json!({ "ConfigurationPolicyAssociationSummaries": summaries }))
        }
        _ => refuse(404, "ResourceNotFoundException", &format!("{method} {path} is not served by the layer")),
    }
}
