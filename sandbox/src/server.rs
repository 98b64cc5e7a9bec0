//! The gateway on `127.0.0.1`: a small HTTP/1.1 server (hyper) on its own thread and runtime.
//! Dropping the [`Server`] (or calling [`Server::stop`]) stops it and closes every connection.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::Gateway;

/// Largest request body the server reads.
pub const MAX_REQUEST_BODY: usize = 16 << 20;

/// A running sandbox.
pub struct Server {
    addr: SocketAddr,
    tls: bool,
    gateway: Arc<Gateway>,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

/// Why a connection is closed without an answer.
#[derive(Debug)]
struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by fault injection")
    }
}

impl std::error::Error for Dropped {}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

async fn serve(
    gateway: Arc<Gateway>,
    client_cert: Option<crate::v2::ClientCertificate>,
    req: hyper::Request<Incoming>,
) -> Result<hyper::Response<Full<Bytes>>, Dropped> {
    let (mut parts, body) = req.into_parts();
    if let Some(c) = client_cert {
        parts.extensions.insert(c);
    }
    let bytes = match Limited::new(body, MAX_REQUEST_BODY).collect().await {
        Ok(c) => c.to_bytes().to_vec(),
        Err(_) => {
            let r = hyper::Response::builder()
                .status(413)
                .body(Full::new(Bytes::from_static(
                    br#"{"code":"PARAM_ERROR","message":"request body too large"}"#,
                )))
                .unwrap_or_default();
            return Ok(r);
        }
    };
    let req = http::Request::from_parts(parts, bytes);
    let reply = gateway.handle(&req, now());
    if let Some(d) = reply.delay {
        tokio::time::sleep(d).await;
    }
    if reply.drop_connection {
        return Err(Dropped);
    }
    let (parts, body) = reply.response.into_parts();
    Ok(hyper::Response::from_parts(
        parts,
        Full::new(Bytes::from(body)),
    ))
}

impl Server {
    /// Start `gateway` on `127.0.0.1` at an unused port.
    pub fn start(gateway: Gateway) -> io::Result<Server> {
        Self::start_on(gateway, 0)
    }

    /// Start `gateway` on `127.0.0.1:port` (0: any unused port).
    pub fn start_on(gateway: Gateway, port: u16) -> io::Result<Server> {
        Self::start_inner(gateway, port, None)
    }

    /// Start `gateway` behind TLS on `127.0.0.1` at an unused port, requiring a client
    /// certificate signed by `setup.client_ca_pem` (the handshake fails without one): the
    /// listener for the APIv2 paths that need the merchant's API client certificate (it serves
    /// every other path too). Its base URL is `https://127.0.0.1:PORT`.
    pub fn start_tls(gateway: Gateway, setup: &crate::tls::TlsSetup) -> io::Result<Server> {
        let config = crate::tls::server_config(setup).map_err(io::Error::other)?;
        Self::start_inner(gateway, 0, Some(config))
    }

