//! The `ctx` object hooks see, and the requests it sends to the rollout.

use std::collections::BTreeMap;
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Instant;

use rhai::{Dynamic, Engine, EvalAltResult, Map};

use crate::cloud::{Invocation, Stat};
use crate::plan::{Millis, ParamValue, Which};
use crate::span::Span;

/// Every member of `ctx`; `check` reports any other.
pub const MEMBERS: &[&str] = &[
    "function",
    "functions",
    "alias",
    "old",
    "new",
    "weight",
    "elapsed",
    "param",
    "metric",
    "invoke",
    "invoke_version",
    "log",
];

/// What a hook knows about the rollout when it starts.
#[derive(Debug, Clone, Default)]
pub struct CtxData {
    /// The function this run of the hook is about.
    pub function: String,
    /// Every target function.
    pub functions: Vec<String>,
    /// The alias.
    pub alias: String,
    /// The version the alias served before.
    pub old: String,
    /// The version being rolled out (empty before it is known).
    pub new: String,
    /// Percent of the traffic on `new` now.
    pub weight: f64,
    /// Seconds since the rollout began.
    pub elapsed: f64,
    /// The playbook's parameters.
    pub params: BTreeMap<String, ParamValue>,
}

/// What a hook asks of the world.
#[derive(Debug)]
pub enum Request {
    /// A CloudWatch statistic of one version over the window ending now.
    Metric {
        /// Which statistic.
        stat: Stat,
        /// Of which version.
        which: Which,
        /// How far back.
        window: Millis,
        /// Where the value goes (`None`: no data).
        reply: mpsc::Sender<Option<f64>>,
    },
    /// An invocation of the alias (`which` = `None`) or of a version.
    Invoke {
        /// The version, or the alias.
        which: Option<Which>,
        /// The JSON payload.
        payload: String,
        /// Where the answer goes.
        reply: mpsc::Sender<Result<Invocation, String>>,
    },
    /// A line for the event stream.
    Log(String),
}

/// `ctx` inside the script.
#[derive(Debug, Clone)]
pub(super) struct Ctx {
    data: Arc<CtxData>,
    requests: tokio::sync::mpsc::UnboundedSender<Request>,
    deadline: Instant,
}

impl Ctx {
    pub(super) fn new(
        data: CtxData,
        requests: tokio::sync::mpsc::UnboundedSender<Request>,
        deadline: Instant,
    ) -> Self {
        Ctx {
            data: Arc::new(data),
            requests,
            deadline,
        }
    }

    fn ask<T>(
        &self,
        make: impl FnOnce(mpsc::Sender<T>) -> Request,
        what: &str,
    ) -> Result<T, Box<EvalAltResult>> {
        let (reply, answer) = mpsc::channel();
        self.requests
            .send(make(reply))
            .map_err(|_| error(format!("{what}: the rollout is no longer listening")))?;
        let left = self.deadline.saturating_duration_since(Instant::now());
        answer
            .recv_timeout(left)
            .map_err(|_| error(format!("{what}: no answer before the hook's deadline")))
    }
}

fn error(message: String) -> Box<EvalAltResult> {
    message.into()
}

fn which(text: &str) -> Result<Which, Box<EvalAltResult>> {
    match text {
        "new" => Ok(Which::New),
        "old" => Ok(Which::Old),
        other => Err(error(format!("expected \"new\" or \"old\", not {other:?}"))),
    }
}

