//! Reliability through the fault-injecting proxy (tests/testsuite/support/proxy.rs) in front of moto:
//!
//! - `apply` converges under the fault mix of issue 6 (10% throttles, 5% concurrent modification,
//!   2% 500/503, 1% dropped connections, 50-200 ms latency), in seeded runs: an apply may stop,
//!   the next one picks up, and the end state is exactly the spec's by independent reads;
//! - with the proxy enforcing AWS's published Organizations rates, plan and apply meet no throttle
//!   (client-side rate limiting);
//! - `apply` SIGKILLed right after its k-th write reached moto (the answer never arrives), at
//!   points spread over every phase, converges on the next apply with nothing duplicated or
//!   orphaned. CI runs the points chosen below; `LANDING_ZONE_CRASH_POINTS=1,7,13` or
//!   `LANDING_ZONE_CRASH_POINTS=every:6` (scripts/crash-sweep.sh) runs others;
//! - no credential reaches the output of `-vvv` plan and apply, even on their error paths.
//!
//! Every test here has its own moto and proxy. Specs without `managed_policies` run on a moto
//! without AWS-managed IAM policies (loading them costs moto ~1.3 s per account and apply).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use crate::support::proxy::{identify, Faults, HoldPoint, Proxy};
use crate::support::{spec_workspace, stderr, stdout, Moto};
use aws_sdk_organizations::types::PolicyType;

// ---------------------------------------------------------------------------------------------
// What the root spec asks for (landing-zone.yaml), and how to observe it independently.

const UNITS: &[&str] =
    &["Security", "Infrastructure", "Workloads", "Workloads/Prod", "Workloads/Staging", "Workloads/Dev", "Sandbox"];

/// Account name, email, OU path.
const ACCOUNTS: &[(&str, &str, &str)] = &[
    ("shared-services", "aws+shared-services@example.com", "Infrastructure"),
    ("log-archive", "aws+log-archive@example.com", "Security"),
    ("security", "aws+security@example.com", "Security"),
    ("app-prod", "aws+app-prod@example.com", "Workloads/Prod"),
    ("app-staging", "aws+app-staging@example.com", "Workloads/Staging"),
    ("app-dev", "aws+app-dev@example.com", "Workloads/Dev"),
    ("sandbox", "aws+sandbox@example.com", "Sandbox"),
];

/// Policy name and its targets (OU paths, `Root`, or account names).
const POLICIES: &[(&str, &[&str])] = &[
    ("deny-cloudtrail-tampering", &["Root"]),
    ("deny-leave-organization", &["Root"]),
    ("region-allow-list", &["Workloads", "Sandbox", "Security", "shared-services"]),
    ("deny-s3-public-access-changes", &["Root"]),
];

/// Role name and the accounts it must exist in.
const ROLES: &[(&str, &[&str])] = &[
    ("SecurityAuditor", &["log-archive"]),
    ("AuditVendorReadOnly", &["security"]),
    ("DeploymentRole", &["app-prod", "app-staging", "app-dev"]),
];

const REGIONS: &[&str] = &["us-east-1", "eu-west-1"];

/// The root spec without AWS-managed IAM policy attachments, so moto can run without loading them.
/// Everything else (OUs, accounts, SCPs, every baseline, roles with inline policies) stays.
/// Edits that leave the quick wins out of the reference landing zone (budgets; Macie and
/// Inspector are commented out there for the demo's emulator):
/// their operations are partly served by the strict layer's own state, which does not model the
/// faults injected here (an answer lost after the layer changed its state). Their convergence,
/// drift repair and refusals are tested in `macie.rs`.
const WITHOUT_QUICK_WINS: [(&str, &str); 1] = [
    (
        "  budgets:\n    organization-monthly:\n      account: management\n      limit_usd: 5000\n      thresholds: [80, 100]      # percent of the limit, actual spend\n      forecast_threshold: 110    # percent of the limit, forecasted spend\n      notify: [finance@example.com]\n    workload-monthly:\n      targets: { units: [Workloads] }\n      limit_usd: 1000\n      thresholds: [100]\n      notify: [platform@example.com]\n",
        "",
    ),
];

/// The reference landing zone without the quick wins (above).
fn spec_without_quick_wins() -> tempfile::TempDir {
    spec_workspace(&WITHOUT_QUICK_WINS)
}

