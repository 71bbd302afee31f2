//! Offline rules of `baseline.aws_config`: its targets, the managed rules, a Region that records the global types, the
//! bunker. Reported through `spec::validate::Checker` at the value's line and column, with the spec's own rules
//! (`Baseline::validate`).

use crate::spec::regions::config_global_types_region;
use crate::spec::validate::Checker;

/// Checks its section, if the spec has one.
pub(super) fn check(checker: &mut Checker<'_>) {
    let baseline = &checker.spec().baseline;
    if let Some(config) = &baseline.aws_config {
        checker.targets(&["baseline", "aws_config", "targets"], &config.targets, true);
        for rule in config.rules.keys() {
            if rule.is_empty() || !rule.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_') {
                checker.error_at(
                    &["baseline", "aws_config", "rules", rule],
                    true,
                    format!("`{rule}` is not a managed rule identifier (UPPER_SNAKE_CASE, e.g. ACCESS_KEYS_ROTATED)"),
                    None,
                );
            }
        }
        // https://docs.aws.amazon.com/config/latest/developerguide/select-resources.html: the
        // global IAM resource types are recorded only in Regions AWS Config supported before
        // February 2022; the recorder records them in the first such Region of the spec.
        if config_global_types_region(&checker.spec().organization.regions).is_none() {
            checker.error_at(
                &["baseline", "aws_config"],
                true,
                "AWS Config cannot record the global IAM resource types (users, groups, roles, policies) in any Region of `organization.regions`".to_string(),
                Some("add a Region AWS Config supported before February 2022 (e.g. us-east-1) to `organization.regions`".to_string()),
            );
        }
        if baseline.log_archive.is_none() {
            checker.error_at(
                &["baseline", "aws_config"],
                true,
                "AWS Config delivers into the bunker bucket: `baseline.log_archive` is required".to_string(),
                None,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::baseline::validate::messages;

    #[test]
    fn config_needs_a_region_that_records_global_types() {
        let spec = "version: 1
organization: { management_account: management, regions: [REGIONS] }
accounts:
  management: { email: root@example.com }
  logs: { email: logs@example.com }
baseline:
  log_archive: { account: logs }
  aws_config: {}
";
        let errors = messages(&spec.replace("REGIONS", "il-central-1, eu-central-2"));
        assert!(errors.iter().any(|error| error.contains("global IAM resource types")), "{errors:#?}");
        assert!(messages(&spec.replace("REGIONS", "il-central-1, eu-west-1")).is_empty());
    }
}
