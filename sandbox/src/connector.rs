//! [`InMemory`]: a connector that hands each request to a [`Gateway`] in the same process, so
//! that code taking a `wechatpay_core::AsyncClient` or `BlockingClient` is tested with no
//! socket at all.
//!
//! ```
//! use std::sync::Arc;
//! use wechatpay_api::payscore::payafter_orders::create;
//! use wechatpay_core::transport::Config;
//! use wechatpay_core::BlockingClient;
//! use wechatpay_sandbox::{connector::InMemory, seed, Gateway, Mode, TestKeys};
//!
//! let gateway = Arc::new(Gateway::with_test_keys(Mode::Both));
//! let core = TestKeys::load().client_builder("http://sandbox.invalid", Mode::Both).build().unwrap();
//! let client = BlockingClient::with_connector(core, InMemory::new(gateway), Config::default());
//! client.send(create(&seed::create("ORDER-1"))).unwrap();
//! let answer = client.send(seed::call("ORDER-1")).unwrap(); // the seed call: signed, answered, verified
//! assert_eq!(answer.data.out_order_no.as_deref(), Some("ORDER-1"));
//! ```

use std::future::Future;
use std::io::Read;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use wechatpay_core::connector::{BlockingConnector, Connector, RequestBody, Timeouts};
use wechatpay_core::{Clock, SystemClock, TransportError, TransportErrorKind};

use crate::Gateway;

/// A connector over a [`Gateway`] in memory. A reply's fault is played as a network would:
/// a delay longer than the timeout is a timeout, a dropped connection a closed one. The
/// gateway's time is the connector's [`Clock`] (the system's unless [`InMemory::clock`] pins
/// it).
#[derive(Clone)]
pub struct InMemory {
    gateway: Arc<Gateway>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for InMemory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InMemory").finish_non_exhaustive()
    }
}

impl InMemory {
    /// A connector to `gateway` on the system clock.
    pub fn new(gateway: Arc<Gateway>) -> Self {
        Self {
            gateway,
            clock: Arc::new(SystemClock),
        }
    }

    /// The same connector with the gateway's time read from `clock`.
    pub fn clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// The gateway.
    pub fn gateway(&self) -> &Gateway {
        &self.gateway
    }

    /// The gateway's reply to `request`: its delay (at most `timeout`, then a timeout) and its
    /// answer or dropped connection.
    fn reply(
        &self,
        request: Request<RequestBody>,
    ) -> Result<(Option<Duration>, Answer), TransportError> {
        let (parts, mut body) = request.into_parts();
        let mut bytes = Vec::new();
        body.read_to_end(&mut bytes)
            .map_err(|e| TransportError::new(TransportErrorKind::Other, false, e))?;
        let reply = self
            .gateway
            .handle(&Request::from_parts(parts, bytes), self.clock.now());
        let answer = if reply.drop_connection {
            Err(TransportError::new(
                TransportErrorKind::ConnectionClosed,
                true,
                "the gateway dropped the connection",
            ))
        } else {
            Ok(reply.response)
        };
        Ok((reply.delay, answer))
    }
}

/// The gateway's answer, or the connection it dropped.
type Answer = Result<Response<Vec<u8>>, TransportError>;

/// The timeout a delay longer than `limit` ends in.
fn timed_out(limit: Duration) -> TransportError {
    let msg = format!("no answer within the timeout of {limit:?}");
    TransportError::new(TransportErrorKind::Timeout, true, msg)
}

impl BlockingConnector for InMemory {
    type Body = std::io::Cursor<Vec<u8>>;

    fn send(
        &self,
        request: Request<RequestBody>,
        timeouts: Timeouts,
    ) -> Result<Response<Self::Body>, TransportError> {
        let (delay, answer) = self.reply(request)?;
        if let Some(delay) = delay {
            std::thread::sleep(delay.min(timeouts.head));
            if delay > timeouts.head {
                return Err(timed_out(timeouts.head));
            }
        }
        Ok(answer?.map(std::io::Cursor::new))
    }
}

impl Connector for InMemory {
    type Body = Full<Bytes>;

    fn send(
        &self,
        request: Request<RequestBody>,
    ) -> impl Future<Output = Result<Response<Self::Body>, TransportError>> + Send {
        let reply = self.reply(request);
        async move {
            let (delay, answer) = reply?;
            if let Some(delay) = delay {
                // The client's timeout cuts this sleep short.
                tokio::time::sleep(delay).await;
            }
            Ok(answer?.map(|b| Full::new(Bytes::from(b))))
        }
    }

    fn sleep(&self, duration: Duration) -> impl Future<Output = ()> + Send {
        tokio::time::sleep(duration)
    }
}
