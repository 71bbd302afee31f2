//! The command line: global options, one file per verb, and the mapping of outcomes to exit codes.
//!
//! Commands are thin: they call an operation that returns data and render it. Data goes to stdout,
//! progress and logs to stderr.

pub mod apply;
pub mod audit;
pub mod completions;
pub mod force_unlock;
pub mod graph;
pub mod history;
pub mod import;
pub mod init;
pub mod man;
pub mod permissions;
pub mod plan;
pub mod progress;
pub mod schema;
pub mod show;
pub mod validate;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Exit status: success, or no changes with `--detailed-exitcode`.
pub const EXIT_OK: u8 = 0;
/// Exit status: an error (bad input, AWS failure).
pub const EXIT_ERROR: u8 = 1;
/// Exit status: `plan --detailed-exitcode` found changes.
pub const EXIT_CHANGES: u8 = 2;
/// Exit status when stdout is closed early (`landing-zone plan | head -1`): 128 + SIGPIPE, what a
/// shell reports for `cat`, `grep` and the other tools SIGPIPE ends. Nothing is printed.
pub const EXIT_BROKEN_PIPE: u8 = 141;

/// Stdout was closed before everything was written (the reader went away).
#[derive(Debug, thiserror::Error)]
#[error("stdout was closed")]
pub struct StdoutClosed;

/// Writes command output (data) to stdout. A closed pipe is [`StdoutClosed`], which `run` turns
/// into a quiet exit; Rust ignores SIGPIPE, so `print!` would panic instead (exit 101).
pub fn write_stdout(text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush()) {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => Err(StdoutClosed.into()),
        Err(error) => Err(anyhow::Error::new(error).context("writing to stdout")),
    }
}

/// Writes a line of progress or diagnostics to stderr, escaped (`escape::lines`). Errors are
/// ignored: a closed stderr must not stop an apply half-way or panic as `eprintln!` does.
pub fn write_stderr(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "{}", crate::plan::escape::lines(line));
}

/// A spec file that is not there: said as such, with how to start one, rather than as a spec error.
#[derive(Debug, thiserror::Error)]
#[error(
    "spec file `{}` not found\nhint: run `landing-zone init` to write a starter spec (with its `policies/`) that validates, `landing-zone import` to write one from an existing organization, or pass another file with `-f FILE`",
    path.display()
)]
pub struct MissingSpec {
    pub path: PathBuf,
}

/// Loads and validates the spec at `path`; a file that does not exist is [`MissingSpec`].
pub fn load_spec(path: &std::path::Path) -> anyhow::Result<crate::spec::ValidSpec> {
    if !path.exists() {
        return Err(MissingSpec { path: path.to_path_buf() }.into());
    }
    Ok(crate::baseline::load_spec(path)?)
}

/// Whether colour is allowed at all: not with `--no-color`, nor with `NO_COLOR` set to anything
/// but the empty string (https://no-color.org/).
pub fn colour_allowed(no_color: bool) -> bool {
    !no_color && std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty())
}

#[derive(Debug, Parser)]
#[command(name = "landing-zone", version, about = "Plan and apply an AWS landing zone from one YAML spec")]
pub struct Cli {
    #[command(flatten)]
    pub global: TopLevelOptions,
    #[command(subcommand)]
    pub command: Command,
}

/// Options given before the command. `-v` and `--no-color` serve every command and are listed
/// everywhere; the others are listed only by the commands that use them (the groups below) and are
/// still accepted here, hidden, so `landing-zone -f x.yaml --endpoint-url URL plan` keeps working.
#[derive(Debug, Clone, Args)]
pub struct TopLevelOptions {
    #[arg(short = 'f', long = "file", hide = true)]
    pub file: Option<PathBuf>,
    #[arg(long, hide = true)]
    pub profile: Option<String>,
    #[arg(long, hide = true)]
    pub region: Option<String>,
    #[arg(long, hide = true)]
    pub endpoint_url: Option<String>,
    #[arg(long, hide = true, value_parser = calls_at_once())]
    pub parallelism: Option<usize>,
    #[arg(long, hide = true, value_parser = calls_at_once())]
    pub accounts_at_once: Option<usize>,
    /// More logs on stderr: -v phases and accounts, -vv every AWS call, -vvv request details
    /// (never credentials). LANDING_ZONE_LOG or RUST_LOG set a filter of their own.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// No colour in output (also when NO_COLOR is set).
    #[arg(long, global = true)]
    pub no_color: bool,
}

