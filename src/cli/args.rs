//! The arguments of each command, as clap reads them: what a playbook is read with, where AWS
//! is, which aliases a command without a playbook touches, and each command's own options.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::values::{
    calls_per_second, parse_alarm, parse_alias, parse_calendar, parse_duration, parse_error_rates,
    parse_fleet, parse_function, parse_latencies, parse_region, parse_rps, parse_set, parse_sweep,
    parse_tag, parse_threshold_range, parse_time, Pair,
};

/// Options of commands that read a playbook.
#[derive(Debug, Args)]
pub(super) struct PlaybookArgs {
    /// Override a parameter: NAME=VALUE, the value typed like the parameter (`canary=10%`)
    #[arg(long = "set", value_name = "NAME=VALUE", value_parser = parse_set)]
    pub(super) sets: Vec<(String, String)>,
    /// Target function, replacing the file's `function` (repeat for several)
    #[arg(long = "function", value_name = "NAME", value_parser = parse_function)]
    pub(super) functions: Vec<String>,
    /// Target alias, replacing the file's `alias`
    #[arg(long, value_name = "NAME", value_parser = parse_alias)]
    pub(super) alias: Option<String>,
    /// AWS region, replacing the file's `region`
    #[arg(long, value_name = "REGION", value_parser = parse_region)]
    pub(super) region: Option<String>,
    /// The files the command writes (`--report`, `--journal`), from its own options: none may be
    /// a file the playbook reads.
    #[arg(skip)]
    pub(super) outputs: Vec<(&'static str, PathBuf)>,
    /// The files the command reads besides the playbook's own, by the option naming each
    /// (`--world`): no output may be one of them either.
    #[arg(skip)]
    pub(super) reads: Vec<(&'static str, PathBuf)>,
}

impl PlaybookArgs {
    pub(super) fn options(&self) -> crate::check::Options {
        crate::check::Options {
            sets: self.sets.clone(),
            functions: self.functions.clone(),
            alias: self.alias.clone(),
            region: self.region.clone(),
            detached: false,
        }
    }
}

#[derive(Debug, Args)]
pub(super) struct CheckArgs {
    /// Playbooks to check
    #[arg(required = true, value_name = "FILE")]
    pub(super) files: Vec<PathBuf>,
    #[command(flatten)]
    pub(super) playbook: PlaybookArgs,
    /// Output format: text diagnostics on stderr, or one JSON document on stdout
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub(super) format: Format,
    /// Print only diagnostics, no summary lines
    #[arg(short, long)]
    pub(super) quiet: bool,
}

#[derive(Debug, Args)]
pub(super) struct FmtArgs {
    /// Playbooks to format; a directory means every .rollout file below it
    #[arg(required = true, value_name = "FILE")]
    pub(super) files: Vec<PathBuf>,
    /// Write nothing; name the files that would change and exit 1 if any would
    #[arg(long)]
    pub(super) check: bool,
    /// Print nothing but errors
    #[arg(short, long)]
    pub(super) quiet: bool,
}

/// Where AWS is.
#[derive(Debug, Args)]
pub(super) struct AwsArgs {
    /// A named profile from the AWS configuration files
    #[arg(long, value_name = "NAME")]
    pub(super) profile: Option<String>,
    /// Send AWS calls to this endpoint instead (a test server); AWS_ENDPOINT_URL works too
    #[arg(long, value_name = "URL")]
    pub(super) endpoint_url: Option<String>,
    /// Lambda control-plane calls per second, evenly spaced, for all targets together. Lambda's
    /// quota is 15 per second per region, shared with everything else in the account
    #[arg(long, value_name = "N", default_value_t = crate::cloud::limit::DEFAULT_CALLS_PER_SECOND, value_parser = calls_per_second)]
    pub(super) calls_per_second: f64,
}

impl AliasTarget {
    /// The functions named, and the selections to resolve.
    pub(super) fn targets(&self) -> crate::plan::Targets {
        let (patterns, names): (Vec<&String>, Vec<&String>) = self
            .functions
            .iter()
            .partition(|f| crate::plan::Selection::pattern(f).is_some());
        crate::plan::Targets {
            functions: names.into_iter().cloned().collect(),
            select: patterns
                .into_iter()
                .filter_map(|p| crate::plan::Selection::pattern(p))
                .chain(self.tagged.iter().cloned())
                .collect(),
            alias: self.alias.clone(),
            region: None,
        }
    }
}

impl AwsArgs {
    pub(super) fn options(&self, region: Option<String>) -> crate::cloud::aws::AwsOptions {
        crate::cloud::aws::AwsOptions {
            profile: self.profile.clone(),
            region,
            endpoint_url: self.endpoint_url.clone(),
            role: None,
        }
    }
}

#[derive(Debug, Args)]
pub(super) struct RunArgs {
    /// The playbook (`rollout resume` without one, but with --function and --alias, ends a
    /// pause instead)
    #[arg(value_name = "FILE", required_unless_present = "functions")]
    pub(super) file: Option<PathBuf>,
    #[command(flatten)]
    pub(super) playbook: PlaybookArgs,
    #[command(flatten)]
    pub(super) aws: AwsArgs,
    /// Do not ask for confirmation (needed without a terminal)
    #[arg(long, short = 'y')]
    pub(super) yes: bool,
    /// Pass `approve` gates without asking (else: a terminal prompt, or `rollout approve`)
    #[arg(long)]
    pub(super) auto_approve: bool,
    /// Take over a lease whose heartbeat is stale, or for resume one that still looks alive
    #[arg(long)]
    pub(super) take_over: bool,
    /// Append every event to this JSON-lines audit journal (default: $XDG_STATE_HOME/rollout/journal.jsonl, else ~/.local/state/rollout/journal.jsonl)
    #[arg(long, value_name = "FILE")]
    pub(super) journal: Option<PathBuf>,
    /// Output format: timestamped lines (a live display on a terminal), or one JSON object per event line
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub(super) format: Format,
    /// Plain lines even on a terminal
    #[arg(short, long)]
    pub(super) quiet: bool,
    /// Show every check of every health evaluation
    #[arg(short, long)]
    pub(super) verbose: bool,
    /// Where the rollout runs: here (default), or inside AWS Step Functions as the state machine
    /// `rollout export` writes, created or updated, then started and followed
    #[arg(long, value_enum, value_name = "WHERE")]
    pub(super) on: Option<ExportTarget>,
    /// With --on step-functions: the IAM role the state machine runs as (`export --format
    /// cloudformation` makes one with exactly the permissions it needs)
    #[arg(long, value_name = "ARN", required_if_eq("on", "step-functions"))]
    pub(super) role: Option<String>,
    /// With --on step-functions: print the execution's ARN and return at once instead of
    /// following it
    #[arg(long, requires = "on")]
    pub(super) detach: bool,
    /// With --on step-functions: the history events one execution may use (Step Functions fails one at 25,000): a rollout
    /// that needs more continues in fresh executions of the state machine, each carrying on
    /// where the last stopped
    #[arg(long, value_name = "EVENTS", default_value_t = crate::export::HISTORY_BUDGET, value_parser = clap::value_parser!(u64).range(1_000..=24_000), requires = "on")]
    pub(super) history_budget: u64,
    /// Also write a self-contained HTML report of the rollout here (charts inline, no network)
    #[arg(long, value_name = "FILE.html")]
    pub(super) report: Option<PathBuf>,
    /// With a playbook that has waves: run only this wave (by name), and release it at its end
    #[arg(long, value_name = "NAME")]
    pub(super) wave: Option<String>,
}

/// The aliases a command reads or writes: named, or those of a playbook (every region and
/// account of its waves).
#[derive(Debug, Args)]
pub(super) struct AliasTarget {
    /// A playbook: its functions and alias (--function, --alias and --set as for `run`), in its
    /// region or in every region and account of its waves
    #[arg(value_name = "FILE", conflicts_with = "tagged")]
    pub(super) playbook: Option<PathBuf>,
    /// With FILE: override a parameter, as for `run`
    #[arg(long = "set", value_name = "NAME=VALUE", value_parser = parse_set, requires = "playbook")]
    pub(super) sets: Vec<(String, String)>,
    /// The function (repeat for several); a pattern such as "checkout-*" (quoted) selects the
    /// region's functions whose names match
    #[arg(
        long = "function",
        value_name = "NAME",
        value_parser = parse_function,
        required_unless_present_any = ["tagged", "playbook"]
    )]
    pub(super) functions: Vec<String>,
    /// Every function of the region with this tag (repeat for several)
    #[arg(long, value_name = "KEY=VALUE", value_parser = parse_tag)]
    pub(super) tagged: Vec<crate::plan::Selection>,
    /// The alias
    #[arg(long, value_name = "NAME", value_parser = parse_alias, required_unless_present = "playbook")]
    pub(super) alias: Option<String>,
    /// AWS region (repeat for several: each is read or written in turn)
    #[arg(long, value_name = "REGION", value_parser = parse_region)]
    pub(super) region: Vec<String>,
    #[command(flatten)]
    pub(super) aws: AwsArgs,
}

