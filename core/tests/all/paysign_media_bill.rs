//! Client pay-signs (golden, official D2), media upload requests, and the bill check.

use crate::common;

use std::io::Write;

use common::*;
use serde_json::Value;
use wechatpay_core::bill::{BillDownloadInfo, BillWriter};
use wechatpay_core::BillError;
use wechatpay_core::UploadFileShrank;
use wechatpay_core::{
    media, paysign, BuildError, Client, FixedClock, FixedNonce, Merchant, PlatformKey, PrivateKey,
    TransportErrorKind,
};

fn text(name: &str) -> String {
    String::from_utf8(read(&format!("golden/{name}"))).unwrap()
}

fn key() -> PrivateKey {
    PrivateKey::from_pem(read("keys/merchant_key.pem")).unwrap()
}

#[test]
fn jsapi_and_app_golden() {
    let (appid, prepay, ts, nonce) = (
        "wxd678efh567hg6787",
        "wx201410272009395522657a690389285100",
        1_800_000_000,
        "5K8264ILTKCH16CQ2502SI8ZNMTM67VS",
    );
    let j = paysign::jsapi(&key(), appid, prepay, ts, nonce).unwrap();
    assert_eq!(j.pay_sign, text("paysign_jsapi_signature.b64"));
    assert_eq!(
        serde_json::to_value(&j).unwrap(),
        serde_json::json!({"appId": appid, "timeStamp": "1800000000", "nonceStr": nonce,
            "package": format!("prepay_id={prepay}"), "signType": "RSA", "paySign": text("paysign_jsapi_signature.b64")})
    );
    let a = paysign::app(&key(), appid, "1900000001", prepay, ts, nonce).unwrap();
    assert_eq!(a.sign, text("paysign_app_signature.b64"));
    assert_eq!(
        serde_json::to_value(&a).unwrap(),
        serde_json::json!({"appid": appid, "partnerid": "1900000001", "prepayid": prepay, "package": "Sign=WXPay",
            "noncestr": nonce, "timestamp": "1800000000", "sign": text("paysign_app_signature.b64")})
    );
    // Everyday form: the client's clock and nonce source.
    let client = Client::builder(Merchant::new("1900000001", "3D2A", key()).unwrap())
        .clock(FixedClock(ts))
        .nonce_source(FixedNonce(nonce.into()))
        .build()
        .unwrap();
    assert_eq!(client.jsapi_params(appid, prepay).unwrap(), j);
    assert_eq!(client.app_params(appid, prepay).unwrap(), a);
}

#[test]
fn official_d2_pay_sign_vectors() {
    let cases: Vec<Value> = json("vectors/official/vectors.json")["cases"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["id"].as_str().unwrap().starts_with("D2."))
        .cloned()
        .collect();
    assert_eq!(cases.len(), 2);
    let key = PrivateKey::from_pem(read("vectors/official/go_private_key.pem")).unwrap();
    for c in cases {
        let f = &c["inputs"]["pay_sign_fields"];
        let want = s(&c["expected"], "signature");
        if f.get("appId").is_some() {
            let ts: i64 = s(f, "timeStamp").parse().unwrap();
            let prepay = s(f, "package").strip_prefix("prepay_id=").unwrap();
            assert_eq!(
                paysign::jsapi(&key, s(f, "appId"), prepay, ts, s(f, "nonceStr"))
                    .unwrap()
                    .pay_sign,
                want
            );
        } else {
            let ts: i64 = s(f, "timestamp").parse().unwrap();
            assert_eq!(
                paysign::app(
                    &key,
                    s(f, "appid"),
                    "1900000001",
                    s(f, "prepayid"),
                    ts,
                    s(f, "noncestr")
                )
                .unwrap()
                .sign,
                want
            );
        }
    }
}

