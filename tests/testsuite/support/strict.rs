//! The strict layer of the test proxy: AWS rules that moto 5.2.5 does not enforce, each a small
//! function citing the AWS page it comes from, applied to every request the proxy relays unless a
//! test turns it off (`Strict::off()`). docs/aws-fidelity.md lists the rules and their tests.
//!
//! A rule either refuses a request as AWS would (the request never reaches moto), serves an
//! operation moto lacks from the layer's own small state (Region opt-in, account names), or
//! rewrites moto's answer into AWS's current shape (account `State`). It must not change anything
//! else.
//!
//! Reading moto's state: the caller of a request is learned from moto itself (STS
//! `GetCallerIdentity` with the request's access key, cached per key). Another account's IAM is
//! read with moto's `x-moto-account-id` header (moto keeps IAM per account and honours that header
//! ahead of the access key), which needs no credentials of that account and leaves no trace in it.
//! Organizations state (trusted access, delegated administrators, policy types) is read as the
//! management account. These reads go straight to moto: they are not counted as calls.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::proxy::{error_response, forward, Operation, Protocol, Request, Response};

/// moto's default account: the management account of every emulated organization.
pub const MANAGEMENT_ACCOUNT: &str = "123456789012";

/// The strict layer's settings; on by default (`Faults::default()` carries `Strict::default()`).
#[derive(Debug, Clone)]
pub struct Strict {
    pub enabled: bool,
    /// How long a new account answers `SubscriptionRequiredException` (EC2: `OptInRequired`).
    pub fresh_account_window: Duration,
    /// How long a new role is an "Invalid principal" in another policy.
    pub new_principal_window: Duration,
    /// How long `EnableRegion` stays `ENABLING` before the Region is `ENABLED`.
    pub region_enabling_time: Duration,
    /// Region-opt requests (Regions ENABLING) allowed in progress at once per account and per
    /// organization: AWS's 6 and 50.
    pub region_opt_ins_per_account: usize,
    pub region_opt_ins_per_organization: usize,
    /// Page `ListDelegatedAdministrators` / `ListDelegatedServicesForAccount` answers at this size
    /// (moto returns them whole; AWS pages them).
    pub delegated_page_size: Option<usize>,
    /// Emails of AWS accounts that exist outside the emulated organization (created or invited
    /// elsewhere): CreateAccount with one fails asynchronously with EMAIL_ALREADY_EXISTS.
    pub emails_elsewhere: Vec<String>,
}

impl Default for Strict {
    fn default() -> Strict {
        Strict {
            enabled: true,
            fresh_account_window: Duration::from_secs(1),
            new_principal_window: Duration::from_secs(1),
            region_enabling_time: Duration::from_millis(500),
            region_opt_ins_per_account: 6,
            region_opt_ins_per_organization: 50,
            delegated_page_size: None,
            emails_elsewhere: Vec::new(),
        }
    }
}

impl Strict {
    /// No strict rule at all: moto's own answers (for tests that need raw moto; say why at the use).
    pub fn off() -> Strict {
        Strict { enabled: false, ..Strict::default() }
    }
}

/// Who sent a request, as moto sees it.
#[derive(Debug, Clone)]
struct Identity {
    account: String,
    /// `arn:aws:iam::123456789012:user/moto` or `arn:aws:sts::...:assumed-role/Role/session`.
    arn: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RegionStatus {
    Enabling(Instant),
    Enabled,
}

/// What the layer remembers between requests.
#[derive(Default)]
pub struct StrictState {
    identities: std::sync::Mutex<HashMap<String, Identity>>,
    /// Account id -> when CreateAccount produced it.
    fresh_accounts: std::sync::Mutex<HashMap<String, Instant>>,
    /// Role ARN -> when it was created.
    new_roles: std::sync::Mutex<HashMap<String, Instant>>,
    /// (account, opt-in Region) -> its status; absent means DISABLED.
    regions: std::sync::Mutex<HashMap<(String, String), RegionStatus>>,
    /// EnableRegion / DisableRegion requests refused for too many region-opt requests in progress.
    region_opt_in_refusals: std::sync::atomic::AtomicU64,
    /// (account, Region) of Security Hub administrators under central configuration.
    central_configuration: std::sync::Mutex<BTreeSet<(String, String)>>,
    /// CreateAccount request id -> account name, for requests refused with EMAIL_ALREADY_EXISTS.
    failed_creations: std::sync::Mutex<HashMap<String, String>>,
    /// AWS Budgets operations moto lacks (`budgets.rs`).
    budgets: std::sync::Mutex<super::budgets::BudgetState>,
    /// Macie enablement and the operations moto lacks (`macie.rs`).
    macie: std::sync::Mutex<super::macie::MacieState>,
    /// AWS RAM's resource shares, which moto serves only in part (`ram.rs`).
    pub ram: std::sync::Mutex<super::ram::RamState>,
    /// Attachments of VPCs to Transit Gateways of other accounts, and routes to them, which moto
    /// lacks (`tgw.rs`).
    pub tgw: std::sync::Mutex<super::tgw::TgwState>,
    /// Amazon Detective, which moto lacks entirely (`detective.rs`).
    pub detective: std::sync::Mutex<super::detective::DetectiveState>,
    /// IAM Identity Center's asynchronous answers and the operations moto lacks (`identity_center.rs`).
    pub identity_center: std::sync::Mutex<super::identity_center::IdentityCenterState>,
    /// AWS Backup operations moto lacks (`backup.rs`).
    backup: std::sync::Mutex<super::backup::BackupState>,
    /// Security Hub central configuration's operations moto lacks (`security_hub.rs`).
    security_hub: std::sync::Mutex<super::security_hub::SecurityHubState>,
    /// E-mail subscriptions pending until confirmed (`sns.rs`).
    pub sns: std::sync::Mutex<super::sns::SnsState>,
    /// AWS Config organization conformance packs, which moto cannot take by body
    /// (`conformance_packs.rs`).
    pub conformance_packs: std::sync::Mutex<super::conformance_packs::ConformancePackState>,
}

impl StrictState {
    /// Everything the layer stands in for, as moto forgets everything on `POST /moto-api/reset`:
    /// a test sharing the emulator after a reset meets no Macie administrator, budget, pending
    /// subscription or caller identity of the test before it.
    fn forget(&self) {
        fn clear<T: Default>(mutex: &std::sync::Mutex<T>) {
            *lock(mutex) = T::default();
        }
        clear(&self.identities);
        clear(&self.fresh_accounts);
        clear(&self.new_roles);
        clear(&self.regions);
        self.region_opt_in_refusals.store(0, std::sync::atomic::Ordering::Relaxed);
        clear(&self.central_configuration);
        clear(&self.failed_creations);
        clear(&self.budgets);
        clear(&self.macie);
        clear(&self.detective);
        clear(&self.ram);
        clear(&self.tgw);
        clear(&self.identity_center);
        clear(&self.backup);
        clear(&self.security_hub);
        clear(&self.sns);
        clear(&self.conformance_packs);
    }
}

fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Everything a rule may need about one request.
pub struct Context<'a> {
    pub config: &'a Strict,
    pub state: &'a StrictState,
    /// The moto this request goes to: the primary, or with a sharded proxy the shard of the
    /// signing account (`proxy::Proxy::start_sharded`; the request then carries
    /// `x-moto-account-id`). The layer's reads of that account's state go there too.
    pub upstream_port: u16,
    /// The moto holding the organization: Organizations, STS (which issued every session's keys,
    /// so callers are identified there), the Account Management API, the layer's
    /// organization-wide stand-ins. The same as `upstream_port` unless the proxy is sharded.
    pub primary_port: u16,
    pub request: &'a Request,
    pub operation: &'a Operation,
}

