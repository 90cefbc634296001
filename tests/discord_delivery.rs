//! The outbox through a fake Discord REST API on 127.0.0.1: the digest (chart attached) and a
//! coaching DM arrive once each through 500s and a 429, with the clock driven so retries fall
//! due without sleeping; a refused post is kept as failed with Discord's words, as
//! `dealgate outbox` shows; a workspace whose platform has no sender keeps its message queued.
//! And `/digest preview` on Discord: deferred, then the chart arrives with the follow-up; and the
//! built `dealgate serve` posting the day's digest on its own, then stopping cleanly on Ctrl-C.

#[path = "support/binary.rs"]
mod binary;
#[path = "support/discord.rs"]
mod discord;
#[path = "support/fake_discord.rs"]
mod fake_discord;
mod support;

use std::process::Stdio;
use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use dealgate::chat::console::operator::print_outbox;
use dealgate::chat::discord::outbox::DiscordSender;
use dealgate::clock::SystemClock;
use dealgate::commands::Platform;
use dealgate::engine::ids::Money;
use dealgate::engine::playbook::Role;
use dealgate::engine::schedule::parse_zone;
use dealgate::jobs::outbox::{DeliveryReport, deliver_due};
use dealgate::jobs::route::Senders;
use dealgate::jobs::scheduler::tick;
use dealgate::service::{Caller, Service, Session};
use dealgate::store::{Store, jobs};
use fake_discord::{BOT_TOKEN, Failure, FakeDiscord, Recorded};
use support::{TestApp, user};

on_both_backends!(
    the_digest_and_a_dm_arrive_once_each_through_500s_and_a_429_with_the_chart_attached,
    a_post_discord_refuses_is_kept_as_failed_with_its_error_for_dealgate_outbox,
    a_message_for_a_platform_without_a_sender_stays_queued_with_the_reason,
);

const GUILD: &str = "555000111";
const BOSS: &str = "1001";
const MIA: &str = "1002";
const ANN: &str = "1003";
const MANAGERS_CHANNEL: &str = "7001";

fn discord_caller(user_key: &str, name: &str) -> Caller {
    Caller {
        platform: Platform::Discord,
        workspace: GUILD.into(),
        workspace_name: format!("Discord server {GUILD}"),
        user_key: user_key.into(),
        display_name: name.into(),
        platform_role: None,
        known_only: false,
    }
}

struct DiscordTeam {
    admin: Session,
    ann: Session,
}

/// A Discord workspace: boss (admin, first member), mia (manager) and ann, mia's rep.
async fn discord_team(app: &TestApp) -> DiscordTeam {
    let s = &app.service;
    let admin = s.session(&discord_caller(BOSS, "boss")).await.unwrap();
    s.session(&discord_caller(MIA, "mia")).await.unwrap();
    let ann = s.session(&discord_caller(ANN, "ann")).await.unwrap();
    s.set_team_role(&admin, &user(MIA), Role::Manager, None)
        .await
        .unwrap();
    s.set_team_role(&admin, &user(ANN), Role::Rep, Some(&user(MIA)))
        .await
        .unwrap();
    DiscordTeam { admin, ann }
}

async fn schedule_digest(app: &TestApp, admin: &Session, channel: &str, hh: u32, mm: u32) {
    app.service
        .setup_digest(
            admin,
            channel,
            NaiveTime::from_hms_opt(hh, mm, 0).unwrap(),
            parse_zone("UTC").unwrap(),
            true,
            None,
        )
        .await
        .unwrap();
}

fn sender(fake: &FakeDiscord) -> Senders {
    Senders::new().with(
        Platform::Discord,
        DiscordSender::new(BOT_TOKEN, Some(&fake.base)).unwrap(),
    )
}

async fn deliver_at(app: &TestApp, senders: &Senders, at: DateTime<Utc>) -> DeliveryReport {
    app.clock.set(at);
    deliver_due(&app.service, senders).await.unwrap()
}

fn posts_to(fake: &FakeDiscord, channel: &str) -> Vec<Recorded> {
    let path = format!("/api/v10/channels/{channel}/messages");
    fake.message_posts()
        .into_iter()
        .filter(|r| r.path == path)
        .collect()
}

