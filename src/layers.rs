//! The layering of docs/architecture.md, checked on the source: every `crate::<module>` a
//! top-level module names (in `use` or in a path) is an edge, and the edges have no cycle; `aws`
//! and `spec` name no other module and `plan` only `spec`. Test only: reads `src/` and nothing
//! else.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The top-level modules whose edges are checked.
const MODULES: &[&str] = &["apply", "aws", "baseline", "cli", "live", "ops", "plan", "spec"];

/// The top-level modules each one names, from its source files (comments left out).
fn edges(source: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut edges = BTreeMap::new();
    for module in MODULES {
        let mut files = Vec::new();
        let file = source.join(format!("{module}.rs"));
        if file.is_file() {
            files.push(file);
        }
        collect(&source.join(module), &mut files);
        let named: BTreeSet<String> = files
            .iter()
            .filter_map(|file| std::fs::read_to_string(file).ok())
            .flat_map(|text| named_modules(&text))
            .filter(|named| named != module && MODULES.contains(&named.as_str()))
            .collect();
        edges.insert(module.to_string(), named);
    }
    edges
}

fn collect(folder: &Path, files: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = std::fs::read_dir(folder) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, files);
        } else if path.extension().is_some_and(|extension| extension == "rs") {
            files.push(path);
        }
    }
}

/// Every top-level module `text` names as `crate::<module>` or inside `crate::{...}`.
fn named_modules(text: &str) -> Vec<String> {
    let code: String = text
        .lines()
        .map(|line| match line.find("//") {
            Some(at) => &line[..at],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n");
    let identifier = |rest: &str| -> String {
        rest.trim_start().chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect()
    };
    let mut named = Vec::new();
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // `crate::{a::b, c}`: the first segment of each item at the group's top level.
            let mut depth = 0usize;
            let mut item_start = true;
            for (index, character) in group.char_indices() {
                match character {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => item_start = true,
                    c if item_start && !c.is_whitespace() => {
                        named.push(identifier(&group[index..]));
                        item_start = false;
                    }
                    _ => {}
                }
            }
        } else {
            named.push(identifier(rest));
        }
    }
    named
}

/// A cycle among `edges`, as the modules along it, if there is one.
fn cycle(edges: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        module: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|on_path| on_path == module) {
            let mut found = path[at..].to_vec();
            found.push(module.to_string());
            return Some(found);
        }
        if done.contains(module) {
            return None;
        }
        path.push(module.to_string());
        for next in edges.get(module).into_iter().flatten() {
            if let Some(found) = visit(next, edges, path, done) {
                return Some(found);
            }
        }
        path.pop();
        done.insert(module.to_string());
        None
    }
    let mut done = BTreeSet::new();
    edges.keys().find_map(|module| visit(module, edges, &mut Vec::new(), &mut done))
}

#[test]
fn top_level_modules_import_one_way() {
    let edges = edges(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    assert!(edges["apply"].contains("plan") && edges["cli"].contains("ops"), "the scan finds edges: {edges:?}");
    if let Some(found) = cycle(&edges) {
        panic!("import cycle among top-level modules: {}\nedges: {edges:?}", found.join(" -> "));
    }
    assert!(edges["aws"].is_empty(), "aws names {:?}", edges["aws"]);
    assert!(edges["spec"].is_empty(), "spec names {:?}", edges["spec"]);
    assert!(edges["plan"].iter().all(|named| named == "spec"), "plan names {:?}", edges["plan"]);
}

/// `plan`, `apply`, `live`, `ops` and `cli` reach baselines through the registry and the trait,
/// never by name: every `baseline::<folder>` path there is reported.
#[test]
fn the_stages_name_no_particular_baseline() {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let baselines: Vec<String> = std::fs::read_dir(source.join("baseline"))
        .map(|entries| {
            entries
                .flatten()
                .filter(|entry| entry.path().is_dir())
                .map(|entry| entry.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    assert!(baselines.iter().any(|name| name == "guardduty"), "{baselines:?}");
    let mut files = Vec::new();
    for stage in ["plan", "apply", "live", "ops", "cli"] {
        collect(&source.join(stage), &mut files);
    }
    let mut named = Vec::new();
    for file in &files {
        let Ok(text) = std::fs::read_to_string(file) else { continue };
        for (number, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or_default();
            for name in &baselines {
                let path = format!("baseline::{name}");
                let whole = code.match_indices(&path).any(|(at, _)| {
                    !code[at + path.len()..].starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
                });
                if whole {
                    named.push(format!("{}:{}: {}", file.display(), number + 1, line.trim()));
                }
            }
        }
    }
    assert!(named.is_empty(), "a stage names a baseline (make it a `Baseline` method):\n{}", named.join("\n"));
}

#[test]
fn the_scan_reads_paths_groups_and_skips_comments() {
    let text = "use crate::{aws::errors, plan::{self, x}};\n// crate::ops is a comment\nlet a = crate::live::read();";
    assert_eq!(named_modules(text), ["aws", "plan", "live"]);
    let looped = BTreeMap::from([
        ("a".to_string(), BTreeSet::from(["b".to_string()])),
        ("b".to_string(), BTreeSet::from(["a".to_string()])),
    ]);
    assert_eq!(cycle(&looped), Some(vec!["a".to_string(), "b".to_string(), "a".to_string()]));
    let acyclic =
        BTreeMap::from([("a".to_string(), BTreeSet::from(["b".to_string()])), ("b".to_string(), BTreeSet::new())]);
    assert_eq!(cycle(&acyclic), None);
}
