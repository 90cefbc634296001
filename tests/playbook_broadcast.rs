//! An applied playbook change is communicated: its notice goes through the outbox once to the
//! announcement channel and once by DM to each member (not to the admin who applied it, who is
//! recorded as having read it), through a fake Discord and a fake Slack answering 500 and 429
//! first; "Got it" pressed in the DM records the acknowledgement once, however often it is
//! pressed and on however many replicas; `/playbook acks` shows who has and who has not.

#[path = "support/discord.rs"]
mod discord;
#[path = "support/fake_discord.rs"]
mod fake_discord;
#[path = "support/fake_slack.rs"]
mod fake_slack;
#[path = "support/slack.rs"]
mod slack;
mod support;

use chrono::{Duration, NaiveTime};
use dealgate::chat::discord::outbox::DiscordSender;
use dealgate::chat::slack::SlackSender;
use dealgate::chat::slack::web::WebApi;
use dealgate::commands::interact::{Handled, Invocation, handle};
use dealgate::commands::press::Press;
use dealgate::config::Secret;
use dealgate::engine::ids::DealNumber;
use dealgate::jobs::outbox::deliver_due;
use dealgate::jobs::route::Senders;
use dealgate::service::{Caller, Delivery, Platform, ProposedPlaybook, Service, Session};
use discord::{ANN, BOSS, Endpoint, GUILD, MIA, Person, in_dm, press};
use fake_discord::{Failure, Recorded};
use fake_slack::{BOT_TOKEN as SLACK_TOKEN, Canned};
use serde_json::{Value, json};
use support::{PLAYBOOK, TestApp, user};

/// The fixture's process with Negotiate at 70 % and a new gate on Qualify.
fn next_playbook() -> ProposedPlaybook {
    let at = PLAYBOOK.find("[[stage.gate]]").unwrap();
    let next = format!(
        "{}[[stage.gate]]\nkind = \"activity\"\nactivity = \"pain-identified\"\n\n{}",
        &PLAYBOOK[..at],
        &PLAYBOOK[at..]
    )
    .replacen("probability = 80", "probability = 70", 1);
    ProposedPlaybook {
        reference: "next.toml".into(),
        bytes: next.into_bytes(),
    }
}

fn caller(platform: Platform, workspace: &str, id: &str, name: &str) -> Caller {
    Caller {
        platform,
        workspace: workspace.into(),
        workspace_name: "acme".into(),
        user_key: id.into(),
        display_name: name.into(),
        platform_role: None,
        known_only: false,
    }
}

/// boss (admin, the first member), mia (manager) and ann (her rep); the digest posts to
/// `channel`; version 2 applied by boss.
async fn team_and_change(
    service: &Service,
    platform: Platform,
    workspace: &str,
    people: [(&str, &str); 3],
    channel: &str,
) -> Session {
    let [boss, mia, ann] = people;
    let admin = service
        .session(&caller(platform, workspace, boss.0, boss.1))
        .await
        .unwrap();
    service
        .session(&caller(platform, workspace, mia.0, mia.1))
        .await
        .unwrap();
    service
        .session(&caller(platform, workspace, ann.0, ann.1))
        .await
        .unwrap();
    service
        .set_team_role(
            &admin,
            &user(mia.1),
            dealgate::engine::playbook::Role::Manager,
            None,
        )
        .await
        .unwrap();
    service
        .setup_digest(
            &admin,
            channel,
            NaiveTime::from_hms_opt(8, 30, 0).unwrap(),
            chrono_tz::UTC,
            true,
            None,
        )
        .await
        .unwrap();
    let preview = service
        .propose_playbook(
            &admin,
            &next_playbook(),
            "",
            "Pain is found before anything else",
        )
        .await
        .unwrap();
    let applied = service
        .confirm_playbook(&admin, preview.draft.unwrap())
        .await
        .unwrap();
    assert_eq!(applied.version.version, 2);
    admin
}

/// Delivers what is due, a minute later each time, until nothing is pending; how many rounds.
async fn deliver_everything(app: &TestApp, senders: &Senders) -> usize {
    for round in 1..=20 {
        let report = deliver_due(&app.service, senders).await.unwrap();
        assert_eq!(report.failed, 0, "{report:?}");
        if report.sent == 0 && report.retrying == 0 {
            return round;
        }
        app.clock.advance(Duration::minutes(1));
    }
    panic!("the outbox did not empty in 20 rounds");
}

fn posts_to(recorded: &[Recorded], channel: &str) -> Vec<Recorded> {
    let path = format!("/api/v10/channels/{channel}/messages");
    recorded
        .iter()
        .filter(|r| r.method == "POST" && r.path == path)
        .cloned()
        .collect()
}

