//! The audit's guardrail checks: whether the organization's SCPs deny what the landing zone's
//! guardrails must deny (region allow-list, organization trail, Block Public Access) in every
//! member account, evaluated over the SCPs on the account's path by the one policy evaluator
//! (`plan::policy_evaluator`) that the planner's lock-out guard uses too. Pure: no AWS call.

use crate::plan::policy_evaluator::{evaluate, Level, Request, Scp, Verdict};
use crate::plan::state::LiveOrganization;
use crate::spec::PolicyType;

use super::{Finding, Status};

/// What the guardrail checks need to know beyond the live organization.
#[derive(Debug, Clone)]
pub struct GuardrailInputs<'a> {
    /// The spec's regions (or `--regions`): the region allow-list should deny every other region.
    pub allowed_regions: &'a [String],
    /// Where the organization trail lives (its ARN names the region).
    pub home_region: &'a str,
    /// The organization trail's ARN, when the spec names the trail; None asks about any trail.
    pub trail_arn: Option<String>,
    /// Active accounts: id and how the report names them (`name (id)`).
    pub accounts: &'a [(String, String)],
}

/// The principals a guardrail must deny to cover an account: an ordinary role, an IAM user and
/// the root user of that account (a guardrail that exempts the landing zone's own role still
/// covers it; one limited to the root user does not).
fn probe_principals(account_id: &str) -> [String; 3] {
    [
        format!("arn:aws:iam::{account_id}:role/AnyRole"),
        format!("arn:aws:iam::{account_id}:user/AnyUser"),
        format!("arn:aws:iam::{account_id}:root"),
    ]
}

/// One guardrail: the requests it must deny in every member account.
struct Guardrail {
    control: &'static str,
    /// (action, resource, region) triples; every one must be denied to every probe principal.
    requests: Vec<(String, Option<String>, Option<String>)>,
    what: &'static str,
}

/// The organization's guardrails, evaluated per member account over the SCPs that reach it (the
/// root, each OU on its path, the account itself) by the policy evaluator. The management account
/// is never restricted by SCPs, so it is neither covered nor counted.
/// <https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps.html>
pub fn guardrail_findings(live: &LiveOrganization, inputs: &GuardrailInputs<'_>) -> Vec<Finding> {
    let home = inputs.home_region.to_string();
    let outside: Vec<String> = crate::spec::regions::AWS_REGIONS
        .iter()
        .filter(|region| crate::spec::regions::partition_of(region) == crate::spec::regions::partition_of(&home))
        .filter(|region| !inputs.allowed_regions.iter().any(|allowed| allowed == *region))
        .map(|region| region.to_string())
        .collect();
    let guardrails = [
        Guardrail {
            control: "scp: organization trail protected",
            requests: ["cloudtrail:StopLogging", "cloudtrail:DeleteTrail"]
                .iter()
                .map(|action| (action.to_string(), inputs.trail_arn.clone(), Some(home.clone())))
                .collect(),
            what: "stopping or deleting the organization trail",
        },
        Guardrail {
            control: "scp: region allow-list",
            requests: outside
                .iter()
                .map(|region| ("ec2:RunInstances".to_string(), None, Some(region.clone())))
                .collect(),
            what: "regional services outside the allowed regions",
        },
        Guardrail {
            control: "scp: S3 Block Public Access frozen",
            requests: vec![("s3:PutAccountPublicAccessBlock".to_string(), Some("*".to_string()), Some(home.clone()))],
            what: "changing account-level S3 Block Public Access",
        },
    ];
    let management = live.organization.as_ref().map(|organization| organization.management_account_id.as_str());
    let members: Vec<&(String, String)> =
        inputs.accounts.iter().filter(|(id, _)| Some(id.as_str()) != management).collect();
    let scps_enabled = live.policy_type_enabled(PolicyType::ServiceControlPolicy);
    let mut findings = Vec::new();
    for guardrail in guardrails {
        if !scps_enabled {
            findings.push(Finding::new(
                "organization",
                guardrail.control,
                None,
                Status::Fail,
                "service control policies are not enabled on the root: nothing is denied",
            ));
            continue;
        }
        let mut uncovered: Vec<String> = Vec::new();
        for (id, scope) in &members {
            let levels = account_levels(live, id);
            let mut worst: Option<(Verdict, String)> = None;
            'requests: for principal in probe_principals(id) {
                for (action, resource, region) in &guardrail.requests {
                    let request = Request {
                        principal_arn: &principal,
                        action,
                        resource: resource.as_deref(),
                        region: region.as_deref(),
                    };
                    let verdict = evaluate(&levels, &request);
                    if verdict.is_denied() {
                        continue;
                    }
                    let what = match region {
                        Some(region) => format!("{action} in {region} by {principal}"),
                        None => format!("{action} by {principal}"),
                    };
                    let definite = verdict.is_not_denied();
                    worst = Some((verdict, what));
                    if definite {
                        break 'requests;
                    }
                }
            }
            let Some((verdict, what)) = worst else { continue };
            let detail = match verdict {
                Verdict::MayDeny { keys, .. } => format!(
                    "may not be denied: {what} is denied only depending on {}",
                    keys.iter().map(|key| format!("`{key}`")).collect::<Vec<_>>().join(", ")
                ),
                _ => format!("not denied: {what}"),
            };
            findings.push(Finding::new(scope, guardrail.control, None, Status::Fail, detail));
            uncovered.push(scope.clone());
        }
        let total = members.len();
        let summary = if uncovered.is_empty() {
            Finding::new(
                "organization",
                guardrail.control,
                None,
                Status::Pass,
                format!(
                    "SCPs deny {} in all {total} member accounts (the management account is never restricted by SCPs)",
                    guardrail.what
                ),
            )
        } else {
            Finding::new(
                "organization",
                guardrail.control,
                None,
                Status::Fail,
                format!(
                    "SCPs do not deny {} in {} of {total} member accounts: {}",
                    guardrail.what,
                    uncovered.len(),
                    uncovered.join(", ")
                ),
            )
        };
        findings.push(summary);
    }
    findings
}

