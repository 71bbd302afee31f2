//! `baseline.aws_config`: AWS Config in every targeted account and region of `organization.regions`.
//!
//! Controls per account and region: `aws_config/recorder` (recorder `default`: every supported
//! resource type, global types only in one region so IAM is not recorded once per region — the
//! home region, or the first of the spec where AWS Config records them (not after February 2022),
//! through the service-linked role, and recording); `aws_config/delivery_channel` (channel
//! `default` into the bunker bucket); `aws_config/rule/<IDENTIFIER>` (an AWS-managed rule named
//! after its identifier, with the spec's input parameters), after the recorder.
//!
//! AWS accepts a channel only once a recorder exists and starts a recorder only once a channel
//! exists, so the recorder's apply starts recording when it can and the channel's apply starts it
//! right after creating the channel: after both, `recording` reads true.
//!
//! Config allows one recorder and one channel per account and region: one under another name (from
//! Control Tower, say) is reported and refused, never renamed or deleted. Rules landing-zone puts
//! carry the ownership tag; one it created that the spec no longer asks for in that account and
//! region (the rule dropped, the account out of `targets`) is removed, and a rule it did not create
//! is never touched (rules other services made, `CreatedBy` set, are not even considered). The
//! recorder and channel of an account that leaves `targets` are left in place. This module does
//! not touch the bucket: the log-archive baseline owns it and its policy.

mod import;
mod validate;

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{anyhow, bail, Result};
use aws_sdk_config::operation::describe_config_rules::DescribeConfigRulesError;
use aws_sdk_config::types::{
    ConfigRule, ConfigRuleState, ConfigurationRecorder, DeliveryChannel, Owner, RecordingGroup, Source, Tag,
};
use serde_json::{json, Value};

use super::{aws_error, Actions, Baseline, BoxFuture, Context, Found, Ownership, Permissions, Places};
use crate::aws::errors::{is_no_such_config_rule, is_resource_in_use, is_resource_not_found};
use crate::aws::session::partition_of;
use crate::plan::control::{ControlKey, DesiredControl, Inputs};
use crate::spec::validate::Checker;
use crate::spec::{LogArchiveSpec, OWNERSHIP_TAG, OWNERSHIP_VALUE};

pub const CONTROL: &str = "aws_config";
pub const RECORDER: &str = "aws_config/recorder";
pub const CHANNEL: &str = "aws_config/delivery_channel";
/// Rules are `aws_config/rule/<IDENTIFIER>`.
pub const RULE_PREFIX: &str = "aws_config/rule/";
/// The name of the recorder and of the channel landing-zone manages.
pub const NAME: &str = "default";
/// The bunker bucket's control (owned by the log-archive baseline), which the channel waits for.
const BUNKER_BUCKET_CONTROL: &str = "log_archive/bucket";
const SERVICE_LINKED_ROLE_SERVICE: &str = "config.amazonaws.com";

/// The bunker bucket's name: the spec's `bucket_name`, else `landing-zone-logs-<bunker account id>`.
/// The log-archive baseline names the bucket by the same formula; this is agreed by formula and the
/// emulator test checks the channel points at the bucket that baseline created.
pub fn bunker_bucket_name(log_archive: &LogArchiveSpec) -> String {
    log_archive
        .bucket_name
        .clone()
        .unwrap_or_else(|| format!("landing-zone-logs-{{{{account:{}}}}}", log_archive.account))
}

