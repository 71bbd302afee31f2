//! `landing-zone schema`: print the spec's JSON Schema (generated from the spec types).

use super::EXIT_OK;

pub fn run() -> anyhow::Result<u8> {
    let schema = crate::spec::json_schema();
    println!("{}", serde_json::to_string_pretty(&schema)?);
    Ok(EXIT_OK)
}
