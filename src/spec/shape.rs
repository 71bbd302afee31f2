//! The spec's shape, checked all at once: every unknown key, wrong type, value outside an enum
//! and missing key, each at its own location, before serde deserializes the document.
//!
//! serde stops at the first such error, so three misspelt keys would take three runs. This module
//! walks the parsed YAML against the JSON Schema the model derives (`spec::json_schema`, the same
//! schema editors use), so the rules are never written twice. It only reports; the loader still
//! deserializes with serde, and falls back to serde's own message if this walk finds nothing.
//! It owns no rules about the spec beyond what the model's types say.

use std::collections::HashMap;

use serde_json::{Map, Value as Json};
use serde_yaml::Value as Yaml;

use super::diagnostic::{did_you_mean, SpecDiagnostic};
use super::source::{SourceFile, SpanIndex};

/// Every shape error of `text` against the spec's JSON Schema, or nothing when the text is not
/// YAML (the event walk in `source` has reported that already) or has the right shape.
pub fn shape_errors(source: &SourceFile, spans: &SpanIndex, schema: &Json) -> Vec<SpecDiagnostic> {
    let Ok(document) = serde_yaml::from_str::<Yaml>(&source.text) else {
        return Vec::new();
    };
    let mut walk = Walk {
        source,
        spans,
        definitions: schema.get("$defs").and_then(Json::as_object),
        errors: Vec::new(),
        previous_keys: HashMap::new(),
    };
    let mut path = Vec::new();
    walk.check(&document, schema, &mut path, &mut Vec::new());
    walk.errors
}

/// One object schema the walk is inside, for indentation hints.
struct Ancestor {
    path: Vec<String>,
    keys: Vec<String>,
}

struct Walk<'a> {
    source: &'a SourceFile,
    spans: &'a SpanIndex,
    definitions: Option<&'a Map<String, Json>>,
    errors: Vec<SpecDiagnostic>,
    /// The key before each node in its mapping, for "read as an OU beside `X`" hints.
    previous_keys: HashMap<Vec<String>, String>,
}

/// One problem found, before it is located.
struct Problem {
    /// Point at the key rather than the value.
    at_key: bool,
    message: String,
    hint: Option<String>,
}

