//! Output a pull request controls (issue 12, items 5–9 and 11's CLI part), through the built binary:
//! escape sequences and HTML in names, tag values and descriptions read from the live organization
//! are shown, never run or rendered (the spec itself refuses such text); skipped work
//! is reported as skipped; a closed stdout ends a command quietly; `import` does not overwrite;
//! a dead endpoint fails fast and says so, without colour when asked; `show` renders a saved plan
//! without AWS and refuses an edited one.

use std::os::fd::{FromRawFd, OwnedFd};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{stderr, stdout, workspace, Moto};

/// A plain, valid spec. Validation refuses control, bidirectional and zero-width characters in
/// the names and tag values a spec carries, so hostile text reaches the output the way it really
/// arrives: from the live organization (`hostile_organization`).
const SPEC: &str = r#"version: 1
organization:
  feature_set: ALL
  policy_types: [SERVICE_CONTROL_POLICY]
  regions: [us-east-1]
  management_account: management
units:
  Sandbox: { tags: { env: prod } }
accounts:
  management: { email: aws-root@example.com, unit: Root }
  security: { email: aws+security@example.com, unit: Root, tags: { env: prod } }
  audit: { email: aws+audit@example.com, unit: Root }
policies:
  deny-stop-logging:
    description: Nobody stops the trail
    document: { Version: "2012-10-17", Statement: [{ Effect: Deny, Action: "cloudtrail:StopLogging", Resource: "*" }] }
    targets: { units: [Sandbox] }
baseline:
  access_analyzer: { admin_account: audit }
"#;

/// A tag value that erases the line above it on a terminal.
const ERASING_TAG: &str = "prod\u{1b}[1A\u{1b}[2K";
/// An OU name that is an HTML image with a script.
const HTML_UNIT: &str = "<img src=x onerror=alert(1)>";
/// A policy description that opens an HTML comment.
const HTML_DESCRIPTION: &str = "<!-- the rest of the comment is hidden";

/// The organization as somebody built it by hand, through the API (AWS accepts all of it): an OU
/// the spec does not name, called `HTML_UNIT`; the spec's policy with the description
/// `HTML_DESCRIPTION`; the spec's `security` account tagged `env: ERASING_TAG`. The plan shows
/// each as the live value (a note, a `before`).
async fn hostile_organization(moto: &Moto) {
    use aws_sdk_organizations::types::{PolicyType, Tag};
    let client = aws_sdk_organizations::Client::new(&moto.sdk_config().await);
    client.create_organization().send().await.expect("organization");
    let root = client.list_roots().send().await.expect("roots").roots.expect("roots")[0].id.clone().expect("id");
    client
        .enable_policy_type()
        .root_id(&root)
        .policy_type(PolicyType::ServiceControlPolicy)
        .send()
        .await
        .expect("enable SCPs");
    client.create_organizational_unit().parent_id(&root).name(HTML_UNIT).send().await.expect("unit");
    client
        .create_policy()
        .name("deny-stop-logging")
        .description(HTML_DESCRIPTION)
        .r#type(PolicyType::ServiceControlPolicy)
        .content(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"cloudtrail:StopLogging","Resource":"*"}]}"#)
        .send()
        .await
        .expect("policy");
    let created = client
        .create_account()
        .account_name("security")
        .email("aws+security@example.com")
        .tags(Tag::builder().key("env").value(ERASING_TAG).build().expect("tag"))
        .send()
        .await
        .expect("account");
    assert!(created.create_account_status.and_then(|status| status.account_id).is_some(), "moto creates at once");
    // A new account refuses calls for a while, on AWS as in the strict layer: let its window pass.
    tokio::time::sleep(crate::support::strict::Strict::default().fresh_account_window + Duration::from_millis(100))
        .await;
}

