//! A fault-injecting HTTP/1.1 proxy in front of moto, on a free loopback port: the tool (or an SDK
//! client) talks to the proxy, the proxy to moto.
//!
//! For every request it names the operation (JSON protocols: `X-Amz-Target`; query protocols:
//! `Action=` in the form body; REST: method and path shape, with S3's operations spelled out),
//! counts calls per operation, and, drawn from a seeded RNG: answers TooManyRequestsException (or
//! the protocol's throttling error), ConcurrentModificationException on the Organizations writes
//! that raise it, HTTP 500/503, closes the connection without an answer, or forwards and then
//! loses the answer; it adds latency; it enforces AWS's published Organizations rates as token
//! buckets (an independent copy of the Organizations quotas page's table, so the product's
//! limiter is checked, not trusted); it can hold every request after the k-th write, so a test can SIGKILL the client at
//! a precise point; and it keeps the credentials STS hands out, so tests can scan output for them.
//!
//! Its strict layer (`strict.rs`, on unless `Faults::strict` says otherwise) refuses what AWS
//! refuses and moto accepts, serves the Region opt-in operations moto lacks, and rewrites account
//! records to AWS's current shape (docs/aws-fidelity.md).
//!
//! Beyond that it must not change what moto answers, except where a fault is injected. It runs on its own
//! tokio runtime in a background thread, so blocking tests can use it, and stops when dropped.
#![allow(dead_code)] // each test binary uses a different subset

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::strict::{self, Strict, StrictState};

/// What the proxy injects. Probabilities are per request, drawn in the order listed.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    pub seed: u64,
    /// Close the connection without forwarding or answering.
    pub drop_connection: f64,
    /// Answer the protocol's throttling error (Organizations: TooManyRequestsException).
    pub throttle: f64,
    /// Answer ConcurrentModificationException (only Attach/Detach/CreatePolicy/MoveAccount).
    pub concurrent_modification: f64,
    /// Answer HTTP 500 or 503.
    pub server_error: f64,
    /// Forward the request, then close the connection without the answer (the write happened).
    /// Only operations in `lose_response_on` (moto accepts duplicates where AWS refuses them, so a
    /// lost CreateAccount or CreateOrganizationalUnit answer cannot be emulated faithfully).
    pub lose_response: f64,
    pub lose_response_on: BTreeSet<String>,
    /// A uniform delay in [min, max] before each request is handled.
    pub latency: Option<(Duration, Duration)>,
    /// Enforce AWS's published Organizations rates (token buckets per operation).
    pub aws_rates: bool,
    /// Inject faults only into these signing services (`organizations`, `iam`, `s3`...); all when None.
    pub services: Option<BTreeSet<String>>,
    /// Make CreateAccount asynchronous: IN_PROGRESS for this long, at most 5 in flight (as AWS).
    pub account_creation_time: Option<Duration>,
    /// Page Organizations List* answers at AWS's 20 items: a request without `MaxResults` gets
    /// `MaxResults: 20` (moto's own pages are larger), so call counts compare with the read floor.
    pub aws_page_size: bool,
    /// The strict layer (`strict.rs`): AWS rules moto does not enforce. On by default.
    pub strict: Strict,
    /// Keep each connection open for the client's next request, as AWS's endpoints do (HTTP/1.1
    /// connections are persistent unless a side says otherwise, and the AWS SDKs reuse them:
    /// https://aws.amazon.com/blogs/developer/http-keep-alive-is-on-by-default-in-modular-aws-sdk-for-javascript/).
    /// Off by default (every answer closes its connection, which the fault tests rely on); the
    /// benchmark turns it on, so that the tool's CPU per call is not a new connection's each time.
    pub keep_alive: bool,
    /// Refuse these operations with `AccessDenied` (HTTP 403) when signed in these accounts: a
    /// failure confined to one account (an SCP or a permission boundary there, say).
    pub refuse_in_account: Vec<Refusal>,
}

/// One operation (`iam:UpdateAccountPasswordPolicy`) refused in one account (by id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub operation: String,
    pub account: String,
}

impl Faults {
    /// No faults: a counting proxy.
    pub fn none() -> Faults {
        Faults::default()
    }

    /// The mix of issue 6: 10% throttles, 5% concurrent modification, 2% 500/503, 1% dropped
    /// connections, 50-200 ms latency.
    pub fn issue_mix(seed: u64) -> Faults {
        Faults {
            seed,
            drop_connection: 0.01,
            throttle: 0.10,
            concurrent_modification: 0.05,
            server_error: 0.02,
            latency: Some((Duration::from_millis(50), Duration::from_millis(200))),
            ..Faults::default()
        }
    }
}

/// Counters, shared with the test.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    /// Every request received, by operation (faulted ones included).
    pub calls: BTreeMap<String, u64>,
    /// Every request received, by operation, in the order they arrived.
    pub arrivals: Vec<String>,
    /// TooManyRequestsException answered because the operation's token bucket was empty (the
    /// Organizations rates with `aws_rates`; the Account Management rates with the strict layer).
    pub rate_throttled: BTreeMap<String, u64>,
    /// Injected faults by kind (`throttle`, `concurrent-modification`, `500`, `503`, `drop`, `lost-response`).
    pub injected: BTreeMap<String, u64>,
    /// Writes forwarded to moto and answered by it, in order.
    pub writes: Vec<String>,
    /// Most asynchronous CreateAccount requests in progress at once.
    pub most_creations_in_flight: usize,
    /// Requests the strict layer refused or served itself, by operation.
    pub strict_answers: BTreeMap<String, u64>,
    /// Operations by the access key that signed them (`CALLER_KEY` is the tool's own caller in tests;
    /// assumed-role sessions have keys of their own).
    pub signed_by: BTreeMap<String, std::collections::BTreeSet<String>>,
    /// Requests being answered now, by the access key that signed them, and the most ever.
    pub in_flight_by_signer: BTreeMap<String, usize>,
    pub most_in_flight_by_signer: BTreeMap<String, usize>,
    /// Requests being answered now by any signer, and the most ever.
    pub in_flight: usize,
    pub most_in_flight: usize,
    /// The most assumed-role sessions (signers other than the caller, `CALLER_KEY`) with a request
    /// in flight at once: how many accounts are worked on at once.
    pub most_sessions_at_once: usize,
    /// Requests routed to each shard (`Proxy::start_sharded`), by the shard's index.
    pub sharded: BTreeMap<usize, u64>,
    /// Requests answered from the recording (`Proxy::replay`), and those it did not hold (sent on
    /// to moto as usual), by operation.
    pub replayed: u64,
    pub replay_misses: BTreeMap<String, u64>,
}

impl Stats {
    /// Calls of one signing service (`organizations`...), by operation.
    pub fn calls_of(&self, service: &str) -> BTreeMap<String, u64> {
        let prefix = format!("{service}:");
        self.calls
            .iter()
            .filter_map(|(operation, count)| operation.strip_prefix(&prefix).map(|name| (name.to_string(), *count)))
            .collect()
    }

