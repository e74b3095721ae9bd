//! `--report FILE.html`: one self-contained page (styles and SVG charts inline, no network, no
//! secrets: the events carry none) showing a rollout, or a Monte Carlo run or a sweep of them.
//! Readable printed and in dark mode. The charts are drawn here, as SVG polylines and bars.

mod lane;

use std::fmt::Write as _;

use lane::{lane, Lane};

use crate::engine::events::{Event, EventKind, EventSink};
use crate::plan::Millis;

/// What a Monte Carlo run of a playbook did, for its report.
#[derive(Debug, Clone, Default)]
pub struct Runs<'a> {
    /// Runs made.
    pub runs: usize,
    /// Runs promoted.
    pub promoted: usize,
    /// Runs rolled back by a check.
    pub rolled_back: usize,
    /// Runs rolled back for want of a conclusive evaluation.
    pub inconclusive: usize,
    /// Each run's time to decide, in milliseconds.
    pub decide_ms: &'a [u64],
}

/// One point of an operating curve, for its report.
#[derive(Debug, Clone)]
pub struct CurvePoint {
    /// `new`'s error rate, in percent.
    pub error_rate: f64,
    /// Runs rolled back (by a check or inconclusive).
    pub rolled_back: usize,
    /// Runs made.
    pub runs: usize,
    /// The median time to decide, in milliseconds.
    pub median_decide_ms: Option<f64>,
}

/// Keeps every event, for the report.
#[derive(Debug, Default)]
pub struct Recorder(pub Vec<Event>);

impl EventSink for Recorder {
    fn emit(&mut self, event: &Event) {
        self.0.push(event.clone());
    }
}

const STYLE: &str = "
:root { --fg: #1b1f24; --bg: #ffffff; --muted: #5b6570; --grid: #d8dde3; --new: #c2410c; --old: #1d4ed8; --limit: #7c3aed; --ok: #15803d; --bad: #b91c1c; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6e9ec; --bg: #14171a; --muted: #9aa4ae; --grid: #343a40; --new: #fb923c; --old: #60a5fa; --limit: #c4b5fd; --ok: #4ade80; --bad: #f87171; } }
body { font: 15px/1.5 system-ui, sans-serif; color: var(--fg); background: var(--bg); max-width: 980px; margin: 2em auto; padding: 0 1em; }
h1 { font-size: 1.5em; margin-bottom: 0.2em; } h2 { font-size: 1.15em; margin-top: 1.8em; }
.outcome { font-size: 1.1em; padding: 0.6em 0.8em; border-left: 4px solid var(--muted); }
.outcome.ok { border-color: var(--ok); } .outcome.bad { border-color: var(--bad); }
table { border-collapse: collapse; width: 100%; } td, th { text-align: left; padding: 0.25em 0.5em; border-bottom: 1px solid var(--grid); vertical-align: top; }
pre { background: color-mix(in srgb, var(--grid) 35%, transparent); padding: 0.8em; overflow-x: auto; }
svg.chart { width: 100%; height: auto; display: block; } svg text { fill: var(--muted); font-size: 11px; }
.legend span { margin-right: 1.2em; } .muted { color: var(--muted); }
@media print { body { max-width: none; margin: 0; } .outcome { break-inside: avoid; } svg.chart { break-inside: avoid; } }
";

/// Marks each chart with the size it rendered at, so that a browser's DOM shows it.
const SCRIPT: &str = "document.querySelectorAll('svg.chart').forEach(function (svg) { var r = svg.getBoundingClientRect(); svg.setAttribute('data-rendered', Math.round(r.width) + 'x' + Math.round(r.height)); });";

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{}</title><style>{STYLE}</style></head><body>\n{body}\n<script>{SCRIPT}</script>\n</body></html>\n",
        escape(title)
    )
}

/// One line of a chart: its name, its colour (a CSS variable) and its points.
struct Series<'a> {
    name: &'a str,
    colour: &'a str,
    points: Vec<(f64, f64)>,
}

