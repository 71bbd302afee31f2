//! `import` of `baseline.inspector`: the delegated administrator and the scan types it
//! auto-enables, the same in every region of the imported spec. Reads only.

use anyhow::Result;

use super::{read_organization_configuration, OrganizationAttributes};
use crate::baseline::import::{across_regions, AcrossRegions, ImportScope, ImportedSection};
use crate::baseline::organization_service::AdministratorApi;
use crate::baseline::Context;
use crate::spec::{InspectorScan, InspectorSpec};

/// The section when every region has the same administrator (an imported account) auto-enabling
/// the same scan types; otherwise left out with a note saying where it differs.
pub async fn import(context: &Context<'_>, scope: &ImportScope) -> Result<Option<ImportedSection>> {
    let Some(management) = &scope.management else { return Ok(None) };
    let management_id = context.account_id(management)?;
    let found = across_regions(scope, |region| async move {
        let client = context.sessions.client::<aws_sdk_inspector2::Client>(management_id, Some(&region)).await;
        let Some(admin_id) = client.enabled_administrator().await? else { return Ok(None) };
        let as_admin = context.sessions.client::<aws_sdk_inspector2::Client>(&admin_id, Some(&region)).await;
        let Some(configuration) = read_organization_configuration(&as_admin).await? else { return Ok(None) };
        let auto: OrganizationAttributes = serde_json::from_value(configuration)?;
        let scans: Vec<InspectorScan> = [
            (auto.ec2, InspectorScan::Ec2),
            (auto.ecr, InspectorScan::Ecr),
            (auto.lambda, InspectorScan::Lambda),
            (auto.lambda_code, InspectorScan::LambdaCode),
        ]
        .into_iter()
        .filter_map(|(on, scan)| on.then_some(scan))
        .collect();
        Ok(Some((admin_id, scans)))
    })
    .await?;
    let (admin_id, scan) = match found {
        AcrossRegions::Nowhere => return Ok(None),
        AcrossRegions::Differs(why) => return Ok(Some(left_out(why))),
        AcrossRegions::Everywhere(found) => found,
    };
    let Some(admin) = scope.name_of(&admin_id) else {
        return Ok(Some(left_out(format!("the delegated administrator {admin_id} is not imported"))));
    };
    if scan.is_empty() {
        return Ok(Some(left_out("the delegated administrator auto-enables no scan type".to_string())));
    }
    ImportedSection::new(InspectorSpec { admin_account: admin.to_string(), scan }, Vec::new()).map(Some)
}

fn left_out(why: String) -> ImportedSection {
    ImportedSection::left_out(format!("`baseline.inspector` left out: {why}"))
}
