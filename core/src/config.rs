//! One-step setup from files: the TOML file and `WXPAY_*` variables the `wxpay` CLI reads — one
//! format, one parser, here.
//!
//! ```toml
//! mchid = "1900000001"
//! serial = "3D2A5C1B0E9F8A7B6C5D4E3F2A1B0C9D8E7F6A5B"   # your merchant API certificate's serial
//! private_key = "apiclient_key.pem"
//! platform_cert = ["wechatpay_cert.pem"]               # certificate mode, and/or:
//! public_key = "pub_key.pem"                           # public key mode
//! public_key_id = "PUB_KEY_ID_0119000000012026112600000001"
//! apiv3_key_file = "apiv3_key.txt"                     # optional: callbacks, certificate refresh
//! base_url = "https://api.mch.weixin.qq.com"           # optional
//! timeout = 30                                         # optional, seconds (transports)
//! apiv2_key_file = "apiv2_key.txt"                     # optional: APIv2 (XML) calls
//! client_cert = "apiclient_cert.pem"                   # optional: APIv2 paths over mutual TLS,
//! client_key = "apiclient_key.pem"                     #   or client_p12 = "apiclient_cert.p12"
//! ```
//!
//! Relative paths are relative to the file. The variables (`WXPAY_MCHID`, `WXPAY_SERIAL`,
//! `WXPAY_PRIVATE_KEY`, `WXPAY_PLATFORM_CERT` — comma-separated —, `WXPAY_PUBLIC_KEY`,
//! `WXPAY_PUBLIC_KEY_ID`, `WXPAY_APIV3_KEY_FILE`, `WXPAY_BASE_URL`, `WXPAY_TIMEOUT`,
//! `WXPAY_APIV2_KEY_FILE`, `WXPAY_CLIENT_CERT`, `WXPAY_CLIENT_KEY`, `WXPAY_CLIENT_P12`) take
//! precedence over the file, as in the CLI. [`Settings::transport_config`] gives transports
//! the timeout and the client identity.
//!
//! ```no_run
//! # fn run() -> Result<(), wechatpay_core::ConfigError> {
//! // after `wxpay sandbox --dir sbx`; a transport's `Client::from_config` does this and more
//! let client = wechatpay_core::config::Settings::load("sbx/wxpay.toml")?.client()?;
//! # let _ = client; Ok(()) }
//! ```

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::aead::ApiV3Key;
use crate::error::ConfigError;
use crate::{Client, ClientBuilder, Merchant, PlatformKey, PlatformKeys, PrivateKey};

/// What a configuration names: every field optional until a client is built from it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Settings {
    /// Merchant id (商户号).
    pub mchid: Option<String>,
    /// The merchant API certificate's serial (商户API证书序列号).
    pub serial: Option<String>,
    /// The merchant private key file (`apiclient_key.pem`).
    pub private_key: Option<PathBuf>,
    /// Platform certificate files (平台证书).
    #[serde(default)]
    pub platform_cert: Vec<PathBuf>,
    /// The platform public key file (微信支付公钥).
    pub public_key: Option<PathBuf>,
    /// The platform public key id (`PUB_KEY_ID_…`).
    pub public_key_id: Option<String>,
    /// The file holding the APIv3 key.
    pub apiv3_key_file: Option<PathBuf>,
    /// The base URL (default `https://api.mch.weixin.qq.com`).
    pub base_url: Option<String>,
    /// The per-call timeout in seconds, for transports (default 30).
    pub timeout: Option<u64>,
    /// The file holding the APIv2 key (APIv2 calls and notifications).
    pub apiv2_key_file: Option<PathBuf>,
    /// The merchant's API client certificate (`apiclient_cert.pem`), with `client_key`:
    /// presented by transports on the APIv2 paths that need it.
    pub client_cert: Option<PathBuf>,
    /// The client certificate's key (`apiclient_key.pem`).
    pub client_key: Option<PathBuf>,
    /// The client certificate as PKCS#12 (`apiclient_cert.p12`, password: the mchid), instead
    /// of `client_cert` and `client_key`.
    pub client_p12: Option<PathBuf>,
}

