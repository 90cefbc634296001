//! What the benchmarks share: a workspace on a manual clock with an admin and `owners` reps,
//! and the SQL `CASE` that spreads generated deals over the playbook's open stages.

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use dealgate::chat::console::caller;
use dealgate::clock::ManualClock;
use dealgate::config::playbook_source;
use dealgate::service::{Service, Session};
use dealgate::store::Store;

pub struct BenchWorkspace {
    pub service: Service,
    pub admin: Session,
    /// Member ids of the reps are consecutive from here.
    pub first_owner: i64,
    /// `CASE i % {stage_count} WHEN 0 THEN 'qualify' …` without the leading `CASE … `.
    pub stage_case: String,
    pub stage_count: usize,
}

/// A `bench` workspace on the `default` playbook, the clock at Monday 2 November 2026 09:00 UTC.
pub async fn workspace(store: Store, owners: usize) -> BenchWorkspace {
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 11, 2, 9, 0, 0).unwrap(),
    ));
    let service = Service::new(store, clock, playbook_source("default").unwrap());
    let admin = service.session(&caller("bench", "admin")).await.unwrap();
    let mut owner_ids = Vec::new();
    for i in 0..owners {
        let rep = service
            .session(&caller("bench", &format!("rep{i}")))
            .await
            .unwrap();
        owner_ids.push(rep.member.id);
    }
    let stages: Vec<String> = admin
        .playbook
        .open_stages()
        .map(|s| s.id.to_string())
        .collect();
    let stage_case = stages
        .iter()
        .enumerate()
        .map(|(i, s)| format!("WHEN {i} THEN '{s}'"))
        .collect::<Vec<_>>()
        .join(" ");
    BenchWorkspace {
        service,
        admin,
        first_owner: owner_ids[0],
        stage_case,
        stage_count: stages.len(),
    }
}
