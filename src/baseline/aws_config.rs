//! `baseline.aws_config`: AWS Config in every targeted account and region — a recorder (all
//! supported resources; global types in the home region only) using the service-linked role, a
//! delivery channel into the bunker bucket, recording started, and the managed rules the spec lists.

use anyhow::{anyhow, bail, Result};
use aws_sdk_config::types::{ConfigRule, ConfigurationRecorder, DeliveryChannel, Owner, RecordingGroup, Source};
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use serde_json::{json, Value};

use super::log_archive::{bucket_name, BUCKET_CONTROL};
use super::{aws_error, Context, ControlKey, DesiredControl, Inputs};
use crate::aws::session::partition_of;

pub const CONTROL: &str = "aws_config";
const RECORDER: &str = "aws_config/recorder";
const CHANNEL: &str = "aws_config/delivery_channel";
const RULE: &str = "aws_config/rule";
const NAME: &str = "default";

pub fn desired(inputs: &Inputs<'_>) -> Vec<DesiredControl> {
    let (Some(config), Some(log_archive)) = (&inputs.spec.baseline.aws_config, &inputs.spec.baseline.log_archive)
    else {
        return Vec::new();
    };
    let home = inputs.home_region().to_string();
    let partition = partition_of(&home);
    let bucket = bucket_name(log_archive);
    let bunker_bucket = ControlKey::new(BUCKET_CONTROL, &log_archive.account, Some(&home));
    let mut controls = Vec::new();
    for account in inputs.accounts_for(&config.targets) {
        for region in inputs.regions() {
            let at = Some(region.as_str());
            let recorder = ControlKey::new(RECORDER, &account, at);
            let channel = ControlKey::new(CHANNEL, &account, at);
            controls.push(
                DesiredControl::new(
                    recorder.clone(),
                    json!({
                        "name": NAME,
                        "role_arn": format!("arn:{partition}:iam::{{{{account:{account}}}}}:role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig"),
                        "all_supported": true,
                        "include_global_resource_types": *region == home,
                    }),
                )
                .needs(&["config:PutConfigurationRecorder", "iam:CreateServiceLinkedRole"]),
            );
            controls.push(
                DesiredControl::new(channel.clone(), json!({ "name": NAME, "bucket": bucket, "recording": true }))
                    .after(recorder)
                    .after(bunker_bucket.clone())
                    .needs(&["config:PutDeliveryChannel", "config:StartConfigurationRecorder"]),
            );
            for (identifier, parameters) in &config.rules {
                controls.push(
                    DesiredControl::new(
                        ControlKey::new(format!("{RULE}/{identifier}"), &account, at),
                        json!({ "identifier": identifier, "parameters": parameters }),
                    )
                    .after(channel.clone())
                    .needs(&["config:PutConfigRule"]),
                );
            }
        }
    }
    controls
}

pub async fn read(context: &Context<'_>, key: &ControlKey, desired: &Value) -> Result<Option<Value>> {
    let client = context.sessions.config_service(context.account_id(&key.account)?, key.region.as_deref()).await;
    if key.control == RECORDER {
        let recorders = client
            .describe_configuration_recorders()
            .send()
            .await
            .map_err(|error| aws_error("DescribeConfigurationRecorders", error))?;
        return Ok(recorders
            .configuration_recorders
            .unwrap_or_default()
            .into_iter()
            .find(|r| r.name.as_deref() == Some(NAME))
            .map(|recorder| {
                let group = recorder.recording_group;
                json!({
                    "name": NAME,
                    "role_arn": recorder.role_arn,
                    "all_supported": group.as_ref().is_some_and(|g| g.all_supported),
                    "include_global_resource_types": group.as_ref().is_some_and(|g| g.include_global_resource_types),
                })
            }));
    }
    if key.control == CHANNEL {
        let channels = client
            .describe_delivery_channels()
            .send()
            .await
            .map_err(|error| aws_error("DescribeDeliveryChannels", error))?;
        let Some(channel) =
            channels.delivery_channels.unwrap_or_default().into_iter().find(|c| c.name.as_deref() == Some(NAME))
        else {
            return Ok(None);
        };
        let status = client
            .describe_configuration_recorder_status()
            .send()
            .await
            .map_err(|error| aws_error("DescribeConfigurationRecorderStatus", error))?;
        let recording = status
            .configuration_recorders_status
            .unwrap_or_default()
            .iter()
            .any(|s| s.name.as_deref() == Some(NAME) && s.recording);
        return Ok(Some(json!({ "name": NAME, "bucket": channel.s3_bucket_name, "recording": recording })));
    }
    if key.control.starts_with(RULE) {
        let identifier = desired["identifier"].as_str().unwrap_or_default();
        let rules = match client.describe_config_rules().config_rule_names(identifier).send().await {
            Ok(output) => output.config_rules.unwrap_or_default(),
            Err(error) if error.code() == Some("NoSuchConfigRuleException") => return Ok(None),
            Err(error) => return Err(aws_error("DescribeConfigRules", error)),
        };
        return Ok(rules.into_iter().find(|rule| rule.config_rule_name.as_deref() == Some(identifier)).map(|rule| {
            let parameters: Value = rule
                .input_parameters
                .as_deref()
                .and_then(|text| serde_json::from_str(text).ok())
                .unwrap_or_else(|| json!({}));
            json!({
                "identifier": rule.source.and_then(|source| source.source_identifier).unwrap_or_default(),
                "parameters": parameters,
            })
        }));
    }
    bail!("unknown control `{}`", key.control)
}

