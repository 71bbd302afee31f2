//! Offline rules of the network baselines (`baseline.default_vpcs`,
//! `baseline.default_security_groups`, `baseline.flow_logs`), reported like the rest of
//! `validate`: at the value's line and column, all at once.

use super::Checker;

impl Checker<'_> {
    pub(super) fn network(&mut self) {
        let baseline = &self.valid.spec.baseline;
        if let Some(section) = &baseline.default_vpcs {
            self.targets(&["baseline", "default_vpcs", "targets"], &section.targets, true);
        }
        if let Some(section) = &baseline.default_security_groups {
            self.targets(&["baseline", "default_security_groups", "targets"], &section.targets, true);
        }
        if let Some(section) = &baseline.flow_logs {
            self.targets(&["baseline", "flow_logs", "targets"], &section.targets, true);
            // The flow logs go to the log archive bucket, whose policy admits the log delivery
            // service for these accounts: without the bunker there is nowhere to send them.
            if baseline.log_archive.is_none() {
                self.error_at(
                    &["baseline", "flow_logs"],
                    true,
                    "`baseline.flow_logs` delivers to the log archive bucket, and the spec has no `baseline.log_archive`"
                        .to_string(),
                    Some("add `baseline.log_archive: { account: <the log archive account> }`".to_string()),
                );
            }
        }
    }
}
