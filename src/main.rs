//! Entry point: parse arguments, set up logging, run one command, exit with its status.

use std::process::ExitCode;

use clap::Parser;
use landing_zone::cli::{run, Cli};

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(cli.global.verbose);
    ExitCode::from(run(cli))
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
