//! The plan as a pull-request comment: warnings first, counts per action and resource kind,
//! changes grouped by where they land (OU or account), policy diffs folded, unmanaged resources,
//! and a Mermaid drawing of the OU tree with the touched nodes marked.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::action::{Action, Plan, PlannedAction, TargetRef};
use super::escape;
use super::graph::{mermaid, Tree};
use super::render::{details, reach, Detail};

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

/// Renders the comment. `tree` is the spec's OU tree (touched nodes are marked from the plan);
/// `None` leaves the drawing out (`show` without the spec the plan was made from).
///
/// Every untrusted text goes through `escape`: Markdown text is backslash-escaped, text inside
/// HTML (`<summary>`) is entity-escaped, code spans and blocks get fences their content cannot
/// close. Every detail the text plan shows is here too ([`details`]), documents as whole diffs.
pub fn render_markdown(plan: &Plan, tree: Option<Tree>) -> String {
    let mut out = String::from("### landing-zone plan\n\n");
    let _ = writeln!(out, "**{}**\n", plan.summary());
    if !plan.warnings.is_empty() {
        out.push_str("> [!WARNING]\n");
        for warning in &plan.warnings {
            let _ = writeln!(out, "> - {}", escape::markdown(warning));
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
            let _ = writeln!(out, "| {} | {count} |", escape::code_span(kind));
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
            let _ = writeln!(out, "**{}**\n", escape::markdown(place));
            for planned in actions {
                render_action(&mut out, planned);
            }
            out.push('\n');
        }
    }
    if !plan.notes.is_empty() {
        let _ = writeln!(out, "<details><summary>Not managed by this spec ({})</summary>\n", plan.notes.len());
        for note in &plan.notes {
            let _ = writeln!(out, "- {}: {}", escape::markdown(&note.resource), escape::markdown(&note.message));
        }
        out.push_str("\n</details>\n\n");
    }
    if let Some(tree) = tree {
        out.push_str("#### Organization tree\n\n");
        out.push_str(&escape::code_block("mermaid", &mermaid(&tree.mark(plan))));
    }
    out
}

/// One action: a list item with its fields, or (when it carries documents) a folded block with
/// the fields as a list and each document as a diff. Blocks stay at the top level: a fenced block
/// nested in a list item would end the item at the first unindented content line.
fn render_action(out: &mut String, planned: &PlannedAction) {
    let details = details(&planned.action);
    let reach = reach(planned);
    let has_documents = details.iter().any(|detail| matches!(detail, Detail::Diff { .. }));
    if !has_documents {
        let reach = if reach.is_empty() { reach } else { format!(" — {reach}") };
        let _ = writeln!(out, "- `{}` {}{reach}", symbol(planned), escape::markdown(&planned.action.address()));
        for detail in &details {
            if let Detail::Field { key, value } = detail {
                let _ = writeln!(out, "  - {}: {}", escape::markdown(key), escape::markdown(value));
            }
        }
        return;
    }
    let reach = if reach.is_empty() { reach } else { format!(" — {}", escape::html(&reach)) };
    let _ = writeln!(
        out,
        "<details><summary><code>{}</code> {}{reach}</summary>\n",
        symbol(planned),
        escape::html(&planned.action.address())
    );
    for detail in &details {
        if let Detail::Field { key, value } = detail {
            let _ = writeln!(out, "- {}: {}", escape::markdown(key), escape::markdown(value));
        }
    }
    for detail in &details {
        if let Detail::Diff { key, diff } = detail {
            let _ = writeln!(out, "\n{}:\n", escape::markdown(key));
            out.push_str(&escape::code_block("diff", diff));
        }
    }
    out.push_str("\n</details>\n\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::render::tests::{hostile_plan, OUTSIDE};

    /// The lines outside fenced code blocks, and the lines inside them, following CommonMark's
    /// rule: a fence closes only on a line of at least as many backticks and nothing else.
    fn split_fences(markdown: &str) -> (Vec<&str>, Vec<&str>) {
        let (mut outside, mut inside) = (Vec::new(), Vec::new());
        let mut open: Option<usize> = None;
        for line in markdown.lines() {
            let ticks = line.trim_start().chars().take_while(|c| *c == '`').count();
            match open {
                None if ticks >= 3 => open = Some(ticks),
                None => outside.push(line),
                Some(fence) if ticks >= fence && line.trim().chars().all(|c| c == '`') => open = None,
                Some(_) => inside.push(line),
            }
        }
        assert!(open.is_none(), "an unclosed fence swallows the rest of the comment:\n{markdown}");
        (outside, inside)
    }

    #[test]
    fn hostile_names_cannot_inject_html_or_close_fences() {
        let markdown = render_markdown(&hostile_plan(), Some(Tree::default()));
        assert!(!markdown.chars().any(|c| c != '\n' && escape::is_hidden(c)), "{markdown:?}");
        let (outside, inside) = split_fences(&markdown);
        // Outside code blocks, the only HTML is the tool's own folding.
        for line in &outside {
            let mut rest = line.to_string();
            for own in ["<details>", "</details>", "<summary>", "</summary>", "<code>", "</code>"] {
                rest = rest.replace(own, "");
            }
            let unescaped = rest.match_indices('<').any(|(at, _)| !rest[..at].ends_with('\\'));
            assert!(!unescaped, "raw HTML outside code: {line}\n{markdown}");
        }
        // Content that tries to close its fence stays inside it.
        assert!(inside.iter().any(|line| line.contains("HOSTILE_FENCE")), "{markdown}");
        assert!(inside.iter().any(|line| line.contains("````")), "{markdown}");
        assert!(markdown.contains("&lt;img src=x onerror=alert(1)&gt;"), "{markdown}");
        assert!(markdown.contains("\\<\\!-- everything below is hidden"), "{markdown}");
    }

    #[test]
    fn every_change_the_text_plan_shows_is_in_the_comment() {
        let plan = hostile_plan();
        let markdown = render_markdown(&plan, None);
        // The trust policy that lets an outside account in is shown as a diff, not just named.
        assert!(markdown.contains(&format!("+          \"arn:aws:iam::{OUTSIDE}:root\"")), "{markdown}");
        for planned in &plan.actions {
            for detail in details(&planned.action) {
                match detail {
                    Detail::Field { key, value } => {
                        let line = format!("{}: {}", escape::markdown(&key), escape::markdown(&value));
                        assert!(markdown.contains(&line), "missing `{line}`:\n{markdown}");
                    }
                    Detail::Diff { diff, .. } => assert!(markdown.contains(&escape::code_block("diff", &diff))),
                }
            }
        }
    }
}
