//! Loading a spec with every baseline's offline rules: the spec's own checks (`spec::validate`:
//! organization, units, accounts, policies), then each registry entry's [`Baseline::validate`],
//! all reported together at their lines and columns.
//!
//! This is the loader commands call. `spec` cannot name the baselines (it sits below them), so it
//! takes their rules as `SectionRules`; this module passes the registry's.

use std::path::Path;

use super::REGISTRY;
use crate::spec::validate::Checker;
use crate::spec::{self, SpecErrors, ValidSpec};

/// Runs every baseline's rules, in registry order (their diagnostics are sorted by location
/// afterwards, so the order does not show).
pub fn check_baselines(checker: &mut Checker<'_>) {
    for baseline in REGISTRY {
        baseline.validate(checker);
    }
}

/// Loads the spec at `path` and checks it: the spec's own rules and every baseline's.
pub fn load_spec(path: &Path) -> Result<ValidSpec, SpecErrors> {
    spec::load_spec_with(path, &check_baselines)
}

/// Loads spec text as if read from `path` and checks it: the spec's own rules and every
/// baseline's.
pub fn load_spec_from_str(path: &Path, text: String) -> Result<ValidSpec, SpecErrors> {
    spec::load_spec_from_str_with(path, text, &check_baselines)
}

/// Reports a baseline whose delegated administrator is designated from the management account
/// (GuardDuty, Security Hub, Macie and Inspector per region through their own APIs; Access
/// Analyzer through Organizations) while the spec does not say which account that is.
pub fn needs_management_account(checker: &mut Checker<'_>, section: &str, service: &str) {
    if checker.spec().organization.management_account.is_none() {
        checker.error_at(
            &["baseline", section],
            true,
            format!("{service}'s delegated administrator is designated from the management account: `organization.management_account` must name it"),
            Some("add `management_account: <name of the management account entry>` under `organization`".to_string()),
        );
    }
}

/// The messages (with their locations and hints) loading `spec` gives, for baselines' tests.
#[cfg(test)]
pub(crate) fn messages(spec: &str) -> Vec<String> {
    match load_spec_from_str(Path::new("landing-zone.yaml"), spec.to_string()) {
        Ok(_) => Vec::new(),
        Err(errors) => errors.diagnostics.iter().map(|diagnostic| format!("{diagnostic:?}")).collect(),
    }
}
