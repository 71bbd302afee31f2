//! `baseline.conformance_packs`: AWS Config organization conformance packs, from template files
//! in the spec's folder, deployed from the management account to every account of the
//! organization.
//!
//! One control per pack and Region of the spec, `conformance_packs/<name>` in the management
//! account: an organization conformance pack exists in the Region where PutOrganizationConformancePack
//! was called and deploys to the member accounts there, and only the management account or Config's
//! delegated administrator may call it
//! (https://docs.aws.amazon.com/config/latest/APIReference/API_PutOrganizationConformancePack.html).
//! `baseline.aws_config` designates no delegated administrator, so the management account does.
//!
//! AWS does not return a pack's template (the fields of
//! https://docs.aws.amazon.com/config/latest/APIReference/API_OrganizationConformancePack.html);
//! the deployed template declares `LandingZoneTemplateSha256`, passed as an input parameter set to
//! the SHA-256 of the template file, so an edited template reads as a change. The per-account
//! deployment (GetOrganizationConformancePackDetailedStatus) is read with the pack: accounts where
//! it did not succeed are part of the live state (`not_deployed`), so the plan puts the pack again
//! and `audit` names them. After a put the status is followed until no account is in progress,
//! for at most [`WAIT_LIMIT`].
//!
//! A pack landing-zone creates carries the `landing-zone:managed-by` tag (PutOrganizationConformancePack's
//! `Tags`, sent only when creating: "Tags are added at creation"); one the spec drops (while it
//! keeps the section) is found by [`find`] and removed by [`remove`] after checking the tag again,
//! with DeleteOrganizationConformancePack, which deletes the pack's rules and their evaluation
//! results in every member account — hence `organization.allow.delete_baseline_data` and
//! `--allow-destructive`. A pack without the tag (made by hand, or adopted) is never removed.

mod import;

use std::time::Duration;

use std::collections::BTreeSet;

use anyhow::{anyhow, bail, Result};
use aws_sdk_config::types::{ConformancePackInputParameter, OrganizationResourceDetailedStatus, Tag};
use serde_json::{json, Value};

use super::aws_config::is_owned;
use super::{aws_error, Actions, Baseline, BoxFuture, Context, Found, Ownership, Permissions, Places};
use crate::aws::errors::is_no_such_organization_conformance_pack;
use crate::plan::control::{ControlKey, DesiredControl, Inputs};
use crate::spec::templates::TEMPLATE_HASH_PARAMETER;
use crate::spec::{Spec, OWNERSHIP_TAG, OWNERSHIP_VALUE};

pub const CONTROL: &str = "conformance_packs";
/// Packs are `conformance_packs/<name>`.
pub const PREFIX: &str = "conformance_packs/";
/// The service principal of Config's organization features (trusted access, service-linked role
/// AWSServiceRoleForConfigMultiAccountSetup).
pub const SERVICE: &str = "config-multiaccountsetup.amazonaws.com";
/// How long an apply follows the deployment to the member accounts.
const WAIT_LIMIT: Duration = Duration::from_secs(15 * 60);
/// Each account's recorder control, and its delivery channel control, whose apply starts the
/// recorder after creating the channel: a pack deploys only
/// where AWS Config records ("turn on AWS Config recording before you deploy a conformance pack":
/// https://docs.aws.amazon.com/config/latest/developerguide/cpack-prerequisites.html).
const RECORDING_CONTROLS: [&str; 2] = ["aws_config/recorder", "aws_config/delivery_channel"];
/// What removing a pack loses: "Deleting an organization conformance pack deletes all the config
/// rules and remediation actions from all member accounts in that organization", with their
/// evaluation results (the compliance history the spec cannot re-create).
/// https://docs.aws.amazon.com/config/latest/APIReference/API_DeleteOrganizationConformancePack.html
const REMOVAL_LOSES: &str =
    "deletes its AWS Config rules, remediation actions and their evaluation results in every member account";

