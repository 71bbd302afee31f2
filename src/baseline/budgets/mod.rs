//! `baseline.budgets`: monthly cost budgets with e-mail alarms (AWS Budgets), the security
//! maturity model's "billing alarms" quick win.
//!
//! One control `budget/<name>` per budget and account (Budgets is global: no region). Its
//! attributes ([`BudgetAttributes`]) are the limit and every notification with its subscribers, so
//! a changed limit, a missing or extra alarm and a missing or extra recipient are each a planned
//! change. Budgets it creates carry the ownership tag (`landing-zone:managed-by`); a tagged budget
//! the spec no longer asks for in an account (the account left the budget's targets, the budget
//! left the spec) is removed. Budgets it did not create are never changed or deleted unless the
//! spec names them in that account. The `read_*` / `apply_*` functions take the SDK client.
//!
//! API: https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_Operations_AWS_Budgets.html

mod import;
mod validate;

use std::collections::BTreeSet;

use anyhow::{Context as _, Result};
use aws_sdk_budgets::types::{
    Budget, BudgetType, ComparisonOperator, Notification, NotificationType, NotificationWithSubscribers, ResourceTag,
    Spend, Subscriber, SubscriptionType, ThresholdType, TimeUnit,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::attributes::{decode, encode};
use super::{aws_error, Actions, Baseline, BoxFuture, Context, Found, Ownership, Permissions, Places};
use crate::aws::errors::is_budgets_not_found;
use crate::plan::control::{ControlKey, DesiredControl, Inputs};
use crate::spec::validate::Checker;
use crate::spec::{BudgetSpec, OWNERSHIP_TAG, OWNERSHIP_VALUE};

pub const CONTROL: &str = "budget";

/// A budget as the planner compares it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BudgetAttributes {
    /// `COST` for every budget the spec writes.
    pub budget_type: String,
    /// `MONTHLY` for every budget the spec writes.
    pub time_unit: String,
    /// The limit in USD (AWS keeps it as a decimal string; compared as a number).
    pub limit_usd: f64,
    /// Sorted by (type, threshold), so the order AWS lists them in is no change.
    pub notifications: Vec<NotificationAttributes>,
}

/// One alarm of a budget.
#[derive(Debug, Clone, PartialEq, PartialOrd, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotificationAttributes {
    /// `ACTUAL` or `FORECASTED`.
    pub kind: String,
    /// `GREATER_THAN` for the spec's alarms.
    pub comparison: String,
    pub threshold: f64,
    /// `PERCENTAGE` for the spec's alarms (AWS's default when absent).
    pub threshold_type: String,
    /// E-mail subscribers (`EMAIL:address`) and SNS topics (`SNS:arn`).
    pub subscribers: BTreeSet<String>,
}

impl NotificationAttributes {
    /// What identifies a notification in the Budgets API: everything but its subscribers.
    fn same_notification(&self, other: &NotificationAttributes) -> bool {
        self.kind == other.kind
            && self.comparison == other.comparison
            && self.threshold == other.threshold
            && self.threshold_type == other.threshold_type
    }
}

/// The attributes the spec asks of one budget. Pure.
pub fn desired_attributes(budget: &BudgetSpec) -> BudgetAttributes {
    let subscribers: BTreeSet<String> = budget.notify.iter().map(|address| format!("EMAIL:{address}")).collect();
    let alarm = |kind: &str, threshold: u32| NotificationAttributes {
        kind: kind.to_string(),
        comparison: "GREATER_THAN".to_string(),
        threshold: f64::from(threshold),
        threshold_type: "PERCENTAGE".to_string(),
        subscribers: subscribers.clone(),
    };
    let mut notifications: Vec<NotificationAttributes> =
        budget.thresholds.iter().map(|threshold| alarm("ACTUAL", *threshold)).collect();
    notifications.extend(budget.forecast_threshold.map(|threshold| alarm("FORECASTED", threshold)));
    sort(&mut notifications);
    BudgetAttributes {
        budget_type: "COST".to_string(),
        time_unit: "MONTHLY".to_string(),
        // Whole dollars from the spec: exact in an f64.
        limit_usd: budget.limit_usd as f64,
        notifications,
    }
}

fn sort(notifications: &mut [NotificationAttributes]) {
    notifications.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
}

