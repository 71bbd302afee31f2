//! `landing-zone permissions` is derived from what the code declares; this checks the declaration
//! against what the code does. A full apply (and a second plan) of `landing-zone.yaml` runs
//! through the test proxy, which records every operation with the access key that signed it: the
//! caller's own (`testing`) or an assumed-role session in a member account. Each operation maps to
//! its IAM action, and the printed management or member policy must allow it.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::support::{spec_workspace, stderr, stdout, Moto, CALLER_KEY};

/// The IAM action of an operation as the proxy names it (`service:Name`), where the action's name
/// is not the operation's (https://docs.aws.amazon.com/service-authorization/latest/reference/):
/// S3's REST operations and the REST-JSON services the proxy names by method and path.
fn iam_action(operation: &str) -> Option<String> {
    let (service, name) = operation.split_once(':')?;
    let renamed: BTreeMap<&str, &str> = [
        // S3: operations whose action differs (the service authorization reference, Amazon S3).
        ("s3:HeadBucket", "s3:ListBucket"),
        ("s3:ListObjectsV2", "s3:ListBucket"),
        ("s3:GetBucketEncryption", "s3:GetEncryptionConfiguration"),
        ("s3:PutBucketEncryption", "s3:PutEncryptionConfiguration"),
        ("s3:GetBucketLifecycleConfiguration", "s3:GetLifecycleConfiguration"),
        ("s3:PutBucketLifecycleConfiguration", "s3:PutLifecycleConfiguration"),
        ("s3:DeleteBucketLifecycle", "s3:PutLifecycleConfiguration"),
        ("s3:GetBucketLifecycle", "s3:GetLifecycleConfiguration"),
        ("s3:PutBucketLifecycle", "s3:PutLifecycleConfiguration"),
        ("s3:GetBucketObjectLock", "s3:GetBucketObjectLockConfiguration"),
        ("s3:PutBucketObjectLock", "s3:PutBucketObjectLockConfiguration"),
        ("s3:GetObjectLockConfiguration", "s3:GetBucketObjectLockConfiguration"),
        ("s3:PutObjectLockConfiguration", "s3:PutBucketObjectLockConfiguration"),
        ("s3:GetPublicAccessBlock", "s3:GetBucketPublicAccessBlock"),
        ("s3:PutPublicAccessBlock", "s3:PutBucketPublicAccessBlock"),
        ("s3control:GetPublicAccessBlock", "s3:GetAccountPublicAccessBlock"),
        ("s3control:PutPublicAccessBlock", "s3:PutAccountPublicAccessBlock"),
        // Budgets: every read is ViewBudget, every write ModifyBudget.
        ("budgets:DescribeBudget", "budgets:ViewBudget"),
        ("budgets:DescribeBudgets", "budgets:ViewBudget"),
        ("budgets:DescribeNotificationsForBudget", "budgets:ViewBudget"),
        ("budgets:DescribeSubscribersForNotification", "budgets:ViewBudget"),
        ("budgets:CreateBudget", "budgets:ModifyBudget"),
        ("budgets:UpdateBudget", "budgets:ModifyBudget"),
        ("budgets:CreateNotification", "budgets:ModifyBudget"),
        ("budgets:DeleteNotification", "budgets:ModifyBudget"),
        ("budgets:CreateSubscriber", "budgets:ModifyBudget"),
        ("budgets:DeleteSubscriber", "budgets:ModifyBudget"),
    ]
    .into_iter()
    .collect();
    if let Some(action) = renamed.get(operation) {
        return Some(action.to_string());
    }
    if name.contains(' ') {
        return None; // a REST-JSON method and path: mapped by `rest_action`
    }
    let prefix = match service {
        "s3control" => "s3",
        other => other,
    };
    Some(format!("{prefix}:{name}"))
}

