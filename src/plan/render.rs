//! Renders a plan as text (for people) or JSON (for machines; docs/plan-format.md). The text form
//! is written only from what the JSON carries.

use std::fmt::Write;

use serde_json::Value;
use similar::TextDiff;

use super::action::{Action, ChangeKind, Plan, PlannedAction, UnitRef};

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

/// The plan as text: warnings, actions with attribute-level detail, notes, then the summary line.
pub fn render_text(plan: &Plan, options: TextOptions) -> String {
    let mut out = String::new();
    for warning in &plan.warnings {
        let _ = writeln!(out, "{} {warning}", paint("warning:", "33;1", options));
    }
    if !plan.warnings.is_empty() {
        out.push('\n');
    }
    if plan.actions.is_empty() {
        out.push_str("No changes. The organization matches the spec.\n");
    } else {
        out.push_str("landing-zone will perform these actions:\n\n");
        for planned in &plan.actions {
            render_action(&mut out, planned, options);
        }
    }
    if !plan.notes.is_empty() {
        out.push_str("\nNotes (not changed):\n");
        for note in &plan.notes {
            let _ = writeln!(out, "  • {}: {}", note.resource, note.message);
        }
    }
    let _ = writeln!(out, "\n{}", plan.summary());
    out
}

fn symbol(kind: ChangeKind, options: TextOptions) -> String {
    match kind {
        ChangeKind::Add => paint("+", "32", options),
        ChangeKind::Change => paint("~", "33", options),
        ChangeKind::Destroy => paint("-", "31", options),
    }
}

fn render_action(out: &mut String, planned: &PlannedAction, options: TextOptions) {
    let action = &planned.action;
    let reach = if planned.reaches_accounts > 0
        && matches!(action, Action::AttachPolicy { .. } | Action::DetachPolicy { .. } | Action::UpdatePolicy { .. })
    {
        let plural = if planned.reaches_accounts == 1 { "" } else { "s" };
        format!("  (reaches {} account{plural})", planned.reaches_accounts)
    } else {
        String::new()
    };
    let _ = writeln!(out, "  {} {}{reach}", symbol(action.change_kind(), options), action.address());
    let detail = |out: &mut String, key: &str, value: String| {
        let _ = writeln!(out, "      {key}: {value}");
    };
    match action {
        Action::CreateOrganization { management_account } => {
            detail(out, "feature_set", "ALL".to_string());
            if let Some(name) = management_account {
                detail(out, "management account", format!("the caller's account, known as `{name}`"));
            }
        }
        Action::EnablePolicyType { .. } | Action::EnableServiceAccess { .. } | Action::DeletePolicy { .. } => {}
        Action::RegisterDelegatedAdministrator { .. } => {}
        Action::CreateUnit { parent, tags, .. } => {
            detail(out, "parent", parent.path().to_string());
            if !tags.is_empty() {
                detail(out, "tags", format_tags(tags));
            }
        }
        Action::RenameUnit { name, .. } => detail(out, "name", format!("{:?} → {:?}", name.before, name.after)),
        Action::DeleteUnit { id, .. } => detail(out, "id", id.clone()),
        Action::CreateAccount { email, tags, pending_request, .. } => {
            detail(out, "email", email.clone());
            if !tags.is_empty() {
                detail(out, "tags", format_tags(tags));
            }
            if let Some(request) = pending_request {
                detail(out, "adopts in-progress request", request.clone());
            }
        }
        Action::MoveAccount { from, to, .. } => {
            detail(out, "unit", format!("{} → {}", unit_label(from), unit_label(to)))
        }
        Action::CloseAccount { id, .. } => detail(out, "id", id.clone()),
        Action::CreatePolicy { policy_type, description, document, tags, .. } => {
            detail(out, "type", policy_type.to_string());
            if !description.is_empty() {
                detail(out, "description", format!("{description:?}"));
            }
            detail(out, "size", format!("{} characters minified", document.to_string().chars().count()));
            let visible: std::collections::BTreeMap<_, _> =
                tags.iter().filter(|(key, _)| key.as_str() != crate::spec::OWNERSHIP_TAG).collect();
            if !visible.is_empty() {
                detail(out, "tags", visible.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", "));
            }
        }
        Action::UpdatePolicy { description, document, .. } => {
            if let Some(change) = description {
                detail(out, "description", format!("{:?} → {:?}", change.before, change.after));
            }
            if let Some(change) = document {
                out.push_str("      document:\n");
                for line in document_diff(&change.before, &change.after).lines() {
                    let colored = match line.chars().next() {
                        Some('+') if !line.starts_with("+++") => paint(line, "32", options),
                        Some('-') if !line.starts_with("---") => paint(line, "31", options),
                        _ => line.to_string(),
                    };
                    let _ = writeln!(out, "        {colored}");
                }
            }
        }
        Action::AttachPolicy { policy_type, .. } | Action::DetachPolicy { policy_type, .. } => {
            detail(out, "type", policy_type.to_string());
        }
        Action::UpdateTags { tags, .. } => {
            detail(out, "tags", format!("{} → {}", format_tags(&tags.before), format_tags(&tags.after)));
        }
        Action::ConfigureControl { before, after, .. } => render_attributes(out, before.as_ref(), after, options),
    }
}

/// Attribute-level before → after; long documents as a unified diff.
fn render_attributes(out: &mut String, before: Option<&Value>, after: &Value, options: TextOptions) {
    let empty = serde_json::Map::new();
    let before_map = before.and_then(Value::as_object).unwrap_or(&empty);
    let Some(after_map) = after.as_object() else {
        let _ = writeln!(out, "      value: {after}");
        return;
    };
    for (key, value) in after_map {
        let old = before_map.get(key);
        if old == Some(value) {
            continue;
        }
        let shown = |value: &Value| shorten(&crate::plan::render::display_value(value));
        match old {
            None => {
                let _ = writeln!(out, "      {key}: {}", shown(value));
            }
            Some(old) if old.is_object() && value.is_object() => {
                let _ = writeln!(out, "      {key}:");
                for line in document_diff(old, value).lines() {
                    let colored = match line.chars().next() {
                        Some('+') if !line.starts_with("+++") => paint(line, "32", options),
                        Some('-') if !line.starts_with("---") => paint(line, "31", options),
                        _ => line.to_string(),
                    };
                    let _ = writeln!(out, "        {colored}");
                }
            }
            Some(old) => {
                let _ = writeln!(out, "      {key}: {} → {}", shown(old), shown(value));
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

fn shorten(text: &str) -> String {
    const LIMIT: usize = 160;
    if text.chars().count() <= LIMIT {
        text.to_string()
    } else {
        format!("{}… ({} characters)", text.chars().take(LIMIT).collect::<String>(), text.chars().count())
    }
}

fn unit_label(unit: &UnitRef) -> String {
    unit.path().to_string()
}

fn format_tags(tags: &std::collections::BTreeMap<String, String>) -> String {
    if tags.is_empty() {
        return "{}".to_string();
    }
    let inner: Vec<String> = tags.iter().map(|(key, value)| format!("{key}={value}")).collect();
    format!("{{{}}}", inner.join(", "))
}

/// A unified diff of two JSON documents, pretty-printed with sorted keys so only content differs.
pub fn document_diff(before: &Value, after: &Value) -> String {
    let before = pretty_sorted(before);
    let after = pretty_sorted(after);
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
    let value = serde_json::json!({
        "format_version": plan.format_version,
        "summary": plan.summary(),
        "actions": plan.actions,
        "warnings": plan.warnings,
        "notes": plan.notes,
    });
    serde_json::to_string_pretty(&value).unwrap_or_default()
}
