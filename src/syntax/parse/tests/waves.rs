//! The `waves` block: its lines, short forms, reserved words and syntax errors.

use super::*;

fn waves(text: &str) -> WavesBlock {
    match header(text) {
        HeaderKind::Waves(block) => block,
        other => panic!("not waves: {other:?}"),
    }
}

#[test]
fn waves_hold_waves_the_bake_between_and_what_a_failure_rolls_back() {
    let block = waves(
        "waves {\n  wave \"first region\" { region \"us-east-1\" }\n  wave \"europe\" { region \"eu-west-1\", \"eu-central-1\" }\n  wave \"rest\" {\n    region \"us-west-2\", \"ap-southeast-2\"\n    account \"222222222222\" role \"arn:aws:iam::222222222222:role/rollout\" external id \"x-7\"\n  }\n  between waves wait 30m until healthy\n  on failure rollback every wave\n}",
    );
    let kinds: Vec<WavesItemKind> = block.items.into_iter().map(|i| i.kind).collect();
    let wave = |name: &str, items: Vec<WaveItemKind>| {
        WavesItemKind::Wave(WaveDef {
            name: plain(name),
            items: items
                .into_iter()
                .map(|kind| WaveItem {
                    kind,
                    span: Span::default(),
                })
                .collect(),
            close: Span::default(),
        })
    };
    let regions = |names: &[&str]| WaveItemKind::Regions(names.iter().map(|n| plain(n)).collect());
    assert_eq!(
        kinds,
        vec![
            wave("first region", vec![regions(&["us-east-1"])]),
            wave("europe", vec![regions(&["eu-west-1", "eu-central-1"])]),
            wave(
                "rest",
                vec![
                    regions(&["us-west-2", "ap-southeast-2"]),
                    WaveItemKind::Account {
                        id: plain("222222222222"),
                        role: plain("arn:aws:iam::222222222222:role/rollout"),
                        external_id: Some(plain("x-7")),
                    }
                ]
            ),
            WavesItemKind::Between {
                duration: dur("30m"),
                until_healthy: true
            },
            WavesItemKind::OnFailure(WaveScope::EveryWave),
        ]
    );
}

#[test]
fn waves_lines_have_their_short_forms_and_separators() {
    let block = waves(
        "waves { wave \"a\" { region \"eu-west-1\"; region \"eu-west-2\"; account \"1\" role \"r\" }; between waves wait gap; on failure rollback this wave }",
    );
    assert_eq!(block.items.len(), 3);
    match &block.items[0].kind {
        WavesItemKind::Wave(wave) => {
            assert_eq!(wave.items.len(), 3);
            assert_eq!(
                wave.items[2].kind,
                WaveItemKind::Account {
                    id: plain("1"),
                    role: plain("r"),
                    external_id: None
                }
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        block.items[1].kind,
        WavesItemKind::Between {
            duration: Value::Param(ident("gap")),
            until_healthy: false
        }
    );
    assert_eq!(
        block.items[2].kind,
        WavesItemKind::OnFailure(WaveScope::ThisWave)
    );
    // Empty blocks parse: the checker says what is missing.
    assert!(waves("waves {}").items.is_empty());
    assert!(waves("waves {\n  wave \"a\" {}\n}").items.len() == 1);
    // Interpolation, as in every string.
    match &waves("waves { wave \"${env}\" { region \"${r}\" } }").items[0].kind {
        WavesItemKind::Wave(wave) => assert!(wave.name.as_plain().is_none()),
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_words_of_waves_are_reserved_but_id_stays_a_name() {
    for word in [
        "waves", "wave", "account", "role", "between", "this", "external",
    ] {
        assert!(
            parse_err(&format!("param {word} = 5%"))
                .message
                .contains("expected a name"),
            "{word}"
        );
    }
    parse_ok("param id = \"x-7\"\nparam wavelength = 5%\nparam roles = 5%\nparam ids = 1");
    parse_ok("param id = \"x-7\"\nwaves { wave \"a\" { region \"eu-west-1\"; account \"1\" role \"r\" external id \"${id}\" } }");
    // `id` is a word after `external` only.
    let diag = parse_err("waves { wave \"a\" { account \"1\" role \"r\" external \"x\" } }");
    assert!(diag.message.contains("expected `id`"), "{}", diag.message);
}

#[test]
fn waves_syntax_errors_say_what_a_waves_block_holds() {
    let diag = parse_err("waves {\n  regoin \"eu-west-1\"\n}");
    assert_eq!(
        diag.message,
        "expected `between`, `on`, `wave` or `}`, found `regoin`"
    );
    assert!(diag.help.contains("a `waves` block holds"), "{}", diag.help);
    let diag = parse_err("waves {\n  wave \"a\" { regions \"eu-west-1\" }\n}");
    assert_eq!(
        diag.message,
        "expected `account`, `region` or `}`, found `regions`"
    );
    assert!(diag.help.contains("a wave holds"), "{}", diag.help);
    let diag = parse_err("waves {\n  on failure rollback all waves\n}");
    assert_eq!(diag.message, "expected `every` or `this`, found `all`");
    let diag = parse_err("waves {\n  between wait 5m\n}");
    assert_eq!(diag.message, "expected `waves`, found `wait`");
    let diag = parse_err("wavs {\n}");
    assert!(
        diag.message.contains("`wavs` is not a header"),
        "{}",
        diag.message
    );
}
