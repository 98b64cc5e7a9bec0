//! Client-side payment signatures (调起支付), from an existing `prepay_id`.
//!
//! ```
//! # use wechatpay_core::{paysign, PrivateKey};
//! # let key = PrivateKey::from_file("../tests/fixtures/keys/merchant_key.pem").unwrap();
//! let p = paysign::jsapi(&key, "wxd678efh567hg6787", "wx201410272009395522657a690389285100",
//!                        1554208460, "593BEC0C930BF1AFEB40B4A08C8FB242").unwrap();
//! let json = serde_json::to_string(&p).unwrap(); // {"appId":…,"timeStamp":…,"nonceStr":…,"package":…,"signType":"RSA","paySign":…}
//! # assert!(json.starts_with("{\"appId\":\"wxd678efh567hg6787\",\"timeStamp\":\"1554208460\""));
//! ```

use serde::{Deserialize, Serialize};

use crate::credentials::Signer;
use crate::error::SignError;

/// The parameters for JSAPI / mini-program payment (`wx.requestPayment`, `WeixinJSBridge`),
/// serialised with the names the front end expects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JsapiParams {
    /// `appId`.
    #[serde(rename = "appId")]
    pub app_id: String,
    /// `timeStamp` (seconds, as a string).
    #[serde(rename = "timeStamp")]
    pub time_stamp: String,
    /// `nonceStr`.
    #[serde(rename = "nonceStr")]
    pub nonce_str: String,
    /// `package`: `prepay_id=…`.
    pub package: String,
    /// `signType`: `RSA`.
    #[serde(rename = "signType")]
    pub sign_type: String,
    /// `paySign`: base64 RSA-SHA256 over `appId\ntimeStamp\nnonceStr\npackage\n`.
    #[serde(rename = "paySign")]
    pub pay_sign: String,
}

/// The parameters for APP payment (`PayReq`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppParams {
    /// `appid`.
    pub appid: String,
    /// `partnerid`: the merchant id.
    pub partnerid: String,
    /// `prepayid`: the bare prepay id.
    pub prepayid: String,
    /// `package`: `Sign=WXPay`.
    pub package: String,
    /// `noncestr`.
    pub noncestr: String,
    /// `timestamp` (seconds, as a string).
    pub timestamp: String,
    /// `sign`: base64 RSA-SHA256 over `appid\ntimestamp\nnoncestr\nprepayid\n`.
    pub sign: String,
}

fn lines(parts: &[&str]) -> Vec<u8> {
    let mut m = Vec::new();
    for p in parts {
        m.extend_from_slice(p.as_bytes());
        m.push(b'\n');
    }
    m
}

/// JSAPI / mini-program parameters for `prepay_id`, signed with `signer`.
pub fn jsapi(
    signer: &dyn Signer,
    appid: &str,
    prepay_id: &str,
    timestamp: i64,
    nonce: &str,
) -> Result<JsapiParams, SignError> {
    let ts = timestamp.to_string();
    let package = format!("prepay_id={prepay_id}");
    let pay_sign = signer.sign(&lines(&[appid, &ts, nonce, &package]))?;
    Ok(JsapiParams {
        app_id: appid.into(),
        time_stamp: ts,
        nonce_str: nonce.into(),
        package,
        sign_type: "RSA".into(),
        pay_sign,
    })
}

/// APP parameters for `prepay_id`, signed with `signer`.
pub fn app(
    signer: &dyn Signer,
    appid: &str,
    mchid: &str,
    prepay_id: &str,
    timestamp: i64,
    nonce: &str,
) -> Result<AppParams, SignError> {
    let ts = timestamp.to_string();
    let sign = signer.sign(&lines(&[appid, &ts, nonce, prepay_id]))?;
    Ok(AppParams {
        appid: appid.into(),
        partnerid: mchid.into(),
        prepayid: prepay_id.into(),
        package: "Sign=WXPay".into(),
        noncestr: nonce.into(),
        timestamp: ts,
        sign,
    })
}