pub fn desired(inputs: &Inputs<'_>) -> Vec<DesiredControl> {
    let mut controls = Vec::new();
    for (name, budget) in &inputs.spec.baseline.budgets {
        let accounts = match (&budget.account, &budget.targets) {
            (Some(account), _) => vec![account.clone()],
            (None, Some(targets)) => inputs.accounts_for(targets),
            // `validate` demands one of the two.
            (None, None) => Vec::new(),
        };
        let attributes = encode(&desired_attributes(budget));
        for account in accounts {
            controls.push(
                DesiredControl::new(ControlKey::new(format!("{CONTROL}/{name}"), &account, None), attributes.clone())
                    .needs(&["budgets:ModifyBudget", "budgets:ViewBudget"]),
            );
        }
    }
    controls
}

/// The budget's name: the control name after `budget/`.
fn budget_name(key: &ControlKey) -> &str {
    key.control.strip_prefix("budget/").unwrap_or(&key.control)
}

fn subscriber_label(subscriber: &Subscriber) -> String {
    format!("{}:{}", subscriber.subscription_type.as_str(), subscriber.address)
}

fn subscriber_from_label(label: &str) -> Result<Subscriber> {
    let (kind, address) = label.split_once(':').unwrap_or(("EMAIL", label));
    Subscriber::builder()
        .subscription_type(SubscriptionType::from(kind))
        .address(address)
        .build()
        .with_context(|| format!("budget subscriber `{label}`"))
}

fn notification_of(attributes: &NotificationAttributes) -> Result<Notification> {
    Notification::builder()
        .notification_type(NotificationType::from(attributes.kind.as_str()))
        .comparison_operator(ComparisonOperator::from(attributes.comparison.as_str()))
        .threshold(attributes.threshold)
        .threshold_type(ThresholdType::from(attributes.threshold_type.as_str()))
        .build()
        .context("budget notification")
}

/// Reads one budget with its notifications and their subscribers; None when it does not exist.
pub async fn read_budget(client: &aws_sdk_budgets::Client, account_id: &str, name: &str) -> Result<Option<Value>> {
    // https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_budgets_DescribeBudget.html
    let budget = match client.describe_budget().account_id(account_id).budget_name(name).send().await {
        Ok(output) => output.budget,
        Err(error) if is_budgets_not_found(&error) => return Ok(None),
        Err(error) => return Err(aws_error("DescribeBudget", error)),
    };
    let Some(budget) = budget else { return Ok(None) };
    let limit_usd = match &budget.budget_limit {
        // A limit that is not a number (or a planned, per-period budget) never equals the spec's.
        Some(spend) => spend.amount.parse::<f64>().unwrap_or(f64::NAN),
        None => f64::NAN,
    };
    let mut notifications = Vec::new();
    // https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_budgets_DescribeNotificationsForBudget.html
    let mut pages =
        client.describe_notifications_for_budget().account_id(account_id).budget_name(name).into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|error| aws_error("DescribeNotificationsForBudget", error))?;
        for notification in page.notifications.unwrap_or_default() {
            let subscribers = read_subscribers(client, account_id, name, &notification).await?;
            notifications.push(NotificationAttributes {
                kind: notification.notification_type.as_str().to_string(),
                comparison: notification.comparison_operator.as_str().to_string(),
                threshold: notification.threshold,
                // "If this is not specified, the threshold type is PERCENTAGE" (API_budgets_Notification).
                threshold_type: notification
                    .threshold_type
                    .as_ref()
                    .map_or("PERCENTAGE".to_string(), |kind| kind.as_str().to_string()),
                subscribers,
            });
        }
    }
    sort(&mut notifications);
    Ok(Some(encode(&BudgetAttributes {
        budget_type: budget.budget_type.as_str().to_string(),
        time_unit: budget.time_unit.as_str().to_string(),
        limit_usd,
        notifications,
    })))
}

async fn read_subscribers(
    client: &aws_sdk_budgets::Client,
    account_id: &str,
    name: &str,
    notification: &Notification,
) -> Result<BTreeSet<String>> {
    let mut subscribers = BTreeSet::new();
    // https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_budgets_DescribeSubscribersForNotification.html
    let mut pages = client
        .describe_subscribers_for_notification()
        .account_id(account_id)
        .budget_name(name)
        .notification(notification.clone())
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = match page {
            Ok(page) => page,
            // A notification without subscribers answers NotFoundException.
            Err(error) if is_budgets_not_found(&error) => return Ok(subscribers),
            Err(error) => return Err(aws_error("DescribeSubscribersForNotification", error)),
        };
        subscribers.extend(page.subscribers.unwrap_or_default().iter().map(subscriber_label));
    }
    Ok(subscribers)
}

