//! Organization-level actions: creating the organization, enabling policy types and trusted
//! access, registering delegated administrators.

use super::*;

impl Planner<'_> {
    pub(super) fn organization(&mut self) {
        if self.live.organization.is_none() {
            let management_account = self.desired.management_account.clone();
            if management_account.is_none() {
                self.warnings.push(
                    "no organization exists yet and `organization.management_account` is not set: the caller's account becomes the management account and no spec account is matched to it".to_string(),
                );
            }
            let index = self.push(Action::CreateOrganization { management_account }, [], 0);
            self.create_organization = Some(index);
        }
        let root = self.root();
        self.units.insert(ROOT.to_string(), Resolved { reference: root, created_by: self.create_organization });
    }

    pub(super) fn policy_types(&mut self) {
        for policy_type in self.desired.policy_types.clone() {
            if !self.live.policy_type_enabled(policy_type) {
                let index = self.push(Action::EnablePolicyType { policy_type }, [], 0);
                self.policy_type_actions.insert(policy_type, index);
            }
        }
        if let Some(root) = &self.live.root {
            for (policy_type, status) in &root.policy_types {
                if !self.desired.policy_types.contains(policy_type) && status == "ENABLED" {
                    self.notes.push(Note {
                        resource: format!("policy type {policy_type}"),
                        message: "enabled in the organization but not in `organization.policy_types`; left as is"
                            .to_string(),
                    });
                }
            }
        }
    }

    pub(super) fn trusted_services(&mut self) {
        for service in self.desired.trusted_services.clone() {
            if !self.live.trusted_services.contains(&service) {
                let index = self.push(Action::EnableServiceAccess { service: service.clone() }, [], 0);
                self.service_actions.insert(service, index);
            }
        }
    }

    /// Centralized root access: each feature the spec turns on and AWS has off, after trusted
    /// access for IAM ("enable trusted access for AWS Identity and Access Management in AWS
    /// Organizations" first). Features on in AWS but not in the spec are noted, not disabled.
    /// https://docs.aws.amazon.com/IAM/latest/APIReference/API_EnableOrganizationsRootCredentialsManagement.html
    pub(super) fn root_access(&mut self) {
        for feature in self.desired.root_access_features.clone() {
            if !self.live.root_access_features.contains(&feature) {
                let trusted_access = self.require_service(IAM_SERVICE);
                self.push(Action::EnableRootAccessFeature { feature }, [trusted_access], 0);
            }
        }
        for feature in &self.live.root_access_features {
            if !self.desired.root_access_features.contains(feature) {
                self.notes.push(Note {
                    resource: format!("root access {feature}"),
                    message: "enabled in the organization but not in `organization.root_access`; left as is"
                        .to_string(),
                });
            }
        }
    }

    /// Member accounts' root credentials, deleted only with the spec's
    /// `organization.root_access.delete_member_root_credentials` and `--allow-destructive` (like
    /// closing an account); then `live.root_credentials` holds what each member has, read through
    /// AssumeRoot, and each member with any credential gets one irreversible action.
    pub(super) fn root_credentials(&mut self) {
        if !self.desired.delete_member_root_credentials {
            return;
        }
        if !self.opted_in(
            "root credentials",
            "read and delete member accounts' root credentials (`organization.root_access.delete_member_root_credentials`)",
            None,
        ) {
            return;
        }
        let Some(found) = &self.live.root_credentials else {
            self.notes.push(Note {
                resource: "root credentials".to_string(),
                message: "member accounts' root credentials are read once root credentials management is enabled; plan again after this apply".to_string(),
            });
            return;
        };
        let names: BTreeMap<String, String> =
            match_accounts(self.desired, self.live).into_iter().map(|(name, id)| (id, name)).collect();
        for (id, credentials) in found {
            if credentials.is_empty() {
                continue;
            }
            let name = names
                .get(id)
                .or_else(|| self.live.accounts.get(id).map(|account| &account.name))
                .cloned()
                .unwrap_or_else(|| id.clone());
            let action = Action::DeleteRootCredentials { id: id.clone(), name, credentials: credentials.clone() };
            self.push(action, [], 1);
        }
    }

    /// Trusted access for `service` that an action needs although the spec does not list it:
    /// the action that enables it (planned once), or None when it is on already.
    pub(super) fn require_service(&mut self, service: &str) -> Option<usize> {
        if self.live.trusted_services.contains(service) {
            return None;
        }
        if let Some(index) = self.service_actions.get(service) {
            return Some(*index);
        }
        let index = self.push(Action::EnableServiceAccess { service: service.to_string() }, [], 0);
        self.service_actions.insert(service.to_string(), index);
        Some(index)
    }

    pub(super) fn delegated_administrators(&mut self) {
        for (service, account_name) in self.desired.delegated_administrators.clone() {
            let Some(account) = self.accounts.get(&account_name).cloned() else {
                continue;
            };
            let registered = match &account.reference {
                AccountRef::Existing { id, .. } => {
                    self.live.delegated_administrators.contains(&(service.clone(), id.clone()))
                }
                AccountRef::Planned { .. } => false,
            };
            if !registered {
                let service_action = self.service_actions.get(&service).copied();
                let action =
                    Action::RegisterDelegatedAdministrator { service: service.clone(), account: account.reference };
                let index = self.push(action, [service_action, account.created_by], 0);
                // Controls that wait for this service (`after_service`) wait for the registration
                // too: only the management account or a registered delegated administrator may,
                // for instance, create an ORGANIZATION analyzer.
                // https://docs.aws.amazon.com/IAM/latest/UserGuide/access-analyzer-settings.html
                self.delegated_admin_actions.entry(service).or_default().push(index);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::plan::state::LiveOrganization;
    use crate::plan::state::{AccountState, LiveAccount, OrganizationInfo, RootCredentials, RootInfo};
    use crate::plan::{plan, Action, DesiredOrganization, PlanOptions};

    fn live(credentials: Option<RootCredentials>) -> LiveOrganization {
        let account = |id: &str, name: &str| LiveAccount {
            id: id.to_string(),
            name: name.to_string(),
            email: format!("{name}@example.com"),
            state: AccountState::Active,
            parent_id: "r-root".to_string(),
            tags: None,
        };
        LiveOrganization {
            organization: Some(OrganizationInfo {
                id: "o-1".to_string(),
                management_account_id: "111111111111".to_string(),
                management_account_email: "management@example.com".to_string(),
                all_features: true,
            }),
            root: Some(RootInfo { id: "r-root".to_string(), policy_types: Default::default() }),
            accounts: [("111111111111", "management"), ("222222222222", "app")]
                .into_iter()
                .map(|(id, name)| (id.to_string(), account(id, name)))
                .collect(),
            root_credentials: credentials.map(|found| [("222222222222".to_string(), found)].into_iter().collect()),
            ..Default::default()
        }
    }

    fn found() -> RootCredentials {
        RootCredentials {
            password: true,
            access_keys: vec!["AKIA1".to_string(), "AKIA2".to_string()],
            mfa_devices: vec!["arn:aws:iam::222222222222:mfa/root".to_string()],
            signing_certificates: Vec::new(),
        }
    }

    #[test]
    fn root_credentials_are_deleted_only_with_the_spec_and_the_flag() {
        let desired =
            |delete: bool| DesiredOrganization { delete_member_root_credentials: delete, ..Default::default() };
        let flag = |allow_destructive: bool| PlanOptions { allow_destructive };
        let deletions = |desired: &DesiredOrganization, live: &LiveOrganization, options: PlanOptions| {
            let planned = plan(desired, live, options).expect("plan");
            let addresses: Vec<String> = planned
                .actions
                .iter()
                .filter(|a| matches!(a.action, Action::DeleteRootCredentials { .. }))
                .map(|a| a.action.address())
                .collect();
            let blocked: Vec<String> = planned.blocked.iter().map(|blocked| blocked.unblock.clone()).collect();
            (addresses, blocked, planned.notes)
        };
        // Neither, or the flag alone: nothing, silently.
        for (delete, allow) in [(false, false), (false, true)] {
            let (actions, blocked, _) = deletions(&desired(delete), &live(Some(found())), flag(allow));
            assert!(actions.is_empty() && blocked.is_empty(), "{delete} {allow}: {actions:?} {blocked:?}");
        }
        // The spec alone: blocked, naming the flag; no action.
        let (actions, blocked, _) = deletions(&desired(true), &live(None), flag(false));
        assert!(actions.is_empty(), "{actions:?}");
        assert_eq!(blocked, ["pass --allow-destructive"]);
        // Both, but nothing could be read yet (credentials management not on): a note.
        let (actions, _, notes) = deletions(&desired(true), &live(None), flag(true));
        assert!(actions.is_empty() && notes.iter().any(|n| n.resource == "root credentials"), "{notes:?}");
        // Both: one irreversible action per member with credentials, none for a member without.
        let (actions, _, _) = deletions(&desired(true), &live(Some(found())), flag(true));
        assert_eq!(actions, ["root credentials of account app: password, 2 access keys, 1 MFA device"]);
        let (actions, _, _) = deletions(&desired(true), &live(Some(RootCredentials::default())), flag(true));
        assert!(actions.is_empty(), "{actions:?}");
    }

    #[test]
    fn a_summary_counts_each_kind_of_credential() {
        assert_eq!(RootCredentials::default().summary(), "none");
        let mut credentials = found();
        credentials.signing_certificates = vec!["C1".to_string(), "C2".to_string()];
        credentials.password = false;
        assert_eq!(credentials.summary(), "2 access keys, 1 MFA device, 2 signing certificates");
    }
}
