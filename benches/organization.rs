//! The large-organization benchmark (issue 6; figures in docs/performance.md). Not a timed test:
//! it measures and reports, and under `cargo test` only checks that its figures hold together.
//!
//! It seeds moto (scripts/bench_seed.py) with 1,000 accounts in 60 OUs up to 4 levels deep and 40
//! customer SCPs on 1-3 targets each, writes the matching spec with `landing-zone import`, and runs
//! the release binary through the test proxy (tests/testsuite/support/proxy.rs), which pages like AWS (20
//! items) and counts calls per operation:
//!
//! 1. `plan`, no changes, unthrottled: wall time, peak memory, calls per operation against the read
//!    floor of docs/performance.md;
//! 2. the same through the proxy enforcing AWS's published rates with 50 ms latency, client-side
//!    rate limiting on: wall time against the floor's time at those rates, and throttles met; and
//!    once with limiting off, to show what it saves;
//! 3. both again after one changed policy and one moved account (reads must not grow);
//! 4. `apply` creating 100 accounts with asynchronous creation (the proxy keeps each IN_PROGRESS
//!    for `BENCH_CREATION_SECONDS`, default 30, and refuses a sixth in flight, as AWS), at AWS's
//!    published rates: wall time against the rate and in-flight floors (`BENCH_NEW_ACCOUNTS`
//!    changes how many; 0 applies only the change of step 3).
//!
//! `cargo bench --bench organization` (scripts/bench.sh) runs all of it; `cargo test` runs it on a
//! 40-account organization creating 3 accounts and asserts the calls stay within the floor (+3
//! documented extra reads), no throttle is met, and no sixth creation is ever in flight.

#[path = "../tests/testsuite/support/mod.rs"]
mod support;

#[path = "organization/landing_zone.rs"]
mod landing_zone;

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::proxy::{organizations_rate, Faults, Proxy, Stats};
use support::{repo_root, Moto};

/// Organizations reads the tool makes beyond the floor's terms, once per plan: trusted access,
/// delegated administrators, and IN_PROGRESS account creations (adopted after a crash).
const EXTRA_READS: &[&str] =
    &["ListAWSServiceAccessForOrganization", "ListDelegatedAdministrators", "ListCreateAccountStatus"];

struct Size {
    /// scripts/bench_seed.py's size argument.
    seed: &'static str,
    new_accounts: usize,
    creation_time: Duration,
}

/// The seeded organization as bench_seed.py reports it.
struct Shape {
    summary: String,
    floor: BTreeMap<String, u64>,
}

impl Shape {
    fn read_floor(&self) -> u64 {
        self.floor.values().sum()
    }
}

/// One run of the binary.
struct Measured {
    wall: Duration,
    peak_rss_kib: u64,
    /// The most of the child's resident memory that was its heap and stacks (`RssAnon`) and
    /// that was mapped files, its own code first (`RssFile`), sampled every 50 ms: how much of
    /// the peak is data and how much the program's text.
    peak_anon_kib: u64,
    peak_file_kib: u64,
    /// The child's own CPU time, user and system (wait4).
    cpu: Duration,
    status: Option<i32>,
    stdout: String,
    stderr: String,
    /// The proxy's counts during this run.
    stats: Stats,
}

impl Measured {
    fn organization_calls(&self) -> BTreeMap<String, u64> {
        self.stats.calls_of("organizations")
    }

    fn plan_line(&self) -> String {
        let line = self.stdout.lines().find(|line| line.starts_with("Plan:") || line.starts_with("No changes"));
        line.unwrap_or("(no plan line)").to_string()
    }
}

fn main() {
    let full = std::env::args().any(|argument| argument == "--bench");
    // `BENCH_CASE=organization` or `landing-zone` runs one case; both run by default.
    let case = std::env::var("BENCH_CASE").unwrap_or_default();
    if case != "landing-zone" {
        organization_case(full);
    }
    if case != "organization" {
        // `BENCH_SHARDS`: further moto processes holding the member accounts (landing_zone.rs).
        let shards =
            |default: usize| std::env::var("BENCH_SHARDS").ok().and_then(|v| v.parse().ok()).unwrap_or(default);
        if full {
            let accounts = std::env::var("BENCH_ACCOUNTS").ok().and_then(|v| v.parse().ok()).unwrap_or(1000);
            landing_zone::run_case("full", accounts, shards(4));
        } else {
            landing_zone::run_case("small", 3, shards(1));
        }
    }
}

