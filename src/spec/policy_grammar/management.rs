//! Management policy types (tag, backup, AI opt-out, chat applications, declarative EC2, Security
//! Hub, Inspector, S3, Bedrock): each has its own top-level key and settings, shaped with the
//! inheritance operators of `inheritance.rs`. None of them is an IAM document; AWS rejects a
//! `Version`/`Statement` document for these types (moto accepts it).
//!
//! Sources, one per type (the top-level key each page fixes):
//! - tags: https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_example-tag-policies.html
//! - plans: https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_backup_syntax.html
//! - services: https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_ai-opt-out_syntax.html
//! - chatbot: https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_chatbot_syntax.html
//! - ec2_attributes: https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_declarative_syntax.html
//! - securityhub: https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_security_hub_syntax.html
//!   (`enable_in_regions` and `disable_in_regions` both required, possibly empty)
//! - inspector: https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_inspector_syntax.html
//! - s3_attributes: https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_s3_syntax.html
//!
//! BEDROCK_POLICY's page was not checked, so only its shape (not IAM, valid operators) is.

use serde_json::{Map, Value};

use super::{child, inheritance, kind, GrammarError};
use crate::spec::model::PolicyType;

/// The one top-level key of each management type, where its syntax page was checked.
pub fn top_level_key(policy_type: PolicyType) -> Option<&'static str> {
    match policy_type {
        PolicyType::TagPolicy => Some("tags"),
        PolicyType::BackupPolicy => Some("plans"),
        PolicyType::AiServicesOptOutPolicy => Some("services"),
        PolicyType::ChatbotPolicy => Some("chatbot"),
        PolicyType::DeclarativePolicyEc2 => Some("ec2_attributes"),
        PolicyType::SecurityhubPolicy => Some("securityhub"),
        PolicyType::InspectorPolicy => Some("inspector"),
        PolicyType::S3Policy => Some("s3_attributes"),
        PolicyType::BedrockPolicy | PolicyType::ServiceControlPolicy | PolicyType::ResourceControlPolicy => None,
    }
}

/// Checks a management policy document.
pub fn check(policy_type: PolicyType, document: &Value) -> Vec<GrammarError> {
    let mut errors = Vec::new();
    let root: Vec<String> = Vec::new();
    let Some(object) = document.as_object() else {
        errors.push(GrammarError::at(&root, format!("a policy document is a JSON object, not {}", kind(document))));
        return errors;
    };
    let expected = top_level_key(policy_type);
    let a_type = with_article(policy_type);
    let shape = match expected {
        Some(key) => format!("{{ \"{key}\": {{ ... }} }}"),
        None => "its own settings with @@ operators".to_string(),
    };
    if ["Version", "Statement"].iter().any(|key| object.contains_key(*key)) {
        errors.push(
            GrammarError::at(
                &root,
                format!("{a_type} is not an IAM policy: `Version`/`Statement` belong to SCPs and RCPs"),
            )
            .hint(format!(
                "{a_type} document is {shape}; or set `type: SERVICE_CONTROL_POLICY` if this is meant as an SCP"
            )),
        );
        return errors;
    }
    if let Some(key) = expected {
        for other in object.keys().filter(|k| k.as_str() != key) {
            errors.push(
                GrammarError::at_key(&child(&root, other), format!("unknown top-level key `{other}` in {a_type}"))
                    .hint(format!("{a_type} document is {shape}")),
            );
        }
        match object.get(key) {
            None => errors.push(
                GrammarError::at(&root, format!("{a_type} needs the top-level key `{key}`"))
                    .hint(format!("the document is {shape}")),
            ),
            Some(Value::Object(settings)) => type_rules(policy_type, &child(&root, key), settings, &mut errors),
            Some(other) => errors
                .push(GrammarError::at(&child(&root, key), format!("`{key}` must be an object, not {}", kind(other)))),
        }
    }
    inheritance::check(&root, document, &mut errors);
    errors
}

/// "a TAG_POLICY", "an AISERVICES_OPT_OUT_POLICY".
fn with_article(policy_type: PolicyType) -> String {
    let name = policy_type.as_aws();
    let article = if name.starts_with(['A', 'E', 'I', 'O', 'U']) { "an" } else { "a" };
    format!("{article} {name}")
}

