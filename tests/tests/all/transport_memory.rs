//! The in-memory connector (no socket) through the same suite as every network connector, with
//! the blocking client and with the async one.

use crate::common::transports;

use transports::*;
use wechatpay_core::BlockingClient;
use wechatpay_sandbox::connector::InMemory;
use wechatpay_sandbox::Mode;

fn suite<C: Transport>(tag: &str) {
    let server = start(Mode::Certificate);
    let c: C = client(&server, Mode::Both);
    payafter_family(&c, tag);
    native_and_204(&c, tag);
    typed_payments(&c, &server, tag);
    routing_errors(&c);
    let server = start(Mode::Both);
    faults(&client::<C>(&server, Mode::Both), &server);
    sign_error::<C>(&server);
    key_modes::<C>();
    assert_eq!(
        targets_arrive_as_signed(&client::<C>(&server, Mode::Both), tag),
        []
    );
}

#[test]
fn the_blocking_client_over_the_gateway_in_memory() {
    suite::<BlockingClient<InMemory>>("memory-blocking");
}

#[test]
fn the_async_client_over_the_gateway_in_memory() {
    suite::<Blocking<InMemory>>("memory-async");
}
