//! Reads at the floor (issue 13): a plan of an organization whose accounts carry per-account and
//! per-region baselines makes one AssumeRole per member account (shared by every region and
//! control, past the SDK identity cache's 64 partitions) and one DescribeConfigRules listing per
//! account and region for all the spec's rules and the search for those it no longer asks for. The proxy counts the calls by operation. Reads run wide
//! across accounts and narrow within each (`--accounts-at-once`, `--parallelism`): the proxy
//! counts the requests in flight by the session that signed them. The accounts' reads start once
//! the organization's structure is read, before its slowest read (DescribePolicy) is done.

use std::collections::BTreeMap;

use std::time::Duration;

use crate::support::proxy::{Faults, Refusal};
use crate::support::{stderr, stdout, Moto, CALLER_KEY};

/// More member accounts than the SDK identity cache keeps partitions (64).
const FILLERS: usize = 66;

/// The spec: the management account, the bunker, three workload accounts carrying AWS Config
/// (three rules) in two regions, and fillers; with `baselines`, every account carries a password
/// policy and account-level S3 Block Public Access (account-level controls: moto builds its EC2
/// backend per account and region in ~0.3 s, which EBS encryption in 70 accounts would cost).
fn spec(baselines: bool) -> String {
    let mut text = String::from(
        "version: 1\norganization:\n  management_account: management\n  regions: [us-east-1, eu-west-1]\n\
         units:\n  Workloads: {}\naccounts:\n  management: { email: aws-root@example.com }\n\
         \x20 log-archive: { email: aws+log-archive@example.com }\n",
    );
    for app in 1..=3 {
        text.push_str(&format!("  app-{app}: {{ email: aws+app-{app}@example.com, unit: Workloads }}\n"));
    }
    for filler in 1..=FILLERS {
        text.push_str(&format!("  filler-{filler}: {{ email: aws+filler-{filler}@example.com }}\n"));
    }
    if baselines {
        text.push_str(
            "baseline:\n  log_archive: { account: log-archive }\n  password_policy: { minimum_length: 14 }\n\
             \x20 s3_block_public_access: {}\n  aws_config:\n    targets: { units: [Workloads] }\n    rules:\n\
             \x20     ACCESS_KEYS_ROTATED: { maxAccessKeyAge: \"90\" }\n      S3_BUCKET_VERSIONING_ENABLED: {}\n\
             \x20     ROOT_ACCOUNT_MFA_ENABLED: {}\n",
        );
    }
    text
}

fn run(moto: &Moto, dir: &std::path::Path, args: &[&str]) -> BTreeMap<String, u64> {
    let proxy = moto.strict_proxy();
    proxy.reset_stats();
    let output = moto.run(args, dir);
    assert!(matches!(output.status.code(), Some(0)), "{args:?}: {}\n{}", stdout(&output), stderr(&output));
    proxy.stats().calls
}

#[test]
fn a_plan_assumes_each_member_once_and_names_every_rule_in_one_read() {
    let moto = Moto::start();
    let workspace = tempfile::tempdir().expect("workspace");
    let dir = workspace.path();
    std::fs::write(dir.join("landing-zone.yaml"), spec(false)).expect("spec");
    run(&moto, dir, &["apply", "--auto-approve"]);
    // New accounts answer SubscriptionRequiredException for a moment (the strict layer's window).
    std::thread::sleep(std::time::Duration::from_millis(1500));
    std::fs::write(dir.join("landing-zone.yaml"), spec(true)).expect("spec");
    let members = 1 + 3 + FILLERS as u64;
    let count = |calls: &BTreeMap<String, u64>, operation: &str| calls.get(operation).copied().unwrap_or(0);

    // The first plan: every control of 70 accounts read, two per account at least (password
    // policy, Block Public Access), so a session evicted from the SDK's cache is needed again.
    let first = run(&moto, dir, &["plan"]);
    assert_eq!(count(&first, "sts:AssumeRole"), members, "one session per member account: {first:#?}");

    run(&moto, dir, &["apply", "--auto-approve"]);
    let unchanged = run(&moto, dir, &["plan", "--detailed-exitcode"]);
    let (accounts, regions) = (members + 1, 2);
    assert_eq!(count(&unchanged, "sts:AssumeRole"), members, "{unchanged:#?}");
    // Each control read once per account (and region): the floor of docs/performance.md, and
    // one DescribeConfigRules listing per account and region: in the 3 accounts the rules
    // target it answers the three rules' reads and the search for rules the spec no longer asks
    // for; in every other account, the search alone.
    assert_eq!(count(&unchanged, "config:DescribeConfigRules"), accounts * regions, "{unchanged:#?}");
    assert_eq!(count(&unchanged, "config:DescribeConfigurationRecorders"), 3 * regions, "{unchanged:#?}");
    assert_eq!(count(&unchanged, "config:DescribeDeliveryChannels"), 3 * regions, "{unchanged:#?}");
    assert_eq!(count(&unchanged, "iam:GetAccountPasswordPolicy"), accounts, "{unchanged:#?}");
    assert_eq!(count(&unchanged, "s3control:GetPublicAccessBlock"), accounts, "{unchanged:#?}");
}

