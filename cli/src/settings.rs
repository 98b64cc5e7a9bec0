//! Global settings: flags, `WXPAY_<NAME>` environment variables and a TOML config file
//! (`--config`), in that order of precedence — the variables and the file read by
//! `wechatpay_core::config`, the code the clients' `from_config` runs. Secrets are read from files
//! and never printed.

use std::path::PathBuf;

use wechatpay_core::config::Settings;

use wechatpay_core::ConfigError;
use wechatpay_core::{ApiV3Key, Client, Merchant, PlatformKeys, PrivateKey};

use crate::Failure;

/// The global options.
#[derive(clap::Args, Debug, Clone, Default)]
#[command(next_help_heading = "Global options")]
pub struct Global {
    /// TOML config file (keys: mchid, serial, private_key, platform_cert = [..], public_key,
    /// public_key_id, apiv3_key_file, base_url, timeout, apiv2_key_file, client_cert,
    /// client_key, client_p12). Each option below can also be given as
    /// a WXPAY_<NAME> variable (WXPAY_MCHID, WXPAY_PRIVATE_KEY, WXPAY_PLATFORM_CERT=a.pem,b.pem, …)
    #[arg(long, global = true, env = "WXPAY_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Merchant id (商户号)
    #[arg(long, global = true)]
    pub mchid: Option<String>,
    /// Merchant API certificate serial (商户API证书序列号)
    #[arg(long, global = true)]
    pub serial: Option<String>,
    /// Merchant private key file, apiclient_key.pem (商户API私钥)
    #[arg(long = "private-key", global = true, value_name = "FILE")]
    pub private_key: Option<PathBuf>,
    /// Platform certificate file (平台证书), repeatable
    #[arg(
        long = "platform-cert",
        global = true,
        value_name = "FILE",
        value_delimiter = ','
    )]
    pub platform_cert: Vec<PathBuf>,
    /// Platform public key file (微信支付公钥), with --public-key-id
    #[arg(long = "public-key", global = true, value_name = "FILE")]
    pub public_key: Option<PathBuf>,
    /// Platform public key id, PUB_KEY_ID_… (微信支付公钥ID)
    #[arg(long = "public-key-id", global = true, value_name = "ID")]
    pub public_key_id: Option<String>,
    /// File holding the APIv3 key (APIv3密钥), 32 characters
    #[arg(long = "apiv3-key-file", global = true, value_name = "FILE")]
    pub apiv3_key_file: Option<PathBuf>,
    /// Base URL (default https://api.mch.weixin.qq.com)
    #[arg(long = "base-url", global = true, value_name = "URL")]
    pub base_url: Option<String>,
    /// Timeout per call, seconds (default 30)
    #[arg(long, global = true, value_name = "SECS")]
    pub timeout: Option<u64>,
    /// File holding the APIv2 key (APIv2密钥), 32 characters: `wxpay v2`
    #[arg(long = "apiv2-key-file", global = true, value_name = "FILE")]
    pub apiv2_key_file: Option<PathBuf>,
    /// The merchant's API client certificate, apiclient_cert.pem (with --client-key): mutual TLS for the APIv2 paths that need it
    #[arg(long = "client-cert", global = true, value_name = "FILE")]
    pub client_cert: Option<PathBuf>,
    /// The client certificate's key, apiclient_key.pem
    #[arg(long = "client-key", global = true, value_name = "FILE")]
    pub client_key: Option<PathBuf>,
    /// The client certificate as apiclient_cert.p12 (password: the mchid), instead of --client-cert/--client-key
    #[arg(long = "client-p12", global = true, value_name = "FILE")]
    pub client_p12: Option<PathBuf>,
}

/// The resolved settings: flags, then `WXPAY_*` variables, then the config file — parsed by
/// `wechatpay_core::config`, the same code the clients' `from_config` runs.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// What was configured.
    pub settings: Settings,
}

impl From<ConfigError> for Failure {
    fn from(e: ConfigError) -> Self {
        Failure::usage(e.to_string())
    }
}

