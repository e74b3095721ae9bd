//! The HTML reports in a real headless browser (Debian's Chromium, which `scripts/test`
//! installs): the charts are there and rendered with a size, the outcome is shown, and the page
//! logs no error to the console. The screenshots in docs/ come from the same pages.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::test::{root, Test};

/// Renders the report of `simulate examples/canary.rollout` with `extra` to `path`.
fn report(path: &Path, extra: &[&str], status: i32) {
    let path = path.display().to_string();
    let mut args = vec![
        "simulate",
        "examples/canary.rollout",
        "--report",
        path.as_str(),
    ];
    args.extend(extra);
    let _ = Test::new().args(args).status(status).run();
}

/// Chromium's DOM of `page` after it loaded, and what it logged.
fn open(page: &Path, screenshot: Option<&Path>) -> (String, String) {
    let url = format!("file://{}", page.display());
    let run = |extra: &[String]| {
        Command::new("chromium")
            .args(["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--enable-logging=stderr", "--v=0"])
            .args(extra)
            .arg(&url)
            .output()
            .unwrap_or_else(|e| panic!("chromium does not start ({e}): `scripts/test` installs it (apt-get install chromium)"))
    };
    let out = run(&["--dump-dom".to_string()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    if let Some(shot) = screenshot {
        let out = run(&[
            "--window-size=1100,1500".to_string(),
            format!("--screenshot={}", shot.display()),
        ]);
        assert!(out.status.success());
    }
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs Chromium: `scripts/test` installs it and runs these (cargo test --features e2e)"
)]
fn reports_render_in_a_browser_with_sized_charts_the_outcome_and_no_console_errors() {
    let dir: PathBuf = root().join("target/reports");
    std::fs::create_dir_all(&dir).unwrap();
    let cases: [(&str, Vec<&str>, i32, &str); 3] = [
        ("promoted", vec![], 0, "promoted: new serves all traffic"),
        (
            "rolled-back",
            vec!["--error-rate", "new=2%"],
            1,
            "rolled back at step 3",
        ),
        (
            "sweep",
            vec!["--sweep", "new=0%..4%", "--runs", "20"],
            0,
            "operating curve over 11 error rates",
        ),
    ];
    for (name, extra, status, outcome) in cases {
        let page = dir.join(format!("report-{name}.html"));
        report(&page, &extra, status);
        let shot = dir.join(format!("report-{name}.png"));
        let (dom, log) = open(&page, Some(&shot));
        assert!(dom.contains(outcome), "{name}: the outcome is shown");
        let charts = dom.matches("<svg class=\"chart\"").count();
        let rendered: Vec<(u32, u32)> = dom
            .split("data-rendered=\"")
            .skip(1)
            .filter_map(|rest| {
                let size = rest.split('"').next()?;
                let (w, h) = size.split_once('x')?;
                Some((w.parse().ok()?, h.parse().ok()?))
            })
            .collect();
        assert!(charts > 0, "{name}: charts are present");
        assert_eq!(rendered.len(), charts, "{name}: every chart rendered");
        assert!(
            rendered.iter().all(|&(w, h)| w > 300 && h > 80),
            "{name}: sized {rendered:?}"
        );
        let console: Vec<&str> = log
            .lines()
            .filter(|l| l.contains("CONSOLE") || l.contains("Uncaught"))
            .collect();
        assert!(console.is_empty(), "{name}: console errors {console:?}");
        assert!(
            std::fs::metadata(&shot).is_ok_and(|m| m.len() > 10_000),
            "{name}: a screenshot"
        );
    }
}