#[test]
fn media_upload_signs_the_meta_that_is_sent() {
    let client = Client::builder(Merchant::new("1900000001", "3D2A", key()).unwrap())
        .clock(FixedClock(1_800_000_000))
        .nonce_source(FixedNonce("abc".into()))
        .build()
        .unwrap();
    let file = b"\x89PNG\r\n\x1a\n fake image bytes \x00\x01\x02";
    let signed = client
        .sign(media::upload::<Value>(media::IMAGE_UPLOAD, "收据.png", file).unwrap())
        .unwrap();
    let r = &signed.request;
    assert_eq!(r.uri().path(), "/v3/merchant/media/upload");
    let ct = r.headers()["content-type"].to_str().unwrap().to_string();
    let boundary = ct.strip_prefix("multipart/form-data; boundary=").unwrap();
    let meta = format!(
        r#"{{"filename":"收据.png","sha256":"{}"}}"#,
        media::sha256_hex(file)
    );
    let body = r.body();
    // The meta part is byte-identical to the signed meta; the file part carries the bytes and type.
    let meta_part = format!("--{boundary}\r\nContent-Disposition: form-data; name=\"meta\";\r\nContent-Type: application/json\r\n\r\n{meta}\r\n");
    assert!(body.starts_with(meta_part.as_bytes()));
    let file_head = format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"收据.png\";\r\nContent-Type: image/png\r\n\r\n");
    let at = body
        .windows(file_head.len())
        .position(|w| w == file_head.as_bytes())
        .unwrap()
        + file_head.len();
    assert_eq!(&body[at..at + file.len()], file);
    assert!(body.ends_with(format!("\r\n--{boundary}--\r\n").as_bytes()));
    // The signature covers METHOD, target, ts, nonce and the meta JSON only.
    let auth = r.headers()["authorization"].to_str().unwrap();
    let sig = auth
        .split("signature=\"")
        .nth(1)
        .unwrap()
        .trim_end_matches('"');
    let msg = wechatpay_core::sign::request_message(
        "POST",
        "/v3/merchant/media/upload",
        1_800_000_000,
        "abc",
        meta.as_bytes(),
    );
    PlatformKey::from_public_key_pem("M", read("keys/merchant_public.pem"))
        .unwrap()
        .verify(&msg, sig)
        .unwrap();
    // Video and unknown types.
    let v = client
        .sign(media::upload::<Value>(media::VIDEO_UPLOAD, "clip.mp4", b"....").unwrap())
        .unwrap();
    assert!(String::from_utf8_lossy(v.request.body()).contains("Content-Type: video/mp4"));
    let o = client
        .sign(media::upload::<Value>(media::COMPLAINT_IMAGE_UPLOAD, "x.unknownext", b"1").unwrap())
        .unwrap();
    assert!(String::from_utf8_lossy(o.request.body()).contains("application/octet-stream"));
    // Bad file names are refused before anything is built.
    for bad in ["", "a\"b.png", "dir/x.png", "a\nb.png"] {
        assert!(
            matches!(
                media::upload::<Value>(media::IMAGE_UPLOAD, bad, file),
                Err(BuildError::InvalidUpload { .. })
            ),
            "{bad:?}"
        );
    }
}

fn info(hash: &str) -> BillDownloadInfo {
    BillDownloadInfo {
        hash_type: "SHA1".into(),
        hash_value: hash.into(),
        download_url: String::new(),
    }
}

