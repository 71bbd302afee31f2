//! Pure planner tests of organization rules AWS enforces and moto does not: `RCPFullAWSAccess` is
//! never detached and counts toward the 5 RCPs of a target, a control that needs a delegated
//! administrator waits for its registration, and existing accounts are enrolled as members of the
//! administrator. No I/O, no emulator; `organization_rules.rs` proves the same against the strict
//! layer.

use std::collections::BTreeMap;
use std::path::Path;

use landing_zone::baseline::load_spec_from_str;
use landing_zone::plan::action::{Action, Plan};
use landing_zone::plan::desired::{DesiredAccount, DesiredOrganization, DesiredPolicy, DesiredUnit};
use landing_zone::plan::state::{
    AccountState, LiveAccount, LiveOrganization, LivePolicy, LiveUnit, OrganizationInfo, RootInfo,
};
use landing_zone::plan::{plan, PlanError, PlanOptions};
use landing_zone::spec::{PolicyType, ROOT};
use serde_json::json;

const SCP: PolicyType = PolicyType::ServiceControlPolicy;
const RCP: PolicyType = PolicyType::ResourceControlPolicy;
const ROOT_ID: &str = "r-root";
const MANAGEMENT_ID: &str = "000000000001";
const SANDBOX_ID: &str = "ou-root-sandbox1";

fn aws_default(id: &str, name: &str, policy_type: PolicyType, targets: &[&str]) -> LivePolicy {
    LivePolicy {
        id: id.to_string(),
        name: name.to_string(),
        policy_type,
        description: String::new(),
        aws_managed: true,
        document: None,
        targets: targets.iter().map(|target| target.to_string()).collect(),
        tags: None,
    }
}

/// An organization with SCPs and RCPs enabled, one OU (Sandbox) and the management account, each
/// carrying FullAWSAccess and RCPFullAWSAccess as AWS attaches them.
fn live_with_rcps() -> LiveOrganization {
    let mut live = LiveOrganization {
        organization: Some(OrganizationInfo {
            id: "o-live".to_string(),
            management_account_id: MANAGEMENT_ID.to_string(),
            management_account_email: "mgmt@example.com".to_string(),
            all_features: true,
        }),
        root: Some(RootInfo {
            id: ROOT_ID.to_string(),
            policy_types: [(SCP, "ENABLED".to_string()), (RCP, "ENABLED".to_string())].into(),
        }),
        ..Default::default()
    };
    live.units.insert(
        SANDBOX_ID.to_string(),
        LiveUnit {
            id: SANDBOX_ID.to_string(),
            name: "Sandbox".to_string(),
            parent_id: ROOT_ID.to_string(),
            tags: None,
        },
    );
    live.accounts.insert(
        MANAGEMENT_ID.to_string(),
        LiveAccount {
            id: MANAGEMENT_ID.to_string(),
            name: "management".to_string(),
            email: "mgmt@example.com".to_string(),
            state: AccountState::Active,
            parent_id: ROOT_ID.to_string(),
            tags: None,
        },
    );
    let everywhere = [ROOT_ID, SANDBOX_ID, MANAGEMENT_ID];
    live.policies
        .insert("p-FullAWSAccess".to_string(), aws_default("p-FullAWSAccess", "FullAWSAccess", SCP, &everywhere));
    live.policies.insert(
        "p-RCPFullAWSAccess".to_string(),
        aws_default("p-RCPFullAWSAccess", "RCPFullAWSAccess", RCP, &everywhere),
    );
    live
}

fn unit(path: &str) -> DesiredUnit {
    DesiredUnit { path: path.to_string(), name: path.to_string(), parent_path: ROOT.to_string(), id: None, tags: None }
}

fn policy(name: &str, policy_type: PolicyType, deny: Option<&str>, units: &[&str]) -> DesiredPolicy {
    DesiredPolicy {
        name: name.to_string(),
        policy_type,
        description: String::new(),
        document: deny.map(|action| {
            json!({ "Version": "2012-10-17", "Statement": [{ "Effect": "Deny", "Principal": "*", "Action": action, "Resource": "*" }] })
        }),
        target_units: units.iter().map(|unit| unit.to_string()).collect(),
        target_accounts: Default::default(),
        tags: None,
    }
}