#[derive(Debug, Args)]
pub(super) struct LeaseArgs {
    #[command(flatten)]
    pub(super) target: AliasTarget,
    /// Do not ask for confirmation (needed without a terminal)
    #[arg(long, short = 'y')]
    pub(super) yes: bool,
}

impl RunArgs {
    /// The playbook, which every command but `rollout resume --function F --alias A` has.
    pub(super) fn file(&self) -> &std::path::Path {
        self.file
            .as_deref()
            .expect("the commands that run a playbook are given one")
    }

    /// The aliases `rollout resume --function F --alias A [--region R]` names.
    pub(super) fn named(&self) -> AliasTarget {
        AliasTarget {
            playbook: None,
            sets: Vec::new(),
            functions: self.playbook.functions.clone(),
            tagged: Vec::new(),
            alias: self.playbook.alias.clone(),
            region: self.playbook.region.iter().cloned().collect(),
            aws: AwsArgs {
                profile: self.aws.profile.clone(),
                endpoint_url: self.aws.endpoint_url.clone(),
                calls_per_second: self.aws.calls_per_second,
            },
        }
    }
}

#[derive(Debug, Args)]
pub(super) struct PauseArgs {
    #[command(flatten)]
    pub(super) target: AliasTarget,
    /// Why, for `status` and the rollout's events (quote it)
    #[arg(long, value_name = "TEXT")]
    pub(super) reason: Option<String>,
}