/// The reference landing zone without AWS-managed policy attachments (moto loads them only on
/// request) and without the quick wins.
fn spec_without_managed_policies() -> tempfile::TempDir {
    let mut edits = vec![
        ("      managed_policies: [arn:aws:iam::aws:policy/ReadOnlyAccess]\n", ""),
        ("      managed_policies: [arn:aws:iam::aws:policy/SecurityAudit]\n", ""),
    ];
    edits.extend(WITHOUT_QUICK_WINS);
    spec_workspace(&edits)
}

/// The organization as an independent reader sees it.
#[derive(Debug, Default)]
struct Observed {
    root: String,
    /// (parent id, name) of every OU, duplicates included.
    unit_names: Vec<(String, String)>,
    /// OU path -> id.
    units: BTreeMap<String, String>,
    /// Every account's email (lower-case), duplicates included.
    emails: Vec<String>,
    /// email -> (id, OU path).
    accounts: BTreeMap<String, (String, String)>,
    /// Every SCP name, duplicates included.
    policy_names: Vec<String>,
    /// policy name -> target ids.
    policy_targets: BTreeMap<String, BTreeSet<String>>,
}

async fn observe(client: &aws_sdk_organizations::Client) -> Observed {
    let roots = client.list_roots().send().await.expect("roots");
    let root = roots.roots()[0].id().expect("root id").to_string();
    let mut observed = Observed { root: root.clone(), ..Default::default() };
    let mut frontier = vec![(root, "Root".to_string())];
    while let Some((parent, path)) = frontier.pop() {
        let mut pages = client.list_organizational_units_for_parent().parent_id(&parent).into_paginator().send();
        while let Some(page) = pages.next().await {
            for unit in page.expect("ous").organizational_units.unwrap_or_default() {
                let name = unit.name.expect("name");
                let id = unit.id.expect("id");
                let child = if path == "Root" { name.clone() } else { format!("{path}/{name}") };
                observed.unit_names.push((parent.clone(), name));
                observed.units.insert(child.clone(), id.clone());
                frontier.push((id, child));
            }
        }
        let mut pages = client.list_accounts_for_parent().parent_id(&parent).into_paginator().send();
        while let Some(page) = pages.next().await {
            for account in page.expect("accounts").accounts.unwrap_or_default() {
                let email = account.email.expect("email").to_lowercase();
                observed.emails.push(email.clone());
                observed.accounts.insert(email, (account.id.expect("id"), path.clone()));
            }
        }
    }
    let mut pages = client.list_policies().filter(PolicyType::ServiceControlPolicy).into_paginator().send();
    while let Some(page) = pages.next().await {
        for summary in page.expect("policies").policies.unwrap_or_default() {
            let name = summary.name.expect("name");
            let targets = client.list_targets_for_policy().policy_id(summary.id.expect("id")).send().await;
            let targets = targets.expect("targets").targets.unwrap_or_default();
            observed.policy_names.push(name.clone());
            observed.policy_targets.insert(name, targets.into_iter().filter_map(|t| t.target_id).collect());
        }
    }
    observed
}

fn duplicates<T: Ord + Clone>(items: &[T]) -> Vec<T> {
    let mut seen = BTreeSet::new();
    items.iter().filter(|item| !seen.insert((*item).clone())).cloned().collect()
}

