//! The landing-zone case of the benchmark (issue 13, step 4): the seeded organization with every
//! account carrying the baselines, planned first, applied once, and planned again with no change.
//!
//! Every account (the management account included, `targets: { units: [Root] }`) carries
//! account-level S3 Block Public Access, a password policy, the security alternate contact and one
//! role with one inline policy; in each of the two regions, EBS encryption by default and AWS
//! Config (recorder, delivery channel, two rules). AWS Config delivers into the log archive, so
//! `acct-0000` also holds the bunker. The controls are put in place by `landing-zone apply` itself
//! (not seeded behind the tool's back), so the no-change plan reads what the tool wrote.
//!
//! Reported per run: calls per operation against the per-control read floor of
//! docs/performance.md, the tool's wall time against moto's own CPU time over the same run (from
//! /proc), the tool's peak memory (wait4), and the text plan's lines. `BENCH_ACCOUNTS` sets the
//! organization's size (default 1,000, the management account included); under `cargo test` it
//! runs on 3 accounts and asserts the no-change plan stays within the floor plus the constant
//! extras.
//!
//! `BENCH_SHARDS` (default 4; 1 under `cargo test`, so the smoke run goes through a shard) starts
//! that many further moto processes behind the proxy, which routes each member account's requests
//! to one of them (`Proxy::start_sharded`; the management account, Organizations, STS and the log
//! archive stay on the first): on AWS every account's endpoints answer apart, and one Python
//! process standing for all of them would hide the client's own behaviour (issue 25, step 3).
//! `BENCH_SHARDS=0` runs everything on one moto. The emulators' CPU is summed over all of them.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use support::proxy::{Faults, Proxy};
use support::Moto;

use super::{floor_seconds, measure, read_spec, seed, support, write_spec, Measured, Shape};

/// The spec's regions: the regional controls run in both.
const REGIONS: [&str; 2] = ["us-east-1", "eu-west-1"];

/// The AWS Config rules every account carries in each region (AWS-managed identifiers).
const RULES: [&str; 2] = ["ACCESS_KEYS_ROTATED", "S3_BUCKET_VERSIONING_ENABLED"];

/// Calls a no-change plan may make beyond the per-control floor, whatever the size: the
/// Organizations reads beyond the tree's floor (trusted access, delegated administrators,
/// IN_PROGRESS creations) and the log archive's bunker in its one account (bucket and key).
const CONSTANT_ALLOWANCE: u64 = 3 + 20;

/// Issue 25's goal for the tool's own CPU (user + system) per AWS call, in milliseconds.
const TOOL_CPU_PER_CALL_GOAL_MS: f64 = 0.15;

/// Issue 25's goal for the peak resident memory of the plan and of the apply, in MiB.
const PEAK_RSS_GOAL_MIB: f64 = 100.0;

/// A goal's verdict, in words.
fn met(met: bool) -> &'static str {
    if met {
        "met"
    } else {
        "NOT met"
    }
}

/// The baselines added to the imported spec.
fn baseline(management: &str) -> serde_yaml::Value {
    let text = format!(
        r#"
log_archive: {{ account: acct-0000 }}
s3_block_public_access: {{ targets: {{ units: [Root] }} }}
password_policy: {{ targets: {{ units: [Root] }}, minimum_length: 14, require_symbols: true }}
contacts:
  targets: {{ units: [Root] }}
  security: {{ name: Security Team, email: security@example.com, phone: "+1 555 0100", title: CISO }}
roles:
  BenchAuditor:
    description: Reads the account for the security team
    targets: {{ units: [Root] }}
    trust: {{ accounts: [{management}] }}
    inline_policies:
      read-config:
        Version: "2012-10-17"
        Statement:
          - {{ Effect: Allow, Action: ["config:Describe*"], Resource: "*" }}
ebs_encryption: {{ targets: {{ units: [Root] }} }}
aws_config:
  targets: {{ units: [Root] }}
  rules:
    {}: {{ maxAccessKeyAge: "90" }}
    {}: {{}}
"#,
        RULES[0], RULES[1]
    );
    serde_yaml::from_str(&text).expect("the benchmark's baseline section")
}

