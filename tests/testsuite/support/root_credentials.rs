//! Centralized root access's privileged sessions, which moto 5.2.5 lacks, served by the strict
//! layer from its own state: STS `AssumeRoot`, and the IAM reads and deletes of a member account's
//! root user credentials made with the session it hands out. Tests seed each account's root
//! credentials with [`seed`] and read them back with [`of`].
//!
//! AssumeRoot (https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRoot.html):
//! - only the management account (or the delegated administrator for IAM) may call it;
//! - `TargetPrincipal` is a member account of the organization (never the management account);
//! - `TaskPolicyArn` must be one of AWS's root-task policies (`IAMAuditRootUserCredentials`,
//!   `IAMCreateRootUserPassword`, `IAMDeleteRootUserCredentials`, `S3UnlockBucketPolicy`,
//!   `SQSUnlockQueuePolicy`); `DurationSeconds` at most 900;
//! - the organization must have centralized root access on: the IAM credential tasks need root
//!   credentials management, the S3 / SQS unlock tasks root sessions
//!   (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_root-user-privileged-task.html).
//!   AWS does not name the error code of these refusals; the layer answers `AccessDenied` (403).
//!
//! The session's access key is `ASIA-root-` + a task letter + the account id: the layer knows a
//! request signed with it as "the root user of that account, limited to that task", and answers
//! it here, never from moto. In the session, IAM's credential calls take no user name and act on
//! the root user; a call the task policy does not allow is `AccessDenied`; a credential that does
//! not exist is `NoSuchEntity` (404), as GetLoginProfile answers for an account without password.
//! https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetLoginProfile.html

use std::collections::{BTreeSet, HashMap};

use super::proxy::{error_response, Protocol, Request, Response};

/// A member account's root user credentials, as the layer keeps them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SeededRoot {
    pub password: bool,
    pub access_keys: Vec<String>,
    /// MFA device serial numbers.
    pub mfa_devices: Vec<String>,
    pub signing_certificates: Vec<String>,
}

/// Root credentials by moto server (its port) and account id.
static ROOT_CREDENTIALS: std::sync::LazyLock<std::sync::Mutex<HashMap<u16, HashMap<String, SeededRoot>>>> =
    std::sync::LazyLock::new(Default::default);

fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Gives the root user of `account` (on the moto at `port`) these credentials.
pub fn seed(port: u16, account: &str, root: SeededRoot) {
    lock(&ROOT_CREDENTIALS).entry(port).or_default().insert(account.to_string(), root);
}

/// The root credentials of `account` now (none when never seeded).
pub fn of(port: u16, account: &str) -> SeededRoot {
    lock(&ROOT_CREDENTIALS).get(&port).and_then(|accounts| accounts.get(account)).cloned().unwrap_or_default()
}

pub fn forget(port: u16) {
    lock(&ROOT_CREDENTIALS).remove(&port);
}

/// The access key prefix of root sessions the layer hands out. Lower-case and a dash: moto's own
/// session keys are `ASIA` and 16 upper-case letters or digits, so no key of moto's can carry it
/// (an upper-case `ASIAROOT` once matched one of a thousand accounts' keys in the benchmark).
pub const ROOT_SESSION_KEY_PREFIX: &str = "ASIA-root-";

/// The root-task policies, the letter their sessions' keys carry, and the feature they need.
const TASKS: &[(&str, char, &str)] = &[
    ("IAMAuditRootUserCredentials", 'A', "RootCredentialsManagement"),
    ("IAMCreateRootUserPassword", 'C', "RootCredentialsManagement"),
    ("IAMDeleteRootUserCredentials", 'D', "RootCredentialsManagement"),
    ("S3UnlockBucketPolicy", 'S', "RootSessions"),
    ("SQSUnlockQueuePolicy", 'Q', "RootSessions"),
];

