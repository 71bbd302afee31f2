//! `baseline.contacts`: alternate contacts (security, operations, billing) on every targeted
//! account, set through the Account API from the management account (trusted access required).

mod validate;

use anyhow::Result;
use aws_sdk_account::types::AlternateContactType;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::attributes::{decode, encode};
use super::audit::{AuditedAccount, Finding};
use super::{aws_error, Actions, Baseline, BoxFuture, Context, Permissions};
use crate::aws::errors::{is_not_found, is_resource_not_found};
use crate::plan::control::{ControlKey, DesiredControl, Inputs};
use crate::spec::validate::Checker;
use crate::spec::{ContactSpec, Spec};

pub const CONTROL: &str = "alternate_contact";
pub const SERVICE: &str = "account.amazonaws.com";

/// One alternate contact, as the planner compares it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContactAttributes {
    pub name: String,
    pub email: String,
    pub phone: String,
    pub title: String,
}

fn kinds(contacts: &crate::spec::ContactsSpec) -> Vec<(&'static str, &ContactSpec)> {
    let mut kinds = Vec::new();
    if let Some(contact) = &contacts.security {
        kinds.push(("SECURITY", contact));
    }
    if let Some(contact) = &contacts.operations {
        kinds.push(("OPERATIONS", contact));
    }
    if let Some(contact) = &contacts.billing {
        kinds.push(("BILLING", contact));
    }
    kinds
}

pub fn desired(inputs: &Inputs<'_>) -> Vec<DesiredControl> {
    let Some(contacts) = &inputs.spec.baseline.contacts else { return Vec::new() };
    let mut controls = Vec::new();
    for account in inputs.accounts_for(&contacts.targets) {
        for (kind, contact) in kinds(contacts) {
            let attributes = encode(&ContactAttributes {
                name: contact.name.clone(),
                email: contact.email.clone(),
                phone: contact.phone.clone(),
                title: contact.title.clone(),
            });
            controls.push(
                DesiredControl::new(ControlKey::new(format!("{CONTROL}/{kind}"), &account, None), attributes)
                    .after_service(SERVICE),
            );
        }
    }
    controls
}

fn contact_type(key: &ControlKey) -> AlternateContactType {
    AlternateContactType::from(key.control.split('/').nth(1).unwrap_or("SECURITY"))
}

/// The Account API takes no account id for the caller's own account.
async fn target_account(context: &Context<'_>, key: &ControlKey) -> Result<Option<String>> {
    let account_id = context.account_id(&key.account)?.to_string();
    let management = context.sessions.management_account().await;
    Ok((management.as_deref() != Some(account_id.as_str())).then_some(account_id))
}

async fn management_client(context: &Context<'_>) -> Result<aws_sdk_account::Client> {
    let management = context.sessions.management_account().await.unwrap_or_default();
    Ok(context.sessions.client::<aws_sdk_account::Client>(&management, None).await)
}

pub async fn read(context: &Context<'_>, key: &ControlKey) -> Result<Option<Value>> {
    let client = management_client(context).await?;
    let account = target_account(context, key).await?;
    match client.get_alternate_contact().set_account_id(account).alternate_contact_type(contact_type(key)).send().await
    {
        Ok(output) => Ok(output.alternate_contact.map(|contact| {
            encode(&ContactAttributes {
                name: contact.name.unwrap_or_default(),
                email: contact.email_address.unwrap_or_default(),
                phone: contact.phone_number.unwrap_or_default(),
                title: contact.title.unwrap_or_default(),
            })
        })),
        Err(error) if is_not_found(&error) || is_resource_not_found(&error) => Ok(None),
        Err(error) => Err(aws_error("GetAlternateContact", error)),
    }
}

