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
        "UpdateBudget" => {
            // The budget must exist: ask moto as the caller.
            let mut describe = Request {
                method: request.method.clone(),
                target: request.target.clone(),
                headers: request.headers.clone(),
                body: json!({ "AccountId": key.1, "BudgetName": key.2 }).to_string().into_bytes(),
            };
            for (name, value) in describe.headers.iter_mut() {
                if name.eq_ignore_ascii_case("x-amz-target") {
                    *value = "AWSBudgetServiceGateway.DescribeBudget".to_string();
                } else if name.eq_ignore_ascii_case("content-length") {
                    *value = describe.body.len().to_string();
                }
            }
            let described = forward(upstream_port, &describe).await.ok()?;
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
