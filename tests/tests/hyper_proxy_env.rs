//! wechatpay-hyper cannot use a proxy: one named in the environment is ignored, and it says so.
//! Its own test binary, because it sets a process-wide environment variable.

use std::sync::{Arc, Mutex};

use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::prelude::*;
use wechatpay_core::transport::{Config, Proxy};
use wechatpay_sandbox::{Mode, TestKeys};

/// The `variable` field of every warning.
#[derive(Clone, Default)]
struct Warnings(Arc<Mutex<Vec<String>>>);

struct Variable(Option<String>);

impl Visit for Variable {
    fn record_debug(&mut self, _: &Field, _: &dyn std::fmt::Debug) {}
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "variable" {
            self.0 = Some(value.to_string());
        }
    }
}

impl<S: Subscriber> Layer<S> for Warnings {
    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        if *event.metadata().level() == tracing::Level::WARN {
            let mut v = Variable(None);
            event.record(&mut v);
            self.0.lock().unwrap().push(v.0.unwrap_or_default());
        }
    }
}

#[test]
fn a_proxy_in_the_environment_is_ignored_with_a_warning() {
    let warnings = Warnings::default();
    let _guard =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(warnings.clone()));
    let core = || {
        TestKeys::load()
            .client_builder("http://127.0.0.1:9", Mode::Certificate)
            .build()
            .unwrap()
    };
    // The only test in this binary: nothing else reads the environment meanwhile.
    std::env::set_var("HTTPS_PROXY", "http://proxy.invalid:3128");
    wechatpay_hyper::Client::new(core()).unwrap();
    assert_eq!(*warnings.0.lock().unwrap(), ["HTTPS_PROXY"]);
    // Proxy::None says "go direct": nothing to warn about.
    wechatpay_hyper::Client::with_config(core(), Config::default().proxy(Proxy::None)).unwrap();
    std::env::remove_var("HTTPS_PROXY");
    wechatpay_hyper::Client::new(core()).unwrap();
    assert_eq!(warnings.0.lock().unwrap().len(), 1);
}
