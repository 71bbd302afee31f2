//! Loading a spec file: read, index locations, deserialize, load the JSON documents it points to,
//! and validate. The result is either a `ValidSpec` or every problem found, each with a location.
//!
//! Loading never talks to AWS; it reads only the spec file and the policy files it names.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::diagnostic::{did_you_mean, SpecDiagnostic, SpecErrors};
use super::model::{DocumentSource, Spec};
use super::source::{index_yaml, SourceFile, SpanIndex};
use super::validate::validate;

/// Largest spec file the loader accepts; a landing zone of thousands of accounts fits in a few MB.
const MAX_SPEC_BYTES: u64 = 16 * 1024 * 1024;

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
        for ((role, name), document) in &self.role_documents {
            hasher.update(role.as_bytes());
            hasher.update(name.as_bytes());
            hasher.update(document.to_string().as_bytes());
        }
        format!("{:x}", hasher.finalize())
    }
}

/// Loads and validates the spec at `path`.
pub fn load_spec(path: &Path) -> Result<ValidSpec, SpecErrors> {
    let text = read_text(path).map_err(|diagnostic| SpecErrors::new(vec![*diagnostic]))?;
    load_spec_from_str(path, text)
}

/// Loads and validates spec text as if it were read from `path` (documents resolve relative to it).
pub fn load_spec_from_str(path: &Path, text: String) -> Result<ValidSpec, SpecErrors> {
    let source = SourceFile::new(path, text);
    let spans = index_yaml(&source).map_err(SpecErrors::new)?;
    let spec: Spec = serde_yaml::from_str(&source.text)
        .map_err(|error| SpecErrors::new(vec![deserialize_diagnostic(&source, &spans, &error)]))?;

    let mut loader = DocumentLoader { spec_dir: spec_dir(path), source: &source, spans: &spans, errors: Vec::new() };
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
    let mut errors = loader.errors;
    let valid = ValidSpec { spec, source, spans, policy_documents, role_documents };
    errors.extend(validate(&valid));
    if errors.is_empty() {
        Ok(valid)
    } else {
        Err(SpecErrors::new(errors))
    }
}

fn spec_dir(path: &Path) -> PathBuf {
    path.parent().map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

fn read_text(path: &Path) -> Result<String, Box<SpecDiagnostic>> {
    let name = path.display().to_string();
    let fail = |message: String| Box::new(SpecDiagnostic::whole_file(&name, message));
    let metadata = std::fs::metadata(path).map_err(|error| {
        Box::new(
            SpecDiagnostic::whole_file(&name, format!("cannot read `{name}`: {error}"))
                .with_help("pass the spec with `-f FILE`; the default is `landing-zone.yaml` in the current directory"),
        )
    })?;
    if metadata.len() > MAX_SPEC_BYTES {
        return Err(fail(format!("`{name}` is {} bytes; the limit is {MAX_SPEC_BYTES}", metadata.len())));
    }
    let bytes = std::fs::read(path).map_err(|error| fail(format!("cannot read `{name}`: {error}")))?;
    String::from_utf8(bytes).map_err(|error| fail(format!("`{name}` is not UTF-8 text: {error}")))
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
    let mut diagnostic = SpecDiagnostic::new(source, span, message.clone()).with_label("here");
    if let Some(hint) = unknown_field_hint(&message) {
        diagnostic = diagnostic.with_help(hint);
    }
    diagnostic
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
}

impl DocumentLoader<'_> {
    /// Loads a document given by file or inline; records a diagnostic and returns None on failure.
    fn load(&mut self, document: &DocumentSource, path: &[&str]) -> Option<Value> {
        match document {
            DocumentSource::Inline(map) => Some(Value::Object(map.clone())),
            DocumentSource::File(relative) => {
                let span = self.spans.value(path).unwrap_or_else(|| self.source.span_at(1, 1, 1));
                let file = self.spec_dir.join(relative);
                let text = match std::fs::read_to_string(&file) {
                    Ok(text) => text,
                    Err(error) => {
                        self.errors.push(
                            SpecDiagnostic::new(
                                self.source,
                                span,
                                format!("policy document `{}` cannot be read: {error}", file.display()),
                            )
                            .with_label("this file")
                            .with_help("paths are relative to the spec file's directory"),
                        );
                        return None;
                    }
                };
                match serde_json::from_str::<Value>(&text) {
                    Ok(value @ Value::Object(_)) => Some(value),
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
