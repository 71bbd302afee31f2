//! The IAM policy language as SCPs, RCPs and identity policies use it.
//!
//! Sources (the contract, not moto, which accepts any JSON):
//! - SCP elements: https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_syntax.html
//!   (Version, Statement, Sid, Effect, Action/NotAction, Resource/NotResource, Condition; no
//!   Principal or NotPrincipal).
//! - RCP elements: https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_rcps_syntax.html
//!   (Effect `Allow` only in the AWS-managed `RCPFullAWSAccess`, so a customer RCP is Deny-only;
//!   `Principal` is required and is `"*"`; no NotAction, no NotPrincipal).
//! - Elements: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements.html,
//!   Sid: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_sid.html
//!   (ASCII letters and digits, unique within the policy).
//! - Condition operators: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
//!   (`...IfExists` on every operator but `Null`; `ForAllValues:` / `ForAnyValue:` set prefixes).

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::{child, kind, GrammarError};

/// Which IAM-language document this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    ServiceControl,
    ResourceControl,
    Identity,
}

impl Flavor {
    fn name(self) -> &'static str {
        match self {
            Flavor::ServiceControl => "an SCP",
            Flavor::ResourceControl => "an RCP",
            Flavor::Identity => "an identity policy",
        }
    }
}

/// The only policy language version AWS accepts in SCPs and RCPs (and the current one for IAM).
pub const VERSION: &str = "2012-10-17";

/// Condition operators without prefix or `IfExists` suffix.
pub const CONDITION_OPERATORS: &[&str] = &[
    "StringEquals",
    "StringNotEquals",
    "StringEqualsIgnoreCase",
    "StringNotEqualsIgnoreCase",
    "StringLike",
    "StringNotLike",
    "NumericEquals",
    "NumericNotEquals",
    "NumericLessThan",
    "NumericLessThanEquals",
    "NumericGreaterThan",
    "NumericGreaterThanEquals",
    "DateEquals",
    "DateNotEquals",
    "DateLessThan",
    "DateLessThanEquals",
    "DateGreaterThan",
    "DateGreaterThanEquals",
    "Bool",
    "BinaryEquals",
    "IpAddress",
    "NotIpAddress",
    "ArnEquals",
    "ArnLike",
    "ArnNotEquals",
    "ArnNotLike",
    "Null",
];

const TOP_LEVEL_KEYS: &[&str] = &["Version", "Id", "Statement"];
const STATEMENT_KEYS: &[&str] =
    &["Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource", "NotResource", "Condition"];

/// Checks a whole IAM-language document.
pub fn check(document: &Value, flavor: Flavor) -> Vec<GrammarError> {
    let mut errors = Vec::new();
    let root: Vec<String> = Vec::new();
    let Some(object) = document.as_object() else {
        errors.push(GrammarError::at(&root, format!("a policy document is a JSON object, not {}", kind(document))));
        return errors;
    };
    if object.contains_key("tags") || object.keys().any(|k| k.starts_with("@@")) {
        errors.push(
            GrammarError::at(
                &root,
                format!("{} uses the IAM policy grammar, not a management policy's", flavor.name()),
            )
            .hint("an SCP or RCP is { \"Version\": \"2012-10-17\", \"Statement\": [...] }; check the policy's `type`"),
        );
        return errors;
    }
    for key in object.keys() {
        if !TOP_LEVEL_KEYS.contains(&key.as_str()) {
            errors.push(
                GrammarError::at_key(&child(&root, key), format!("unknown top-level key `{key}`"))
                    .hint("a policy has `Version`, `Statement` and optionally `Id`"),
            );
        }
    }
    match object.get("Version") {
        None => errors.push(
            GrammarError::at(&root, "the policy has no `Version`").hint(format!("add \"Version\": \"{VERSION}\"")),
        ),
        Some(Value::String(version)) if version == VERSION => {}
        Some(other) => errors.push(
            GrammarError::at(&child(&root, "Version"), format!("`Version` is {other}; AWS requires \"{VERSION}\""))
                .hint(format!("use \"Version\": \"{VERSION}\"")),
        ),
    }
    if let Some(id) = object.get("Id") {
        if !id.is_string() {
            errors.push(GrammarError::at(&child(&root, "Id"), format!("`Id` must be a string, not {}", kind(id))));
        }
    }
    let statement_path = child(&root, "Statement");
    let statements: Vec<(Vec<String>, &Value)> = match object.get("Statement") {
        None => {
            errors.push(GrammarError::at(&root, "the policy has no `Statement`").hint("add a \"Statement\" list"));
            Vec::new()
        }
        Some(Value::Array(items)) if items.is_empty() => {
            errors.push(
                GrammarError::at(&statement_path, "`Statement` is empty").hint("a policy needs at least one statement"),
            );
            Vec::new()
        }
        Some(Value::Array(items)) => {
            items.iter().enumerate().map(|(index, item)| (child(&statement_path, index.to_string()), item)).collect()
        }
        Some(single @ Value::Object(_)) => vec![(statement_path.clone(), single)],
        Some(other) => {
            errors.push(GrammarError::at(
                &statement_path,
                format!("`Statement` must be an object or an array of objects, not {}", kind(other)),
            ));
            Vec::new()
        }
    };
    let mut sids = BTreeSet::new();
    for (path, statement) in statements {
        match statement.as_object() {
            Some(statement) => check_statement(&path, statement, flavor, &mut sids, &mut errors),
            None => errors.push(GrammarError::at(&path, format!("a statement is an object, not {}", kind(statement)))),
        }
    }
    errors
}

