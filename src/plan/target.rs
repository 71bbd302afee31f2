//! `--target account:NAME | unit:PATH`: which part of the organization a plan or an apply covers,
//! and the restriction of a plan to it. Pure: it owns parsing and resolving targets against the
//! desired model, which controls a targeted read needs, cutting a plan down to the actions whose
//! subject is a target (plus what they depend on), and the line that says a plan is partial. It
//! reads nothing and decides nothing about AWS.

use std::collections::{BTreeMap, BTreeSet};

use super::action::{AccountRef, Action, Blocked, Plan, PlannedAction, TargetRef};
use super::control::ControlKey;
use super::desired::DesiredOrganization;
use super::state::LiveOrganization;
use crate::spec::ROOT;

/// One `--target` as written on the command line.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Target {
    /// An account by its spec name.
    Account(String),
    /// A unit by its path (`Workloads/Prod`, or `Root` for everything): the unit and every account
    /// under it, recursively.
    Unit(String),
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Account(name) => write!(f, "account:{name}"),
            Target::Unit(path) => write!(f, "unit:{path}"),
        }
    }
}

/// Why a `--target` cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error("`--target {0}` is not `account:NAME` or `unit:PATH`\nhint: for example `--target account:app-prod` or `--target unit:Workloads/Prod`")]
    Malformed(String),
    #[error("`--target {target}`: the spec has no {kind} `{name}`{}", hint_line(.closest))]
    Unknown { target: String, kind: &'static str, name: String, closest: Option<String> },
}

fn hint_line(closest: &Option<String>) -> String {
    closest.as_ref().map(|name| format!("\nhint: did you mean `{name}`?")).unwrap_or_default()
}

impl std::str::FromStr for Target {
    type Err = TargetError;

    fn from_str(text: &str) -> Result<Target, TargetError> {
        match text.split_once(':') {
            Some(("account", name)) if !name.is_empty() => Ok(Target::Account(name.to_string())),
            Some(("unit", path)) if !path.is_empty() => Ok(Target::Unit(path.trim_end_matches('/').to_string())),
            _ => Err(TargetError::Malformed(text.to_string())),
        }
    }
}

/// The targets resolved against the spec: every account and unit they cover (spec names and
/// paths), and the live ids of those that exist (filled by [`Scope::with_live_ids`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    /// The targets as given, in order, for the partial-plan line and the saved plan.
    pub targets: Vec<String>,
    /// Spec names of the accounts covered.
    pub accounts: BTreeSet<String>,
    /// Paths of the units covered (a unit target covers its descendants).
    pub units: BTreeSet<String>,
    /// Live ids of the covered accounts and units that exist.
    pub ids: BTreeSet<String>,
}

/// Resolves `targets` against the spec: an unknown name is an error naming it and the closest
/// known name.
pub fn resolve(targets: &[Target], desired: &DesiredOrganization) -> Result<Scope, TargetError> {
    let mut scope = Scope { targets: targets.iter().map(ToString::to_string).collect(), ..Scope::default() };
    let unit_paths: BTreeSet<&str> =
        desired.units.iter().map(|unit| unit.path.as_str()).chain(std::iter::once(ROOT)).collect();
    for target in targets {
        match target {
            Target::Account(name) => {
                if !desired.accounts.iter().any(|account| &account.name == name) {
                    let names = desired.accounts.iter().map(|account| account.name.as_str());
                    return Err(TargetError::Unknown {
                        target: target.to_string(),
                        kind: "account",
                        name: name.clone(),
                        closest: closest(name, names),
                    });
                }
                scope.accounts.insert(name.clone());
            }
            Target::Unit(path) => {
                if !unit_paths.contains(path.as_str()) {
                    return Err(TargetError::Unknown {
                        target: target.to_string(),
                        kind: "unit",
                        name: path.clone(),
                        closest: closest(path, unit_paths.iter().copied()),
                    });
                }
                let under =
                    |candidate: &str| path == ROOT || candidate == path || candidate.starts_with(&format!("{path}/"));
                scope.units.extend(unit_paths.iter().filter(|unit| under(unit)).map(|unit| unit.to_string()));
                scope.accounts.extend(
                    desired.accounts.iter().filter(|account| under(&account.unit_path)).map(|a| a.name.clone()),
                );
            }
        }
    }
    Ok(scope)
}

/// The known name closest to `wanted` (edit distance, at most a third of its length), if any.
fn closest<'a>(wanted: &str, names: impl Iterator<Item = &'a str>) -> Option<String> {
    let limit = wanted.chars().count().div_ceil(3).max(2);
    names
        .map(|name| (edit_distance(&wanted.to_lowercase(), &name.to_lowercase()), name))
        .filter(|(distance, _)| *distance <= limit)
        .min()
        .map(|(_, name)| name.to_string())
}

