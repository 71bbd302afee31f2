//! The inheritance operators every management policy type shares (`@@assign`, `@@append`,
//! `@@remove`, `@@operators_allowed_for_child_policies`).
//!
//! Source: https://docs.aws.amazon.com/organizations/latest/userguide/policy-operators.html —
//! `@@assign` applies to any setting; `@@append` and `@@remove` only to multi-valued settings (JSON
//! arrays); the child control operator takes `["@@all"]`, `["@@none"]` or a list of value-setting
//! operators. Any other `@@` key is unknown to AWS.

use serde_json::Value;

use super::{child, kind, GrammarError};

/// Value-setting operators.
pub const VALUE_OPERATORS: &[&str] = &["@@assign", "@@append", "@@remove"];
/// The child control operator.
pub const CHILD_CONTROL: &str = "@@operators_allowed_for_child_policies";

/// Checks every `@@` key under `value`, recursively.
pub fn check(path: &[String], value: &Value, errors: &mut Vec<GrammarError>) {
    match value {
        Value::Object(object) => {
            let has_value_operator = object.keys().any(|k| VALUE_OPERATORS.contains(&k.as_str()));
            for (key, inner) in object {
                let key_path = child(path, key);
                if key.starts_with("@@") {
                    operator(&key_path, key, inner, errors);
                } else {
                    if has_value_operator {
                        errors.push(
                            GrammarError::at_key(&key_path, format!("`{key}` sits beside a value-setting operator"))
                                .hint("a setting holds either operators (`@@assign`, ...) or child settings, not both"),
                        );
                    }
                    check(&key_path, inner, errors);
                }
            }
        }
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                check(&child(path, index.to_string()), item, errors);
            }
        }
        _ => {}
    }
}

fn operator(path: &[String], key: &str, value: &Value, errors: &mut Vec<GrammarError>) {
    match key {
        "@@assign" => {
            if value.is_object() {
                errors.push(GrammarError::at(path, "`@@assign` takes a value or a list of values, not an object"));
            }
        }
        "@@append" | "@@remove" => {
            if !value.is_array() {
                errors.push(
                    GrammarError::at(
                        path,
                        format!(
                            "`{key}` applies only to multi-valued settings: its value is a list, not {}",
                            kind(value)
                        ),
                    )
                    .hint("use `@@assign` for a single value"),
                );
            }
        }
        CHILD_CONTROL => {
            let Some(items) = value.as_array() else {
                errors.push(GrammarError::at(path, format!("`{CHILD_CONTROL}` is a list, not {}", kind(value))));
                return;
            };
            let names: Vec<Option<&str>> = items.iter().map(Value::as_str).collect();
            let allowed = |name: &str| name == "@@all" || name == "@@none" || VALUE_OPERATORS.contains(&name);
            if items.is_empty() || names.iter().any(|n| !n.is_some_and(allowed)) {
                errors.push(
                    GrammarError::at(
                        path,
                        format!("`{CHILD_CONTROL}` lists `@@all`, `@@none` or value-setting operators"),
                    )
                    .hint("e.g. [\"@@none\"] or [\"@@append\", \"@@remove\"]"),
                );
            } else if items.len() > 1 && names.iter().any(|n| matches!(n, Some("@@all" | "@@none"))) {
                errors.push(GrammarError::at(path, "`@@all` and `@@none` stand alone in the list"));
            }
        }
        other => errors.push(
            GrammarError::at_key(path, format!("`{other}` is not an inheritance operator"))
                .hint("the operators are @@assign, @@append, @@remove and @@operators_allowed_for_child_policies"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn operators_table() {
        let cases: Vec<(Value, Option<&str>)> = vec![
            (json!({"a": {"@@assign": "x"}}), None),
            (json!({"a": {"@@assign": ["x"], "@@operators_allowed_for_child_policies": ["@@none"]}}), None),
            (json!({"a": {"@@append": ["x"]}, "b": {"@@remove": []}}), None),
            (json!({"a": {"@@operators_allowed_for_child_policies": ["@@append", "@@remove"]}}), None),
            (json!({"a": {"@@assing": "x"}}), Some("a.@@assing: `@@assing` is not an inheritance operator")),
            (json!({"a": {"@@append": "x"}}), Some("a.@@append: `@@append` applies only to multi-valued settings")),
            (json!({"a": {"@@assign": {"b": 1}}}), Some("a.@@assign: `@@assign` takes a value")),
            (json!({"a": {"@@operators_allowed_for_child_policies": "@@none"}}), Some("is a list, not a string")),
            (json!({"a": {"@@operators_allowed_for_child_policies": ["@@some"]}}), Some("lists `@@all`, `@@none`")),
            (json!({"a": {"@@operators_allowed_for_child_policies": ["@@none", "@@assign"]}}), Some("stand alone")),
            (
                json!({"a": {"@@assign": "x", "b": {"@@assign": "y"}}}),
                Some("a.b: `b` sits beside a value-setting operator"),
            ),
            (
                json!({"a": [{"@@enforced_for": 1}]}),
                Some("a.0.@@enforced_for: `@@enforced_for` is not an inheritance operator"),
            ),
        ];
        for (document, expected) in cases {
            let mut errors = Vec::new();
            check(&[], &document, &mut errors);
            let found: Vec<String> = errors.iter().map(|e| format!("{}: {}", e.path.join("."), e.message)).collect();
            match expected {
                None => assert!(found.is_empty(), "{document}: {found:?}"),
                Some(expected) => assert!(found.iter().any(|m| m.contains(expected)), "{document}: {found:?}"),
            }
        }
    }
}
