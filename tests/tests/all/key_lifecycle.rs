//! Platform keys over time: certificate download (first use, refresh, public key mode, untrusted
//! signer), rotation during 200 concurrent hyper calls, background refresh, migration.

use std::time::Duration;

use serde_json::Value;
use wechatpay_api::payscore::payafter_orders::{complete, create, CompleteRequest, CreateRequest};
use wechatpay_core::certificates::Downloaded;
use wechatpay_core::CertificateError;
use wechatpay_core::{ApiV3Key, Call, PlatformKeys, RefreshError, VerifyError};
use wechatpay_sandbox::server::Server;
use wechatpay_sandbox::{Config, Gateway, Mode, TestKeys};

fn apiv3() -> ApiV3Key {
    ApiV3Key::new(TestKeys::load().apiv3_key).unwrap()
}

fn ureq_client(server: &Server, keys: PlatformKeys) -> wechatpay_ureq::Client {
    let core = TestKeys::load()
        .client_builder(&server.base_url(), Mode::Both)
        .platform_keys(keys)
        .apiv3_key(apiv3())
        .build()
        .unwrap();
    wechatpay_ureq::Client::with_config(
        core,
        wechatpay_ureq::Config::default().proxy(wechatpay_ureq::Proxy::None),
    )
    .unwrap()
}

#[test]
fn first_download_refresh_and_public_key_mode() {
    let keys = TestKeys::load();
    let server = Server::start(Gateway::with_test_keys(Mode::Certificate)).unwrap();
    // First download, nothing trusted yet: trusted on first use, said so.
    let c = ureq_client(&server, PlatformKeys::new());
    match c.refresh_certificates().unwrap() {
        Downloaded::Certificates {
            keys: k,
            pems,
            signed_by,
            trusted_on_first_use,
        } => {
            assert!(trusted_on_first_use);
            assert_eq!(
                pems,
                vec![(
                    keys.platform_serial.to_string(),
                    keys.platform_cert_pem.to_string()
                )]
            );
            assert_eq!(signed_by, keys.platform_serial);
            assert!(k.get(keys.platform_serial).is_some());
        }
        other => panic!("{other:?}"),
    }
    assert!(
        c.core().platform_keys().get(keys.platform_serial).is_some(),
        "swapped into the client"
    );
    // Now calls verify.
    c.send(Call::<Value>::get("/v3/certificates")).unwrap();
    // A refresh with a trusted certificate is not first use.
    match c.refresh_certificates().unwrap() {
        Downloaded::Certificates {
            trusted_on_first_use,
            ..
        } => assert!(!trusted_on_first_use),
        other => panic!("{other:?}"),
    }
    // Public key mode: 404 RESOURCE_NOT_EXISTS means "no certificates", and the keys stay.
    let pk = Server::start(Gateway::with_test_keys(Mode::PublicKey)).unwrap();
    let c = ureq_client(&pk, keys.platform_keys(Mode::PublicKey));
    assert!(matches!(
        c.refresh_certificates().unwrap(),
        Downloaded::NoCertificates
    ));
    assert_eq!(c.core().platform_keys().len(), 1);
    // Without an APIv3 key there is nothing to decrypt with.
    let core = keys
        .client_builder(&pk.base_url(), Mode::Both)
        .build()
        .unwrap();
    assert!(matches!(
        wechatpay_ureq::Client::new(core)
            .unwrap()
            .refresh_certificates(),
        Err(RefreshError::NoApiV3Key)
    ));
}

