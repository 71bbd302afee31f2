//! `--target` and "apply reads once" (issue 13) through the built binary and the counting proxy:
//! a targeted plan reads only its target's tags and controls, holds only its actions and says it
//! is partial in every format; an unknown target is refused with the closest name and no call; a
//! saved targeted plan applies with its own targets only. Apply reads the organization once: a
//! saved plan re-reads under the lock only what it touches, refuses when that moved (naming it),
//! and neither blocks on nor applies a change elsewhere; `--auto-approve` reads once.

use std::collections::BTreeMap;
use std::path::Path;

use crate::support::{stderr, stdout, Moto};

const FILLERS: usize = 8;

/// Management, `dev` and `prod` under Workloads, fillers under Sandbox; every account tagged and,
/// with `baselines`, carrying a password policy and account-level S3 Block Public Access.
fn spec(baselines: bool) -> String {
    let mut text = String::from(
        "version: 1\norganization:\n  management_account: management\n  regions: [us-east-1]\n\
         units:\n  Workloads: {}\n  Sandbox: {}\naccounts:\n  management: { email: aws-root@example.com }\n\
         \x20 dev: { email: aws+dev@example.com, unit: Workloads, tags: { env: dev } }\n\
         \x20 prod: { email: aws+prod@example.com, unit: Workloads, tags: { env: prod } }\n",
    );
    for filler in 1..=FILLERS {
        text.push_str(&format!(
            "  filler-{filler}: {{ email: aws+filler-{filler}@example.com, unit: Sandbox, tags: {{ env: sandbox }} }}\n"
        ));
    }
    if baselines {
        text.push_str("baseline:\n  password_policy: { minimum_length: 14 }\n  s3_block_public_access: {}\n");
    }
    text
}

fn count(calls: &BTreeMap<String, u64>, operation: &str) -> u64 {
    calls.get(operation).copied().unwrap_or(0)
}

/// Runs the binary; its exit status, stdout, stderr and the calls it made by operation.
fn run(moto: &Moto, dir: &Path, args: &[&str]) -> (Option<i32>, String, String, BTreeMap<String, u64>) {
    let proxy = moto.strict_proxy();
    proxy.reset_stats();
    let output = moto.run(args, dir);
    (output.status.code(), stdout(&output), stderr(&output), proxy.stats().calls)
}

async fn account_ids(moto: &Moto) -> BTreeMap<String, String> {
    let client = aws_sdk_organizations::Client::new(&moto.sdk_config().await);
    let accounts = client.list_accounts().send().await.expect("accounts").accounts.unwrap_or_default();
    accounts.into_iter().map(|a| (a.email.expect("email").to_lowercase(), a.id.expect("id"))).collect()
}

/// Sets the minimum password length in an account by hand, behind the tool's back.
async fn set_password_length(moto: &Moto, account_id: &str, length: i32) {
    let iam = aws_sdk_iam::Client::new(&moto.assumed_config(account_id).await);
    iam.update_account_password_policy().minimum_password_length(length).send().await.expect("password policy");
}

/// An organization with every account created, then the baselines added to the spec.
fn organization(moto: &Moto, dir: &Path, baselines_applied: bool) {
    std::fs::write(dir.join("landing-zone.yaml"), spec(false)).expect("spec");
    let (code, _, err, _) = run(moto, dir, &["apply", "--auto-approve"]);
    assert_eq!(code, Some(0), "{err}");
    // New accounts answer SubscriptionRequiredException for a moment (the strict layer's window).
    std::thread::sleep(std::time::Duration::from_millis(1500));
    std::fs::write(dir.join("landing-zone.yaml"), spec(true)).expect("spec");
    if baselines_applied {
        let (code, _, err, _) = run(moto, dir, &["apply", "--auto-approve"]);
        assert_eq!(code, Some(0), "{err}");
    }
}

