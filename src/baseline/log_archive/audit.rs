//! `audit`'s checks of the bunker's log bucket: versioned, SSE-KMS by default, public access
//! blocked, TLS only — read with the functions the bucket's reader (`bucket.rs`) uses, one call
//! per check (not the reader's whole read of every attribute).

use super::bucket::{encryption_configuration, policy_text, public_access_block, versioning_status};
use crate::baseline::audit::{AuditedOrganization, Finding, Status};
use crate::baseline::Context;

pub async fn audit_organization(context: &Context<'_>, organization: &AuditedOrganization<'_>) -> Vec<Finding> {
    let Some(log_archive) = organization.spec.and_then(|spec| spec.baseline.log_archive.as_ref()) else {
        return Vec::new();
    };
    match organization.ids.accounts.get(&log_archive.account) {
        Some(id) => {
            let bucket = log_archive.bucket_name.clone().unwrap_or_else(|| format!("landing-zone-logs-{id}"));
            bunker_findings(context, id, &bucket, organization.home).await
        }
        None => vec![Finding::new(
            "organization",
            "log archive",
            None,
            Status::Fail,
            "the log-archive account does not exist",
        )],
    }
}

async fn bunker_findings(context: &Context<'_>, account: &str, bucket: &str, region: &str) -> Vec<Finding> {
    let scope = format!("log archive ({account})");
    let s3 = context.sessions.client::<aws_sdk_s3::Client>(account, Some(region)).await;
    let mut findings = Vec::new();
    match versioning_status(&s3, bucket).await {
        Ok(status) => findings.push(Finding::check(
            &scope,
            "bunker bucket: versioning",
            None,
            status.as_deref() == Some("Enabled"),
            "enabled",
            "versioning is not enabled",
        )),
        Err(error) => {
            let detail = format!("`{bucket}`: {}", crate::baseline::audit::describe(&error));
            findings.push(Finding::errored(&scope, "bunker bucket", None, detail));
            return findings;
        }
    }
    // A check whose read fails is a FAIL, not an ERROR: what cannot be read cannot be shown to hold.
    let kms = encryption_configuration(&s3, bucket).await.ok().flatten().is_some_and(|configuration| {
        configuration.rules.iter().any(|rule| {
            rule.apply_server_side_encryption_by_default
                .as_ref()
                .is_some_and(|default| default.sse_algorithm.as_str() == "aws:kms")
        })
    });
    findings.push(Finding::check(
        &scope,
        "bunker bucket: SSE-KMS",
        None,
        kms,
        "aws:kms by default",
        "not encrypted with KMS by default",
    ));
    let blocked = public_access_block(&s3, bucket).await.ok().flatten().is_some_and(|block| {
        block.block_public_acls == Some(true)
            && block.block_public_policy == Some(true)
            && block.restrict_public_buckets == Some(true)
    });
    findings.push(Finding::check(
        &scope,
        "bunker bucket: public access blocked",
        None,
        blocked,
        "blocked",
        "public access not blocked",
    ));
    let tls = policy_text(&s3, bucket).await.ok().flatten().unwrap_or_default().contains("aws:SecureTransport");
    findings.push(Finding::check(
        &scope,
        "bunker bucket: TLS only",
        None,
        tls,
        "non-TLS access denied",
        "no aws:SecureTransport deny",
    ));
    findings
}