    fn start_inner(
        gateway: Gateway,
        port: u16,
        tls: Option<Arc<rustls::ServerConfig>>,
    ) -> io::Result<Server> {
        let std_listener = std::net::TcpListener::bind(("127.0.0.1", port))?;
        std_listener.set_nonblocking(true)?;
        let addr = std_listener.local_addr()?;
        let gateway = Arc::new(gateway);
        let is_tls = tls.is_some();
        let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
        let (tx, mut rx) = oneshot::channel::<()>();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let gw = gateway.clone();
        let thread = std::thread::Builder::new()
            .name("wechatpay-sandbox".into())
            .spawn(move || {
                runtime.block_on(async move {
                    tokio::spawn(crate::outbox::deliver_queued(gw.clone()));
                    let Ok(listener) = TcpListener::from_std(std_listener) else {
                        return;
                    };
                    loop {
                        tokio::select! {
                            _ = &mut rx => break,
                            accepted = listener.accept() => {
                                let Ok((stream, _)) = accepted else { continue };
                                let gw = gw.clone();
                                let acceptor = acceptor.clone();
                                tokio::spawn(async move {
                                    let http = hyper::server::conn::http1::Builder::new();
                                    let Some(acceptor) = acceptor else {
                                        let svc = service_fn(move |req| serve(gw.clone(), None, req));
                                        let _ = http.serve_connection(TokioIo::new(stream), svc).await;
                                        return;
                                    };
                                    // A handshake that stalls is dropped after 10 s.
                                    let handshake = tokio::time::timeout(
                                        std::time::Duration::from_secs(10),
                                        acceptor.accept(stream),
                                    );
                                    let Ok(Ok(stream)) = handshake.await else { return };
                                    let cert = stream
                                        .get_ref()
                                        .1
                                        .peer_certificates()
                                        .and_then(|c| c.first())
                                        .map(|c| crate::v2::ClientCertificate { der: c.to_vec() });
                                    let svc = service_fn(move |req| serve(gw.clone(), cert.clone(), req));
                                    let _ = http.serve_connection(TokioIo::new(stream), svc).await;
                                });
                            }
                        }
                    }
                });
                // Dropping the runtime here cancels every connection task.
            })?;
        Ok(Server {
            addr,
            tls: is_tls,
            gateway,
            shutdown: Some(tx),
            thread: Some(thread),
        })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT` (`https://` for [`Server::start_tls`]), for a client's base URL.
    pub fn base_url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// The gateway (to inject faults, count requests).
    pub fn gateway(&self) -> &Gateway {
        &self.gateway
    }

    /// The gateway, shared: for an [`crate::connector::InMemory`] that talks to the same state
    /// without the socket.
    pub fn shared_gateway(&self) -> Arc<Gateway> {
        self.gateway.clone()
    }

    /// Stop the server and wait for its thread.
    pub fn stop(mut self) {
        self.shutdown_now();
    }

    fn shutdown_now(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shutdown_now();
    }
}

/// POST a callback built by [`Gateway::notification`] to `url` (`http://127.0.0.1:PORT/path`),
/// as WeChat Pay would, and return the answer's status and body. Blocking; loopback only.
pub fn post_notification(
    url: &str,
    request: http::Request<Vec<u8>>,
) -> io::Result<(http::StatusCode, Vec<u8>)> {
    post_notification_within(url, request, std::time::Duration::from_secs(30))
}

/// As [`post_notification`], giving up after `timeout` (connecting, sending and reading the
/// answer) with `io::ErrorKind::TimedOut`. Answers are read up to 1 MiB.
pub fn post_notification_within(
    url: &str,
    request: http::Request<Vec<u8>>,
    timeout: std::time::Duration,
) -> io::Result<(http::StatusCode, Vec<u8>)> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(post_within(url, request, timeout))
}

/// The async core of [`post_notification_within`].
pub(crate) async fn post_within(
    url: &str,
    request: http::Request<Vec<u8>>,
    timeout: std::time::Duration,
) -> io::Result<(http::StatusCode, Vec<u8>)> {
    let invalid = |m: &str| io::Error::new(io::ErrorKind::InvalidInput, m.to_string());
    let uri: http::Uri = url.parse().map_err(|_| invalid("not a URL"))?;
    if uri.scheme_str() != Some("http") {
        return Err(invalid("only http:// on loopback"));
    }
    let host = uri.host().ok_or_else(|| invalid("no host"))?.to_string();
    let port = uri.port_u16().unwrap_or(80);
    let path = uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "/".into());
    let (mut parts, body) = request.into_parts();
    parts.uri = path.parse().map_err(|_| invalid("bad path"))?;
    parts.headers.insert(
        http::header::HOST,
        format!("{host}:{port}")
            .parse()
            .map_err(|_| invalid("bad host"))?,
    );
    let exchange = async move {
        let stream = tokio::net::TcpStream::connect((host.as_str(), port)).await?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(io::Error::other)?;
        tokio::spawn(conn);
        let req = hyper::Request::from_parts(parts, Full::new(Bytes::from(body)));
        let resp = sender.send_request(req).await.map_err(io::Error::other)?;
        let status = resp.status();
        let bytes = http_body_util::Limited::new(resp.into_body(), 1 << 20)
            .collect()
            .await
            .map_err(io::Error::other)?
            .to_bytes();
        Ok((status, bytes.to_vec()))
    };
    match tokio::time::timeout(timeout, exchange).await {
        Ok(r) => r,
        Err(_) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("no answer within {timeout:?}"),
        )),
    }
}