/// Asserts the organization and the baselines are exactly the root spec's: every OU, account,
/// policy attachment and role once, one trail, one key and the two bunker buckets, no orphan.
async fn assert_exactly_the_spec(moto: &Moto, context: &str) {
    let client = aws_sdk_organizations::Client::new(&moto.sdk_config().await);
    let observed = observe(&client).await;

    assert!(duplicates(&observed.unit_names).is_empty(), "{context}: OUs created twice: {:?}", observed.unit_names);
    let units: BTreeSet<&str> = observed.units.keys().map(String::as_str).collect();
    assert_eq!(units, UNITS.iter().copied().collect(), "{context}: the OU tree");

    assert!(duplicates(&observed.emails).is_empty(), "{context}: accounts created twice: {:?}", observed.emails);
    assert_eq!(observed.emails.len(), ACCOUNTS.len() + 1, "{context}: the management account and the spec's");
    let mut account_ids = BTreeMap::new();
    for (name, email, unit) in ACCOUNTS {
        let (id, path) = observed.accounts.get(*email).unwrap_or_else(|| panic!("{context}: account {name} missing"));
        assert_eq!(path, unit, "{context}: account {name} is in the wrong OU");
        account_ids.insert(*name, id.clone());
    }

    assert!(duplicates(&observed.policy_names).is_empty(), "{context}: policies twice: {:?}", observed.policy_names);
    for (policy, targets) in POLICIES {
        let expected: BTreeSet<String> = targets
            .iter()
            .map(|target| match *target {
                "Root" => observed.root.clone(),
                other => observed
                    .units
                    .get(other)
                    .or_else(|| account_ids.get(other))
                    .unwrap_or_else(|| panic!("{context}: target {other} missing"))
                    .clone(),
            })
            .collect();
        let live = observed.policy_targets.get(*policy).unwrap_or_else(|| panic!("{context}: policy {policy} missing"));
        assert_eq!(live, &expected, "{context}: targets of {policy}");
    }
    let names: BTreeSet<&str> = observed.policy_names.iter().map(String::as_str).collect();
    let expected: BTreeSet<&str> = POLICIES.iter().map(|(name, _)| *name).chain(["FullAWSAccess"]).collect();
    assert_eq!(names, expected, "{context}: no policy beyond the spec's");

    // Baselines, read through the accounts' own roles.
    for (role, accounts) in ROLES {
        for account in *accounts {
            let iam = aws_sdk_iam::Client::new(&moto.assumed_config(&account_ids[account]).await);
            let roles = iam.list_roles().send().await.expect("roles").roles;
            let count = roles.iter().filter(|r| r.role_name == *role).count();
            assert_eq!(count, 1, "{context}: role {role} in {account}");
        }
    }
    let trails = aws_sdk_cloudtrail::Client::new(&moto.sdk_config().await).describe_trails().send().await;
    let trails = trails.expect("trails").trail_list.unwrap_or_default();
    assert_eq!(trails.len(), 1, "{context}: one organization trail: {trails:?}");

    let log_archive = moto.assumed_config(&account_ids["log-archive"]).await;
    let s3 =
        aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&log_archive).force_path_style(true).build());
    let buckets: BTreeSet<String> = s3
        .list_buckets()
        .send()
        .await
        .expect("buckets")
        .buckets
        .unwrap_or_default()
        .into_iter()
        .filter_map(|b| b.name)
        .collect();
    let id = &account_ids["log-archive"];
    let expected: BTreeSet<String> =
        [format!("landing-zone-logs-{id}"), format!("landing-zone-logs-{id}-access-logs")].into();
    assert_eq!(buckets, expected, "{context}: the bunker's buckets and nothing else");
    for region in REGIONS {
        let config = log_archive.to_builder().region(aws_config::Region::new(*region)).build();
        let kms = aws_sdk_kms::Client::new(&config);
        let keys: BTreeSet<String> = kms
            .list_keys()
            .send()
            .await
            .expect("keys")
            .keys
            .unwrap_or_default()
            .into_iter()
            .filter_map(|k| k.key_id)
            .collect();
        let aliased: BTreeSet<String> = kms
            .list_aliases()
            .send()
            .await
            .expect("aliases")
            .aliases
            .unwrap_or_default()
            .into_iter()
            .filter(|alias| alias.alias_name() == Some("alias/landing-zone-logs"))
            .filter_map(|alias| alias.target_key_id)
            .collect();
        let orphans: Vec<&String> = keys.difference(&aliased).collect();
        // An apply killed between CreateKey and CreateAlias leaves an alias-less key; the next
        // apply must adopt it, not create another.
        assert!(orphans.is_empty(), "{context}: KMS keys in log-archive ({region}) no alias points to: {orphans:?}");
    }
    for (name, _, _) in ACCOUNTS {
        let config = moto.assumed_config(&account_ids[name]).await;
        for region in REGIONS {
            let guardduty =
                aws_sdk_guardduty::Client::new(&config.to_builder().region(aws_config::Region::new(*region)).build());
            let detectors =
                guardduty.list_detectors().send().await.expect("detectors").detector_ids.unwrap_or_default();
            assert!(detectors.len() <= 1, "{context}: GuardDuty detectors in {name} ({region}): {detectors:?}");
        }
    }
}

fn summary(output: &Output) -> String {
    let err = stderr(output);
    let lines: Vec<&str> = err.lines().filter(|line| !line.starts_with("done ")).collect();
    let tail = lines[lines.len().saturating_sub(6)..].join("\n");
    format!("exit {:?}; {}\n{tail}", output.status.code(), stdout(output).lines().last().unwrap_or_default())
}

