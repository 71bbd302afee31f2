//! `audit`: the posture report of DESIGN.md §1 — per account and control, whether the landing zone
//! holds. Read-only by construction: every call here is a Get/List/Describe. The SCP guardrail
//! checks, which need no call, are `guardrails.rs`.

use std::collections::BTreeMap;

use anyhow::Result;
use futures::stream::{self, StreamExt};
use serde::Serialize;

use crate::aws::Clients;
use crate::plan::state::LiveOrganization;
use crate::plan::DesiredOrganization;
use crate::spec::ValidSpec;

mod guardrails;

pub use guardrails::{guardrail_findings, GuardrailInputs};

/// The IAM actions the audit calls beyond the baselines' reads (with the caller's credentials in
/// the management account, through the access role elsewhere).
pub const PERMISSIONS: crate::baseline::Actions = crate::baseline::Actions {
    read: &[
        "iam:GetAccountSummary",
        "iam:GetAccountPasswordPolicy",
        "account:GetAlternateContact",
        "s3:GetAccountPublicAccessBlock",
        "s3:GetBucketPolicy",
        "s3:GetBucketVersioning",
        "s3:GetEncryptionConfiguration",
        "cloudtrail:DescribeTrails",
        "cloudtrail:GetTrailStatus",
        "guardduty:ListDetectors",
        "securityhub:DescribeHub",
    ],
    write: &[],
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Status {
    Pass,
    Fail,
    /// The check could not be made (access denied, service not available).
    Error,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// `organization` or `<account name> (<id>)`.
    pub scope: String,
    pub control: String,
    pub region: Option<String>,
    pub status: Status,
    pub detail: String,
}

impl Finding {
    fn new(scope: &str, control: &str, region: Option<&str>, status: Status, detail: impl Into<String>) -> Finding {
        Finding {
            scope: scope.to_string(),
            control: control.to_string(),
            region: region.map(str::to_string),
            status,
            detail: detail.into(),
        }
    }
}

fn check(scope: &str, control: &str, region: Option<&str>, ok: bool, pass: &str, fail: &str) -> Finding {
    if ok {
        Finding::new(scope, control, region, Status::Pass, pass)
    } else {
        Finding::new(scope, control, region, Status::Fail, fail)
    }
}

fn errored(scope: &str, control: &str, region: Option<&str>, error: impl std::fmt::Display) -> Finding {
    Finding::new(scope, control, region, Status::Error, error.to_string())
}

/// Reads everything the report needs and evaluates each control.
pub async fn audit(
    clients: &Clients,
    live: &LiveOrganization,
    valid: Option<&ValidSpec>,
    regions: &[String],
    concurrency: crate::aws::Concurrency,
) -> Result<Vec<Finding>> {
    let mut findings = Vec::new();
    let Some(organization) = &live.organization else {
        findings.push(Finding::new("organization", "organization", None, Status::Fail, "no organization exists"));
        return Ok(findings);
    };
    let management = organization.management_account_id.clone();
    clients.sessions.set_management_account(&management).await;
    let home = regions.first().cloned().unwrap_or_else(|| "us-east-1".to_string());
    findings.extend(trail_findings(clients, &management, &home).await);

    // The desired organization, derived from the spec once for the whole audit.
    let desired = valid.map(crate::baseline::desired_organization);
    // Accounts the spec names, to report the others.
    let spec_names: BTreeMap<String, String> = desired
        .as_ref()
        .map(|desired| {
            crate::plan::planner::match_accounts(desired, live).into_iter().map(|(name, id)| (id, name)).collect()
        })
        .unwrap_or_default();
    let accounts: Vec<(String, String)> = live
        .accounts
        .values()
        .filter(|account| account.state.is_active())
        .map(|account| {
            (account.id.clone(), format!("{} ({})", spec_names.get(&account.id).unwrap_or(&account.name), account.id))
        })
        .collect();
    let trail_arn = valid.and_then(|valid| valid.spec.baseline.cloudtrail.as_ref()).map(|trail| {
        format!("arn:{}:cloudtrail:{home}:{management}:trail/{}", crate::spec::regions::partition_of(&home), trail.name)
    });
    let inputs = GuardrailInputs { allowed_regions: regions, home_region: &home, trail_arn, accounts: &accounts };
    findings.extend(guardrail_findings(live, &inputs));
    if valid.is_some() {
        for (id, scope) in &accounts {
            if !spec_names.contains_key(id) {
                findings.push(Finding::new(scope, "in the spec", None, Status::Fail, "account is not in the spec"));
            }
        }
    }
    let per_account: Vec<Vec<Finding>> = stream::iter(accounts.iter())
        .map(|(id, scope)| account_findings(clients, id, scope, &management, regions))
        .buffer_unordered(concurrency.accounts.max(1))
        .collect()
        .await;
    findings.extend(per_account.into_iter().flatten());
    findings.extend(root_credential_findings(clients, live, &accounts, &management, concurrency.accounts).await);

    if let (Some(valid), Some(desired)) = (valid, &desired) {
        findings.extend(coverage_findings(clients, live, desired, concurrency.accounts).await);
        findings.extend(identity_center_findings(clients, live, valid, desired, &accounts).await);
    }

    if let Some(log_archive) = valid.and_then(|valid| valid.spec.baseline.log_archive.as_ref()) {
        let bunker_id = desired
            .as_ref()
            .and_then(|desired| crate::plan::planner::match_accounts(desired, live).get(&log_archive.account).cloned());
        match bunker_id {
            Some(id) => {
                let bucket = log_archive.bucket_name.clone().unwrap_or_else(|| format!("landing-zone-logs-{id}"));
                findings.extend(bunker_findings(clients, &id, &bucket, &home).await);
            }
            None => findings.push(Finding::new(
                "organization",
                "log archive",
                None,
                Status::Fail,
                "the log-archive account does not exist",
            )),
        }
    }
    findings.sort_by(|a, b| {
        (a.scope.as_str(), a.control.as_str(), &a.region).cmp(&(b.scope.as_str(), b.control.as_str(), &b.region))
    });
    Ok(findings)
}

async fn coverage_findings(
    clients: &Clients,
    live: &LiveOrganization,
    desired: &DesiredOrganization,
    accounts_at_once: usize,
) -> Vec<Finding> {
    let ids = crate::plan::control::KnownIds {
        accounts: crate::plan::planner::match_accounts(desired, live),
        organization: live.organization.as_ref().map(|organization| organization.id.clone()),
    };
    let context = crate::baseline::Context { sessions: &clients.sessions, ids: &ids, reads: None };
    let controls: Vec<&crate::plan::control::DesiredControl> = desired
        .controls
        .iter()
        // The baselines audited through their own readers (`Baseline::audited_by_reader`).
        .filter(|control| crate::baseline::owner(&control.key).is_ok_and(|baseline| baseline.audited_by_reader()))
        .collect();
    stream::iter(controls)
        .map(|control| {
            let context = &context;
            let ids = &ids;
            async move {
                let key = &control.key;
                let id = ids.accounts.get(&key.account).cloned().unwrap_or_default();
                let scope = if id.is_empty() { key.account.clone() } else { format!("{} ({id})", key.account) };
                let region = key.region.as_deref();
                if id.is_empty() {
                    return Finding::new(&scope, &key.control, region, Status::Fail, "the account does not exist");
                }
                let wanted = crate::plan::control::resolve(&control.attributes, ids);
                // A resource the spec wants gone (a default VPC): PASS when absent.
                if control.absent.is_some() {
                    return match crate::baseline::read(context, key, &wanted).await {
                        Ok(None) => Finding::new(&scope, &key.control, region, Status::Pass, "none"),
                        Ok(Some(live)) => {
                            let detail = match crate::plan::control::kept_because(&live) {
                                Some(kept) => format!("present, and kept: {kept}"),
                                None => "present (`plan --allow-destructive` removes it)".to_string(),
                            };
                            Finding::new(&scope, &key.control, region, Status::Fail, detail)
                        }
                        Err(error) => errored(&scope, &key.control, region, format!("{error:#}")),
                    };
                }
                // What a reader sees but the control does not own (a subscription pending
                // confirmation) is a note, not a difference, as in the plan; a note that keeps
                // the control from working is a FAIL here (`Baseline::audit_gap`).
                let baseline = crate::baseline::owner(key).ok();
                let read = crate::baseline::read(context, key, &wanted).await.map(|found| {
                    found.map(|mut found| {
                        let notes = baseline.map(|baseline| baseline.take_notes(key, &mut found)).unwrap_or_default();
                        (found, notes)
                    })
                });
                match read {
                    Ok(Some((found, notes))) if found == wanted => {
                        match baseline.and_then(|baseline| baseline.audit_gap(key, &notes)) {
                            Some(gap) => Finding::new(&scope, &key.control, region, Status::Fail, gap),
                            None => Finding::new(&scope, &key.control, region, Status::Pass, "as the spec says"),
                        }
                    }
                    Ok(Some((live, _))) => Finding::new(
                        &scope,
                        &key.control,
                        region,
                        Status::Fail,
                        baseline
                            .and_then(|baseline| baseline.audit_detail(key, &live))
                            .unwrap_or_else(|| "differs from the spec (`plan` shows how)".to_string()),
                    ),
                    Ok(None) => Finding::new(&scope, &key.control, region, Status::Fail, "missing"),
                    Err(error) => errored(&scope, &key.control, region, format!("{error:#}")),
                }
            }
        })
        .buffer_unordered(accounts_at_once.max(1))
        .collect()
        .await
}

/// IAM Identity Center, when the spec manages it: permission sets granting `AdministratorAccess`
/// (a WARN-worthy FAIL each: least privilege), and every active account with no assignment.
async fn identity_center_findings(
    clients: &Clients,
    live: &LiveOrganization,
    valid: &ValidSpec,
    desired: &DesiredOrganization,
    accounts: &[(String, String)],
) -> Vec<Finding> {
    const CONTROL: &str = "identity center";
    let spec = &valid.spec;
    let Some(admin) = crate::baseline::identity_center::admin_account(spec) else { return Vec::new() };
    let region = spec.organization.regions.first().map_or("us-east-1", String::as_str);
    let ids = crate::plan::control::KnownIds {
        accounts: crate::plan::planner::match_accounts(desired, live),
        organization: live.organization.as_ref().map(|organization| organization.id.clone()),
    };
    let context = crate::baseline::Context { sessions: &clients.sessions, ids: &ids, reads: None };
    let posture = match crate::baseline::identity_center::posture(&context, admin, region).await {
        Ok(posture) => posture,
        Err(error) => return vec![errored("organization", CONTROL, Some(region), format!("{error:#}"))],
    };
    let mut findings: Vec<Finding> = posture
        .administrator_sets
        .iter()
        .map(|name| {
            let detail = format!("permission set `{name}` grants AdministratorAccess");
            Finding::new("organization", CONTROL, Some(region), Status::Fail, detail)
        })
        .collect();
    for (id, scope) in accounts {
        findings.push(check(
            scope,
            CONTROL,
            Some(region),
            posture.assigned_accounts.contains(id),
            "some permission set is assigned here",
            "no Identity Center assignment: nobody signs in here through Identity Center",
        ));
    }
    findings
}

/// Whether each member account's root user has credentials (password, access keys, MFA devices,
/// signing certificates), read through one `sts:AssumeRoot` per member with the
/// `IAMAuditRootUserCredentials` task policy. Only where root credentials management is on:
/// otherwise one finding says why nothing could be checked.
/// https://docs.aws.amazon.com/IAM/latest/UserGuide/id_root-user-privileged-task.html
async fn root_credential_findings(
    clients: &Clients,
    live: &LiveOrganization,
    accounts: &[(String, String)],
    management: &str,
    accounts_at_once: usize,
) -> Vec<Finding> {
    let control = "root credentials";
    let members: Vec<&(String, String)> = accounts.iter().filter(|(id, _)| id != management).collect();
    if members.is_empty() {
        return Vec::new();
    }
    let features = if live.trusted_services.contains("iam.amazonaws.com") {
        let iam = clients.sessions.client::<aws_sdk_iam::Client>(management, None).await;
        match crate::live::organization::read_root_access_features(&iam).await {
            Ok(features) => features,
            Err(error) => return vec![errored("organization", control, None, format!("{error:#}"))],
        }
    } else {
        Default::default()
    };
    if !features.contains(crate::spec::ROOT_CREDENTIALS_MANAGEMENT) {
        return vec![Finding::new(
            "organization",
            control,
            None,
            Status::Error,
            "could not check member accounts' root credentials: root credentials management is not enabled (set `organization.root_access.credentials_management: true` and apply)",
        )];
    }
    let ids: Vec<String> = members.iter().map(|(id, _)| id.clone()).collect();
    let read = crate::live::root_credentials::read_members(&clients.sessions, management, &ids, accounts_at_once).await;
    members
        .iter()
        .map(|(id, scope)| match read.get(id) {
            Some(Ok(credentials)) => check(
                scope,
                control,
                None,
                credentials.is_empty(),
                "none",
                &format!("the root user has: {}", credentials.summary()),
            ),
            Some(Err(error)) => errored(scope, control, None, format!("{error:#}")),
            None => errored(scope, control, None, "not read"),
        })
        .collect()
}

async fn trail_findings(clients: &Clients, management: &str, region: &str) -> Vec<Finding> {
    let control = "organization trail";
    let client = clients.sessions.client::<aws_sdk_cloudtrail::Client>(management, Some(region)).await;
    let trails = match client.describe_trails().include_shadow_trails(true).send().await {
        Ok(output) => output.trail_list.unwrap_or_default(),
        Err(error) => return vec![errored("organization", control, None, crate::aws::errors::describe(&error))],
    };
    let Some(trail) = trails
        .iter()
        .find(|trail| trail.is_organization_trail == Some(true) && trail.is_multi_region_trail == Some(true))
    else {
        return vec![Finding::new("organization", control, None, Status::Fail, "no multi-region organization trail")];
    };
    let name = trail.name.clone().unwrap_or_default();
    let logging =
        match client.get_trail_status().name(trail.trail_arn.clone().unwrap_or_else(|| name.clone())).send().await {
            Ok(status) => status.is_logging == Some(true),
            Err(error) => return vec![errored("organization", control, None, crate::aws::errors::describe(&error))],
        };
    vec![
        check("organization", control, None, true, &format!("`{name}` covers the organization in every region"), ""),
        check(
            "organization",
            "organization trail: log file validation",
            None,
            trail.log_file_validation_enabled == Some(true),
            "enabled",
            "log file validation is off",
        ),
        check("organization", "organization trail: logging", None, logging, "logging", "the trail is not logging"),
    ]
}

async fn account_findings(
    clients: &Clients,
    id: &str,
    scope: &str,
    management: &str,
    regions: &[String],
) -> Vec<Finding> {
    let mut findings = Vec::new();
    let iam = clients.sessions.client::<aws_sdk_iam::Client>(id, None).await;
    match iam.get_account_summary().send().await {
        Ok(output) => {
            let summary = output.summary_map.unwrap_or_default();
            let value =
                |key: &str| summary.iter().find(|(k, _)| k.as_str() == key).map(|(_, v)| *v).unwrap_or_default();
            findings.push(check(
                scope,
                "root MFA",
                None,
                value("AccountMFAEnabled") == 1,
                "enabled",
                "the root user has no MFA",
            ));
            findings.push(check(
                scope,
                "no root access keys",
                None,
                value("AccountAccessKeysPresent") == 0,
                "none",
                "the root user has access keys",
            ));
        }
        Err(error) => findings.push(errored(scope, "root MFA", None, crate::aws::errors::describe(&error))),
    }
    match iam.get_account_password_policy().send().await {
        Ok(output) => {
            let length = output.password_policy.and_then(|p| p.minimum_password_length).unwrap_or(0);
            findings.push(check(
                scope,
                "password policy",
                None,
                length >= 14,
                &format!("minimum length {length}"),
                &format!("minimum length {length} is below 14"),
            ));
        }
        Err(error) if crate::aws::errors::is_not_found(&error) => {
            findings.push(Finding::new(scope, "password policy", None, Status::Fail, "no password policy"));
        }
        Err(error) => findings.push(errored(scope, "password policy", None, crate::aws::errors::describe(&error))),
    }
    let s3control = clients.sessions.client::<aws_sdk_s3control::Client>(id, None).await;
    match s3control.get_public_access_block().account_id(id).send().await {
        Ok(output) => {
            let block = output.public_access_block_configuration;
            let all = block.is_some_and(|b| {
                b.block_public_acls == Some(true)
                    && b.ignore_public_acls == Some(true)
                    && b.block_public_policy == Some(true)
                    && b.restrict_public_buckets == Some(true)
            });
            findings.push(check(
                scope,
                "S3 Block Public Access",
                None,
                all,
                "all four settings on",
                "not every setting is on",
            ));
        }
        Err(error) if crate::aws::errors::is_no_public_access_block(&error) => {
            findings.push(Finding::new(scope, "S3 Block Public Access", None, Status::Fail, "not configured"));
        }
        Err(error) => {
            findings.push(errored(scope, "S3 Block Public Access", None, crate::aws::errors::describe(&error)))
        }
    }
    let account = clients.sessions.client::<aws_sdk_account::Client>(management, None).await;
    let request =
        account.get_alternate_contact().alternate_contact_type(aws_sdk_account::types::AlternateContactType::Security);
    let request = if id == management { request } else { request.account_id(id) };
    match request.send().await {
        Ok(output) => findings.push(check(
            scope,
            "security contact",
            None,
            output.alternate_contact.is_some(),
            "set",
            "no security contact",
        )),
        Err(error) if crate::aws::errors::is_resource_not_found(&error) => {
            findings.push(Finding::new(scope, "security contact", None, Status::Fail, "no security contact"));
        }
        Err(error) => findings.push(errored(scope, "security contact", None, crate::aws::errors::describe(&error))),
    }
    for region in regions {
        let guardduty = clients.sessions.client::<aws_sdk_guardduty::Client>(id, Some(region)).await;
        match guardduty.list_detectors().send().await {
            Ok(output) => findings.push(check(
                scope,
                "GuardDuty",
                Some(region),
                output.detector_ids.is_some_and(|ids| !ids.is_empty()),
                "detector present",
                "no detector",
            )),
            Err(error) => {
                findings.push(errored(scope, "GuardDuty", Some(region), crate::aws::errors::describe(&error)))
            }
        }
        let hub = clients.sessions.client::<aws_sdk_securityhub::Client>(id, Some(region)).await;
        match hub.describe_hub().send().await {
            Ok(_) => findings.push(Finding::new(scope, "Security Hub", Some(region), Status::Pass, "enabled")),
            Err(error) if crate::aws::errors::is_security_hub_not_enabled(&error) => {
                findings.push(Finding::new(scope, "Security Hub", Some(region), Status::Fail, "not enabled"));
            }
            Err(error) => {
                findings.push(errored(scope, "Security Hub", Some(region), crate::aws::errors::describe(&error)))
            }
        }
    }
    findings
}

async fn bunker_findings(clients: &Clients, account: &str, bucket: &str, region: &str) -> Vec<Finding> {
    let scope = format!("log archive ({account})");
    let s3 = clients.sessions.client::<aws_sdk_s3::Client>(account, Some(region)).await;
    let mut findings = Vec::new();
    match s3.get_bucket_versioning().bucket(bucket).send().await {
        Ok(output) => findings.push(check(
            &scope,
            "bunker bucket: versioning",
            None,
            output.status.is_some_and(|s| s.as_str() == "Enabled"),
            "enabled",
            "versioning is not enabled",
        )),
        Err(error) => {
            findings.push(errored(
                &scope,
                "bunker bucket",
                None,
                format!("`{bucket}`: {}", crate::aws::errors::describe(&error)),
            ));
            return findings;
        }
    }
    let kms = match s3.get_bucket_encryption().bucket(bucket).send().await {
        Ok(output) => output.server_side_encryption_configuration.is_some_and(|configuration| {
            configuration.rules.iter().any(|rule| {
                rule.apply_server_side_encryption_by_default
                    .as_ref()
                    .is_some_and(|d| d.sse_algorithm.as_str() == "aws:kms")
            })
        }),
        Err(_) => false,
    };
    findings.push(check(
        &scope,
        "bunker bucket: SSE-KMS",
        None,
        kms,
        "aws:kms by default",
        "not encrypted with KMS by default",
    ));
    let blocked = match s3.get_public_access_block().bucket(bucket).send().await {
        Ok(output) => output.public_access_block_configuration.is_some_and(|b| {
            b.block_public_acls == Some(true)
                && b.block_public_policy == Some(true)
                && b.restrict_public_buckets == Some(true)
        }),
        Err(_) => false,
    };
    findings.push(check(
        &scope,
        "bunker bucket: public access blocked",
        None,
        blocked,
        "blocked",
        "public access not blocked",
    ));
    let tls = match s3.get_bucket_policy().bucket(bucket).send().await {
        Ok(output) => output.policy.unwrap_or_default().contains("aws:SecureTransport"),
        Err(_) => false,
    };
    findings.push(check(
        &scope,
        "bunker bucket: TLS only",
        None,
        tls,
        "non-TLS access denied",
        "no aws:SecureTransport deny",
    ));
    findings
}

/// Whether any finding failed or could not be checked.
pub fn has_failures(findings: &[Finding]) -> bool {
    findings.iter().any(|finding| finding.status != Status::Pass)
}

/// A plain text table.
pub fn render_table(findings: &[Finding]) -> String {
    // Account names and AWS's messages are shown, never run (`escape::inline`); widths are
    // counted on what is shown.
    let shown = |text: &str| crate::plan::escape::inline(text).into_owned();
    let rows: Vec<[String; 5]> = findings
        .iter()
        .map(|finding| {
            let status = match finding.status {
                Status::Pass => "PASS",
                Status::Fail => "FAIL",
                Status::Error => "ERROR",
            };
            [
                shown(&finding.scope),
                shown(&finding.control),
                shown(finding.region.as_deref().unwrap_or("-")),
                status.to_string(),
                shown(&finding.detail),
            ]
        })
        .collect();
    let width =
        |column: usize, minimum: usize| rows.iter().map(|row| row[column].chars().count()).fold(minimum, usize::max);
    let widths = (width(0, 5), width(1, 7), width(2, 6));
    let mut out = format!(
        "{:<w0$}  {:<w1$}  {:<w2$}  {:<6}  DETAIL\n",
        "SCOPE",
        "CONTROL",
        "REGION",
        "STATUS",
        w0 = widths.0,
        w1 = widths.1,
        w2 = widths.2
    );
    for [scope, control, region, status, detail] in &rows {
        out.push_str(&format!(
            "{scope:<w0$}  {control:<w1$}  {region:<w2$}  {status:<6}  {detail}\n",
            w0 = widths.0,
            w1 = widths.1,
            w2 = widths.2
        ));
    }
    let failed = findings.iter().filter(|f| f.status != Status::Pass).count();
    out.push_str(&format!(
        "\n{} checks, {} passed, {} failed or not checkable.\n",
        findings.len(),
        findings.len() - failed,
        failed
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_shows_hostile_names_and_messages_without_running_them() {
        let findings = [Finding::new(
            "app\u{1b}[2K\u{202e} (111122223333)",
            "root_mfa",
            None,
            Status::Fail,
            "bucket `x\r\u{1b}[1A`: denied",
        )];
        let table = render_table(&findings);
        assert!(!table.chars().any(|c| c != '\n' && crate::plan::escape::is_hidden(c)), "{table:?}");
        assert!(table.contains("app\\u{1b}[2K\\u{202e} (111122223333)  root_mfa"), "{table}");
        assert!(table.contains("bucket `x\\u{d}\\u{1b}[1A`: denied"), "{table}");
        assert_eq!(table.lines().count(), 4, "{table}");
    }
}
