//! Groups a plan for people at organization scale (issue 13): identical control changes across
//! accounts and regions become one entry naming where they apply, compressed to whole OUs where
//! every account under one is covered; a new account and its move into its OU become one entry.
//! Pure and display-only: the text and Markdown renderers read it, the JSON plan and the executor
//! never do (JSON stays one entry per action).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::Value;

use super::action::{AccountRef, Action, ChangeKind, Plan, PlannedAction, Summary, UnitRef};
use super::graph::Tree;
use super::render::{details, Detail};
use crate::spec::ROOT;

/// Stands for the account's own id (or its placeholder) in a grouped entry's details.
pub const THIS_ACCOUNT: &str = "(this account's id)";

/// One entry of the grouped plan.
#[derive(Debug, Clone, PartialEq)]
pub enum Entry<'a> {
    /// Shown as it is.
    Single(&'a PlannedAction),
    /// A new account, with the OU it is moved into right after (None: it stays under Root).
    NewAccount { create: &'a PlannedAction, unit: Option<&'a UnitRef> },
    /// The same control change in several accounts (and regions).
    Controls(ControlGroup),
}

/// One control change applied alike in several places.
#[derive(Debug, Clone, PartialEq)]
pub struct ControlGroup {
    /// The control's name (`password_policy`, `aws_config/rule/X`).
    pub control: String,
    pub kind: ChangeKind,
    /// The change, with each account's own id written as [`THIS_ACCOUNT`].
    pub details: Vec<Detail>,
    /// The regions of every place (empty: an account-level control).
    pub regions: BTreeSet<String>,
    /// The accounts, by name.
    pub accounts: BTreeSet<String>,
}

impl ControlGroup {
    /// `in all 1,001 accounts under Root (us-east-1, eu-west-1)`, `in 12 accounts: under
    /// Workloads/Prod (10), app-a, app-b`.
    pub fn place(&self, tree: Option<&Tree>) -> String {
        let count = self.accounts.len();
        let (units, loose) = compress(&self.accounts, tree);
        let regions = if self.regions.is_empty() {
            String::new()
        } else {
            format!(" ({})", self.regions.iter().cloned().collect::<Vec<_>>().join(", "))
        };
        let plural = if count == 1 { "" } else { "s" };
        if loose.is_empty() && units.len() == 1 {
            let (unit, _) = &units[0];
            return format!("in all {} account{plural} under {unit}{regions}", thousands(count));
        }
        let mut parts: Vec<String> =
            units.iter().map(|(unit, covered)| format!("all {} under {unit}", thousands(*covered))).collect();
        parts.extend(loose);
        format!("in {} account{plural}{regions}: {}", thousands(count), parts.join(", "))
    }
}

