//! The plan as a pull-request comment: warnings first, counts per action and resource kind,
//! changes grouped by where they land (OU or account), policy diffs folded, unmanaged resources,
//! and a Mermaid drawing of the OU tree with the touched nodes marked.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::action::{Action, Plan, PlannedAction, TargetRef};
use super::graph::{mermaid, Tree};
use super::render::{display_value, document_diff};

/// Where an action lands, for grouping.
fn place(action: &Action) -> String {
    match action {
        Action::CreateOrganization { .. }
        | Action::EnablePolicyType { .. }
        | Action::EnableServiceAccess { .. }
        | Action::RegisterDelegatedAdministrator { .. } => "Organization".to_string(),
        Action::CreateUnit { path, .. } | Action::RenameUnit { path, .. } | Action::DeleteUnit { path, .. } => {
            format!("OU {path}")
        }
        Action::CreateAccount { name, .. } | Action::CloseAccount { name, .. } => format!("Account {name}"),
        Action::MoveAccount { account, .. } => format!("Account {}", account.name()),
        Action::ConfigureControl { control, .. } => format!("Account {}", control.account),
        Action::CreatePolicy { .. } | Action::UpdatePolicy { .. } | Action::DeletePolicy { .. } => {
            "Policies".to_string()
        }
        Action::AttachPolicy { target, .. } | Action::DetachPolicy { target, .. } => match target {
            TargetRef::Unit { unit } if unit.path() == crate::spec::ROOT => "Root".to_string(),
            TargetRef::Unit { unit } => format!("OU {}", unit.path()),
            TargetRef::Account { account } => format!("Account {}", account.name()),
        },
        Action::UpdateTags { resource, .. } => {
            let (kind, name) = resource.split_once(' ').unwrap_or(("", resource));
            match kind {
                "unit" => format!("OU {name}"),
                "account" => format!("Account {name}"),
                _ => "Policies".to_string(),
            }
        }
    }
}

fn resource_kind(action: &Action) -> &'static str {
    match action {
        Action::CreateOrganization { .. } | Action::EnablePolicyType { .. } => "organization",
        Action::EnableServiceAccess { .. } | Action::RegisterDelegatedAdministrator { .. } => "service access",
        Action::CreateUnit { .. } | Action::RenameUnit { .. } | Action::DeleteUnit { .. } => "OU",
        Action::CreateAccount { .. } | Action::MoveAccount { .. } | Action::CloseAccount { .. } => "account",
        Action::CreatePolicy { .. } | Action::UpdatePolicy { .. } | Action::DeletePolicy { .. } => "policy",
        Action::AttachPolicy { .. } | Action::DetachPolicy { .. } => "policy attachment",
        Action::ConfigureControl { .. } => "baseline control",
        Action::UpdateTags { .. } => "tags",
    }
}

fn action_kind(action: &Action) -> String {
    serde_json::to_value(action)
        .ok()
        .and_then(|value| value.get("kind").and_then(|kind| kind.as_str().map(str::to_string)))
        .unwrap_or_default()
}

fn symbol(planned: &PlannedAction) -> &'static str {
    match planned.action.change_kind() {
        super::action::ChangeKind::Add => "+",
        super::action::ChangeKind::Change => "~",
        super::action::ChangeKind::Destroy => "-",
    }
}

/// Renders the comment. `tree` is the spec's OU tree (touched nodes are marked from the plan).
pub fn render_markdown(plan: &Plan, tree: Tree) -> String {
    let mut out = String::from("### landing-zone plan\n\n");
    let _ = writeln!(out, "**{}**\n", plan.summary());
    if !plan.warnings.is_empty() {
        out.push_str("> [!WARNING]\n");
        for warning in &plan.warnings {
            let _ = writeln!(out, "> - {warning}");
        }
        out.push('\n');
    }
    if plan.actions.is_empty() {
        out.push_str("No changes. The organization matches the spec.\n\n");
    } else {
        let mut by_kind: BTreeMap<String, usize> = BTreeMap::new();
        let mut by_resource: BTreeMap<&str, usize> = BTreeMap::new();
        for planned in &plan.actions {
            *by_kind.entry(action_kind(&planned.action)).or_default() += 1;
            *by_resource.entry(resource_kind(&planned.action)).or_default() += 1;
        }
        out.push_str("| action | count |\n| --- | ---: |\n");
        for (kind, count) in &by_kind {
            let _ = writeln!(out, "| `{kind}` | {count} |");
        }
        out.push_str("\n| resource | changes |\n| --- | ---: |\n");
        for (kind, count) in &by_resource {
            let _ = writeln!(out, "| {kind} | {count} |");
        }
        out.push_str("\n#### Changes by place\n\n");
        let mut groups: BTreeMap<String, Vec<&PlannedAction>> = BTreeMap::new();
        for planned in &plan.actions {
            groups.entry(place(&planned.action)).or_default().push(planned);
        }
        for (place, actions) in &groups {
            let _ = writeln!(out, "**{place}**\n");
            for planned in actions {
                let reach = if planned.reaches_accounts > 1 {
                    format!(" — reaches {} accounts", planned.reaches_accounts)
                } else {
                    String::new()
                };
                match &planned.action {
                    Action::UpdatePolicy { document: Some(change), description, .. } => {
                        let _ = writeln!(
                            out,
                            "<details><summary><code>~</code> {}{reach}</summary>\n\n```diff\n{}```\n{}</details>\n",
                            planned.action.address(),
                            document_diff(&change.before, &change.after),
                            description
                                .as_ref()
                                .map(|d| format!("\ndescription: {:?} → {:?}\n", d.before, d.after))
                                .unwrap_or_default()
                        );
                    }
                    Action::ConfigureControl { before, after, .. } => {
                        let changed: Vec<String> = after
                            .as_object()
                            .map(|map| {
                                map.iter()
                                    .filter(|(key, value)| {
                                        before.as_ref().and_then(|b| b.get(key.as_str())) != Some(value)
                                    })
                                    .map(|(key, _)| format!("`{key}`"))
                                    .collect()
                            })
                            .unwrap_or_default();
                        let _ = writeln!(
                            out,
                            "- `{}` {} ({})",
                            symbol(planned),
                            planned.action.address(),
                            changed.join(", ")
                        );
                    }
                    Action::CreatePolicy { document, .. } => {
                        let _ = writeln!(
                            out,
                            "<details><summary><code>+</code> {}</summary>\n\n```json\n{}\n```\n</details>\n",
                            planned.action.address(),
                            serde_json::to_string_pretty(document).unwrap_or_else(|_| display_value(document))
                        );
                    }
                    _ => {
                        let _ = writeln!(out, "- `{}` {}{reach}", symbol(planned), planned.action.address());
                    }
                }
            }
            out.push('\n');
        }
    }
    if !plan.notes.is_empty() {
        let _ = writeln!(out, "<details><summary>Not managed by this spec ({})</summary>\n", plan.notes.len());
        for note in &plan.notes {
            let _ = writeln!(out, "- {}: {}", note.resource, note.message);
        }
        out.push_str("\n</details>\n\n");
    }
    out.push_str("#### Organization tree\n\n```mermaid\n");
    out.push_str(&mermaid(&tree.mark(plan)));
    out.push_str("```\n");
    out
}
