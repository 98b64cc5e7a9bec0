//! Raw TCP servers on 127.0.0.1, for bytes no HTTP server would send and for a look at exactly
//! what a client sent. Every loop is bounded and stops by itself.

use std::io::Read;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Serve up to `conns` connections, accepted for at most 30 s, each on its own thread by
/// `handler` (blocking I/O, reads time out after 5 s). Returns the address and the number of
/// connections accepted so far.
pub fn serve(
    conns: usize,
    handler: impl Fn(TcpStream) + Send + Sync + 'static,
) -> (SocketAddr, Arc<AtomicUsize>) {
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    let handler = Arc::new(handler);
    std::thread::spawn(move || {
        let end = Instant::now() + Duration::from_secs(30);
        let mut served = 0;
        while served < conns && Instant::now() < end {
            match listener.accept() {
                Ok((stream, _)) => {
                    served += 1;
                    count.fetch_add(1, Ordering::SeqCst);
                    let handler = handler.clone();
                    std::thread::spawn(move || {
                        let _ = stream.set_nonblocking(false);
                        let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                        handler(stream);
                    });
                }
                Err(_) => std::thread::sleep(Duration::from_millis(5)),
            }
        }
    });
    (addr, accepted)
}

/// Read a request head (returned lower-cased, at most 64 KiB) and its `Content-Length` body;
/// `None` if the client went away first.
pub fn read_request(stream: &mut TcpStream) -> Option<String> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) if head.len() < 64 << 10 => head.push(byte[0]),
            _ => return None,
        }
    }
    let head = String::from_utf8_lossy(&head).to_ascii_lowercase();
    let len = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; len];
    stream.read_exact(&mut body).ok().map(|()| head)
}
