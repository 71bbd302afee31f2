//! `import` of `baseline.macie`: the delegated administrator, its auto-enable setting and its
//! finding publication frequency, the same in every region of the imported spec. Reads only.

use anyhow::Result;

use super::{read_organization_configuration, read_session, OrganizationAttributes, SessionAttributes};
use crate::baseline::import::{across_regions, AcrossRegions, ImportScope, ImportedSection};
use crate::baseline::organization_service::AdministratorApi;
use crate::baseline::Context;
use crate::spec::{MacieFindingFrequency, MacieSpec};

/// What one region has: the administrator's id, auto-enable, and the administrator's frequency.
#[derive(Debug, Clone, PartialEq)]
struct Found {
    admin_id: String,
    auto_enable: bool,
    frequency: String,
}

/// The section when every region has the same administrator (an imported account) with the same
/// settings; otherwise left out with a note saying where it differs.
pub async fn import(context: &Context<'_>, scope: &ImportScope) -> Result<Option<ImportedSection>> {
    let Some(management) = &scope.management else { return Ok(None) };
    let management_id = context.account_id(management)?;
    let found = across_regions(scope, |region| async move {
        let client = context.sessions.client::<aws_sdk_macie2::Client>(management_id, Some(&region)).await;
        let Some(admin_id) = client.enabled_administrator().await? else { return Ok(None) };
        let as_admin = context.sessions.client::<aws_sdk_macie2::Client>(&admin_id, Some(&region)).await;
        // The administrator's own session holds the frequency the spec sets on it and on the
        // management account's; without one, Macie is not running there.
        let Some(session) = read_session(&as_admin).await? else { return Ok(None) };
        let session: SessionAttributes = serde_json::from_value(session)?;
        let auto_enable = match read_organization_configuration(&as_admin).await? {
            Some(configuration) => serde_json::from_value::<OrganizationAttributes>(configuration)?.auto_enable,
            None => false,
        };
        Ok(Some(Found { admin_id, auto_enable, frequency: session.finding_publishing_frequency }))
    })
    .await?;
    let found = match found {
        AcrossRegions::Nowhere => return Ok(None),
        AcrossRegions::Differs(why) => return Ok(Some(left_out(why))),
        AcrossRegions::Everywhere(found) => found,
    };
    let Some(admin) = scope.name_of(&found.admin_id) else {
        return Ok(Some(left_out(format!("the delegated administrator {} is not imported", found.admin_id))));
    };
    let Ok(finding_frequency) =
        serde_json::from_value::<MacieFindingFrequency>(serde_json::Value::String(found.frequency.clone()))
    else {
        return Ok(Some(left_out(format!(
            "the finding publication frequency `{}` is not one it knows",
            found.frequency
        ))));
    };
    ImportedSection::new(
        MacieSpec { admin_account: admin.to_string(), auto_enable: found.auto_enable, finding_frequency },
        Vec::new(),
    )
    .map(Some)
}

fn left_out(why: String) -> ImportedSection {
    ImportedSection::left_out(format!("`baseline.macie` left out: {why}"))
}