fn type_rules(policy_type: PolicyType, path: &[String], settings: &Map<String, Value>, errors: &mut Vec<GrammarError>) {
    match policy_type {
        PolicyType::TagPolicy => {
            const KEYS: &[&str] =
                &["tag_key", "tag_value", "enforced_for", "report_required_tag_for", inheritance::CHILD_CONTROL];
            for (policy_key, entry) in settings {
                let entry_path = child(path, policy_key);
                let Some(entry) = entry.as_object() else {
                    errors.push(GrammarError::at(
                        &entry_path,
                        format!("tag policy entry `{policy_key}` must be an object, not {}", kind(entry)),
                    ));
                    continue;
                };
                for key in entry.keys().filter(|k| !KEYS.contains(&k.as_str())) {
                    errors.push(
                        GrammarError::at_key(&child(&entry_path, key), format!("unknown tag policy element `{key}`"))
                            .hint("an entry has tag_key, tag_value, enforced_for and report_required_tag_for"),
                    );
                }
                // The tag key must match the policy key except for letter case.
                if let Some(Value::String(tag_key)) = entry.get("tag_key").and_then(|k| k.get("@@assign")) {
                    if !tag_key.eq_ignore_ascii_case(policy_key) && tag_key.to_lowercase() != policy_key.to_lowercase()
                    {
                        errors.push(
                            GrammarError::at(
                                &child(&child(&entry_path, "tag_key"), "@@assign"),
                                format!("tag key `{tag_key}` does not match its policy key `{policy_key}`"),
                            )
                            .hint("the policy key is the tag key in any letter case"),
                        );
                    }
                }
            }
        }
        PolicyType::AiServicesOptOutPolicy => {
            for (service, entry) in settings {
                let entry_path = child(path, service);
                let Some(entry) = entry.as_object() else {
                    errors.push(GrammarError::at(
                        &entry_path,
                        format!("service entry `{service}` must be an object, not {}", kind(entry)),
                    ));
                    continue;
                };
                for key in
                    entry.keys().filter(|k| k.as_str() != "opt_out_policy" && k.as_str() != inheritance::CHILD_CONTROL)
                {
                    errors.push(
                        GrammarError::at_key(&child(&entry_path, key), format!("unknown AI opt-out element `{key}`"))
                            .hint("a service entry has `opt_out_policy`"),
                    );
                }
                if let Some(assign) = entry.get("opt_out_policy").and_then(|p| p.get("@@assign")) {
                    if !matches!(assign.as_str(), Some("optIn" | "optOut")) {
                        errors.push(
                            GrammarError::at(
                                &child(&child(&entry_path, "opt_out_policy"), "@@assign"),
                                format!("`opt_out_policy` is {assign}; it must be \"optIn\" or \"optOut\""),
                            )
                            .hint("the value is case-sensitive"),
                        );
                    }
                }
            }
        }
        PolicyType::BackupPolicy => backup_plans(path, settings, errors),
        PolicyType::SecurityhubPolicy => {
            for key in ["enable_in_regions", "disable_in_regions"] {
                if !settings.contains_key(key) {
                    errors.push(GrammarError::at(
                        path,
                        format!("a SECURITYHUB_POLICY needs `{key}` (it may be an empty list)"),
                    ));
                }
            }
        }
        _ => {}
    }
}

/// The elements a backup plan, a rule, a copy action and a selection may hold.
/// https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_backup_syntax.html
const PLAN_KEYS: &[&str] = &["regions", "rules", "selections", "advanced_backup_settings", "backup_plan_tags"];
const RULE_KEYS: &[&str] = &[
    "schedule_expression",
    "schedule_expression_timezone",
    "start_backup_window_minutes",
    "complete_backup_window_minutes",
    "target_backup_vault_name",
    "target_logically_air_gapped_backup_vault_arn",
    "lifecycle",
    "copy_actions",
    "recovery_point_tags",
    "enable_continuous_backup",
    "index_actions",
];
const LIFECYCLE_KEYS: &[&str] =
    &["delete_after_days", "move_to_cold_storage_after_days", "opt_in_to_archive_for_supported_resources"];
const COPY_KEYS: &[&str] = &["target_backup_vault_arn", "lifecycle"];
const SELECTION_KINDS: &[&str] = &["tags", "resources"];
const TAG_SELECTION_KEYS: &[&str] = &["iam_role_arn", "tag_key", "tag_value"];
const RESOURCE_SELECTION_KEYS: &[&str] = &["iam_role_arn", "resource_types", "not_resource_types", "conditions"];

/// The object at `path`, or an error saying what it must be.
fn object_at<'a>(
    path: &[String],
    what: &str,
    value: &'a Value,
    errors: &mut Vec<GrammarError>,
) -> Option<&'a Map<String, Value>> {
    if let Some(object) = value.as_object() {
        return Some(object);
    }
    errors.push(GrammarError::at(path, format!("{what} must be an object, not {}", kind(value))));
    None
}

/// Keys of `object` outside `allowed` (`@@` operators are checked by `inheritance.rs`).
fn unknown_keys(
    path: &[String],
    object: &Map<String, Value>,
    allowed: &[&str],
    what: &str,
    errors: &mut Vec<GrammarError>,
) {
    for key in object.keys().filter(|key| !key.starts_with("@@") && !allowed.contains(&key.as_str())) {
        errors.push(
            GrammarError::at_key(&child(path, key), format!("unknown element `{key}` in {what}"))
                .hint(format!("{what} holds {}", allowed.join(", "))),
        );
    }
}

