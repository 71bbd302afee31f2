//! What `audit` asks of Identity Center: which permission sets grant `AdministratorAccess`, and
//! which accounts some permission set is provisioned to (an account with an assignment has its set
//! provisioned: https://docs.aws.amazon.com/singlesignon/latest/APIReference/API_CreateAccountAssignment.html).
//! Reads every permission set of the instance, managed or not.

use std::collections::BTreeSet;

use anyhow::Result;

use super::super::{aws_error, Context};
use super::directory::{instance, place};
use super::permission_set::{all, provisioned_accounts};
use crate::plan::control::ControlKey;

/// The AWS managed policy that grants everything.
const ADMINISTRATOR_ACCESS: &str = ":iam::aws:policy/AdministratorAccess";

/// What the audit reports.
#[derive(Debug, Default)]
pub struct Posture {
    /// Names of permission sets that attach `AdministratorAccess`.
    pub administrator_sets: Vec<String>,
    /// Account ids some permission set is provisioned to.
    pub assigned_accounts: BTreeSet<String>,
}

/// Reads the instance held by `account` (spec name) in `region`.
pub async fn posture(context: &Context<'_>, account: &str, region: &str) -> Result<Posture> {
    let key = ControlKey::new(super::CONTROL, account, Some(region));
    let instance = instance(context, &key).await?;
    let (account_id, region) = place(context, &key)?;
    let client = context.sessions.client::<aws_sdk_ssoadmin::Client>(account_id, Some(region)).await;
    let mut posture = Posture::default();
    for (name, arn) in all(&client, &instance).await? {
        let managed = client
            .list_managed_policies_in_permission_set()
            .instance_arn(&instance.arn)
            .permission_set_arn(&arn)
            .send()
            .await
            .map_err(|error| aws_error("ListManagedPoliciesInPermissionSet", error))?;
        let administrator = managed
            .attached_managed_policies
            .unwrap_or_default()
            .iter()
            .any(|policy| policy.arn.as_deref().is_some_and(|arn| arn.ends_with(ADMINISTRATOR_ACCESS)));
        if administrator {
            posture.administrator_sets.push(name);
        }
        posture.assigned_accounts.extend(provisioned_accounts(&client, &instance, &arn).await?);
    }
    posture.administrator_sets.sort();
    Ok(posture)
}

/// `audit`, when the spec manages Identity Center: permission sets granting `AdministratorAccess`
/// (a FAIL each: least privilege), and every active account with no assignment.
pub async fn audit_organization(
    context: &Context<'_>,
    organization: &crate::baseline::audit::AuditedOrganization<'_>,
) -> Vec<crate::baseline::audit::Finding> {
    use crate::baseline::audit::{Finding, Status};
    const CHECK: &str = "identity center";
    let Some(spec) = organization.spec else { return Vec::new() };
    let Some(admin) = super::admin_account(spec) else { return Vec::new() };
    let region = spec.organization.regions.first().map_or("us-east-1", String::as_str);
    let posture = match posture(context, admin, region).await {
        Ok(posture) => posture,
        Err(error) => return vec![Finding::errored("organization", CHECK, Some(region), format!("{error:#}"))],
    };
    let mut findings: Vec<Finding> = posture
        .administrator_sets
        .iter()
        .map(|name| {
            let detail = format!("permission set `{name}` grants AdministratorAccess");
            Finding::new("organization", CHECK, Some(region), Status::Fail, detail)
        })
        .collect();
    for (id, scope) in organization.accounts {
        findings.push(Finding::check(
            scope,
            CHECK,
            Some(region),
            posture.assigned_accounts.contains(id),
            "some permission set is assigned here",
            "no Identity Center assignment: nobody signs in here through Identity Center",
        ));
    }
    findings
}
