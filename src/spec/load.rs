//! Loading a spec file: read, index locations, deserialize, load the JSON documents it points to,
//! and validate. The result is either a `ValidSpec` or every problem found, each with a location.
//!
//! Loading never talks to AWS; it reads only the spec file and the policy files it names, through
//! `files` (regular files only, size caps, documents confined to the spec's directory tree).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::diagnostic::{did_you_mean, SpecDiagnostic, SpecErrors};
use super::files::{self, FileError, MAX_DOCUMENT_BYTES, MAX_SPEC_BYTES};
use super::json::{index_json, JsonIndex};
use super::model::{DocumentSource, Spec};
use super::shape::shape_errors;
use super::source::{index_yaml, SourceFile, SpanIndex};
use super::templates::{self, PackTemplate};
use super::validate::{validate, SectionRules};

/// Where a loaded document came from, so errors inside it point at the right file and line.
#[derive(Debug, Clone)]
pub enum DocumentOrigin {
    /// Written inline in the spec, at the `document:` path it is keyed by.
    Inline,
    /// A JSON file inside the spec's directory, with the location of each of its keys and values.
    File { source: SourceFile, index: JsonIndex },
}

/// A spec that passed every offline check, with the documents it references already parsed.
#[derive(Debug, Clone)]
pub struct ValidSpec {
    pub spec: Spec,
    pub source: SourceFile,
    pub spans: SpanIndex,
    /// Parsed policy documents by policy name (absent for AWS-managed defaults).
    pub policy_documents: BTreeMap<String, Value>,
    /// Parsed inline role policies by (role name, policy name).
    pub role_documents: BTreeMap<(String, String), Value>,
    /// Parsed permission set inline policies by permission set name (`identity_center`).
    pub permission_set_documents: BTreeMap<String, Value>,
    /// Where each loaded document came from, by the spec path of its `document:` value
    /// (`["policies", name, "document"]`).
    pub document_origins: BTreeMap<Vec<String>, DocumentOrigin>,
    /// Conformance pack templates by pack name (`baseline.conformance_packs`), as loaded; the body
    /// each deploys is in its `ConformancePackSpec::body`.
    pub conformance_pack_templates: BTreeMap<String, PackTemplate>,
}

impl ValidSpec {
    /// Hash of the spec text and every document, for saved plans.
    pub fn content_digest(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut hasher = Sha256::new();
        hasher.update(self.source.text.as_bytes());
        for (name, document) in &self.policy_documents {
            hasher.update(name.as_bytes());
            hasher.update(document.to_string().as_bytes());
        }
        for (name, document) in &self.permission_set_documents {
            hasher.update(name.as_bytes());
            hasher.update(document.to_string().as_bytes());
        }
        for ((role, name), document) in &self.role_documents {
            hasher.update(role.as_bytes());
            hasher.update(name.as_bytes());
            hasher.update(document.to_string().as_bytes());
        }
        for (name, template) in &self.conformance_pack_templates {
            hasher.update(name.as_bytes());
            hasher.update(template.source.text.as_bytes());
        }
        format!("{:x}", hasher.finalize())
    }
}

/// Loads and validates the spec at `path`: the spec's own rules, then `sections` (every baseline's:
/// `baseline::load_spec` passes the registry's, and is what commands call).
pub fn load_spec_with(path: &Path, sections: SectionRules<'_>) -> Result<ValidSpec, SpecErrors> {
    let text = read_text(path).map_err(|diagnostic| SpecErrors::new(vec![*diagnostic]))?;
    load_spec_from_str_with(path, text, sections)
}

