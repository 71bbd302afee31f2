//! The bad-input corpus: every spec under tests/bad_inputs/ is invalid in exactly one way. Each
//! must exit 1 and name the location (file:line:column, from its `.expect` file) and the cause,
//! make no call to AWS (`plan` against a loopback endpoint that counts connections), and never
//! echo a refused file: `tests/canary-outside.json` sits outside the corpus directory with a
//! canary string that no output may contain.

use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The first line of tests/canary-outside.json, which the corpus names through `../`, a symlink
/// and a role's inline policy: any output containing it echoed a refused file.
const CANARY: &str = "LZ-CANARY-5f0c2e";

fn corpus() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bad_inputs");
    let mut specs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("corpus directory")
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "yaml"))
        .collect();
    specs.sort();
    specs
}

/// Runs landing-zone with `args`, killing it after 30 s (a FIFO or `/dev/zero` must not hang it).
fn run(args: &[&str]) -> std::process::Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_landing-zone"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("LANDING_ZONE_RATE_LIMIT", "off")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run landing-zone");
    let started = Instant::now();
    loop {
        if child.try_wait().expect("wait").is_some() {
            return child.wait_with_output().expect("output");
        }
        if started.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            let output = child.wait_with_output().expect("output");
            panic!("landing-zone {args:?} still running after 30 s: {}", String::from_utf8_lossy(&output.stderr));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn validate(spec: &str) -> std::process::Output {
    run(&["validate", "-f", spec])
}

/// A loopback "AWS endpoint" that only counts the connections made to it.
struct CountingEndpoint {
    listener: TcpListener,
}

impl CountingEndpoint {
    fn start() -> CountingEndpoint {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        listener.set_nonblocking(true).expect("non-blocking");
        CountingEndpoint { listener }
    }

    fn url(&self) -> String {
        format!("http://{}", self.listener.local_addr().expect("address"))
    }

    /// Connections accepted since the last call (each is dropped unanswered).
    fn connections(&self) -> usize {
        let mut count = 0;
        while let Ok((mut stream, _)) = self.listener.accept() {
            let _ = stream.set_read_timeout(Some(Duration::from_millis(10)));
            let _ = stream.read(&mut [0u8; 64]);
            count += 1;
        }
        count
    }
}

fn outputs_text(output: &std::process::Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

/// Content of files the corpus refers to but must never read, as it would appear if echoed.
fn refused_contents() -> Vec<String> {
    let canary = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/canary-outside.json"))
        .expect("tests/canary-outside.json");
    assert!(canary.starts_with(CANARY), "the canary file starts with {CANARY}");
    let mut contents = vec![CANARY.to_string()];
    // The first line of /etc/passwd (48-document-absolute-path names it).
    if let Some(line) = std::fs::read_to_string("/etc/passwd").ok().and_then(|t| t.lines().next().map(str::to_string)) {
        contents.push(line);
    }
    contents
}

#[test]
fn every_bad_spec_is_rejected_with_its_location_and_cause() {
    let specs = corpus();
    assert!(specs.len() >= 85, "the corpus has {} cases", specs.len());
    let refused = refused_contents();
    let endpoint = CountingEndpoint::start();
    let endpoint_url = endpoint.url();
    let mut failures = Vec::new();
    for spec in specs {
        let name = spec.file_name().and_then(|n| n.to_str()).expect("name").to_string();
        let relative = format!("tests/bad_inputs/{name}");
        let expect = std::fs::read_to_string(spec.with_extension("expect")).expect("every case has an .expect file");
        let mut lines = expect.lines();
        let location = lines.next().expect("location line");
        let cause = lines.next().expect("cause line");
        let location = if location.contains(".json:") {
            format!("tests/bad_inputs/{location}")
        } else {
            format!("{relative}:{location}")
        };
        let output = validate(&relative);
        let stderr = String::from_utf8_lossy(&output.stderr);
        // `plan` loads the same spec and then talks to AWS: a bad spec must stop it before any call.
        let plan = run(&["plan", "--format", "markdown", "-f", &relative, "--endpoint-url", &endpoint_url]);
        let calls = endpoint.connections();
        let echoed: Vec<&String> = refused
            .iter()
            .filter(|content| outputs_text(&output).contains(*content) || outputs_text(&plan).contains(*content))
            .collect();
        if !echoed.is_empty() {
            failures.push(format!("{name}: output echoes a refused file's content {echoed:?}"));
        } else if calls != 0 || plan.status.code() != Some(1) {
            failures.push(format!("{name}: plan exit {:?} after {calls} connections to AWS", plan.status.code()));
        } else if output.status.code() != Some(1) {
            failures.push(format!("{name}: exit {:?}", output.status.code()));
        } else if !stderr.contains(&location) {
            failures.push(format!("{name}: location {location} not in:\n{stderr}"));
        } else if !stderr.contains(cause) {
            failures.push(format!("{name}: cause `{cause}` not in:\n{stderr}"));
        } else if stderr.contains("panicked") {
            failures.push(format!("{name}: panicked"));
        }
    }
    assert!(failures.is_empty(), "{} cases failed:\n{}", failures.len(), failures.join("\n\n"));
}

#[test]
fn the_repository_specs_are_valid() {
    let mut specs = vec!["landing-zone.yaml".to_string()];
    for entry in std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("examples")).expect("examples") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|ext| ext == "yaml") {
            specs.push(format!("examples/{}", path.file_name().and_then(|n| n.to_str()).expect("name")));
        }
    }
    assert!(specs.len() >= 4, "{specs:?}");
    for spec in specs {
        let output = validate(&spec);
        assert_eq!(output.status.code(), Some(0), "{spec}: {}", String::from_utf8_lossy(&output.stderr));
    }
}

