//! AWS RAM as AWS runs it, for the resource shares landing-zone makes. moto 5.2.5's RAM has no
//! AssociateResourceShare or DisassociateResourceShare, keeps no tags on a share (so GetResourceShares
//! cannot filter by `tagFilters`), cannot look up an OU of the organization from a member
//! account, and answers `OTHER-ACCOUNTS` with NotImplementedError. The layer serves the share
//! operations landing-zone uses from its own state, per account and Region, forgotten with moto's
//! on `POST /moto-api/reset`:
//!
//! - EnableSharingWithAwsOrganization: "You must call this operation from an IAM role or user in
//!   the organization's management account" (OperationNotPermittedException otherwise); it turns
//!   on Organizations' trusted access for `ram.amazonaws.com` (written to moto, where
//!   ListAWSServiceAccessForOrganization reads it).
//!   https://docs.aws.amazon.com/ram/latest/APIReference/API_EnableSharingWithAwsOrganization.html
//! - CreateResourceShare: `name` required; `resourceArns`, `principals`, `tags` (`{key, value}`)
//!   and `allowExternalPrincipals` (true when omitted). Principals are account ids, or the ARN of
//!   the organization or of one of its OUs, which need sharing with the organization enabled
//!   first ("Until you enable sharing within the organization, you can specify only individual
//!   AWS accounts": OperationNotPermittedException); an ARN of another organization is
//!   UnknownResourceException, anything else MalformedArnException / InvalidParameterException.
//!   A resource must be the caller's own, in the share's Region.
//!   https://docs.aws.amazon.com/ram/latest/APIReference/API_CreateResourceShare.html
//! - GetResourceShares: `resourceOwner` required (`SELF`: the caller's shares in the Region;
//!   `OTHER-ACCOUNTS`: shares of others the caller is a principal of, directly or through its
//!   organization or an OU above it), filtered by `resourceShareStatus`, `resourceShareArns` and
//!   `tagFilters` (a share matches when it has a listed key with one of the listed values).
//!   https://docs.aws.amazon.com/ram/latest/APIReference/API_GetResourceShares.html
//! - GetResourceShareAssociations: `associationType` `PRINCIPAL` or `RESOURCE` (required),
//!   filtered by `resourceShareArns`, `associationStatus`, `principal` / `resourceArn`; the
//!   caller's own shares only. A principal or resource disassociated stays listed as
//!   `DISASSOCIATED`. https://docs.aws.amazon.com/ram/latest/APIReference/API_GetResourceShareAssociations.html
//! - AssociateResourceShare / DisassociateResourceShare: by the share's owner only
//!   (UnknownResourceException for a share it does not own), principals checked as above.
//!   https://docs.aws.amazon.com/ram/latest/APIReference/API_AssociateResourceShare.html
//!   https://docs.aws.amazon.com/ram/latest/APIReference/API_DisassociateResourceShare.html

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::proxy::{error_response, Protocol, Request, Response};

/// What the layer knows of the organization when it answers (read from moto by the caller).
pub struct Organization {
    pub management: String,
    /// `o-...`, when there is an organization.
    pub id: Option<String>,
    /// The caller's OUs and root, from its parent up (ids: `ou-...`, `r-...`).
    pub caller_parents: Vec<String>,
}

#[derive(Debug, Clone)]
struct Share {
    arn: String,
    name: String,
    owner: String,
    region: String,
    allow_external: bool,
    tags: Vec<(String, String)>,
    /// Principal -> `ASSOCIATED` / `DISASSOCIATED`.
    principals: BTreeMap<String, &'static str>,
    /// Resource ARN -> `ASSOCIATED` / `DISASSOCIATED`.
    resources: BTreeMap<String, &'static str>,
}

#[derive(Default)]
pub struct RamState {
    shares: Vec<Share>,
    /// EnableSharingWithAwsOrganization was called.
    sharing_with_organization: bool,
    made: u64,
}

const ASSOCIATED: &str = "ASSOCIATED";
const DISASSOCIATED: &str = "DISASSOCIATED";