pub fn desired(inputs: &Inputs<'_>) -> Vec<DesiredControl> {
    // Without the bunker there is nowhere to deliver; `validate` demands `log_archive`.
    let (Some(config), Some(log_archive)) = (&inputs.spec.baseline.aws_config, &inputs.spec.baseline.log_archive)
    else {
        return Vec::new();
    };
    let home = inputs.home_region();
    let partition = partition_of(home);
    let bucket = bunker_bucket_name(log_archive);
    let bunker_bucket = ControlKey::new(BUNKER_BUCKET_CONTROL, &log_archive.account, Some(home));
    // Global IAM types once per account, in the home Region when AWS Config records them there,
    // else in the first Region of the spec that does (validation refuses a spec with none).
    let global_types_region = crate::spec::regions::config_global_types_region(inputs.regions());
    let mut controls = Vec::new();
    for account in inputs.accounts_for(&config.targets) {
        let role_arn = format!(
            "arn:{partition}:iam::{{{{account:{account}}}}}:role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig"
        );
        for region in inputs.regions() {
            let at = Some(region.as_str());
            let recorder = ControlKey::new(RECORDER, &account, at);
            controls.push(
                DesiredControl::new(
                    recorder.clone(),
                    json!({
                        "name": NAME,
                        "role_arn": role_arn,
                        "all_supported": true,
                        "include_global_resource_types": Some(region.as_str()) == global_types_region,
                        "recording": true,
                    }),
                )
                .needs(&[
                    "config:PutConfigurationRecorder",
                    "config:StartConfigurationRecorder",
                    "iam:CreateServiceLinkedRole",
                    "iam:PassRole",
                ]),
            );
            controls.push(
                DesiredControl::new(ControlKey::new(CHANNEL, &account, at), json!({ "name": NAME, "bucket": bucket }))
                    .after(recorder.clone())
                    .after(bunker_bucket.clone())
                    .needs(&["config:PutDeliveryChannel", "config:StartConfigurationRecorder"]),
            );
            for (identifier, parameters) in &config.rules {
                controls.push(
                    DesiredControl::new(
                        ControlKey::new(format!("{RULE_PREFIX}{identifier}"), &account, at),
                        json!({ "identifier": identifier, "owner": "AWS", "parameters": parameters }),
                    )
                    .after(recorder.clone())
                    .needs(&["config:PutConfigRule", "config:TagResource"]),
                );
            }
        }
    }
    controls
}

pub async fn read(context: &Context<'_>, key: &ControlKey, desired: &Value) -> Result<Option<Value>> {
    let client = context
        .sessions
        .client::<aws_sdk_config::Client>(context.account_id(&key.account)?, key.region.as_deref())
        .await;
    match key.control.as_str() {
        RECORDER => read_recorder(&client).await,
        CHANNEL => read_channel(&client).await,
        control if control.starts_with(RULE_PREFIX) => {
            let identifier = desired["identifier"].as_str().ok_or_else(|| anyhow!("rule without an identifier"))?;
            let Some(reads) = context.reads else { return read_rule(&client, identifier).await };
            // One listing per account and region answers every rule the run reads there and the
            // search for rules the spec no longer asks for (issue 13: the read floor).
            let listing = listing(reads, &client, &key.account, key.region.as_deref()).await?;
            listing.get(identifier).map(|rule| rule_attributes(identifier, rule)).transpose()
        }
        other => bail!("unknown control `{other}`"),
    }
}

/// The rules of one account and region a run needs, by name: those the run reads there and those
/// that could be landing-zone's ([`could_be_landing_zones`]); the others are not kept.
type Listing = BTreeMap<String, ConfigRule>;

/// The account's rules in `region`, listed once per run whoever asks first (a rule's read or the
/// search), page by page (DescribeConfigRules without names returns them all, 25 a page:
/// https://docs.aws.amazon.com/config/latest/APIReference/API_DescribeConfigRules.html).
async fn listing(
    reads: &super::reads::RunReads,
    client: &aws_sdk_config::Client,
    account: &str,
    region: Option<&str>,
) -> Result<std::sync::Arc<Listing>> {
    let batch = format!("aws_config rules {account} {}", region.unwrap_or_default());
    reads
        .once_in_account(account, batch, || async {
            // Which rules the run reads here: worked out once per account and region, by the
            // first reader (scanning the run's controls per rule would cost a scan per read).
            let read: BTreeSet<&str> = reads
                .peers(account, region, RULE_PREFIX)
                .filter_map(|peer| peer.control.strip_prefix(RULE_PREFIX))
                .collect();
            let rules = describe_rules(client, None).await.map_err(|error| aws_error("DescribeConfigRules", error))?;
            Ok(rules
                .into_iter()
                .filter(|rule| {
                    could_be_landing_zones(rule)
                        || rule.config_rule_name.as_deref().is_some_and(|name| read.contains(name))
                })
                .filter_map(|rule| Some((rule.config_rule_name.clone()?, rule)))
                .collect::<Listing>())
        })
        .await
}

