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