/// Runs the rules that judge a request before it reaches moto: Some(answer) refuses or serves it.
pub async fn before(context: &Context<'_>) -> Option<Response> {
    // The layer's stand-ins for AWS state moto lacks (account names, root access, trusted access
    // moto refuses) go with moto's own state when a test resets moto.
    if context.request.method == "POST" && context.request.target.starts_with("/moto-api/reset") {
        forget_moto(context.primary_port);
        context.state.forget();
    }
    if !context.config.enabled || context.operation.service == "unsigned" {
        return None;
    }
    // Root sessions (AssumeRoot's credentials) are the layer's own: never sent to moto.
    if let Some(key) = access_key(context.request) {
        let service = &context.operation.service;
        if let Some(response) =
            super::root_credentials::in_root_session(context.primary_port, &key, service, context.request)
        {
            return Some(response);
        }
    }
    let caller = caller(context).await;
    if let Some(response) = assume_root(context, &caller).await {
        return Some(response);
    }
    if let Some(response) = disabled_region(context, &caller) {
        return Some(response);
    }
    if let Some(response) = fresh_account(context, &caller) {
        return Some(response);
    }
    if let Some(response) = email_taken_elsewhere(context) {
        return Some(response);
    }
    if let Some(response) = account_api_trusted_access(context).await {
        return Some(response);
    }
    if let Some(response) = region_opt_in(context, &caller) {
        return Some(response);
    }
    if let Some(response) = put_account_name(context, &caller) {
        return Some(response);
    }
    if let Some(response) = root_access_features(context, &caller).await {
        return Some(response);
    }
    if let Some(response) = trusted_access_moto_lacks(context) {
        return Some(response);
    }
    if let Some(response) = assume_role_trust(context, &caller).await {
        return Some(response);
    }
    if let Some(response) = rcp_full_access_detach(context) {
        return Some(response);
    }
    if let Some(response) = organization_analyzer(context, &caller).await {
        return Some(response);
    }
    if let Some(response) = security_hub_central_auto_enable(context, &caller) {
        return Some(response);
    }
    if let Some(response) = trail_key_policy(context, &caller).await {
        return Some(response);
    }
    if let Some(response) = new_role_principal(context) {
        return Some(response);
    }
    if let Some(response) = non_iam_policy_document(context).await {
        return Some(response);
    }
    if context.operation.service == "organizations" {
        let (state, port) = (&context.state.backup, context.upstream_port);
        if let Some(response) =
            super::backup::organizations_before(state, port, &context.operation.name, context.request).await
        {
            return Some(response);
        }
    }
    if context.operation.service == "securityhub" {
        let region = signing_region(context.request).unwrap_or_default();
        let (state, port, request) = (&context.state.security_hub, context.upstream_port, context.request);
        let response = super::security_hub::before(state, port, &caller.account, &region, request).await;
        if response.as_ref().is_some_and(|response| response.status == 200) {
            remember_central_configuration(context).await;
        }
        if response.is_some() {
            return response;
        }
    }
    if context.operation.service == "config" {
        let region = signing_region(context.request).unwrap_or_default();
        let state = &context.state.conformance_packs;
        if let Some(response) = super::conformance_packs::before(context, state, &caller.account, &region).await {
            return Some(response);
        }
    }
    if context.operation.service == "budgets" {
        let (state, port, request) = (&context.state.budgets, context.upstream_port, context.request);
        return super::budgets::before(state, port, &caller.account, &context.operation.name, request).await;
    }
    if context.operation.service == "backup" {
        let region = signing_region(context.request).unwrap_or_default();
        let (state, port, request) = (&context.state.backup, context.upstream_port, context.request);
        return super::backup::before(state, port, &caller.account, &region, request).await;
    }
    if context.operation.service == "ec2" {
        let region = signing_region(context.request).unwrap_or_default();
        let (port, request) = (context.upstream_port, context.request);
        if let Some(response) = super::flow_logs::before(port, &caller.account, &region, request).await {
            return Some(response);
        }
        let shared_owner = match shared_gateway(request) {
            Some(gateway_id) => {
                let organization = ram_organization(context, &caller.account, true).await;
                super::ram::gateway_owner(&context.state.ram, &gateway_id, &caller.account, &region, &organization)
            }
            None => None,
        };
        let state = &context.state.tgw;
        if let Some(response) = super::tgw::before(state, port, &caller.account, &region, request, shared_owner).await {
            return Some(response);
        }
    }
    if context.operation.service == "inspector2" {
        let (port, request) = (context.upstream_port, context.request);
        return super::inspector::before(port, &caller.account, &context.operation.name, request).await;
    }
    if context.operation.service == "macie2" {
        let region = signing_region(context.request).unwrap_or_default();
        let (state, port, request) = (&context.state.macie, context.upstream_port, context.request);
        return super::macie::before(state, port, &caller.account, &region, &context.operation.name, request).await;
    }
    if context.operation.service == "detective" && super::detective::serves(&context.operation.name) {
        let region = signing_region(context.request).unwrap_or_default();
        // Only CreateMembers needs to know the organization's accounts.
        let mut organization = BTreeSet::new();
        if context.operation.name == "POST /graph/members" {
            let listed = organizations(context, "ListAccounts", serde_json::json!({})).await;
            organization = as_list(&listed["Accounts"])
                .iter()
                .filter_map(|account| account["Id"].as_str().map(str::to_string))
                .collect();
        }
        let (state, name, request) = (&context.state.detective, &context.operation.name, context.request);
        return super::detective::before(
            state,
            &caller.account,
            &region,
            MANAGEMENT_ACCOUNT,
            &organization,
            name,
            request,
        );
    }
    if context.operation.service == "ram" && super::ram::serves(&context.operation.name) {
        return ram(context, &caller.account).await;
    }
    if context.operation.service == "sso" {
        let (state, request) = (&context.state.identity_center, context.request);
        return super::identity_center::before(state, &caller.account, &context.operation.name, request);
    }
    None
}

/// What the RAM layer needs of the organization (read from moto as the management account); with
/// `parents`, the caller's OUs and root from its parent up.
async fn ram_organization(context: &Context<'_>, caller: &str, parents: bool) -> super::ram::Organization {
    let described = organizations(context, "DescribeOrganization", serde_json::json!({})).await;
    let id = described["Organization"]["Id"].as_str().map(str::to_string);
    let mut caller_parents = Vec::new();
    if parents {
        let mut child = caller.to_string();
        // An account's parents up to the root (one each: ListParents).
        for _ in 0..8 {
            let parents = organizations(context, "ListParents", serde_json::json!({ "ChildId": child })).await;
            let Some(parent) = as_list(&parents["Parents"]).first().and_then(|p| p["Id"].as_str()).map(str::to_string)
            else {
                break;
            };
            caller_parents.push(parent.clone());
            child = parent;
        }
    }
    super::ram::Organization { management: MANAGEMENT_ACCOUNT.to_string(), id, caller_parents }
}

/// The gateway of a CreateTransitGatewayVpcAttachment request (whether it is shared with the
/// caller is asked of the RAM layer).
fn shared_gateway(request: &Request) -> Option<String> {
    let body = String::from_utf8_lossy(&request.body);
    let form: Vec<(String, String)> = body
        .split('&')
        .filter_map(|pair| pair.split_once('=').map(|(key, value)| (percent_decode(key), percent_decode(value))))
        .collect();
    let action = form.iter().find(|(key, _)| key == "Action").map(|(_, value)| value.as_str());
    if action != Some("CreateTransitGatewayVpcAttachment") {
        return None;
    }
    form.into_iter().find(|(key, _)| key == "TransitGatewayId").map(|(_, value)| value)
}

/// A RAM request, served by `ram.rs` with what it needs of the organization (read from moto as
/// the management account). EnableSharingWithAwsOrganization turns on Organizations' trusted
/// access for RAM, as AWS does.
/// https://docs.aws.amazon.com/ram/latest/APIReference/API_EnableSharingWithAwsOrganization.html
async fn ram(context: &Context<'_>, caller: &str) -> Option<Response> {
    let region = signing_region(context.request).unwrap_or_default();
    let organization = ram_organization(context, caller, context.operation.name == "POST /getresourceshares").await;
    let (state, name, request) = (&context.state.ram, &context.operation.name, context.request);
    let response = super::ram::before(state, caller, &region, &organization, name, request)?;
    if name == "POST /enablesharingwithawsorganization" && response.status == 200 {
        organizations(
            context,
            "EnableAWSServiceAccess",
            serde_json::json!({ "ServicePrincipal": "ram.amazonaws.com" }),
        )
        .await;
    }
    Some(response)
}

/// Runs the rules that rewrite moto's answer, and records what later rules need.
pub async fn after(context: &Context<'_>, response: &mut Response) {
    if !context.config.enabled || context.operation.service == "unsigned" {
        return;
    }
    account_state(context.operation, response);
    overlay_account_names(context, response);
    list_trusted_access_moto_lacks(context, response);
    page_delegated_administrators(context, response);
    if context.operation.service == "organizations" {
        super::backup::organizations_after(&context.state.backup, &context.operation.name, context.request, response);
    }
    if context.operation.service == "budgets" {
        let caller = caller(context).await;
        let (state, name) = (&context.state.budgets, &context.operation.name);
        super::budgets::after(state, &caller.account, name, context.request, response);
    }
    if context.operation.service == "macie2" {
        let caller = caller(context).await;
        let region = signing_region(context.request).unwrap_or_default();
        let (state, name) = (&context.state.macie, &context.operation.name);
        super::macie::after(state, &caller.account, &region, name, context.request, response);
    }
    if context.operation.service == "sns" {
        super::sns::after(&context.state.sns, &context.operation.name, context.request, response);
    }
    if context.operation.service == "sso" {
        let caller = caller(context).await;
        let (state, name) = (&context.state.identity_center, &context.operation.name);
        super::identity_center::after(state, &caller.account, name, context.request, response);
    }
    if response.status != 200 {
        return;
    }
    remember_new_account(context, response);
    remember_new_role(context, response).await;
    remember_central_configuration(context).await;
}

