//! `baseline.cloudtrail`: the organization trail in the management account (home region):
//! organization-wide, multi-region, log-file validation, KMS-encrypted with the bunker key, writing
//! to the bunker bucket, logging started. Ordered after trusted access, the bucket and the key.

mod import;
mod validate;

pub use import::organization_trails;

use anyhow::Result;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::attributes::{decode, encode};
use super::audit::{AuditedOrganization, Finding, Status};
use super::log_archive::{bucket_name, key_alias_arn, BUCKET_CONTROL, KEY_CONTROL};
use super::{aws_error, Actions, Baseline, BoxFuture, Context, Permissions};
use crate::aws::errors;
use crate::plan::control::{ControlKey, DesiredControl, Inputs};
use crate::spec::validate::Checker;
use crate::spec::Spec;

pub const CONTROL: &str = "cloudtrail";
pub const TRAIL_CONTROL: &str = "cloudtrail/trail";
pub const SERVICE: &str = "cloudtrail.amazonaws.com";

/// The organization trail's attributes (desired and live).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Trail {
    pub name: String,
    pub bucket: Option<String>,
    /// The bunker key's alias ARN (live: the key ARN CloudTrail reports, shown as the alias when
    /// both name the same key).
    pub kms_key: Option<String>,
    pub organization: bool,
    pub multi_region: bool,
    pub log_file_validation: bool,
    pub global_service_events: bool,
    pub logging: bool,
}

pub fn desired(inputs: &Inputs<'_>) -> Vec<DesiredControl> {
    let spec = inputs.spec;
    let (Some(trail), Some(log_archive), Some(management)) =
        (&spec.baseline.cloudtrail, &spec.baseline.log_archive, &spec.organization.management_account)
    else {
        return Vec::new();
    };
    let region = inputs.home_region();
    let attributes = encode(&Trail {
        name: trail.name.clone(),
        bucket: Some(bucket_name(log_archive)),
        kms_key: Some(key_alias_arn(spec, log_archive)),
        organization: true,
        multi_region: trail.multi_region,
        log_file_validation: trail.log_file_validation,
        global_service_events: true,
        logging: true,
    });
    vec![DesiredControl::new(ControlKey::new(TRAIL_CONTROL, management, Some(region)), attributes)
        .after(ControlKey::new(BUCKET_CONTROL, &log_archive.account, Some(region)))
        .after(ControlKey::new(KEY_CONTROL, &log_archive.account, Some(region)))
        .after_service(SERVICE)
        .needs(&["cloudtrail:CreateTrail", "cloudtrail:UpdateTrail", "cloudtrail:StartLogging"])]
}

/// Reads the live trail; `desired` names it.
pub async fn read(context: &Context<'_>, key: &ControlKey, desired: &Value) -> Result<Option<Value>> {
    let client = context
        .sessions
        .client::<aws_sdk_cloudtrail::Client>(context.account_id(&key.account)?, key.region.as_deref())
        .await;
    let wanted: Trail = decode(key, desired)?;
    let name = wanted.name.as_str();
    let trails = describe_trails(&client, Some(name)).await?;
    let Some(trail) = trails.into_iter().find(|trail| trail.name.as_deref() == Some(name)) else { return Ok(None) };
    let Some(logging) = trail_logging(&client, name).await? else { return Ok(None) };
    let kms_key = match (trail.kms_key_id, wanted.kms_key.as_deref()) {
        (Some(live), Some(wanted)) if live != wanted => Some(same_key(context, live, wanted).await?),
        (live, _) => live,
    };
    Ok(Some(encode(&Trail {
        name: name.to_string(),
        bucket: trail.s3_bucket_name,
        kms_key,
        organization: trail.is_organization_trail.unwrap_or(false),
        multi_region: trail.is_multi_region_trail.unwrap_or(false),
        log_file_validation: trail.log_file_validation_enabled.unwrap_or(false),
        global_service_events: trail.include_global_service_events.unwrap_or(false),
        logging,
    })))
}

/// The trails `DescribeTrails` returns in the client's region: the one named, or with no name every
/// trail the region sees, shadow trails (other regions' trails and the organization's) included.
/// https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_DescribeTrails.html
async fn describe_trails(
    client: &aws_sdk_cloudtrail::Client,
    name: Option<&str>,
) -> Result<Vec<aws_sdk_cloudtrail::types::Trail>> {
    let request = match name {
        Some(name) => client.describe_trails().trail_name_list(name),
        None => client.describe_trails().include_shadow_trails(true),
    };
    Ok(request.send().await.map_err(|error| aws_error("DescribeTrails", error))?.trail_list.unwrap_or_default())
}