/// Frees a lock a stopped apply left behind (only a failed release does that), through `endpoint`.
fn force_unlock_if_held(moto: &Moto, dir: &Path, output: &Output) {
    let err = stderr(output);
    if let Some(rest) = err.split("lock id ").nth(1) {
        let id: String = rest.chars().take_while(char::is_ascii_alphanumeric).collect();
        let _ = moto.run(&["force-unlock", &id], dir);
    }
}

// ---------------------------------------------------------------------------------------------
// The proxy itself.

#[test]
fn the_proxy_names_operations_of_every_protocol() {
    let auth = |service: &str| {
        format!("AWS4-HMAC-SHA256 Credential=AKID/20250101/us-east-1/{service}/aws4_request, SignedHeaders=host, Signature=0")
    };
    let headers = |pairs: &[(&str, String)]| -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
    };
    let org = identify(
        "POST",
        "/",
        &headers(&[
            ("X-Amz-Target", "AWSOrganizationsV20161128.ListRoots".into()),
            ("Authorization", auth("organizations")),
        ]),
        b"{}",
    );
    assert_eq!((org.service.as_str(), org.name.as_str(), org.write), ("organizations", "ListRoots", false));
    let iam =
        identify("POST", "/", &headers(&[("Authorization", auth("iam"))]), b"Action=CreateRole&Version=2010-05-08");
    assert_eq!((iam.name.as_str(), iam.write), ("CreateRole", true));
    let sts =
        identify("POST", "/", &headers(&[("Authorization", auth("sts"))]), b"Action=AssumeRole&Version=2011-06-15");
    assert_eq!((sts.service.as_str(), sts.name.as_str(), sts.write), ("sts", "AssumeRole", false));
    let s3 = identify("PUT", "/bucket/?versioning", &headers(&[("Authorization", auth("s3"))]), b"");
    assert_eq!((s3.name.as_str(), s3.write), ("PutBucketVersioning", true));
    let object = identify("PUT", "/bucket/lock.json?x-id=PutObject", &headers(&[("Authorization", auth("s3"))]), b"");
    assert_eq!((object.name.as_str(), object.write), ("PutObject", true));
    let create = identify("PUT", "/bucket/", &headers(&[("Authorization", auth("s3"))]), b"");
    assert_eq!(create.name, "CreateBucket");
    let control =
        identify("PUT", "/v20180820/configuration/publicAccessBlock", &headers(&[("Authorization", auth("s3"))]), b"");
    assert_eq!((control.service.as_str(), control.name.as_str()), ("s3control", "PutPublicAccessBlock"));
    let guardduty = identify(
        "POST",
        "/detector/51b45ed96b65200de73f51632a4ca327/admin",
        &headers(&[("Authorization", auth("guardduty"))]),
        b"",
    );
    assert_eq!((guardduty.name.as_str(), guardduty.write), ("POST /detector/{id}/admin", true));
    let contact = identify("POST", "/getAlternateContact", &headers(&[("Authorization", auth("account"))]), b"");
    assert!(!contact.write);
}

#[tokio::test]
async fn the_proxy_throttles_past_the_published_rates() {
    let moto = Moto::start();
    let proxy = Proxy::start(moto.port, Faults { aws_rates: true, ..Faults::none() });
    let config = moto
        .sdk_config()
        .await
        .to_builder()
        .endpoint_url(&proxy.endpoint)
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .build();
    let client = aws_sdk_organizations::Client::new(&config);
    client.create_organization().send().await.expect("organization");
    proxy.set_faults(Faults { aws_rates: true, ..Faults::none() }); // full buckets again
                                                                    // ListRoots: 1 per second, burst 2. Ten at once: two pass.
    let calls = (0..10).map(|_| client.list_roots().send());
    let results = futures::future::join_all(calls).await;
    let throttled = results
        .iter()
        .filter(|result| {
            result
                .as_ref()
                .err()
                .and_then(|error| error.as_service_error())
                .is_some_and(|error| error.is_too_many_requests_exception())
        })
        .count();
    assert!((7..=8).contains(&throttled), "{throttled} of 10 throttled");
    assert_eq!(proxy.stats().rate_throttled.get("ListRoots").copied(), Some(throttled as u64));
}

// ---------------------------------------------------------------------------------------------
// (a) Convergence under faults.

const MAX_APPLIES: usize = 8;

