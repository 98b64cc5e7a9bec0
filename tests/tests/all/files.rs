//! Media upload and bill download through every transport against the sandbox.

use std::io::Write;

use wechatpay_api::bill::{
    fundflowbill, tradebill, AccountType, Algorithm, BillType, GetFundFlowBillRequest,
    GetSingleSubMchFundFlowBillRequest, GetTradeBillRequest, TarType,
};
use wechatpay_api::merchant::media;
use wechatpay_core::BillError;
use wechatpay_core::{CallError, TransportErrorKind};
use wechatpay_sandbox::server::Server;
use wechatpay_sandbox::{Gateway, Mode, TestKeys};

use crate::common::tcp;

/// The day with a large bill: 40 000 made-up payments and their refunds, about 15 MB.
const BIG_DAY: &str = "2026-01-13";

fn server() -> Server {
    let gateway = Gateway::with_test_keys(Mode::Both);
    gateway.add_history(BIG_DAY, 40_000);
    Server::start(gateway).unwrap()
}

fn core(s: &Server) -> wechatpay_core::Client {
    TestKeys::load()
        .client_builder(&s.base_url(), Mode::Both)
        .build()
        .unwrap()
}

/// Counts bytes and keeps none: a stand-in for a file on disk.
#[derive(Default)]
struct Counter(u64);

impl Write for Counter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn trade(date: &str, big: bool, gzip: bool) -> GetTradeBillRequest {
    GetTradeBillRequest {
        bill_date: if big { BIG_DAY } else { date }.into(),
        bill_type: Some(BillType::All),
        tar_type: gzip.then_some(TarType::Gzip),
        ..Default::default()
    }
}

#[test]
fn ureq_uploads_and_bills() {
    let s = server();
    let c = wechatpay_ureq::Client::with_config(
        core(&s),
        wechatpay_ureq::Config::default().proxy(wechatpay_ureq::Proxy::None),
    )
    .unwrap();
    let image = vec![0x5au8; 300_000];
    let r = c.send(media::upload("photo.jpg", &image).unwrap()).unwrap();
    assert!(r.data.media_id.starts_with("SANDBOX-MEDIA-"));
    assert!(r.verified_by.is_some());
    let r = c
        .send(wechatpay_api::marketing::favor::media_image_upload("logo.png", b"png").unwrap())
        .unwrap();
    assert!(r.data.media_url.starts_with("https://"));
    let r = c
        .send(media::video_upload("clip.mp4", b"video").unwrap())
        .unwrap();
    assert!(!r.data.media_id.is_empty());

    for gzip in [false, true] {
        let info = c
            .send(tradebill::get(&trade("2026-01-14", false, gzip)))
            .unwrap()
            .data;
        let (out, n) = c.download_bill(&info, gzip, Vec::new()).unwrap();
        assert_eq!(n, out.len() as u64);
        assert!(String::from_utf8(out).unwrap().starts_with("交易时间"));
    }
    // A large bill (~15 MB) streams into a writer that keeps nothing.
    let info = c
        .send(tradebill::get(&trade("2026-01-14", true, true)))
        .unwrap()
        .data;
    let (counter, n) = c.download_bill(&info, true, Counter::default()).unwrap();
    assert!(n > 10_000_000, "{n}");
    assert_eq!(counter.0, n);
    // A wrong hash: the caller is told the data is bad.
    let info = c
        .send(
            tradebill::get(&trade("2026-01-14", false, false))
                .header(wechatpay_sandbox::FAULT_HEADER, "wrong-hash"),
        )
        .unwrap()
        .data;
    assert!(matches!(
        c.download_bill(&info, false, Vec::new()),
        Err(CallError::Bill(BillError::HashMismatch { .. }))
    ));
    // A bad token is an API error.
    let mut bad = info.clone();
    bad.download_url = format!("{}/v3/billdownload/file?token=nope", s.base_url());
    let e = c.download_bill(&bad, false, Vec::new()).unwrap_err();
    assert_eq!(
        e.api_error().unwrap().code.as_deref(),
        Some("INVALID_REQUEST")
    );
}

