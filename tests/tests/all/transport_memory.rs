//! The in-memory connector (no socket) through the same suite as every network connector, with
//! the blocking client and with the async one.

use crate::common::transports;

use transports::*;
use wechatpay_core::BlockingClient;
use wechatpay_sandbox::connector::InMemory;
use wechatpay_sandbox::Mode;

fn suite_in_memory<C: Transport>(tag: &str) {
    suite::<C>(tag);
    let server = start(Mode::Both);
    assert_eq!(
        targets_arrive_as_signed(&client::<C>(&server, Mode::Both), tag),
        []
    );
}

#[test]
fn the_blocking_client_over_the_gateway_in_memory() {
    suite_in_memory::<BlockingClient<InMemory>>("memory-blocking");
}

#[test]
fn the_async_client_over_the_gateway_in_memory() {
    suite_in_memory::<Blocking<InMemory>>("memory-async");
}

/// A streamed upload's request driven without its file is refused before anything is sent:
/// only `upload_file` attaches the body the signature was made for.
#[test]
fn a_streamed_upload_without_its_file_is_not_sent() {
    let server = start(Mode::Both);
    let c: BlockingClient<InMemory> = client(&server, Mode::Both);
    let upload = wechatpay_core::media::upload_streamed::<serde_json::Value>(
        wechatpay_core::media::IMAGE_UPLOAD,
        "a.png",
        &"0".repeat(64),
    )
    .unwrap();
    let before = server.gateway().request_count();
    let e = c
        .drive(wechatpay_core::exchange::CallExchange::new(c.core(), upload.call).unwrap())
        .unwrap_err();
    assert_eq!(
        e.transport_kind(),
        Some(wechatpay_core::TransportErrorKind::InvalidRequest),
        "{e:?}"
    );
    assert!(!e.may_have_reached_server());
    assert_eq!(server.gateway().request_count(), before);
}
