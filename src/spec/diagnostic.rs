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
    /// A stable rule id set by the check itself; without one, [`SpecDiagnostic::rule_id`] derives
    /// it from the message's fixed words.
    pub code: Option<&'static str>,
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
            code: None,
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
            code: None,
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

    /// Names the rule this diagnostic reports (`missing-spec-file`).
    pub fn with_code(mut self, code: &'static str) -> SpecDiagnostic {
        self.code = Some(code);
        self
    }

    /// The id of the check that found this problem, stable across runs and values: its own code,
    /// or the message's fixed words before any detail (identifiers in backticks, quoted values
    /// and numbers dropped; cut at the first `:`, `;` or `(`), lower-case, joined by `-`:
    /// "unit `Workloads/Prd` does not exist" is `unit-does-not-exist` whatever the unit.
    pub fn rule_id(&self) -> String {
        if let Some(code) = self.code {
            return code.to_string();
        }
        rule_id_of(&self.message)
    }

    fn location_text(&self) -> String {
        self.location.as_ref().map_or_else(|| "<spec>".to_string(), ToString::to_string)
    }
}

/// The rule id of a message (see [`SpecDiagnostic::rule_id`]).
pub fn rule_id_of(message: &str) -> String {
    // A message may open with the place it is about (`` `baseline.x`: missing field `y` ``).
    let message = message
        .strip_prefix('`')
        .and_then(|rest| rest.split_once('`'))
        .and_then(|(_, rest)| rest.strip_prefix(": "))
        .unwrap_or(message);
    let head = message.split([':', ';', '(', '\n']).next().unwrap_or_default();
    let mut words = Vec::new();
    let mut quoted = None;
    let mut word = String::new();
    for character in head.chars() {
        match (quoted, character) {
            (Some(open), c) if c == open => quoted = None,
            (Some(_), _) => {}
            (None, '`' | '"') => {
                quoted = Some(character);
                words.extend((!word.is_empty()).then(|| std::mem::take(&mut word)));
            }
            (None, c) if c.is_alphabetic() || c == '_' => word.extend(c.to_lowercase()),
            (None, _) => {
                words.extend((!word.is_empty()).then(|| std::mem::take(&mut word)));
            }
        }
    }
    words.extend((!word.is_empty()).then_some(word));
    // A value cut out of the end leaves its preposition: "unknown field `x` in `y`".
    while words
        .last()
        .is_some_and(|last| ["in", "of", "for", "at", "to", "on", "the", "a", "an"].contains(&last.as_str()))
    {
        words.pop();
    }
    let words: Vec<String> = words.into_iter().take(8).map(|word| word.replace('_', "-")).collect();
    if words.is_empty() {
        "spec-error".to_string()
    } else {
        words.join("-")
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

#[cfg(test)]
mod tests {
    use super::rule_id_of;

    #[test]
    fn a_rule_id_keeps_the_fixed_words_of_a_message_and_drops_its_values() {
        assert_eq!(rule_id_of("unit `Workloads/Prd` does not exist"), "unit-does-not-exist");
        assert_eq!(rule_id_of("unit `Sandbox` does not exist"), rule_id_of("unit `A/B` does not exist"));
        assert_eq!(rule_id_of("invalid YAML: mapping values are not allowed"), "invalid-yaml");
        assert_eq!(rule_id_of("policy_types lists \"X\" twice (10 characters)"), "policy-types-lists-twice");
        assert_eq!(rule_id_of("12 > 10"), "spec-error");
        assert_eq!(rule_id_of("`the spec`: missing field `organization`"), "missing-field");
        assert_eq!(rule_id_of("unknown field `minimum_lenght` in `baseline.password_policy`"), "unknown-field");
    }
}
