//! The command line: the commands and their help, each dispatched to the module that runs it.
//! Their arguments are in `args`, the values clap parses in `values`.

mod args;
mod aws;
mod check;
mod control;
mod export;
mod fmt;
mod lease;
mod load;
mod manual;
mod notify;
mod output;
pub mod plan;
mod replay;
mod run;
mod server;
mod simulate;
mod status;
mod values;
mod waves;

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::exit;
use args::{
    AliasTarget, CheckArgs, ExportArgs, ExportFormat, FmtArgs, Format, LeaseArgs, PauseArgs,
    PlanArgs, PlaybookArgs, PromoteArgs, ReplayArgs, RunArgs, SimulateArgs, StatusArgs,
};
use aws::{runtime, select, with_aws};

const ABOUT: &str = "Canary deployments of AWS Lambda functions, written as short playbooks.";

const LONG_ABOUT: &str = "\
Canary deployments of AWS Lambda functions, written as short, version-controlled playbooks:

    function \"checkout-api\"
    alias \"live\"
    publish; shift 5% to new; wait 10m until healthy; promote

Check a playbook before anything touches AWS with `rollout check`, keep it tidy with
`rollout fmt`, preview it with `rollout plan`, rehearse it in a simulated world with
`rollout simulate`, and roll it out with `rollout run`. The language reference is
docs/language.md.";

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
    /// Preview a rollout: each step's AWS calls, timing, and the traffic timeline; touches nothing
    #[command(long_about = "\
Preview a rollout without touching anything: every step with the exact AWS calls it makes (as
`aws` command lines; <old>, <new> and <revision> are known only when it runs), when it can start,
what judges it, the traffic on new over time, and the shortest and longest total duration.

Examples:
  rollout plan examples/canary.rollout
  rollout plan --set canary=2% --format json examples/params.rollout")]
    Plan(PlanArgs),
    /// Compile a rollout into an AWS Step Functions state machine that runs it inside AWS
    #[command(long_about = "\
Compile the checked plan into an Amazon States Language state machine that performs it inside AWS
Step Functions, calling Lambda and CloudWatch directly: it reads and leases every alias (the same
lease marker `run` writes), publishes exactly the $LATEST it read, shifts with the RevisionId of
its last write, creates one CloudWatch alarm per metric check (metric math on the new version's
ExecutedVersion dimensions) and looks at them and the playbook's alarms during each bake, waits at
`approve` for `rollout approve`, and on any failure restores old on every alias. Its alarms are
deleted when it ends, whatever the outcome.

What cannot run server-side is refused with the playbook line (rhai hooks, `update code from`, a
selection by pattern or tag); what is approximated is warned about on stderr (count checks are
judged one period at a time by alarms, not by the sequential tests `run` uses).

Output: the definition (JSON) on stdout, the same bytes for the same input; with --format
cloudformation, a template with the state machine and an IAM role limited to the functions,
alarms and parameter it touches.

Examples:
  rollout export examples/canary.rollout --to step-functions > canary.asl.json
  rollout export examples/canary.rollout --to step-functions --format cloudformation > canary.template.json")]
    Export(ExportArgs),
    /// Run a rollout against a simulated Lambda and CloudWatch on a virtual clock
    #[command(long_about = "\
Run a rollout against a built-in simulated Lambda and CloudWatch on a virtual clock: hours of
rollout in milliseconds, the same events `run` prints. Traffic arrives at --rps (Poisson), split by
the alias weights; each version fails at its --error-rate and answers with its --latency (median,
log-normal body with a slow tail). Metrics have CloudWatch's one-minute granularity.

With --runs N the rollout is repeated with seeds --seed, --seed+1, … and only the summary is
printed: how often it promotes or rolls back, how fast a regression is caught, and how many
errors new serves first.

Exit status as `run`: 0 promoted or nothing to roll out, 1 rolled back, 2 invalid input
(with --runs: 0 whenever the runs completed).

Examples:
  rollout simulate examples/canary.rollout
  rollout simulate examples/canary.rollout --error-rate new=2% --format json
  rollout simulate examples/canary.rollout --error-rate old=0.1%,new=2% --rps 50 --runs 1000
  rollout simulate examples/waves.rollout --error-rate eu-west-1:new=3%")]
    Simulate(SimulateArgs),
    /// Run a rollout against AWS
    #[command(long_about = "\
Run a rollout against AWS: publish (or take) the new version, move the alias's weighted routing
step by step, judge health from CloudWatch per-version metrics, alarms and hooks, and roll back
to old at the first failure.

Credentials and region come from the standard AWS configuration chain (environment, shared
files, SSO, instance roles), --profile and --region, or the playbook's `region`. --endpoint-url
(or AWS_ENDPOINT_URL) points it elsewhere, such as a local test server.

