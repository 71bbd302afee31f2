//! `landing-zone permissions`: the IAM policies the tool needs, derived from what the code
//! declares beside the calls it makes — the organization reader and steps, the state store, the
//! audit, and every baseline in the registry — never kept by hand.
//!
//! Two principals make calls: the caller, with its own credentials in the management account
//! (every Organizations call, delegated-administrator designation, the Account API, and the
//! controls of the management account itself), and `organization.access_role` in each member
//! account (the controls there).

use std::collections::BTreeSet;

use crate::baseline::{Actions, REGISTRY};

/// Which command the policy is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// Read-only: plan, audit, import, graph --live.
    Plan,
    /// Everything apply reads and writes.
    Apply,
}

/// Whose policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Principal {
    /// The caller's own credentials in the management account.
    Management,
    /// `organization.access_role` in every member account.
    Member,
}

/// What the tool's own organization-level code calls with the caller's credentials.
fn organization_actions() -> [Actions; 5] {
    [
        crate::live::organization::PERMISSIONS,
        crate::apply::steps::PERMISSIONS,
        crate::apply::lock::PERMISSIONS,
        crate::ops::audit::PERMISSIONS,
        crate::live::root_credentials::PERMISSIONS,
    ]
}

/// The IAM actions one principal needs for one command, sorted and without duplicates.
pub fn actions(command: Command, principal: Principal) -> BTreeSet<&'static str> {
    let mut sets: Vec<Actions> = Vec::new();
    match principal {
        Principal::Management => {
            sets.extend(organization_actions());
            for baseline in REGISTRY {
                let permissions = baseline.permissions();
                sets.push(permissions.management);
                sets.push(permissions.in_account);
            }
        }
        Principal::Member => {
            // The audit reads member accounts through the access role too.
            sets.push(crate::ops::audit::PERMISSIONS);
            sets.extend(REGISTRY.iter().map(|baseline| baseline.permissions().in_account));
        }
    }
    let mut actions = BTreeSet::new();
    for set in sets {
        actions.extend(set.read.iter().copied());
        if command == Command::Apply {
            actions.extend(set.write.iter().copied());
        }
    }
    actions
}

/// The policy document for one principal and command: one statement of every action, then the
/// statements with conditions the baselines declare (`Baseline::conditioned_permissions`; both
/// principals make the calls in the account holding a control).
pub fn policy(command: Command, principal: Principal) -> serde_json::Value {
    let actions: Vec<&str> = actions(command, principal).into_iter().collect();
    let mut statements =
        vec![serde_json::json!({ "Sid": "LandingZone", "Effect": "Allow", "Action": actions, "Resource": "*" })];
    for baseline in REGISTRY {
        statements.extend(baseline.conditioned_permissions(command == Command::Apply));
    }
    serde_json::json!({ "Version": "2012-10-17", "Statement": statements })
}

/// Whether a policy action (with `*` and `?` wildcards, case-insensitive as IAM matches them)
/// allows `action`: the policy evaluator's matcher, so both read wildcards alike.
pub fn allows(pattern: &str, action: &str) -> bool {
    crate::plan::policy_evaluator::wildcard_match(&pattern.to_lowercase(), &action.to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apply_needs_everything_plan_needs() {
        for principal in [Principal::Management, Principal::Member] {
            let plan = actions(Command::Plan, principal);
            let apply = actions(Command::Apply, principal);
            assert!(plan.is_subset(&apply), "{principal:?}");
            assert!(apply.len() > plan.len(), "{principal:?}");
        }
    }

    #[test]
    fn the_password_policy_write_is_in_both_apply_policies() {
        // landing-zone.yaml targets Root, which includes the management account: the caller's own
        // credentials update its password policy (the defect that made this list derived).
        for principal in [Principal::Management, Principal::Member] {
            assert!(actions(Command::Apply, principal).contains("iam:UpdateAccountPasswordPolicy"));
        }
        assert!(!actions(Command::Plan, Principal::Management).contains("iam:UpdateAccountPasswordPolicy"));
    }

    #[test]
    fn member_accounts_never_need_organizations_writes() {
        assert!(actions(Command::Apply, Principal::Member).iter().all(|action| !action.starts_with("organizations:")));
    }

    #[test]
    fn wildcards_match_like_iam() {
        assert!(allows("organizations:List*", "organizations:ListAccounts"));
        assert!(allows("organizations:list*", "organizations:ListAccounts"));
        assert!(!allows("organizations:List*", "organizations:CreateAccount"));
        assert!(allows("s3:Get*Configuration", "s3:GetLifecycleConfiguration"));
    }
}
