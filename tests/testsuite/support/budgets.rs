//! The AWS Budgets operations moto 5.2.5 lacks, served by the strict layer from its own state:
//! `UpdateBudget` (kept as an overlay on moto's budget: DescribeBudget / DescribeBudgets answers
//! carry the updated limit, time unit and type), and the subscribers of each notification
//! (`DescribeSubscribersForNotification`, `CreateSubscriber`, `DeleteSubscriber`), recorded from the
//! CreateBudget / CreateNotification requests moto accepted. moto keeps budgets and notifications.
//! Shapes and errors from the API reference:
//! https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_budgets_UpdateBudget.html
//! https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_budgets_DescribeSubscribersForNotification.html
//! https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_budgets_CreateSubscriber.html
//! https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_budgets_DeleteSubscriber.html
//! It also keeps each budget's tags (moto drops CreateBudget's `ResourceTags`) and answers
//! `ListTagsForResource` by the budget's ARN, `arn:${Partition}:budgets::${Account}:budget/${BudgetName}`:
//! https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_budgets_ListTagsForResource.html
//! https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsbudgetservice.html

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::proxy::{error_response, forward, Protocol, Request, Response};

/// (caller account, `AccountId`, budget name).
type BudgetKey = (String, String, String);

#[derive(Default)]
pub struct BudgetState {
    /// The `NewBudget` of the last UpdateBudget of each budget.
    overlays: BTreeMap<BudgetKey, Value>,
    /// Subscribers (`{SubscriptionType, Address}`) by budget and notification key.
    subscribers: BTreeMap<(BudgetKey, String), Vec<Value>>,
    /// `ResourceTags` (`{Key, Value}`) by budget, from CreateBudget.
    tags: BTreeMap<BudgetKey, Vec<Value>>,
}

/// Asks moto, as the caller, for one budget (DescribeBudget): its answer.
async fn describe_as_caller(upstream_port: u16, request: &Request, account: &str, name: &str) -> Option<Response> {
    let mut describe = Request {
        method: request.method.clone(),
        target: request.target.clone(),
        headers: request.headers.clone(),
        body: json!({ "AccountId": account, "BudgetName": name }).to_string().into_bytes(),
    };
    for (header, value) in describe.headers.iter_mut() {
        if header.eq_ignore_ascii_case("x-amz-target") {
            *value = "AWSBudgetServiceGateway.DescribeBudget".to_string();
        } else if header.eq_ignore_ascii_case("content-length") {
            *value = describe.body.len().to_string();
        }
    }
    forward(upstream_port, &describe).await.ok()
}

fn body(request: &Request) -> Value {
    serde_json::from_slice(&request.body).unwrap_or(Value::Null)
}

fn budget_key(caller: &str, body: &Value) -> BudgetKey {
    let name = body["BudgetName"]
        .as_str()
        .or(body["Budget"]["BudgetName"].as_str())
        .or(body["NewBudget"]["BudgetName"].as_str());
    (
        caller.to_string(),
        body["AccountId"].as_str().unwrap_or_default().to_string(),
        name.unwrap_or_default().to_string(),
    )
}

/// What identifies a notification: type, operator, threshold and threshold type (PERCENTAGE when absent).
fn notification_key(notification: &Value) -> String {
    format!(
        "{}|{}|{}|{}",
        notification["NotificationType"].as_str().unwrap_or_default(),
        notification["ComparisonOperator"].as_str().unwrap_or_default(),
        notification["Threshold"].as_f64().unwrap_or_default(),
        notification["ThresholdType"].as_str().unwrap_or("PERCENTAGE")
    )
}

fn answer(value: Value) -> Response {
    Response {
        status: 200,
        headers: vec![("content-type".to_string(), "application/x-amz-json-1.1".to_string())],
        body: value.to_string().into_bytes(),
    }
}

fn not_found(message: &str) -> Response {
    error_response(Protocol::Json, 400, "NotFoundException", message)
}