    pub fn total_rate_throttled(&self) -> u64 {
        self.rate_throttled.values().sum()
    }
}

/// The operation a request carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operation {
    /// The SigV4 signing service (`organizations`, `iam`, `sts`, `s3`...).
    pub service: String,
    /// `ListRoots`, `PutBucketVersioning`, or for REST-JSON services `POST /detector/{id}/admin`.
    pub name: String,
    pub write: bool,
}

impl Operation {
    pub fn key(&self) -> String {
        format!("{}:{}", self.service, self.name)
    }
}

/// When to stop answering: after the n-th write, or after the n-th write of one operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HoldPoint {
    Writes(usize),
    /// The operation's key (`kms:CreateKey`) and which of its writes (1 = the first).
    Operation(String, usize),
}

#[derive(Default)]
struct Hold {
    /// Hold everything once this point was passed.
    point: Option<HoldPoint>,
    held: bool,
    /// Bumped by `release`: held connections then close.
    generation: u64,
}

struct Shared {
    /// The primary moto: the organization, STS, and every account not sharded.
    upstream_port: u16,
    /// Further motos, each holding the member accounts routed to it (`Proxy::start_sharded`).
    shards: Vec<u16>,
    /// Accounts kept on the primary although sharding is on (they hold cross-account state).
    primary_accounts: BTreeSet<String>,
    faults: Mutex<Faults>,
    rng: Mutex<fastrand::Rng>,
    stats: Mutex<Stats>,
    buckets: Mutex<HashMap<String, Bucket>>,
    hold: Mutex<Hold>,
    hold_changed: Condvar,
    release: tokio::sync::watch::Sender<u64>,
    secrets: Mutex<BTreeSet<String>>,
    /// Asynchronous CreateAccount: request id -> when it completes.
    creations: Mutex<HashMap<String, Instant>>,
    started: Instant,
    strict: StrictState,
    /// Requests forwarded to each moto at once (see [`MOTO_AT_ONCE`]), by its port.
    upstream: HashMap<u16, tokio::sync::Semaphore>,
    /// Read answers recorded from one run and replayed in a later one ([`Proxy::record`]).
    recording: Mutex<Recording>,
}

/// The answers of one run's reads, to replay in a later run of the same reads
/// ([`Proxy::record`], [`Proxy::replay`]).
#[derive(Default)]
struct Recording {
    recording: bool,
    replaying: bool,
    answers: HashMap<ReplayKey, Response>,
}

/// What makes two requests the same read: the signer's key, Region and service (the credential
/// scope without its date), the method, path and query, the JSON protocols' `x-amz-target`, and
/// the body. The SDK writes the same request the same way each time; an assumed-role session
/// replayed from the recording signs with the recorded keys, so its reads match too.
type ReplayKey = (String, String, String, String, Vec<u8>);

fn replay_key(request: &Request) -> ReplayKey {
    let scope = request
        .header("authorization")
        .and_then(|value| value.split("Credential=").nth(1))
        .and_then(|credential| credential.split(',').next())
        .map(|credential| {
            let parts: Vec<&str> = credential.split('/').collect();
            // KEY/DATE/REGION/SERVICE/aws4_request: the date is left out.
            parts
                .iter()
                .enumerate()
                .filter(|(index, _)| *index != 1)
                .map(|(_, part)| *part)
                .collect::<Vec<_>>()
                .join("/")
        })
        .unwrap_or_default();
    (
        scope,
        request.method.clone(),
        request.target.clone(),
        request.header("x-amz-target").unwrap_or_default().to_string(),
        request.body.clone(),
    )
}

/// The most requests moto is given at once. moto is one Python process whose threads share one
/// interpreter lock: the more requests it serves at once, the more CPU each costs it. Measured on
/// the 50-account landing zone (release build, docs/performance.md): moto's CPU for the no-change
/// plan 5.5 s with 8 requests at once against 9.0 s with up to 256, for the apply 8.8 s against
/// 11.0 s. AWS's services have no such limit, so the proxy keeps moto at its efficient width while
/// the tool still has every request it sends in flight (latency is added before the wait, as the
/// network would).
pub const MOTO_AT_ONCE: usize = 8;