// ---------------------------------------------------------------------------------------------
// Reading requests and moto.

fn json_body(request: &Request) -> Value {
    serde_json::from_slice(&request.body).unwrap_or(Value::Null)
}

/// Decodes `application/x-www-form-urlencoded` text.
pub fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'+' => out.push(b' '),
            b'%' if index + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[index + 1..index + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(byte) => {
                        out.push(byte);
                        index += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            byte => out.push(byte),
        }
        index += 1;
    }
    String::from_utf8_lossy(&out).to_string()
}

/// A parameter of a query-protocol (form) body.
fn form_parameter(request: &Request, name: &str) -> Option<String> {
    let body = String::from_utf8_lossy(&request.body);
    body.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        (percent_decode(key) == name).then(|| percent_decode(value))
    })
}

fn xml_text(body: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}>");
    let start = body.find(&open)? + open.len();
    let end = body[start..].find(&format!("</{tag}>"))? + start;
    Some(unescape_xml(&body[start..end]))
}

fn unescape_xml(text: &str) -> String {
    text.replace("&quot;", "\"").replace("&apos;", "'").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
}

fn access_key(request: &Request) -> Option<String> {
    let credential = request.header("authorization")?.split("Credential=").nth(1)?;
    Some(credential.split('/').next()?.to_string())
}

/// The Region of a request's SigV4 credential scope.
fn signing_region(request: &Request) -> Option<String> {
    let credential = request.header("authorization")?.split("Credential=").nth(1)?;
    Some(credential.split('/').nth(2)?.to_string())
}

/// A request of the layer's own, straight to moto (not counted, not faulted).
async fn moto(
    context: &Context<'_>,
    service: &str,
    access_key: &str,
    headers: &[(&str, &str)],
    target: Option<&str>,
    body: String,
) -> Option<Response> {
    moto_in(context, "us-east-1", service, access_key, headers, target, body).await
}

/// `moto` in another Region (moto keeps regional services' state per Region).
pub(super) async fn moto_in(
    context: &Context<'_>,
    region: &str,
    service: &str,
    access_key: &str,
    headers: &[(&str, &str)],
    target: Option<&str>,
    body: String,
) -> Option<Response> {
    moto_at(context.upstream_port, region, service, access_key, headers, target, body).await
}

/// A request of the layer's own to the moto on `port`.
async fn moto_at(
    port: u16,
    region: &str,
    service: &str,
    access_key: &str,
    headers: &[(&str, &str)],
    target: Option<&str>,
    body: String,
) -> Option<Response> {
    let authorization = format!(
        "AWS4-HMAC-SHA256 Credential={access_key}/20260101/{region}/{service}/aws4_request, SignedHeaders=host, Signature=00"
    );
    let mut request_headers =
        vec![("host".to_string(), format!("127.0.0.1:{port}")), ("authorization".to_string(), authorization)];
    if let Some(target) = target {
        request_headers.push(("x-amz-target".to_string(), target.to_string()));
        request_headers.push(("content-type".to_string(), "application/x-amz-json-1.1".to_string()));
    } else {
        request_headers.push(("content-type".to_string(), "application/x-www-form-urlencoded".to_string()));
    }
    request_headers.extend(headers.iter().map(|(key, value)| (key.to_string(), value.to_string())));
    let request = Request {
        method: "POST".to_string(),
        target: "/".to_string(),
        headers: request_headers,
        body: body.into_bytes(),
    };
    forward(port, &request).await.ok()
}

/// An Organizations read as the management account (from the primary moto, which holds the organization).
async fn organizations(context: &Context<'_>, operation: &str, body: Value) -> Value {
    let target = format!("AWSOrganizationsV20161128.{operation}");
    let port = context.primary_port;
    let response = moto_at(port, "us-east-1", "organizations", "testing", &[], Some(&target), body.to_string()).await;
    response.and_then(|response| serde_json::from_slice(&response.body).ok()).unwrap_or(Value::Null)
}

/// The account whose credentials signed the request (the management account when unknown).
pub async fn caller_account(context: &Context<'_>) -> String {
    caller(context).await.account
}

async fn caller(context: &Context<'_>) -> Identity {
    let fallback = Identity {
        account: MANAGEMENT_ACCOUNT.to_string(),
        arn: format!("arn:aws:iam::{MANAGEMENT_ACCOUNT}:user/moto"),
    };
    let Some(key) = access_key(context.request) else { return fallback };
    if let Some(identity) = lock(&context.state.identities).get(&key) {
        return identity.clone();
    }
    // Asked of the primary moto: its STS issued every session's keys (a shard's never did).
    let body = "Action=GetCallerIdentity&Version=2011-06-15".to_string();
    let port = context.primary_port;
    let Some(response) = moto_at(port, "us-east-1", "sts", &key, &[], None, body).await else { return fallback };
    let text = String::from_utf8_lossy(&response.body);
    let (Some(account), Some(arn)) = (xml_text(&text, "Account"), xml_text(&text, "Arn")) else { return fallback };
    let identity = Identity { account, arn };
    lock(&context.state.identities).insert(key, identity.clone());
    identity
}

// ---------------------------------------------------------------------------------------------
// Accounts carry `State`, not `Status`.

/// `Status` was retired on 2026-09-09; accounts carry `State` (PENDING_ACTIVATION, ACTIVE,
/// SUSPENDED, PENDING_CLOSURE, CLOSED); so do delegated administrators.
/// https://docs.aws.amazon.com/organizations/latest/APIReference/API_Account.html
/// https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_accounts_account_state.html
/// moto 5.2.5 sends `Status` only: `State` is derived from it where absent, then `Status` goes.
fn account_state(operation: &Operation, response: &mut Response) {
    const OPERATIONS: &[&str] = &[
        "ListAccounts",
        "ListAccountsForParent",
        "DescribeAccount",
        "ListAccountsWithInvalidEffectivePolicy",
        "ListDelegatedAdministrators",
    ];
    if operation.service != "organizations" || !OPERATIONS.contains(&operation.name.as_str()) || response.status != 200
    {
        return;
    }
    let Ok(mut body) = serde_json::from_slice::<Value>(&response.body) else { return };
    let mut fix = |account: &mut Value| {
        let Some(account) = account.as_object_mut() else { return };
        let status = account.remove("Status");
        if !account.contains_key("State") {
            let state = match status.as_ref().and_then(Value::as_str) {
                Some("SUSPENDED") => "SUSPENDED",
                Some("PENDING_CLOSURE") => "PENDING_CLOSURE",
                _ => "ACTIVE",
            };
            account.insert("State".to_string(), Value::String(state.to_string()));
        }
    };
    for list in ["Accounts", "DelegatedAdministrators"] {
        if let Some(accounts) = body.get_mut(list).and_then(Value::as_array_mut) {
            accounts.iter_mut().for_each(&mut fix);
        }
    }
    if let Some(account) = body.get_mut("Account") {
        fix(account);
    }
    response.body = body.to_string().into_bytes();
}

// ---------------------------------------------------------------------------------------------
// The Account API needs trusted access.

const ACCOUNT_API_WITH_ACCOUNT_ID: &[&str] = &[
    "POST /getAlternateContact",
    "POST /putAlternateContact",
    "POST /deleteAlternateContact",
    "POST /putAccountName",
    "POST /getAccountInformation",
    "POST /enableRegion",
    "POST /disableRegion",
    "POST /getRegionOptStatus",
    "POST /listRegions",
    "POST /getContactInformation",
    "POST /putContactInformation",
];