/// The date-time AWS sends (seconds since the epoch, as RAM's JSON does); the layer's clock does
/// not matter.
const TIME: f64 = 1_796_083_200.0;

fn answer(value: Value) -> Response {
    Response {
        status: 200,
        headers: vec![("content-type".to_string(), "application/json".to_string())],
        body: value.to_string().into_bytes(),
    }
}

fn error(code: &str, message: &str) -> Response {
    error_response(Protocol::RestJson, 400, code, message)
}

fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The operations this layer serves.
pub fn serves(operation: &str) -> bool {
    [
        "POST /enablesharingwithawsorganization",
        "POST /createresourceshare",
        "POST /getresourceshares",
        "POST /getresourceshareassociations",
        "POST /associateresourceshare",
        "POST /disassociateresourceshare",
    ]
    .contains(&operation)
}

/// Whether `principal` (as a share names it) reaches `account`.
fn reaches(principal: &str, account: &str, organization: Option<&str>, parents: &[String]) -> bool {
    if principal == account {
        return true;
    }
    if let Some(organization) = organization {
        if principal.ends_with(&format!(":organization/{organization}")) {
            return true;
        }
        if let Some(unit) = principal.split(&format!(":ou/{organization}/")).nth(1) {
            return parents.iter().any(|parent| parent == unit);
        }
    }
    false
}

/// The account that shares the Transit Gateway `gateway_id` of `region` with `caller` through an
/// active share (the resource and a principal reaching the caller associated); never the caller.
/// The Transit Gateway layer (`tgw.rs`) asks it.
pub fn gateway_owner(
    state: &std::sync::Mutex<RamState>,
    gateway_id: &str,
    caller: &str,
    region: &str,
    organization: &Organization,
) -> Option<String> {
    let state = lock(state);
    let suffix = format!(":transit-gateway/{gateway_id}");
    state
        .shares
        .iter()
        .filter(|share| share.region == region && share.owner != caller)
        .filter(|share| share.resources.iter().any(|(arn, status)| *status == ASSOCIATED && arn.ends_with(&suffix)))
        .find(|share| {
            share.principals.iter().any(|(principal, status)| {
                *status == ASSOCIATED
                    && reaches(principal, caller, organization.id.as_deref(), &organization.caller_parents)
            })
        })
        .map(|share| share.owner.clone())
}

/// Checks principals as CreateResourceShare / AssociateResourceShare do.
fn check_principals(principals: &[String], organization: &Organization, sharing: bool) -> Result<(), Response> {
    for principal in principals {
        if principal.len() == 12 && principal.chars().all(|c| c.is_ascii_digit()) {
            continue;
        }
        let Some(rest) = principal.strip_prefix("arn:aws:organizations::") else {
            return Err(error(
                "InvalidParameterException",
                &format!("Principal ID {principal} is malformed. Verify the ID and try again."),
            ));
        };
        let Some((_, resource)) = rest.split_once(':') else {
            return Err(error("MalformedArnException", &format!("The specified ARN {principal} is not valid.")));
        };
        let organization_id = resource
            .strip_prefix("organization/")
            .or_else(|| resource.strip_prefix("ou/").and_then(|ou| ou.split('/').next()));
        let Some(organization_id) = organization_id else {
            return Err(error("MalformedArnException", &format!("The specified ARN {principal} is not valid.")));
        };
        if organization.id.as_deref() != Some(organization_id) {
            return Err(error(
                "UnknownResourceException",
                &format!("Organization {organization_id} could not be found."),
            ));
        }
        if !sharing {
            return Err(error(
                "OperationNotPermittedException",
                "Sharing with an organization or an organizational unit requires sharing with AWS Organizations to be enabled (EnableSharingWithAwsOrganization).",
            ));
        }
    }
    Ok(())
}

fn strings(value: &Value) -> Vec<String> {
    value.as_array().into_iter().flatten().filter_map(|item| item.as_str().map(str::to_string)).collect()
}

