//! The server's modules import each other in one direction only (architecture guide §6):
//! `routes → {oauth, interaction} → authz → {accounts, upstream, clients, tokens, keys} →
//! {config, protocol, store}`. A circle between two top-level modules fails this test, naming it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every `crate::name` a text mentions.
fn crate_paths(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut rest = text;
    while let Some(i) = rest.find("crate::") {
        rest = &rest[i + "crate::".len()..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if !name.is_empty() {
            found.insert(name);
        }
    }
    found
}

/// Top-level module → the top-level modules it imports.
fn module_graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../server/src");
    let mut graph = BTreeMap::new();
    for entry in std::fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        if name == "lib" || name == "main" {
            continue;
        }
        let mut files = Vec::new();
        if path.is_dir() {
            rust_files(&path, &mut files);
        } else {
            files.push(path);
        }
        let mut deps = BTreeSet::new();
        for f in files {
            deps.extend(crate_paths(&std::fs::read_to_string(f).unwrap()));
        }
        deps.remove(&name);
        graph.insert(name, deps);
    }
    graph
}

fn path_to(
    graph: &BTreeMap<String, BTreeSet<String>>,
    from: &str,
    to: &str,
    seen: &mut BTreeSet<String>,
) -> Option<Vec<String>> {
    for next in graph.get(from).into_iter().flatten() {
        if next == to {
            return Some(vec![next.clone()]);
        }
        if graph.contains_key(next)
            && seen.insert(next.clone())
            && let Some(mut rest) = path_to(graph, next, to, seen)
        {
            rest.insert(0, next.clone());
            return Some(rest);
        }
    }
    None
}

#[test]
fn the_server_modules_import_each_other_in_one_direction_only() {
    let graph = module_graph();
    assert!(graph.contains_key("authz") && graph.contains_key("oauth"));
    let mut circles = Vec::new();
    for module in graph.keys() {
        if let Some(path) = path_to(&graph, module, module, &mut BTreeSet::new()) {
            circles.push(format!("{module} → {}", path.join(" → ")));
        }
    }
    assert!(
        circles.is_empty(),
        "import circles:\n{}",
        circles.join("\n")
    );
}

#[test]
fn authz_is_below_the_pages_and_endpoints_that_use_it() {
    let graph = module_graph();
    for above in ["oauth", "interaction", "routes"] {
        assert!(!graph["authz"].contains(above), "authz imports {above}");
    }
    assert!(graph["oauth"].contains("authz") && graph["interaction"].contains("authz"));
}

#[test]
fn the_protocol_vocabulary_imports_nothing_of_the_server() {
    let graph = module_graph();
    assert!(graph["protocol"].is_empty(), "{:?}", graph["protocol"]);
}
