//! Global settings: flags, `WXPAY_<NAME>` environment variables (via clap) and a TOML config file
//! (`--config`), in that order of precedence. Secrets are read from files and never printed.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use wechatpay_core::{ApiV3Key, Client, Merchant, PlatformKey, PlatformKeys, PrivateKey};

use crate::Failure;

/// The global options.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct Global {
    /// TOML config file (keys: mchid, serial, private_key, platform_cert = [..], public_key,
    /// public_key_id, apiv3_key_file, base_url, timeout)
    #[arg(long, global = true, env = "WXPAY_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Merchant id (商户号)
    #[arg(long, global = true, env = "WXPAY_MCHID")]
    pub mchid: Option<String>,
    /// Merchant API certificate serial (商户API证书序列号)
    #[arg(long, global = true, env = "WXPAY_SERIAL")]
    pub serial: Option<String>,
    /// Merchant private key file, apiclient_key.pem (商户API私钥)
    #[arg(
        long = "private-key",
        global = true,
        env = "WXPAY_PRIVATE_KEY",
        value_name = "FILE"
    )]
    pub private_key: Option<PathBuf>,
    /// Platform certificate file (平台证书), repeatable
    #[arg(
        long = "platform-cert",
        global = true,
        env = "WXPAY_PLATFORM_CERT",
        value_name = "FILE",
        value_delimiter = ','
    )]
    pub platform_cert: Vec<PathBuf>,
    /// Platform public key file (微信支付公钥), with --public-key-id
    #[arg(
        long = "public-key",
        global = true,
        env = "WXPAY_PUBLIC_KEY",
        value_name = "FILE"
    )]
    pub public_key: Option<PathBuf>,
    /// Platform public key id, PUB_KEY_ID_… (微信支付公钥ID)
    #[arg(
        long = "public-key-id",
        global = true,
        env = "WXPAY_PUBLIC_KEY_ID",
        value_name = "ID"
    )]
    pub public_key_id: Option<String>,
    /// File holding the APIv3 key (APIv3密钥), 32 characters
    #[arg(
        long = "apiv3-key-file",
        global = true,
        env = "WXPAY_APIV3_KEY_FILE",
        value_name = "FILE"
    )]
    pub apiv3_key_file: Option<PathBuf>,
    /// Base URL (default https://api.mch.weixin.qq.com)
    #[arg(
        long = "base-url",
        global = true,
        env = "WXPAY_BASE_URL",
        value_name = "URL"
    )]
    pub base_url: Option<String>,
    /// Timeout per call, seconds (default 30)
    #[arg(long, global = true, env = "WXPAY_TIMEOUT", value_name = "SECS")]
    pub timeout: Option<u64>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    mchid: Option<String>,
    serial: Option<String>,
    private_key: Option<PathBuf>,
    #[serde(default)]
    platform_cert: Vec<PathBuf>,
    public_key: Option<PathBuf>,
    public_key_id: Option<String>,
    apiv3_key_file: Option<PathBuf>,
    base_url: Option<String>,
    timeout: Option<u64>,
}

/// The longest `--timeout` (one day, the transports' ceiling).
const MAX_TIMEOUT_SECS: u64 = wechatpay_core::error::MAX_DURATION.as_secs();

fn relative(base: &Path, p: PathBuf) -> PathBuf {
    if p.is_absolute() {
        p
    } else {
        base.join(p)
    }
}

impl Global {
    /// Fill what flags and environment left unset from the config file.
    pub fn resolve(mut self) -> Result<Global, Failure> {
        let Some(path) = self.config.clone() else {
            return Ok(self);
        };
        let text = std::fs::read_to_string(&path)
            .map_err(|e| Failure::usage(format!("cannot read config {}: {e}", path.display())))?;
        let f: FileConfig = toml::from_str(&text)
            .map_err(|e| Failure::usage(format!("config {}: {}", path.display(), e.message())))?;
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        self.mchid = self.mchid.or(f.mchid);
        self.serial = self.serial.or(f.serial);
        self.private_key = self
            .private_key
            .or(f.private_key.map(|p| relative(&dir, p)));
        if self.platform_cert.is_empty() {
            self.platform_cert = f
                .platform_cert
                .into_iter()
                .map(|p| relative(&dir, p))
                .collect();
        }
        self.public_key = self.public_key.or(f.public_key.map(|p| relative(&dir, p)));
        self.public_key_id = self.public_key_id.or(f.public_key_id);
        self.apiv3_key_file = self
            .apiv3_key_file
            .or(f.apiv3_key_file.map(|p| relative(&dir, p)));
        self.base_url = self.base_url.or(f.base_url);
        self.timeout = self.timeout.or(f.timeout);
        Ok(self)
    }