#[test]
fn reads_run_wide_across_accounts_and_narrow_within_each() {
    let moto = Moto::start();
    let workspace = tempfile::tempdir().expect("workspace");
    let dir = workspace.path();
    let mut text = String::from(
        "version: 1\norganization:\n  management_account: management\n  regions: [us-east-1]\n\
         accounts:\n  management: { email: aws-root@example.com }\n",
    );
    for app in 1..=8 {
        text.push_str(&format!("  app-{app}: {{ email: aws+app-{app}@example.com }}\n"));
    }
    std::fs::write(dir.join("landing-zone.yaml"), &text).expect("spec");
    run(&moto, dir, &["apply", "--auto-approve"]);
    std::thread::sleep(Duration::from_millis(1500));
    // Three reads in every account, each answered 40 ms late, so reads overlap when allowed to.
    text.push_str(
        "baseline:\n  password_policy: { minimum_length: 14 }\n  s3_block_public_access: {}\n  ebs_encryption: {}\n",
    );
    std::fs::write(dir.join("landing-zone.yaml"), &text).expect("spec");
    let proxy = moto.strict_proxy();
    let latency = Duration::from_millis(40);
    proxy.set_faults(Faults { latency: Some((latency, latency)), ..Faults::none() });
    proxy.reset_stats();
    let output = moto.run(&["plan", "--parallelism", "2", "--accounts-at-once", "3"], dir);
    assert_eq!(output.status.code(), Some(0), "{}\n{}", stdout(&output), stderr(&output));
    let stats = proxy.stats();
    proxy.set_faults(Faults::none());
    // Member accounts' sessions are the signers other than the caller.
    let members: BTreeMap<&String, &usize> =
        stats.most_in_flight_by_signer.iter().filter(|(signer, _)| signer.as_str() != CALLER_KEY).collect();
    assert_eq!(members.len(), 8, "one session per member: {members:?}");
    assert!(members.values().all(|most| **most <= 2), "at most 2 calls at once in an account: {members:?}");
    assert!(members.values().any(|most| **most == 2), "an account's reads overlap: {members:?}");
    // Three accounts at once: more than one account's bound of calls in flight.
    assert_eq!(stats.most_sessions_at_once, 3, "{stats:#?}");
}

