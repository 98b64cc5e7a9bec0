//! The automatic refresh rule, with pinned instants.

use std::time::{Duration, Instant};

use wechatpay_core::certificates::{RefreshDecision, RefreshGate};

#[test]
fn one_refresh_per_interval_and_none_when_another_call_refreshed() {
    let t0 = Instant::now();
    let mut gate = RefreshGate::new(Duration::from_secs(30));
    // First unknown serial: refresh.
    assert_eq!(gate.decide(7, 7, t0), RefreshDecision::Refresh);
    // A call that started before that refresh and waited for it: the keys changed, no download.
    assert_eq!(
        gate.decide(7, 8, t0 + Duration::from_secs(1)),
        RefreshDecision::AlreadyRefreshed
    );
    // A new unknown serial within the interval: too soon.
    assert_eq!(
        gate.decide(8, 8, t0 + Duration::from_secs(29)),
        RefreshDecision::TooSoon
    );
    // At the interval: allowed again, and the clock restarts.
    assert_eq!(
        gate.decide(8, 8, t0 + Duration::from_secs(30)),
        RefreshDecision::Refresh
    );
    assert_eq!(
        gate.decide(8, 8, t0 + Duration::from_secs(31)),
        RefreshDecision::TooSoon
    );
    // "Already refreshed" does not count as a refresh.
    let mut fresh = RefreshGate::new(Duration::from_secs(30));
    assert_eq!(fresh.decide(1, 2, t0), RefreshDecision::AlreadyRefreshed);
    assert_eq!(fresh.decide(2, 2, t0), RefreshDecision::Refresh);
}
