//! Names people read: accounts, OUs, policies and tag keys/values. A name that renders like
//! another (a zero-width space, a right-to-left override, a trailing blank, a different letter
//! case) lets a pull request hide which thing it changes; a 12-digit account name reads as an
//! account id wherever the spec accepts either (trust entries), so it could grant an outside
//! account. This module holds the pure rules; `validate` applies them with locations.

/// Zero-width, bidirectional-control and other invisible formatting characters: U+200B..U+200F,
/// U+202A..U+202E, U+2066..U+2069, U+FEFF, plus the word joiner family (U+2060..U+2064) and the
/// soft hyphen (U+00AD), which render as nothing.
pub fn is_invisible(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}' | '\u{2060}'..='\u{2064}' | '\u{00AD}')
}

/// What the name is, for the rules that differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameKind {
    Account,
    Unit,
    Policy,
    TagKey,
    TagValue,
}

impl NameKind {
    fn noun(self) -> &'static str {
        match self {
            NameKind::Account => "account name",
            NameKind::Unit => "OU name",
            NameKind::Policy => "policy name",
            NameKind::TagKey => "tag key",
            NameKind::TagValue => "tag value",
        }
    }
}

/// One problem with a name: message and hint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameProblem {
    pub message: String,
    pub hint: String,
}

/// The name with control and invisible characters spelled out (`\u{202e}`), so a message never
/// reorders or hides text on the reader's terminal.
pub fn shown(name: &str) -> String {
    name.chars()
        .map(|c| if c.is_control() || is_invisible(c) { c.escape_unicode().to_string() } else { c.to_string() })
        .collect()
}

/// The form two names are compared in: invisible and control characters removed, surrounding
/// white space trimmed, letters lower-cased. Two different names with the same key look alike.
pub fn comparison_key(name: &str) -> String {
    let visible: String = name.chars().filter(|c| !c.is_control() && !is_invisible(*c)).collect();
    visible.trim().to_lowercase()
}

/// Problems with one name (empty when it is fine).
pub fn problems(name: &str, kind: NameKind) -> Vec<NameProblem> {
    let noun = kind.noun();
    let mut found = Vec::new();
    if let Some(c) = name.chars().find(|c| is_invisible(*c)) {
        found.push(NameProblem {
            message: format!("{noun} `{}` contains the invisible character U+{:04X}", shown(name), u32::from(c)),
            hint: "zero-width and bidirectional-control characters make a name look like another; remove them"
                .to_string(),
        });
    }
    if name.chars().any(char::is_control) {
        found.push(NameProblem {
            message: format!("{noun} `{}` contains control characters", shown(name)),
            hint: "remove tabs, newlines and other control characters".to_string(),
        });
    }
    if kind != NameKind::TagValue && name != name.trim() {
        found.push(NameProblem {
            message: format!("{noun} `{}` starts or ends with white space", shown(name)),
            hint: "remove the leading and trailing spaces (quote-less YAML hides them)".to_string(),
        });
    }
    match kind {
        NameKind::Account if name.len() == 12 && name.bytes().all(|b| b.is_ascii_digit()) => found.push(NameProblem {
            message: format!("account name `{name}` is 12 digits, which reads as an AWS account id"),
            hint: "trust entries take a spec account name or an outside account's id: a 12-digit name would mean the outside account there; include a letter".to_string(),
        }),
        NameKind::Unit if name == "." || name == ".." => found.push(NameProblem {
            message: format!("OU name `{name}` reads as a path step"),
            hint: "OU paths are written `A/B`; `.` and `..` would make them ambiguous".to_string(),
        }),
        _ => {}
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_rules_table() {
        let cases: &[(&str, NameKind, Option<&str>)] = &[
            ("security", NameKind::Account, None),
            ("Security Team", NameKind::Unit, None),
            ("café", NameKind::Policy, None),
            ("123456789012", NameKind::Account, Some("reads as an AWS account id")),
            ("1234567890123", NameKind::Account, None),
            ("123456789012", NameKind::Unit, None),
            (" security", NameKind::Account, Some("starts or ends with white space")),
            ("security ", NameKind::Unit, Some("starts or ends with white space")),
            ("sec\u{200B}urity", NameKind::Account, Some("invisible character U+200B")),
            ("admin\u{202E}txt", NameKind::Policy, Some("invisible character U+202E")),
            ("a\u{2066}b", NameKind::TagKey, Some("U+2066")),
            ("\u{FEFF}x", NameKind::Unit, Some("U+FEFF")),
            ("a\tb", NameKind::Unit, Some("control characters")),
            ("x\u{7}", NameKind::TagValue, Some("control characters")),
            (" padded ", NameKind::TagValue, None),
            (".", NameKind::Unit, Some("reads as a path step")),
            ("..", NameKind::Unit, Some("reads as a path step")),
            ("...", NameKind::Unit, None),
        ];
        for (name, kind, expected) in cases {
            let found = problems(name, *kind);
            match expected {
                None => assert!(found.is_empty(), "{name:?}: {found:?}"),
                Some(expected) => assert!(found.iter().any(|p| p.message.contains(expected)), "{name:?}: {found:?}"),
            }
        }
    }

    #[test]
    fn look_alikes_share_a_comparison_key_and_are_shown_escaped() {
        assert_eq!(comparison_key("Security"), comparison_key("security\u{200B}"));
        assert_eq!(comparison_key("prod"), comparison_key(" Prod "));
        assert_ne!(comparison_key("prod"), comparison_key("prod2"));
        assert_eq!(shown("a\u{202E}b"), "a\\u{202e}b");
    }
}
