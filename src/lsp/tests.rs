//! Every feature at once, on the examples: what an editor asks as it types.

use std::path::{Path, PathBuf};

use super::complete::complete;
use super::definition::definition;
use super::diagnostics::diagnostics;
use super::document::Doc;
use super::formatting::format;
use super::hover::hover;
use super::text::position;

fn examples() -> Vec<(PathBuf, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut out: Vec<(PathBuf, String)> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| {
            let path = e.unwrap().path();
            (path.extension().is_some_and(|x| x == "rollout"))
                .then(|| (path.clone(), std::fs::read_to_string(&path).unwrap()))
        })
        .collect();
    out.sort();
    out
}

#[test]
fn every_keystroke_of_every_example_is_answered_without_a_panic() {
    for (path, text) in examples() {
        let ends: Vec<usize> = text.char_indices().map(|(i, c)| i + c.len_utf8()).collect();
        for end in ends {
            let typed = &text[..end];
            let at = position(typed, typed.len());
            let doc = Doc {
                path: &path,
                on_disk: true,
            };
            diagnostics(doc, typed);
            hover(doc, typed, at);
            complete(doc, typed, at);
            definition(doc, typed, at);
            format(doc, typed);
        }
    }
}

#[test]
fn hovers_complete_and_definitions_know_the_playbook() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/two-stage.rollout");
    let text = std::fs::read_to_string(&path).unwrap();
    let path = Doc {
        path: &path,
        on_disk: true,
    };
    let at = |needle: &str| position(&text, text.find(needle).unwrap() + 1);
    assert!(hover(path, &text, at("publish"))
        .unwrap()
        .contains("freezes the $LATEST"));
    let items = complete(path, &text, position(&text, text.len()));
    assert!(items.iter().any(|c| c.label == "promote"));
    let health = text.find("health").unwrap();
    let inside = text[health..].find('\n').unwrap() + health + 1;
    let metrics = complete(path, &text, position(&text, inside));
    assert!(
        metrics.iter().any(|c| c.label == "error rate"),
        "{metrics:?}"
    );
}

#[test]
fn waves_have_hovers_and_their_own_completions() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/waves.rollout");
    let text = std::fs::read_to_string(&path).unwrap();
    let doc = Doc {
        path: &path,
        on_disk: true,
    };
    let at = |needle: &str| position(&text, text.find(needle).unwrap() + 1);
    assert!(hover(doc, &text, at("waves {"))
        .unwrap()
        .contains("one wave after another"));
    assert!(hover(doc, &text, at("between"))
        .unwrap()
        .contains("before the next one starts"));
    let labels = |offset: usize| -> Vec<String> {
        complete(doc, &text, position(&text, offset))
            .into_iter()
            .map(|c| c.label)
            .collect()
    };
    let waves = text.find("waves {").unwrap();
    let inside = text[waves..].find('\n').unwrap() + waves + 1;
    let in_block = labels(inside);
    assert!(in_block.contains(&"wave".to_string()), "{in_block:?}");
    assert!(in_block.contains(&"between waves wait".to_string()));
    assert!(!in_block.contains(&"publish".to_string()));
    // Inside a wave's braces too.
    let in_wave = labels(text.find("region \"us-west-2\"").unwrap());
    assert!(in_wave.contains(&"account".to_string()), "{in_wave:?}");
    // After the block, statements again.
    let after = labels(text.find("health every").unwrap());
    assert!(after.contains(&"publish".to_string()), "{after:?}");
    assert!(after.contains(&"waves".to_string()), "{after:?}");
    // `id` is a parameter's name as much as the end of `external id`: no keyword hover.
    let param = "param id = \"x\"\npublish \"${id}\"\npromote\n";
    assert!(!hover(doc, param, position(param, 7))
        .unwrap_or_default()
        .starts_with("**id**"));
}