/// A line chart of `series` over x in [0, `x_max`] and y in [0, `y_max`], titled `title`.
fn chart(
    title: &str,
    x_label: &dyn Fn(f64) -> String,
    y_label: &dyn Fn(f64) -> String,
    series: &[Series<'_>],
    x_max: f64,
    y_max: f64,
) -> String {
    let (w, h, left, bottom) = (900.0, 260.0, 56.0, 28.0);
    let x = |v: f64| left + (v / x_max.max(1e-9)) * (w - left - 10.0);
    let y = |v: f64| (h - bottom) - (v / y_max.max(1e-9)) * (h - bottom - 10.0);
    let mut svg = format!(
        "<svg class=\"chart\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" role=\"img\" aria-label=\"{}\">",
        escape(title)
    );
    for i in 0..=4 {
        let v = y_max * i as f64 / 4.0;
        let _ = write!(svg, "<line x1=\"{left}\" x2=\"{}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"var(--grid)\"/><text x=\"4\" y=\"{:.1}\">{}</text>", w - 10.0, y(v), y(v), y(v) + 4.0, escape(&y_label(v)));
    }
    for i in 0..=4 {
        let v = x_max * i as f64 / 4.0;
        let anchor = match i {
            0 => "start",
            4 => "end",
            _ => "middle",
        };
        let _ = write!(
            svg,
            "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"{anchor}\">{}</text>",
            x(v),
            h - 8.0,
            escape(&x_label(v))
        );
    }
    for s in series {
        if s.points.is_empty() {
            continue;
        }
        let points: Vec<String> = s
            .points
            .iter()
            .map(|(a, b)| format!("{:.1},{:.1}", x(*a), y(*b)))
            .collect();
        let _ = write!(svg, "<polyline fill=\"none\" stroke=\"var({})\" stroke-width=\"2\" points=\"{}\"><title>{}</title></polyline>", s.colour, points.join(" "), escape(s.name));
    }
    svg.push_str("</svg>");
    let legend: String = series
        .iter()
        .map(|s| {
            format!(
                "<span style=\"color: var({})\">━ {}</span>",
                s.colour,
                escape(s.name)
            )
        })
        .collect();
    format!(
        "<h3>{}</h3>{svg}<div class=\"legend\">{legend}</div>",
        escape(title)
    )
}

/// A time on an axis, to the second.
fn minutes(ms: f64) -> String {
    Millis(ms as u64 / 1000 * 1000).to_string()
}

/// One count check over a rollout: `new`'s and `old`'s measured rates, the threshold, and the
/// judge's evidence each way, each as (ms, value) points.
#[derive(Debug, Default)]
struct Measured {
    new: Vec<(f64, f64)>,
    old: Vec<(f64, f64)>,
    threshold: Vec<(f64, f64)>,
    rollback: Vec<(f64, f64)>,
    promotion: Vec<(f64, f64)>,
}

/// The report of one rollout from its events: `playbook` is its text, `facts` lines such as
/// the AWS calls made.
pub fn rollout(
    title: &str,
    playbook: &str,
    events: &[Event],
    facts: &[(String, String)],
) -> String {
    let end = events.last().map_or(0, |e| e.at_ms) as f64;
    let mut body = format!("<h1>{}</h1>", escape(title));
    let mut outcome = ("", String::from("no outcome recorded"));
    let mut targets = Vec::new();
    let mut steps = Vec::new();
    let mut weight: Vec<(f64, f64)> = vec![(0.0, 0.0)];
    let mut checks: std::collections::BTreeMap<String, Measured> = Default::default();
    let mut others = Vec::new();
    let mut holds: Vec<(u64, String, String)> = Vec::new();
    let mut latest: std::collections::BTreeMap<String, (u64, String, String)> = Default::default();
    // Each function's `new`: a write that leaves it alone on the alias puts all traffic on it.
    let mut chosen: std::collections::BTreeMap<String, String> = Default::default();
    // A waved rollout: each region's traffic on new, and each wave's span.
    let mut by_region: std::collections::BTreeMap<String, Vec<(f64, f64)>> = Default::default();
    let mut lanes: Vec<Lane> = Vec::new();
    for event in events {
        let at = event.at_ms as f64;
        let region = event.region.clone().unwrap_or_default();
        match &event.kind {
            EventKind::WaveStarted { wave, regions, .. } => lanes.push(Lane {
                name: wave.clone(),
                regions: regions.join(", "),
                from: at,
                to: None,
                passed: None,
            }),
            EventKind::WavePassed { wave } | EventKind::WaveFailed { wave, .. } => {
                if let Some(lane) = lanes.iter_mut().rev().find(|l| l.name == *wave) {
                    lane.to = Some(at);
                    lane.passed = Some(matches!(event.kind, EventKind::WavePassed { .. }));
                }
            }
            _ => {}
        }
        match &event.kind {
            EventKind::Started {
                functions, alias, ..
            } => {
                let named = format!("{} on alias {alias}", functions.join(", "));
                if !targets.contains(&named) {
                    targets.push(named);
                }
                if event.region.is_some() {
                    by_region
                        .entry(region.clone())
                        .or_insert_with(|| vec![(0.0, 0.0)]);
                }
            }
            EventKind::StepStarted { step, text } => steps.push((event.at_ms, *step, text.clone())),
            EventKind::VersionsChosen { function, new, .. } => {
                chosen.insert(format!("{region}/{function}"), new.clone());
            }
            EventKind::AliasUpdated {
                function,
                before,
                after,
            } if before.routing != after.routing || before.version != after.version => {
                let w = match after.additional() {
                    Some((_, w)) => w * 100.0,
                    None if chosen.get(&format!("{region}/{function}")) == Some(&after.version) => {
                        100.0
                    }
                    None => 0.0,
                };
                let weight = if event.region.is_some() {
                    by_region.entry(region.clone()).or_insert(vec![(0.0, 0.0)])
                } else {
                    &mut weight
                };
                if let Some(last) = weight.last().copied() {
                    weight.push((at, last.1));
                }
                weight.push((at, w));
            }
            EventKind::HealthEvaluated(e) => {
                for c in &e.checks {
                    // A check on trial is shown as the playbook writes it.
                    let name = match c.observed {
                        true => format!("observe {} (decides nothing)", c.check),
                        false => c.check.clone(),
                    };
                    if c.evidence.is_none() {
                        // Alarms, hooks and per-window checks: their latest word.
                        latest.insert(
                            name,
                            (event.at_ms, format!("{:?}", c.verdict), c.detail.clone()),
                        );
                        continue;
                    }
                    let entry = checks.entry(name).or_default();
                    if let Some(a) = &c.evidence {
                        if let Some(rate) = a.subject.rate() {
                            entry.new.push((at, rate * 100.0));
                        }
                        if let Some(rate) = a.other.and_then(|o| o.rate()) {
                            entry.old.push((at, rate * 100.0));
                        }
                        entry.threshold.push((at, a.threshold * 100.0));
                        entry.rollback.push((at, a.toward_rollback));
                        entry.promotion.push((at, a.toward_promotion));
                    }
                }
            }
            EventKind::Held { function, reason } => {
                holds.push((event.at_ms, function.clone(), reason.clone()))
            }
            EventKind::Paused { .. } | EventKind::Unpaused { .. } => holds.push((
                event.at_ms,
                "the rollout".to_string(),
                super::words::lines(event, 0, false)
                    .join(" ")
                    .trim()
                    .to_string(),
            )),
            EventKind::HoldEnded { function, held_ms } => holds.push((
                event.at_ms,
                function.clone(),
                format!("hold over: held {held_ms} so far, the bake's clock runs again"),
            )),
            EventKind::Hook {
                function,
                script,
                verdict,
            } => others.push(format!(
                "{} hook {script} on {function}: {verdict}",
                Millis(event.at_ms)
            )),
            // A region's end, in a waved rollout: the rollout's own comes last.
            EventKind::Finished { .. } if event.region.is_some() => {}
            EventKind::Finished {
                outcome: name,
                message,
                exit_code,
            } => {
                let class = if *exit_code == 0 { "ok" } else { "bad" };
                outcome = (class, format!("{message} (exit {exit_code}; {name})"));
            }
            _ => {}
        }
    }
    if let Some(last) = weight.last().copied() {
        weight.push((end, last.1));
    }
    for points in by_region.values_mut() {
        if let Some(last) = points.last().copied() {
            points.push((end, last.1));
        }
    }
    let _ = write!(
        body,
        "<p class=\"muted\">{}</p>",
        escape(&targets.join("; "))
    );
    let _ = write!(
        body,
        "<p class=\"outcome {}\" id=\"outcome\">{}</p>",
        outcome.0,
        escape(&outcome.1)
    );
    if !facts.is_empty() {
        body.push_str("<table>");
        for (k, v) in facts {
            let _ = write!(
                body,
                "<tr><th>{}</th><td>{}</td></tr>",
                escape(k),
                escape(v)
            );
        }
        body.push_str("</table>");
    }
    body.push_str("<h2>Steps</h2><table><tr><th>at</th><th>step</th></tr>");
    for (at, n, text) in &steps {
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{n}. {}</td></tr>",
            Millis(*at),
            escape(text)
        );
    }
    body.push_str("</table>");
    if !lanes.is_empty() {
        body.push_str(&lane(&lanes, end));
    }
    body.push_str("<h2>Traffic on new</h2>");
    let series: Vec<Series<'_>> = if by_region.is_empty() {
        vec![Series {
            name: "new",
            colour: "--new",
            points: weight,
        }]
    } else {
        const COLOURS: [&str; 5] = ["--new", "--old", "--limit", "--ok", "--bad"];
        by_region
            .iter()
            .enumerate()
            .map(|(i, (region, points))| Series {
                name: region,
                colour: COLOURS[i % COLOURS.len()],
                points: points.clone(),
            })
            .collect()
    };
    body.push_str(&chart(
        "weight on new (%)",
        &minutes,
        &|v| format!("{v:.0}%"),
        &series,
        end,
        100.0,
    ));
    body.push_str("<h2>Health</h2>");
    if checks.is_empty() {
        body.push_str("<p class=\"muted\">no count check was evaluated</p>");
    }
    for (check, m) in checks {
        let Measured {
            new,
            old,
            threshold: limit,
            rollback,
            promotion,
        } = m;
        let top = new
            .iter()
            .chain(&old)
            .chain(&limit)
            .map(|p| p.1)
            .fold(0.0_f64, f64::max)
            .max(0.01)
            * 1.2;
        body.push_str(&chart(
            &format!("{check}: measured so far (%)"),
            &minutes,
            &|v| format!("{v:.2}%"),
            &[
                Series {
                    name: "new",
                    colour: "--new",
                    points: new,
                },
                Series {
                    name: "old",
                    colour: "--old",
                    points: old,
                },
                Series {
                    name: "threshold",
                    colour: "--limit",
                    points: limit,
                },
            ],
            end,
            top,
        ));
        body.push_str(&chart(
            &format!("{check}: the judge's evidence (1 = decided)"),
            &minutes,
            &|v| format!("{v:.1}"),
            &[
                Series {
                    name: "towards rollback",
                    colour: "--bad",
                    points: rollback,
                },
                Series {
                    name: "towards promotion",
                    colour: "--ok",
                    points: promotion,
                },
            ],
            end,
            1.0,
        ));
    }
    if !latest.is_empty() {
        body.push_str("<h2>Alarms and other checks (latest evaluation)</h2><table><tr><th>check</th><th>at</th><th>verdict</th><th>detail</th></tr>");
        for (check, (at, verdict, detail)) in &latest {
            let _ = write!(
                body,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(check),
                Millis(*at),
                escape(verdict),
                escape(detail)
            );
        }
        body.push_str("</table>");
    }
    if !holds.is_empty() {
        body.push_str("<h2 id=\"holds\">Holds</h2><p class=\"muted\">While old failed as much as a check allows new, traffic stayed where it was and the bake's clock stood still; health was still judged.</p><table><tr><th>at</th><th>function</th><th>what</th></tr>");
        for (at, function, what) in &holds {
            let _ = write!(
                body,
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                Millis(*at),
                escape(function),
                escape(what)
            );
        }
        body.push_str("</table>");
    }
    if !others.is_empty() {
        body.push_str("<h2>Hooks</h2><ul>");
        for line in others {
            let _ = write!(body, "<li>{}</li>", escape(&line));
        }
        body.push_str("</ul>");
    }
    let _ = write!(body, "<h2>Playbook</h2><pre>{}</pre>", escape(playbook));
    page(title, &body)
}

