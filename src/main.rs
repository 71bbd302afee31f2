//! Entry point: parse arguments, set up logging, run one command, exit with its status.

use std::process::ExitCode;

use clap::Parser;
use landing_zone::cli::{run, Cli};

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
fn init_tracing(verbose: u8, color: bool) {
    use tracing_subscriber::field::MakeExt;
    let level = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("LANDING_ZONE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("landing_zone={level},aws_config=error,warn")));
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
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(color)
        .fmt_fields(fields)
        .init();
}