#[test]
fn all_errors_are_reported_not_only_the_first() {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("landing-zone.yaml"))
        .expect("spec")
        .replacen("unit: Workloads/Prod", "unit: Workloads/Prd", 1)
        .replacen("eu-west-1]", "eu-wset-1]", 1)
        .replacen("minimum_length: 14", "minimum_length: 4", 1);
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("landing-zone.yaml");
    let errors = landing_zone::baseline::load_spec_from_str(&path, text).expect_err("three errors");
    let messages: Vec<String> = errors.diagnostics.iter().map(|d| d.message.clone()).collect();
    assert_eq!(messages.len(), 3, "{messages:#?}");
    assert!(errors.diagnostics.iter().all(|d| d.location.as_ref().is_some_and(|l| l.line > 1)));
}

/// A minimal valid spec whose one policy document is `document`, written into `dir`.
fn spec_with_document(dir: &Path, document: &str) -> PathBuf {
    let text = format!(
        "version: 1\norganization:\n  policy_types: [SERVICE_CONTROL_POLICY]\n  regions: [us-east-1]\naccounts:\n  security: {{ email: aws+security@example.com }}\npolicies:\n  deny-leave:\n    document: {document}\n    targets: {{ units: [Root] }}\n"
    );
    let path = dir.join("landing-zone.yaml");
    std::fs::write(&path, text).expect("write spec");
    path
}

#[cfg(unix)]
#[test]
fn a_fifo_named_as_a_document_is_refused_without_hanging() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("policies")).expect("mkdir");
    let made = Command::new("mkfifo").arg(dir.path().join("policies/pipe.json")).status().expect("mkfifo");
    assert!(made.success());
    let spec = spec_with_document(dir.path(), "policies/pipe.json");
    let output = validate(spec.to_str().expect("utf-8 path"));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("`policies/pipe.json` is a FIFO, not a regular file"), "{stderr}");
    assert!(stderr.contains("landing-zone.yaml:9:15"), "{stderr}");
}

#[cfg(unix)]
#[test]
fn a_device_as_the_spec_is_refused_without_reading_it() {
    for device in ["/dev/zero", "/dev/urandom"] {
        let output = validate(device);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{device}: {stderr}");
        assert!(stderr.contains(&format!("`{device}` is a device, not a regular file")), "{device}: {stderr}");
    }
}

#[test]
fn oversized_documents_and_specs_are_refused_before_reading() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("policies")).expect("mkdir");
    // Sparse: 4 GiB on paper, no disk space; reading it whole would exhaust memory.
    let big = std::fs::File::create(dir.path().join("policies/big.json")).expect("create");
    big.set_len(4 << 30).expect("set_len");
    let spec = spec_with_document(dir.path(), "policies/big.json");
    let output = validate(spec.to_str().expect("utf-8 path"));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("`policies/big.json` is larger than the limit of 1048576 bytes"), "{stderr}");

    let huge_spec = dir.path().join("huge.yaml");
    std::fs::File::create(&huge_spec).expect("create").set_len(4 << 30).expect("set_len");
    let output = validate(huge_spec.to_str().expect("utf-8 path"));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("is larger than the limit of 16777216 bytes"), "{stderr}");
}

#[test]
fn a_document_in_a_subdirectory_of_the_spec_still_loads() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("policies/guardrails")).expect("mkdir");
    std::fs::write(
        dir.path().join("policies/guardrails/deny.json"),
        "\u{feff}{\"Version\": \"2012-10-17\", \"Statement\": {\"Effect\": \"Deny\", \"Action\": \"organizations:LeaveOrganization\", \"Resource\": \"*\"}}",
    )
    .expect("write");
    let spec = spec_with_document(dir.path(), "policies/guardrails/../guardrails/deny.json");
    let output = validate(spec.to_str().expect("utf-8 path"));
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
}

#[test]
fn zero_concurrency_is_refused_before_anything_runs() {
    for flag in ["--parallelism", "--accounts-at-once"] {
        // Nothing listens on the endpoint: a call would fail differently (and later).
        let output = run(&["plan", flag, "0", "--endpoint-url", "http://127.0.0.1:9"]);
        let text = outputs_text(&output);
        assert_eq!(output.status.code(), Some(2), "{flag}: {text}");
        assert!(text.contains(flag) && text.contains("0"), "{flag}: {text}");
        assert!(text.contains("1..=4096"), "the allowed range is named: {text}");
    }
}

