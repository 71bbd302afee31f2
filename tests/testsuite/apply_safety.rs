//! `apply`'s safety through the built binary (issue 12, items 1 and 4): a saved plan edited after
//! review is never applied — neither a naive edit (its `plan_digest` no longer matches) nor one
//! whose digest was recomputed (the plan made again under the lock differs) — and the apply lock
//! is taken only after confirmation, released on SIGINT and SIGTERM, and records who holds it.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::support::proxy::{Faults, Proxy};
use crate::support::{stderr, stdout, Moto};

const STATE_BUCKET: &str = "landing-zone-state-123456789012-us-east-1";
/// `src/apply/lock.rs`: the lock is this one object in the state bucket.
const LOCK_KEY: &str = "lock.json";
const REVIEWED_EMAIL: &str = "aws+app@example.com";
const ATTACKER_EMAIL: &str = "attacker@example.net";

/// An organization with one account to create and one OU to create.
const SPEC: &str = r#"version: 1
organization:
  feature_set: ALL
  policy_types: [SERVICE_CONTROL_POLICY]
  regions: [us-east-1]
  management_account: management
units:
  Sandbox: {}
accounts:
  management: { email: aws-root@example.com, unit: Root }
  app: { email: aws+app@example.com, unit: Sandbox }
"#;

fn workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("landing-zone.yaml"), SPEC).expect("write spec");
    dir
}

async fn create_organization(moto: &Moto) {
    let client = aws_sdk_organizations::Client::new(&moto.sdk_config().await);
    client.create_organization().send().await.expect("organization");
}

async fn account_emails(moto: &Moto) -> Vec<String> {
    let client = aws_sdk_organizations::Client::new(&moto.sdk_config().await);
    let mut emails = Vec::new();
    let mut pages = client.list_accounts().into_paginator().send();
    while let Some(page) = pages.next().await {
        for account in page.expect("accounts").accounts.unwrap_or_default() {
            emails.push(account.email.unwrap_or_default());
        }
    }
    emails
}

fn s3(config: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(config).force_path_style(true).build())
}

/// The lock object as JSON, or None when there is none.
async fn lock_object(s3: &aws_sdk_s3::Client) -> Option<serde_json::Value> {
    let object = s3.get_object().bucket(STATE_BUCKET).key(LOCK_KEY).send().await.ok()?;
    let body = object.body.collect().await.ok()?.into_bytes();
    Some(serde_json::from_slice(&body).expect("the lock object is JSON"))
}

/// The writes the state store makes around a refused apply, in order: the bucket (created and
/// hardened), the lock taken and released. Nothing of the organization.
const STATE_STORE_WRITES: [&str; 6] = [
    "s3:CreateBucket",
    "s3:PutBucketPublicAccessBlock",
    "s3:PutBucketEncryption",
    "s3:PutBucketVersioning",
    "s3:PutObject",
    "s3:DeleteObject",
];