/// The organization without baselines: plans against the read floor, at AWS's rates, after a
/// change, and apply creating accounts.
fn organization_case(full: bool) {
    let size = if full {
        let setting =
            |name: &str, default: u64| std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default);
        Size {
            seed: "full",
            new_accounts: setting("BENCH_NEW_ACCOUNTS", 100) as usize,
            creation_time: Duration::from_secs(setting("BENCH_CREATION_SECONDS", 30)),
        }
    } else {
        Size { seed: "small", new_accounts: 3, creation_time: Duration::from_secs(2) }
    };
    let moto = Moto::start();
    let started = Instant::now();
    let shape = seed(&moto, size.seed, None);
    println!("seeded in {:.1} s: {}", started.elapsed().as_secs_f64(), shape.summary);
    let workspace = tempfile::tempdir().expect("workspace");
    let dir = workspace.path();
    let imported = moto.run(&["import", "--out", "."], dir);
    assert_eq!(imported.status.code(), Some(0), "import: {}", support::stderr(&imported));

    let counting = Faults { aws_page_size: true, ..Faults::none() };
    let published = Faults {
        aws_page_size: true,
        aws_rates: true,
        latency: Some((Duration::from_millis(50), Duration::from_millis(50))),
        ..Faults::none()
    };
    let proxy = Proxy::start(moto.port, counting.clone());

    let unchanged = plan_pair(&moto, &proxy, dir, &counting, &published);
    report("plan, no changes", &shape, &unchanged);
    // What the limiter saves: the same plan at AWS's rates with client-side limiting off, where
    // throttles and the retries' backoff take its place.
    proxy.set_faults(published.clone());
    let unlimited = measure(&proxy, moto.command(&["plan", "--detailed-exitcode"], dir, &proxy.endpoint), false);
    println!(
        "without client-side limiting: exit {:?}, wall {:.1} s, throttles met {}, {} Organizations calls",
        unlimited.status,
        unlimited.wall.as_secs_f64(),
        unlimited.stats.total_rate_throttled(),
        unlimited.organization_calls().values().sum::<u64>()
    );
    if unlimited.status != Some(0) {
        println!("{}\n{}", unlimited.stdout, unlimited.stderr);
    }
    for (operation, throttled) in &unlimited.stats.rate_throttled {
        let calls = unlimited.organization_calls().get(operation).copied().unwrap_or(0);
        println!("  {operation:<40} {calls:>6} calls {throttled:>6} throttled");
    }
    change_one_policy_and_move_one_account(dir);
    let changed = plan_pair(&moto, &proxy, dir, &counting, &published);
    report("plan, one changed policy and one moved account", &shape, &changed);

    add_accounts(dir, size.new_accounts);
    proxy.set_faults(Faults { account_creation_time: Some(size.creation_time), ..published.clone() });
    let applied = measure(&proxy, moto.command(&["apply", "--auto-approve"], dir, &proxy.endpoint), true);
    report_apply(&size, &shape, &applied);

    // The figures must hold together, whatever the size (under `cargo test` this is the check).
    for (label, (direct, limited)) in [("unchanged", &unchanged), ("changed", &changed)] {
        assert!(direct.status.is_some_and(|code| code == 0 || code == 2), "{label}: plan failed: {}", direct.stderr);
        let calls: u64 = direct.organization_calls().values().sum();
        let allowed = shape.read_floor() + EXTRA_READS.len() as u64;
        assert!(calls <= allowed, "{label}: {calls} Organizations calls, floor {} + extras", shape.read_floor());
        assert_eq!(direct.organization_calls(), limited.organization_calls(), "{label}: rates change no call");
        assert_eq!(limited.stats.total_rate_throttled(), 0, "{label}: throttled {:?}", limited.stats.rate_throttled);
    }
    assert_eq!(unchanged.0.organization_calls(), changed.0.organization_calls(), "reads do not grow with the change");
    assert!(unlimited.status.is_some_and(|code| code == 0), "retries absorb the throttles: {}", unlimited.stderr);
    assert!(unchanged.0.plan_line().starts_with("No changes"), "{}", unchanged.0.stdout);
    assert!(changed.0.plan_line().contains("0 to add, 2 to change, 0 to destroy"), "{}", changed.0.stdout);
    assert_eq!(applied.status, Some(0), "apply: {}", applied.stderr);
    assert!(applied.stats.most_creations_in_flight <= 5, "{} in flight", applied.stats.most_creations_in_flight);
    assert_eq!(applied.stats.injected.get("creation-limit"), None, "a sixth creation was sent");
    assert_eq!(applied.stats.total_rate_throttled(), 0, "apply throttled {:?}", applied.stats.rate_throttled);
    let after = moto.run(&["plan", "--detailed-exitcode"], dir);
    assert_eq!(after.status.code(), Some(0), "converged: {}", support::stdout(&after));
}