async fn the_digest_and_a_dm_arrive_once_each_through_500s_and_a_429_with_the_chart_attached(
    app: TestApp,
) {
    let fake = FakeDiscord::start().await;
    let senders = sender(&fake);
    let t = discord_team(&app).await;
    // Created on Monday 2 March; by Wednesday 18 March it has sat in Qualify for 16 days.
    let stalled = app
        .service
        .create_deal(
            &t.ann,
            "Globex renewal",
            Money::from_major(12_000).unwrap(),
            NaiveDate::from_ymd_opt(2026, 3, 31).unwrap(),
            None,
            None,
        )
        .await
        .unwrap();
    schedule_digest(&app, &t.admin, MANAGERS_CHANNEL, 8, 30).await;
    app.service
        .setup_nudges(
            &t.admin,
            NaiveTime::from_hms_opt(9, 0, 0).unwrap(),
            false,
            None,
            None,
        )
        .await
        .unwrap();

    fake.fail_next_posts([
        Failure::server_error(),
        Failure::server_error(),
        Failure::rate_limited(2.5),
    ]);
    let t0 = Utc.with_ymd_and_hms(2026, 3, 18, 8, 30, 0).unwrap();
    app.clock.set(t0);
    let ticked = tick(&app.service, t0).await.unwrap();
    assert_eq!(ticked.digests.len(), 1);
    assert!(ticked.nudges.is_empty(), "nudges are due at 09:00");

    // 500 → retried after the 5-second backoff, not before.
    assert_eq!(deliver_at(&app, &senders, t0).await.retrying, 1);
    assert_eq!(
        deliver_at(&app, &senders, t0 + Duration::seconds(4)).await,
        DeliveryReport::default()
    );
    // 500 again → 10 seconds.
    assert_eq!(
        deliver_at(&app, &senders, t0 + Duration::seconds(5))
            .await
            .retrying,
        1
    );
    assert_eq!(
        deliver_at(&app, &senders, t0 + Duration::seconds(14)).await,
        DeliveryReport::default()
    );
    // 429 with retry_after 2.5 s → exactly that long, to the millisecond.
    assert_eq!(
        deliver_at(&app, &senders, t0 + Duration::seconds(15))
            .await
            .retrying,
        1
    );
    let early = t0 + Duration::milliseconds(17_499);
    assert_eq!(
        deliver_at(&app, &senders, early).await,
        DeliveryReport::default()
    );
    let posted = deliver_at(&app, &senders, t0 + Duration::milliseconds(17_500)).await;
    assert_eq!(posted.sent, 1);

    let attempts = posts_to(&fake, MANAGERS_CHANNEL);
    let statuses: Vec<u16> = attempts.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [500, 500, 429, 200]);
    let nonce = attempts[0].body["nonce"].as_str().unwrap().to_string();
    for a in &attempts {
        assert_eq!(
            a.body["nonce"],
            nonce.as_str(),
            "the same nonce on every retry"
        );
        assert_eq!(a.body["enforce_nonce"], true);
        assert_eq!(a.body["allowed_mentions"], serde_json::json!({"parse": []}));
        assert_eq!(
            a.authorization.as_deref(),
            Some(&*format!("Bot {BOT_TOKEN}"))
        );
    }
    let digest = &attempts[3];
    let embed = &digest.body["embeds"][0];
    assert!(
        embed["title"].as_str().unwrap().contains("digest"),
        "{embed}"
    );
    let file = digest
        .parts
        .iter()
        .find(|p| p.name == "files[0]")
        .expect("the chart is uploaded as files[0]");
    let file_name = file.file_name.clone().unwrap();
    assert!(file_name.ends_with(".png"), "{file_name}");
    assert_eq!(file.content_type.as_deref(), Some("image/png"));
    assert_eq!(embed["image"]["url"], format!("attachment://{file_name}"));
    assert_eq!(
        digest.body["attachments"][0]["filename"],
        file_name.as_str()
    );
    let png = png::Decoder::new(std::io::Cursor::new(&file.data))
        .read_info()
        .expect("the attachment decodes as a PNG");
    let (w, h) = (png.info().width, png.info().height);
    assert!(
        (400..=4000).contains(&w) && (200..=4000).contains(&h),
        "{w}×{h}"
    );

    // 09:00: the nudges. The DM channel is opened, then posted to, once.
    let nine = Utc.with_ymd_and_hms(2026, 3, 18, 9, 0, 0).unwrap();
    app.clock.set(nine);
    assert_eq!(tick(&app.service, nine).await.unwrap().nudges.len(), 1);
    fake.fail_next_posts([Failure::server_error()]);
    assert_eq!(deliver_at(&app, &senders, nine).await.retrying, 1);
    assert_eq!(
        deliver_at(&app, &senders, nine + Duration::seconds(5))
            .await
            .sent,
        1
    );
    let opened: Vec<Recorded> = fake
        .requests()
        .into_iter()
        .filter(|r| r.path == "/api/v10/users/@me/channels")
        .collect();
    assert!(!opened.is_empty());
    assert!(
        opened.iter().all(|r| r.body["recipient_id"] == MIA),
        "{opened:?}"
    );
    let dm_channel = "9002"; // The fake's DM channel for user …002.
    let dm = posts_to(&fake, dm_channel);
    assert_eq!(dm.iter().map(|r| r.status).collect::<Vec<_>>(), [500, 200]);
    let text = dm[1].body["embeds"][0].to_string();
    assert!(text.contains(&stalled.deal.number.to_string()), "{text}");
    assert_eq!(dm[1].body["nonce"], dm[0].body["nonce"]);
    assert_ne!(dm[1].body["nonce"], nonce.as_str());

    // Later passes send nothing more; every row is sent, with Discord's message id.
    assert_eq!(
        deliver_at(&app, &senders, nine + Duration::hours(3)).await,
        DeliveryReport::default()
    );
    assert_eq!(
        fake.accepted_posts().len(),
        2,
        "one digest and one DM, once each"
    );
    let mut conn = app.service.store().reader().acquire().await.unwrap();
    let rows: Vec<jobs::Queued> = jobs::all_of(&mut conn, t.admin.tenant.id)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.expect("a readable message"))
        .collect();
    assert_eq!(rows.len(), 2);
    for row in &rows {
        assert_eq!(row.status, jobs::MessageStatus::Sent, "{row:?}");
        assert!(
            row.remote_id
                .as_deref()
                .is_some_and(|id| id.starts_with("81")),
            "{row:?}"
        );
        assert!(row.last_error.is_none());
    }
    assert_eq!(rows[0].attempts, 4);
    assert_eq!(rows[1].attempts, 2);
}

