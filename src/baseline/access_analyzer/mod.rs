//! `baseline.access_analyzer`: an IAM Access Analyzer organization analyzer in the delegated
//! administrator account, in every region of `organization.regions` (`access_analyzer/analyzer`).
//!
//! The delegated administrator itself is registered through Organizations by the organization
//! planner (`delegated_administrators` in the baseline registry, from the shared
//! `organization_service::Delegated` with `Registration::Organizations`); `after_service` makes
//! the analyzer wait for that registration. It never deletes or renames an analyzer. `read_analyzer` /
//! `create_analyzer` take the SDK client, so they are tested against recorded responses (moto has
//! no analyzers).

mod import;
mod validate;

use anyhow::{anyhow, bail, Result};
use aws_sdk_accessanalyzer::types::Type as AnalyzerType;
use serde_json::{json, Value};

use super::organization_service::{Delegated, Registration};
use super::{aws_error, Actions, Baseline, BoxFuture, Context, Permissions};
use crate::plan::control::{ControlKey, DesiredControl, Inputs};
use crate::spec::validate::Checker;
use crate::spec::Spec;

pub const CONTROL: &str = "access_analyzer";
pub const SERVICE: &str = "access-analyzer.amazonaws.com";
pub const ANALYZER: &str = "access_analyzer/analyzer";

/// Its trusted access and its delegated administrator, registered through Organizations.
pub const DELEGATED: Delegated = Delegated { principal: SERVICE, registration: Registration::Organizations };

pub fn desired(inputs: &Inputs<'_>) -> Vec<DesiredControl> {
    let Some(analyzer) = &inputs.spec.baseline.access_analyzer else { return Vec::new() };
    inputs
        .regions()
        .iter()
        .map(|region| {
            DesiredControl::new(
                ControlKey::new(ANALYZER, &analyzer.admin_account, Some(region)),
                json!({ "name": analyzer.analyzer_name, "type": "ORGANIZATION" }),
            )
            .after_service(SERVICE)
            // The first analyzer creates AWSServiceRoleForAccessAnalyzer.
            .needs(&["access-analyzer:CreateAnalyzer", "iam:CreateServiceLinkedRole"])
        })
        .collect()
}

pub async fn read(context: &Context<'_>, key: &ControlKey, desired: &Value) -> Result<Option<Value>> {
    if key.control != ANALYZER {
        bail!("unknown control `{}`", key.control);
    }
    let name = desired["name"].as_str().ok_or_else(|| anyhow!("analyzer control without a name"))?;
    let client = context
        .sessions
        .client::<aws_sdk_accessanalyzer::Client>(context.account_id(&key.account)?, key.region.as_deref())
        .await;
    read_analyzer(&client, name).await
}

pub async fn apply(context: &Context<'_>, key: &ControlKey, attributes: &Value) -> Result<()> {
    if key.control != ANALYZER {
        bail!("unknown control `{}`", key.control);
    }
    let name = attributes["name"].as_str().ok_or_else(|| anyhow!("analyzer control without a name"))?;
    let client = context
        .sessions
        .client::<aws_sdk_accessanalyzer::Client>(context.account_id(&key.account)?, key.region.as_deref())
        .await;
    create_analyzer(&client, name).await
}

/// `{ name, type: ORGANIZATION }` when the account has an organization analyzer named `name`.
pub async fn read_analyzer(client: &aws_sdk_accessanalyzer::Client, name: &str) -> Result<Option<Value>> {
    let mut pages = client.list_analyzers().r#type(AnalyzerType::Organization).into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|error| aws_error("ListAnalyzers", error))?;
        if let Some(analyzer) = page.analyzers.iter().find(|analyzer| analyzer.name == name) {
            return Ok(Some(json!({ "name": analyzer.name, "type": analyzer.r#type.as_str() })));
        }
    }
    Ok(None)
}

/// Creates the organization analyzer. ConflictException means the name is taken in this account
/// and region: by the analyzer wanted (a concurrent or earlier run: success), or by an analyzer of
/// another type, which landing-zone does not replace.
pub async fn create_analyzer(client: &aws_sdk_accessanalyzer::Client, name: &str) -> Result<()> {
    match client.create_analyzer().analyzer_name(name).r#type(AnalyzerType::Organization).send().await {
        Ok(_) => Ok(()),
        Err(error) if crate::aws::errors::is_conflict(&error) => {
            if read_analyzer(client, name).await?.is_some() {
                return Ok(());
            }
            bail!(
                "an analyzer named `{name}` that is not an organization analyzer already exists\nhint: set `baseline.access_analyzer.analyzer_name` to another name, or delete that analyzer deliberately"
            )
        }
        Err(error) => Err(aws_error("CreateAnalyzer", error)),
    }
}

/// The `baseline.access_analyzer` section in the registry.
pub struct AccessAnalyzer;

impl Baseline for AccessAnalyzer {
    fn validate(&self, checker: &mut Checker<'_>) {
        validate::check(checker);
    }

    fn family(&self) -> &'static str {
        CONTROL
    }

    fn section(&self) -> &'static str {
        "access_analyzer"
    }

    fn summary(&self) -> &'static str {
        "the organization IAM Access Analyzer in the delegated administrator"
    }

    fn desired(&self, inputs: &Inputs<'_>) -> Vec<DesiredControl> {
        desired(inputs)
    }

    fn trusted_services(&self, spec: &Spec) -> Vec<&'static str> {
        DELEGATED.trusted_services(spec.baseline.access_analyzer.is_some())
    }

    fn delegated_administrators(&self, spec: &Spec) -> Vec<(String, String)> {
        DELEGATED.delegated_administrators(
            spec.baseline.access_analyzer.as_ref().map(|section| section.admin_account.as_str()),
        )
    }

    fn permissions(&self) -> Permissions {
        Permissions {
            management: Actions { read: &[], write: &[] },
            in_account: Actions {
                read: &["access-analyzer:ListAnalyzers"],
                write: &["access-analyzer:CreateAnalyzer", "iam:CreateServiceLinkedRole"],
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
        _before: Option<&'a Value>,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(apply(context, key, attributes))
    }

    fn import<'a>(
        &'a self,
        context: &'a Context<'_>,
        scope: &'a super::import::ImportScope,
    ) -> BoxFuture<'a, Result<Option<super::import::ImportedSection>>> {
        Box::pin(import::import(context, scope))
    }
}
