//! [`AsyncClient`]: the client over any async [`Connector`] (feature `async`).

use std::future::Future;
use std::path::Path;
use std::pin::{pin, Pin};
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Request, Response};
use serde::de::DeserializeOwned;

use super::{check_announced, timed_out, too_large, with_body, Shared};
use crate::bill::{BillDownloadInfo, EncryptedBillPart};
use crate::certificates::Downloaded;
use crate::connector::{Connector, RequestBody};
use crate::error::{CallError, RefreshError, TransportError};
use crate::exchange::{self, Download, DownloadSink, Exchange};
use crate::notify::{Callbacks, Notification, NotifyError, Resource};
use crate::transport::Config;
use crate::v2::V2Call;
use crate::{ApiResponse, Call, Client};

/// The async client over the connector `C` (`wechatpay_hyper::Client` is
/// `AsyncClient<wechatpay_hyper::Connector>`). Clone it freely: clones share the connector,
/// the settings and the platform keys.
///
#[doc = include_str!("methods.md")]
pub struct AsyncClient<C> {
    shared: Arc<Shared<C, tokio::sync::Mutex<()>>>,
}

/// `fut`'s output, or `None` when `deadline` fires first.
async fn before<F: Future, D: Future<Output = ()>>(
    fut: F,
    mut deadline: Pin<&mut D>,
) -> Option<F::Output> {
    let mut fut = pin!(fut);
    std::future::poll_fn(|cx| {
        if let Poll::Ready(out) = fut.as_mut().poll(cx) {
            return Poll::Ready(Some(out));
        }
        match deadline.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    })
    .await
}

/// The next data of `body` (`None` at its end), before `deadline` (which fires `after`).
async fn next_data<C: Connector, D: Future<Output = ()>>(
    connector: &C,
    mut body: Pin<&mut C::Body>,
    deadline: Pin<&mut D>,
    after: Duration,
) -> Result<Option<Bytes>, TransportError> {
    use http_body::Body;
    let mut deadline = deadline;
    loop {
        let next = std::future::poll_fn(|cx| body.as_mut().poll_frame(cx));
        match before(next, deadline.as_mut()).await {
            None => return Err(timed_out(after)),
            Some(None) => return Ok(None),
            Some(Some(Err(e))) => return Err(connector.body_error(e.into())),
            Some(Some(Ok(frame))) => {
                if let Ok(data) = frame.into_data() {
                    return Ok(Some(data));
                }
            }
        }
    }
}

super::basics!(
    AsyncClient,
    Connector,
    tokio::sync::Mutex<()>,
    refresh_through
);

impl<C: Connector> AsyncClient<C> {
    /// Sign `call`, send it, verify and decode the answer.
    pub async fn send<T>(&self, call: Call<T>) -> Result<ApiResponse<T>, CallError> {
        self.drive(crate::exchange::CallExchange::new(&self.shared.core, call)?)
            .await
    }

    /// Drive an exchange started elsewhere (e.g. signed on another thread:
    /// `CallExchange::new(&core, call)`), sending its requests through this client.
    pub async fn drive<E: Exchange>(&self, ex: E) -> E::Output {
        self.drive_with(ex, None).await
    }

    async fn drive_with<E: Exchange>(&self, ex: E, mut upload: Option<RequestBody>) -> E::Output {
        let send = |request| {
            let request = with_body(request, &mut upload);
            async move { self.round_trip(request?).await }
        };
        let lock = || self.shared.refresh_lock.lock();
        exchange::drive(&self.shared.core, ex, send, lock).await
    }