impl Global {
    /// Flags over `WXPAY_*` variables over the config file.
    pub fn resolve(self) -> Result<Resolved, Failure> {
        let flags = Settings::from_vars(
            [
                ("WXPAY_MCHID", self.mchid),
                ("WXPAY_SERIAL", self.serial),
                ("WXPAY_PRIVATE_KEY", path_text(self.private_key)),
                (
                    "WXPAY_PLATFORM_CERT",
                    Some(
                        self.platform_cert
                            .iter()
                            .map(|p| p.display().to_string())
                            .collect::<Vec<_>>()
                            .join(","),
                    ),
                ),
                ("WXPAY_PUBLIC_KEY", path_text(self.public_key)),
                ("WXPAY_PUBLIC_KEY_ID", self.public_key_id),
                ("WXPAY_APIV3_KEY_FILE", path_text(self.apiv3_key_file)),
                ("WXPAY_BASE_URL", self.base_url),
                ("WXPAY_TIMEOUT", self.timeout.map(|t| t.to_string())),
                ("WXPAY_APIV2_KEY_FILE", path_text(self.apiv2_key_file)),
                ("WXPAY_CLIENT_CERT", path_text(self.client_cert)),
                ("WXPAY_CLIENT_KEY", path_text(self.client_key)),
                ("WXPAY_CLIENT_P12", path_text(self.client_p12)),
            ]
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k.to_string(), v))),
        )?;
        let mut settings = flags.or(Settings::from_env()?);
        if let Some(path) = &self.config {
            settings = settings.or(Settings::from_file(path)?);
        }
        Ok(Resolved { settings })
    }
}

fn path_text(p: Option<PathBuf>) -> Option<String> {
    p.map(|p| p.display().to_string())
}

impl Resolved {
    /// The merchant private key.
    pub fn private_key(&self) -> Result<PrivateKey, Failure> {
        Ok(self.settings.private_key()?)
    }

    /// The merchant.
    pub fn merchant(&self) -> Result<Merchant, Failure> {
        Ok(self.settings.merchant()?)
    }

    /// The platform keys configured (maybe none). Refused when one of them is the merchant's
    /// own key (its API certificate configured as a platform certificate), as the client
    /// builder refuses it.
    pub fn platform_keys(&self) -> Result<PlatformKeys, Failure> {
        let keys = self.settings.platform_keys()?;
        if let Ok(own) = self.settings.private_key().map(|k| k.public_key_der()) {
            if let Some(k) = keys.iter().find(|k| k.public_key_der() == own.as_slice()) {
                return Err(ConfigError::Build(
                    wechatpay_core::BuildError::MerchantKeyAsPlatformKey {
                        id: k.id().to_string(),
                    },
                )
                .into());
            }
        }
        Ok(keys)
    }

    /// The APIv3 key (required).
    pub fn apiv3_key(&self) -> Result<ApiV3Key, Failure> {
        self.settings
            .apiv3_key()?
            .ok_or(ConfigError::Missing {
                name: "apiv3_key_file",
            })
            .map_err(Failure::from)
    }

    /// The core client (certificate refresh on when an APIv3 key is configured).
    pub fn core(&self) -> Result<Client, Failure> {
        self.settings
            .builder()?
            .user_agent_suffix("wxpay-cli")
            .build()
            .map_err(|e| Failure::from(ConfigError::Build(e)))
    }

    /// The APIv2 key (required).
    pub fn apiv2_key(&self) -> Result<wechatpay_core::v2::ApiV2Key, Failure> {
        self.settings
            .apiv2_key()?
            .ok_or(ConfigError::Missing {
                name: "apiv2_key_file",
            })
            .map_err(Failure::from)
    }

    /// A blocking client: the timeout and the client identity configured.
    pub fn client(&self) -> Result<wechatpay_ureq::Client, Failure> {
        let cfg = self.settings.transport_config()?;
        wechatpay_ureq::Client::with_config(self.core()?, cfg)
            .map_err(|e| Failure::usage(e.to_string()))
    }
}