#[tokio::test(flavor = "multi_thread")]
async fn a_saved_plan_edited_after_review_is_never_applied() {
    let moto = Moto::start();
    create_organization(&moto).await;
    let workspace = workspace();
    let dir = workspace.path();
    let planned = moto.run(&["plan", "--out", "pr.plan"], dir);
    assert_eq!(planned.status.code(), Some(0), "{}", stderr(&planned));
    let reviewed = std::fs::read_to_string(dir.join("pr.plan")).expect("saved plan");
    assert!(reviewed.contains(REVIEWED_EMAIL), "{reviewed}");
    let proxy = moto.strict_proxy();

    // (a) The email edited by hand: refused on reading the file, before any call to AWS.
    std::fs::write(dir.join("naive.plan"), reviewed.replace(REVIEWED_EMAIL, ATTACKER_EMAIL)).expect("write");
    proxy.reset_stats();
    let naive = moto.run(&["apply", "naive.plan", "--auto-approve"], dir);
    let err = stderr(&naive);
    assert_eq!(naive.status.code(), Some(1), "{err}");
    assert!(err.contains("`naive.plan` cannot be used") && err.contains("changed after it was saved"), "{err}");
    assert!(proxy.stats().calls.is_empty(), "no AWS call: {:?}", proxy.stats().calls);

    // (b) The email edited and `plan_digest` recomputed as the tool computes it: the file reads
    // back, but the plan made again under the lock differs, so nothing is applied.
    let mut forged: serde_json::Value = serde_json::from_str(&reviewed).expect("saved plan is JSON");
    let actions = forged["plan"]["actions"].as_array_mut().expect("actions");
    let create = actions.iter_mut().find(|action| action["kind"] == "create_account").expect("a CreateAccount");
    assert_eq!(create["email"], REVIEWED_EMAIL);
    create["email"] = serde_json::Value::from(ATTACKER_EMAIL);
    let plan: landing_zone::plan::Plan = serde_json::from_value(forged["plan"].clone()).expect("a plan");
    forged["plan_digest"] = serde_json::Value::from(landing_zone::plan::saved::plan_digest(&plan));
    std::fs::write(dir.join("forged.plan"), serde_json::to_string_pretty(&forged).expect("json")).expect("write");
    for args in [&["apply", "forged.plan", "--auto-approve"][..], &["apply", "forged.plan"][..]] {
        proxy.reset_stats();
        let forged = moto.run(args, dir);
        let (out, err) = (stdout(&forged), stderr(&forged));
        assert_eq!(forged.status.code(), Some(1), "{args:?}: {err}");
        assert!(err.contains("differs from the reviewed one, so nothing was applied"), "{args:?}: {err}");
        assert!(err.contains(ATTACKER_EMAIL) && err.contains(REVIEWED_EMAIL), "{args:?} names both emails: {err}");
        assert!(!out.contains("Apply complete"), "{out}");
        // The comparison is made under the lock: its writes, and no other, reached AWS.
        let writes = proxy.stats().writes;
        assert_eq!(writes, STATE_STORE_WRITES, "{args:?}: no write but the state store's reached AWS");
        assert_eq!(lock_object(&s3(&moto.sdk_config().await)).await, None, "the lock was released");
    }
    let emails = account_emails(&moto).await;
    assert!(!emails.iter().any(|email| email == ATTACKER_EMAIL || email == REVIEWED_EMAIL), "{emails:?}");

    // (c) The plan as reviewed applies and converges.
    let applied = moto.run(&["apply", "pr.plan"], dir);
    assert_eq!(applied.status.code(), Some(0), "{}", stderr(&applied));
    assert!(stdout(&applied).contains("Apply complete"), "{}", stdout(&applied));
    assert!(account_emails(&moto).await.iter().any(|email| email == REVIEWED_EMAIL));
    let again = moto.run(&["plan", "--detailed-exitcode"], dir);
    assert_eq!(again.status.code(), Some(0), "converged: {}", stdout(&again));
}

/// Starts `apply --auto-approve` through `endpoint`, as user `lz-tester`, without `HOSTNAME`.
fn spawn_apply(moto: &Moto, dir: &Path, endpoint: &str) -> Child {
    moto.command(&["apply", "--auto-approve"], dir, endpoint)
        .env("USER", "lz-tester")
        .env_remove("HOSTNAME")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start apply")
}

