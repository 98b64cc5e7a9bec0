//! The READMEs speak the facade's language: their Rust examples (compiled as doctests of the
//! crates whose docs they are, or of this crate) name only `wechatpay::…`, as a user with the
//! one dependency `wechatpay-rs` writes them.

use std::path::Path;

/// The crates a user of the facade does not depend on by name.
const INNER: [&str; 8] = [
    "wechatpay_core",
    "wechatpay_api",
    "wechatpay_ureq",
    "wechatpay_hyper",
    "wechatpay_reqwest",
    "wechatpay_axum",
    "wechatpay_redis",
    "wechatpay_sandbox",
];

/// The fenced blocks of `text` whose info string starts with `lang`.
fn blocks<'a>(text: &'a str, lang: &str) -> Vec<&'a str> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("```") {
        let after = &rest[start + 3..];
        let info_end = after.find('\n').unwrap_or(after.len());
        let body = &after[info_end..];
        let end = body.find("```").unwrap_or(body.len());
        if after[..info_end].starts_with(lang) {
            out.push(&body[..end]);
        }
        rest = &body[(end + 3).min(body.len())..];
    }
    out
}

#[test]
fn readme_examples_name_only_the_facade() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut readmes = vec![root.join("README.md")];
    for entry in std::fs::read_dir(&root).unwrap() {
        let p = entry.unwrap().path().join("README.md");
        if p.is_file() {
            readmes.push(p);
        }
    }
    assert!(readmes.len() >= 10, "{readmes:?}");
    let mut examples = 0;
    for readme in &readmes {
        let text = std::fs::read_to_string(readme).unwrap();
        for block in blocks(&text, "rust") {
            examples += 1;
            for inner in INNER {
                assert!(
                    !block.contains(inner),
                    "{}: a Rust example names {inner}; write wechatpay::…",
                    readme.display()
                );
            }
        }
        for block in blocks(&text, "toml") {
            assert!(
                !block
                    .lines()
                    .any(|l| l.trim_start().starts_with("wechatpay =")),
                "{}: the facade's package is wechatpay-rs",
                readme.display()
            );
        }
    }
    assert!(examples >= 15, "{examples} Rust examples found");
}