/// The Account API called with `AccountId` needs trusted access for `account.amazonaws.com`
/// ("the organization must have trusted access enabled for the Account Management service").
/// https://docs.aws.amazon.com/accounts/latest/reference/API_PutAlternateContact.html
/// https://docs.aws.amazon.com/accounts/latest/reference/using-orgs-trusted-access.html
async fn account_api_trusted_access(context: &Context<'_>) -> Option<Response> {
    let operation = context.operation;
    if operation.service != "account" || !ACCOUNT_API_WITH_ACCOUNT_ID.contains(&operation.name.as_str()) {
        return None;
    }
    json_body(context.request).get("AccountId").and_then(Value::as_str)?;
    let access = organizations(context, "ListAWSServiceAccessForOrganization", serde_json::json!({})).await;
    let enabled = access["EnabledServicePrincipals"]
        .as_array()
        .is_some_and(|list| list.iter().any(|entry| entry["ServicePrincipal"] == "account.amazonaws.com"));
    (!enabled).then(|| {
        error_response(
            Protocol::RestJson,
            403,
            "AccessDeniedException",
            "The request failed because the account management service is not enabled as a trusted service in the organization (trusted access for account.amazonaws.com).",
        )
    })
}

// ---------------------------------------------------------------------------------------------
// AssumeRole checks the role and its trust policy.

/// AssumeRole fails with AccessDenied when the role does not exist or its trust policy does not
/// allow the caller ("the trust policy of the role must allow the caller").
/// https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html
/// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html
/// Conditions: `sts:ExternalId` is compared with the request's; `aws:MultiFactorAuthPresent`
/// is never satisfied (the proxy's callers carry no MFA); other conditions are not evaluated.
async fn assume_role_trust(context: &Context<'_>, caller: &Identity) -> Option<Response> {
    if context.operation.service != "sts" || context.operation.name != "AssumeRole" {
        return None;
    }
    let role_arn = form_parameter(context.request, "RoleArn")?;
    let external_id = form_parameter(context.request, "ExternalId");
    let target_account = role_arn.split(':').nth(4)?.to_string();
    let role_name = role_arn.rsplit('/').next()?.to_string();
    let denied = || {
        error_response(
            Protocol::Query,
            403,
            "AccessDenied",
            &format!("User: {} is not authorized to perform: sts:AssumeRole on resource: {role_arn}", caller.arn),
        )
    };
    let body = format!("Action=GetRole&Version=2010-05-08&RoleName={role_name}");
    let Some(response) = moto(context, "iam", "testing", &[("x-moto-account-id", &target_account)], None, body).await
    else {
        return Some(denied());
    };
    if response.status != 200 {
        return Some(denied());
    }
    let text = String::from_utf8_lossy(&response.body);
    let document = xml_text(&text, "AssumeRolePolicyDocument").map(|raw| percent_decode(&raw)).unwrap_or_default();
    let trust: Value = serde_json::from_str(&document).unwrap_or(Value::Null);
    (!trust_allows(&trust, caller, external_id.as_deref())).then(denied)
}

fn as_list(value: &Value) -> Vec<&Value> {
    match value {
        Value::Array(items) => items.iter().collect(),
        Value::Null => vec![],
        other => vec![other],
    }
}

/// Whether a trust policy lets `caller` call sts:AssumeRole.
fn trust_allows(trust: &Value, caller: &Identity, external_id: Option<&str>) -> bool {
    as_list(&trust["Statement"]).into_iter().any(|statement| {
        let allows = statement["Effect"] == "Allow"
            && as_list(&statement["Action"])
                .into_iter()
                .any(|action| matches!(action.as_str(), Some("sts:AssumeRole" | "sts:*" | "*")));
        let principals = match &statement["Principal"] {
            Value::String(star) if star == "*" => vec![star.as_str()],
            principal => as_list(&principal["AWS"]).into_iter().filter_map(Value::as_str).collect(),
        };
        allows
            && principals.iter().any(|principal| principal_matches(principal, caller))
            && conditions_hold(statement, external_id)
    })
}

fn principal_matches(principal: &str, caller: &Identity) -> bool {
    let account = &caller.account;
    if principal == "*" || principal == account || principal == format!("arn:aws:iam::{account}:root") {
        return true;
    }
    if principal == caller.arn {
        return true;
    }
    // arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION is the role arn:aws:iam::ACCOUNT:role/(path/)ROLE.
    let role = caller.arn.split(":assumed-role/").nth(1).and_then(|rest| rest.split('/').next());
    role.is_some_and(|role| {
        principal.starts_with(&format!("arn:aws:iam::{account}:role/")) && principal.rsplit('/').next() == Some(role)
    })
}

fn conditions_hold(statement: &Value, external_id: Option<&str>) -> bool {
    let Some(conditions) = statement["Condition"].as_object() else { return true };
    conditions.iter().all(|(operator, keys)| {
        keys.as_object().is_none_or(|keys| {
            keys.iter().all(|(key, value)| match key.as_str() {
                "sts:ExternalId" if operator.starts_with("String") => {
                    as_list(value).into_iter().any(|wanted| wanted.as_str() == external_id)
                }
                "aws:MultiFactorAuthPresent" => {
                    as_list(value).into_iter().all(|wanted| wanted.as_str() != Some("true"))
                }
                _ => true,
            })
        })
    })
}

// ---------------------------------------------------------------------------------------------
// RCPFullAWSAccess stays attached.

/// `RCPFullAWSAccess` is attached to the root, every OU and every account, and "you cannot detach
/// this policy".
/// https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_rcps_evaluation.html
fn rcp_full_access_detach(context: &Context<'_>) -> Option<Response> {
    if context.operation.service != "organizations" || context.operation.name != "DetachPolicy" {
        return None;
    }
    (json_body(context.request)["PolicyId"] == "p-RCPFullAWSAccess").then(|| {
        error_response(
            Protocol::Json,
            400,
            "ConstraintViolationException",
            "You cannot detach the RCPFullAWSAccess policy: it is attached to every root, OU and account while resource control policies are enabled.",
        )
    })
}

// ---------------------------------------------------------------------------------------------
// ORGANIZATION analyzers.

/// An analyzer of type ORGANIZATION can be created only by the management account or the
/// delegated administrator for IAM Access Analyzer.
/// https://docs.aws.amazon.com/IAM/latest/UserGuide/access-analyzer-settings.html
/// https://docs.aws.amazon.com/access-analyzer/latest/APIReference/API_CreateAnalyzer.html
async fn organization_analyzer(context: &Context<'_>, caller: &Identity) -> Option<Response> {
    if context.operation.service != "access-analyzer" || context.operation.name != "PUT /analyzer" {
        return None;
    }
    let body = json_body(context.request);
    if !matches!(body["type"].as_str(), Some("ORGANIZATION" | "ORGANIZATION_UNUSED_ACCESS")) {
        return None;
    }
    if caller.account == MANAGEMENT_ACCOUNT {
        return None;
    }
    let admins = organizations(
        context,
        "ListDelegatedAdministrators",
        serde_json::json!({ "ServicePrincipal": "access-analyzer.amazonaws.com" }),
    )
    .await;
    let delegated = admins["DelegatedAdministrators"]
        .as_array()
        .is_some_and(|admins| admins.iter().any(|admin| admin["Id"].as_str() == Some(caller.account.as_str())));
    (!delegated).then(|| {
        error_response(
            Protocol::RestJson,
            403,
            "AccessDeniedException",
            "You must be the management account or the delegated administrator for IAM Access Analyzer to create an organization analyzer.",
        )
    })
}

// ---------------------------------------------------------------------------------------------
// Security Hub central configuration.

/// Under central configuration `AutoEnable` "is set to false and can't be changed".
/// https://docs.aws.amazon.com/securityhub/1.0/APIReference/API_UpdateOrganizationConfiguration.html
fn security_hub_central_auto_enable(context: &Context<'_>, caller: &Identity) -> Option<Response> {
    if context.operation.service != "securityhub" || context.operation.name != "POST /organization/configuration" {
        return None;
    }
    let body = json_body(context.request);
    let region = signing_region(context.request).unwrap_or_default();
    let requested = body["OrganizationConfiguration"]["ConfigurationType"].as_str();
    let central = match requested {
        Some(kind) => kind == "CENTRAL",
        None => lock(&context.state.central_configuration).contains(&(caller.account.clone(), region)),
    };
    (central && body["AutoEnable"] == true).then(|| {
        error_response(
            Protocol::RestJson,
            400,
            "InvalidInputException",
            "AutoEnable must be false when the organization uses central configuration (ConfigurationType CENTRAL).",
        )
    })
}

