//! The spec: the YAML model, loading with source locations, and offline validation.
//!
//! Everything a user can get wrong in `landing-zone.yaml` is caught here, with a location, before
//! any AWS call. Later stages receive a `ValidSpec` and can trust it.

pub mod diagnostic;
pub mod files;
pub mod json;
pub mod load;
pub mod model;
pub mod names;
pub mod policy_grammar;
pub mod regions;
pub mod report;
pub mod shape;
pub mod source;
pub mod templates;
pub mod validate;

pub use diagnostic::{SpecDiagnostic, SpecErrors};
pub use load::{load_spec_from_str_with, load_spec_with, ValidSpec};
pub use model::*;

/// Tag key landing-zone puts on what it creates, so ownership is read from AWS, not from a file.
pub const OWNERSHIP_TAG: &str = "landing-zone:managed-by";
/// Value of the ownership tag.
pub const OWNERSHIP_VALUE: &str = "landing-zone";

/// The JSON Schema of the spec, for editors (yaml-language-server) and CI.
pub fn json_schema() -> serde_json::Value {
    let schema = schemars::schema_for!(Spec);
    serde_json::to_value(&schema).unwrap_or(serde_json::Value::Null)
}
