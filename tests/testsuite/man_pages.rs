//! `landing-zone man`: the man pages, generated from the command line's own definitions: the main
//! page names every command, each command's page its own options, and groff formats them cleanly.

use std::process::{Command, Stdio};

fn landing_zone(args: &[&str], dir: &std::path::Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_landing-zone"))
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .expect("run landing-zone")
}

#[test]
fn the_man_page_names_every_command_and_each_command_has_its_page() {
    let dir = tempfile::tempdir().expect("dir");
    let output = landing_zone(&["man"], dir.path());
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    let page = String::from_utf8_lossy(&output.stdout);
    assert!(page.starts_with(".ie \\n(.g") || page.contains(".TH landing-zone"), "roff: {page:.200}");
    for command in ["validate", "plan", "apply", "import", "audit", "graph", "history", "completions", "man"] {
        assert!(page.contains(command), "the main page lacks `{command}`");
    }

    let written = landing_zone(&["man", "--out", "pages"], dir.path());
    assert_eq!(written.status.code(), Some(0), "{}", String::from_utf8_lossy(&written.stderr));
    let pages = dir.path().join("pages");
    for (file, option) in [
        ("landing-zone.1", "no\\-color"),
        ("landing-zone-plan.1", "detailed\\-exitcode"),
        ("landing-zone-validate.1", "sarif"),
        ("landing-zone-history-show.1", "ID"),
    ] {
        let text = std::fs::read_to_string(pages.join(file)).unwrap_or_else(|error| panic!("{file}: {error}"));
        assert!(text.contains(option), "{file} lacks `{option}`");
    }
    assert!(!pages.join("landing-zone-help.1").exists(), "no page for clap's own `help`");

    // groff formats the page without a warning (when groff is installed).
    if let Ok(groff) = Command::new("groff")
        .args(["-man", "-Tutf8", "-ww"])
        .arg(pages.join("landing-zone-plan.1"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
    {
        assert!(groff.status.success() && groff.stderr.is_empty(), "{}", String::from_utf8_lossy(&groff.stderr));
        let shown = String::from_utf8_lossy(&groff.stdout);
        assert!(shown.contains("landing-zone-plan") || shown.contains("landing-zone plan"), "{shown:.300}");
    }
}