/// Waits for `child` to exit, at most `timeout`.
fn wait_with_timeout(mut child: Child, timeout: Duration) -> Output {
    let started = Instant::now();
    while child.try_wait().expect("poll").is_none() {
        if started.elapsed() > timeout {
            let _ = child.kill();
            let output = child.wait_with_output().expect("output");
            panic!("still running after {timeout:?}: {}", stderr(&output));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("output")
}

#[tokio::test(flavor = "multi_thread")]
async fn sigint_and_sigterm_under_the_lock_release_it_and_the_lock_says_who_holds_it() {
    let moto = Moto::start();
    create_organization(&moto).await;
    let workspace = workspace();
    let dir = workspace.path();
    // The apply talks through a proxy that makes every call slow, so the plan it makes under the
    // lock takes seconds; the test watches the lock through the default proxy, without delay.
    let slow = Proxy::start(
        moto.port,
        Faults { latency: Some((Duration::from_millis(250), Duration::from_millis(250))), ..Faults::none() },
    );
    let state = s3(&moto.sdk_config().await);
    let kernel_host = std::fs::read_to_string("/proc/sys/kernel/hostname").expect("hostname").trim().to_string();

    for signal in [libc::SIGINT, libc::SIGTERM] {
        let child = spawn_apply(&moto, dir, &slow.endpoint);
        let started = Instant::now();
        let lock = loop {
            if let Some(lock) = lock_object(&state).await {
                break lock;
            }
            assert!(started.elapsed() < Duration::from_secs(60), "the lock never appeared");
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        // The plan under the lock is being made (the reads are slow): stop the apply now.
        let pid = child.id();
        // SAFETY: `kill` with a live child's pid and a valid signal number.
        assert_eq!(unsafe { libc::kill(pid as libc::pid_t, signal) }, 0, "signal {signal}");
        let output = wait_with_timeout(child, Duration::from_secs(30));
        let err = stderr(&output);
        assert_eq!(output.status.code(), Some(130), "signal {signal}: {err}");
        assert!(err.contains("interrupted: the lock is released"), "{err}");
        assert!(!stdout(&output).contains("Apply complete"), "{}", stdout(&output));
        assert_eq!(lock_object(&state).await, None, "signal {signal}: the lock is gone");

        // Who held it: the caller, this machine, that process, that user.
        assert_eq!(lock["pid"], u64::from(pid), "{lock}");
        assert_eq!(lock["user"], "lz-tester", "{lock}");
        assert_eq!(lock["host"], kernel_host.as_str(), "the kernel's host name, not `HOSTNAME`: {lock}");
        assert!(lock["holder"].as_str().is_some_and(|arn| arn.starts_with("arn:aws:")), "{lock}");
    }
    assert!(!account_emails(&moto).await.iter().any(|email| email == REVIEWED_EMAIL), "nothing was applied");

    let next = moto.run(&["apply", "--auto-approve", "--lock-timeout", "0"], dir);
    assert_eq!(next.status.code(), Some(0), "{}", stderr(&next));
    assert!(stdout(&next).contains("Apply complete"), "{}", stdout(&next));
}

/// Ctrl-C at the confirmation prompt, typed into a pseudo-terminal (`script` from util-linux runs
/// apply on one, so stdin is a terminal and the prompt is shown): apply ends and has written
/// nothing, not even the lock.
#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_at_the_prompt_takes_no_lock_and_writes_nothing() {
    // A terminal is what makes a prompt: `script` (util-linux) gives apply one. No skipping when
    // it is missing: the test fails and says what to install.
    assert!(
        Command::new("script").arg("--version").output().is_ok(),
        "`script` (util-linux) is needed to give apply a terminal: install util-linux"
    );
    let moto = Moto::start();
    create_organization(&moto).await;
    let workspace = workspace();
    let dir = workspace.path();
    let proxy = moto.strict_proxy();
    proxy.reset_stats();
    let binary = env!("CARGO_BIN_EXE_landing-zone");
    // `env --default-signal=INT`: Ctrl-C must reach apply even when the suite itself was started
    // with SIGINT ignored (a background job of a shell without job control), which apply would
    // inherit and rightly respect.
    let mut child = Command::new("script")
        .args(["-qec", &format!("env --default-signal=INT {binary} apply"), "/dev/null"])
        .current_dir(dir)
        .env("AWS_ENDPOINT_URL", &moto.endpoint)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .env("LANDING_ZONE_RATE_LIMIT", "off")
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start script");
    let mut terminal_out = child.stdout.take().expect("stdout");
    let (sender, receiver) = std::sync::mpsc::channel::<Vec<u8>>();
    std::thread::spawn(move || {
        let mut buffer = [0u8; 4096];
        while let Ok(read) = terminal_out.read(&mut buffer) {
            if read == 0 || sender.send(buffer[..read].to_vec()).is_err() {
                break;
            }
        }
    });
    let mut screen = Vec::new();
    let started = Instant::now();
    while !String::from_utf8_lossy(&screen).contains("Only `yes` is accepted") {
        assert!(started.elapsed() < Duration::from_secs(60), "no prompt: {}", String::from_utf8_lossy(&screen));
        if let Ok(bytes) = receiver.recv_timeout(Duration::from_millis(100)) {
            screen.extend(bytes);
        }
    }
    // The terminal's interrupt character: the line discipline sends SIGINT to apply.
    let mut keyboard = child.stdin.take().expect("stdin");
    keyboard.write_all(b"\x03").expect("type Ctrl-C");
    keyboard.flush().expect("flush");
    let deadline = Instant::now() + Duration::from_secs(15);
    while child.try_wait().expect("poll").is_none() {
        assert!(Instant::now() < deadline, "apply still waits after Ctrl-C");
        std::thread::sleep(Duration::from_millis(20));
    }
    while let Ok(bytes) = receiver.recv_timeout(Duration::from_millis(200)) {
        screen.extend(bytes);
    }
    let status = child.wait().expect("wait");
    let screen = String::from_utf8_lossy(&screen).to_string();
    assert!(!status.success(), "{screen}");
    assert!(!screen.contains("Apply complete"), "{screen}");
    let stats = proxy.stats();
    assert!(stats.calls.keys().any(|call| call.starts_with("organizations:")), "the preview read the organization");
    assert!(stats.writes.is_empty(), "nothing written, not even the lock: {:?}", stats.writes);
    assert_eq!(lock_object(&s3(&moto.sdk_config().await)).await, None);
    drop(keyboard);
}
