//! `cargo xtask codegen [--check]`: generate `wechatpay-api` (one module and one cargo feature per
//! family, the events, the endpoint metadata and the per-endpoint tests) from `api/spec/`.
//! `--check` regenerates in memory and fails when a committed file differs.

mod build;
mod emit;
mod json;
mod model;
mod names;
mod official;
mod official_tests;
mod v2;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

/// The families built by default: what most merchants use — payments and refunds, bills,
/// profit sharing, transfers (both APIs), and the certificate download. Pay-score (half of
/// these families' generated code, used by few merchants) and the rest are a feature away.
const DEFAULT_FAMILIES: &[&str] = &[
    "pay",
    "refund",
    "bill",
    "billdownload",
    "profitsharing",
    "transfer",
    "fund-app",
    "certificates",
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

fn read(p: &Path) -> Result<String, String> {
    std::fs::read_to_string(p).map_err(|e| format!("cannot read {}: {e}", p.display()))
}

fn rustfmt(src: &str) -> Result<String, String> {
    let mut child = Command::new("rustfmt")
        .args(["--edition", "2021", "--emit", "stdout", "--quiet"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run rustfmt: {e}"))?;
    {
        let mut stdin = child.stdin.take().ok_or("rustfmt stdin")?;
        let src = src.to_string();
        std::thread::spawn(move || stdin.write_all(src.as_bytes()));
    }
    let out = child
        .wait_with_output()
        .map_err(|e| format!("rustfmt: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "rustfmt failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    String::from_utf8(out.stdout).map_err(|e| e.to_string())
}

/// Every generated file: path (relative to the repository) → content.
fn generate() -> Result<BTreeMap<PathBuf, String>, String> {
    let root = root();
    let spec = root.join("api/spec");
    let catalog = json::parse(&read(&spec.join("catalog.json"))?)?;
    let webhooks = json::parse(&read(&spec.join("webhooks.json"))?)?;
    let go = json::parse(&read(&spec.join("official/go.json"))?)?;
    let java = json::parse(&read(&spec.join("official/java.json"))?)?;
    let ov = build::overrides(&json::parse(&read(&spec.join("names.json"))?)?)?;
    let merged = official::merge(&catalog, &webhooks, &go, &java, &ov.links)?;
    let families = build::families(&merged.entries, &ov)?;
    let mut files = BTreeMap::new();

    for f in DEFAULT_FAMILIES {
        if !families.iter().any(|x| x.name == *f) {
            return Err(format!("default family {f} is not in the catalog"));
        }
    }
    for f in &families {
        let name = names::item_ident(&f.name);
        files.insert(
            PathBuf::from(format!("api/src/families/{name}.rs")),
            rustfmt(&emit::family_file(f).map_err(|e| format!("family {}: {e}", f.name))?)?,
        );
    }
    files.insert(
        PathBuf::from("api/src/families.rs"),
        rustfmt(&emit::families_index(&families))?,
    );
    let (arena, tops) = build::events(&webhooks, &ov, &merged)?;
    // Every event type and the type that reads it.
    let mut pairs: Vec<(String, String)> = Vec::new();
    for f in &families {
        for (i, s) in f.arena.structs.iter().enumerate() {
            if s.merged_into.is_none() {
                for e in &s.events {
                    pairs.push((e.clone(), f.arena.struct_path(i)));
                }
            }
        }
    }
    for (id, kinds, _) in &tops {
        for k in kinds {
            pairs.push((k.clone(), arena.struct_path(*id)));
        }
    }
    pairs.sort();
    files.insert(
        PathBuf::from("api/src/events.rs"),
        rustfmt(&emit::events_file(&arena, &tops, &pairs)?)?,
    );
    files.insert(
        PathBuf::from("api/tests/typed/endpoints.rs"),
        rustfmt(&emit::tests_file(&families, &arena, &tops)?)?,
    );
    files.insert(
        PathBuf::from("api/tests/typed/official.rs"),
        rustfmt(&official_tests::tests_file(&go, &java, &families)?)?,
    );
    files.insert(
        PathBuf::from("api/src/endpoints.json"),
        emit::metadata(&families),
    );
    files.insert(
        PathBuf::from("api/spec/conflicts.md"),
        official::report(&merged),
    );
    let v2_spec = json::parse(&read(&spec.join("v2/endpoints.json"))?)?;
    let v2 = v2::parse(&v2_spec)?;
    files.insert(
        PathBuf::from("core/src/v2/paths.rs"),
        rustfmt(&v2::paths_file(&v2.endpoints, &v2.nonceless, &v2.signless))?,
    );
    files.insert(
        PathBuf::from("api/src/v2.rs"),
        rustfmt(&v2::api_file(&v2.endpoints))?,
    );
    files.insert(
        PathBuf::from("api/tests/typed/v2.rs"),
        rustfmt(&v2::tests_file(&v2.endpoints))?,
    );
    // The features section of api/Cargo.toml, between its markers.
    let manifest = read(&root.join("api/Cargo.toml"))?;
    files.insert(
        PathBuf::from("api/Cargo.toml"),
        replace_features(&manifest, &emit::features(&families, DEFAULT_FAMILIES))?,
    );
    let facade = read(&root.join("wechatpay/Cargo.toml"))?;
    files.insert(
        PathBuf::from("wechatpay/Cargo.toml"),
        replace_features(&facade, &emit::facade_features(&families, DEFAULT_FAMILIES))?,
    );
    Ok(files)
}

/// Replace the section between `# @generated features` and `# end of generated features`.
fn replace_features(manifest: &str, section: &str) -> Result<String, String> {
    let start = manifest
        .find("# @generated features")
        .ok_or("no `# @generated features` marker")?;
    let end_marker = "# end of generated features\n";
    let end = manifest
        .find(end_marker)
        .map(|i| i + end_marker.len())
        .ok_or("no end marker")?;
    Ok(format!(
        "{}{section}{}",
        &manifest[..start],
        &manifest[end..]
    ))
}

fn codegen(check: bool) -> Result<bool, String> {
    let root = root();
    let files = generate()?;
    let mut stale = Vec::new();
    for (rel, content) in &files {
        let path = root.join(rel);
        let current = std::fs::read_to_string(&path).ok();
        if current.as_deref() != Some(content.as_str()) {
            stale.push(rel.display().to_string());
            if !check {
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
                }
                std::fs::write(&path, content)
                    .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            }
        }
    }
    // Generated family files that the catalog no longer has.
    let dir = root.join("api/src/families");
    if let Ok(entries) = std::fs::read_dir(&dir) {
        for entry in entries.flatten() {
            let rel = PathBuf::from("api/src/families").join(entry.file_name());
            if !files.contains_key(&rel) {
                stale.push(format!("{} (no longer generated)", rel.display()));
                if !check {
                    std::fs::remove_file(entry.path()).map_err(|e| e.to_string())?;
                }
            }
        }
    }
    if check {
        if stale.is_empty() {
            println!("codegen: {} generated files are up to date", files.len());
            Ok(true)
        } else {
            eprintln!(
                "codegen --check: these files differ from what the generator makes (run `cargo xtask codegen` and commit):"
            );
            for s in &stale {
                eprintln!("  {s}");
            }
            Ok(false)
        }
    } else {
        println!("codegen: {} files, {} written", files.len(), stale.len());
        Ok(true)
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["codegen"] => codegen(false),
        ["codegen", "--check"] => codegen(true),
        _ => {
            eprintln!("usage: cargo xtask codegen [--check]");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("codegen: {e}");
            ExitCode::FAILURE
        }
    }
}
