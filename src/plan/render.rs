//! Renders a plan as text (for people) or JSON (for machines; docs/plan-format.md). The text form
//! is written only from what the JSON carries.
//!
//! [`details`] is the one list of what each action changes; the text and Markdown renderers both
//! show all of it, so the pull-request comment never hides what the terminal shows. Documents are
//! shown whole, as unified diffs, never cut. Every untrusted piece of text (names, tags,
//! descriptions, documents, warnings) goes through `escape` before it reaches a terminal.

use std::fmt::Write;

use serde_json::Value;
use similar::TextDiff;

use super::action::{Action, ChangeKind, Plan, PlannedAction, UnitRef};
use super::escape;
use super::graph::Tree;
use super::group::{group, summary, Entry};

/// Text rendering options.
#[derive(Debug, Clone, Copy, Default)]
pub struct TextOptions {
    pub color: bool,
}

fn paint(text: &str, code: &str, options: TextOptions) -> String {
    if options.color {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_string()
    }
}

/// One thing an action changes, as both renderers show it. Display-only; texts are unescaped.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Detail {
    /// `key: value` on one line.
    Field { key: String, value: String },
    /// A document, whole: a unified diff (`live` → `spec`); a new document is all `+` lines.
    Diff { key: String, diff: String },
}

impl Detail {
    fn field(key: &str, value: impl Into<String>) -> Detail {
        Detail::Field { key: key.to_string(), value: value.into() }
    }

    /// The attribute's name.
    pub fn key(&self) -> &str {
        match self {
            Detail::Field { key, .. } | Detail::Diff { key, .. } => key,
        }
    }
}

/// How long a value may be and still show on one line as `before → after`.
const ONE_LINE: usize = 120;

/// Everything the plan shows about one action, in order.
pub fn details(action: &Action) -> Vec<Detail> {
    let mut details = Vec::new();
    match action {
        Action::CreateOrganization { management_account } => {
            details.push(Detail::field("feature_set", "ALL"));
            if let Some(name) = management_account {
                details.push(Detail::field("management account", format!("the caller's account, known as `{name}`")));
            }
        }
        Action::EnablePolicyType { .. } | Action::EnableServiceAccess { .. } | Action::DeletePolicy { .. } => {}
        Action::RegisterDelegatedAdministrator { .. } => {}
        Action::EnableRootAccessFeature { .. } => {
            details.push(Detail::field("scope", "every member account (centralized root access)"))
        }
        Action::CreateUnit { parent, tags, .. } => {
            details.push(Detail::field("parent", parent.path()));
            if !tags.is_empty() {
                details.push(Detail::field("tags", format_tags(tags)));
            }
        }
        Action::RenameUnit { name, .. } => {
            details.push(Detail::field("name", format!("{:?} → {:?}", name.before, name.after)))
        }
        Action::DeleteUnit { id, .. } => details.push(Detail::field("id", id.clone())),
        Action::CreateAccount { email, tags, pending_request, .. } => {
            details.push(Detail::field("email", email.clone()));
            if !tags.is_empty() {
                details.push(Detail::field("tags", format_tags(tags)));
            }
            if let Some(request) = pending_request {
                details.push(Detail::field("adopts in-progress request", request.clone()));
            }
        }
        Action::MoveAccount { from, to, .. } => {
            details.push(Detail::field("unit", format!("{} → {}", unit_label(from), unit_label(to))))
        }
        Action::CloseAccount { id, .. } => details.push(Detail::field("id", id.clone())),
        Action::DeleteRootCredentials { id, credentials, .. } => {
            details.push(Detail::field("id", id.clone()));
            let listed = |items: &[String]| items.join(", ");
            if credentials.password {
                details.push(Detail::field("password", "deleted"));
            }
            if !credentials.access_keys.is_empty() {
                details.push(Detail::field("access keys", listed(&credentials.access_keys)));
            }
            if !credentials.mfa_devices.is_empty() {
                details.push(Detail::field("MFA devices", listed(&credentials.mfa_devices)));
            }
            if !credentials.signing_certificates.is_empty() {
                details.push(Detail::field("signing certificates", listed(&credentials.signing_certificates)));
            }
            details.push(Detail::field(
                "irreversible",
                "the root user can no longer sign in or recover its password (IAMCreateRootUserPassword restores a password)",
            ));
        }
        Action::RenameAccount { before, after, .. } => {
            let before = before.as_ref().map_or_else(|| "(known after apply)".to_string(), |name| format!("{name:?}"));
            details.push(Detail::field("name", format!("{before} → {after:?}")))
        }
        Action::CreatePolicy { policy_type, description, document, tags, .. } => {
            details.push(Detail::field("type", policy_type.to_string()));
            if !description.is_empty() {
                details.push(Detail::field("description", format!("{description:?}")));
            }
            details
                .push(Detail::field("size", format!("{} characters minified", document.to_string().chars().count())));
            let visible: std::collections::BTreeMap<_, _> =
                tags.iter().filter(|(key, _)| key.as_str() != crate::spec::OWNERSHIP_TAG).collect();
            if !visible.is_empty() {
                let visible = visible.into_iter().map(|(k, v)| (k.clone(), v.clone())).collect();
                details.push(Detail::field("tags", format_tags(&visible)));
            }
            details.push(Detail::Diff { key: "document".to_string(), diff: document_diff(&Value::Null, document) });
        }
        Action::UpdatePolicy { description, document, .. } => {
            if let Some(change) = description {
                details.push(Detail::field("description", format!("{:?} → {:?}", change.before, change.after)));
            }
            if let Some(change) = document {
                details.push(Detail::Diff {
                    key: "document".to_string(),
                    diff: document_diff(&change.before, &change.after),
                });
            }
        }
        Action::AttachPolicy { policy_type, .. } | Action::DetachPolicy { policy_type, .. } => {
            details.push(Detail::field("type", policy_type.to_string()));
        }
        Action::UpdateTags { tags, .. } => {
            details
                .push(Detail::field("tags", format!("{} → {}", format_tags(&tags.before), format_tags(&tags.after))));
        }
        Action::ConfigureControl { before, after, .. } => attribute_details(&mut details, before.as_ref(), after),
        Action::RemoveControl { before, reason, .. } => removed_details(&mut details, before, reason.as_deref()),
    }
    details
}

