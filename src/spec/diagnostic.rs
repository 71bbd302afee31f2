//! Spec errors as miette diagnostics: message, file:line:column, a labelled snippet and a hint.
//!
//! Every error the loader or validator finds becomes one `SpecDiagnostic`; `SpecErrors` carries all
//! of them so the user fixes a file in one pass instead of one error per run.

use std::fmt;
use std::sync::Arc;

use miette::{Diagnostic, NamedSource, SourceSpan};
use thiserror::Error;

use super::source::{SourceFile, Span};

/// Where an error points, for the one-line form `file:line:column`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub file: String,
    pub line: usize,
    pub column: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// One problem in the spec (or a file it points to).
#[derive(Debug, Error, Diagnostic)]
#[error("{}: {message}", self.location_text())]
pub struct SpecDiagnostic {
    /// What is wrong, naming the offending value.
    pub message: String,
    pub location: Option<Location>,
    #[source_code]
    source_code: Option<NamedSource<Arc<String>>>,
    #[label("{label}")]
    span: Option<SourceSpan>,
    label: String,
    #[help]
    pub help: Option<String>,
}

impl SpecDiagnostic {
    /// An error at `span` of `source`.
    pub fn new(source: &SourceFile, span: Span, message: impl Into<String>) -> SpecDiagnostic {
        SpecDiagnostic {
            message: message.into(),
            location: Some(Location { file: source.name(), line: span.line, column: span.column }),
            source_code: Some(source.named_source()),
            span: Some(span.into()),
            label: String::new(),
            help: None,
        }
    }

    /// An error about a file as a whole (it is missing, unreadable).
    pub fn whole_file(file: &str, message: impl Into<String>) -> SpecDiagnostic {
        SpecDiagnostic {
            message: message.into(),
            location: Some(Location { file: file.to_string(), line: 1, column: 1 }),
            source_code: None,
            span: None,
            label: String::new(),
            help: None,
        }
    }

    pub fn with_label(mut self, label: impl Into<String>) -> SpecDiagnostic {
        self.label = label.into();
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> SpecDiagnostic {
        self.help = Some(help.into());
        self
    }

    fn location_text(&self) -> String {
        self.location.as_ref().map_or_else(|| "<spec>".to_string(), ToString::to_string)
    }
}

/// All problems found in one spec, in file order.
#[derive(Debug, Error, Diagnostic)]
#[error("{} error{} in the spec", .diagnostics.len(), if .diagnostics.len() == 1 { "" } else { "s" })]
pub struct SpecErrors {
    #[related]
    pub diagnostics: Vec<SpecDiagnostic>,
}

impl SpecErrors {
    pub fn new(mut diagnostics: Vec<SpecDiagnostic>) -> SpecErrors {
        diagnostics.sort_by(|a, b| {
            let key = |d: &SpecDiagnostic| d.location.as_ref().map(|l| (l.file.clone(), l.line, l.column));
            key(a).cmp(&key(b))
        });
        SpecErrors { diagnostics }
    }
}

/// Levenshtein distance, for "did you mean" hints.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b_chars: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b_chars.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1; b_chars.len() + 1];
        for (j, cb) in b_chars.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        previous = current;
    }
    previous[b_chars.len()]
}

/// The closest candidate to `wanted`, if it is close enough to be a likely typo.
pub fn did_you_mean<'a>(wanted: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let wanted_lower = wanted.to_lowercase();
    candidates
        .into_iter()
        .map(|candidate| (edit_distance(&wanted_lower, &candidate.to_lowercase()), candidate))
        .filter(|(distance, candidate)| *distance <= (candidate.chars().count() / 3).max(2))
        .min()
        .map(|(_, candidate)| format!("did you mean `{}`?", super::names::shown(candidate)))
}
