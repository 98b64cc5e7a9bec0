//! The reqwest transport against the sandbox on loopback.

use crate::common::transports;

use serde_json::Value;
use transports::*;
use wechatpay_api::payscore::payafter_orders::{complete, create};
use wechatpay_core::Call;
use wechatpay_sandbox::Mode;

type C = ReqwestBlocking;

#[test]
fn the_suite_of_every_connector() {
    suite::<C>("reqwest");
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
                .send(create(&create_body(&format!("R-{i}"))))
                .await
                .unwrap();
        }
        let tasks: Vec<_> = (0..200)
            .map(|i| {
                let client = client.clone();
                tokio::spawn(
                    async move { client.send(complete(&format!("R-{i}"), &seed_body())).await },
                )
            })
            .collect();
        for t in tasks {
            let r = t.await.unwrap().unwrap();
            assert!(r.verified_by.is_some());
            assert!(r.data.out_order_no.unwrap_or_default().starts_with("R-"));
        }
    });
    assert_eq!(server.gateway().request_count(), 400);
}

#[test]
fn tls_failures_are_tls_errors() {
    // reqwest's connector does the handshake: a TLS failure there certainly did not send anything.
    let e = tls_failure::<C>();
    assert!(!e.may_have_reached_server());
}

/// reqwest keeps a request's address as a `url::Url`, whose parser writes `'` in a query as
/// `%27`: such a call is refused before it is sent (it would fail WeChat Pay's signature check),
/// and the advice works.
#[test]
fn targets_arrive_as_signed_or_are_refused() {
    let server = start(Mode::Certificate);
    let c: C = client(&server, Mode::Both);
    assert_eq!(targets_arrive_as_signed(&c, "reqwest"), [("raw", '\'')]);
    let e = c
        .send(Call::<Value>::get("/v3/no/such/api").raw_query("q=a'b"))
        .unwrap_err();
    let shown = e.to_string();
    assert!(shown.contains("`'` as `%27`"), "{e}");
    // Where, without the query itself (a bill's query holds its download token).
    assert!(
        shown.contains("the signed target `/v3/no/such/api?…` at `'`"),
        "{e}"
    );
    assert!(!shown.contains("a'b") && !shown.contains("a%27b"), "{e}");
    let e = c
        .send(Call::<Value>::get("/v3/no/such/api").raw_query("q=a%27b"))
        .unwrap_err();
    assert_eq!(e.api_error().map(|a| a.status.as_u16()), Some(404), "{e:?}");
}
