//! The cross-crate tests, one binary: every transport and the in-memory connector through one
//! suite, callbacks processed once (in memory and in Redis), key lifecycle, uploads and bills,
//! hostile servers and files, proxies, tracing, APIv2.

mod common;

mod callbacks;
mod files;
mod flows;
mod hostile;
mod key_lifecycle;
mod once;
mod proxy;
mod proxy_env;
mod readmes;
mod redis_once;
mod tracing;
mod transport_hyper;
mod transport_memory;
mod transport_reqwest;
mod transport_ureq;
mod v2;