/// A running proxy; stops when dropped.
pub struct Proxy {
    pub port: u16,
    pub endpoint: String,
    shared: Arc<Shared>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Proxy {
    /// Starts a proxy forwarding to moto on `upstream_port`.
    pub fn start(upstream_port: u16, faults: Faults) -> Proxy {
        Proxy::start_sharded(upstream_port, &[], &[], faults)
    }

    /// Starts a proxy in front of several motos, routed by the account that signed each request
    /// (only the benchmark does this, so that one Python process does not stand for every
    /// account's service endpoints: on AWS each account's reads are answered apart).
    ///
    /// The primary (`primary_port`) gets the management account's requests, every
    /// Organizations, STS and Account Management request whoever signs it (STS issued every
    /// session's keys there; the Account Management API is called for members from the
    /// management account), and the requests of `primary_accounts` (accounts other accounts'
    /// state points into, such as the log archive's bucket). A request signed by any other
    /// account goes to `shard_ports[hash(account) % n]` with `x-moto-account-id: <account>`
    /// added, which moto takes as the caller's account (moto/core/responses.py,
    /// `get_current_account`), since that shard's STS never issued the key. The signer's
    /// account is found once per key through the primary's STS (the strict layer's cache).
    /// Limits: a role the tool creates in a sharded account cannot be assumed (the strict
    /// layer's AssumeRole check reads roles on the primary, where Organizations created
    /// `OrganizationAccountAccessRole`); `POST /moto-api/reset` resets the primary only.
    pub fn start_sharded(
        upstream_port: u16,
        shard_ports: &[u16],
        primary_accounts: &[String],
        faults: Faults,
    ) -> Proxy {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .thread_name("fault-proxy")
            .build()
            .expect("proxy runtime");
        // Bound here, served on the proxy's runtime (a test may itself be inside a runtime).
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback port for the proxy");
        listener.set_nonblocking(true).expect("non-blocking listener");
        let port = listener.local_addr().expect("proxy address").port();
        let (release, _) = tokio::sync::watch::channel(0);
        let upstream = std::iter::once(upstream_port)
            .chain(shard_ports.iter().copied())
            .map(|port| (port, tokio::sync::Semaphore::new(MOTO_AT_ONCE)))
            .collect();
        let shared = Arc::new(Shared {
            upstream_port,
            shards: shard_ports.to_vec(),
            primary_accounts: primary_accounts.iter().cloned().collect(),
            rng: Mutex::new(fastrand::Rng::with_seed(faults.seed)),
            faults: Mutex::new(faults),
            stats: Mutex::new(Stats::default()),
            buckets: Mutex::new(HashMap::new()),
            hold: Mutex::new(Hold::default()),
            hold_changed: Condvar::new(),
            release,
            secrets: Mutex::new(BTreeSet::new()),
            creations: Mutex::new(HashMap::new()),
            started: Instant::now(),
            strict: StrictState::default(),
            upstream,
            recording: Mutex::new(Recording::default()),
        });
        let serving = Arc::clone(&shared);
        runtime.spawn(async move {
            let Ok(listener) = TcpListener::from_std(listener) else { return };
            loop {
                let Ok((stream, _)) = listener.accept().await else { continue };
                let shared = Arc::clone(&serving);
                tokio::spawn(async move {
                    let _ = handle(stream, shared).await;
                });
            }
        });
        Proxy { port, endpoint: format!("http://127.0.0.1:{port}"), shared, runtime: Some(runtime) }
    }

    /// Replaces the fault configuration (the RNG is reseeded from it; token buckets refill).
    pub fn set_faults(&self, faults: Faults) {
        *lock(&self.shared.rng) = fastrand::Rng::with_seed(faults.seed);
        *lock(&self.shared.faults) = faults;
        lock(&self.shared.buckets).clear();
    }

    pub fn stats(&self) -> Stats {
        lock(&self.shared.stats).clone()
    }

    /// Records the answers of every read (not a write; errors included) from now on, for
    /// [`Proxy::replay`]. The benchmark records its no-change plan so that the same plan at AWS's
    /// rates can be answered without the emulators, whose CPU would otherwise be what it measures.
    pub fn record(&self) {
        let mut recording = lock(&self.shared.recording);
        recording.recording = true;
        recording.replaying = false;
        recording.answers.clear();
    }

    /// Answers each read the recording holds with the recorded answer, after the latency and the
    /// rate limits of the faults, as the emulator would have (what it does not hold goes to the
    /// emulator as usual, counted in `Stats::replay_misses`). Returns how many answers it holds.
    pub fn replay(&self) -> usize {
        let mut recording = lock(&self.shared.recording);
        recording.recording = false;
        recording.replaying = true;
        recording.answers.len()
    }

    /// EnableRegion requests the strict layer refused for too many region-opt requests in progress.
    pub fn region_opt_in_refusals(&self) -> u64 {
        strict::region_opt_in_refusals(&self.shared.strict)
    }

    /// The e-mail address `email` follows its SNS confirmation link: its subscriptions stop being
    /// pending (`sns.rs`).
    pub fn confirm_email(&self, email: &str) {
        lock(&self.shared.strict.sns).confirmed.insert(email.to_string());
    }

    /// Detective stops ingesting a member's data (`ACCEPTED_BUT_DISABLED`, as AWS does when the
    /// graph's volume is exceeded); false when `account` is no member of `admin`'s graph there.
    pub fn disable_detective_member(&self, admin: &str, region: &str, account: &str) -> bool {
        lock(&self.shared.strict.detective).set_member_status(admin, region, account, "ACCEPTED_BUT_DISABLED")
    }

    pub fn reset_stats(&self) {
        *lock(&self.shared.stats) = Stats::default();
    }

    /// Every secret access key and session token STS handed out through this proxy.
    pub fn issued_secrets(&self) -> BTreeSet<String> {
        lock(&self.shared.secrets).clone()
    }

    /// From now on, once `writes` writes (counted since the last `reset_stats`) were answered by
    /// moto, answer nothing more: the last write happened, its answer and everything after it
    /// hang until `release`.
    pub fn hold_after_writes(&self, writes: usize) {
        self.hold_after(HoldPoint::Writes(writes));
    }

    /// Like `hold_after_writes`, at any `HoldPoint`.
    pub fn hold_after(&self, point: HoldPoint) {
        let mut hold = lock(&self.shared.hold);
        hold.point = Some(point);
        hold.held = false;
    }

    /// Waits until the hold engaged; false on timeout.
    pub fn wait_until_held(&self, timeout: Duration) -> bool {
        let hold = lock(&self.shared.hold);
        let (hold, _) = self
            .shared
            .hold_changed
            .wait_timeout_while(hold, timeout, |hold| !hold.held)
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        hold.held
    }

    /// Ends a hold: held connections close without an answer; new requests flow again.
    pub fn release(&self) {
        let mut hold = lock(&self.shared.hold);
        hold.point = None;
        hold.held = false;
        hold.generation += 1;
        let generation = hold.generation;
        drop(hold);
        self.shared.release.send_replace(generation);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.release();
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

// ---------------------------------------------------------------------------------------------
// AWS's published Organizations rates, independent of the product's table (typed again from
// https://docs.aws.amazon.com/organizations/latest/userguide/orgs_reference_limits.html):
// (requests per second, burst).

#[derive(Debug, Clone)]
struct Bucket {
    per_second: f64,
    burst: f64,
    tokens: f64,
    updated: Instant,
}

pub fn organizations_rate(operation: &str) -> Option<(f64, f64)> {
    Some(match operation {
        "CreateAccount" => (0.1, 3.0),
        "CloseAccount" => (0.05, 1.0),
        "DescribeCreateAccountStatus" => (2.0, 2.0),
        "DescribeAccount" => (20.0, 30.0),
        "ListAccounts" => (8.0, 12.0),
        "ListChildren" => (6.0, 10.0),
        "ListParents" | "ListAccountsForParent" | "ListOrganizationalUnitsForParent" => (5.0, 8.0),
        "ListRoots" | "DescribeOrganization" => (1.0, 2.0),
        "ListTagsForResource" => (10.0, 15.0),
        "ListPolicies" | "ListPoliciesForTarget" | "ListTargetsForPolicy" => (5.0, 8.0),
        "DescribePolicy" => (2.0, 2.0),
        "CreatePolicy" | "UpdatePolicy" | "DeletePolicy" | "AttachPolicy" | "DetachPolicy" => (2.0, 3.0),
        "MoveAccount" => (2.0, 3.0),
        "EnablePolicyType" => (1.0, 1.0),
        "CreateOrganizationalUnit" => (1.0, 2.0),
        "RegisterDelegatedAdministrator" => (1.0, 2.0),
        "EnableAWSServiceAccess" => (1.0, 2.0),
        _ => return None,
    })
}

/// AWS Account Management's published rates the layer enforces (requests per second, burst), by
/// the proxy's operation name, with the name the quota gives it. PutAccountName: "Rate of
/// PutAccountName requests per caller account: 1 per second, burst to 1 per second".
/// https://docs.aws.amazon.com/accounts/latest/reference/quotas.html
pub fn account_management_rate(operation: &str) -> Option<(&'static str, f64, f64)> {
    match operation {
        "POST /putAccountName" => Some(("PutAccountName", 1.0, 1.0)),
        _ => None,
    }
}

/// Takes a token for `operation` if its bucket has one (true), or answers that it is empty.
fn take_token(shared: &Shared, operation: &str) -> bool {
    let Some((per_second, burst)) = organizations_rate(operation) else { return true };
    take_token_from(shared, operation, per_second, burst)
}

/// Takes a token from the bucket called `name` (made full at `per_second`/`burst` on first use).
fn take_token_from(shared: &Shared, name: &str, per_second: f64, burst: f64) -> bool {
    let now = Instant::now();
    let mut buckets = lock(&shared.buckets);
    let bucket = buckets.entry(name.to_string()).or_insert(Bucket { per_second, burst, tokens: burst, updated: now });
    let refill = now.duration_since(bucket.updated).as_secs_f64() * bucket.per_second;
    bucket.tokens = (bucket.tokens + refill).min(bucket.burst);
    bucket.updated = now;
    if bucket.tokens >= 1.0 {
        bucket.tokens -= 1.0;
        true
    } else {
        false
    }
}

// ---------------------------------------------------------------------------------------------
// HTTP/1.1, one request per connection (every answer says `connection: close`).

pub struct Request {
    pub method: String,
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(key, _)| key.eq_ignore_ascii_case(name)).map(|(_, value)| value.as_str())
    }
}

#[derive(Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|window| window == needle)
}

