//! Test support: a moto server per test on a free loopback port, SDK configs pointed at it, and
//! helpers to run the built binary against it.
//!
//! The server is killed when the `Moto` value drops, which also happens when a test panics.
//! `proxy` puts a counting, fault-injecting proxy in front of a server; `strict` is that proxy's
//! layer of AWS rules moto does not enforce. Every `Moto` starts with such a proxy (no faults,
//! strict layer on) and hands out its address as `endpoint`: the tool and the tests' SDK clients
//! talk to AWS's rules, not to moto's leniency. `raw_endpoint` is moto itself, for test set-up
//! that must bypass the rules (each use says why).
#![allow(dead_code)] // each test binary uses a different subset

pub mod accounts;
pub mod backup;
pub mod budgets;
pub mod conformance_packs;
pub mod detective;
pub mod flow_logs;
pub mod identity_center;
pub mod inspector;
pub mod macie;
pub mod outputs;
pub mod proxy;
pub mod ram;
pub mod root_credentials;
pub mod security_hub;
pub mod simulate;
pub mod sns;
pub mod strict;
pub mod tgw;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;

/// A running moto server, behind a strict proxy.
pub struct Moto {
    child: Child,
    /// moto's own port: the upstream of any further proxy a test starts (`Proxy::start(moto.port, ..)`).
    pub port: u16,
    /// The strict proxy in front of moto: what the tool and the tests talk to.
    pub endpoint: String,
    /// moto itself, without the strict layer.
    pub raw_endpoint: String,
    /// The default strict proxy (its settings can be changed with `set_faults`).
    pub proxy: Option<proxy::Proxy>,
}

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn moto_binary() -> PathBuf {
    let path = repo_root().join(".venv/bin/moto_server");
    assert!(
        path.exists(),
        "moto is not installed: run scripts/install-emulator.sh (the README's test command does it)"
    );
    path
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    listener.local_addr().expect("local address").port()
}

impl Moto {
    /// Starts moto without AWS-managed IAM policies (fast, small).
    pub fn start() -> Moto {
        Moto::start_with_env(&[])
    }

    /// Starts moto with AWS-managed IAM policies loaded, for tests that apply specs whose roles
    /// attach them (about 1.3 s and 40 MB per account: keep such organizations small).
    pub fn start_with_managed_policies() -> Moto {
        Moto::start_with_env(&[("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")])
    }

    /// Starts moto with extra environment (e.g. MOTO_IAM_LOAD_MANAGED_POLICIES=true).
    pub fn start_with_env(env: &[(&str, &str)]) -> Moto {
        for _ in 0..5 {
            let port = free_port();
            let mut command = Command::new(moto_binary());
            command.args(["-H", "127.0.0.1", "-p", &port.to_string()]).stdout(Stdio::null()).stderr(Stdio::null());
            for (key, value) in env {
                command.env(key, value);
            }
            let child = command.spawn().expect("start moto_server");
            let raw_endpoint = format!("http://127.0.0.1:{port}");
            let mut moto = Moto { child, port, endpoint: raw_endpoint.clone(), raw_endpoint, proxy: None };
            if moto.wait_until_ready(Duration::from_secs(30)) {
                strict::forget_moto(port);
                let proxy = proxy::Proxy::start(port, proxy::Faults::none());
                moto.endpoint = proxy.endpoint.clone();
                moto.proxy = Some(proxy);
                return moto;
            }
            // The port was taken between our probe and moto's bind: try another.
            let _ = moto.child.kill();
        }
        panic!("moto_server did not start");
    }