pub async fn apply(context: &Context<'_>, key: &ControlKey, attributes: &Value, before: Option<&Value>) -> Result<()> {
    let account_id = context.account_id(&key.account)?;
    let client = context.sessions.config_service(account_id, key.region.as_deref()).await;
    if key.control == RECORDER {
        let iam = context.sessions.iam(account_id).await;
        match iam.create_service_linked_role().aws_service_name("config.amazonaws.com").send().await {
            Ok(_) => {}
            Err(error) if matches!(error.code(), Some("InvalidInput") | Some("EntityAlreadyExists")) => {}
            Err(error) => return Err(aws_error("CreateServiceLinkedRole", error)),
        }
        let recorder = ConfigurationRecorder::builder()
            .name(NAME)
            .role_arn(attributes["role_arn"].as_str().unwrap_or_default())
            .recording_group(
                RecordingGroup::builder()
                    .all_supported(attributes["all_supported"].as_bool().unwrap_or(true))
                    .include_global_resource_types(
                        attributes["include_global_resource_types"].as_bool().unwrap_or(false),
                    )
                    .build(),
            )
            .build();
        client
            .put_configuration_recorder()
            .configuration_recorder(recorder)
            .send()
            .await
            .map_err(|error| aws_error("PutConfigurationRecorder", error))?;
        return Ok(());
    }
    if key.control == CHANNEL {
        let bucket = attributes["bucket"].as_str().ok_or_else(|| anyhow!("delivery channel without a bucket"))?;
        if before.map(|before| &before["bucket"]) != Some(&attributes["bucket"]) {
            let channel = DeliveryChannel::builder().name(NAME).s3_bucket_name(bucket).build();
            client
                .put_delivery_channel()
                .delivery_channel(channel)
                .send()
                .await
                .map_err(|error| aws_error("PutDeliveryChannel", error))?;
        }
        client
            .start_configuration_recorder()
            .configuration_recorder_name(NAME)
            .send()
            .await
            .map_err(|error| aws_error("StartConfigurationRecorder", error))?;
        return Ok(());
    }
    if key.control.starts_with(RULE) {
        let identifier = attributes["identifier"].as_str().ok_or_else(|| anyhow!("rule without an identifier"))?;
        let parameters = &attributes["parameters"];
        let mut rule = ConfigRule::builder().config_rule_name(identifier).source(
            Source::builder().owner(Owner::Aws).source_identifier(identifier).build().map_err(|e| anyhow!("{e}"))?,
        );
        if parameters.as_object().is_some_and(|map| !map.is_empty()) {
            rule = rule.input_parameters(parameters.to_string());
        }
        client
            .put_config_rule()
            .config_rule(rule.build())
            .send()
            .await
            .map_err(|error| aws_error("PutConfigRule", error))?;
        return Ok(());
    }
    bail!("unknown control `{}`", key.control)
}
