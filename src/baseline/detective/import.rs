//! `import` of `baseline.detective`: the delegated administrator, the same in every region of the
//! imported spec, with auto-enable on (the section always turns it on). Reads only.

use anyhow::Result;

use super::{read_organization_configuration, OrganizationAttributes};
use crate::baseline::import::{across_regions, AcrossRegions, ImportScope, ImportedSection};
use crate::baseline::organization_service::AdministratorApi;
use crate::baseline::Context;
use crate::spec::DetectiveSpec;

/// The section when every region has the same administrator (an imported account) auto-enabling
/// Detective for new accounts; otherwise left out with a note saying why.
pub async fn import(context: &Context<'_>, scope: &ImportScope) -> Result<Option<ImportedSection>> {
    let Some(management) = &scope.management else { return Ok(None) };
    let management_id = context.account_id(management)?;
    let found = across_regions(scope, |region| async move {
        let client = context.sessions.client::<aws_sdk_detective::Client>(management_id, Some(&region)).await;
        let Some(admin_id) = client.enabled_administrator().await? else { return Ok(None) };
        let as_admin = context.sessions.client::<aws_sdk_detective::Client>(&admin_id, Some(&region)).await;
        let auto_enable = match read_organization_configuration(&as_admin).await? {
            Some(configuration) => serde_json::from_value::<OrganizationAttributes>(configuration)?.auto_enable,
            None => false,
        };
        Ok(Some((admin_id, auto_enable)))
    })
    .await?;
    let (admin_id, auto_enable) = match found {
        AcrossRegions::Nowhere => return Ok(None),
        AcrossRegions::Differs(why) => return Ok(Some(left_out(why))),
        AcrossRegions::Everywhere(found) => found,
    };
    let Some(admin) = scope.name_of(&admin_id) else {
        return Ok(Some(left_out(format!("the delegated administrator {admin_id} is not imported"))));
    };
    if !auto_enable {
        // The section always auto-enables: writing it would plan that change.
        return Ok(Some(left_out(format!("the delegated administrator `{admin}` does not auto-enable new accounts"))));
    }
    ImportedSection::new(DetectiveSpec { admin_account: admin.to_string() }, Vec::new()).map(Some)
}

fn left_out(why: String) -> ImportedSection {
    ImportedSection::left_out(format!("`baseline.detective` left out: {why}"))
}