#[test]
fn bill_writer_checks_streams_and_gunzips() {
    let bill = "交易时间,商户订单号\r\n`2027-01-14 12:00:00,`A-1\r\n"
        .repeat(2000)
        .into_bytes();
    let hash = wechatpay_core::bill::sha1_hex(&bill).to_uppercase();
    // Plain, fed in odd-sized chunks; the hash compares case-insensitively.
    let mut w = BillWriter::new(&info(&hash), false, Vec::new()).unwrap();
    for chunk in bill.chunks(777) {
        w.write_chunk(chunk).unwrap();
    }
    let (out, n) = w.finish().unwrap();
    assert_eq!((out, n), (bill.clone(), bill.len() as u64));
    // Gzip: the hash is of the original bill.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&bill).unwrap();
    let packed = gz.finish().unwrap();
    let mut w = BillWriter::new(&info(&hash), true, Vec::new()).unwrap();
    for chunk in packed.chunks(100) {
        w.write_chunk(chunk).unwrap();
    }
    assert_eq!(w.finish().unwrap().0, bill);
    // A wrong hash is reported after the data; a corrupt gzip stream fails; other hash types too.
    let mut w = BillWriter::new(&info("0000"), false, Vec::new()).unwrap();
    w.write_chunk(&bill).unwrap();
    assert!(matches!(w.finish(), Err(BillError::HashMismatch { .. })));
    let mut bad = packed.clone();
    let mid = bad.len() / 2;
    bad[mid] ^= 0xff;
    let mut w = BillWriter::new(&info(&hash), true, std::io::sink()).unwrap();
    let r = w.write_chunk(&bad).and_then(|_| w.finish().map(|_| ()));
    assert!(
        matches!(
            r,
            Err(BillError::Io(_)) | Err(BillError::HashMismatch { .. })
        ),
        "{r:?}"
    );
    assert!(matches!(
        BillWriter::with_hash("MD5", "x", false, Vec::new()),
        Err(BillError::UnsupportedHash(_))
    ));
}

#[test]
fn bill_failures_have_stable_names() {
    // A contract (logs, metrics, the CLI's --json), like the verification and transport kinds.
    let names: Vec<&str> = [
        BillError::HashMismatch {
            expected: "a".into(),
            actual: "b".into(),
        },
        BillError::UnsupportedHash("MD5".into()),
        BillError::TooLarge { limit: 1 },
        BillError::Io(std::io::ErrorKind::UnexpectedEof.into()),
        BillError::Decrypt("tag"),
    ]
    .iter()
    .map(BillError::kind)
    .collect();
    assert_eq!(
        names,
        [
            "bill_hash",
            "bill_hash_type",
            "bill_too_large",
            "bill_io",
            "bill_decrypt"
        ]
    );
}