    fn wait_until_ready(&mut self, timeout: Duration) -> bool {
        let started = Instant::now();
        while started.elapsed() < timeout {
            if let Ok(Some(_)) = self.child.try_wait() {
                return false;
            }
            if http_get(self.port, "/moto-api/").is_some_and(|status| status.contains("200")) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    /// The default strict proxy.
    pub fn strict_proxy(&self) -> &proxy::Proxy {
        self.proxy.as_ref().expect("every Moto starts with a strict proxy")
    }

    /// An SDK config for the management account (moto's default account) pointed at the strict proxy.
    pub async fn sdk_config(&self) -> SdkConfig {
        sdk_config_at(&self.endpoint).await
    }

    /// An SDK config for the management account pointed at moto itself (no strict layer).
    pub async fn raw_sdk_config(&self) -> SdkConfig {
        sdk_config_at(&self.raw_endpoint).await
    }

    /// An SDK config with the credentials of `OrganizationAccountAccessRole` in `account_id`,
    /// obtained through STS as an independent reader would.
    pub async fn assumed_config(&self, account_id: &str) -> SdkConfig {
        self.assumed_config_as(account_id, "OrganizationAccountAccessRole").await
    }

    /// An SDK config with the credentials of `role` in `account_id`.
    pub async fn assumed_config_as(&self, account_id: &str, role: &str) -> SdkConfig {
        let base = self.sdk_config().await;
        let sts = aws_sdk_sts::Client::new(&base);
        let credentials = sts
            .assume_role()
            .role_arn(format!("arn:aws:iam::{account_id}:role/{role}"))
            .role_session_name("test-reader")
            .send()
            .await
            .expect("assume role")
            .credentials
            .expect("credentials");
        let provider = Credentials::new(
            credentials.access_key_id,
            credentials.secret_access_key,
            Some(credentials.session_token),
            None,
            "assumed",
        );
        base.to_builder()
            .credentials_provider(aws_credential_types::provider::SharedCredentialsProvider::new(provider))
            .build()
    }

    /// Runs the built binary with this server as its endpoint.
    pub fn run(&self, args: &[&str], dir: &Path) -> Output {
        self.run_with_endpoint(args, dir, &self.endpoint)
    }

    /// [`Moto::run`], asserting the exit status is `code` (the output in the message); its stdout.
    pub fn run_expecting(&self, args: &[&str], dir: &Path, code: i32) -> String {
        let output = self.run(args, dir);
        assert_eq!(output.status.code(), Some(code), "{args:?}:\n{}\n{}", stdout(&output), stderr(&output));
        stdout(&output)
    }

    /// `plan --format json`, which must succeed, parsed.
    pub fn plan_json(&self, dir: &Path) -> serde_json::Value {
        serde_json::from_str(&self.run_expecting(&["plan", "--format", "json"], dir, 0)).expect("plan json")
    }

    /// Runs the built binary against `endpoint` (a proxy in front of this server).
    pub fn run_with_endpoint(&self, args: &[&str], dir: &Path, endpoint: &str) -> Output {
        self.command(args, dir, endpoint).output().expect("run landing-zone")
    }

    /// The built binary, ready to run against `endpoint`. Client-side rate limiting is off
    /// (`LANDING_ZONE_RATE_LIMIT=off`): moto never throttles, and AWS's CreateAccount rate
    /// (0.1/s) would add a minute to every apply; tests that want it set the variable back.
    pub fn command(&self, args: &[&str], dir: &Path, endpoint: &str) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_landing-zone"));
        command
            .args(args)
            .current_dir(dir)
            .env("AWS_ENDPOINT_URL", endpoint)
            .env("AWS_ACCESS_KEY_ID", CALLER_KEY)
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", "us-east-1")
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_SESSION_TOKEN")
            .env("LANDING_ZONE_RATE_LIMIT", "off")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null());
        command
    }
}

/// An SDK config for the management account (moto's default account) pointed at `endpoint`.
pub async fn sdk_config_at(endpoint: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .credentials_provider(Credentials::new(CALLER_KEY, "testing", None, None, "moto"))
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .load()
        .await
}

impl Drop for Moto {
    fn drop(&mut self) {
        self.proxy.take();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The status line of a GET, or None if nothing answered.
fn http_get(port: u16, path: &str) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut buffer = [0u8; 64];
    let read = stream.read(&mut buffer).ok()?;
    Some(String::from_utf8_lossy(&buffer[..read]).lines().next()?.to_string())
}

/// The access key the tool and the tests sign with as the management account's caller (member
/// accounts' sessions have keys of their own).
pub const CALLER_KEY: &str = "testing";

/// A fresh directory holding `spec` as its `landing-zone.yaml`.
pub fn workspace(spec: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("landing-zone.yaml"), spec).expect("write spec");
    dir
}

/// Copies the repository's spec and policies into a fresh directory, applying text edits to the spec.
pub fn spec_workspace(edits: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = repo_root();
    let mut text = std::fs::read_to_string(root.join("landing-zone.yaml")).expect("read landing-zone.yaml");
    for (from, to) in edits {
        assert!(text.contains(from), "edit target `{from}` not found in landing-zone.yaml");
        text = text.replacen(from, to, 1);
    }
    std::fs::write(dir.path().join("landing-zone.yaml"), text).expect("write spec");
    std::fs::create_dir_all(dir.path().join("policies")).expect("policies dir");
    for entry in std::fs::read_dir(root.join("policies")).expect("read policies") {
        let entry = entry.expect("entry");
        std::fs::copy(entry.path(), dir.path().join("policies").join(entry.file_name())).expect("copy policy");
    }
    dir
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).to_string()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).to_string()
}