/// Loads and validates spec text as if it were read from `path` (documents resolve relative to
/// it), with the spec's own rules and then `sections`.
pub fn load_spec_from_str_with(path: &Path, text: String, sections: SectionRules<'_>) -> Result<ValidSpec, SpecErrors> {
    let source = SourceFile::new(path, files::strip_bom(text));
    let spans = index_yaml(&source).map_err(SpecErrors::new)?;
    let spec: Spec = serde_yaml::from_str(&source.text).map_err(|error| {
        // serde stops at the first problem; the schema walk finds them all. serde's own message
        // is kept when the walk has nothing on its line (a rule only serde knows).
        let mut diagnostics = shape_errors(&source, &spans, &super::json_schema());
        let first = deserialize_diagnostic(&source, &spans, &error);
        let line_of = |d: &SpecDiagnostic| d.location.as_ref().map(|l| l.line);
        if !diagnostics.iter().any(|d| line_of(d) == line_of(&first)) {
            diagnostics.push(first);
        }
        SpecErrors::new(diagnostics)
    })?;

    let mut spec = spec;
    let mut loader = DocumentLoader {
        spec_dir: spec_dir(path),
        source: &source,
        spans: &spans,
        errors: Vec::new(),
        origins: BTreeMap::new(),
    };
    let mut policy_documents = BTreeMap::new();
    for (name, policy) in &spec.policies {
        if let Some(document) = &policy.document {
            if let Some(value) = loader.load(document, &["policies", name, "document"]) {
                policy_documents.insert(name.clone(), value);
            }
        }
    }
    let mut role_documents = BTreeMap::new();
    for (role, role_spec) in &spec.baseline.roles {
        for (name, document) in &role_spec.inline_policies {
            let path = ["baseline", "roles", role.as_str(), "inline_policies", name.as_str()];
            if let Some(value) = loader.load(document, &path) {
                role_documents.insert((role.clone(), name.clone()), value);
            }
        }
    }
    let mut permission_set_documents = BTreeMap::new();
    if let Some(identity_center) = &spec.identity_center {
        for (name, set) in &identity_center.permission_sets {
            if let Some(document) = &set.inline_policy {
                let path = ["identity_center", "permission_sets", name.as_str(), "inline_policy"];
                if let Some(value) = loader.load(document, &path) {
                    permission_set_documents.insert(name.clone(), value);
                }
            }
        }
    }
    let mut conformance_pack_templates = BTreeMap::new();
    for (name, pack) in &mut spec.baseline.conformance_packs {
        let path = ["baseline", "conformance_packs", name.as_str(), "template"];
        let span = spans.value(&path).unwrap_or_else(|| source.span_at(1, 1, 1));
        let refused = |message: String, hint: &'static str| {
            SpecDiagnostic::new(&source, span, message).with_label("this file").with_help(hint)
        };
        match templates::load(&loader.spec_dir, &pack.template, &loader.location_of(&path), refused) {
            Ok(template) => {
                pack.body = template.deployed_body();
                conformance_pack_templates.insert(name.clone(), template);
            }
            Err(diagnostics) => loader.errors.extend(diagnostics),
        }
    }
    let (mut errors, document_origins) = (loader.errors, loader.origins);
    let valid = ValidSpec {
        spec,
        source,
        spans,
        policy_documents,
        role_documents,
        permission_set_documents,
        document_origins,
        conformance_pack_templates,
    };
    errors.extend(validate(&valid, sections));
    if errors.is_empty() {
        Ok(valid)
    } else {
        Err(SpecErrors::new(errors))
    }
}

fn spec_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn read_text(path: &Path) -> Result<String, Box<SpecDiagnostic>> {
    let name = path.display().to_string();
    files::read_regular_file(path, &name, MAX_SPEC_BYTES).map_err(|error| {
        let hint = match &error {
            FileError::Io { .. } => {
                Some("pass the spec with `-f FILE`; the default is `landing-zone.yaml` in the current directory")
            }
            FileError::NotRegular { .. } => Some("the spec must be a regular file, not a device, FIFO or directory"),
            FileError::TooLarge { .. } => {
                Some("a spec of thousands of accounts is a few MB; check the file is the right one")
            }
            other => other.hint(),
        };
        let diagnostic = SpecDiagnostic::whole_file(&name, error.to_string());
        Box::new(match hint {
            Some(hint) => diagnostic.with_help(hint),
            None => diagnostic,
        })
    })
}

/// Turns a serde_yaml error (syntax, unknown key, wrong type) into a located diagnostic.
fn deserialize_diagnostic(source: &SourceFile, spans: &SpanIndex, error: &serde_yaml::Error) -> SpecDiagnostic {
    let full = error.to_string();
    // serde_yaml appends " at line L column C"; the location goes into the diagnostic instead.
    let message = full.split(" at line ").next().unwrap_or(&full).to_string();
    let span = match error.location() {
        Some(location) => source.span_at(location.line(), location.column(), 1),
        None => spans.value(&[]).unwrap_or_else(|| source.span_at(1, 1, 1)),
    };
    let (message, hint) = humanize(&message);
    let mut diagnostic = SpecDiagnostic::new(source, span, message.clone()).with_label("here");
    if let Some(hint) = hint.or_else(|| unknown_field_hint(&message)) {
        diagnostic = diagnostic.with_help(hint);
    }
    diagnostic
}

