//! What several test modules share: the sandbox-backed transport suite, a test proxy, raw TCP
//! servers.

#![allow(dead_code)]

pub mod proxy;
pub mod tcp;
pub mod transports;