fn budget_of(name: &str, attributes: &BudgetAttributes) -> Result<Budget> {
    Budget::builder()
        .budget_name(name)
        .budget_type(BudgetType::from(attributes.budget_type.as_str()))
        .time_unit(TimeUnit::from(attributes.time_unit.as_str()))
        .budget_limit(
            Spend::builder().amount(format!("{}", attributes.limit_usd)).unit("USD").build().context("budget limit")?,
        )
        .build()
        .with_context(|| format!("budget `{name}`"))
}

/// Makes the budget match `attributes`: creates it with its alarms, or updates the limit and
/// adds, removes and re-addresses alarms on the one that exists (read afresh, not from the plan).
pub async fn apply_budget(
    client: &aws_sdk_budgets::Client,
    key: &ControlKey,
    account_id: &str,
    attributes: &Value,
) -> Result<()> {
    let name = budget_name(key);
    let desired: BudgetAttributes = decode(key, attributes)?;
    let live = match read_budget(client, account_id, name).await? {
        Some(live) => decode::<BudgetAttributes>(key, &live)?,
        None => {
            // The ownership tag marks it as landing-zone's: only tagged budgets are ever removed.
            // https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_budgets_CreateBudget.html
            let mut request =
                client.create_budget().account_id(account_id).budget(budget_of(name, &desired)?).resource_tags(
                    ResourceTag::builder()
                        .key(OWNERSHIP_TAG)
                        .value(OWNERSHIP_VALUE)
                        .build()
                        .context("budget ownership tag")?,
                );
            for notification in &desired.notifications {
                let subscribers =
                    notification.subscribers.iter().map(|label| subscriber_from_label(label)).collect::<Result<_>>()?;
                request = request.notifications_with_subscribers(
                    NotificationWithSubscribers::builder()
                        .notification(notification_of(notification)?)
                        .set_subscribers(Some(subscribers))
                        .build()
                        .context("budget notification")?,
                );
            }
            // https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_budgets_CreateBudget.html
            match request.send().await {
                Ok(_) => return Ok(()),
                // Created since it was read (a retried apply): reconcile what exists below.
                Err(error) if crate::aws::errors::is_budgets_duplicate(&error) => {}
                Err(error) => return Err(aws_error("CreateBudget", error)),
            }
            let live = read_budget(client, account_id, name)
                .await?
                .with_context(|| format!("budget `{name}` exists and cannot be read"))?;
            decode::<BudgetAttributes>(key, &live)?
        }
    };
    if (live.limit_usd != desired.limit_usd)
        || live.time_unit != desired.time_unit
        || live.budget_type != desired.budget_type
    {
        // https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_budgets_UpdateBudget.html
        client
            .update_budget()
            .account_id(account_id)
            .new_budget(budget_of(name, &desired)?)
            .send()
            .await
            .map_err(|error| aws_error("UpdateBudget", error))?;
    }
    for extra in
        live.notifications.iter().filter(|live| !desired.notifications.iter().any(|d| d.same_notification(live)))
    {
        // https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_budgets_DeleteNotification.html
        match client
            .delete_notification()
            .account_id(account_id)
            .budget_name(name)
            .notification(notification_of(extra)?)
            .send()
            .await
        {
            Ok(_) => {}
            Err(error) if is_budgets_not_found(&error) => {}
            Err(error) => return Err(aws_error("DeleteNotification", error)),
        }
    }
    for wanted in &desired.notifications {
        let notification = notification_of(wanted)?;
        let Some(existing) = live.notifications.iter().find(|live| live.same_notification(wanted)) else {
            let subscribers =
                wanted.subscribers.iter().map(|label| subscriber_from_label(label)).collect::<Result<_>>()?;
            // https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_budgets_CreateNotification.html
            match client
                .create_notification()
                .account_id(account_id)
                .budget_name(name)
                .notification(notification)
                .set_subscribers(Some(subscribers))
                .send()
                .await
            {
                Ok(_) => {}
                Err(error) if crate::aws::errors::is_budgets_duplicate(&error) => {}
                Err(error) => return Err(aws_error("CreateNotification", error)),
            }
            continue;
        };
        // Add first, then remove: a notification keeps at least one subscriber throughout.
        for label in wanted.subscribers.difference(&existing.subscribers) {
            // https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_budgets_CreateSubscriber.html
            match client
                .create_subscriber()
                .account_id(account_id)
                .budget_name(name)
                .notification(notification.clone())
                .subscriber(subscriber_from_label(label)?)
                .send()
                .await
            {
                Ok(_) => {}
                Err(error) if crate::aws::errors::is_budgets_duplicate(&error) => {}
                Err(error) => return Err(aws_error("CreateSubscriber", error)),
            }
        }
        for label in existing.subscribers.difference(&wanted.subscribers) {
            // https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_budgets_DeleteSubscriber.html
            match client
                .delete_subscriber()
                .account_id(account_id)
                .budget_name(name)
                .notification(notification.clone())
                .subscriber(subscriber_from_label(label)?)
                .send()
                .await
            {
                Ok(_) => {}
                Err(error) if is_budgets_not_found(&error) => {}
                Err(error) => return Err(aws_error("DeleteSubscriber", error)),
            }
        }
    }
    Ok(())
}

