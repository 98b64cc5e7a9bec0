//! Just enough `multipart/form-data` parsing for the upload endpoints of a test gateway.

use http::Request;

pub(crate) struct Part<'a> {
    pub(crate) name: String,
    pub(crate) filename: Option<String>,
    pub(crate) data: &'a [u8],
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() || from > hay.len() {
        return None;
    }
    hay[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

fn param(headers: &str, key: &str) -> Option<String> {
    let pat = format!("{key}=\"");
    let start = headers.find(&pat)? + pat.len();
    let end = headers[start..].find('"')? + start;
    Some(headers[start..end].to_string())
}

/// The parts of a multipart request, or `None` when it is not one (or is malformed).
pub(crate) fn parts<B: AsRef<[u8]>>(req: &Request<B>) -> Option<Vec<Part<'_>>> {
    let ct = req
        .headers()
        .get(http::header::CONTENT_TYPE)?
        .to_str()
        .ok()?;
    if !ct.starts_with("multipart/form-data") {
        return None;
    }
    let boundary = ct.split("boundary=").nth(1)?.trim_matches('"');
    let body = req.body().as_ref();
    let delim = format!("--{boundary}");
    let mut out = Vec::new();
    let mut at = find(body, delim.as_bytes(), 0)? + delim.len();
    loop {
        if body.get(at..at + 2) == Some(b"--") {
            return Some(out);
        }
        at += 2; // CRLF after the delimiter
        let head_end = find(body, b"\r\n\r\n", at)?;
        let headers = std::str::from_utf8(body.get(at..head_end)?).ok()?;
        let data_start = head_end + 4;
        let next = find(body, format!("\r\n{delim}").as_bytes(), data_start)?;
        out.push(Part {
            name: param(headers, "name")?,
            filename: param(headers, "filename"),
            data: body.get(data_start..next)?,
        });
        at = next + 2 + delim.len();
    }
}