/// The read floor of a no-change plan with `accounts` accounts (one the management account), per
/// operation as the proxy names it: docs/performance.md's per-control floor plus the
/// Organizations floor of the seeded tree.
fn floor(shape: &Shape, accounts: u64) -> BTreeMap<String, u64> {
    let members = accounts - 1;
    let regional = accounts * REGIONS.len() as u64;
    let mut floor: BTreeMap<String, u64> =
        shape.floor.iter().map(|(operation, calls)| (format!("organizations:{operation}"), *calls)).collect();
    let terms: [(&str, u64); 15] = [
        // One session per member account per run, shared by every region and control.
        ("sts:AssumeRole", members),
        ("s3control:GetPublicAccessBlock", accounts),
        ("iam:GetAccountPasswordPolicy", accounts),
        ("account:POST /getAlternateContact", accounts),
        // The role: itself, its managed policies, its inline policies' names, and each inline
        // policy (one here).
        ("iam:GetRole", accounts),
        ("iam:ListAttachedRolePolicies", accounts),
        ("iam:ListRolePolicies", accounts),
        ("iam:GetRolePolicy", accounts),
        // The search for roles landing-zone created that the spec no longer wants there (one page
        // of ListRoles per account; ListRoleTags only for candidates the spec does not name).
        ("iam:ListRoles", accounts),
        ("ec2:GetEbsEncryptionByDefault", regional),
        // The recorder is two reads (recorders, status); one page of DescribeConfigRules lists the
        // account's rules (25 a page) for both rules' reads and the search for rules the spec no
        // longer asks for (ListTagsForResource only for candidates the spec does not name).
        ("config:DescribeConfigurationRecorders", regional),
        ("config:DescribeConfigurationRecorderStatus", regional),
        ("config:DescribeDeliveryChannels", regional),
        ("config:DescribeConfigRules", regional * RULES.len().div_ceil(25) as u64),
        ("organizations:ListTagsForResource", 0),
    ];
    for (operation, calls) in terms {
        *floor.entry(operation.to_string()).or_default() += calls;
    }
    floor
}

/// The moto server's process (found by its port on the command line).
fn moto_pid(port: u16) -> Option<u32> {
    let port = port.to_string();
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|entry| {
        let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
        let command = std::fs::read(entry.path().join("cmdline")).ok()?;
        let arguments: Vec<&[u8]> = command.split(|byte| *byte == 0).collect();
        let is_moto = arguments.iter().any(|argument| String::from_utf8_lossy(argument).ends_with("moto_server"));
        let on_port = arguments.windows(2).any(|pair| pair[0] == b"-p" && pair[1] == port.as_bytes());
        (is_moto && on_port).then_some(pid)
    })
}

/// CPU time (user + system, all threads) the process `pid` has used so far.
fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which is in parentheses and may hold spaces): utime and
    // stime are fields 14 and 15 of proc(5), the 12th and 13th after the name.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<u64> = after.split_whitespace().map(|field| field.parse().unwrap_or(0)).collect();
    let ticks = fields.get(11).copied().unwrap_or(0) + fields.get(12).copied().unwrap_or(0);
    // SAFETY: sysconf only reads a constant of the system.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    Duration::from_millis(ticks * 1000 / per_second)
}

/// One run of the binary with moto's CPU time over it.
struct Run {
    measured: Measured,
    /// Every moto process's CPU time over the run, summed.
    moto_cpu: Duration,
    /// The busiest moto process's CPU time over the run (with shards, the one that bounds the wall).
    busiest_moto_cpu: Duration,
    /// Each moto process's CPU time over the run: the primary first, then the shards.
    each_moto_cpu: Vec<Duration>,
    /// The machine's 1-minute load average at the end (other work competes with moto for CPU).
    load_average: String,
}

