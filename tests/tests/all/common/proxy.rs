//! A proxy on 127.0.0.1 for the proxy tests: HTTP (`CONNECT` tunnels and absolute-form
//! forwarding) or SOCKS5, optionally requiring credentials. It records what each connection
//! asked for, and stops when dropped (its accept loop also ends by itself after a minute).

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use base64::Engine as _;
use wechatpay_core::transport::Config;
use wechatpay_core::CallError;
use wechatpay_sandbox::server::Server;
use wechatpay_sandbox::{Mode, TestKeys};

/// The protocol the proxy speaks.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    Http,
    Socks5,
}

/// What one client connection asked the proxy for.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Seen {
    /// `CONNECT`, `forward` (an absolute-form request) or `socks5`.
    pub how: &'static str,
    /// The destination, `host:port`.
    pub target: String,
    /// The credentials presented (`user:password`), if any.
    pub credentials: Option<String>,
    /// Whether the proxy let the connection through.
    pub allowed: bool,
}

pub struct TestProxy {
    port: u16,
    kind: Kind,
    seen: Arc<Mutex<Vec<Seen>>>,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
}

impl TestProxy {
    /// A proxy of `kind`; with `credentials` it refuses connections that do not present them.
    pub fn start(kind: Kind, credentials: Option<&str>) -> TestProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let required = credentials.map(str::to_string);
        let (seen2, stop2) = (seen.clone(), stop.clone());
        let accept = std::thread::spawn(move || {
            let end = Instant::now() + Duration::from_secs(60);
            while !stop2.load(Ordering::Relaxed) && Instant::now() < end {
                match listener.accept() {
                    Ok((client, _)) => {
                        let (seen, required) = (seen2.clone(), required.clone());
                        std::thread::spawn(move || {
                            let _ = serve(kind, client, required.as_deref(), &seen);
                        });
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(2)),
                }
            }
        });
        TestProxy {
            port,
            kind,
            seen,
            stop,
            accept: Some(accept),
        }
    }

    /// The proxy's URL with `userinfo` (`user:password@`, percent-encoded) if given.
    pub fn url(&self, scheme: Option<&str>, userinfo: &str) -> String {
        let scheme = scheme.unwrap_or(match self.kind {
            Kind::Http => "http",
            Kind::Socks5 => "socks5h",
        });
        format!("{scheme}://{userinfo}127.0.0.1:{}", self.port)
    }

    /// Everything the proxy was asked so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for TestProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.accept.take() {
            let _ = t.join();
        }
    }
}

fn serve(
    kind: Kind,
    mut client: TcpStream,
    required: Option<&str>,
    seen: &Mutex<Vec<Seen>>,
) -> io::Result<()> {
    client.set_nonblocking(false)?;
    client.set_read_timeout(Some(Duration::from_secs(5)))?;
    let (how, target, credentials, head) = match kind {
        Kind::Http => http_request(&mut client)?,
        Kind::Socks5 => socks5_request(&mut client, required)?,
    };
    let allowed = required.is_none_or(|r| credentials.as_deref() == Some(r));
    seen.lock().unwrap().push(Seen {
        how,
        target: target.clone(),
        credentials,
        allowed,
    });
    if !allowed {
        if kind == Kind::Http {
            client.write_all(b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"test\"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")?;
        }
        return Ok(());
    }
    let mut upstream = TcpStream::connect(&target)?;
    upstream.set_read_timeout(Some(Duration::from_secs(5)))?;
    match (kind, how) {
        (Kind::Http, "CONNECT") => {
            client.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")?
        }
        (Kind::Http, _) => upstream.write_all(&head)?,
        (Kind::Socks5, _) => client.write_all(&[5, 0, 0, 1, 127, 0, 0, 1, 0, 0])?,
    }
    pipe(client, upstream)
}

/// An HTTP proxy request's head: `CONNECT host:port` or an absolute-form request (forwarded
/// as it came).
fn http_request(
    client: &mut TcpStream,
) -> io::Result<(&'static str, String, Option<String>, Vec<u8>)> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() > 16 * 1024 || client.read(&mut byte)? == 0 {
            return Err(io::ErrorKind::InvalidData.into());
        }
        head.push(byte[0]);
    }
    let text = String::from_utf8_lossy(&head).into_owned();
    let mut lines = text.split("\r\n");
    let request_line = lines.next().unwrap_or_default();
    let mut parts = request_line.split(' ');
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let credentials = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(name, _)| name.eq_ignore_ascii_case("proxy-authorization"))
        .and_then(|(_, v)| v.trim().strip_prefix("Basic "))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .map(|b| String::from_utf8_lossy(&b).into_owned());
    if method == "CONNECT" {
        return Ok(("CONNECT", target.to_string(), credentials, head));
    }
    let authority = target
        .strip_prefix("http://")
        .and_then(|rest| rest.split('/').next())
        .ok_or(io::ErrorKind::InvalidData)?;
    Ok(("forward", authority.to_string(), credentials, head))
}

