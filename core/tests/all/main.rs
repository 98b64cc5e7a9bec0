//! The core's tests, one binary: conformance vectors (official, peer, golden), signing and
//! verification, the exchange, keys, config, callbacks, APIv2, property tests, hardening.

mod common;

mod bill_read;
mod build;
mod callback_vectors;
mod certificate_answers;
mod config;
mod exchange;
mod golden;
mod hardening;
mod keys;
mod official_vectors;
mod paysign_media_bill;
mod peer_vectors;
mod prop;
mod sensitive;
mod v2;
mod verify;