#[test]
fn a_download_signed_by_an_unknown_key_is_rejected() {
    let keys = TestKeys::load();
    // A gateway whose only certificate is one the client has never seen.
    let mut config: Config = keys.config(Mode::Certificate);
    config.certificates = vec![keys.rotated_signer()];
    let server = Server::start(Gateway::new(config)).unwrap();
    let c = ureq_client(&server, keys.platform_keys(Mode::Certificate));
    match c.refresh_certificates() {
        Err(RefreshError::Certificate(CertificateError::Verify(VerifyError::UnknownSerial {
            serial,
        }))) => {
            assert_eq!(serial, keys.rotated_serial)
        }
        other => panic!("{other:?}"),
    }
    // The trusted keys are unchanged.
    let now = c.core().platform_keys();
    assert_eq!(now.len(), 1);
    assert!(now.get(keys.platform_serial).is_some());
    // A wrong APIv3 key fails to decrypt and changes nothing either.
    let server = Server::start(Gateway::with_test_keys(Mode::Certificate)).unwrap();
    let core = keys
        .client_builder(&server.base_url(), Mode::Certificate)
        .apiv3_key(ApiV3Key::new("0123456789abcdef0123456789abcdef").unwrap())
        .build()
        .unwrap();
    let bad = wechatpay_ureq::Client::with_config(
        core,
        wechatpay_ureq::Config::default().proxy(wechatpay_ureq::Proxy::None),
    )
    .unwrap();
    assert!(matches!(
        bad.refresh_certificates(),
        Err(RefreshError::Certificate(CertificateError::Decrypt { .. }))
    ));
}

fn seed() -> CompleteRequest {
    CompleteRequest {
        appid: "wx1".into(),
        service_id: "5".into(),
        total_amount: Some(0),
        ..Default::default()
    }
}

#[test]
fn rotation_during_200_concurrent_hyper_calls() {
    let keys = TestKeys::load();
    let server = Server::start(Gateway::with_test_keys(Mode::Certificate)).unwrap();
    let core = keys
        .client_builder(&server.base_url(), Mode::Certificate)
        .apiv3_key(apiv3())
        .build()
        .unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let client = wechatpay_hyper::Client::with_config(
        core,
        wechatpay_hyper::Config::default().proxy(wechatpay_hyper::Proxy::None),
    )
    .unwrap();
    let gw_requests_before;
    {
        let client = client.clone();
        rt.block_on(async move {
            for i in 0..200 {
                let body = CreateRequest {
                    appid: "wx1".into(),
                    out_order_no: format!("R-{i}"),
                    service_id: "5".into(),
                    ..Default::default()
                };
                client.send(create(&body)).await.unwrap();
            }
        });
        gw_requests_before = server.gateway().request_count();
    }
    let gateway = server.gateway();
    // 100 calls run before and while the certificate rotates; 100 more are held until it has
    // rotated, so the rotation always lands in the middle of 200 concurrent calls.
    let after_rotation = std::sync::Arc::new(tokio::sync::Semaphore::new(0));
    let results = std::thread::scope(|scope| {
        let gate = after_rotation.clone();
        let client = client.clone();
        let rt = &rt;
        let calls = scope.spawn(move || {
            rt.block_on(async {
                let tasks: Vec<_> = (0..200)
                    .map(|i| {
                        let client = client.clone();
                        let gate = gate.clone();
                        tokio::spawn(async move {
                            if i >= 100 {
                                let _permit = gate.acquire().await.unwrap();
                            } else {
                                tokio::time::sleep(Duration::from_millis((i % 20) * 5)).await;
                            }
                            client.send(complete(&format!("R-{i}"), &seed())).await
                        })
                    })
                    .collect();
                let mut out = Vec::new();
                for t in tasks {
                    out.push(t.await.unwrap());
                }
                out
            })
        });
        // Rotate once a quarter of the calls have been answered, then release the held ones.
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while gateway.request_count() < gw_requests_before + 50
            && std::time::Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(1));
        }
        gateway.rotate_certificate(keys.rotated_signer());
        after_rotation.add_permits(100);
        calls.join().unwrap()
    });
    let failed: Vec<_> = results.iter().filter(|r| r.is_err()).collect();
    assert!(
        failed.is_empty(),
        "{} failed: {:?}",
        failed.len(),
        failed.first()
    );
    let by_new = results
        .iter()
        .filter(|r| r.as_ref().unwrap().verified_by.as_deref() == Some(keys.rotated_serial))
        .count();
    assert!(
        by_new > 0,
        "some answers were signed with the new certificate"
    );
    // One refresh, shared by every call that met the new serial.
    assert_eq!(gateway.certificate_request_count(), 1);
    assert_eq!(gateway.request_count(), gw_requests_before + 200 + 1);
    // The client now names the newest certificate.
    assert_eq!(
        client.core().platform_keys().preferred_serial(),
        Some(keys.rotated_serial)
    );
}