/// Reads one message head; returns (head lines, bytes already read past the head).
async fn read_head(stream: &mut TcpStream) -> std::io::Result<Option<(Vec<String>, Vec<u8>)>> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        if let Some(end) = find(&buffer, b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buffer[..end]).to_string();
            let rest = buffer[end + 4..].to_vec();
            return Ok(Some((head.split("\r\n").map(str::to_string).collect(), rest)));
        }
        let read = stream.read(&mut chunk).await?;
        if read == 0 {
            return Ok(None);
        }
        buffer.extend_from_slice(&chunk[..read]);
    }
}

fn parse_headers(lines: &[String]) -> Vec<(String, String)> {
    lines
        .iter()
        .filter_map(|line| line.split_once(':').map(|(key, value)| (key.trim().to_string(), value.trim().to_string())))
        .collect()
}

/// Reads a body framed by Content-Length or chunked encoding (decoded), or until EOF when
/// `until_eof` and neither is given.
async fn read_body(
    stream: &mut TcpStream,
    headers: &[(String, String)],
    mut buffered: Vec<u8>,
    until_eof: bool,
) -> std::io::Result<Vec<u8>> {
    let header = |name: &str| headers.iter().find(|(key, _)| key.eq_ignore_ascii_case(name)).map(|(_, v)| v.clone());
    let mut chunk = [0u8; 16 * 1024];
    if header("transfer-encoding").is_some_and(|value| value.to_ascii_lowercase().contains("chunked")) {
        let mut body = Vec::new();
        loop {
            while find(&buffered, b"\r\n").is_none() {
                let read = stream.read(&mut chunk).await?;
                if read == 0 {
                    return Ok(body);
                }
                buffered.extend_from_slice(&chunk[..read]);
            }
            let line_end = find(&buffered, b"\r\n").unwrap_or(0);
            let size_text = String::from_utf8_lossy(&buffered[..line_end]).to_string();
            let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("0").trim(), 16).unwrap_or(0);
            buffered.drain(..line_end + 2);
            if size == 0 {
                return Ok(body);
            }
            while buffered.len() < size + 2 {
                let read = stream.read(&mut chunk).await?;
                if read == 0 {
                    return Ok(body);
                }
                buffered.extend_from_slice(&chunk[..read]);
            }
            body.extend_from_slice(&buffered[..size]);
            buffered.drain(..size + 2);
        }
    }
    if let Some(length) = header("content-length").and_then(|value| value.parse::<usize>().ok()) {
        while buffered.len() < length {
            let read = stream.read(&mut chunk).await?;
            if read == 0 {
                break;
            }
            buffered.extend_from_slice(&chunk[..read]);
        }
        buffered.truncate(length);
        return Ok(buffered);
    }
    if until_eof {
        stream.read_to_end(&mut buffered).await?;
    }
    Ok(buffered)
}

async fn read_request(stream: &mut TcpStream) -> std::io::Result<Option<Request>> {
    let Some((lines, rest)) = read_head(stream).await? else { return Ok(None) };
    let mut first = lines.first().map(|line| line.split(' ')).into_iter().flatten();
    let method = first.next().unwrap_or_default().to_string();
    let target = first.next().unwrap_or_default().to_string();
    let headers = parse_headers(&lines[1..]);
    if headers
        .iter()
        .any(|(key, value)| key.eq_ignore_ascii_case("expect") && value.eq_ignore_ascii_case("100-continue"))
    {
        stream.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").await?;
    }
    let body = read_body(stream, &headers, rest, false).await?;
    Ok(Some(Request { method, target, headers, body }))
}

pub async fn forward(port: u16, request: &Request) -> std::io::Result<Response> {
    let mut upstream = TcpStream::connect(("127.0.0.1", port)).await?;
    let mut head = format!("{} {} HTTP/1.1\r\n", request.method, request.target);
    for (key, value) in &request.headers {
        let skip = ["connection", "content-length", "transfer-encoding", "expect", "keep-alive"];
        if !skip.iter().any(|name| key.eq_ignore_ascii_case(name)) {
            head.push_str(&format!("{key}: {value}\r\n"));
        }
    }
    head.push_str(&format!("content-length: {}\r\nconnection: close\r\n\r\n", request.body.len()));
    upstream.write_all(head.as_bytes()).await?;
    upstream.write_all(&request.body).await?;
    let Some((lines, rest)) = read_head(&mut upstream).await? else {
        return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "moto closed without answering"));
    };
    let status =
        lines.first().and_then(|line| line.split(' ').nth(1)).and_then(|code| code.parse().ok()).unwrap_or(502);
    let headers = parse_headers(&lines[1..]);
    let body = read_body(&mut upstream, &headers, rest, true).await?;
    Ok(Response { status, headers, body })
}

/// Writes `response`; the connection stays open for the next request with `keep_alive`, else it is
/// closed (`connection: close`).
async fn respond(stream: &mut TcpStream, response: &Response, keep_alive: bool) -> std::io::Result<()> {
    let reason = match response.status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    };
    let mut head = format!("HTTP/1.1 {} {reason}\r\n", response.status);
    for (key, value) in &response.headers {
        let skip = ["connection", "content-length", "transfer-encoding", "keep-alive"];
        if !skip.iter().any(|name| key.eq_ignore_ascii_case(name)) {
            head.push_str(&format!("{key}: {value}\r\n"));
        }
    }
    let connection = if keep_alive { "keep-alive" } else { "close" };
    head.push_str(&format!("content-length: {}\r\nconnection: {connection}\r\n\r\n", response.body.len()));
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(&response.body).await?;
    stream.flush().await?;
    if keep_alive {
        return Ok(());
    }
    stream.shutdown().await
}

// ---------------------------------------------------------------------------------------------
// Naming operations.

