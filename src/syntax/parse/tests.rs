//! The parser on valid and invalid text: the AST built for each construct, and the errors.

use super::*;
use crate::diagnostic::source;

fn parse_ok(text: &str) -> File {
    match parse(&source("t", text.to_string())) {
        Ok(file) => file,
        Err(diags) => panic!("{text:?} does not parse: {}", diags[0].message),
    }
}

/// The first syntax error of `text`.
fn parse_err(text: &str) -> Diag {
    parse_errs(text).remove(0)
}

/// Every syntax error of `text`.
fn parse_errs(text: &str) -> Vec<Diag> {
    parse(&source("t", text.to_string())).expect_err("should not parse")
}

fn steps(text: &str) -> Vec<StepKind> {
    parse_ok(text)
        .statements
        .into_iter()
        .map(|s| match s {
            Statement::Step(step) => step.kind,
            Statement::Header(h) => panic!("unexpected header {h:?}"),
        })
        .collect()
}

fn header(text: &str) -> HeaderKind {
    match parse_ok(text).statements.remove(0) {
        Statement::Header(h) => h.kind,
        Statement::Step(s) => panic!("unexpected step {s:?}"),
    }
}

fn health_items(text: &str) -> Vec<HealthItemKind> {
    match header(text) {
        HeaderKind::Health(block) => block.items.into_iter().map(|i| i.kind).collect(),
        other => panic!("not health: {other:?}"),
    }
}

fn lit(kind: LiteralKind) -> Value {
    Value::Literal(Literal {
        kind,
        span: Span::default(),
    })
}

fn pct(text: &str) -> Value {
    lit(LiteralKind::Percent(text.into()))
}

fn dur(text: &str) -> Value {
    lit(LiteralKind::Duration(text.into()))
}

fn ident(name: &str) -> Ident {
    Ident {
        name: name.into(),
        span: Span::default(),
    }
}

fn plain(text: &str) -> Str {
    Str {
        parts: vec![StrPart::Text(text.into())],
        span: Span::default(),
    }
}

#[test]
fn the_one_liner_parses_as_it_is() {
    assert_eq!(
        steps("publish; shift 5% to new; wait 10m until healthy; promote"),
        vec![
            StepKind::Publish(None),
            StepKind::Shift(pct("5")),
            StepKind::Wait {
                duration: dur("10m"),
                longest: None,
                until_healthy: true
            },
            StepKind::Promote,
        ]
    );
}

#[test]
fn an_adaptive_bake_names_its_shortest_and_longest_duration() {
    assert_eq!(
        steps("wait 2m..20m until healthy\nwait short..long until healthy"),
        vec![
            StepKind::Wait {
                duration: dur("2m"),
                longest: Some(dur("20m")),
                until_healthy: true
            },
            StepKind::Wait {
                duration: Value::Param(Ident {
                    name: "short".into(),
                    span: Span::new(32, 37)
                }),
                longest: Some(Value::Param(Ident {
                    name: "long".into(),
                    span: Span::new(39, 43)
                })),
                until_healthy: true
            },
        ]
    );
}

#[test]
fn separators_comments_and_blank_lines() {
    let text = "\n# c\npublish ; ; promote # end\n\n;\r\nrollback\n";
    assert_eq!(
        steps(text),
        vec![
            StepKind::Publish(None),
            StepKind::Promote,
            StepKind::Rollback
        ]
    );
    assert!(parse_ok("").statements.is_empty());
    assert!(parse_ok("# only a comment").statements.is_empty());
}

#[test]
fn every_step() {
    assert_eq!(
        steps(
            "update code from \"dist/app.zip\"\npublish \"d\"\nuse version 42\nramp to 50% by 10% every 5m\nwait 30s\napprove\napprove \"ok?\"\nrun \"s.rhai\" timeout 10s\nbake(5%, t)\n{ promote }"
        ),
        vec![
            StepKind::UpdateCode(plain("dist/app.zip")),
            StepKind::Publish(Some(plain("d"))),
            StepKind::UseVersion(lit(LiteralKind::Number("42".into()))),
            StepKind::Ramp {
                to: pct("50"),
                by: pct("10"),
                every: dur("5m")
            },
            StepKind::Wait {
                duration: dur("30s"),
                longest: None,
                until_healthy: false
            },
            StepKind::Approve(None),
            StepKind::Approve(Some(plain("ok?"))),
            StepKind::Run(HookRef {
                script: plain("s.rhai"),
                timeout: Some(dur("10s"))
            }),
            StepKind::Call {
                name: ident("bake"),
                args: vec![pct("5"), Value::Param(ident("t"))]
            },
            StepKind::Block(Block {
                steps: vec![Step {
                    kind: StepKind::Promote,
                    span: Span::default()
                }],
                close: Span::default()
            }),
        ]
    );
}