fn check_statement(
    path: &[String],
    statement: &Map<String, Value>,
    flavor: Flavor,
    sids: &mut BTreeSet<String>,
    errors: &mut Vec<GrammarError>,
) {
    for key in statement.keys() {
        if !STATEMENT_KEYS.contains(&key.as_str()) {
            let hint = crate::spec::diagnostic::did_you_mean(key, STATEMENT_KEYS.iter().copied())
                .unwrap_or_else(|| format!("a statement has {}", STATEMENT_KEYS.join(", ")));
            errors
                .push(GrammarError::at_key(&child(path, key), format!("unknown statement element `{key}`")).hint(hint));
        }
    }
    if let Some(sid) = statement.get("Sid") {
        let sid_path = child(path, "Sid");
        match sid.as_str() {
            Some(text) if text.chars().all(|c| c.is_ascii_alphanumeric()) => {
                if !text.is_empty() && !sids.insert(text.to_string()) {
                    errors.push(GrammarError::at(&sid_path, format!("`Sid` `{text}` is used by another statement")));
                }
            }
            Some(text) => errors.push(
                GrammarError::at(
                    &sid_path,
                    format!("`Sid` `{}` may hold only ASCII letters and digits", text.escape_default()),
                )
                .hint("e.g. \"DenyLeaveOrganization\""),
            ),
            None => errors.push(GrammarError::at(&sid_path, format!("`Sid` must be a string, not {}", kind(sid)))),
        }
    }
    let effect_path = child(path, "Effect");
    match statement.get("Effect") {
        None => errors.push(
            GrammarError::at(path, "the statement has no `Effect`").hint("add \"Effect\": \"Deny\" or \"Allow\""),
        ),
        Some(Value::String(effect)) if effect == "Deny" => {}
        Some(Value::String(effect)) if effect == "Allow" => {
            if flavor == Flavor::ResourceControl {
                errors.push(
                    GrammarError::at(
                        &effect_path,
                        "an RCP may only deny: `Allow` is reserved for the AWS-managed `RCPFullAWSAccess`",
                    )
                    .hint("use \"Effect\": \"Deny\" with a Condition naming what stays allowed"),
                );
            }
        }
        Some(other) => errors.push(
            GrammarError::at(&effect_path, format!("`Effect` is {other}; it must be \"Allow\" or \"Deny\""))
                .hint("the value is case-sensitive"),
        ),
    }
    exactly_one(path, statement, "Action", "NotAction", true, errors);
    if flavor == Flavor::ResourceControl && statement.contains_key("NotAction") {
        errors.push(
            GrammarError::at_key(&child(path, "NotAction"), "RCPs do not support `NotAction`")
                .hint("list the denied actions under `Action`"),
        );
    }
    for key in ["Action", "NotAction"] {
        if let Some(value) = statement.get(key) {
            for (item_path, item) in string_list(&child(path, key), value, key, errors) {
                if !is_action(item) {
                    errors.push(
                        GrammarError::at(
                            &item_path,
                            format!(
                                "`{}` is not an action (`service:Action`, wildcards allowed)",
                                item.escape_default()
                            ),
                        )
                        .hint("e.g. \"s3:PutObject\", \"ec2:*\" or \"*\""),
                    );
                }
            }
        }
    }
    exactly_one(path, statement, "Resource", "NotResource", flavor == Flavor::Identity, errors);
    for key in ["Resource", "NotResource"] {
        if let Some(value) = statement.get(key) {
            for (item_path, item) in string_list(&child(path, key), value, key, errors) {
                if item != "*" && !item.starts_with("arn:") {
                    errors.push(
                        GrammarError::at(
                            &item_path,
                            format!("`{}` is not a resource ARN or `*`", item.escape_default()),
                        )
                        .hint("resources are ARNs such as \"arn:aws:s3:::bucket/*\", or \"*\""),
                    );
                }
            }
        }
    }
    principal(path, statement, flavor, errors);
    if let Some(condition) = statement.get("Condition") {
        check_condition(&child(path, "Condition"), condition, errors);
    }
}