/// The SCPs that reach an account, level by level: the root, each OU down its path, the account.
fn account_levels<'a>(live: &'a LiveOrganization, account_id: &str) -> Vec<Level<'a>> {
    let mut containers: Vec<String> = vec![account_id.to_string()];
    let mut current = live.accounts.get(account_id).map(|account| account.parent_id.clone());
    while let Some(container) = current {
        current = live.units.get(&container).map(|unit| unit.parent_id.clone());
        containers.push(container);
        if containers.len() > crate::spec::validate::MAX_UNIT_DEPTH + 2 {
            break;
        }
    }
    containers.reverse();
    containers
        .into_iter()
        .map(|container| {
            let label = if container == account_id {
                format!("account {}", live.accounts.get(account_id).map_or(account_id, |account| account.name.as_str()))
            } else {
                live.path_of(&container).unwrap_or_else(|| container.clone())
            };
            let policies = live
                .policies
                .values()
                .filter(|policy| policy.policy_type == PolicyType::ServiceControlPolicy)
                .filter(|policy| policy.targets.contains(&container))
                .map(|policy| Scp { name: &policy.name, document: policy.document.as_ref() })
                .collect();
            Level { label, policies }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use serde_json::{json, Value};

    use super::*;
    use crate::plan::state::{AccountState, LiveAccount, LivePolicy, LiveUnit, OrganizationInfo, RootInfo};

    const MANAGEMENT: &str = "111111111111";

    /// A root with four OUs (A, B, C, D), one account in each, and the management account.
    fn organization(policies: &[(&str, Value, &[&str])]) -> LiveOrganization {
        let mut live = LiveOrganization {
            organization: Some(OrganizationInfo {
                id: "o-1".to_string(),
                management_account_id: MANAGEMENT.to_string(),
                management_account_email: "m@example.com".to_string(),
                all_features: true,
            }),
            root: Some(RootInfo {
                id: "r-1".to_string(),
                policy_types: BTreeMap::from([(PolicyType::ServiceControlPolicy, "ENABLED".to_string())]),
            }),
            ..Default::default()
        };
        let account = |id: &str, name: &str, parent: &str| LiveAccount {
            id: id.to_string(),
            name: name.to_string(),
            email: format!("{name}@example.com"),
            state: AccountState::Active,
            parent_id: parent.to_string(),
            tags: None,
        };
        live.accounts.insert(MANAGEMENT.to_string(), account(MANAGEMENT, "management", "r-1"));
        for (index, unit) in ["a", "b", "c", "d"].iter().enumerate() {
            let id = format!("ou-{unit}");
            live.units.insert(
                id.clone(),
                LiveUnit { id: id.clone(), name: unit.to_uppercase(), parent_id: "r-1".to_string(), tags: None },
            );
            let account_id = format!("22222222222{index}");
            live.accounts.insert(account_id.clone(), account(&account_id, &format!("app-{unit}"), &id));
        }
        let mut all: Vec<(&str, Option<Value>, Vec<String>)> =
            vec![("FullAWSAccess", None, ["r-1", "ou-a", "ou-b", "ou-c", "ou-d"].map(String::from).to_vec())];
        all.extend(policies.iter().map(|(name, document, targets)| {
            (*name, Some(document.clone()), targets.iter().map(|t| t.to_string()).collect())
        }));
        for account in live.accounts.keys().cloned().collect::<Vec<_>>() {
            all[0].2.push(account);
        }
        for (index, (name, document, targets)) in all.into_iter().enumerate() {
            live.policies.insert(
                format!("p-{index}"),
                LivePolicy {
                    id: format!("p-{index}"),
                    name: name.to_string(),
                    policy_type: PolicyType::ServiceControlPolicy,
                    description: String::new(),
                    aws_managed: document.is_none(),
                    document,
                    targets: targets.into_iter().collect::<BTreeSet<String>>(),
                    tags: None,
                },
            );
        }
        live
    }

    fn evaluate_guardrails(live: &LiveOrganization) -> Vec<Finding> {
        let accounts: Vec<(String, String)> = live
            .accounts
            .values()
            .map(|account| (account.id.clone(), format!("{} ({})", account.name, account.id)))
            .collect();
        let regions = ["us-east-1".to_string(), "eu-west-1".to_string()];
        let inputs = GuardrailInputs {
            allowed_regions: &regions,
            home_region: "us-east-1",
            trail_arn: None,
            accounts: &accounts,
        };
        guardrail_findings(live, &inputs)
    }

    fn organization_finding<'a>(findings: &'a [Finding], control: &str) -> &'a Finding {
        findings
            .iter()
            .find(|finding| finding.scope == "organization" && finding.control == control)
            .unwrap_or_else(|| panic!("no organization finding for {control}: {findings:?}"))
    }

    /// A `Deny *` conditioned on the root user alone, attached to two of four OUs, and an SCP
    /// that merely mentions `aws:RequestedRegion`: neither is a guardrail, and the audit names
    /// every member account left uncovered (text searches used to pass both).
    #[test]
    fn a_root_only_deny_and_a_mention_of_a_region_key_are_not_guardrails() {
        let root_only = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*",
            "Condition": {"StringLike": {"aws:PrincipalArn": "arn:aws:iam::*:root"}}}]});
        let mentions_region = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "ec2:RunInstances", "Resource": "*",
            "Condition": {"StringEquals": {"aws:RequestedRegion": "us-east-1"}, "Bool": {"aws:ViaAWSService": "true"}}}]});
        let live = organization(&[
            ("root-only", root_only, &["ou-a", "ou-b"]),
            ("mentions-region", mentions_region, &["r-1"]),
        ]);
        let findings = evaluate_guardrails(&live);
        for control in
            ["scp: S3 Block Public Access frozen", "scp: region allow-list", "scp: organization trail protected"]
        {
            let summary = organization_finding(&findings, control);
            assert_eq!(summary.status, Status::Fail, "{summary:?}");
            assert!(summary.detail.contains("in 4 of 4 member accounts"), "{summary:?}");
            for account in ["app-a", "app-b", "app-c", "app-d"] {
                assert!(summary.detail.contains(account), "{account} named: {summary:?}");
                assert!(findings
                    .iter()
                    .any(|f| f.scope.starts_with(account) && f.control == control && f.status == Status::Fail));
            }
            assert!(!summary.detail.contains("management"), "{summary:?}");
        }
    }

    /// Real guardrails with the executor's exemption, attached where they reach every member:
    /// all pass, counted over the four members (the management account is never restricted).
    /// Attached to two OUs only, the other two members are named.
    #[test]
    fn guardrails_are_evaluated_per_account_over_its_path() {
        let exempt = json!({"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/OrganizationAccountAccessRole"}});
        let freeze = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "s3:PutAccountPublicAccessBlock",
            "Resource": "*", "Condition": exempt}]});
        let mut region_condition = exempt.clone();
        region_condition["StringNotEquals"] = json!({"aws:RequestedRegion": ["us-east-1", "eu-west-1"]});
        let regions = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "NotAction": ["iam:*", "sts:*", "organizations:*"],
            "Resource": "*", "Condition": region_condition}]});
        let trail = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Deny",
            "Action": ["cloudtrail:StopLogging", "cloudtrail:DeleteTrail"], "Resource": "*"}]});
        let live = organization(&[
            ("freeze", freeze.clone(), &["r-1"]),
            ("regions", regions.clone(), &["r-1"]),
            ("trail", trail.clone(), &["r-1"]),
        ]);
        let findings = evaluate_guardrails(&live);
        for control in
            ["scp: S3 Block Public Access frozen", "scp: region allow-list", "scp: organization trail protected"]
        {
            let summary = organization_finding(&findings, control);
            assert_eq!(summary.status, Status::Pass, "{summary:?}");
            assert!(summary.detail.contains("all 4 member accounts"), "{summary:?}");
        }

        let live = organization(&[
            ("freeze", freeze, &["ou-a", "ou-b"]),
            ("regions", regions, &["ou-c", "222222222223"]),
            ("trail", trail, &["r-1"]),
        ]);
        let findings = evaluate_guardrails(&live);
        let frozen = organization_finding(&findings, "scp: S3 Block Public Access frozen");
        assert_eq!(frozen.status, Status::Fail);
        assert!(
            frozen.detail.contains("2 of 4") && frozen.detail.contains("app-c") && frozen.detail.contains("app-d"),
            "{frozen:?}"
        );
        assert!(!frozen.detail.contains("app-a"), "{frozen:?}");
        let region = organization_finding(&findings, "scp: region allow-list");
        assert!(
            region.detail.contains("2 of 4") && region.detail.contains("app-a") && region.detail.contains("app-b"),
            "{region:?}"
        );
    }

    /// A deny that depends on a key the evaluator cannot decide is reported as "may", naming the key.
    #[test]
    fn undecidable_conditions_are_reported_as_may_deny() {
        let mfa = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "s3:PutAccountPublicAccessBlock",
            "Resource": "*", "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}}]});
        let live = organization(&[("mfa", mfa, &["r-1"])]);
        let findings = evaluate_guardrails(&live);
        let account = findings
            .iter()
            .find(|f| f.scope.starts_with("app-a") && f.control == "scp: S3 Block Public Access frozen")
            .expect("per-account finding");
        assert!(
            account.detail.contains("may not be denied") && account.detail.contains("aws:MultiFactorAuthPresent"),
            "{account:?}"
        );
    }

    /// SCPs do nothing while the policy type is disabled on the root.
    #[test]
    fn disabled_scps_cover_nothing() {
        let trail = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "cloudtrail:*", "Resource": "*"}]});
        let mut live = organization(&[("trail", trail, &["r-1"])]);
        if let Some(root) = live.root.as_mut() {
            root.policy_types.clear();
        }
        let findings = evaluate_guardrails(&live);
        assert_eq!(organization_finding(&findings, "scp: organization trail protected").status, Status::Fail);
    }
}