/// Organizations writes whose lost answer (the write happened) the tool recovers from in moto as
/// in AWS: idempotent ones, and CreateAccount, whose retry looks for the request it may have
/// started. Not CreateOrganizationalUnit: moto accepts a duplicate sibling name where AWS answers
/// DuplicateOrganizationalUnitException (which the tool adopts), so its loss cannot be emulated.
fn idempotent_writes() -> BTreeSet<String> {
    ["AttachPolicy", "DetachPolicy", "MoveAccount", "CreatePolicy", "EnablePolicyType", "TagResource", "CreateAccount"]
        .into_iter()
        .map(str::to_string)
        .collect()
}

async fn converges_under_faults(seed: u64, managed_policies: bool) {
    let started = Instant::now();
    let moto = if managed_policies { Moto::start_with_managed_policies() } else { Moto::start() };
    let workspace = if managed_policies { spec_without_quick_wins() } else { spec_without_managed_policies() };
    let dir = workspace.path();
    let faults = Faults { lose_response: 0.02, lose_response_on: idempotent_writes(), ..Faults::issue_mix(seed) };
    let proxy = Proxy::start(moto.port, faults);
    let mut runs = Vec::new();
    let mut converged = false;
    for _ in 0..MAX_APPLIES {
        let output = moto.run_with_endpoint(&["apply", "--auto-approve"], dir, &proxy.endpoint);
        runs.push(summary(&output));
        if output.status.code() == Some(0) {
            converged = true;
            break;
        }
        force_unlock_if_held(&moto, dir, &output);
    }
    let stats = proxy.stats();
    eprintln!(
        "seed {seed}: {} applies in {:.0} s; injected {:?}; {} calls\n{}",
        runs.len(),
        started.elapsed().as_secs_f64(),
        stats.injected,
        stats.calls.values().sum::<u64>(),
        runs.join("\n---\n")
    );
    assert!(converged, "seed {seed}: no apply succeeded in {MAX_APPLIES} runs");
    assert!(stats.injected.values().sum::<u64>() > 20, "faults were injected: {:?}", stats.injected);

    // Without faults, nothing is left to do, and the state is exactly the spec's.
    let plan = moto.run(&["plan", "--detailed-exitcode"], dir);
    assert_eq!(plan.status.code(), Some(0), "seed {seed}: not converged:\n{}\n{}", stdout(&plan), stderr(&plan));
    assert_exactly_the_spec(&moto, &format!("seed {seed}")).await;
}

#[tokio::test]
async fn the_full_landing_zone_converges_under_faults() {
    converges_under_faults(1, true).await;
}

#[tokio::test]
async fn the_landing_zone_converges_under_faults_seed_2() {
    converges_under_faults(2, false).await;
}

#[tokio::test]
async fn the_landing_zone_converges_under_faults_seed_3() {
    converges_under_faults(3, false).await;
}

// ---------------------------------------------------------------------------------------------
// Client-side rate limiting against the published rates.

const SMALL_SPEC: &str = r#"version: 1
organization:
  feature_set: ALL
  policy_types: [SERVICE_CONTROL_POLICY]
  management_account: management
  regions: [us-east-1]
units:
  Security: {}
  Workloads:
    units:
      Prod: {}
      Dev: {}
accounts:
  management: { email: aws-root@example.com, unit: Root }
  security: { email: aws+security@example.com, unit: Security }
  app-prod: { email: aws+app-prod@example.com, unit: Workloads/Prod }
policies:
  deny-cloudtrail-tampering:
    document: policies/deny-cloudtrail-tampering.json
    targets: { units: [Root] }
  deny-leave-organization:
    document: policies/deny-leave-organization.json
    targets: { units: [Workloads, Security] }
  region-allow-list:
    document: policies/region-allow-list.json
    targets: { units: [Workloads/Prod, Workloads/Dev], accounts: [security] }
  deny-s3-public-access-changes:
    document: policies/deny-s3-public-access-changes.json
    targets: { units: [Root] }
"#;

