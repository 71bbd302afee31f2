//! `landing-zone schema`: print the spec's JSON Schema (generated from the spec types).

use super::{write_stdout, EXIT_OK};

pub fn run() -> anyhow::Result<u8> {
    let schema = crate::spec::json_schema();
    write_stdout(&(serde_json::to_string_pretty(&schema)? + "\n"))?;
    Ok(EXIT_OK)
}