/// A SOCKS5 greeting, the user/password sub-negotiation when credentials are `required` (its
/// answer given here; on a refusal the target is empty), and a CONNECT request.
fn socks5_request(
    client: &mut TcpStream,
    required: Option<&str>,
) -> io::Result<(&'static str, String, Option<String>, Vec<u8>)> {
    let auth = required.is_some();
    let greeting = read_n(client, 2)?;
    let methods = read_n(client, usize::from(greeting[1]))?;
    let method = if auth { 2 } else { 0 };
    if greeting[0] != 5 || !methods.contains(&method) {
        client.write_all(&[5, 0xff])?;
        return Err(io::ErrorKind::InvalidData.into());
    }
    client.write_all(&[5, method])?;
    let credentials = if auth {
        let ulen = read_n(client, 2)?[1];
        let user = read_n(client, usize::from(ulen))?;
        let plen = read_n(client, 1)?[0];
        let password = read_n(client, usize::from(plen))?;
        Some(format!(
            "{}:{}",
            String::from_utf8_lossy(&user),
            String::from_utf8_lossy(&password)
        ))
    } else {
        None
    };
    if auth {
        let ok = credentials.as_deref() == required;
        client.write_all(&[1, if ok { 0 } else { 1 }])?;
        if !ok {
            return Ok(("socks5", String::new(), credentials, Vec::new()));
        }
    }
    let request = read_n(client, 4)?;
    let host = match request[3] {
        1 => read_n(client, 4)?
            .iter()
            .map(u8::to_string)
            .collect::<Vec<_>>()
            .join("."),
        3 => {
            let len = read_n(client, 1)?[0];
            String::from_utf8_lossy(&read_n(client, usize::from(len))?).into_owned()
        }
        _ => return Err(io::ErrorKind::InvalidData.into()),
    };
    let port = read_n(client, 2)?;
    let target = format!("{host}:{}", u16::from_be_bytes([port[0], port[1]]));
    Ok(("socks5", target, credentials, Vec::new()))
}

/// Exactly `n` bytes from `client`.
fn read_n(client: &mut TcpStream, n: usize) -> io::Result<Vec<u8>> {
    let mut b = vec![0u8; n];
    client.read_exact(&mut b)?;
    Ok(b)
}

/// Copy both ways until either side closes (or stays idle for the read timeout).
fn pipe(client: TcpStream, upstream: TcpStream) -> io::Result<()> {
    let (mut c2, mut u2) = (client.try_clone()?, upstream.try_clone()?);
    let back = std::thread::spawn(move || {
        let _ = io::copy(&mut u2, &mut c2);
        let _ = c2.shutdown(Shutdown::Both);
    });
    let (mut c, mut u) = (client, upstream);
    let _ = io::copy(&mut c, &mut u);
    let _ = u.shutdown(Shutdown::Both);
    let _ = back.join();
    Ok(())
}

/// One signed call, creating pay-after order `order`, to `server` through transport `name`
/// (`ureq`, `hyper`, `reqwest`) with `config`.
pub fn call(name: &str, server: &Server, config: Config, order: &str) -> Result<(), CallError> {
    use wechatpay_api::payscore::payafter_orders::{create, CreateRequest};
    let core = TestKeys::load()
        .client_builder(&server.base_url(), Mode::Certificate)
        .build()
        .unwrap();
    let body = CreateRequest {
        appid: wechatpay_sandbox::seed::APPID.into(),
        out_order_no: order.into(),
        service_id: wechatpay_sandbox::seed::SERVICE_ID.into(),
        risk_amount: Some(100),
        ..Default::default()
    };
    let config = config.timeout(std::time::Duration::from_secs(5));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let sent = match name {
        "ureq" => wechatpay_ureq::Client::with_config(core, config)
            .map_err(CallError::from)?
            .send(create(&body)),
        "hyper" => {
            let client = wechatpay_hyper::Client::with_config(core, config)?;
            rt.block_on(client.send(create(&body)))
        }
        _ => {
            let client = wechatpay_reqwest::Client::with_config(core, config)?;
            rt.block_on(client.send(create(&body)))
        }
    };
    sent.map(|answer| assert_eq!(answer.status, 200))
}
