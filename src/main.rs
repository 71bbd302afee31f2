//! Entry point: parse arguments, set up logging, run one command, exit with its status.

use std::process::ExitCode;

use clap::Parser;
use landing_zone::cli::{run, Cli};

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(cli.global.verbose);
    let status = run(cli);
    if std::env::var_os("LANDING_ZONE_CALL_STATS").is_some() {
        // Organizations calls by operation (attempts included), for benchmarks: one JSON line.
        let counts = landing_zone::aws::retry::call_counts();
        eprintln!("call-stats {}", serde_json::to_string(&counts).unwrap_or_default());
    }
    ExitCode::from(status)
}

fn init_tracing(verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("LANDING_ZONE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("landing_zone={level},aws_config=error,warn")));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_target(false).init();
}