/// A transport with a background refresh task.
trait Background: Sized {
    fn make(core: wechatpay_core::Client) -> Self;
    fn spawn(&self, interval: Duration) -> tokio::task::JoinHandle<()>;
    fn core(&self) -> &wechatpay_core::Client;
}

impl Background for wechatpay_hyper::Client {
    fn make(core: wechatpay_core::Client) -> Self {
        wechatpay_hyper::Client::with_config(
            core,
            wechatpay_hyper::Config::default().proxy(wechatpay_hyper::Proxy::None),
        )
        .unwrap()
    }
    fn spawn(&self, interval: Duration) -> tokio::task::JoinHandle<()> {
        tokio::spawn(self.background_refresh(interval))
    }
    fn core(&self) -> &wechatpay_core::Client {
        wechatpay_hyper::Client::core(self)
    }
}

impl Background for wechatpay_reqwest::Client {
    fn make(core: wechatpay_core::Client) -> Self {
        let cfg = wechatpay_reqwest::Config::default().proxy(wechatpay_reqwest::Proxy::None);
        wechatpay_reqwest::Client::with_config(core, cfg).unwrap()
    }
    fn spawn(&self, interval: Duration) -> tokio::task::JoinHandle<()> {
        tokio::spawn(self.background_refresh(interval))
    }
    fn core(&self) -> &wechatpay_core::Client {
        wechatpay_reqwest::Client::core(self)
    }
}

fn background_refresh_follows_rotation_and_stops_with_the_client<C: Background>() {
    let keys = TestKeys::load();
    let server = Server::start(Gateway::with_test_keys(Mode::Certificate)).unwrap();
    let core = keys
        .client_builder(&server.base_url(), Mode::Certificate)
        .apiv3_key(apiv3())
        .build()
        .unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let client = C::make(core);
        let task = client.spawn(Duration::from_millis(20));
        server.gateway().rotate_certificate(keys.rotated_signer());
        let mut seen = false;
        for _ in 0..200 {
            if client
                .core()
                .platform_keys()
                .get(keys.rotated_serial)
                .is_some()
            {
                seen = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(
            seen,
            "the background task downloaded the new certificate without any call"
        );
        assert!(
            !task.is_finished(),
            "the task keeps running with its client"
        );
        drop(client);
        tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .expect("task ends after the client is dropped")
            .unwrap();
    });
}

#[test]
fn hyper_background_refresh_follows_rotation_and_stops_with_the_client() {
    background_refresh_follows_rotation_and_stops_with_the_client::<wechatpay_hyper::Client>();
}

#[test]
fn reqwest_background_refresh_follows_rotation_and_stops_with_the_client() {
    background_refresh_follows_rotation_and_stops_with_the_client::<wechatpay_reqwest::Client>();
}

/// The blocking client's background refresh, over the in-memory connector: a thread that
/// follows a rotation without any call and ends once the client is dropped.
#[test]
fn blocking_background_refresh_follows_rotation_and_stops_with_the_client() {
    use wechatpay_core::BlockingClient;
    use wechatpay_sandbox::connector::InMemory;
    let keys = TestKeys::load();
    let gateway = std::sync::Arc::new(Gateway::with_test_keys(Mode::Certificate));
    let core = keys
        .client_builder("http://sandbox.invalid", Mode::Certificate)
        .apiv3_key(apiv3())
        .build()
        .unwrap();
    let config = wechatpay_core::transport::Config::default();
    let client = BlockingClient::with_connector(core, InMemory::new(gateway.clone()), config);
    let thread = client.spawn_background_refresh(Duration::from_millis(20));
    gateway.rotate_certificate(keys.rotated_signer());
    let seen = (0..200).any(|_| {
        let held = client
            .core()
            .platform_keys()
            .get(keys.rotated_serial)
            .is_some();
        if !held {
            std::thread::sleep(Duration::from_millis(10));
        }
        held
    });
    assert!(
        seen,
        "the thread downloaded the new certificate without any call"
    );
    assert!(
        !thread.is_finished(),
        "the thread keeps running with its client"
    );
    drop(client);
    let ended = (0..500).any(|_| {
        std::thread::sleep(Duration::from_millis(10));
        thread.is_finished()
    });
    assert!(ended, "the thread ends after the client is dropped");
    thread.join().unwrap();
}

