//! `import` of `baseline.default_vpcs`: `delete: true` for the accounts that have no default VPC in
//! any region of the imported spec — the posture they have, so their plan is empty and a default VPC
//! recreated by hand later (`CreateDefaultVpc`) is planned for removal again. Accounts that still
//! have one are left out, and named: writing them would plan a destructive removal. Reads only.

use anyhow::Result;

use super::{read, CONTROL};
use crate::baseline::import::{common_setting, per_account, ImportScope, ImportedSection};
use crate::baseline::Context;
use crate::plan::control::ControlKey;
use crate::spec::DefaultVpcsSpec;

/// Where an account still has a default VPC: the regions, in the imported spec's order.
type WithDefaultVpc = Vec<String>;

/// The section for the accounts without a default VPC anywhere; None when every account has one.
pub async fn import(context: &Context<'_>, scope: &ImportScope) -> Result<Option<ImportedSection>> {
    let found = per_account(scope, |account| async move {
        let mut regions = WithDefaultVpc::new();
        for region in &scope.regions {
            // The baseline's own reader: Some when the account and region has a default VPC
            // (https://docs.aws.amazon.com/vpc/latest/userguide/default-vpc.html).
            if read(context, &ControlKey::new(CONTROL, &account, Some(region))).await?.is_some() {
                regions.push(region.clone());
            }
        }
        Ok(Some(regions))
    })
    .await?;
    let without: std::collections::BTreeMap<String, ()> =
        found.iter().filter(|(_, regions)| regions.is_empty()).map(|(account, _)| (account.clone(), ())).collect();
    let Some(((), targets, _)) = common_setting(scope, "default_vpcs", &without) else { return Ok(None) };
    let notes = found
        .iter()
        .filter(|(_, regions)| !regions.is_empty())
        .map(|(account, regions)| {
            format!(
                "`baseline.default_vpcs` leaves out `{account}`: it has a default VPC in {}, which `delete: true` would remove; add it to the targets to have them removed",
                regions.join(", ")
            )
        })
        .collect();
    ImportedSection::new(DefaultVpcsSpec { targets, delete: true }, notes).map(Some)
}
