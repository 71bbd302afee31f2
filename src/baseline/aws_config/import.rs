//! `import` of `baseline.aws_config`: the accounts that record with a delivery channel into the
//! bunker in every region of the imported spec, and the AWS-managed rules (named after their
//! identifier, made by no other service) they share. Reads only.

use std::collections::BTreeMap;

use anyhow::Result;

use super::{could_be_landing_zones, describe_rules, read_channel, read_recorder, rule_attributes};
use crate::baseline::import::{common_setting, per_account, ImportScope, ImportedSection};
use crate::baseline::log_archive::locate_bunker;
use crate::baseline::{aws_error, Context};
use crate::spec::AwsConfigSpec;

/// Managed rule identifier -> input parameters, as the spec writes them.
type Rules = BTreeMap<String, BTreeMap<String, String>>;

/// The section for the accounts that deliver to the bunker everywhere with the rules most of them
/// share; accounts with other rules are left out of `targets` and named in a note.
pub async fn import(context: &Context<'_>, scope: &ImportScope) -> Result<Option<ImportedSection>> {
    // The section delivers into the bunker: without one found, there is nothing it could say.
    let Some(bunker) = locate_bunker(context, scope).await? else { return Ok(None) };
    let bucket = bunker.bucket.as_str();
    let found = per_account(scope, |account| async move {
        let id = context.account_id(&account)?;
        let mut shared: Option<Rules> = None;
        for region in &scope.regions {
            let client = context.sessions.client::<aws_sdk_config::Client>(id, Some(region)).await;
            let recording = read_recorder(&client).await?.is_some_and(|recorder| recorder["recording"] == true);
            let channel = read_channel(&client).await?;
            let into_bunker =
                channel.is_some_and(|channel| channel["bucket"] == bucket && channel["name"] == super::NAME);
            if !recording || !into_bunker {
                return Ok(None);
            }
            let rules = region_rules(&client).await?;
            match &shared {
                Some(first) if *first != rules => return Ok(None),
                _ => shared = Some(rules),
            }
        }
        Ok(shared)
    })
    .await?;
    let Some((rules, targets, notes)) = common_setting(scope, "aws_config", &found) else { return Ok(None) };
    ImportedSection::new(AwsConfigSpec { targets, rules }, notes).map(Some)
}

/// The rules of one account and region the section can name: AWS-managed, named after their
/// identifier, made by no other service (`CreatedBy` empty), with string parameters.
async fn region_rules(client: &aws_sdk_config::Client) -> Result<Rules> {
    // https://docs.aws.amazon.com/config/latest/APIReference/API_DescribeConfigRules.html
    let rules = describe_rules(client, None).await.map_err(|error| aws_error("DescribeConfigRules", error))?;
    let mut found = Rules::new();
    for rule in rules.iter().filter(|rule| could_be_landing_zones(rule)) {
        let Some(identifier) = rule.config_rule_name.as_deref() else { continue };
        let attributes = rule_attributes(identifier, rule)?;
        let parameters = attributes["parameters"]
            .as_object()
            .map(|parameters| {
                parameters
                    .iter()
                    .filter_map(|(name, value)| Some((name.clone(), value.as_str()?.to_string())))
                    .collect()
            })
            .unwrap_or_default();
        found.insert(identifier.to_string(), parameters);
    }
    Ok(found)
}