#[test]
fn every_header() {
    assert_eq!(header("rollout \"n\""), HeaderKind::Rollout(plain("n")));
    let name = |text: &str| Selector {
        tagged: false,
        text: plain(text),
    };
    assert_eq!(
        header("function \"a\", \"b\",\"c\""),
        HeaderKind::Function(vec![name("a"), name("b"), name("c")])
    );
    assert_eq!(
        header("function \"checkout-*\", tagged \"team=checkout\""),
        HeaderKind::Function(vec![
            name("checkout-*"),
            Selector {
                tagged: true,
                text: plain("team=checkout"),
            }
        ])
    );
    assert_eq!(header("alias \"live\""), HeaderKind::Alias(plain("live")));
    assert_eq!(
        header("region \"eu-west-1\""),
        HeaderKind::Region(plain("eu-west-1"))
    );
    assert_eq!(
        header("import \"c.rollout\""),
        HeaderKind::Import(plain("c.rollout"))
    );
    assert_eq!(
        header("param bake = 1h30m"),
        HeaderKind::Param {
            name: ident("bake"),
            value: Literal {
                kind: LiteralKind::Duration("1h30m".into()),
                span: Span::default()
            }
        }
    );
    assert_eq!(
        header("on failure run \"page.rhai\""),
        HeaderKind::OnHook {
            event: HookEvent::Failure,
            hook: HookRef {
                script: plain("page.rhai"),
                timeout: None
            }
        }
    );
    assert_eq!(
        header("on success run \"a.rhai\" timeout 1m"),
        HeaderKind::OnHook {
            event: HookEvent::Success,
            hook: HookRef {
                script: plain("a.rhai"),
                timeout: Some(dur("1m"))
            }
        }
    );
    match header("step bake(weight, time) {\n  shift weight to new\n}") {
        HeaderKind::StepDef(def) => {
            assert_eq!(def.name, ident("bake"));
            assert_eq!(def.params, vec![ident("weight"), ident("time")]);
            assert_eq!(def.body.steps.len(), 1);
        }
        other => panic!("{other:?}"),
    }
    match header("health every 2m {}") {
        HeaderKind::Health(block) => {
            assert_eq!(block.every, Some(dur("2m")));
            assert!(block.items.is_empty());
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn literals() {
    for (text, kind) in [
        ("500ms", LiteralKind::Duration("500ms".into())),
        ("1h30m", LiteralKind::Duration("1h30m".into())),
        ("1d", LiteralKind::Duration("1d".into())),
        ("0.5%", LiteralKind::Percent("0.5".into())),
        ("12.5", LiteralKind::Number("12.5".into())),
    ] {
        assert_eq!(parse_literal(text).map(|l| l.kind), Some(kind), "{text}");
    }
    assert_eq!(parse_literal("10min"), None);
    assert_eq!(parse_literal("5 %"), None);
}

#[test]
fn strings_with_escapes_and_interpolation() {
    let s = match header(r#"rollout "a \"b\" \\ \n\t ${name}!""#) {
        HeaderKind::Rollout(s) => s,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        s.parts,
        vec![
            StrPart::Text("a \"b\" \\ \n\t ".into()),
            StrPart::Param(ident("name")),
            StrPart::Text("!".into()),
        ]
    );
    assert_eq!(
        parse_err("rollout \"a\\q\"").code,
        crate::diagnostic::Code::Syntax
    );
    assert!(parse_err("rollout \"open").message.contains("closing `\"`"));
}

#[test]
fn health_settings() {
    assert_eq!(
        health_items(
            "health { min invocations 50; inconclusive pass; alarm \"a\"; script \"s.rhai\" }"
        ),
        vec![
            HealthItemKind::MinInvocations(lit(LiteralKind::Number("50".into()))),
            HealthItemKind::Inconclusive(Inconclusive::Pass),
            HealthItemKind::Alarm(plain("a")),
            HealthItemKind::Script(HookRef {
                script: plain("s.rhai"),
                timeout: None
            }),
        ]
    );
    let minutes = |n: &str| lit(LiteralKind::Duration(n.into()));
    assert_eq!(
        health_items(
            "health { shared failure hold up to 45m; shared failure hold; shared failure rollback; warm up 2m; warm up 1m including errors; async }"
        ),
        vec![
            HealthItemKind::SharedFailure(Some(Some(minutes("45m")))),
            HealthItemKind::SharedFailure(Some(None)),
            HealthItemKind::SharedFailure(None),
            HealthItemKind::WarmUp {
                length: minutes("2m"),
                errors: false
            },
            HealthItemKind::WarmUp {
                length: minutes("1m"),
                errors: true
            },
            HealthItemKind::Async,
        ]
    );
}

fn comparison(text: &str) -> Comparison {
    match health_items(&format!("health {{ {text} }}")).remove(0) {
        HealthItemKind::Compare(c) => *c,
        other => panic!("{other:?}"),
    }
}

fn metric(m: Metric, of: Option<Which>, over: Option<Value>) -> Expr {
    Expr {
        kind: ExprKind::Metric(MetricRef {
            metric: m,
            of,
            over,
        }),
        span: Span::default(),
    }
}

fn custom(name: &str, per_invocation: bool) -> Metric {
    Metric::Custom(CustomRef {
        name: name.into(),
        per_invocation,
        index: 0,
        counts: false,
    })
}

#[test]
fn a_metric_header_and_its_lines() {
    let file = parse_ok(
        "metric orders {\n  namespace \"Shop\"; name \"OrdersPlaced\"\n  statistic sample count\n  version dimension \"v\"\n  dimension \"Service\" = \"checkout\"\n}",
    );
    let Statement::Header(Header {
        kind: HeaderKind::Metric(def),
        ..
    }) = &file.statements[0]
    else {
        panic!("{file:?}");
    };
    assert_eq!(def.name.name, "orders");
    let kinds: Vec<&MetricItemKind> = def.items.iter().map(|i| &i.kind).collect();
    assert!(
        matches!(kinds[0], MetricItemKind::Namespace(s) if s.as_plain().as_deref() == Some("Shop"))
    );
    assert!(matches!(kinds[1], MetricItemKind::Name(_)));
    assert_eq!(*kinds[2], MetricItemKind::Statistic(Statistic::SampleCount));
    assert!(matches!(kinds[3], MetricItemKind::VersionDimension(_)));
    assert!(
        matches!(kinds[4], MetricItemKind::Dimension(k, v) if k.as_plain().as_deref() == Some("Service") && v.as_plain().as_deref() == Some("checkout"))
    );
    for (text, statistic) in [
        ("sum", Statistic::Sum),
        ("average", Statistic::Average),
        ("minimum", Statistic::Minimum),
        ("maximum", Statistic::Maximum),
        ("p99.9", Statistic::Percentile(99.9)),
    ] {
        let file = parse_ok(&format!("metric m {{ statistic {text} }}"));
        let Statement::Header(Header {
            kind: HeaderKind::Metric(def),
            ..
        }) = &file.statements[0]
        else {
            panic!("{file:?}");
        };
        assert_eq!(def.items[0].kind, MetricItemKind::Statistic(statistic));
    }
}

#[test]
fn every_metric_and_operator() {
    for (text, m) in [
        ("invocations", Metric::Invocations),
        ("errors", Metric::Errors),
        ("error rate", Metric::ErrorRate),
        ("throttles", Metric::Throttles),
        ("p50 duration", Metric::Percentile("50".into())),
        ("p99.9 duration", Metric::Percentile("99.9".into())),
        ("avg duration", Metric::AvgDuration),
        ("max duration", Metric::MaxDuration),
        ("concurrency", Metric::Concurrency),
        ("cold starts", Metric::ColdStarts),
        ("p99 init duration", Metric::InitPercentile("99".into())),
        ("avg init duration", Metric::AvgInitDuration),
        ("max init duration", Metric::MaxInitDuration),
        ("orders", custom("orders", false)),
        ("orders per invocation", custom("orders", true)),
        // Not reserved: a name that begins like a built-in metric is a metric's name.
        ("cold", custom("cold", false)),
    ] {
        for op in ["<", "<=", ">", ">=", "==", "!="] {
            let c = comparison(&format!("{text} {op} 1"));
            assert_eq!(c.lhs, metric(m.clone(), None, None), "{text}");
            assert_eq!(c.op.as_str(), op);
        }
    }
}

#[test]
fn of_and_over() {
    let c = comparison("p99 duration of new < 1.2 * p99 duration of old over 5m");
    assert_eq!(
        c.over,
        Some(dur("5m")),
        "a trailing over belongs to the comparison"
    );
    match c.rhs.kind {
        ExprKind::Binary {
            op: BinOp::Mul,
            rhs,
            ..
        } => {
            assert_eq!(
                *rhs,
                metric(Metric::Percentile("99".into()), Some(Which::Old), None)
            );
        }
        other => panic!("{other:?}"),
    }
    let c = comparison("errors over 2m < 5");
    assert_eq!(c.lhs, metric(Metric::Errors, None, Some(dur("2m"))));
    assert_eq!(c.over, None);
    let c = comparison("(errors over 2m) < 5 over 10m");
    assert_eq!(c.over, Some(dur("10m")));
}

#[test]
fn precedence_and_parentheses() {
    let c = comparison("errors + errors * 2 < (invocations - 1) / 3");
    match c.lhs.kind {
        ExprKind::Binary {
            op: BinOp::Add,
            rhs,
            ..
        } => {
            assert!(matches!(rhs.kind, ExprKind::Binary { op: BinOp::Mul, .. }));
        }
        other => panic!("{other:?}"),
    }
    match c.rhs.kind {
        ExprKind::Binary {
            op: BinOp::Div,
            lhs,
            ..
        } => {
            assert!(matches!(lhs.kind, ExprKind::Paren(_)));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn keywords_are_reserved_but_prefixes_are_names() {
    assert!(parse_err("param healthy = 5%")
        .message
        .contains("expected a name"));
    assert!(parse_err("param publish = 5%")
        .message
        .contains("expected a name"));
    for name in [
        "health_max",
        "publisher",
        "errors_total",
        "p99",
        "newest",
        "to_go",
    ] {
        parse_ok(&format!("param {name} = 5%"));
    }
}

#[test]
fn syntax_errors_say_what_was_expected_in_words() {
    let diag = parse_err("publish\nshift 5% new");
    assert_eq!(diag.message, "expected `to`, found `new`");
    assert_eq!(diag.position(), Some((2, 10)));
    let diag = parse_err("wait 10min");
    assert_eq!(diag.message, "expected a value, found `10min`");
    let diag = parse_err("deploy now");
    assert_eq!(diag.message, "`deploy` is not a header or a step");
    // A multi-byte character right before a word at the point of failure.
    let diag = parse_err("publish\né1 x");
    assert_eq!(diag.code, crate::diagnostic::Code::Syntax);
    let diag = parse_err("publish\néab now");
    assert_eq!(diag.code, crate::diagnostic::Code::Syntax);
    assert!(!diag.help.is_empty());
}

#[test]
fn spans_point_at_the_source() {
    let file = parse_ok("publish\n  shift 5% to new");
    match &file.statements[1] {
        Statement::Step(step) => {
            assert_eq!((step.span.start, step.span.end), (10, 25));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn nesting_is_followed_to_its_limit_and_refused_past_it() {
    let braces = |n: usize| format!("publish\n{}promote{}\n", "{ ".repeat(n), " }".repeat(n));
    let parens = |n: usize| {
        format!(
            "health {{\n  error rate < {}1%{}\n}}\npublish\n",
            "(".repeat(n),
            ")".repeat(n)
        )
    };
    parse_ok(&braces(MAX_NESTING));
    parse_ok(&parens(MAX_NESTING - 1));
    for text in [braces(MAX_NESTING + 1), parens(MAX_NESTING * 50)] {
        let diag = parse_err(&text);
        assert_eq!(
            diag.code,
            crate::diagnostic::Code::TooDeep,
            "{}",
            diag.message
        );
        assert!(diag.message.contains("nested more than 100 deep"));
    }
    // Brackets in strings and comments are text.
    parse_ok(&format!(
        "rollout \"{}\"\n# {}\npublish\n",
        "(".repeat(500),
        "{".repeat(500)
    ));
}

#[test]
fn every_broken_statement_is_reported_once_with_a_likely_word() {
    let diags = parse_errs(
        "function \"f\"\nalias \"live\"\npublsh\nshift 5% to new\nwiat 10m until healthy\nshift 50% to nwe; promote\n",
    );
    let said: Vec<(usize, &str, &str)> = diags
        .iter()
        .map(|d| (d.position().unwrap().0, d.message.as_str(), d.help.as_str()))
        .collect();
    assert_eq!(said.len(), 3, "{said:#?}");
    assert_eq!(said[0].0, 3);
    assert_eq!(said[0].2, "did you mean `publish`?");
    assert_eq!(said[1].0, 5);
    assert_eq!(said[1].2, "did you mean `wait`?");
    assert_eq!(said[2].0, 6);
    assert!(said[2].1.contains("expected `new`"), "{}", said[2].1);
    // Many broken lines: each costs a parse, so the count stops at the cap.
    let many: String = (0..200).map(|i| format!("shft {i}% to new\n")).collect();
    assert_eq!(parse_errs(&many).len(), MAX_SYNTAX_ERRORS);
}

#[test]
fn a_byte_order_mark_is_not_text() {
    let file = parse_ok("\u{feff}function \"f\"\nalias \"live\"\npublish\npromote\n");
    assert_eq!(file.statements.len(), 4);
}

mod notify;
mod waves;
mod windows;
