//! APIv2 against golden vectors made without our code (`tools/gen_v2_vectors.py`: Python's
//! hashlib/hmac and the OpenSSL CLI), then requests, answers, notifications and bills.

use crate::common;

use http::StatusCode;
use serde_json::Value;
use wechatpay_core::exchange::{Download, V2Exchange};
use wechatpay_core::v2::{self, ApiV2Key, Fields, SignType, V2Call};
use wechatpay_core::V2Error;
use wechatpay_core::{Client, FixedClock, FixedNonce, Merchant, PrivateKey};

fn vectors() -> Value {
    common::json("v2/vectors.json")
}

fn fields(v: &Value) -> Fields {
    v.as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
        .collect()
}

#[test]
fn signs_match_the_independent_vectors() {
    for case in vectors()["signs"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let key = ApiV2Key::new(case["key"].as_str().unwrap()).unwrap();
        let f = fields(&case["fields"]);
        assert_eq!(v2::string_to_sign(&f), case["string_to_sign"], "{name}");
        assert_eq!(v2::sign(&f, &key, SignType::Md5), case["md5"], "{name}");
        assert_eq!(
            v2::sign(&f, &key, SignType::HmacSha256),
            case["hmac_sha256"],
            "{name}"
        );
        // XML both ways: what Python wrote (CDATA where needed, or everywhere) reads back to the
        // same fields; what we write reads back too.
        for x in ["xml", "xml_all_cdata"] {
            let read = v2::from_xml(case[x].as_str().unwrap().as_bytes()).unwrap();
            assert_eq!(read, f, "{name} {x}");
        }
        assert_eq!(
            v2::from_xml(v2::to_xml(&f).as_bytes()).unwrap(),
            f,
            "{name}"
        );
    }
}

#[test]
fn answers_get_the_verdicts_of_the_vectors() {
    let v = vectors();
    let key = ApiV2Key::new(v["refund"]["key"].as_str().unwrap()).unwrap();
    for case in v["answers"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        // Checked with the algorithm of the request it answers, never one read from the answer.
        let sign_type = SignType::parse(case["sign_type"].as_str().unwrap()).unwrap();
        let r = v2::verify_answer(
            &key,
            case["path"].as_str().unwrap(),
            sign_type,
            StatusCode::OK,
            case["xml"].as_str().unwrap().as_bytes(),
        );
        let verdict = match &r {
            Ok(_) => "ok",
            Err(V2Error::SignMismatch { .. }) => "sign_mismatch",
            Err(V2Error::MissingSign { .. }) => "missing_sign",
            Err(V2Error::Return { .. }) => "return",
            Err(V2Error::Business { .. }) => "business",
            Err(V2Error::Xml { .. }) => "xml",
            Err(e) => panic!("{name}: {e}"),
        };
        assert_eq!(verdict, case["verdict"], "{name}: {r:?}");
        if let Err(V2Error::Business {
            err_code,
            err_code_des,
            ..
        }) = &r
        {
            assert_eq!(err_code.as_deref(), Some("ORDERPAID"));
            assert_eq!(err_code_des.as_deref(), Some("该订单已支付"));
        }
    }
    // A non-2xx status keeps the body.
    let e = v2::verify_answer(
        &key,
        "/pay/orderquery",
        SignType::Md5,
        StatusCode::BAD_GATEWAY,
        b"oops",
    )
    .unwrap_err();
    assert!(matches!(e, V2Error::Http { status, ref body } if status == 502 && body == b"oops"));
}

