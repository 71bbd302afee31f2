//! `import` of `baseline.guardduty`: the delegated administrator and its auto-enable setting, read
//! in every region of the imported spec (the section applies to all of them). Reads only.

use anyhow::Result;

use super::{read_admin, read_organization_configuration};
use crate::baseline::import::{ImportScope, ImportedSection};
use crate::baseline::{unimplemented, Context};
use crate::spec::{AutoEnable, GuardDutySpec};

/// The section when every region has the same delegated administrator (an imported account) and
/// the same AutoEnableOrganizationMembers; otherwise left out with a note saying where it differs.
pub async fn import(context: &Context<'_>, scope: &ImportScope) -> Result<Option<ImportedSection>> {
    let Some(management) = &scope.management else { return Ok(None) };
    let management_id = context.account_id(management)?;
    let mut seen: Option<(String, String)> = None;
    let mut notes = Vec::new();
    for region in &scope.regions {
        let client = context.sessions.client::<aws_sdk_guardduty::Client>(management_id, Some(region)).await;
        let admin = read_admin(&client).await?;
        let admin_id = admin.as_ref().and_then(|admin| admin["admin_account_id"].as_str());
        let Some(admin_id) = admin_id else {
            // None in the home region: GuardDuty is not administered from the organization.
            if seen.is_none() {
                return Ok(None);
            }
            return Ok(Some(left_out(format!("no delegated administrator in {region}"))));
        };
        let Some(admin) = scope.name_of(admin_id) else {
            return Ok(Some(left_out(format!("the delegated administrator {admin_id} in {region} is not imported"))));
        };
        let as_admin = context.sessions.client::<aws_sdk_guardduty::Client>(admin_id, Some(region)).await;
        let auto_enable = match read_organization_configuration(&as_admin).await {
            Ok(found) => found.as_ref().and_then(|value| value["auto_enable"].as_str()).unwrap_or("NONE").to_string(),
            // An endpoint without DescribeOrganizationConfiguration (moto): the plan cannot read it
            // either; the spec's default is written, and said.
            Err(error) if unimplemented(&error).is_some() => {
                notes.push(format!(
                    "`baseline.guardduty.auto_enable` could not be read in {region} ({error}); the default `all` is written"
                ));
                "ALL".to_string()
            }
            Err(error) => return Err(error),
        };
        let here = (admin.to_string(), auto_enable);
        match &seen {
            Some(first) if *first != here => {
                return Ok(Some(left_out(format!(
                    "{region} has administrator `{}` with auto-enable {}, another region `{}` with {}",
                    here.0, here.1, first.0, first.1
                ))))
            }
            _ => seen = Some(here),
        }
    }
    let Some((admin_account, auto_enable)) = seen else { return Ok(None) };
    let auto_enable = match auto_enable.as_str() {
        "ALL" => AutoEnable::All,
        "NEW" => AutoEnable::New,
        _ => AutoEnable::None,
    };
    ImportedSection::new(GuardDutySpec { admin_account, auto_enable }, notes).map(Some)
}

fn left_out(why: String) -> ImportedSection {
    ImportedSection::left_out(format!("`baseline.guardduty` left out: {why}"))
}