impl<'a> Walk<'a> {
    /// The schema behind a `$ref` (one level; the model's definitions refer to each other by name).
    fn resolve(&self, schema: &'a Json) -> &'a Json {
        let mut current = schema;
        for _ in 0..8 {
            let Some(reference) = current.get("$ref").and_then(Json::as_str) else { break };
            let name = reference.rsplit('/').next().unwrap_or(reference);
            match self.definitions.and_then(|definitions| definitions.get(name)) {
                Some(target) => current = target,
                None => break,
            }
        }
        current
    }

    fn check(&mut self, value: &Yaml, schema: &'a Json, path: &mut Vec<String>, ancestors: &mut Vec<Ancestor>) {
        let problems = self.problems(value, schema, path, ancestors);
        for problem in problems {
            self.report(path, problem);
        }
    }

    fn report(&mut self, path: &[String], problem: Problem) {
        let segments: Vec<&str> = path.iter().map(String::as_str).collect();
        let span = if problem.at_key { self.spans.key(&segments) } else { self.spans.value(&segments) };
        let span = span.unwrap_or_else(|| self.source.span_at(1, 1, 1));
        let mut diagnostic = SpecDiagnostic::new(self.source, span, problem.message).with_label("here");
        if let Some(hint) = problem.hint {
            diagnostic = diagnostic.with_help(hint);
        }
        self.errors.push(diagnostic);
    }

    /// The problems at this node itself; problems further down are reported as the walk meets them.
    fn problems(
        &mut self,
        value: &Yaml,
        schema: &'a Json,
        path: &mut Vec<String>,
        ancestors: &mut Vec<Ancestor>,
    ) -> Vec<Problem> {
        let schema = self.resolve(schema);
        if let Some(branches) = schema.get("anyOf").or_else(|| schema.get("oneOf")).and_then(Json::as_array) {
            return self.alternatives(value, branches, path, ancestors);
        }
        if let Some(allowed) = allowed_values(schema) {
            return self.enumeration(value, &allowed, path);
        }
        if let Some(types) = types_of(schema) {
            let kind = kind_of(value);
            let fits = types.iter().any(|wanted| *wanted == kind || (*wanted == "number" && kind == "integer"));
            if !fits {
                return vec![self.wrong_type(value, &types, path)];
            }
        }
        match value {
            Yaml::Mapping(mapping)
                if schema.get("properties").is_some() || schema.get("additionalProperties").is_some() =>
            {
                self.mapping(mapping, schema, path, ancestors);
                Vec::new()
            }
            Yaml::Sequence(items) => {
                if let Some(item_schema) = schema.get("items") {
                    for (index, item) in items.iter().enumerate() {
                        path.push(index.to_string());
                        self.check(item, item_schema, path, ancestors);
                        path.pop();
                    }
                }
                Vec::new()
            }
            Yaml::Number(number) => match (schema.get("minimum").and_then(Json::as_f64), number.as_f64()) {
                (Some(minimum), Some(found)) if found < minimum => vec![Problem {
                    at_key: false,
                    message: format!("`{}`: {number} is below the least allowed value, {minimum}", shown_path(path)),
                    hint: None,
                }],
                _ => Vec::new(),
            },
            _ => Vec::new(),
        }
    }

    /// `anyOf` / `oneOf`: fine if any branch fits; otherwise the problems of the branch meant
    /// (the one whose type the value has), or one wrong-type error naming every choice.
    fn alternatives(
        &mut self,
        value: &Yaml,
        branches: &'a [Json],
        path: &mut Vec<String>,
        ancestors: &mut Vec<Ancestor>,
    ) -> Vec<Problem> {
        let resolved: Vec<&'a Json> = branches.iter().map(|branch| self.resolve(branch)).collect();
        // An enum whose variants carry documentation comes out as one `const` per variant.
        let constants: Option<Vec<String>> = resolved
            .iter()
            .map(|branch| allowed_values(branch))
            .collect::<Option<Vec<_>>>()
            .map(|lists| lists.concat());
        if let Some(allowed) = constants {
            return self.enumeration(value, &allowed, path);
        }
        let kind = kind_of(value);
        let mut meant = None;
        for branch in &resolved {
            let mut trial = Walk {
                source: self.source,
                spans: self.spans,
                definitions: self.definitions,
                errors: Vec::new(),
                previous_keys: HashMap::new(),
            };
            let problems = trial.problems(value, branch, path, ancestors);
            if problems.is_empty() && trial.errors.is_empty() {
                return Vec::new();
            }
            let same_kind = types_of(branch).is_some_and(|types| types.contains(&kind))
                || (kind == "string" && allowed_values(branch).is_some());
            if same_kind && meant.is_none() {
                meant = Some((problems, trial.errors));
            }
        }
        match meant {
            Some((problems, errors)) => {
                self.errors.extend(errors);
                problems
            }
            None => {
                let mut types = Vec::new();
                for branch in &resolved {
                    self.collect_types(branch, &mut types);
                }
                vec![self.wrong_type(value, &types, path)]
            }
        }
    }

    /// Every JSON type a schema allows, through nested `anyOf` / `oneOf`.
    fn collect_types(&self, schema: &'a Json, types: &mut Vec<&'a str>) {
        let schema = self.resolve(schema);
        for kind in types_of(schema).into_iter().flatten() {
            if !types.contains(&kind) {
                types.push(kind);
            }
        }
        for branch in schema.get("anyOf").or_else(|| schema.get("oneOf")).and_then(Json::as_array).into_iter().flatten()
        {
            self.collect_types(branch, types);
        }
    }

    fn enumeration(&self, value: &Yaml, allowed: &[String], path: &[String]) -> Vec<Problem> {
        let found = match value {
            Yaml::String(text) => text.clone(),
            Yaml::Bool(flag) => flag.to_string(),
            Yaml::Number(number) => number.to_string(),
            _ => return vec![self.wrong_type(value, &["string"], path)],
        };
        if allowed.contains(&found) {
            return Vec::new();
        }
        let listed = allowed.iter().map(|name| format!("`{name}`")).collect::<Vec<_>>().join(", ");
        let hint = did_you_mean(&found, allowed.iter().map(String::as_str))
            .unwrap_or_else(|| "the names are case-sensitive".to_string());
        vec![Problem {
            at_key: false,
            message: format!(
                "`{}`: unknown variant `{}`, expected one of {listed}",
                shown_path(path),
                super::names::shown(&found)
            ),
            hint: Some(hint),
        }]
    }

    fn mapping(
        &mut self,
        mapping: &serde_yaml::Mapping,
        schema: &'a Json,
        path: &mut Vec<String>,
        ancestors: &mut Vec<Ancestor>,
    ) {
        let properties = schema.get("properties").and_then(Json::as_object);
        let additional = schema.get("additionalProperties");
        let known: Vec<String> = properties.map(|p| p.keys().cloned().collect()).unwrap_or_default();
        let is_unit = self.definitions.and_then(|d| d.get("UnitSpec")).is_some_and(|unit| std::ptr::eq(unit, schema));
        let mut previous_key: Option<String> = None;
        for (key, child) in mapping {
            let key_text = scalar_text(key);
            path.push(key_text.clone());
            if let Some(previous) = &previous_key {
                self.previous_keys.insert(path.clone(), previous.clone());
            }
            if let Some(child_schema) = properties.and_then(|p| p.get(&key_text)) {
                ancestors.push(Ancestor { path: path[..path.len() - 1].to_vec(), keys: known.clone() });
                self.check(child, child_schema, path, ancestors);
                ancestors.pop();
            } else {
                match additional {
                    Some(Json::Bool(false)) => {
                        let problem = self.unknown_key(&key_text, child, &known, path, ancestors, is_unit);
                        self.report(path, problem);
                    }
                    Some(child_schema @ Json::Object(_)) => {
                        self.check(child, child_schema, path, ancestors);
                    }
                    _ => {}
                }
            }
            path.pop();
            previous_key = Some(key_text);
        }
        for required in schema.get("required").and_then(Json::as_array).into_iter().flatten().filter_map(Json::as_str) {
            let present = mapping.keys().any(|key| scalar_text(key) == required);
            // A misspelt required key is reported once, as the unknown key with its "did you mean".
            let misspelt = mapping.keys().any(|key| {
                let key = scalar_text(key);
                !known.contains(&key) && did_you_mean(&key, [required]).is_some()
            });
            if !present && !misspelt {
                self.report(
                    path,
                    Problem {
                        at_key: true,
                        message: format!("`{}`: missing field `{required}`", shown_path(path)),
                        hint: Some(format!("add `{required}:` here")),
                    },
                );
            }
        }
    }

    fn unknown_key(
        &self,
        key: &str,
        value: &Yaml,
        known: &[String],
        path: &[String],
        ancestors: &[Ancestor],
        is_unit: bool,
    ) -> Problem {
        let parent = &path[..path.len() - 1];
        let place =
            if parent.is_empty() { "at the top level".to_string() } else { format!("in `{}`", shown_path(parent)) };
        let message = format!("unknown field `{}` {place}", super::names::shown(key));
        let listed = || known.iter().map(|name| format!("`{name}`")).collect::<Vec<_>>().join(", ");
        let hint = if let Some(guess) = did_you_mean(key, known.iter().map(String::as_str)) {
            Some(guess)
        } else if let Some(owner) = ancestors.iter().rev().find(|ancestor| ancestor.keys.iter().any(|k| k == key)) {
            // A key of an outer mapping, written inside an inner one: indented too far.
            let owner = if owner.path.is_empty() {
                "the top level".to_string()
            } else {
                format!("`{}`", shown_path(&owner.path))
            };
            Some(format!("`{key}` is a key of {owner}: check its indentation, it sits too deep"))
        } else if is_unit && matches!(value, Yaml::Mapping(_) | Yaml::Null) {
            let unit = parent.last().map_or("", String::as_str);
            if unit == "units" {
                let beside =
                    self.previous_keys.get(parent).map_or(String::new(), |previous| format!(" beside `{previous}`"));
                Some(format!(
                    "`units` here is read as an OU named `units`{beside}, so `{key}` is taken as one of its keys: to put OU `{key}` under an OU, indent `units:` one level under that OU's name"
                ))
            } else {
                Some(format!(
                    "an OU inside `{unit}` goes under its `units:` key: write `{unit}: {{ units: {{ {key}: {{}} }} }}` (check the indentation); the keys of an OU are {}",
                    listed()
                ))
            }
        } else if known.is_empty() {
            None
        } else {
            Some(format!("allowed keys here: {}", listed()))
        };
        Problem { at_key: true, message, hint }
    }

    fn wrong_type(&self, value: &Yaml, types: &[&str], path: &[String]) -> Problem {
        let key = path.last().map_or("value", String::as_str);
        let expected = types.iter().filter(|kind| **kind != "null").map(|kind| describe_type(kind)).collect::<Vec<_>>();
        let expected = if expected.is_empty() { describe_type("null").to_string() } else { expected.join(" or ") };
        let message = format!("`{}`: invalid type: {}, expected {expected}", shown_path(path), describe_value(value));
        let numeric = types.iter().any(|kind| *kind == "integer" || *kind == "number");
        let hint = match value {
            Yaml::String(text) if numeric && text.trim().parse::<f64>().is_ok() => {
                Some(format!("write the number without quotes: `{key}: {}`", text.trim()))
            }
            Yaml::String(_) if numeric => Some(format!("`{key}` takes {expected}, written without quotes or units")),
            Yaml::Null => Some("give the key a value, or remove the key to take its default".to_string()),
            Yaml::Number(number) if types.contains(&"string") => {
                Some(format!("quote it to make it a string: `{key}: \"{number}\"`"))
            }
            Yaml::Bool(flag) if types.contains(&"string") => Some(format!(
                "YAML reads `{flag}` (and yes/no, on/off) as a boolean here; quote it: `{key}: \"{flag}\"`"
            )),
            Yaml::String(_) if types.contains(&"array") => Some(format!("write a list: `{key}: [ ... ]`")),
            _ => None,
        };
        Problem { at_key: false, message, hint }
    }
}

/// The values of an `enum` or `const` schema, if that is what it is.
fn allowed_values(schema: &Json) -> Option<Vec<String>> {
    let text = |value: &Json| match value {
        Json::String(text) => text.clone(),
        other => other.to_string(),
    };
    if let Some(values) = schema.get("enum").and_then(Json::as_array) {
        return Some(values.iter().map(text).collect());
    }
    schema.get("const").map(|value| vec![text(value)])
}

/// The JSON types a schema allows (`"type": "x"` or `"type": ["x", "null"]`).
fn types_of(schema: &Json) -> Option<Vec<&str>> {
    match schema.get("type")? {
        Json::String(kind) => Some(vec![kind.as_str()]),
        Json::Array(kinds) => Some(kinds.iter().filter_map(Json::as_str).collect()),
        _ => None,
    }
}

fn kind_of(value: &Yaml) -> &'static str {
    match value {
        Yaml::Null => "null",
        Yaml::Bool(_) => "boolean",
        Yaml::Number(number) if number.is_f64() => "number",
        Yaml::Number(_) => "integer",
        Yaml::String(_) => "string",
        Yaml::Sequence(_) => "array",
        Yaml::Mapping(_) => "object",
        Yaml::Tagged(tagged) => kind_of(&tagged.value),
    }
}

