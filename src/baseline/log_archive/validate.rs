//! Offline rules of `baseline.log_archive`: the bunker account, retention against the object lock, the bucket name.
//! Reported through `spec::validate::Checker` at the value's line and column, with the spec's own rules
//! (`Baseline::validate`).

use std::collections::BTreeMap;

use serde_json::Value;

use super::documents::{bucket_name, bucket_policy, key_policy};
use crate::aws::session::partition_of;
use crate::plan::control::{resolve, Inputs, KnownIds};
use crate::plan::desired::DesiredAccount;
use crate::spec::validate::Checker;
use crate::spec::Spec;

/// "Bucket policies are limited to 20 KB in size."
/// https://docs.aws.amazon.com/AmazonS3/latest/userguide/using-iam-policies.html
const BUCKET_POLICY_LIMIT: usize = 20 * 1024;
/// A key policy document is at most 32 KB (32,768 bytes).
/// https://docs.aws.amazon.com/kms/latest/APIReference/API_PutKeyPolicy.html
const KEY_POLICY_LIMIT: usize = 32 * 1024;
/// The longest organization id AWS makes (`o-` and 10-32 letters or digits):
/// https://docs.aws.amazon.com/organizations/latest/APIReference/API_Organization.html
const LONGEST_ORGANIZATION_ID: usize = 34;

/// Checks its section, if the spec has one.
pub(super) fn check(checker: &mut Checker<'_>) {
    let baseline = &checker.spec().baseline;
    if let Some(log_archive) = &baseline.log_archive {
        checker.account_reference(&["baseline", "log_archive", "account"], &log_archive.account);
        if let Some(days) = log_archive.retention_days {
            if days == 0 {
                checker.error(
                    &["baseline", "log_archive", "retention_days"],
                    "retention_days must be at least 1".to_string(),
                    None,
                );
            }
            if log_archive.object_lock.is_some() && days < log_archive.object_lock_days {
                checker.error(
                    &["baseline", "log_archive", "retention_days"],
                    format!(
                        "retention_days {days} is shorter than object_lock_days {}: expiry would fight the lock",
                        log_archive.object_lock_days
                    ),
                    None,
                );
            }
        }
        if !(1..=36_500).contains(&log_archive.object_lock_days) {
            checker.error(
                &["baseline", "log_archive", "object_lock_days"],
                "object_lock_days must be 1-36,500".to_string(),
                None,
            );
        }
        policy_sizes(checker);
        if let Some(bucket) = &log_archive.bucket_name {
            if !is_bucket_name(bucket) {
                checker.error(
                    &["baseline", "log_archive", "bucket_name"],
                    format!("`{bucket}` is not a valid S3 bucket name (3-63 lowercase letters, digits, dots, hyphens)"),
                    None,
                );
            }
        }
    }
}

/// The bunker's bucket policy and key policy grow with the accounts whose VPC flow logs they admit
/// (`baseline.flow_logs`, each named in their conditions): both are checked against AWS's size
/// limits with every account id and the organization id at their longest, so a spec that would
/// fail at PutBucketPolicy / PutKeyPolicy halfway through an apply is refused offline.
fn policy_sizes(checker: &mut Checker<'_>) {
    let spec = checker.spec();
    let Some(log_archive) = &spec.baseline.log_archive else { return };
    let sources = flow_log_sources(spec);
    if sources.is_empty() {
        return;
    }
    let partition = partition_of(spec.organization.regions.first().map_or("us-east-1", String::as_str));
    let bucket = bucket_name(log_archive);
    let bucket_size = |accounts: &[String]| sized(spec, &bucket_policy(spec, &bucket, partition, accounts));
    let key_size = |accounts: &[String]| sized(spec, &key_policy(spec, log_archive, partition, accounts));
    for (what, size, limit, page) in [
        ("bucket policy", &bucket_size as &dyn Fn(&[String]) -> usize, BUCKET_POLICY_LIMIT, "S3 allows 20 KB"),
        ("key policy", &key_size, KEY_POLICY_LIMIT, "KMS allows 32 KB"),
    ] {
        let full = size(&sources);
        if full <= limit {
            continue;
        }
        let base = size(&[]);
        let per_account = (full.saturating_sub(base) / sources.len()).max(1);
        let fit = limit.saturating_sub(base) / per_account;
        checker.error(
            &["baseline", "flow_logs", "targets"],
            format!(
                "the bunker's {what} would be {full} bytes with the {} accounts whose flow logs it receives (each is named in its conditions); {page} ({limit} bytes)",
                sources.len()
            ),
            Some(format!("narrow `baseline.flow_logs.targets` to at most about {fit} accounts")),
        );
    }
}

/// The accounts `baseline.flow_logs` targets, as the plan works them out.
fn flow_log_sources(spec: &Spec) -> Vec<String> {
    let accounts: Vec<DesiredAccount> = spec
        .accounts
        .iter()
        .map(|(name, account)| DesiredAccount {
            name: name.clone(),
            aws_name: None,
            email: account.email.clone(),
            unit_path: account.unit.clone(),
            id: account.id.clone(),
            tags: None,
            close: account.close,
        })
        .collect();
    let none = BTreeMap::new();
    let inputs =
        Inputs { spec, accounts: &accounts, role_documents: &none, permission_set_documents: &BTreeMap::new() };
    crate::baseline::flow_logs::source_accounts(&inputs)
}

/// The document's size as sent (compact JSON), every account id 12 digits and the organization id
/// at its longest.
fn sized(spec: &Spec, document: &Value) -> usize {
    let ids = KnownIds {
        accounts: spec.accounts.keys().map(|name| (name.clone(), "123456789012".to_string())).collect(),
        organization: Some(format!("o-{}", "a".repeat(LONGEST_ORGANIZATION_ID - 2))),
    };
    resolve(document, &ids).to_string().len()
}

fn is_bucket_name(name: &str) -> bool {
    (3..=63).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric())
        && !name.contains("..")
}
