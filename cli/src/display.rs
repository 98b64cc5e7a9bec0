//! Printing what came from the network or a file without letting it drive the terminal, and
//! without changing it: control characters are escaped, JSON is re-indented token by token (its
//! numbers, key order and duplicate keys kept as received).

use std::fmt::Write as _;

/// Characters a terminal may act on: C0 controls, DEL, C1 controls (ESC `[` has the one-byte
/// form U+009B), and the bidirectional overrides that reorder what is shown.
fn is_dangerous(c: char) -> bool {
    matches!(c, '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// One line for stderr: every dangerous character, line breaks included, as `\u{…}`.
pub fn line(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if is_dangerous(c) {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        } else {
            out.push(c);
        }
    }
    out
}

/// Text for stdout: line breaks and tabs kept, every other dangerous character escaped.
pub fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c != '\n' && c != '\t' && is_dangerous(c) {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        } else {
            out.push(c);
        }
    }
    out
}

/// JSON text with the dangerous characters that JSON allows raw in strings (DEL, C1, bidi)
/// written as `\uXXXX` escapes: the same JSON value, safe on a terminal. The only C0 controls
/// valid JSON holds raw are white space between tokens: `\n` and `\t` stay, `\r` (which could
/// overwrite a line) becomes a space.
pub fn json(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c == '\n' || c == '\t' {
            out.push(c);
        } else if c == '\r' {
            out.push(' ');
        } else if is_dangerous(c) {
            let _ = write!(out, "\\u{:04x}", c as u32);
        } else {
            out.push(c);
        }
    }
    out
}

/// The JSON `body` re-indented with two spaces, token by token: numbers, strings, key order and
/// duplicate keys stay exactly as received. `None` when `body` is not valid JSON (UTF-8).
pub fn pretty_json(body: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    serde_json::from_str::<serde::de::IgnoredAny>(text).ok()?;
    let mut out = String::with_capacity(text.len() * 2);
    let mut depth = 0usize;
    let mut chars = text.chars().peekable();
    let newline = |out: &mut String, depth: usize| {
        out.push('\n');
        for _ in 0..depth {
            out.push_str("  ");
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                out.push('"');
                let mut escaped = false;
                for c in chars.by_ref() {
                    out.push(c);
                    if escaped {
                        escaped = false;
                    } else if c == '\\' {
                        escaped = true;
                    } else if c == '"' {
                        break;
                    }
                }
            }
            '{' | '[' => {
                let close = if c == '{' { '}' } else { ']' };
                while chars.peek().is_some_and(|c| c.is_ascii_whitespace()) {
                    chars.next();
                }
                if chars.peek() == Some(&close) {
                    chars.next();
                    out.push(c);
                    out.push(close);
                } else {
                    out.push(c);
                    depth += 1;
                    newline(&mut out, depth);
                }
            }
            '}' | ']' => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth);
                out.push(c);
            }
            ',' => {
                out.push(',');
                newline(&mut out, depth);
            }
            ':' => out.push_str(": "),
            c if c.is_ascii_whitespace() => {}
            c => out.push(c),
        }
    }
    Some(json(&out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_order_and_duplicates_survive() {
        let body = br#"{"b":123456789012345678901234567890,"a":1.50,"a":"x","e":{},"l":[ ],"s":"q\"{,}:"}"#;
        let p = pretty_json(body).unwrap();
        assert!(p.contains("123456789012345678901234567890"), "{p}");
        assert!(p.contains("\"a\": 1.50"), "{p}");
        assert!(p.contains("\"a\": \"x\""), "{p}");
        assert!(p.contains("\"e\": {}") && p.contains("\"l\": []"), "{p}");
        assert!(p.contains(r#""s": "q\"{,}:""#), "{p}");
        assert!(p.find("\"b\"").unwrap() < p.find("\"a\"").unwrap());
        // Whitespace aside, the bytes are the same.
        let squeeze = |s: &str| s.split_whitespace().collect::<String>();
        assert_eq!(
            squeeze(&p).replace(": ", ":"),
            squeeze(std::str::from_utf8(body).unwrap()).replace(": ", ":")
        );
    }

    #[test]
    fn terminal_controls_are_escaped() {
        assert_eq!(line("a\u{1b}[2Jb\u{7}\nc"), "a\\u{1b}[2Jb\\u{7}\\u{a}c");
        assert_eq!(text("ok\n\u{9b}31m"), "ok\n\\u{9b}31m");
        let p = pretty_json("{\"m\":\"\u{9b}31mpaid\u{202e}\"}".as_bytes()).unwrap();
        assert!(p.contains(r#""\u009b31mpaid\u202e""#), "{p}");
        let back: serde_json::Value = serde_json::from_str(&p).unwrap();
        assert_eq!(back["m"], "\u{9b}31mpaid\u{202e}");
        assert!(pretty_json(b"{nope").is_none());
    }
}