#[tokio::test]
async fn plan_and_apply_stay_within_the_published_rates() {
    let moto = Moto::start();
    let workspace = spec_workspace(&[]);
    let dir = workspace.path();
    std::fs::write(dir.join("landing-zone.yaml"), SMALL_SPEC).expect("spec");
    let proxy = Proxy::start(
        moto.port,
        Faults {
            aws_rates: true,
            latency: Some((Duration::from_millis(50), Duration::from_millis(50))),
            ..Faults::none()
        },
    );
    let limited = |args: &[&str]| {
        let mut command = moto.command(args, dir, &proxy.endpoint);
        command.env_remove("LANDING_ZONE_RATE_LIMIT").output().expect("run")
    };
    let started = Instant::now();
    let applied = limited(&["apply", "--auto-approve"]);
    assert_eq!(applied.status.code(), Some(0), "{}\n{}", stdout(&applied), stderr(&applied));
    let plan = limited(&["plan", "--detailed-exitcode"]);
    assert_eq!(plan.status.code(), Some(0), "{}\n{}", stdout(&plan), stderr(&plan));
    let stats = proxy.stats();
    eprintln!(
        "apply + plan in {:.1} s; Organizations calls {:?}",
        started.elapsed().as_secs_f64(),
        stats.calls_of("organizations")
    );
    assert_eq!(stats.total_rate_throttled(), 0, "throttled: {:?}", stats.rate_throttled);
    // The burst-heavy parts did run: 5 OUs at 1 per second and a dozen policy writes at 2 per second.
    assert!(stats.calls_of("organizations").get("CreateOrganizationalUnit").copied().unwrap_or(0) >= 4);
}

// ---------------------------------------------------------------------------------------------
// Asynchronous account creation, as AWS does it.

/// A spec with `count` new accounts in one OU, and nothing else to do.
fn spec_with_accounts(count: usize) -> String {
    let mut spec = String::from(
        "version: 1\norganization:\n  feature_set: ALL\n  management_account: management\n  regions: [us-east-1]\nunits:\n  Workloads: {}\naccounts:\n  management: { email: aws-root@example.com, unit: Root }\n",
    );
    for index in 0..count {
        spec.push_str(&format!(
            "  member-{index:02}: {{ email: aws+member-{index:02}@example.com, unit: Workloads }}\n"
        ));
    }
    spec
}

/// Every account's email in the organization, duplicates included.
async fn organization_emails(moto: &Moto) -> Vec<String> {
    let client = aws_sdk_organizations::Client::new(&moto.sdk_config().await);
    let mut emails = Vec::new();
    let mut pages = client.list_accounts().into_paginator().send();
    while let Some(page) = pages.next().await {
        emails.extend(page.expect("accounts").accounts.unwrap_or_default().into_iter().filter_map(|a| a.email));
    }
    emails.sort();
    emails
}

#[tokio::test]
async fn account_creation_keeps_five_in_flight_and_never_repeats_a_request_whose_answer_was_lost() {
    const ACCOUNTS: usize = 12;
    let moto = Moto::start();
    let workspace = tempfile::tempdir().expect("workspace");
    let dir = workspace.path();
    std::fs::write(dir.join("landing-zone.yaml"), spec_with_accounts(ACCOUNTS)).expect("spec");
    // Every CreateAccount answer is lost after moto created the account; each stays IN_PROGRESS
    // for 3 s; a sixth creation in flight is refused, as AWS does.
    let faults = Faults {
        seed: 6,
        lose_response: 1.0,
        lose_response_on: ["CreateAccount".to_string()].into(),
        services: Some(["organizations".to_string()].into()),
        account_creation_time: Some(Duration::from_secs(3)),
        ..Faults::none()
    };
    let proxy = Proxy::start(moto.port, faults);
    let started = Instant::now();
    let applied = moto.run_with_endpoint(&["apply", "--auto-approve"], dir, &proxy.endpoint);
    assert_eq!(applied.status.code(), Some(0), "{}\n{}", stdout(&applied), stderr(&applied));
    let stats = proxy.stats();
    eprintln!(
        "{ACCOUNTS} accounts in {:.1} s; most in flight {}; injected {:?}",
        started.elapsed().as_secs_f64(),
        stats.most_creations_in_flight,
        stats.injected
    );
    let created = stats.writes.iter().filter(|write| *write == "organizations:CreateAccount").count();
    assert_eq!(created, ACCOUNTS, "one CreateAccount per account reached moto, none repeated");
    assert_eq!(stats.injected.get("lost-response").copied(), Some(ACCOUNTS as u64), "every answer was lost");
    assert_eq!(stats.most_creations_in_flight, 5, "creations run five at a time");
    assert_eq!(stats.injected.get("creation-limit"), None, "no sixth creation was sent");

    let emails = organization_emails(&moto).await;
    assert!(duplicates(&emails).is_empty(), "accounts created twice: {emails:?}");
    assert_eq!(emails.len(), ACCOUNTS + 1, "the management account and the spec's: {emails:?}");
    let plan = moto.run(&["plan", "--detailed-exitcode"], dir);
    assert_eq!(plan.status.code(), Some(0), "converged:\n{}", stdout(&plan));
}