fn seed(moto: &Moto, size: &str, accounts: Option<usize>) -> Shape {
    let python = repo_root().join(".venv/bin/python");
    let output = Command::new(python)
        .arg(repo_root().join("scripts/bench_seed.py"))
        .args([moto.endpoint.as_str(), size])
        .args(accounts.map(|accounts| accounts.to_string()))
        .output()
        .expect("run scripts/bench_seed.py");
    assert!(output.status.success(), "seeding failed: {}", String::from_utf8_lossy(&output.stderr));
    let summary = String::from_utf8_lossy(&output.stdout).trim().to_string();
    let value: Value = serde_json::from_str(&summary).expect("seed summary");
    let floor = value["floor"]
        .as_object()
        .expect("floor")
        .iter()
        .map(|(operation, calls)| (operation.clone(), calls.as_u64().unwrap_or(0)))
        .collect();
    Shape { summary, floor }
}

/// `plan` through the counting proxy (limiter off), then through the proxy at AWS's rates (limiter on).
fn plan_pair(moto: &Moto, proxy: &Proxy, dir: &Path, counting: &Faults, published: &Faults) -> (Measured, Measured) {
    proxy.set_faults(counting.clone());
    let direct = measure(proxy, moto.command(&["plan", "--detailed-exitcode"], dir, &proxy.endpoint), false);
    proxy.set_faults(published.clone());
    let limited = measure(proxy, moto.command(&["plan", "--detailed-exitcode"], dir, &proxy.endpoint), true);
    (direct, limited)
}

/// Runs `command` to its end; peak memory from the kernel's accounting of that one child.
#[expect(clippy::zombie_processes, reason = "the child is reaped by wait4 in `wait_with_peak_memory`")]
fn measure(proxy: &Proxy, command: Command, rate_limited: bool) -> Measured {
    let mut command = wrapped(command);
    if rate_limited {
        command.env_remove("LANDING_ZONE_RATE_LIMIT");
    }
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    proxy.reset_stats();
    let started = Instant::now();
    let mut child = command.spawn().expect("start landing-zone");
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let out = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = out.read_to_string(&mut text);
        text
    });
    let err = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = err.read_to_string(&mut text);
        text
    });
    let sampler = sample_resident(child.id());
    let (status, peak_rss_kib, cpu) = wait_with_peak_memory(child.id());
    let (peak_anon_kib, peak_file_kib) = sampler.join().unwrap_or_default();
    let wall = started.elapsed();
    Measured {
        wall,
        peak_rss_kib,
        peak_anon_kib,
        peak_file_kib,
        cpu,
        status,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
        stats: proxy.stats(),
    }
}

