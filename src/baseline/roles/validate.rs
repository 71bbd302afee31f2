//! Offline rules of `baseline.roles`: names, targets, trust, managed policies and session duration. Reported through
//! `spec::validate::Checker` at the value's line and column, with the spec's own rules (`Baseline::validate`).

use crate::spec::diagnostic::did_you_mean;
use crate::spec::regions::partition_of;
use crate::spec::validate::Checker;
use crate::spec::validate::{is_account_id, is_iam_name};

/// Managed policies IAM attaches to one role by default.
const MANAGED_POLICIES_PER_ROLE: usize = 10;

/// IAM attaches at most 10 managed policies to a role by default (20 after a quota increase),
/// and a policy ARN names its partition, which must be the spec's.
/// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html
/// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html
fn managed_policies(checker: &mut Checker<'_>, base: &[&str; 3], role: &crate::spec::RoleSpec) {
    let path = [base[0], base[1], base[2], "managed_policies"];
    if role.managed_policies.len() > MANAGED_POLICIES_PER_ROLE {
        checker.error(
            &path,
            format!(
                "role `{}` attaches {} managed policies; IAM allows {MANAGED_POLICIES_PER_ROLE} per role by default",
                base[2],
                role.managed_policies.len()
            ),
            Some("merge policies, or move some into `inline_policies`; AWS raises the quota to 20 on request (Service Quotas: IAM `Managed policies per role`)".to_string()),
        );
    }
    let home = checker.spec().organization.regions.first().map_or("us-east-1", String::as_str);
    let expected = partition_of(home);
    for (index, arn) in role.managed_policies.iter().enumerate() {
        let partition = arn.strip_prefix("arn:").and_then(|rest| rest.split(':').next()).unwrap_or_default();
        if partition != expected {
            let index = index.to_string();
            checker.error(
                &[path[0], path[1], path[2], path[3], index.as_str()],
                format!("managed policy `{arn}` is not in partition `{expected}`, the partition of `{home}`"),
                Some(format!("write it as `arn:{expected}:iam::...`")),
            );
        }
    }
}