/// No character that acts on a terminal (ESC, CR, bidi overrides…) in `text`, newlines aside.
fn assert_inert(what: &str, text: &str) {
    let hidden: Vec<char> = text.chars().filter(|c| *c != '\n' && landing_zone::plan::escape::is_hidden(*c)).collect();
    assert!(hidden.is_empty(), "{what} carries {hidden:?}:\n{text}");
}

/// A pipe whose reading end is already closed: the first write to it fails with EPIPE.
fn closed_pipe() -> Stdio {
    let mut fds = [0; 2];
    // SAFETY: `pipe` fills both descriptors on success; each is owned once (closed, or moved).
    unsafe {
        assert_eq!(libc::pipe(fds.as_mut_ptr()), 0, "pipe");
        libc::close(fds[0]);
        Stdio::from(OwnedFd::from_raw_fd(fds[1]))
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_names_are_shown_never_run_in_plan_markdown_show_and_apply() {
    let moto = Moto::start();
    hostile_organization(&moto).await;
    let workspace = workspace(SPEC);
    let dir = workspace.path();

    let plan = moto.run(&["plan", "--out", "saved.plan"], dir);
    assert_eq!(plan.status.code(), Some(0), "{}", stderr(&plan));
    let text = stdout(&plan);
    assert_inert("the text plan", &text);
    assert!(text.contains("tags: {env=prod\\u{1b}[1A\\u{1b}[2K} → {env=prod}"), "{text}");
    assert!(text.contains(HTML_UNIT) && text.contains(HTML_DESCRIPTION), "{text}");

    let markdown = moto.run(&["plan", "--format", "markdown"], dir);
    assert_eq!(markdown.status.code(), Some(0), "{}", stderr(&markdown));
    let comment = stdout(&markdown);
    assert_inert("the Markdown plan", &comment);
    // Every `<` of the hostile texts is escaped (`\<`, or `&lt;` inside HTML).
    let raw = |needle: &str| comment.match_indices(needle).any(|(at, _)| !comment[..at].ends_with('\\'));
    assert!(!raw("<img") && !raw("<!--"), "{comment}");
    assert!(comment.contains("unit \\<img src=x onerror=alert\\(1\\)\\>: not in the spec"), "{comment}");
    assert!(comment.contains("\\<\\!-- the rest of the comment is hidden"), "{comment}");

    // `show` renders the saved plan as `plan` did, with nothing listening at the AWS endpoint.
    let shown = moto.run_with_endpoint(&["show", "saved.plan"], dir, "http://127.0.0.1:1");
    assert_eq!(shown.status.code(), Some(0), "{}", stderr(&shown));
    assert_eq!(stdout(&shown), text);
    let json = moto.run_with_endpoint(&["show", "saved.plan", "--format", "json"], dir, "http://127.0.0.1:1");
    let parsed: serde_json::Value = serde_json::from_slice(&json.stdout).expect("show --format json is JSON");
    let actions = parsed["actions"].as_array().expect("actions");
    let retag = actions.iter().find(|action| action["kind"] == "update_tags").expect("the tags change");
    assert_eq!(retag["tags"]["before"]["env"], ERASING_TAG, "JSON stays exact: {retag}");
    let reworded = actions.iter().find(|action| action["kind"] == "update_policy").expect("the policy change");
    assert_eq!(reworded["description"]["before"], HTML_DESCRIPTION, "JSON stays exact: {reworded}");
    // An edited plan (the attachment retargeted by hand) is refused; so is a missing file.
    let saved = std::fs::read_to_string(dir.join("saved.plan")).expect("saved plan");
    assert!(saved.contains("\"path\": \"Sandbox\""), "{saved}");
    std::fs::write(dir.join("edited.plan"), saved.replace("\"path\": \"Sandbox\"", "\"path\": \"Root\"")).expect("w");
    let edited = moto.run_with_endpoint(&["show", "edited.plan"], dir, "http://127.0.0.1:1");
    assert_eq!(edited.status.code(), Some(1));
    assert!(stderr(&edited).contains("`edited.plan` cannot be used"), "{}", stderr(&edited));
    assert!(stderr(&edited).contains("changed after it was saved"), "{}", stderr(&edited));
    assert!(stdout(&edited).is_empty());
    let missing = moto.run_with_endpoint(&["show", "missing.plan"], dir, "http://127.0.0.1:1");
    assert_eq!(missing.status.code(), Some(1));
    assert!(stderr(&missing).contains("reading saved plan `missing.plan`"), "{}", stderr(&missing));

    // moto lacks Access Analyzer's analyzers: that control, in the account this apply creates, is
    // skipped, and said to be.
    let apply = moto.run(&["apply", "--auto-approve"], dir);
    let (out, err) = (stdout(&apply), stderr(&apply));
    assert_eq!(apply.status.code(), Some(0), "{err}");
    assert!(out.contains("prod\\u{1b}[1A\\u{1b}[2K"), "apply shows the plan: {out}");
    assert_inert("apply's output", &out);
    assert_inert("apply's progress", &err);
    assert!(err.contains("skipped access_analyzer/analyzer in audit (us-east-1): "), "{err}");
    assert!(!err.contains("created access_analyzer"), "{err}");
    assert!(err.contains("created unit Sandbox"), "{err}");
    assert!(err.contains("tagged account security"), "{err}");
    assert!(out.contains(" done, 1 skipped, 0 failed in "), "{out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_closed_stdout_ends_every_command_quietly() {
    let moto = Moto::start();
    let workspace = workspace(SPEC);
    let dir = workspace.path();
    let client = aws_sdk_organizations::Client::new(&moto.sdk_config().await);
    client.create_organization().send().await.expect("organization");
    let saved = moto.run(&["plan", "--out", "saved.plan"], dir);
    assert_eq!(saved.status.code(), Some(0), "{}", stderr(&saved));

    let commands: &[&[&str]] = &[
        &["plan"],
        &["plan", "--format", "json"],
        &["plan", "--format", "markdown"],
        &["show", "saved.plan"],
        &["graph"],
        &["schema"],
        &["permissions", "apply"],
        &["audit", "--format", "json"],
    ];
    for args in commands {
        let output = moto.command(args, dir, &moto.endpoint).stdout(closed_pipe()).output().expect("run landing-zone");
        let err = stderr(&output);
        assert!(!err.contains("panicked") && !err.contains("Broken pipe"), "{args:?}: {err}");
        assert_eq!(output.status.code(), Some(141), "{args:?} exits as SIGPIPE's 128 + 13: {err}");
    }
}

#[test]
fn a_dead_endpoint_fails_fast_says_what_it_retries_and_logs_without_colour() {
    let workspace = workspace(SPEC);
    let dir = workspace.path();
    let run = |args: &[&str]| {
        let started = Instant::now();
        let output = Command::new(env!("CARGO_BIN_EXE_landing-zone"))
            .args(args)
            .current_dir(dir)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", "us-east-1")
            .env("LANDING_ZONE_RATE_LIMIT", "off")
            .env_remove("AWS_ENDPOINT_URL")
            .env_remove("AWS_PROFILE")
            .env_remove("NO_COLOR")
            .env_remove("LANDING_ZONE_LOG")
            .stdin(Stdio::null())
            .output()
            .expect("run landing-zone");
        (output, started.elapsed())
    };
    let (output, elapsed) = run(&["plan", "--endpoint-url", "http://127.0.0.1:1"]);
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(elapsed < Duration::from_secs(8), "took {elapsed:?}: {err}");
    let retries = err.lines().filter(|line| line.contains("connection refused; retrying in")).count();
    assert_eq!(retries, 2, "one line per retry at the default verbosity:\n{err}");
    assert!(err.contains("hint: nothing answers at `http://127.0.0.1:1`"), "{err}");

    // Debug logs, stderr a pipe, `--no-color`: not one colour code.
    let (output, _) = run(&["-vv", "--no-color", "plan", "--endpoint-url", "http://127.0.0.1:1"]);
    let err = stderr(&output);
    assert!(err.lines().count() > 2, "{err}");
    assert!(!err.contains('\u{1b}'), "{err:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn import_refuses_to_overwrite_files_without_force() {
    let moto = Moto::start();
    let client = aws_sdk_organizations::Client::new(&moto.sdk_config().await);
    client.create_organization().send().await.expect("organization");
    let root = client.list_roots().send().await.expect("roots").roots.expect("roots")[0].id.clone().expect("id");
    client
        .enable_policy_type()
        .root_id(&root)
        .policy_type(aws_sdk_organizations::types::PolicyType::ServiceControlPolicy)
        .send()
        .await
        .expect("enable SCPs");
    client
        .create_policy()
        .name("deny-leave")
        .description("no leaving")
        .r#type(aws_sdk_organizations::types::PolicyType::ServiceControlPolicy)
        .content(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"organizations:LeaveOrganization","Resource":"*"}]}"#)
        .send()
        .await
        .expect("policy");
    let workspace = tempfile::tempdir().expect("temp dir");
    let dir = workspace.path();
    let import = |args: &[&str]| moto.run(&[&["import", "--out", "adopted"][..], args].concat(), dir);
    let adopted = dir.join("adopted");
    let listing = |path: &Path| {
        let mut names: Vec<String> = walk(path);
        names.sort();
        names
    };

    // The spec is in the way: refused before anything is read or written.
    std::fs::create_dir_all(&adopted).expect("dir");
    std::fs::write(adopted.join("landing-zone.yaml"), "# mine\n").expect("write");
    let refused = import(&[]);
    assert_eq!(refused.status.code(), Some(1), "{}", stderr(&refused));
    assert!(stderr(&refused).contains("refusing to overwrite `adopted/landing-zone.yaml`"), "{}", stderr(&refused));
    assert!(stderr(&refused).contains("--force"), "{}", stderr(&refused));
    assert_eq!(std::fs::read_to_string(adopted.join("landing-zone.yaml")).expect("read"), "# mine\n");
    assert_eq!(listing(&adopted), ["landing-zone.yaml"]);

    // Only a policy file is in the way: refused, and the spec is not written either.
    std::fs::remove_file(adopted.join("landing-zone.yaml")).expect("remove");
    std::fs::create_dir_all(adopted.join("policies")).expect("dir");
    std::fs::write(adopted.join("policies/deny-leave.json"), "{}\n").expect("write");
    let refused = import(&[]);
    assert_eq!(refused.status.code(), Some(1), "{}", stderr(&refused));
    assert!(stderr(&refused).contains("`adopted/policies/deny-leave.json`"), "{}", stderr(&refused));
    assert_eq!(listing(&adopted), ["policies/deny-leave.json"]);
    assert_eq!(std::fs::read_to_string(adopted.join("policies/deny-leave.json")).expect("read"), "{}\n");

    // `--force` overwrites.
    let forced = import(&["--force"]);
    assert_eq!(forced.status.code(), Some(0), "{}", stderr(&forced));
    assert!(std::fs::read_to_string(adopted.join("policies/deny-leave.json"))
        .expect("read")
        .contains("LeaveOrganization"));
    assert!(std::fs::read_to_string(adopted.join("landing-zone.yaml")).expect("read").contains("deny-leave"));
}

/// Files under `root`, relative, `/`-separated.
fn walk(root: &Path) -> Vec<String> {
    let mut files = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(path) = pending.pop() {
        for entry in std::fs::read_dir(&path).expect("read dir") {
            let entry = entry.expect("entry");
            if entry.path().is_dir() {
                pending.push(entry.path());
            } else {
                files.push(entry.path().strip_prefix(root).expect("prefix").to_string_lossy().replace('\\', "/"));
            }
        }
    }
    files
}
