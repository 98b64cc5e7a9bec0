//! Paths in normal form: what a server cannot resolve into another path. Used to refuse dot
//! segments in templates and to decide unsigned downloads.

/// `Wechatpay-Serial`, the header a request names its platform key in.
pub(crate) const SERIAL_HEADER: &str = "Wechatpay-Serial";

/// Why `path` (an absolute path as sent) is not in normal form, or `Ok` when a server cannot
/// normalise it into another path: every segment is non-empty (a single trailing `/` aside), none
/// is a dot segment — `.` or `..` in any percent-encoding, also before a `;` path parameter
/// (`..;`, `%2e%2e;jsessionid=1`), which Tomcat and many proxies strip before resolving dot
/// segments — and, when `no_encoded_slash`, none holds an encoded `/` or `\` (some servers
/// decode those before resolving dot segments).
pub(crate) fn check_segments(path: &str, no_encoded_slash: bool) -> Result<(), &'static str> {
    let Some(rest) = path.strip_prefix('/') else {
        return Err("must start with `/`");
    };
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    if rest.is_empty() {
        return Ok(());
    }
    for seg in rest.split('/') {
        if seg.is_empty() {
            return Err("has an empty segment (`//`)");
        }
        // Placeholders are filled with encoded values: they are single, non-dot segments. What
        // comes before the first `;` (plain or encoded) is the segment a server resolves.
        let decoded = || percent_encoding::percent_decode_str(seg);
        let mut d = decoded().take_while(|b| *b != b';');
        if matches!(
            (d.next(), d.next(), d.next()),
            (Some(b'.'), None, _) | (Some(b'.'), Some(b'.'), None)
        ) {
            return Err("has a dot segment (`.` or `..`, maybe percent-encoded), which a server would resolve into another path");
        }
        if no_encoded_slash && seg.contains('%') && decoded().any(|b| b == b'/' || b == b'\\') {
            return Err("has a percent-encoded `/` or `\\` inside a segment");
        }
    }
    Ok(())
}

/// Whether `path` cannot be normalised into another path, not even by a server that decodes
/// `%2F` first (see [`check_segments`]), and carries no `;` path parameter (plain or encoded):
/// servers differ in what they do with one.
pub(crate) fn is_normal_path(path: &str) -> bool {
    check_segments(path, true).is_ok()
        && !path.contains(';')
        && !path.to_ascii_uppercase().contains("%3B")
}