/// What a removal deletes: its attributes as read, documents named rather than shown whole.
fn removed_details(details: &mut Vec<Detail>, before: &Value, reason: Option<&str>) {
    details
        .push(Detail::field("why", reason.unwrap_or("created by landing-zone; the spec no longer asks for it here")));
    let Some(map) = before.as_object() else { return };
    for (key, value) in map {
        let shown = match document_of(value) {
            Some(_) => "(document)".to_string(),
            None => display_value(value),
        };
        details.push(Detail::field(key, format!("{shown} → (removed)")));
    }
}

/// Attribute-level before → after; documents (objects, arrays, JSON in strings) and long or
/// multi-line values as a unified diff, whole.
fn attribute_details(details: &mut Vec<Detail>, before: Option<&Value>, after: &Value) {
    let empty = serde_json::Map::new();
    let before_map = before.and_then(Value::as_object).unwrap_or(&empty);
    let Some(after_map) = after.as_object() else {
        details.push(Detail::field("value", display_value(after)));
        return;
    };
    for (key, value) in after_map {
        let old = before_map.get(key);
        if old == Some(value) {
            continue;
        }
        let as_document = |value: &Value| {
            document_of(value).is_some_and(|document| document.is_object())
                || display_value(value).chars().count() > ONE_LINE
        };
        if as_document(value) || old.is_some_and(as_document) {
            let old = old.map_or(Value::Null, |old| document_of(old).unwrap_or_else(|| old.clone()));
            let new = document_of(value).unwrap_or_else(|| value.clone());
            details.push(Detail::Diff { key: key.clone(), diff: document_diff(&old, &new) });
            continue;
        }
        match old {
            None => details.push(Detail::field(key, display_value(value))),
            Some(old) => details.push(Detail::field(key, format!("{} → {}", display_value(old), display_value(value)))),
        }
    }
}

/// A value that is a document: an object or array, or a string holding one (IAM returns some
/// policies as JSON text).
fn document_of(value: &Value) -> Option<Value> {
    match value {
        Value::Object(_) | Value::Array(_) => Some(value.clone()),
        Value::String(text) if text.trim_start().starts_with(['{', '[']) => {
            serde_json::from_str::<Value>(text).ok().filter(|parsed| parsed.is_object() || parsed.is_array())
        }
        _ => None,
    }
}