pub fn desired(inputs: &Inputs<'_>) -> Vec<DesiredControl> {
    let spec = inputs.spec;
    // `validate` demands both; without them there is nothing to evaluate or nowhere to deploy from.
    let (Some(config), Some(management)) = (&spec.baseline.aws_config, &spec.organization.management_account) else {
        return Vec::new();
    };
    let recording = inputs.accounts_for(&config.targets);
    // The spec's accounts where Config does not record are excluded: the pack would fail there
    // (ExcludedAccounts, at most 1000:
    // https://docs.aws.amazon.com/config/latest/APIReference/API_PutOrganizationConformancePack.html).
    let excluded: Vec<String> = inputs
        .accounts
        .iter()
        .filter(|account| !account.close && !recording.contains(&account.name))
        .map(|account| format!("{{{{account:{}}}}}", account.name))
        .collect();
    let mut controls = Vec::new();
    for (name, pack) in &spec.baseline.conformance_packs {
        let Some(body) = &pack.body else { continue };
        for region in inputs.regions() {
            let at = Some(region.as_str());
            let mut control = DesiredControl::new(
                ControlKey::new(format!("{PREFIX}{name}"), management, at),
                json!({
                    "name": name,
                    "template": pack.template,
                    "template_sha256": template_sha256(body),
                    "template_body": body,
                    "excluded_accounts": excluded,
                    "not_deployed": [],
                }),
            )
            .needs(&[
                "config:PutOrganizationConformancePack",
                "config:TagResource",
                "config:GetOrganizationConformancePackDetailedStatus",
                "iam:CreateServiceLinkedRole",
                "organizations:EnableAWSServiceAccess",
                "organizations:ListAccounts",
            ]);
            // Config deploys the pack into each account where it records: recording comes first.
            for account in &recording {
                for recording_control in RECORDING_CONTROLS {
                    control = control.after(ControlKey::new(recording_control, account, at));
                }
            }
            controls.push(control);
        }
    }
    controls
}

/// The hash landing-zone passes with a pack: of the body it deploys (the template file with the
/// hash parameter declared), so any change to the file is a change to the pack.
fn template_sha256(body: &str) -> String {
    use sha2::{Digest, Sha256};
    format!("{:x}", Sha256::digest(body.as_bytes()))
}

fn pack_name(key: &ControlKey) -> Result<&str> {
    key.control.strip_prefix(PREFIX).ok_or_else(|| anyhow!("{}: not a conformance pack", key.label()))
}

/// `{ name, template, template_sha256, template_body, excluded_accounts, not_deployed }` of the pack; None without one.
/// The body is the desired one when the deployed hash matches it (AWS does not return bodies),
/// else unknown (null). `not_deployed` lists `<account id>: <status>` where the deployment did
/// not succeed.
pub async fn read(context: &Context<'_>, key: &ControlKey, desired: &Value) -> Result<Option<Value>> {
    let name = pack_name(key)?;
    let client = context
        .sessions
        .client::<aws_sdk_config::Client>(context.account_id(&key.account)?, key.region.as_deref())
        .await;
    let mut pages = client
        .describe_organization_conformance_packs()
        .organization_conformance_pack_names(name)
        .into_paginator()
        .items()
        .send();
    let mut found = None;
    while let Some(pack) = pages.next().await {
        match pack {
            Ok(pack) if pack.organization_conformance_pack_name == name => found = Some(pack),
            Ok(_) => {}
            Err(error) if is_no_such_organization_conformance_pack(&error) => return Ok(None),
            Err(error) => return Err(aws_error("DescribeOrganizationConformancePacks", error)),
        }
    }
    let Some(pack) = found else { return Ok(None) };
    let sha256 = pack
        .conformance_pack_input_parameters
        .unwrap_or_default()
        .into_iter()
        .find(|parameter| parameter.parameter_name == TEMPLATE_HASH_PARAMETER)
        .map(|parameter| parameter.parameter_value);
    let body = match (&sha256, desired["template_sha256"].as_str()) {
        (Some(live), Some(wanted)) if live == wanted => desired["template_body"].clone(),
        _ => Value::Null,
    };
    // AWS's order is not the spec's: the same accounts read as the spec's list.
    let mut excluded = pack.excluded_accounts.unwrap_or_default();
    excluded.sort();
    let wanted: Vec<String> = match desired["excluded_accounts"].as_array() {
        Some(wanted) => wanted.iter().filter_map(Value::as_str).map(str::to_string).collect(),
        None => Vec::new(),
    };
    let mut wanted_sorted = wanted.clone();
    wanted_sorted.sort();
    let excluded = if wanted_sorted == excluded { wanted } else { excluded };
    let statuses = detailed_status(&client, name).await?;
    let not_deployed: Vec<String> = statuses
        .iter()
        .filter(|(_, status)| !is_successful(status))
        .map(|(account, status)| format!("{account}: {}", status.as_str()))
        .collect();
    Ok(Some(json!({
        "name": name,
        "template": desired["template"],
        "template_sha256": sha256,
        "template_body": body,
        "excluded_accounts": excluded,
        "not_deployed": not_deployed,
    })))
}

