//! `baseline.password_policy`: the IAM account password policy in every targeted account.

mod validate;

use crate::spec::validate::Checker;
use anyhow::Result;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::attributes::{decode, encode};
use super::audit::{AuditedAccount, Finding, Status};
use super::{aws_error, Actions, Baseline, BoxFuture, Context, Permissions};
use crate::aws::errors::is_not_found;
use crate::plan::control::{ControlKey, DesiredControl, Inputs};

pub const CONTROL: &str = "password_policy";

/// The attributes of one account's password policy, as the planner compares them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordPolicyAttributes {
    pub minimum_length: u32,
    pub require_symbols: bool,
    pub require_numbers: bool,
    pub require_uppercase: bool,
    pub require_lowercase: bool,
    pub allow_users_to_change: bool,
    /// None: passwords never expire.
    pub max_age_days: Option<u32>,
    /// None: reuse is not prevented.
    pub reuse_prevention: Option<u32>,
    pub hard_expiry: bool,
}

pub fn desired(inputs: &Inputs<'_>) -> Vec<DesiredControl> {
    let Some(policy) = &inputs.spec.baseline.password_policy else { return Vec::new() };
    let attributes = encode(&PasswordPolicyAttributes {
        minimum_length: policy.minimum_length,
        require_symbols: policy.require_symbols,
        require_numbers: policy.require_numbers,
        require_uppercase: policy.require_uppercase,
        require_lowercase: policy.require_lowercase,
        allow_users_to_change: policy.allow_users_to_change,
        max_age_days: policy.max_age_days,
        reuse_prevention: policy.reuse_prevention,
        hard_expiry: policy.hard_expiry,
    });
    inputs
        .accounts_for(&policy.targets)
        .iter()
        .map(|account| {
            DesiredControl::new(ControlKey::new(CONTROL, account, None), attributes.clone())
                .needs(&["iam:UpdateAccountPasswordPolicy"])
        })
        .collect()
}

/// A positive count from IAM (0 and absent both mean "not set").
fn positive(value: Option<i32>) -> Option<u32> {
    value.and_then(|number| u32::try_from(number).ok()).filter(|number| *number > 0)
}

pub async fn read(context: &Context<'_>, key: &ControlKey) -> Result<Option<Value>> {
    let iam = context.sessions.client::<aws_sdk_iam::Client>(context.account_id(&key.account)?, None).await;
    let policy = match iam.get_account_password_policy().send().await {
        Ok(output) => output.password_policy,
        Err(error) if is_not_found(&error) => return Ok(None),
        Err(error) => return Err(aws_error("GetAccountPasswordPolicy", error)),
    };
    Ok(policy.map(|policy| {
        encode(&PasswordPolicyAttributes {
            // IAM's default minimum when none was set (GetAccountPasswordPolicy).
            minimum_length: positive(policy.minimum_password_length).unwrap_or(6),
            require_symbols: policy.require_symbols,
            require_numbers: policy.require_numbers,
            require_uppercase: policy.require_uppercase_characters,
            require_lowercase: policy.require_lowercase_characters,
            allow_users_to_change: policy.allow_users_to_change_password,
            max_age_days: positive(policy.max_password_age),
            reuse_prevention: positive(policy.password_reuse_prevention),
            hard_expiry: policy.hard_expiry.unwrap_or(false),
        })
    }))
}

pub async fn apply(context: &Context<'_>, key: &ControlKey, attributes: &Value) -> Result<()> {
    let wanted: PasswordPolicyAttributes = decode(key, attributes)?;
    let iam = context.sessions.client::<aws_sdk_iam::Client>(context.account_id(&key.account)?, None).await;
    let number = |value: Option<u32>| value.and_then(|n| i32::try_from(n).ok());
    iam.update_account_password_policy()
        .set_minimum_password_length(number(Some(wanted.minimum_length)))
        .require_symbols(wanted.require_symbols)
        .require_numbers(wanted.require_numbers)
        .require_uppercase_characters(wanted.require_uppercase)
        .require_lowercase_characters(wanted.require_lowercase)
        .allow_users_to_change_password(wanted.allow_users_to_change)
        .set_max_password_age(number(wanted.max_age_days))
        .set_password_reuse_prevention(number(wanted.reuse_prevention))
        .hard_expiry(wanted.hard_expiry)
        .send()
        .await
        .map_err(|error| aws_error("UpdateAccountPasswordPolicy", error))?;
    Ok(())
}

/// The section from every account's policy: the one most accounts share, targeting them.
pub async fn import(
    context: &Context<'_>,
    scope: &super::import::ImportScope,
) -> Result<Option<super::import::ImportedSection>> {
    let found = super::import::per_account(scope, |account| async move {
        let key = ControlKey::new(CONTROL, &account, None);
        read(context, &key).await?.map(|live| decode::<PasswordPolicyAttributes>(&key, &live)).transpose()
    })
    .await?;
    let Some((policy, targets, notes)) = super::import::common_setting(scope, "password_policy", &found) else {
        return Ok(None);
    };
    let section = crate::spec::PasswordPolicySpec {
        targets,
        minimum_length: policy.minimum_length,
        require_symbols: policy.require_symbols,
        require_numbers: policy.require_numbers,
        require_uppercase: policy.require_uppercase,
        require_lowercase: policy.require_lowercase,
        allow_users_to_change: policy.allow_users_to_change,
        max_age_days: policy.max_age_days,
        reuse_prevention: policy.reuse_prevention,
        hard_expiry: policy.hard_expiry,
    };
    super::import::ImportedSection::new(section, notes).map(Some)
}

/// `audit`: the account's password policy asks for at least 14 characters (CIS AWS Foundations
/// 1.8), read as `plan` reads the control.
async fn audit_account(context: &Context<'_>, account: &AuditedAccount<'_>) -> Vec<Finding> {
    const CHECK: &str = "password policy";
    let key = ControlKey::new(CONTROL, account.id, None);
    let policy = match read(context, &key).await {
        Ok(Some(live)) => decode::<PasswordPolicyAttributes>(&key, &live),
        Ok(None) => return vec![Finding::new(account.scope, CHECK, None, Status::Fail, "no password policy")],
        Err(error) => return vec![Finding::read_failed(account.scope, CHECK, None, &error)],
    };
    match policy {
        Ok(policy) => {
            let length = policy.minimum_length;
            vec![Finding::check(
                account.scope,
                CHECK,
                None,
                length >= 14,
                &format!("minimum length {length}"),
                &format!("minimum length {length} is below 14"),
            )]
        }
        Err(error) => vec![Finding::read_failed(account.scope, CHECK, None, &error)],
    }
}

/// The `baseline.password_policy` section in the registry.
pub struct PasswordPolicy;

impl Baseline for PasswordPolicy {
    fn validate(&self, checker: &mut Checker<'_>) {
        validate::check(checker);
    }

    fn family(&self) -> &'static str {
        CONTROL
    }

    fn section(&self) -> &'static str {
        "password_policy"
    }

    fn summary(&self) -> &'static str {
        "the IAM account password policy in every targeted account"
    }

    fn desired(&self, inputs: &Inputs<'_>) -> Vec<DesiredControl> {
        desired(inputs)
    }

    fn permissions(&self) -> Permissions {
        Permissions {
            management: Actions { read: &[], write: &[] },
            in_account: Actions {
                read: &["iam:GetAccountPasswordPolicy"],
                write: &["iam:UpdateAccountPasswordPolicy"],
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
