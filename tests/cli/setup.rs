//! Set-up mistakes end before anything is called, with exit 2 and what to fix.

use crate::test::Test;

#[test]
fn a_region_in_no_partition_is_a_usage_error_not_a_network_failure() {
    let playbook = "function \"f\"\nalias \"live\"\npublish\nshift 5% to new\nwait 10m until healthy\npromote\n";
    for args in [
        &["run", "p.rollout", "--yes", "--region", "xx-nowhere-1"][..],
        &[
            "status",
            "--function",
            "f",
            "--alias",
            "live",
            "--region",
            "mars-north-1",
        ],
        &["plan", "p.rollout", "--live", "--region", "xx-nowhere-1"],
    ] {
        Test::temp()
            .file("p.rollout", playbook)
            .args(args.iter().copied())
            .status(2)
            .stderr_contains("in none of AWS's partitions")
            .run();
    }
}