/// Every account's deployment status of the pack, by account id.
/// https://docs.aws.amazon.com/config/latest/APIReference/API_GetOrganizationConformancePackDetailedStatus.html
async fn detailed_status(
    client: &aws_sdk_config::Client,
    name: &str,
) -> Result<Vec<(String, OrganizationResourceDetailedStatus)>> {
    let mut statuses = Vec::new();
    let mut pages = client
        .get_organization_conformance_pack_detailed_status()
        .organization_conformance_pack_name(name)
        .into_paginator()
        .items()
        .send();
    while let Some(status) = pages.next().await {
        match status {
            Ok(status) => statuses.push((status.account_id, status.status)),
            Err(error) if is_no_such_organization_conformance_pack(&error) => return Ok(Vec::new()),
            Err(error) => return Err(aws_error("GetOrganizationConformancePackDetailedStatus", error)),
        }
    }
    statuses.sort();
    Ok(statuses)
}

fn strings(value: &Value) -> Vec<String> {
    value.as_array().into_iter().flatten().filter_map(Value::as_str).map(str::to_string).collect()
}

fn is_successful(status: &OrganizationResourceDetailedStatus) -> bool {
    matches!(
        status,
        OrganizationResourceDetailedStatus::CreateSuccessful | OrganizationResourceDetailedStatus::UpdateSuccessful
    )
}

fn is_in_progress(status: &OrganizationResourceDetailedStatus) -> bool {
    matches!(
        status,
        OrganizationResourceDetailedStatus::CreateInProgress
            | OrganizationResourceDetailedStatus::UpdateInProgress
            | OrganizationResourceDetailedStatus::DeleteInProgress
    )
}