fn describe_type(kind: &str) -> &'static str {
    match kind {
        "object" => "a mapping",
        "array" => "a list",
        "string" => "a string",
        "integer" => "a whole number",
        "number" => "a number",
        "boolean" => "`true` or `false`",
        _ => "an empty value",
    }
}

fn describe_value(value: &Yaml) -> String {
    match value {
        Yaml::Null => "an empty value (`~`, `null` or nothing)".to_string(),
        Yaml::Bool(flag) => format!("boolean `{flag}`"),
        Yaml::Number(number) => format!("number {number}"),
        Yaml::String(text) => format!("string \"{}\"", super::names::shown(text)),
        Yaml::Sequence(_) => "a list".to_string(),
        Yaml::Mapping(_) => "a mapping".to_string(),
        Yaml::Tagged(tagged) => describe_value(&tagged.value),
    }
}

/// A key as the span index spells it (the scalar's text).
fn scalar_text(key: &Yaml) -> String {
    match key {
        Yaml::String(text) => text.clone(),
        Yaml::Bool(flag) => flag.to_string(),
        Yaml::Number(number) => number.to_string(),
        Yaml::Null => "~".to_string(),
        _ => "<complex key>".to_string(),
    }
}

/// `accounts.app-prod.email`, for messages.
fn shown_path(path: &[String]) -> String {
    if path.is_empty() {
        return "the spec".to_string();
    }
    super::names::shown(&path.join("."))
}
