//! `import` of `baseline.budgets`: the budgets landing-zone created (they carry its ownership tag)
//! in the imported accounts, one entry per budget name. Reads only, through the budgets baseline's
//! own readers ([`super::list_budgets`], [`super::is_owned`], [`super::read_budget`]).
//!
//! A budget is written only when the spec can say it exactly: a monthly cost budget in whole US
//! dollars without filters, planned or auto-adjusted limits, whose alarms are `GREATER_THAN` a
//! percentage, on actual spend but for at most one on forecasted spend, every alarm to the same
//! e-mail recipients — and the same in every account that has it. The plan of a spec with
//! `baseline.budgets` removes the tagged budgets the section does not name, so when one tagged
//! budget cannot be written the whole section is left out (a note per budget says why).

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Result;
use aws_sdk_budgets::types::Budget;

use super::{desired_attributes, is_owned, list_budgets, read_budget, BudgetAttributes, CONTROL};
use crate::baseline::attributes::{decode, encode};
use crate::baseline::import::{per_account, ImportScope, ImportedSection};
use crate::baseline::Context;
use crate::plan::control::ControlKey;
use crate::spec::validate::is_valid_email;
use crate::spec::{BudgetSpec, Targets, OWNERSHIP_TAG};

/// What one account has: tagged budgets by name (the spec's entry, or why there is none), and the
/// names of untagged ones.
#[derive(Default)]
struct InAccount {
    owned: BTreeMap<String, std::result::Result<BudgetSpec, String>>,
    unowned: Vec<String>,
}

pub async fn import(context: &Context<'_>, scope: &ImportScope) -> Result<Option<ImportedSection>> {
    let found = per_account(scope, |account| async move {
        let account_id = context.account_id(&account)?;
        let client = context.sessions.client::<aws_sdk_budgets::Client>(account_id, None).await;
        let mut found = InAccount::default();
        for budget in list_budgets(&client, account_id).await? {
            let name = budget.budget_name.clone();
            if !is_owned(&client, account_id, &name).await?.unwrap_or(false) {
                found.unowned.push(name);
                continue;
            }
            let Some(live) = read_budget(&client, account_id, &name).await? else { continue };
            let key = ControlKey::new(format!("{CONTROL}/{name}"), &account, None);
            let entry = expressible(&budget).and_then(|()| entry(decode::<BudgetAttributes>(&key, &live).ok(), &live));
            found.owned.insert(name, entry);
        }
        Ok(Some(found))
    })
    .await?;

    let mut notes = Vec::new();
    let unowned: BTreeMap<&str, Vec<&str>> = found.iter().fold(BTreeMap::new(), |mut names, (account, found)| {
        for name in &found.unowned {
            names.entry(name.as_str()).or_insert_with(Vec::new).push(account.as_str());
        }
        names
    });
    if !unowned.is_empty() {
        let listed: Vec<String> = unowned
            .iter()
            .map(|(name, accounts)| {
                format!("`{name}` ({})", accounts.iter().map(|a| format!("`{a}`")).collect::<Vec<_>>().join(", "))
            })
            .collect();
        notes.push(format!(
            "budgets without the `{OWNERSHIP_TAG}` tag are not imported into `baseline.budgets` (landing-zone did not create them): {}; the plan never removes them, but a `baseline.budgets` entry of the same name would take one over in that account (its limit and alarms changed to the entry's)",
            listed.join(", ")
        ));
    }

    // Each tagged name: the accounts that have it, and one entry when they all agree.
    let mut by_name: BTreeMap<&str, BTreeMap<&str, &std::result::Result<BudgetSpec, String>>> = BTreeMap::new();
    for (account, found) in &found {
        for (name, entry) in &found.owned {
            by_name.entry(name.as_str()).or_default().insert(account.as_str(), entry);
        }
    }
    if by_name.is_empty() {
        return Ok((!notes.is_empty()).then(|| ImportedSection::left_out_with(notes)));
    }
    let mut budgets = BTreeMap::new();
    let mut problems = Vec::new();
    for (name, accounts) in by_name {
        if let Some((account, Err(why))) = accounts.iter().find(|(_, entry)| entry.is_err()) {
            problems.push(format!("budget `{name}` in `{account}` {why}"));
            continue;
        }
        let entries: Vec<(&str, &BudgetSpec)> =
            accounts.iter().filter_map(|(account, entry)| entry.as_ref().ok().map(|entry| (*account, entry))).collect();
        let Some((first_account, first)) = entries.first().copied() else { continue };
        if let Some((other, _)) = entries.iter().find(|(_, entry)| *entry != first) {
            problems.push(format!("budget `{name}` differs between `{first_account}` and `{other}`"));
            continue;
        }
        let mut budget = first.clone();
        if let [(only, _)] = entries.as_slice() {
            budget.account = Some(only.to_string());
        } else {
            budget.targets = Some(Targets {
                accounts: entries.iter().map(|(account, _)| account.to_string()).collect(),
                ..Targets::default()
            });
        }
        budgets.insert(name.to_string(), budget);
    }
    if !problems.is_empty() {
        notes.push(format!(
            "`baseline.budgets` left out: {}; with the section, the plan would remove the budgets landing-zone created that it does not name",
            problems.join("; ")
        ));
        return Ok(Some(ImportedSection::left_out_with(notes)));
    }
    Ok(Some(ImportedSection::new(budgets, notes)?))
}