async fn a_post_discord_refuses_is_kept_as_failed_with_its_error_for_dealgate_outbox(app: TestApp) {
    let fake = FakeDiscord::start().await;
    fake.refuse_channel("7403", 403, "Missing Access", 50001);
    let senders = sender(&fake);
    let t = discord_team(&app).await;
    schedule_digest(&app, &t.admin, "7403", 8, 30).await;
    let at = Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap();
    app.clock.set(at);
    tick(&app.service, at).await.unwrap();
    let report = deliver_at(&app, &senders, at).await;
    assert_eq!(report.failed, 1);
    // Never tried again, however long the worker runs.
    deliver_at(&app, &senders, at + Duration::days(1)).await;
    assert_eq!(posts_to(&fake, "7403").len(), 1);

    let mut out = Vec::new();
    print_outbox(&app.service, &mut out).await.unwrap();
    let out = String::from_utf8(out).unwrap();
    assert!(out.contains("failed"), "{out}");
    assert!(out.contains("(discord) → channel 7403"), "{out}");
    assert!(
        out.contains("HTTP 403: Missing Access (Discord code 50001)"),
        "{out}"
    );
}

async fn a_message_for_a_platform_without_a_sender_stays_queued_with_the_reason(app: TestApp) {
    let fake = FakeDiscord::start().await;
    let senders = sender(&fake);
    // A console workspace, and a process that can post to Discord only.
    let t = app.team().await;
    schedule_digest(&app, &t.admin, "managers", 8, 30).await;
    let at = Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap();
    app.clock.set(at);
    tick(&app.service, at).await.unwrap();
    assert_eq!(deliver_at(&app, &senders, at).await.retrying, 1);
    assert!(
        fake.message_posts().is_empty(),
        "nothing goes to the wrong platform"
    );
    let mut conn = app.service.store().reader().acquire().await.unwrap();
    let kept = jobs::undelivered(&mut conn).await.unwrap();
    assert_eq!(kept.len(), 1);
    let kept = kept[0].as_ref().expect("a readable message");
    assert_eq!(kept.status, jobs::MessageStatus::Pending);
    let error = kept.last_error.as_deref().unwrap();
    assert!(error.contains("no console sender"), "{error}");
}

