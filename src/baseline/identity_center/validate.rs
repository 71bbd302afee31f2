//! Offline rules of `identity_center:` (AWS's limits for IAM Identity Center), reported through
//! `spec::validate::Checker` like the spec's own rules: at the value's line and column, all at once.
//!
//! Limits: https://docs.aws.amazon.com/singlesignon/latest/APIReference/API_CreatePermissionSet.html
//! (name `[\\w+=,.@-]{1,32}`, description 1-700, session duration ISO-8601),
//! https://docs.aws.amazon.com/singlesignon/latest/userguide/howtosessionduration.html (1-12 hours),
//! https://docs.aws.amazon.com/singlesignon/latest/APIReference/API_PutInlinePolicyToPermissionSet.html
//! (inline policy ≤ 32,768 characters),
//! https://docs.aws.amazon.com/singlesignon/latest/userguide/limits.html (20 managed policies per
//! permission set, AWS's default quota),
//! https://docs.aws.amazon.com/singlesignon/latest/IdentityStoreAPIReference/API_CreateGroup.html and
//! https://docs.aws.amazon.com/singlesignon/latest/IdentityStoreAPIReference/API_CreateUser.html
//! (`Administrator` and `AWSAdministrators` are reserved for users and groups),
//! https://docs.aws.amazon.com/singlesignon/latest/userguide/delegated-admin.html (a delegated
//! administrator cannot manage the management account's assignments).

use crate::spec::diagnostic::did_you_mean;
use crate::spec::policy_grammar;
use crate::spec::regions::partition_of;
use crate::spec::validate::Checker;

/// Managed policies (AWS managed plus customer managed) per permission set, AWS's default quota.
pub const MANAGED_POLICIES_PER_PERMISSION_SET: usize = 20;
/// PutInlinePolicyToPermissionSet's `InlinePolicy` maximum length.
pub const MAX_INLINE_POLICY_CHARS: usize = 32_768;
const MAX_DESCRIPTION_CHARS: usize = 700;
/// Names the identity store refuses for users and groups ("Administrator and AWSAdministrators are
/// reserved names and can't be used for users or groups", API_CreateGroup / API_CreateUser). The
/// pages do not say the comparison ignores case, so it does not here either.
pub const RESERVED_PRINCIPAL_NAMES: [&str; 2] = ["Administrator", "AWSAdministrators"];

/// A permission set description's characters: `[\u0009\u000A\u000D\u0020-\u007E\u00A1-\u00FF]*`
/// (CreatePermissionSet and UpdatePermissionSet, `Description`).
/// https://docs.aws.amazon.com/singlesignon/latest/APIReference/API_UpdatePermissionSet.html
pub fn is_description_character(c: char) -> bool {
    matches!(c, '\u{9}' | '\u{A}' | '\u{D}' | '\u{20}'..='\u{7E}' | '\u{A1}'..='\u{FF}')
}

/// Seconds of an ISO-8601 duration of hours, minutes and seconds (`PT4H`, `PT1H30M`); None for
/// anything else.
pub fn session_duration_seconds(text: &str) -> Option<u32> {
    let mut rest = text.strip_prefix("PT")?;
    if rest.is_empty() {
        return None;
    }
    let mut total: u32 = 0;
    let mut last_unit = 0;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 || digits > 6 {
            return None;
        }
        let value: u32 = rest[..digits].parse().ok()?;
        let (unit, order) = match rest[digits..].chars().next()? {
            'H' => (3600, 1),
            'M' => (60, 2),
            'S' => (1, 3),
            _ => return None,
        };
        if order <= last_unit {
            return None;
        }
        last_unit = order;
        total = total.checked_add(value.checked_mul(unit)?)?;
        rest = &rest[digits + 1..];
    }
    Some(total)
}

fn is_permission_set_name(name: &str) -> bool {
    (1..=32).contains(&name.chars().count()) && name.chars().all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c))
}