fn principal(path: &[String], statement: &Map<String, Value>, flavor: Flavor, errors: &mut Vec<GrammarError>) {
    if statement.contains_key("NotPrincipal") && flavor != Flavor::Identity {
        errors.push(
            GrammarError::at_key(&child(path, "NotPrincipal"), format!("{} cannot use `NotPrincipal`", flavor.name()))
                .hint("use a Condition on aws:PrincipalArn instead"),
        );
    }
    match flavor {
        Flavor::ServiceControl | Flavor::Identity => {
            for key in ["Principal", "NotPrincipal"] {
                if statement.contains_key(key) && !(flavor == Flavor::ServiceControl && key == "NotPrincipal") {
                    errors.push(
                        GrammarError::at_key(
                            &child(path, key),
                            format!(
                                "{} cannot name a `{key}`: it applies to the principals it is attached to",
                                flavor.name()
                            ),
                        )
                        .hint("remove it; restrict principals with a Condition on aws:PrincipalArn"),
                    );
                }
            }
        }
        Flavor::ResourceControl => match statement.get("Principal") {
            Some(Value::String(star)) if star == "*" => {}
            None => errors.push(
                GrammarError::at(path, "an RCP statement needs `\"Principal\": \"*\"`")
                    .hint("add \"Principal\": \"*\" and narrow it with a Condition"),
            ),
            Some(_) => errors.push(
                GrammarError::at(&child(path, "Principal"), "an RCP's `Principal` must be \"*\"")
                    .hint("narrow principals with a Condition such as aws:PrincipalOrgID or aws:PrincipalAccount"),
            ),
        },
    }
}

fn exactly_one(
    path: &[String],
    statement: &Map<String, Value>,
    a: &str,
    b: &str,
    required: bool,
    errors: &mut Vec<GrammarError>,
) {
    match (statement.contains_key(a), statement.contains_key(b)) {
        (true, true) => errors.push(
            GrammarError::at_key(&child(path, b), format!("a statement has either `{a}` or `{b}`, not both"))
                .hint("split it into two statements"),
        ),
        (false, false) if required => errors.push(
            GrammarError::at(path, format!("the statement has neither `{a}` nor `{b}`")).hint(format!("add \"{a}\"")),
        ),
        _ => {}
    }
}