/// The spec manages RCPFullAWSAccess's targets (the Root only) and attaches `customs` RCPs to
/// Sandbox; Workloads is a new OU (AWS attaches RCPFullAWSAccess to it on creation).
fn desired_with_rcps(customs: usize) -> DesiredOrganization {
    let mut policies = vec![
        policy("FullAWSAccess", SCP, None, &[ROOT, "Sandbox", "Workloads"]),
        policy("RCPFullAWSAccess", RCP, None, &[ROOT]),
    ];
    policies[0].target_accounts.insert("management".to_string());
    for index in 1..=customs {
        policies.push(policy(&format!("rcp-{index}"), RCP, Some(&format!("s3:Action{index}")), &["Sandbox"]));
    }
    DesiredOrganization {
        policy_types: [SCP, RCP].into_iter().collect(),
        units: vec![unit("Sandbox"), unit("Workloads")],
        accounts: vec![DesiredAccount {
            name: "management".to_string(),
            aws_name: None,
            email: "mgmt@example.com".to_string(),
            unit_path: ROOT.to_string(),
            id: None,
            tags: None,
            close: false,
        }],
        policies,
        management_account: Some("management".to_string()),
        access_role: "OrganizationAccountAccessRole".to_string(),
        ..Default::default()
    }
}

fn detaches(plan: &Plan, name: &str) -> Vec<String> {
    plan.actions
        .iter()
        .filter_map(|planned| match &planned.action {
            Action::DetachPolicy { policy, target, .. } if policy.name() == name => Some(target.label()),
            _ => None,
        })
        .collect()
}

#[test]
fn rcp_full_access_is_never_detached() {
    let live = live_with_rcps();
    let plan = plan(&desired_with_rcps(4), &live, PlanOptions::default()).expect("four RCPs plus the default fit");
    assert_eq!(detaches(&plan, "RCPFullAWSAccess"), Vec::<String>::new(), "never detached: {:#?}", plan.actions);
    assert!(
        plan.warnings.iter().any(|warning| warning.contains("`RCPFullAWSAccess` stays attached")),
        "the spec's narrower targets are answered with a warning: {:?}",
        plan.warnings
    );
    let attached = plan.actions.iter().filter(|planned| matches!(planned.action, Action::AttachPolicy { .. })).count();
    assert_eq!(attached, 4, "the four RCPs on Sandbox (AWS attaches the defaults to Workloads): {:#?}", plan.actions);
}

#[test]
fn rcp_full_access_counts_toward_five_per_target() {
    let live = live_with_rcps();
    let refused = plan(&desired_with_rcps(5), &live, PlanOptions::default()).expect_err("six RCPs on Sandbox");
    match &refused {
        PlanError::TooManyPolicies { target, policy_type, count, max } => {
            assert_eq!((policy_type, *count, *max), (&RCP, 6, 5), "{refused}");
            assert!(target.contains("Sandbox"), "{refused}");
        }
        other => panic!("expected the per-target limit, got {other}"),
    }
    assert!(refused.to_string().contains("AWS allows 5"), "{refused}");
}

#[test]
fn validate_counts_rcp_full_access_even_when_the_spec_manages_it() {
    let mut spec = String::from(
        "version: 1
organization:
  policy_types: [SERVICE_CONTROL_POLICY, RESOURCE_CONTROL_POLICY]
  management_account: management
  regions: [us-east-1]
units:
  Sandbox: {}
accounts:
  management: { email: mgmt@example.com }
policies:
  RCPFullAWSAccess:
    type: RESOURCE_CONTROL_POLICY
    targets: { units: [Root] }
",
    );
    for index in 1..=5 {
        spec.push_str(&format!(
            "  rcp-{index}:
    type: RESOURCE_CONTROL_POLICY
    document: {{ Version: '2012-10-17', Statement: [{{ Effect: Deny, Principal: '*', Action: 's3:Action{index}', Resource: '*' }}] }}
    targets: {{ units: [Sandbox] }}
"
        ));
    }
    let errors = load_spec_from_str(Path::new("landing-zone.yaml"), spec).expect_err("six RCPs on Sandbox");
    let messages: Vec<String> = errors.diagnostics.iter().map(|diagnostic| format!("{diagnostic:?}")).collect();
    assert!(
        messages.iter().any(
            |message| message.contains("would have 6 RESOURCE_CONTROL_POLICYs") && message.contains("AWS allows 5")
        ),
        "{messages:#?}"
    );
}

