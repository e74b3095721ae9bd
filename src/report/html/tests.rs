use super::rollout;
use crate::cloud::Alias;
use crate::engine::events::{Event, EventKind};

fn alias(version: &str, routing: &[(&str, f64)]) -> Alias {
    Alias {
        version: version.into(),
        routing: routing.iter().map(|(v, w)| (v.to_string(), *w)).collect(),
        revision_id: String::new(),
        description: String::new(),
    }
}

/// The points of the weight chart's line.
fn weight_line(html: &str) -> &str {
    let at = html.find("weight on new (%)").unwrap();
    let line = &html[at..][html[at..].find("points=\"").unwrap() + 8..];
    &line[..line.find('"').unwrap()]
}

#[test]
fn the_chart_puts_all_traffic_on_new_when_new_alone_serves_whatever_the_step_is_called() {
    let at = |at_ms: u64, kind: EventKind| Event {
        at_ms,
        region: None,
        kind,
    };
    let events = [
        at(
            0,
            EventKind::StepStarted {
                step: 1,
                text: "a step by any name".into(),
            },
        ),
        at(
            1_000,
            EventKind::VersionsChosen {
                function: "f".into(),
                old: "1".into(),
                new: "2".into(),
            },
        ),
        at(
            60_000,
            EventKind::AliasUpdated {
                function: "f".into(),
                before: alias("1", &[]),
                after: alias("1", &[("2", 0.5)]),
            },
        ),
        at(
            120_000,
            EventKind::AliasUpdated {
                function: "f".into(),
                before: alias("1", &[("2", 0.5)]),
                after: alias("2", &[]),
            },
        ),
    ];
    let html = rollout("t", "", &events, &[]);
    let heights: Vec<&str> = weight_line(&html)
        .split(' ')
        .map(|p| p.split(',').nth(1).unwrap())
        .collect();
    // 0% is drawn at y 232, 50% at 121, 100% at 10.
    assert_eq!(heights.last(), Some(&"10.0"), "{heights:?}");
    assert!(heights.contains(&"121.0"), "{heights:?}");
}

#[test]
fn a_waved_rollout_has_a_lane_per_wave_and_a_line_per_region() {
    let at = |at_ms: u64, region: Option<&str>, kind: EventKind| Event {
        at_ms,
        region: region.map(String::from),
        kind,
    };
    let chosen = |region| {
        at(
            1_000,
            Some(region),
            EventKind::VersionsChosen {
                function: "f".into(),
                old: "1".into(),
                new: "2".into(),
            },
        )
    };
    let promoted = |t, region| {
        at(
            t,
            Some(region),
            EventKind::AliasUpdated {
                function: "f".into(),
                before: alias("1", &[]),
                after: alias("2", &[]),
            },
        )
    };
    let events = [
        at(
            0,
            None,
            EventKind::WaveStarted {
                wave: "first".into(),
                index: 1,
                waves: 2,
                regions: vec!["us-east-1".into()],
            },
        ),
        chosen("us-east-1"),
        promoted(60_000, "us-east-1"),
        at(
            60_000,
            None,
            EventKind::WavePassed {
                wave: "first".into(),
            },
        ),
        at(
            60_000,
            None,
            EventKind::WaveStarted {
                wave: "second".into(),
                index: 2,
                waves: 2,
                regions: vec!["eu-west-1".into()],
            },
        ),
        at(
            60_000,
            Some("eu-west-1"),
            EventKind::Started {
                name: None,
                functions: vec!["f".into()],
                alias: "live".into(),
                steps: 4,
            },
        ),
        chosen("eu-west-1"),
        at(
            90_000,
            None,
            EventKind::WaveFailed {
                wave: "second".into(),
                reason: "eu-west-1: rolled back".into(),
                skipped: Vec::new(),
            },
        ),
        at(
            90_000,
            Some("eu-west-1"),
            EventKind::Finished {
                outcome: "rolled_back".into(),
                exit_code: 1,
                message: "a region's end".into(),
            },
        ),
        at(
            90_000,
            None,
            EventKind::Finished {
                outcome: "rolled_back".into(),
                exit_code: 1,
                message: "the rollout's end".into(),
            },
        ),
    ];
    let html = rollout("t", "", &events, &[]);
    assert!(html.contains("<h2>Waves</h2>"), "{html}");
    assert!(
        html.contains("<title>first: 0s to 1m, passed</title>"),
        "{html}"
    );
    assert!(
        html.contains("<title>second: 1m to 1m30s, failed</title>"),
        "{html}"
    );
    // One line of traffic for each region, named by it.
    assert!(html.contains("<title>us-east-1</title>") && html.contains("<title>eu-west-1</title>"));
    assert!(html.contains("the rollout&#39;s end") || html.contains("the rollout's end"));
    assert!(
        !html.contains("a region's end"),
        "the rollout's own end is the outcome"
    );
}