/// Checks `identity_center:`, if the spec has it.
pub(super) fn check(checker: &mut Checker<'_>) {
    let spec = checker.spec();
    let Some(identity_center) = &spec.identity_center else { return };
    match &identity_center.admin_account {
            Some(admin) => checker.account_reference(&["identity_center", "admin_account"], admin),
            None if spec.organization.management_account.is_none() => checker.error_at(
                &["identity_center"],
                true,
                "`identity_center` needs to know which account administers the instance".to_string(),
                Some("set `organization.management_account`, or `identity_center.admin_account` to its delegated administrator".to_string()),
            ),
            None => {}
        }
    let mut seen = std::collections::BTreeSet::new();
    for (index, group) in identity_center.groups.iter().enumerate() {
        let index = index.to_string();
        if group.trim().is_empty() || group.chars().count() > 1024 {
            checker.error(
                &["identity_center", "groups", &index],
                "a group display name is 1-1024 characters".to_string(),
                None,
            );
        }
        if !seen.insert(group) {
            checker.error(&["identity_center", "groups", &index], format!("group `{group}` is listed twice"), None);
        }
        reserved_principal_name(checker, &["identity_center", "groups", &index], "group", group);
    }
    let home = spec.organization.regions.first().map_or("us-east-1", String::as_str);
    let partition = partition_of(home);
    for (name, set) in &identity_center.permission_sets {
        let base = ["identity_center", "permission_sets", name.as_str()];
        let at = |field: &'static str| [base[0], base[1], base[2], field];
        if !is_permission_set_name(name) {
            checker.error_at(
                &base,
                true,
                format!("`{name}` is not a valid permission set name (1-32 of letters, digits and _+=,.@-)"),
                None,
            );
        }
        if let Some(description) = &set.description {
            let length = description.chars().count();
            if length == 0 || length > MAX_DESCRIPTION_CHARS {
                checker.error(
                        &at("description"),
                        format!("the description of permission set `{name}` is {length} characters; AWS allows 1-{MAX_DESCRIPTION_CHARS}"),
                        None,
                    );
            }
            if let Some(bad) = description.chars().find(|c| !is_description_character(*c)) {
                checker.error(
                        &at("description"),
                        format!(
                            "the description of permission set `{name}` contains {bad:?} (U+{:04X}), which IAM Identity Center refuses",
                            u32::from(bad)
                        ),
                        Some("use printable ASCII or Latin-1 characters (U+0020-U+007E, U+00A1-U+00FF), tabs and line breaks".to_string()),
                    );
            }
        }
        if let Some(duration) = &set.session_duration {
            match session_duration_seconds(duration) {
                Some(seconds) if (3600..=43_200).contains(&seconds) => {}
                Some(_) => checker.error(
                    &at("session_duration"),
                    format!("session duration `{duration}` is outside IAM Identity Center's range of 1 to 12 hours"),
                    Some("write an ISO-8601 duration from `PT1H` to `PT12H`".to_string()),
                ),
                None => checker.error(
                    &at("session_duration"),
                    format!("`{duration}` is not an ISO-8601 duration of hours and minutes"),
                    Some("e.g. `PT4H` or `PT1H30M`".to_string()),
                ),
            }
        }
        let attached = set.managed_policies.len() + set.customer_managed_policies.len();
        if attached > MANAGED_POLICIES_PER_PERMISSION_SET {
            checker.error(
                    &at("managed_policies"),
                    format!("permission set `{name}` attaches {attached} managed and customer managed policies; IAM Identity Center allows {MANAGED_POLICIES_PER_PERMISSION_SET} by default"),
                    Some("merge policies into the inline policy, or raise the quota in Service Quotas".to_string()),
                );
        }
        for (index, arn) in set.managed_policies.iter().enumerate() {
            let index = index.to_string();
            let path = [base[0], base[1], base[2], "managed_policies", index.as_str()];
            let arn_partition = arn.strip_prefix("arn:").and_then(|rest| rest.split(':').next()).unwrap_or_default();
            if !(arn.contains(":iam::") && arn.contains(":policy/")) {
                checker.error(
                    &path,
                    format!("`{arn}` is not an IAM policy ARN"),
                    Some("e.g. arn:aws:iam::aws:policy/ReadOnlyAccess".to_string()),
                );
            } else if arn_partition != partition {
                checker.error(
                    &path,
                    format!("managed policy `{arn}` is not in partition `{partition}`, the partition of `{home}`"),
                    Some(format!("write it as `arn:{partition}:iam::...`")),
                );
            }
        }
        if let Some(boundary) = &set.permissions_boundary {
            if boundary.managed_policy.is_some() == boundary.customer_managed_policy.is_some() {
                checker.error(
                        &at("permissions_boundary"),
                        format!("the permissions boundary of `{name}` must name exactly one of `managed_policy` and `customer_managed_policy`"),
                        None,
                    );
            }
        }
        if let Some(document) = checker.valid().permission_set_documents.get(name) {
            let path = at("inline_policy");
            for problem in policy_grammar::check_identity_policy(document) {
                checker.document_error(&path, problem);
            }
            let size = document.to_string().chars().count();
            if size > MAX_INLINE_POLICY_CHARS {
                checker.error(
                        &path,
                        format!("the inline policy of permission set `{name}` is {size} characters minified; IAM Identity Center allows {MAX_INLINE_POLICY_CHARS}"),
                        Some("move statements into customer managed policies".to_string()),
                    );
            }
        }
    }
    // A delegated administrator (an `admin_account` that is not the management account) cannot
    // manage the management account's assignments nor the permission sets provisioned there:
    // "management account only" tasks of the delegated administration page.
    let delegated_management = match (&identity_center.admin_account, &spec.organization.management_account) {
        (Some(admin), Some(management)) if admin != management => Some(management.as_str()),
        _ => None,
    };
    for (index, assignment) in identity_center.assignments.iter().enumerate() {
        let index = index.to_string();
        let base = ["identity_center", "assignments", index.as_str()];
        if assignment.group.is_some() == assignment.user.is_some() {
            checker.error(&base, "an assignment names exactly one of `group` and `user`".to_string(), None);
        }
        if let Some(group) = &assignment.group {
            reserved_principal_name(checker, &[base[0], base[1], base[2], "group"], "group", group);
        }
        if let Some(user) = &assignment.user {
            reserved_principal_name(checker, &[base[0], base[1], base[2], "user"], "user", user);
        }
        if let Some(management) = delegated_management {
            if covers_account(spec, &assignment.targets, management) {
                checker.error(
                        &[base[0], base[1], base[2], "targets"],
                        format!(
                            "this assignment reaches the management account `{management}`, whose assignments a delegated administrator (`identity_center.admin_account`) cannot manage: AWS refuses them"
                        ),
                        Some(format!(
                            "add `exclude: [{management}]` to its targets and assign the management account from the management account, or drop `identity_center.admin_account` to manage Identity Center from the management account (https://docs.aws.amazon.com/singlesignon/latest/userguide/delegated-admin.html)"
                        )),
                    );
            }
        }
        if !identity_center.permission_sets.contains_key(&assignment.permission_set) {
            let known = identity_center.permission_sets.keys().map(String::as_str);
            checker.error(
                &[base[0], base[1], base[2], "permission_set"],
                format!(
                    "permission set `{}` is not defined in `identity_center.permission_sets`",
                    assignment.permission_set
                ),
                did_you_mean(&assignment.permission_set, known),
            );
        }
        checker.targets(&[base[0], base[1], base[2], "targets"], &assignment.targets, true);
        if assignment.targets.is_empty() {
            checker.error(
                &[base[0], base[1], base[2], "targets"],
                "the assignment targets no account".to_string(),
                None,
            );
        }
    }
}