#[test]
fn refund_notifications_decrypt_with_the_md5_of_the_key() {
    let v = vectors();
    let r = &v["refund"];
    let key = ApiV2Key::new(r["key"].as_str().unwrap()).unwrap();
    assert_eq!(
        v2::decrypt_req_info(&key, r["req_info"].as_str().unwrap()).unwrap(),
        r["plaintext"].as_str().unwrap()
    );
    let n = v2::refund_notification(&key, r["notification"].as_str().unwrap().as_bytes()).unwrap();
    assert_eq!(n.unverified_fields["mch_id"], "1900000109");
    assert_eq!(n.unverified_info["out_refund_no"], "REFUND-0001");
    assert_eq!(n.unverified_info["refund_recv_accout"], "支付用户零钱");
    assert_eq!(n.unverified_info["refund_fee"], "300");
    // The confirmation: the signed refund query of the refund it names.
    let q = n.query().unwrap();
    assert_eq!(q.path(), "/pay/refundquery");
    assert_eq!(q.field_map()["out_refund_no"], "REFUND-0001");
    // Our encryption is what OpenSSL made.
    assert_eq!(
        v2::encrypt_req_info(&key, r["plaintext"].as_str().unwrap()),
        r["req_info"].as_str().unwrap()
    );
    // Every bad input is a typed error.
    let other = ApiV2Key::new("0123456789abcdef0123456789abcdef").unwrap();
    for (input, k) in [
        (r["req_info"].as_str().unwrap(), &other),
        ("not base64!", &key),
        ("AAAA", &key),
        ("", &key),
    ] {
        assert!(
            matches!(v2::decrypt_req_info(k, input), Err(V2Error::ReqInfo(_))),
            "{input}"
        );
    }
    let no_info = "<xml><return_code>SUCCESS</return_code></xml>";
    assert!(matches!(
        v2::refund_notification(&key, no_info.as_bytes()),
        Err(V2Error::ReqInfo(_))
    ));
}

#[test]
fn payment_notifications_and_their_answers() {
    let v = vectors();
    let key = ApiV2Key::new(v["pay_notification"]["key"].as_str().unwrap()).unwrap();
    let xml = v["pay_notification"]["xml"].as_str().unwrap();
    let f = v2::verify_notification(&key, SignType::Md5, xml.as_bytes()).unwrap();
    assert_eq!(f["attach"], "支付测试");
    let altered = xml.replace("<total_fee><![CDATA[1]]>", "<total_fee><![CDATA[100]]>");
    assert!(matches!(
        v2::verify_notification(&key, SignType::Md5, altered.as_bytes()),
        Err(V2Error::SignMismatch { .. })
    ));
    // With the algorithm the merchant's orders use: an MD5-signed one does not pass for
    // HMAC-SHA256.
    assert!(matches!(
        v2::verify_notification(&key, SignType::HmacSha256, xml.as_bytes()),
        Err(V2Error::SignMismatch { .. })
    ));
    // A failed payment cannot be taken for a paid one: `Business`, with the verified fields.
    let failed = v["pay_notification"]["fail_xml"].as_str().unwrap();
    match v2::verify_notification(&key, SignType::Md5, failed.as_bytes()) {
        Err(V2Error::Business {
            err_code, fields, ..
        }) => {
            assert_eq!(err_code.as_deref(), Some("SYSTEMERROR"));
            assert_eq!(fields["out_trade_no"], "1409811653");
        }
        other => panic!("{other:?}"),
    }
    // A field given twice: the sign might cover one and the reader take the other.
    let twice = xml.replace("<xml>", "<xml><total_fee>100</total_fee>");
    assert!(matches!(
        v2::verify_notification(&key, SignType::Md5, twice.as_bytes()),
        Err(V2Error::Xml { .. })
    ));
    let answer = v2::notification_answer(true, "");
    assert_eq!(
        std::str::from_utf8(answer.body()).unwrap(),
        "<xml><return_code><![CDATA[SUCCESS]]></return_code><return_msg><![CDATA[OK]]></return_msg></xml>"
    );
    let fail = v2::notification_answer(false, "db down ]]> <x>");
    let back = v2::from_xml(fail.body()).unwrap();
    assert_eq!(back["return_code"], "FAIL");
    assert_eq!(back["return_msg"], "db down ]]> <x>");
}

#[test]
fn jsapi_pay_sign_matches_the_vectors() {
    for case in vectors()["jsapi_paysign"].as_array().unwrap() {
        let key = ApiV2Key::new(case["key"].as_str().unwrap()).unwrap();
        let f = &case["fields"];
        let t = SignType::parse(f["signType"].as_str().unwrap()).unwrap();
        let p = v2::jsapi_params(
            &key,
            f["appId"].as_str().unwrap(),
            f["package"]
                .as_str()
                .unwrap()
                .trim_start_matches("prepay_id="),
            f["timeStamp"].as_str().unwrap().parse().unwrap(),
            f["nonceStr"].as_str().unwrap(),
            t,
        );
        assert_eq!(p.pay_sign, case["pay_sign"]);
        let json = serde_json::to_value(&p).unwrap();
        for k in [
            "appId",
            "timeStamp",
            "nonceStr",
            "package",
            "signType",
            "paySign",
        ] {
            assert!(json.get(k).is_some(), "{k}");
        }
    }
}