/// Every page of DescribeConfigRules, naming `names` (all the account's rules when None).
async fn describe_rules(
    client: &aws_sdk_config::Client,
    names: Option<&[String]>,
) -> Result<Vec<ConfigRule>, aws_sdk_config::error::SdkError<DescribeConfigRulesError>> {
    let mut rules = Vec::new();
    let mut pages =
        client.describe_config_rules().set_config_rule_names(names.map(<[String]>::to_vec)).into_paginator().send();
    while let Some(page) = pages.next().await {
        rules.extend(page?.config_rules.unwrap_or_default());
    }
    Ok(rules)
}

pub async fn apply(context: &Context<'_>, key: &ControlKey, attributes: &Value, before: Option<&Value>) -> Result<()> {
    let account_id = context.account_id(&key.account)?;
    let client = context.sessions.client::<aws_sdk_config::Client>(account_id, key.region.as_deref()).await;
    match key.control.as_str() {
        RECORDER => {
            refuse_other_name(RECORDER_KIND, before, key)?;
            // The role is global to the account: one CreateServiceLinkedRole per account and
            // run, shared by every region's recorder (not one per region, issue 13).
            context
                .sessions
                .once_per_account(account_id, "config service-linked role", || async {
                    ensure_service_linked_role(&context.sessions.client::<aws_sdk_iam::Client>(account_id, None).await)
                        .await
                })
                .await?;
            apply_recorder(&client, attributes, before.is_some()).await
        }
        CHANNEL => {
            refuse_other_name(CHANNEL_KIND, before, key)?;
            apply_channel(&client, attributes).await
        }
        control if control.starts_with(RULE_PREFIX) => apply_rule(&client, attributes, before.is_none()).await,
        other => bail!("unknown control `{other}`"),
    }
}

/// What Config allows one of per account and region: its name in messages, and the AWS CLI
/// command (with the name option) that deletes one.
struct Singleton {
    what: &'static str,
    delete: &'static str,
}

const RECORDER_KIND: Singleton =
    Singleton { what: "configuration recorder", delete: "delete-configuration-recorder --configuration-recorder-name" };
const CHANNEL_KIND: Singleton =
    Singleton { what: "delivery channel", delete: "delete-delivery-channel --delivery-channel-name" };

/// Config allows one recorder and one channel per account and region: one of another name is not
/// landing-zone's, and a second cannot be created next to it.
fn refuse_other_name(kind: Singleton, before: Option<&Value>, key: &ControlKey) -> Result<()> {
    let Some(name) = before.and_then(|before| before["name"].as_str()).filter(|name| *name != NAME) else {
        return Ok(());
    };
    let (what, delete, account) = (kind.what, kind.delete, &key.account);
    let region = key.region.as_deref().unwrap_or_default();
    bail!(
        "{account} already has the AWS Config {what} `{name}` in {region}, and Config allows one per account and region; landing-zone manages only `{NAME}` and does not take over or delete another\nhint: if nothing else manages `{name}`, delete it (`aws configservice {delete} {name} --region {region}`) and apply again; otherwise leave `{account}` out of `baseline.aws_config.targets`"
    )
}

/// Creates AWSServiceRoleForConfig; already there is success.
async fn ensure_service_linked_role(iam: &aws_sdk_iam::Client) -> Result<()> {
    match iam.create_service_linked_role().aws_service_name(SERVICE_LINKED_ROLE_SERVICE).send().await {
        Ok(_) => Ok(()),
        Err(error) if crate::aws::errors::is_service_linked_role_taken(&error) => Ok(()),
        Err(error) => Err(aws_error("CreateServiceLinkedRole", error)),
    }
}

/// The account's customer-managed recorder (service-linked recorders belong to other services).
async fn current_recorder(client: &aws_sdk_config::Client) -> Result<Option<ConfigurationRecorder>> {
    let recorders = client
        .describe_configuration_recorders()
        .send()
        .await
        .map_err(|error| aws_error("DescribeConfigurationRecorders", error))?;
    let mut recorders: Vec<ConfigurationRecorder> = recorders
        .configuration_recorders
        .unwrap_or_default()
        .into_iter()
        .filter(|recorder| recorder.service_principal.is_none())
        .collect();
    // Ours first, should AWS ever list more than one.
    recorders.sort_by_key(|recorder| recorder.name.as_deref() != Some(NAME));
    Ok(recorders.into_iter().next())
}

