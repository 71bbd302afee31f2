//! Draws an organization tree (from the spec or from the live organization) as Mermaid, Graphviz
//! DOT, a plain-text tree or JSON, with the nodes a plan touches marked and (text, JSON) the
//! policies attached at each node. Pure: data in, text out.

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
    /// Policies attached directly to each node, by node key: (name, policy type as AWS spells it).
    pub policies: BTreeMap<String, BTreeSet<(String, String)>>,
}

impl Tree {
    pub fn from_desired(desired: &DesiredOrganization) -> Tree {
        Tree {
            units: desired.units.iter().map(|unit| unit.path.clone()).collect(),
            accounts: desired.accounts.iter().map(|a| (a.name.clone(), a.unit_path.clone())).collect(),
            touched: BTreeSet::new(),
            aws_ids: BTreeMap::new(),
            policies: desired_policies(desired),
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
            policies: live_policies(live),
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

/// The spec's policies by the node they are attached to.
fn desired_policies(desired: &DesiredOrganization) -> BTreeMap<String, BTreeSet<(String, String)>> {
    let mut attached: BTreeMap<String, BTreeSet<(String, String)>> = BTreeMap::new();
    for policy in &desired.policies {
        let entry = (policy.name.clone(), policy.policy_type.as_aws().to_string());
        let units = policy.target_units.iter().map(|path| format!("unit:{path}"));
        let accounts = policy.target_accounts.iter().map(|name| format!("account:{name}"));
        for key in units.chain(accounts) {
            attached.entry(key).or_default().insert(entry.clone());
        }
    }
    attached
}

/// The live policies (AWS-managed ones included: FullAWSAccess is what an SCP-less node carries)
/// by the node their targets name.
fn live_policies(live: &LiveOrganization) -> BTreeMap<String, BTreeSet<(String, String)>> {
    let mut keys: BTreeMap<&str, String> =
        live.units_by_path().into_iter().map(|(path, unit)| (unit.id.as_str(), format!("unit:{path}"))).collect();
    keys.extend(live.root.iter().map(|root| (root.id.as_str(), format!("unit:{ROOT}"))));
    keys.extend(live.accounts.values().map(|account| (account.id.as_str(), format!("account:{}", account.name))));
    let mut attached: BTreeMap<String, BTreeSet<(String, String)>> = BTreeMap::new();
    for policy in live.policies.values() {
        for key in policy.targets.iter().filter_map(|target| keys.get(target.as_str())) {
            attached
                .entry(key.clone())
                .or_default()
                .insert((policy.name.clone(), policy.policy_type.as_aws().to_string()));
        }
    }
    attached
}

/// A node's policies in words: `deny-x, region-allow` for SCPs, other types named
/// (`daily [BACKUP_POLICY]`).
fn policy_list(policies: &BTreeSet<(String, String)>) -> String {
    policies
        .iter()
        .map(|(name, kind)| {
            if kind == "SERVICE_CONTROL_POLICY" {
                super::escape::inline(name).into_owned()
            } else {
                format!("{} [{kind}]", super::escape::inline(name))
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// One node of the tree, for the text and JSON renderers: a unit (path) or an account (name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Node<'a> {
    Unit(&'a str),
    Account(&'a str),
}

impl Tree {
    /// The units, then the accounts, directly under unit `path` (sorted by name).
    fn children(&self, path: &str) -> Vec<Node<'_>> {
        let mut units: Vec<&str> =
            self.units.iter().filter(|unit| Tree::parent_of(unit) == path).map(String::as_str).collect();
        units.sort_by_key(|unit| Tree::name_of(unit));
        let accounts = self.accounts.iter().filter(|(_, unit)| unit.as_str() == path).map(|(name, _)| name.as_str());
        units.into_iter().map(Node::Unit).chain(accounts.map(Node::Account)).collect()
    }

    fn key(node: Node<'_>) -> String {
        match node {
            Node::Unit(path) => format!("unit:{path}"),
            Node::Account(name) => format!("account:{name}"),
        }
    }

    fn text_line(&self, node: Node<'_>) -> String {
        let key = Tree::key(node);
        let mut line = match node {
            Node::Unit(path) => super::escape::inline(&self.label(&key, Tree::name_of(path))).into_owned(),
            Node::Account(name) => format!("{} (account)", super::escape::inline(&self.label(&key, name))),
        };
        if let Some(policies) = self.policies.get(&key).filter(|policies| !policies.is_empty()) {
            line.push_str(&format!("  policies: {}", policy_list(policies)));
        }
        if self.touched.contains(&key) {
            line.push_str("  ~ changes");
        }
        line
    }

    fn text_below(&self, path: &str, indent: &str, out: &mut String) {
        let children = self.children(path);
        for (index, child) in children.iter().enumerate() {
            let last = index + 1 == children.len();
            let _ = writeln!(out, "{indent}{}{}", if last { "└── " } else { "├── " }, self.text_line(*child));
            if let Node::Unit(child_path) = child {
                self.text_below(child_path, &format!("{indent}{}", if last { "    " } else { "│   " }), out);
            }
        }
    }

    fn json_node(&self, node: Node<'_>) -> serde_json::Value {
        let key = Tree::key(node);
        let policies: Vec<serde_json::Value> = self
            .policies
            .get(&key)
            .into_iter()
            .flatten()
            .map(|(name, kind)| serde_json::json!({ "name": name, "type": kind }))
            .collect();
        let mut value = match node {
            Node::Unit(path) => serde_json::json!({
                "kind": "unit",
                "name": Tree::name_of(path),
                "path": path,
                "children": self.children(path).into_iter().map(|child| self.json_node(child)).collect::<Vec<_>>(),
            }),
            Node::Account(name) => serde_json::json!({ "kind": "account", "name": name }),
        };
        if let Some(object) = value.as_object_mut() {
            object.insert("policies".to_string(), serde_json::Value::Array(policies));
            object.insert("changed".to_string(), serde_json::Value::Bool(self.touched.contains(&key)));
            if let Some(id) = self.aws_ids.get(&key) {
                object.insert("id".to_string(), serde_json::Value::String(id.clone()));
            }
        }
        value
    }
}

/// A plain-text tree: each OU with its OUs and then its accounts below it, and the policies
/// attached directly to each node. Names are shown safe for a terminal (`escape::inline`).
pub fn text(tree: &Tree) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", tree.text_line(Node::Unit(ROOT)));
    tree.text_below(ROOT, "", &mut out);
    out
}

/// The tree as JSON: nested nodes from the root (`kind`, `name`, `path` for units, `id` when
/// known, `policies` attached directly, `changed`, `children` for units).
pub fn json(tree: &Tree) -> serde_json::Value {
    tree.json_node(Node::Unit(ROOT))
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
            policies: [
                ("unit:Root", "FullAWSAccess", "SERVICE_CONTROL_POLICY"),
                ("unit:Workloads", "region-allow-list", "SERVICE_CONTROL_POLICY"),
                ("unit:Workloads", "daily", "BACKUP_POLICY"),
                ("account:app-prod", "deny-delete", "SERVICE_CONTROL_POLICY"),
            ]
            .iter()
            .fold(
                BTreeMap::new(),
                |mut map: BTreeMap<String, BTreeSet<(String, String)>>, (key, name, kind)| {
                    map.entry(key.to_string()).or_default().insert((name.to_string(), kind.to_string()));
                    map
                },
            ),
        }
    }

    #[test]
    fn the_text_tree_shows_each_node_under_its_parent_with_its_policies() {
        let mut tree = tree();
        tree.units.insert("Sandbox".to_string());
        assert_eq!(
            text(&tree),
            "Root  policies: FullAWSAccess
├── Sandbox
├── Workloads  policies: daily [BACKUP_POLICY], region-allow-list
│   └── Prod
│       └── app-prod (account)  policies: deny-delete  ~ changes
└── management (account)
"
        );
    }

    #[test]
    fn the_json_tree_nests_children_with_their_policies_and_ids() {
        let mut tree = tree();
        tree.aws_ids.insert("account:management".to_string(), "123456789012".to_string());
        let json = json(&tree);
        assert_eq!(json["path"], "Root");
        assert_eq!(json["policies"][0]["name"], "FullAWSAccess");
        let workloads = &json["children"][0];
        assert_eq!(
            (&workloads["name"], &workloads["kind"]),
            (&serde_json::json!("Workloads"), &serde_json::json!("unit"))
        );
        assert_eq!(workloads["policies"].as_array().map(Vec::len), Some(2));
        let app = &workloads["children"][0]["children"][0];
        assert_eq!((&app["name"], &app["changed"]), (&serde_json::json!("app-prod"), &serde_json::json!(true)));
        assert_eq!(json["children"][1]["id"], "123456789012");
    }

    #[test]
    fn hostile_names_in_the_text_tree_cannot_drive_the_terminal() {
        let mut tree = tree();
        tree.accounts.insert("evil\u{1b}[2J".to_string(), "Root".to_string());
        let drawn = text(&tree);
        assert!(!drawn.contains('\u{1b}'), "{drawn:?}");
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