/// The IAM reads every credential task allows.
const READS: &[&str] = &["GetLoginProfile", "ListAccessKeys", "ListMFADevices", "ListSigningCertificates"];
/// What `IAMDeleteRootUserCredentials` adds.
const DELETES: &[&str] = &["DeleteLoginProfile", "DeleteAccessKey", "DeactivateMFADevice", "DeleteSigningCertificate"];

fn form(request: &Request) -> HashMap<String, String> {
    String::from_utf8_lossy(&request.body)
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(key, value)| {
            (super::strict::percent_decode(key), super::strict::percent_decode(&value.replace('+', " ")))
        })
        .collect()
}

fn xml(operation: &str, namespace: &str, result: &str) -> Response {
    let body = format!(
        "<{operation}Response xmlns=\"{namespace}\"><{operation}Result>{result}</{operation}Result><ResponseMetadata><RequestId>700700aa-0000-4000-8000-000000000001</RequestId></ResponseMetadata></{operation}Response>"
    );
    Response {
        status: 200,
        headers: vec![("content-type".to_string(), "text/xml".to_string())],
        body: body.into_bytes(),
    }
}

fn denied(message: &str) -> Option<Response> {
    Some(error_response(Protocol::Query, 403, "AccessDenied", message))
}

/// `AssumeRoot`, served for the management account when `features` (the organization's enabled
/// centralized root access features) allow the task. `members` are the organization's member
/// account ids.
pub fn assume_root(
    request: &Request,
    caller_account: &str,
    management_account: &str,
    members: &BTreeSet<String>,
    features: &BTreeSet<String>,
) -> Option<Response> {
    let parameters = form(request);
    if parameters.get("Action").map(String::as_str) != Some("AssumeRoot") {
        return None;
    }
    if caller_account != management_account {
        return denied("AssumeRoot must be called from the management account or the delegated administrator for IAM.");
    }
    let target = parameters.get("TargetPrincipal").cloned().unwrap_or_default();
    let target =
        target.strip_prefix("arn:aws:iam::").map_or(target.as_str(), |rest| rest.split(':').next().unwrap_or(rest));
    let arn = parameters.get("TaskPolicyArn.arn").cloned().unwrap_or_default();
    let Some((_, letter, feature)) = TASKS
        .iter()
        .find(|(name, _, _)| arn.strip_prefix("arn:aws:iam::aws:policy/root-task/") == Some(*name))
        .copied()
    else {
        return Some(error_response(
            Protocol::Query,
            400,
            "ValidationError",
            &format!("TaskPolicyArn `{arn}` is not one of the AWS managed root-task policies."),
        ));
    };
    let duration: i64 = parameters.get("DurationSeconds").and_then(|d| d.parse().ok()).unwrap_or(900);
    if !(0..=900).contains(&duration) {
        return Some(error_response(Protocol::Query, 400, "ValidationError", "DurationSeconds must be at most 900."));
    }
    if !features.contains(feature) {
        return denied(&format!("Centralized root access ({feature}) is not enabled for this organization."));
    }
    if target == management_account || !members.contains(target) {
        return denied(&format!("Account {target} is not a member account of this organization."));
    }
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let expiration = landing_zone::plan::saved::rfc3339(now + duration.unsigned_abs());
    let result = format!(
        "<Credentials><AccessKeyId>{ROOT_SESSION_KEY_PREFIX}{letter}{target}</AccessKeyId><SecretAccessKey>root-session-secret</SecretAccessKey><SessionToken>root-session-token-{target}</SessionToken><Expiration>{expiration}</Expiration></Credentials>"
    );
    Some(xml("AssumeRoot", "https://sts.amazonaws.com/doc/2011-06-15/", &result))
}

/// A request signed with a root session's key: (task letter, account id).
pub fn root_session_of(access_key: &str) -> Option<(char, String)> {
    let rest = access_key.strip_prefix(ROOT_SESSION_KEY_PREFIX)?;
    let mut chars = rest.chars();
    let letter = chars.next()?;
    Some((letter, chars.as_str().to_string()))
}

