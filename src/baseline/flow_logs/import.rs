//! `import` of `baseline.flow_logs`: the accounts where every VPC, in every region of the imported
//! spec, has a flow log to the bunker bucket (the one `baseline.log_archive`'s import finds), with
//! the traffic type they share. The section also writes the bunker's policies: its bucket policy
//! and key policy admit the log delivery service for the section's accounts, so it is written only
//! when the accounts those policies admit are exactly the accounts it targets, and all of them log
//! every VPC there. Otherwise it is left out, with a note. Reads only.

use anyhow::Result;
use serde_json::Value;

use super::{flow_logs_to, CONTROL};
use crate::aws::session::partition_of;
use crate::baseline::import::{per_account, ImportScope, ImportedSection};
use crate::baseline::log_archive::{self, locate_bunker, KeyAttributes};
use crate::baseline::vpcs::{ec2_client, vpcs};
use crate::baseline::Context;
use crate::plan::control::ControlKey;
use crate::spec::{FlowLogTraffic, FlowLogsSpec, Targets};

/// The traffic types, in the order one is chosen when several fit (`ALL` records the most).
const TRAFFIC: [FlowLogTraffic; 3] = [FlowLogTraffic::All, FlowLogTraffic::Accept, FlowLogTraffic::Reject];

/// The statement ids of the bunker's policies that admit flow log delivery, as
/// `log_archive::documents` writes them: in the bucket policy and in the key policy.
const BUCKET_STATEMENT: &str = "AWSLogDeliveryWrite";
const KEY_STATEMENT: &str = "FlowLogDeliveryEncrypts";

/// The section for the accounts the bunker admits flow logs of, when each of them logs every VPC
/// there with one traffic type; None when the bunker admits none and no account logs to it.
pub async fn import(context: &Context<'_>, scope: &ImportScope) -> Result<Option<ImportedSection>> {
    let Some(bunker) = locate_bunker(context, scope).await? else { return Ok(None) };
    let Some(home) = scope.regions.first() else { return Ok(None) };
    let destination = format!("arn:{}:s3:::{}", partition_of(home), bunker.bucket);
    let destination = destination.as_str();
    // Per account: the traffic types with which every VPC of every region logs to the bunker, and
    // whether it has any VPC at all (an account without one fits any type).
    let found = per_account(scope, |account| async move {
        let mut fitting: Vec<FlowLogTraffic> = TRAFFIC.to_vec();
        let mut has_vpcs = false;
        for region in &scope.regions {
            let ec2 = ec2_client(context, &ControlKey::new(CONTROL, &account, Some(region))).await?;
            let all = vpcs(&ec2, false).await?;
            if all.is_empty() {
                continue;
            }
            has_vpcs = true;
            let logged = flow_logs_to(&ec2, destination).await?;
            fitting.retain(|traffic| {
                all.iter().filter_map(|vpc| vpc.vpc_id()).all(|vpc| {
                    logged
                        .iter()
                        .any(|(logged_vpc, logged_traffic)| logged_vpc == vpc && logged_traffic == traffic.as_str())
                })
            });
        }
        Ok(Some((fitting, has_vpcs)))
    })
    .await?;

    let (bucket_ids, key_ids) = admitted(context, &bunker.account, &bunker.bucket, home).await?;
    let logging: Vec<&str> = found
        .iter()
        .filter(|(_, (fitting, has_vpcs))| *has_vpcs && !fitting.is_empty())
        .map(|(account, _)| account.as_str())
        .collect();
    if bucket_ids.is_none() && key_ids.is_none() {
        if logging.is_empty() {
            return Ok(None);
        }
        return Ok(Some(left_out(format!(
            "{} log every VPC to the bunker `{}`, whose bucket policy has no `{BUCKET_STATEMENT}` statement the section would write; writing it would change that policy",
            named(&logging),
            bunker.bucket
        ))));
    }
    if bucket_ids != key_ids {
        return Ok(Some(left_out(format!(
            "the bunker's bucket policy (`{BUCKET_STATEMENT}`) and key policy (`{KEY_STATEMENT}`) admit the flow logs of different accounts ({} and {}); the section would make them the same",
            ids_or_none(bucket_ids.as_deref()),
            ids_or_none(key_ids.as_deref())
        ))));
    }
    let ids = bucket_ids.unwrap_or_default();
    let mut admitted_accounts = Vec::new();
    for id in &ids {
        match scope.name_of(id) {
            Some(name) => admitted_accounts.push(name.to_string()),
            None => {
                return Ok(Some(left_out(format!(
                    "the bunker's policies admit the flow logs of account {id}, which is not imported"
                ))))
            }
        }
    }
    // The section's policies list the accounts in the spec's order (by name): another order in
    // the live policy would be rewritten.
    if !admitted_accounts.windows(2).all(|pair| pair[0] < pair[1]) {
        return Ok(Some(left_out(format!(
            "the bunker's policies admit the flow logs of {} in an order the section does not write",
            named(&admitted_accounts.iter().map(String::as_str).collect::<Vec<_>>())
        ))));
    }
    let fits = |traffic: &FlowLogTraffic| {
        admitted_accounts.iter().all(|account| found.get(account).is_some_and(|(fitting, _)| fitting.contains(traffic)))
    };
    let Some(traffic) = TRAFFIC.into_iter().find(fits) else {
        let lacking: Vec<String> = admitted_accounts
            .iter()
            .filter(|account| found.get(*account).is_none_or(|(fitting, _)| fitting.is_empty()))
            .map(|account| format!("`{account}`"))
            .collect();
        let why = if lacking.is_empty() {
            "log their VPCs with different traffic types".to_string()
        } else {
            format!("include {} with a VPC that has no flow log to it", lacking.join(", "))
        };
        return Ok(Some(left_out(format!(
            "the accounts the bunker `{}` admits flow logs of {why}; the section would create flow logs",
            bunker.bucket
        ))));
    };
    let mut notes = Vec::new();
    let outside: Vec<&str> =
        logging.iter().copied().filter(|account| !admitted_accounts.iter().any(|a| a == account)).collect();
    if !outside.is_empty() {
        notes.push(format!(
            "`baseline.flow_logs` leaves out {}: they log to the bunker, but its policies do not admit them",
            named(&outside)
        ));
    }
    let targets = if scope.accounts.keys().eq(admitted_accounts.iter()) {
        Targets::everywhere()
    } else {
        Targets { accounts: admitted_accounts, ..Targets::default() }
    };
    ImportedSection::new(FlowLogsSpec { targets, traffic }, notes).map(Some)
}

