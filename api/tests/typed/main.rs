//! The typed API's tests, one binary: the generated per-endpoint tests against the catalog
//! (`endpoints`) and against the official models (`official`), the APIv2 endpoints (`v2`), and
//! the golden seed body.

mod support;

mod endpoints;
mod golden;
mod official;
mod rules;
mod translated;
mod v2;
