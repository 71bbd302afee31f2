//! `import` of `baseline.access_analyzer`: the delegated administrator registered through
//! Organizations, and the organization analyzer it has under one name in every region of the
//! imported spec. Reads only.

use anyhow::Result;
use aws_sdk_accessanalyzer::types::Type as AnalyzerType;

use super::SERVICE;
use crate::baseline::import::{across_regions, AcrossRegions, ImportScope, ImportedSection};
use crate::baseline::{aws_error, Context};
use crate::spec::AccessAnalyzerSpec;

/// The section when Access Analyzer has one delegated administrator (an imported account) with an
/// organization analyzer of one name in every region; otherwise left out with a note.
pub async fn import(context: &Context<'_>, scope: &ImportScope) -> Result<Option<ImportedSection>> {
    let admins = scope.delegated_administrators_of(SERVICE);
    let admin_id = match admins.as_slice() {
        [] => return Ok(None),
        [admin_id] => *admin_id,
        _ => return Ok(Some(left_out(format!("it has {} delegated administrators", admins.len())))),
    };
    let Some(admin) = scope.name_of(admin_id) else {
        return Ok(Some(left_out(format!("the delegated administrator {admin_id} is not imported"))));
    };
    // An endpoint without Access Analyzer fails here, and `import_sections` leaves the section out
    // with a note, as for every baseline it cannot read.
    let found = across_regions(scope, |region| async move {
        let client = context.sessions.client::<aws_sdk_accessanalyzer::Client>(admin_id, Some(&region)).await;
        organization_analyzer(&client).await
    })
    .await?;
    match found {
        AcrossRegions::Nowhere => {
            Ok(Some(left_out(format!("the delegated administrator `{admin}` has no organization analyzer"))))
        }
        AcrossRegions::Differs(why) => Ok(Some(left_out(why))),
        AcrossRegions::Everywhere(analyzer_name) => {
            ImportedSection::new(AccessAnalyzerSpec { admin_account: admin.to_string(), analyzer_name }, Vec::new())
                .map(Some)
        }
    }
}

/// The name of the account's organization analyzer: the default name when it has one by that
/// name, else the first by name. An account may have several (one per name).
async fn organization_analyzer(client: &aws_sdk_accessanalyzer::Client) -> Result<Option<String>> {
    let mut names = Vec::new();
    // https://docs.aws.amazon.com/access-analyzer/latest/APIReference/API_ListAnalyzers.html
    let mut pages = client.list_analyzers().r#type(AnalyzerType::Organization).into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|error| aws_error("ListAnalyzers", error))?;
        names.extend(page.analyzers.into_iter().map(|analyzer| analyzer.name));
    }
    names.sort();
    let default = crate::spec::default_analyzer_name();
    Ok(names.iter().find(|name| **name == default).or(names.first()).cloned())
}

fn left_out(why: String) -> ImportedSection {
    ImportedSection::left_out(format!("`baseline.access_analyzer` left out: {why}"))
}
