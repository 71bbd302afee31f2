//! Baseline controls: configure each whose live attributes differ from the spec's, after what it
//! depends on; order SCP attachments after the controls they would freeze (lock-out).

use super::*;
use crate::plan::policy_evaluator::Verdict;

impl Planner<'_> {
    /// Baseline controls: configure each one whose live attributes differ from the spec's.
    pub(super) fn controls(&mut self) {
        let ids = self.known_ids();
        for control in &self.desired.controls {
            let Some(account) = self.accounts.get(&control.key.account).cloned() else { continue };
            if let Some(operation) = self.live.unsupported_controls.get(&control.key) {
                self.notes.push(Note {
                    resource: control.key.label(),
                    message: format!("not managed here: the endpoint does not implement {operation}"),
                });
                continue;
            }
            for message in self.live.control_notes.get(&control.key).into_iter().flatten() {
                self.notes.push(Note { resource: control.key.label(), message: message.clone() });
            }
            let after = resolve(&control.attributes, &ids);
            let before = self.live.controls.get(&control.key).cloned().flatten();
            if before.as_ref() == Some(&after) {
                continue;
            }
            if before.as_ref().is_some_and(crate::plan::control::is_immutable) {
                self.note(
                    control.key.label(),
                    "differs from the spec, but AWS no longer lets anyone change it (immutable); left as is",
                );
                continue;
            }
            if let Some(why) = control.irreversible {
                let allow = Some(("compliance_vault_lock", self.desired.allow.compliance_vault_lock));
                if !self.opted_in(control.key.label(), format!("configure it: irreversible ({why})"), allow) {
                    continue;
                }
                self.warnings.push(format!("{} is irreversible: {why}", control.key.label()));
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
            let action =
                Action::ConfigureControl { control: control.key.clone(), account: account.reference, before, after };
            let index = self.push(action, depends, 1);
            self.control_actions.insert(control.key.clone(), index);
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
