//! The one answer to "do these service control policies deny this request?" — for a principal ARN,
//! an action, a resource and a region. The planner's lock-out guard and the audit's guardrails both
//! ask it; nothing else in the crate reads policy text to decide what a policy does.
//!
//! Pure: JSON in, a [`Verdict`] out. What it models, from AWS's pages:
//! - How SCPs combine: an action is allowed only when an SCP at **every** level (the root, each OU
//!   on the path, the account) allows it, and an explicit `Deny` in any of them wins.
//!   <https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_evaluation.html>
//! - SCPs never restrict the management account (same page); callers leave it out.
//! - `Action` / `NotAction` and `Resource` / `NotResource` with `*` and `?` wildcards (actions
//!   case-insensitive, resources case-sensitive).
//!   <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html>
//! - Conditions on `aws:PrincipalArn` and `aws:RequestedRegion` with the String and ARN operators,
//!   their `Not` and `IfExists` forms and the `ForAnyValue:` / `ForAllValues:` prefixes (both keys are
//!   single-valued and always present, so `IfExists` and the set prefixes reduce to the base operator),
//!   and `Null`. Values in a condition are ORed, keys and operators ANDed; a negated operator is true
//!   when no value matches.
//!   <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html>
//!   <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-logic-multiple-context-keys-or-values.html>
//!
//! A condition on any other key, a policy variable (`${aws:username}`) or an operator outside that
//! list cannot be decided from a principal, an action and a region: the statement then *may* apply,
//! and the verdict says which keys made it uncertain.

use std::collections::BTreeSet;

use serde_json::Value;

/// The request a question is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request<'a> {
    /// `aws:PrincipalArn`: `arn:aws:iam::111122223333:role/Name`, `...:user/Name`, `...:root`.
    pub principal_arn: &'a str,
    /// `service:Action`.
    pub action: &'a str,
    /// The resource ARN, `*` for actions that name no resource (account-level settings), or None
    /// when it is not known (a statement limited to particular resources then *may* apply).
    pub resource: Option<&'a str>,
    /// `aws:RequestedRegion`; None when the question is about every region (region conditions are
    /// then undecided).
    pub region: Option<&'a str>,
}

/// One SCP as the evaluator sees it: its name (for the verdict) and its document. An AWS-managed
/// policy whose content is not read is `None`; `FullAWSAccess` is then known to allow everything.
#[derive(Debug, Clone, Copy)]
pub struct Scp<'a> {
    pub name: &'a str,
    pub document: Option<&'a Value>,
}

/// The SCPs directly attached at one level of an account's path (the root, an OU, the account).
#[derive(Debug, Clone)]
pub struct Level<'a> {
    /// `Root`, `Workloads/Prod`, `account app-prod`: for the verdict.
    pub label: String,
    pub policies: Vec<Scp<'a>>,
}

/// What the SCPs make of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// An explicit `Deny` applies, or a level allows nothing that covers the request.
    Denied { reason: String },
    /// A statement would deny it (or a level's only allow would not cover it) depending on
    /// condition keys the evaluator cannot decide.
    MayDeny { reason: String, keys: BTreeSet<String> },
    /// Nothing denies it.
    NotDenied,
}

impl Verdict {
    pub fn is_denied(&self) -> bool {
        matches!(self, Verdict::Denied { .. })
    }

    pub fn is_not_denied(&self) -> bool {
        matches!(self, Verdict::NotDenied)
    }
}

/// Three-valued truth: conditions the evaluator cannot decide are `Unknown`, with their keys.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Truth {
    True,
    False,
    Unknown(BTreeSet<String>),
}

impl Truth {
    fn and(self, other: Truth) -> Truth {
        match (self, other) {
            (Truth::False, _) | (_, Truth::False) => Truth::False,
            (Truth::Unknown(mut a), Truth::Unknown(b)) => {
                a.extend(b);
                Truth::Unknown(a)
            }
            (Truth::Unknown(keys), Truth::True) | (Truth::True, Truth::Unknown(keys)) => Truth::Unknown(keys),
            (Truth::True, Truth::True) => Truth::True,
        }
    }

    fn unknown(key: &str) -> Truth {
        Truth::Unknown(BTreeSet::from([key.to_string()]))
    }
}

