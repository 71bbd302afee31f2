//! Accounts: match desired to live (pinned id, email, management account), create, move, tag,
//! close; the ids known before apply.

use super::*;

impl Planner<'_> {
    pub(super) fn accounts(&mut self) -> Result<(), PlanError> {
        let mut pinned: BTreeMap<&str, &str> = BTreeMap::new();
        for account in &self.desired.accounts {
            if let Some(id) = &account.id {
                if !self.live.accounts.contains_key(id) {
                    return Err(PlanError::AccountIdNotFound { name: account.name.clone(), id: id.clone() });
                }
                if let Some(first) = pinned.insert(id, &account.name) {
                    return Err(PlanError::EmailClaimed {
                        name: account.name.clone(),
                        email: account.email.clone(),
                        id: id.clone(),
                        claimant: first.to_string(),
                    });
                }
            }
        }
        let matches = match_accounts(self.desired, self.live);
        // An email that belongs to a live account another spec entry claims cannot be created
        // again: AWS would refuse it (EMAIL_ALREADY_EXISTS) mid-apply.
        for account in self.desired.accounts.iter().filter(|account| !matches.contains_key(&account.name)) {
            let owner = self.live.accounts.values().find(|live| live.email.eq_ignore_ascii_case(&account.email));
            if let Some(owner) = owner {
                if let Some((claimant, _)) = matches.iter().find(|(_, id)| **id == owner.id) {
                    return Err(PlanError::EmailClaimed {
                        name: account.name.clone(),
                        email: account.email.clone(),
                        id: owner.id.clone(),
                        claimant: claimant.clone(),
                    });
                }
            }
        }
        let management_id = self.live.organization.as_ref().map(|org| org.management_account_id.clone());
        for account in &self.desired.accounts {
            let is_management = self.desired.management_account.as_deref() == Some(account.name.as_str());
            let live_id: Option<String> = matches.get(&account.name).cloned();
            let target = self.unit_for(&account.unit_path);
            match live_id.and_then(|id| self.live.accounts.get(&id)) {
                Some(live_account) => {
                    self.matched_account_ids.insert(live_account.id.clone());
                    let reference = AccountRef::Existing { id: live_account.id.clone(), name: account.name.clone() };
                    self.accounts
                        .insert(account.name.clone(), Resolved { reference: reference.clone(), created_by: None });
                    if !live_account.state.is_active() {
                        self.note(
                            format!("account {}", account.name),
                            format!("state is {}; left as is", live_account.state),
                        );
                        continue;
                    }
                    if account.close && management_id.as_deref() == Some(live_account.id.as_str()) {
                        self.warnings.push(format!(
                            "account `{}` is the management account and cannot be closed; `close: true` is ignored",
                            account.name
                        ));
                    } else if account.close {
                        let allow = Some(("close_accounts", self.desired.allow.close_accounts));
                        if self.opted_in(
                            format!("account {}", account.name),
                            "close the account (`close: true`)",
                            allow,
                        ) {
                            let action =
                                Action::CloseAccount { id: live_account.id.clone(), name: account.name.clone() };
                            self.push(action, [], 1);
                        }
                        continue;
                    }
                    if live_account.name != account.aws_name() {
                        let management = management_id.as_deref() == Some(live_account.id.as_str());
                        let before = Some(live_account.name.clone());
                        self.rename_account(reference.clone(), before, account.aws_name(), management, None);
                    }
                    let in_place =
                        matches!(&target.reference, UnitRef::Existing { id, .. } if *id == live_account.parent_id);
                    if !in_place {
                        let from_path = self
                            .live
                            .path_of(&live_account.parent_id)
                            .unwrap_or_else(|| live_account.parent_id.clone());
                        let action = Action::MoveAccount {
                            account: reference,
                            from: UnitRef::Existing { id: live_account.parent_id.clone(), path: from_path },
                            to: target.reference.clone(),
                        };
                        self.push(action, [target.created_by], 1);
                    }
                    if let Some(tags) = &account.tags {
                        let before = live_account.tags.clone().unwrap_or_default();
                        self.update_tags(&live_account.id, format!("account {}", account.name), before, tags.clone());
                    }
                }
                None if account.close => {}
                None if is_management && self.live.organization.is_none() => {
                    let reference = AccountRef::Planned { name: account.name.clone() };
                    let created_by = self.create_organization;
                    self.accounts.insert(account.name.clone(), Resolved { reference: reference.clone(), created_by });
                    // The name it signed up with is unknown until the organization exists.
                    self.rename_account(reference.clone(), None, account.aws_name(), true, created_by);
                    if account.unit_path != ROOT {
                        let action =
                            Action::MoveAccount { account: reference, from: self.root(), to: target.reference.clone() };
                        self.push(action, [target.created_by], 1);
                    }
                    if let Some(tags) = &account.tags {
                        // Its id is known once the organization exists: a placeholder the executor fills.
                        let resource_id = format!("{{{{account:{}}}}}", account.name);
                        self.update_tags(
                            &resource_id,
                            format!("account {}", account.name),
                            BTreeMap::new(),
                            tags.clone(),
                        );
                    }
                }
                None => {
                    let pending_request = self
                        .live
                        .pending_account_creations
                        .iter()
                        .find(|pending| pending.account_name == account.name)
                        .map(|pending| pending.request_id.clone());
                    let action = Action::CreateAccount {
                        name: account.name.clone(),
                        email: account.email.clone(),
                        tags: account.tags.clone().unwrap_or_default(),
                        pending_request,
                    };
                    let create = self.push(action, [], 1);
                    let reference = AccountRef::Planned { name: account.name.clone() };
                    // CreateAccount names it by its key; `name:` then renames it.
                    if account.aws_name() != account.name {
                        let before = Some(account.name.clone());
                        self.rename_account(reference.clone(), before, account.aws_name(), false, Some(create));
                    }
                    self.accounts.insert(
                        account.name.clone(),
                        Resolved { reference: reference.clone(), created_by: Some(create) },
                    );
                    if account.unit_path != ROOT {
                        let action =
                            Action::MoveAccount { account: reference, from: self.root(), to: target.reference.clone() };
                        let moved = self.push(action, [Some(create), target.created_by], 1);
                        // Later actions on this account (attachments) wait for it to be in place.
                        if let Some(resolved) = self.accounts.get_mut(&account.name) {
                            resolved.created_by = Some(moved);
                        }
                    }
                }
            }
        }
        for live_account in self.live.accounts.values() {
            if !self.matched_account_ids.contains(&live_account.id) {
                let path = self.live.path_of(&live_account.parent_id).unwrap_or_default();
                self.notes.push(Note {
                    resource: format!("account {} ({})", live_account.name, live_account.id),
                    message: format!("not in the spec (in {path}, {}); left alone", live_account.email),
                });
            }
        }
        Ok(())
    }

    /// Plans `account:PutAccountName` to the spec's name. A member account is renamed from the
    /// management account with `AccountId`, which needs trusted access for `account.amazonaws.com`;
    /// the management account renames itself without it (AWS refuses its own id there).
    /// https://docs.aws.amazon.com/accounts/latest/reference/API_PutAccountName.html
    fn rename_account(
        &mut self,
        account: AccountRef,
        before: Option<String>,
        after: &str,
        management: bool,
        created_by: Option<usize>,
    ) {
        if let Some(operation) = &self.live.account_names_unsupported {
            let resource = format!("account {after}");
            let named = before.map_or_else(
                || "its name in AWS is not known yet".to_string(),
                |name| format!("named `{name}` in AWS"),
            );
            self.note(resource, format!("{named}; not renamed here: the endpoint does not implement {operation}"));
            return;
        }
        let trusted_access = if management { None } else { self.require_service(ACCOUNT_SERVICE) };
        let after = after.to_string();
        self.push(Action::RenameAccount { account, before, after, management }, [trusted_access, created_by], 1);
    }

    pub(super) fn target_of_unit(&self, path: &str) -> (TargetRef, Option<usize>) {
        let resolved = self.unit_for(path);
        (TargetRef::Unit { unit: resolved.reference }, resolved.created_by)
    }

    pub(super) fn target_of_account(&self, name: &str) -> Option<(TargetRef, Option<usize>)> {
        self.accounts
            .get(name)
            .map(|resolved| (TargetRef::Account { account: resolved.reference.clone() }, resolved.created_by))
    }

    /// How many of the spec's accounts a policy attached to `target` reaches. SCPs and RCPs never
    /// restrict the management account, so it is not counted for them.
    /// <https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps.html>
    /// <https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_rcps.html>
    pub(super) fn reaches(&self, target: &TargetRef, policy_type: PolicyType) -> usize {
        let spares_management =
            matches!(policy_type, PolicyType::ServiceControlPolicy | PolicyType::ResourceControlPolicy);
        let counted = |name: &str| !(spares_management && self.desired.management_account.as_deref() == Some(name));
        match target {
            TargetRef::Unit { unit } => {
                let path = unit.path();
                self.desired
                    .accounts
                    .iter()
                    .filter(|account| {
                        path == ROOT || account.unit_path == path || account.unit_path.starts_with(&format!("{path}/"))
                    })
                    .filter(|account| counted(&account.name))
                    .count()
            }
            TargetRef::Account { account } => usize::from(counted(account.name())),
        }
    }

    /// Ids known before apply: accounts that exist, the organization.
    pub(super) fn known_ids(&self) -> KnownIds {
        let accounts = self
            .accounts
            .iter()
            .filter_map(|(name, resolved)| match &resolved.reference {
                AccountRef::Existing { id, .. } => Some((name.clone(), id.clone())),
                AccountRef::Planned { .. } => None,
            })
            .collect();
        KnownIds { accounts, organization: self.live.organization.as_ref().map(|org| org.id.clone()) }
    }
}