/// REST-JSON operations, named by the proxy as `METHOD /path`, to their IAM actions.
fn rest_action(operation: &str) -> Option<&'static str> {
    let (service, request) = operation.split_once(':')?;
    let (method, path) = request.split_once(' ')?;
    let path = path.trim_end_matches('/');
    let action = match (service, method, path) {
        // AWS RAM: https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsresourceaccessmanagerram.html
        ("ram", "POST", "/enablesharingwithawsorganization") => "ram:EnableSharingWithAwsOrganization",
        ("ram", "POST", "/createresourceshare") => "ram:CreateResourceShare",
        ("ram", "POST", "/getresourceshares") => "ram:GetResourceShares",
        ("ram", "POST", "/getresourceshareassociations") => "ram:GetResourceShareAssociations",
        ("ram", "POST", "/associateresourceshare") => "ram:AssociateResourceShare",
        ("ram", "POST", "/disassociateresourceshare") => "ram:DisassociateResourceShare",
        ("guardduty", "GET", "/detector") => "guardduty:ListDetectors",
        ("guardduty", "POST", "/detector") => "guardduty:CreateDetector",
        ("guardduty", "GET", p) if p.starts_with("/detector/") && p.ends_with("/admin") => {
            "guardduty:DescribeOrganizationConfiguration"
        }
        ("guardduty", "POST", p) if p.starts_with("/detector/") && p.ends_with("/admin") => {
            "guardduty:UpdateOrganizationConfiguration"
        }
        ("guardduty", "GET", p) if p.starts_with("/detector/") => "guardduty:GetDetector",
        ("guardduty", "POST", p) if p.starts_with("/detector/") => "guardduty:UpdateDetector",
        ("guardduty", "GET", "/admin") => "guardduty:ListOrganizationAdminAccounts",
        ("guardduty", "POST", "/admin/enable") => "guardduty:EnableOrganizationAdminAccount",
        ("securityhub", "GET", "/accounts") => "securityhub:DescribeHub",
        ("securityhub", "POST", "/accounts") => "securityhub:EnableSecurityHub",
        ("securityhub", "GET", "/organization/configuration") => "securityhub:DescribeOrganizationConfiguration",
        ("securityhub", "POST", "/organization/configuration") => "securityhub:UpdateOrganizationConfiguration",
        ("securityhub", "GET", "/organization/admin") => "securityhub:ListOrganizationAdminAccounts",
        ("securityhub", "POST", "/organization/admin/enable") => "securityhub:EnableOrganizationAdminAccount",
        ("securityhub", "POST", "/standards/get") => "securityhub:GetEnabledStandards",
        ("securityhub", "POST", "/standards/register") => "securityhub:BatchEnableStandards",
        ("securityhub", "GET", "/members") => "securityhub:ListMembers",
        ("securityhub", "POST", "/members") => "securityhub:CreateMembers",
        ("access-analyzer", "GET", "/analyzer") => "access-analyzer:ListAnalyzers",
        ("access-analyzer", "PUT", "/analyzer") => "access-analyzer:CreateAnalyzer",
        ("macie2", "GET", "/macie") => "macie2:GetMacieSession",
        ("macie2", "POST", "/macie") => "macie2:EnableMacie",
        ("macie2", "PATCH", "/macie") => "macie2:UpdateMacieSession",
        ("macie2", "GET", "/admin") => "macie2:ListOrganizationAdminAccounts",
        ("macie2", "POST", "/admin") => "macie2:EnableOrganizationAdminAccount",
        ("macie2", "GET", "/admin/configuration") => "macie2:DescribeOrganizationConfiguration",
        ("macie2", "PATCH", "/admin/configuration") => "macie2:UpdateOrganizationConfiguration",
        ("macie2", "GET", "/members") => "macie2:ListMembers",
        ("macie2", "POST", "/members") => "macie2:CreateMember",
        ("macie2", "PATCH", "/macie/members/{id}") => "macie2:UpdateMemberSession",
        ("inspector2", "POST", "/delegatedadminaccounts/list") => "inspector2:ListDelegatedAdminAccounts",
        ("inspector2", "POST", "/delegatedadminaccounts/enable") => "inspector2:EnableDelegatedAdminAccount",
        ("inspector2", "POST", "/organizationconfiguration/describe") => "inspector2:DescribeOrganizationConfiguration",
        ("inspector2", "POST", "/organizationconfiguration/update") => "inspector2:UpdateOrganizationConfiguration",
        ("inspector2", "POST", "/members/list") => "inspector2:ListMembers",
        ("inspector2", "POST", "/members/associate") => "inspector2:AssociateMember",
        ("inspector2", "POST", "/status/batch/get") => "inspector2:BatchGetAccountStatus",
        ("inspector2", "POST", "/enable") => "inspector2:Enable",
        ("detective", "POST", "/orgs/adminAccountslist") => "detective:ListOrganizationAdminAccounts",
        ("detective", "POST", "/orgs/enableAdminAccount") => "detective:EnableOrganizationAdminAccount",
        ("detective", "POST", "/graphs/list") => "detective:ListGraphs",
        ("detective", "POST", "/orgs/describeOrganizationConfiguration") => {
            "detective:DescribeOrganizationConfiguration"
        }
        ("detective", "POST", "/orgs/updateOrganizationConfiguration") => "detective:UpdateOrganizationConfiguration",
        ("detective", "POST", "/graph/members/list") => "detective:ListMembers",
        ("detective", "POST", "/graph/members") => "detective:CreateMembers",
        ("detective", "POST", "/graph/members/removal") => "detective:DeleteMembers",
        ("detective", "POST", "/graph/member/monitoringstate") => "detective:StartMonitoringMember",
        ("account", "POST", "/getAlternateContact") => "account:GetAlternateContact",
        ("account", "POST", "/getAccountInformation") => "account:GetAccountInformation",
        ("account", "POST", "/putAlternateContact") => "account:PutAlternateContact",
        ("account", "POST", "/getRegionOptStatus") => "account:GetRegionOptStatus",
        ("account", "POST", "/enableRegion") => "account:EnableRegion",
        ("account", "POST", "/putAccountName") => "account:PutAccountName",
        _ => return None,
    };
    Some(action)
}