fn buttons(message: &Value) -> Vec<String> {
    message["components"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|row| row["components"].as_array().cloned().unwrap_or_default())
        .filter_map(|b| b["custom_id"].as_str().map(str::to_string))
        .collect()
}

async fn ack_rows(service: &Service) -> Vec<(i64, i64)> {
    let mut conn = service.store().reader().acquire().await.unwrap();
    sqlx::query_as("SELECT member_id, version FROM playbook_acks ORDER BY member_id, version")
        .fetch_all(&mut *conn)
        .await
        .unwrap()
}

fn embed_title(answer: &Value) -> String {
    answer["data"]["embeds"][0]["title"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

async fn on_discord_each_gets_it_once_and_got_it_counts_once(app: TestApp) {
    let ep = Endpoint::on(app).await;
    let app = &ep.app;
    let person = |p: Person| (p.id, p.name);
    team_and_change(
        &app.service,
        Platform::Discord,
        GUILD,
        [person(BOSS), person(MIA), person(ANN)],
        "7001",
    )
    .await;
    ep.fake
        .fail_next_posts([Failure::server_error(), Failure::rate_limited(1.0)]);
    let senders = Senders::new().with(
        Platform::Discord,
        DiscordSender::new(fake_discord::BOT_TOKEN, Some(&ep.fake.base)).unwrap(),
    );
    deliver_everything(app, &senders).await;

    let recorded = ep.fake.requests();
    let ok = |posts: &[Recorded]| posts.iter().filter(|r| r.status == 200).count();
    let channel = posts_to(&recorded, "7001");
    let to_ann = posts_to(&recorded, "9001");
    let to_mia = posts_to(&recorded, "9002");
    assert_eq!(
        (ok(&channel), ok(&to_ann), ok(&to_mia)),
        (1, 1, 1),
        "{recorded:#?}"
    );
    assert!(posts_to(&recorded, "9000").is_empty(), "boss applied it");
    let statuses: Vec<u16> = [&channel, &to_ann, &to_mia]
        .iter()
        .flat_map(|p| p.iter().map(|r| r.status))
        .collect();
    assert!(
        statuses.contains(&500) && statuses.contains(&429),
        "{statuses:?}"
    );
    for posts in [&channel, &to_ann, &to_mia] {
        let nonces: Vec<&Value> = posts.iter().map(|r| &r.body["nonce"]).collect();
        assert!(nonces.windows(2).all(|w| w[0] == w[1]), "{nonces:?}");
    }
    let dm = &to_ann.last().unwrap().body;
    let text = dm["embeds"][0].to_string();
    assert!(text.contains("version 2"), "{text}");
    assert!(
        text.contains("Pain is found before anything else"),
        "{text}"
    );
    assert!(text.contains("probability 80% → 70%"), "{text}");
    let got_it = format!("dg1:ack:2:{GUILD}");
    assert_eq!(buttons(dm), std::slice::from_ref(&got_it));

    // Delivering again sends nothing more.
    let before = ep.fake.requests().len();
    app.clock.advance(Duration::hours(1));
    deliver_everything(app, &senders).await;
    assert_eq!(ep.fake.requests().len(), before);

    // ann presses "Got it" in her DM: recorded. Again, and a replica's dispatcher gets the same
    // interaction and a new one: still one row.
    let (status, answer) = ep.send(&in_dm(press(501, ANN, &got_it))).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        embed_title(&answer),
        "Thanks: noted that you have read playbook version 2",
        "{answer}"
    );
    let replica = app.replica().await;
    let dm_caller = Caller {
        platform: Platform::Discord,
        workspace: GUILD.into(),
        workspace_name: String::new(),
        user_key: ANN.id.into(),
        display_name: String::new(),
        platform_role: None,
        known_only: true,
    };
    let ack = Press::Acknowledge {
        workspace: GUILD.into(),
        version: 2,
    };
    let on_replica = |id: &str| {
        handle(
            &replica,
            Invocation::press(
                dm_caller.clone(),
                ack.clone(),
                Delivery::new(Platform::Discord, id.to_string()),
            ),
            |r| r.title.clone(),
        )
    };
    let (same, fresh) = tokio::join!(on_replica("501"), on_replica("502"));
    let answers: Vec<String> = [same, fresh]
        .into_iter()
        .map(|h| match h {
            Handled::Now(a) => a.answer,
            Handled::Later(_) => panic!("an acknowledgement is answered at once"),
        })
        .collect();
    assert!(
        answers[1].contains("already acknowledged playbook version 2"),
        "{answers:?}"
    );
    let (status, again) = ep.send(&in_dm(press(503, ANN, &got_it))).await;
    assert_eq!(status, 200);
    assert!(
        embed_title(&again).contains("already acknowledged"),
        "{again}"
    );

    let members = member_ids(&app.service, GUILD, Platform::Discord).await;
    let mut expected = vec![(members["boss"], 2), (members["ann"], 2)];
    expected.sort_unstable();
    assert_eq!(ack_rows(&app.service).await, expected);

    // Someone who is not a member presses a copy of the button: nothing recorded, nobody joins.
    let stranger = Person {
        id: "1999",
        name: "eve",
        permissions: "0",
    };
    let (_, refused) = ep.send(&in_dm(press(504, stranger, &got_it))).await;
    assert!(refused.to_string().contains("not a member of"), "{refused}");
    assert_eq!(
        member_ids(&app.service, GUILD, Platform::Discord)
            .await
            .len(),
        3
    );
    assert_eq!(ack_rows(&app.service).await.len(), 2);

    // mia, a manager, sees who has read it.
    let acks = ep
        .reply(&discord::command(505, MIA, "playbook acks", vec![]))
        .await;
    assert_eq!(
        discord::title(&acks),
        "Playbook version 2: 2 of 3 acknowledged",
        "{acks}"
    );
    assert!(
        discord::text(&acks).contains("Not yet** (1): mia"),
        "{acks}"
    );
}

async fn member_ids(
    service: &Service,
    workspace: &str,
    platform: Platform,
) -> std::collections::HashMap<String, i64> {
    let mut conn = service.store().reader().acquire().await.unwrap();
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT m.display_name, m.id FROM members m JOIN tenants t ON t.id = m.tenant_id \
         WHERE t.external_id = $1 AND t.platform = $2",
    )
    .bind(workspace)
    .bind(platform.as_str())
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    rows.into_iter().collect()
}