impl TopLevelOptions {
    /// Whether stderr (logs, progress, errors) may use ANSI colour.
    pub fn stderr_color(&self) -> bool {
        use std::io::IsTerminal;
        colour_allowed(self.no_color) && std::io::stderr().is_terminal()
    }
}

fn calls_at_once() -> clap::builder::RangedU64ValueParser<usize> {
    clap::builder::RangedU64ValueParser::<usize>::new().range(1..=4096)
}

/// The spec file, for the commands that read it.
#[derive(Debug, Clone, Default, Args)]
pub struct SpecFileArgs {
    /// The spec file [default: landing-zone.yaml].
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub file: Option<PathBuf>,
}

/// Who calls AWS and where, for the commands that call it.
#[derive(Debug, Clone, Default, Args)]
pub struct AwsAccessArgs {
    /// AWS profile of the management account.
    #[arg(long, env = "AWS_PROFILE")]
    pub profile: Option<String>,
    /// Send every AWS call to this endpoint (an emulator such as moto).
    #[arg(long, env = "AWS_ENDPOINT_URL")]
    pub endpoint_url: Option<String>,
}

/// The Region of the organization's API calls (not `audit`, whose `--regions` say where to look).
#[derive(Debug, Clone, Default, Args)]
pub struct RegionArgs {
    /// AWS region for the organization's API calls (default: the profile's, then the spec's home region).
    #[arg(long)]
    pub region: Option<String>,
}

/// How wide the commands that read the organization read it.
#[derive(Debug, Clone, Default, Args)]
pub struct ConcurrencyArgs {
    /// How many AWS calls run at once against the Organizations API, and within any one account [default: 8].
    #[arg(long, value_parser = calls_at_once())]
    pub parallelism: Option<usize>,
    /// How many accounts are read or written at once (each has its own AWS rate limits) [default: 32].
    #[arg(long, value_parser = calls_at_once())]
    pub accounts_at_once: Option<usize>,
}

/// The option groups a command takes (None: it has no such options).
#[derive(Debug, Clone, Copy, Default)]
pub struct OptionGroups<'a> {
    pub spec: Option<&'a SpecFileArgs>,
    pub access: Option<&'a AwsAccessArgs>,
    pub region: Option<&'a RegionArgs>,
    pub concurrency: Option<&'a ConcurrencyArgs>,
}

/// The options a command runs with: what it was given after its name, else before it, else the
/// defaults.
#[derive(Debug, Clone)]
pub struct GlobalOptions {
    /// The spec file.
    pub file: PathBuf,
    /// AWS profile of the management account.
    pub profile: Option<String>,
    /// AWS region for the organization's API calls.
    pub region: Option<String>,
    /// Send every AWS call to this endpoint.
    pub endpoint_url: Option<String>,
    /// How many AWS calls run at once against the Organizations API, and within any one account.
    pub parallelism: usize,
    /// How many accounts are read or written at once.
    pub accounts_at_once: usize,
    /// More logs on stderr.
    pub verbose: u8,
    /// No colour in output.
    pub no_color: bool,
}

impl GlobalOptions {
    /// Merges the options given before the command with the command's own groups. A value given
    /// before the command wins over the environment (`AWS_PROFILE`, `AWS_ENDPOINT_URL`), which
    /// only the command's own options read.
    pub fn resolve(top: &TopLevelOptions, groups: OptionGroups<'_>) -> GlobalOptions {
        let spec = groups.spec.cloned().unwrap_or_default();
        let access = groups.access.cloned().unwrap_or_default();
        let region = groups.region.cloned().unwrap_or_default();
        let concurrency = groups.concurrency.cloned().unwrap_or_default();
        let defaults = crate::aws::Concurrency::DEFAULT;
        GlobalOptions {
            file: spec.file.or_else(|| top.file.clone()).unwrap_or_else(|| PathBuf::from("landing-zone.yaml")),
            profile: top.profile.clone().or(access.profile),
            region: region.region.or_else(|| top.region.clone()),
            endpoint_url: top.endpoint_url.clone().or(access.endpoint_url),
            parallelism: concurrency.parallelism.or(top.parallelism).unwrap_or(defaults.calls),
            accounts_at_once: concurrency.accounts_at_once.or(top.accounts_at_once).unwrap_or(defaults.accounts),
            verbose: top.verbose,
            no_color: top.no_color,
        }
    }

