//! The planner orders SCPs that freeze a setting after the executor has set it, and warns when
//! such an SCP does not exempt the executor's role (DESIGN.md §3, lock-out). Pure: no emulator.

use std::path::Path;

use landing_zone::baseline::load_spec_from_str;
use landing_zone::plan::{plan, Action, PlanOptions};

fn spec(condition: &str) -> String {
    format!(
        r#"version: 1
organization:
  policy_types: [SERVICE_CONTROL_POLICY]
  management_account: management
  regions: [us-east-1]
units:
  Workloads: {{}}
accounts:
  management: {{ email: root@example.com }}
  app: {{ email: app@example.com, unit: Workloads }}
policies:
  freeze-bpa:
    document:
      Version: "2012-10-17"
      Statement:
        - Effect: Deny
          Action: s3:PutAccountPublicAccessBlock
          Resource: "*"
          {condition}
    targets: {{ units: [Workloads] }}
baseline:
  s3_block_public_access: {{ targets: {{ units: [Root] }} }}
"#
    )
}

fn planned(condition: &str) -> landing_zone::plan::Plan {
    let valid = load_spec_from_str(Path::new("landing-zone.yaml"), spec(condition)).expect("valid spec");
    let desired = landing_zone::baseline::desired_organization(&valid);
    plan(&desired, &Default::default(), PlanOptions::default()).expect("plan")
}

#[test]
fn freezing_scp_waits_for_the_setting_and_warns_without_an_exemption() {
    let plan = planned("");
    let control = plan
        .actions
        .iter()
        .find(|a| matches!(&a.action, Action::ConfigureControl { control, .. } if control.account == "app"))
        .expect("BPA in app");
    let attach = plan
        .actions
        .iter()
        .find(|a| matches!(&a.action, Action::AttachPolicy { policy, .. } if policy.name() == "freeze-bpa"))
        .expect("attachment");
    assert!(attach.depends_on.contains(&control.index), "attach waits for the BPA setting: {attach:?}");
    assert!(
        plan.warnings.iter().any(|w| w.contains("lock-out")
            && w.contains("freeze-bpa")
            && w.contains("s3:PutAccountPublicAccessBlock")),
        "{:?}",
        plan.warnings
    );
}

#[test]
fn an_exemption_for_the_executor_role_silences_the_warning_but_keeps_the_order() {
    let plan = planned(
        "Condition: { ArnNotLike: { \"aws:PrincipalArn\": \"arn:aws:iam::*:role/OrganizationAccountAccessRole\" } }",
    );
    assert!(plan.warnings.iter().all(|w| !w.contains("lock-out")), "{:?}", plan.warnings);
    let control = plan
        .actions
        .iter()
        .find(|a| matches!(&a.action, Action::ConfigureControl { control, .. } if control.account == "app"))
        .expect("BPA in app");
    let attach = plan.actions.iter().find(|a| matches!(&a.action, Action::AttachPolicy { .. })).expect("attachment");
    assert!(attach.depends_on.contains(&control.index));
}

#[test]
fn the_management_account_is_never_restricted_by_scps() {
    let plan = planned("");
    let management_control = plan
        .actions
        .iter()
        .find(|a| matches!(&a.action, Action::ConfigureControl { control, .. } if control.account == "management"))
        .expect("BPA in management");
    assert!(
        plan.actions
            .iter()
            .all(|a| !a.depends_on.contains(&management_control.index)
                || !matches!(a.action, Action::AttachPolicy { .. }))
    );
}

fn lock_out_warnings(plan: &landing_zone::plan::Plan) -> Vec<&String> {
    plan.warnings.iter().filter(|warning| warning.contains("lock-out")).collect()
}

/// An SCP whose condition matches only the root user cannot lock the executor's role out: the
/// policy evaluator reads `aws:PrincipalArn`, so the plan neither warns nor reorders for it.
#[test]
fn a_condition_that_matches_only_the_root_user_raises_no_lock_out_warning() {
    let plan = planned("Condition: { StringLike: { \"aws:PrincipalArn\": \"arn:aws:iam::*:root\" } }");
    assert!(lock_out_warnings(&plan).is_empty(), "{:?}", plan.warnings);
    let attach = plan.actions.iter().find(|a| matches!(&a.action, Action::AttachPolicy { .. })).expect("attachment");
    let control = plan
        .actions
        .iter()
        .find(|a| matches!(&a.action, Action::ConfigureControl { control, .. } if control.account == "app"))
        .expect("BPA in app");
    assert!(!attach.depends_on.contains(&control.index), "nothing to wait for: {attach:?}");
}

/// The same exemption written with each operator AWS accepts for it silences the warning; an
/// exemption for another role does not, and neither does a mere mention of the role's name in an
/// unrelated key.
#[test]
fn exemptions_are_read_by_operator_and_key_not_by_text() {
    for exempt in [
        "Condition: { ArnNotLikeIfExists: { \"aws:PrincipalArn\": [\"arn:aws:iam::*:role/OrganizationAccountAccessRole\"] } }",
        "Condition: { StringNotLike: { \"aws:PrincipalArn\": \"arn:aws:iam::*:role/Organization*\" } }",
        "Condition: { ArnNotEquals: { \"aws:PrincipalArn\": \"arn:aws:iam::*:role/OrganizationAccountAccessRole\" } }",
    ] {
        assert!(lock_out_warnings(&planned(exempt)).is_empty(), "{exempt}");
    }
    for not_exempt in [
        "Condition: { ArnNotLike: { \"aws:PrincipalArn\": \"arn:aws:iam::*:role/BreakGlass\" } }",
        "Condition: { StringNotEquals: { \"aws:PrincipalTag/role\": \"OrganizationAccountAccessRole\" } }",
    ] {
        let plan = planned(not_exempt);
        assert_eq!(lock_out_warnings(&plan).len(), 1, "{not_exempt}: {:?}", plan.warnings);
    }
    // A key the evaluator cannot decide is reported as "may deny", naming the key.
    let plan = planned("Condition: { BoolIfExists: { \"aws:MultiFactorAuthPresent\": \"false\" } }");
    assert!(
        lock_out_warnings(&plan).iter().any(|w| w.contains("may deny") && w.contains("aws:MultiFactorAuthPresent")),
        "{:?}",
        plan.warnings
    );
}