/// Puts the pack with its template body and hash parameter (and, when it `creates` the pack, the
/// ownership tag), then follows the deployment until no account is in progress: accounts where it
/// failed are an error naming them.
pub async fn apply(context: &Context<'_>, key: &ControlKey, attributes: &Value, creates: bool) -> Result<()> {
    let name = pack_name(key)?;
    let body = attributes["template_body"].as_str().ok_or_else(|| anyhow!("{}: no template body", key.label()))?;
    let sha256 = attributes["template_sha256"].as_str().ok_or_else(|| anyhow!("{}: no template hash", key.label()))?;
    let client = context
        .sessions
        .client::<aws_sdk_config::Client>(context.account_id(&key.account)?, key.region.as_deref())
        .await;
    let hash = ConformancePackInputParameter::builder()
        .parameter_name(TEMPLATE_HASH_PARAMETER)
        .parameter_value(sha256)
        .build()
        .map_err(|error| anyhow!("{}: {error}", key.label()))?;
    client
        .put_organization_conformance_pack()
        .organization_conformance_pack_name(name)
        .template_body(body)
        .conformance_pack_input_parameters(hash)
        .set_excluded_accounts(Some(strings(&attributes["excluded_accounts"])))
        // Sent only when creating: a pack that existed before the spec named it is adopted, not
        // owned (https://docs.aws.amazon.com/config/latest/APIReference/API_PutOrganizationConformancePack.html).
        .set_tags(creates.then(|| vec![Tag::builder().key(OWNERSHIP_TAG).value(OWNERSHIP_VALUE).build()]))
        .send()
        .await
        .map_err(|error| aws_error("PutOrganizationConformancePack", error))?;
    let started = std::time::Instant::now();
    let mut interval = Duration::from_millis(250);
    loop {
        let statuses = detailed_status(&client, name).await?;
        let waiting = statuses.iter().filter(|(_, status)| is_in_progress(status)).count();
        if waiting == 0 {
            let failed: Vec<String> = statuses
                .iter()
                .filter(|(_, status)| !is_successful(status))
                .map(|(account, status)| format!("{account} ({})", status.as_str()))
                .collect();
            if failed.is_empty() {
                tracing::info!("{}: deployed to {} accounts", key.label(), statuses.len());
                return Ok(());
            }
            bail!(
                "the conformance pack did not deploy to {}\nhint: `aws configservice get-organization-conformance-pack-detailed-status --organization-conformance-pack-name {name} --region {}` gives each account's error; an account needs AWS Config recording (`baseline.aws_config.targets`)",
                failed.join(", "),
                key.region.as_deref().unwrap_or_default()
            );
        }
        if started.elapsed() > WAIT_LIMIT {
            bail!(
                "the conformance pack is still deploying to {waiting} accounts after {} minutes\nhint: plan again later: accounts still deploying show as `not_deployed`",
                WAIT_LIMIT.as_secs() / 60
            );
        }
        tracing::info!("{}: deploying to {waiting} accounts", key.label());
        tokio::time::sleep(interval).await;
        interval = (interval * 2).min(Duration::from_secs(15));
    }
}

/// Every organization conformance pack of `account` (the one deploying the spec's packs) in
/// `region` that the spec does not name, marked owned when it carries the ownership tag. Other
/// accounts deploy none of the spec's packs and are not searched.
pub async fn find(
    context: &Context<'_>,
    account: &str,
    region: Option<&str>,
    wanted: &BTreeSet<ControlKey>,
) -> Result<Vec<Found>> {
    let Some(region) = region else { return Ok(Vec::new()) };
    if !wanted.iter().any(|key| key.control.starts_with(PREFIX) && key.account == account) {
        return Ok(Vec::new());
    }
    let client = context.sessions.client::<aws_sdk_config::Client>(context.account_id(account)?, Some(region)).await;
    // https://docs.aws.amazon.com/config/latest/APIReference/API_DescribeOrganizationConformancePacks.html
    let mut pages = client.describe_organization_conformance_packs().into_paginator().items().send();
    let mut found = Vec::new();
    while let Some(pack) = pages.next().await {
        let pack = pack.map_err(|error| aws_error("DescribeOrganizationConformancePacks", error))?;
        let name = pack.organization_conformance_pack_name;
        let key = ControlKey::new(format!("{PREFIX}{name}"), account, Some(region));
        if wanted.contains(&key) {
            continue;
        }
        let Some(owned) = is_owned(&client, &pack.organization_conformance_pack_arn).await? else { continue };
        let attributes = if owned {
            let sha256 = pack
                .conformance_pack_input_parameters
                .unwrap_or_default()
                .into_iter()
                .find(|parameter| parameter.parameter_name == TEMPLATE_HASH_PARAMETER)
                .map(|parameter| parameter.parameter_value);
            let mut excluded = pack.excluded_accounts.unwrap_or_default();
            excluded.sort();
            json!({ "name": name, "template_sha256": sha256, "excluded_accounts": excluded })
        } else {
            Value::Null
        };
        found.push(Found { key, owned, attributes, loses_data: Some(REMOVAL_LOSES) });
    }
    Ok(found)
}

