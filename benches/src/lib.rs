//! Benchmarks and load tools (not published). See README.md.
