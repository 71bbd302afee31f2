//! Draws an organization tree (from the spec or from the live organization) as Mermaid or
//! Graphviz DOT, with the nodes a plan touches marked. Pure: text in, text out.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use super::action::{Action, Plan, TargetRef};
use super::desired::DesiredOrganization;
use crate::plan::state::LiveOrganization;
use crate::spec::ROOT;

/// OUs by path and accounts with the path of their OU.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tree {
    pub units: BTreeSet<String>,
    /// Account name -> OU path (`Root` for the root).
    pub accounts: BTreeMap<String, String>,
    /// Node keys (`unit:<path>`, `account:<name>`) to highlight.
    pub touched: BTreeSet<String>,
    /// AWS ids by node key, for a drawing of the live organization (`ou-…`, account ids): what a
    /// spec pins with `id:` to adopt an OU or account, or to rename an OU rather than replace it.
    pub aws_ids: BTreeMap<String, String>,
}

impl Tree {
    pub fn from_desired(desired: &DesiredOrganization) -> Tree {
        Tree {
            units: desired.units.iter().map(|unit| unit.path.clone()).collect(),
            accounts: desired.accounts.iter().map(|a| (a.name.clone(), a.unit_path.clone())).collect(),
            touched: BTreeSet::new(),
            aws_ids: BTreeMap::new(),
        }
    }

    pub fn from_live(live: &LiveOrganization) -> Tree {
        Tree {
            units: live.units_by_path().into_keys().collect(),
            accounts: live
                .accounts
                .values()
                .map(|account| {
                    (account.name.clone(), live.path_of(&account.parent_id).unwrap_or_else(|| ROOT.to_string()))
                })
                .collect(),
            touched: BTreeSet::new(),
            aws_ids: live
                .units_by_path()
                .into_iter()
                .map(|(path, unit)| (format!("unit:{path}"), unit.id.clone()))
                .chain(live.root.iter().map(|root| (format!("unit:{ROOT}"), root.id.clone())))
                .chain(live.accounts.values().map(|account| (format!("account:{}", account.name), account.id.clone())))
                .collect(),
        }
    }

    /// A node's label: its name, and its AWS id when the drawing is of the live organization.
    fn label(&self, key: &str, name: &str) -> String {
        match self.aws_ids.get(key) {
            Some(id) => format!("{name} ({id})"),
            None => name.to_string(),
        }
    }

    /// Marks every OU and account a plan changes (attachments mark their target).
    pub fn mark(mut self, plan: &Plan) -> Tree {
        for planned in &plan.actions {
            let key = match &planned.action {
                Action::CreateUnit { path, .. } | Action::RenameUnit { path, .. } | Action::DeleteUnit { path, .. } => {
                    format!("unit:{path}")
                }
                Action::CreateAccount { name, .. }
                | Action::CloseAccount { name, .. }
                | Action::DeleteRootCredentials { name, .. } => format!("account:{name}"),
                Action::MoveAccount { account, .. } | Action::RenameAccount { account, .. } => {
                    format!("account:{}", account.name())
                }
                Action::ConfigureControl { control, .. } | Action::RemoveControl { control, .. } => {
                    format!("account:{}", control.account)
                }
                Action::AttachPolicy { target, .. } | Action::DetachPolicy { target, .. } => match target {
                    TargetRef::Unit { unit } => format!("unit:{}", unit.path()),
                    TargetRef::Account { account } => format!("account:{}", account.name()),
                },
                Action::UpdateTags { resource, .. } => resource.replacen(' ', ":", 1),
                _ => continue,
            };
            self.touched.insert(key);
        }
        self
    }

    fn parent_of(path: &str) -> String {
        path.rsplit_once('/').map_or_else(|| ROOT.to_string(), |(parent, _)| parent.to_string())
    }

    fn name_of(path: &str) -> &str {
        path.rsplit('/').next().unwrap_or(path)
    }

    /// Stable node ids (`n0`, `n1`…) by key, Root first.
    fn ids(&self) -> BTreeMap<String, String> {
        let mut ids = BTreeMap::new();
        ids.insert(format!("unit:{ROOT}"), "n0".to_string());
        for (index, path) in self.units.iter().enumerate() {
            ids.insert(format!("unit:{path}"), format!("u{index}"));
        }
        for (index, name) in self.accounts.keys().enumerate() {
            ids.insert(format!("account:{name}"), format!("a{index}"));
        }
        ids
    }
}

/// A Mermaid flowchart; touched nodes carry the `changed` class.
pub fn mermaid(tree: &Tree) -> String {
    let ids = tree.ids();
    let mut out = String::from("flowchart TD\n");
    let _ = writeln!(out, "  n0[\"{}\"]", super::escape::mermaid_label(&tree.label(&format!("unit:{ROOT}"), ROOT)));
    for path in &tree.units {
        let key = format!("unit:{path}");
        let label = tree.label(&key, Tree::name_of(path));
        let _ = writeln!(out, "  {}[\"{}\"]", ids[&key], super::escape::mermaid_label(&label));
    }
    for name in tree.accounts.keys() {
        let key = format!("account:{name}");
        let label = tree.label(&key, name);
        let _ = writeln!(out, "  {}([\"{}\"])", ids[&key], super::escape::mermaid_label(&label));
    }
    for path in &tree.units {
        let parent = ids.get(&format!("unit:{}", Tree::parent_of(path))).cloned().unwrap_or_else(|| "n0".to_string());
        let _ = writeln!(out, "  {parent} --> {}", ids[&format!("unit:{path}")]);
    }
    for (name, unit) in &tree.accounts {
        let parent = ids.get(&format!("unit:{unit}")).cloned().unwrap_or_else(|| "n0".to_string());
        let _ = writeln!(out, "  {parent} --> {}", ids[&format!("account:{name}")]);
    }
    let touched: Vec<&String> = tree.touched.iter().filter_map(|key| ids.get(key)).collect();
    if !touched.is_empty() {
        out.push_str("  classDef changed fill:#fff3bf,stroke:#e67700,stroke-width:2px\n");
        let _ = writeln!(out, "  class {} changed", touched.iter().map(|id| id.as_str()).collect::<Vec<_>>().join(","));
    }
    out
}