#[test]
fn bill_download_stays_on_the_base_url() {
    let client = Client::builder(Merchant::new("1900000001", "3D2A", key()).unwrap())
        .build()
        .unwrap();
    let call = client
        .bill_download("https://api.mch.weixin.qq.com/v3/billdownload/file?token=6XIv5TUPto7pByrTQKhd6kwvyKLG2uY2wMMR8cNXqaA_Cv_isgaUtBzp4QtiozLO")
        .unwrap();
    let signed = client.sign(call).unwrap();
    assert_eq!(
        signed.request.uri().path_and_query().unwrap().as_str(),
        "/v3/billdownload/file?token=6XIv5TUPto7pByrTQKhd6kwvyKLG2uY2wMMR8cNXqaA_Cv_isgaUtBzp4QtiozLO"
    );
    assert!(signed.expect.is_unsigned_download());
    // The error names the whole base URL, its path prefix included, as the Debug output does.
    let prefixed = Client::builder(Merchant::new("1900000001", "3D2A", key()).unwrap())
        .base_url("http://127.0.0.1:9/gw/")
        .build()
        .unwrap();
    assert!(format!("{prefixed:?}").contains("base_url: http://127.0.0.1:9/gw,"));
    match prefixed.bill_download("https://evil.example/gw/v3/billdownload/file") {
        Err(BuildError::ForeignUrl { base, url }) => {
            assert_eq!(base, "http://127.0.0.1:9/gw");
            assert_eq!(url, "https://evil.example/gw/v3/billdownload/file");
        }
        other => panic!("expected ForeignUrl, got {other:?}"),
    }
    // Under the prefix, at a segment boundary, the URL is signed and sent as given.
    let signed = prefixed
        .sign(
            prefixed
                .bill_download("http://127.0.0.1:9/gw/v3/billdownload/file?token=x")
                .unwrap(),
        )
        .unwrap();
    assert_eq!(
        signed.request.uri().to_string(),
        "http://127.0.0.1:9/gw/v3/billdownload/file?token=x"
    );
    // Refused, each naming its client's base URL: other hosts and schemes, and the same origin
    // outside the prefix — not re-targeted under the prefix (that would sign another URL than
    // the one given) nor cut mid-segment.
    let default_base = "https://api.mch.weixin.qq.com";
    let prefixed_base = "http://127.0.0.1:9/gw";
    // A download URL on the base URL whose query cannot be sent is refused, its token not shown.
    match client.bill_download("https://api.mch.weixin.qq.com/v3/billdownload/file?token=SEC RET") {
        Err(e @ BuildError::InvalidQuery { .. }) => {
            let shown = format!("{e} {e:?}");
            assert!(!shown.contains("SEC"), "{shown}");
        }
        other => panic!("expected InvalidQuery, got {other:?}"),
    }
    for (client, expected, foreign) in [
        (
            &client,
            default_base,
            "https://evil.example/v3/billdownload/file?token=x",
        ),
        (
            &client,
            default_base,
            "https://api.mch.weixin.qq.com.evil.example/x",
        ),
        (
            &client,
            default_base,
            "http://api.mch.weixin.qq.com/v3/billdownload/file",
        ),
        (
            &prefixed,
            prefixed_base,
            "http://127.0.0.1:9/v3/billdownload/file?token=x",
        ),
        (
            &prefixed,
            prefixed_base,
            "http://127.0.0.1:9/gwx/v3/billdownload/file?token=x",
        ),
        (&prefixed, prefixed_base, "http://127.0.0.1:9/gw"),
        (&prefixed, prefixed_base, "http://127.0.0.1:9/gw?token=x"),
    ] {
        let error = client.bill_download(foreign).unwrap_err();
        assert!(
            matches!(error, BuildError::ForeignUrl { ref base, .. } if base == expected),
            "{foreign}"
        );
        // The download token in the query is in neither the error's message nor its Debug.
        let shown = format!("{error} {error:?}");
        assert!(!shown.contains("token=x"), "{shown}");
        let without_query = foreign.split('?').next().unwrap();
        assert!(shown.contains(without_query), "{shown}");
    }
}

/// A sub-merchant fund-flow bill part, encrypted the way the bill module's docs describe.
fn encrypted_part(
    content: &[u8],
    key: &[u8; 32],
    hash: &str,
) -> (wechatpay_core::bill::EncryptedBillPart, Vec<u8>) {
    use base64::Engine as _;
    let merchant_public =
        PlatformKey::from_public_key_pem("M", read("keys/merchant_public.pem")).unwrap();
    let encrypt_key = merchant_public.encrypt_oaep(key).unwrap();
    let sealed = (wechatpay_core::ApiV3Key::new(key).unwrap())
        .encrypt("0123456789ab", "", content)
        .unwrap();
    let part = wechatpay_core::bill::EncryptedBillPart {
        bill_sequence: Some(1),
        download_url: "https://api.mch.weixin.qq.com/v3/billdownload/file?token=p1".into(),
        encrypt_key,
        nonce: "0123456789ab".into(),
        hash_type: "SHA1".into(),
        hash_value: hash.into(),
    };
    (
        part,
        base64::engine::general_purpose::STANDARD
            .decode(sealed)
            .unwrap(),
    )
}

