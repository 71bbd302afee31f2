//! Typed control attributes. Each baseline describes its controls as serde structs
//! (`#[serde(deny_unknown_fields)]`, `PartialEq`); the planner compares and renders their
//! serialized form, and writers decode it back. Decoding names the control and the field, so a
//! misspelt or mistyped attribute is an error before any write, never a silent `false` sent to AWS.

use anyhow::{Context as _, Result};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use crate::plan::control::ControlKey;

/// The serialized form the planner compares: a JSON object of the struct's fields.
pub fn encode<T: Serialize>(attributes: &T) -> Value {
    // A struct of strings, numbers, booleans, options and string-keyed maps always serializes;
    // `Null` would only show up as a permanent diff, never as a write.
    serde_json::to_value(attributes).unwrap_or(Value::Null)
}

/// The typed attributes of `key` from their serialized form.
pub fn decode<T: DeserializeOwned>(key: &ControlKey, attributes: &Value) -> Result<T> {
    serde_json::from_value(attributes.clone())
        .with_context(|| format!("the attributes of {} do not have the shape its baseline writes", key.label()))
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Serialize, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Example {
        enabled: bool,
        days: Option<u32>,
    }

    #[test]
    fn attributes_round_trip_through_their_serialized_form() {
        let example = Example { enabled: true, days: Some(7) };
        let value = encode(&example);
        assert_eq!(value, serde_json::json!({ "enabled": true, "days": 7 }));
        let key = ControlKey::new("example", "app", None);
        assert_eq!(decode::<Example>(&key, &value).expect("decodes"), example);
    }

    #[test]
    fn a_misspelt_or_mistyped_attribute_is_an_error_not_a_default() {
        let key = ControlKey::new("example", "app", None);
        let misspelt = serde_json::json!({ "enabld": true, "days": 7 });
        let error = decode::<Example>(&key, &misspelt).expect_err("unknown field");
        assert!(format!("{error:#}").contains("example in app"), "{error:#}");
        let mistyped = serde_json::json!({ "enabled": "yes", "days": 7 });
        assert!(decode::<Example>(&key, &mistyped).is_err());
    }
}