#[test]
fn xml_refuses_what_is_not_a_flat_document() {
    for (bad, why) in [
        (&b"<xml><a>1</a>"[..], "unclosed"),
        (b"<xml><a>1</a></xml><xml/>", "two roots"),
        (b"hello", "text"),
        (
            b"<!DOCTYPE x [<!ENTITY e \"boom\">]><xml><a>&e;</a></xml>",
            "dtd",
        ),
        (b"<xml><a>&e;</a></xml>", "unknown entity"),
        (b"<xml>text<a>1</a></xml>", "text outside"),
        (b"<xml><a>\xff</a></xml>", "not utf-8"),
        (b"", "empty"),
    ] {
        assert!(
            matches!(v2::from_xml(bad), Err(V2Error::Xml { .. })),
            "{why}"
        );
    }
    // Entities and character references inside values; nested lists keep their XML.
    let f = v2::from_xml(b"<xml><a>x &amp; y &#20013;</a><b/><hblist><hbinfo><openid>o1</openid></hbinfo></hblist></xml>").unwrap();
    assert_eq!(f["a"], "x & y 中");
    assert_eq!(f["b"], "");
    assert_eq!(f["hblist"], "<hbinfo><openid>o1</openid></hbinfo>");
    let big = vec![b' '; v2::MAX_XML + 1];
    assert!(v2::from_xml(&big).is_err());
}

fn client(key: bool) -> Client {
    let merchant = Merchant::new(
        "1900000109",
        "3D2A5C1B0E9F8A7B6C5D4E3F2A1B0C9D8E7F6A5B",
        PrivateKey::from_pem(common::read("keys/merchant_key.pem")).unwrap(),
    )
    .unwrap();
    let mut b = Client::builder(merchant)
        .clock(FixedClock(1_800_000_000))
        .nonce_source(FixedNonce("5K8264ILTKCH16CQ2502SI8ZNMTM67VS".into()));
    if key {
        b = b.apiv2_key(ApiV2Key::new("a7b3c9d1e5f60718293a4b5c6d7e8f90\n").unwrap());
    }
    b.build().unwrap()
}

#[test]
fn requests_are_signed_as_the_rule_says() {
    let c = client(true);
    let key = c.apiv2_key().unwrap().clone();
    let signed = c
        .sign_v2(
            V2Call::new("/pay/unifiedorder")
                .field("appid", "wx2421b1c4370ec43b")
                .field("body", "腾讯充值中心-QQ会员充值")
                .field("total_fee", "1")
                .field("attach", "")
                .sign_type(SignType::HmacSha256),
        )
        .unwrap();
    let f = &signed.fields;
    assert_eq!(f["mch_id"], "1900000109");
    assert_eq!(f["nonce_str"], "5K8264ILTKCH16CQ2502SI8ZNMTM67VS");
    assert_eq!(f["sign_type"], "HMAC-SHA256");
    assert_eq!(f["sign"], v2::sign(f, &key, SignType::HmacSha256));
    assert_eq!(
        signed.request.uri(),
        "https://api.mch.weixin.qq.com/pay/unifiedorder"
    );
    assert_eq!(signed.request.method(), "POST");
    assert!(!signed.client_certificate);
    // The body is the fields, and checks as an answer would.
    let sent = v2::from_xml(signed.request.body()).unwrap();
    assert_eq!(&sent, f);
    v2::check_sign(&sent, &key, SignType::HmacSha256).unwrap();
    assert!(v2::check_sign(&sent, &key, SignType::Md5).is_err());
    // Client certificate, no nonce, another merchant, no key.
    let s = c.sign_v2(V2Call::new("/secapi/pay/refund")).unwrap();
    assert!(s.client_certificate);
    let s = c.sign_v2(V2Call::new("/papay/querycontract")).unwrap();
    assert!(!s.fields.contains_key("nonce_str"));
    let e = c
        .sign_v2(V2Call::new("/pay/orderquery").field("mch_id", "1900000001"))
        .unwrap_err();
    assert!(e.to_string().contains("mch_id"), "{e}");
    let s = c
        .sign_v2(V2Call::new("/pay/combinedorder").field("combine_mch_id", "1900000109"))
        .unwrap();
    assert!(!s.fields.contains_key("mch_id"));
    assert!(client(false)
        .sign_v2(V2Call::new("/pay/orderquery"))
        .is_err());
    // The key never appears in Debug.
    assert!(!format!("{key:?} {c:?} {s:?}").contains("a7b3c9d1"));
}

