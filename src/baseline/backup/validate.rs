//! Offline rules of `baseline.backup`: the vault, its lock, and the plans the backup policy is made from. Reported
//! through `spec::validate::Checker` at the value's line and column, with the spec's own rules (`Baseline::validate`).

use crate::spec::regions::is_aws_region;
use crate::spec::validate::Checker;
use crate::spec::Targets;

/// `baseline.backup`: the vault, its lock, and the plans the backup policy is made from.
pub(super) fn check(checker: &mut Checker<'_>) {
    let spec = checker.spec();
    let Some(backup) = &spec.baseline.backup else { return };
    match (&backup.vault_account, &spec.baseline.log_archive) {
        (Some(account), _) => checker.account_reference(&["baseline", "backup", "vault_account"], account),
        (None, Some(_)) => {}
        (None, None) => checker.error(
            &["baseline", "backup"],
            "the backup vault needs an account: `baseline.backup.vault_account` or `baseline.log_archive`".to_string(),
            Some("add `vault_account: <bunker account>`".to_string()),
        ),
    }
    // https://docs.aws.amazon.com/aws-backup/latest/devguide/API_CreateBackupVault.html:
    // `^[a-zA-Z0-9\-\_]{2,50}$`.
    let name_ok = (2..=50).contains(&backup.vault_name.len())
        && backup.vault_name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !name_ok {
        checker.error(
            &["baseline", "backup", "vault_name"],
            format!("`{}` is not a backup vault name", backup.vault_name),
            Some("2-50 letters, digits, hyphens and underscores".to_string()),
        );
    }
    // The backup policy's rules back up into `landing-zone-backup` in member accounts, which
    // the backup baseline creates and removes (`baseline::backup::MEMBER_VAULT`): the bunker
    // vault must not share its name.
    if backup.vault_name == "landing-zone-backup" {
        checker.error(
            &["baseline", "backup", "vault_name"],
            "`landing-zone-backup` is the name of the vault landing-zone creates in member accounts".to_string(),
            Some("choose another name, such as the default `landing-zone-bunker`".to_string()),
        );
    }
    let lock = backup.vault_lock.unwrap_or_default();
    // https://docs.aws.amazon.com/aws-backup/latest/devguide/API_PutBackupVaultLockConfiguration.html
    if let Some(min) = lock.min_retention_days.filter(|days| *days < 1) {
        checker.error(
            &["baseline", "backup", "vault_lock", "min_retention_days"],
            format!("{min} days: the minimum retention is at least 1 day"),
            None,
        );
    }
    if let Some(max) = lock.max_retention_days.filter(|days| *days > 36_500) {
        checker.error(
            &["baseline", "backup", "vault_lock", "max_retention_days"],
            format!("{max} days: the maximum retention is at most 36,500 days"),
            None,
        );
    }
    if let (Some(min), Some(max)) = (lock.min_retention_days, lock.max_retention_days) {
        if min > max {
            checker.error(
                &["baseline", "backup", "vault_lock", "min_retention_days"],
                format!("the minimum retention ({min} days) is longer than the maximum ({max} days)"),
                None,
            );
        }
    }
    if let Some(days) = lock.changeable_for_days {
        let path = ["baseline", "backup", "vault_lock", "changeable_for_days"];
        if days < 3 {
            checker.error(
                &path,
                format!("{days} days: AWS Backup's grace time is at least 3 days (its 72-hour cooling-off period)"),
                None,
            );
        }
        if !spec.organization.allow.compliance_vault_lock {
            checker.error(
                &path,
                "`changeable_for_days` puts the vault in compliance mode, which becomes immutable after the grace time: irreversible, and not allowed".to_string(),
                Some("set `organization.allow.compliance_vault_lock: true` (and pass --allow-destructive) to lock it; or drop `changeable_for_days` for governance mode".to_string()),
            );
        }
    }
    let mut first_targets: Option<(&String, &Targets)> = None;
    for (name, plan) in &backup.plans {
        let base = ["baseline", "backup", "plans", name.as_str()];
        let with = |key: &'static str| [base[0], base[1], base[2], base[3], key];
        // https://docs.aws.amazon.com/aws-backup/latest/devguide/API_BackupRuleInput.html:
        // a cron expression in UTC, or rate().
        let schedule = plan.schedule.trim();
        let shaped = (schedule.starts_with("cron(") || schedule.starts_with("rate(")) && schedule.ends_with(')');
        let cron_fields = schedule
            .strip_prefix("cron(")
            .and_then(|rest| rest.strip_suffix(')'))
            .map(|body| body.split_whitespace().count());
        if !shaped || cron_fields.is_some_and(|fields| fields != 6) {
            checker.error(
                &with("schedule"),
                format!("`{}` is not a schedule expression", plan.schedule),
                Some("`cron(minutes hours day-of-month month day-of-week year)` such as `cron(0 5 ? * * *)`, or `rate(12 hours)`".to_string()),
            );
        }
        if plan.retention_days < 1 {
            checker.error(&with("retention_days"), "recovery points are kept at least 1 day".to_string(), None);
        }
        if let Some(days) = plan.copy_to_bunker_retention_days {
            // The bunker vault's lock refuses copies whose retention is outside its range.
            if let Some(min) = lock.min_retention_days.filter(|min| days < *min) {
                checker.error(
                    &with("copy_to_bunker_retention_days"),
                    format!("{days} days is shorter than the bunker vault lock's minimum ({min} days); AWS Backup would refuse the copies"),
                    None,
                );
            }
            if let Some(max) = lock.max_retention_days.filter(|max| days > *max) {
                checker.error(
                    &with("copy_to_bunker_retention_days"),
                    format!("{days} days is longer than the bunker vault lock's maximum ({max} days); AWS Backup would refuse the copies"),
                    None,
                );
            }
        }
        for (index, region) in plan.regions.iter().enumerate() {
            if !is_aws_region(region) {
                let index = index.to_string();
                checker.error(
                    &[base[0], base[1], base[2], base[3], "regions", &index],
                    format!("`{region}` is not an AWS Region code"),
                    None,
                );
            }
        }
        if plan.selection_tags.is_empty() {
            checker.error(
                &with("selection_tags"),
                format!("plan `{name}` selects nothing: give it at least one tag"),
                None,
            );
        }
        checker.targets(&with("targets"), &plan.targets, false);
        match first_targets {
            None => first_targets = Some((name, &plan.targets)),
            Some((first, targets)) if targets != &plan.targets => checker.error(
                &with("targets"),
                format!("plan `{name}` targets other units or accounts than plan `{first}`; all plans make one backup policy, attached once"),
                Some("give every plan the same `targets`".to_string()),
            ),
            Some(_) => {}
        }
    }
}