fn share_json(share: &Share) -> Value {
    json!({
        "resourceShareArn": share.arn,
        "name": share.name,
        "owningAccountId": share.owner,
        "allowExternalPrincipals": share.allow_external,
        "status": "ACTIVE",
        "tags": share.tags.iter().map(|(key, value)| json!({ "key": key, "value": value })).collect::<Vec<_>>(),
        "creationTime": TIME,
        "lastUpdatedTime": TIME,
        "featureSet": "STANDARD",
    })
}

fn association_json(share: &Share, entity: &str, kind: &str, status: &str) -> Value {
    json!({
        "resourceShareArn": share.arn,
        "resourceShareName": share.name,
        "associatedEntity": entity,
        "associationType": kind,
        "status": status,
        "creationTime": TIME,
        "lastUpdatedTime": TIME,
        "external": false,
    })
}

/// Checks the resources a share takes: the caller's own, in the share's Region.
fn check_resources(resources: &[String], caller: &str, region: &str) -> Result<(), Response> {
    for arn in resources {
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        if parts.len() != 6 || parts[0] != "arn" {
            return Err(error("MalformedArnException", &format!("The specified resource ARN {arn} is not valid.")));
        }
        if parts[3] != region || parts[4] != caller {
            return Err(error("UnknownResourceException", &format!("Resource {arn} could not be found.")));
        }
    }
    Ok(())
}

