//! The hyper transport against the sandbox on loopback.

use crate::common::transports;

use transports::*;
use wechatpay_api::payscore::payafter_orders::{complete, create};
use wechatpay_sandbox::Mode;

type C = HyperBlocking;

#[test]
fn the_suite_of_every_connector() {
    suite::<C>("hyper");
    connection_refused::<C>();
}

#[test]
fn two_hundred_concurrent_calls_through_one_client() {
    let server = start(Mode::Both);
    let c: C = client(&server, Mode::Both);
    let client = c.client.clone();
    c.rt.block_on(async move {
        // Create the orders first, then complete all 200 at once.
        for i in 0..200 {
            client
                .send(create(&create_body(&format!("H-{i}"))))
                .await
                .unwrap();
        }
        let tasks: Vec<_> = (0..200)
            .map(|i| {
                let client = client.clone();
                tokio::spawn(
                    async move { client.send(complete(&format!("H-{i}"), &seed_body())).await },
                )
            })
            .collect();
        for t in tasks {
            let r = t.await.unwrap().unwrap();
            assert!(r.verified_by.is_some());
            assert!(r.data.out_order_no.unwrap_or_default().starts_with("H-"));
        }
    });
    assert_eq!(server.gateway().request_count(), 400);
}

#[test]
fn tls_failures_are_tls_errors() {
    // hyper's connector does the handshake: a TLS failure there certainly did not send anything.
    let e = tls_failure::<C>();
    assert!(!e.may_have_reached_server());
}

#[test]
fn every_target_arrives_as_signed() {
    let server = start(Mode::Certificate);
    let c: C = client(&server, Mode::Both);
    assert_eq!(targets_arrive_as_signed(&c, "hyper"), []);
}