#[test]
fn sub_merchant_bill_parts_are_decrypted_and_checked() {
    let client = Client::builder(Merchant::new("1900000001", "3D2A", key()).unwrap())
        .build()
        .unwrap();
    let bill = "交易时间,资金流水单号\n`2027-01-15 13:00:00,`4200000000\n".repeat(50);
    let aes = [7u8; 32];
    let (part, downloaded) = encrypted_part(
        bill.as_bytes(),
        &aes,
        &wechatpay_core::bill::sha1_hex(bill.as_bytes()),
    );
    assert_eq!(
        client.open_bill_part(&part, &downloaded, false).unwrap(),
        bill.as_bytes()
    );
    // Gzip: the digest is of the gunzipped part.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(bill.as_bytes()).unwrap();
    let (part_gz, downloaded_gz) = encrypted_part(
        &gz.finish().unwrap(),
        &aes,
        &wechatpay_core::bill::sha1_hex(bill.as_bytes()),
    );
    assert_eq!(
        client
            .open_bill_part(&part_gz, &downloaded_gz, true)
            .unwrap(),
        bill.as_bytes()
    );
    // Altered, wrong digest, a key for someone else: each refused.
    let mut altered = downloaded.clone();
    altered[3] ^= 1;
    assert!(matches!(
        client.open_bill_part(&part, &altered, false),
        Err(BillError::Decrypt(_))
    ));
    let (wrong_hash, d) = encrypted_part(
        bill.as_bytes(),
        &aes,
        "0000000000000000000000000000000000000000",
    );
    assert!(matches!(
        client.open_bill_part(&wrong_hash, &d, false),
        Err(BillError::HashMismatch { .. })
    ));
    let mut foreign = part.clone();
    foreign.encrypt_key = PlatformKey::from_certificate_pem(read("keys/platform_cert.pem"))
        .unwrap()
        .encrypt_oaep(&aes)
        .unwrap();
    assert!(matches!(
        client.open_bill_part(&foreign, &downloaded, false),
        Err(BillError::Decrypt(_))
    ));
    let mut not_b64 = part;
    not_b64.encrypt_key = "***".into();
    assert!(matches!(
        client.open_bill_part(&not_b64, &downloaded, false),
        Err(BillError::Decrypt(_))
    ));
}