pub async fn apply(context: &Context<'_>, key: &ControlKey, attributes: &Value) -> Result<()> {
    let wanted: ContactAttributes = decode(key, attributes)?;
    let client = management_client(context).await?;
    let account = target_account(context, key).await?;
    client
        .put_alternate_contact()
        .set_account_id(account)
        .alternate_contact_type(contact_type(key))
        .name(wanted.name)
        .email_address(wanted.email)
        .phone_number(wanted.phone)
        .title(wanted.title)
        .send()
        .await
        .map_err(|error| aws_error("PutAlternateContact", error))?;
    Ok(())
}

/// The section: the security, operations and billing contacts most accounts share, targeting
/// them. Without trusted access for the Account API, members cannot be read (and a spec with the
/// section would enable it): the section is left out, with a note.
pub async fn import(
    context: &Context<'_>,
    scope: &super::import::ImportScope,
) -> Result<Option<super::import::ImportedSection>> {
    if !scope.trusted_services.contains(SERVICE) {
        return Ok(Some(super::import::ImportedSection::left_out(format!(
            "`baseline.contacts` left out: members' contacts cannot be read without trusted access for `{SERVICE}`"
        ))));
    }
    let found = super::import::per_account(scope, |account| async move {
        let mut contacts = crate::spec::ContactsSpec {
            targets: crate::spec::Targets::default(),
            security: None,
            operations: None,
            billing: None,
        };
        for (kind, slot) in [
            ("SECURITY", &mut contacts.security),
            ("OPERATIONS", &mut contacts.operations),
            ("BILLING", &mut contacts.billing),
        ] {
            let key = ControlKey::new(format!("{CONTROL}/{kind}"), &account, None);
            if let Some(live) = read(context, &key).await? {
                let live: ContactAttributes = decode(&key, &live)?;
                *slot = Some(ContactSpec { name: live.name, email: live.email, phone: live.phone, title: live.title });
            }
        }
        let any = contacts.security.is_some() || contacts.operations.is_some() || contacts.billing.is_some();
        Ok(any.then_some(contacts))
    })
    .await?;
    let Some((mut contacts, targets, notes)) = super::import::common_setting(scope, "contacts", &found) else {
        return Ok(None);
    };
    contacts.targets = targets;
    super::import::ImportedSection::new(contacts, notes).map(Some)
}

/// `audit`: the account has a security contact, read as `plan` reads the control.
async fn audit_account(context: &Context<'_>, account: &AuditedAccount<'_>) -> Vec<Finding> {
    const CHECK: &str = "security contact";
    let key = ControlKey::new(format!("{CONTROL}/SECURITY"), account.id, None);
    match read(context, &key).await {
        Ok(contact) => {
            vec![Finding::check(account.scope, CHECK, None, contact.is_some(), "set", "no security contact")]
        }
        Err(error) => vec![Finding::read_failed(account.scope, CHECK, None, &error)],
    }
}

/// The `baseline.contacts` section in the registry.
pub struct Contacts;

impl Baseline for Contacts {
    fn validate(&self, checker: &mut Checker<'_>) {
        validate::check(checker);
    }

    fn family(&self) -> &'static str {
        CONTROL
    }

    fn section(&self) -> &'static str {
        "contacts"
    }

    fn summary(&self) -> &'static str {
        "alternate contacts of every account, through the Account API"
    }

    fn desired(&self, inputs: &Inputs<'_>) -> Vec<DesiredControl> {
        desired(inputs)
    }

    fn trusted_services(&self, spec: &Spec) -> Vec<&'static str> {
        if spec.baseline.contacts.is_some() {
            vec![SERVICE]
        } else {
            Vec::new()
        }
    }

    // https://docs.aws.amazon.com/accounts/latest/reference/API_GetAlternateContact.html: with an
    // `AccountId`, the caller must be the management account (or a delegated administrator) and
    // trusted access for the Account Management service must be enabled.
    fn read_needs_trusted_access(&self, _key: &ControlKey) -> Option<&'static str> {
        Some(SERVICE)
    }

    fn permissions(&self) -> Permissions {
        Permissions {
            management: Actions { read: &["account:GetAlternateContact"], write: &["account:PutAlternateContact"] },
            in_account: Actions { read: &[], write: &[] },
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