/// A budget's ARN, as ListTagsForResource takes it: `arn:${Partition}:budgets::${Account}:budget/${BudgetName}`
/// (the `budget` resource type,
/// https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsbudgetservice.html).
fn budget_arn(client: &aws_sdk_budgets::Client, account_id: &str, name: &str) -> String {
    let region = client.config().region().map_or("us-east-1", |region| region.as_ref());
    format!("arn:{}:budgets::{account_id}:budget/{name}", crate::aws::session::partition_of(region))
}

/// Whether a budget carries landing-zone's ownership tag; None when the budget is gone.
/// https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_budgets_ListTagsForResource.html
pub async fn is_owned(client: &aws_sdk_budgets::Client, account_id: &str, name: &str) -> Result<Option<bool>> {
    match client.list_tags_for_resource().resource_arn(budget_arn(client, account_id, name)).send().await {
        Ok(output) => {
            Ok(Some(output.resource_tags().iter().any(|tag| tag.key == OWNERSHIP_TAG && tag.value == OWNERSHIP_VALUE)))
        }
        Err(error) if is_budgets_not_found(&error) => Ok(None),
        Err(error) => Err(aws_error("ListTagsForResource", error)),
    }
}

/// Every budget in the account, as DescribeBudgets lists it.
pub async fn list_budgets(client: &aws_sdk_budgets::Client, account_id: &str) -> Result<Vec<Budget>> {
    let mut budgets = Vec::new();
    // https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_budgets_DescribeBudgets.html
    let mut pages = client.describe_budgets().account_id(account_id).into_paginator().send();
    while let Some(page) = pages.next().await {
        match page {
            Ok(page) => budgets.extend(page.budgets.unwrap_or_default()),
            // An account without budgets answers NotFoundException.
            Err(error) if is_budgets_not_found(&error) => break,
            Err(error) => return Err(aws_error("DescribeBudgets", error)),
        }
    }
    Ok(budgets)
}

/// Every budget in the account that `wanted` does not name, marked owned when it carries the
/// ownership tag (read in full then: the plan shows what it removes).
pub async fn find_budgets(
    client: &aws_sdk_budgets::Client,
    account: &str,
    account_id: &str,
    wanted: &BTreeSet<ControlKey>,
) -> Result<Vec<Found>> {
    let names = list_budgets(client, account_id).await?.into_iter().map(|budget| budget.budget_name);
    let mut found = Vec::new();
    for name in names {
        let key = ControlKey::new(format!("{CONTROL}/{name}"), account, None);
        if wanted.contains(&key) {
            continue;
        }
        let owned = is_owned(client, account_id, &name).await?.unwrap_or(false);
        let attributes = match owned {
            true => read_budget(client, account_id, &name).await?.unwrap_or(Value::Null),
            false => Value::Null,
        };
        found.push(Found { key, owned, attributes, loses_data: None });
    }
    Ok(found)
}

/// Deletes a budget landing-zone created (with its notifications and subscribers); refuses one
/// that no longer carries the ownership tag; one already gone is success.
pub async fn remove_budget(client: &aws_sdk_budgets::Client, key: &ControlKey, account_id: &str) -> Result<()> {
    let name = budget_name(key);
    match is_owned(client, account_id, name).await? {
        None => return Ok(()),
        Some(false) => anyhow::bail!(
            "{}: the budget no longer carries the `{OWNERSHIP_TAG}` tag; landing-zone removes only what it created\nhint: plan again",
            key.label()
        ),
        Some(true) => {}
    }
    // https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_budgets_DeleteBudget.html
    match client.delete_budget().account_id(account_id).budget_name(name).send().await {
        Ok(_) => Ok(()),
        Err(error) if is_budgets_not_found(&error) => Ok(()),
        Err(error) => Err(aws_error("DeleteBudget", error)),
    }
}

/// The `baseline.budgets` section in the registry.
pub struct Budgets;