/// Whether the trail (name, or ARN for a shadow trail) is logging; None when it is gone.
async fn trail_logging(client: &aws_sdk_cloudtrail::Client, trail: &str) -> Result<Option<bool>> {
    match client.get_trail_status().name(trail).send().await {
        Ok(status) => Ok(Some(status.is_logging.unwrap_or(false))),
        Err(error) if errors::is_trail_not_found(&error) => Ok(None),
        Err(error) => Err(aws_error("GetTrailStatus", error)),
    }
}

/// `audit`: a multi-region organization trail, whatever the spec names it, with log file
/// validation on and logging, read in the management account's home region with the functions
/// the trail's reader uses.
async fn audit_organization(context: &Context<'_>, organization: &AuditedOrganization<'_>) -> Vec<Finding> {
    const CHECK: &str = "organization trail";
    const SCOPE: &str = "organization";
    let client =
        context.sessions.client::<aws_sdk_cloudtrail::Client>(organization.management, Some(organization.home)).await;
    let trails = match describe_trails(&client, None).await {
        Ok(trails) => trails,
        Err(error) => return vec![Finding::read_failed(SCOPE, CHECK, None, &error)],
    };
    let Some(trail) = trails
        .iter()
        .find(|trail| trail.is_organization_trail == Some(true) && trail.is_multi_region_trail == Some(true))
    else {
        return vec![Finding::new(SCOPE, CHECK, None, Status::Fail, "no multi-region organization trail")];
    };
    let name = trail.name.clone().unwrap_or_default();
    let logging = match trail_logging(&client, trail.trail_arn.as_deref().unwrap_or(&name)).await {
        Ok(logging) => logging == Some(true),
        Err(error) => return vec![Finding::read_failed(SCOPE, CHECK, None, &error)],
    };
    vec![
        Finding::new(SCOPE, CHECK, None, Status::Pass, format!("`{name}` covers the organization in every region")),
        Finding::check(
            SCOPE,
            "organization trail: log file validation",
            None,
            trail.log_file_validation_enabled == Some(true),
            "enabled",
            "log file validation is off",
        ),
        Finding::check(SCOPE, "organization trail: logging", None, logging, "logging", "the trail is not logging"),
    ]
}

/// The trail's key as the spec names it when both name the same key, else the live value.
///
/// CloudTrail is given the bunker key's alias ARN but AWS reports the key ARN it resolved
/// (`arn:aws:kms:<region>:<account>:key/<id>`; moto reports what it was given). The alias is
/// resolved in the account the alias ARN names (the bunker), where the executor may DescribeKey.
async fn same_key(context: &Context<'_>, live: String, wanted: &str) -> Result<String> {
    let parts: Vec<&str> = wanted.split(':').collect();
    let (Some(region), Some(account_id), Some(resource)) = (parts.get(3), parts.get(4), parts.get(5)) else {
        return Ok(live);
    };
    if !resource.starts_with("alias/") || !live.contains(":key/") {
        return Ok(live);
    }
    let kms = context.sessions.client::<aws_sdk_kms::Client>(account_id, Some(region)).await;
    match kms.describe_key().key_id(wanted).send().await {
        Ok(output) => {
            let resolved = output.key_metadata.and_then(|metadata| metadata.arn);
            Ok(if resolved.as_deref() == Some(live.as_str()) { wanted.to_string() } else { live })
        }
        // The alias is gone (or points elsewhere): the live key is shown as it is, and differs.
        Err(error) if errors::is_not_found_exception(&error) => Ok(live),
        Err(error) => Err(aws_error("DescribeKey", error)),
    }
}

pub async fn apply(context: &Context<'_>, key: &ControlKey, attributes: &Value, before: Option<&Value>) -> Result<()> {
    let client = context
        .sessions
        .client::<aws_sdk_cloudtrail::Client>(context.account_id(&key.account)?, key.region.as_deref())
        .await;
    let wanted: Trail = decode(key, attributes)?;
    let live: Option<Trail> = before.map(|before| decode(key, before)).transpose()?;
    let name = wanted.name.clone();
    // The trail's configuration, logging aside (StartLogging turns that on).
    let configuration_differs =
        live.as_ref().is_none_or(|live| Trail { logging: wanted.logging, ..live.clone() } != wanted);
    let mut configuration_differs = configuration_differs;
    if before.is_none() {
        let created = client
            .create_trail()
            .name(&name)
            .s3_bucket_name(wanted.bucket.clone().unwrap_or_default())
            .set_kms_key_id(wanted.kms_key.clone())
            .is_organization_trail(wanted.organization)
            .is_multi_region_trail(wanted.multi_region)
            .enable_log_file_validation(wanted.log_file_validation)
            .include_global_service_events(wanted.global_service_events)
            .send()
            .await;
        match created {
            Ok(_) => configuration_differs = false,
            Err(error) if errors::is_trail_already_exists(&error) => {}
            Err(error) => return Err(aws_error("CreateTrail", error)),
        }
    }
    if configuration_differs {
        client
            .update_trail()
            .name(&name)
            .s3_bucket_name(wanted.bucket.clone().unwrap_or_default())
            .set_kms_key_id(wanted.kms_key.clone())
            .is_organization_trail(wanted.organization)
            .is_multi_region_trail(wanted.multi_region)
            .enable_log_file_validation(wanted.log_file_validation)
            .include_global_service_events(wanted.global_service_events)
            .send()
            .await
            .map_err(|error| aws_error("UpdateTrail", error))?;
    }
    let logging = live.as_ref().is_some_and(|live| live.logging);
    if wanted.logging && !logging {
        client.start_logging().name(&name).send().await.map_err(|error| aws_error("StartLogging", error))?;
    }
    Ok(())
}

