//! `import` of `baseline.security_hub`: the delegated administrator, the organization
//! configuration and the standards enabled in the administrator, read in every region of the
//! imported spec (the section applies to all of them). Reads only.

use std::collections::BTreeSet;

use anyhow::Result;
use serde_json::{json, Value};

use super::central::read_central_organization;
use super::{read_admin, read_standards, standard_arn};
use crate::baseline::import::{ImportScope, ImportedSection};
use crate::baseline::{unimplemented, Context};
use crate::spec::{SecurityHubConfiguration, SecurityHubSpec, SecurityStandard};

const STANDARDS: [SecurityStandard; 4] = [
    SecurityStandard::AwsFoundationalSecurityBestPractices,
    SecurityStandard::CisAwsFoundationsBenchmark,
    SecurityStandard::NistSp80053,
    SecurityStandard::PciDss,
];

/// The delegated administrator's id in a region. Where the endpoint cannot list administrators
/// (moto lacks ListOrganizationAdminAccounts), the account that may read the organization
/// configuration is the administrator: only it may
/// (https://docs.aws.amazon.com/securityhub/1.0/APIReference/API_DescribeOrganizationConfiguration.html).
async fn administrator(
    context: &Context<'_>,
    scope: &ImportScope,
    management: &str,
    region: &str,
) -> Result<Option<String>> {
    let client = context.sessions.client::<aws_sdk_securityhub::Client>(management, Some(region)).await;
    match read_admin(&client).await {
        Ok(admin) => Ok(admin.and_then(|admin| admin["admin_account_id"].as_str().map(str::to_string))),
        Err(error) if unimplemented(&error).is_some() => {
            for id in scope.accounts.values().filter(|id| id.as_str() != management) {
                let as_account = context.sessions.client::<aws_sdk_securityhub::Client>(id, Some(region)).await;
                if read_central_organization(&as_account).await?.is_some() {
                    return Ok(Some(id.clone()));
                }
            }
            Ok(None)
        }
        Err(error) => Err(error),
    }
}

/// The section when every region has the same delegated administrator (an imported account) under
/// LOCAL configuration, with the same auto-enable and no default standards for new members; the
/// standards enabled in the administrator in every region. Otherwise left out, with a note.
pub async fn import(context: &Context<'_>, scope: &ImportScope) -> Result<Option<ImportedSection>> {
    let Some(management) = &scope.management else { return Ok(None) };
    let management_id = context.account_id(management)?;
    let mut seen: Option<(String, bool)> = None;
    let mut notes = Vec::new();
    let mut standards: Option<BTreeSet<SecurityStandard>> = None;
    for region in &scope.regions {
        let Some(admin_id) = administrator(context, scope, management_id, region).await? else {
            // None in the home region: Security Hub is not administered from the organization.
            if seen.is_none() {
                return Ok(None);
            }
            return Ok(Some(left_out(format!("no delegated administrator in {region}"))));
        };
        let Some(admin) = scope.name_of(&admin_id) else {
            return Ok(Some(left_out(format!("the delegated administrator {admin_id} in {region} is not imported"))));
        };
        let client = context.sessions.client::<aws_sdk_securityhub::Client>(&admin_id, Some(region)).await;
        let Some(configuration) = read_central_organization(&client).await? else {
            return Ok(Some(left_out(format!("`{admin}` cannot read the organization configuration in {region}"))));
        };
        if configuration["configuration_type"] != "LOCAL" || configuration["auto_enable_standards"] != "NONE" {
            return Ok(Some(left_out(format!(
                "{region} has {} configuration with auto-enabled standards {}; import writes LOCAL configuration without them",
                configuration["configuration_type"], configuration["auto_enable_standards"]
            ))));
        }
        let here = (admin.to_string(), configuration["auto_enable"].as_bool().unwrap_or(false));
        match &seen {
            Some(first) if *first != here => {
                return Ok(Some(left_out(format!(
                    "{region} has administrator `{}` (auto-enable {}), another region `{}` ({})",
                    here.0, here.1, first.0, first.1
                ))))
            }
            _ => seen = Some(here),
        }
        let all: Vec<String> = STANDARDS.iter().map(|standard| standard_arn(*standard, region)).collect();
        let enabled = match read_standards(&client, &json!({ "standards": all })).await {
            Ok(enabled) => enabled,
            // An endpoint without GetEnabledStandards (moto): the plan cannot read them either.
            Err(error) if unimplemented(&error).is_some() => {
                notes.push(format!(
                    "`baseline.security_hub.standards` could not be read in {region} ({error}); none written"
                ));
                None
            }
            Err(error) => return Err(error),
        };
        let enabled: BTreeSet<&str> = enabled
            .as_ref()
            .and_then(|enabled| enabled["standards"].as_array())
            .map(|arns| arns.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let here: BTreeSet<SecurityStandard> = STANDARDS
            .iter()
            .copied()
            .filter(|standard| enabled.contains(standard_arn(*standard, region).as_str()))
            .collect();
        // A standard the spec lists is enabled in every region: keep those enabled everywhere.
        standards = Some(match standards {
            None => here,
            Some(before) => before.intersection(&here).copied().collect(),
        });
    }
    let Some((admin_account, auto_enable)) = seen else { return Ok(None) };
    let section = SecurityHubSpec {
        admin_account,
        standards: standards.unwrap_or_default().into_iter().collect(),
        // The spec's default is true.
        auto_enable: (!auto_enable).then_some(false),
        configuration: SecurityHubConfiguration::Local,
    };
    ImportedSection::new(section, notes).map(Some)
}

fn left_out(why: String) -> ImportedSection {
    ImportedSection::left_out(format!("`baseline.security_hub` left out: {why}"))
}