/// `plans`: each plan's keys, its rules (schedule, lifecycle, copy actions) and its selections.
fn backup_plans(path: &[String], plans: &Map<String, Value>, errors: &mut Vec<GrammarError>) {
    for (plan_name, plan) in plans.iter().filter(|(name, _)| !name.starts_with("@@")) {
        let plan_path = child(path, plan_name);
        let Some(plan) = object_at(&plan_path, &format!("plan `{plan_name}`"), plan, errors) else { continue };
        unknown_keys(&plan_path, plan, PLAN_KEYS, "a backup plan", errors);
        if let Some(Value::Object(rules)) = plan.get("rules") {
            for (rule_name, rule) in rules.iter().filter(|(name, _)| !name.starts_with("@@")) {
                let rule_path = child(&child(&plan_path, "rules"), rule_name);
                let Some(rule) = object_at(&rule_path, &format!("rule `{rule_name}`"), rule, errors) else { continue };
                unknown_keys(&rule_path, rule, RULE_KEYS, "a backup rule", errors);
                if let Some(Value::String(schedule)) = rule.get("schedule_expression").and_then(|s| s.get("@@assign")) {
                    let shaped =
                        (schedule.starts_with("cron(") || schedule.starts_with("rate(")) && schedule.ends_with(')');
                    if !shaped {
                        errors.push(
                            GrammarError::at(
                                &child(&child(&rule_path, "schedule_expression"), "@@assign"),
                                format!("`{schedule}` is not a schedule expression"),
                            )
                            .hint("`cron(0 5 ? * * *)` or `rate(12 hours)`"),
                        );
                    }
                }
                if let Some(lifecycle) = rule.get("lifecycle") {
                    let lifecycle_path = child(&rule_path, "lifecycle");
                    if let Some(lifecycle) = object_at(&lifecycle_path, "`lifecycle`", lifecycle, errors) {
                        unknown_keys(&lifecycle_path, lifecycle, LIFECYCLE_KEYS, "a lifecycle", errors);
                    }
                }
                if let Some(Value::Object(copies)) = rule.get("copy_actions") {
                    for (vault, copy) in copies.iter().filter(|(name, _)| !name.starts_with("@@")) {
                        let copy_path = child(&child(&rule_path, "copy_actions"), vault);
                        let Some(copy) = object_at(&copy_path, "a copy action", copy, errors) else { continue };
                        unknown_keys(&copy_path, copy, COPY_KEYS, "a copy action", errors);
                        if !copy.contains_key("target_backup_vault_arn") {
                            errors.push(GrammarError::at(&copy_path, "a copy action needs `target_backup_vault_arn`"));
                        }
                    }
                }
            }
        }
        if let Some(Value::Object(selections)) = plan.get("selections") {
            let selections_path = child(&plan_path, "selections");
            unknown_keys(&selections_path, selections, SELECTION_KINDS, "`selections`", errors);
            for (kind_name, allowed) in [("tags", TAG_SELECTION_KEYS), ("resources", RESOURCE_SELECTION_KEYS)] {
                let Some(Value::Object(entries)) = selections.get(kind_name) else { continue };
                for (name, entry) in entries.iter().filter(|(name, _)| !name.starts_with("@@")) {
                    let entry_path = child(&child(&selections_path, kind_name), name);
                    let Some(entry) = object_at(&entry_path, "a selection", entry, errors) else { continue };
                    unknown_keys(&entry_path, entry, allowed, "a selection", errors);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn management_types_table() {
        use PolicyType::*;
        let iam = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]});
        let cases: Vec<(PolicyType, Value, Option<&str>)> = vec![
            (
                TagPolicy,
                json!({"tags": {"costcenter": {"tag_key": {"@@assign": "CostCenter"}, "tag_value": {"@@assign": ["100"]}, "enforced_for": {"@@assign": ["secretsmanager:*"]}}}}),
                None,
            ),
            (
                AiServicesOptOutPolicy,
                json!({"services": {"default": {"opt_out_policy": {"@@assign": "optOut"}}}}),
                None,
            ),
            (
                SecurityhubPolicy,
                json!({"securityhub": {"enable_in_regions": {"@@append": ["ALL_SUPPORTED"]}, "disable_in_regions": {"@@append": []}}}),
                None,
            ),
            (S3Policy, json!({"s3_attributes": {"public_access_block_configuration": {"@@assign": "all"}}}), None),
            (
                DeclarativePolicyEc2,
                json!({"ec2_attributes": {"image_block_public_access": {"state": {"@@assign": "block_new_sharing"}}}}),
                None,
            ),
            (BedrockPolicy, json!({"bedrock": {"x": {"@@assign": "y"}}}), None),
            (TagPolicy, iam.clone(), Some(": a TAG_POLICY is not an IAM policy")),
            (BackupPolicy, iam.clone(), Some(": a BACKUP_POLICY is not an IAM policy")),
            (BedrockPolicy, iam, Some(": a BEDROCK_POLICY is not an IAM policy")),
            (
                AiServicesOptOutPolicy,
                json!({"foo": "bar"}),
                Some("foo: unknown top-level key `foo` in an AISERVICES_OPT_OUT_POLICY"),
            ),
            (
                AiServicesOptOutPolicy,
                json!({"foo": "bar"}),
                Some(": an AISERVICES_OPT_OUT_POLICY needs the top-level key `services`"),
            ),
            (
                AiServicesOptOutPolicy,
                json!({"services": {"default": {"opt_out_policy": {"@@assign": "maybe"}}}}),
                Some("services.default.opt_out_policy.@@assign: `opt_out_policy` is \"maybe\""),
            ),
            (
                AiServicesOptOutPolicy,
                json!({"services": []}),
                Some("services: `services` must be an object, not an array"),
            ),
            (
                TagPolicy,
                json!({"tags": {"costcenter": {"tag_keys": {"@@assign": "CostCenter"}}}}),
                Some("tags.costcenter.tag_keys: unknown tag policy element `tag_keys`"),
            ),
            (
                TagPolicy,
                json!({"tags": {"costcenter": {"tag_key": {"@@assign": "Owner"}}}}),
                Some("does not match its policy key"),
            ),
            (
                TagPolicy,
                json!({"tags": {"costcenter": {"tag_value": {"@@append": "100"}}}}),
                Some("tags.costcenter.tag_value.@@append: `@@append` applies only to multi-valued settings"),
            ),
            (
                SecurityhubPolicy,
                json!({"securityhub": {"enable_in_regions": {"@@append": []}}}),
                Some("securityhub: a SECURITYHUB_POLICY needs `disable_in_regions`"),
            ),
            (ChatbotPolicy, json!("x"), Some(": a policy document is a JSON object, not a string")),
            (
                BackupPolicy,
                json!({"plans": {"daily": {
                    "regions": {"@@assign": ["eu-west-1"]},
                    "rules": {"daily": {
                        "schedule_expression": {"@@assign": "cron(0 5 ? * * *)"},
                        "target_backup_vault_name": {"@@assign": "Default"},
                        "lifecycle": {"delete_after_days": {"@@assign": "35"}},
                        "copy_actions": {"arn:aws:backup:eu-west-1:111111111111:backup-vault:bunker": {
                            "target_backup_vault_arn": {"@@assign": "arn:aws:backup:eu-west-1:111111111111:backup-vault:bunker"},
                            "lifecycle": {"delete_after_days": {"@@assign": "365"}}}}}},
                    "selections": {"tags": {"daily": {"iam_role_arn": {"@@assign": "arn:aws:iam::$account:role/R"},
                        "tag_key": {"@@assign": "backup"}, "tag_value": {"@@assign": ["daily"]}}}}}}}),
                None,
            ),
            (
                BackupPolicy,
                json!({"plans": {"daily": {"rules": {"daily": {"schedule": {"@@assign": "cron(0 5 ? * * *)"}}}}}}),
                Some("plans.daily.rules.daily.schedule: unknown element `schedule` in a backup rule"),
            ),
            (
                BackupPolicy,
                json!({"plans": {"daily": {"rules": {"daily": {"schedule_expression": {"@@assign": "every day"}}}}}}),
                Some("plans.daily.rules.daily.schedule_expression.@@assign: `every day` is not a schedule expression"),
            ),
            (
                BackupPolicy,
                json!({"plans": {"daily": {"rules": {"daily": {"copy_actions": {"x": {"lifecycle": {}}}}}}}}),
                Some("plans.daily.rules.daily.copy_actions.x: a copy action needs `target_backup_vault_arn`"),
            ),
            (
                BackupPolicy,
                json!({"plans": {"daily": {"selections": {"tags": {"t": {"tag_keys": {"@@assign": "x"}}}}}}}),
                Some("plans.daily.selections.tags.t.tag_keys: unknown element `tag_keys` in a selection"),
            ),
        ];
        for (policy_type, document, expected) in cases {
            let found: Vec<String> =
                check(policy_type, &document).iter().map(|e| format!("{}: {}", e.path.join("."), e.message)).collect();
            match expected {
                None => assert!(found.is_empty(), "{policy_type} {document}: {found:?}"),
                Some(expected) => {
                    assert!(found.iter().any(|m| m.contains(expected)), "{policy_type} {document}: {found:?}")
                }
            }
        }
    }
}
