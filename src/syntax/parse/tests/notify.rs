//! `notify` lines: the two services, their words, and syntax errors.

use super::*;

#[test]
fn notify_names_a_service_and_where_it_sends() {
    assert_eq!(
        header("notify eventbridge \"rollouts\""),
        HeaderKind::Notify {
            service: NotifyService::EventBridge,
            target: plain("rollouts"),
        }
    );
    assert_eq!(
        header("notify sns \"arn:aws:sns:eu-west-1:123456789012:releases\""),
        HeaderKind::Notify {
            service: NotifyService::Sns,
            target: plain("arn:aws:sns:eu-west-1:123456789012:releases"),
        }
    );
    let file = parse_ok("notify sns \"a\"\nnotify eventbridge \"b\"\nnotify sns \"c\"\npublish");
    assert_eq!(file.statements.len(), 4, "several lines, each a header");
}

#[test]
fn notify_is_reserved_but_its_services_are_names() {
    assert!(parse_err("param notify = 5%")
        .message
        .contains("expected a name"));
    for name in ["sns", "eventbridge", "notifying"] {
        parse_ok(&format!("param {name} = 5%"));
    }
}

#[test]
fn a_notify_line_without_its_service_says_which_there_are() {
    let diag = parse_err("notify \"rollouts\"");
    assert_eq!(diag.message, "expected `eventbridge` or `sns`, found `\"`");
    assert!(diag.help.contains("notify eventbridge"), "{}", diag.help);
    let diag = parse_err("notify slack \"x\"");
    assert_eq!(
        diag.message,
        "expected `eventbridge` or `sns`, found `slack`"
    );
    let diag = parse_err("notify sns");
    assert!(
        diag.message.ends_with("found the end of the file"),
        "{}",
        diag.message
    );
    let diag = parse_err("notif sns \"x\"");
    assert!(diag.help.contains("`notify`"), "{}", diag.help);
}