impl Run {
    fn lines(&self) -> usize {
        self.measured.stdout.lines().count()
    }

    fn calls(&self) -> u64 {
        self.measured.stats.calls.values().sum()
    }
}

fn run(moto_pids: &[u32], proxy: &Proxy, command: std::process::Command) -> Run {
    run_limited(moto_pids, proxy, command, false)
}

/// [`run`], with the tool's client-side rate limiter on when `rate_limited`.
fn run_limited(moto_pids: &[u32], proxy: &Proxy, command: std::process::Command, rate_limited: bool) -> Run {
    let before: Vec<Duration> = moto_pids.iter().map(|pid| cpu_time(*pid)).collect();
    let measured = measure(proxy, command, rate_limited);
    let used: Vec<Duration> =
        moto_pids.iter().zip(&before).map(|(pid, before)| cpu_time(*pid).saturating_sub(*before)).collect();
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    Run {
        measured,
        moto_cpu: used.iter().sum(),
        busiest_moto_cpu: used.iter().max().copied().unwrap_or_default(),
        each_moto_cpu: used.clone(),
        load_average: load.split_whitespace().next().unwrap_or("?").to_string(),
    }
}

fn report(label: &str, run: &Run, floor: &BTreeMap<String, u64>) {
    let measured = &run.measured;
    let total = run.calls();
    let floor_total: u64 = floor.values().sum();
    println!("\n== landing zone, {label}: exit {:?}, {}", measured.status, measured.plan_line());
    println!(
        "wall {:.1} s, emulators' CPU {:.1} s ({:.2}x; busiest moto {:.1} s), tool CPU {:.1} s, load average {}, peak RSS {:.1} MiB, {} text-plan lines, {total} calls, read floor {floor_total} ({:.3}x)",
        measured.wall.as_secs_f64(),
        run.moto_cpu.as_secs_f64(),
        measured.wall.as_secs_f64() / run.moto_cpu.as_secs_f64().max(0.001),
        run.busiest_moto_cpu.as_secs_f64(),
        measured.cpu.as_secs_f64(),
        run.load_average,
        measured.peak_rss_kib as f64 / 1024.0,
        run.lines(),
        total as f64 / floor_total.max(1) as f64
    );
    // Issue 25's goals for the tool itself, which the emulator cannot hide: its own CPU per call
    // made (user + system over the calls the proxy counted) and its peak memory. A debug build's
    // CPU is several times a release build's: the goal is judged on `scripts/bench.sh`'s release.
    let cpu_per_call = measured.cpu.as_secs_f64() * 1000.0 / total.max(1) as f64;
    let peak_mib = measured.peak_rss_kib as f64 / 1024.0;
    println!(
        "  resident at most: {:.1} MiB heap and stacks (RssAnon), {:.1} MiB mapped files, the program's code first (RssFile), sampled every 50 ms",
        measured.peak_anon_kib as f64 / 1024.0,
        measured.peak_file_kib as f64 / 1024.0
    );
    println!(
        "  goals: tool CPU {cpu_per_call:.3} ms a call (goal <= {TOOL_CPU_PER_CALL_GOAL_MS} ms: {}), peak RSS {peak_mib:.1} MiB (goal <= {PEAK_RSS_GOAL_MIB} MiB: {})",
        met(cpu_per_call <= TOOL_CPU_PER_CALL_GOAL_MS),
        met(peak_mib <= PEAK_RSS_GOAL_MIB),
    );
    if !measured.stats.sharded.is_empty() {
        let routed: Vec<String> = measured.stats.sharded.values().map(u64::to_string).collect();
        let cpu: Vec<String> = run.each_moto_cpu.iter().map(|cpu| format!("{:.1} s", cpu.as_secs_f64())).collect();
        println!(
            "  requests routed to each shard: {}; CPU of each moto, the primary first: {}",
            routed.join(", "),
            cpu.join(", ")
        );
    }
    let mut operations: Vec<&String> = measured.stats.calls.keys().chain(floor.keys()).collect();
    operations.sort();
    operations.dedup();
    println!("  {:<50} {:>7} {:>7}", "operation", "calls", "floor");
    for operation in operations {
        let calls = measured.stats.calls.get(operation).copied().unwrap_or(0);
        let floor = floor.get(operation).map_or("-".to_string(), u64::to_string);
        println!("  {operation:<50} {calls:>7} {floor:>7}");
    }
}