#[test]
fn account_reads_start_before_the_policies_are_read() {
    let moto = Moto::start();
    let workspace = tempfile::tempdir().expect("workspace");
    let dir = workspace.path();
    std::fs::create_dir(dir.join("policies")).expect("policies directory");
    let mut text = String::from(
        "version: 1\norganization:\n  management_account: management\n  regions: [us-east-1]\n\
         \x20 policy_types: [SERVICE_CONTROL_POLICY]\naccounts:\n  management: { email: aws-root@example.com }\n",
    );
    for app in 1..=4 {
        text.push_str(&format!("  app-{app}: {{ email: aws+app-{app}@example.com }}\n"));
    }
    // Eight customer SCPs, two on each account: eight DescribePolicy at AWS's 2 a second.
    text.push_str("policies:\n");
    for policy in 1..=8 {
        let document = format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Deny","Action":"ec2:Policy{policy}","Resource":"*"}}]}}"#
        );
        std::fs::write(dir.join(format!("policies/deny-{policy}.json")), document).expect("policy");
        let account = (policy - 1) / 2 + 1;
        text.push_str(&format!(
            "  deny-{policy}:\n    type: SERVICE_CONTROL_POLICY\n    document: policies/deny-{policy}.json\n\
             \x20   targets: {{ accounts: [app-{account}] }}\n"
        ));
    }
    text.push_str("baseline:\n  password_policy: { minimum_length: 14 }\n");
    std::fs::write(dir.join("landing-zone.yaml"), &text).expect("spec");
    run(&moto, dir, &["apply", "--auto-approve"]);
    std::thread::sleep(Duration::from_millis(1500));

    // At AWS's published rates, the tool's own pacing on.
    let proxy = moto.strict_proxy();
    proxy.set_faults(Faults { aws_rates: true, ..Faults::none() });
    proxy.reset_stats();
    let output = moto
        .command(&["plan", "--detailed-exitcode"], dir, &moto.endpoint)
        .env_remove("LANDING_ZONE_RATE_LIMIT")
        .output()
        .expect("run landing-zone");
    let stats = proxy.stats();
    proxy.set_faults(Faults::none());
    assert_eq!(output.status.code(), Some(0), "{}\n{}", stdout(&output), stderr(&output));
    assert_eq!(stats.total_rate_throttled(), 0, "{:?}", stats.rate_throttled);
    let first_control = stats.arrivals.iter().position(|call| call == "iam:GetAccountPasswordPolicy");
    let last_policy = stats.arrivals.iter().rposition(|call| call == "organizations:DescribePolicy");
    let (Some(first_control), Some(last_policy)) = (first_control, last_policy) else {
        panic!("both reads happen: {:?}", stats.arrivals);
    };
    assert!(first_control < last_policy, "the accounts' reads waited for every policy: {:?}", stats.arrivals);
}

/// Issue 25: when the spec pins every account's id (as `import` writes it), each account's
/// reads start as the tree walk lists it (`live::early`), not once the walk is done; and nothing
/// is read twice for it.
#[test]
fn a_spec_pinning_every_id_reads_accounts_while_the_tree_is_walked() {
    let moto = Moto::start();
    let workspace = tempfile::tempdir().expect("workspace");
    let dir = workspace.path();
    // Three levels of units under the root: the walk takes four rounds.
    let mut text = String::from(
        "version: 1\norganization:\n  management_account: management\n  regions: [us-east-1]\n\
         units:\n  Top:\n    units:\n      Middle:\n        units:\n          Bottom: {}\n\
         accounts:\n  management: { email: aws-root@example.com }\n",
    );
    // Most accounts in the last unit listed: still queued when the walk ends.
    let units = ["Root", "Top", "Top/Middle"].into_iter().chain(std::iter::repeat_n("Top/Middle/Bottom", 6));
    for (index, unit) in units.enumerate() {
        text.push_str(&format!("  app-{index}: {{ email: aws+app-{index}@example.com, unit: {unit} }}\n"));
    }
    text.push_str("baseline:\n  password_policy: { minimum_length: 14 }\n");
    std::fs::write(dir.join("landing-zone.yaml"), &text).expect("spec");
    run(&moto, dir, &["apply", "--auto-approve"]);
    std::thread::sleep(Duration::from_millis(1500));
    // The imported spec pins every account's id.
    let imported = tempfile::tempdir().expect("imported workspace");
    let output = moto.run(&["import", "--out", "."], imported.path());
    assert_eq!(output.status.code(), Some(0), "import: {}", stderr(&output));
    let spec = std::fs::read_to_string(imported.path().join("landing-zone.yaml")).expect("imported spec");
    let parsed: serde_yaml::Value = serde_yaml::from_str(&spec).expect("imported spec parses");
    let accounts = parsed["accounts"].as_mapping().expect("accounts");
    assert!(accounts.len() == 10 && accounts.values().all(|account| account["id"].is_string()), "{spec}");

    // Every answer 40 ms late: the walk's four rounds take 160 ms at least.
    let proxy = moto.strict_proxy();
    let latency = Duration::from_millis(40);
    proxy.set_faults(Faults { latency: Some((latency, latency)), ..Faults::none() });
    proxy.reset_stats();
    let output = moto.run(&["plan", "--detailed-exitcode", "--accounts-at-once", "2"], imported.path());
    let stats = proxy.stats();
    proxy.set_faults(Faults::none());
    assert_eq!(output.status.code(), Some(0), "{}\n{}", stdout(&output), stderr(&output));
    // Two accounts at once however the reads are split between the walk and after it.
    assert!(stats.most_sessions_at_once <= 2, "{stats:#?}");
    let first_control = stats.arrivals.iter().position(|call| call == "iam:GetAccountPasswordPolicy");
    let last_walk = stats.arrivals.iter().rposition(|call| {
        call == "organizations:ListOrganizationalUnitsForParent" || call == "organizations:ListAccountsForParent"
    });
    let (Some(first_control), Some(last_walk)) = (first_control, last_walk) else {
        panic!("both reads happen: {:?}", stats.arrivals);
    };
    assert!(first_control < last_walk, "the accounts' reads waited for the whole tree: {:?}", stats.arrivals);
    // Each read once: one session per member, one password policy read per account.
    let count = |operation: &str| stats.calls.get(operation).copied().unwrap_or(0);
    assert_eq!(count("sts:AssumeRole"), 9, "{:#?}", stats.calls);
    assert_eq!(count("iam:GetAccountPasswordPolicy"), 10, "{:#?}", stats.calls);
}

