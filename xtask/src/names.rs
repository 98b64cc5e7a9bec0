//! Identifiers: snake_case and PascalCase from wire names, keyword escapes, and the endpoint naming
//! rule (written out in `api/README.md`, section "Names").

/// Rust keywords (strict, reserved and edition-2024 ones).
const KEYWORDS: &[&str] = &[
    "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern",
    "false", "fn", "for", "gen", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut",
    "pub", "ref", "return", "self", "Self", "static", "struct", "super", "trait", "true", "type",
    "unsafe", "use", "where", "while", "abstract", "become", "box", "do", "final", "macro",
    "override", "priv", "typeof", "unsized", "virtual", "yield", "try",
];

/// `payafterOrders`, `payafter-orders`, `payafter_orders` → `payafter_orders`.
pub fn snake(s: &str) -> String {
    let mut out = String::new();
    let mut prev: Option<char> = None;
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            if c.is_ascii_uppercase()
                && prev.is_some_and(|p| p.is_ascii_lowercase() || p.is_ascii_digit())
            {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('_') && !out.is_empty() {
            out.push('_');
        }
        prev = Some(c);
    }
    out.trim_end_matches('_').to_string()
}

/// `out_trade_no` → `OutTradeNo`.
pub fn pascal(s: &str) -> String {
    snake(s)
        .split('_')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let mut c = p.chars();
            match c.next() {
                Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
                None => String::new(),
            }
        })
        .collect()
}

/// A snake_case name usable as a field: keywords become raw identifiers (`r#type`), the few that
/// cannot be raw get a trailing `_`, a leading digit a leading `_`.
pub fn field_ident(wire: &str) -> String {
    let s = snake(wire);
    let s = if s.is_empty() { "field".to_string() } else { s };
    let s = if s.starts_with(|c: char| c.is_ascii_digit()) {
        format!("_{s}")
    } else {
        s
    };
    if matches!(s.as_str(), "self" | "super" | "crate" | "Self") {
        format!("{s}_")
    } else if KEYWORDS.contains(&s.as_str()) {
        format!("r#{s}")
    } else {
        s
    }
}

/// A snake_case name usable as a module or function: keywords get a trailing `_`.
pub fn item_ident(s: &str) -> String {
    let s = snake(s);
    let s = if s.starts_with(|c: char| c.is_ascii_digit()) {
        format!("_{s}")
    } else {
        s
    };
    if KEYWORDS.contains(&s.as_str()) {
        format!("{s}_")
    } else {
        s
    }
}

fn is_placeholder(seg: &str) -> bool {
    seg.starts_with('{') && seg.ends_with('}')
}

/// The module path of an endpoint: the first two literal segments after `/v3/`.
pub fn module_of(path: &str) -> Vec<String> {
    let segs: Vec<&str> = path.split('/').skip(2).filter(|s| !s.is_empty()).collect();
    segs.iter()
        .take_while(|s| !is_placeholder(s))
        .take(2)
        .map(|s| item_ident(s))
        .collect()
}

/// The function name by the rule (before collisions and overrides). `with_dropped` adds
/// `_by_<placeholder>` for every placeholder the plain rule leaves out (the collision fallback).
pub fn function_of(method: &str, path: &str, with_dropped: bool) -> String {
    let segs: Vec<&str> = path.split('/').skip(2).filter(|s| !s.is_empty()).collect();
    let module_len = module_of(path).len();
    let tail = &segs[module_len..];
    let mut parts: Vec<String> = Vec::new();
    let mut dropped: Vec<String> = Vec::new();
    for (i, seg) in tail.iter().enumerate() {
        if is_placeholder(seg) {
            let p = &seg[1..seg.len() - 1];
            if i + 1 == tail.len() {
                parts.push(format!("by_{}", snake(p)));
            } else {
                dropped.push(snake(p));
            }
        } else {
            // `out-trade-no/{out_trade_no}`, `id/{transaction_id}`: the placeholder says it.
            let next = tail.get(i + 1).filter(|n| is_placeholder(n));
            if next.is_some_and(|n| snake(&n[1..n.len() - 1]).ends_with(&snake(seg))) {
                continue;
            }
            parts.push(snake(seg));
        }
    }
    if with_dropped {
        parts.extend(dropped.iter().map(|p| format!("by_{p}")));
    }
    let base = parts.join("_");
    let ends_literal = tail.last().is_some_and(|s| !is_placeholder(s));
    let name = match method {
        "POST" if ends_literal && !base.is_empty() => base,
        "POST" if base.is_empty() => "create".to_string(),
        m => {
            let verb = m.to_ascii_lowercase();
            if base.is_empty() {
                verb
            } else {
                format!("{verb}_{base}")
            }
        }
    };
    item_ident(&name)
}

/// The Node plugin's chain notation: `v3.pay.transactions.outTradeNo._out_trade_no_.get`.
pub fn chain_of(method: &str, path: &str) -> String {
    let mut out: Vec<String> = Vec::new();
    for seg in path.split('/').filter(|s| !s.is_empty()) {
        if is_placeholder(seg) {
            out.push(format!("_{}_", &seg[1..seg.len() - 1]));
        } else {
            let mut s = String::new();
            let mut upper = false;
            for c in seg.chars() {
                if c == '-' {
                    upper = true;
                } else if upper {
                    s.push(c.to_ascii_uppercase());
                    upper = false;
                } else {
                    s.push(c);
                }
            }
            out.push(s);
        }
    }
    out.push(method.to_ascii_lowercase());
    out.join(".")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule() {
        let f = |m, p| format!("{}::{}", module_of(p).join("::"), function_of(m, p, false));
        assert_eq!(
            f(
                "POST",
                "/v3/payscore/payafter-orders/{out_order_no}/complete"
            ),
            "payscore::payafter_orders::complete"
        );
        assert_eq!(
            f("GET", "/v3/pay/transactions/id/{transaction_id}"),
            "pay::transactions::get_by_transaction_id"
        );
        assert_eq!(
            f(
                "POST",
                "/v3/pay/transactions/out-trade-no/{out_trade_no}/close"
            ),
            "pay::transactions::close"
        );
        assert_eq!(
            f("GET", "/v3/refund/domestic/refunds/{out_refund_no}"),
            "refund::domestic::get_refunds_by_out_refund_no"
        );
        assert_eq!(
            f("POST", "/v3/refund/domestic/refunds"),
            "refund::domestic::refunds"
        );
        assert_eq!(f("GET", "/v3/certificates"), "certificates::get");
        assert_eq!(
            f("POST", "/v3/profitsharing/orders"),
            "profitsharing::orders::create"
        );
        assert_eq!(
            chain_of("GET", "/v3/pay/transactions/out-trade-no/{out_trade_no}"),
            "v3.pay.transactions.outTradeNo._out_trade_no_.get"
        );
        assert_eq!(field_ident("type"), "r#type");
        assert_eq!(pascal("sub_orders"), "SubOrders");
        assert_eq!(snake("payafterOrders"), "payafter_orders");
    }
}