/// Levenshtein distance over characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

impl Scope {
    /// Adds the live ids of the covered accounts (`known`: spec name -> id) and units (`units`:
    /// path -> id), so actions naming them by id are recognised.
    pub fn with_live_ids(mut self, known: &BTreeMap<String, String>, units: &BTreeMap<String, String>) -> Scope {
        self.ids.extend(self.accounts.iter().filter_map(|name| known.get(name).cloned()));
        self.ids.extend(self.units.iter().filter_map(|path| units.get(path).cloned()));
        self
    }

    /// The desired controls a targeted read needs: those in covered accounts, and the controls
    /// they must come after (transitively), whose state the plan's dependencies rest on.
    pub fn controls_to_read(&self, desired: &DesiredOrganization) -> BTreeSet<ControlKey> {
        let after: BTreeMap<&ControlKey, &Vec<ControlKey>> =
            desired.controls.iter().map(|control| (&control.key, &control.after)).collect();
        let mut wanted: BTreeSet<ControlKey> = BTreeSet::new();
        let mut pending: Vec<ControlKey> = desired
            .controls
            .iter()
            .filter(|control| self.accounts.contains(&control.key.account))
            .map(|control| control.key.clone())
            .collect();
        while let Some(key) = pending.pop() {
            if let Some(dependencies) = after.get(&key) {
                pending.extend(dependencies.iter().filter(|dependency| !wanted.contains(*dependency)).cloned());
            }
            wanted.insert(key);
        }
        wanted
    }

    /// Whether `action`'s subject is covered: creating, moving, renaming or closing a covered
    /// account or unit, its tags, its policy attachments, its controls. Organization-wide actions
    /// (policy types, trusted access, delegated administrators, policies themselves) never are.
    pub fn covers(&self, action: &Action) -> bool {
        let account = |account: &AccountRef| {
            self.accounts.contains(account.name())
                || matches!(account, AccountRef::Existing { id, .. } if self.ids.contains(id))
        };
        match action {
            Action::CreateUnit { path, .. } | Action::RenameUnit { path, .. } | Action::DeleteUnit { path, .. } => {
                self.units.contains(path)
            }
            Action::CreateAccount { name, .. } => self.accounts.contains(name),
            Action::CloseAccount { id, name } | Action::DeleteRootCredentials { id, name, .. } => {
                self.accounts.contains(name) || self.ids.contains(id)
            }
            Action::MoveAccount { account: subject, .. }
            | Action::RenameAccount { account: subject, .. }
            | Action::ConfigureControl { account: subject, .. }
            | Action::RemoveControl { account: subject, .. } => account(subject),
            Action::AttachPolicy { target, .. } | Action::DetachPolicy { target, .. } => match target {
                TargetRef::Unit { unit } => self.units.contains(unit.path()),
                TargetRef::Account { account: subject } => account(subject),
            },
            Action::UpdateTags { resource_id, .. } => self.ids.contains(resource_id),
            Action::CreateOrganization { .. }
            | Action::EnablePolicyType { .. }
            | Action::EnableServiceAccess { .. }
            | Action::RegisterDelegatedAdministrator { .. }
            | Action::EnableRootAccessFeature { .. }
            | Action::CreatePolicy { .. }
            | Action::UpdatePolicy { .. }
            | Action::DeletePolicy { .. } => false,
        }
    }

    /// The plan cut down to the actions this scope covers and every action they depend on
    /// (transitively), renumbered with their dependencies; warnings and notes are kept.
    pub fn restrict(&self, plan: &Plan) -> Plan {
        let mut keep = vec![false; plan.actions.len()];
        let mut pending: Vec<usize> =
            plan.actions.iter().filter(|planned| self.covers(&planned.action)).map(|planned| planned.index).collect();
        while let Some(index) = pending.pop() {
            if keep.get(index).copied().unwrap_or(true) {
                continue;
            }
            keep[index] = true;
            if let Some(planned) = plan.actions.get(index) {
                pending.extend(planned.depends_on.iter().copied());
            }
        }
        let renumbered: BTreeMap<usize, usize> =
            (0..plan.actions.len()).filter(|index| keep[*index]).enumerate().map(|(new, old)| (old, new)).collect();
        let actions = plan
            .actions
            .iter()
            .filter_map(|planned| {
                let index = *renumbered.get(&planned.index)?;
                Some(PlannedAction {
                    index,
                    action: planned.action.clone(),
                    depends_on: planned.depends_on.iter().filter_map(|d| renumbered.get(d).copied()).collect(),
                    reaches_accounts: planned.reaches_accounts,
                })
            })
            .collect();
        Plan { actions, ..plan.clone() }
    }
}