/// `{ name, role_arn, all_supported, include_global_resource_types, recording }`; None without one.
pub async fn read_recorder(client: &aws_sdk_config::Client) -> Result<Option<Value>> {
    let Some(recorder) = current_recorder(client).await? else { return Ok(None) };
    let name = recorder.name.clone().unwrap_or_default();
    let status = client
        .describe_configuration_recorder_status()
        .configuration_recorder_names(&name)
        .send()
        .await
        .map_err(|error| aws_error("DescribeConfigurationRecorderStatus", error))?;
    let recording = status
        .configuration_recorders_status
        .unwrap_or_default()
        .iter()
        .any(|status| status.name.as_deref() == Some(name.as_str()) && status.recording);
    let group = recorder.recording_group.as_ref();
    Ok(Some(json!({
        "name": name,
        "role_arn": recorder.role_arn,
        "all_supported": group.is_some_and(|group| group.all_supported),
        "include_global_resource_types": group.is_some_and(|group| group.include_global_resource_types),
        "recording": recording,
    })))
}

/// Puts the recorder and, when it `existed` before, starts it (the channel's apply starts a new one).
///
/// AWS starts a recorder only once a delivery channel exists, and accepts a channel only once a
/// recorder exists (https://docs.aws.amazon.com/config/latest/APIReference/API_PutDeliveryChannel.html,
/// https://docs.aws.amazon.com/config/latest/APIReference/API_StartConfigurationRecorder.html:
/// `NoAvailableDeliveryChannelException`). A recorder that did not exist has no channel yet, so
/// the channel control (planned after it) creates the channel and starts recording: trying here
/// too was a second StartConfigurationRecorder per account and region, always refused (issue 13).
/// A recorder that existed (stopped, or changed) may have a channel already: it is started here,
/// and a missing channel is left to the channel's apply.
pub async fn apply_recorder(client: &aws_sdk_config::Client, attributes: &Value, existed: bool) -> Result<()> {
    let flag = |name: &str| attributes[name].as_bool().ok_or_else(|| anyhow!("recorder without `{name}`"));
    let role_arn = attributes["role_arn"].as_str().ok_or_else(|| anyhow!("recorder without a role"))?;
    let recorder = ConfigurationRecorder::builder()
        .name(NAME)
        .role_arn(role_arn)
        .recording_group(
            RecordingGroup::builder()
                .all_supported(flag("all_supported")?)
                .include_global_resource_types(flag("include_global_resource_types")?)
                .build(),
        )
        .build();
    client
        .put_configuration_recorder()
        .configuration_recorder(recorder)
        .send()
        .await
        .map_err(|error| aws_error("PutConfigurationRecorder", error))?;
    if flag("recording")? && existed {
        match client.start_configuration_recorder().configuration_recorder_name(NAME).send().await {
            Ok(_) => {}
            // No channel yet: the delivery channel control starts the recorder once it exists.
            Err(error) if crate::aws::errors::is_no_available_delivery_channel(&error) => {}
            Err(error) => return Err(aws_error("StartConfigurationRecorder", error)),
        }
    }
    Ok(())
}

/// `{ name, bucket }` of the account's delivery channel; None without one.
pub async fn read_channel(client: &aws_sdk_config::Client) -> Result<Option<Value>> {
    let channels = client
        .describe_delivery_channels()
        .send()
        .await
        .map_err(|error| aws_error("DescribeDeliveryChannels", error))?;
    let mut channels = channels.delivery_channels.unwrap_or_default();
    channels.sort_by_key(|channel| channel.name.as_deref() != Some(NAME));
    Ok(channels.into_iter().next().map(|channel| json!({ "name": channel.name, "bucket": channel.s3_bucket_name })))
}

/// Puts the channel, then starts the recorder (which AWS refuses while no channel exists).
pub async fn apply_channel(client: &aws_sdk_config::Client, attributes: &Value) -> Result<()> {
    let bucket = attributes["bucket"].as_str().ok_or_else(|| anyhow!("delivery channel without a bucket"))?;
    let channel = DeliveryChannel::builder().name(NAME).s3_bucket_name(bucket).build();
    client
        .put_delivery_channel()
        .delivery_channel(channel)
        .send()
        .await
        .map_err(|error| aws_error("PutDeliveryChannel", error))?;
    client
        .start_configuration_recorder()
        .configuration_recorder_name(NAME)
        .send()
        .await
        .map_err(|error| aws_error("StartConfigurationRecorder", error))?;
    Ok(())
}

