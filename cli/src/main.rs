//! `wxpay`: WeChat Pay APIv3 from the command line — call any endpoint, sign and verify by hand,
//! decrypt callbacks, download certificates, run the sandbox gateway.
//!
//! Exit codes: 0 success; 1 verification rejected; 2 usage or bad input; 3 API error answer;
//! 4 transport failure; 5 the output could not be written. A reader that closes the pipe early
//! (`wxpay api list | head`) ends the run quietly with 0.

// The doc comments of the argument types are the `--help` text, written for a terminal.
#![allow(rustdoc::invalid_html_tags, rustdoc::bare_urls)]

/// `println!` for the command's output: a closed pipe ends the run quietly (see [`output_failed`]).
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::emit(&mut ::std::io::stdout().lock(), format_args!($($arg)*))
    };
}

/// `eprintln!` for notes beside the output; a stderr that cannot be written is not an error.
macro_rules! errln {
    ($($arg:tt)*) => {{
        use ::std::io::Write as _;
        let _ = writeln!(::std::io::stderr().lock(), $($arg)*);
    }};
}

mod api;
mod billread;
mod chain;
mod cmds;
mod deliver;
mod display;
mod doctor;
mod inspect;
mod settings;
mod v2;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

/// A failure, with its exit code and the kind named in `--json` output.
#[derive(Debug)]
pub struct Failure {
    /// 1 rejected, 2 usage, 3 API error, 4 transport.
    pub code: u8,
    /// A stable machine-readable kind, e.g. `signature_mismatch`.
    pub kind: String,
    /// One clear line.
    pub message: String,
    /// More members for the `--json` error object (e.g. the JSON path of a failed decode).
    pub details: Option<serde_json::Value>,
}

impl Failure {
    /// Usage or bad input (exit 2).
    pub fn usage(message: impl Into<String>) -> Self {
        Self {
            details: None,
            code: 2,
            kind: "usage".into(),
            message: message.into(),
        }
    }

    /// The same failure, with more members for the `--json` error object.
    pub fn with_details(mut self, details: serde_json::Value) -> Self {
        self.details = Some(details);
        self
    }

    /// Verification rejected (exit 1).
    pub fn rejected(kind: &str, message: impl Into<String>) -> Self {
        Self {
            details: None,
            code: 1,
            kind: kind.into(),
            message: message.into(),
        }
    }
}

impl From<wechatpay_core::CallError> for Failure {
    fn from(e: wechatpay_core::CallError) -> Self {
        use wechatpay_core::CallError as E;
        match &e {
            E::Build(b) => Failure::usage(b.to_string()),
            E::Transport(t) => Failure {
                code: 4,
                kind: format!("transport_{}", t.kind.as_str()),
                message: e.to_string(),
                details: None,
            },
            E::Response(wechatpay_core::ResponseError::Api(a)) => {
                // The library's Display carries the hint (ApiError::hint).
                let message = a.to_string();
                Failure {
                    code: 3,
                    kind: format!("api_{}", a.code.as_deref().unwrap_or("error")).to_lowercase(),
                    message,
                    details: None,
                }
            }
            E::Response(wechatpay_core::ResponseError::Verify { source, .. }) => Failure::rejected(
                source.kind(),
                format!(
                    "the answer failed verification: {}",
                    cmds::explain_verify(source, None, cmds::Origin::Received)
                ),
            ),
            E::Response(_) => Failure {
                code: 3,
                kind: "decode".into(),
                message: e.to_string(),
                details: None,
            },
            E::Bill(b) => Failure::rejected(b.kind(), e.to_string()),
            E::V2(v) => v2::failure(v),
            _ => Failure {
                code: 4,
                kind: "other".into(),
                message: e.to_string(),
                details: None,
            },
        }
    }
}

/// Writes one line of output; ends the process when it cannot be written.
pub fn emit(w: &mut impl Write, line: std::fmt::Arguments<'_>) {
    if let Err(e) = writeln!(w, "{line}").and_then(|()| w.flush()) {
        output_failed(&e);
    }
}

/// A closed pipe means the reader has what it wants: exit 0 without a word. Any other write
/// failure (a full disk) is said on stderr and exits 5, so a truncated output never passes as whole.
fn output_failed(e: &std::io::Error) -> ! {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        std::process::exit(0);
    }
    errln!("wxpay: cannot write the output: {e}");
    std::process::exit(5);
}

fn main() -> ExitCode {
    let cli = cmds::Cli::parse();
    let json = cli.json;
    match cmds::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            // Messages may quote an answer or a file: never let them drive the terminal.
            errln!("wxpay: {}", display::line(&f.message));
            if json {
                let mut doc =
                    serde_json::json!({"ok": false, "kind": f.kind, "message": f.message});
                if let (Some(serde_json::Value::Object(more)), Some(obj)) =
                    (f.details, doc.as_object_mut())
                {
                    for (k, v) in more {
                        obj.entry(k).or_insert(v);
                    }
                }
                // The failure's exit code stands even when nobody reads the error object.
                let _ = writeln!(
                    std::io::stdout().lock(),
                    "{}",
                    display::json(&doc.to_string())
                );
            }
            ExitCode::from(f.code)
        }
    }
}