/// The account ids the bunker's bucket policy and key policy admit flow logs of (their
/// `aws:SourceAccount` lists, in order); None where the statement is absent.
/// https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-s3-permissions.html
async fn admitted(
    context: &Context<'_>,
    account: &str,
    bucket: &str,
    home: &str,
) -> Result<(Option<Vec<String>>, Option<Vec<String>>)> {
    // The bucket's policy alone (one GetBucketPolicy, not the bucket's every setting), read and
    // parsed as the log archive's plan reads it; the key through the log archive's own reader.
    let s3 = context.sessions.client::<aws_sdk_s3::Client>(context.account_id(account)?, Some(home)).await;
    let bucket_policy = log_archive::policy_document(&s3, bucket).await?;
    let key_key = ControlKey::new(log_archive::KEY_CONTROL, account, Some(home));
    let key = log_archive::read(context, &key_key, &Value::Null).await?;
    let key_policy =
        key.and_then(|key| serde_json::from_value::<KeyAttributes>(key).ok()).map_or(Value::Null, |key| key.policy);
    Ok((source_accounts(&bucket_policy, BUCKET_STATEMENT), source_accounts(&key_policy, KEY_STATEMENT)))
}

/// The `aws:SourceAccount` list of the statement `sid` of `policy`; None without the statement or
/// a non-empty list of strings there (the section writes neither a single string nor an empty
/// list).
fn source_accounts(policy: &Value, sid: &str) -> Option<Vec<String>> {
    let statement = policy["Statement"].as_array()?.iter().find(|statement| statement["Sid"] == sid)?;
    let ids: Vec<String> = statement["Condition"]["StringEquals"]["aws:SourceAccount"]
        .as_array()?
        .iter()
        .map(|id| id.as_str().map(str::to_string))
        .collect::<Option<_>>()?;
    (!ids.is_empty()).then_some(ids)
}

fn named(accounts: &[&str]) -> String {
    accounts.iter().map(|account| format!("`{account}`")).collect::<Vec<_>>().join(", ")
}

fn ids_or_none(ids: Option<&[String]>) -> String {
    match ids {
        Some(ids) if !ids.is_empty() => ids.join(", "),
        _ => "none".to_string(),
    }
}

fn left_out(why: String) -> ImportedSection {
    ImportedSection::left_out(format!("`baseline.flow_logs` left out: {why}"))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_admitted_accounts_are_the_source_account_list_of_the_statement() {
        let policy = json!({ "Statement": [
            { "Sid": "DenyInsecureTransport" },
            { "Sid": "AWSLogDeliveryWrite", "Condition": { "StringEquals": {
                "aws:SourceAccount": ["111111111111", "222222222222"], "s3:x-amz-acl": "bucket-owner-full-control" } } },
        ] });
        assert_eq!(
            source_accounts(&policy, BUCKET_STATEMENT),
            Some(vec!["111111111111".to_string(), "222222222222".to_string()])
        );
        assert_eq!(source_accounts(&policy, KEY_STATEMENT), None);
        // A single account as a string is not the shape the section writes.
        let single = json!({ "Statement": [{ "Sid": "AWSLogDeliveryWrite",
            "Condition": { "StringEquals": { "aws:SourceAccount": "111111111111" } } }] });
        assert_eq!(source_accounts(&single, BUCKET_STATEMENT), None);
        let empty = json!({ "Statement": [{ "Sid": "AWSLogDeliveryWrite",
            "Condition": { "StringEquals": { "aws:SourceAccount": [] } } }] });
        assert_eq!(source_accounts(&empty, BUCKET_STATEMENT), None);
    }
}