/// The report of `summary`'s runs: the outcome shares and the histogram of time to decide.
pub fn runs(title: &str, playbook: &str, summary: &Runs<'_>) -> String {
    let mut body = format!("<h1>{}</h1>", escape(title));
    let share = |n: usize| 100.0 * n as f64 / summary.runs.max(1) as f64;
    let _ = write!(
        body,
        "<p class=\"outcome\" id=\"outcome\">{} runs: promoted {:.1}%, rolled back {:.1}%, inconclusive {:.1}%</p>",
        summary.runs,
        share(summary.promoted),
        share(summary.rolled_back),
        share(summary.inconclusive)
    );
    let longest = summary.decide_ms.iter().copied().max().unwrap_or(0).max(1) as f64;
    let bins = 30;
    let mut counts = vec![0usize; bins];
    for &d in summary.decide_ms {
        let i = ((d as f64 / longest) * (bins - 1) as f64).round() as usize;
        counts[i.min(bins - 1)] += 1;
    }
    let most = counts.iter().copied().max().unwrap_or(1).max(1) as f64;
    let (w, h) = (900.0, 240.0);
    let mut svg = format!("<h3>time to decide</h3><svg class=\"chart\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" role=\"img\" aria-label=\"time to decide\">");
    let bar = (w - 60.0) / bins as f64;
    for (i, c) in counts.iter().enumerate() {
        let height = (*c as f64 / most) * (h - 40.0);
        let _ = write!(svg, "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{height:.1}\" fill=\"var(--old)\"><title>{c} runs</title></rect>", 50.0 + i as f64 * bar, h - 28.0 - height, bar - 2.0);
    }
    for i in 0..=4 {
        let v = longest * i as f64 / 4.0;
        let _ = write!(
            svg,
            "<text x=\"{:.1}\" y=\"{}\">{}</text>",
            50.0 + (w - 60.0) * i as f64 / 4.0 - 12.0,
            h - 8.0,
            escape(&minutes(v))
        );
    }
    svg.push_str("</svg>");
    body.push_str(&svg);
    let _ = write!(body, "<h2>Playbook</h2><pre>{}</pre>", escape(playbook));
    page(title, &body)
}