/// Answers a request made with a root session's credentials, on the moto at `port`.
pub fn in_root_session(port: u16, access_key: &str, service: &str, request: &Request) -> Option<Response> {
    let (letter, account) = root_session_of(access_key)?;
    let parameters = form(request);
    let operation = parameters.get("Action").cloned().unwrap_or_default();
    let allowed = service == "iam"
        && (READS.contains(&operation.as_str()) && matches!(letter, 'A' | 'D')
            || DELETES.contains(&operation.as_str()) && letter == 'D');
    if !allowed {
        return denied(&format!(
            "root session of account {account} is not authorized to perform: {service}:{operation} (not allowed by its task policy)"
        ));
    }
    if parameters.contains_key("UserName") {
        return denied("a root session acts on the root user: omit UserName");
    }
    let namespace = "https://iam.amazonaws.com/doc/2010-05-08/";
    let no_such = |what: &str| {
        Some(error_response(
            Protocol::Query,
            404,
            "NoSuchEntity",
            &format!("The {what} of the root user cannot be found."),
        ))
    };
    let mut all = lock(&ROOT_CREDENTIALS);
    let root = all.entry(port).or_default().entry(account.clone()).or_default();
    let created = "2025-01-01T00:00:00Z";
    let remove = |items: &mut Vec<String>, id: Option<&String>| -> bool {
        let before = items.len();
        items.retain(|item| Some(item) != id);
        items.len() != before
    };
    match operation.as_str() {
        "GetLoginProfile" if root.password => Some(xml(
            &operation,
            namespace,
            &format!("<LoginProfile><UserName>root</UserName><CreateDate>{created}</CreateDate></LoginProfile>"),
        )),
        "GetLoginProfile" => no_such("login profile"),
        "ListAccessKeys" => {
            let members: String = root
                .access_keys
                .iter()
                .map(|id| format!("<member><AccessKeyId>{id}</AccessKeyId><Status>Active</Status><CreateDate>{created}</CreateDate></member>"))
                .collect();
            Some(xml(
                &operation,
                namespace,
                &format!("<AccessKeyMetadata>{members}</AccessKeyMetadata><IsTruncated>false</IsTruncated>"),
            ))
        }
        "ListMFADevices" => {
            let members: String = root
                .mfa_devices
                .iter()
                .map(|serial| format!("<member><UserName>root</UserName><SerialNumber>{serial}</SerialNumber><EnableDate>{created}</EnableDate></member>"))
                .collect();
            Some(xml(
                &operation,
                namespace,
                &format!("<MFADevices>{members}</MFADevices><IsTruncated>false</IsTruncated>"),
            ))
        }
        "ListSigningCertificates" => {
            let members: String = root
                .signing_certificates
                .iter()
                .map(|id| format!("<member><UserName>root</UserName><CertificateId>{id}</CertificateId><CertificateBody>-----BEGIN CERTIFICATE-----</CertificateBody><Status>Active</Status><UploadDate>{created}</UploadDate></member>"))
                .collect();
            Some(xml(
                &operation,
                namespace,
                &format!("<Certificates>{members}</Certificates><IsTruncated>false</IsTruncated>"),
            ))
        }
        "DeleteLoginProfile" if root.password => {
            root.password = false;
            Some(xml(&operation, namespace, ""))
        }
        "DeleteLoginProfile" => no_such("login profile"),
        "DeleteAccessKey" if remove(&mut root.access_keys, parameters.get("AccessKeyId")) => {
            Some(xml(&operation, namespace, ""))
        }
        "DeactivateMFADevice" if remove(&mut root.mfa_devices, parameters.get("SerialNumber")) => {
            Some(xml(&operation, namespace, ""))
        }
        "DeleteSigningCertificate" if remove(&mut root.signing_certificates, parameters.get("CertificateId")) => {
            Some(xml(&operation, namespace, ""))
        }
        _ => no_such("credential"),
    }
}
