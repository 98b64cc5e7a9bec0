//! Redis for tests: the server `.ci/run` starts (`REDIS_URL`), or a `redis-server` of the
//! test's own on 127.0.0.1 (persistence off) that a fault test can stop and start again.

use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A Redis for `test`: `REDIS_URL` when set, else a `redis-server` of its own (see
/// [`OwnRedis::start`], which panics when it cannot start one).
pub fn redis_for(test: &str) -> Option<(String, Option<OwnRedis>)> {
    match std::env::var("REDIS_URL") {
        Ok(url) if !url.is_empty() => Some((url, None)),
        _ => OwnRedis::start(test).map(|r| (r.url(), Some(r))),
    }
}

/// A `redis-server` of a test's own on 127.0.0.1, persistence off; killed on drop.
#[derive(Debug)]
pub struct OwnRedis {
    /// Its port.
    pub port: u16,
    child: Option<Child>,
}

impl OwnRedis {
    /// Start one on a free port. Panics when it cannot start: the tests that need Redis are
    /// ignored at build time when neither `REDIS_URL` nor `redis-server` is there.
    pub fn start(test: &str) -> Option<OwnRedis> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .ok()?;
        let mut r = OwnRedis { port, child: None };
        match r.spawn() {
            Ok(()) => Some(r),
            // The tests that need Redis are ignored at build time when there is none
            // (`cfg(no_redis)`): one that runs and cannot start it fails.
            Err(e) => panic!("{test}: cannot start redis-server: {e}"),
        }
    }

    /// `redis://127.0.0.1:PORT/`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    fn spawn(&mut self) -> std::io::Result<()> {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args([
                "--save",
                "",
                "--appendonly",
                "no",
                "--protected-mode",
                "yes",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Err(std::io::Error::other(
            "redis-server did not listen within 10 s",
        ))
    }

    /// Stop it (its data is gone: persistence is off).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Start it again on the same port.
    pub fn restart(&mut self) -> std::io::Result<()> {
        self.stop();
        self.spawn()
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.stop();
    }
}