/// The report of a sweep: the operating curve.
pub fn sweep(title: &str, playbook: &str, points: &[CurvePoint]) -> String {
    let mut body = format!("<h1>{}</h1>", escape(title));
    let _ = write!(
        body,
        "<p class=\"outcome\" id=\"outcome\">operating curve over {} error rates of new</p>",
        points.len()
    );
    let curve: Vec<(f64, f64)> = points
        .iter()
        .map(|p| {
            (
                p.error_rate,
                100.0 * p.rolled_back as f64 / p.runs.max(1) as f64,
            )
        })
        .collect();
    let top = points
        .iter()
        .map(|p| p.error_rate)
        .fold(0.0_f64, f64::max)
        .max(0.01);
    body.push_str(&chart(
        "share rolled back against new's error rate",
        &|v| format!("{v:.2}%"),
        &|v| format!("{v:.0}%"),
        &[Series {
            name: "rolled back",
            colour: "--bad",
            points: curve,
        }],
        top,
        100.0,
    ));
    body.push_str("<table><tr><th>new's error rate</th><th>rolled back</th><th>time to decide (median)</th></tr>");
    for p in points {
        let decide = p.median_decide_ms.map_or("–".to_string(), minutes);
        let _ = write!(
            body,
            "<tr><td>{:.2}%</td><td>{}/{}</td><td>{decide}</td></tr>",
            p.error_rate, p.rolled_back, p.runs
        );
    }
    body.push_str("</table>");
    let _ = write!(body, "<h2>Playbook</h2><pre>{}</pre>", escape(playbook));
    page(title, &body)
}

#[cfg(test)]
mod tests;