async fn on_slack_each_gets_it_once_and_got_it_counts_once(app: TestApp) {
    let ep = slack::SlackEndpoint::start(app).await;
    let app = &ep.app;
    let person = |p: slack::Person| (p.id, p.name);
    team_and_change(
        &app.service,
        Platform::Slack,
        slack::TEAM,
        [person(slack::BOSS), person(slack::MIA), person(slack::ANN)],
        "<#C0MGRS001|managers>",
    )
    .await;
    ep.fake.script(
        "chat.postMessage",
        Canned {
            status: 500,
            headers: vec![],
            body: json!({}),
        },
    );
    let senders = Senders::new().with(
        Platform::Slack,
        SlackSender::with(WebApi::with(
            reqwest::Client::new(),
            &ep.fake.api_base(),
            Secret::new(SLACK_TOKEN),
        )),
    );
    // The first post fails with a 500; the next with a 429 and Slack's Retry-After.
    let report = deliver_due(&app.service, &senders).await.unwrap();
    assert_eq!(report.retrying, 1, "{report:?}");
    ep.fake.script(
        "chat.postMessage",
        Canned {
            status: 429,
            headers: vec![("retry-after", "30".into())],
            body: json!({"ok": false, "error": "ratelimited"}),
        },
    );
    app.clock.advance(Duration::minutes(5));
    deliver_everything(app, &senders).await;

    // Five posts: the 500, the 429, and one that went through for each of the three targets
    // (the channel and the DM channels conversations.open gave for mia and ann).
    let posted: Vec<Value> = ep
        .fake
        .requests()
        .into_iter()
        .filter(|r| r.method() == Some("chat.postMessage"))
        .map(|r| r.args())
        .collect();
    assert_eq!(posted.len(), 5, "{posted:#?}");
    let mut channels: Vec<String> = posted
        .iter()
        .map(|a| a["channel"].as_str().unwrap_or_default().to_string())
        .collect();
    channels.sort();
    channels.dedup();
    assert_eq!(channels.len(), 3, "{posted:#?}");
    assert!(channels.contains(&"C0MGRS001".to_string()), "{channels:?}");
    let before = ep.fake.requests().len();
    app.clock.advance(Duration::hours(1));
    deliver_everything(app, &senders).await;
    assert_eq!(ep.fake.requests().len(), before, "nothing is posted twice");
    let value = format!("dg1:ack:2:{}", slack::TEAM);
    assert!(
        posted.iter().all(|a| a.to_string().contains(&value)),
        "{posted:#?}"
    );

    let answer = ep.press(slack::ANN, &value).await;
    assert!(
        slack::title(&answer).contains("Thanks: noted that you have read playbook version 2"),
        "{answer}"
    );
    let again = ep.press(slack::ANN, &value).await;
    assert!(
        slack::title(&again).contains("already acknowledged"),
        "{again}"
    );
    assert_eq!(ack_rows(&app.service).await.len(), 2, "boss and ann");
}

