//! VPC flow logs to another account's S3 bucket, which moto 5.2.5 accepts whatever the bucket's
//! policy says. AWS: "If the user creating the flow log owns the bucket … we automatically attach
//! the following policy to the bucket … Otherwise, the bucket owner must add this policy to the
//! bucket, specifying the AWS account ID of the flow log creator, or flow log creation fails"
//! (https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-s3-permissions.html). CreateFlowLogs
//! reports a resource it could not make a flow log for in `Unsuccessful`, not as an error
//! (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateFlowLogs.html). The layer
//! reads the bucket's policy from moto and refuses the flow log, that way, unless a statement
//! allows `delivery.logs.amazonaws.com` to `s3:PutObject` under `AWSLogs/<caller>/` with every
//! `aws:SourceAccount` / `aws:SourceArn` / `s3:x-amz-acl` condition it carries met by a delivery
//! for the caller's account in the request's Region.

use serde_json::Value;

use super::proxy::{forward, Request, Response};

/// A parameter of a query-protocol (form) body.
fn form_parameter(request: &Request, name: &str) -> Option<String> {
    let body = String::from_utf8_lossy(&request.body);
    body.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        (super::strict::percent_decode(key) == name).then(|| super::strict::percent_decode(value))
    })
}

/// `ResourceId.1`, `ResourceId.2`, … of the request.
fn resource_ids(request: &Request) -> Vec<String> {
    (1..).map_while(|index| form_parameter(request, &format!("ResourceId.{index}"))).collect()
}

/// An S3 request of the layer's own to moto, as `account`.
async fn s3(upstream_port: u16, account: &str, target: &str) -> Option<Response> {
    let request = Request {
        method: "GET".to_string(),
        target: target.to_string(),
        headers: vec![
            ("host".to_string(), format!("127.0.0.1:{upstream_port}")),
            (
                "authorization".to_string(),
                "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00"
                    .to_string(),
            ),
            ("x-moto-account-id".to_string(), account.to_string()),
        ],
        body: Vec::new(),
    };
    forward(upstream_port, &request).await.ok()
}

fn strings(value: &Value) -> Vec<String> {
    match value {
        Value::String(text) => vec![text.clone()],
        Value::Array(items) => items.iter().filter_map(Value::as_str).map(str::to_string).collect(),
        _ => Vec::new(),
    }
}

fn glob(pattern: &str, text: &str) -> bool {
    let pieces: Vec<&str> = pattern.split('*').collect();
    let mut rest = text;
    for (index, piece) in pieces.iter().enumerate() {
        if index == 0 {
            let Some(after) = rest.strip_prefix(piece) else { return false };
            rest = after;
        } else if index == pieces.len() - 1 {
            return rest.ends_with(piece);
        } else {
            let Some(found) = rest.find(piece) else { return false };
            rest = &rest[found + piece.len()..];
        }
    }
    rest.is_empty()
}

/// Whether the bucket policy lets the log delivery service write a flow log file of `account`
/// in `region` into `bucket`.
pub fn admits(policy: &Value, bucket: &str, account: &str, region: &str) -> bool {
    let object = format!("arn:aws:s3:::{bucket}/AWSLogs/{account}/vpcflowlogs/{region}/file.log.gz");
    let facts = [
        ("aws:sourceaccount", account.to_string()),
        ("aws:sourcearn", format!("arn:aws:logs:{region}:{account}:*")),
        ("s3:x-amz-acl", "bucket-owner-full-control".to_string()),
    ];
    let statements: Vec<&Value> = match &policy["Statement"] {
        Value::Array(items) => items.iter().collect(),
        single => vec![single],
    };
    statements.iter().any(|statement| {
        statement["Effect"] == "Allow"
            && strings(&statement["Principal"]["Service"]).iter().any(|s| s == "delivery.logs.amazonaws.com")
            && strings(&statement["Action"]).iter().any(|action| glob(action, "s3:PutObject"))
            && strings(&statement["Resource"]).iter().any(|resource| glob(resource, &object))
            && statement["Condition"].as_object().into_iter().flatten().all(|(operator, conditions)| {
                conditions.as_object().into_iter().flatten().all(|(key, wanted)| {
                    let Some((_, fact)) = facts.iter().find(|(name, _)| key.eq_ignore_ascii_case(name)) else {
                        // A condition on anything else is not met by a delivery.
                        return false;
                    };
                    let wanted = strings(wanted);
                    match operator.as_str() {
                        "StringEquals" => wanted.iter().any(|value| value == fact),
                        "StringLike" | "ArnLike" => wanted.iter().any(|value| glob(value, fact)),
                        _ => false,
                    }
                })
            })
    })
}

/// Judges CreateFlowLogs to S3; None lets it through to moto.
pub async fn before(upstream_port: u16, caller: &str, region: &str, request: &Request) -> Option<Response> {
    if form_parameter(request, "Action").as_deref() != Some("CreateFlowLogs")
        || form_parameter(request, "LogDestinationType").as_deref() != Some("s3")
    {
        return None;
    }
    let destination = form_parameter(request, "LogDestination")?;
    let bucket = destination.split(":::").nth(1)?.split('/').next()?.to_string();
    // The caller's own bucket: AWS attaches the policy itself.
    let owned = s3(upstream_port, caller, "/").await?;
    if String::from_utf8_lossy(&owned.body).contains(&format!("<Name>{bucket}</Name>")) {
        return None;
    }
    let policy = s3(upstream_port, caller, &format!("/{bucket}?policy")).await?;
    let policy: Value = serde_json::from_slice(&policy.body).unwrap_or(Value::Null);
    if admits(&policy, &bucket, caller, region) {
        return None;
    }
    let items: String = resource_ids(request)
        .iter()
        .map(|id| {
            format!(
                "<item><error><code>400</code><message>Access Denied for LogDestination: {bucket}. Please check LogDestination permission</message></error><resourceId>{id}</resourceId></item>"
            )
        })
        .collect();
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<CreateFlowLogsResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\"><requestId>strict-layer</requestId><flowLogIdSet/><unsuccessful>{items}</unsuccessful></CreateFlowLogsResponse>"
    );
    Some(Response {
        status: 200,
        headers: vec![("content-type".to_string(), "text/xml".to_string())],
        body: body.into_bytes(),
    })
}