const WRITE_PREFIXES: &[&str] = &[
    "Create",
    "Put",
    "Attach",
    "Detach",
    "Move",
    "Enable",
    "Disable",
    "Register",
    "Deregister",
    "Update",
    "Tag",
    "Untag",
    "Delete",
    "Set",
    "Start",
    "Stop",
    "Associate",
    "Disassociate",
    "Batch",
    "Accept",
    "Invite",
    "Close",
    "Leave",
    "Upload",
    "Add",
    "Remove",
    "Modify",
    "Reset",
    "Change",
    "Decline",
    "Cancel",
];

fn is_write_name(name: &str) -> bool {
    WRITE_PREFIXES.iter().any(|prefix| name.starts_with(prefix))
}

fn signing_service(request: &Request) -> String {
    request
        .header("authorization")
        .and_then(|value| value.split("Credential=").nth(1))
        .and_then(|credential| credential.split('/').nth(3))
        .unwrap_or("unsigned")
        .to_string()
}

/// The access key id that signed a request (SigV4 `Credential=AKID/date/region/service/...`).
fn access_key_of(request: &Request) -> String {
    request
        .header("authorization")
        .and_then(|value| value.split("Credential=").nth(1))
        .and_then(|credential| credential.split('/').next())
        .unwrap_or("unsigned")
        .to_string()
}

fn camel(word: &str) -> String {
    word.split(['-', '_'])
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map(|first| first.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
        })
        .collect()
}

/// A path segment that names an instance (a detector id, an account id) rather than a resource kind.
fn is_instance_segment(segment: &str) -> bool {
    segment.len() >= 12 && segment.chars().any(|c| c.is_ascii_digit())
}

pub fn identify(method: &str, target: &str, headers: &[(String, String)], body: &[u8]) -> Operation {
    let request = Request {
        method: method.to_string(),
        target: target.to_string(),
        headers: headers.to_vec(),
        body: body.to_vec(),
    };
    identify_request(&request)
}

fn identify_request(request: &Request) -> Operation {
    let service = signing_service(request);
    if let Some(amz_target) = request.header("x-amz-target") {
        let name = amz_target.rsplit('.').next().unwrap_or(amz_target).to_string();
        return Operation { write: is_write_name(&name), service, name };
    }
    let body = String::from_utf8_lossy(&request.body);
    if let Some(action) = body.split('&').find_map(|pair| pair.strip_prefix("Action=")) {
        let name = action.to_string();
        return Operation { write: is_write_name(&name), service, name };
    }
    let (path, query) = request.target.split_once('?').unwrap_or((request.target.as_str(), ""));
    let verb = camel(&request.method.to_ascii_lowercase());
    let segments: Vec<&str> = path.split('/').filter(|segment| !segment.is_empty()).collect();
    let query_keys: Vec<&str> =
        query.split('&').filter(|pair| !pair.is_empty()).map(|pair| pair.split('=').next().unwrap_or(pair)).collect();
    if service == "s3" && segments.first() == Some(&"v20180820") {
        // S3 Control: /v20180820/configuration/publicAccessBlock and the like.
        let name = format!("{verb}{}", camel(segments.last().unwrap_or(&"")));
        return Operation { write: is_write_name(&name), service: "s3control".to_string(), name };
    }
    if service == "s3" {
        let name = if let Some(id) = query.split('&').find_map(|pair| pair.strip_prefix("x-id=")) {
            id.to_string()
        } else if segments.len() > 1 {
            format!("{verb}Object")
        } else if query_keys.contains(&"list-type") {
            "ListObjectsV2".to_string()
        } else if let Some(sub) = query_keys.first() {
            format!("{verb}Bucket{}", camel(sub))
        } else {
            match request.method.as_str() {
                "PUT" => "CreateBucket".to_string(),
                "GET" if segments.is_empty() => "ListBuckets".to_string(),
                "GET" => "ListObjects".to_string(),
                _ => format!("{verb}Bucket"),
            }
        };
        return Operation { write: is_write_name(&name), service, name };
    }
    // REST-JSON services: the method and the path shape.
    let shape: Vec<&str> =
        segments.iter().map(|segment| if is_instance_segment(segment) { "{id}" } else { segment }).collect();
    let name = format!("{} /{}", request.method, shape.join("/"));
    let last = segments.last().map(|segment| segment.to_ascii_lowercase()).unwrap_or_default();
    let reads = ["get", "list", "describe"];
    let write = !matches!(request.method.as_str(), "GET" | "HEAD") && !reads.iter().any(|read| last.starts_with(read));
    Operation { service, name, write }
}

// ---------------------------------------------------------------------------------------------
// Fault answers, per protocol.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Json,
    Query,
    Ec2,
    S3,
    /// S3 Control: REST, with errors wrapped like the query protocols' (`<ErrorResponse>`).
    S3Control,
    RestJson,
}

pub fn protocol_of(request: &Request, operation: &Operation) -> Protocol {
    if request.header("x-amz-target").is_some() {
        Protocol::Json
    } else if operation.service == "ec2" {
        Protocol::Ec2
    } else if String::from_utf8_lossy(&request.body).contains("Action=") {
        Protocol::Query
    } else if operation.service == "s3control" {
        Protocol::S3Control
    } else if operation.service == "s3" {
        Protocol::S3
    } else {
        Protocol::RestJson
    }
}

pub fn error_response(protocol: Protocol, status: u16, code: &str, message: &str) -> Response {
    let request_id = "fa017fa0-0000-4000-8000-000000000000";
    let (content_type, body, mut headers) = match protocol {
        Protocol::Json => (
            "application/x-amz-json-1.1",
            serde_json::json!({ "__type": code, "Message": message }).to_string(),
            vec![],
        ),
        Protocol::Query | Protocol::S3Control => (
            "text/xml",
            format!("<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>"),
            vec![],
        ),
        Protocol::Ec2 => (
            "text/xml",
            format!("<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors><RequestID>{request_id}</RequestID></Response>"),
            vec![],
        ),
        Protocol::S3 => (
            "application/xml",
            format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>{message}</Message><RequestId>{request_id}</RequestId></Error>"),
            vec![],
        ),
        Protocol::RestJson => (
            "application/json",
            serde_json::json!({ "message": message }).to_string(),
            vec![("x-amzn-ErrorType".to_string(), code.to_string())],
        ),
    };
    headers.push(("content-type".to_string(), content_type.to_string()));
    headers.push(("x-amzn-RequestId".to_string(), request_id.to_string()));
    Response { status, headers, body: body.into_bytes() }
}