#[derive(Debug, Args)]
pub(super) struct PromoteArgs {
    #[command(flatten)]
    pub(super) target: AliasTarget,
    /// Then skip the remaining steps and promote
    #[arg(long)]
    pub(super) full: bool,
    /// Do not ask for confirmation of --full (needed without a terminal)
    #[arg(long, short = 'y')]
    pub(super) yes: bool,
}

#[derive(Debug, Args)]
pub(super) struct StatusArgs {
    #[command(flatten)]
    pub(super) target: AliasTarget,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub(super) format: Format,
}

#[derive(Debug, Args)]
pub(super) struct PlanArgs {
    /// The playbook
    #[arg(value_name = "FILE")]
    pub(super) file: PathBuf,
    #[command(flatten)]
    pub(super) playbook: PlaybookArgs,
    /// Read the aliases and functions (read-only) to show old, $LATEST and whether publish creates a version
    #[arg(long)]
    pub(super) live: bool,
    /// With windows: when the rollout would start, as an RFC 3339 time such as
    /// 2026-12-04T15:00:00Z (default: now), to show when each step really runs
    #[arg(long, value_name = "RFC3339", value_parser = parse_time)]
    pub(super) at: Option<crate::plan::Millis>,
    #[command(flatten)]
    pub(super) aws: AwsArgs,
    /// Output format: a readable preview, or one JSON document
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub(super) format: Format,
}

#[derive(Debug, Args)]
pub(super) struct ReplayArgs {
    /// The playbook
    #[arg(value_name = "FILE")]
    pub(super) file: PathBuf,
    #[command(flatten)]
    pub(super) playbook: PlaybookArgs,
    /// The version the alias served: `old`
    #[arg(long, value_name = "VERSION")]
    pub(super) old: String,
    /// The version rolled out: `new`
    #[arg(long, value_name = "VERSION")]
    pub(super) new: String,
    /// Where the window starts (RFC 3339), when new got its weight
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub(super) from: crate::plan::Millis,
    /// Where the window ends (RFC 3339)
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub(super) to: crate::plan::Millis,
    /// Judge the first thresholded check at eleven thresholds from A to B (A..B, in its unit)
    #[arg(long, value_name = "A..B", value_parser = parse_threshold_range)]
    pub(super) sweep_threshold: Option<(f64, f64)>,
    /// Also write a self-contained HTML report of the replay here
    #[arg(long, value_name = "FILE.html")]
    pub(super) report: Option<PathBuf>,
    #[command(flatten)]
    pub(super) aws: AwsArgs,
    /// Output format: lines, or one JSON document
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub(super) format: Format,
}

#[derive(Debug, Args)]
pub(super) struct ExportArgs {
    /// The playbook
    #[arg(value_name = "FILE")]
    pub(super) file: PathBuf,
    #[command(flatten)]
    pub(super) playbook: PlaybookArgs,
    /// What to compile to
    #[arg(long, value_enum)]
    pub(super) to: ExportTarget,
    /// The state machine's definition, or a CloudFormation template with it and its role
    #[arg(long, value_enum, default_value_t = ExportFormat::Asl)]
    pub(super) format: ExportFormat,
    /// The history events one execution may use (Step Functions fails one at 25,000): a rollout
    /// that needs more continues in fresh executions of the state machine, each carrying on
    /// where the last stopped
    #[arg(long, value_name = "EVENTS", default_value_t = crate::export::HISTORY_BUDGET, value_parser = clap::value_parser!(u64).range(1_000..=24_000))]
    pub(super) history_budget: u64,
}

/// Where `export` compiles to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(super) enum ExportTarget {
    /// AWS Step Functions (Amazon States Language)
    StepFunctions,
}

/// What `export` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(super) enum ExportFormat {
    /// The Amazon States Language definition
    Asl,
    /// A CloudFormation template: the state machine and its IAM role
    Cloudformation,
}