/// Issue 25: each ListPolicies page's policies are read (DescribePolicy, the organization's
/// slowest read at 2 a second) as the page comes, not once every page is listed.
#[test]
fn policies_are_read_as_each_listing_page_comes() {
    let moto = Moto::start();
    let workspace = tempfile::tempdir().expect("workspace");
    let dir = workspace.path();
    std::fs::create_dir(dir.join("policies")).expect("policies directory");
    let mut text = String::from(
        "version: 1\norganization:\n  management_account: management\n  regions: [us-east-1]\n\
         \x20 policy_types: [SERVICE_CONTROL_POLICY]\naccounts:\n  management: { email: aws-root@example.com }\n\
         \x20 app-1: { email: aws+app-1@example.com }\n  app-2: { email: aws+app-2@example.com }\n\
         \x20 app-3: { email: aws+app-3@example.com }\npolicies:\n",
    );
    // 25 customer SCPs and FullAWSAccess: two ListPolicies pages at AWS's 20 a page.
    for policy in 1..=25 {
        let document = format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Deny","Action":"ec2:Policy{policy}","Resource":"*"}}]}}"#
        );
        std::fs::write(dir.join(format!("policies/deny-{policy}.json")), document).expect("policy");
        text.push_str(&format!(
            "  deny-{policy}:\n    document: policies/deny-{policy}.json\n    targets: {{ accounts: [app-{}] }}\n",
            policy % 3 + 1
        ));
    }
    std::fs::write(dir.join("landing-zone.yaml"), &text).expect("spec");
    run(&moto, dir, &["apply", "--auto-approve"]);

    let proxy = moto.strict_proxy();
    let latency = Duration::from_millis(30);
    proxy.set_faults(Faults { aws_page_size: true, latency: Some((latency, latency)), ..Faults::none() });
    proxy.reset_stats();
    let output = moto.run(&["plan", "--detailed-exitcode"], dir);
    let stats = proxy.stats();
    proxy.set_faults(Faults::none());
    assert_eq!(output.status.code(), Some(0), "{}\n{}", stdout(&output), stderr(&output));
    assert_eq!(stats.calls.get("organizations:ListPolicies"), Some(&2), "{:#?}", stats.calls);
    let first_describe = stats.arrivals.iter().position(|call| call == "organizations:DescribePolicy");
    let last_listing = stats.arrivals.iter().rposition(|call| call == "organizations:ListPolicies");
    let (Some(first_describe), Some(last_listing)) = (first_describe, last_listing) else {
        panic!("both reads happen: {:?}", stats.arrivals);
    };
    assert!(first_describe < last_listing, "DescribePolicy waited for every page: {:?}", stats.arrivals);
}