impl Scope {
    /// The full plan's policy updates the targets would feel — the policy is attached to a covered
    /// account or unit, or to one above it — that the targeted plan leaves out because a policy's
    /// content is organization-wide: held back (`blocked`), so the targeted plan is not "no
    /// changes" (`--detailed-exitcode` exits 2) while the targets' own guardrails differ from the
    /// spec.
    pub fn held_back_policy_updates(&self, full: &Plan, live: &LiveOrganization) -> Vec<Blocked> {
        // The covered containers and every container above them, up to the root.
        let mut path: BTreeSet<&str> = BTreeSet::new();
        for id in &self.ids {
            let mut current = Some(id.as_str());
            while let Some(container) = current {
                if !path.insert(container) {
                    break;
                }
                current = live
                    .accounts
                    .get(container)
                    .map(|account| account.parent_id.as_str())
                    .or_else(|| live.units.get(container).map(|unit| unit.parent_id.as_str()));
            }
        }
        if let Some(root) = &live.root {
            path.insert(root.id.as_str());
        }
        full.actions
            .iter()
            .filter_map(|planned| match &planned.action {
                Action::UpdatePolicy { id, name, .. } => Some((id, name)),
                _ => None,
            })
            .filter(|(id, _)| {
                live.policies
                    .get(id.as_str())
                    .is_some_and(|policy| policy.targets.iter().any(|t| path.contains(t.as_str())))
            })
            .map(|(_, name)| Blocked {
                resource: format!("policy {name}"),
                change: "update its content, which applies to the targets".to_string(),
                unblock: "plan and apply without `--target`: a policy's content is organization-wide".to_string(),
            })
            .collect()
    }
}