Before the first write it shows what each alias serves and asks for confirmation on a terminal;
--yes skips the question, and without a terminal it refuses to start unless --yes is given.
Ctrl-C rolls back to old and exits 3.

Exit status: 0 promoted or nothing to roll out, 1 rolled back, 2 invalid input or refused before
any change, 3 interrupted (old serves all traffic), 4 someone else changed the alias (nothing
overwritten), 5 AWS failure (the state reached is reported).

A playbook with waves rolls out region by region (and account by account, through a role): the
regions of a wave at once, each paced by its own quota, the waves in order with a bake between
them; --wave NAME runs one wave.

Examples:
  rollout run examples/canary.rollout
  rollout run --yes --format json --function checkout-api --alias live playbooks/canary.rollout
  rollout run examples/waves.rollout")]
    Run(RunArgs),
    /// Show what an alias serves now and whether a rollout is in progress
    #[command(long_about = "\
Show what an alias serves now (its versions and weights, and RevisionId), the state of $LATEST,
and whether traffic is split, which means a rollout is in progress or was interrupted.

With a playbook instead of --function and --alias, its aliases are read in its region, or in
every region and account of its waves.

Examples:
  rollout status --function checkout-api --alias live
  rollout status --function a --function b --alias live --format json
  rollout status examples/waves.rollout")]
    Status(StatusArgs),
    /// Continue an interrupted rollout from the step its lease names; without a playbook, end a pause
    #[command(long_about = "\
With a playbook: continue a rollout that was interrupted (its runner crashed, lost its network, was
killed) from the step the lease on the alias names. It checks that the alias still holds what the rollout left
and that the playbook is the one that started it; a wait continues with the time already spent
counted, a chosen new version is not published again, and health is judged again before any more
traffic moves. A lease whose heartbeat is still fresh may belong to a runner that is alive:
pass --take-over to take it anyway.

Without a playbook, with --function and --alias (and --region): a rollout paused by `rollout
pause` goes on, from any machine; its runner notices within seconds.

Examples:
  rollout resume examples/canary.rollout --function checkout-api --alias live
  rollout resume --yes --take-over playbooks/canary.rollout
  rollout resume --function checkout-api --alias live")]
    Resume(RunArgs),
    /// Hold a running rollout where it is, from any machine: traffic stays, the bake's clock stops
    #[command(long_about = "\
Pause a running rollout from any machine: traffic stays where it is, the bake's clock stops, and
health is still judged (a violation still rolls back). `rollout status` shows who paused it, when
and why; `rollout resume --function F --alias A` lets it go on. The runner reads its first alias
every 5 seconds and the others at each heartbeat: name them all (or the playbook) for a fleet.

A rollout running on Step Functions does not read these requests: the command says so and writes
nothing (use `rollout approve` at its gates, or `rollout rollback`).

Examples:
  rollout pause --function checkout-api --alias live --reason \"checking the p99 dashboard\"
  rollout pause examples/fleet.rollout")]
    Pause(PauseArgs),
    /// End a running rollout's current wait now, judged as at its end; --full: then promote
    #[command(long_about = "\
End the current wait of a running rollout now, from any machine: its bake is judged as if its time
were up (with the evidence so far: a violation still rolls back, too little evidence is
inconclusive as the playbook says), and the rollout goes on. With --full it then skips the
remaining steps and promotes; it asks first on a terminal (--yes without one).

A request made before the current wait began is not acted on (the rollout says so). A rollout on
Step Functions does not read these requests: the command says so and writes nothing.

Examples:
  rollout promote --function checkout-api --alias live
  rollout promote --full --yes --function checkout-api --alias live")]
    Promote(PromoteArgs),
    /// Release the approve gate a rollout is waiting at, from any machine
    #[command(long_about = "\
Release the `approve` gate a non-interactive rollout is waiting at (its lease on the alias says
so). The rollout notices within a few seconds and goes on.

Example:
  rollout approve --function billing-api --alias live")]
    Approve(LeaseArgs),
    /// Restore old on an alias left split or held, and clear the rollout's lease
    #[command(long_about = "\
Restore old (the version the rollout started from, as its lease says; without a lease, the
primary version) on each alias, with all traffic, and clear the lease. It stops with exit 4 and
overwrites nothing when the alias no longer matches what the rollout left. A rollout still running
on the alias will stop at its next write.

With a playbook instead of --function and --alias, it acts in the playbook's region, or in every
region and account of its waves, one after another.