/// Whether the SCPs on an account's path deny `request`: every level must allow it, no statement
/// may deny it. The management account is never restricted by SCPs; do not ask about it.
pub fn evaluate(levels: &[Level<'_>], request: &Request<'_>) -> Verdict {
    let mut uncertain: Option<(String, BTreeSet<String>)> = None;
    let mut remember = |reason: String, keys: BTreeSet<String>| {
        if uncertain.is_none() {
            uncertain = Some((reason, keys));
        }
    };
    for level in levels {
        let mut allowed = Truth::False;
        for policy in &level.policies {
            match denies(policy, request) {
                Truth::True => {
                    return Verdict::Denied {
                        reason: format!("SCP `{}` attached to {} denies it", policy.name, level.label),
                    }
                }
                Truth::Unknown(keys) => remember(
                    format!("SCP `{}` attached to {} denies it, depending on conditions", policy.name, level.label),
                    keys,
                ),
                Truth::False => {}
            }
            allowed = or(allowed, allows(policy, request));
        }
        match allowed {
            Truth::True => {}
            Truth::False => {
                return Verdict::Denied { reason: format!("no SCP attached to {} allows it", level.label) };
            }
            Truth::Unknown(keys) => {
                remember(format!("the SCPs attached to {} allow it only under conditions", level.label), keys)
            }
        }
    }
    match uncertain {
        Some((reason, keys)) => Verdict::MayDeny { reason, keys },
        None => Verdict::NotDenied,
    }
}

/// Whether one document holds a `Deny` statement that applies to `request` (levels aside: for the
/// lock-out guard, which asks about one SCP about to be attached — attaching can only add denials).
pub fn document_denies(name: &str, document: &Value, request: &Request<'_>) -> Verdict {
    match denies(&Scp { name, document: Some(document) }, request) {
        Truth::True => Verdict::Denied { reason: format!("SCP `{name}` denies it") },
        Truth::Unknown(keys) => {
            Verdict::MayDeny { reason: format!("SCP `{name}` denies it, depending on conditions"), keys }
        }
        Truth::False => Verdict::NotDenied,
    }
}

fn or(a: Truth, b: Truth) -> Truth {
    match (a, b) {
        (Truth::True, _) | (_, Truth::True) => Truth::True,
        (Truth::Unknown(mut a), Truth::Unknown(b)) => {
            a.extend(b);
            Truth::Unknown(a)
        }
        (Truth::Unknown(keys), Truth::False) | (Truth::False, Truth::Unknown(keys)) => Truth::Unknown(keys),
        (Truth::False, Truth::False) => Truth::False,
    }
}

/// AWS's managed SCP that allows every action on every resource (its content is documented, so it
/// is not read): <https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_strategies.html>
const FULL_AWS_ACCESS: &str = "FullAWSAccess";

fn statements(document: &Value) -> Vec<&Value> {
    match document.get("Statement") {
        Some(Value::Array(statements)) => statements.iter().collect(),
        Some(statement @ Value::Object(_)) => vec![statement],
        _ => Vec::new(),
    }
}

fn denies(policy: &Scp<'_>, request: &Request<'_>) -> Truth {
    let Some(document) = policy.document else { return Truth::False };
    statements(document)
        .into_iter()
        .filter(|statement| statement.get("Effect").and_then(Value::as_str) == Some("Deny"))
        .map(|statement| applies(statement, request))
        .fold(Truth::False, or)
}

fn allows(policy: &Scp<'_>, request: &Request<'_>) -> Truth {
    let Some(document) = policy.document else {
        return if policy.name == FULL_AWS_ACCESS { Truth::True } else { Truth::unknown("content not read") };
    };
    statements(document)
        .into_iter()
        .filter(|statement| statement.get("Effect").and_then(Value::as_str) == Some("Allow"))
        .map(|statement| applies(statement, request))
        .fold(Truth::False, or)
}

/// Whether a statement's action, resource and conditions all match the request.
fn applies(statement: &Value, request: &Request<'_>) -> Truth {
    let action = request.action.to_lowercase();
    let action_matches = match (statement.get("Action"), statement.get("NotAction")) {
        (Some(patterns), _) => strings(patterns).iter().any(|p| wildcard_match(&p.to_lowercase(), &action)),
        (None, Some(patterns)) => !strings(patterns).iter().any(|p| wildcard_match(&p.to_lowercase(), &action)),
        (None, None) => false,
    };
    if !action_matches {
        return Truth::False;
    }
    let resource = match (statement.get("Resource"), statement.get("NotResource"), request.resource) {
        // SCPs written before full IAM language support omit `Resource`: every resource.
        (None, None, _) => Truth::True,
        (Some(patterns), _, _) if strings(patterns).iter().any(|pattern| pattern == "*") => Truth::True,
        (None, Some(patterns), _) if strings(patterns).iter().any(|pattern| pattern == "*") => Truth::False,
        (_, _, None) => Truth::unknown("Resource"),
        (Some(patterns), _, Some(resource)) => truth(strings(patterns).iter().any(|p| wildcard_match(p, resource))),
        (None, Some(patterns), Some(resource)) => truth(!strings(patterns).iter().any(|p| wildcard_match(p, resource))),
    };
    if resource == Truth::False {
        return Truth::False;
    }
    resource.and(match statement.get("Condition") {
        None => Truth::True,
        Some(Value::Object(operators)) => {
            operators.iter().map(|(operator, keys)| condition(operator, keys, request)).fold(Truth::True, Truth::and)
        }
        Some(_) => Truth::unknown("Condition"),
    })
}

fn truth(value: bool) -> Truth {
    if value {
        Truth::True
    } else {
        Truth::False
    }
}

/// One operator block: every key in it must match (AND).
fn condition(operator: &str, keys: &Value, request: &Request<'_>) -> Truth {
    let Value::Object(keys) = keys else { return Truth::unknown(operator) };
    keys.iter()
        .map(|(key, values)| {
            let context = match key.to_lowercase().as_str() {
                "aws:principalarn" => Some(request.principal_arn),
                "aws:requestedregion" => request.region,
                _ => None,
            };
            match context {
                Some(value) => compare(operator, key, value, &strings(values)),
                None => Truth::unknown(key),
            }
        })
        .fold(Truth::True, Truth::and)
}

/// One key against its values with one operator. The key is present and single-valued.
fn compare(operator: &str, key: &str, context: &str, values: &[String]) -> Truth {
    let base =
        operator.strip_prefix("ForAnyValue:").or_else(|| operator.strip_prefix("ForAllValues:")).unwrap_or(operator);
    let base = base.strip_suffix("IfExists").unwrap_or(base);
    if base == "Null" {
        // `Null: true` asks that the key be absent; these keys are always present.
        return match values.iter().map(|value| value.to_lowercase()).collect::<Vec<_>>().as_slice() {
            [value] if value == "true" => Truth::False,
            [value] if value == "false" => Truth::True,
            _ => Truth::unknown(key),
        };
    }
    let (negated, matcher): (bool, fn(&str, &str) -> bool) = match base {
        "StringEquals" => (false, |pattern, text| pattern == text),
        "StringNotEquals" => (true, |pattern, text| pattern == text),
        "StringEqualsIgnoreCase" => (false, |pattern, text| pattern.eq_ignore_ascii_case(text)),
        "StringNotEqualsIgnoreCase" => (true, |pattern, text| pattern.eq_ignore_ascii_case(text)),
        "StringLike" => (false, wildcard_match),
        "StringNotLike" => (true, wildcard_match),
        "ArnEquals" | "ArnLike" => (false, arn_match),
        "ArnNotEquals" | "ArnNotLike" => (true, arn_match),
        _ => return Truth::unknown(key),
    };
    let mut any_match = false;
    let mut undecided = false;
    for value in values {
        if value.contains("${") {
            undecided = true;
        } else if matcher(value, context) {
            any_match = true;
        }
    }
    match (any_match, undecided, negated) {
        (true, _, false) => Truth::True,
        (true, _, true) => Truth::False,
        (false, true, _) => Truth::unknown(key),
        (false, false, false) => Truth::False,
        (false, false, true) => Truth::True,
    }
}

fn strings(value: &Value) -> Vec<String> {
    match value {
        Value::String(text) => vec![text.clone()],
        Value::Array(items) => items.iter().flat_map(strings).collect(),
        Value::Bool(flag) => vec![flag.to_string()],
        Value::Number(number) => vec![number.to_string()],
        _ => Vec::new(),
    }
}

/// `ArnEquals` and `ArnLike` alike: each of the six colon-delimited components matched on its own,
/// with `*` and `?` wildcards, case-sensitively (the condition operators page).
fn arn_match(pattern: &str, arn: &str) -> bool {
    let pattern: Vec<&str> = pattern.splitn(6, ':').collect();
    let arn: Vec<&str> = arn.splitn(6, ':').collect();
    pattern.len() == 6
        && arn.len() == 6
        && pattern.iter().zip(&arn).all(|(pattern, component)| wildcard_match(pattern, component))
}

/// IAM-style `*` (any run, also empty) and `?` (one character) matching.
pub fn wildcard_match(pattern: &str, text: &str) -> bool {
    let (pattern, text): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut p, mut t, mut star, mut mark) = (0, 0, None, 0);
    while t < text.len() {
        if p < pattern.len() && (pattern[p] == '?' || pattern[p] == text[t]) {
            p += 1;
            t += 1;
        } else if p < pattern.len() && pattern[p] == '*' {
            star = Some(p);
            mark = t;
            p += 1;
        } else if let Some(star_at) = star {
            p = star_at + 1;
            mark += 1;
            t = mark;
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const ROLE: &str = "arn:aws:iam::111122223333:role/Developer";
    const EXECUTOR: &str = "arn:aws:iam::111122223333:role/OrganizationAccountAccessRole";
    const ROOT_USER: &str = "arn:aws:iam::111122223333:root";

    fn request<'a>(principal_arn: &'a str, action: &'a str, region: Option<&'a str>) -> Request<'a> {
        Request { principal_arn, action, resource: Some("*"), region }
    }

    fn full_access() -> Scp<'static> {
        Scp { name: FULL_AWS_ACCESS, document: None }
    }

    fn one_level<'a>(documents: &'a [(&'a str, Value)]) -> Vec<Level<'a>> {
        let mut policies = vec![full_access()];
        policies.extend(documents.iter().map(|(name, document)| Scp { name, document: Some(document) }));
        vec![Level { label: "Root".to_string(), policies }]
    }

    fn deny(statement: Value) -> Value {
        let mut statement = statement;
        statement["Effect"] = json!("Deny");
        json!({"Version": "2012-10-17", "Statement": [statement]})
    }

    #[test]
    fn root_only_condition_denies_the_root_user_and_nobody_else() {
        let documents = [(
            "deny-root",
            deny(json!({"Action": "*", "Resource": "*",
                "Condition": {"StringLike": {"aws:PrincipalArn": "arn:aws:iam::*:root"}}})),
        )];
        let levels = one_level(&documents);
        assert!(evaluate(&levels, &request(ROOT_USER, "s3:PutAccountPublicAccessBlock", None)).is_denied());
        assert_eq!(evaluate(&levels, &request(ROLE, "s3:PutAccountPublicAccessBlock", None)), Verdict::NotDenied);
        assert_eq!(evaluate(&levels, &request(EXECUTOR, "iam:UpdateAccountPasswordPolicy", None)), Verdict::NotDenied);
    }

    #[test]
    fn exemptions_by_principal_arn_in_every_operator_form() {
        for operator in [
            "ArnNotLike",
            "ArnNotLikeIfExists",
            "ArnNotEquals",
            "StringNotLike",
            "StringNotLikeIfExists",
            "ForAnyValue:StringNotLike",
        ] {
            let documents = [(
                "freeze",
                deny(json!({"Action": ["s3:PutAccountPublicAccessBlock"], "Resource": "*",
                    "Condition": {operator: {"aws:PrincipalArn": ["arn:aws:iam::*:role/OrganizationAccountAccessRole"]}}})),
            )];
            let levels = one_level(&documents);
            assert!(
                evaluate(&levels, &request(ROLE, "s3:PutAccountPublicAccessBlock", None)).is_denied(),
                "{operator}: an ordinary role is denied"
            );
            assert!(
                evaluate(&levels, &request(EXECUTOR, "s3:PutAccountPublicAccessBlock", None)).is_not_denied(),
                "{operator}: the exempt role is not"
            );
        }
        let exact = [(
            "exact",
            deny(json!({"Action": "iam:*", "Condition": {"StringNotEquals": {"aws:PrincipalArn": EXECUTOR}}})),
        )];
        assert!(evaluate(&one_level(&exact), &request(ROLE, "iam:CreateRole", None)).is_denied());
        assert!(evaluate(&one_level(&exact), &request(EXECUTOR, "iam:CreateRole", None)).is_not_denied());
        let ignore_case = [(
            "ci",
            deny(json!({"Action": "iam:*",
                "Condition": {"StringEqualsIgnoreCase": {"aws:PrincipalArn": EXECUTOR.to_uppercase()}}})),
        )];
        assert!(evaluate(&one_level(&ignore_case), &request(EXECUTOR, "iam:CreateRole", None)).is_denied());
    }

    #[test]
    fn not_action_and_resources() {
        let documents = [("not-action", deny(json!({"NotAction": ["iam:*", "sts:*"], "Resource": "*"})))];
        let levels = one_level(&documents);
        assert!(evaluate(&levels, &request(ROLE, "ec2:RunInstances", None)).is_denied());
        assert!(evaluate(&levels, &request(ROLE, "IAM:CreateRole", None)).is_not_denied());
        let bucket = [("bucket", deny(json!({"Action": "s3:*", "Resource": "arn:aws:s3:::logs/*"})))];
        // An account-level action names no resource: a statement on a bucket does not reach it.
        assert!(evaluate(&one_level(&bucket), &request(ROLE, "s3:PutAccountPublicAccessBlock", None)).is_not_denied());
        let put = Request { resource: Some("arn:aws:s3:::logs/a.json"), ..request(ROLE, "s3:PutObject", None) };
        assert!(evaluate(&one_level(&bucket), &put).is_denied());
        // A resource the caller cannot name: a statement on one bucket may apply.
        let unknown = Request { resource: None, ..put };
        assert!(
            matches!(evaluate(&one_level(&bucket), &unknown), Verdict::MayDeny { keys, .. } if keys.contains("Resource"))
        );
    }

    #[test]
    fn region_conditions_are_decided_when_the_region_is_known() {
        let documents = [(
            "regions",
            deny(json!({"NotAction": ["iam:*", "organizations:*", "sts:*"], "Resource": "*",
                "Condition": {"StringNotEquals": {"aws:RequestedRegion": ["us-east-1", "eu-west-1"]}}})),
        )];
        let levels = one_level(&documents);
        assert!(evaluate(&levels, &request(ROLE, "ec2:RunInstances", Some("ap-southeast-2"))).is_denied());
        assert!(evaluate(&levels, &request(ROLE, "ec2:RunInstances", Some("eu-west-1"))).is_not_denied());
        assert!(matches!(
            evaluate(&levels, &request(ROLE, "ec2:RunInstances", None)),
            Verdict::MayDeny { keys, .. } if keys.contains("aws:RequestedRegion")
        ));
    }

    #[test]
    fn other_condition_keys_and_variables_may_deny() {
        let documents = [(
            "mfa",
            deny(json!({"Action": "s3:*", "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}})),
        )];
        assert!(matches!(
            evaluate(&one_level(&documents), &request(ROLE, "s3:PutAccountPublicAccessBlock", None)),
            Verdict::MayDeny { keys, .. } if keys.contains("aws:MultiFactorAuthPresent")
        ));
        // A decided false beside an undecided key: the statement cannot apply.
        let mixed = [(
            "mixed",
            deny(json!({"Action": "s3:*", "Condition": {
                "BoolIfExists": {"aws:MultiFactorAuthPresent": "false"},
                "ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:root"}}})),
        )];
        assert!(evaluate(&one_level(&mixed), &request(ROLE, "s3:PutObject", None)).is_not_denied());
        let variable = [(
            "variable",
            deny(
                json!({"Action": "s3:*", "Condition": {"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::${aws:PrincipalAccount}:role/x"}}}),
            ),
        )];
        assert!(matches!(
            evaluate(&one_level(&variable), &request(ROLE, "s3:PutObject", None)),
            Verdict::MayDeny { .. }
        ));
    }

    #[test]
    fn every_level_must_allow() {
        let allow_iam = json!({"Statement": [{"Effect": "Allow", "Action": "iam:*", "Resource": "*"}]});
        let levels = vec![
            Level { label: "Root".to_string(), policies: vec![full_access()] },
            Level {
                label: "Workloads".to_string(),
                policies: vec![Scp { name: "allow-iam", document: Some(&allow_iam) }],
            },
        ];
        assert!(evaluate(&levels, &request(ROLE, "iam:CreateRole", None)).is_not_denied());
        assert_eq!(
            evaluate(&levels, &request(ROLE, "s3:PutObject", None)),
            Verdict::Denied { reason: "no SCP attached to Workloads allows it".to_string() }
        );
        let empty = vec![Level { label: "account x".to_string(), policies: Vec::new() }];
        assert!(evaluate(&empty, &request(ROLE, "s3:PutObject", None)).is_denied());
    }

    #[test]
    fn arn_matching_is_per_component() {
        assert!(arn_match("arn:aws:iam::*:role/*", EXECUTOR));
        assert!(!arn_match("arn:aws:iam::*:root", EXECUTOR));
        assert!(arn_match("arn:aws:iam::*:root", ROOT_USER));
        // `*` does not cross a colon: the account component must be present.
        assert!(!arn_match("arn:aws:*", EXECUTOR));
        assert!(arn_match("arn:aws:*:*:*:*", EXECUTOR));
        assert!(!arn_match("not an arn", EXECUTOR));
    }
}