#[test]
fn typed_answers_and_bills() {
    #[derive(serde::Deserialize, Debug)]
    struct Answer {
        prepay_id: Option<String>,
        trade_type: String,
    }
    let c = client(true);
    let key = c.apiv2_key().unwrap().clone();
    let signed = c
        .sign_v2(V2Call::<Answer>::typed("/pay/unifiedorder", Fields::new()))
        .unwrap();
    let mut f = Fields::new();
    for (k, v) in [
        ("return_code", "SUCCESS"),
        ("result_code", "SUCCESS"),
        ("prepay_id", "wx20"),
        ("trade_type", "JSAPI"),
    ] {
        f.insert(k.into(), v.into());
    }
    let s = v2::sign(&f, &key, SignType::Md5);
    f.insert("sign".into(), s);
    let response = http::Response::new(v2::to_xml(&f).into_bytes());
    let a = signed.verify(&response).unwrap();
    assert_eq!(
        (a.prepay_id.as_deref(), a.trade_type.as_str()),
        (Some("wx20"), "JSAPI")
    );
    // A bill: text, or the XML error.
    let text = b"\xef\xbb\xbf\xe4\xba\xa4\xe6\x98\x93\xe6\x97\xb6\xe9\x97\xb4,\n`2027-01-15\n";
    let bill = |body: &[u8]| signed.bill(&http::Response::new(body.to_vec()), Vec::new());
    assert_eq!(bill(text).unwrap().0, text);
    let e =
        bill(b"<xml><return_code>FAIL</return_code><return_msg>No Bill Exist</return_msg></xml>")
            .unwrap_err();
    assert!(e.to_string().contains("No Bill Exist"), "{e}");
    // The key rule: surrounding white space ignored, the length error names the APIv2 key.
    let e = ApiV2Key::new("short").unwrap_err();
    assert!(e.to_string().contains("APIv2 key"), "{e}");
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/../tests/fixtures/keys/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

#[test]
fn client_identities_from_pem() {
    use wechatpay_core::transport::{ClientIdentity, KeyFormat};
    let cert = fixture("merchant_cert.pem");
    let id = ClientIdentity::from_pem(&cert, fixture("merchant_key.pem")).unwrap();
    assert_eq!(id.certificate_chain_der().len(), 1);
    assert_eq!(id.private_key_der().1, KeyFormat::Pkcs8);
    // Debug names the certificate, never the key.
    let debug = format!("{id:?}");
    assert!(
        debug.contains("<redacted>") && !debug.contains("PRIVATE"),
        "{debug}"
    );
    // PEM out, PEM in: the same identity.
    let pem = id.to_pem();
    let (certs, key) = pem.split_at(pem.find("-----BEGIN PRIVATE KEY").unwrap());
    assert_eq!(ClientIdentity::from_pem(certs, key).unwrap(), id);
    // PKCS#1 keys are kept as they are.
    let pkcs1 = ClientIdentity::from_pem(&cert, fixture("merchant_key_pkcs1.pem")).unwrap();
    assert_eq!(pkcs1.private_key_der().1, KeyFormat::Pkcs1);
    // Another key than the certificate's: refused, naming the serial.
    let e = ClientIdentity::from_pem(&cert, fixture("platform_key.pem")).unwrap_err();
    assert!(e.to_string().contains("does not belong"), "{e}");
    // The key where the certificate should be, and garbage.
    assert!(
        ClientIdentity::from_pem(fixture("merchant_key.pem"), fixture("merchant_key.pem")).is_err()
    );
    assert!(ClientIdentity::from_pem("", fixture("merchant_key.pem")).is_err());
}

#[cfg(feature = "pkcs12")]
#[test]
fn client_identities_from_pkcs12() {
    use wechatpay_core::transport::ClientIdentity;
    let id = ClientIdentity::from_pem(fixture("merchant_cert.pem"), fixture("merchant_key.pem"))
        .unwrap();
    // apiclient_cert.p12: the password is the mchid.
    let p12 = fixture("merchant.p12");
    let from_p12 = ClientIdentity::from_pkcs12(&p12, "1900000001").unwrap();
    assert_eq!(from_p12.serial(), id.serial());
    let e = ClientIdentity::from_pkcs12(&p12, "wrong").unwrap_err();
    assert!(e.to_string().contains("password"), "{e}");
    assert!(ClientIdentity::from_pkcs12(b"not a p12", "1900000001").is_err());
}

#[test]
fn client_certificate_paths_are_refused_without_an_identity() {
    use wechatpay_core::transport::{ClientIdentity, Config};
    let merchant = Merchant::new(
        "1900000001",
        "3D2A5C1B0E9F8A7B6C5D4E3F2A1B0C9D8E7F6A5B",
        PrivateKey::from_pem(fixture("merchant_key.pem")).unwrap(),
    )
    .unwrap();
    let client = Client::builder(merchant)
        .apiv2_key(ApiV2Key::new("192006250b4c09247ec02edce69f6a2d").unwrap())
        .nonce_source(FixedNonce("n".into()))
        .build()
        .unwrap();
    let refund = client
        .sign_v2(V2Call::new("/secapi/pay/refund").field("out_refund_no", "R1"))
        .unwrap();
    assert!(refund.client_certificate);
    let e = refund.admit(&Config::default()).unwrap_err();
    assert!(e.to_string().contains("/secapi/pay/refund"), "{e}");
    let id = ClientIdentity::from_pem(fixture("merchant_cert.pem"), fixture("merchant_key.pem"))
        .unwrap();
    refund
        .admit(&Config::default().client_identity(id))
        .unwrap();
    let query = client.sign_v2(V2Call::new("/pay/orderquery")).unwrap();
    query.admit(&Config::default()).unwrap();
    // risk/getpublickey lives on another host; a custom base URL serves it itself.
    let risk = client.sign_v2(V2Call::new("/risk/getpublickey")).unwrap();
    assert_eq!(
        risk.request.uri(),
        "https://fraud.mch.weixin.qq.com/risk/getpublickey"
    );
}

#[test]
fn gzip_bills_are_gunzipped_and_bad_gzip_is_refused() {
    use std::io::Write as _;
    use wechatpay_core::exchange::DownloadSink as _;
    use wechatpay_core::CallError;
    let text = "交易时间,公众账号ID\n`2027-01-15 13:00:00,`wx8888888888888888\n".as_bytes();
    let gzip = |data: &[u8]| {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(data).unwrap();
        gz.finish().unwrap()
    };
    let zipped = gzip(text);
    // Streamed in chunks of any size, as a transport hands them over.
    let read = |body: &[u8], chunk: usize, max: u64| {
        let mut sink = v2::V2BillWriter::new(Vec::new()).max_bytes(max);
        for c in body.chunks(chunk.max(1)) {
            sink.chunk(c)?;
        }
        sink.finish()
    };
    for chunk in [1, 3, 4096] {
        let (out, n) = read(&zipped, chunk, 1 << 20).unwrap();
        assert_eq!((out.as_slice(), n), (text, text.len() as u64), "{chunk}");
        assert_eq!(read(text, chunk, 1 << 20).unwrap().0, text, "{chunk}");
    }
    let e = read(&zipped[..zipped.len() / 2], 7, 1 << 20).unwrap_err();
    assert!(matches!(e, CallError::V2(V2Error::Bill { .. })), "{e:?}");
    // A gzip bomb stops at the limit, as it is written: 64 MiB of zeros in a 64 KiB gzip.
    let bomb = gzip(&vec![0u8; 64 << 20]);
    assert!(bomb.len() < 128 << 10, "{}", bomb.len());
    let e = read(&bomb, 64 << 10, 1 << 20).unwrap_err();
    assert!(
        matches!(
            e,
            CallError::Bill(wechatpay_core::BillError::TooLarge { limit: 1048576 })
        ),
        "{e:?}"
    );
    assert!(matches!(
        read(text, 4096, 10).unwrap_err(),
        CallError::Bill(_)
    ));
    // An error document is told apart after a byte-order mark and white space, case-blind:
    // never bill text.
    for doc in [
        "<xml><return_code>FAIL</return_code><return_msg>invalid bill_date</return_msg></xml>",
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><xml><return_code>FAIL</return_code><return_msg>invalid bill_date</return_msg></xml>",
        "\u{feff}<xml><return_code>FAIL</return_code><return_msg>invalid bill_date</return_msg></xml>",
        " \r\n\t<XML><return_code>FAIL</return_code><return_msg>invalid bill_date</return_msg></XML>",
        "<xml><return_code>SUCCESS</return_code><result_code>FAIL</result_code><err_code>20002</err_code><return_msg>invalid bill_date</return_msg></xml>",
    ] {
        for chunk in [1, 2, 4096] {
            match read(doc.as_bytes(), chunk, 1 << 20) {
                Err(CallError::V2(e @ (V2Error::Return { .. } | V2Error::Business { .. }))) => {
                    assert!(e.to_string().contains("invalid bill_date") || matches!(e, V2Error::Business { .. }), "{e}");
                }
                other => panic!("{doc:?} in chunks of {chunk}: {other:?}"),
            }
        }
    }
    // Text that merely starts like XML's first letter is a bill.
    assert_eq!(read(b"<not xml>,1\n", 1, 100).unwrap().0, b"<not xml>,1\n");
    // An error status, sans-IO.
    let c = client(true);
    let signed = c
        .sign_v2(V2Call::new("/pay/downloadbill").field("bill_date", "20270115"))
        .unwrap();
    let e = signed
        .bill(
            &http::Response::builder()
                .status(502)
                .body(b"oops".to_vec())
                .unwrap(),
            Vec::new(),
        )
        .unwrap_err();
    assert!(matches!(e, CallError::V2(V2Error::Http { .. })), "{e:?}");
}

#[test]
fn v2_exchanges_are_decided_without_a_socket() {
    use wechatpay_core::exchange::{Exchange, Step};
    use wechatpay_core::transport::Config;
    use wechatpay_core::{BuildError, CallError, TransportError, TransportErrorKind};
    let c = client(true);
    let key = c.apiv2_key().unwrap().clone();
    type Transport<'a> =
        dyn FnMut(http::Request<Vec<u8>>) -> Result<http::Response<Vec<u8>>, TransportError> + 'a;
    // One exchange for `call`, driven by hand with `send` as the transport.
    let run = |call: V2Call<Fields>, send: &mut Transport<'_>| {
        let mut ex = V2Exchange::new(&c, call, &Config::default()).unwrap();
        loop {
            match ex.poll() {
                Step::Send(request) => match send(request) {
                    Ok(answer) => ex.handle_response(answer, c.now()),
                    Err(e) => ex.handle_transport_error(e),
                },
                Step::Lock => ex.handle_locked(std::time::Instant::now()),
                Step::Done(out) => break out,
            }
        }
    };
    let signed_answer = |pairs: &[(&str, &str)]| {
        let mut f: Fields = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        f.insert("sign".into(), v2::sign(&f, &key, SignType::Md5));
        http::Response::new(v2::to_xml(&f).into_bytes())
    };
    // The signed request goes out once; the answer is verified and read as fields.
    let mut sent = Vec::new();
    let answer = run(
        V2Call::new("/pay/orderquery").field("out_trade_no", "V2-1"),
        &mut |r| {
            sent.push(v2::from_xml(r.body()).unwrap());
            Ok(signed_answer(&[
                ("return_code", "SUCCESS"),
                ("result_code", "SUCCESS"),
                ("trade_state", "NOTPAY"),
            ]))
        },
    )
    .unwrap();
    assert_eq!(answer["trade_state"], "NOTPAY");
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["out_trade_no"], "V2-1");
    v2::check_sign(&sent[0], &key, SignType::Md5).unwrap();
    // A tampered answer is refused, not read.
    let e = run(V2Call::new("/pay/orderquery"), &mut |_| {
        let mut r = signed_answer(&[("return_code", "SUCCESS"), ("result_code", "SUCCESS")]);
        *r.body_mut() = String::from_utf8(r.body().clone())
            .unwrap()
            .replace(
                "<result_code>",
                "<trade_state>PAID</trade_state><result_code>",
            )
            .into_bytes();
        Ok(r)
    })
    .unwrap_err();
    assert!(
        matches!(e, CallError::V2(V2Error::SignMismatch { .. })),
        "{e}"
    );
    // A transport failure is the call's error, with what it says about reaching the server.
    let e = run(V2Call::new("/pay/orderquery"), &mut |_| {
        Err(TransportError::new(
            TransportErrorKind::Connect,
            false,
            "refused",
        ))
    })
    .unwrap_err();
    assert_eq!(e.transport_kind(), Some(TransportErrorKind::Connect));
    // A bill download streams the text; its request is handed out once.
    let mut d = Download::v2_bill(
        &c,
        V2Call::new("/pay/downloadbill").field("bill_date", "20270115"),
        Vec::new(),
        &Config::default(),
    )
    .unwrap();
    let request = d.request().unwrap();
    assert_eq!(request.uri().path(), "/pay/downloadbill");
    assert!(matches!(
        d.request(),
        Err(CallError::Build(BuildError::ExchangeFinished))
    ));
    d.handle_head(StatusCode::OK, &http::HeaderMap::new())
        .unwrap();
    d.handle_chunk(b"trade,").unwrap();
    d.handle_chunk(b"1\n").unwrap();
    assert_eq!(d.finish().unwrap().0, b"trade,1\n");
    // The fund-flow bill needs the client certificate: not started without one.
    let e = Download::v2_bill(
        &c,
        V2Call::new("/pay/downloadfundflow"),
        Vec::new(),
        &Config::default(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("/pay/downloadfundflow"), "{e}");
    // A client-certificate path without an identity never starts.
    let e = V2Exchange::new(&c, V2Call::new("/secapi/pay/refund"), &Config::default()).unwrap_err();
    assert!(e.to_string().contains("/secapi/pay/refund"), "{e}");
}