/// `{ identifier, owner, parameters }` of the rule named `identifier`; None without one.
pub async fn read_rule(client: &aws_sdk_config::Client, identifier: &str) -> Result<Option<Value>> {
    let rules = match client.describe_config_rules().config_rule_names(identifier).send().await {
        Ok(output) => output.config_rules.unwrap_or_default(),
        Err(error) if is_no_such_config_rule(&error) => return Ok(None),
        Err(error) => return Err(aws_error("DescribeConfigRules", error)),
    };
    let Some(rule) = rules.into_iter().find(|rule| rule.config_rule_name.as_deref() == Some(identifier)) else {
        return Ok(None);
    };
    rule_attributes(identifier, &rule).map(Some)
}

/// `{ identifier, owner, parameters }` of one rule as AWS describes it.
fn rule_attributes(identifier: &str, rule: &ConfigRule) -> Result<Value> {
    // AWS returns the parameters as the JSON text it was given ("{}" or absent when there are none).
    let parameters: Value = match rule.input_parameters.as_deref().map(str::trim) {
        None | Some("") => json!({}),
        Some(text) => serde_json::from_str(text)
            .map_err(|error| anyhow!("rule `{identifier}` has input parameters that are not JSON: {error}"))?,
    };
    let source = rule.source.as_ref();
    Ok(json!({
        "identifier": source.and_then(|source| source.source_identifier.as_deref()).unwrap_or_default(),
        // A custom rule under this name reads as a change, and is replaced by the managed rule.
        "owner": source.map(|source| source.owner.as_str()).unwrap_or_default(),
        "parameters": parameters,
    }))
}

/// Puts the AWS-managed rule, named after its identifier, with its parameters; one it `creates`
/// carries the ownership tag.
pub async fn apply_rule(client: &aws_sdk_config::Client, attributes: &Value, creates: bool) -> Result<()> {
    let identifier = attributes["identifier"].as_str().ok_or_else(|| anyhow!("rule without an identifier"))?;
    let source = Source::builder()
        .owner(Owner::Aws)
        .source_identifier(identifier)
        .build()
        .map_err(|error| anyhow!("rule `{identifier}`: {error}"))?;
    // Always sent, `{}` included: leaving it out would keep parameters the spec no longer lists.
    let parameters = match &attributes["parameters"] {
        Value::Object(map) => Value::Object(map.clone()).to_string(),
        _ => "{}".to_string(),
    };
    let rule = ConfigRule::builder().config_rule_name(identifier).source(source).input_parameters(parameters).build();
    // The ownership tag marks the rules landing-zone creates, so that one the spec stops asking
    // for is removed and no other is ("Tags: An array of tag object",
    // https://docs.aws.amazon.com/config/latest/APIReference/API_PutConfigRule.html). Sent only
    // when creating: a rule that existed before the spec named it is adopted, not owned.
    let owned = creates.then(|| vec![Tag::builder().key(OWNERSHIP_TAG).value(OWNERSHIP_VALUE).build()]);
    client
        .put_config_rule()
        .config_rule(rule)
        .set_tags(owned)
        .send()
        .await
        .map_err(|error| aws_error("PutConfigRule", error))?;
    Ok(())
}

/// Whether a rule has the shape of those landing-zone puts, so that its tags are worth reading: an
/// AWS-managed rule named after its identifier, made by no other service (a service-linked rule,
/// Security Hub's or Control Tower's, names its maker in `CreatedBy` and only that service may
/// delete it), and not already being deleted (`DELETING` until DeleteConfigRule completes:
/// https://docs.aws.amazon.com/config/latest/APIReference/API_DeleteConfigRule.html).
fn could_be_landing_zones(rule: &ConfigRule) -> bool {
    let managed_under_its_identifier = rule.source.as_ref().is_some_and(|source| {
        source.owner == Owner::Aws
            && source.source_identifier.is_some()
            && source.source_identifier == rule.config_rule_name
    });
    let going = matches!(rule.config_rule_state, Some(ConfigRuleState::Deleting | ConfigRuleState::DeletingResults));
    managed_under_its_identifier && rule.created_by.is_none() && !going
}

