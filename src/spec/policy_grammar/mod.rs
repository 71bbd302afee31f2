//! The grammar of organization policy documents, checked offline so a malformed document is a
//! located error in `validate` rather than a failure half-way through `apply`.
//!
//! One file per family: `iam` for the IAM policy language (SCPs, RCPs and the identity policies
//! of baseline roles), `inheritance` for the `@@` operators every management policy type shares,
//! and `management` for each management type's own keys. Everything here is pure: a parsed
//! `serde_json::Value` in, a list of problems (each with the path inside the document) out. The
//! caller maps paths to file:line:column. moto accepts any JSON for any type; AWS does not.

pub mod iam;
pub mod inheritance;
pub mod management;

use serde_json::Value;

use super::model::PolicyType;

/// One problem in a policy document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrammarError {
    /// Path inside the document (object keys; array items by index).
    pub path: Vec<String>,
    /// Point at the key rather than the value (for unknown or misplaced keys).
    pub at_key: bool,
    pub message: String,
    pub hint: Option<String>,
}

impl GrammarError {
    pub(crate) fn at(path: &[String], message: impl Into<String>) -> GrammarError {
        GrammarError { path: path.to_vec(), at_key: false, message: message.into(), hint: None }
    }

    pub(crate) fn at_key(path: &[String], message: impl Into<String>) -> GrammarError {
        GrammarError { path: path.to_vec(), at_key: true, message: message.into(), hint: None }
    }

    pub(crate) fn hint(mut self, hint: impl Into<String>) -> GrammarError {
        self.hint = Some(hint.into());
        self
    }
}

/// Checks an organization policy document against the grammar of its type.
pub fn check(policy_type: PolicyType, document: &Value) -> Vec<GrammarError> {
    match policy_type {
        PolicyType::ServiceControlPolicy => iam::check(document, iam::Flavor::ServiceControl),
        PolicyType::ResourceControlPolicy => iam::check(document, iam::Flavor::ResourceControl),
        other => management::check(other, document),
    }
}

/// Checks an IAM identity policy (a baseline role's inline policy).
pub fn check_identity_policy(document: &Value) -> Vec<GrammarError> {
    iam::check(document, iam::Flavor::Identity)
}

/// `path` with one more segment.
pub(crate) fn child(path: &[String], segment: impl Into<String>) -> Vec<String> {
    let mut path = path.to_vec();
    path.push(segment.into());
    path
}

/// JSON's name for a value's type, for messages.
pub(crate) fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