/// The plan as text: warnings, actions with attribute-level detail, notes, then the summary line.
/// Identical control changes are grouped (`group`), by account name only: without the spec's
/// tree the renderer does not know which OU holds an account that is not moved.
pub fn render_text(plan: &Plan, options: TextOptions) -> String {
    render_text_in(plan, options, None)
}

/// [`render_text`] with the spec's OU tree, so groups covering a whole OU name the OU.
pub fn render_text_in(plan: &Plan, options: TextOptions, tree: Option<&Tree>) -> String {
    let mut out = String::new();
    for warning in &plan.warnings {
        let _ = writeln!(out, "{} {}", paint("warning:", "33;1", options), escape::inline(warning));
    }
    if !plan.warnings.is_empty() {
        out.push('\n');
    }
    if !plan.has_changes() {
        out.push_str("No changes. The organization matches the spec.\n");
    } else if plan.actions.is_empty() {
        out.push_str("Nothing landing-zone can do without an opt-in; the blocked changes are listed below.\n");
    } else {
        out.push_str("landing-zone will perform these actions:\n\n");
        for entry in group(plan) {
            match entry {
                Entry::Single(planned) => render_action(&mut out, planned, options),
                Entry::NewAccount { create, unit } => {
                    let unit = unit.map_or(crate::spec::ROOT, UnitRef::path);
                    render_lines(&mut out, &symbol(ChangeKind::Add, options), &create.action.address(), "");
                    let mut shown = vec![Detail::field("unit", unit)];
                    shown.extend(details(&create.action));
                    render_details(&mut out, shown, options);
                }
                Entry::Controls(group) => {
                    let header =
                        format!("{} {}", crate::plan::control::display_control(&group.control), group.place(tree));
                    render_lines(&mut out, &symbol(group.kind, options), &header, "");
                    render_details(&mut out, group.details, options);
                }
            }
        }
    }
    if !plan.blocked.is_empty() {
        out.push_str("\nBlocked (pending until opted in):\n");
        for blocked in &plan.blocked {
            let _ = writeln!(
                out,
                "  {} {}: {}\n      unblock: {}",
                paint("!", "31", options),
                escape::inline(&blocked.resource),
                escape::inline(&blocked.change),
                escape::inline(&blocked.unblock)
            );
        }
    }
    if !plan.notes.is_empty() {
        out.push_str("\nNotes (not changed):\n");
        for note in &plan.notes {
            let _ = writeln!(out, "  • {}: {}", escape::inline(&note.resource), escape::inline(&note.message));
        }
    }
    let _ = writeln!(out, "\n{}", summary(plan));
    out
}

fn symbol(kind: ChangeKind, options: TextOptions) -> String {
    match kind {
        ChangeKind::Add => paint("+", "32", options),
        ChangeKind::Change => paint("~", "33", options),
        ChangeKind::Destroy => paint("-", "31", options),
    }
}

/// `  (reaches 3 accounts)` after a policy change's address, or nothing.
pub fn reach(planned: &PlannedAction) -> String {
    if planned.reaches_accounts > 0
        && matches!(
            planned.action,
            Action::AttachPolicy { .. } | Action::DetachPolicy { .. } | Action::UpdatePolicy { .. }
        )
    {
        let plural = if planned.reaches_accounts == 1 { "" } else { "s" };
        format!("reaches {} account{plural}", planned.reaches_accounts)
    } else {
        String::new()
    }
}

fn render_action(out: &mut String, planned: &PlannedAction, options: TextOptions) {
    let action = &planned.action;
    let reach = reach(planned);
    let reach = if reach.is_empty() { reach } else { format!("  ({reach})") };
    render_lines(out, &symbol(action.change_kind(), options), &action.address(), &reach);
    render_details(out, details(action), options);
}

fn render_lines(out: &mut String, symbol: &str, address: &str, reach: &str) {
    let _ = writeln!(out, "  {symbol} {}{reach}", escape::inline(address));
}

