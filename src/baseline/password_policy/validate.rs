//! Offline rules of `baseline.password_policy`: its targets and AWS's ranges. Reported through
//! `spec::validate::Checker` at the value's line and column, with the spec's own rules (`Baseline::validate`).

use crate::spec::validate::Checker;

/// Checks its section, if the spec has one.
pub(super) fn check(checker: &mut Checker<'_>) {
    let baseline = &checker.spec().baseline;
    if let Some(password) = &baseline.password_policy {
        let base = ["baseline", "password_policy"];
        checker.targets(&[base[0], base[1], "targets"], &password.targets, true);
        if !(6..=128).contains(&password.minimum_length) {
            checker.error(
                &[base[0], base[1], "minimum_length"],
                format!("minimum_length {} is outside AWS's range 6-128", password.minimum_length),
                None,
            );
        }
        if let Some(days) = password.max_age_days {
            if !(1..=1095).contains(&days) {
                checker.error(
                    &[base[0], base[1], "max_age_days"],
                    format!("max_age_days {days} is outside AWS's range 1-1,095"),
                    None,
                );
            }
        }
        if let Some(reuse) = password.reuse_prevention {
            if !(1..=24).contains(&reuse) {
                checker.error(
                    &[base[0], base[1], "reuse_prevention"],
                    format!("reuse_prevention {reuse} is outside AWS's range 1-24"),
                    None,
                );
            }
        }
    }
}
