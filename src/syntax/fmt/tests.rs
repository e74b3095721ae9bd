use super::*;
use crate::diagnostic::source;

fn fmt(text: &str) -> String {
    let file = crate::syntax::parse(&source("t", text.to_string())).expect("parses");
    let once = format(&file, text);
    let again = crate::syntax::parse(&source("once", once.clone())).expect("output parses");
    assert!(same_statements(&file, &again), "fmt changed {text:?}");
    assert_eq!(
        format(&again, &once),
        once,
        "fmt not idempotent on {text:?}"
    );
    once
}

#[test]
fn waves_follow_the_targets_a_wave_of_regions_on_one_line() {
    assert_eq!(
        fmt("publish;promote\nwaves{wave \"first region\"{region \"us-east-1\"}\nwave \"europe\" {\nregion \"eu-west-1\",\"eu-central-1\"\n}\nbetween waves   wait 30m until healthy;on failure rollback every wave}\nalias \"live\"\nfunction \"checkout-api\"\n"),
        "function \"checkout-api\"\nalias \"live\"\nwaves {\n  wave \"first region\" { region \"us-east-1\" }\n  wave \"europe\" { region \"eu-west-1\", \"eu-central-1\" }\n  between waves wait 30m until healthy\n  on failure rollback every wave\n}\n\npublish\npromote\n"
    );
}

#[test]
fn a_wave_with_an_account_or_several_lines_or_too_wide_spreads_over_lines() {
    assert_eq!(
        fmt("waves { wave \"rest\" { region \"us-west-2\"; account \"222222222222\" role \"arn:aws:iam::222222222222:role/rollout\" external id \"x-7\" }; between waves wait gap; on failure rollback this wave }"),
        "waves {\n  wave \"rest\" {\n    region \"us-west-2\"\n    account \"222222222222\" role \"arn:aws:iam::222222222222:role/rollout\" external id \"x-7\"\n  }\n  between waves wait gap\n  on failure rollback this wave\n}\n"
    );
    assert_eq!(
        fmt("waves { wave \"eu\" { region \"eu-west-1\"; region \"eu-west-2\" } }"),
        "waves {\n  wave \"eu\" {\n    region \"eu-west-1\"\n    region \"eu-west-2\"\n  }\n}\n"
    );
    let regions: Vec<String> = (1..=8).map(|i| format!("\"ap-south-{i}\"")).collect();
    let wide = format!(
        "waves {{ wave \"asia\" {{ region {} }} }}",
        regions.join(", ")
    );
    assert_eq!(
        fmt(&wide),
        format!(
            "waves {{\n  wave \"asia\" {{\n    region {}\n  }}\n}}\n",
            regions.join(", ")
        )
    );
    // Exactly the width fits.
    let name = "n".repeat(WIDTH - "  wave \"\" { region \"eu-west-1\" }".len());
    let fits = format!("waves {{\n  wave \"{name}\" {{ region \"eu-west-1\" }}\n}}\n");
    assert_eq!(fmt(&fits), fits);
    assert_eq!(fmt("waves {}"), "waves {\n}\n");
    assert_eq!(
        fmt("waves { wave \"a\" {} }"),
        "waves {\n  wave \"a\" {\n  }\n}\n"
    );
}

#[test]
fn comments_in_waves_stay_where_they_were_written() {
    // A comment inside a wave keeps it on several lines; one after a wave's last brace ends
    // that line.
    let text = "waves {\n  # the canary region\n  wave \"first\" { region \"us-east-1\" }  # smallest\n  wave \"eu\" {\n    # Ireland only for now\n    region \"eu-west-1\"\n  }\n  wave \"us\" {\n    region \"us-west-2\"\n  }  # last\n  # the bake\n  between waves wait 30m\n  # end\n}\n";
    assert_eq!(fmt(text), text);
    assert_eq!(
        fmt("waves {\n  wave \"a\" {  # why\n    region \"us-east-1\"\n  }\n}\n"),
        "waves {\n  wave \"a\" {  # why\n    region \"us-east-1\"\n  }\n}\n"
    );
}

#[test]
fn notify_lines_follow_the_hooks_in_their_own_group_in_the_order_written() {
    assert_eq!(
        fmt("publish\nnotify   sns \"arn:aws:sns:eu-west-1:123456789012:t\"\non success run \"a.rhai\"\nnotify eventbridge  \"rollouts\" # ops\nfunction \"f\"\nstep s() { promote }\n"),
        "function \"f\"\n\non success run \"a.rhai\"\n\nnotify sns \"arn:aws:sns:eu-west-1:123456789012:t\"\nnotify eventbridge \"rollouts\"  # ops\n\nstep s() {\n  promote\n}\n\npublish\n"
    );
}

#[test]
fn new_error_signatures_print_their_parts_in_order_and_time_after_one() {
    assert_eq!(
        fmt("health {\nno   new error   signatures seen more than 1 times matching \"ERROR|\\\\[x\\\\]\"   in \"/g\"\nobserve no new error signatures seen more than n time\n}"),
        "health {\n  no new error signatures seen more than 1 time matching \"ERROR|\\\\[x\\\\]\" in \"/g\"\n  observe no new error signatures seen more than n times\n}\n"
    );
    // `no` and the words after it are not reserved: a parameter may be called so.
    assert_eq!(
        fmt("param no = 5\nparam seen = 1\nhealth {\n  errors < no + seen\n}"),
        "param no = 5\nparam seen = 1\n\nhealth {\n  errors < no + seen\n}\n"
    );
}