/// The entries of `plan`, in the order of their first action.
pub fn group<'a>(plan: &'a Plan) -> Vec<Entry<'a>> {
    // New accounts: their move into their OU joins the creation.
    let created: BTreeSet<&str> = plan
        .actions
        .iter()
        .filter_map(|planned| match &planned.action {
            Action::CreateAccount { name, .. } => Some(name.as_str()),
            _ => None,
        })
        .collect();
    let mut moves: BTreeMap<&str, &UnitRef> = BTreeMap::new();
    for planned in &plan.actions {
        if let Action::MoveAccount { account: AccountRef::Planned { name }, to, .. } = &planned.action {
            if created.contains(name.as_str()) {
                moves.insert(name.as_str(), to);
            }
        }
    }

    // Control changes by (control, kind, details with the account's id abstracted), then the
    // regions of each account, then the accounts sharing a set of regions.
    type Shape = (String, ChangeKind, Vec<Detail>);
    let mut shapes: Vec<Shape> = Vec::new();
    // By (control, change symbol, details): a map, for plans of tens of thousands of controls.
    let mut shape_index: HashMap<(String, char, Vec<Detail>), usize> = HashMap::new();
    type Places<'p> = BTreeMap<String, (BTreeSet<String>, Vec<&'p PlannedAction>)>;
    let mut places: BTreeMap<usize, Places<'a>> = BTreeMap::new();
    let mut first_of_shape: BTreeMap<usize, usize> = BTreeMap::new();
    let mut entries: Vec<(usize, Option<Entry<'a>>)> = Vec::new();
    for (position, planned) in plan.actions.iter().enumerate() {
        match &planned.action {
            Action::ConfigureControl { control, account, .. } | Action::RemoveControl { control, account, .. } => {
                let kind = planned.action.change_kind();
                let details = abstract_account(&planned.action, account);
                let lookup = (control.control.clone(), symbol(kind), details);
                let index = match shape_index.get(&lookup) {
                    Some(index) => *index,
                    None => {
                        let index = shapes.len();
                        shapes.push((lookup.0.clone(), kind, lookup.2.clone()));
                        shape_index.insert(lookup, index);
                        first_of_shape.insert(index, position);
                        index
                    }
                };
                let (regions, actions) = places.entry(index).or_default().entry(control.account.clone()).or_default();
                regions.extend(control.region.clone());
                actions.push(planned);
            }
            Action::MoveAccount { account: AccountRef::Planned { name }, .. } if moves.contains_key(name.as_str()) => {}
            Action::CreateAccount { name, .. } => entries
                .push((position, Some(Entry::NewAccount { create: planned, unit: moves.get(name.as_str()).copied() }))),
            _ => entries.push((position, Some(Entry::Single(planned)))),
        }
    }
    for (index, (control, kind, details)) in shapes.into_iter().enumerate() {
        let mut by_regions: BTreeMap<BTreeSet<String>, (BTreeSet<String>, Vec<&'a PlannedAction>)> = BTreeMap::new();
        for (account, (regions, actions)) in places.remove(&index).unwrap_or_default() {
            let (accounts, all) = by_regions.entry(regions).or_default();
            accounts.insert(account);
            all.extend(actions);
        }
        let position = first_of_shape.get(&index).copied().unwrap_or_default();
        for (regions, (accounts, actions)) in by_regions {
            // One change in one place reads as it always did, with the account's own id.
            if let [only] = actions.as_slice() {
                entries.push((only.index, Some(Entry::Single(only))));
                continue;
            }
            let group = ControlGroup { control: control.clone(), kind, details: details.clone(), regions, accounts };
            entries.push((position, Some(Entry::Controls(group))));
        }
    }
    entries.sort_by_key(|(position, _)| *position);
    entries.into_iter().filter_map(|(_, entry)| entry).collect()
}

fn symbol(kind: ChangeKind) -> char {
    match kind {
        ChangeKind::Add => '+',
        ChangeKind::Change => '~',
        ChangeKind::Destroy => '-',
    }
}

/// The plan's summary as every output shows it: one count per action, the same as the JSON plan's
/// and apply's, with the moves of new accounts into their OUs labelled (`Summary`'s Display).
pub fn summary(plan: &Plan) -> Summary {
    plan.summary()
}

/// The details of a control change with the account's own id (or its placeholder) written as
/// [`THIS_ACCOUNT`] in the attributes, so the same change in two accounts compares equal.
fn abstract_account(action: &Action, account: &AccountRef) -> Vec<Detail> {
    let mut own = vec![format!("{{{{account:{}}}}}", account.name())];
    if let AccountRef::Existing { id, .. } = account {
        own.push(id.clone());
    }
    let mut action = action.clone();
    match &mut action {
        Action::ConfigureControl { before, after, .. } => {
            replace_strings(std::sync::Arc::make_mut(after), &own);
            if let Some(before) = before {
                replace_strings(before, &own);
            }
        }
        Action::RemoveControl { before, .. } => replace_strings(before, &own),
        _ => {}
    }
    details(&action)
}

fn replace_strings(value: &mut Value, own: &[String]) {
    match value {
        Value::String(text) if own.iter().any(|own| text.contains(own.as_str())) => {
            *text = own.iter().fold(text.clone(), |text, own| text.replace(own.as_str(), THIS_ACCOUNT));
        }
        Value::Array(items) => items.iter_mut().for_each(|item| replace_strings(item, own)),
        Value::Object(map) => map.values_mut().for_each(|item| replace_strings(item, own)),
        _ => {}
    }
}

/// The largest OUs every account under which is in `accounts` (with how many accounts that is),
/// then the accounts no such OU covers, by name. Without a tree, every account by name.
fn compress(accounts: &BTreeSet<String>, tree: Option<&Tree>) -> (Vec<(String, usize)>, Vec<String>) {
    let Some(tree) = tree else { return (Vec::new(), accounts.iter().cloned().collect()) };
    let under = |unit: &str| -> Vec<&String> {
        tree.accounts
            .iter()
            .filter(|(_, path)| {
                unit == ROOT
                    || path.as_str() == unit
                    || path.strip_prefix(unit).is_some_and(|rest| rest.starts_with('/'))
            })
            .map(|(name, _)| name)
            .collect()
    };
    let mut units = Vec::new();
    let mut covered: BTreeSet<&String> = BTreeSet::new();
    // Shallowest first, so a covered OU's sub-OUs are not named again.
    let mut candidates: Vec<&str> = std::iter::once(ROOT).chain(tree.units.iter().map(String::as_str)).collect();
    candidates.sort_by_key(|unit| if *unit == ROOT { 0 } else { unit.matches('/').count() + 1 });
    for unit in candidates {
        let members = under(unit);
        if members.len() < 2 || members.iter().any(|member| covered.contains(member)) {
            continue;
        }
        if members.iter().all(|member| accounts.contains(*member)) {
            units.push((unit.to_string(), members.len()));
            covered.extend(members);
        }
    }
    let loose = accounts.iter().filter(|account| !covered.contains(account)).cloned().collect();
    (units, loose)
}

/// `1,001`.
pub fn thousands(count: usize) -> String {
    let digits = count.to_string();
    let mut out = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index) % 3 == 0 {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use serde_json::json;

    use super::*;
    use crate::plan::control::ControlKey;

    /// A first plan of `accounts` accounts spread over `units` OUs (`Unit-N`, the first nested
    /// under `Workloads`), each account getting a password policy and, in two regions, a Config
    /// recorder whose role names the account's own id; every `new_every`-th account is new.
    pub fn organization_plan(accounts: usize, units: usize, new_every: usize) -> (Plan, Tree) {
        let mut tree = Tree::default();
        tree.units.insert("Workloads".to_string());
        for unit in 0..units {
            tree.units.insert(format!("Workloads/Unit-{unit}"));
        }
        let mut actions = Vec::new();
        for number in 0..accounts {
            let name = format!("account-{number:04}");
            let unit = format!("Workloads/Unit-{}", number % units);
            tree.accounts.insert(name.clone(), unit.clone());
            let account = if number % new_every == new_every - 1 {
                actions.push(Action::CreateAccount {
                    name: name.clone(),
                    email: format!("{name}@example.com"),
                    tags: BTreeMap::new(),
                    pending_request: None,
                });
                actions.push(Action::MoveAccount {
                    account: AccountRef::Planned { name: name.clone() },
                    from: UnitRef::Existing { id: "r-1".to_string(), path: ROOT.to_string() },
                    to: UnitRef::Existing { id: format!("ou-{}", number % units), path: unit },
                });
                AccountRef::Planned { name: name.clone() }
            } else {
                AccountRef::Existing { id: format!("{:012}", 100_000_000_000u64 + number as u64), name: name.clone() }
            };
            let id = match &account {
                AccountRef::Existing { id, .. } => id.clone(),
                AccountRef::Planned { name } => format!("{{{{account:{name}}}}}"),
            };
            actions.push(Action::ConfigureControl {
                control: ControlKey::new("password_policy", &name, None),
                account: account.clone(),
                before: None,
                after: json!({ "minimum_length": 14, "require_symbols": true }).into(),
            });
            for region in ["us-east-1", "eu-west-1"] {
                actions.push(Action::ConfigureControl {
                    control: ControlKey::new("aws_config/recorder", &name, Some(region)),
                    account: account.clone(),
                    before: None,
                    after: json!({
                        "name": "default",
                        "role_arn": format!("arn:aws:iam::{id}:role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig"),
                        "include_global_resource_types": region == "us-east-1",
                    }).into(),
                });
            }
        }
        let plan = Plan {
            format_version: 1,
            actions: actions
                .into_iter()
                .enumerate()
                .map(|(index, action)| PlannedAction { index, action, depends_on: vec![], reaches_accounts: 0 })
                .collect(),
            warnings: vec![],
            notes: vec![],
            blocked: Vec::new(),
        };
        (plan, tree)
    }

    fn groups<'a>(entries: &'a [Entry<'a>]) -> Vec<&'a ControlGroup> {
        entries
            .iter()
            .filter_map(|entry| match entry {
                Entry::Controls(group) => Some(group),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn identical_changes_are_one_entry_compressed_to_the_unit() {
        let (plan, tree) = organization_plan(40, 4, 10);
        let entries = group(&plan);
        let groups = groups(&entries);
        // password_policy once; the recorder once per region (global types differ by region).
        assert_eq!(groups.len(), 3, "{groups:#?}");
        let password = groups.iter().find(|group| group.control == "password_policy").expect("password policy");
        assert_eq!(password.accounts.len(), 40);
        assert_eq!(password.place(Some(&tree)), "in all 40 accounts under Root");
        // The account's own id is abstracted, so new and existing accounts share the entry.
        let recorder = groups
            .iter()
            .find(|group| group.control == "aws_config/recorder" && group.regions.contains("eu-west-1"))
            .expect("recorder");
        assert_eq!(recorder.accounts.len(), 40);
        assert!(
            recorder
                .details
                .iter()
                .any(|detail| matches!(detail, Detail::Field { value, .. } if value.contains(THIS_ACCOUNT))),
            "{recorder:#?}"
        );
        assert_eq!(recorder.place(Some(&tree)), "in all 40 accounts under Root (eu-west-1)");
        // Every new account is one entry with its unit; the summary counts its creation and its
        // move, as the actions apply runs, and labels the moves.
        let new_accounts: Vec<_> = entries
            .iter()
            .filter_map(|entry| match entry {
                Entry::NewAccount { unit, .. } => Some(unit.map(UnitRef::path)),
                _ => None,
            })
            .collect();
        assert_eq!(new_accounts.len(), 4);
        assert_eq!(new_accounts[0], Some("Workloads/Unit-1"));
        let counts = summary(&plan);
        assert_eq!((counts.add, counts.change, counts.new_account_moves), (4 + 40 * 3, 4, 4));
        assert_eq!(counts.add + counts.change + counts.destroy, plan.actions.len());
        assert!(counts
            .to_string()
            .contains("4 to change, 0 to destroy (4 of the changes move new accounts into their OUs)"));
        assert!(!entries.iter().any(
            |entry| matches!(entry, Entry::Single(planned) if matches!(planned.action, Action::MoveAccount { .. }))
        ));
    }

    #[test]
    fn accounts_that_differ_are_shown_apart_and_partial_units_by_name() {
        let (mut plan, tree) = organization_plan(40, 4, 10);
        // account-0004 (Unit-0) already has a policy of length 8: its change differs.
        for planned in &mut plan.actions {
            if let Action::ConfigureControl { control, before, .. } = &mut planned.action {
                if control.control == "password_policy" && control.account == "account-0004" {
                    *before = Some(json!({ "minimum_length": 8, "require_symbols": true }));
                }
            }
        }
        let entries = group(&plan);
        let passwords: Vec<_> =
            groups(&entries).into_iter().filter(|group| group.control == "password_policy").collect();
        assert_eq!(passwords.len(), 1, "{passwords:#?}");
        assert_eq!(passwords[0].accounts.len(), 39);
        assert_eq!(
            passwords[0].place(Some(&tree)),
            "in 39 accounts: all 10 under Workloads/Unit-1, all 10 under Workloads/Unit-2, all 10 under Workloads/Unit-3, account-0000, account-0008, account-0012, account-0016, account-0020, account-0024, account-0028, account-0032, account-0036"
        );
        // The one that differs is shown apart, as a single change.
        let apart = entries.iter().any(|entry| {
            matches!(entry, Entry::Single(planned) if planned.action.address() == "password_policy in account-0004")
        });
        assert!(apart, "{entries:#?}");
        // Without the spec's tree (a saved plan shown alone) accounts are named.
        assert!(passwords[0].place(None).starts_with("in 39 accounts: account-0000, account-0001,"));
    }

    #[test]
    fn thousands_are_separated() {
        assert_eq!(thousands(7), "7");
        assert_eq!(thousands(1_001), "1,001");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
