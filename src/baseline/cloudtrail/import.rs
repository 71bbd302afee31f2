//! `import` of `baseline.cloudtrail`: the organization trail of the management account's home
//! region, written when it delivers into the bunker that `baseline.log_archive`'s import finds (the
//! section's trail always writes there). Reads only.

use anyhow::Result;
use aws_sdk_cloudtrail::types::Trail;

use crate::baseline::import::{ImportScope, ImportedSection};
use crate::baseline::log_archive::locate_bunker;
use crate::baseline::{aws_error, Context};
use crate::spec::CloudTrailSpec;

/// The management account's organization trails in the home region, by name (shadow trails of
/// other regions left out: a multi-region trail is read where it was created). Read once per
/// import when the context shares reads (the trail's and the bunker's imports both need them).
pub async fn organization_trails(context: &Context<'_>, scope: &ImportScope) -> Result<Vec<Trail>> {
    match context.reads {
        Some(reads) => Ok(reads
            .once("import: organization trails".to_string(), || describe_organization_trails(context, scope))
            .await?
            .as_ref()
            .clone()),
        None => describe_organization_trails(context, scope).await,
    }
}

async fn describe_organization_trails(context: &Context<'_>, scope: &ImportScope) -> Result<Vec<Trail>> {
    let (Some(management), Some(home)) = (&scope.management, scope.regions.first()) else { return Ok(Vec::new()) };
    let client =
        context.sessions.client::<aws_sdk_cloudtrail::Client>(context.account_id(management)?, Some(home)).await;
    // https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_DescribeTrails.html
    let trails = client
        .describe_trails()
        .include_shadow_trails(false)
        .send()
        .await
        .map_err(|error| aws_error("DescribeTrails", error))?
        .trail_list
        .unwrap_or_default();
    let mut trails: Vec<Trail> = trails
        .into_iter()
        .filter(|trail| {
            trail.is_organization_trail == Some(true)
                && trail.home_region.as_deref().is_none_or(|region| region == home)
        })
        .collect();
    trails.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(trails)
}

/// The section for the organization trail that writes into the bunker; left out with a note when
/// there are several or it writes elsewhere.
pub async fn import(context: &Context<'_>, scope: &ImportScope) -> Result<Option<ImportedSection>> {
    let trails = organization_trails(context, scope).await?;
    let Some(trail) = trails.first() else { return Ok(None) };
    let name = trail.name.clone().unwrap_or_default();
    let mut notes = Vec::new();
    if trails.len() > 1 {
        notes.push(format!(
            "`baseline.cloudtrail` names `{name}`, the first of {} organization trails; the others are left as they are",
            trails.len()
        ));
    }
    let Some(bunker) = locate_bunker(context, scope).await? else {
        return Ok(Some(ImportedSection::left_out(format!(
            "`baseline.cloudtrail` left out: the organization trail `{name}` writes to bucket `{}`, which is in no imported account",
            trail.s3_bucket_name.as_deref().unwrap_or_default()
        ))));
    };
    if Some(bunker.bucket.as_str()) != trail.s3_bucket_name.as_deref() {
        return Ok(Some(ImportedSection::left_out(format!(
            "`baseline.cloudtrail` left out: the organization trail `{name}` does not write to the bunker `{}`",
            bunker.bucket
        ))));
    }
    let section = CloudTrailSpec {
        name,
        multi_region: trail.is_multi_region_trail.unwrap_or(false),
        log_file_validation: trail.log_file_validation_enabled.unwrap_or(false),
    };
    ImportedSection::new(section, notes).map(Some)
}