#[test]
fn a_targeted_plan_reads_and_shows_only_its_target() {
    let moto = Moto::start();
    let workspace = tempfile::tempdir().expect("workspace");
    let dir = workspace.path();
    organization(&moto, dir, false);
    let accounts = 3 + FILLERS as u64;

    let (code, full_text, err, full) = run(&moto, dir, &["plan"]);
    assert_eq!(code, Some(0), "{err}");
    let (code, text, err, targeted) = run(&moto, dir, &["plan", "--target", "account:dev"]);
    assert_eq!(code, Some(0), "{err}");
    // The whole organization: every account's tags and controls. The target: its own only.
    assert_eq!(count(&full, "iam:GetAccountPasswordPolicy"), accounts, "{full:#?}");
    assert_eq!(count(&full, "organizations:ListTagsForResource"), accounts - 1, "{full:#?}");
    assert_eq!(count(&targeted, "iam:GetAccountPasswordPolicy"), 1, "{targeted:#?}");
    assert_eq!(count(&targeted, "s3control:GetPublicAccessBlock"), 1, "{targeted:#?}");
    assert_eq!(count(&targeted, "organizations:ListTagsForResource"), 1, "{targeted:#?}");
    assert_eq!(count(&targeted, "sts:AssumeRole"), 1, "{targeted:#?}");
    let (total, partial) = (full.values().sum::<u64>(), targeted.values().sum::<u64>());
    assert!(partial * 2 < total, "a targeted plan makes far fewer calls: {partial} of {total}");
    eprintln!("calls: whole organization {total}, --target account:dev {partial}");

    assert!(text.starts_with("partial plan: --target account:dev;"), "{text}");
    assert!(text.contains("password_policy in dev") && !text.contains("in prod"), "{text}");
    // The whole plan groups the identical change over every account.
    assert!(full_text.contains("password_policy in all 11 accounts under Root"), "{full_text}");
    assert!(!full_text.contains("partial plan"), "{full_text}");
    let (_, json, _, _) = run(&moto, dir, &["plan", "--target", "account:dev", "--format", "json"]);
    let json: serde_json::Value = serde_json::from_str(&json).expect("json plan");
    assert_eq!(json["targets"], serde_json::json!(["account:dev"]));
    let accounts_in_plan: Vec<&str> = json["actions"]
        .as_array()
        .expect("actions")
        .iter()
        .filter_map(|action| action["account"]["name"].as_str())
        .collect();
    assert_eq!(accounts_in_plan, ["dev", "dev"], "{json:#}");
    let (_, markdown, _, _) = run(&moto, dir, &["plan", "--target", "account:dev", "--format", "markdown"]);
    // Escaped for GitHub, as every name from the spec is (`:` would start a link or an emoji).
    assert!(markdown.starts_with("> [!NOTE]\n> partial plan\\: --target account\\:dev;"), "{markdown}");

    // A unit covers every account under it.
    let (code, text, err, calls) = run(&moto, dir, &["plan", "--target", "unit:Workloads"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(count(&calls, "iam:GetAccountPasswordPolicy"), 2, "{calls:#?}");
    assert!(text.contains("password_policy in all 2 accounts under Workloads"), "{text}");
    assert!(!text.contains("filler") && !text.contains("Sandbox"), "{text}");

    // An unknown name: refused with the closest one, before any call.
    for (target, hint) in [("account:devv", "did you mean `dev`?"), ("unit:workload", "did you mean `Workloads`?")] {
        for args in [&["plan", "--target", target][..], &["apply", "--auto-approve", "--target", target][..]] {
            let (code, _, err, calls) = run(&moto, dir, args);
            assert_eq!(code, Some(1), "{args:?}: {err}");
            assert!(err.contains(&format!("`--target {target}`")) && err.contains(hint), "{err}");
            assert!(calls.is_empty(), "no call at all: {calls:?}");
        }
    }
}

#[test]
fn a_saved_targeted_plan_applies_with_its_own_targets_only() {
    let moto = Moto::start();
    let workspace = tempfile::tempdir().expect("workspace");
    let dir = workspace.path();
    organization(&moto, dir, false);
    let (code, _, err, _) = run(&moto, dir, &["plan", "--target", "unit:Workloads", "--out", "workloads.plan"]);
    assert_eq!(code, Some(0), "{err}");
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("workloads.plan")).expect("saved")).expect("json");
    assert_eq!(saved["targets"], serde_json::json!(["unit:Workloads"]));
    let (_, shown, _, _) = run(&moto, dir, &["show", "workloads.plan"]);
    assert!(shown.starts_with("partial plan: --target unit:Workloads;"), "{shown}");

    let (code, _, err, calls) = run(&moto, dir, &["apply", "workloads.plan", "--target", "account:dev"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("made with `--target unit:Workloads`, not `--target account:dev`"), "{err}");
    assert!(calls.is_empty(), "refused before any call: {calls:?}");

    let (code, out, err, _) = run(&moto, dir, &["apply", "workloads.plan"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("Apply complete"), "{out}");
    let (code, _, err, _) = run(&moto, dir, &["plan", "--target", "unit:Workloads", "--detailed-exitcode"]);
    assert_eq!(code, Some(0), "the targets converged: {err}");
    let (code, rest, _, _) = run(&moto, dir, &["plan", "--detailed-exitcode"]);
    assert_eq!(code, Some(2), "the rest was not applied: {rest}");
    assert!(rest.contains("password_policy in 9 accounts: all 8 under Sandbox, management"), "{rest}");
    assert!(!rest.contains("dev"), "{rest}");
}

#[tokio::test(flavor = "multi_thread")]
async fn apply_reads_once_and_checks_only_what_the_plan_touches() {
    let moto = Moto::start();
    let workspace = tempfile::tempdir().expect("workspace");
    let dir = workspace.path();
    organization(&moto, dir, true);
    let ids = account_ids(&moto).await;
    let (dev, prod) = (&ids["aws+dev@example.com"], &ids["aws+prod@example.com"]);
    let accounts = 3 + FILLERS as u64;

    // Drift in `dev` only: the plan touches its password policy and nothing else.
    set_password_length(&moto, dev, 8).await;
    let (code, _, err, preview) = run(&moto, dir, &["plan", "--out", "dev.plan"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(count(&preview, "iam:GetAccountPasswordPolicy"), accounts, "the preview reads everything");

    // A change by hand elsewhere between the preview and the lock: it does not block.
    set_password_length(&moto, prod, 9).await;
    let (code, out, err, apply) = run(&moto, dir, &["apply", "dev.plan"]);
    assert_eq!(code, Some(0), "{out}\n{err}");
    // Under the lock, only what the plan touches is read again: one control, one session.
    assert_eq!(count(&apply, "iam:GetAccountPasswordPolicy"), 1, "{apply:#?}");
    assert_eq!(count(&apply, "s3control:GetPublicAccessBlock"), 0, "{apply:#?}");
    assert_eq!(count(&apply, "organizations:ListTagsForResource"), 0, "{apply:#?}");
    assert_eq!(count(&apply, "sts:AssumeRole"), 1, "{apply:#?}");
    assert_eq!(count(&apply, "iam:UpdateAccountPasswordPolicy"), 1, "{apply:#?}");
    // ... and it was not applied: the next plan shows it.
    let (code, next, _, _) = run(&moto, dir, &["plan", "--detailed-exitcode"]);
    assert_eq!(code, Some(2), "{next}");
    assert!(next.contains("password_policy in prod") && !next.contains("password_policy in dev"), "{next}");

    // A change by hand to what the plan touches: refused, naming it, nothing written.
    let (code, _, err, _) = run(&moto, dir, &["plan", "--target", "account:prod", "--out", "prod.plan"]);
    assert_eq!(code, Some(0), "{err}");
    set_password_length(&moto, prod, 10).await;
    let (code, out, err, calls) = run(&moto, dir, &["apply", "prod.plan"]);
    assert_eq!(code, Some(1), "{out}\n{err}");
    assert!(err.contains("nothing was applied") && err.contains("password_policy in prod"), "{err}");
    assert_eq!(count(&calls, "iam:UpdateAccountPasswordPolicy"), 0, "{calls:#?}");

    // `--auto-approve` reads everything once, as a plan does, before the lock (so that a run with
    // nothing to do takes none); under the lock only what its plan touches is read again.
    let (code, out, err, calls) = run(&moto, dir, &["apply", "--auto-approve"]);
    assert_eq!(code, Some(0), "{out}\n{err}");
    assert!(out.contains("password_policy in prod"), "the plan is shown: {out}");
    assert_eq!(count(&calls, "iam:GetAccountPasswordPolicy"), accounts + 1, "{calls:#?}");
    assert_eq!(count(&calls, "s3control:GetPublicAccessBlock"), accounts, "{calls:#?}");
    let (code, _, _, _) = run(&moto, dir, &["plan", "--detailed-exitcode"]);
    assert_eq!(code, Some(0));
}

/// An SCP document that denies `action`.
fn deny(action: &str) -> String {
    format!("{{ Version: \"2012-10-17\", Statement: [{{ Effect: Deny, Action: \"{action}\", Resource: \"*\" }}] }}")
}

/// [`spec`] with SCPs enabled and `policies` (name, document, targets) added.
fn spec_with_policies(baselines: bool, policies: &[(&str, String, &str)]) -> String {
    let mut text = spec(baselines).replacen(
        "  regions: [us-east-1]\n",
        "  regions: [us-east-1]\n  policy_types: [SERVICE_CONTROL_POLICY]\n",
        1,
    );
    text.push_str("policies:\n");
    for (name, document, targets) in policies {
        text.push_str(&format!("  {name}:\n    document: {document}\n    targets: {targets}\n"));
    }
    text
}

/// The SCPs of the organization: one on the root (on `dev`'s path), one on `dev`, and several
/// attached elsewhere (Sandbox, fillers, `prod`).
fn scps(dev_guard: &str) -> Vec<(&'static str, String, &'static str)> {
    vec![
        ("deny-leave", deny("organizations:LeaveOrganization"), "{ units: [Root] }"),
        ("dev-guard", deny(dev_guard), "{ accounts: [dev] }"),
        ("prod-guard", deny("ec2:DeleteVpc"), "{ accounts: [prod] }"),
        ("sandbox-a", deny("ec2:CreateVpc"), "{ units: [Sandbox] }"),
        ("sandbox-b", deny("ec2:CreateSubnet"), "{ units: [Sandbox] }"),
        ("filler-guard", deny("s3:DeleteBucket"), "{ accounts: [filler-1, filler-2, filler-3] }"),
    ]
}

/// `plan --target account:dev` reads in full only the SCPs on `dev`'s path and those the spec
/// attaches there (ListPoliciesForTarget per container on the path), and says what it said when
/// it read every policy: an SCP attached to the target (with its lock-out warning), a content
/// change of the target's SCP, and the last-SCP check on the target.
#[test]
fn a_targeted_plan_reads_only_the_policies_on_its_path() {
    let moto = Moto::start();
    let workspace = tempfile::tempdir().expect("workspace");
    let dir = workspace.path();
    let write = |text: String| std::fs::write(dir.join("landing-zone.yaml"), text).expect("spec");
    write(spec_with_policies(false, &scps("ec2:DeleteSubnet")));
    let (code, _, err, _) = run(&moto, dir, &["apply", "--auto-approve"]);
    assert_eq!(code, Some(0), "{err}");
    std::thread::sleep(std::time::Duration::from_millis(1500));

    // Nothing to do with the policies: the whole plan reads every one; the targeted one those of
    // Root (deny-leave, FullAWSAccess) and dev (dev-guard), with one ListPoliciesForTarget for
    // each of Root, Workloads and dev.
    write(spec_with_policies(true, &scps("ec2:DeleteSubnet")));
    let (code, _, err, full) = run(&moto, dir, &["plan"]);
    assert_eq!(code, Some(0), "{err}");
    let (code, unchanged, err, targeted) = run(&moto, dir, &["plan", "--target", "account:dev"]);
    assert_eq!(code, Some(0), "{err}");
    let text = unchanged.clone();
    eprintln!("--- unchanged\n{text}");
    assert_eq!(count(&full, "organizations:DescribePolicy"), 6, "{full:#?}");
    assert_eq!(count(&full, "organizations:ListTargetsForPolicy"), 7, "{full:#?}");
    assert_eq!(count(&targeted, "organizations:DescribePolicy"), 2, "{targeted:#?}");
    assert_eq!(count(&targeted, "organizations:ListTargetsForPolicy"), 3, "{targeted:#?}");
    assert_eq!(count(&targeted, "organizations:ListPoliciesForTarget"), 3, "{targeted:#?}");
    assert_eq!(count(&targeted, "organizations:ListPolicies"), 1, "{targeted:#?}");
    assert!(!text.contains("guard") && !text.contains("deny-leave") && !text.contains("sandbox-"), "{text}");

    // (a) An SCP attached to the target (and to prod): the attachment to dev and its lock-out
    // warning, not prod's.
    let mut added = scps("ec2:DeleteSubnet");
    added.push(("no-password", deny("iam:UpdateAccountPasswordPolicy"), "{ accounts: [dev, prod] }"));
    write(spec_with_policies(true, &added));
    let (code, text, err, _) = run(&moto, dir, &["plan", "--target", "account:dev"]);
    assert_eq!(code, Some(0), "{err}");
    eprintln!("--- attached\n{text}\n{err}");
    assert!(text.contains("no-password") && text.contains("dev"), "{text}");
    assert!(!text.contains("prod"), "{text}");
    assert!(format!("{text}{err}").contains("lock-out: SCP `no-password`"), "{text}\n{err}");

    // (b) The content of the target's SCP changes: read in full (its document is compared). A
    // policy's update is organization-wide, outside the targets (`Scope::covers`), so it is not
    // an action of the targeted plan; but the targets feel it, so it is held back and said, and
    // the plan is not "no changes".
    write(spec_with_policies(true, &scps("ec2:DeleteRouteTable")));
    let (code, text, err, calls) = run(&moto, dir, &["plan", "--target", "account:dev", "--detailed-exitcode"]);
    assert_eq!(code, Some(2), "pending for the targets: {text}\n{err}");
    eprintln!("--- updated\n{text}\n{err}");
    assert_eq!(count(&calls, "organizations:DescribePolicy"), 2, "{calls:#?}");
    assert_ne!(text, unchanged);
    assert!(text.contains("policy dev-guard") && text.contains("without `--target`"), "{text}");
    assert!(!text.contains("policy deny-leave"), "the root's unchanged SCP is not held back: {text}");

    // (c) The target would be left without an SCP: FullAWSAccess managed everywhere but dev, and
    // dev-guard detached from it.
    let mut last = scps("ec2:DeleteSubnet");
    last[1].2 = "[]";
    let fillers: Vec<String> = (1..=FILLERS).map(|n| format!("filler-{n}")).collect();
    let everywhere_but_dev =
        format!("{{ units: [Root, Workloads, Sandbox], accounts: [management, prod, {}] }}", fillers.join(", "));
    let mut text = spec_with_policies(true, &last);
    text.push_str(&format!("  FullAWSAccess:\n    targets: {everywhere_but_dev}\n"));
    write(text.replace("    targets: []\n", ""));
    let (code, text, err, _) = run(&moto, dir, &["plan", "--target", "account:dev"]);
    eprintln!("--- last SCP\n{text}\n{err}");
    assert_eq!(code, Some(1), "{text}\n{err}");
    assert!(err.contains("account dev"), "{err}");
}