fn render_details(out: &mut String, details: Vec<Detail>, options: TextOptions) {
    for detail in details {
        match detail {
            Detail::Field { key, value } => {
                let _ = writeln!(out, "      {}: {}", escape::inline(&key), escape::inline(&value));
            }
            Detail::Diff { key, diff } => {
                let _ = writeln!(out, "      {}:", escape::inline(&key));
                for line in diff.lines() {
                    let line = escape::inline(line);
                    let colored = match line.chars().next() {
                        Some('+') if !line.starts_with("+++") => paint(&line, "32", options),
                        Some('-') if !line.starts_with("---") => paint(&line, "31", options),
                        _ => line.into_owned(),
                    };
                    let _ = writeln!(out, "        {colored}");
                }
            }
        }
    }
}

/// A value for display: placeholders read as "(known after apply)".
pub fn display_value(value: &Value) -> String {
    let text = value.to_string();
    if text.contains("{{") {
        let mut shown = String::new();
        let mut rest = text.as_str();
        while let Some(start) = rest.find("{{") {
            shown.push_str(&rest[..start]);
            match rest[start..].find("}}") {
                Some(end) => {
                    shown.push_str(&format!("(known after apply: {})", &rest[start + 2..start + end]));
                    rest = &rest[start + end + 2..];
                }
                None => {
                    shown.push_str(&rest[start..]);
                    rest = "";
                }
            }
        }
        shown.push_str(rest);
        return shown;
    }
    text
}

fn unit_label(unit: &UnitRef) -> String {
    unit.path().to_string()
}

fn format_tags(tags: &std::collections::BTreeMap<String, String>) -> String {
    if tags.is_empty() {
        return "{}".to_string();
    }
    let inner: Vec<String> = tags.iter().map(|(key, value)| format!("{}={}", tag_text(key), tag_text(value))).collect();
    format!("{{{}}}", inner.join(", "))
}

/// A tag key or value as typed, quoted when it holds what would read as another tag
/// (`prod, owner=x`) or edges that would vanish (spaces).
fn tag_text(text: &str) -> String {
    let ambiguous = text.is_empty()
        || text.contains([',', '=', '{', '}', '"'])
        || text.starts_with(char::is_whitespace)
        || text.ends_with(char::is_whitespace);
    if ambiguous {
        format!("{text:?}")
    } else {
        text.to_string()
    }
}

/// A unified diff of two JSON documents, pretty-printed with sorted keys so only content differs.
/// `null` stands for "absent": a new document is all `+` lines, a removed one all `-` lines.
pub fn document_diff(before: &Value, after: &Value) -> String {
    let text = |value: &Value| if value.is_null() { String::new() } else { pretty_sorted(value) };
    let before = text(before);
    let after = text(after);
    TextDiff::from_lines(&before, &after).unified_diff().context_radius(3).header("live", "spec").to_string()
}

fn pretty_sorted(value: &Value) -> String {
    fn sort(value: &Value) -> Value {
        match value {
            Value::Object(map) => {
                let mut entries: Vec<(&String, &Value)> = map.iter().collect();
                entries.sort_by(|a, b| a.0.cmp(b.0));
                Value::Object(entries.into_iter().map(|(k, v)| (k.clone(), sort(v))).collect())
            }
            Value::Array(items) => Value::Array(items.iter().map(sort).collect()),
            other => other.clone(),
        }
    }
    let mut text = serde_json::to_string_pretty(&sort(value)).unwrap_or_default();
    text.push('\n');
    text
}

/// The plan as versioned JSON (docs/plan-format.md).
pub fn render_json(plan: &Plan) -> String {
    render_json_targeted(plan, &[])
}

/// [`render_json`] of a plan limited by `--target`s (`account:NAME`, `unit:PATH`; empty: the whole
/// organization), which `targets` lists.
pub fn render_json_targeted(plan: &Plan, targets: &[String]) -> String {
    let value = serde_json::json!({
        "format_version": plan.format_version,
        "targets": targets,
        "summary": plan.summary(),
        "actions": plan.actions,
        "warnings": plan.warnings,
        "blocked": plan.blocked,
        "notes": plan.notes,
    });
    serde_json::to_string_pretty(&value).unwrap_or_default()
}

#[cfg(test)]
pub(crate) mod tests {
    use std::collections::BTreeMap;

    use serde_json::json;

    use super::*;
    use crate::plan::action::{AccountRef, Change, Note, PolicyRef, TargetRef};
    use crate::plan::control::ControlKey;
    use crate::spec::PolicyType;

    /// An ESC sequence that moves up one line and erases it, as a tag value would carry it.
    pub const ERASE: &str = "\u{1b}[1A\u{1b}[2K";
    /// An account outside the organization that a hostile trust policy lets in.
    pub const OUTSIDE: &str = "999988887777";