/// Whether the budget is of the one kind the spec writes, beyond what the plan compares: a limit
/// in USD, no cost filters or filter expression, no planned (per-period) or auto-adjusted limit.
/// The fields: https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_budgets_Budget.html
#[expect(deprecated, reason = "a budget made before FilterExpression may still filter with CostFilters")]
fn expressible(budget: &Budget) -> std::result::Result<(), String> {
    let unit = budget.budget_limit.as_ref().map(|limit| limit.unit.as_str());
    if unit != Some("USD") {
        return Err(format!("has its limit in `{}`, not USD", unit.unwrap_or("nothing")));
    }
    if budget.cost_filters.as_ref().is_some_and(|filters| !filters.is_empty()) || budget.filter_expression.is_some() {
        return Err("filters its costs, which `limit_usd` cannot say".to_string());
    }
    if budget.planned_budget_limits.as_ref().is_some_and(|limits| !limits.is_empty()) {
        return Err("has planned limits per period".to_string());
    }
    if budget.auto_adjust_data.is_some() {
        return Err("adjusts its limit automatically".to_string());
    }
    Ok(())
}

/// The spec's entry (without `account` or `targets`) for a budget read as `attributes`, when
/// [`desired_attributes`] gives back exactly what was read; else why not.
fn entry(attributes: Option<BudgetAttributes>, live: &serde_json::Value) -> std::result::Result<BudgetSpec, String> {
    let attributes = attributes.ok_or("cannot be read as a budget")?;
    if attributes.budget_type != "COST" || attributes.time_unit != "MONTHLY" {
        return Err(format!(
            "is a {} {} budget, not a monthly cost budget",
            attributes.time_unit, attributes.budget_type
        ));
    }
    let limit = attributes.limit_usd;
    if !(limit >= 1.0 && limit.fract() == 0.0 && limit <= u64::MAX as f64) {
        return Err(format!("has a limit of {limit} USD, not whole dollars"));
    }
    let mut thresholds = Vec::new();
    let mut forecast_threshold = None;
    let mut recipients: Option<&BTreeSet<String>> = None;
    for alarm in &attributes.notifications {
        if alarm.comparison != "GREATER_THAN" || alarm.threshold_type != "PERCENTAGE" {
            return Err(format!("has an alarm {} {} {}", alarm.comparison, alarm.threshold, alarm.threshold_type));
        }
        if !(alarm.threshold.fract() == 0.0 && (1.0..=1000.0).contains(&alarm.threshold)) {
            return Err(format!("has an alarm at {} %, not a whole percentage of 1-1,000", alarm.threshold));
        }
        let threshold = alarm.threshold as u32;
        match alarm.kind.as_str() {
            "ACTUAL" => thresholds.push(threshold),
            "FORECASTED" if forecast_threshold.is_none() => forecast_threshold = Some(threshold),
            "FORECASTED" => return Err("has more than one alarm on forecasted spend".to_string()),
            other => return Err(format!("has an alarm of kind `{other}`")),
        }
        match recipients {
            None => recipients = Some(&alarm.subscribers),
            Some(seen) if seen != &alarm.subscribers => {
                return Err("sends its alarms to different recipients".to_string())
            }
            Some(_) => {}
        }
    }
    let recipients = recipients.ok_or("has no alarm")?;
    let notify: Vec<String> = recipients
        .iter()
        .map(|subscriber| match subscriber.strip_prefix("EMAIL:") {
            Some(address) if is_valid_email(address) => Ok(address.to_string()),
            _ => Err(format!("alerts `{subscriber}`, not an e-mail address")),
        })
        .collect::<std::result::Result<_, _>>()?;
    if notify.is_empty() || notify.len() > 10 {
        return Err(format!("alerts {} addresses, not 1-10", notify.len()));
    }
    let budget =
        BudgetSpec { account: None, targets: None, limit_usd: limit as u64, thresholds, forecast_threshold, notify };
    // The round trip: the plan's own desired attributes must be what was read.
    if encode(&desired_attributes(&budget)) != *live {
        return Err("does not come back the same from the spec's shape".to_string());
    }
    Ok(budget)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(thresholds: Vec<u32>, forecast: Option<u32>) -> BudgetSpec {
        BudgetSpec {
            account: None,
            targets: None,
            limit_usd: 250,
            thresholds,
            forecast_threshold: forecast,
            notify: vec!["finance@example.com".to_string(), "ops@example.com".to_string()],
        }
    }

    fn live(budget: &BudgetSpec) -> BudgetAttributes {
        desired_attributes(budget)
    }

    #[test]
    fn a_budget_the_spec_made_comes_back_as_its_entry() {
        let budget = spec(vec![80, 100], Some(110));
        let attributes = live(&budget);
        assert_eq!(entry(Some(attributes.clone()), &encode(&attributes)), Ok(budget));
    }

    #[test]
    fn shapes_the_spec_cannot_write_are_refused_with_why() {
        let refused = |attributes: BudgetAttributes| entry(Some(attributes.clone()), &encode(&attributes)).err();
        let mut cents = live(&spec(vec![100], None));
        cents.limit_usd = 99.5;
        assert!(refused(cents).is_some_and(|why| why.contains("whole dollars")));
        let mut two_forecasts = live(&spec(vec![100], Some(100)));
        let mut forecast = two_forecasts.notifications[1].clone();
        forecast.threshold = 120.0;
        two_forecasts.notifications.push(forecast);
        assert!(refused(two_forecasts).is_some_and(|why| why.contains("more than one alarm on forecasted")));
        let mut recipients = live(&spec(vec![80, 100], None));
        recipients.notifications[0].subscribers.insert("EMAIL:cfo@example.com".to_string());
        assert!(refused(recipients).is_some_and(|why| why.contains("different recipients")));
        let mut topic = live(&spec(vec![100], None));
        topic.notifications[0].subscribers = BTreeSet::from(["SNS:arn:aws:sns:us-east-1:111111111111:t".to_string()]);
        assert!(refused(topic).is_some_and(|why| why.contains("not an e-mail address")));
        let mut absolute = live(&spec(vec![100], None));
        absolute.notifications[0].threshold_type = "ABSOLUTE_VALUE".to_string();
        assert!(refused(absolute).is_some_and(|why| why.contains("ABSOLUTE_VALUE")));
        let mut quarterly = live(&spec(vec![100], None));
        quarterly.time_unit = "QUARTERLY".to_string();
        assert!(refused(quarterly).is_some_and(|why| why.contains("not a monthly cost budget")));
        let silent = BudgetAttributes { notifications: Vec::new(), ..live(&spec(vec![100], None)) };
        assert!(refused(silent).is_some_and(|why| why.contains("no alarm")));
    }

    #[test]
    fn a_budget_in_another_currency_or_filtered_is_refused() {
        let spend = |unit: &str| aws_sdk_budgets::types::Spend::builder().amount("100").unit(unit).build().ok();
        let budget = |unit: &str| {
            Budget::builder()
                .budget_name("monthly")
                .budget_type(aws_sdk_budgets::types::BudgetType::Cost)
                .time_unit(aws_sdk_budgets::types::TimeUnit::Monthly)
                .set_budget_limit(spend(unit))
        };
        let built = |builder: aws_sdk_budgets::types::builders::BudgetBuilder| builder.build().expect("budget");
        assert_eq!(expressible(&built(budget("USD"))), Ok(()));
        assert!(expressible(&built(budget("EUR"))).is_err_and(|why| why.contains("`EUR`")));
        let filtered = budget("USD").filter_expression(aws_sdk_budgets::types::Expression::builder().build());
        assert!(expressible(&built(filtered)).is_err_and(|why| why.contains("filters")));
    }
}