/// `Invocations`/`Sum` and friends: the CloudWatch names a hook uses.
fn stat(name: &str, statistic: &str) -> Result<Stat, Box<EvalAltResult>> {
    Ok(match (name, statistic) {
        ("Invocations", "Sum") => Stat::Invocations,
        ("Errors", "Sum") => Stat::Errors,
        ("Throttles", "Sum") => Stat::Throttles,
        ("Duration", "Average") => Stat::DurationAvg,
        ("Duration", "Maximum") => Stat::DurationMax,
        ("ConcurrentExecutions", "Maximum") => Stat::ConcurrencyMax,
        ("Duration", p) if p.starts_with('p') => {
            let q: f64 = p[1..]
                .parse()
                .map_err(|_| error(format!("{p:?} is not a percentile such as \"p99\"")))?;
            if !(q > 0.0 && q < 100.0) {
                return Err(error(format!("{p:?} is not a percentile between p0 and p100")));
            }
            Stat::DurationPercentile(q)
        }
        _ => {
            return Err(error(format!(
                "no metric {name:?} with statistic {statistic:?}; use Invocations/Errors/Throttles with \"Sum\", Duration with \"Average\", \"Maximum\" or \"p99\", ConcurrentExecutions with \"Maximum\""
            )))
        }
    })
}

/// A window in seconds (a number) or as a duration string (`"5m"`).
fn window(value: &Dynamic) -> Result<Millis, Box<EvalAltResult>> {
    let seconds = if let Some(n) = value.clone().try_cast::<i64>() {
        n as f64
    } else if let Some(n) = value.clone().try_cast::<f64>() {
        n
    } else if let Some(text) = value.clone().try_cast::<rhai::ImmutableString>() {
        match ParamValue::parse(&text) {
            Some(ParamValue::Duration(d)) => d.0 as f64 / 1000.0,
            _ => return Err(error(format!("{text:?} is not a duration such as \"5m\""))),
        }
    } else {
        return Err(error(
            "a window is a number of seconds or a duration such as \"5m\"".into(),
        ));
    };
    if seconds < 1.0 {
        return Err(error(format!(
            "a window of {seconds}s is shorter than a second"
        )));
    }
    Ok(Millis((seconds * 1000.0) as u64))
}

fn payload_text(payload: &Dynamic) -> Result<String, Box<EvalAltResult>> {
    if let Some(text) = payload.clone().try_cast::<rhai::ImmutableString>() {
        return Ok(text.to_string());
    }
    let value: serde_json::Value = rhai::serde::from_dynamic(payload)?;
    Ok(value.to_string())
}

fn answer(result: Result<Invocation, String>) -> Map {
    let mut map = Map::new();
    match result {
        Ok(invocation) => {
            let json = serde_json::from_str::<serde_json::Value>(&invocation.body)
                .ok()
                .and_then(|v| rhai::serde::to_dynamic(v).ok())
                .unwrap_or(Dynamic::UNIT);
            map.insert("status".into(), (invocation.status as i64).into());
            map.insert("body".into(), invocation.body.into());
            map.insert("json".into(), json);
            map.insert("version".into(), invocation.version.into());
            map.insert(
                "error".into(),
                invocation.error.map_or(Dynamic::UNIT, Dynamic::from),
            );
        }
        Err(message) => {
            map.insert("status".into(), Dynamic::from(0_i64));
            map.insert("body".into(), "".into());
            map.insert("json".into(), Dynamic::UNIT);
            map.insert("version".into(), "".into());
            map.insert("error".into(), message.into());
        }
    }
    map
}

