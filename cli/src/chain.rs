//! The Node plugin's chain notation: `v3.payscore.payafterOrders._out_order_no_.complete` is
//! `/v3/payscore/payafter-orders/{out_order_no}/complete` (camelCase → kebab-case, `_x_` → `{x}`).

/// A URL pasted whole (`https://api.mch.weixin.qq.com/v3/…?…`, as in the docs' examples): its
/// path and query, since the configured base URL says where calls go. Anything else as it is.
pub fn without_origin(target: &str) -> &str {
    let lower = target.get(..8).unwrap_or(target).to_ascii_lowercase();
    match ["https://", "http://"]
        .iter()
        .find(|s| lower.starts_with(*s))
    {
        Some(scheme) => {
            let rest = &target[scheme.len()..];
            rest.find('/').map_or("/", |i| &rest[i..])
        }
        None => target,
    }
}

/// A path template from a template (`/v3/…`), a chain (`v3.…`), or a URL pasted whole (its
/// path, [`without_origin`]).
pub fn to_template(target: &str) -> Result<String, String> {
    let target = without_origin(target);
    if target.starts_with('/') {
        return Ok(target.to_string());
    }
    let mut out = String::new();
    for seg in target.split('.') {
        if seg.is_empty() {
            return Err(format!("{target:?}: empty segment in chain notation"));
        }
        out.push('/');
        if seg.len() > 2 && seg.starts_with('_') && seg.ends_with('_') {
            out.push('{');
            out.push_str(&seg[1..seg.len() - 1]);
            out.push('}');
            continue;
        }
        for (i, c) in seg.chars().enumerate() {
            if c.is_ascii_uppercase() {
                if i > 0 {
                    out.push('-');
                }
                out.push(c.to_ascii_lowercase());
            } else {
                out.push(c);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::to_template;

    #[test]
    fn chains() {
        assert_eq!(
            to_template("v3.payscore.payafterOrders._out_order_no_.complete").unwrap(),
            "/v3/payscore/payafter-orders/{out_order_no}/complete"
        );
        assert_eq!(
            to_template("v3.pay.transactions.outTradeNo._out_trade_no_").unwrap(),
            "/v3/pay/transactions/out-trade-no/{out_trade_no}"
        );
        assert_eq!(to_template("/v3/certificates").unwrap(), "/v3/certificates");
        assert!(to_template("v3..x").is_err());
        assert_eq!(
            to_template("https://api.mch.weixin.qq.com/v3/pay/transactions/id/42").unwrap(),
            "/v3/pay/transactions/id/42"
        );
        assert_eq!(
            to_template("HTTP://127.0.0.1:8080/v3/certificates").unwrap(),
            "/v3/certificates"
        );
        assert_eq!(to_template("https://api.mch.weixin.qq.com").unwrap(), "/");
    }
}