Examples:
  rollout rollback --function checkout-api --alias live
  rollout rollback --yes --function a --function b --alias live
  rollout rollback --yes examples/waves.rollout")]
    Rollback(LeaseArgs),
    /// Judge the health block on a past CloudWatch window, as `run` would have; read-only
    #[command(long_about = "\
Judge the playbook's health block on a past CloudWatch window, period by period, exactly as a bake
of `run` would have judged new against old (settled periods, the same sequential tests, the same
end), and say when it would have rolled back or promoted, and on what evidence. Alarms and hook
scripts are not judged (their states then cannot be read now), and the output says so. It calls
nothing but CloudWatch's GetMetricData.

--from and --to are RFC 3339 times (2026-11-26T14:00:00Z); the window should start when new got
its weight. Exit status: what `run` would have ended with: 0 promoted, 1 rolled back, 2 invalid
input (with --sweep-threshold: 0 once the sweep completed).

With --sweep-threshold A..B the first check with a constant threshold is judged at eleven
thresholds from A to B: which would have fired, and when. Calibration from real history.

Examples:
  rollout replay examples/canary.rollout --old 41 --new 42 --from 2026-11-26T14:00:00Z --to 2026-11-26T14:30:00Z
  rollout replay examples/canary.rollout --old 41 --new 42 --from 2026-11-26T14:00:00Z --to 2026-11-26T16:00:00Z --sweep-threshold 0.5%..5%")]
    Replay(ReplayArgs),
    /// Serve the Language Server Protocol over stdin and stdout, for editors
    #[command(long_about = "\
A Language Server Protocol server over stdin and stdout: editors start it to show the checker's
diagnostics as a playbook changes (in imported files and rhai hooks too), format it, hover over
keywords, metrics, units, parameters and steps, complete them, and jump to where a parameter, a
step or an imported file is defined. README.md shows how to use it from VS Code, Neovim and Helix.")]
    Lsp,
    /// Print a shell completion script: bash, zsh, fish or powershell
    #[command(long_about = "\
Print the completion script of a shell. For example:

  bash:        source <(rollout completions bash)         (or save it in ~/.local/share/bash-completion/completions/rollout)
  zsh:         rollout completions zsh > ~/.zfunc/_rollout  (with ~/.zfunc in $fpath)
  fish:        rollout completions fish > ~/.config/fish/completions/rollout.fish
  powershell:  rollout completions powershell | Out-String | Invoke-Expression")]
    Completions {
        /// The shell
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff): `rollout man > rollout.1; man ./rollout.1`; `rollout man
    /// check` prints the page rollout-check(1) of one command
    Man {
        /// The command whose page to print (the pages the main one lists as rollout-COMMAND(1))
        #[arg(value_name = "COMMAND")]
        command: Option<String>,
    },
}

/// Runs the command line `args` and returns the process exit code.
pub fn main(args: impl IntoIterator<Item = OsString>) -> i32 {
    let mut cli = match Cli::try_parse_from(args) {
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
    let written = |outputs: &[(&'static str, &Option<PathBuf>)]| {
        outputs
            .iter()
            .filter_map(|(option, path)| Some((*option, path.as_ref()?.clone())))
            .collect()
    };
    match &mut cli.command {
        Command::Run(args) | Command::Resume(args) => {
            args.playbook.outputs =
                written(&[("--report", &args.report), ("--journal", &args.journal)]);
        }
        Command::Simulate(args) => {
            args.playbook.outputs = written(&[("--report", &args.report)]);
            args.playbook.reads = written(&[("--world", &args.world)]);
        }
        Command::Replay(args) => args.playbook.outputs = written(&[("--report", &args.report)]),
        _ => {}
    }
    match cli.command {
        Command::Check(args) => check::run(&args),
        Command::Fmt(args) => fmt::run(&args),
        Command::Plan(args) => plan::run(&args),
        Command::Export(args) => export::run(&args),
        Command::Simulate(args) => simulate::run(&args),
        Command::Run(args) if args.file.is_none() => {
            eprintln!("error: `rollout run` needs a playbook FILE (--function and --alias only replace its own). Nothing was done");
            exit::INVALID
        }
        Command::Run(args) => run::run(&args),
        Command::Status(args) => status::run(&args),
        Command::Resume(args) if args.file.is_none() => control::unpause(&args),
        Command::Resume(args) => run::resume(&args),
        Command::Pause(args) => control::pause(&args),
        Command::Promote(args) => control::promote(&args),
        Command::Approve(args) => lease::approve(&args),
        Command::Rollback(args) => lease::rollback(&args),
        Command::Replay(args) => replay::run(&args),
        Command::Lsp => crate::lsp::serve(),
        Command::Completions { shell } => manual::completions(shell),
        Command::Man { command } => manual::page(command.as_deref()),
    }
}
