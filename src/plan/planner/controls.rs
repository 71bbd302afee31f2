//! Baseline controls: configure each whose live attributes differ from the spec's, after what it
//! depends on; order SCP attachments after the controls they would freeze (lock-out).

use super::*;
use crate::plan::control::{resolve_shared, DesiredControl};
use crate::plan::policy_evaluator::Verdict;

impl Planner<'_> {
    /// Baseline controls: configure each one whose live attributes differ from the spec's.
    pub(super) fn controls(&mut self) {
        let ids = self.known_ids();
        for control in &self.desired.controls {
            let Some(account) = self.accounts.get(&control.key.account).cloned() else { continue };
            if let Some(operation) = self.live.unsupported_controls.get(&control.key) {
                self.notes.push(Note {
                    resource: control.key.display_label(),
                    message: format!("not managed here: the endpoint does not implement {operation}"),
                });
                continue;
            }
            for message in self.live.control_notes.get(&control.key).into_iter().flatten() {
                self.notes.push(Note { resource: control.key.display_label(), message: message.clone() });
            }
            if let Some(why) = control.absent {
                self.absent_control(control, account, why);
                continue;
            }
            let after = resolve_shared(&control.attributes, &ids);
            // Compared where it lies: copied only into an action (a converged control, most of a
            // no-change plan, is not copied at all).
            let before = self.live.controls.get(&control.key).and_then(Option::as_ref);
            if before == Some(&*after) {
                continue;
            }
            if before.is_some_and(crate::plan::control::is_immutable) {
                self.note(
                    control.key.display_label(),
                    "differs from the spec, but AWS no longer lets anyone change it (immutable); left as is",
                );
                continue;
            }
            if let Some(why) = control.irreversible {
                let allow = Some(("compliance_vault_lock", self.desired.allow.compliance_vault_lock));
                if !self.opted_in(control.key.display_label(), format!("configure it: irreversible ({why})"), allow) {
                    continue;
                }
                self.warnings.push(format!("{} is irreversible: {why}", control.key.display_label()));
            }
            let mut depends: Vec<Option<usize>> = vec![account.created_by];
            // An id this control names (a delegated administrator, a bucket owner) that does not
            // exist yet: the account is created first.
            for name in referenced_accounts(&after) {
                depends.push(self.accounts.get(&name).and_then(|referenced| referenced.created_by));
            }
            for service in &control.after_services {
                depends.push(self.service_actions.get(service).copied());
                depends.extend(self.delegated_admin_actions.get(service).into_iter().flatten().map(|i| Some(*i)));
            }
            depends.extend(control.after.iter().map(|key| self.control_actions.get(key).copied()));
            let action = Action::ConfigureControl {
                control: control.key.clone(),
                account: account.reference,
                before: before.cloned(),
                after,
            };
            let index = self.push(action, depends, 1);
            self.control_actions.insert(control.key.clone(), index);
        }
    }

    /// A resource the spec wants gone (a default VPC): nothing when absent; noted and left when its
    /// reader says why it must stay; otherwise removed (`-`), with `--allow-destructive` as every
    /// removal of something landing-zone did not create.
    fn absent_control(&mut self, control: &DesiredControl, account: Resolved<AccountRef>, why: &str) {
        let live = self.live.controls.get(&control.key).cloned().flatten();
        let before = match live {
            Some(before) => before,
            // Made with the account this plan creates: not readable yet, there once it exists.
            None if control.made_with_account && account.created_by.is_some() => Value::Null,
            None => return,
        };
        if let Some(kept) = crate::plan::control::kept_because(&before) {
            self.note(control.key.display_label(), format!("left in place: {kept}"));
            return;
        }
        if !self.opted_in(control.key.display_label(), format!("remove it ({why})"), None) {
            return;
        }
        let mut depends: Vec<Option<usize>> = vec![account.created_by];
        depends.extend(control.after.iter().map(|key| self.control_actions.get(key).copied()));
        let action = Action::RemoveControl {
            control: control.key.clone(),
            account: account.reference,
            before,
            reason: Some(why.to_string()),
        };
        let index = self.push(action, depends, 1);
        self.control_actions.insert(control.key.clone(), index);
    }

    /// What landing-zone created and the spec no longer asks for in that account (and region) is
    /// removed; what it did not create is never removed, and is noted when it bears a name the
    /// spec uses elsewhere. A removal that loses data the spec cannot re-create needs
    /// `organization.allow.delete_baseline_data` and `--allow-destructive`, or it is blocked.
    pub(super) fn removals(&mut self) {
        let wanted: BTreeSet<&ControlKey> = self.desired.controls.iter().map(|control| &control.key).collect();
        let names: BTreeSet<&str> = self.desired.controls.iter().map(|control| control.key.control.as_str()).collect();
        let closing: BTreeSet<&str> =
            self.desired.accounts.iter().filter(|account| account.close).map(|account| account.name.as_str()).collect();
        for (key, loses) in &self.live.owned_controls {
            if wanted.contains(key) || closing.contains(key.account.as_str()) {
                continue;
            }
            let Some(account) = self.accounts.get(&key.account).cloned() else { continue };
            let before = self.live.controls.get(key).cloned().flatten().unwrap_or(Value::Null);
            // In use (a VPC a network interface is in): noted and left, as an absent control is.
            if let Some(kept) = crate::plan::control::kept_because(&before) {
                self.note(key.display_label(), format!("left in place: {kept}"));
                continue;
            }
            if let Some(why) = loses {
                let allow = Some(("delete_baseline_data", self.desired.allow.delete_baseline_data));
                let change = format!(
                    "remove it (landing-zone created it, the spec no longer asks for it there); removing it {why}"
                );
                if !self.opted_in(key.display_label(), change, allow) {
                    continue;
                }
            }
            let action =
                Action::RemoveControl { control: key.clone(), account: account.reference, before, reason: None };
            self.push(action, [account.created_by], 1);
        }
        for key in &self.live.unowned_controls {
            if wanted.contains(key) || !names.contains(key.control.as_str()) {
                continue;
            }
            self.note(
                key.display_label(),
                format!(
                    "exists, but landing-zone did not create it (no `{OWNERSHIP_TAG}` tag) and the spec does not ask for it here; left in place"
                ),
            );
        }
    }

    /// An SCP that denies (or may deny) what the executor does for a control in an account is
    /// attached only after that control is configured there, and the plan warns that later repairs
    /// of that control will be refused (DESIGN.md §3, lock-out). Whether it denies is the policy
    /// evaluator's answer for the executor's role in that account and region: an SCP whose
    /// conditions exempt the role, or match only other principals, neither orders nor warns.
    pub(super) fn order_scps_after_controls(&mut self) {
        let management = self.desired.management_account.clone();
        let attaches: Vec<(usize, String, TargetRef)> = self
            .actions
            .iter()
            .filter_map(|planned| match &planned.action {
                Action::AttachPolicy { policy, policy_type: PolicyType::ServiceControlPolicy, target } => {
                    Some((planned.index, policy.name().to_string(), target.clone()))
                }
                _ => None,
            })
            .collect();
        let mut warned = BTreeSet::new();
        for (attach, policy_name, target) in attaches {
            let Some(document) =
                self.desired.policies.iter().find(|p| p.name == policy_name).and_then(|p| p.document.clone())
            else {
                continue;
            };
            for control in &self.desired.controls {
                if Some(&control.key.account) == management.as_ref()
                    || !self.target_covers(&target, &control.key.account)
                {
                    continue;
                }
                let executor = self.executor_arn(&control.key.account);
                let anyone = executor.replace(&format!("role/{}", self.desired.access_role), "role/AnyRole");
                let verdict_for = |principal: &str| {
                    control.needs.iter().find_map(|action| {
                        let request = Request {
                            principal_arn: principal,
                            action,
                            resource: None,
                            region: control.key.region.as_deref(),
                        };
                        match document_denies(&policy_name, &document, &request) {
                            Verdict::NotDenied => None,
                            verdict => Some((action.to_string(), verdict)),
                        }
                    })
                };
                let for_executor = verdict_for(&executor);
                // An SCP that freezes the setting for others (an exempt executor aside) still
                // waits for it to be set, so the account never runs unprotected in between.
                if for_executor.is_none() && verdict_for(&anyone).is_none() {
                    continue;
                }
                if let Some(index) = self.control_actions.get(&control.key).copied() {
                    self.actions[attach].depends_on.push(index);
                    self.actions[attach].depends_on.sort_unstable();
                    self.actions[attach].depends_on.dedup();
                }
                let Some((action, verdict)) = for_executor else { continue };
                let family = control.key.control.split('/').next().unwrap_or_default().to_string();
                if !warned.insert((policy_name.clone(), family.clone())) {
                    continue;
                }
                let role = &self.desired.access_role;
                let how = match verdict {
                    Verdict::MayDeny { keys, .. } => format!(
                        "may deny `{action}` to landing-zone's `{role}` role (depending on {})",
                        keys.iter().map(|key| format!("`{key}`")).collect::<Vec<_>>().join(", ")
                    ),
                    _ => format!("denies `{action}` to landing-zone's `{role}` role"),
                };
                self.warnings.push(format!(
                    "lock-out: SCP `{policy_name}` {how} in the accounts it reaches; `{family}` is configured before it is attached, but later drift there cannot be repaired — exempt the role with an `ArnNotLike` condition on `aws:PrincipalArn`"
                ));
            }
        }
    }

    /// The ARN of the executor's role in an account (`aws:PrincipalArn` of its calls there); an
    /// account not created yet has no id, and a placeholder stands in for it.
    fn executor_arn(&self, account: &str) -> String {
        let id = match self.accounts.get(account).map(|resolved| &resolved.reference) {
            Some(AccountRef::Existing { id, .. }) => id.clone(),
            _ => "000000000000".to_string(),
        };
        format!("arn:aws:iam::{id}:role/{}", self.desired.access_role)
    }

    /// Whether a policy target reaches an account (by spec name), as the spec places accounts.
    pub(super) fn target_covers(&self, target: &TargetRef, account: &str) -> bool {
        match target {
            TargetRef::Account { account: reference } => reference.name() == account,
            TargetRef::Unit { unit } => self.desired.accounts.iter().any(|desired| {
                desired.name == account
                    && (unit.path() == ROOT
                        || desired.unit_path == unit.path()
                        || desired.unit_path.starts_with(&format!("{}/", unit.path())))
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::plan::control::{ControlKey, DesiredControl};
    use crate::plan::desired::DesiredAccount;
    use crate::plan::state::{AccountState, LiveAccount, LiveOrganization, OrganizationInfo, RootInfo};
    use crate::plan::{plan, Action, DesiredOrganization, PlanOptions};

    const NAMES: [(&str, &str); 4] =
        [("111111111111", "management"), ("222222222222", "app"), ("333333333333", "other"), ("444444444444", "old")];

    fn desired(close_old: bool) -> DesiredOrganization {
        DesiredOrganization {
            management_account: Some("management".to_string()),
            accounts: NAMES
                .iter()
                .map(|(_, name)| DesiredAccount {
                    name: name.to_string(),
                    aws_name: None,
                    email: format!("{name}@example.com"),
                    unit_path: "Root".to_string(),
                    id: None,
                    tags: None,
                    close: close_old && *name == "old",
                })
                .collect(),
            controls: vec![DesiredControl::new(
                ControlKey::new("budget/monthly", "management", None),
                json!({"limit": 5}),
            )],
            ..Default::default()
        }
    }

    /// Budget `monthly` is landing-zone's in management (wanted), app and old (no longer wanted);
    /// `other` holds a `monthly` and a `team` budget someone else made.
    fn live(loses: Option<&str>) -> LiveOrganization {
        let account = |id: &str, name: &str| LiveAccount {
            id: id.to_string(),
            name: name.to_string(),
            email: format!("{name}@example.com"),
            state: AccountState::Active,
            parent_id: "r-root".to_string(),
            tags: None,
        };
        let key = |account: &str| ControlKey::new("budget/monthly", account, None);
        let mut live = LiveOrganization {
            organization: Some(OrganizationInfo {
                id: "o-1".to_string(),
                management_account_id: "111111111111".to_string(),
                management_account_email: "management@example.com".to_string(),
                all_features: true,
            }),
            root: Some(RootInfo { id: "r-root".to_string(), policy_types: Default::default() }),
            accounts: NAMES.iter().map(|(id, name)| (id.to_string(), account(id, name))).collect(),
            ..Default::default()
        };
        live.controls.insert(key("management"), Some(json!({"limit": 5})));
        for account in ["management", "app", "old"] {
            live.owned_controls.insert(key(account), loses.map(str::to_string));
        }
        live.controls.insert(key("app"), Some(json!({"limit": 5})));
        live.controls.insert(key("old"), Some(json!({"limit": 5})));
        live.unowned_controls.insert(key("other"));
        live.unowned_controls.insert(ControlKey::new("budget/team", "other", None));
        live
    }

    fn removals(plan: &crate::plan::Plan) -> Vec<String> {
        plan.actions
            .iter()
            .filter(|planned| matches!(planned.action, Action::RemoveControl { .. }))
            .map(|planned| planned.action.address())
            .collect()
    }

    #[test]
    fn what_the_tool_made_and_no_longer_wants_is_removed_and_nothing_else() {
        let planned = plan(&desired(false), &live(None), PlanOptions::default()).expect("plan");
        assert_eq!(removals(&planned), ["budgets/monthly in app", "budgets/monthly in old"]);
        let removal = planned.actions.iter().find(|planned| planned.action.address() == "budgets/monthly in app");
        assert!(
            matches!(&removal.map(|planned| &planned.action), Some(Action::RemoveControl { before, .. }) if before == &json!({"limit": 5})),
            "{removal:?}"
        );
        assert_eq!(planned.summary().destroy, 2);
        // The one someone else made under a name the spec uses is noted, never removed; one whose
        // name the spec does not use is not even noted.
        let notes: Vec<String> =
            planned.notes.iter().map(|note| format!("{}: {}", note.resource, note.message)).collect();
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(
            notes[0].starts_with("budgets/monthly in other: exists, but landing-zone did not create it"),
            "{notes:?}"
        );
        assert!(planned.warnings.is_empty(), "{:?}", planned.warnings);
    }

    #[test]
    fn a_planned_control_holds_the_desired_attributes_themselves_unless_it_fills_in_ids() {
        let mut wanted = desired(false);
        wanted.controls[0] =
            DesiredControl::new(ControlKey::new("budget/monthly", "management", None), json!({"limit": 6}));
        wanted.controls.push(DesiredControl::new(
            ControlKey::new("budget/named", "management", None),
            json!({"notify": "{{account:app}}"}),
        ));
        let planned = plan(&wanted, &live(None), PlanOptions { allow_destructive: false }).expect("plan");
        let after = |control: &str| {
            planned.actions.iter().find_map(|planned| match &planned.action {
                Action::ConfigureControl { control: key, after, .. } if key.control == control => Some(after.clone()),
                _ => None,
            })
        };
        let plain = after("budget/monthly").expect("the changed budget is planned");
        assert!(std::sync::Arc::ptr_eq(&plain, &wanted.controls[0].attributes), "shared, not copied");
        let filled = after("budget/named").expect("the new budget is planned");
        assert!(!std::sync::Arc::ptr_eq(&filled, &wanted.controls[1].attributes));
        assert_eq!(filled["notify"], "222222222222");
    }

    #[test]
    fn an_account_the_spec_closes_keeps_its_resources_until_it_goes() {
        let planned = plan(&desired(true), &live(None), PlanOptions { allow_destructive: false }).expect("plan");
        assert_eq!(removals(&planned), ["budgets/monthly in app"]);
    }

    #[test]
    fn a_removal_that_loses_data_needs_the_opt_in_and_the_flag() {
        let loses = Some("deletes its recovery points");
        for (opt_in, flag) in [(false, false), (true, false), (false, true)] {
            let mut wanted = desired(false);
            wanted.allow.delete_baseline_data = opt_in;
            let planned = plan(&wanted, &live(loses), PlanOptions { allow_destructive: flag }).expect("plan");
            assert!(removals(&planned).is_empty(), "{opt_in} {flag}: {:?}", removals(&planned));
            assert_eq!(planned.blocked.len(), 2, "{:?}", planned.blocked);
            let first = &planned.blocked[0];
            assert!(
                first.resource == "budgets/monthly in app"
                    && first.change.contains("deletes its recovery points")
                    && (opt_in || first.unblock.contains("organization.allow.delete_baseline_data"))
                    && (flag || first.unblock.contains("--allow-destructive")),
                "{:?}",
                planned.blocked
            );
            assert!(planned.has_changes(), "a blocked removal is a pending change");
        }
        let mut wanted = desired(false);
        wanted.allow.delete_baseline_data = true;
        let planned = plan(&wanted, &live(loses), PlanOptions { allow_destructive: true }).expect("plan");
        assert_eq!(removals(&planned), ["budgets/monthly in app", "budgets/monthly in old"]);
    }

    /// A control the spec wants absent (a default VPC) in `app` (existing) and in `new` (created by
    /// the plan), with what app's reader saw.
    fn absent_plan(live_app: Option<serde_json::Value>, allow_destructive: bool) -> crate::plan::Plan {
        let mut wanted = desired(false);
        wanted.accounts.push(DesiredAccount {
            name: "new".to_string(),
            aws_name: None,
            email: "new@example.com".to_string(),
            unit_path: "Root".to_string(),
            id: None,
            tags: None,
            close: false,
        });
        for account in ["app", "new", "other"] {
            wanted.controls.push(
                DesiredControl::new(ControlKey::new("default_vpcs", account, Some("us-east-1")), json!({}))
                    .absent("the spec asks that the default VPC be gone")
                    .made_with_account(),
            );
        }
        let mut live = live(None);
        live.controls.insert(ControlKey::new("default_vpcs", "app", Some("us-east-1")), live_app);
        live.controls.insert(ControlKey::new("default_vpcs", "other", Some("us-east-1")), None);
        plan(&wanted, &live, PlanOptions { allow_destructive }).expect("plan")
    }

    #[test]
    fn a_resource_the_spec_wants_gone_is_removed_with_the_flag_and_kept_while_in_use() {
        let present = json!({ "cidr_block": "172.31.0.0/16", "internet_gateway": true });
        // With the flag: the live one and the one a new account will have; none where it is absent.
        let planned = absent_plan(Some(present.clone()), true);
        let removed: Vec<(String, Option<String>)> = planned
            .actions
            .iter()
            .filter_map(|planned| match &planned.action {
                Action::RemoveControl { control, reason, .. } if control.control == "default_vpcs" => {
                    Some((control.label(), reason.clone()))
                }
                _ => None,
            })
            .collect();
        let why = Some("the spec asks that the default VPC be gone".to_string());
        assert_eq!(
            removed,
            [
                ("default_vpcs in app (us-east-1)".to_string(), why.clone()),
                ("default_vpcs in new (us-east-1)".to_string(), why)
            ]
        );
        let new = planned.actions.iter().find(|p| p.action.address().contains("in new")).expect("new's removal");
        let create = planned.actions.iter().find(|p| matches!(p.action, Action::CreateAccount { .. })).expect("create");
        assert!(new.depends_on.contains(&create.index), "removed after the account exists");
        // Without it: blocked, both, naming the flag.
        let blocked = absent_plan(Some(present.clone()), false);
        let vpcs = |plan: &crate::plan::Plan| -> Vec<String> {
            removals(plan).into_iter().filter(|address| address.starts_with("default_vpcs")).collect()
        };
        assert!(vpcs(&blocked).is_empty());
        let blocked: Vec<_> = blocked.blocked.iter().filter(|b| b.resource.starts_with("default_vpcs")).collect();
        assert_eq!(blocked.len(), 2, "{blocked:?}");
        assert!(blocked.iter().all(|b| b.unblock == "pass --allow-destructive"));
        // In use: a note, no removal, not blocked.
        let mut kept = present;
        kept["kept_because"] = json!("network interface eni-1 is in it");
        let planned = absent_plan(Some(kept), true);
        assert_eq!(vpcs(&planned), ["default_vpcs in new (us-east-1)"]);
        assert!(planned
            .notes
            .iter()
            .any(|note| note.resource == "default_vpcs in app (us-east-1)" && note.message.contains("eni-1")));
    }
}