#[test]
fn ureq_refreshes_once_on_an_unknown_serial_and_is_rate_limited() {
    let keys = TestKeys::load();
    let server = Server::start(Gateway::with_test_keys(Mode::Certificate)).unwrap();
    let c = ureq_client(&server, keys.platform_keys(Mode::Certificate));
    c.send(Call::<Value>::get("/v3/certificates")).unwrap();
    server.gateway().rotate_certificate(keys.rotated_signer());
    let body = CreateRequest {
        appid: "wx1".into(),
        out_order_no: "U-1".into(),
        service_id: "5".into(),
        ..Default::default()
    };
    let r = c.send(create(&body)).unwrap();
    assert_eq!(r.verified_by.as_deref(), Some(keys.rotated_serial));
    assert_eq!(server.gateway().certificate_request_count(), 2);
    // Rate limited: another unknown serial right after does not download again.
    let e = c
        .send(
            Call::<Value>::get("/v3/certificates")
                .header(wechatpay_sandbox::FAULT_HEADER, "unknown-serial"),
        )
        .unwrap_err();
    assert!(matches!(
        e.verify_error(),
        Some(VerifyError::UnknownSerial { .. })
    ));
    assert_eq!(
        server.gateway().certificate_request_count(),
        3,
        "only the call itself hit /v3/certificates"
    );
    // Without refresh, the unknown serial is an error and nothing is re-sent.
    let server = Server::start(Gateway::with_test_keys(Mode::Certificate)).unwrap();
    server.gateway().rotate_certificate(keys.rotated_signer());
    let core = keys
        .client_builder(&server.base_url(), Mode::Certificate)
        .build()
        .unwrap();
    let plain = wechatpay_ureq::Client::with_config(
        core,
        wechatpay_ureq::Config::default().proxy(wechatpay_ureq::Proxy::None),
    )
    .unwrap();
    let e = plain.send(create(&body)).unwrap_err();
    assert!(matches!(
        e.verify_error(),
        Some(VerifyError::UnknownSerial { .. })
    ));
    assert_eq!(server.gateway().request_count(), 1);
}

#[test]
fn migration_from_certificates_to_public_key_without_a_failed_call() {
    let keys = TestKeys::load();
    let server = Server::start(Gateway::with_test_keys(Mode::Certificate)).unwrap();
    // Configured with both, as WeChat Pay's migration guide asks.
    let core = keys
        .client_builder(&server.base_url(), Mode::Both)
        .build()
        .unwrap();
    let c = wechatpay_ureq::Client::with_config(
        core,
        wechatpay_ureq::Config::default().proxy(wechatpay_ureq::Proxy::None),
    )
    .unwrap();
    let cb = wechatpay_core::notify::Callbacks::for_client(c.core(), apiv3())
        .refresh_through_blocking(c.clone());
    let store = wechatpay_core::notify::MemoryStore::default();
    let now = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64
    };
    let tx = serde_json::json!({"out_trade_no": "M"});
    let mut by = std::collections::BTreeSet::new();
    for step in 0..30 {
        if step == 10 {
            // The merchant starts the switch: WeChat Pay gets a public key too.
            server
                .gateway()
                .switch_to_public_key(Some(keys.public_key_signer()));
        }
        let body = CreateRequest {
            appid: "wx1".into(),
            out_order_no: format!("M-{step}"),
            service_id: "5".into(),
            ..Default::default()
        };
        by.insert(c.send(create(&body)).unwrap().verified_by.unwrap());
        let n = server.gateway().notification(
            "TRANSACTION.SUCCESS",
            "s",
            "transaction",
            &tx,
            now(),
            None,
        );
        let mut verified_by = None;
        let handled = cb.handle_blocking(
            &store,
            n.headers(),
            n.body(),
            |n: wechatpay_core::notify::Notification<Value>| {
                verified_by = Some(n.verified_by);
                Ok(())
            },
        );
        assert!(
            matches!(handled.outcome, wechatpay_core::notify::Outcome::Processed),
            "{:?}",
            handled.outcome
        );
        by.insert(verified_by.unwrap());
    }
    // Both keys were seen, and no call failed.
    assert!(
        by.contains(keys.platform_serial) && by.contains(keys.public_key_id),
        "{by:?}"
    );
}
