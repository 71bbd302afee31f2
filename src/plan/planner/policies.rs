//! Organization policies and their attachments: create, update, delete, attach, detach, ordered so
//! no target is ever left without an SCP, and within AWS's per-target limits.

use super::*;

/// `RCPFullAWSAccess` is attached to the root, every OU and every account while RCPs are enabled,
/// and cannot be detached; it counts toward the 5 RCPs a target may carry.
/// https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_rcps_evaluation.html
/// (FullAWSAccess, the SCP default, can be detached once another SCP is attached.)
pub(super) fn never_detached(policy_type: PolicyType, name: &str) -> bool {
    policy_type == PolicyType::ResourceControlPolicy && policy_type.aws_managed_default() == Some(name)
}

impl Planner<'_> {
    pub(super) fn type_is_active(&self, policy_type: PolicyType) -> bool {
        self.live.policy_type_enabled(policy_type) || self.policy_type_actions.contains_key(&policy_type)
    }

    pub(super) fn policies(&mut self) -> Result<(), PlanError> {
        let manages_default = self.desired.policies.iter().any(|policy| policy.document.is_none());
        if manages_default && self.live.organization.is_none() && self.desired.management_account.is_none() {
            return Err(PlanError::UnnamedManagementAccount);
        }
        let mut ledger = AttachmentLedger::from_live(self.live);
        // A generated document (the backup baseline's) may name account ids: known ones are filled
        // in before it is compared or sent; the executor fills the rest once they exist.
        let ids = self.known_ids();
        // Targets AWS attaches its default policy to on its own: every new OU and account, and every
        // existing target when the type is enabled by this plan.
        let mut implicit_targets: Vec<TargetRef> = Vec::new();
        for resolved in self.units.values() {
            if matches!(resolved.reference, UnitRef::Planned { .. }) {
                implicit_targets.push(TargetRef::Unit { unit: resolved.reference.clone() });
            }
        }
        for resolved in self.accounts.values() {
            if matches!(resolved.reference, AccountRef::Planned { .. }) {
                implicit_targets.push(TargetRef::Account { account: resolved.reference.clone() });
            }
        }
        for policy_type in PolicyType::ALL {
            let Some(default_name) = policy_type.aws_managed_default() else {
                continue;
            };
            if !self.type_is_active(policy_type) {
                continue;
            }
            let newly_enabled = !self.live.policy_type_enabled(policy_type);
            for target in &implicit_targets {
                ledger.attach(policy_type, default_name, target_key(target));
            }
            if newly_enabled {
                for key in self.existing_target_keys() {
                    ledger.attach(policy_type, default_name, key);
                }
            }
        }

        // What each target holds before the plan's own attachments: live, plus AWS's defaults.
        ledger.live = ledger.attached.clone();

        let mut planned_policies: BTreeSet<(PolicyType, String)> = BTreeSet::new();
        let mut attach_actions: Vec<(PolicyType, String, usize)> = Vec::new();
        let mut detach_actions: Vec<(PolicyType, String, usize)> = Vec::new();
        let mut detaches_by_policy: BTreeMap<String, Vec<usize>> = BTreeMap::new();

        for desired in &self.desired.policies {
            let resolved_policy;
            let desired = if desired.document.as_ref().is_some_and(has_placeholders) {
                resolved_policy =
                    DesiredPolicy { document: desired.document.as_ref().map(|d| resolve(d, &ids)), ..desired.clone() };
                &resolved_policy
            } else {
                desired
            };
            let waits_for: Vec<Option<usize>> = desired
                .document
                .iter()
                .flat_map(referenced_accounts)
                .map(|name| self.accounts.get(&name).and_then(|account| account.created_by))
                .collect();
            planned_policies.insert((desired.policy_type, desired.name.clone()));
            let live_policy = self
                .live
                .policies
                .values()
                .find(|live| live.policy_type == desired.policy_type && live.name == desired.name);
            // A targeted read left it unread: it touches neither the targets nor their path, so
            // nothing about it is planned (the targeted plan would drop it anyway).
            if live_policy.is_some_and(|live| self.live.unread_policies.contains(&live.id)) {
                continue;
            }
            let type_action = self.policy_type_actions.get(&desired.policy_type).copied();
            let (policy_ref, created_by) = match (live_policy, &desired.document) {
                (Some(live_policy), _) => {
                    self.update_policy(desired, live_policy);
                    (PolicyRef::Existing { id: live_policy.id.clone(), name: desired.name.clone() }, None)
                }
                (None, None) => {
                    // The AWS-managed default appears when its type is enabled; AWS gives it a fixed id.
                    (PolicyRef::Existing { id: format!("p-{}", desired.name), name: desired.name.clone() }, type_action)
                }
                (None, Some(document)) => {
                    let mut tags = desired.tags.clone().unwrap_or_default();
                    tags.insert(OWNERSHIP_TAG.to_string(), OWNERSHIP_VALUE.to_string());
                    let action = Action::CreatePolicy {
                        name: desired.name.clone(),
                        policy_type: desired.policy_type,
                        description: desired.description.clone(),
                        document: document.clone(),
                        tags,
                    };
                    let index = self.push(action, waits_for.iter().copied().chain([type_action]), 0);
                    (PolicyRef::Planned { name: desired.name.clone() }, Some(index))
                }
            };

            let mut wanted: Vec<(TargetRef, Option<usize>)> = Vec::new();
            for unit in &desired.target_units {
                wanted.push(self.target_of_unit(unit));
            }
            for account in &desired.target_accounts {
                if let Some(target) = self.target_of_account(account) {
                    wanted.push(target);
                }
            }
            let wanted_keys: BTreeSet<String> = wanted.iter().map(|(target, _)| target_key(target)).collect();
            for (target, target_created_by) in wanted {
                let key = target_key(&target);
                if ledger.is_attached(desired.policy_type, &desired.name, &key) {
                    continue;
                }
                ledger.attach(desired.policy_type, &desired.name, key.clone());
                let reaches = self.reaches(&target, desired.policy_type);
                let action =
                    Action::AttachPolicy { policy: policy_ref.clone(), policy_type: desired.policy_type, target };
                let index = self.push(action, [created_by, target_created_by, type_action], reaches);
                attach_actions.push((desired.policy_type, key, index));
            }
            let attached_now: Vec<String> = ledger.targets_of(desired.policy_type, &desired.name);
            for key in attached_now {
                if wanted_keys.contains(&key) {
                    continue;
                }
                let Some(target) = self.target_from_key(&key) else {
                    continue;
                };
                if never_detached(desired.policy_type, &desired.name) {
                    self.warnings.push(format!(
                        "`{}` stays attached to {}: AWS attaches it to every root, OU and account and it cannot be detached; it counts toward the {} limit",
                        desired.name,
                        target.label(),
                        desired.policy_type
                    ));
                    continue;
                }
                if self.is_trail_guard(live_policy)
                    && !self.trail_guard_opted_in(
                        format!("attachment {} -> {}", desired.name, target.label()),
                        "detach a policy that guards the organization trail",
                    )
                {
                    continue;
                }
                ledger.detach(desired.policy_type, &desired.name, &key);
                let reaches = self.reaches(&target, desired.policy_type);
                let target_created_by = self.created_by_of(&target);
                let action =
                    Action::DetachPolicy { policy: policy_ref.clone(), policy_type: desired.policy_type, target };
                let index = self.push(action, [created_by, target_created_by, type_action], reaches);
                detach_actions.push((desired.policy_type, key.clone(), index));
                detaches_by_policy.entry(desired.name.clone()).or_default().push(index);
            }
        }

        // Customer-managed policies the spec does not name: delete what the tool owns, note the rest.
        let live_policies: Vec<&LivePolicy> = self.live.policies.values().collect();
        for live_policy in live_policies {
            if live_policy.aws_managed
                || planned_policies.contains(&(live_policy.policy_type, live_policy.name.clone()))
            {
                continue;
            }
            if !live_policy.owned_by_tool() {
                self.note(
                    format!("policy {}", live_policy.name),
                    format!(
                        "{} not in the spec and not created by landing-zone (attached to {} targets); left alone",
                        live_policy.policy_type,
                        live_policy.targets.len()
                    ),
                );
                continue;
            }
            if self.is_trail_guard(Some(live_policy))
                && !self.trail_guard_opted_in(
                    format!("policy {}", live_policy.name),
                    "delete a policy that guards the organization trail",
                )
            {
                continue;
            }
            let policy_ref = PolicyRef::Existing { id: live_policy.id.clone(), name: live_policy.name.clone() };
            let mut detaches = Vec::new();
            for key in ledger.targets_of(live_policy.policy_type, &live_policy.name) {
                let Some(target) = self.target_from_key(&key) else {
                    continue;
                };
                ledger.detach(live_policy.policy_type, &live_policy.name, &key);
                let reaches = self.reaches(&target, live_policy.policy_type);
                let action =
                    Action::DetachPolicy { policy: policy_ref.clone(), policy_type: live_policy.policy_type, target };
                let index = self.push(action, [], reaches);
                detach_actions.push((live_policy.policy_type, key, index));
                detaches.push(index);
            }
            let action = Action::DeletePolicy {
                id: live_policy.id.clone(),
                name: live_policy.name.clone(),
                policy_type: live_policy.policy_type,
            };
            self.push(action, detaches.into_iter().map(Some), 0);
        }

        self.check_attachment_rules(&ledger)?;
        self.order_attachments(&ledger, &attach_actions, &detach_actions);
        Ok(())
    }

    pub(super) fn update_policy(&mut self, desired: &DesiredPolicy, live_policy: &LivePolicy) {
        if live_policy.aws_managed {
            return;
        }
        let description = (live_policy.description != desired.description)
            .then(|| Change { before: live_policy.description.clone(), after: desired.description.clone() });
        let mut document = match (&desired.document, &live_policy.document) {
            (Some(after), before) if before.as_ref() != Some(after) => {
                Some(Change { before: before.clone().unwrap_or(Value::Null), after: after.clone() })
            }
            _ => None,
        };
        // Rewriting a trail guard into something that no longer guards is a detachment in effect.
        let removes_guard =
            document.as_ref().is_some_and(|change| guards_trail(&change.before) && !guards_trail(&change.after));
        if removes_guard
            && !self.trail_guard_opted_in(
                format!("policy {}", desired.name),
                "rewrite it into a document that no longer guards the organization trail",
            )
        {
            document = None;
        }
        if description.is_some() || document.is_some() {
            let reaches = desired
                .target_units
                .iter()
                .map(|unit| TargetRef::Unit { unit: UnitRef::Planned { path: unit.clone() } })
                .chain(
                    desired
                        .target_accounts
                        .iter()
                        .map(|name| TargetRef::Account { account: AccountRef::Planned { name: name.clone() } }),
                )
                .map(|target| self.reaches(&target, desired.policy_type))
                .sum::<usize>();
            let action = Action::UpdatePolicy {
                id: live_policy.id.clone(),
                name: desired.name.clone(),
                policy_type: desired.policy_type,
                description,
                document,
            };
            self.push(action, [], reaches);
        }
        // Tags are managed when the spec lists them; the ownership mark is only ever set at
        // creation, so a policy the tool adopted (by name or through `import`) is never deleted.
        if let Some(tags) = &desired.tags {
            let before = live_policy.tags.clone().unwrap_or_default();
            let mut after = tags.clone();
            if let Some(mark) = before.get(OWNERSHIP_TAG) {
                after.insert(OWNERSHIP_TAG.to_string(), mark.clone());
            }
            self.update_tags(&live_policy.id, format!("policy {}", desired.name), before, after);
        }
    }

    /// Whether a change that weakens the trail's guard may go ahead; blocked otherwise.
    pub(super) fn trail_guard_opted_in(&mut self, resource: String, change: &str) -> bool {
        let allow = Some(("detach_trail_guards", self.desired.allow.detach_trail_guards));
        self.opted_in(resource, change, allow)
    }

    pub(super) fn is_trail_guard(&self, live_policy: Option<&LivePolicy>) -> bool {
        live_policy.and_then(|policy| policy.document.as_ref()).is_some_and(guards_trail)
    }

    pub(super) fn existing_target_keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = Vec::new();
        if let Some(root) = &self.live.root {
            keys.push(root.id.clone());
        }
        keys.extend(self.live.units.keys().cloned());
        keys.extend(self.live.accounts.keys().cloned());
        keys
    }

    pub(super) fn created_by_of(&self, target: &TargetRef) -> Option<usize> {
        match target {
            TargetRef::Unit { unit } => self.units.get(unit.path()).and_then(|resolved| resolved.created_by),
            TargetRef::Account { account } => {
                self.accounts.get(account.name()).and_then(|resolved| resolved.created_by)
            }
        }
    }

    /// Rebuilds a target from its ledger key (a live id, or `unit:`/`account:` + a planned name).
    pub(super) fn target_from_key(&self, key: &str) -> Option<TargetRef> {
        if let Some(path) = key.strip_prefix("unit:") {
            return Some(TargetRef::Unit { unit: UnitRef::Planned { path: path.to_string() } });
        }
        if let Some(name) = key.strip_prefix("account:") {
            return Some(TargetRef::Account { account: AccountRef::Planned { name: name.to_string() } });
        }
        if self.live.root.as_ref().is_some_and(|root| root.id == key) {
            return Some(TargetRef::Unit { unit: UnitRef::Existing { id: key.to_string(), path: ROOT.to_string() } });
        }
        if self.live.units.contains_key(key) {
            let path = self
                .units
                .iter()
                .find(|(_, resolved)| matches!(&resolved.reference, UnitRef::Existing { id, .. } if id == key))
                .map(|(path, _)| path.clone())
                .or_else(|| self.live.path_of(key))
                .unwrap_or_else(|| key.to_string());
            return Some(TargetRef::Unit { unit: UnitRef::Existing { id: key.to_string(), path } });
        }
        if let Some(account) = self.live.accounts.get(key) {
            let name = self
                .accounts
                .iter()
                .find(|(_, resolved)| matches!(&resolved.reference, AccountRef::Existing { id, .. } if id == key))
                .map(|(name, _)| name.clone())
                .unwrap_or_else(|| account.name.clone());
            return Some(TargetRef::Account { account: AccountRef::Existing { id: key.to_string(), name } });
        }
        None
    }

    /// AWS's per-target rules, checked on the state the plan leaves behind.
    pub(super) fn check_attachment_rules(&self, ledger: &AttachmentLedger) -> Result<(), PlanError> {
        let mut targets: Vec<String> = self.existing_target_keys();
        targets.retain(|key| {
            // Closed (suspended) accounts, and those the plan closes, are outside AWS's rule.
            let inactive = self.live.accounts.get(key).is_some_and(|account| !account.state.is_active());
            let closing = self
                .actions
                .iter()
                .any(|planned| matches!(&planned.action, Action::CloseAccount { id, .. } if id == key));
            !inactive && !closing
        });
        // A targeted read knows the attachments of the targets and their ancestors only.
        if let Some(known) = &self.live.attachments_known_for {
            targets.retain(|key| known.contains(key));
        }
        for resolved in self.units.values() {
            if let UnitRef::Planned { path } = &resolved.reference {
                targets.push(format!("unit:{path}"));
            }
        }
        for resolved in self.accounts.values() {
            if let AccountRef::Planned { name } = &resolved.reference {
                targets.push(format!("account:{name}"));
            }
        }
        for policy_type in [PolicyType::ServiceControlPolicy, PolicyType::ResourceControlPolicy] {
            if !self.type_is_active(policy_type) {
                continue;
            }
            let max = policy_type.max_per_target().unwrap_or(usize::MAX);
            for key in &targets {
                let count = ledger.count(policy_type, key);
                let label = self.target_from_key(key).map_or_else(|| key.clone(), |target| target.label());
                if policy_type == PolicyType::ServiceControlPolicy && count == 0 {
                    return Err(PlanError::LastScp { target: label });
                }
                if count > max {
                    return Err(PlanError::TooManyPolicies { target: label, policy_type, count, max });
                }
            }
        }
        Ok(())
    }

    /// On each target, orders its attachments and detachments into one chain so the count of
    /// policies of a type never passes AWS's limit nor drops to zero in between: attach while there
    /// is room, then detach one to make room, and so on.
    pub(super) fn order_attachments(
        &mut self,
        ledger: &AttachmentLedger,
        attaches: &[(PolicyType, String, usize)],
        detaches: &[(PolicyType, String, usize)],
    ) {
        let mut targets: BTreeSet<(PolicyType, &str)> = BTreeSet::new();
        targets.extend(attaches.iter().map(|(t, k, _)| (*t, k.as_str())));
        targets.extend(detaches.iter().map(|(t, k, _)| (*t, k.as_str())));
        for (policy_type, key) in targets {
            let mut pending_attaches: Vec<usize> =
                attaches.iter().filter(|(t, k, _)| *t == policy_type && k == key).map(|(_, _, i)| *i).collect();
            let mut pending_detaches: Vec<usize> =
                detaches.iter().filter(|(t, k, _)| *t == policy_type && k == key).map(|(_, _, i)| *i).collect();
            if pending_attaches.is_empty() || pending_detaches.is_empty() {
                continue;
            }
            pending_attaches.reverse();
            pending_detaches.reverse();
            let max = policy_type.max_per_target().unwrap_or(usize::MAX);
            let mut count = ledger.live_count(policy_type, key);
            let mut previous: Option<usize> = None;
            while !pending_attaches.is_empty() || !pending_detaches.is_empty() {
                let attach_now =
                    !pending_attaches.is_empty() && (count < max || pending_detaches.is_empty() || count <= 1);
                let next = if attach_now {
                    count += 1;
                    pending_attaches.pop()
                } else {
                    count = count.saturating_sub(1);
                    pending_detaches.pop()
                };
                let Some(next) = next else { break };
                if let Some(previous) = previous {
                    let depends_on = &mut self.actions[next].depends_on;
                    depends_on.push(previous);
                    depends_on.sort_unstable();
                    depends_on.dedup();
                }
                previous = Some(next);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::plan::desired::{DesiredAccount, DesiredPolicy};
    use crate::plan::state::{AccountState, LiveAccount, LiveOrganization, LivePolicy, OrganizationInfo, RootInfo};
    use crate::plan::{plan, DesiredOrganization, PlanOptions};
    use crate::spec::{PolicyType, ROOT};

    /// `app` (on a targeted read's path) carries FullAWSAccess; `other`'s only SCP is `other-guard`,
    /// which a targeted read of `app` listed but did not read.
    fn targeted_read() -> (DesiredOrganization, LiveOrganization) {
        let scp = PolicyType::ServiceControlPolicy;
        let desired_account = |name: &str| DesiredAccount {
            name: name.to_string(),
            aws_name: None,
            email: format!("{name}@example.com"),
            unit_path: ROOT.to_string(),
            id: None,
            tags: None,
            close: false,
        };
        let desired = DesiredOrganization {
            management_account: Some("management".to_string()),
            accounts: ["management", "app", "other"].map(desired_account).into(),
            policies: vec![DesiredPolicy {
                name: "other-guard".to_string(),
                policy_type: scp,
                description: String::new(),
                document: Some(serde_json::json!({ "Version": "2012-10-17", "Statement": [] })),
                target_units: Default::default(),
                target_accounts: ["other".to_string()].into(),
                tags: None,
            }],
            ..DesiredOrganization::default()
        };
        let account = |id: &str, name: &str| {
            let live = LiveAccount {
                id: id.to_string(),
                name: name.to_string(),
                email: format!("{name}@example.com"),
                state: AccountState::Active,
                parent_id: "r-root".to_string(),
                tags: None,
            };
            (id.to_string(), live)
        };
        let policy = |id: &str, name: &str, aws_managed: bool, targets: &[&str]| {
            let live = LivePolicy {
                id: id.to_string(),
                name: name.to_string(),
                policy_type: scp,
                description: String::new(),
                aws_managed,
                document: None,
                targets: targets.iter().map(ToString::to_string).collect(),
                tags: None,
            };
            (id.to_string(), live)
        };
        let live = LiveOrganization {
            organization: Some(OrganizationInfo {
                id: "o-1".to_string(),
                management_account_id: "111111111111".to_string(),
                management_account_email: "management@example.com".to_string(),
                all_features: true,
            }),
            root: Some(RootInfo { id: "r-root".to_string(), policy_types: [(scp, "ENABLED".to_string())].into() }),
            accounts: [
                account("111111111111", "management"),
                account("222222222222", "app"),
                account("333333333333", "other"),
            ]
            .into(),
            policies: [
                policy("p-FullAWSAccess", "FullAWSAccess", true, &["r-root", "111111111111", "222222222222"]),
                policy("p-other", "other-guard", false, &[]),
            ]
            .into(),
            unread_policies: ["p-other".to_string()].into(),
            attachments_known_for: Some(["r-root".to_string(), "222222222222".to_string()].into()),
            ..LiveOrganization::default()
        };
        (desired, live)
    }

    #[test]
    fn a_policy_a_targeted_read_left_unread_is_planned_nothing_for() {
        let (desired, live) = targeted_read();
        // Unread: neither an update (its document is unknown) nor an attachment (its targets are).
        let planned = plan(&desired, &live, PlanOptions::default()).expect("plan");
        let actions: Vec<String> = planned.actions.iter().map(|planned| planned.action.address()).collect();
        assert!(actions.is_empty(), "{actions:?}");
    }

    #[test]
    fn a_targeted_read_checks_the_scp_rules_only_where_it_knows_the_attachments() {
        let (mut desired, mut live) = targeted_read();
        // The spec attaches `other-guard` nowhere; `other`'s attachments were not read: it is not
        // taken for an account without an SCP.
        desired.policies[0].target_accounts.clear();
        assert!(plan(&desired, &live, PlanOptions::default()).is_ok());
        // Known in full (`other-guard` read: attached nowhere), the same account is refused.
        live.unread_policies.clear();
        if let Some(known) = live.attachments_known_for.as_mut() {
            known.insert("333333333333".to_string());
        }
        if let Some(read) = live.policies.get_mut("p-other") {
            read.document.clone_from(&desired.policies[0].document);
        }
        let error = plan(&desired, &live, PlanOptions::default()).expect_err("no SCP left");
        assert!(error.to_string().contains("other"), "{error}");
    }
}