/// A string or a non-empty array of strings; yields each string with its path.
fn string_list<'v>(
    path: &[String],
    value: &'v Value,
    element: &str,
    errors: &mut Vec<GrammarError>,
) -> Vec<(Vec<String>, &'v str)> {
    match value {
        Value::String(text) => vec![(path.to_vec(), text.as_str())],
        Value::Array(items) if items.is_empty() => {
            errors.push(GrammarError::at(path, format!("`{element}` is an empty list")));
            Vec::new()
        }
        Value::Array(items) => items
            .iter()
            .enumerate()
            .filter_map(|(index, item)| match item {
                Value::String(text) => Some((child(path, index.to_string()), text.as_str())),
                other => {
                    errors.push(GrammarError::at(
                        &child(path, index.to_string()),
                        format!("`{element}` entries are strings, not {}", kind(other)),
                    ));
                    None
                }
            })
            .collect(),
        other => {
            errors.push(GrammarError::at(
                path,
                format!("`{element}` must be a string or a list of strings, not {}", kind(other)),
            ));
            Vec::new()
        }
    }
}

/// `*`, or `service:action` with a service prefix of letters, digits and hyphens and an action
/// of letters, digits and the wildcards `*` and `?`.
pub fn is_action(text: &str) -> bool {
    if text == "*" {
        return true;
    }
    let Some((service, action)) = text.split_once(':') else {
        return false;
    };
    !service.is_empty()
        && service.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !action.is_empty()
        && action.chars().all(|c| c.is_ascii_alphanumeric() || c == '*' || c == '?')
}

/// Whether `operator` is an IAM condition operator, with its optional set prefix and `IfExists`.
pub fn is_condition_operator(operator: &str) -> bool {
    let base =
        operator.strip_prefix("ForAllValues:").or_else(|| operator.strip_prefix("ForAnyValue:")).unwrap_or(operator);
    if let Some(base) = base.strip_suffix("IfExists") {
        return base != "Null" && CONDITION_OPERATORS.contains(&base);
    }
    CONDITION_OPERATORS.contains(&base)
}