/// Whether the rule (or organization conformance pack) `arn` carries the ownership tag; None when
/// it is gone.
/// https://docs.aws.amazon.com/config/latest/APIReference/API_ListTagsForResource.html
pub(crate) async fn is_owned(client: &aws_sdk_config::Client, arn: &str) -> Result<Option<bool>> {
    let mut owned = false;
    let mut pages = client.list_tags_for_resource().resource_arn(arn).into_paginator().items().send();
    while let Some(tag) = pages.next().await {
        match tag {
            Ok(tag) => {
                owned |= tag.key.as_deref() == Some(OWNERSHIP_TAG) && tag.value.as_deref() == Some(OWNERSHIP_VALUE)
            }
            Err(error) if is_resource_not_found(&error) => return Ok(None),
            Err(error) => return Err(aws_error("ListTagsForResource", error)),
        }
    }
    Ok(Some(owned))
}

/// Every rule in `account` and `region` that `wanted` does not name and that could be
/// landing-zone's ([`could_be_landing_zones`]), marked owned when it carries the ownership tag.
/// One DescribeConfigRules listing per account and region, shared with the rules' reads when the
/// run shares its reads, and the tags of the few candidates.
pub async fn find(
    context: &Context<'_>,
    account: &str,
    region: Option<&str>,
    wanted: &BTreeSet<ControlKey>,
) -> Result<Vec<Found>> {
    let Some(region) = region else { return Ok(Vec::new()) };
    let client = context.sessions.client::<aws_sdk_config::Client>(context.account_id(account)?, Some(region)).await;
    let rules: Vec<ConfigRule> = match context.reads {
        Some(reads) => listing(reads, &client, account, Some(region)).await?.values().cloned().collect(),
        None => describe_rules(&client, None).await.map_err(|error| aws_error("DescribeConfigRules", error))?,
    };
    let mut found = Vec::new();
    for rule in rules.iter().filter(|rule| could_be_landing_zones(rule)) {
        let (Some(name), Some(arn)) = (rule.config_rule_name.as_deref(), rule.config_rule_arn.as_deref()) else {
            continue;
        };
        let key = ControlKey::new(format!("{RULE_PREFIX}{name}"), account, Some(region));
        if wanted.contains(&key) {
            continue;
        }
        let Some(owned) = is_owned(&client, arn).await? else { continue };
        let attributes = if owned { rule_attributes(name, rule)? } else { Value::Null };
        found.push(Found { key, owned, attributes, loses_data: None });
    }
    Ok(found)
}

/// Deletes a rule landing-zone created (AWS deletes its evaluation results with it, which AWS
/// Config computes again should the rule come back). Refuses a rule that no longer carries the
/// ownership tag; one gone or already being deleted is success.
/// https://docs.aws.amazon.com/config/latest/APIReference/API_DeleteConfigRule.html
pub async fn remove(context: &Context<'_>, key: &ControlKey) -> Result<()> {
    let name =
        key.control.strip_prefix(RULE_PREFIX).ok_or_else(|| anyhow!("{}: not an AWS Config rule", key.label()))?;
    let client = context
        .sessions
        .client::<aws_sdk_config::Client>(context.account_id(&key.account)?, key.region.as_deref())
        .await;
    let rules = match describe_rules(&client, Some(&[name.to_string()])).await {
        Ok(rules) => rules,
        Err(error) if is_no_such_config_rule(&error) => return Ok(()),
        Err(error) => return Err(aws_error("DescribeConfigRules", error)),
    };
    let Some(rule) = rules.into_iter().find(|rule| rule.config_rule_name.as_deref() == Some(name)) else {
        return Ok(());
    };
    if matches!(rule.config_rule_state, Some(ConfigRuleState::Deleting | ConfigRuleState::DeletingResults)) {
        return Ok(());
    }
    let arn = rule.config_rule_arn.as_deref().ok_or_else(|| anyhow!("{}: AWS Config named no ARN", key.label()))?;
    match is_owned(&client, arn).await? {
        None => return Ok(()),
        Some(false) => bail!(
            "{}: the rule no longer carries the `{OWNERSHIP_TAG}` tag; landing-zone removes only what it created\nhint: plan again",
            key.label()
        ),
        Some(true) => {}
    }
    match client.delete_config_rule().config_rule_name(name).send().await {
        Ok(_) => Ok(()),
        Err(error) if is_no_such_config_rule(&error) => Ok(()),
        Err(error) if is_resource_in_use(&error) => Err(aws_error("DeleteConfigRule", error).context(format!(
            "{}: AWS Config is busy with the rule (deleting it or its evaluation results), or a remediation action is still associated with it\nhint: delete the rule's remediation configuration if it has one (`aws configservice delete-remediation-configuration --config-rule-name {name}`), then apply again",
            key.label()
        ))),
        Err(error) => Err(aws_error("DeleteConfigRule", error)),
    }
}

