//! What every transport shares: one [`Config`] (the same names and types in `wechatpay-ureq`,
//! `wechatpay-hyper` and `wechatpay-reqwest`) and the duration ceiling. The protocol of a call —
//! signing, verification, the refresh on an unknown serial, the checks of a streamed download —
//! is in [`crate::exchange`]; a transport only moves bytes.

use std::time::Duration;

use crate::error::saturate;

/// Where a transport's connections go.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Proxy {
    /// From the environment (`HTTPS_PROXY`, `ALL_PROXY`, `NO_PROXY`, …), where the HTTP client
    /// reads it.
    #[default]
    FromEnv,
    /// No proxy.
    None,
    /// This proxy URL (`http://host:port`, `socks5://host:port`).
    Url(String),
}

/// Transport settings, the same for every transport. Defaults: connect 5 s, whole call 30 s,
/// 8 MiB answer limit, idle connections closed after 5 s (WeChat Pay closes them after about
/// 8 s), 32 idle per host, proxy from the environment; streamed downloads: 30 min, 4 GiB.
///
/// Every duration is saturated to [`crate::error::MAX_DURATION`] (one day) when a transport
/// takes it. A transport that is handed a ready-made HTTP client (`wechatpay-reqwest`) takes the
/// connection settings (connect timeout, pool, proxy) from that client; it says which in its
/// docs.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Config {
    /// Connect timeout (DNS, TCP and TLS).
    pub connect_timeout: Duration,
    /// Timeout of a whole call, answer body included (for a streamed download: its head).
    pub timeout: Duration,
    /// Largest answer body accepted, in bytes.
    pub max_body_bytes: u64,
    /// Idle connections are closed after this long.
    pub pool_idle_timeout: Duration,
    /// Idle connections kept per host.
    pub pool_max_idle_per_host: usize,
    /// The proxy.
    pub proxy: Proxy,
    /// The whole of a streamed download (bills), from sending the request to the last byte.
    pub download_timeout: Duration,
    /// Largest streamed download accepted, in bytes (as received, and as written after gunzip).
    pub max_download_bytes: u64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(30),
            max_body_bytes: 8 << 20,
            pool_idle_timeout: Duration::from_secs(5),
            pool_max_idle_per_host: 32,
            proxy: Proxy::FromEnv,
            download_timeout: Duration::from_secs(30 * 60),
            max_download_bytes: crate::bill::DEFAULT_MAX_BILL_BYTES,
        }
    }
}

impl Config {
    /// Set the connect timeout.
    pub fn connect_timeout(mut self, d: Duration) -> Self {
        self.connect_timeout = d;
        self
    }

    /// Set the whole-call timeout.
    pub fn timeout(mut self, d: Duration) -> Self {
        self.timeout = d;
        self
    }

    /// Set the answer body limit.
    pub fn max_body_bytes(mut self, n: u64) -> Self {
        self.max_body_bytes = n;
        self
    }

    /// Set how long idle connections are kept.
    pub fn pool_idle_timeout(mut self, d: Duration) -> Self {
        self.pool_idle_timeout = d;
        self
    }

    /// Set how many idle connections are kept per host.
    pub fn pool_max_idle_per_host(mut self, n: usize) -> Self {
        self.pool_max_idle_per_host = n;
        self
    }

    /// Set the proxy.
    pub fn proxy(mut self, proxy: Proxy) -> Self {
        self.proxy = proxy;
        self
    }

    /// Set the deadline of a whole streamed download.
    pub fn download_timeout(mut self, d: Duration) -> Self {
        self.download_timeout = d;
        self
    }

    /// Set the largest streamed download.
    pub fn max_download_bytes(mut self, n: u64) -> Self {
        self.max_download_bytes = n;
        self
    }

    /// This configuration with every duration saturated to one day, as transports use it.
    pub fn saturated(&self) -> Config {
        Config {
            connect_timeout: saturate(self.connect_timeout),
            timeout: saturate(self.timeout),
            pool_idle_timeout: saturate(self.pool_idle_timeout),
            download_timeout: saturate(self.download_timeout),
            ..self.clone()
        }
    }
}