impl Baseline for Budgets {
    fn validate(&self, checker: &mut Checker<'_>) {
        validate::check(checker);
    }

    fn audited_by_reader(&self) -> bool {
        true
    }

    fn family(&self) -> &'static str {
        CONTROL
    }

    fn section(&self) -> &'static str {
        "budgets"
    }

    fn summary(&self) -> &'static str {
        "monthly cost budgets with e-mail alarms on actual and forecasted spend"
    }

    fn desired(&self, inputs: &Inputs<'_>) -> Vec<DesiredControl> {
        desired(inputs)
    }

    fn permissions(&self) -> Permissions {
        // Every Budgets read is budgets:ViewBudget and every write budgets:ModifyBudget:
        // https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsbudgetservice.html
        Permissions {
            management: Actions { read: &[], write: &[] },
            // Tags: budgets:ListTagsForResource to find what it created, budgets:TagResource to
            // create a budget with its ownership tag (same page).
            in_account: Actions {
                read: &["budgets:ViewBudget", "budgets:ListTagsForResource"],
                write: &["budgets:ModifyBudget", "budgets:TagResource"],
            },
        }
    }

    fn ownership(&self) -> Option<Ownership> {
        // A budget's history is Cost Explorer's, not the budget's: removing one loses nothing
        // the spec cannot re-create.
        Some(Ownership { places: Places::Account })
    }

    fn find<'a>(
        &'a self,
        context: &'a Context<'_>,
        account: &'a str,
        _region: Option<&'a str>,
        wanted: &'a BTreeSet<ControlKey>,
    ) -> BoxFuture<'a, Result<Vec<Found>>> {
        Box::pin(async move {
            let account_id = context.account_id(account)?;
            let client = context.sessions.client::<aws_sdk_budgets::Client>(account_id, None).await;
            find_budgets(&client, account, account_id, wanted).await
        })
    }

    fn remove<'a>(
        &'a self,
        context: &'a Context<'_>,
        key: &'a ControlKey,
        _before: &'a Value,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let account_id = context.account_id(&key.account)?;
            let client = context.sessions.client::<aws_sdk_budgets::Client>(account_id, None).await;
            remove_budget(&client, key, account_id).await
        })
    }

    fn import<'a>(
        &'a self,
        context: &'a Context<'_>,
        scope: &'a super::import::ImportScope,
    ) -> BoxFuture<'a, Result<Option<super::import::ImportedSection>>> {
        Box::pin(import::import(context, scope))
    }

    fn read<'a>(
        &'a self,
        context: &'a Context<'_>,
        key: &'a ControlKey,
        _desired: &'a Value,
    ) -> BoxFuture<'a, Result<Option<Value>>> {
        Box::pin(async move {
            let account_id = context.account_id(&key.account)?;
            let client = context.sessions.client::<aws_sdk_budgets::Client>(account_id, None).await;
            read_budget(&client, account_id, budget_name(key)).await
        })
    }

    fn apply<'a>(
        &'a self,
        context: &'a Context<'_>,
        key: &'a ControlKey,
        attributes: &'a Value,
        _before: Option<&'a Value>,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let account_id = context.account_id(&key.account)?;
            let client = context.sessions.client::<aws_sdk_budgets::Client>(account_id, None).await;
            apply_budget(&client, key, account_id, attributes).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn desired_alarms_are_sorted_and_addressed_to_every_recipient() {
        let spec = BudgetSpec {
            account: Some("management".to_string()),
            targets: None,
            limit_usd: 5000,
            thresholds: vec![100, 80],
            forecast_threshold: Some(110),
            notify: vec!["finance@example.com".to_string()],
        };
        let attributes = desired_attributes(&spec);
        assert_eq!(attributes.limit_usd, 5000.0);
        let shown: Vec<(&str, f64)> = attributes.notifications.iter().map(|n| (n.kind.as_str(), n.threshold)).collect();
        assert_eq!(shown, [("ACTUAL", 80.0), ("ACTUAL", 100.0), ("FORECASTED", 110.0)]);
        assert!(attributes
            .notifications
            .iter()
            .all(|n| n.subscribers == BTreeSet::from(["EMAIL:finance@example.com".to_string()])
                && n.comparison == "GREATER_THAN"
                && n.threshold_type == "PERCENTAGE"));
        let key = ControlKey::new("budget/organization-monthly", "management", None);
        assert_eq!(decode::<BudgetAttributes>(&key, &encode(&attributes)).expect("round trip"), attributes);
    }
}