    fn need<'a, T>(v: &'a Option<T>, flag: &str) -> Result<&'a T, Failure> {
        v.as_ref().ok_or_else(|| {
            Failure::usage(format!(
                "{flag} is required (flag, WXPAY_ variable or config file)"
            ))
        })
    }

    /// The merchant private key.
    pub fn private_key(&self) -> Result<PrivateKey, Failure> {
        let path = Self::need(&self.private_key, "--private-key")?;
        PrivateKey::from_file(path).map_err(|e| Failure::usage(e.to_string()))
    }

    /// The merchant.
    pub fn merchant(&self) -> Result<Merchant, Failure> {
        let mchid = Self::need(&self.mchid, "--mchid")?;
        let serial = Self::need(&self.serial, "--serial")?;
        Merchant::new(mchid.as_str(), serial.as_str(), self.private_key()?)
            .map_err(|e| Failure::usage(e.to_string()))
    }

    /// The platform keys configured (maybe none).
    pub fn platform_keys(&self) -> Result<PlatformKeys, Failure> {
        let mut keys = PlatformKeys::new();
        for c in &self.platform_cert {
            keys.insert(
                PlatformKey::from_certificate_file(c).map_err(|e| Failure::usage(e.to_string()))?,
            );
        }
        match (&self.public_key, &self.public_key_id) {
            (Some(p), Some(id)) => keys.insert(
                PlatformKey::from_public_key_file(id.as_str(), p)
                    .map_err(|e| Failure::usage(e.to_string()))?,
            ),
            (Some(_), None) => return Err(Failure::usage("--public-key needs --public-key-id")),
            (None, Some(_)) => return Err(Failure::usage("--public-key-id needs --public-key")),
            (None, None) => {}
        }
        Ok(keys)
    }

    /// The APIv3 key.
    pub fn apiv3_key(&self) -> Result<ApiV3Key, Failure> {
        let path = Self::need(&self.apiv3_key_file, "--apiv3-key-file")?;
        let text = std::fs::read_to_string(path)
            .map_err(|e| Failure::usage(format!("cannot read {}: {e}", path.display())))?;
        ApiV3Key::new(text.trim_end_matches(['\r', '\n']))
            .map_err(|e| Failure::usage(format!("{}: {e}", path.display())))
    }

    /// The core client.
    pub fn core(&self) -> Result<Client, Failure> {
        let mut b = Client::builder(self.merchant()?).platform_keys(self.platform_keys()?);
        if let Some(url) = &self.base_url {
            b = b.base_url(url.as_str());
        }
        // With an APIv3 key, an unknown serial triggers a certificate refresh.
        if self.apiv3_key_file.is_some() {
            b = b.apiv3_key(self.apiv3_key()?);
        }
        b.user_agent_suffix("wxpay-cli")
            .build()
            .map_err(|e| Failure::usage(e.to_string()))
    }

    /// A blocking client; with an APIv3 key configured, certificate refresh is on.
    pub fn client(&self) -> Result<wechatpay_ureq::Client, Failure> {
        let secs = self.timeout.unwrap_or(30);
        if secs == 0 || secs > MAX_TIMEOUT_SECS {
            return Err(Failure::usage(format!(
                "--timeout {secs}: give 1 to {MAX_TIMEOUT_SECS} seconds"
            )));
        }
        let cfg = wechatpay_ureq::Config::default().timeout(std::time::Duration::from_secs(secs));
        wechatpay_ureq::Client::with_config(self.core()?, cfg)
            .map_err(|e| Failure::usage(e.to_string()))
    }
}
