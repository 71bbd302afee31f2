//! `import` of `baseline.conformance_packs`: never written. AWS does not return an organization
//! conformance pack's template — DescribeOrganizationConformancePacks answers its name, ARN, input
//! parameters, delivery bucket and excluded accounts
//! (https://docs.aws.amazon.com/config/latest/APIReference/API_OrganizationConformancePack.html),
//! and the per-account packs it deploys no more than that
//! (https://docs.aws.amazon.com/config/latest/APIReference/API_ConformancePackDetail.html) — and
//! the section needs the template file. The packs landing-zone made (its ownership tag) are named in
//! a note, to be written by hand with the templates they were deployed from. Leaving the section
//! out removes nothing: only a spec with the section has its packs searched for removal. Reads only.

use std::collections::BTreeMap;

use anyhow::Result;

use crate::baseline::aws_config::is_owned;
use crate::baseline::import::{ImportScope, ImportedSection};
use crate::baseline::{aws_error, Context};

/// No section; a note naming the packs landing-zone made, with their regions, when there are any.
pub async fn import(context: &Context<'_>, scope: &ImportScope) -> Result<Option<ImportedSection>> {
    // The packs are deployed from the management account (`desired`), in each region.
    let Some(management) = &scope.management else { return Ok(None) };
    let management_id = context.account_id(management)?;
    let mut made: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for region in &scope.regions {
        let client = context.sessions.client::<aws_sdk_config::Client>(management_id, Some(region)).await;
        // https://docs.aws.amazon.com/config/latest/APIReference/API_DescribeOrganizationConformancePacks.html
        let mut pages = client.describe_organization_conformance_packs().into_paginator().items().send();
        while let Some(pack) = pages.next().await {
            let pack = pack.map_err(|error| aws_error("DescribeOrganizationConformancePacks", error))?;
            if is_owned(&client, &pack.organization_conformance_pack_arn).await? == Some(true) {
                made.entry(pack.organization_conformance_pack_name).or_default().push(region.clone());
            }
        }
    }
    if made.is_empty() {
        return Ok(None);
    }
    let packs: Vec<String> = made.iter().map(|(name, regions)| format!("`{name}` ({})", regions.join(", "))).collect();
    Ok(Some(ImportedSection::left_out(format!(
        "`baseline.conformance_packs` left out: AWS does not return an organization conformance pack's template, and the section needs it; write {} by hand (`baseline.conformance_packs.<name>.template: <the template file it was deployed from>`), or plan will not manage {}",
        packs.join(", "),
        if made.len() == 1 { "it" } else { "them" }
    ))))
}