/// Rewrites serde's vocabulary (Rust type names, "unit value", "untagged enum") into the spec's,
/// with a hint where the usual fix is known.
fn humanize(message: &str) -> (String, Option<String>) {
    if message.contains("did not match any variant of untagged enum DocumentSource") {
        return (
            "a document is either a path to a JSON file (a string) or the policy itself as a mapping".to_string(),
            Some("e.g. `document: policies/deny-leave.json` or `document: { Version: \"2012-10-17\", Statement: [...] }`".to_string()),
        );
    }
    if message.contains("untagged and internally tagged enums do not support enum input") {
        return (
            "a YAML tag (such as `!Ref`) cannot stand here".to_string(),
            Some("the spec is plain YAML: write the value itself".to_string()),
        );
    }
    let mut text = message.to_string();
    for (serde, human) in [
        ("unit value", "an empty value (`~`, `null` or nothing)"),
        ("expected u8", "expected a whole number"),
        ("expected u16", "expected a whole number"),
        ("expected u32", "expected a whole number"),
        ("expected u64", "expected a whole number"),
        ("expected i64", "expected a whole number"),
        ("expected a sequence", "expected a list"),
        ("expected a map", "expected a mapping"),
        ("expected a boolean", "expected `true` or `false`"),
    ] {
        text = text.replace(serde, human);
    }
    // "expected struct OrganizationSpec" names a Rust type; the reader wrote YAML.
    if let Some(start) = text.find("expected struct ") {
        let end = text[start + 16..].find(|c: char| !c.is_alphanumeric()).map_or(text.len(), |i| start + 16 + i);
        text.replace_range(start..end, "expected a mapping");
    }
    if let Some(start) = text.find("expected enum ") {
        let end = text[start + 14..].find(|c: char| !c.is_alphanumeric()).map_or(text.len(), |i| start + 14 + i);
        text.replace_range(start..end, "expected one of the allowed names");
    }
    let hint = if text.contains("invalid type: string") && text.contains("expected a whole number") {
        Some("write the number without quotes".to_string())
    } else if text.contains("an empty value") {
        Some("give the key a value, or remove the key to take its default".to_string())
    } else {
        None
    };
    (text, hint)
}

/// "unknown field `emial`, expected one of `email`, `unit`" -> "did you mean `email`?"
fn unknown_field_hint(message: &str) -> Option<String> {
    let rest = message.split("unknown field `").nth(1)?;
    let (field, expected) = rest.split_once('`')?;
    let candidates: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
    did_you_mean(field, candidates.iter().copied())
        .or_else(|| Some(format!("allowed keys here: {}", candidates.join(", "))))
}

struct DocumentLoader<'a> {
    spec_dir: PathBuf,
    source: &'a SourceFile,
    spans: &'a SpanIndex,
    errors: Vec<SpecDiagnostic>,
    origins: BTreeMap<Vec<String>, DocumentOrigin>,
}

