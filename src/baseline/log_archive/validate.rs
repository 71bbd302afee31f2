//! Offline rules of `baseline.log_archive`: the bunker account, retention against the object lock, the bucket name.
//! Reported through `spec::validate::Checker` at the value's line and column, with the spec's own rules
//! (`Baseline::validate`).

use crate::spec::validate::Checker;

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

fn is_bucket_name(name: &str) -> bool {
    (3..=63).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric())
        && !name.contains("..")
}