pub(super) fn check(checker: &mut Checker<'_>) {
    let spec = checker.spec();
    for (name, role) in &spec.baseline.roles {
        let base = ["baseline", "roles", name.as_str()];
        if !is_iam_name(name, 64) {
            checker.error_at(
                &base,
                true,
                format!("`{name}` is not a valid IAM role name (1-64 of letters, digits and +=,.@_-)"),
                None,
            );
        }
        if name == &spec.organization.access_role {
            checker.error_at(
                &base,
                true,
                format!("`{name}` is the executor's access role; managing it here could lock the tool out"),
                Some("pick another role name".to_string()),
            );
        }
        checker.targets(&[base[0], base[1], base[2], "targets"], &role.targets, true);
        managed_policies(checker, &base, role);
        if role.targets.is_empty() {
            checker.error(&[base[0], base[1], base[2], "targets"], format!("role `{name}` targets no account"), None);
        }
        let trust = &role.trust;
        if trust.accounts.is_empty() && trust.roles.is_empty() && trust.services.is_empty() {
            checker.error(
                &[base[0], base[1], base[2], "trust"],
                format!("role `{name}` trusts nobody"),
                Some("list `accounts`, `roles` or `services` under `trust`".to_string()),
            );
        }
        for (index, account) in trust.accounts.iter().enumerate() {
            if !is_account_id(account) {
                let index = index.to_string();
                checker.account_reference(&[base[0], base[1], base[2], "trust", "accounts", &index], account);
            }
        }
        for (index, reference) in trust.roles.iter().enumerate() {
            let index = index.to_string();
            let at = [base[0], base[1], base[2], "trust", "roles", index.as_str()];
            match reference.split_once('/') {
                Some((account, role_name)) => {
                    if !is_account_id(account) {
                        checker.account_reference(&at, account);
                    }
                    let known =
                        role_name == spec.organization.access_role || spec.baseline.roles.contains_key(role_name);
                    if !known && !is_account_id(account) {
                        let candidates: Vec<&str> = spec
                            .baseline
                            .roles
                            .keys()
                            .map(String::as_str)
                            .chain(std::iter::once(spec.organization.access_role.as_str()))
                            .collect();
                        checker.error(
                            &at,
                            format!("role `{role_name}` is not defined in the spec"),
                            did_you_mean(role_name, candidates.iter().copied()).or_else(|| {
                                Some(
                                    "trusted roles must be `baseline.roles` entries or `organization.access_role`"
                                        .to_string(),
                                )
                            }),
                        );
                    }
                }
                None => checker.error(
                    &at,
                    format!("`{reference}` is not of the form `account/RoleName`"),
                    Some("e.g. `security/SecurityAuditor`".to_string()),
                ),
            }
        }
        for (index, service) in trust.services.iter().enumerate() {
            if !service.ends_with(".amazonaws.com") {
                let index = index.to_string();
                checker.error(
                    &[base[0], base[1], base[2], "trust", "services", &index],
                    format!("`{service}` is not a service principal"),
                    None,
                );
            }
        }
        if let Some(external_id) = &trust.external_id {
            if !(2..=1224).contains(&external_id.len()) {
                checker.error(
                    &[base[0], base[1], base[2], "trust", "external_id"],
                    "external ID must be 2-1224 characters".to_string(),
                    None,
                );
            }
        }
        for (index, arn) in role.managed_policies.iter().enumerate() {
            let valid = arn.starts_with("arn:aws") && arn.contains(":iam::") && arn.contains(":policy/");
            if !valid {
                let index = index.to_string();
                checker.error(
                    &[base[0], base[1], base[2], "managed_policies", &index],
                    format!("`{arn}` is not an IAM policy ARN"),
                    Some("e.g. arn:aws:iam::aws:policy/ReadOnlyAccess".to_string()),
                );
            }
        }
        if role.managed_policies.len() > 20 {
            checker.error(
                &[base[0], base[1], base[2], "managed_policies"],
                "a role may have at most 20 managed policies".to_string(),
                None,
            );
        }
        if !(3600..=43_200).contains(&role.max_session_duration) {
            checker.error(
                &[base[0], base[1], base[2], "max_session_duration"],
                format!(
                    "max_session_duration {} is outside AWS's range 3,600-43,200 seconds",
                    role.max_session_duration
                ),
                None,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::baseline::validate::messages;

    const ROLE: &str = "version: 1
organization: { management_account: management, regions: [REGIONS] }
accounts:
  management: { email: root@example.com }
baseline:
  roles:
    Auditor:
      targets: { accounts: [management] }
      trust: { accounts: [management] }
      managed_policies: [POLICIES]
";

    fn role_spec(regions: &str, policies: &[String]) -> String {
        ROLE.replace("REGIONS", regions).replace("POLICIES", &policies.join(", "))
    }

    #[test]
    fn at_most_ten_managed_policies_per_role() {
        let policies: Vec<String> = (0..11).map(|n| format!("arn:aws:iam::aws:policy/P{n}")).collect();
        let errors = messages(&role_spec("us-east-1", &policies));
        assert!(
            errors.iter().any(|error| error.contains("attaches 11 managed policies") && error.contains("20")),
            "{errors:#?}"
        );
        assert!(messages(&role_spec("us-east-1", &policies[..10])).is_empty());
    }

    #[test]
    fn managed_policy_arns_carry_the_specs_partition() {
        let policies = vec!["arn:aws:iam::aws:policy/ReadOnlyAccess".to_string()];
        let errors = messages(&role_spec("us-gov-west-1", &policies));
        assert!(
            errors
                .iter()
                .any(|error| error.contains("arn:aws:iam::aws:policy/ReadOnlyAccess") && error.contains("aws-us-gov")),
            "{errors:#?}"
        );
        let china = vec!["arn:aws-cn:iam::aws:policy/ReadOnlyAccess".to_string()];
        assert!(messages(&role_spec("cn-north-1", &china)).is_empty());
    }
}