    /// How many calls run at once.
    pub fn concurrency(&self) -> crate::aws::Concurrency {
        crate::aws::Concurrency { calls: self.parallelism, accounts: self.accounts_at_once }
    }

    /// How to reach AWS.
    pub fn connect_options(&self) -> crate::aws::ConnectOptions {
        crate::aws::ConnectOptions {
            profile: self.profile.clone(),
            region: self.region.clone(),
            endpoint_url: self.endpoint_url.clone(),
            fallback_region: None,
        }
    }

    /// Whether stdout may use ANSI colour (a terminal, and colour allowed).
    pub fn color(&self) -> bool {
        use std::io::IsTerminal;
        colour_allowed(self.no_color) && std::io::stdout().is_terminal()
    }

    /// Whether stderr (logs, progress, errors) may use ANSI colour.
    pub fn stderr_color(&self) -> bool {
        use std::io::IsTerminal;
        colour_allowed(self.no_color) && std::io::stderr().is_terminal()
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check the spec offline: syntax, references and AWS's limits.
    Validate(validate::ValidateArgs),
    /// Print the JSON Schema of the spec.
    Schema,
    /// Show what apply would change, attribute by attribute.
    Plan(plan::PlanArgs),
    /// Converge the organization to the spec.
    Apply(apply::ApplyArgs),
    /// Draw the OU tree of the spec (or the live organization) as Mermaid or DOT.
    Graph(graph::GraphArgs),
    /// Print the IAM policy `plan` or `apply` needs.
    Permissions(permissions::PermissionsArgs),
    /// Report the security posture of every account (read-only); exit 1 when a control fails.
    Audit(audit::AuditArgs),
    /// Write a spec from an existing organization (brownfield adoption).
    Import(import::ImportArgs),
    /// Show a plan saved with `plan --out FILE`, reading nothing from AWS.
    Show(show::ShowArgs),
    /// Free the apply lock of an apply that died.
    ForceUnlock(force_unlock::ForceUnlockArgs),
    /// List the applies recorded in the state bucket (when, who, what, how it ended); `history show ID` shows one.
    History(history::HistoryArgs),
    /// Write a starter spec (`-f`, default `landing-zone.yaml`), its JSON Schema and a policies folder.
    Init(init::InitArgs),
    /// Print a shell completion script: `landing-zone completions bash > /etc/bash_completion.d/landing-zone`.
    Completions(completions::CompletionsArgs),
    /// Print the man page (`landing-zone man | man -l -`), or write one per command with `--out DIR`.
    Man(man::ManArgs),
}

/// The tokio runtime for one command: one thread. What the tool does is wait on AWS, thousands of calls at
/// once, and its own CPU per call is what bounds a large organization (issue 25); a multi-threaded
/// runtime spent a sixth of that CPU handing tasks between its threads and waking them (futex
/// waits, context switches: `perf` of the 300-account no-change plan, docs/performance.md).
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread().enable_all().build()?)
}