fn throttle_response(protocol: Protocol, operation: &Operation) -> Response {
    match protocol {
        Protocol::Json if operation.service == "organizations" => {
            error_response(protocol, 400, "TooManyRequestsException", "Rate exceeded")
        }
        Protocol::Json => error_response(protocol, 400, "ThrottlingException", "Rate exceeded"),
        Protocol::Query => error_response(protocol, 400, "Throttling", "Rate exceeded"),
        Protocol::Ec2 => error_response(protocol, 503, "RequestLimitExceeded", "Request limit exceeded."),
        Protocol::S3 | Protocol::S3Control => {
            error_response(protocol, 503, "SlowDown", "Please reduce your request rate.")
        }
        Protocol::RestJson => error_response(protocol, 429, "TooManyRequestsException", "Rate exceeded"),
    }
}

fn server_error_response(protocol: Protocol, status: u16) -> Response {
    let code = if status == 503 { "ServiceUnavailable" } else { "InternalFailure" };
    let code = match protocol {
        Protocol::Json if status == 500 => "ServiceException",
        Protocol::S3 | Protocol::S3Control if status == 500 => "InternalError",
        _ => code,
    };
    error_response(protocol, status, code, "injected by the test proxy")
}

const CONCURRENT_MODIFICATION_OPERATIONS: &[&str] = &["AttachPolicy", "DetachPolicy", "CreatePolicy", "MoveAccount"];

// ---------------------------------------------------------------------------------------------
// Handling one connection.

enum Fault {
    Drop,
    Answer(Response, &'static str),
    LoseResponse,
}

fn roll(shared: &Shared, operation: &Operation, protocol: Protocol) -> (Option<Fault>, Duration) {
    let faults = lock(&shared.faults).clone();
    let mut rng = lock(&shared.rng);
    let latency = faults.latency.map_or(Duration::ZERO, |(low, high)| {
        let span = high.saturating_sub(low).as_secs_f64();
        low + Duration::from_secs_f64(span * rng.f64())
    });
    let faulted = faults.services.as_ref().is_none_or(|services| services.contains(&operation.service));
    if !faulted {
        return (None, latency);
    }
    let draw = rng.f64();
    let lose = rng.f64();
    let five_hundred = rng.bool();
    drop(rng);
    let mut threshold = faults.drop_connection;
    if draw < threshold {
        return (Some(Fault::Drop), latency);
    }
    threshold += faults.throttle;
    if draw < threshold {
        return (Some(Fault::Answer(throttle_response(protocol, operation), "throttle")), latency);
    }
    if operation.service == "organizations" && CONCURRENT_MODIFICATION_OPERATIONS.contains(&operation.name.as_str()) {
        threshold += faults.concurrent_modification;
        if draw < threshold {
            let response = error_response(
                protocol,
                400,
                "ConcurrentModificationException",
                "AWS Organizations can't complete your request because it conflicts with another attempt to modify the same entity. Try again later.",
            );
            return (Some(Fault::Answer(response, "concurrent-modification")), latency);
        }
    }
    threshold += faults.server_error;
    if draw < threshold {
        let (status, kind) = if five_hundred { (500, "500") } else { (503, "503") };
        return (Some(Fault::Answer(server_error_response(protocol, status), kind)), latency);
    }
    if lose < faults.lose_response && faults.lose_response_on.contains(&operation.name) {
        return (Some(Fault::LoseResponse), latency);
    }
    (None, latency)
}

fn count_injected(shared: &Shared, kind: &str) {
    *lock(&shared.stats).injected.entry(kind.to_string()).or_default() += 1;
}

/// Waits for `release` (held connections then close unanswered).
async fn wait_for_release(shared: &Shared) {
    let mut receiver = shared.release.subscribe();
    let _ = receiver.changed().await;
}

fn is_held(shared: &Shared) -> bool {
    lock(&shared.hold).held
}

/// One request being answered, counted in `Stats` from its arrival until it is answered (or its
/// connection closes unanswered).
struct InFlight<'a> {
    shared: &'a Shared,
    signer: String,
}

