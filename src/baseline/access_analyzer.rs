//! `baseline.access_analyzer`: an organization analyzer in the delegated administrator account,
//! per region. The delegated administrator itself is registered through Organizations by the
//! organization planner (see `delegated_administrators` in the baseline registry).

use anyhow::{bail, Result};
use aws_sdk_accessanalyzer::types::Type as AnalyzerType;
use serde_json::{json, Value};

use super::{aws_error, Context, ControlKey, DesiredControl, Inputs};

pub const CONTROL: &str = "access_analyzer";
pub const SERVICE: &str = "access-analyzer.amazonaws.com";
const ANALYZER: &str = "access_analyzer/analyzer";

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
            .needs(&["access-analyzer:CreateAnalyzer"])
        })
        .collect()
}

pub async fn read(context: &Context<'_>, key: &ControlKey, desired: &Value) -> Result<Option<Value>> {
    if key.control != ANALYZER {
        bail!("unknown control `{}`", key.control);
    }
    let client = context.sessions.access_analyzer(context.account_id(&key.account)?, key.region.as_deref()).await;
    read_analyzer(&client, desired["name"].as_str().unwrap_or_default()).await
}

/// The organization analyzer named `name`, if it exists.
pub async fn read_analyzer(client: &aws_sdk_accessanalyzer::Client, name: &str) -> Result<Option<Value>> {
    let analyzers = client
        .list_analyzers()
        .r#type(AnalyzerType::Organization)
        .send()
        .await
        .map_err(|error| aws_error("ListAnalyzers", error))?;
    Ok(analyzers
        .analyzers
        .into_iter()
        .find(|analyzer| analyzer.name == name)
        .map(|analyzer| json!({ "name": analyzer.name, "type": analyzer.r#type.as_str() })))
}

pub async fn apply(context: &Context<'_>, key: &ControlKey, attributes: &Value) -> Result<()> {
    let client = context.sessions.access_analyzer(context.account_id(&key.account)?, key.region.as_deref()).await;
    create_analyzer(&client, attributes["name"].as_str().unwrap_or("organization")).await
}

/// Creates the organization analyzer; an existing one with that name is success.
pub async fn create_analyzer(client: &aws_sdk_accessanalyzer::Client, name: &str) -> Result<()> {
    match client.create_analyzer().analyzer_name(name).r#type(AnalyzerType::Organization).send().await {
        Ok(_) => Ok(()),
        Err(error)
            if aws_smithy_types::error::metadata::ProvideErrorMetadata::code(&error) == Some("ConflictException") =>
        {
            Ok(())
        }
        Err(error) => Err(aws_error("CreateAnalyzer", error)),
    }
}