/// `landing-zone.yaml` with each `(from, to)` replaced once, validated from a temporary copy.
fn validate_edited(edits: &[(&str, &str)]) -> String {
    let mut text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("landing-zone.yaml")).expect("spec");
    for (from, to) in edits {
        assert!(text.contains(from), "landing-zone.yaml contains {from:?}");
        text = text.replacen(from, to, 1);
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let policies = Path::new(env!("CARGO_MANIFEST_DIR")).join("policies");
    std::os::unix::fs::symlink(&policies, dir.path().join("policies")).expect("link policies");
    let path = dir.path().join("landing-zone.yaml");
    std::fs::write(&path, text).expect("write spec");
    let output = validate(path.to_str().expect("utf-8 path"));
    assert_eq!(output.status.code(), Some(1));
    String::from_utf8_lossy(&output.stderr).to_string()
}

#[test]
fn every_shape_error_is_reported_in_one_run() {
    // Three misspelt keys and a wrong type in different sections: one run names all four.
    let stderr = validate_edited(&[
        ("policy_types:", "policy_typs:"),
        ("email: aws+security@example.com", "emial: aws+security@example.com"),
        ("minimum_length:", "minimum_lenght:"),
        ("version: 1", "version: one"),
    ]);
    for wanted in [
        "unknown field `policy_typs`",
        "did you mean `policy_types`?",
        "unknown field `emial`",
        "did you mean `email`?",
        "unknown field `minimum_lenght`",
        "did you mean `minimum_length`?",
        "`version`: invalid type: string \"one\", expected a whole number",
        "4 errors in the spec",
    ] {
        assert!(stderr.contains(wanted), "`{wanted}` not in:\n{stderr}");
    }
}

#[test]
fn enum_values_get_a_did_you_mean() {
    let stderr = validate_edited(&[("feature_set: ALL", "feature_set: all")]);
    assert!(stderr.contains("unknown variant `all`"), "{stderr}");
    assert!(stderr.contains("did you mean `ALL`?"), "{stderr}");
}

#[test]
fn an_ou_indented_as_a_sibling_units_key_gets_an_indentation_hint() {
    // `units:` written at the level of the OUs instead of under `Workloads:`.
    let stderr = validate_edited(&[("  Workloads:\n    units:\n", "  Workloads: {}\n  units:\n")]);
    assert!(stderr.contains("read as an OU named `units` beside `Workloads`"), "{stderr}");
    assert!(stderr.contains("indent `units:` one level under that OU's name"), "{stderr}");
}

#[test]
fn type_hints_name_the_field_they_are_about() {
    let stderr = validate_edited(&[("minimum_length: 14", "minimum_length: \"14\"")]);
    assert!(stderr.contains("write the number without quotes: `minimum_length: 14`"), "{stderr}");
    assert!(!stderr.contains("version: 1"), "{stderr}");
}

/// A spec with `accounts` member accounts sending their flow logs to the bunker.
fn flow_log_spec(accounts: usize) -> String {
    let mut spec = String::from(
        "version: 1\norganization:\n  feature_set: ALL\n  management_account: management\n  regions: [us-east-1]\nunits:\n  Workloads: {}\naccounts:\n  management: { email: root@example.com, unit: Root }\n  logs: { email: logs@example.com, unit: Root }\n",
    );
    for index in 0..accounts {
        spec.push_str(&format!("  app-{index:04}: {{ email: app-{index:04}@example.com, unit: Workloads }}\n"));
    }
    spec.push_str(
        "baseline:\n  log_archive: { account: logs }\n  flow_logs: { targets: { units: [Workloads] }, traffic: ALL }\n",
    );
    spec
}

#[test]
fn a_bunker_policy_that_outgrows_s3s_20_kb_with_the_flow_log_accounts_is_refused_offline() {
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("landing-zone.yaml");
    std::fs::write(&file, flow_log_spec(60)).expect("spec");
    let output = validate(file.to_str().expect("path"));
    assert_eq!(output.status.code(), Some(0), "60 accounts fit: {}", outputs_text(&output));

    std::fs::write(&file, flow_log_spec(200)).expect("spec");
    let endpoint = CountingEndpoint::start();
    let output = run(&["plan", "-f", file.to_str().expect("path"), "--endpoint-url", &endpoint.url()]);
    let text = outputs_text(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(text.contains("landing-zone.yaml:"), "located in the spec: {text}");
    assert!(text.contains("the bunker's bucket policy would be"), "{text}");
    assert!(text.contains("S3 allows 20 KB (20480 bytes)"), "{text}");
    assert!(text.contains("narrow `baseline.flow_logs.targets` to at most about"), "{text}");
    assert_eq!(endpoint.connections(), 0, "refused before any call to AWS");
}