/// Deletes a pack landing-zone created. Refuses a pack that no longer carries the ownership tag;
/// one already gone is success.
/// https://docs.aws.amazon.com/config/latest/APIReference/API_DeleteOrganizationConformancePack.html
pub async fn remove(context: &Context<'_>, key: &ControlKey) -> Result<()> {
    let name = pack_name(key)?;
    let client = context
        .sessions
        .client::<aws_sdk_config::Client>(context.account_id(&key.account)?, key.region.as_deref())
        .await;
    let described =
        match client.describe_organization_conformance_packs().organization_conformance_pack_names(name).send().await {
            Ok(described) => described,
            Err(error) if is_no_such_organization_conformance_pack(&error) => return Ok(()),
            Err(error) => return Err(aws_error("DescribeOrganizationConformancePacks", error)),
        };
    let Some(pack) = described
        .organization_conformance_packs
        .unwrap_or_default()
        .into_iter()
        .find(|pack| pack.organization_conformance_pack_name == name)
    else {
        return Ok(());
    };
    match is_owned(&client, &pack.organization_conformance_pack_arn).await? {
        None => return Ok(()),
        Some(false) => bail!(
            "{}: the conformance pack no longer carries the `{OWNERSHIP_TAG}` tag; landing-zone removes only what it created\nhint: plan again",
            key.label()
        ),
        Some(true) => {}
    }
    match client.delete_organization_conformance_pack().organization_conformance_pack_name(name).send().await {
        Ok(_) => Ok(()),
        Err(error) if is_no_such_organization_conformance_pack(&error) => Ok(()),
        Err(error) => Err(aws_error("DeleteOrganizationConformancePack", error)),
    }
}

/// The `baseline.conformance_packs` section in the registry.
pub struct ConformancePacks;

impl Baseline for ConformancePacks {
    fn validate(&self, checker: &mut crate::spec::validate::Checker<'_>) {
        checker.conformance_packs();
    }

    fn audited_by_reader(&self) -> bool {
        true
    }

    fn family(&self) -> &'static str {
        CONTROL
    }

    fn section(&self) -> &'static str {
        "conformance_packs"
    }

    fn summary(&self) -> &'static str {
        "AWS Config organization conformance packs from template files, deployed from the management account in every region"
    }

    fn desired(&self, inputs: &Inputs<'_>) -> Vec<DesiredControl> {
        desired(inputs)
    }

    fn trusted_services(&self, spec: &Spec) -> Vec<&'static str> {
        if spec.baseline.conformance_packs.is_empty() {
            Vec::new()
        } else {
            vec![SERVICE]
        }
    }

    fn permissions(&self) -> Permissions {
        Permissions {
            // PutOrganizationConformancePack enables trusted access for Config's organization
            // features and lists the organization's accounts on the caller's behalf (API page).
            management: Actions {
                read: &[],
                write: &["organizations:EnableAWSServiceAccess", "organizations:ListAccounts"],
            },
            in_account: Actions {
                read: &[
                    "config:DescribeOrganizationConformancePacks",
                    "config:GetOrganizationConformancePackDetailedStatus",
                    "config:ListTagsForResource",
                ],
                write: &[
                    "config:PutOrganizationConformancePack",
                    "config:TagResource",
                    "config:DeleteOrganizationConformancePack",
                    "iam:CreateServiceLinkedRole",
                ],
            },
        }
    }

    fn audit_detail(&self, _key: &ControlKey, live: &Value) -> Option<String> {
        let not_deployed: Vec<&str> = live["not_deployed"].as_array()?.iter().filter_map(Value::as_str).collect();
        if not_deployed.is_empty() {
            return live["template_body"]
                .is_null()
                .then(|| "deployed from another template than the spec's".to_string());
        }
        Some(format!("not deployed in {}", not_deployed.join(", ")))
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
        Box::pin(apply(context, key, attributes, before.is_none()))
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