// ---------------------------------------------------------------------------------------------
// (b) Crashes: SIGKILL right after the k-th write reached moto.

/// Which kill points a crash test runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Organization,
    Baselines,
}

/// The kill points: `LANDING_ZONE_CRASH_POINTS` (`1,7,13`: after that many writes; `every:N`:
/// after every N-th write of a whole apply; all run by the organization test), else the CI choice:
/// right after the first write of each phase (an OU, an account, a policy, an attachment, a role,
/// the bunker's key and bucket, the trail; the second account, while the first is being moved).
fn kill_points(phase: Phase, whole_apply: usize) -> Vec<HoldPoint> {
    if let Ok(points) = std::env::var("LANDING_ZONE_CRASH_POINTS") {
        if phase == Phase::Baselines {
            return Vec::new();
        }
        if let Some(step) = points.strip_prefix("every:").and_then(|step| step.parse::<usize>().ok()) {
            return (1..=whole_apply).step_by(step.max(1)).map(HoldPoint::Writes).collect();
        }
        return points.split(',').filter_map(|point| point.trim().parse().ok()).map(HoldPoint::Writes).collect();
    }
    let operation = |key: &str, nth: usize| HoldPoint::Operation(key.to_string(), nth);
    match phase {
        Phase::Organization => vec![
            operation("organizations:CreateOrganizationalUnit", 1),
            operation("organizations:CreateAccount", 2),
            operation("organizations:CreatePolicy", 1),
            operation("organizations:AttachPolicy", 1),
        ],
        Phase::Baselines => vec![
            operation("iam:CreateRole", 1),
            operation("kms:CreateKey", 1),
            operation("s3:CreateBucket", 2),        // the first is the state bucket
            operation("cloudtrail:CreateTrail", 1), // late: after Config in every account and region
        ],
    }
}

fn reset(moto: &Moto) {
    let output = std::process::Command::new("curl")
        .args(["-sf", "-X", "POST", &format!("{}/moto-api/reset", moto.endpoint)])
        .output()
        .expect("reset moto");
    assert!(output.status.success(), "reset moto");
}

/// The id of the apply lock in the state bucket, read directly (the tool may not have printed it).
async fn lock_holder(moto: &Moto) -> Option<String> {
    let config = moto.sdk_config().await;
    let s3 = aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&config).force_path_style(true).build());
    let object =
        s3.get_object().bucket("landing-zone-state-123456789012-us-east-1").key("lock.json").send().await.ok()?;
    let body = object.body.collect().await.ok()?.into_bytes();
    let lock: serde_json::Value = serde_json::from_slice(&body).ok()?;
    lock["id"].as_str().map(str::to_string)
}

/// Starts `apply` through the proxy and SIGKILLs it once `point` was passed (that write reached
/// moto; its answer never arrives). Returns whether it was killed (false: it finished first), and
/// how many writes were made with the last of them.
fn apply_and_kill(moto: &Moto, proxy: &Proxy, dir: &Path, point: &HoldPoint) -> (bool, String) {
    proxy.reset_stats();
    proxy.hold_after(point.clone());
    let mut child = moto
        .command(&["apply", "--auto-approve"], dir, &proxy.endpoint)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start apply");
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut killed = false;
    while Instant::now() < deadline {
        if proxy.wait_until_held(Duration::from_millis(50)) {
            child.kill().expect("SIGKILL apply");
            killed = true;
            break;
        }
        if child.try_wait().expect("poll apply").is_some() {
            break;
        }
    }
    if !killed && child.try_wait().expect("poll apply").is_none() {
        let _ = child.kill();
        panic!("kill point {point:?}: apply neither finished nor reached the point in 120 s");
    }
    let _ = child.wait();
    let writes = proxy.stats().writes;
    proxy.release();
    (killed, format!("{} writes reached moto, the last {}", writes.len(), writes.last().map_or("-", String::as_str)))
}

#[tokio::test]
async fn applies_killed_in_the_organization_phase_converge_without_duplicates() {
    killed_applies_converge(Phase::Organization).await;
}

#[tokio::test]
async fn applies_killed_in_the_baselines_converge_without_duplicates_or_orphans() {
    killed_applies_converge(Phase::Baselines).await;
}

