//! Entry point: parse arguments, set up logging, run one command, exit with its status.

use std::process::ExitCode;

use clap::Parser;
use landing_zone::cli::{run, Cli};

/// mimalloc rather than glibc's malloc: allocation and freeing were a quarter of the tool's own
/// CPU per AWS call (`perf`, docs/performance.md), most of it glibc's free-list upkeep; the SDK
/// makes some 600 allocations a call. Its features are chosen in Cargo.toml.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(cli.global.verbose, cli.global.stderr_color());
    let status = run(cli);
    if std::env::var_os("LANDING_ZONE_CALL_STATS").is_some() {
        // Organizations calls by operation (attempts included), for benchmarks: one JSON line.
        let counts = landing_zone::aws::retry::call_counts();
        landing_zone::cli::write_stderr(&format!("call-stats {}", serde_json::to_string(&counts).unwrap_or_default()));
    }
    ExitCode::from(status)
}

/// Logs on stderr: coloured only on a terminal without `--no-color` / `NO_COLOR`, and every field
/// (the message included) escaped, so a name or an AWS message cannot move the cursor, erase
/// lines or forge a log line (`escape::inline`).
///
/// `-v` phases and accounts, `-vv` every AWS call (`aws::logging`), `-vvv` request details.
/// `LANDING_ZONE_LOG`, else `RUST_LOG`, replaces that filter (`landing_zone::aws::call=debug` for the
/// calls alone). The SDK's own spans are kept for the call lines, never printed.
fn init_tracing(verbose: u8, color: bool) {
    use tracing_subscriber::field::MakeExt;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::{EnvFilter, Layer};
    let level = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_env("LANDING_ZONE_LOG")
        .or_else(|_| EnvFilter::try_from_default_env())
        .unwrap_or_else(|_| EnvFilter::new(format!("landing_zone={level},aws_config=error,warn")));
    let fields = tracing_subscriber::fmt::format::debug_fn(|writer, field, value| {
        let text = format!("{value:?}");
        let text = landing_zone::plan::escape::inline(&text);
        if field.name() == "message" {
            write!(writer, "{text}")
        } else {
            write!(writer, "{field}={text}")
        }
    })
    .delimited(" ");
    let output = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(color)
        .fmt_fields(fields)
        .with_filter(filter);
    // The SDK's spans are kept only when the call lines can be printed (`-vv`, or a filter of
    // one's own): otherwise every operation would open and record spans no one reads, on each of
    // the thousands of calls of a large organization (issue 25: the tool's CPU per call).
    let calls_logged = verbose >= 2
        || std::env::var_os("LANDING_ZONE_LOG").is_some()
        || std::env::var_os(EnvFilter::DEFAULT_ENV).is_some();
    let sdk_spans = calls_logged.then(|| {
        landing_zone::aws::logging::SdkSpans
            .with_filter(tracing_subscriber::filter::filter_fn(landing_zone::aws::logging::SdkSpans::wants))
    });
    tracing_subscriber::registry().with(sdk_spans).with(output).init();
}
