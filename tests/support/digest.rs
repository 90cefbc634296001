//! Helpers for the digest and scheduler tests: a schedule set through the service, and running
//! the scheduler and the delivery worker the way `serve` does, one tick at a time.

use chrono::{DateTime, NaiveTime, Utc};
use dealgate::jobs::outbox::{DeliveryReport, deliver_due};
use dealgate::jobs::scheduler::{TickReport, tick};
use dealgate::jobs::testing::RecordingSender;
use dealgate::service::{Service, Session};

/// Schedules the digest for `#managers` at `hh:mm` in `zone`, weekdays only.
pub async fn digest_at(service: &Service, admin: &Session, hh: u32, mm: u32, zone: &str) {
    let zone = dealgate::engine::schedule::parse_zone(zone).expect("a real zone");
    service
        .setup_digest(
            admin,
            "managers",
            NaiveTime::from_hms_opt(hh, mm, 0).unwrap(),
            zone,
            true,
            None,
        )
        .await
        .expect("schedule the digest");
}

/// One scheduler tick and one delivery pass at `now`.
pub async fn tick_and_deliver(
    service: &Service,
    sender: &RecordingSender,
    now: DateTime<Utc>,
) -> (TickReport, DeliveryReport) {
    let ticked = tick(service, now).await.expect("tick");
    let delivered = deliver_due(service.store(), service.clock(), sender)
        .await
        .expect("deliver");
    (ticked, delivered)
}
