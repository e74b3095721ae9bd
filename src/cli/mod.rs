//! The command line: clap arguments, validated into what each command needs.

mod check;
mod fmt;
mod output;

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Exit codes of LANGUAGE.md §8.
pub mod exit {
    /// Promoted, nothing to roll out, or the command succeeded.
    pub const OK: i32 = 0;
    /// Rolled back; for `fmt --check`, files would change.
    pub const ROLLED_BACK: i32 = 1;
    /// Invalid input: syntax, validation, usage, missing target.
    pub const INVALID: i32 = 2;
}

const ABOUT: &str = "Canary deployments of AWS Lambda functions, written as short playbooks.";

const LONG_ABOUT: &str = "\
Canary deployments of AWS Lambda functions, written as short, version-controlled playbooks:

    function \"checkout-api\"
    alias \"live\"
    publish; shift 5% to new; wait 10m until healthy; promote

Check a playbook before anything touches AWS with `rollout check`, keep it tidy with
`rollout fmt`. The language reference is docs/language.md.";

const AFTER_HELP: &str = "\
Exit codes: 0 ok or promoted, 1 rolled back (fmt --check: would reformat), 2 invalid input,
3 interrupted, 4 conflict on the alias, 5 AWS or infrastructure failure.";

/// `rollout`
#[derive(Debug, Parser)]
#[command(name = "rollout", version, about = ABOUT, long_about = LONG_ABOUT, after_help = AFTER_HELP)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Parse and validate playbooks; print every problem with its place and a hint
    #[command(long_about = "\
Parse and validate playbooks. Every problem of every file is reported, each with a code
(rollout::…), the file, line and column, an excerpt of the source and a hint. Warnings do not
make a file invalid.

Exit status: 0 when every file is valid, 2 otherwise.

Examples:
  rollout check examples/canary.rollout
  rollout check --set canary=10% examples/params.rollout
  rollout check --format json playbooks/*.rollout")]
    Check(CheckArgs),
    /// Rewrite playbooks in canonical layout
    #[command(long_about = "\
Rewrite playbooks in canonical layout: headers first in a fixed order, one statement per line,
two-space indentation, single spaces between tokens. Comments stay with their statements and
values are kept as written, so formatting never changes what a playbook does.

With --check nothing is written: files that would change are named, and the exit status is 1.

Examples:
  rollout fmt examples/*.rollout
  rollout fmt --check playbooks/")]
    Fmt(FmtArgs),
}

/// Options of commands that read a playbook.
#[derive(Debug, Args)]
struct PlaybookArgs {
    /// Override a parameter: NAME=VALUE, the value typed like the parameter (`canary=10%`)
    #[arg(long = "set", value_name = "NAME=VALUE", value_parser = parse_set)]
    sets: Vec<(String, String)>,
    /// Target function, replacing the file's `function` (repeat for several)
    #[arg(long = "function", value_name = "NAME")]
    functions: Vec<String>,
    /// Target alias, replacing the file's `alias`
    #[arg(long, value_name = "NAME")]
    alias: Option<String>,
    /// AWS region, replacing the file's `region`
    #[arg(long, value_name = "REGION")]
    region: Option<String>,
}

impl PlaybookArgs {
    fn options(&self) -> crate::check::Options {
        crate::check::Options {
            sets: self.sets.clone(),
            functions: self.functions.clone(),
            alias: self.alias.clone(),
            region: self.region.clone(),
        }
    }
}

#[derive(Debug, Args)]
struct CheckArgs {
    /// Playbooks to check
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    #[command(flatten)]
    playbook: PlaybookArgs,
    /// Output format: text diagnostics on stderr, or one JSON document on stdout
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Print only diagnostics, no summary lines
    #[arg(short, long)]
    quiet: bool,
}

#[derive(Debug, Args)]
struct FmtArgs {
    /// Playbooks to format; a directory means every .rollout file below it
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Write nothing; name the files that would change and exit 1 if any would
    #[arg(long)]
    check: bool,
    /// Print nothing but errors
    #[arg(short, long)]
    quiet: bool,
}

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// For people.
    Text,
    /// For scripts.
    Json,
}

fn parse_set(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, value)) if !name.is_empty() => Ok((name.trim().to_string(), value.to_string())),
        _ => Err(format!(
            "expected NAME=VALUE, such as `canary=10%`, not `{text}`"
        )),
    }
}

/// Runs the command line `args` and returns the process exit code.
pub fn main(args: impl IntoIterator<Item = OsString>) -> i32 {
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return if error.use_stderr() {
                exit::INVALID
            } else {
                exit::OK
            };
        }
    };
    match cli.command {
        Command::Check(args) => check::run(&args),
        Command::Fmt(args) => fmt::run(&args),
    }
}