fn reserved_principal_name(checker: &mut Checker<'_>, path: &[&str], noun: &str, name: &str) {
    if RESERVED_PRINCIPAL_NAMES.contains(&name) {
        checker.error(
                path,
                format!("`{name}` is a name IAM Identity Center reserves: no {noun} can have it"),
                Some("choose another name; `Administrator` and `AWSAdministrators` are reserved for users and groups (https://docs.aws.amazon.com/singlesignon/latest/IdentityStoreAPIReference/API_CreateGroup.html)".to_string()),
            );
    }
}

/// Whether `targets` reach the account named `account` (its spec name): named, or in a unit they
/// name (a unit covers the units below it; `Root` covers every account), and not excluded.
fn covers_account(spec: &crate::spec::Spec, targets: &crate::spec::Targets, account: &str) -> bool {
    let Some(unit) = spec.accounts.get(account).map(|entry| entry.unit.as_str()) else { return false };
    let covers = |target: &str| target == "Root" || unit == target || unit.starts_with(&format!("{target}/"));
    let reached = targets.accounts.iter().any(|name| name == account) || targets.units.iter().any(|u| covers(u));
    let excluded = targets.exclude.iter().any(|name| name == account || (name != "Root" && covers(name)));
    reached && !excluded
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_durations_are_iso_8601_hours_minutes_seconds() {
        assert_eq!(session_duration_seconds("PT4H"), Some(14_400));
        assert_eq!(session_duration_seconds("PT1H30M"), Some(5_400));
        assert_eq!(session_duration_seconds("PT90M"), Some(5_400));
        for bad in ["4H", "PT", "PT4", "P1D", "PT1M1H", "PTH", "pt4h"] {
            assert_eq!(session_duration_seconds(bad), None, "{bad}");
        }
    }

    #[test]
    fn description_characters_are_the_api_pattern() {
        assert!("Full access, for the platform team (\u{e9}t\u{e9})\t\n".chars().all(is_description_character));
        for bad in ['\u{7F}', '\u{A0}', '\u{100}', '\u{2192}', '\u{1F600}', '\u{0}'] {
            assert!(!is_description_character(bad), "{bad:?}");
        }
    }

    #[test]
    fn permission_set_names() {
        assert!(is_permission_set_name("Admin_1+=,.@-"));
        assert!(!is_permission_set_name("has space"));
        assert!(!is_permission_set_name(&"a".repeat(33)));
    }
}