pub(crate) fn policy_actions(moto: &Moto, command: &str, role: &str, dir: &std::path::Path) -> Vec<String> {
    let output = moto.run(&["permissions", command, "--role", role], dir);
    assert!(output.status.success(), "{}", stderr(&output));
    let policy: Value = serde_json::from_str(&stdout(&output)).expect("a policy document");
    policy["Statement"][0]["Action"]
        .as_array()
        .expect("actions")
        .iter()
        .filter_map(|action| action.as_str().map(str::to_string))
        .collect()
}

pub(crate) fn allows(patterns: &[String], action: &str) -> bool {
    patterns.iter().any(|pattern| landing_zone::ops::permissions::allows(pattern, action))
}

/// What each principal signed, as IAM actions; operations the table cannot name are returned apart.
pub(crate) fn signed_actions(moto: &Moto) -> (BTreeSet<String>, BTreeSet<String>, BTreeSet<String>) {
    let stats = moto.strict_proxy().stats();
    let (mut caller, mut member, mut unknown) = (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
    for (key, operations) in &stats.signed_by {
        for operation in operations {
            let action = iam_action(operation).or_else(|| rest_action(operation).map(str::to_string));
            match action {
                None => {
                    unknown.insert(operation.clone());
                }
                Some(action) if key == CALLER_KEY => {
                    caller.insert(action);
                }
                // Requests the strict layer answers before signing matter (unsigned set-up) are not the tool's.
                Some(_) if key == "unsigned" => {}
                // Calls signed by an AssumeRoot session are governed by AWS's root-task policy,
                // not by the printed policies (root_credentials.rs checks them against the task's
                // actions); the caller's `sts:AssumeRoot` itself is checked here.
                Some(_) if key.starts_with(crate::support::root_credentials::ROOT_SESSION_KEY_PREFIX) => {}
                Some(action) => {
                    member.insert(action);
                }
            }
        }
    }
    (caller, member, unknown)
}

#[tokio::test]
async fn the_printed_policies_allow_every_call_of_a_full_apply() {
    let moto = Moto::start_with_managed_policies();
    let workspace = spec_workspace(&[]);
    let dir = workspace.path();
    let plan = moto.run(&["plan"], dir);
    assert!(plan.status.success(), "{}", stderr(&plan));
    let (plan_caller, plan_member, _) = signed_actions(&moto);
    let read_management = policy_actions(&moto, "plan", "management", dir);
    let read_member = policy_actions(&moto, "plan", "member", dir);
    for action in &plan_caller {
        assert!(allows(&read_management, action), "`permissions plan` lacks `{action}`, which plan called");
    }
    for action in &plan_member {
        assert!(allows(&read_member, action), "`permissions plan --role member` lacks `{action}`");
    }

    let apply = moto.run(&["apply", "--auto-approve"], dir);
    assert!(apply.status.success(), "{}\n{}", stdout(&apply), stderr(&apply));
    let again = moto.run(&["plan", "--detailed-exitcode"], dir);
    assert_eq!(again.status.code(), Some(0), "{}", stdout(&again));
    let (caller, member, unknown) = signed_actions(&moto);
    assert!(unknown.is_empty(), "operations with no IAM action in the test's table: {unknown:?}");
    assert!(caller.len() > 40 && !member.is_empty(), "too few calls seen: {caller:?} {member:?}");
    let management = policy_actions(&moto, "apply", "management", dir);
    let member_policy = policy_actions(&moto, "apply", "member", dir);
    let missing: Vec<&String> = caller.iter().filter(|action| !allows(&management, action)).collect();
    assert!(
        missing.is_empty(),
        "`permissions apply` lacks what apply called with the caller's credentials: {missing:?}"
    );
    let missing: Vec<&String> = member.iter().filter(|action| !allows(&member_policy, action)).collect();
    assert!(
        missing.is_empty(),
        "`permissions apply --role member` lacks what apply called in member accounts: {missing:?}"
    );
    // The management account's password policy is updated with the caller's own credentials.
    assert!(caller.contains("iam:UpdateAccountPasswordPolicy"), "{caller:?}");
}

/// The printed policy's statement with `sid`, for `landing-zone permissions COMMAND --role ROLE`.
fn printed_statement(command: &str, role: &str, sid: &str) -> Value {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_landing-zone"))
        .args(["permissions", command, "--role", role])
        .output()
        .expect("run landing-zone permissions");
    assert!(output.status.success(), "{}", stderr(&output));
    let policy: Value = serde_json::from_str(&stdout(&output)).expect("a policy document");
    let statements = policy["Statement"].as_array().expect("statements");
    statements.iter().find(|statement| statement["Sid"] == sid).cloned().unwrap_or(Value::Null)
}

/// An Identity Center instance encrypted with a customer managed key needs its administrators to
/// use the key through Identity Center and the identity store (AWS's baseline IAM statement,
/// https://docs.aws.amazon.com/singlesignon/latest/userguide/baseline-KMS-key-policy.html): both
/// printed policies carry it, conditioned on `kms:ViaService`; plan's only decrypts.
#[test]
fn identity_center_customer_managed_keys_are_used_only_through_identity_center() {
    for role in ["management", "member"] {
        let apply = printed_statement("apply", role, "IdentityCenterCustomerManagedKey");
        assert_eq!(
            apply["Action"],
            serde_json::json!(["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKeyWithoutPlaintext"]),
            "{role}: {apply:#}"
        );
        assert_eq!(apply["Effect"], "Allow", "{role}: {apply:#}");
        assert_eq!(
            apply["Condition"]["StringLike"]["kms:ViaService"],
            serde_json::json!(["sso.*.amazonaws.com", "identitystore.*.amazonaws.com"]),
            "{role}: {apply:#}"
        );
        let plan = printed_statement("plan", role, "IdentityCenterCustomerManagedKey");
        assert_eq!(plan["Action"], serde_json::json!(["kms:Decrypt", "kms:DescribeKey"]), "{role}: {plan:#}");
        assert_eq!(plan["Condition"], apply["Condition"], "{role}");
    }
}