async fn remember_central_configuration(context: &Context<'_>) {
    if context.operation.service != "securityhub" || context.operation.name != "POST /organization/configuration" {
        return;
    }
    let Some(kind) =
        json_body(context.request)["OrganizationConfiguration"]["ConfigurationType"].as_str().map(str::to_string)
    else {
        return;
    };
    let caller = caller(context).await;
    let key = (caller.account, signing_region(context.request).unwrap_or_default());
    let mut central = lock(&context.state.central_configuration);
    if kind == "CENTRAL" {
        central.insert(key);
    } else {
        central.remove(&key);
    }
}

// ---------------------------------------------------------------------------------------------
// CloudTrail encrypts only with a key whose policy lets it.

/// CreateTrail / UpdateTrail with `KmsKeyId` fail with InsufficientEncryptionPolicyException when
/// the key policy does not let `cloudtrail.amazonaws.com` use the key for this trail ("the policy
/// must allow CloudTrail to use the key to encrypt your log files").
/// https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_CreateTrail.html
/// https://docs.aws.amazon.com/awscloudtrail/latest/userguide/create-kms-key-policy-for-cloudtrail.html
/// Evaluated: an Allow statement for the service principal whose actions cover
/// `kms:GenerateDataKey*`, with its StringEquals / StringLike conditions on `aws:SourceArn`,
/// `aws:SourceAccount` and `kms:EncryptionContext:aws:cloudtrail:arn` met by this trail. Any other
/// condition key is taken as unmet: the rule accepts only what it can show AWS would.
async fn trail_key_policy(context: &Context<'_>, caller: &Identity) -> Option<Response> {
    let operation = context.operation;
    if operation.service != "cloudtrail" || !matches!(operation.name.as_str(), "CreateTrail" | "UpdateTrail") {
        return None;
    }
    let body = json_body(context.request);
    let key = body["KmsKeyId"].as_str().filter(|key| !key.is_empty())?;
    let name = body["Name"].as_str()?;
    let region = signing_region(context.request).unwrap_or_else(|| "us-east-1".to_string());
    let trail_arn = if name.starts_with("arn:") {
        name.to_string()
    } else {
        format!("arn:aws:cloudtrail:{region}:{}:trail/{name}", caller.account)
    };
    // The key's account and Region from its ARN (an alias or key id alone: the caller's).
    let parts: Vec<&str> = key.split(':').collect();
    let key_region = parts.get(3).copied().unwrap_or(region.as_str());
    let key_account = parts.get(4).copied().unwrap_or(caller.account.as_str());
    let kms = |target: &'static str, body: Value| {
        let headers = [("x-moto-account-id", key_account)];
        async move {
            let response =
                moto_in(context, key_region, "kms", "testing", &headers, Some(target), body.to_string()).await;
            response.and_then(|response| serde_json::from_slice::<Value>(&response.body).ok()).unwrap_or(Value::Null)
        }
    };
    let described = kms("TrentService.DescribeKey", serde_json::json!({ "KeyId": key })).await;
    let key_id = described["KeyMetadata"]["KeyId"].as_str()?.to_string();
    let policy =
        kms("TrentService.GetKeyPolicy", serde_json::json!({ "KeyId": key_id, "PolicyName": "default" })).await;
    let policy: Value = serde_json::from_str(policy["Policy"].as_str()?).ok()?;
    let facts = [
        ("aws:sourcearn", trail_arn.clone()),
        ("aws:sourceaccount", caller.account.clone()),
        ("kms:encryptioncontext:aws:cloudtrail:arn", trail_arn.clone()),
    ];
    let as_list = |value: &Value| -> Vec<String> {
        match value {
            Value::String(text) => vec![text.clone()],
            Value::Array(items) => items.iter().filter_map(Value::as_str).map(str::to_string).collect(),
            _ => Vec::new(),
        }
    };
    let glob = |pattern: &str, text: &str| {
        let pieces: Vec<&str> = pattern.split('*').collect();
        let mut rest = text;
        for (index, piece) in pieces.iter().enumerate() {
            if index == 0 {
                let Some(after) = rest.strip_prefix(piece) else { return false };
                rest = after;
            } else if index == pieces.len() - 1 {
                return rest.ends_with(piece);
            } else {
                let Some(found) = rest.find(piece) else { return false };
                rest = &rest[found + piece.len()..];
            }
        }
        rest.is_empty()
    };
    let statements: Vec<&Value> = match &policy["Statement"] {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    };
    let allowed = statements.into_iter().any(|statement| {
        let service = as_list(&statement["Principal"]["Service"]).iter().any(|s| s == "cloudtrail.amazonaws.com");
        let action = as_list(&statement["Action"])
            .iter()
            .any(|action| matches!(action.as_str(), "kms:GenerateDataKey*" | "kms:*" | "*"));
        let conditions = statement["Condition"].as_object().into_iter().flatten().all(|(operator, block)| {
            block.as_object().into_iter().flatten().all(|(condition_key, wanted)| {
                let Some((_, fact)) = facts.iter().find(|(name, _)| *name == condition_key.to_lowercase()) else {
                    return false;
                };
                as_list(wanted).iter().any(|value| match operator.as_str() {
                    "StringEquals" | "ArnEquals" => value == fact,
                    "StringLike" | "ArnLike" => glob(value, fact),
                    _ => false,
                })
            })
        });
        statement["Effect"] == "Allow" && service && action && conditions
    });
    (!allowed).then(|| {
        error_response(
            Protocol::Json,
            400,
            "InsufficientEncryptionPolicyException",
            "Insufficient permissions to access S3 bucket or KMS key.",
        )
    })
}

// ---------------------------------------------------------------------------------------------
// Opt-in Regions.

/// Regions that are disabled in a new account until enabled.
/// https://docs.aws.amazon.com/accounts/latest/reference/manage-acct-regions.html
pub const OPT_IN_REGIONS: &[&str] = &[
    "af-south-1",
    "ap-east-1",
    "ap-east-2",
    "ap-south-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-7",
    "ca-west-1",
    "eu-central-2",
    "eu-south-1",
    "eu-south-2",
    "il-central-1",
    "me-central-1",
    "me-south-1",
    "mx-central-1",
];

/// Every commercial Region ListRegions reports (opt-in ones included).
pub const COMMERCIAL_REGIONS: &[&str] = &[
    "af-south-1",
    "ap-east-1",
    "ap-east-2",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-7",
    "ca-central-1",
    "ca-west-1",
    "eu-central-1",
    "eu-central-2",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "il-central-1",
    "me-central-1",
    "me-south-1",
    "mx-central-1",
    "sa-east-1",
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
];