    fn trust(accounts: &[&str]) -> Value {
        json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": { "AWS": accounts.iter().map(|a| format!("arn:aws:iam::{a}:root")).collect::<Vec<_>>() },
                "Action": "sts:AssumeRole",
                "Condition": { "Bool": { "aws:MultiFactorAuthPresent": "true" } }
            }]
        })
    }

    /// A plan whose every text field a pull request controls is hostile.
    pub fn hostile_plan() -> Plan {
        let tags = |value: &str| -> BTreeMap<String, String> { [("env".to_string(), value.to_string())].into() };
        let actions = vec![
            Action::UpdateTags {
                resource_id: "ou-1".to_string(),
                resource: "unit Sandbox".to_string(),
                tags: Change { before: tags("dev"), after: tags(&format!("prod{ERASE}\nFORGED line")) },
            },
            Action::CreatePolicy {
                name: "<img src=x onerror=alert(1)>".to_string(),
                policy_type: PolicyType::ServiceControlPolicy,
                description: "<!-- everything below is hidden".to_string(),
                document: json!({"Version": "2012-10-17", "Statement": [{"Sid": "x\n```\n<!--", "Effect": "Deny",
                    "Action": "*", "Resource": "*"}]}),
                tags: tags("a\u{202e}b"),
            },
            Action::UpdatePolicy {
                id: "p-1".to_string(),
                name: "deny-`|`-x".to_string(),
                policy_type: PolicyType::ServiceControlPolicy,
                description: Some(Change { before: "old".to_string(), after: "new\u{200b}".to_string() }),
                document: Some(Change {
                    before: json!({"Statement": []}),
                    after: json!({"Statement": [{"Sid": "HOSTILE_FENCE\n````\n</details><img src=x>"}]}),
                }),
            },
            Action::AttachPolicy {
                policy: PolicyRef::Planned { name: "<img src=x onerror=alert(1)>".to_string() },
                policy_type: PolicyType::ServiceControlPolicy,
                target: TargetRef::Account { account: AccountRef::Planned { name: format!("acct{ERASE}") } },
            },
            Action::ConfigureControl {
                control: ControlKey::new("iam_role/SecurityAuditor", "log-archive", None),
                account: AccountRef::Existing { id: "111111111111".to_string(), name: "log-archive".to_string() },
                before: Some(json!({ "trust_policy": trust(&["222222222222"]), "enabled": false, "note": "x" })),
                after: json!({
                    "trust_policy": trust(&["222222222222", OUTSIDE]),
                    "enabled": true,
                    "note": "y".repeat(300),
                })
                .into(),
            },
        ];
        Plan {
            format_version: 1,
            actions: actions
                .into_iter()
                .enumerate()
                .map(|(index, action)| PlannedAction { index, action, depends_on: vec![], reaches_accounts: 2 })
                .collect(),
            warnings: vec![format!("lock-out {ERASE} <!-- hidden")],
            notes: vec![Note { resource: "account <b>x</b>".to_string(), message: format!("unmanaged{ERASE}") }],
            blocked: Vec::new(),
        }
    }

    #[test]
    fn hostile_text_cannot_act_on_the_terminal() {
        let text = render_text(&hostile_plan(), TextOptions { color: false });
        assert!(!text.chars().any(|c| c != '\n' && escape::is_hidden(c)), "{text:?}");
        assert!(text.contains("prod\\u{1b}[1A\\u{1b}[2K\\u{a}FORGED line"), "{text}");
        assert!(text.contains("a\\u{202e}b") && text.contains("new\\u{200b}"), "{text}");
        assert!(!text.lines().any(|line| line.trim_start().starts_with("FORGED")), "{text}");
        // With colour, the only escape sequences are the tool's own SGR colours.
        let coloured = render_text(&hostile_plan(), TextOptions { color: true });
        assert_eq!(escape::lines_keeping_colour(&coloured), coloured);
    }

    #[test]
    fn controls_are_shown_under_the_specs_own_keys() {
        // Stored ids (`s3_account_public_access_block`, `iam_role/X`, `budget/X`) stay in saved
        // plans; text and Markdown use the keys a reader wrote under `baseline:`, alone or grouped.
        let configure = |index: usize, control: &str, account: &str| PlannedAction {
            index,
            action: Action::ConfigureControl {
                control: ControlKey::new(control, account, None),
                account: AccountRef::Planned { name: account.to_string() },
                before: None,
                after: json!({ "enabled": true }).into(),
            },
            depends_on: vec![],
            reaches_accounts: 1,
        };
        let mut actions = vec![configure(0, "iam_role/SecurityAuditor", "log-archive")];
        for (index, account) in ["a", "b", "c"].iter().enumerate() {
            actions.push(configure(index + 1, "s3_account_public_access_block", account));
        }
        actions.push(configure(4, "budget/organization-monthly", "management"));
        let plan = Plan { format_version: 1, actions, warnings: vec![], notes: vec![], blocked: vec![] };
        let text = render_text(&plan, TextOptions { color: false });
        let markdown = crate::plan::markdown::render_markdown(&plan, None);
        // The whole outputs: `roles/SecurityAuditor in log-archive`, `s3_block_public_access` in
        // three accounts, `budgets/organization-monthly in management`; the JSON keeps the ids.
        insta::assert_snapshot!("text_controls_under_spec_keys", text);
        insta::assert_snapshot!("markdown_controls_under_spec_keys", markdown);
        insta::assert_snapshot!("json_controls_under_spec_keys", render_json(&plan));
        // Markdown escapes `_` with a backslash.
        for shown in [text, markdown.replace('\\', "")] {
            for id in ["iam_role", "s3_account_public_access_block", "budget/"] {
                assert!(!shown.contains(id), "`{id}` in {shown}");
            }
        }
    }

    #[test]
    fn documents_are_whole_diffs_and_long_values_are_never_cut() {
        // The whole output: the trust policy's diff names the outside account, the 300-character
        // note is whole, `enabled: false → true`, and the created policy's document is shown whole.
        let text = render_text(&hostile_plan(), TextOptions { color: false });
        assert!(!text.contains("characters)"), "{text}");
        insta::assert_snapshot!("text_hostile_plan", text);
        insta::assert_snapshot!("json_hostile_plan", render_json(&hostile_plan()));
        // A tag value cannot pass for another tag.
        let forged: BTreeMap<String, String> = [("env".to_string(), "prod, owner=security".to_string())].into();
        assert_eq!(format_tags(&forged), "{env=\"prod, owner=security\"}");
    }

    #[test]
    fn a_first_plan_of_a_thousand_accounts_fits_four_hundred_lines() {
        let (plan, tree) = crate::plan::group::tests::organization_plan(1_000, 60, 50);
        let text = render_text_in(&plan, TextOptions { color: false }, Some(&tree));
        let lines = text.lines().count();
        assert!(lines <= 400, "{lines} lines:\n{text}");
        assert!(
            text.contains("\n  + password_policy in all 1,000 accounts under Root\n      minimum_length: 14\n"),
            "{text}"
        );
        assert!(text.contains("  + aws_config/recorder in all 1,000 accounts under Root (eu-west-1)\n"), "{text}");
        // A new account is one entry with its unit; the summary counts its creation and its move.
        assert!(
            text.contains(
                "  + account account-0049\n      unit: Workloads/Unit-49\n      email: account-0049@example.com\n"
            ),
            "{text}"
        );
        assert!(!text.contains("~ account account-0049"), "{text}");
        assert!(
            text.contains(
                "Plan: 3020 to add, 20 to change, 0 to destroy (20 of the changes move new accounts into their OUs)."
            ),
            "{text}"
        );
        // One count everywhere: text, Markdown and JSON agree, and add up to the actions apply runs.
        let json: Value = serde_json::from_str(&render_json(&plan)).expect("json");
        assert_eq!((json["summary"]["add"].as_u64(), json["summary"]["change"].as_u64()), (Some(3020), Some(20)));
        assert_eq!(json["summary"]["new_account_moves"].as_u64(), Some(20));
        assert_eq!(3020 + 20, plan.actions.len());
        let markdown = crate::plan::markdown::render_markdown(&plan, Some(tree.clone()));
        assert!(markdown.contains("**Plan: 3020 to add, 20 to change, 0 to destroy (20 of the changes"), "{markdown}");
        // Without grouping the same plan is one entry per control.
        assert!(plan.actions.len() > 3_000);
    }
}