/// Serves a RAM request of `caller` in `region`.
pub fn before(
    state: &std::sync::Mutex<RamState>,
    caller: &str,
    region: &str,
    organization: &Organization,
    operation: &str,
    request: &Request,
) -> Option<Response> {
    if !serves(operation) {
        return None;
    }
    let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
    let mut state = lock(state);
    match operation {
        "POST /enablesharingwithawsorganization" => {
            if caller != organization.management || organization.id.is_none() {
                return Some(error(
                    "OperationNotPermittedException",
                    "You must call this operation from an IAM role or user in the organization's management account.",
                ));
            }
            state.sharing_with_organization = true;
            Some(answer(json!({ "returnValue": true })))
        }
        "POST /createresourceshare" => {
            let Some(name) = body["name"].as_str().filter(|name| !name.is_empty()) else {
                return Some(error("InvalidParameterException", "name is required."));
            };
            let principals = strings(&body["principals"]);
            let resources = strings(&body["resourceArns"]);
            if let Err(response) = check_principals(&principals, organization, state.sharing_with_organization) {
                return Some(response);
            }
            if let Err(response) = check_resources(&resources, caller, region) {
                return Some(response);
            }
            state.made += 1;
            let share = Share {
                arn: format!(
                    "arn:aws:ram:{region}:{caller}:resource-share/00000000-0000-4000-8000-{:012x}",
                    state.made
                ),
                name: name.to_string(),
                owner: caller.to_string(),
                region: region.to_string(),
                allow_external: body["allowExternalPrincipals"].as_bool().unwrap_or(true),
                tags: body["tags"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|tag| Some((tag["key"].as_str()?.to_string(), tag["value"].as_str()?.to_string())))
                    .collect(),
                principals: principals.into_iter().map(|principal| (principal, ASSOCIATED)).collect(),
                resources: resources.into_iter().map(|arn| (arn, ASSOCIATED)).collect(),
            };
            let shown = share_json(&share);
            state.shares.push(share);
            Some(answer(json!({ "resourceShare": shown })))
        }
        "POST /getresourceshares" => {
            let owner = body["resourceOwner"].as_str().unwrap_or_default();
            if owner != "SELF" && owner != "OTHER-ACCOUNTS" {
                return Some(error(
                    "InvalidParameterException",
                    &format!(
                        "{owner} is not a valid resource owner. Specify either SELF or OTHER-ACCOUNTS and try again."
                    ),
                ));
            }
            let arns = strings(&body["resourceShareArns"]);
            let status = body["resourceShareStatus"].as_str();
            let filters: Vec<(String, Vec<String>)> = body["tagFilters"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|filter| Some((filter["tagKey"].as_str()?.to_string(), strings(&filter["tagValues"]))))
                .collect();
            let shares: Vec<Value> = state
                .shares
                .iter()
                .filter(|share| share.region == region)
                .filter(|share| match owner {
                    "SELF" => share.owner == caller,
                    _ => {
                        share.owner != caller
                            && share.principals.iter().any(|(principal, status)| {
                                *status == ASSOCIATED
                                    && reaches(
                                        principal,
                                        caller,
                                        organization.id.as_deref(),
                                        &organization.caller_parents,
                                    )
                            })
                    }
                })
                .filter(|share| arns.is_empty() || arns.contains(&share.arn))
                .filter(|_| status.is_none_or(|status| status == "ACTIVE"))
                .filter(|share| {
                    filters.iter().all(|(key, values)| {
                        share.tags.iter().any(|(k, v)| k == key && (values.is_empty() || values.contains(v)))
                    })
                })
                .map(share_json)
                .collect();
            Some(answer(json!({ "resourceShares": shares })))
        }
        "POST /getresourceshareassociations" => {
            let kind = body["associationType"].as_str().unwrap_or_default();
            if kind != "PRINCIPAL" && kind != "RESOURCE" {
                return Some(error(
                    "InvalidParameterException",
                    &format!(
                        "{kind} is not a valid association type. Specify either PRINCIPAL or RESOURCE and try again."
                    ),
                ));
            }
            let arns = strings(&body["resourceShareArns"]);
            let status = body["associationStatus"].as_str();
            let entity = if kind == "PRINCIPAL" { body["principal"].as_str() } else { body["resourceArn"].as_str() };
            let mut associations = Vec::new();
            for share in state.shares.iter().filter(|share| share.owner == caller && share.region == region) {
                if !arns.is_empty() && !arns.contains(&share.arn) {
                    continue;
                }
                let entries = if kind == "PRINCIPAL" { &share.principals } else { &share.resources };
                for (associated, current) in entries {
                    if entity.is_some_and(|entity| entity != associated) || status.is_some_and(|s| s != *current) {
                        continue;
                    }
                    associations.push(association_json(share, associated, kind, current));
                }
            }
            Some(answer(json!({ "resourceShareAssociations": associations })))
        }
        "POST /associateresourceshare" | "POST /disassociateresourceshare" => {
            let associate = operation == "POST /associateresourceshare";
            let arn = body["resourceShareArn"].as_str().unwrap_or_default().to_string();
            let principals = strings(&body["principals"]);
            let resources = strings(&body["resourceArns"]);
            if associate {
                if let Err(response) = check_principals(&principals, organization, state.sharing_with_organization) {
                    return Some(response);
                }
                if let Err(response) = check_resources(&resources, caller, region) {
                    return Some(response);
                }
            }
            let Some(share) = state
                .shares
                .iter_mut()
                .find(|share| share.arn == arn && share.owner == caller && share.region == region)
            else {
                return Some(error("UnknownResourceException", &format!("ResourceShare {arn} could not be found.")));
            };
            let status = if associate { ASSOCIATED } else { DISASSOCIATED };
            let mut changed = Vec::new();
            for principal in &principals {
                if !associate && !share.principals.contains_key(principal) {
                    return Some(error(
                        "UnknownResourceException",
                        &format!("Principal {principal} is not associated with the resource share."),
                    ));
                }
                share.principals.insert(principal.clone(), status);
                changed.push(association_json(share, principal, "PRINCIPAL", status));
            }
            for resource in &resources {
                if !associate && !share.resources.contains_key(resource) {
                    return Some(error(
                        "UnknownResourceException",
                        &format!("Resource {resource} is not associated with the resource share."),
                    ));
                }
                share.resources.insert(resource.clone(), status);
                changed.push(association_json(share, resource, "RESOURCE", status));
            }
            Some(answer(json!({ "resourceShareAssociations": changed })))
        }
        _ => None,
    }
}