#[derive(Debug, Args)]
pub(super) struct SimulateArgs {
    /// The playbook
    #[arg(value_name = "FILE")]
    pub(super) file: PathBuf,
    #[command(flatten)]
    pub(super) playbook: PlaybookArgs,
    /// Invocations per second per function
    #[arg(long, default_value_t = 100.0, value_parser = parse_rps)]
    pub(super) rps: f64,
    /// Error rates of the versions, such as `old=0.1%,new=2%` (default 0.1% each); with a
    /// region first, such as `eu-west-1:new=3%`, in that region of a waved playbook only
    /// (repeat for several)
    #[arg(long, value_name = "[REGION:]old=P,new=P", value_parser = parse_error_rates)]
    pub(super) error_rate: Vec<super::values::ErrorRates>,
    /// A Change Calendar of the simulated SSM, to rehearse a change freeze: `NAME=closed` for
    /// the whole run, `NAME=closed:FROM..TO` in virtual time after the start (such as
    /// `ChangeFreeze=closed:10m..1h`; `10m..` for good), `NAME=open`; repeat to add intervals or
    /// calendars. A calendar the playbook names and this does not give does not exist, as in SSM
    #[arg(long, value_name = "NAME=closed[:FROM..TO]", value_parser = parse_calendar)]
    pub(super) calendar: Vec<(String, Option<super::values::CalendarClosed>)>,
    /// Median latencies of the versions, such as `old=120ms,new=180ms`
    #[arg(long, value_name = "old=D,new=D", default_value = "old=120ms,new=120ms", value_parser = parse_latencies)]
    pub(super) latency: Pair<u64>,
    /// Repeat with this many seeds and print only the summary (with --sweep: runs per point, default 200)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub(super) runs: Option<u32>,
    /// The operating curve: runs at error rates of new from A to B (11 points), and for each the
    /// share rolled back and the time to decide, such as `new=0%..5%`
    #[arg(long, value_name = "new=A..B", value_parser = parse_sweep)]
    pub(super) sweep: Option<(f64, f64)>,
    /// How long after an invocation ends the simulated CloudWatch makes its metrics readable
    #[arg(long, value_name = "D", default_value = "45s", value_parser = parse_duration)]
    pub(super) ingestion_delay: crate::plan::Millis,
    /// The simulated functions' timeout (the default metric delay covers it)
    #[arg(long, value_name = "D", default_value = "3s", value_parser = parse_duration)]
    pub(super) timeout: crate::plan::Millis,
    /// Seed of every random choice; the same seed gives the same run
    #[arg(long, default_value_t = 1)]
    pub(super) seed: u64,
    /// How long an `approve` gate waits before the simulated approver says yes
    #[arg(long, value_name = "D", default_value = "0s", value_parser = parse_duration)]
    pub(super) approve_after: crate::plan::Millis,
    /// State of a CloudWatch alarm the playbook names: NAME=ok|alarm|insufficient (others are ok)
    #[arg(long = "alarm", value_name = "NAME=STATE", value_parser = parse_alarm)]
    pub(super) alarms: Vec<(String, crate::cloud::AlarmState)>,
    /// The simulated account's limit of Lambda control-plane calls per second (429 beyond it),
    /// which the rollout keeps to as `run --calls-per-second` does [default: the account allows
    /// 15, the rollout makes 10]
    #[arg(long, value_name = "N", value_parser = calls_per_second)]
    pub(super) calls_per_second: Option<f64>,
    /// How long each simulated control-plane call takes to answer
    #[arg(long, value_name = "D", default_value = "60ms", value_parser = parse_duration)]
    pub(super) call_latency: crate::plan::Millis,
    /// A world file: how the simulated traffic departs from stationary (errors that vary from
    /// minute to minute, shared outages, drift, bursts, cold starts, retries, a late regression,
    /// latency shocks); docs/language.md lists its knobs
    #[arg(long, value_name = "FILE")]
    pub(super) world: Option<PathBuf>,
    /// Also write a self-contained HTML report here: the rollout's charts, or with --runs the
    /// histogram of time to decide, or with --sweep the operating curve
    #[arg(long, value_name = "FILE.html")]
    pub(super) report: Option<PathBuf>,
    /// How many functions each `function "pattern-*"` or `function tagged "k=v"` finds in the
    /// simulated region
    #[arg(long, value_name = "N", default_value_t = crate::simulation::DEFAULT_FLEET, value_parser = parse_fleet)]
    pub(super) fleet: usize,
    /// Output format: timestamped lines, or one JSON object per event line
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub(super) format: Format,
    /// Show every check of every health evaluation
    #[arg(short, long)]
    pub(super) verbose: bool,
}

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(super) enum Format {
    /// For people.
    Text,
    /// For scripts.
    Json,
}