#[test]
fn uploads_from_a_file_are_prepared_without_holding_it() {
    use wechatpay_core::media;
    let dir = std::env::temp_dir().join(format!("wechatpay-upload-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // Larger than one 64 KiB read, so the digest runs over several chunks.
    let content: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let file = dir.join("photo.jpg");
    std::fs::write(&file, &content).unwrap();
    let mut reported = Vec::new();
    let (call, mut body) =
        media::upload_from_file::<Value, _>("/v3/merchant/media/upload", &file, |n| {
            reported.push(n)
        })
        .unwrap();
    // The same body and signed meta as the in-memory builder makes of the same bytes.
    let whole = media::upload::<Value>("/v3/merchant/media/upload", "photo.jpg", &content).unwrap();
    let announced = body.content_length();
    let mut streamed = Vec::new();
    std::io::Read::read_to_end(&mut body, &mut streamed).unwrap();
    assert_eq!(body.content_length(), announced, "the length does not move");
    drop(body);
    assert_eq!(streamed.len() as u64, announced);
    assert_eq!(reported.last(), Some(&(content.len() as u64)));
    assert!(reported.windows(2).all(|w| w[0] < w[1]), "{reported:?}");
    let client = Client::builder(Merchant::new("1900000001", "3D2A", key()).unwrap())
        .clock(FixedClock(1_800_000_000))
        .nonce_source(FixedNonce("abc".into()))
        .build()
        .unwrap();
    let signed = client.sign(whole).unwrap();
    assert_eq!(signed.request.body(), &streamed);
    // The streamed call signs the same meta: the same Authorization and content type.
    let streamed_call = client.sign(call).unwrap();
    for name in ["authorization", "content-type"] {
        assert_eq!(
            streamed_call.request.headers().get(name),
            signed.request.headers().get(name),
            "{name}"
        );
    }
    // In chunks (as the async transports send it): the same bytes, 64 KiB at most each; a
    // receiver that is gone stops the reading.
    let mut reported = 0;
    let (_, mut body) =
        media::upload_from_file::<Value, _>("/v3/merchant/media/upload", &file, |n| reported = n)
            .unwrap();
    let mut chunks = Vec::new();
    body.for_each_chunk(|c| {
        chunks.push(c);
        true
    })
    .unwrap();
    drop(body);
    assert!(chunks.len() > 3 && chunks.iter().all(|c| !c.is_empty() && c.len() <= 65_536));
    assert_eq!(chunks.concat(), streamed);
    assert_eq!(reported, content.len() as u64);
    let (_, mut body) =
        media::upload_from_file::<Value, _>("/v3/merchant/media/upload", &file, |n| reported = n)
            .unwrap();
    let mut taken = 0;
    body.for_each_chunk(|_| {
        taken += 1;
        taken < 2
    })
    .unwrap();
    drop(body);
    assert_eq!(taken, 2);
    assert!(
        reported < content.len() as u64,
        "read on after the receiver left"
    );
    // A file that shrinks after it was digested is an error, not a short body.
    for chunked in [false, true] {
        let (_, mut body) =
            media::upload_from_file::<Value, _>("/v3/merchant/media/upload", &file, |_| {})
                .unwrap();
        std::fs::write(&file, &content[..1000]).unwrap();
        let e = if chunked {
            body.for_each_chunk(|_| true).unwrap_err()
        } else {
            std::io::Read::read_to_end(&mut body, &mut Vec::new()).unwrap_err()
        };
        assert_eq!(e.kind(), std::io::ErrorKind::UnexpectedEof);
        assert!(
            e.get_ref().is_some_and(|i| i.is::<UploadFileShrank>()),
            "{e:?}"
        );
        // Whatever a transport calls the failure it causes, it is not the connection's.
        let kind = TransportErrorKind::ConnectionClosed;
        let t = wechatpay_core::TransportError::new(kind, true, e);
        assert_eq!(
            (t.kind, t.may_have_reached_server),
            (TransportErrorKind::Other, true)
        );
        assert!(t.to_string().contains("shrank"), "{t}");
        std::fs::write(&file, &content).unwrap();
    }
    // One that grows sends only the digested length.
    std::fs::write(&file, &content).unwrap();
    let (_, mut body) =
        media::upload_from_file::<Value, _>("/v3/merchant/media/upload", &file, |_| {}).unwrap();
    std::fs::write(&file, [&content[..], b"more"].concat()).unwrap();
    let mut grown = Vec::new();
    std::io::Read::read_to_end(&mut body, &mut grown).unwrap();
    assert_eq!(grown, streamed);
    // A missing file, a directory and a name that is not UTF-8 are build errors; the first two
    // keep the path and what the operating system said.
    let missing = dir.join("none.jpg");
    let e = media::upload_from_file::<Value, _>("/v3/merchant/media/upload", &missing, |_| {})
        .unwrap_err();
    match &e {
        BuildError::UploadFile { path, source } => {
            assert_eq!(path, &missing);
            assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
        }
        other => panic!("{other:?}"),
    }
    assert!(e.to_string().contains("none.jpg"), "{e}");
    assert!(std::error::Error::source(&e).is_some());
    let e =
        media::upload_from_file::<Value, _>("/v3/merchant/media/upload", &dir, |_| {}).unwrap_err();
    assert!(
        matches!(&e, BuildError::UploadFile { path, .. } if path == &dir),
        "{e:?}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let odd = dir.join(std::ffi::OsStr::from_bytes(b"\xff.jpg"));
        std::fs::write(&odd, b"x").unwrap();
        let e = media::upload_from_file::<Value, _>("/v3/merchant/media/upload", &odd, |_| {})
            .unwrap_err();
        assert!(e.to_string().contains("UTF-8"), "{e}");
    }
}