/// The `baseline.aws_config` section in the registry.
pub struct AwsConfig;

impl Baseline for AwsConfig {
    fn validate(&self, checker: &mut Checker<'_>) {
        validate::check(checker);
    }

    fn family(&self) -> &'static str {
        CONTROL
    }

    fn section(&self) -> &'static str {
        "aws_config"
    }

    fn summary(&self) -> &'static str {
        "AWS Config recorder, delivery to the bunker and managed rules in every targeted account and region"
    }

    fn desired(&self, inputs: &Inputs<'_>) -> Vec<DesiredControl> {
        desired(inputs)
    }

    fn permissions(&self) -> Permissions {
        Permissions {
            management: Actions { read: &[], write: &[] },
            in_account: Actions {
                read: &[
                    "config:DescribeConfigRules",
                    "config:ListTagsForResource",
                    "config:DescribeConfigurationRecorderStatus",
                    "config:DescribeConfigurationRecorders",
                    "config:DescribeDeliveryChannels",
                ],
                write: &[
                    "config:DeleteConfigRule",
                    "config:PutConfigRule",
                    "config:PutConfigurationRecorder",
                    "config:PutDeliveryChannel",
                    "config:StartConfigurationRecorder",
                    "config:TagResource",
                    "iam:CreateServiceLinkedRole",
                    "iam:PassRole",
                ],
            },
        }
    }

    fn read<'a>(
        &'a self,
        context: &'a Context<'_>,
        key: &'a ControlKey,
        desired: &'a Value,
    ) -> BoxFuture<'a, Result<Option<Value>>> {
        Box::pin(read(context, key, desired))
    }

    fn apply<'a>(
        &'a self,
        context: &'a Context<'_>,
        key: &'a ControlKey,
        attributes: &'a Value,
        before: Option<&'a Value>,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(apply(context, key, attributes, before))
    }

    fn ownership(&self) -> Option<Ownership> {
        Some(Ownership { places: Places::Regions })
    }

    fn find<'a>(
        &'a self,
        context: &'a Context<'_>,
        account: &'a str,
        region: Option<&'a str>,
        wanted: &'a BTreeSet<ControlKey>,
    ) -> BoxFuture<'a, Result<Vec<Found>>> {
        Box::pin(find(context, account, region, wanted))
    }

    fn remove<'a>(
        &'a self,
        context: &'a Context<'_>,
        key: &'a ControlKey,
        _before: &'a Value,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(remove(context, key))
    }

    fn import<'a>(
        &'a self,
        context: &'a Context<'_>,
        scope: &'a super::import::ImportScope,
    ) -> BoxFuture<'a, Result<Option<super::import::ImportedSection>>> {
        Box::pin(import::import(context, scope))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn another_recorder_is_refused_with_a_hint() {
        let key = ControlKey::new(RECORDER, "app-prod", Some("eu-west-1"));
        let theirs = json!({ "name": "aws-controltower-BaselineConfigRecorder" });
        let error = refuse_other_name(RECORDER_KIND, Some(&theirs), &key).expect_err("refused");
        let text = error.to_string();
        assert!(text.contains("aws-controltower-BaselineConfigRecorder") && text.contains("\nhint: "), "{text}");
        assert!(refuse_other_name(RECORDER_KIND, Some(&json!({ "name": NAME })), &key).is_ok());
        assert!(refuse_other_name(CHANNEL_KIND, None, &key).is_ok());
    }
}
