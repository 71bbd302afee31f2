//! Offline rules of `baseline.budgets`: where each budget lives, its alarms and its recipients, against the Budgets
//! API's limits. Reported through `spec::validate::Checker` at the value's line and column, with the spec's own rules
//! (`Baseline::validate`).

use std::collections::BTreeSet;

use crate::spec::validate::is_valid_email;
use crate::spec::validate::Checker;

/// `baseline.budgets`: where each budget lives, its alarms and its recipients, against the
/// Budgets API's limits. Names are map keys, so they are unique in the spec and hence in every
/// account; look-alike names are refused as everywhere else.
pub(super) fn check(checker: &mut Checker<'_>) {
    let spec = checker.spec();
    let mut entries = Vec::new();
    for (name, budget) in &spec.baseline.budgets {
        let base = ["baseline", "budgets", name.as_str()];
        entries.push((name.clone(), base.iter().map(|segment| segment.to_string()).collect()));
        // BudgetName: 1-100 characters, no `:` or `\`.
        // https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_budgets_Budget.html
        if name.is_empty() || name.chars().count() > 100 || name.contains([':', '\\']) {
            checker.error_at(
                &base,
                true,
                format!("`{name}` is not a valid budget name (1-100 characters, no `:` or `\\`)"),
                None,
            );
        }
        match (&budget.account, &budget.targets) {
            (Some(_), Some(_)) => checker.error_at(
                &[base[0], base[1], base[2], "targets"],
                true,
                format!("budget `{name}` sets both `account` and `targets`"),
                Some(
                    "use `account` for one budget in one account, or `targets` for one in each covered account"
                        .to_string(),
                ),
            ),
            (None, None) => checker.error_at(
                &base,
                true,
                format!("budget `{name}` says neither `account` nor `targets`"),
                Some("add `account: <account name>` or `targets: { units: [...] }`".to_string()),
            ),
            (Some(account), None) => checker.account_reference(&[base[0], base[1], base[2], "account"], account),
            (None, Some(targets)) => checker.targets(&[base[0], base[1], base[2], "targets"], targets, true),
        }
        if budget.limit_usd == 0 {
            checker.error(&[base[0], base[1], base[2], "limit_usd"], "limit_usd must be at least 1".to_string(), None);
        }
        let mut seen = BTreeSet::new();
        for (index, threshold) in budget.thresholds.iter().enumerate() {
            let index = index.to_string();
            let at = [base[0], base[1], base[2], "thresholds", index.as_str()];
            if !(1..=1000).contains(threshold) {
                checker.error(&at, format!("threshold {threshold} is outside 1-1,000 (percent of the limit)"), None);
            } else if !seen.insert(threshold) {
                checker.error(&at, format!("threshold {threshold} is listed twice"), None);
            }
        }
        if let Some(threshold) = budget.forecast_threshold {
            if !(1..=1000).contains(&threshold) {
                checker.error(
                    &[base[0], base[1], base[2], "forecast_threshold"],
                    format!("forecast_threshold {threshold} is outside 1-1,000 (percent of the limit)"),
                    None,
                );
            }
        }
        let alarms = budget.thresholds.len() + usize::from(budget.forecast_threshold.is_some());
        // "A budget can have up to ten notifications" (API_budgets_Notification).
        if alarms == 0 {
            checker.error_at(
                &base,
                true,
                format!("budget `{name}` has no alarm"),
                Some("add `thresholds: [80, 100]` or `forecast_threshold: 100`".to_string()),
            );
        } else if alarms > 10 {
            checker.error(
                &[base[0], base[1], base[2], "thresholds"],
                format!("budget `{name}` has {alarms} alarms; AWS Budgets allows 10 per budget"),
                None,
            );
        }
        // "Each notification can have one SNS subscriber and up to 10 email subscribers"
        // (API_budgets_CreateNotification).
        if budget.notify.is_empty() {
            checker.error(
                &[base[0], base[1], base[2], "notify"],
                format!("budget `{name}` notifies nobody"),
                Some("list at least one e-mail address under `notify`".to_string()),
            );
        } else if budget.notify.len() > 10 {
            checker.error(
                &[base[0], base[1], base[2], "notify"],
                format!("budget `{name}` notifies {} addresses; AWS Budgets allows 10 per alarm", budget.notify.len()),
                None,
            );
        }
        let mut addresses = BTreeSet::new();
        for (index, address) in budget.notify.iter().enumerate() {
            let index = index.to_string();
            let at = [base[0], base[1], base[2], "notify", index.as_str()];
            if !is_valid_email(address) {
                checker.error(&at, format!("`{address}` is not a valid email address"), None);
            } else if !addresses.insert(address.to_ascii_lowercase()) {
                checker.error(&at, format!("`{address}` is listed twice"), None);
            }
        }
    }
    checker.look_alikes("budgets", entries);
}
