//! `baseline.s3_block_public_access`: account-level S3 Block Public Access (S3 Control API).
//!
//! Must be set before an SCP that freezes it is attached to the account: the planner orders that
//! through `needs`, and warns when such an SCP would lock the executor out of later repairs.

mod validate;

use crate::spec::validate::Checker;
use anyhow::Result;
use aws_sdk_s3control::types::PublicAccessBlockConfiguration;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::attributes::{decode, encode};
use super::audit::{AuditedAccount, Finding, Status};
use super::{aws_error, Actions, Baseline, BoxFuture, Context, Permissions};
use crate::plan::control::{ControlKey, DesiredControl, Inputs};

pub const CONTROL: &str = "s3_account_public_access_block";

/// The four switches of account-level Block Public Access, as the planner compares them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublicAccessBlockAttributes {
    pub block_public_acls: bool,
    pub ignore_public_acls: bool,
    pub block_public_policy: bool,
    pub restrict_public_buckets: bool,
}

pub fn desired(inputs: &Inputs<'_>) -> Vec<DesiredControl> {
    let Some(block) = &inputs.spec.baseline.s3_block_public_access else { return Vec::new() };
    let attributes = encode(&PublicAccessBlockAttributes {
        block_public_acls: block.block_public_acls,
        ignore_public_acls: block.ignore_public_acls,
        block_public_policy: block.block_public_policy,
        restrict_public_buckets: block.restrict_public_buckets,
    });
    inputs
        .accounts_for(&block.targets)
        .iter()
        .map(|account| {
            DesiredControl::new(ControlKey::new(CONTROL, account, None), attributes.clone())
                .needs(&["s3:PutAccountPublicAccessBlock"])
        })
        .collect()
}

pub async fn read(context: &Context<'_>, key: &ControlKey) -> Result<Option<Value>> {
    let account_id = context.account_id(&key.account)?;
    let client = context.sessions.client::<aws_sdk_s3control::Client>(account_id, None).await;
    match client.get_public_access_block().account_id(account_id).send().await {
        Ok(output) => Ok(output.public_access_block_configuration.map(|block| {
            // An absent switch is off (GetPublicAccessBlock).
            encode(&PublicAccessBlockAttributes {
                block_public_acls: block.block_public_acls.unwrap_or(false),
                ignore_public_acls: block.ignore_public_acls.unwrap_or(false),
                block_public_policy: block.block_public_policy.unwrap_or(false),
                restrict_public_buckets: block.restrict_public_buckets.unwrap_or(false),
            })
        })),
        Err(error) if crate::aws::errors::is_no_public_access_block(&error) => Ok(None),
        Err(error) => Err(aws_error("GetPublicAccessBlock", error)),
    }
}

pub async fn apply(context: &Context<'_>, key: &ControlKey, attributes: &Value) -> Result<()> {
    let wanted: PublicAccessBlockAttributes = decode(key, attributes)?;
    let account_id = context.account_id(&key.account)?;
    let client = context.sessions.client::<aws_sdk_s3control::Client>(account_id, None).await;
    let configuration = PublicAccessBlockConfiguration::builder()
        .block_public_acls(wanted.block_public_acls)
        .ignore_public_acls(wanted.ignore_public_acls)
        .block_public_policy(wanted.block_public_policy)
        .restrict_public_buckets(wanted.restrict_public_buckets)
        .build();
    client
        .put_public_access_block()
        .account_id(account_id)
        .public_access_block_configuration(configuration)
        .send()
        .await
        .map_err(|error| aws_error("PutPublicAccessBlock", error))?;
    Ok(())
}

/// The section from every account's switches: the setting most accounts share, targeting them.
pub async fn import(
    context: &Context<'_>,
    scope: &super::import::ImportScope,
) -> Result<Option<super::import::ImportedSection>> {
    let found = super::import::per_account(scope, |account| async move {
        let key = ControlKey::new(CONTROL, &account, None);
        read(context, &key).await?.map(|live| decode::<PublicAccessBlockAttributes>(&key, &live)).transpose()
    })
    .await?;
    let Some((block, targets, notes)) = super::import::common_setting(scope, "s3_block_public_access", &found) else {
        return Ok(None);
    };
    let section = crate::spec::BlockPublicAccessSpec {
        targets,
        block_public_acls: block.block_public_acls,
        ignore_public_acls: block.ignore_public_acls,
        block_public_policy: block.block_public_policy,
        restrict_public_buckets: block.restrict_public_buckets,
    };
    super::import::ImportedSection::new(section, notes).map(Some)
}

/// `audit`: all four switches of the account's Block Public Access on, read as `plan` reads the
/// control.
async fn audit_account(context: &Context<'_>, account: &AuditedAccount<'_>) -> Vec<Finding> {
    const CHECK: &str = "S3 Block Public Access";
    let key = ControlKey::new(CONTROL, account.id, None);
    let block = match read(context, &key).await {
        Ok(Some(live)) => decode::<PublicAccessBlockAttributes>(&key, &live),
        Ok(None) => return vec![Finding::new(account.scope, CHECK, None, Status::Fail, "not configured")],
        Err(error) => return vec![Finding::read_failed(account.scope, CHECK, None, &error)],
    };
    match block {
        Ok(block) => vec![Finding::check(
            account.scope,
            CHECK,
            None,
            block.block_public_acls
                && block.ignore_public_acls
                && block.block_public_policy
                && block.restrict_public_buckets,
            "all four settings on",
            "not every setting is on",
        )],
        Err(error) => vec![Finding::read_failed(account.scope, CHECK, None, &error)],
    }
}

/// The `baseline.s3_block_public_access` section in the registry.
pub struct PublicAccessBlock;

impl Baseline for PublicAccessBlock {
    fn validate(&self, checker: &mut Checker<'_>) {
        validate::check(checker);
    }

    fn family(&self) -> &'static str {
        CONTROL
    }

    fn section(&self) -> &'static str {
        "s3_block_public_access"
    }

    fn summary(&self) -> &'static str {
        "account-level S3 Block Public Access in every targeted account"
    }

    fn desired(&self, inputs: &Inputs<'_>) -> Vec<DesiredControl> {
        desired(inputs)
    }

    fn permissions(&self) -> Permissions {
        Permissions {
            management: Actions { read: &[], write: &[] },
            in_account: Actions {
                read: &["s3:GetAccountPublicAccessBlock"],
                write: &["s3:PutAccountPublicAccessBlock"],
            },
        }
    }

    fn read<'a>(
        &'a self,
        context: &'a Context<'_>,
        key: &'a ControlKey,
        _desired: &'a Value,
    ) -> BoxFuture<'a, Result<Option<Value>>> {
        Box::pin(read(context, key))
    }

    fn audit_account<'a>(
        &'a self,
        context: &'a Context<'_>,
        account: &'a AuditedAccount<'a>,
    ) -> BoxFuture<'a, Vec<Finding>> {
        Box::pin(audit_account(context, account))
    }

    fn apply<'a>(
        &'a self,
        context: &'a Context<'_>,
        key: &'a ControlKey,
        attributes: &'a Value,
        _before: Option<&'a Value>,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(apply(context, key, attributes))
    }

    fn import<'a>(
        &'a self,
        context: &'a Context<'_>,
        scope: &'a super::import::ImportScope,
    ) -> BoxFuture<'a, Result<Option<super::import::ImportedSection>>> {
        Box::pin(import(context, scope))
    }
}
