//! One-step setup (#14): the TOML file and `WXPAY_*` variables, the APIv3 key rule, the merchant
//! certificate refused as a platform key, and the hints of API errors.

use crate::common;

use std::path::{Path, PathBuf};

use wechatpay_core::config::Settings;

use wechatpay_core::BuildError;
use wechatpay_core::ConfigError;
use wechatpay_core::{ApiV3Key, KeyError};

const APIV3: &str = "0123456789abcdefghijklmnopqrstuv";

fn dir(test: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("wechatpay-config-{test}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    for f in [
        "merchant_key.pem",
        "merchant_cert.pem",
        "platform_cert.pem",
        "platform_pubkey_mode.pub.pem",
    ] {
        std::fs::copy(common::fixtures().join("keys").join(f), d.join(f)).unwrap();
    }
    d
}

fn write(d: &Path, name: &str, text: &str) -> PathBuf {
    std::fs::write(d.join(name), text).unwrap();
    d.join(name)
}

const BASE: &str = r#"mchid = "1900000001"
serial = "3D2A5C1B0E9F8A7B6C5D4E3F2A1B0C9D8E7F6A5B"
private_key = "merchant_key.pem"
"#;

#[test]
fn a_file_makes_a_client_in_one_step() {
    let d = dir("file");
    write(&d, "apiv3.txt", &format!("{APIV3}\n"));
    let cfg = write(
        &d,
        "wxpay.toml",
        &format!(
            "{BASE}platform_cert = [\"platform_cert.pem\"]\npublic_key = \"platform_pubkey_mode.pub.pem\"\npublic_key_id = \"PUB_KEY_ID_0119000000012026112600000001\"\napiv3_key_file = \"apiv3.txt\"\nbase_url = \"http://127.0.0.1:9\"\ntimeout = 5\n"
        ),
    );
    // Relative paths are relative to the file, wherever the process runs.
    let s = Settings::from_file(&cfg).unwrap();
    assert_eq!(
        s.private_key.as_deref(),
        Some(d.join("merchant_key.pem").as_path())
    );
    assert_eq!(s.timeout().unwrap(), std::time::Duration::from_secs(5));
    let client = Settings::load(&cfg).unwrap().client().unwrap();
    assert_eq!(client.merchant().mchid(), "1900000001");
    let keys = client.platform_keys();
    assert!(keys
        .get("5A1F3C2B4D6E8F9A0B1C2D3E4F5A6B7C8D9E0F1A")
        .is_some());
    assert!(keys
        .get("PUB_KEY_ID_0119000000012026112600000001")
        .is_some());
    assert!(format!("{client:?}").contains("127.0.0.1:9"));
    assert!(format!("{client:?}").contains("refresh: true"));
}

#[test]
fn variables_override_the_file_and_flags_override_variables() {
    let d = dir("vars");
    let file = Settings::from_toml(&format!("{BASE}base_url = \"https://file\"\n"), &d).unwrap();
    let vars = Settings::from_vars([
        ("WXPAY_BASE_URL".to_string(), "https://env".to_string()),
        ("WXPAY_PLATFORM_CERT".to_string(), "a.pem,b.pem".to_string()),
        ("WXPAY_TIMEOUT".to_string(), "7".to_string()),
        ("WXPAY_SERIAL".to_string(), String::new()), // empty: unset
        ("OTHER".to_string(), "x".to_string()),
    ])
    .unwrap();
    let merged = vars.clone().or(file.clone());
    assert_eq!(merged.base_url.as_deref(), Some("https://env"));
    assert_eq!(merged.serial, file.serial);
    assert_eq!(
        merged.platform_cert,
        [PathBuf::from("a.pem"), PathBuf::from("b.pem")]
    );
    assert_eq!(merged.timeout, Some(7));
    let e = Settings::from_vars([("WXPAY_TIMEOUT".to_string(), "soon".to_string())]).unwrap_err();
    assert!(e.to_string().contains("WXPAY_TIMEOUT"), "{e}");
}