fn region_status(context: &Context<'_>, account: &str, region: &str) -> &'static str {
    if !OPT_IN_REGIONS.contains(&region) {
        return "ENABLED_BY_DEFAULT";
    }
    let mut regions = lock(&context.state.regions);
    let key = (account.to_string(), region.to_string());
    match regions.get(&key).copied() {
        None => "DISABLED",
        Some(RegionStatus::Enabled) => "ENABLED",
        Some(RegionStatus::Enabling(since)) if since.elapsed() >= context.config.region_enabling_time => {
            regions.insert(key, RegionStatus::Enabled);
            "ENABLED"
        }
        Some(RegionStatus::Enabling(_)) => "ENABLING",
    }
}

/// A call to an opt-in Region the caller's account has not enabled fails: "you can't create or
/// access resources in a Region that's disabled"; AWS refuses the credentials there.
/// https://docs.aws.amazon.com/accounts/latest/reference/manage-acct-regions.html
fn disabled_region(context: &Context<'_>, caller: &Identity) -> Option<Response> {
    let region = signing_region(context.request)?;
    if context.operation.service == "account" || region_status(context, &caller.account, &region) == "ENABLED" {
        return None;
    }
    if !OPT_IN_REGIONS.contains(&region.as_str()) {
        return None;
    }
    let protocol = super::proxy::protocol_of(context.request, context.operation);
    let (status, code) = match protocol {
        Protocol::Query => (403, "InvalidClientTokenId"),
        Protocol::Ec2 => (401, "AuthFailure"),
        Protocol::S3 | Protocol::S3Control => (403, "InvalidAccessKeyId"),
        Protocol::Json | Protocol::RestJson => (403, "UnrecognizedClientException"),
    };
    Some(error_response(protocol, status, code, "The security token included in the request is invalid."))
}

/// `account:EnableRegion` / `DisableRegion` / `GetRegionOptStatus` / `ListRegions`, which moto
/// lacks, served from the layer's state (ENABLING, then ENABLED after `region_enabling_time`).
/// https://docs.aws.amazon.com/accounts/latest/reference/API_EnableRegion.html
/// https://docs.aws.amazon.com/accounts/latest/reference/API_GetRegionOptStatus.html
/// https://docs.aws.amazon.com/accounts/latest/reference/API_ListRegions.html
fn region_opt_in(context: &Context<'_>, caller: &Identity) -> Option<Response> {
    if context.operation.service != "account" {
        return None;
    }
    let body = json_body(context.request);
    let account = body["AccountId"].as_str().unwrap_or(&caller.account).to_string();
    let region = body["RegionName"].as_str().unwrap_or_default().to_string();
    let answer = |value: Value| Response {
        status: 200,
        headers: vec![("content-type".to_string(), "application/json".to_string())],
        body: value.to_string().into_bytes(),
    };
    let invalid = |message: &str| error_response(Protocol::RestJson, 400, "ValidationException", message);
    match context.operation.name.as_str() {
        "POST /enableRegion" | "POST /disableRegion" if !OPT_IN_REGIONS.contains(&region.as_str()) => {
            Some(invalid("The specified Region is enabled by default and cannot be enabled or disabled."))
        }
        "POST /enableRegion" => {
            if let Some(refusal) = too_many_opt_ins(context, &account, &region) {
                return Some(refusal);
            }
            let mut regions = lock(&context.state.regions);
            regions.entry((account, region)).or_insert(RegionStatus::Enabling(Instant::now()));
            Some(answer(serde_json::json!({})))
        }
        "POST /disableRegion" => {
            lock(&context.state.regions).remove(&(account, region));
            Some(answer(serde_json::json!({})))
        }
        "POST /getRegionOptStatus" => {
            let status = region_status(context, &account, &region);
            Some(answer(serde_json::json!({ "RegionName": region, "RegionOptStatus": status })))
        }
        "POST /listRegions" => {
            let mut regions: Vec<Value> = COMMERCIAL_REGIONS
                .iter()
                .map(|name| serde_json::json!({ "RegionName": name, "RegionOptStatus": region_status(context, &account, name) }))
                .collect();
            if let Some(wanted) = body["RegionOptStatusContains"].as_array() {
                regions.retain(|region| wanted.contains(&region["RegionOptStatus"]));
            }
            Some(answer(serde_json::json!({ "Regions": regions })))
        }
        _ => None,
    }
}

/// At most 6 region-opt requests in progress per account and 50 per organization ("Number of
/// concurrent region-opt requests per account: 6", "per organization: 50",
/// https://docs.aws.amazon.com/accounts/latest/reference/quotas.html): an EnableRegion beyond them
/// is refused. AWS documents the quota, not the refusal's code: the layer answers
/// TooManyRequestsException (HTTP 429), the Account API's "exceeded a throttle limit"
/// (https://docs.aws.amazon.com/accounts/latest/reference/API_EnableRegion.html), and counts it
/// (`region_opt_in_refusals`). A Region already ENABLING or ENABLED is no new request.
fn too_many_opt_ins(context: &Context<'_>, account: &str, region: &str) -> Option<Response> {
    let key = (account.to_string(), region.to_string());
    let in_progress: Vec<(String, String)> = {
        let regions = lock(&context.state.regions);
        if regions.contains_key(&key) {
            return None;
        }
        regions
            .iter()
            .filter(|(_, status)| matches!(status, RegionStatus::Enabling(_)))
            .map(|(key, _)| key.clone())
            .collect()
    };
    // Refresh each status (ENABLING turns ENABLED when its time is up).
    let enabling: Vec<(String, String)> = in_progress
        .into_iter()
        .filter(|(account, region)| region_status(context, account, region) == "ENABLING")
        .collect();
    let in_account = enabling.iter().filter(|(other, _)| other == account).count();
    if in_account < context.config.region_opt_ins_per_account
        && enabling.len() < context.config.region_opt_ins_per_organization
    {
        return None;
    }
    context.state.region_opt_in_refusals.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    Some(error_response(
        Protocol::RestJson,
        429,
        "TooManyRequestsException",
        &format!(
            "Too many region-opt requests in progress: {in_account} in account {account}, {} in the organization (quotas: {} and {}).",
            enabling.len(),
            context.config.region_opt_ins_per_account,
            context.config.region_opt_ins_per_organization
        ),
    ))
}

/// EnableRegion requests the layer refused for too many region-opt requests in progress.
pub fn region_opt_in_refusals(state: &StrictState) -> u64 {
    state.region_opt_in_refusals.load(std::sync::atomic::Ordering::Relaxed)
}

// ---------------------------------------------------------------------------------------------
// Fresh accounts.

fn remember_new_account(context: &Context<'_>, response: &Response) {
    if context.operation.service != "organizations"
        || !matches!(context.operation.name.as_str(), "CreateAccount" | "DescribeCreateAccountStatus")
    {
        return;
    }
    let Ok(body) = serde_json::from_slice::<Value>(&response.body) else { return };
    if let Some(account) = body["CreateAccountStatus"]["AccountId"].as_str() {
        lock(&context.state.fresh_accounts).entry(account.to_string()).or_insert_with(Instant::now);
    }
}

/// A new account cannot use services for a while after CreateAccount succeeds ("it can take
/// several minutes before the account is fully available"; services answer
/// SubscriptionRequiredException, EC2 OptInRequired, until its sign-up completes).
/// https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_accounts_create.html
fn fresh_account(context: &Context<'_>, caller: &Identity) -> Option<Response> {
    if matches!(context.operation.service.as_str(), "sts" | "organizations") {
        return None;
    }
    let created = lock(&context.state.fresh_accounts).get(&caller.account).copied()?;
    if created.elapsed() >= context.config.fresh_account_window {
        return None;
    }
    let protocol = super::proxy::protocol_of(context.request, context.operation);
    let code = if protocol == Protocol::Ec2 { "OptInRequired" } else { "SubscriptionRequiredException" };
    Some(error_response(
        protocol,
        403,
        code,
        "The AWS Access Key Id needs a subscription for the service (the account was created moments ago).",
    ))
}

// ---------------------------------------------------------------------------------------------
// Emails of accounts outside the organization.

/// An email is the unique key of an AWS account: CreateAccount with the email of an account that
/// exists anywhere (outside the organization included) is accepted as a request, which then ends
/// FAILED with `FailureReason: EMAIL_ALREADY_EXISTS` (moto accepts any duplicate). Served here:
/// moto never sees the request.
/// https://docs.aws.amazon.com/organizations/latest/APIReference/API_CreateAccount.html
/// https://docs.aws.amazon.com/organizations/latest/APIReference/API_CreateAccountStatus.html
fn email_taken_elsewhere(context: &Context<'_>) -> Option<Response> {
    if context.operation.service != "organizations" {
        return None;
    }
    let body = json_body(context.request);
    let answer = |value: Value| Response {
        status: 200,
        headers: vec![("content-type".to_string(), "application/x-amz-json-1.1".to_string())],
        body: value.to_string().into_bytes(),
    };
    match context.operation.name.as_str() {
        "CreateAccount" => {
            let email = body["Email"].as_str()?;
            if !context.config.emails_elsewhere.iter().any(|taken| taken.eq_ignore_ascii_case(email)) {
                return None;
            }
            let name = body["AccountName"].as_str().unwrap_or_default().to_string();
            let mut failed = lock(&context.state.failed_creations);
            let id = format!("car-elsewhere{:08}", failed.len() + 1);
            failed.insert(id.clone(), name.clone());
            Some(answer(serde_json::json!({
                "CreateAccountStatus": { "Id": id, "AccountName": name, "State": "IN_PROGRESS" }
            })))
        }
        "DescribeCreateAccountStatus" => {
            let id = body["CreateAccountRequestId"].as_str()?;
            let name = lock(&context.state.failed_creations).get(id).cloned()?;
            Some(answer(serde_json::json!({
                "CreateAccountStatus": {
                    "Id": id, "AccountName": name, "State": "FAILED", "FailureReason": "EMAIL_ALREADY_EXISTS"
                }
            })))
        }
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// New roles as principals.

async fn remember_new_role(context: &Context<'_>, response: &Response) {
    if context.operation.service != "iam" || context.operation.name != "CreateRole" {
        return;
    }
    let text = String::from_utf8_lossy(&response.body);
    if let Some(arn) = xml_text(&text, "Arn") {
        lock(&context.state.new_roles).insert(arn, Instant::now());
    }
}

/// A role created seconds ago is not yet a valid principal elsewhere: IAM answers
/// MalformedPolicyDocument "Invalid principal in policy" until the new role has replicated.
/// https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_general.html#troubleshoot_general_eventual-consistency
/// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html
fn new_role_principal(context: &Context<'_>) -> Option<Response> {
    if context.operation.service != "iam"
        || !matches!(context.operation.name.as_str(), "CreateRole" | "UpdateAssumeRolePolicy")
    {
        return None;
    }
    let document = form_parameter(context.request, "AssumeRolePolicyDocument")
        .or_else(|| form_parameter(context.request, "PolicyDocument"))?;
    let window = context.config.new_principal_window;
    let roles = lock(&context.state.new_roles);
    let young = roles.iter().find(|(arn, created)| created.elapsed() < window && document.contains(arn.as_str()))?;
    Some(error_response(
        Protocol::Query,
        400,
        "MalformedPolicyDocument",
        &format!("Invalid principal in policy: \"AWS\":\"{}\"", young.0),
    ))
}

// ---------------------------------------------------------------------------------------------
// Non-IAM policy types.

/// Only SCPs and RCPs use the IAM policy grammar; tag, backup, AI opt-out, chatbot, declarative
/// and the other management policy types have their own syntax, and AWS rejects an IAM-shaped
/// document for them with MalformedPolicyDocumentException.
/// https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_management_syntax.html
/// https://docs.aws.amazon.com/organizations/latest/APIReference/API_CreatePolicy.html
async fn non_iam_policy_document(context: &Context<'_>) -> Option<Response> {
    let operation = context.operation;
    if operation.service != "organizations" || !matches!(operation.name.as_str(), "CreatePolicy" | "UpdatePolicy") {
        return None;
    }
    let body = json_body(context.request);
    let content: Value = serde_json::from_str(body["Content"].as_str()?).ok()?;
    let policy_type = match body["Type"].as_str() {
        Some(kind) => kind.to_string(),
        None => {
            let described =
                organizations(context, "DescribePolicy", serde_json::json!({ "PolicyId": body["PolicyId"] })).await;
            described["Policy"]["PolicySummary"]["Type"].as_str()?.to_string()
        }
    };
    if matches!(policy_type.as_str(), "SERVICE_CONTROL_POLICY" | "RESOURCE_CONTROL_POLICY") {
        return None;
    }
    let iam_shaped = content.get("Statement").is_some() || content.get("Version").is_some();
    iam_shaped.then(|| {
        error_response(
            Protocol::Json,
            400,
            "MalformedPolicyDocumentException",
            "The provided policy document does not meet the requirements of the specified policy type.",
        )
    })
}

// ---------------------------------------------------------------------------------------------
// Paging the delegated-administrator lists.

/// ListDelegatedAdministrators and ListDelegatedServicesForAccount are paginated (`NextToken`);
/// moto answers whole. With `delegated_page_size` the layer cuts moto's answer into pages.
/// https://docs.aws.amazon.com/organizations/latest/APIReference/API_ListDelegatedServicesForAccount.html
/// https://docs.aws.amazon.com/organizations/latest/APIReference/API_ListDelegatedAdministrators.html
fn page_delegated_administrators(context: &Context<'_>, response: &mut Response) {
    let Some(size) = context.config.delegated_page_size else { return };
    let key = match (context.operation.service.as_str(), context.operation.name.as_str()) {
        ("organizations", "ListDelegatedAdministrators") => "DelegatedAdministrators",
        ("organizations", "ListDelegatedServicesForAccount") => "DelegatedServices",
        _ => return,
    };
    if response.status != 200 {
        return;
    }
    let request = json_body(context.request);
    let Ok(mut body) = serde_json::from_slice::<Value>(&response.body) else { return };
    let Some(items) = body[key].as_array().cloned() else { return };
    let size = size.max(1);
    let offset = request["NextToken"]
        .as_str()
        .and_then(|token| token.strip_prefix("strict-offset-"))
        .and_then(|offset| offset.parse::<usize>().ok())
        .unwrap_or(0);
    body[key] = Value::Array(items.iter().skip(offset).take(size).cloned().collect());
    if let Some(object) = body.as_object_mut() {
        if offset + size < items.len() {
            object.insert("NextToken".to_string(), Value::String(format!("strict-offset-{}", offset + size)));
        } else {
            object.remove("NextToken");
        }
    }
    response.body = body.to_string().into_bytes();
}

// ---------------------------------------------------------------------------------------------
// Account names (`account:PutAccountName`, which moto lacks).

/// Names given by PutAccountName, per moto server (its port) and account id. Kept per server, not
/// per proxy, so that every proxy in front of one moto (a test's fault proxy and the default strict
/// proxy) reports the same names; cleared when a moto starts on that port (`forget_moto`).
static ACCOUNT_NAMES: std::sync::LazyLock<std::sync::Mutex<HashMap<u16, HashMap<String, String>>>> =
    std::sync::LazyLock::new(Default::default);

/// Forgets what the layer keeps for the moto on `port` in place of moto (names, root access
/// features, trusted access moto refuses): when a moto starts there, and on `POST /moto-api/reset`.
pub fn forget_moto(port: u16) {
    lock(&ACCOUNT_NAMES).remove(&port);
    lock(&ROOT_ACCESS).remove(&port);
    lock(&EXTRA_TRUSTED_SERVICES).remove(&port);
    super::root_credentials::forget(port);
}

/// STS `AssumeRoot`, which moto lacks: served by `root_credentials.rs` with the organization's
/// members and enabled root access features.
/// https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRoot.html
async fn assume_root(context: &Context<'_>, caller: &Identity) -> Option<Response> {
    if context.operation.service != "sts" || context.operation.name != "AssumeRoot" {
        return None;
    }
    let listed = organizations(context, "ListAccounts", serde_json::json!({})).await;
    let members: BTreeSet<String> =
        as_list(&listed["Accounts"]).iter().filter_map(|account| account["Id"].as_str().map(str::to_string)).collect();
    let features = lock(&ROOT_ACCESS).get(&context.primary_port).cloned().unwrap_or_default();
    super::root_credentials::assume_root(context.request, &caller.account, MANAGEMENT_ACCOUNT, &members, &features)
}

/// `account:PutAccountName`, which moto 5.2.5 lacks, served from the layer's own names. With
/// `AccountId` the caller must be the management account and the account a member ("the
/// management account can't specify its own `AccountId`; it must call the operation in
/// standalone context"); without it, the caller's own account is renamed. The name is 1-50
/// characters of `[ -;=?-~]`.
/// https://docs.aws.amazon.com/accounts/latest/reference/API_PutAccountName.html
/// AWS does not document which error answers the management account's own id; the layer answers
/// AccessDeniedException, as for the other refusals of that parameter.
fn put_account_name(context: &Context<'_>, caller: &Identity) -> Option<Response> {
    if context.operation.service == "account" && context.operation.name == "POST /getAccountInformation" {
        // https://docs.aws.amazon.com/accounts/latest/reference/API_GetAccountInformation.html:
        // served beside PutAccountName (moto has neither), with the name it gave.
        let body = json_body(context.request);
        let account = body["AccountId"].as_str().map_or_else(|| caller.account.clone(), str::to_string);
        let name = lock(&ACCOUNT_NAMES).get(&context.primary_port).and_then(|names| names.get(&account).cloned());
        let answer = serde_json::json!({ "AccountId": account, "AccountName": name.unwrap_or_default() });
        return Some(Response {
            status: 200,
            headers: vec![("content-type".to_string(), "application/json".to_string())],
            body: answer.to_string().into_bytes(),
        });
    }
    if context.operation.service != "account" || context.operation.name != "POST /putAccountName" {
        return None;
    }
    let body = json_body(context.request);
    let name = body["AccountName"].as_str().unwrap_or_default().to_string();
    let valid = (1..=50).contains(&name.chars().count())
        && name.chars().all(|c| (' '..=';').contains(&c) || c == '=' || ('?'..='~').contains(&c));
    if !valid {
        return Some(error_response(
            Protocol::RestJson,
            400,
            "ValidationException",
            "1 validation error detected: Value at 'accountName' failed to satisfy constraint: Member must satisfy regular expression pattern: [ -;=?-~]+",
        ));
    }
    let account = match body["AccountId"].as_str() {
        Some(id) if id == caller.account => {
            return Some(error_response(
                Protocol::RestJson,
                403,
                "AccessDeniedException",
                "The management account can't specify its own AccountId; call the operation without AccountId.",
            ));
        }
        Some(id) if caller.account != MANAGEMENT_ACCOUNT => {
            return Some(error_response(
                Protocol::RestJson,
                403,
                "AccessDeniedException",
                &format!("User: {} is not authorized to modify account {id}.", caller.arn),
            ));
        }
        Some(id) => id.to_string(),
        None => caller.account.clone(),
    };
    lock(&ACCOUNT_NAMES).entry(context.primary_port).or_default().insert(account, name);
    Some(Response {
        status: 200,
        headers: vec![("content-type".to_string(), "application/json".to_string())],
        body: b"{}".to_vec(),
    })
}

/// Account records show the names PutAccountName gave (ListAccounts, ListAccountsForParent,
/// DescribeAccount, as AWS's own answers would).
fn overlay_account_names(context: &Context<'_>, response: &mut Response) {
    const OPERATIONS: &[&str] = &["ListAccounts", "ListAccountsForParent", "DescribeAccount"];
    if context.operation.service != "organizations"
        || !OPERATIONS.contains(&context.operation.name.as_str())
        || response.status != 200
    {
        return;
    }
    let names = lock(&ACCOUNT_NAMES).get(&context.primary_port).cloned().unwrap_or_default();
    if names.is_empty() {
        return;
    }
    let Ok(mut body) = serde_json::from_slice::<Value>(&response.body) else { return };
    let rename = |account: &mut Value| {
        if let Some(name) = account["Id"].as_str().and_then(|id| names.get(id)) {
            account["Name"] = Value::String(name.clone());
        }
    };
    if let Some(accounts) = body.get_mut("Accounts").and_then(Value::as_array_mut) {
        accounts.iter_mut().for_each(&rename);
    }
    if let Some(account) = body.get_mut("Account") {
        rename(account);
    }
    response.body = body.to_string().into_bytes();
}

// ---------------------------------------------------------------------------------------------
// Centralized root access (IAM's organization features, which moto lacks).

/// Centralized root access features enabled, per moto server (its port), like `ACCOUNT_NAMES`.
static ROOT_ACCESS: std::sync::LazyLock<std::sync::Mutex<HashMap<u16, BTreeSet<String>>>> =
    std::sync::LazyLock::new(Default::default);

/// IAM `ListOrganizationsFeatures` and `Enable`/`DisableOrganizationsRootCredentialsManagement`
/// and `...RootSessions`, which moto 5.2.5 lacks, served from the layer's state. AWS
/// refuses them outside the management account (AccountNotManagementOrDelegatedAdministrator),
/// without an organization (OrganizationNotFound), and without trusted access for
/// `iam.amazonaws.com` (ServiceAccessNotEnabled), all HTTP 400.
/// https://docs.aws.amazon.com/IAM/latest/APIReference/API_ListOrganizationsFeatures.html
/// https://docs.aws.amazon.com/IAM/latest/APIReference/API_EnableOrganizationsRootCredentialsManagement.html
/// https://docs.aws.amazon.com/IAM/latest/APIReference/API_EnableOrganizationsRootSessions.html
async fn root_access_features(context: &Context<'_>, caller: &Identity) -> Option<Response> {
    let operation = context.operation.name.as_str();
    let (feature, enable) = match operation {
        "ListOrganizationsFeatures" => (None, false),
        "EnableOrganizationsRootCredentialsManagement" => (Some("RootCredentialsManagement"), true),
        "EnableOrganizationsRootSessions" => (Some("RootSessions"), true),
        "DisableOrganizationsRootCredentialsManagement" => (Some("RootCredentialsManagement"), false),
        "DisableOrganizationsRootSessions" => (Some("RootSessions"), false),
        _ => return None,
    };
    if context.operation.service != "iam" {
        return None;
    }
    let refuse = |code: &str, message: &str| Some(error_response(Protocol::Query, 400, code, message));
    if caller.account != MANAGEMENT_ACCOUNT {
        return refuse(
            "AccountNotManagementOrDelegatedAdministratorException",
            "The request was rejected because the account making the request is not the management account or delegated administrator account for centralized root access.",
        );
    }
    let organization = organizations(context, "DescribeOrganization", serde_json::json!({})).await;
    let Some(organization_id) = organization["Organization"]["Id"].as_str().map(str::to_string) else {
        return refuse(
            "OrganizationNotFoundException",
            "The request was rejected because no organization is associated with your account.",
        );
    };
    let trusted = lock(&EXTRA_TRUSTED_SERVICES)
        .get(&context.primary_port)
        .is_some_and(|services| services.contains("iam.amazonaws.com"));
    if !trusted {
        return refuse(
            "ServiceAccessNotEnabledException",
            "The request was rejected because trusted access is not enabled for IAM in AWS Organizations.",
        );
    }
    let enabled = {
        let mut features = lock(&ROOT_ACCESS);
        let enabled = features.entry(context.primary_port).or_default();
        match (feature, enable) {
            (Some(feature), true) => enabled.insert(feature.to_string()),
            (Some(feature), false) => enabled.remove(feature),
            (None, _) => false,
        };
        enabled.clone()
    };
    let members: String = enabled.iter().map(|feature| format!("<member>{feature}</member>")).collect();
    let body = format!(
        "<{operation}Response xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><{operation}Result><OrganizationId>{organization_id}</OrganizationId><EnabledFeatures>{members}</EnabledFeatures></{operation}Result><ResponseMetadata><RequestId>fa017fa0-0000-4000-8000-000000000001</RequestId></ResponseMetadata></{operation}Response>"
    );
    Some(Response {
        status: 200,
        headers: vec![("content-type".to_string(), "text/xml".to_string())],
        body: body.into_bytes(),
    })
}

// ---------------------------------------------------------------------------------------------
// Trusted access for services moto does not know.

/// Service principals AWS accepts for trusted access that moto 5.2.5 refuses as "unrecognized":
/// IAM (centralized root access: "IAM and AWS Organizations").
/// https://docs.aws.amazon.com/organizations/latest/userguide/services-that-can-integrate-ra.html
const SERVICES_MOTO_LACKS: &[&str] = &["iam.amazonaws.com"];

/// Trusted access the layer granted for `SERVICES_MOTO_LACKS`, per moto server (its port).
static EXTRA_TRUSTED_SERVICES: std::sync::LazyLock<std::sync::Mutex<HashMap<u16, BTreeSet<String>>>> =
    std::sync::LazyLock::new(Default::default);

/// `EnableAWSServiceAccess` / `DisableAWSServiceAccess` for a principal moto lacks, served by the
/// layer (management account only, as moto checks for the others).
/// https://docs.aws.amazon.com/organizations/latest/APIReference/API_EnableAWSServiceAccess.html
fn trusted_access_moto_lacks(context: &Context<'_>) -> Option<Response> {
    if context.operation.service != "organizations" {
        return None;
    }
    let enable = match context.operation.name.as_str() {
        "EnableAWSServiceAccess" => true,
        "DisableAWSServiceAccess" => false,
        _ => return None,
    };
    let body = json_body(context.request);
    let principal = body["ServicePrincipal"].as_str().filter(|principal| SERVICES_MOTO_LACKS.contains(principal))?;
    let mut services = lock(&EXTRA_TRUSTED_SERVICES);
    let services = services.entry(context.primary_port).or_default();
    if enable {
        services.insert(principal.to_string());
    } else {
        services.remove(principal);
    }
    Some(Response {
        status: 200,
        headers: vec![("content-type".to_string(), "application/x-amz-json-1.1".to_string())],
        body: b"{}".to_vec(),
    })
}

/// ListAWSServiceAccessForOrganization answers include the principals the layer granted.
fn list_trusted_access_moto_lacks(context: &Context<'_>, response: &mut Response) {
    if context.operation.service != "organizations"
        || context.operation.name != "ListAWSServiceAccessForOrganization"
        || response.status != 200
    {
        return;
    }
    let extra = lock(&EXTRA_TRUSTED_SERVICES).get(&context.primary_port).cloned().unwrap_or_default();
    if extra.is_empty() {
        return;
    }
    let Ok(mut body) = serde_json::from_slice::<Value>(&response.body) else { return };
    // The extra principals ride on the last page (or the only one).
    if body.get("NextToken").and_then(Value::as_str).is_some() {
        return;
    }
    if let Some(list) = body.get_mut("EnabledServicePrincipals").and_then(Value::as_array_mut) {
        list.extend(
            extra.iter().map(|principal| serde_json::json!({ "ServicePrincipal": principal, "DateEnabled": 1.7e9 })),
        );
    } else if let Some(object) = body.as_object_mut() {
        let list =
            extra.iter().map(|principal| serde_json::json!({ "ServicePrincipal": principal, "DateEnabled": 1.7e9 }));
        object.insert("EnabledServicePrincipals".to_string(), Value::Array(list.collect()));
    }
    response.body = body.to_string().into_bytes();
}
