//! Finding the caller's credentials: no credentials at all, or a profile the config files do not
//! have, is one clear error within seconds (what was tried, how to fix it), not a call retried for
//! half a minute that ends on an instance-metadata error. No emulator: the run must stop before
//! any AWS call. Instance metadata points at a closed loopback port.

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::support::spec_workspace;

/// Generous: a regression guard against retrying credential failures (26-31 s before), not a
/// benchmark.
const FAST: Duration = Duration::from_secs(10);

/// The binary in `dir` with an empty home, no AWS variables and instance metadata unreachable.
fn bare(dir: &std::path::Path, home: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> (Output, Duration) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_landing-zone"));
    command.args(args).current_dir(dir).env_clear().stdin(Stdio::null());
    command
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("NO_COLOR", "1")
        .env("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:1")
        // Nothing listens here either: no call may be made at all.
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:1");
    for (name, value) in env {
        command.env(name, value);
    }
    let started = Instant::now();
    let output = command.output().expect("run landing-zone");
    (output, started.elapsed())
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn no_credentials_is_a_fast_clear_error() {
    let workspace = spec_workspace(&[]);
    let home = tempfile::tempdir().expect("home");
    let (output, took) = bare(workspace.path(), home.path(), &["plan"], &[]);
    let message = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{message}");
    assert!(message.contains("no AWS credentials found"), "{message}");
    for tried in ["environment", "profile", "SSO", "instance metadata"] {
        assert!(message.contains(tried), "says it tried {tried}: {message}");
    }
    assert!(message.contains("hint:") && message.contains("aws configure"), "{message}");
    assert!(!message.contains("DescribeOrganization"), "no AWS call was attempted: {message}");
    assert!(took < FAST, "took {took:?}: {message}");
}

#[test]
fn an_unknown_profile_is_named_with_the_profiles_there_are() {
    let workspace = spec_workspace(&[]);
    let home = tempfile::tempdir().expect("home");
    std::fs::create_dir_all(home.path().join(".aws")).expect(".aws");
    std::fs::write(home.path().join(".aws/config"), "[profile audit]\nregion = us-east-1\n").expect("config");
    for (args, env) in [
        (vec!["plan"], vec![("AWS_PROFILE", "nope")]),
        (vec!["--profile", "nope", "plan"], vec![]),
        // Credentials in the environment do not hide a misnamed profile.
        (
            vec!["plan"],
            vec![("AWS_PROFILE", "nope"), ("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE"), ("AWS_SECRET_ACCESS_KEY", "x")],
        ),
    ] {
        let (output, took) = bare(workspace.path(), home.path(), &args, &env);
        let message = stderr(&output);
        assert_eq!(output.status.code(), Some(1), "{message}");
        assert!(message.contains("AWS profile `nope` is not in the config files"), "{args:?}: {message}");
        assert!(message.contains("profiles there: audit"), "{message}");
        assert!(message.contains("hint:"), "{message}");
        assert!(!message.contains("IMDS") && !message.contains("DescribeOrganization"), "{message}");
        assert!(took < FAST, "took {took:?}: {message}");
    }
}

#[test]
fn instance_metadata_turned_off_is_no_credentials_too() {
    let workspace = spec_workspace(&[]);
    let home = tempfile::tempdir().expect("home");
    let (output, took) =
        bare(workspace.path(), home.path(), &["audit"], &[("AWS_EC2_METADATA_DISABLED", "true"), ("AWS_PROFILE", "")]);
    let message = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{message}");
    assert!(message.contains("no AWS credentials found"), "{message}");
    assert!(took < FAST, "took {took:?}: {message}");
}

/// A loopback "instance metadata" endpoint answering every request with `status` (403 is what a
/// blocked or turned-off IMDS answers the token request).
fn metadata_answering(status: &'static str) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = listener.local_addr().expect("address");
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut buffer = [0u8; 4096];
            let _ = stream.read(&mut buffer);
            let body = "denied";
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    format!("http://{address}")
}

#[test]
fn instance_metadata_refusing_the_token_is_no_credentials_without_rust_debug_text() {
    let workspace = spec_workspace(&[]);
    let home = tempfile::tempdir().expect("home");
    let endpoint = metadata_answering("403 Forbidden");
    let (output, took) =
        bare(workspace.path(), home.path(), &["plan"], &[("AWS_EC2_METADATA_SERVICE_ENDPOINT", endpoint.as_str())]);
    let message = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{message}");
    assert!(message.contains("no AWS credentials found"), "{message}");
    assert!(message.contains("instance metadata (which answered: "), "says what metadata answered: {message}");
    for debug in ["ProviderError(", "Some(", "{ source", "SdkBody", "StatusCode("] {
        assert!(!message.contains(debug), "Rust debug text `{debug}` reaches the user: {message}");
    }
    assert!(message.contains("hint:") && message.contains("aws configure"), "{message}");
    assert!(took < FAST, "took {took:?}: {message}");
}