/// Registers `ctx`'s type and members.
pub(super) fn register(engine: &mut Engine) {
    engine.register_type_with_name::<Ctx>("Ctx");
    engine.register_get("function", |c: &mut Ctx| c.data.function.clone());
    engine.register_get("functions", |c: &mut Ctx| {
        c.data
            .functions
            .iter()
            .map(|f| Dynamic::from(f.clone()))
            .collect::<rhai::Array>()
    });
    engine.register_get("alias", |c: &mut Ctx| c.data.alias.clone());
    engine.register_get("old", |c: &mut Ctx| c.data.old.clone());
    engine.register_get(NEW, |c: &mut Ctx| c.data.new.clone());
    engine.register_get("weight", |c: &mut Ctx| c.data.weight);
    engine.register_get("elapsed", |c: &mut Ctx| c.data.elapsed);
    engine.register_fn(
        "param",
        |c: &mut Ctx, name: &str| -> Result<Dynamic, Box<EvalAltResult>> {
            match c.data.params.get(name) {
                Some(ParamValue::Percent(p)) => Ok(p.as_f64().into()),
                Some(ParamValue::Duration(d)) => Ok((d.0 as f64 / 1000.0).into()),
                Some(ParamValue::Number(n)) => Ok((*n).into()),
                Some(ParamValue::String(s)) => Ok(s.clone().into()),
                None => Err(error(format!("the playbook has no parameter {name:?}"))),
            }
        },
    );
    engine.register_fn(
        "metric",
        |c: &mut Ctx,
         name: &str,
         statistic: &str,
         version: &str,
         over: Dynamic|
         -> Result<Dynamic, Box<EvalAltResult>> {
            let (stat, which, window) = (stat(name, statistic)?, which(version)?, window(&over)?);
            let value = c.ask(
                |reply| Request::Metric {
                    stat,
                    which,
                    window,
                    reply,
                },
                "ctx.metric",
            )?;
            Ok(value.map_or(Dynamic::UNIT, Dynamic::from))
        },
    );
    engine.register_fn(
        "invoke",
        |c: &mut Ctx, payload: Dynamic| -> Result<Map, Box<EvalAltResult>> {
            let payload = payload_text(&payload)?;
            let result = c.ask(
                |reply| Request::Invoke {
                    which: None,
                    payload,
                    reply,
                },
                "ctx.invoke",
            )?;
            Ok(answer(result))
        },
    );
    engine.register_fn(
        "invoke_version",
        |c: &mut Ctx, version: &str, payload: Dynamic| -> Result<Map, Box<EvalAltResult>> {
            let which = Some(which(version)?);
            let payload = payload_text(&payload)?;
            let result = c.ask(
                |reply| Request::Invoke {
                    which,
                    payload,
                    reply,
                },
                "ctx.invoke_version",
            )?;
            Ok(answer(result))
        },
    );
    engine.register_fn("log", |c: &mut Ctx, message: &str| {
        let _ = c.requests.send(Request::Log(message.to_string()));
    });
}

/// rhai reserves the word `new`, so `ctx.new` would not compile; [`prepare`] renames it to
/// this name of the same length, which keeps every position in the script where it was.
const NEW: &str = "nEw";

/// The script as rhai compiles it: `ctx.new` renamed to [`NEW`].
pub(super) fn prepare(text: &str) -> String {
    let mut out = text.to_string();
    for (span, name) in members_used(text) {
        if name == "new" {
            out.replace_range(span.start..span.end, NEW);
        }
    }
    out
}

/// Every `ctx.NAME` in a script outside comments and plain strings, with its span.
pub(super) fn members_used(text: &str) -> Vec<(Span, String)> {
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                i = text[i..].find('\n').map_or(bytes.len(), |n| i + n);
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i = text[i + 2..]
                    .find("*/")
                    .map_or(bytes.len(), |n| i + 2 + n + 2);
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            b'c' if text[i..].starts_with("ctx")
                && (i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_')) =>
            {
                let mut j = i + 3;
                while j < bytes.len() && (bytes[j] == b' ' || bytes[j] == b'\t') {
                    j += 1;
                }
                if bytes.get(j) == Some(&b'.') {
                    j += 1;
                    while j < bytes.len() && (bytes[j] == b' ' || bytes[j] == b'\t') {
                        j += 1;
                    }
                    let start = j;
                    while j < bytes.len() && (bytes[j].is_ascii_alphanumeric() || bytes[j] == b'_')
                    {
                        j += 1;
                    }
                    if j > start {
                        found.push((Span::new(start, j), text[start..j].to_string()));
                    }
                }
                i = j.max(i + 3);
            }
            _ => i += 1,
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_members_outside_comments_and_strings() {
        let text = "// ctx.nope\nlet x = ctx.metric(\"a\"); /* ctx.gone */ let s = \"ctx.text\"; ctx . weight; myctx.other";
        let names: Vec<String> = members_used(text).into_iter().map(|(_, n)| n).collect();
        assert_eq!(names, vec!["metric", "weight"]);
    }
}
