//! Integration tests live in `tests/`. The Rust examples of the READMEs that are not a crate's
//! documentation already (the facade's, axum's and the transports' are) are doctests of this crate
//! (part of `cargo test --workspace`), so that what a user copies from a README builds (and,
//! where it needs no credentials or network, runs).

/// One doctest item per README.
macro_rules! readmes {
    ($($name:ident = $path:literal),* $(,)?) => {
        $(
            #[cfg(doctest)]
            #[doc = include_str!($path)]
            pub struct $name;
        )*
    };
}

readmes!(
    Readme = "../../README.md",
    ApiReadme = "../../api/README.md",
    CoreReadme = "../../core/README.md",
    SandboxReadme = "../../sandbox/README.md",
    RedisReadme = "../../store-redis/README.md",
);
