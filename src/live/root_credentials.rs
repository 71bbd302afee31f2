//! Member accounts' root user credentials (password, access keys, MFA devices, signing
//! certificates), read through `sts:AssumeRoot` sessions from the management account. Owns the
//! AssumeRoot call, the task policies, and the reads made with root session credentials; it
//! decides and writes nothing (the audit and the planner read what it returns; the deletion is
//! `apply/steps/accounts.rs`'s, in a session from [`root_session`]).
//!
//! - AssumeRoot: called by the management account (or the delegated administrator for IAM) with
//!   `TargetPrincipal` = the member account id and `TaskPolicyArn` = one of AWS's root-task
//!   policies; the session lasts at most 900 s and only allows what the task policy allows.
//!   https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRoot.html
//! - Root credentials management must be enabled for the IAM credential tasks (audit, delete).
//!   https://docs.aws.amazon.com/IAM/latest/UserGuide/id_root-user-privileged-task.html
//! - In that session IAM's credential calls take no user name: they act on the root user.
//!   https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetLoginProfile.html
//!   https://docs.aws.amazon.com/IAM/latest/APIReference/API_DeactivateMFADevice.html
//!
//! One AssumeRoot per account and task: the session is used for every call in that account.

use std::collections::BTreeMap;

use anyhow::{anyhow, Context, Result};
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_credential_types::Credentials;
use futures::stream::{self, StreamExt};

use crate::aws::errors::{describe, is_not_found};
use crate::aws::session::{partition_of, Sessions};
use crate::plan::state::RootCredentials;

/// The root-task policy that scopes a session to reading root credentials.
pub const AUDIT_TASK: &str = "IAMAuditRootUserCredentials";
/// The root-task policy that scopes a session to deleting root credentials.
pub const DELETE_TASK: &str = "IAMDeleteRootUserCredentials";

/// What the caller's own policy needs (management account): AssumeRoot. The calls made with the
/// root session's credentials are governed by the task policy, not by the caller's policies:
/// they are listed in [`AUDIT_TASK_ACTIONS`] and [`DELETE_TASK_ACTIONS`], not here.
pub const PERMISSIONS: crate::baseline::Actions = crate::baseline::Actions { read: &["sts:AssumeRoot"], write: &[] };

/// The IAM calls this module makes in an `IAMAuditRootUserCredentials` session (each allowed by
/// that AWS-managed task policy: it grants the reads of root credentials).
/// https://docs.aws.amazon.com/IAM/latest/UserGuide/security-iam-awsmanpol.html#security-iam-awsmanpol-IAMAuditRootUserCredentials
pub const AUDIT_TASK_ACTIONS: &[&str] =
    &["iam:GetLoginProfile", "iam:ListAccessKeys", "iam:ListMFADevices", "iam:ListSigningCertificates"];

/// The IAM calls this module makes in an `IAMDeleteRootUserCredentials` session: "deletion of
/// member root credentials (console passwords, access keys, signing certificates, and MFA
/// devices)". MFA devices are deactivated (`DeactivateMFADevice`); deleting the virtual device
/// itself (`DeleteVirtualMFADevice`) is not among the task's actions.
/// https://docs.aws.amazon.com/IAM/latest/UserGuide/security-iam-awsmanpol.html#security-iam-awsmanpol-IAMDeleteRootUserCredentials
pub const DELETE_TASK_ACTIONS: &[&str] =
    &["iam:DeleteLoginProfile", "iam:DeleteAccessKey", "iam:DeactivateMFADevice", "iam:DeleteSigningCertificate"];

/// The longest root session AWS grants ("up to the maximum session duration of 900 seconds").
const ROOT_SESSION_SECONDS: i32 = 900;

/// An IAM client acting as the root user of `target`, scoped to `task`, from one AssumeRoot made
/// with the management account's credentials.
pub async fn root_session(
    sessions: &Sessions,
    management: &str,
    target: &str,
    task: &str,
) -> Result<aws_sdk_iam::Client> {
    let base = sessions.config(management, None).await;
    let partition = partition_of(base.region().map(|region| region.as_ref()).unwrap_or("us-east-1"));
    let sts = aws_sdk_sts::Client::new(&base);
    let policy = aws_sdk_sts::types::PolicyDescriptorType::builder()
        .arn(format!("arn:{partition}:iam::aws:policy/root-task/{task}"))
        .build();
    let output = sts
        .assume_root()
        .target_principal(target)
        .task_policy_arn(policy)
        .duration_seconds(ROOT_SESSION_SECONDS)
        .send()
        .await
        .map_err(|error| {
            anyhow!(
                "AssumeRoot into account `{target}` (task `{task}`) failed: {}\nhint: centralized root access needs `organization.root_access.credentials_management: true` applied, and `sts:AssumeRoot` for the caller in the management account",
                describe(&error)
            )
        })?;
    let credentials = output.credentials.context("AssumeRoot answered without credentials")?;
    let expiry = std::time::SystemTime::try_from(credentials.expiration).ok();
    let provider = Credentials::new(
        credentials.access_key_id,
        credentials.secret_access_key,
        Some(credentials.session_token),
        expiry,
        "landing-zone-assume-root",
    );
    let config = base.to_builder().credentials_provider(SharedCredentialsProvider::new(provider)).build();
    Ok(aws_sdk_iam::Client::new(&config))
}

/// The root user's credentials, read in a root session (any task that allows the reads). The
/// root user has at most 2 access keys, 2 signing certificates and 8 MFA devices, well under one
/// page of each list (100 items by default).
pub async fn read(iam: &aws_sdk_iam::Client) -> Result<RootCredentials> {
    // No password answers NoSuchEntity (404), AWS's answer for an account without root password.
    let password = match iam.get_login_profile().send().await {
        Ok(_) => true,
        Err(error) if is_not_found(&error) => false,
        Err(error) => return Err(anyhow!("GetLoginProfile failed: {}", describe(&error))),
    };
    let keys = iam.list_access_keys().send().await.map_err(|e| anyhow!("ListAccessKeys failed: {}", describe(&e)))?;
    let devices =
        iam.list_mfa_devices().send().await.map_err(|e| anyhow!("ListMFADevices failed: {}", describe(&e)))?;
    let certificates = iam
        .list_signing_certificates()
        .send()
        .await
        .map_err(|error| anyhow!("ListSigningCertificates failed: {}", describe(&error)))?;
    Ok(RootCredentials {
        password,
        access_keys: keys.access_key_metadata.iter().filter_map(|key| key.access_key_id.clone()).collect(),
        mfa_devices: devices.mfa_devices.iter().map(|device| device.serial_number.clone()).collect(),
        signing_certificates: certificates.certificates.iter().map(|c| c.certificate_id.clone()).collect(),
    })
}

/// Reads the root credentials of each member account (one AssumeRoot each, at most `parallelism`
/// at once). A failure is kept per account.
pub async fn read_members(
    sessions: &Sessions,
    management: &str,
    members: &[String],
    parallelism: usize,
) -> BTreeMap<String, Result<RootCredentials>> {
    stream::iter(members.iter().cloned())
        .map(|account| async move {
            let result = async {
                let iam = root_session(sessions, management, &account, AUDIT_TASK).await?;
                read(&iam).await.with_context(|| format!("reading the root credentials of account `{account}` failed"))
            }
            .await;
            (account, result)
        })
        .buffer_unordered(parallelism.max(1))
        .collect()
        .await
}
