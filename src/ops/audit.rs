//! `audit`: the posture report of DESIGN.md §1 — per account and control, whether the landing zone
//! holds. Read-only by construction: every call here is a Get/List/Describe. The SCP guardrail
//! checks, which need no call, are `guardrails.rs`.

use std::collections::BTreeMap;

use anyhow::Result;
use futures::stream::{self, StreamExt};

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

use crate::baseline::audit::{AuditedAccount, AuditedOrganization};
pub use crate::baseline::audit::{Finding, Status};

fn check(scope: &str, control: &str, region: Option<&str>, ok: bool, pass: &str, fail: &str) -> Finding {
    Finding::check(scope, control, region, ok, pass, fail)
}

fn errored(scope: &str, control: &str, region: Option<&str>, error: impl std::fmt::Display) -> Finding {
    Finding::errored(scope, control, region, error)
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

    // The desired organization, derived from the spec once for the whole audit.
    let desired = valid.map(crate::baseline::desired_organization);
    // Accounts the spec names, to report the others.
    let spec_ids = desired.as_ref().map(|desired| crate::plan::planner::match_accounts(desired, live));
    let spec_names: BTreeMap<String, String> =
        spec_ids.iter().flat_map(|ids| ids.iter().map(|(name, id)| (id.clone(), name.clone()))).collect();
    let accounts: Vec<(String, String)> = live
        .accounts
        .values()
        .filter(|account| account.state.is_active())
        .map(|account| {
            (account.id.clone(), format!("{} ({})", spec_names.get(&account.id).unwrap_or(&account.name), account.id))
        })
        .collect();
    let trail_arn = valid.and_then(|valid| crate::baseline::organization_trail_name(&valid.spec)).map(|name| {
        format!("arn:{}:cloudtrail:{home}:{management}:trail/{name}", crate::spec::regions::partition_of(&home))
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
    let organization_id = Some(organization.id.clone());
    // Each baseline's checks of one account name it by id: every active account is known by its id.
    let by_id = crate::plan::control::KnownIds {
        accounts: accounts.iter().map(|(id, _)| (id.clone(), id.clone())).collect(),
        organization: organization_id.clone(),
    };
    let account_context = crate::baseline::Context { sessions: &clients.sessions, ids: &by_id, reads: None };
    let per_account: Vec<Vec<Finding>> = stream::iter(accounts.iter())
        .map(|(id, scope)| account_findings(clients, &account_context, id, scope, regions))
        .buffer_unordered(concurrency.accounts.max(1))
        .collect()
        .await;
    findings.extend(per_account.into_iter().flatten());
    findings.extend(root_credential_findings(clients, live, &accounts, &management, concurrency.accounts).await);

    // The organization-wide checks know the spec's accounts by spec name.
    let ids = crate::plan::control::KnownIds { accounts: spec_ids.unwrap_or_default(), organization: organization_id };
    let context = crate::baseline::Context { sessions: &clients.sessions, ids: &ids, reads: None };
    let audited = AuditedOrganization {
        spec: valid.map(|valid| &valid.spec),
        ids: &ids,
        management: &management,
        home: &home,
        accounts: &accounts,
    };
    for baseline in crate::baseline::REGISTRY {
        findings.extend(baseline.audit_organization(&context, &audited).await);
    }
    if let Some(desired) = &desired {
        findings.extend(coverage_findings(clients, live, desired, concurrency.accounts).await);
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

/// One account's checks: its root user's MFA and access keys (no baseline's: IAM's account
/// summary), then every baseline's own (`Baseline::audit_account`), one after the other.
async fn account_findings(
    clients: &Clients,
    context: &crate::baseline::Context<'_>,
    id: &str,
    scope: &str,
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
    let account = AuditedAccount { id, scope, regions };
    for baseline in crate::baseline::REGISTRY {
        findings.extend(baseline.audit_account(context, &account).await);
    }
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