/// The upload and bill flows through an async client (hyper and reqwest have the same methods):
/// an image upload, trade bills plain and gzip, a 10 MB bill (plain and gzip) streamed into a
/// counter, a wrong digest, the fund-flow bill, and a bad token.
macro_rules! async_uploads_and_bills {
    ($c:expr, $s:expr) => {{
        let (c, s) = (&$c, &$s);
        let r = c
            .send(media::upload("photo.jpg", &[7u8; 50_000]).unwrap())
            .await
            .unwrap();
        assert!(!r.data.media_id.is_empty());
        for gzip in [false, true] {
            let info = c
                .send(tradebill::get(&trade("2026-01-15", false, gzip)))
                .await
                .unwrap()
                .data;
            let (out, _) = c.download_bill(&info, gzip, Vec::new()).await.unwrap();
            let mut rows = wechatpay_core::bill::BillRows::new(&out[..]);
            assert!(rows
                .by_ref()
                .all(|r| r.unwrap().time_of_row().date() == "2026-01-15"));
            assert!(rows.summary().unwrap().agrees());
        }
        for gzip in [false, true] {
            let info = c
                .send(tradebill::get(&trade("2026-01-15", true, gzip)))
                .await
                .unwrap()
                .data;
            let (counter, n) = c
                .download_bill(&info, gzip, Counter::default())
                .await
                .unwrap();
            assert!(n > 10_000_000 && counter.0 == n);
        }
        let info = c
            .send(
                tradebill::get(&trade("2026-01-15", false, true))
                    .header(wechatpay_sandbox::FAULT_HEADER, "wrong-hash"),
            )
            .await
            .unwrap()
            .data;
        assert!(matches!(
            c.download_bill(&info, true, Vec::new()).await,
            Err(CallError::Bill(BillError::HashMismatch { .. }))
        ));
        // The fund-flow bill too.
        let info = c
            .send(fundflowbill::get(&GetFundFlowBillRequest {
                bill_date: "2026-01-15".into(),
                account_type: Some(AccountType::Basic),
                ..Default::default()
            }))
            .await
            .unwrap()
            .data;
        c.download_bill(&info, false, Vec::new()).await.unwrap();
        // A bad token: the error answer comes back as an API error with its code.
        let mut bad = info.clone();
        bad.download_url = format!("{}/v3/billdownload/file?token=nope", s.base_url());
        let e = c.download_bill(&bad, false, Vec::new()).await.unwrap_err();
        assert_eq!(
            e.api_error().unwrap().code.as_deref(),
            Some("INVALID_REQUEST")
        );
    }};
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn hyper_uploads_and_bills() {
    let s = server();
    let c = wechatpay_hyper::Client::with_config(
        core(&s),
        wechatpay_hyper::Config::default().proxy(wechatpay_hyper::Proxy::None),
    )
    .unwrap();
    runtime().block_on(async { async_uploads_and_bills!(c, s) });
}

#[test]
fn reqwest_uploads_and_bills() {
    let s = server();
    let c = wechatpay_reqwest::Client::with_config(
        core(&s),
        wechatpay_reqwest::Config::default().proxy(wechatpay_reqwest::Proxy::None),
    )
    .unwrap();
    runtime().block_on(async { async_uploads_and_bills!(c, s) });
}

#[test]
fn tampered_upload_is_refused_by_the_gateway() {
    // A request whose file does not match its meta: the sandbox checks the SHA-256.
    let s = server();
    let c = core(&s);
    let mut signed = c
        .sign(media::upload("a.png", b"original").unwrap())
        .unwrap();
    let body = signed.request.body_mut();
    let at = body.windows(8).position(|w| w == b"original").unwrap();
    body[at] = b'O';
    let gw = s.gateway();
    let reply = gw.handle(&signed.request, c.now());
    assert_eq!(reply.response.status(), 400);
    assert!(String::from_utf8_lossy(reply.response.body()).contains("sha256"));
}

#[test]
fn sensitive_fields_through_every_transport() {
    use wechatpay_api::payscore::payafter_orders::{create, CreateRequest};
    use wechatpay_core::Sensitive;
    let body = |no: &str| CreateRequest {
        appid: "wx1".into(),
        out_order_no: no.into(),
        service_id: "5".into(),
        name: Some(Sensitive::new("张三")),
        phone: Some(Sensitive::new("13800138000")),
        ..Default::default()
    };
    let s = server();
    let keys = TestKeys::load();
    // The gateway decrypts each field with the key the request names: it must succeed.
    let u = wechatpay_ureq::Client::with_config(
        core(&s),
        wechatpay_ureq::Config::default().proxy(wechatpay_ureq::Proxy::None),
    )
    .unwrap();
    u.send(create(&body("S-1"))).unwrap();
    u.send(create(&body("S-2")).wechatpay_serial(keys.platform_serial))
        .unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let h = wechatpay_hyper::Client::with_config(
        core(&s),
        wechatpay_hyper::Config::default().proxy(wechatpay_hyper::Proxy::None),
    )
    .unwrap();
    rt.block_on(h.send(create(&body("S-3")))).unwrap();
    let r = wechatpay_reqwest::Client::with_config(
        core(&s),
        wechatpay_reqwest::Config::default().proxy(wechatpay_reqwest::Proxy::None),
    )
    .unwrap();
    rt.block_on(r.send(create(&body("S-5")))).unwrap();
    // A field encrypted for one key while the request names another is refused by WeChat Pay
    // (here: the gateway); the SDK does not let that happen with Sensitive::new.
    let cert_key =
        wechatpay_core::PlatformKey::from_certificate_pem(keys.platform_cert_pem).unwrap();
    let mut mismatched = body("S-4");
    mismatched.name = Some(Sensitive::encrypted(
        cert_key.encrypt_oaep("张三".as_bytes()).unwrap(),
        keys.public_key_id,
    ));
    let e = u.send(create(&mismatched)).unwrap_err();
    assert_eq!(e.api_error().unwrap().code.as_deref(), Some("PARAM_ERROR"));
}

/// A sub-merchant fund-flow bill: the typed request, then each encrypted part downloaded,
/// decrypted and checked, through all three transports (plain and gzip).
#[test]
fn sub_merchant_bill_parts_through_every_transport() {
    use wechatpay_api::bill::sub_merchant_fundflowbill as sub;
    let s = server();
    let query = |gzip: bool| GetSingleSubMchFundFlowBillRequest {
        sub_mchid: "1900000109".into(),
        bill_date: "2026-01-15".into(),
        account_type: AccountType::Basic,
        algorithm: Algorithm::AeadAes256Gcm,
        tar_type: gzip.then_some(TarType::Gzip),
    };
    let whole = wechatpay_sandbox::bill_text("SUBFUND", "2026-01-15", 500);
    // The whole is a fund-flow bill whose summary adds up.
    let mut rows = wechatpay_core::bill::BillRows::new(&whole[..]);
    assert_eq!(rows.by_ref().map(Result::unwrap).count(), 1_050);
    let summary = rows.summary().unwrap();
    assert_eq!(summary.kind(), wechatpay_core::bill::BillKind::FundFlow);
    assert!(summary.agrees());
    let join = |parts: Vec<Vec<u8>>| parts.concat();
    // ureq
    let u = wechatpay_ureq::Client::with_config(
        core(&s),
        wechatpay_ureq::Config::default().proxy(wechatpay_ureq::Proxy::None),
    )
    .unwrap();
    for gzip in [false, true] {
        let list = u
            .send(sub::get(&query(gzip)))
            .unwrap()
            .data
            .download_bill_list
            .unwrap();
        assert_eq!(list.len(), 2);
        let parts = list
            .iter()
            .map(|p| u.download_bill_part(p, gzip).unwrap())
            .collect();
        assert_eq!(join(parts), whole);
    }
    // hyper and reqwest
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let h = wechatpay_hyper::Client::with_config(
        core(&s),
        wechatpay_hyper::Config::default().proxy(wechatpay_hyper::Proxy::None),
    )
    .unwrap();
    let r = wechatpay_reqwest::Client::with_config(
        core(&s),
        wechatpay_reqwest::Config::default().proxy(wechatpay_reqwest::Proxy::None),
    )
    .unwrap();
    rt.block_on(async {
        let list = h
            .send(sub::get(&query(true)))
            .await
            .unwrap()
            .data
            .download_bill_list
            .unwrap();
        let mut parts = Vec::new();
        for p in &list {
            parts.push(h.download_bill_part(p, true).await.unwrap());
        }
        assert_eq!(join(parts), whole);
        let list = r
            .send(sub::get(&query(false)))
            .await
            .unwrap()
            .data
            .download_bill_list
            .unwrap();
        let mut parts = Vec::new();
        for p in &list {
            parts.push(r.download_bill_part(p, false).await.unwrap());
        }
        assert_eq!(join(parts), whole);
        // A part altered on the way is refused.
        let mut bad = list[0].clone();
        bad.nonce = "p1nonce00000".into();
        assert!(matches!(
            r.download_bill_part(&bad, false).await,
            Err(CallError::Bill(BillError::Decrypt(_)))
        ));
    });
}

/// `upload_file` through a client of one transport made on `core`, run to its end: the upload
/// path, the file, the progress callback.
type UploadWith<'a> =
    &'a dyn Fn(
        &wechatpay_core::Client,
        &'static str,
        &std::path::Path,
        Box<dyn FnMut(u64) + Send>,
    ) -> Result<wechatpay_core::ApiResponse<media::ImageUploadResponse>, CallError>;