#[test]
fn every_bad_configuration_names_what_is_wrong() {
    let d = dir("bad");
    // Unknown key (a typo), bad TOML, missing file.
    let e = Settings::from_toml("mchid = \"1\"\nprivate_kye = \"k.pem\"\n", &d).unwrap_err();
    assert!(
        matches!(e, ConfigError::Parse { .. }) && e.to_string().contains("private_kye"),
        "{e}"
    );
    let e = Settings::from_file(write(&d, "broken.toml", "mchid = ")).unwrap_err();
    assert!(e.to_string().contains("broken.toml"), "{e}");
    let e = Settings::from_file(d.join("absent.toml")).unwrap_err();
    assert!(matches!(e, ConfigError::Read { .. }), "{e}");
    // Missing settings, by their key.
    let e = Settings::from_toml("", &d).unwrap().client().unwrap_err();
    assert!(matches!(e, ConfigError::Missing { name: "mchid" }), "{e}");
    let half = Settings::from_toml(
        &format!("{BASE}public_key = \"platform_pubkey_mode.pub.pem\"\n"),
        &d,
    )
    .unwrap();
    assert!(matches!(
        half.client().unwrap_err(),
        ConfigError::Missing {
            name: "public_key_id"
        }
    ));
    // A key file of the wrong kind names the file.
    let wrong = Settings::from_toml(
        "mchid = \"1900000001\"\nserial = \"3D2A\"\nprivate_key = \"merchant_cert.pem\"\n",
        &d,
    )
    .unwrap();
    let e = wrong.client().unwrap_err();
    assert!(
        matches!(
            &e,
            ConfigError::Key {
                source: KeyError::WrongKind { .. },
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("merchant_cert.pem"), "{e}");
    // Timeout bounds.
    let zero = Settings::from_toml("timeout = 0", &d).unwrap();
    assert!(zero.timeout().is_err());
}

#[test]
fn the_apiv3_key_rule_is_one_rule() {
    // Surrounding white space (a file's newline, a pasted space) is not part of the key.
    for text in [
        format!("{APIV3}\n"),
        format!("{APIV3}\r\n"),
        format!("  {APIV3} "),
    ] {
        ApiV3Key::new(&text).unwrap();
    }
    let e = ApiV3Key::new(format!("{APIV3}x")).unwrap_err();
    assert!(
        e.to_string().contains("APIv3 key") && e.to_string().contains("33"),
        "{e}"
    );
    let d = dir("apiv3");
    ApiV3Key::from_file(write(&d, "k.txt", &format!("{APIV3}\n"))).unwrap();
    let e = ApiV3Key::from_file(write(&d, "short.txt", "abc\n")).unwrap_err();
    assert!(
        e.to_string().contains("APIv3 key") && e.to_string().contains("3"),
        "{e}"
    );
    let e = ApiV3Key::from_file(d.join("absent.txt")).unwrap_err();
    assert!(
        matches!(
            e,
            KeyError::Io {
                what: "APIv3 key",
                ..
            }
        ),
        "{e}"
    );
    // Through the configuration, the error names the file.
    let s = Settings::from_toml(&format!("{BASE}apiv3_key_file = \"short.txt\"\n"), &d).unwrap();
    let e = s.client().unwrap_err();
    assert!(
        matches!(e, ConfigError::ApiV3Key { .. }) && e.to_string().contains("short.txt"),
        "{e}"
    );
}

#[test]
fn the_merchant_certificate_is_refused_as_a_platform_key() {
    let d = dir("own");
    let s = Settings::from_toml(
        &format!("{BASE}platform_cert = [\"merchant_cert.pem\"]\n"),
        &d,
    )
    .unwrap();
    let e = s.client().unwrap_err();
    // What `fn main() -> Result<(), Box<dyn Error>>` prints (`Error: {e:?}`) carries the advice.
    let boxed: Box<dyn std::error::Error> = Box::new(s.client().unwrap_err());
    let printed = format!("{boxed:?}");
    let debug = format!("{e:?}");
    assert_eq!(debug, e.to_string());
    assert!(
        debug.contains("configure the platform certificate"),
        "{debug}"
    );
    assert!(printed.contains("wxpay certificates"), "{printed}");
    match e {
        ConfigError::Build(BuildError::MerchantKeyAsPlatformKey { id }) => {
            assert_eq!(id, "3D2A5C1B0E9F8A7B6C5D4E3F2A1B0C9D8E7F6A5B")
        }
        other => panic!("{other:?}"),
    }
    // The genuine platform certificate is accepted.
    let ok = Settings::from_toml(
        &format!("{BASE}platform_cert = [\"platform_cert.pem\"]\n"),
        &d,
    )
    .unwrap();
    ok.client().unwrap();
}

#[test]
fn api_errors_carry_a_hint() {
    let answer = |code: &str, message: &str| {
        let body = serde_json::json!({"code": code, "message": message}).to_string();
        wechatpay_core::ApiError::from_response(
            http::StatusCode::UNAUTHORIZED,
            &http::HeaderMap::new(),
            body.as_bytes(),
        )
    };
    let e = answer("SIGN_ERROR", "签名错误");
    let hint = e.hint().unwrap();
    for what in [
        "`serial`",
        "private key",
        "`mchid`",
        "clock",
        "wxpay doctor",
    ] {
        assert!(hint.contains(what), "{what}");
    }
    assert!(e.to_string().contains(hint));
    assert!(answer("RESOURCE_NOT_EXISTS", "无可用的平台证书")
        .hint()
        .unwrap()
        .contains("public key"));
    assert!(answer("RESOURCE_NOT_EXISTS", "订单不存在").hint().is_none());
    assert!(answer("ORDER_NOT_EXIST", "x").hint().is_none());
}

#[test]
fn apiv2_key_and_client_identity_from_the_file_and_variables() {
    let d = dir("v2");
    write(&d, "apiv2.txt", "192006250b4c09247ec02edce69f6a2d\n");
    let cfg = write(
        &d,
        "wxpay.toml",
        &format!(
            "{BASE}apiv2_key_file = \"apiv2.txt\"\nclient_cert = \"merchant_cert.pem\"\nclient_key = \"merchant_key.pem\"\n"
        ),
    );
    let s = Settings::from_file(&cfg).unwrap();
    assert!(s.apiv2_key().unwrap().is_some());
    let config = s.transport_config().unwrap();
    let id = config.client_identity.expect("the identity is configured");
    assert_eq!(id.serial(), "3D2A5C1B0E9F8A7B6C5D4E3F2A1B0C9D8E7F6A5B");
    assert!(Settings::load(&cfg)
        .unwrap()
        .client()
        .unwrap()
        .apiv2_key()
        .is_some());
    // The variables name the same things.
    let vars = Settings::from_vars([
        (
            "WXPAY_APIV2_KEY_FILE".to_string(),
            d.join("apiv2.txt").display().to_string(),
        ),
        (
            "WXPAY_CLIENT_CERT".to_string(),
            d.join("merchant_cert.pem").display().to_string(),
        ),
    ])
    .unwrap();
    assert_eq!(vars.apiv2_key_file, Some(d.join("apiv2.txt")));
    // Half an identity, or both forms, or a key that is not the certificate's: named errors.
    assert!(matches!(
        vars.client_identity(),
        Err(ConfigError::Missing { name: "client_key" })
    ));
    let mut both = s.clone();
    both.client_p12 = Some(d.join("x.p12"));
    assert!(matches!(
        both.client_identity(),
        Err(ConfigError::Invalid {
            name: "client_p12",
            ..
        })
    ));
    let mut mismatched = s.clone();
    mismatched.client_key = Some(d.join("platform_pubkey_mode.pub.pem"));
    assert!(matches!(
        mismatched.client_identity(),
        Err(ConfigError::Key { .. })
    ));
    write(&d, "short.txt", "short");
    let mut short = s;
    short.apiv2_key_file = Some(d.join("short.txt"));
    let e = short.apiv2_key().unwrap_err();
    assert!(e.to_string().contains("APIv2 key"), "{e}");
}

/// A connector that only records the settings it was made from.
struct Probe(wechatpay_core::transport::Config);

impl wechatpay_core::connector::FromConfig for Probe {
    fn from_config(
        config: &wechatpay_core::transport::Config,
    ) -> Result<Self, wechatpay_core::TransportError> {
        Ok(Probe(config.clone()))
    }
}

impl wechatpay_core::connector::BlockingConnector for Probe {
    type Body = std::io::Empty;
    fn send(
        &self,
        _: http::Request<wechatpay_core::connector::RequestBody>,
        _: wechatpay_core::connector::Timeouts,
    ) -> Result<http::Response<std::io::Empty>, wechatpay_core::TransportError> {
        unreachable!("nothing is sent")
    }
}

#[test]
fn one_call_gives_a_client_with_everything_the_file_names() {
    let d = dir("whole");
    write(&d, "apiv3.txt", APIV3);
    let cfg = write(
        &d,
        "wxpay.toml",
        &format!(
            "{BASE}platform_cert = [\"platform_cert.pem\"]\napiv3_key_file = \"apiv3.txt\"\ntimeout = 7\nclient_cert = \"merchant_cert.pem\"\nclient_key = \"merchant_key.pem\"\n"
        ),
    );
    let client = wechatpay_core::BlockingClient::<Probe>::from_config(&cfg).unwrap();
    // The timeout and the client identity reach both the client and the connector.
    for config in [client.config(), &client.connector().0] {
        assert_eq!(config.timeout, std::time::Duration::from_secs(7));
        assert!(config.client_identity.is_some());
    }
    // The APIv3 key is there for callbacks and for the certificate refresh.
    assert!(client.callbacks().is_some());
    assert!(format!("{:?}", client.core()).contains("refresh: true"));

    // Without an APIv3 key there are no callbacks; a bad timeout is the file's error.
    let bare = write(
        &d,
        "bare.toml",
        &format!("{BASE}platform_cert = [\"platform_cert.pem\"]\n"),
    );
    let client = wechatpay_core::BlockingClient::<Probe>::from_config(&bare).unwrap();
    assert!(client.callbacks().is_none());
    assert_eq!(client.config().timeout, std::time::Duration::from_secs(30));
    let bad = write(
        &d,
        "bad.toml",
        &format!("{BASE}platform_cert = [\"platform_cert.pem\"]\ntimeout = 0\n"),
    );
    let e = wechatpay_core::BlockingClient::<Probe>::from_config(&bad).unwrap_err();
    assert!(
        matches!(
            e,
            ConfigError::Invalid {
                name: "timeout",
                ..
            }
        ),
        "{e:?}"
    );
}
