//! `check`, `fmt` and `plan` stay linear in their input: each timed on generated playbooks of
//! 1,000, 10,000 and 100,000 lines, plain, with comments, and with errors.
//!
//! Run with `cargo bench --bench tools`. Prints the table, writes `target/bench/tools.json`, and
//! replaces the table between the `tools` markers in `benches/RESULTS.md`. Linear growth shows as
//! a time per line that stays flat from 1,000 to 100,000 lines.

use std::path::Path;
use std::time::{Duration, Instant};

use rollout::check::{check_source, Options};
use rollout::diagnostic::source;
use rollout::syntax::{fmt, parse};

const SIZES: [usize; 3] = [1_000, 10_000, 100_000];
const RUNS: usize = 3;

/// How a generated playbook looks.
#[derive(Clone, Copy, PartialEq)]
enum Shape {
    Plain,
    Comments,
    Errors,
    SyntaxErrors,
}

impl Shape {
    fn name(self) -> &'static str {
        match self {
            Shape::Plain => "plain",
            Shape::Comments => "comments on every line",
            Shape::Errors => "an error every 20 lines",
            Shape::SyntaxErrors => "a syntax error every 20 lines",
        }
    }
}

/// A playbook of about `lines` lines: shifts and bakes after `publish`.
fn playbook(lines: usize, shape: Shape) -> String {
    let mut text = String::from(
        "function \"f\"\nalias \"live\"\nhealth every 1m {\n  min invocations 10\n  error rate < 1%\n}\npublish\n",
    );
    for i in 0..lines {
        let step = match (shape, i % 20) {
            (Shape::Errors, 7) => "shift 150% to new".to_string(),
            (Shape::SyntaxErrors, 13) => "shft 5% to new".to_string(),
            _ if i % 2 == 0 => format!("shift {}% to new", 1 + i % 98),
            _ => "wait 1m until healthy".to_string(),
        };
        match shape {
            Shape::Comments if i % 10 == 0 => {
                text.push_str(&format!("# stage {i}\n{step}  # step {i}\n"))
            }
            Shape::Comments => text.push_str(&format!("{step}  # step {i}\n")),
            _ => text.push_str(&format!("{step}\n")),
        }
    }
    text.push_str("promote\n");
    text
}

/// The median of `RUNS` timings of `work`.
fn median(mut work: impl FnMut()) -> Duration {
    let mut times: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            work();
            start.elapsed()
        })
        .collect();
    times.sort();
    times[RUNS / 2]
}

struct Row {
    lines: usize,
    shape: Shape,
    check: Duration,
    fmt: Option<Duration>,
    plan: Option<Duration>,
}

fn main() {
    let dir = std::env::temp_dir();
    let options = Options::default();
    let mut rows = Vec::new();
    for shape in [
        Shape::Plain,
        Shape::Comments,
        Shape::Errors,
        Shape::SyntaxErrors,
    ] {
        for lines in SIZES {
            let text = playbook(lines, shape);
            let checked = check_source(source("bench", text.clone()), &dir, &options);
            let check = median(|| {
                check_source(source("bench", text.clone()), &dir, &options);
            });
            let parsed = parse(&source("bench", text.clone())).ok();
            let fmt = parsed.as_ref().map(|file| {
                median(|| {
                    fmt::format(file, &text);
                })
            });
            let plan = checked.plan.as_ref().map(|plan| {
                median(|| {
                    rollout::cli::plan::preview(plan, &text);
                })
            });
            let row = Row {
                lines,
                shape,
                check,
                fmt,
                plan,
            };
            println!("{}", line(&row));
            rows.push(row);
        }
    }
    write(&rows);
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// A time and its time per line.
fn cell(time: Option<Duration>, lines: usize) -> String {
    time.map_or("–".to_string(), |t| {
        format!(
            "{:.1} ms ({:.2} µs/line)",
            ms(t),
            ms(t) * 1000.0 / lines as f64
        )
    })
}

fn line(row: &Row) -> String {
    format!(
        "| {} | {} | {} | {} | {} |",
        row.lines,
        row.shape.name(),
        cell(Some(row.check), row.lines),
        cell(row.fmt, row.lines),
        cell(row.plan, row.lines)
    )
}

fn write(rows: &[Row]) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let json: Vec<String> = rows
        .iter()
        .map(|r| {
            let opt =
                |d: Option<Duration>| d.map_or("null".to_string(), |d| format!("{:.3}", ms(d)));
            format!(
                "{{\"lines\":{},\"shape\":\"{}\",\"check_ms\":{:.3},\"fmt_ms\":{},\"plan_ms\":{}}}",
                r.lines,
                r.shape.name(),
                ms(r.check),
                opt(r.fmt),
                opt(r.plan)
            )
        })
        .collect();
    let out = root.join("target/bench");
    let _ = std::fs::create_dir_all(&out);
    let _ = std::fs::write(out.join("tools.json"), format!("[{}]\n", json.join(",\n")));
    let table: Vec<String> = rows.iter().map(line).collect();
    let block = format!(
        "<!-- tools:begin -->\nMedian of {RUNS} runs, in process; \"–\" where the tool stops at the errors (fmt on a file that does not parse, plan of an invalid file). Syntax errors are reported for the first 50 statements that have one, so checking such a file stops early.\n\n| lines | playbook | check | fmt | plan |\n| --- | --- | --- | --- | --- |\n{}\n<!-- tools:end -->",
        table.join("\n")
    );
    let results = root.join("benches/RESULTS.md");
    let Ok(text) = std::fs::read_to_string(&results) else {
        return;
    };
    let updated = match (text.find("<!-- tools:begin -->"), text.find("<!-- tools:end -->")) {
        (Some(a), Some(b)) => format!("{}{block}{}", &text[..a], &text[b + "<!-- tools:end -->".len()..]),
        _ => format!("{}\n## `cargo bench --bench tools` — check, fmt and plan stay linear\n\nTarget (issue 16): time growing linearly with the input (a flat time per line), on files of 1,000 to 100,000 lines, with and without comments and errors.\n\n{block}\n", text.trim_end()),
    };
    let _ = std::fs::write(results, updated);
}