/// Uploads streamed from disk through one transport's `upload_file`. Against a gateway in
/// certificate mode (whose certificates the client may download): the gateway gets the file's
/// exact bytes, progress counts up to the file's length; after a certificate rotation the answer
/// is verified after one refresh with the file sent once; a missing file is refused before
/// anything is sent; a file that shrinks while it is sent fails the call. Against a raw server:
/// the upload is length-delimited (the exact `Content-Length`, never chunked).
fn uploads_from_disk(name: &str, upload: UploadWith) {
    use std::sync::{Arc, Mutex};
    use wechatpay_core::media::{sha256_hex, IMAGE_UPLOAD, VIDEO_UPLOAD};
    let dir = std::env::temp_dir().join(format!("wechatpay-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let expected_id = |content: &[u8]| format!("SANDBOX-MEDIA-{}", &sha256_hex(content)[..16]);
    let s = Server::start(Gateway::with_test_keys(Mode::Certificate)).unwrap();
    let keys = TestKeys::load();
    let apiv3 = wechatpay_core::ApiV3Key::new(keys.apiv3_key).unwrap();
    let core = keys
        .client_builder(&s.base_url(), Mode::Certificate)
        .apiv3_key(apiv3)
        .build()
        .unwrap();
    let gw = s.gateway();
    // Several 64 KiB chunks, the last one short.
    let content: Vec<u8> = (0..300_007u32).map(|i| (i % 253) as u8).collect();
    let file = dir.join("receipt.png");
    std::fs::write(&file, &content).unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let progress = {
        let seen = seen.clone();
        Box::new(move |n| seen.lock().unwrap().push(n))
    };
    let r = upload(&core, IMAGE_UPLOAD, &file, progress).unwrap();
    assert_eq!(r.data.media_id, expected_id(&content));
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.last(), Some(&(content.len() as u64)), "{seen:?}");
    assert!(
        seen.len() > 1 && seen.windows(2).all(|w| w[0] < w[1]),
        "{seen:?}"
    );

    // The gateway rotates its certificate: the answer names a serial the client does not
    // know; the client downloads the certificates once and verifies the same answer.
    gw.rotate_certificate(keys.rotated_signer());
    let video = dir.join("clip.mp4");
    std::fs::write(&video, &content[..70_000]).unwrap();
    let (calls, downloads) = (gw.request_count(), gw.certificate_request_count());
    let r = upload(&core, VIDEO_UPLOAD, &video, Box::new(|_| {})).unwrap();
    assert_eq!(r.data.media_id, expected_id(&content[..70_000]));
    assert_eq!(r.verified_by.as_deref(), Some(keys.rotated_serial));
    assert_eq!(gw.certificate_request_count() - downloads, 1);
    assert_eq!(gw.request_count() - calls, 2, "the upload and one download");

    // A missing file: a build error naming it, and nothing sent.
    let calls = gw.request_count();
    let missing = dir.join("none.png");
    match upload(&core, IMAGE_UPLOAD, &missing, Box::new(|_| {})) {
        Err(CallError::Build(wechatpay_core::BuildError::UploadFile { path, .. })) => {
            assert_eq!(path, missing)
        }
        other => panic!("{:?}", other.map(|r| r.data)),
    }
    assert_eq!(gw.request_count(), calls);

    // The file shrinks after it was digested (on the first chunk sent): the call fails and
    // says why; the gateway never takes a short file as the upload.
    let shrinking = dir.join("shrinking.png");
    std::fs::write(&shrinking, &content).unwrap();
    let (cut, calls) = (shrinking.clone(), gw.request_count());
    let shrink = Box::new(move |_| {
        let _ = std::fs::write(&cut, b"short");
    });
    let e = upload(&core, IMAGE_UPLOAD, &shrinking, shrink).unwrap_err();
    let chain = std::iter::successors(Some(&e as &dyn std::error::Error), |e| e.source())
        .map(|e| e.to_string())
        .collect::<Vec<_>>()
        .join(": ");
    assert!(chain.contains("shrank"), "{chain}");
    // Not the connection's doing, under every transport; part of the request went out.
    assert_eq!(e.transport_kind(), Some(TransportErrorKind::Other), "{e:?}");
    assert!(e.may_have_reached_server(), "{e:?}");
    assert_eq!(gw.request_count(), calls, "a short upload was handled");

    // What goes on the wire: a raw server reads the request head (and the body it announces),
    // then answers 500.
    let (_, body) = wechatpay_core::media::upload_from_file::<serde_json::Value, _>(
        IMAGE_UPLOAD,
        &file,
        |_| {},
    )
    .unwrap();
    let length = body.content_length();
    let (tx, heads) = std::sync::mpsc::channel();
    let (addr, _) = tcp::serve(1, move |mut s| {
        if let Some(head) = tcp::read_request(&mut s) {
            let _ = tx.send(head);
        }
        let _ = s.write_all(
            b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        );
    });
    let raw = TestKeys::load()
        .client_builder(&format!("http://{addr}"), Mode::Both)
        .build()
        .unwrap();
    let e = upload(&raw, IMAGE_UPLOAD, &file, Box::new(|_| {})).unwrap_err();
    let head = heads
        .recv_timeout(std::time::Duration::from_secs(10))
        .unwrap();
    assert!(
        head.contains(&format!("\r\ncontent-length: {length}\r\n")),
        "{head}\n{e:?}"
    );
    assert!(!head.contains("transfer-encoding"), "{head}");
    assert!(
        head.starts_with("post /v3/merchant/media/upload http/1.1\r\n"),
        "{head}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn ureq_uploads_from_disk() {
    uploads_from_disk("ureq", &|core, path, file, progress| {
        let cfg = wechatpay_ureq::Config::default().proxy(wechatpay_ureq::Proxy::None);
        let c = wechatpay_ureq::Client::with_config(core.clone(), cfg).unwrap();
        c.upload_file(path, file, progress)
    });
}

#[test]
fn hyper_uploads_from_disk() {
    let rt = runtime();
    uploads_from_disk("hyper", &|core, path, file, progress| {
        let cfg = wechatpay_hyper::Config::default().proxy(wechatpay_hyper::Proxy::None);
        let c = wechatpay_hyper::Client::with_config(core.clone(), cfg).unwrap();
        rt.block_on(c.upload_file(path, file, progress))
    });
}

#[test]
fn reqwest_uploads_from_disk() {
    // A single-threaded runtime here (hyper's test runs on a multi-threaded one): the file is
    // read on a blocking thread that hands each chunk to the runtime's one thread.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    uploads_from_disk("reqwest", &|core, path, file, progress| {
        let cfg = wechatpay_reqwest::Config::default().proxy(wechatpay_reqwest::Proxy::None);
        let c = wechatpay_reqwest::Client::with_config(core.clone(), cfg).unwrap();
        rt.block_on(c.upload_file(path, file, progress))
    });
}

/// The sandbox writes every column of each bill WeChat Pay writes, and summaries that add up.
#[test]
fn sandbox_bills_have_every_column_and_add_up() {
    use wechatpay_core::bill::{BillRows, Column};
    for (kind, columns) in [("TRADE", 27usize), ("FUND", 11)] {
        let bill = wechatpay_sandbox::bill_text(kind, "2026-01-15", 1_000);
        let mut rows = BillRows::new(&bill[..]);
        let all: Vec<_> = rows.by_ref().map(Result::unwrap).collect();
        assert!(rows.summary().unwrap().agrees(), "{kind}");
        let first = &all[0];
        assert_eq!(first.extra().count(), 0, "{kind}: no unknown column");
        let json = serde_json::to_value(first).unwrap();
        // line, bill, and one key per column.
        assert_eq!(
            json.as_object().unwrap().len(),
            columns + 2,
            "{kind}: {json}"
        );
        if kind == "TRADE" {
            assert_eq!(all.len(), 1_100, "a row per payment and per refund");
            assert!(all
                .iter()
                .any(|r| r.is_refund() && r.money(Column::Fee).unwrap().0 < 0));
        }
    }
}