/// `command`, run through the program `BENCH_TOOL_WRAPPER` names when it is set (a profiler:
/// `perf record -g --`, `heaptrack`, or a script choosing by the arguments it is given), with the
/// same arguments, directory and environment. The figures are then the wrapper's and its child's
/// (wait4 counts the children it waited for): for profiling runs, not for the goals.
fn wrapped(command: Command) -> Command {
    let Ok(wrapper) = std::env::var("BENCH_TOOL_WRAPPER") else { return command };
    let mut parts = wrapper.split_whitespace();
    let Some(program) = parts.next() else { return command };
    let mut outer = Command::new(program);
    outer.args(parts).arg(command.get_program()).args(command.get_args());
    if let Some(dir) = command.get_current_dir() {
        outer.current_dir(dir);
    }
    for (key, value) in command.get_envs() {
        match value {
            Some(value) => outer.env(key, value),
            None => outer.env_remove(key),
        };
    }
    outer.stdin(Stdio::null());
    outer
}

/// Samples `/proc/<pid>/status` every 50 ms until the process is gone (or reaped); returns the
/// most `RssAnon` and `RssFile` seen, in KiB.
fn sample_resident(pid: u32) -> std::thread::JoinHandle<(u64, u64)> {
    std::thread::spawn(move || {
        let (mut anon, mut file) = (0, 0);
        let field = |status: &str, name: &str| {
            status
                .lines()
                .find_map(|line| line.strip_prefix(name))
                .and_then(|rest| rest.split_whitespace().next()?.parse::<u64>().ok())
                .unwrap_or(0)
        };
        while let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) {
            // A zombie (exited, not yet reaped) has no memory left to read.
            if status.contains("State:\tZ") {
                break;
            }
            anon = anon.max(field(&status, "RssAnon:"));
            file = file.max(field(&status, "RssFile:"));
            std::thread::sleep(Duration::from_millis(50));
        }
        (anon, file)
    })
}

/// Waits for the child `pid` and returns its exit code, peak resident set (KiB) and CPU time.
fn wait_with_peak_memory(pid: u32) -> (Option<i32>, u64, Duration) {
    let mut status: libc::c_int = 0;
    // SAFETY: `rusage` is plain data the kernel fills in; `pid` is our own unwaited child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let waited = unsafe { libc::wait4(pid as libc::pid_t, &mut status, 0, &mut usage) };
    assert_eq!(waited, pid as libc::pid_t, "wait4: {}", std::io::Error::last_os_error());
    let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
    let time = |value: libc::timeval| {
        Duration::from_secs(value.tv_sec.max(0) as u64) + Duration::from_micros(value.tv_usec.max(0) as u64)
    };
    (code, usage.ru_maxrss.max(0) as u64, time(usage.ru_utime) + time(usage.ru_stime))
}

/// The floor's time at AWS's published rates: each operation's floor calls at its sustained rate
/// after its burst, the slowest operation bounding the whole (they can run side by side).
fn floor_seconds(floor: &BTreeMap<String, u64>) -> (f64, String) {
    floor
        .iter()
        .filter_map(|(operation, calls)| {
            let (per_second, burst) = organizations_rate(operation)?;
            Some(((*calls as f64 - burst).max(0.0) / per_second, operation.clone()))
        })
        .fold((0.0, String::new()), |slowest, next| if next.0 > slowest.0 { next } else { slowest })
}

fn report(label: &str, shape: &Shape, (direct, limited): &(Measured, Measured)) {
    let calls = direct.organization_calls();
    let total: u64 = calls.values().sum();
    let floor = shape.read_floor();
    println!("\n== {label}: {}", direct.plan_line());
    println!(
        "unthrottled: wall {:.2} s, peak RSS {:.1} MiB, {total} Organizations calls, read floor {floor} ({:+.1}%)",
        direct.wall.as_secs_f64(),
        direct.peak_rss_kib as f64 / 1024.0,
        100.0 * (total as f64 - floor as f64) / floor as f64
    );
    println!("  {:<40} {:>6} {:>6}", "operation", "calls", "floor");
    for (operation, count) in &calls {
        let floor = shape.floor.get(operation).map_or("-".to_string(), u64::to_string);
        println!("  {operation:<40} {count:>6} {floor:>6}");
    }
    let (seconds, slowest) = floor_seconds(&shape.floor);
    println!(
        "at AWS's rates + 50 ms latency: wall {:.1} s, floor {seconds:.1} s ({slowest}), {:.2}x; throttles met: {}; peak RSS {:.1} MiB",
        limited.wall.as_secs_f64(),
        limited.wall.as_secs_f64() / seconds.max(0.001),
        limited.stats.total_rate_throttled(),
        limited.peak_rss_kib as f64 / 1024.0
    );
}