/// A workspace holding what `import` wrote of an organization that `apply` made: a management
/// account and two members with a password policy, every account's id pinned.
fn applied_and_imported(moto: &Moto) -> tempfile::TempDir {
    let workspace = tempfile::tempdir().expect("workspace");
    let dir = workspace.path();
    let text = "version: 1\norganization:\n  management_account: management\n  regions: [us-east-1]\n\
                accounts:\n  management: { email: aws-root@example.com }\n\
                \x20 app-1: { email: aws+app-1@example.com }\n  app-2: { email: aws+app-2@example.com }\n\
                baseline:\n  password_policy: { minimum_length: 14 }\n";
    std::fs::write(dir.join("landing-zone.yaml"), text).expect("spec");
    run(moto, dir, &["apply", "--auto-approve"]);
    std::thread::sleep(Duration::from_millis(1500));
    let imported = tempfile::tempdir().expect("imported workspace");
    let output = moto.run(&["import", "--out", "."], imported.path());
    assert_eq!(output.status.code(), Some(0), "import: {}", stderr(&output));
    imported
}

/// Issue 25: when a pinned id is not in the organization, the ids matched after the walk differ
/// from those the early reads used: those are dropped, every account is read after the walk, and
/// the planner reports the pinned id (the early reads neither hang the read nor hide the error).
#[test]
fn early_reads_made_with_ids_that_turn_out_wrong_are_dropped() {
    let moto = Moto::start();
    let imported = applied_and_imported(&moto);
    let path = imported.path().join("landing-zone.yaml");
    let spec = std::fs::read_to_string(&path).expect("imported spec");
    let parsed: serde_yaml::Value = serde_yaml::from_str(&spec).expect("imported spec parses");
    let app_2 = parsed["accounts"]["app-2"]["id"].as_str().expect("app-2's pinned id").to_string();
    // app-2 pinned to an id the organization does not have.
    let edited = spec.replace(&app_2, "999999999999");
    assert_ne!(edited, spec);
    std::fs::write(&path, edited).expect("edited spec");

    let proxy = moto.strict_proxy();
    proxy.reset_stats();
    let output = moto.run(&["plan", "--detailed-exitcode", "-v"], imported.path());
    let stats = proxy.stats();
    let (out, err) = (stdout(&output), stderr(&output));
    assert_eq!(output.status.code(), Some(1), "{out}\n{err}");
    assert!(err.contains("every account is read after the walk"), "{err}");
    assert!(err.contains("account `app-2` pins id `999999999999`, which is not a member of the organization"), "{err}");
    // The accounts that exist were read after the walk all the same.
    assert!(stats.calls.get("iam:GetAccountPasswordPolicy").is_some_and(|calls| *calls >= 2), "{:#?}", stats.calls);
    assert!(stats.writes.is_empty(), "{:?}", stats.writes);
}

/// Issue 25: an early read that fails is not kept. The account is read again after the walk,
/// where the failure is reported as any read's is: the plan fails naming the control, and the
/// other accounts are read once each.
#[test]
fn an_early_read_that_fails_is_read_again_after_the_walk_and_reported() {
    let moto = Moto::start();
    let imported = applied_and_imported(&moto);
    let spec = std::fs::read_to_string(imported.path().join("landing-zone.yaml")).expect("imported spec");
    let parsed: serde_yaml::Value = serde_yaml::from_str(&spec).expect("imported spec parses");
    let app_1 = parsed["accounts"]["app-1"]["id"].as_str().expect("app-1's pinned id").to_string();

    // app-1 refuses the read (an SCP there, say): every attempt, early and after the walk.
    let proxy = moto.strict_proxy();
    let refused = Refusal { operation: "iam:GetAccountPasswordPolicy".to_string(), account: app_1 };
    proxy.set_faults(Faults { refuse_in_account: vec![refused], ..Faults::none() });
    proxy.reset_stats();
    let output = moto.run(&["plan", "--detailed-exitcode", "-v"], imported.path());
    let stats = proxy.stats();
    proxy.set_faults(Faults::none());
    let (out, err) = (stdout(&output), stderr(&output));
    assert_eq!(output.status.code(), Some(1), "{out}\n{err}");
    assert!(!err.contains("every account is read after the walk"), "the early reads held: {err}");
    assert!(err.contains("password_policy") && err.contains("app-1") && err.contains("AccessDenied"), "{err}");
    // Three accounts read once, app-1 twice: early, then after the walk.
    assert_eq!(stats.calls.get("iam:GetAccountPasswordPolicy"), Some(&4), "{:#?}", stats.calls);
    assert!(stats.writes.is_empty(), "{:?}", stats.writes);
}