async fn killed_applies_converge(phase: Phase) {
    if phase == Phase::Baselines && std::env::var_os("LANDING_ZONE_CRASH_POINTS").is_some() {
        return; // a sweep runs every point in the organization test
    }
    let moto = Moto::start();
    let workspace = spec_without_managed_policies();
    let dir = workspace.path();
    let proxy = Proxy::start(moto.port, Faults::none());

    // Calibration: one whole apply through the proxy names every write in order.
    let calibration = moto.run_with_endpoint(&["apply", "--auto-approve"], dir, &proxy.endpoint);
    assert_eq!(calibration.status.code(), Some(0), "{}", stderr(&calibration));
    let writes = proxy.stats().writes;
    let points = kill_points(phase, writes.len());
    eprintln!("{} writes in a whole apply; kill points {points:?}", writes.len());
    assert!(writes.len() > 100, "the apply writes across every phase: {writes:?}");

    let mut killed_at = Vec::new();
    for point in &points {
        reset(&moto);
        let (killed, last_write) = apply_and_kill(&moto, &proxy, dir, point);
        let context = format!("kill point {point:?} ({last_write})");
        if killed {
            killed_at.push(point.clone());
            if let Some(lock) = lock_holder(&moto).await {
                // The dead apply's lock protects its half-done state: another apply refuses
                // (checked at the first kill; the refusal costs a whole plan).
                if killed_at.len() == 1 {
                    let blocked = moto.run(&["apply", "--auto-approve", "--lock-timeout", "0"], dir);
                    assert_eq!(blocked.status.code(), Some(1), "{context}: the lock must refuse a second apply");
                    assert!(stderr(&blocked).contains(&lock), "{context}: {}", stderr(&blocked));
                }
                let freed = moto.run(&["force-unlock", &lock], dir);
                assert_eq!(freed.status.code(), Some(0), "{context}: {}", stderr(&freed));
            }
        }
        let again = moto.run(&["apply", "--auto-approve"], dir);
        assert_eq!(again.status.code(), Some(0), "{context}:\n{}\n{}", stdout(&again), stderr(&again));
        let plan = moto.run(&["plan", "--detailed-exitcode"], dir);
        assert_eq!(plan.status.code(), Some(0), "{context}: not converged:\n{}", stdout(&plan));
        assert_exactly_the_spec(&moto, &context).await;
        eprintln!("{context}: {}, converged", if killed { "killed" } else { "finished first" });
    }
    assert!(killed_at.len() * 10 >= points.len() * 8, "most points land inside the apply: {killed_at:?}");
}

// ---------------------------------------------------------------------------------------------
// (c) Secrets.

const SECRET_KEY: &str = "SECRETsecretSECRETsecretSECRETsecret0042";
const SESSION_TOKEN: &str = "SESSIONtokenSESSIONtokenSESSIONtoken0042";

#[tokio::test]
async fn no_credential_reaches_verbose_output_even_under_faults() {
    let moto = Moto::start();
    let workspace = spec_without_managed_policies();
    let dir = workspace.path();
    let proxy = Proxy::start(moto.port, Faults::issue_mix(42));
    let run = |args: &[&str]| {
        let mut command = moto.command(args, dir, &proxy.endpoint);
        command.env("AWS_SECRET_ACCESS_KEY", SECRET_KEY).env("AWS_SESSION_TOKEN", SESSION_TOKEN);
        command.output().expect("run")
    };
    let mut everything = String::new();
    let mut applied = false;
    let plan = run(&["-vvv", "plan"]);
    everything.push_str(&stdout(&plan));
    everything.push_str(&stderr(&plan));
    for _ in 0..MAX_APPLIES {
        let output = run(&["-vvv", "apply", "--auto-approve"]);
        everything.push_str(&stdout(&output));
        everything.push_str(&stderr(&output));
        if output.status.code() == Some(0) {
            applied = true;
            break;
        }
        force_unlock_if_held(&moto, dir, &output);
    }
    assert!(applied, "the apply converged");
    assert!(everything.contains("TRACE") || everything.contains("DEBUG"), "-vvv logged");
    assert!(everything.contains("retrying"), "the error paths ran and logged");

    let issued = proxy.issued_secrets();
    assert!(issued.len() >= 4, "STS handed out session credentials through the proxy: {}", issued.len());
    for secret in issued.iter().map(String::as_str).chain([SECRET_KEY, SESSION_TOKEN]) {
        assert!(!everything.contains(secret), "a credential reached the output: {secret}");
    }
}
