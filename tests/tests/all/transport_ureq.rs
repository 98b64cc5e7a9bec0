//! The ureq transport against the sandbox on loopback.

use crate::common::transports;

use std::sync::Arc;

use transports::*;
use wechatpay_api::payscore::payafter_orders::{complete, create};
use wechatpay_sandbox::Mode;

type C = wechatpay_ureq::Client;

#[test]
fn the_suite_of_every_connector() {
    suite::<C>("ureq");
    connection_refused::<C>();
}

#[test]
fn four_threads_share_one_client() {
    let server = start(Mode::Certificate);
    let c: Arc<C> = Arc::new(client(&server, Mode::Both));
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let c = c.clone();
            std::thread::spawn(move || {
                for i in 0..25 {
                    let no = format!("T{t}-{i}");
                    c.send(create(&create_body(&no))).unwrap();
                    let r = c.send(complete(&no, &seed_body())).unwrap();
                    assert!(r.verified_by.is_some());
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(server.gateway().request_count(), 200);
}

#[test]
fn tls_failures_are_tls_errors() {
    // ureq does not report the phase of a TLS I/O error, so only handshake-only errors (e.g. a
    // certificate rejected) count as "not sent"; a garbled record is "may have been received".
    let e = tls_failure::<C>();
    assert!(e.may_have_reached_server());
}

#[test]
fn every_target_arrives_as_signed() {
    let server = start(Mode::Certificate);
    let c: C = client(&server, Mode::Both);
    assert_eq!(targets_arrive_as_signed(&c, "ureq"), []);
}