/// An answer that does not fit the type: the message quotes none of its values (an openid is
/// personal data); `fields` keeps them all.
#[test]
fn decode_messages_quote_no_value() {
    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Want {
        total_fee: u64,
        openid: u64,
    }
    let mut fields = Fields::new();
    fields.insert("total_fee".into(), "100".into());
    fields.insert("openid".into(), "oUpF8u-personal".into());
    let e = v2::from_fields::<Want>(&fields).unwrap_err();
    let message = e.to_string();
    assert!(!message.contains("personal"), "{message}");
    assert!(message.contains(r#"string "…""#), "{message}");
    match e {
        V2Error::Decode { fields: kept, .. } => assert_eq!(kept["openid"], "oUpF8u-personal"),
        other => panic!("{other:?}"),
    }
}

/// A refund notification's `req_info` is encrypted, not authenticated: blocks of two genuine
/// notifications spliced together decrypt to a third. Its fields are the `unverified_…` ones,
/// and the refund is confirmed by its signed query.
#[test]
fn refund_notifications_are_not_authenticated() {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let key = ApiV2Key::new("a7b3c9d1e5f60718293a4b5c6d7e8f90").unwrap();
    // Two genuine req_info of two refunds: A for 0.01 yuan, B (another refund) for 99.91.
    let info = |no: &str, fee: &str| {
        format!("<root><out_refund_no>{no}</out_refund_no><refund_fee>{fee}</refund_fee><refund_status>SUCCESS</refund_status></root>")
    };
    let a = b64
        .decode(v2::encrypt_req_info(&key, &info("R-AAAAAAAAAAAA", "0001")))
        .unwrap();
    let b = b64
        .decode(v2::encrypt_req_info(&key, &info("R-BBBBBBBBBBBB", "9991")))
        .unwrap();
    assert_eq!(a.len(), b.len());
    // A's first three blocks (its out_refund_no), B's others (its fee): ECB decrypts the splice
    // to a refund no notification announced.
    let mut spliced = a[..48].to_vec();
    spliced.extend_from_slice(&b[48..]);
    let text = v2::decrypt_req_info(&key, &b64.encode(&spliced)).unwrap();
    assert!(
        text.contains("R-AAAAAAAAAAAA") && text.contains("<refund_fee>9991"),
        "{text}"
    );
    // So the notification is a hint: its fields say so, and `query` is the confirmation.
    let body = format!(
        "<xml><return_code>SUCCESS</return_code><appid>wx-not-authenticated</appid><req_info>{}</req_info></xml>",
        b64.encode(&spliced)
    );
    let n = v2::refund_notification(&key, body.as_bytes()).unwrap();
    assert_eq!(n.unverified_fields["appid"], "wx-not-authenticated");
    assert_eq!(n.out_refund_no(), Some("R-AAAAAAAAAAAA"));
    assert_eq!(n.unverified_info["refund_fee"], "9991");
    assert_eq!(n.query().unwrap().path(), "/pay/refundquery");
    let none = "<xml><return_code>SUCCESS</return_code><req_info></req_info></xml>";
    assert!(v2::refund_notification(&key, none.as_bytes()).is_err());
}
