//! The layers import only downwards: each folder of `src/` never names the modules it
//! must not depend on (the import rules of docs/decisions.md, "Layout").

use std::path::Path;

/// (folder, modules it never uses). `service` may use the provider registry and the
/// `Provider` trait, never a concrete upstream's adapter.
const RULES: &[(&str, &[&str])] = &[
    (
        "domain",
        &["api", "service", "store", "providers", "jobs", "sandbox", "startup"],
    ),
    ("store", &["api", "service", "providers", "jobs", "sandbox", "startup"]),
    (
        "service",
        &[
            "api",
            "jobs",
            "sandbox",
            "startup",
            "providers::latcom",
            "providers::smartcall",
            "providers::datamart",
        ],
    ),
    ("api", &["providers", "sandbox", "jobs", "startup"]),
    ("jobs", &["api", "store", "sandbox", "startup"]),
    ("providers", &["store", "api", "service", "jobs", "sandbox", "startup"]),
    ("sandbox", &["api", "service", "store", "jobs", "startup"]),
];

fn sources(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The crate paths a line names: `crate::a::b::C` gives `a::b::C`, and a group
/// `crate::{a, b::c}` gives `a` and `b::c`.
fn used_modules(line: &str) -> Vec<String> {
    let mut used = Vec::new();
    for (i, _) in line.match_indices("crate::") {
        let rest = &line[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let group = &group[..group.find('}').unwrap_or(group.len())];
            used.extend(group.split(',').map(|p| p.trim().to_string()).filter(|p| !p.is_empty()));
        } else {
            let end = rest
                .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                .unwrap_or(rest.len());
            used.push(rest[..end].to_string());
        }
    }
    used
}

#[test]
fn the_path_reader_sees_plain_and_grouped_imports() {
    assert_eq!(
        used_modules("use crate::store::transactions as txns;"),
        ["store::transactions"]
    );
    assert_eq!(used_modules("use crate::{jobs, store::mod};"), ["jobs", "store::mod"]);
}

#[test]
fn each_layer_imports_only_what_it_may() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut broken = Vec::new();
    for (folder, forbidden) in RULES {
        let mut files = Vec::new();
        sources(&src.join(folder), &mut files);
        assert!(!files.is_empty(), "src/{folder} exists");
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            let code = text
                .lines()
                .enumerate()
                .filter(|(_, l)| !l.trim_start().starts_with("//"));
            for (n, line) in code {
                for used in used_modules(line) {
                    if forbidden
                        .iter()
                        .any(|m| used == *m || used.starts_with(&format!("{m}::")))
                    {
                        broken.push(format!("{}:{}: uses {used}", file.display(), n + 1));
                    }
                }
            }
        }
    }
    assert!(broken.is_empty(), "{}", broken.join("\n"));
}
