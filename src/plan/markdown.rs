//! The plan as a pull-request comment: warnings first, counts per action and resource kind,
//! changes grouped by where they land (OU or account), policy diffs folded, unmanaged resources,
//! and a Mermaid drawing of the OU tree with the touched nodes marked.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::action::{Action, ChangeKind, Plan, PlannedAction, TargetRef};
use super::escape;
use super::graph::{mermaid, Tree};
use super::group::{group, summary, Entry};
use super::render::{details, reach, Detail};

/// Where an action lands, for grouping.
fn place(action: &Action) -> String {
    match action {
        Action::CreateOrganization { .. }
        | Action::EnablePolicyType { .. }
        | Action::EnableServiceAccess { .. }
        | Action::RegisterDelegatedAdministrator { .. }
        | Action::EnableRootAccessFeature { .. } => "Organization".to_string(),
        Action::CreateUnit { path, .. } | Action::RenameUnit { path, .. } | Action::DeleteUnit { path, .. } => {
            format!("OU {path}")
        }
        Action::CreateAccount { name, .. }
        | Action::CloseAccount { name, .. }
        | Action::DeleteRootCredentials { name, .. } => format!("Account {name}"),
        Action::MoveAccount { account, .. } | Action::RenameAccount { account, .. } => {
            format!("Account {}", account.name())
        }
        Action::ConfigureControl { control, .. } | Action::RemoveControl { control, .. } => {
            format!("Account {}", control.account)
        }
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
        Action::CreateOrganization { .. }
        | Action::EnablePolicyType { .. }
        | Action::EnableRootAccessFeature { .. } => "organization",
        Action::EnableServiceAccess { .. } | Action::RegisterDelegatedAdministrator { .. } => "service access",
        Action::CreateUnit { .. } | Action::RenameUnit { .. } | Action::DeleteUnit { .. } => "OU",
        Action::CreateAccount { .. }
        | Action::MoveAccount { .. }
        | Action::RenameAccount { .. }
        | Action::CloseAccount { .. } => "account",
        Action::DeleteRootCredentials { .. } => "root credentials",
        Action::CreatePolicy { .. } | Action::UpdatePolicy { .. } | Action::DeletePolicy { .. } => "policy",
        Action::AttachPolicy { .. } | Action::DetachPolicy { .. } => "policy attachment",
        Action::ConfigureControl { .. } | Action::RemoveControl { .. } => "baseline control",
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
    let mut head = String::from("### landing-zone plan\n\n");
    let _ = writeln!(head, "**{}**\n", summary(plan));
    if !plan.warnings.is_empty() {
        head.push_str("> [!WARNING]\n");
        for warning in &plan.warnings {
            let _ = writeln!(head, "> - {}", escape::markdown(warning));
        }
        head.push('\n');
    }
    // The changes, as pieces the size cap may stop between (never inside a fold or a fence).
    let mut pieces: Vec<String> = Vec::new();
    if !plan.blocked.is_empty() {
        head.push_str("> [!CAUTION]\n> Blocked until opted in:\n");
        for blocked in &plan.blocked {
            let _ = writeln!(
                head,
                "> - {}: {} (unblock: {})",
                escape::markdown(&blocked.resource),
                escape::markdown(&blocked.change),
                escape::markdown(&blocked.unblock)
            );
        }
        head.push('\n');
    }
    if !plan.has_changes() {
        head.push_str("No changes. The organization matches the spec.\n\n");
    } else if plan.actions.is_empty() {
        head.push_str("Nothing landing-zone can do without an opt-in (blocked above).\n\n");
    } else {
        let mut by_kind: BTreeMap<String, usize> = BTreeMap::new();
        let mut by_resource: BTreeMap<&str, usize> = BTreeMap::new();
        for planned in &plan.actions {
            *by_kind.entry(action_kind(&planned.action)).or_default() += 1;
            *by_resource.entry(resource_kind(&planned.action)).or_default() += 1;
        }
        head.push_str("| action | count |\n| --- | ---: |\n");
        for (kind, count) in &by_kind {
            let _ = writeln!(head, "| {} | {count} |", escape::code_span(kind));
        }
        head.push_str("\n| resource | changes |\n| --- | ---: |\n");
        for (kind, count) in &by_resource {
            let _ = writeln!(head, "| {kind} | {count} |");
        }
        head.push_str("\n#### Changes by place\n\n");
        let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for entry in group(plan) {
            let mut piece = String::new();
            let place = match &entry {
                Entry::Single(planned) => {
                    render_action(&mut piece, planned);
                    place(&planned.action)
                }
                Entry::NewAccount { create, unit } => {
                    let _ = writeln!(piece, "- `+` {}", escape::markdown(&create.action.address()));
                    let unit = unit.map_or(crate::spec::ROOT, |unit| unit.path());
                    let _ = writeln!(piece, "  - unit: {}", escape::markdown(unit));
                    for detail in details(&create.action) {
                        if let Detail::Field { key, value } = detail {
                            let _ = writeln!(piece, "  - {}: {}", escape::markdown(&key), escape::markdown(&value));
                        }
                    }
                    place(&create.action)
                }
                Entry::Controls(group) => {
                    let symbol = match group.kind {
                        ChangeKind::Add => "+",
                        ChangeKind::Change => "~",
                        ChangeKind::Destroy => "-",
                    };
                    let header = format!(
                        "{} {}",
                        crate::plan::control::display_control(&group.control),
                        group.place(tree.as_ref())
                    );
                    render_entry(&mut piece, symbol, &header, "", &group.details);
                    "Baseline controls in several accounts".to_string()
                }
            };
            groups.entry(place).or_default().push(piece);
        }
        for (place, entries) in groups {
            pieces.push(format!("**{}**\n\n", escape::markdown(&place)));
            let last = entries.len().saturating_sub(1);
            for (index, mut piece) in entries.into_iter().enumerate() {
                if index == last {
                    piece.push('\n');
                }
                pieces.push(piece);
            }
        }
    }
    let mut tail = String::new();
    if !plan.notes.is_empty() {
        let _ = writeln!(tail, "<details><summary>Not managed by this spec ({})</summary>\n", plan.notes.len());
        for note in &plan.notes {
            let _ = writeln!(tail, "- {}: {}", escape::markdown(&note.resource), escape::markdown(&note.message));
        }
        tail.push_str("\n</details>\n\n");
    }
    let drawing = tree.map(|tree| {
        let mut drawing = String::from("#### Organization tree\n\n");
        drawing.push_str(&escape::code_block("mermaid", &mermaid(&tree.mark(plan))));
        drawing
    });
    fit_comment(head, pieces, tail, drawing)
}

/// GitHub refuses a comment longer than 65,536 characters
/// (https://docs.github.com/en/rest/issues/comments#create-an-issue-comment answers 422
/// "Body is too long (maximum is 65536 characters)").
pub const COMMENT_LIMIT: usize = 65_536;

/// Where the whole plan is when the comment cannot hold it.
const TOO_LONG: &str =
    "> [!NOTE]\n> This plan is too long for one comment: {shown} of {total} changes are shown above. \
The whole plan: `landing-zone plan --out plan.json` then `landing-zone show plan.json --format text` \
(or `--format json`), or this job's log.\n";

/// The comment whole when it fits [`COMMENT_LIMIT`]; else the head, as many whole pieces as fit,
/// a note saying where the whole plan is, and the notes and drawing only if they still fit.
fn fit_comment(head: String, pieces: Vec<String>, tail: String, drawing: Option<String>) -> String {
    let length = |text: &str| text.chars().count();
    let drawing = drawing.unwrap_or_default();
    let whole =
        length(&head) + pieces.iter().map(|piece| length(piece)).sum::<usize>() + length(&tail) + length(&drawing);
    if whole <= COMMENT_LIMIT {
        return head + &pieces.concat() + &tail + &drawing;
    }
    let total = pieces.iter().filter(|piece| piece.starts_with("- ") || piece.starts_with("<details>")).count();
    // Room for the note with its counts.
    let budget = COMMENT_LIMIT.saturating_sub(length(TOO_LONG) + 40);
    let mut out = head;
    let mut used = length(&out);
    let mut shown = 0;
    for piece in &pieces {
        let size = length(piece);
        if used + size > budget {
            break;
        }
        used += size;
        out.push_str(piece);
        if piece.starts_with("- ") || piece.starts_with("<details>") {
            shown += 1;
        }
    }
    out.push('\n');
    out.push_str(&TOO_LONG.replace("{shown}", &shown.to_string()).replace("{total}", &total.to_string()));
    out.push('\n');
    for extra in [tail, drawing] {
        if length(&out) + length(&extra) <= COMMENT_LIMIT {
            out.push_str(&extra);
        }
    }
    out
}

/// One action: a list item with its fields, or (when it carries documents) a folded block with
/// the fields as a list and each document as a diff. Blocks stay at the top level: a fenced block
/// nested in a list item would end the item at the first unindented content line.
fn render_action(out: &mut String, planned: &PlannedAction) {
    render_entry(out, symbol(planned), &planned.action.address(), &reach(planned), &details(&planned.action));
}

/// One entry: `symbol`, the address (or a group's place), its reach, and its details.
fn render_entry(out: &mut String, symbol: &str, address: &str, reach: &str, details: &[Detail]) {
    let reach = reach.to_string();
    let has_documents = details.iter().any(|detail| matches!(detail, Detail::Diff { .. }));
    if !has_documents {
        let reach = if reach.is_empty() { reach } else { format!(" — {reach}") };
        let _ = writeln!(out, "- `{symbol}` {}{reach}", escape::markdown(address));
        for detail in details {
            if let Detail::Field { key, value } = detail {
                let _ = writeln!(out, "  - {}: {}", escape::markdown(key), escape::markdown(value));
            }
        }
        return;
    }
    let reach = if reach.is_empty() { reach } else { format!(" — {}", escape::html(&reach)) };
    let _ = writeln!(out, "<details><summary><code>{symbol}</code> {}{reach}</summary>\n", escape::html(address));
    for detail in details {
        if let Detail::Field { key, value } = detail {
            let _ = writeln!(out, "- {}: {}", escape::markdown(key), escape::markdown(value));
        }
    }
    for detail in details {
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
        // The whole comment: `&lt;img src=x onerror=alert(1)&gt;`, `\<\!-- everything below is
        // hidden`, every fence closed.
        insta::assert_snapshot!("markdown_hostile_plan", markdown);
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

    #[test]
    fn a_thousand_accounts_fit_one_comment_grouped() {
        let (plan, tree) = crate::plan::group::tests::organization_plan(1_000, 60, 50);
        let markdown = render_markdown(&plan, Some(tree));
        assert!(markdown.chars().count() <= COMMENT_LIMIT, "{} characters", markdown.chars().count());
        assert!(
            markdown.contains("- `+` password\\_policy in all 1,000 accounts under Root\n  - minimum\\_length: 14\n"),
            "{markdown}"
        );
        assert!(markdown.contains("- `+` account account-0049\n  - unit: Workloads/Unit-49\n"), "{markdown}");
        assert!(markdown.contains("**Plan: 3020 to add, 20 to change, 0 to destroy (20 of the changes move new accounts into their OUs).**"), "{markdown}");
        split_fences(&markdown);
    }

    #[test]
    fn a_plan_too_long_for_a_comment_says_where_the_whole_plan_is() {
        // 1,000 accounts whose every trust policy differs: nothing groups, every change is a diff.
        let (template, tree) = crate::plan::group::tests::organization_plan(1_000, 60, 1_000_000);
        let mut plan = hostile_plan();
        plan.actions.clear();
        for (index, planned) in template.actions.iter().enumerate() {
            let Action::ConfigureControl { control, account, .. } = &planned.action else { continue };
            let mut action = planned.clone();
            action.index = index;
            action.action = Action::ConfigureControl {
                control: control.clone(),
                account: account.clone(),
                before: None,
                after: serde_json::json!({ "trust_policy": { "Principal": format!("arn:aws:iam::{index:012}:root") } })
                    .into(),
            };
            plan.actions.push(action);
        }
        let markdown = render_markdown(&plan, Some(tree));
        assert!(markdown.chars().count() <= COMMENT_LIMIT, "{} characters", markdown.chars().count());
        assert!(markdown.contains("This plan is too long for one comment"), "{markdown}");
        assert!(
            markdown.contains("`landing-zone plan --out plan.json` then `landing-zone show plan.json --format text`")
        );
        assert!(markdown.contains("changes are shown above"));
        // Cut between entries: every fold and fence is closed.
        split_fences(&markdown);
        assert_eq!(markdown.matches("<details>").count(), markdown.matches("</details>").count());
    }
}
