//! The client over a connector, written once: [`AsyncClient`] over any [`Connector`],
//! [`BlockingClient`] over any [`BlockingConnector`].
//!
//! See `methods.md` (the docs of both clients).

use std::io::Read;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use http::{HeaderMap, Request, Response};
use serde::de::DeserializeOwned;

use crate::bill::{BillDownloadInfo, EncryptedBillPart};
use crate::certificates::Downloaded;
use crate::connector::{BlockingConnector, RequestBody, Timeouts};
use crate::error::{CallError, RefreshError, TransportError, TransportErrorKind};
use crate::exchange::{self, Download, DownloadSink, Exchange};
use crate::notify::{Callbacks, Notification, NotifyError, Resource};
use crate::transport::Config;
use crate::v2::V2Call;
use crate::{ApiResponse, Call, Client};

#[cfg(feature = "async")]
mod async_client;
#[cfg(feature = "async")]
pub use async_client::AsyncClient;

/// What both clients share.
pub(crate) struct Shared<C, L> {
    pub(crate) core: Client,
    pub(crate) connector: Arc<C>,
    pub(crate) config: Config,
    /// Held while a certificate refresh runs, so that concurrent calls share one.
    pub(crate) refresh_lock: L,
}

/// The blocking client over the connector `C` (`wechatpay_ureq::Client` is
/// `BlockingClient<wechatpay_ureq::Connector>`). `Send + Sync`; clones share everything.
///
#[doc = include_str!("methods.md")]
pub struct BlockingClient<C> {
    shared: Arc<Shared<C, std::sync::Mutex<()>>>,
}

impl<C, L> std::fmt::Debug for Shared<C, L> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("core", &self.core)
            .field("connector", &std::any::type_name::<C>())
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// What both clients have alike: `Clone`, `Debug`, the constructors and the accessors.
macro_rules! basics {
    ($client:ident, $connector:ident, $lock:ty, $refresh:ident) => {
        impl<C> Clone for $client<C> {
            fn clone(&self) -> Self {
                Self {
                    shared: self.shared.clone(),
                }
            }
        }

        impl<C> std::fmt::Debug for $client<C> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.shared.fmt(f)
            }
        }

        impl<C: $connector + crate::connector::FromConfig> $client<C> {
            /// A client with the default [`Config`] and the connector it describes.
            pub fn new(core: Client) -> Result<Self, TransportError> {
                Self::with_config(core, Config::default())
            }

            /// Everything a configuration file names (with the `WXPAY_*` variables over it, see
            /// [`crate::config`]), in one call: the core client with its APIv3 key (callbacks:
            /// [`Self::callbacks`]; certificate refresh) and APIv2 key, and the connector with
            /// the timeout and the client identity.
            pub fn from_config(
                path: impl AsRef<std::path::Path>,
            ) -> Result<Self, crate::error::ConfigError> {
                let settings = crate::config::Settings::load(path)?;
                let config = settings.transport_config()?;
                Self::with_config(settings.client()?, config)
                    .map_err(crate::error::ConfigError::Transport)
            }

            /// A client with `config` and the connector it describes (its TLS, proxy, pool and
            /// connect timeout).
            pub fn with_config(core: Client, config: Config) -> Result<Self, TransportError> {
                let config = config.saturated();
                let connector = C::from_config(&config)?;
                Ok(Self::with_connector(core, connector, config))
            }
        }

        impl<C: $connector> $client<C> {
            /// A client sending through `connector`, within the timeouts and limits of
            /// `config` (its TLS, proxy and pool settings are the connector's business).
            pub fn with_connector(core: Client, connector: C, config: Config) -> Self {
                let shared = Shared {
                    core,
                    connector: Arc::new(connector),
                    config: config.saturated(),
                    refresh_lock: <$lock>::default(),
                };
                Self {
                    shared: Arc::new(shared),
                }
            }

            /// The core client (signing, verification, platform keys).
            pub fn core(&self) -> &Client {
                &self.shared.core
            }

            /// The callbacks (notification verification and decryption, processing once) for
            /// the APIv3 key the core was built with, refreshing the platform keys through this
            /// client when a callback names a serial not held yet; `None` without a key.
            pub fn callbacks(&self) -> Option<crate::notify::Callbacks> {
                let callbacks = crate::notify::Callbacks::configured(&self.shared.core)?;
                Some(callbacks.$refresh(self.clone()))
            }

            /// The connector.
            pub fn connector(&self) -> &C {
                &self.shared.connector
            }

            /// The settings (saturated: every duration and size within its bounds).
            pub fn config(&self) -> &Config {
                &self.shared.config
            }
        }
    };
}
#[cfg(feature = "async")]
pub(crate) use basics;