on_both_backends!(
    on_discord_each_gets_it_once_and_got_it_counts_once,
    on_slack_each_gets_it_once_and_got_it_counts_once,
    who_has_not_read_a_change_is_reminded_in_the_nudges_after_the_days_set,
    a_replica_reads_the_new_version_at_its_next_command,
);

/// The text of every queued DM to `user_key`, rendered as the console shows it.
async fn queued_to(service: &Service, user_key: &str) -> Vec<String> {
    service
        .due_messages(100)
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.target.id() == user_key)
        .map(|m| {
            let message = dealgate::jobs::message::OutboxMessage::try_from(m).unwrap();
            dealgate::chat::console::render(&message.reply)
        })
        .collect()
}

async fn who_has_not_read_a_change_is_reminded_in_the_nudges_after_the_days_set(app: TestApp) {
    use dealgate::jobs::scheduler::tick;
    let s = &app.service;
    let admin = team_and_change(
        s,
        Platform::Console,
        support::WORKSPACE,
        [("boss", "boss"), ("mia", "mia"), ("ann", "ann")],
        "managers",
    )
    .await;
    s.set_team_role(
        &admin,
        &user("ann"),
        dealgate::engine::playbook::Role::Rep,
        Some(&user("mia")),
    )
    .await
    .unwrap();
    let nudges = s
        .setup_nudges(
            &admin,
            NaiveTime::from_hms_opt(9, 30, 0).unwrap(),
            true,
            None,
            Some(2),
        )
        .await
        .unwrap();
    assert_eq!(nudges.ack_remind_days, 2);
    let day = |n: i64| support::start_time() + Duration::days(n) + Duration::minutes(30);

    // Monday (the change) and Tuesday: too early.
    for n in [0, 1] {
        app.clock.set(day(n));
        tick(s, day(n)).await.unwrap();
        assert!(
            queued_to(s, "mia")
                .await
                .iter()
                .all(|m| !m.contains("is not acknowledged"))
        );
    }
    // Wednesday: mia is reminded of herself and ann; ann of herself.
    app.clock.set(day(2));
    tick(s, day(2)).await.unwrap();
    let to_mia = queued_to(s, "mia").await.join("\n");
    assert!(
        to_mia.contains("Playbook version 2 (applied 2 Mar) is not acknowledged yet by you, ann."),
        "{to_mia}"
    );
    let to_ann = queued_to(s, "ann").await.join("\n");
    assert!(
        to_ann.contains("is not acknowledged yet by you."),
        "{to_ann}"
    );
    // ann reads it; Thursday's nudges remind mia alone, and ann not at all.
    let ann = s
        .session(&caller(Platform::Console, support::WORKSPACE, "ann", "ann"))
        .await
        .unwrap();
    s.acknowledge_playbook(&ann, None).await.unwrap();
    let before = queued_to(s, "ann").await.len();
    app.clock.set(day(3));
    tick(s, day(3)).await.unwrap();
    let to_mia = queued_to(s, "mia").await.join("\n");
    assert!(
        to_mia.contains("is not acknowledged yet by you."),
        "{to_mia}"
    );
    assert_eq!(
        queued_to(s, "ann").await.len(),
        before,
        "nothing new for ann"
    );
}

/// A replica that parsed and cached version 1 serves version 2 from its next command on.
async fn a_replica_reads_the_new_version_at_its_next_command(app: TestApp) {
    let replica = app.replica().await;
    let boss = caller(Platform::Console, support::WORKSPACE, "boss", "boss");
    let negotiate = |s: &Session| {
        s.playbook
            .stage(&"negotiate".parse().unwrap())
            .unwrap()
            .probability
            .percent()
    };
    // The replica sees the workspace first, so its cache holds version 1.
    let before = replica.session(&boss).await.unwrap();
    assert_eq!(
        (before.tenant.playbook_version, negotiate(&before)),
        (1, 80)
    );
    team_and_change(
        &app.service,
        Platform::Console,
        support::WORKSPACE,
        [("boss", "boss"), ("mia", "mia"), ("ann", "ann")],
        "managers",
    )
    .await;
    // Its sessions know a playbook by its version number alone, and read the text of one they
    // have not parsed: a command about a deal (which reads the deal with the caller) too.
    let about = replica
        .session_about(&boss, DealNumber::new(1))
        .await
        .unwrap();
    assert_eq!((about.tenant.playbook_version, negotiate(&about)), (2, 70));
    let after = replica.session(&boss).await.unwrap();
    assert_eq!((after.tenant.playbook_version, negotiate(&after)), (2, 70));
}