/// The line every rendering of a partial plan starts with. What lies outside the targets was not
/// read, so how many actions it would need is not known and not claimed.
pub fn partial_line(targets: &[String]) -> Option<String> {
    if targets.is_empty() {
        return None;
    }
    let flags: Vec<String> = targets.iter().map(|target| format!("--target {target}")).collect();
    Some(format!(
        "partial plan: {}; only actions on the targets and what they depend on are shown; the rest of the organization was not read and may need changes this plan does not show",
        flags.join(" ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::action::{Change, UnitRef, PLAN_FORMAT_VERSION};
    use crate::plan::desired::{DesiredAccount, DesiredUnit};

    fn desired() -> DesiredOrganization {
        let unit = |path: &str, parent: &str| DesiredUnit {
            path: path.to_string(),
            name: path.rsplit('/').next().unwrap_or(path).to_string(),
            parent_path: parent.to_string(),
            id: None,
            tags: None,
        };
        let account = |name: &str, unit_path: &str| DesiredAccount {
            name: name.to_string(),
            aws_name: None,
            email: format!("{name}@example.com"),
            unit_path: unit_path.to_string(),
            id: None,
            tags: None,
            close: false,
        };
        DesiredOrganization {
            units: vec![unit("Workloads", ROOT), unit("Workloads/Prod", "Workloads"), unit("Sandbox", ROOT)],
            accounts: vec![
                account("app-prod", "Workloads/Prod"),
                account("app-dev", "Workloads"),
                account("sandbox", "Sandbox"),
                account("management", ROOT),
            ],
            ..DesiredOrganization::default()
        }
    }

    fn targets(texts: &[&str]) -> Vec<Target> {
        texts.iter().map(|text| text.parse().unwrap()).collect()
    }

    #[test]
    fn a_unit_covers_every_unit_and_account_under_it() {
        let scope = resolve(&targets(&["unit:Workloads"]), &desired()).unwrap();
        assert_eq!(scope.accounts, ["app-dev", "app-prod"].map(String::from).into());
        assert_eq!(scope.units, ["Workloads", "Workloads/Prod"].map(String::from).into());
        let scope = resolve(&targets(&["account:sandbox", "unit:Workloads/Prod"]), &desired()).unwrap();
        assert_eq!(scope.accounts, ["app-prod", "sandbox"].map(String::from).into());
        assert_eq!(scope.targets, ["account:sandbox", "unit:Workloads/Prod"]);
    }

    #[test]
    fn unknown_and_malformed_targets_are_refused_with_the_closest_name() {
        let error = resolve(&targets(&["account:app-prd"]), &desired()).unwrap_err();
        assert_eq!(
            error.to_string(),
            "`--target account:app-prd`: the spec has no account `app-prd`\nhint: did you mean `app-prod`?"
        );
        let error = resolve(&targets(&["unit:workloads/prod"]), &desired()).unwrap_err();
        assert!(error.to_string().contains("did you mean `Workloads/Prod`?"), "{error}");
        let error = resolve(&targets(&["account:zzzzzzzzzz"]), &desired()).unwrap_err();
        assert!(!error.to_string().contains("hint"), "{error}");
        assert!(matches!("dev".parse::<Target>(), Err(TargetError::Malformed(_))));
        assert!(matches!("account:".parse::<Target>(), Err(TargetError::Malformed(_))));
    }

    fn planned(index: usize, action: Action, depends_on: Vec<usize>) -> PlannedAction {
        PlannedAction { index, action, depends_on, reaches_accounts: 1 }
    }

    #[test]
    fn restricting_keeps_the_targets_actions_and_their_dependencies_renumbered() {
        let unit_created = Action::CreateUnit {
            path: "Sandbox".to_string(),
            name: "Sandbox".to_string(),
            parent: UnitRef::Existing { id: "r-1".to_string(), path: ROOT.to_string() },
            tags: BTreeMap::new(),
        };
        let move_sandbox = Action::MoveAccount {
            account: AccountRef::Existing { id: "111".to_string(), name: "sandbox".to_string() },
            from: UnitRef::Existing { id: "r-1".to_string(), path: ROOT.to_string() },
            to: UnitRef::Planned { path: "Sandbox".to_string() },
        };
        let plan = Plan {
            format_version: PLAN_FORMAT_VERSION,
            actions: vec![
                planned(0, Action::EnableServiceAccess { service: "s".to_string() }, vec![]),
                planned(
                    1,
                    Action::EnablePolicyType { policy_type: crate::spec::PolicyType::ServiceControlPolicy },
                    vec![],
                ),
                planned(2, unit_created, vec![1]),
                planned(
                    3,
                    Action::UpdateTags {
                        resource_id: "222".to_string(),
                        resource: "account app-dev".to_string(),
                        tags: Change { before: BTreeMap::new(), after: BTreeMap::new() },
                    },
                    vec![],
                ),
                planned(4, move_sandbox, vec![2]),
            ],
            warnings: vec!["w".to_string()],
            notes: vec![],
            blocked: Vec::new(),
        };
        let known: BTreeMap<String, String> =
            [("sandbox", "111"), ("app-dev", "222")].map(|(a, b)| (a.to_string(), b.to_string())).into();
        let scope =
            resolve(&targets(&["account:sandbox"]), &desired()).unwrap().with_live_ids(&known, &BTreeMap::new());
        let partial = scope.restrict(&plan);
        let kinds: Vec<String> = partial.actions.iter().map(|a| a.action.address()).collect();
        assert_eq!(kinds, ["policy type SERVICE_CONTROL_POLICY", "unit Sandbox", "account sandbox"]);
        assert_eq!(partial.actions[1].depends_on, [0]);
        assert_eq!(partial.actions[2].depends_on, [1]);
        assert_eq!(partial.actions.iter().map(|a| a.index).collect::<Vec<_>>(), [0, 1, 2]);
        assert_eq!(partial.warnings, ["w"]);
        // The other account's tags are covered by its own target, through its live id.
        let scope =
            resolve(&targets(&["account:app-dev"]), &desired()).unwrap().with_live_ids(&known, &BTreeMap::new());
        assert_eq!(scope.restrict(&plan).actions.len(), 1);
    }

    #[test]
    fn a_targeted_read_includes_the_controls_the_targets_come_after() {
        let mut desired = desired();
        let bucket = ControlKey::new("log_archive/bucket", "sandbox", None);
        let mut channel = crate::plan::control::DesiredControl::new(
            ControlKey::new("aws_config/channel", "app-dev", Some("us-east-1")),
            serde_json::json!({}),
        );
        channel.after.push(bucket.clone());
        desired.controls = vec![
            crate::plan::control::DesiredControl::new(bucket.clone(), serde_json::json!({})),
            channel.clone(),
            crate::plan::control::DesiredControl::new(
                ControlKey::new("password_policy", "app-prod", None),
                serde_json::json!({}),
            ),
        ];
        let scope = resolve(&targets(&["account:app-dev"]), &desired).unwrap();
        assert_eq!(scope.controls_to_read(&desired), [bucket, channel.key].into());
    }

    #[test]
    fn the_partial_line_names_the_targets() {
        assert_eq!(partial_line(&[]), None);
        let line = partial_line(&["account:dev".to_string()]).unwrap();
        assert!(line.starts_with("partial plan: --target account:dev;"), "{line}");
    }
}