basics!(
    BlockingClient,
    BlockingConnector,
    std::sync::Mutex<()>,
    refresh_through_blocking
);

/// `request` with the body it carries: its own, or the streamed upload it is marked for.
pub(crate) fn with_body(
    request: Request<Vec<u8>>,
    upload: &mut Option<RequestBody>,
) -> Result<Request<RequestBody>, TransportError> {
    if request
        .extensions()
        .get::<crate::request::StreamedBody>()
        .is_none()
    {
        return Ok(request.map(RequestBody::from));
    }
    let Some(body) = upload.take() else {
        return Err(TransportError::new(
            TransportErrorKind::InvalidRequest,
            false,
            "the request's body is a file streamed from disk: send it with `upload_file`",
        ));
    };
    let (mut parts, _) = request.into_parts();
    let length = body.content_length().into();
    parts.headers.insert(http::header::CONTENT_LENGTH, length);
    Ok(Request::from_parts(parts, body))
}

#[cfg(feature = "async")]
pub(crate) fn timed_out(after: Duration) -> TransportError {
    let msg = format!("no complete answer within the timeout of {after:?}");
    TransportError::new(TransportErrorKind::Timeout, true, msg)
}

pub(crate) fn too_large(limit: u64) -> TransportError {
    let msg = format!("the answer's body is larger than the limit of {limit} bytes");
    TransportError::new(TransportErrorKind::BodyTooLarge, true, msg)
}

/// Refuse a head that announces a body over `limit`.
pub(crate) fn check_announced(headers: &HeaderMap, limit: u64) -> Result<(), TransportError> {
    let announced = headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    match announced {
        Some(n) if n > limit => Err(too_large(limit)),
        _ => Ok(()),
    }
}

impl<C: BlockingConnector> BlockingClient<C> {
    /// Sign `call`, send it, verify and decode the answer.
    pub fn send<T>(&self, call: Call<T>) -> Result<ApiResponse<T>, CallError> {
        self.drive(crate::exchange::CallExchange::new(&self.shared.core, call)?)
    }

    /// Drive an exchange started elsewhere (`CallExchange::new(&core, call)`), sending its requests
    /// through this client.
    pub fn drive<E: Exchange>(&self, ex: E) -> E::Output {
        self.drive_with(ex, None)
    }

    fn drive_with<E: Exchange>(&self, ex: E, mut upload: Option<RequestBody>) -> E::Output {
        let send = |request| self.round_trip(with_body(request, &mut upload)?);
        exchange::drive_blocking(&self.shared.core, ex, send, &self.shared.refresh_lock)
    }

