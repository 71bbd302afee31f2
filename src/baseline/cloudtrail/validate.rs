//! Offline rules of `baseline.cloudtrail`: the trail's name, and what the organization trail needs (the management
//! account, the bunker). Reported through `spec::validate::Checker` at the value's line and column, with the spec's own
//! rules (`Baseline::validate`).

use crate::spec::validate::Checker;

/// Checks its section, if the spec has one.
pub(super) fn check(checker: &mut Checker<'_>) {
    let baseline = &checker.spec().baseline;
    if let Some(trail) = &baseline.cloudtrail {
        let valid_name = (3..=128).contains(&trail.name.len())
            && trail.name.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
            && trail.name.starts_with(|c: char| c.is_ascii_alphanumeric());
        if !valid_name {
            checker.error(
                &["baseline", "cloudtrail", "name"],
                format!(
                    "`{}` is not a valid trail name (3-128 of letters, digits, . _ -, starting with a letter or digit)",
                    trail.name
                ),
                None,
            );
        }
        if checker.spec().organization.management_account.is_none() {
            checker.error_at(
                &["baseline", "cloudtrail"],
                true,
                "the organization trail lives in the management account: `organization.management_account` must name it".to_string(),
                Some("add `management_account: <name of the management account entry>` under `organization`".to_string()),
            );
        }
        if baseline.log_archive.is_none() {
            checker.error_at(
                &["baseline", "cloudtrail"],
                true,
                "the organization trail needs `baseline.log_archive` to write into".to_string(),
                Some("add `log_archive: { account: <log archive account> }`".to_string()),
            );
        }
    }
}