/// The variables [`Settings::from_vars`] reads, with the field each sets.
pub(crate) const VARIABLES: [&str; 13] = [
    "WXPAY_MCHID",
    "WXPAY_SERIAL",
    "WXPAY_PRIVATE_KEY",
    "WXPAY_PLATFORM_CERT",
    "WXPAY_PUBLIC_KEY",
    "WXPAY_PUBLIC_KEY_ID",
    "WXPAY_APIV3_KEY_FILE",
    "WXPAY_BASE_URL",
    "WXPAY_TIMEOUT",
    "WXPAY_APIV2_KEY_FILE",
    "WXPAY_CLIENT_CERT",
    "WXPAY_CLIENT_KEY",
    "WXPAY_CLIENT_P12",
];

impl Settings {
    /// Read a TOML file; relative paths in it are made relative to its directory.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Settings, ConfigError> {
        let path = path.as_ref();
        let read = |source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        };
        let bytes = crate::files::read(path, crate::files::MAX_CONFIG_FILE).map_err(read)?;
        let text = std::str::from_utf8(&bytes).map_err(|e| {
            read(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("not UTF-8 text: {e}"),
            ))
        })?;
        let dir = path.parent().unwrap_or(Path::new(""));
        Settings::from_toml(text, dir).map_err(|e| match e {
            ConfigError::Parse { message, .. } => ConfigError::Parse {
                path: Some(path.to_path_buf()),
                message,
            },
            other => other,
        })
    }

    /// Parse TOML text; relative paths are made relative to `dir`.
    pub fn from_toml(text: &str, dir: &Path) -> Result<Settings, ConfigError> {
        let s: Settings = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: None,
            message: e.message().to_string(),
        })?;
        Ok(s.relative_to(dir))
    }

    /// The `WXPAY_*` variables of this process (listed in the module docs).
    pub fn from_env() -> Result<Settings, ConfigError> {
        Settings::from_vars(
            VARIABLES
                .iter()
                .filter_map(|&k| std::env::var(k).ok().map(|v| (k.to_string(), v))),
        )
    }

    /// Settings from `(name, value)` pairs named as the `WXPAY_*` variables (others are ignored;
    /// empty values count as unset).
    pub fn from_vars(
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Settings, ConfigError> {
        let mut s = Settings::default();
        for (k, v) in vars {
            if v.is_empty() {
                continue;
            }
            match k.as_str() {
                "WXPAY_MCHID" => s.mchid = Some(v),
                "WXPAY_SERIAL" => s.serial = Some(v),
                "WXPAY_PRIVATE_KEY" => s.private_key = Some(v.into()),
                "WXPAY_PLATFORM_CERT" => {
                    s.platform_cert = v
                        .split(',')
                        .filter(|p| !p.is_empty())
                        .map(PathBuf::from)
                        .collect()
                }
                "WXPAY_PUBLIC_KEY" => s.public_key = Some(v.into()),
                "WXPAY_PUBLIC_KEY_ID" => s.public_key_id = Some(v),
                "WXPAY_APIV3_KEY_FILE" => s.apiv3_key_file = Some(v.into()),
                "WXPAY_BASE_URL" => s.base_url = Some(v),
                "WXPAY_APIV2_KEY_FILE" => s.apiv2_key_file = Some(v.into()),
                "WXPAY_CLIENT_CERT" => s.client_cert = Some(v.into()),
                "WXPAY_CLIENT_KEY" => s.client_key = Some(v.into()),
                "WXPAY_CLIENT_P12" => s.client_p12 = Some(v.into()),
                "WXPAY_TIMEOUT" => {
                    s.timeout = Some(v.parse().map_err(|_| ConfigError::Invalid {
                        name: "WXPAY_TIMEOUT",
                        reason: format!("{v:?} is not a number of seconds"),
                    })?)
                }
                _ => {}
            }
        }
        Ok(s)
    }

    /// The file at `path` with the `WXPAY_*` variables over it: what the CLI and
    /// the clients' `from_config` read.
    pub fn load(path: impl AsRef<Path>) -> Result<Settings, ConfigError> {
        Ok(Settings::from_env()?.or(Settings::from_file(path)?))
    }

    /// `self`, with what it leaves unset taken from `fallback`.
    pub fn or(self, fallback: Settings) -> Settings {
        Settings {
            mchid: self.mchid.or(fallback.mchid),
            serial: self.serial.or(fallback.serial),
            private_key: self.private_key.or(fallback.private_key),
            platform_cert: if self.platform_cert.is_empty() {
                fallback.platform_cert
            } else {
                self.platform_cert
            },
            public_key: self.public_key.or(fallback.public_key),
            public_key_id: self.public_key_id.or(fallback.public_key_id),
            apiv3_key_file: self.apiv3_key_file.or(fallback.apiv3_key_file),
            base_url: self.base_url.or(fallback.base_url),
            timeout: self.timeout.or(fallback.timeout),
            apiv2_key_file: self.apiv2_key_file.or(fallback.apiv2_key_file),
            client_cert: self.client_cert.or(fallback.client_cert),
            client_key: self.client_key.or(fallback.client_key),
            client_p12: self.client_p12.or(fallback.client_p12),
        }
    }

    fn relative_to(self, dir: &Path) -> Settings {
        let rel = |p: PathBuf| if p.is_absolute() { p } else { dir.join(p) };
        Settings {
            private_key: self.private_key.map(rel),
            platform_cert: self.platform_cert.into_iter().map(rel).collect(),
            public_key: self.public_key.map(rel),
            apiv3_key_file: self.apiv3_key_file.map(rel),
            apiv2_key_file: self.apiv2_key_file.map(rel),
            client_cert: self.client_cert.map(rel),
            client_key: self.client_key.map(rel),
            client_p12: self.client_p12.map(rel),
            ..self
        }
    }

    fn need<'a, T>(v: &'a Option<T>, name: &'static str) -> Result<&'a T, ConfigError> {
        v.as_ref().ok_or(ConfigError::Missing { name })
    }

    /// The merchant private key.
    pub fn private_key(&self) -> Result<PrivateKey, ConfigError> {
        let path = Self::need(&self.private_key, "private_key")?;
        PrivateKey::from_file(path).map_err(|source| ConfigError::Key {
            path: path.clone(),
            source,
        })
    }

    /// The merchant: `mchid`, `serial` and the private key.
    pub fn merchant(&self) -> Result<Merchant, ConfigError> {
        let mchid = Self::need(&self.mchid, "mchid")?;
        let serial = Self::need(&self.serial, "serial")?;
        Merchant::new(mchid.as_str(), serial.as_str(), self.private_key()?).map_err(|e| {
            ConfigError::Invalid {
                name: "mchid/serial",
                reason: e.to_string(),
            }
        })
    }

    /// The platform keys named: certificates and/or the public key (maybe none).
    pub fn platform_keys(&self) -> Result<PlatformKeys, ConfigError> {
        let mut keys = PlatformKeys::new();
        for c in &self.platform_cert {
            keys.insert(PlatformKey::from_certificate_file(c).map_err(|source| {
                ConfigError::Key {
                    path: c.clone(),
                    source,
                }
            })?);
        }
        match (&self.public_key, &self.public_key_id) {
            (Some(p), Some(id)) => {
                keys.insert(PlatformKey::from_public_key_file(id.as_str(), p).map_err(
                    |source| ConfigError::Key {
                        path: p.clone(),
                        source,
                    },
                )?)
            }
            (Some(_), None) => {
                return Err(ConfigError::Missing {
                    name: "public_key_id",
                })
            }
            (None, Some(_)) => return Err(ConfigError::Missing { name: "public_key" }),
            (None, None) => {}
        }
        Ok(keys)
    }

    /// The APIv3 key, when a file is named.
    pub fn apiv3_key(&self) -> Result<Option<ApiV3Key>, ConfigError> {
        match &self.apiv3_key_file {
            None => Ok(None),
            Some(path) => {
                ApiV3Key::from_file(path)
                    .map(Some)
                    .map_err(|source| ConfigError::ApiV3Key {
                        path: path.clone(),
                        source,
                    })
            }
        }
    }

    /// The APIv2 key, when a file is named.
    pub fn apiv2_key(&self) -> Result<Option<crate::v2::ApiV2Key>, ConfigError> {
        self.apiv2_key_file
            .as_ref()
            .map(|path| {
                crate::v2::ApiV2Key::from_file(path).map_err(|source| ConfigError::Key {
                    path: path.clone(),
                    source,
                })
            })
            .transpose()
    }

    /// The client identity (mutual TLS), when configured: `client_cert` + `client_key`, or
    /// `client_p12` (its password is the mchid).
    pub fn client_identity(&self) -> Result<Option<crate::transport::ClientIdentity>, ConfigError> {
        use crate::transport::ClientIdentity;
        let key_error = |path: &PathBuf| {
            let path = path.clone();
            move |source| ConfigError::Key { path, source }
        };
        match (&self.client_cert, &self.client_key, &self.client_p12) {
            (None, None, None) => Ok(None),
            (Some(cert), Some(key), None) => ClientIdentity::from_files(cert, key)
                .map(Some)
                .map_err(key_error(cert)),
            (None, None, Some(p12)) => {
                #[cfg(feature = "pkcs12")]
                {
                    let mchid = Self::need(&self.mchid, "mchid")?;
                    ClientIdentity::from_pkcs12_file(p12, mchid)
                        .map(Some)
                        .map_err(key_error(p12))
                }
                #[cfg(not(feature = "pkcs12"))]
                {
                    let _ = key_error(p12);
                    Err(ConfigError::Invalid {
                        name: "client_p12",
                        reason: "built without the `pkcs12` feature (turn it on), or convert with `openssl pkcs12 -in apiclient_cert.p12 -nodes` and give client_cert and client_key".into(),
                    })
                }
            }
            (Some(_), None, None) => Err(ConfigError::Missing { name: "client_key" }),
            (None, Some(_), None) => Err(ConfigError::Missing {
                name: "client_cert",
            }),
            _ => Err(ConfigError::Invalid {
                name: "client_p12",
                reason: "give client_cert and client_key, or client_p12, not both".into(),
            }),
        }
    }

    /// The transport configuration named here: the timeout and the client identity.
    pub fn transport_config(&self) -> Result<crate::transport::Config, ConfigError> {
        let mut config = crate::transport::Config::default().timeout(self.timeout()?);
        if let Some(id) = self.client_identity()? {
            config = config.client_identity(id);
        }
        Ok(config)
    }

    /// A builder with everything named here (the merchant, the platform keys, the base URL,
    /// the APIv3 key — which turns on certificate refresh —, the APIv2 key), to adjust
    /// before `build()`.
    pub fn builder(&self) -> Result<ClientBuilder, ConfigError> {
        let mut b = Client::builder(self.merchant()?).platform_keys(self.platform_keys()?);
        if let Some(url) = &self.base_url {
            b = b.base_url(url.as_str());
        }
        if let Some(key) = self.apiv3_key()? {
            b = b.apiv3_key(key);
        }
        if let Some(key) = self.apiv2_key()? {
            b = b.apiv2_key(key);
        }
        Ok(b)
    }

    /// The client.
    pub fn client(&self) -> Result<Client, ConfigError> {
        self.builder()?.build().map_err(ConfigError::Build)
    }

    /// The per-call timeout (default 30 s); `Invalid` outside 1 s ..= 1 day.
    pub fn timeout(&self) -> Result<std::time::Duration, ConfigError> {
        let secs = self.timeout.unwrap_or(30);
        let max = crate::error::MAX_DURATION.as_secs();
        if secs == 0 || secs > max {
            return Err(ConfigError::Invalid {
                name: "timeout",
                reason: format!("{secs}: give 1 to {max} seconds"),
            });
        }
        Ok(std::time::Duration::from_secs(secs))
    }
}