impl<'a> InFlight<'a> {
    fn enter(shared: &'a Shared, signer: String) -> InFlight<'a> {
        let mut stats = lock(&shared.stats);
        stats.in_flight += 1;
        stats.most_in_flight = stats.most_in_flight.max(stats.in_flight);
        let now = {
            let now = stats.in_flight_by_signer.entry(signer.clone()).or_default();
            *now += 1;
            *now
        };
        let most = stats.most_in_flight_by_signer.entry(signer.clone()).or_default();
        *most = (*most).max(now);
        let sessions = stats
            .in_flight_by_signer
            .iter()
            .filter(|(signer, now)| signer.as_str() != super::CALLER_KEY && **now > 0)
            .count();
        stats.most_sessions_at_once = stats.most_sessions_at_once.max(sessions);
        InFlight { shared, signer }
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        let mut stats = lock(&self.shared.stats);
        stats.in_flight -= 1;
        if let Some(now) = stats.in_flight_by_signer.get_mut(&self.signer) {
            *now -= 1;
        }
    }
}

async fn handle(mut stream: TcpStream, shared: Arc<Shared>) -> std::io::Result<()> {
    // With `keep_alive`, the connection serves the client's next request once this one is
    // answered, as AWS's endpoints do; a request left unanswered (a dropped connection, a lost
    // answer, a hold) closes it.
    loop {
        let keep_alive = lock(&shared.faults).keep_alive;
        let answered = handle_one(&mut stream, &shared, keep_alive).await?;
        if !(keep_alive && answered) {
            return Ok(());
        }
    }
}

/// Serves one request of the connection; whether it was answered.
async fn handle_one(stream: &mut TcpStream, shared: &Arc<Shared>, keep_alive: bool) -> std::io::Result<bool> {
    let shared = Arc::clone(shared);
    let Some(mut request) = read_request(stream).await? else { return Ok(false) };
    let operation = identify_request(&request);
    if lock(&shared.faults).aws_page_size {
        page_like_aws(&mut request, &operation);
    }
    let _in_flight = InFlight::enter(&shared, access_key_of(&request));
    {
        let mut stats = lock(&shared.stats);
        *stats.calls.entry(operation.key()).or_default() += 1;
        stats.arrivals.push(operation.key());
        let signer = access_key_of(&request);
        stats.signed_by.entry(signer).or_default().insert(operation.key());
    }
    let protocol = protocol_of(&request, &operation);
    let (fault, latency) = roll(&shared, &operation, protocol);
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    if is_held(&shared) {
        wait_for_release(&shared).await;
        return Ok(false);
    }
    let rates = lock(&shared.faults).aws_rates;
    if rates && operation.service == "organizations" && !take_token(&shared, &operation.name) {
        *lock(&shared.stats).rate_throttled.entry(operation.name.clone()).or_default() += 1;
        return respond(stream, &throttle_response(protocol, &operation), keep_alive).await.map(|()| true);
    }
    let mut lose_response = false;
    match fault {
        Some(Fault::Drop) => {
            count_injected(&shared, "drop");
            return Ok(false); // the socket closes unanswered
        }
        Some(Fault::Answer(response, kind)) => {
            count_injected(&shared, kind);
            return respond(stream, &response, keep_alive).await.map(|()| true);
        }
        Some(Fault::LoseResponse) => lose_response = true,
        None => {}
    }
    let strict_config = lock(&shared.faults).strict.clone();
    let upstream_port = route(&shared, &strict_config, &mut request, &operation).await;
    let strict_context = strict::Context {
        config: &strict_config,
        state: &shared.strict,
        upstream_port,
        primary_port: shared.upstream_port,
        request: &request,
        operation: &operation,
    };
    let refusals = lock(&shared.faults).refuse_in_account.clone();
    if refusals.iter().any(|refusal| refusal.operation == operation.key()) {
        let account = strict::caller_account(&strict_context).await;
        if refusals.iter().any(|refusal| refusal.operation == operation.key() && refusal.account == account) {
            count_injected(&shared, "refused");
            let message = format!("User is not authorized to perform: {} in account {account}", operation.key());
            return respond(stream, &error_response(protocol, 403, "AccessDenied", &message), keep_alive)
                .await
                .map(|()| true);
        }
    }
    // AWS throttles the Account Management API per caller account above its published rates
    // (`account_management_rate`); part of the strict layer, so on whenever the layer is.
    if strict_config.enabled && operation.service == "account" {
        if let Some((name, per_second, burst)) = account_management_rate(&operation.name) {
            let caller = strict::caller_account(&strict_context).await;
            if !take_token_from(&shared, &format!("account:{name}:{caller}"), per_second, burst) {
                *lock(&shared.stats).rate_throttled.entry(name.to_string()).or_default() += 1;
                return respond(stream, &throttle_response(protocol, &operation), keep_alive).await.map(|()| true);
            }
        }
    }
    if !operation.write {
        let replayed = {
            let recording = lock(&shared.recording);
            recording.replaying.then(|| recording.answers.get(&replay_key(&request)).cloned())
        };
        match replayed {
            Some(Some(response)) => {
                lock(&shared.stats).replayed += 1;
                return respond(stream, &response, keep_alive).await.map(|()| true);
            }
            Some(None) => *lock(&shared.stats).replay_misses.entry(operation.key()).or_default() += 1,
            None => {}
        }
    }
    if let Some(response) = strict::before(&strict_context).await {
        *lock(&shared.stats).strict_answers.entry(operation.key()).or_default() += 1;
        remember(&shared, &request, &operation, &response);
        return respond(stream, &response, keep_alive).await.map(|()| true);
    }
    if let Some(response) = asynchronous_account_creation(&shared, &operation, &request) {
        return respond(stream, &response, keep_alive).await.map(|()| true);
    }
    let forwarded = {
        // A closed semaphore cannot happen (it is never closed); forward regardless.
        let turn = shared.upstream.get(&upstream_port);
        let _turn = match turn {
            Some(semaphore) => semaphore.acquire().await.ok(),
            None => None,
        };
        forward(upstream_port, &request).await
    };
    let mut response = match forwarded {
        Ok(response) => response,
        Err(_) => return Ok(false),
    };
    strict::after(&strict_context, &mut response).await;
    capture_secrets(&shared, &response.body);
    if operation.write && record_write(&shared, &operation) {
        wait_for_release(&shared).await;
        return Ok(false);
    }
    if is_held(&shared) {
        wait_for_release(&shared).await;
        return Ok(false);
    }
    // A creation whose answer is lost is still in progress at AWS.
    track_account_creation(&shared, &operation, &mut response);
    list_creations_in_progress(&shared, &operation, &mut response);
    if lose_response {
        count_injected(&shared, "lost-response");
        return Ok(false);
    }
    if lock(&shared.faults).aws_page_size {
        page_unpaged_answer(&operation, &request, &mut response);
    }
    remember(&shared, &request, &operation, &response);
    respond(stream, &response, keep_alive).await.map(|()| true)
}

/// Keeps a read's answer while recording ([`Proxy::record`]). Errors are answers too (a bucket
/// without an Object Lock configuration answers 404).
fn remember(shared: &Shared, request: &Request, operation: &Operation, response: &Response) {
    if operation.write {
        return;
    }
    let mut recording = lock(&shared.recording);
    if recording.recording {
        recording.answers.insert(replay_key(request), response.clone());
    }
}

/// The moto a request goes to (`Proxy::start_sharded`): the primary, or the shard of the account
/// that signed it, to which `x-moto-account-id` is then added.
async fn route(shared: &Shared, config: &strict::Strict, request: &mut Request, operation: &Operation) -> u16 {
    const ON_THE_PRIMARY: [&str; 3] = ["organizations", "sts", "account"];
    if shared.shards.is_empty() || operation.service == "unsigned" || access_key_of(request) == "unsigned" {
        return shared.upstream_port;
    }
    let context = strict::Context {
        config,
        state: &shared.strict,
        upstream_port: shared.upstream_port,
        primary_port: shared.upstream_port,
        request,
        operation,
    };
    let account = strict::caller_account(&context).await;
    let on_the_primary = ON_THE_PRIMARY.contains(&operation.service.as_str())
        || account == strict::MANAGEMENT_ACCOUNT
        || shared.primary_accounts.contains(&account);
    let port = if on_the_primary {
        shared.upstream_port
    } else {
        let shard = shard_of(&account, shared.shards.len());
        *lock(&shared.stats).sharded.entry(shard).or_default() += 1;
        shared.shards[shard]
    };
    // On the primary too: the account moto would find for the key itself, by looking for it in
    // every account's IAM (`moto.iam.models.get_account_id_from`, a scan of every account on
    // every request: at 1,000 accounts the primary's largest cost), named instead.
    request.headers.retain(|(name, _)| !name.eq_ignore_ascii_case("x-moto-account-id"));
    request.headers.push(("x-moto-account-id".to_string(), account));
    port
}

/// Which of `shards` shards holds `account` (FNV-1a of its id: stable across runs and builds).
pub fn shard_of(account: &str, shards: usize) -> usize {
    let hash = account
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3));
    (hash % shards.max(1) as u64) as usize
}

/// AWS answers every Organizations List* call with at most 20 items (`MaxResults` is 1-20, e.g.
/// https://docs.aws.amazon.com/organizations/latest/APIReference/API_ListAccounts.html).
const AWS_PAGE_SIZE: u64 = 20;

fn page_like_aws(request: &mut Request, operation: &Operation) {
    if operation.service != "organizations" || !operation.name.starts_with("List") {
        return;
    }
    let Ok(serde_json::Value::Object(mut body)) = serde_json::from_slice::<serde_json::Value>(&request.body) else {
        return;
    };
    if !body.contains_key("MaxResults") {
        body.insert("MaxResults".to_string(), AWS_PAGE_SIZE.into());
        request.body = serde_json::Value::Object(body).to_string().into_bytes();
    }
}