    /// Verify and decrypt a callback with `callbacks`; an unknown serial triggers one refresh
    /// through this client and a second verification (what `Callbacks::handle` runs).
    pub(crate) fn verify_callback<T: Resource>(
        &self,
        callbacks: &Callbacks,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<Notification<T>, NotifyError> {
        self.drive(callbacks.exchange::<T>(headers, body))
    }

    /// Sign an APIv2 call, send it — presenting [`Config::client_identity`] on the paths that
    /// need it, refused before sending without one — then verify the answer and read it as `T`.
    pub fn send_v2<T: DeserializeOwned>(&self, call: V2Call<T>) -> Result<T, CallError> {
        self.drive(crate::exchange::V2Exchange::new(
            &self.shared.core,
            call,
            &self.shared.config,
        )?)
    }

    /// An APIv2 bill download (`/pay/downloadbill`, `/pay/downloadfundflow`) streamed into
    /// `writer` (gunzipped when it comes as gzip); the XML error WeChat Pay may answer instead
    /// is `CallError::V2`. Returns the writer and the bill's size.
    pub fn download_v2_bill<T, W: std::io::Write>(
        &self,
        call: V2Call<T>,
        writer: W,
    ) -> Result<(W, u64), CallError> {
        let Shared { core, config, .. } = &*self.shared;
        self.download(crate::exchange::Download::v2_bill(
            core, call, writer, config,
        )?)
    }

    /// Download the platform certificates now and swap them in (needs the core's APIv3 key).
    pub fn refresh_certificates(&self) -> Result<Downloaded, RefreshError> {
        self.drive(crate::exchange::RefreshExchange::new(&self.shared.core)?)
    }

    /// Refresh the certificates every `interval` (clamped to
    /// [`exchange::MIN_REFRESH_INTERVAL`] ..= one day) on a thread of its own, for as long as
    /// this client lives: the thread holds the client weakly and ends at its first wake-up
    /// after the last clone is dropped. A failed refresh keeps the current keys.
    pub fn spawn_background_refresh(&self, interval: Duration) -> std::thread::JoinHandle<()>
    where
        C: 'static,
    {
        let interval = crate::error::saturate(interval).max(exchange::MIN_REFRESH_INTERVAL);
        let weak = Arc::downgrade(&self.shared);
        std::thread::spawn(move || loop {
            std::thread::sleep(interval);
            let Some(shared) = weak.upgrade() else {
                return;
            };
            let _ = BlockingClient { shared }.refresh_certificates();
        })
    }

    /// Download a bill announced by `info` (from `wechatpay_api::bill::tradebill::get`, …),
    /// streaming it through the digest check (and gunzip when `gzip`) into `writer`, never
    /// holding it in memory. Returns the writer and the bill's size. On
    /// `Err(CallError::Bill(_))` the data written is bad and must be discarded.
    pub fn download_bill<W: std::io::Write>(
        &self,
        info: &BillDownloadInfo,
        gzip: bool,
        writer: W,
    ) -> Result<(W, u64), CallError> {
        let Shared { core, config, .. } = &*self.shared;
        self.download(crate::exchange::Download::bill(
            core, info, gzip, writer, config,
        )?)
    }

    /// Download a sub-merchant fund-flow bill part, decrypt it and check its digest.
    pub fn download_bill_part(
        &self,
        part: &EncryptedBillPart,
        gzip: bool,
    ) -> Result<Vec<u8>, CallError> {
        let Shared { core, config, .. } = &*self.shared;
        self.download(crate::exchange::Download::bill_part(
            core, part, gzip, config,
        )?)
    }

    fn download<S: DownloadSink>(&self, mut d: Download<S>) -> Result<S::Output, CallError> {
        let Shared {
            connector, config, ..
        } = &*self.shared;
        let timeouts = Timeouts {
            head: config.timeout.min(config.download_timeout),
            total: config.download_timeout,
        };
        let request = d.request()?.map(RequestBody::from);
        let (parts, body) = connector.send(request, timeouts)?.into_parts();
        d.handle_head(parts.status, &parts.headers)?;
        d.read_from(body, |e| connector.body_error(e))
    }

    /// Upload the file at `file` to `path` (an upload endpoint, e.g.
    /// `/v3/merchant/media/upload`), streaming it from disk: it is read once for its SHA-256,
    /// once to check that it does not contain the multipart boundary, and once as it is sent,
    /// never held in memory. `progress` is told how many bytes of the file were sent so far.
    pub fn upload_file<T: DeserializeOwned>(
        &self,
        path: &'static str,
        file: &Path,
        progress: impl FnMut(u64) + Send + 'static,
    ) -> Result<ApiResponse<T>, CallError> {
        let (call, body) = crate::media::upload_from_file::<T, _>(path, file, progress)?;
        let length = body.content_length();
        let body = RequestBody::from_reader(body, length);
        self.drive_with(
            crate::exchange::CallExchange::new(&self.shared.core, call)?,
            Some(body),
        )
    }

    /// Send any `http::Request` and read the whole answer within the body limit and the
    /// timeout, without verification (for tools that inspect raw answers).
    pub fn execute(&self, request: Request<Vec<u8>>) -> Result<Response<Vec<u8>>, TransportError> {
        self.round_trip(request.map(RequestBody::from))
    }

    fn round_trip(
        &self,
        request: Request<RequestBody>,
    ) -> Result<Response<Vec<u8>>, TransportError> {
        let Shared {
            connector, config, ..
        } = &*self.shared;
        let timeouts = Timeouts {
            head: config.timeout,
            total: config.timeout,
        };
        let (parts, body) = connector.send(request, timeouts)?.into_parts();
        let limit = config.max_body_bytes;
        check_announced(&parts.headers, limit)?;
        let mut bytes = Vec::new();
        let read = body.take(limit.saturating_add(1)).read_to_end(&mut bytes);
        read.map_err(|e| connector.body_error(e))?;
        if bytes.len() as u64 > limit {
            return Err(too_large(limit));
        }
        Ok(Response::from_parts(parts, bytes))
    }
}

/// Callbacks verified with refresh through this client, for
/// [`Callbacks::refresh_through_blocking`].
impl<C: BlockingConnector> crate::notify::BlockingCallbacks for BlockingClient<C> {
    fn verify_callback_json(
        &self,
        callbacks: &Callbacks,
        headers: &HeaderMap,
        body: &[u8],
    ) -> crate::notify::CallbackResult {
        self.verify_callback(callbacks, headers, body)
    }
}