/// The `baseline.cloudtrail` section in the registry.
pub struct CloudTrail;

impl Baseline for CloudTrail {
    fn validate(&self, checker: &mut Checker<'_>) {
        validate::check(checker);
    }

    fn family(&self) -> &'static str {
        CONTROL
    }

    fn section(&self) -> &'static str {
        "cloudtrail"
    }

    fn summary(&self) -> &'static str {
        "the organization trail into the bunker, from the management account"
    }

    fn desired(&self, inputs: &Inputs<'_>) -> Vec<DesiredControl> {
        desired(inputs)
    }

    fn trusted_services(&self, spec: &Spec) -> Vec<&'static str> {
        if spec.baseline.cloudtrail.is_some() {
            vec![SERVICE]
        } else {
            Vec::new()
        }
    }

    fn permissions(&self) -> Permissions {
        Permissions {
            management: Actions { read: &[], write: &[] },
            in_account: Actions {
                read: &["cloudtrail:DescribeTrails", "cloudtrail:GetTrailStatus", "kms:DescribeKey"],
                write: &[
                    "cloudtrail:CreateTrail",
                    "cloudtrail:UpdateTrail",
                    "cloudtrail:StartLogging",
                    "iam:CreateServiceLinkedRole",
                    "iam:GetRole",
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

    fn audit_organization<'a>(
        &'a self,
        context: &'a Context<'_>,
        organization: &'a AuditedOrganization<'a>,
    ) -> BoxFuture<'a, Vec<Finding>> {
        Box::pin(audit_organization(context, organization))
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
    use std::collections::BTreeMap;

    use serde_json::json;

    use super::*;
    use crate::spec::Spec;

    const SPEC: &str = r#"
version: 1
organization: { management_account: management, regions: [eu-west-1, us-east-1] }
accounts:
  management: { email: root@example.com }
  log-archive: { email: logs@example.com }
baseline:
  log_archive: { account: log-archive }
  cloudtrail: { name: org-trail, multi_region: false }
"#;

    fn desired_for(text: &str) -> Vec<DesiredControl> {
        let spec: Spec = match serde_yaml::from_str(text) {
            Ok(spec) => spec,
            Err(error) => panic!("test spec: {error}"),
        };
        let role_documents = BTreeMap::new();
        desired(&Inputs {
            spec: &spec,
            accounts: &[],
            role_documents: &role_documents,
            permission_set_documents: &BTreeMap::new(),
        })
    }

    #[test]
    fn one_organization_trail_in_the_management_account_home_region() {
        let controls = desired_for(SPEC);
        assert_eq!(controls.len(), 1);
        let trail = &controls[0];
        assert_eq!(trail.key, ControlKey::new(TRAIL_CONTROL, "management", Some("eu-west-1")));
        assert_eq!(
            trail.attributes,
            json!({
                "name": "org-trail",
                "bucket": "landing-zone-logs-{{account:log-archive}}",
                "kms_key": "arn:aws:kms:eu-west-1:{{account:log-archive}}:alias/landing-zone-logs",
                "organization": true,
                "multi_region": false,
                "log_file_validation": true,
                "global_service_events": true,
                "logging": true,
            })
            .into()
        );
        assert_eq!(
            trail.after,
            [
                ControlKey::new(BUCKET_CONTROL, "log-archive", Some("eu-west-1")),
                ControlKey::new(KEY_CONTROL, "log-archive", Some("eu-west-1")),
            ]
        );
        assert_eq!(trail.after_services, [SERVICE]);
        assert!(trail.needs.contains(&"cloudtrail:StartLogging"));
    }

    #[test]
    fn no_trail_without_a_management_account_or_a_bunker() {
        // `validate` rejects both specs with a message; desired() must still not invent an account.
        assert!(desired_for(&SPEC.replace("management_account: management, ", "")).is_empty());
        assert!(desired_for(&SPEC.replace("  log_archive: { account: log-archive }\n", "")).is_empty());
    }
}