    /// Verify and decrypt a callback with `callbacks`; an unknown serial triggers one refresh
    /// through this client and a second verification (what `Callbacks::handle` runs).
    pub(crate) async fn verify_callback<T: Resource>(
        &self,
        callbacks: &Callbacks,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<Notification<T>, NotifyError> {
        self.drive(callbacks.exchange::<T>(headers, body)).await
    }

    /// Sign an APIv2 call, send it — presenting [`Config::client_identity`] on the paths that
    /// need it, refused before sending without one — then verify the answer and read it as `T`.
    pub async fn send_v2<T: DeserializeOwned>(&self, call: V2Call<T>) -> Result<T, CallError> {
        let ex = crate::exchange::V2Exchange::new(&self.shared.core, call, &self.shared.config)?;
        self.drive(ex).await
    }

    /// An APIv2 bill download (`/pay/downloadbill`, `/pay/downloadfundflow`) streamed into
    /// `writer` (gunzipped when it comes as gzip); the XML error WeChat Pay may answer instead
    /// is `CallError::V2`. Returns the writer and the bill's size.
    pub async fn download_v2_bill<T, W: std::io::Write>(
        &self,
        call: V2Call<T>,
        writer: W,
    ) -> Result<(W, u64), CallError> {
        let Shared { core, config, .. } = &*self.shared;
        self.download(crate::exchange::Download::v2_bill(
            core, call, writer, config,
        )?)
        .await
    }

    /// Download the platform certificates now and swap them in (needs the core's APIv3 key).
    pub async fn refresh_certificates(&self) -> Result<Downloaded, RefreshError> {
        self.drive(crate::exchange::RefreshExchange::new(&self.shared.core)?)
            .await
    }

    /// A task that refreshes the certificates every `interval` (clamped to
    /// [`exchange::MIN_REFRESH_INTERVAL`] ..= one day) for as long as this client lives: spawn
    /// it on your runtime (`tokio::spawn(client.background_refresh(interval))`). It holds the
    /// client weakly and ends at its first wake-up after the last clone is dropped. A failed
    /// refresh keeps the current keys.
    pub fn background_refresh(
        &self,
        interval: Duration,
    ) -> impl Future<Output = ()> + Send + 'static
    where
        C: 'static,
    {
        let interval = crate::error::saturate(interval).max(exchange::MIN_REFRESH_INTERVAL);
        let weak = Arc::downgrade(&self.shared);
        let connector = self.shared.connector.clone();
        async move {
            loop {
                connector.sleep(interval).await;
                let Some(shared) = weak.upgrade() else {
                    return;
                };
                let _ = AsyncClient { shared }.refresh_certificates().await;
            }
        }
    }

    /// Download a bill announced by `info` (from `wechatpay_api::bill::tradebill::get`, …),
    /// streaming it through the digest check (and gunzip when `gzip`) into `writer`, never
    /// holding it in memory. Returns the writer and the bill's size. On
    /// `Err(CallError::Bill(_))` the data written is bad and must be discarded.
    pub async fn download_bill<W: std::io::Write>(
        &self,
        info: &BillDownloadInfo,
        gzip: bool,
        writer: W,
    ) -> Result<(W, u64), CallError> {
        let Shared { core, config, .. } = &*self.shared;
        self.download(crate::exchange::Download::bill(
            core, info, gzip, writer, config,
        )?)
        .await
    }

    /// Download a sub-merchant fund-flow bill part, decrypt it and check its digest.
    pub async fn download_bill_part(
        &self,
        part: &EncryptedBillPart,
        gzip: bool,
    ) -> Result<Vec<u8>, CallError> {
        let Shared { core, config, .. } = &*self.shared;
        self.download(crate::exchange::Download::bill_part(
            core, part, gzip, config,
        )?)
        .await
    }

    async fn download<S: DownloadSink>(&self, mut d: Download<S>) -> Result<S::Output, CallError> {
        let Shared {
            connector, config, ..
        } = &*self.shared;
        let request = d.request()?.map(RequestBody::from);
        let total = config.download_timeout;
        let head = config.timeout.min(total);
        let mut deadline = pin!(connector.sleep(total));
        let response = before(connector.send(request), pin!(connector.sleep(head)))
            .await
            .ok_or_else(|| timed_out(head))??;
        let (parts, body) = response.into_parts();
        d.handle_head(parts.status, &parts.headers)?;
        let mut body = pin!(body);
        while let Some(data) =
            next_data(&**connector, body.as_mut(), deadline.as_mut(), total).await?
        {
            d.handle_chunk(&data)?;
        }
        d.finish()
    }

    /// Upload the file at `file` to `path` (an upload endpoint, e.g.
    /// `/v3/merchant/media/upload`), streaming it from disk: it is read once for its SHA-256,
    /// once to check that it does not contain the multipart boundary, and once as it is sent,
    /// each time through [`Connector::spawn_blocking`], never held in memory. `progress` is told
    /// how many bytes of the file were read for sending so far.
    pub async fn upload_file<T: DeserializeOwned + Send + 'static>(
        &self,
        path: &'static str,
        file: &Path,
        progress: impl FnMut(u64) + Send + 'static,
    ) -> Result<ApiResponse<T>, CallError> {
        let file = file.to_path_buf();
        let digest = move || crate::media::upload_from_file::<T, _>(path, &file, progress);
        let connector = &self.shared.connector;
        let (call, body) = connector.spawn_blocking(digest).await??;
        let length = body.content_length();
        let body = RequestBody::streamed(body, length, connector.clone());
        self.drive_with(
            crate::exchange::CallExchange::new(&self.shared.core, call)?,
            Some(body),
        )
        .await
    }

    /// Send any `http::Request` and read the whole answer within the body limit and the
    /// timeout, without verification (for tools that inspect raw answers).
    pub async fn execute(
        &self,
        request: Request<Vec<u8>>,
    ) -> Result<Response<Vec<u8>>, TransportError> {
        self.round_trip(request.map(RequestBody::from)).await
    }

    async fn round_trip(
        &self,
        request: Request<RequestBody>,
    ) -> Result<Response<Vec<u8>>, TransportError> {
        let Shared {
            connector, config, ..
        } = &*self.shared;
        let after = config.timeout;
        let mut deadline = pin!(connector.sleep(after));
        let response = before(connector.send(request), deadline.as_mut())
            .await
            .ok_or_else(|| timed_out(after))??;
        let (parts, body) = response.into_parts();
        let limit = config.max_body_bytes;
        check_announced(&parts.headers, limit)?;
        let mut body = pin!(body);
        let mut bytes = Vec::new();
        while let Some(data) =
            next_data(&**connector, body.as_mut(), deadline.as_mut(), after).await?
        {
            if bytes.len() as u64 + data.len() as u64 > limit {
                return Err(too_large(limit));
            }
            if bytes.is_empty() {
                bytes = Vec::from(data);
            } else {
                bytes.extend_from_slice(&data);
            }
        }
        Ok(Response::from_parts(parts, bytes))
    }
}

/// Callbacks verified with refresh through this client: [`Callbacks::refresh_through`].
impl<C: Connector> crate::notify::AsyncCallbacks for AsyncClient<C> {
    fn verify_callback_json<'a>(
        &'a self,
        callbacks: &'a Callbacks,
        headers: &'a HeaderMap,
        body: &'a [u8],
    ) -> crate::notify::CallbackFuture<'a> {
        Box::pin(self.verify_callback(callbacks, headers, body))
    }
}