fn report_apply(size: &Size, shape: &Shape, applied: &Measured) {
    let calls = applied.organization_calls();
    let (per_second, burst) = organizations_rate("CreateAccount").unwrap_or((0.1, 3.0));
    let accounts = size.new_accounts as f64;
    let creation = size.creation_time.as_secs_f64();
    // The last request goes out once the rate allows it, and then takes the creation time; five in
    // flight at most bound it too. Before that, apply reads the organization twice (a preview
    // without the lock, then the plan under it).
    let creates = if size.new_accounts == 0 { 0.0 } else { 1.0 };
    let rate_floor = creates * ((accounts - burst).max(0.0) / per_second + creation);
    let in_flight_floor = (accounts / 5.0).ceil() * creation;
    let reads_floor = 2.0 * floor_seconds(&shape.floor).0;
    let floor = reads_floor + rate_floor.max(in_flight_floor);
    println!(
        "\n== apply creating {} accounts ({creation:.0} s each, 5 in flight, AWS's rates, 50 ms latency)",
        size.new_accounts
    );
    println!(
        "exit {:?}; wall {:.1} s, floor {floor:.1} s (two reads {reads_floor:.1} s + creations: rate {rate_floor:.1} s, in flight {in_flight_floor:.1} s), {:.2}x; peak RSS {:.1} MiB",
        applied.status,
        applied.wall.as_secs_f64(),
        applied.wall.as_secs_f64() / floor,
        applied.peak_rss_kib as f64 / 1024.0
    );
    println!(
        "most creations in flight {}; throttles met {}; injected {:?}",
        applied.stats.most_creations_in_flight,
        applied.stats.total_rate_throttled(),
        applied.stats.injected
    );
    for operation in ["CreateAccount", "DescribeCreateAccountStatus", "MoveAccount", "ListCreateAccountStatus"] {
        println!("  {operation:<40} {:>6}", calls.get(operation).copied().unwrap_or(0));
    }
}

/// Edits the imported spec: the first guardrail's document changes, and `acct-0001` moves to the root.
fn change_one_policy_and_move_one_account(dir: &Path) {
    let mut spec = read_spec(dir);
    let document = spec["policies"]["guardrail-00"]["document"].as_str().expect("guardrail-00's document").to_string();
    let path = dir.join(document);
    let text = std::fs::read_to_string(&path).expect("read guardrail-00");
    let changed = text.replace("service0:*", "service0:Delete*");
    assert_ne!(text, changed, "guardrail-00 names service0:*");
    std::fs::write(&path, changed).expect("write guardrail-00");
    spec["accounts"]["acct-0001"]["unit"] = serde_yaml::Value::String("Root".to_string());
    write_spec(dir, &spec);
}

/// Adds `count` accounts to the spec, spread over the OUs the seeded accounts use.
fn add_accounts(dir: &Path, count: usize) {
    let mut spec = read_spec(dir);
    let accounts = spec["accounts"].as_mapping_mut().expect("accounts");
    let mut units: Vec<serde_yaml::Value> =
        accounts.values().filter_map(|account| account.get("unit").cloned()).collect();
    units.sort_by_key(|unit| unit.as_str().unwrap_or_default().to_string());
    units.dedup();
    for index in 0..count {
        let mut account = serde_yaml::Mapping::new();
        account.insert("email".into(), format!("new-{index:03}@example.com").into());
        account.insert("unit".into(), units[index % units.len()].clone());
        accounts.insert(format!("new-{index:03}").into(), account.into());
    }
    write_spec(dir, &spec);
}

fn read_spec(dir: &Path) -> serde_yaml::Value {
    let text = std::fs::read_to_string(dir.join("landing-zone.yaml")).expect("read the imported spec");
    serde_yaml::from_str(&text).expect("parse the imported spec")
}

fn write_spec(dir: &Path, spec: &serde_yaml::Value) {
    std::fs::write(dir.join("landing-zone.yaml"), serde_yaml::to_string(spec).expect("spec")).expect("write spec");
}
