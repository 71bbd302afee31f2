//! `landing-zone completions SHELL`: a completion script for each shell, generated from the
//! command line's own definitions.

use std::io::Write;
use std::process::{Command, Stdio};

fn completions(shell: &str) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_landing-zone"))
        .args(["completions", shell])
        .stdin(Stdio::null())
        .output()
        .expect("run landing-zone")
}

#[test]
fn every_shell_gets_a_script_naming_the_commands() {
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let output = completions(shell);
        assert_eq!(output.status.code(), Some(0), "{shell}: {}", String::from_utf8_lossy(&output.stderr));
        let script = String::from_utf8_lossy(&output.stdout);
        for word in ["landing-zone", "validate", "plan", "apply", "init", "completions", "auto-approve"] {
            assert!(script.contains(word), "{shell} script lacks `{word}`");
        }
    }
    // The bash script loads and registers a completion for the binary.
    let script = completions("bash").stdout;
    let mut bash = Command::new("bash")
        .args(["-c", "source /dev/stdin && complete -p landing-zone"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("bash");
    bash.stdin.take().expect("stdin").write_all(&script).expect("write script");
    let registered = bash.wait_with_output().expect("bash output");
    assert!(registered.status.success() && String::from_utf8_lossy(&registered.stdout).contains("landing-zone"));
    // An unknown shell is a usage error naming the choices.
    let unknown = completions("tcsh");
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("powershell"));
}
