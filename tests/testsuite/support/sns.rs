//! Amazon SNS as AWS runs it, where moto 5.2.5 does not: moto confirms an e-mail subscription the
//! moment it is made, while AWS e-mails the address a confirmation link and, until it is followed,
//! lists the subscription with `PendingConfirmation` in place of its ARN
//! (https://docs.aws.amazon.com/sns/latest/api/API_Subscription.html,
//! https://docs.aws.amazon.com/sns/latest/dg/sns-email-notifications.html). The layer rewrites
//! ListSubscriptionsByTopic answers so: every e-mail subscription is pending until a test
//! confirms its address (`Proxy::confirm_email`), as following the link would.

use std::collections::BTreeSet;

use super::proxy::{Request, Response};

#[derive(Default)]
pub struct SnsState {
    /// E-mail addresses that followed their confirmation link.
    pub confirmed: BTreeSet<String>,
}

/// Rewrites moto's answer to what AWS would answer.
pub fn after(state: &std::sync::Mutex<SnsState>, operation: &str, _request: &Request, response: &mut Response) {
    if operation != "ListSubscriptionsByTopic" || response.status != 200 {
        return;
    }
    let Ok(body) = std::str::from_utf8(&response.body) else { return };
    let state = state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut rewritten = String::with_capacity(body.len());
    let mut rest = body;
    while let Some(start) = rest.find("<member>") {
        let Some(length) = rest[start..].find("</member>") else { break };
        let end = start + length + "</member>".len();
        rewritten.push_str(&rest[..start]);
        let member = &rest[start..end];
        let endpoint = between(member, "<Endpoint>", "</Endpoint>").unwrap_or_default();
        let pending = member.contains("<Protocol>email</Protocol>") && !state.confirmed.contains(endpoint);
        match (pending, between(member, "<SubscriptionArn>", "</SubscriptionArn>")) {
            (true, Some(arn)) => rewritten.push_str(&member.replacen(arn, "PendingConfirmation", 1)),
            _ => rewritten.push_str(member),
        }
        rest = &rest[end..];
    }
    rewritten.push_str(rest);
    response.body = rewritten.into_bytes();
}

fn between<'a>(text: &'a str, open: &str, close: &str) -> Option<&'a str> {
    let start = text.find(open)? + open.len();
    let length = text[start..].find(close)?;
    Some(&text[start..start + length])
}