impl Command {
    /// The option groups this command takes: only those it uses are in its help.
    pub fn option_groups(&self) -> OptionGroups<'_> {
        let none = OptionGroups::default();
        match self {
            Command::Validate(args) => OptionGroups { spec: Some(&args.spec), ..none },
            Command::Schema | Command::Permissions(_) | Command::Completions(_) | Command::Man(_) => none,
            Command::Init(args) => OptionGroups { spec: Some(&args.spec), ..none },
            Command::Show(args) => OptionGroups { spec: Some(&args.spec), ..none },
            Command::Plan(plan::PlanArgs { spec, access, region, concurrency, .. })
            | Command::Apply(apply::ApplyArgs { spec, access, region, concurrency, .. })
            | Command::Graph(graph::GraphArgs { spec, access, region, concurrency, .. }) => OptionGroups {
                spec: Some(spec),
                access: Some(access),
                region: Some(region),
                concurrency: Some(concurrency),
            },
            Command::Import(args) => OptionGroups {
                access: Some(&args.access),
                region: Some(&args.region),
                concurrency: Some(&args.concurrency),
                ..none
            },
            Command::Audit(args) => OptionGroups {
                spec: Some(&args.spec),
                access: Some(&args.access),
                concurrency: Some(&args.concurrency),
                ..none
            },
            Command::ForceUnlock(args) => {
                OptionGroups { spec: Some(&args.spec), access: Some(&args.access), region: Some(&args.region), ..none }
            }
            Command::History(args) => {
                OptionGroups { spec: Some(&args.spec), access: Some(&args.access), region: Some(&args.region), ..none }
            }
        }
    }
}

/// Runs the parsed command and returns the process exit status.
pub fn run(cli: Cli) -> u8 {
    let global = GlobalOptions::resolve(&cli.global, cli.command.option_groups());
    let outcome = match &cli.command {
        Command::Validate(args) => validate::run(&global, args),
        Command::Schema => schema::run(),
        Command::Show(args) => show::run(&global, args),
        Command::Plan(args) => plan::run(&global, args),
        Command::Apply(args) => apply::run(&global, args),
        Command::Graph(args) => graph::run(&global, args),
        Command::Import(args) => import::run(&global, args),
        Command::Audit(args) => audit::run(&global, args),
        Command::Permissions(args) => permissions::run(args),
        Command::ForceUnlock(args) => force_unlock::run(&global, args),
        Command::History(args) => history::run(&global, args),
        Command::Init(args) => init::run(&global, args),
        Command::Completions(args) => completions::run(args),
        Command::Man(args) => man::run(args),
    };
    match outcome {
        Ok(code) => code,
        Err(error) if error.downcast_ref::<StdoutClosed>().is_some() => EXIT_BROKEN_PIPE,
        Err(error) => {
            use std::io::Write;
            let _ = writeln!(std::io::stderr().lock(), "{}", render_error(&error, &global));
            EXIT_ERROR
        }
    }
}

/// Renders an error for stderr: spec diagnostics with snippets, anything else with its causes.
pub fn render_error(error: &anyhow::Error, global: &GlobalOptions) -> String {
    if let Some(spec_errors) = error.downcast_ref::<crate::spec::SpecErrors>() {
        return render_spec_errors(spec_errors, global);
    }
    let mut text = format!("error: {error}");
    for cause in error.chain().skip(1) {
        text.push_str(&format!("\n  caused by: {cause}"));
    }
    if let Some(endpoint) = &global.endpoint_url {
        if error.chain().any(crate::aws::retry::is_connection_refused) {
            text.push_str(&format!(
                "\nhint: nothing answers at `{endpoint}` (from --endpoint-url or AWS_ENDPOINT_URL); start the emulator or unset it"
            ));
        }
    }
    // Messages carry names, tag values and AWS's own words: shown, never run (escape.rs).
    crate::plan::escape::lines(&text).into_owned()
}

/// Every spec diagnostic with its snippet, then a count.
pub fn render_spec_errors(errors: &crate::spec::SpecErrors, global: &GlobalOptions) -> String {
    let color = global.stderr_color();
    let theme = if color { miette::GraphicalTheme::unicode() } else { miette::GraphicalTheme::unicode_nocolor() };
    // Long messages stay on one line so `file:line:column: message` can be searched for.
    let handler = miette::GraphicalReportHandler::new_themed(theme).with_wrap_lines(false);
    let mut out = String::new();
    for diagnostic in &errors.diagnostics {
        if handler.render_report(&mut out, diagnostic).is_err() {
            out.push_str(&format!("error: {diagnostic}\n"));
        }
    }
    out.push_str(&format!("error: {errors}"));
    // The snippets quote the spec, which may hold bidi or zero-width characters: escaped, while
    // miette's own colour stays.
    crate::plan::escape::lines_keeping_colour(&out)
}
