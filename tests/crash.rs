//! Crash safety: `apply` of the full landing zone is killed with SIGKILL at points spread over the
//! whole run (OUs, accounts, policies, attachments, baselines); the dead apply's lock is freed with
//! `force-unlock`, apply runs again, and the organization converges with nothing duplicated.
//!
//! CI runs the kill points below; `LANDING_ZONE_CRASH_POINTS=1,2,3,...` (scripts/crash-sweep.sh)
//! runs any other set.

mod support;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use support::{spec_workspace, stderr, stdout, Moto};

const CI_KILL_POINTS: &[usize] = &[1, 12, 35, 70, 110, 150];

fn kill_points() -> Vec<usize> {
    std::env::var("LANDING_ZONE_CRASH_POINTS")
        .ok()
        .map(|points| points.split(',').filter_map(|p| p.trim().parse().ok()).collect())
        .unwrap_or_else(|| CI_KILL_POINTS.to_vec())
}

/// Starts an apply and kills it (SIGKILL) after `after_done` actions completed. Returns the lock id
/// it held, if it got that far, and whether it was killed (false: it finished first).
fn apply_and_kill(moto: &Moto, dir: &std::path::Path, after_done: usize) -> (Option<String>, bool) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_landing-zone"))
        .args(["apply", "--auto-approve"])
        .current_dir(dir)
        .env("AWS_ENDPOINT_URL", &moto.endpoint)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env("NO_COLOR", "1")
        .env("LANDING_ZONE_RATE_LIMIT", "off")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start apply");
    let reader = BufReader::new(child.stderr.take().expect("stderr"));
    let mut lock = None;
    let mut done = 0;
    let mut killed = false;
    for line in reader.lines() {
        let Ok(line) = line else { break };
        if let Some(rest) = line.strip_prefix("lock ") {
            lock = rest.split_whitespace().next().map(str::to_string);
        }
        if line.starts_with("done ") {
            done += 1;
            if done >= after_done {
                let _ = child.kill(); // SIGKILL: no cleanup, no lock release
                killed = true;
                break;
            }
        }
    }
    let _ = child.wait();
    (lock, killed)
}

async fn assert_nothing_duplicated(moto: &Moto) {
    let client = aws_sdk_organizations::Client::new(&moto.sdk_config().await);
    let accounts = client.list_accounts().send().await.expect("accounts").accounts.unwrap_or_default();
    let emails: Vec<String> = accounts.iter().filter_map(|a| a.email.clone()).map(|e| e.to_lowercase()).collect();
    let unique: BTreeSet<&String> = emails.iter().collect();
    assert_eq!(emails.len(), unique.len(), "an account was created twice: {emails:?}");
    assert_eq!(emails.len(), 8);

    let root = client.list_roots().send().await.expect("roots").roots.expect("r")[0].id.clone().expect("id");
    let mut frontier = vec![root];
    let mut units = 0;
    while let Some(parent) = frontier.pop() {
        let children = client.list_organizational_units_for_parent().parent_id(&parent).send().await.expect("ous");
        let children = children.organizational_units.unwrap_or_default();
        let names: BTreeSet<String> = children.iter().filter_map(|u| u.name.clone()).collect();
        assert_eq!(names.len(), children.len(), "an OU was created twice under {parent}");
        units += children.len();
        frontier.extend(children.into_iter().filter_map(|u| u.id));
    }
    assert_eq!(units, 7);

    let policies = client
        .list_policies()
        .filter(aws_sdk_organizations::types::PolicyType::ServiceControlPolicy)
        .send()
        .await
        .expect("policies")
        .policies
        .unwrap_or_default();
    let names: Vec<String> = policies.iter().filter_map(|p| p.name.clone()).collect();
    let unique: BTreeSet<&String> = names.iter().collect();
    assert_eq!(names.len(), unique.len(), "a policy was created twice: {names:?}");

    let trails =
        aws_sdk_cloudtrail::Client::new(&moto.sdk_config().await).describe_trails().send().await.expect("trails");
    assert_eq!(trails.trail_list.map(|t| t.len()), Some(1), "one organization trail");
}

#[tokio::test]
async fn killed_applies_converge_without_duplicates() {
    let moto = Moto::start_with_managed_policies();
    let workspace = spec_workspace(&[]);
    let dir = workspace.path();
    let reset = || {
        let output = Command::new("curl")
            .args(["-sf", "-X", "POST", &format!("{}/moto-api/reset", moto.endpoint)])
            .output()
            .expect("reset moto");
        assert!(output.status.success());
    };
    let mut killed_somewhere = 0;
    for point in kill_points() {
        reset();
        let (lock, killed) = apply_and_kill(&moto, dir, point);
        killed_somewhere += usize::from(killed);
        if killed {
            // The dead apply still holds the lock: a second apply must refuse, not interleave.
            let blocked = moto.run(&["apply", "--auto-approve", "--lock-timeout", "0"], dir);
            if let Some(lock) = &lock {
                assert_eq!(blocked.status.code(), Some(1), "kill point {point}: the lock protects the half-done state");
                assert!(stderr(&blocked).contains(lock.as_str()), "{}", stderr(&blocked));
                let freed = moto.run(&["force-unlock", lock], dir);
                assert_eq!(freed.status.code(), Some(0), "kill point {point}: {}", stderr(&freed));
            }
        }
        let again = moto.run(&["apply", "--auto-approve"], dir);
        assert_eq!(again.status.code(), Some(0), "kill point {point}:\n{}\n{}", stdout(&again), stderr(&again));
        let plan = moto.run(&["plan", "--detailed-exitcode"], dir);
        assert_eq!(plan.status.code(), Some(0), "kill point {point}: not converged:\n{}", stdout(&plan));
        assert_nothing_duplicated(&moto).await;
    }
    assert!(killed_somewhere >= 5, "most kill points must land inside the apply ({killed_somewhere})");
}