/// The preview is deferred (ephemeral "thinking…"), and the follow-up that replaces it is a
/// multipart PATCH carrying the chart, shown in the embed.
#[tokio::test]
async fn digest_preview_on_discord_is_deferred_and_its_chart_arrives_with_the_follow_up() {
    let ep = discord::Endpoint::start().await;
    let (status, answer) = ep
        .send(&discord::command(
            31,
            discord::BOSS,
            "digest preview",
            vec![],
        ))
        .await;
    assert_eq!(status, 200);
    assert_eq!(answer["type"], 5, "{answer}");
    assert_eq!(
        answer["data"]["flags"], 64,
        "only the caller sees the preview"
    );
    let path = format!(
        "/api/v10/webhooks/{}/token-31/messages/@original",
        fake_discord::APPLICATION_ID
    );
    let follow = ep
        .fake
        .wait_for("the preview follow-up", |r| {
            r.method == "PATCH" && r.path == path
        })
        .await;
    assert!(
        follow
            .content_type
            .as_deref()
            .is_some_and(|c| c.starts_with("multipart/form-data")),
        "{follow:?}"
    );
    let embed = &follow.body["embeds"][0];
    assert!(
        discord::title(embed).starts_with("Forecast digest"),
        "{embed}"
    );
    let file = follow
        .parts
        .iter()
        .find(|p| p.name == "files[0]")
        .expect("the chart is uploaded with the follow-up");
    let file_name = file.file_name.clone().unwrap();
    assert_eq!(embed["image"]["url"], format!("attachment://{file_name}"));
    assert_eq!(
        follow.body["attachments"][0]["filename"],
        file_name.as_str()
    );
    let png = png::Decoder::new(std::io::Cursor::new(&file.data))
        .read_info()
        .expect("the chart decodes as a PNG");
    assert!(png.info().width >= 400, "{}", png.info().width);
}

/// The binary, as a team runs it: a digest scheduled for 00:00 UTC every day is due whenever the
/// test runs, so `serve` posts it on its first tick and stops cleanly on SIGINT.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dealgate_serve_posts_the_days_digest_to_discord_and_stops_cleanly_on_ctrl_c() {
    let fake = FakeDiscord::start().await;
    let dir = tempfile::tempdir().unwrap();
    let url = binary::database_url(&dir);
    {
        let store = Store::connect(&url).await.unwrap();
        let service = Service::new(store, Arc::new(SystemClock), support::playbook_source());
        let admin = service
            .session(&discord_caller(BOSS, "boss"))
            .await
            .unwrap();
        service
            .setup_digest(
                &admin,
                MANAGERS_CHANNEL,
                NaiveTime::MIN,
                parse_zone("UTC").unwrap(),
                false,
                None,
            )
            .await
            .unwrap();
        service.store().close().await;
    }
    let mut serve = binary::dealgate(
        &dir,
        &["serve"],
        &[
            ("DISCORD_TOKEN", BOT_TOKEN),
            ("DISCORD_APPLICATION_ID", fake_discord::APPLICATION_ID),
            ("DISCORD_API_BASE", &fake.base),
            ("DEALGATE_TICK_SECONDS", "1"),
        ],
    );
    serve.stdout(Stdio::null());
    let mut bot = serve.spawn().expect("start dealgate serve");

    let path = format!("/api/v10/channels/{MANAGERS_CHANNEL}/messages");
    let posted = fake
        .wait_for("the scheduled digest", |r| r.path == path)
        .await;
    assert!(
        posted.body["nonce"]
            .as_str()
            .is_some_and(|n| n.starts_with("dg"))
    );
    assert!(
        posted.parts.iter().any(|p| p.name == "files[0]"),
        "the chart"
    );

    let pid = bot.id().expect("serve is running").to_string();
    let interrupted = std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap();
    assert!(interrupted.success());
    let status = tokio::time::timeout(std::time::Duration::from_secs(20), bot.wait())
        .await
        .expect("serve stops within 20 seconds of Ctrl-C")
        .unwrap();
    let mut stderr = String::new();
    if let Some(mut e) = bot.stderr.take() {
        use tokio::io::AsyncReadExt;
        e.read_to_string(&mut stderr).await.unwrap();
    }
    assert!(status.success(), "{status}: {stderr}");
    assert!(
        stderr.contains("Scheduler: every 1s; posting to console, discord"),
        "{stderr}"
    );

    let store = Store::connect(&url).await.unwrap();
    let mut conn = store.reader().acquire().await.unwrap();
    assert!(jobs::undelivered(&mut conn).await.unwrap().is_empty());
    assert_eq!(fake.accepted_posts().len(), 1, "posted once");
}