impl DocumentLoader<'_> {
    /// Loads a document given by file or inline; records a diagnostic and returns None on failure.
    fn load(&mut self, document: &DocumentSource, path: &[&str]) -> Option<Value> {
        let key: Vec<String> = path.iter().map(|segment| (*segment).to_string()).collect();
        match document {
            DocumentSource::Inline(map) => {
                self.origins.insert(key, DocumentOrigin::Inline);
                Some(Value::Object(map.clone()))
            }
            DocumentSource::File(relative) => {
                let span = self.spans.value(path).unwrap_or_else(|| self.source.span_at(1, 1, 1));
                // Refused files are never opened, and no message quotes a byte of their content:
                // `plan --format markdown` output goes into pull-request comments.
                let read = files::resolve_inside(&self.spec_dir, relative)
                    .and_then(|file| files::read_regular_file(&file, relative, MAX_DOCUMENT_BYTES));
                let text = match read {
                    Ok(text) => text,
                    Err(error) => {
                        let hint = error.hint().unwrap_or("paths are relative to the spec file's directory");
                        self.errors.push(
                            SpecDiagnostic::new(
                                self.source,
                                span,
                                match &error {
                                    FileError::Io { source, .. } => {
                                        format!("policy document `{relative}` cannot be read: {source}")
                                    }
                                    refused => format!("policy document refused: {refused}"),
                                },
                            )
                            .with_label("this file")
                            .with_help(hint),
                        );
                        return None;
                    }
                };
                let file = self.spec_dir.join(relative);
                match serde_json::from_str::<Value>(&text) {
                    Ok(value @ Value::Object(_)) => {
                        let index = index_json(&text);
                        let json_source = SourceFile::new(&file, text);
                        if !index.duplicates.is_empty() {
                            for duplicate in &index.duplicates {
                                let at = json_source.span_at(duplicate.at.line, duplicate.at.column, 1);
                                self.errors.push(
                                    SpecDiagnostic::new(
                                        &json_source,
                                        at,
                                        format!(
                                            "duplicate key `{}` (first defined on line {})",
                                            duplicate.key, duplicate.first_line
                                        ),
                                    )
                                    .with_label("defined again here")
                                    .with_help(format!(
                                        "JSON keeps only the last of equal keys, so reviewers would read one policy and AWS would get another; merge the two (referenced from {})",
                                        self.location_of(path)
                                    )),
                                );
                            }
                            return None;
                        }
                        self.origins.insert(key, DocumentOrigin::File { source: json_source, index });
                        Some(value)
                    }
                    Ok(_) => {
                        self.errors.push(
                            SpecDiagnostic::new(
                                self.source,
                                span,
                                format!("policy document `{}` is not a JSON object", file.display()),
                            )
                            .with_label("this file"),
                        );
                        None
                    }
                    Err(error) => {
                        let json_source = SourceFile::new(&file, text);
                        let json_span = json_source.span_at(error.line(), error.column().max(1), 1);
                        let message = error.to_string();
                        let message = message.split(" at line ").next().unwrap_or(&message);
                        self.errors.push(
                            SpecDiagnostic::new(&json_source, json_span, format!("invalid JSON: {message}"))
                                .with_label("here")
                                .with_help(format!("referenced from {}", self.location_of(path))),
                        );
                        None
                    }
                }
            }
        }
    }

    fn location_of(&self, path: &[&str]) -> String {
        let span = self.spans.value(path).unwrap_or_else(|| self.source.span_at(1, 1, 1));
        format!("{}:{}:{}", self.source.name(), span.line, span.column)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_messages_in_the_specs_words() {
        let cases: &[(&str, &str, Option<&str>)] = &[
            (
                "version: invalid type: string \"1\", expected u32",
                "version: invalid type: string \"1\", expected a whole number",
                Some("without quotes"),
            ),
            (
                "organization: invalid type: unit value, expected struct OrganizationSpec",
                "organization: invalid type: an empty value (`~`, `null` or nothing), expected a mapping",
                Some("give the key a value"),
            ),
            (
                "units: invalid type: string \"x\", expected a map",
                "units: invalid type: string \"x\", expected a mapping",
                None,
            ),
            (
                "policies.p: data did not match any variant of untagged enum DocumentSource",
                "a document is either a path to a JSON file (a string) or the policy itself as a mapping",
                Some("document: policies/"),
            ),
            (
                "untagged and internally tagged enums do not support enum input",
                "a YAML tag (such as `!Ref`) cannot stand here",
                Some("plain YAML"),
            ),
            ("unknown field `emial`", "unknown field `emial`", None),
        ];
        for (serde, human, hint) in cases {
            let (message, found_hint) = humanize(serde);
            assert_eq!(&message, human, "{serde}");
            match hint {
                Some(hint) => {
                    assert!(found_hint.as_deref().is_some_and(|h| h.contains(hint)), "{serde}: {found_hint:?}")
                }
                None => assert_eq!(found_hint, None, "{serde}"),
            }
            assert!(!message.contains("u32") && !message.contains("struct ") && !message.contains("untagged"));
        }
    }
}