#[test]
fn organization_analyzer_waits_for_its_delegated_administrator() {
    let spec = "version: 1
organization:
  management_account: management
  regions: [us-east-1, eu-west-1]
accounts:
  management: { email: mgmt@example.com }
  security: { email: security@example.com }
baseline:
  access_analyzer: { admin_account: security }
";
    let valid = load_spec_from_str(Path::new("landing-zone.yaml"), spec.to_string())
        .unwrap_or_else(|errors| panic!("{:?}", errors.diagnostics));
    let desired = landing_zone::baseline::desired_organization(&valid);
    let mut live = live_with_rcps();
    live.accounts.insert(
        "000000000002".to_string(),
        LiveAccount {
            id: "000000000002".to_string(),
            name: "security".to_string(),
            email: "security@example.com".to_string(),
            state: AccountState::Active,
            parent_id: ROOT_ID.to_string(),
            tags: None,
        },
    );
    for default in live.policies.values_mut() {
        default.targets.insert("000000000002".to_string());
    }
    let plan = plan(&desired, &live, PlanOptions::default()).expect("plan");
    let registration: Vec<usize> = plan
        .actions
        .iter()
        .filter(|planned| {
            matches!(&planned.action, Action::RegisterDelegatedAdministrator { service, .. } if service == "access-analyzer.amazonaws.com")
        })
        .map(|planned| planned.index)
        .collect();
    assert_eq!(registration.len(), 1, "{:#?}", plan.actions);
    let analyzers: BTreeMap<String, Vec<usize>> = plan
        .actions
        .iter()
        .filter_map(|planned| match &planned.action {
            Action::ConfigureControl { control, .. } if control.control == "access_analyzer/analyzer" => {
                Some((control.label(), planned.depends_on.clone()))
            }
            _ => None,
        })
        .collect();
    assert_eq!(analyzers.len(), 2, "one analyzer per region: {:#?}", plan.actions);
    for (label, depends_on) in analyzers {
        assert!(depends_on.contains(&registration[0]), "{label} waits for the registration: {depends_on:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// Item 7: existing accounts are enrolled as Security Hub members (LOCAL AutoEnable covers only
// accounts that join later) and as GuardDuty members under `auto_enable: new`.

fn detection_controls(guardduty_auto_enable: &str) -> Vec<landing_zone::plan::control::DesiredControl> {
    let spec = format!(
        "version: 1
organization:
  management_account: management
  regions: [us-east-1, eu-west-1]
  allow: {{ close_accounts: true }}
accounts:
  management: {{ email: mgmt@example.com }}
  security: {{ email: security@example.com }}
  workload: {{ email: workload@example.com, id: '000000000003' }}
  retired: {{ email: retired@example.com, close: true }}
baseline:
  guardduty: {{ admin_account: security, auto_enable: {guardduty_auto_enable} }}
  security_hub: {{ admin_account: security }}
"
    );
    let valid = load_spec_from_str(Path::new("landing-zone.yaml"), spec)
        .unwrap_or_else(|errors| panic!("{:?}", errors.diagnostics));
    landing_zone::baseline::desired_organization(&valid).controls
}

#[test]
fn existing_accounts_are_enrolled_as_members_of_the_administrator() {
    let controls = detection_controls("new");
    for family in ["security_hub", "guardduty"] {
        let members: Vec<_> =
            controls.iter().filter(|control| control.key.control == format!("{family}/members")).collect();
        let regions: Vec<_> = members.iter().map(|control| control.key.region.as_deref().unwrap_or("-")).collect();
        assert_eq!(regions, ["us-east-1", "eu-west-1"], "{family}: one enrolment per region");
        for control in members {
            assert_eq!(control.key.account, "security", "the administrator enrols");
            // Every open account but the administrator; a pinned id is used as is.
            assert_eq!(
                *control.attributes,
                json!({ "members": {
                    "management": { "account_id": "{{account:management}}", "email": "mgmt@example.com" },
                    "workload": { "account_id": "000000000003", "email": "workload@example.com" },
                } }),
                "{family}"
            );
            let after: Vec<&str> = control.after.iter().map(|key| key.control.as_str()).collect();
            assert!(after.contains(&format!("{family}/organization_configuration").as_str()), "{after:?}");
            assert_eq!(control.after_services, [format!("{}.amazonaws.com", family.replace('_', ""))]);
            assert!(control.needs.iter().any(|action| action.ends_with(":CreateMembers")));
        }
    }
    // ALL enables GuardDuty in existing accounts itself: no enrolment control.
    let all = detection_controls("all");
    assert!(!all.iter().any(|control| control.key.control == "guardduty/members"));
    assert!(all.iter().any(|control| control.key.control == "security_hub/members"));
}