/// moto answers ListTargetsForPolicy with every target at once; AWS pages it like the others. The
/// proxy cuts moto's whole answer into pages, with its own `NextToken` (the offset), which moto
/// ignores when it comes back.
fn page_unpaged_answer(operation: &Operation, request: &Request, response: &mut Response) {
    if operation.service != "organizations" || operation.name != "ListTargetsForPolicy" || response.status != 200 {
        return;
    }
    let Ok(request_body) = serde_json::from_slice::<serde_json::Value>(&request.body) else { return };
    let Ok(mut body) = serde_json::from_slice::<serde_json::Value>(&response.body) else { return };
    let Some(targets) = body["Targets"].as_array().cloned() else { return };
    let size = request_body["MaxResults"].as_u64().unwrap_or(AWS_PAGE_SIZE).clamp(1, AWS_PAGE_SIZE) as usize;
    let offset = request_body["NextToken"]
        .as_str()
        .and_then(|token| token.strip_prefix("proxy-offset-"))
        .and_then(|offset| offset.parse::<usize>().ok())
        .unwrap_or(0);
    let page: Vec<serde_json::Value> = targets.iter().skip(offset).take(size).cloned().collect();
    body["Targets"] = serde_json::Value::Array(page);
    if offset + size < targets.len() {
        body["NextToken"] = serde_json::Value::String(format!("proxy-offset-{}", offset + size));
    } else if let Some(object) = body.as_object_mut() {
        object.remove("NextToken");
    }
    response.body = body.to_string().into_bytes();
}

/// Counts a write moto answered; true when it engaged (or found) the hold.
fn record_write(shared: &Shared, operation: &Operation) -> bool {
    let mut hold = lock(&shared.hold);
    let mut stats = lock(&shared.stats);
    let key = operation.key();
    stats.writes.push(key.clone());
    let passed = match &hold.point {
        None => false,
        Some(HoldPoint::Writes(after)) => stats.writes.len() >= *after,
        Some(HoldPoint::Operation(wanted, nth)) => {
            *wanted == key && stats.writes.iter().filter(|write| **write == key).count() >= *nth
        }
    };
    if passed && !hold.held {
        hold.held = true;
        shared.hold_changed.notify_all();
    }
    hold.held
}

/// Remembers every secret access key and session token in an STS answer.
fn capture_secrets(shared: &Shared, body: &[u8]) {
    let text = String::from_utf8_lossy(body);
    for tag in ["SecretAccessKey", "SessionToken"] {
        let open = format!("<{tag}>");
        let close = format!("</{tag}>");
        let mut rest = text.as_ref();
        while let Some(start) = rest.find(&open) {
            let after = &rest[start + open.len()..];
            let Some(end) = after.find(&close) else { break };
            lock(&shared.secrets).insert(after[..end].to_string());
            rest = &after[end..];
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Asynchronous CreateAccount (moto's is synchronous): IN_PROGRESS for a while, 5 in flight.

const ACCOUNT_CREATIONS_IN_FLIGHT: usize = 5;

/// Refuses a CreateAccount beyond 5 in flight, and answers DescribeCreateAccountStatus
/// IN_PROGRESS while a creation is not due yet. None: forward to moto.
fn asynchronous_account_creation(shared: &Shared, operation: &Operation, request: &Request) -> Option<Response> {
    lock(&shared.faults).account_creation_time?;
    if operation.service != "organizations" {
        return None;
    }
    let now = Instant::now();
    let mut creations = lock(&shared.creations);
    creations.retain(|_, due| *due > now - Duration::from_secs(3600));
    match operation.name.as_str() {
        "CreateAccount" => {
            let in_flight = creations.values().filter(|due| **due > now).count();
            (in_flight >= ACCOUNT_CREATIONS_IN_FLIGHT).then(|| {
                *lock(&shared.stats).injected.entry("creation-limit".to_string()).or_default() += 1;
                error_response(
                    Protocol::Json,
                    400,
                    "TooManyRequestsException",
                    "You have exceeded the allowed number of concurrent account creations",
                )
            })
        }
        "DescribeCreateAccountStatus" => {
            let body: serde_json::Value = serde_json::from_slice(&request.body).ok()?;
            let id = body["CreateAccountRequestId"].as_str()?;
            let due = *creations.get(id)?;
            (due > now).then(|| {
                let status = serde_json::json!({ "CreateAccountStatus": { "Id": id, "State": "IN_PROGRESS" } });
                Response {
                    status: 200,
                    headers: vec![("content-type".to_string(), "application/x-amz-json-1.1".to_string())],
                    body: status.to_string().into_bytes(),
                }
            })
        }
        _ => None,
    }
}

/// ListCreateAccountStatus reports a creation that is not due yet as IN_PROGRESS, as AWS would
/// (moto, synchronous, says SUCCEEDED with the account id).
fn list_creations_in_progress(shared: &Shared, operation: &Operation, response: &mut Response) {
    if lock(&shared.faults).account_creation_time.is_none()
        || operation.service != "organizations"
        || operation.name != "ListCreateAccountStatus"
        || response.status != 200
    {
        return;
    }
    let Ok(mut body) = serde_json::from_slice::<serde_json::Value>(&response.body) else { return };
    let now = Instant::now();
    let creations = lock(&shared.creations);
    let Some(statuses) = body["CreateAccountStatuses"].as_array_mut() else { return };
    for status in statuses {
        let due = status["Id"].as_str().and_then(|id| creations.get(id)).is_some_and(|due| *due > now);
        if let (true, Some(status)) = (due, status.as_object_mut()) {
            status.insert("State".to_string(), serde_json::Value::String("IN_PROGRESS".to_string()));
            status.remove("AccountId");
            status.remove("CompletedTimestamp");
        }
    }
    drop(creations);
    response.body = body.to_string().into_bytes();
}

/// A CreateAccount moto completed is reported IN_PROGRESS (without the account id) and becomes
/// due after `account_creation_time`.
fn track_account_creation(shared: &Shared, operation: &Operation, response: &mut Response) {
    let Some(duration) = lock(&shared.faults).account_creation_time else { return };
    if operation.service != "organizations" || operation.name != "CreateAccount" || response.status != 200 {
        return;
    }
    let Ok(mut body) = serde_json::from_slice::<serde_json::Value>(&response.body) else { return };
    let Some(id) = body["CreateAccountStatus"]["Id"].as_str().map(str::to_string) else { return };
    let now = Instant::now();
    let mut creations = lock(&shared.creations);
    creations.insert(id, now + duration);
    let in_flight = creations.values().filter(|due| **due > now).count();
    drop(creations);
    let mut stats = lock(&shared.stats);
    stats.most_creations_in_flight = stats.most_creations_in_flight.max(in_flight);
    drop(stats);
    if let Some(status) = body["CreateAccountStatus"].as_object_mut() {
        status.insert("State".to_string(), serde_json::Value::String("IN_PROGRESS".to_string()));
        status.remove("AccountId");
        status.remove("CompletedTimestamp");
    }
    response.body = body.to_string().into_bytes();
}
