//! Random and mutated YAML never panics the spec loader: it may accept or reject, never crash.
//! Bounded for CI; the unbounded version is the cargo-fuzz target in fuzz/.

use std::path::Path;

use proptest::prelude::*;

fn seed() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("landing-zone.yaml")).expect("spec")
}

fn load(text: String) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("landing-zone.yaml");
    let _ = landing_zone::baseline::load_spec_from_str(&path, text);
}

/// One edit to the seed: delete a range, insert a YAML-significant fragment, duplicate a line.
#[derive(Debug, Clone)]
enum Mutation {
    Delete { at: usize, len: usize },
    Insert { at: usize, fragment: &'static str },
    DuplicateLine { line: usize },
    Truncate { at: usize },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let fragments = prop::sample::select(vec![
        ":",
        "- ",
        "{",
        "}",
        "[",
        "]",
        "&a ",
        "*a",
        "!!str ",
        "\t",
        "\n",
        "  ",
        "'",
        "\"",
        "#",
        "? ",
        "|\n",
        ">-\n",
        "~",
        "null",
        "99999999999999999999",
        "-1",
        "\u{0}",
        "é",
        "%YAML 1.2\n---\n",
        "<<: *a\n",
        "... \n",
    ]);
    prop_oneof![
        (any::<usize>(), 0usize..40).prop_map(|(at, len)| Mutation::Delete { at, len }),
        (any::<usize>(), fragments).prop_map(|(at, fragment)| Mutation::Insert { at, fragment }),
        any::<usize>().prop_map(|line| Mutation::DuplicateLine { line }),
        any::<usize>().prop_map(|at| Mutation::Truncate { at }),
    ]
}

fn boundary(text: &str, at: usize) -> usize {
    let mut at = at % (text.len() + 1);
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

fn apply(mut text: String, mutation: &Mutation) -> String {
    match mutation {
        Mutation::Delete { at, len } => {
            let start = boundary(&text, *at);
            let end = boundary(&text, (start + len).min(text.len()));
            if end > start {
                text.replace_range(start..end, "");
            }
        }
        Mutation::Insert { at, fragment } => {
            let at = boundary(&text, *at);
            text.insert_str(at, fragment);
        }
        Mutation::DuplicateLine { line } => {
            let lines: Vec<&str> = text.lines().collect();
            if !lines.is_empty() {
                let index = line % lines.len();
                let mut out: Vec<&str> = lines.clone();
                out.insert(index, lines[index]);
                text = out.join("\n");
            }
        }
        Mutation::Truncate { at } => {
            let at = boundary(&text, *at);
            text.truncate(at);
        }
    }
    text
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_text_never_panics(text in ".{0,400}") {
        load(text);
    }

    #[test]
    fn mutated_specs_never_panic(mutations in prop::collection::vec(mutation(), 1..6)) {
        let text = mutations.iter().fold(seed(), apply);
        load(text);
    }
}