/// A Graphviz digraph; touched nodes are filled.
pub fn dot(tree: &Tree) -> String {
    let ids = tree.ids();
    let style = |key: &str| if tree.touched.contains(key) { ", style=filled, fillcolor=\"#fff3bf\"" } else { "" };
    let mut out = String::from("digraph organization {\n  rankdir=TB;\n");
    let root = tree.label(&format!("unit:{ROOT}"), ROOT);
    let _ = writeln!(out, "  n0 [label=\"{}\", shape=box];", super::escape::dot_label(&root));
    for path in &tree.units {
        let key = format!("unit:{path}");
        let label = tree.label(&key, Tree::name_of(path));
        let _ = writeln!(
            out,
            "  {} [label=\"{}\", shape=box{}];",
            ids[&key],
            super::escape::dot_label(&label),
            style(&key)
        );
    }
    for name in tree.accounts.keys() {
        let key = format!("account:{name}");
        let label = tree.label(&key, name);
        let _ = writeln!(
            out,
            "  {} [label=\"{}\", shape=ellipse{}];",
            ids[&key],
            super::escape::dot_label(&label),
            style(&key)
        );
    }
    for path in &tree.units {
        let parent = ids.get(&format!("unit:{}", Tree::parent_of(path))).cloned().unwrap_or_else(|| "n0".to_string());
        let _ = writeln!(out, "  {parent} -> {};", ids[&format!("unit:{path}")]);
    }
    for (name, unit) in &tree.accounts {
        let parent = ids.get(&format!("unit:{unit}")).cloned().unwrap_or_else(|| "n0".to_string());
        let _ = writeln!(out, "  {parent} -> {};", ids[&format!("account:{name}")]);
    }
    out.push_str("}\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> Tree {
        Tree {
            units: ["Workloads", "Workloads/Prod"].iter().map(|s| s.to_string()).collect(),
            accounts: [("app-prod", "Workloads/Prod"), ("management", "Root")]
                .iter()
                .map(|(a, u)| (a.to_string(), u.to_string()))
                .collect(),
            touched: ["account:app-prod".to_string()].into_iter().collect(),
            aws_ids: BTreeMap::new(),
        }
    }

    /// `graph --live` names each OU and account with its AWS id: what `id:` pins in the spec.
    #[test]
    fn a_live_drawing_shows_the_aws_ids() {
        let mut tree = tree();
        tree.aws_ids = [
            ("unit:Root", "r-ab12"),
            ("unit:Workloads/Prod", "ou-ab12-prod0001"),
            ("account:app-prod", "111122223333"),
        ]
        .iter()
        .map(|(key, id)| (key.to_string(), id.to_string()))
        .collect();
        let text = mermaid(&tree);
        assert!(text.contains("n0[\"Root (r-ab12)\"]"), "{text}");
        assert!(text.contains("u1[\"Prod (ou-ab12-prod0001)\"]"), "{text}");
        assert!(text.contains("a0([\"app-prod (111122223333)\"])"), "{text}");
        assert!(text.contains("u0[\"Workloads\"]"), "an id not known is left out: {text}");
        let text = dot(&tree);
        assert!(text.contains("label=\"Prod (ou-ab12-prod0001)\""), "{text}");
        // The spec's drawing has no ids.
        assert!(!mermaid(&Tree { aws_ids: BTreeMap::new(), ..tree }).contains("ou-ab12"));
    }

    #[test]
    fn mermaid_links_units_and_accounts_and_marks_changes() {
        let text = mermaid(&tree());
        assert!(text.starts_with("flowchart TD\n"));
        assert!(
            text.contains("n0 --> u0")
                && text.contains("u0 --> u1")
                && text.contains("u1 --> a0")
                && text.contains("n0 --> a1"),
            "{text}"
        );
        assert!(text.contains("class a0 changed"), "{text}");
    }

    #[test]
    fn hostile_names_stay_inside_their_labels() {
        let mut tree = tree();
        tree.units.insert("Evil\"]\n  click u0 call alert()".to_string());
        tree.accounts.insert("x\u{1b}[2K<img src=x>\"".to_string(), "Root".to_string());
        let text = mermaid(&tree);
        assert!(!text.contains('\u{1b}') && !text.contains("<img"), "{text}");
        assert!(!text.lines().any(|line| line.trim_start().starts_with("click")), "{text}");
        let text = dot(&tree);
        assert!(!text.contains('\u{1b}') && text.contains("label=\"x\\\\u{1b}[2K<img src=x>\\\""), "{text}");
    }

    #[test]
    fn dot_is_a_digraph_with_filled_changes() {
        let text = dot(&tree());
        assert!(text.starts_with("digraph organization {"));
        assert!(text.contains("a0 [label=\"app-prod\", shape=ellipse, style=filled"), "{text}");
        assert!(text.contains("u1 -> a0;"));
    }
}