fn check_condition(path: &[String], condition: &Value, errors: &mut Vec<GrammarError>) {
    let Some(operators) = condition.as_object() else {
        errors.push(GrammarError::at(
            path,
            format!("`Condition` must be an object of operators, not {}", kind(condition)),
        ));
        return;
    };
    for (operator, keys) in operators {
        let operator_path = child(path, operator);
        if !is_condition_operator(operator) {
            let hint = crate::spec::diagnostic::did_you_mean(operator, CONDITION_OPERATORS.iter().copied())
                .unwrap_or_else(|| {
                    "see the IAM condition operator list (StringEquals, ArnLike, Bool, ...)".to_string()
                });
            errors.push(
                GrammarError::at_key(&operator_path, format!("`{operator}` is not an IAM condition operator"))
                    .hint(hint),
            );
            continue;
        }
        let Some(keys) = keys.as_object() else {
            errors.push(GrammarError::at(
                &operator_path,
                format!("`{operator}` must map condition keys to values, not {}", kind(keys)),
            ));
            continue;
        };
        if keys.is_empty() {
            errors.push(GrammarError::at(&operator_path, format!("`{operator}` names no condition key")));
        }
        for (key, values) in keys {
            let key_path = child(&operator_path, key);
            if !key.contains(':') || key.starts_with(':') {
                errors.push(
                    GrammarError::at_key(
                        &key_path,
                        format!("`{}` is not a condition key (`prefix:Name`)", key.escape_default()),
                    )
                    .hint("e.g. aws:PrincipalArn, aws:RequestedRegion, s3:prefix"),
                );
            }
            let scalar = |value: &Value| matches!(value, Value::String(_) | Value::Bool(_) | Value::Number(_));
            let valid = match values {
                Value::Array(items) => !items.is_empty() && items.iter().all(scalar),
                other => scalar(other),
            };
            if !valid {
                errors.push(GrammarError::at(
                    &key_path,
                    format!("the value of `{key}` must be a string, number, boolean or a non-empty list of them"),
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn messages(document: Value, flavor: Flavor) -> Vec<String> {
        check(&document, flavor).into_iter().map(|e| format!("{}: {}", e.path.join("."), e.message)).collect()
    }

    #[test]
    fn valid_documents_pass() {
        let cases = [
            (
                json!({"Version": "2012-10-17", "Statement": {"Effect": "Deny", "Action": "organizations:LeaveOrganization", "Resource": "*"}}),
                Flavor::ServiceControl,
            ),
            (
                json!({"Version": "2012-10-17", "Statement": [{"Sid": "Regions", "Effect": "Deny", "NotAction": ["iam:*", "sts:Get*"], "Resource": "*",
                "Condition": {"StringNotEquals": {"aws:RequestedRegion": ["eu-west-1"]}, "ArnNotLikeIfExists": {"aws:PrincipalArn": "arn:aws:iam::*:role/Admin"}}}]}),
                Flavor::ServiceControl,
            ),
            (
                json!({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*",
                "Condition": {"StringNotEqualsIfExists": {"aws:PrincipalOrgID": "o-abc"}, "BoolIfExists": {"aws:PrincipalIsAWSService": "false"},
                "ForAnyValue:StringLike": {"aws:TagKeys": ["a*"]}}}]}),
                Flavor::ResourceControl,
            ),
            (
                json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}]}),
                Flavor::Identity,
            ),
        ];
        for (document, flavor) in cases {
            assert_eq!(messages(document.clone(), flavor), Vec::<String>::new(), "{document}");
        }
    }

    #[test]
    fn each_rule_reports_at_its_element() {
        let deny = |extra: Value| {
            let mut statement = json!({"Effect": "Deny", "Action": "s3:*", "Resource": "*"});
            if let (Some(s), Some(e)) = (statement.as_object_mut(), extra.as_object()) {
                for (k, v) in e {
                    if v.is_null() {
                        s.remove(k);
                    } else {
                        s.insert(k.clone(), v.clone());
                    }
                }
            }
            json!({"Version": "2012-10-17", "Statement": [statement]})
        };
        let scp = Flavor::ServiceControl;
        let rcp = Flavor::ResourceControl;
        let cases: Vec<(Value, Flavor, &str)> = vec![
            (
                json!({"Version": "2012-10-17", "Statement": [{"Effect": "Maybe", "Action": 42, "Resource": "*"}]}),
                scp,
                "Statement.0.Effect: `Effect` is \"Maybe\"",
            ),
            (
                json!({"Version": "2012-10-17", "Statement": [{"Effect": "Maybe", "Action": 42, "Resource": "*"}]}),
                scp,
                "Statement.0.Action: `Action` must be a string or a list of strings, not a number",
            ),
            (json!({"Version": "2012-10-17", "Statement": []}), scp, "Statement: `Statement` is empty"),
            (json!({"Version": "2012-10-17", "Statement": "x"}), scp, "Statement: `Statement` must be an object"),
            (json!({"Version": "2012-10-17"}), scp, ": the policy has no `Statement`"),
            (
                json!({"Version": "2008-10-17", "Statement": {"Effect": "Deny", "Action": "*", "Resource": "*"}}),
                scp,
                "Version: `Version` is \"2008-10-17\"",
            ),
            (
                json!({"Version": "2012-10-17", "Statement": {"Effect": "Deny", "Action": "*", "Resource": "*"}, "Extra": 1}),
                scp,
                "Extra: unknown top-level key `Extra`",
            ),
            (json!({"tags": {}}), scp, ": an SCP uses the IAM policy grammar"),
            (deny(json!({"Actions": "s3:*"})), scp, "Statement.0.Actions: unknown statement element `Actions`"),
            (
                deny(json!({"NotAction": "s3:Get*"})),
                scp,
                "Statement.0.NotAction: a statement has either `Action` or `NotAction`",
            ),
            (deny(json!({"Action": null})), scp, "Statement.0: the statement has neither `Action` nor `NotAction`"),
            (deny(json!({"Action": "s3GetObject"})), scp, "Statement.0.Action: `s3GetObject` is not an action"),
            (
                deny(json!({"Action": ["s3:Get*", "bad action"]})),
                scp,
                "Statement.0.Action.1: `bad action` is not an action",
            ),
            (deny(json!({"Action": []})), scp, "Statement.0.Action: `Action` is an empty list"),
            (
                deny(json!({"NotResource": "*"})),
                scp,
                "Statement.0.NotResource: a statement has either `Resource` or `NotResource`",
            ),
            (deny(json!({"Resource": "bucket"})), scp, "Statement.0.Resource: `bucket` is not a resource ARN"),
            (deny(json!({"Principal": "*"})), scp, "Statement.0.Principal: an SCP cannot name a `Principal`"),
            (
                deny(json!({"NotPrincipal": {"AWS": "x"}})),
                scp,
                "Statement.0.NotPrincipal: an SCP cannot use `NotPrincipal`",
            ),
            (
                deny(json!({"Sid": "no spaces"})),
                scp,
                "Statement.0.Sid: `Sid` `no spaces` may hold only ASCII letters and digits",
            ),
            (
                deny(json!({"Condition": {"StringEqualz": {"aws:x": "y"}}})),
                scp,
                "Statement.0.Condition.StringEqualz: `StringEqualz` is not an IAM condition operator",
            ),
            (
                deny(json!({"Condition": {"NullIfExists": {"aws:x": "true"}}})),
                scp,
                "`NullIfExists` is not an IAM condition operator",
            ),
            (
                deny(json!({"Condition": {"StringEquals": {"nocolon": "y"}}})),
                scp,
                "Statement.0.Condition.StringEquals.nocolon: `nocolon` is not a condition key",
            ),
            (deny(json!({"Condition": {"StringEquals": {"aws:x": {"a": 1}}}})), scp, "the value of `aws:x` must be"),
            (deny(json!({"Condition": []})), scp, "Statement.0.Condition: `Condition` must be an object"),
            (deny(json!({"Principal": "*", "Effect": "Allow"})), rcp, "Statement.0.Effect: an RCP may only deny"),
            (deny(json!({})), rcp, "Statement.0: an RCP statement needs `\"Principal\": \"*\"`"),
            (
                deny(json!({"Principal": {"AWS": "*"}})),
                rcp,
                "Statement.0.Principal: an RCP's `Principal` must be \"*\"",
            ),
            (
                deny(json!({"Principal": "*", "Action": null, "NotAction": "s3:Get*"})),
                rcp,
                "Statement.0.NotAction: RCPs do not support `NotAction`",
            ),
            (
                deny(json!({"Resource": null})),
                Flavor::Identity,
                "Statement.0: the statement has neither `Resource` nor `NotResource`",
            ),
            (
                deny(json!({"Principal": {"AWS": "*"}})),
                Flavor::Identity,
                "Statement.0.Principal: an identity policy cannot name a `Principal`",
            ),
        ];
        for (document, flavor, expected) in cases {
            let found = messages(document.clone(), flavor);
            assert!(found.iter().any(|m| m.contains(expected)), "{document}\nexpected `{expected}` in {found:#?}");
        }
        let two = json!({"Version": "2012-10-17", "Statement": [
            {"Sid": "A", "Effect": "Deny", "Action": "*", "Resource": "*"}, {"Sid": "A", "Effect": "Deny", "Action": "*", "Resource": "*"}]});
        assert_eq!(messages(two, scp), vec!["Statement.1.Sid: `Sid` `A` is used by another statement"]);
    }

    #[test]
    fn condition_operators_with_prefixes_and_suffixes() {
        let cases = [
            ("StringEquals", true),
            ("StringEqualsIfExists", true),
            ("ForAllValues:StringLike", true),
            ("ForAnyValue:ArnLikeIfExists", true),
            ("Null", true),
            ("NullIfExists", false),
            ("ForAllValues:", false),
            ("stringequals", false),
            ("ForSomeValues:StringLike", false),
            ("StringEqualsIfExistsIfExists", false),
        ];
        for (operator, valid) in cases {
            assert_eq!(is_condition_operator(operator), valid, "{operator}");
        }
    }

    #[test]
    fn actions() {
        for (action, valid) in [
            ("*", true),
            ("s3:*", true),
            ("execute-api:Invoke", true),
            ("ec2:Describe?nstances", true),
            ("s3", false),
            (":Get", false),
            ("s3:", false),
            ("s3:Get Object", false),
            ("s3:Get:Object", false),
        ] {
            assert_eq!(is_action(action), valid, "{action}");
        }
    }
}