/// Seeds the organization (`accounts` accounts, the tree and SCPs of `seed_size`), adds the
/// baselines, and measures the first plan, the apply and the no-change plan.
pub fn run_case(seed_size: &str, accounts: usize, shards: usize) {
    let moto = Moto::start();
    let pid = moto_pid(moto.port).expect("moto_server's process");
    let shard_motos: Vec<Moto> = (0..shards).map(|_| Moto::start()).collect();
    let shard_ports: Vec<u16> = shard_motos.iter().map(|shard| shard.port).collect();
    let pids: Vec<u32> = std::iter::once(pid)
        .chain(shard_ports.iter().map(|port| moto_pid(*port).expect("a shard's moto_server process")))
        .collect();
    let started = std::time::Instant::now();
    let shape = seed(&moto, seed_size, Some(accounts));
    println!("\n== landing zone: seeded in {:.1} s: {}", started.elapsed().as_secs_f64(), shape.summary);
    let workspace = tempfile::tempdir().expect("workspace");
    let dir = workspace.path();
    let imported = moto.run(&["import", "--out", "."], dir);
    assert_eq!(imported.status.code(), Some(0), "import: {}", support::stderr(&imported));
    add_baselines(dir);
    // The log archive holds the bucket every account's AWS Config delivers into: it stays on the
    // primary with the management account.
    let log_archive = read_spec(dir)["accounts"]["acct-0000"]["id"].as_str().expect("acct-0000's id").to_string();

    // A counting proxy at AWS's page size in front of moto itself (and its shards), as the
    // organization case uses.
    // Connections kept alive, as AWS's are: the tool's CPU per call is then its own, not a new
    // connection's each time (the proxy closes each one otherwise).
    let counting = Faults { aws_page_size: true, keep_alive: true, ..Faults::none() };
    let proxy = Proxy::start_sharded(moto.port, &shard_ports, &[log_archive], counting);
    println!("== landing zone: {} moto processes ({shards} shards of the member accounts)", pids.len());
    let plan = || moto.command(&["plan", "--detailed-exitcode"], dir, &proxy.endpoint);
    let floor = floor(&shape, accounts as u64);

    let first = run(&pids, &proxy, plan());
    report("first plan", &first, &floor);
    let applied = run(&pids, &proxy, moto.command(&["apply", "--auto-approve"], dir, &proxy.endpoint));
    report("apply", &applied, &floor);
    // The no-change plan's answers are recorded, for the same plan at AWS's rates below.
    proxy.record();
    let unchanged = run(&pids, &proxy, plan());
    report("no-change plan", &unchanged, &floor);
    if seed_size == "full" {
        // The same plan at AWS's published rates with 50 ms latency, the tool's limiter on: the
        // baselines' reads (each member account has its own rate limits) should add little to
        // the organization's own rate-limited floor. Not in the `cargo test` smoke run.
        proxy.set_faults(Faults {
            aws_page_size: true,
            keep_alive: true,
            aws_rates: true,
            latency: Some((Duration::from_millis(50), Duration::from_millis(50))),
            ..Faults::none()
        });
        // Answered from the no-change plan's recording, after the latency and the rate limits: the
        // emulators (one Python process each, on a machine with two cores) would otherwise be
        // what this run measures, where on AWS every account's endpoints answer apart. Only a read
        // the recording does not hold goes to them. The emulators' own run is the one above.
        let held = proxy.replay();
        // `BENCH_ACCOUNTS_AT_ONCE` gives this run `--accounts-at-once` (the tool's default, 32,
        // when unset): how many accounts are read at once.
        let mut limited_plan = plan();
        if let Ok(accounts_at_once) = std::env::var("BENCH_ACCOUNTS_AT_ONCE") {
            limited_plan.args(["--accounts-at-once", &accounts_at_once]);
            println!("== landing zone: the AWS-rate plan with --accounts-at-once {accounts_at_once}");
        }
        let limited = run_limited(&pids, &proxy, limited_plan, true);
        report("no-change plan at AWS's rates + 50 ms latency", &limited, &floor);
        let stats = &limited.measured.stats;
        println!(
            "  answered from the recording of the no-change plan ({held} answers): {} requests; not held, so answered by the emulators: {} {:?}",
            stats.replayed,
            stats.replay_misses.values().sum::<u64>(),
            stats.replay_misses
        );
        let (seconds, slowest) = floor_seconds(&shape.floor);
        // On AWS every member account answers on its own; here the motos answer all of them, so
        // the busiest one's CPU over the run is a floor too (the shards run side by side, as far
        // as the machine's cores let them), whichever is the larger.
        let busiest = limited.busiest_moto_cpu.as_secs_f64();
        let wall = limited.measured.wall.as_secs_f64();
        println!(
            "organization's rate-limited floor {seconds:.1} s ({slowest}): wall {:.2}x of it (goal <= 1.1x: {}); emulators' CPU {:.1} s in {} processes, busiest {busiest:.1} s: wall {:.2}x of the larger floor; tool CPU {:.1} s; throttles met: {}",
            wall / seconds.max(0.001),
            met(wall <= seconds * 1.1),
            limited.moto_cpu.as_secs_f64(),
            pids.len(),
            wall / seconds.max(busiest).max(0.001),
            limited.measured.cpu.as_secs_f64(),
            limited.measured.stats.total_rate_throttled()
        );
    }

    // The figures must hold together, whatever the size (under `cargo test` this is the check).
    assert_eq!(first.measured.status, Some(2), "first plan: {}\n{}", first.measured.stdout, first.measured.stderr);
    assert_eq!(applied.measured.status, Some(0), "apply: {}\n{}", applied.measured.stdout, applied.measured.stderr);
    assert_eq!(unchanged.measured.status, Some(0), "converged: {}", unchanged.measured.stdout);
    for (operation, allowed) in &floor {
        let calls = unchanged.measured.stats.calls.get(operation).copied().unwrap_or(0);
        assert!(calls <= *allowed, "no-change plan: {operation} {calls} calls, floor {allowed}");
    }
    // With shards, the member accounts' reads were answered by them (the management account and
    // the log archive stay on the primary, so a 2-account organization has nothing to route).
    if shards > 0 && accounts > 2 {
        let routed: u64 = unchanged.measured.stats.sharded.values().sum();
        assert!(routed > 0, "no-change plan: no request reached the {shards} shards");
    }
    let floor_total: u64 = floor.values().sum();
    assert!(
        unchanged.calls() <= floor_total + CONSTANT_ALLOWANCE,
        "no-change plan: {} calls, floor {floor_total} + {CONSTANT_ALLOWANCE}: {:#?}",
        unchanged.calls(),
        unchanged.measured.stats.calls
    );
    assert!(first.lines() <= 400, "first plan: {} text lines", first.lines());
}

fn add_baselines(dir: &Path) {
    let mut spec = read_spec(dir);
    let management = spec["organization"]["management_account"].as_str().expect("management account").to_string();
    spec["organization"]["regions"] = REGIONS.iter().map(|region| serde_yaml::Value::from(*region)).collect();
    spec["baseline"] = baseline(&management);
    write_spec(dir, &spec);
}
