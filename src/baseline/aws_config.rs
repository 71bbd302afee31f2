//! `baseline.aws_config` (being written).

use anyhow::Result;
use serde_json::Value;

use super::{Context, ControlKey, DesiredControl, Inputs};

pub const CONTROL: &str = "aws_config";

pub fn desired(inputs: &Inputs<'_>) -> Vec<DesiredControl> {
    let _ = inputs;
    Vec::new()
}

pub async fn read(context: &Context<'_>, key: &ControlKey) -> Result<Option<Value>> {
    let _ = (context, key);
    Ok(None)
}

pub async fn apply(context: &Context<'_>, key: &ControlKey, attributes: &Value, before: Option<&Value>) -> Result<()> {
    let _ = (context, key, attributes, before);
    Ok(())
}