/// Serves the operations moto lacks; None lets the request through to moto.
pub async fn before(
    state: &std::sync::Mutex<BudgetState>,
    upstream_port: u16,
    caller: &str,
    operation: &str,
    request: &Request,
) -> Option<Response> {
    let request_body = body(request);
    let key = budget_key(caller, &request_body);
    match operation {
        "ListTagsForResource" => {
            let arn = request_body["ResourceARN"].as_str().unwrap_or_default();
            let parsed = arn
                .strip_prefix("arn:")
                .and_then(|rest| rest.split_once(":budgets::"))
                .and_then(|(_, rest)| rest.split_once(":budget/"));
            let Some((account, name)) = parsed else {
                return Some(error_response(Protocol::Json, 400, "InvalidParameterException", "invalid ResourceARN"));
            };
            let described = describe_as_caller(upstream_port, request, account, name).await?;
            if described.status != 200 {
                return Some(not_found("Unable to get tags - the budget doesn't exist."));
            }
            let key = (caller.to_string(), account.to_string(), name.to_string());
            let tags = lock(state).tags.get(&key).cloned().unwrap_or_default();
            Some(answer(json!({ "ResourceTags": tags })))
        }
        "UpdateBudget" => {
            // The budget must exist: ask moto as the caller.
            let described = describe_as_caller(upstream_port, request, &key.1, &key.2).await?;
            if described.status != 200 {
                return Some(described);
            }
            lock(state).overlays.insert(key, request_body["NewBudget"].clone());
            Some(answer(json!({})))
        }
        "DescribeSubscribersForNotification" => {
            let notification = notification_key(&request_body["Notification"]);
            match lock(state).subscribers.get(&(key, notification)) {
                Some(subscribers) if !subscribers.is_empty() => Some(answer(json!({ "Subscribers": subscribers }))),
                _ => Some(not_found("Unable to get subscribers - the notification doesn't exist.")),
            }
        }
        "CreateSubscriber" => {
            let notification = notification_key(&request_body["Notification"]);
            let mut state = lock(state);
            let Some(subscribers) = state.subscribers.get_mut(&(key, notification)) else {
                return Some(not_found("Unable to create subscriber - the notification doesn't exist."));
            };
            let subscriber = request_body["Subscriber"].clone();
            if subscribers.contains(&subscriber) {
                return Some(error_response(
                    Protocol::Json,
                    400,
                    "DuplicateRecordException",
                    "Unable to create subscriber - the subscriber already exists.",
                ));
            }
            subscribers.push(subscriber);
            Some(answer(json!({})))
        }
        "DeleteSubscriber" => {
            let notification = notification_key(&request_body["Notification"]);
            let mut state = lock(state);
            let subscribers = state.subscribers.get_mut(&(key, notification));
            let subscriber = &request_body["Subscriber"];
            match subscribers {
                Some(subscribers) if subscribers.contains(subscriber) => {
                    subscribers.retain(|existing| existing != subscriber);
                    Some(answer(json!({})))
                }
                _ => Some(not_found("Unable to delete subscriber - the subscriber doesn't exist.")),
            }
        }
        _ => None,
    }
}

/// Records what moto accepted, and lays updates over moto's budgets.
pub fn after(
    state: &std::sync::Mutex<BudgetState>,
    caller: &str,
    operation: &str,
    request: &Request,
    response: &mut Response,
) {
    if response.status != 200 {
        return;
    }
    let request_body = body(request);
    let key = budget_key(caller, &request_body);
    let mut state = lock(state);
    match operation {
        "CreateBudget" => {
            let tags = request_body["ResourceTags"].as_array().cloned().unwrap_or_default();
            state.tags.insert(key.clone(), tags);
            for entry in request_body["NotificationsWithSubscribers"].as_array().into_iter().flatten() {
                let subscribers = entry["Subscribers"].as_array().cloned().unwrap_or_default();
                state.subscribers.insert((key.clone(), notification_key(&entry["Notification"])), subscribers);
            }
        }
        "CreateNotification" => {
            let subscribers = request_body["Subscribers"].as_array().cloned().unwrap_or_default();
            state.subscribers.insert((key, notification_key(&request_body["Notification"])), subscribers);
        }
        "DeleteNotification" => {
            state.subscribers.remove(&(key, notification_key(&request_body["Notification"])));
        }
        "DeleteBudget" => {
            state.overlays.remove(&key);
            state.tags.remove(&key);
            state.subscribers.retain(|(budget, _), _| budget != &key);
        }
        "DescribeBudget" | "DescribeBudgets" => {
            let Ok(mut answer) = serde_json::from_slice::<Value>(&response.body) else { return };
            let overlay = |budget: &mut Value| {
                let name = budget["BudgetName"].as_str().unwrap_or_default().to_string();
                if let Some(update) = state.overlays.get(&(key.0.clone(), key.1.clone(), name)) {
                    for field in ["BudgetLimit", "TimeUnit", "BudgetType"] {
                        if !update[field].is_null() {
                            budget[field] = update[field].clone();
                        }
                    }
                }
            };
            if let Some(budgets) = answer["Budgets"].as_array_mut() {
                budgets.iter_mut().for_each(overlay);
            } else if answer["Budget"].is_object() {
                overlay(&mut answer["Budget"]);
            }
            response.body = answer.to_string().into_bytes();
        }
        _ => {}
    }
}

fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
