//! The HTTP interactions endpoint end to end: real sockets on 127.0.0.1, requests signed with an
//! Ed25519 key made here, a fake Discord REST API behind `DISCORD_API_BASE`.

#[path = "support/discord.rs"]
mod discord;
#[path = "support/fake_discord.rs"]
mod fake_discord;
mod support;

use dealgate::clock::Clock;
use discord::*;
use serde_json::json;

/// Row counts of every table a command could change.
async fn database_state(ep: &Endpoint) -> Vec<i64> {
    let mut conn = ep.app.service.store().reader().acquire().await.unwrap();
    let mut counts = Vec::new();
    for table in [
        "tenants",
        "members",
        "deals",
        "activities",
        "stage_changes",
        "approvals",
        "field_changes",
        "interaction_receipts",
    ] {
        let n: i64 =
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
                .fetch_one(&mut *conn)
                .await
                .unwrap();
        counts.push(n);
    }
    counts
}

/// `boss` (Manage Server) creates deal-1 for 50,000, owned by boss.
async fn with_a_deal(ep: &Endpoint) {
    let e = ep
        .reply(&command(
            1,
            BOSS,
            "deal new",
            vec![
                opt("name", "Acme Rollout"),
                opt("amount", "50000"),
                opt("close", "2030-06-30"),
            ],
        ))
        .await;
    assert_eq!(title(&e), "Created deal-1 · Acme Rollout", "{e}");
}

#[tokio::test]
async fn ping_is_answered_with_pong() {
    let ep = Endpoint::start().await;
    let ping = json!({"type": 1, "id": "1", "application_id": fake_discord::APPLICATION_ID, "token": "t", "version": 1});
    let (status, answer) = ep.send(&ping).await;
    assert_eq!(status, 200);
    assert_eq!(answer["type"], 1);
}

#[tokio::test]
async fn healthz_answers_when_the_database_does() {
    let ep = Endpoint::start().await;
    let res = reqwest::get(format!("{}/healthz", ep.url)).await.unwrap();
    assert_eq!(res.status().as_u16(), 200);
}

#[tokio::test]
async fn every_catalogue_command_runs_from_discords_interaction_json() {
    let ep = Endpoint::start().await;
    with_a_deal(&ep).await;
    // Mia is named before she ever used dealgate: the user option makes her a member.
    let e = ep
        .reply(&command_naming(
            2,
            BOSS,
            "team set",
            vec![user_opt("user", MIA), opt("role", "manager")],
            &[MIA],
        ))
        .await;
    assert_eq!(title(&e), "mia is now a manager", "{e}");
    let e = ep
        .reply(&command_naming(
            3,
            BOSS,
            "team set",
            vec![
                user_opt("user", ANN),
                opt("role", "rep"),
                user_opt("manager", MIA),
            ],
            &[ANN, MIA],
        ))
        .await;
    assert_eq!(title(&e), "ann is now a rep, reporting to mia", "{e}");
    let e = ep.reply(&command(4, ANN, "team list", vec![])).await;
    assert!(text(&e).contains("ann — rep, reports to mia"), "{e}");

    let e = ep
        .reply(&command(5, BOSS, "deal show", vec![opt("deal", "deal-1")]))
        .await;
    assert_eq!(title(&e), "deal-1 · Acme Rollout");
    let e = ep
        .reply(&command(
            6,
            BOSS,
            "deal list",
            vec![opt("stage", "qualify")],
        ))
        .await;
    assert!(text(&e).contains("Acme Rollout"), "{e}");
    let e = ep
        .reply(&command(
            7,
            BOSS,
            "deal set",
            vec![
                opt("deal", "1"),
                opt("field", "champion"),
                opt("value", "Dana Smith, VP Finance"),
            ],
        ))
        .await;
    assert_eq!(title(&e), "Updated `champion` of deal-1", "{e}");
    let e = ep
        .reply(&command(
            8,
            BOSS,
            "log",
            vec![
                opt("deal", "deal-1"),
                opt("activity", "discovery-call"),
                opt("note", "met the CFO"),
            ],
        ))
        .await;
    assert_eq!(title(&e), "Logged Discovery call held on deal-1", "{e}");
    let (_, advanced) = ep
        .send(&command(9, BOSS, "advance", vec![opt("deal", "deal-1")]))
        .await;
    assert_eq!(
        advanced["data"]["embeds"][0]["title"],
        "deal-1 advanced to Solution"
    );
    assert!(
        advanced["data"]["flags"].as_u64().unwrap_or(0) & 64 == 0,
        "a stage change is announced in the channel: {advanced}"
    );
    assert_eq!(
        advanced["data"]["allowed_mentions"],
        json!({"parse": [], "users": [], "roles": []})
    );
    let e = ep
        .reply(&command(
            10,
            BOSS,
            "back",
            vec![
                opt("deal", "deal-1"),
                opt("to", "qualify"),
                opt("reason", "budget owner changed"),
            ],
        ))
        .await;
    assert_eq!(title(&e), "deal-1 moved back to Qualify", "{e}");
    let e = ep
        .reply(&command(11, BOSS, "approve", vec![opt("deal", "deal-1")]))
        .await;
    assert!(title(&e).contains("approved deal-1"), "{e}");
    let e = ep
        .reply(&command(
            12,
            BOSS,
            "advance",
            vec![opt("deal", "deal-1"), opt("to", "negotiate")],
        ))
        .await;
    assert_eq!(title(&e), "deal-1 advanced to Negotiate", "{e}");
    ep.reply(&command(
        13,
        BOSS,
        "log",
        vec![opt("deal", "deal-1"), opt("activity", "proposal-sent")],
    ))
    .await;
    let e = ep
        .reply(&command(14, BOSS, "won", vec![opt("deal", "deal-1")]))
        .await;
    assert_eq!(title(&e), "deal-1 won 🎉", "{e}");
    ep.reply(&command(
        15,
        BOSS,
        "deal new",
        vec![
            opt("name", "Borealis"),
            opt("amount", "12k"),
            opt("close", "2030-01-31"),
        ],
    ))
    .await;
    let e = ep
        .reply(&command(
            16,
            BOSS,
            "lost",
            vec![
                opt("deal", "deal-2"),
                opt("reason", "went with a competitor"),
            ],
        ))
        .await;
    assert_eq!(title(&e), "deal-2 lost", "{e}");
    let e = ep
        .reply(&command(
            17,
            ANN,
            "playbook show",
            vec![opt("stage", "solution")],
        ))
        .await;
    assert_eq!(title(&e), "Solution · 40%", "{e}");
    let e = ep
        .reply(&command(18, ANN, "help", vec![opt("command", "advance")]))
        .await;
    assert!(
        text(&e).contains("/advance deal [to] [override]") || title(&e).contains("advance"),
        "{e}"
    );

    // The forecast defers and follows up through the interaction webhook.
    let (status, answer) = ep
        .send(&command(
            19,
            BOSS,
            "forecast show",
            vec![opt("period", "all")],
        ))
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        answer,
        json!({"type": 5, "data": {"flags": 64, "attachments": []}})
    );
    let follow = ep
        .fake
        .wait_for("the forecast follow-up", |r| {
            r.method == "PATCH"
                && r.path
                    == format!(
                        "/api/v10/webhooks/{}/token-19/messages/@original",
                        fake_discord::APPLICATION_ID
                    )
        })
        .await;
    let embed = &follow.body["embeds"][0];
    assert!(
        title(embed).starts_with("Forecast · everyone"),
        "{}",
        follow.body
    );
    assert_eq!(
        follow.body["allowed_mentions"],
        json!({"parse": [], "users": [], "roles": []})
    );
}

#[tokio::test]
async fn a_deferred_result_that_arrives_before_discord_has_the_original_is_sent_again() {
    let ep = Endpoint::start().await;
    with_a_deal(&ep).await;
    ep.fake.original_not_there_yet(1);
    let (status, answer) = ep
        .send(&command(
            30,
            BOSS,
            "forecast show",
            vec![opt("period", "all")],
        ))
        .await;
    assert_eq!(status, 200);
    assert_eq!(answer["type"], 5, "{answer}");
    let original = format!(
        "/api/v10/webhooks/{}/token-30/messages/@original",
        fake_discord::APPLICATION_ID
    );
    let accepted = ep
        .fake
        .wait_for("the forecast follow-up accepted", |r| {
            r.method == "PATCH" && r.path == original && r.status == 200
        })
        .await;
    assert!(
        title(&accepted.body["embeds"][0]).starts_with("Forecast · everyone"),
        "{}",
        accepted.body
    );
    let edits: Vec<u16> = ep
        .fake
        .requests()
        .into_iter()
        .filter(|r| r.method == "PATCH" && r.path == original)
        .map(|r| r.status)
        .collect();
    assert_eq!(
        edits,
        [404, 200],
        "one early edit refused, then the same edit taken"
    );
}

#[tokio::test]
async fn bad_input_gets_an_ephemeral_explanation_and_changes_nothing() {
    let ep = Endpoint::start().await;
    with_a_deal(&ep).await;
    let before = database_state(&ep).await;
    let (_, answer) = ep
        .send(&command(
            2,
            BOSS,
            "deal new",
            vec![
                opt("name", "X"),
                opt("amount", "lots"),
                opt("close", "2030-01-01"),
            ],
        ))
        .await;
    assert_eq!(answer["data"]["flags"], 64);
    assert!(
        text(&answer["data"]["embeds"][0]).contains("`amount`: `lots` is not an amount"),
        "{answer}"
    );
    // Refused while parsing, before anything is claimed or written.
    assert_eq!(before, database_state(&ep).await);
}

#[tokio::test]
async fn autocomplete_suggests_own_deals_first_the_stages_activities_and_stages_ahead() {
    let ep = Endpoint::start().await;
    with_a_deal(&ep).await;
    ep.reply(&command(
        2,
        ANN,
        "deal new",
        vec![
            opt("name", "Ann's Acme pilot"),
            opt("amount", "9000"),
            opt("close", "2030-01-01"),
        ],
    ))
    .await;
    // Boss is an admin (Manage Server): own deals first, then everyone's.
    let (_, answer) = ep
        .send(&autocomplete(
            3,
            BOSS,
            "advance",
            vec![focused("deal", "acme")],
        ))
        .await;
    assert_eq!(answer["type"], 8, "{answer}");
    let values: Vec<&str> = answer["data"]["choices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["value"].as_str().unwrap())
        .collect();
    assert_eq!(values, ["deal-1", "deal-2"]);
    // Ann is a rep: only her own.
    let (_, answer) = ep
        .send(&autocomplete(4, ANN, "log", vec![focused("deal", "")]))
        .await;
    assert_eq!(
        answer["data"]["choices"].as_array().unwrap().len(),
        1,
        "{answer}"
    );
    assert_eq!(answer["data"]["choices"][0]["value"], "deal-2");
    // By number.
    let (_, answer) = ep
        .send(&autocomplete(5, BOSS, "log", vec![focused("deal", "#2")]))
        .await;
    assert_eq!(answer["data"]["choices"][0]["value"], "deal-2", "{answer}");
    // Activities: the deal's current stage's first.
    let (_, answer) = ep
        .send(&autocomplete(
            6,
            BOSS,
            "log",
            vec![opt("deal", "deal-1"), focused("activity", "")],
        ))
        .await;
    let choices = answer["data"]["choices"].as_array().unwrap();
    assert_eq!(choices[0]["value"], "discovery-call", "{answer}");
    assert!(choices.len() <= 25);
    // Stages ahead of Qualify.
    let (_, answer) = ep
        .send(&autocomplete(
            7,
            BOSS,
            "advance",
            vec![opt("deal", "deal-1"), focused("to", "")],
        ))
        .await;
    let stages: Vec<&str> = answer["data"]["choices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["value"].as_str().unwrap())
        .collect();
    assert_eq!(stages, ["solution", "negotiate"]);
}

#[tokio::test]
async fn a_refused_advance_offers_buttons_and_pressing_one_logs_the_activity() {
    let ep = Endpoint::start().await;
    with_a_deal(&ep).await;
    let (_, refused) = ep
        .send(&command(2, BOSS, "advance", vec![opt("deal", "deal-1")]))
        .await;
    assert_eq!(
        refused["data"]["flags"], 64,
        "a refusal is private: {refused}"
    );
    assert_eq!(
        refused["data"]["embeds"][0]["title"],
        "deal-1 can't leave Qualify yet"
    );
    let button = &refused["data"]["components"][0]["components"][0];
    assert_eq!(button["label"], "Log discovery-call");
    let custom_id = button["custom_id"].as_str().unwrap();
    let e = ep.reply(&press(3, BOSS, custom_id)).await;
    assert_eq!(title(&e), "Logged Discovery call held on deal-1", "{e}");
    let e = ep
        .reply(&command(4, BOSS, "advance", vec![opt("deal", "deal-1")]))
        .await;
    assert_eq!(title(&e), "deal-1 advanced to Solution", "{e}");
}

#[tokio::test]
async fn asking_for_approval_pings_only_the_reps_manager_who_can_approve_with_a_press() {
    let ep = Endpoint::start().await;
    with_a_deal(&ep).await;
    ep.reply(&command_naming(
        2,
        BOSS,
        "team set",
        vec![user_opt("user", MIA), opt("role", "manager")],
        &[MIA],
    ))
    .await;
    ep.reply(&command_naming(
        3,
        BOSS,
        "team set",
        vec![
            user_opt("user", ANN),
            opt("role", "rep"),
            user_opt("manager", MIA),
        ],
        &[ANN, MIA],
    ))
    .await;
    ep.reply(&command(
        4,
        ANN,
        "deal new",
        vec![
            opt("name", "Big one"),
            opt("amount", "250000"),
            opt("close", "2030-01-01"),
        ],
    ))
    .await;
    ep.reply(&command(
        5,
        ANN,
        "log",
        vec![opt("deal", "deal-2"), opt("activity", "discovery-call")],
    ))
    .await;
    ep.reply(&command(6, ANN, "advance", vec![opt("deal", "deal-2")]))
        .await;
    ep.reply(&command(
        7,
        ANN,
        "deal set",
        vec![
            opt("deal", "deal-2"),
            opt("field", "champion"),
            opt("value", "Dana Smith, VP Finance"),
        ],
    ))
    .await;
    let (_, refused) = ep
        .send(&command(8, ANN, "advance", vec![opt("deal", "deal-2")]))
        .await;
    let buttons = refused["data"]["components"][0]["components"]
        .as_array()
        .unwrap()
        .clone();
    let ask = buttons
        .iter()
        .find(|b| b["label"] == "Ask for approval")
        .expect("an ask button");
    let (_, asked) = ep
        .send(&press(9, ANN, ask["custom_id"].as_str().unwrap()))
        .await;
    assert_eq!(asked["type"], 4);
    assert!(
        asked["data"].get("flags").is_none_or(|f| f == 0),
        "public: {asked}"
    );
    assert_eq!(asked["data"]["content"], format!("<@{}>", MIA.id));
    assert_eq!(
        asked["data"]["allowed_mentions"],
        json!({"parse": [], "users": [MIA.id], "roles": []}),
        "only the manager is pinged"
    );
    let approve = asked["data"]["components"][0]["components"][0]["custom_id"]
        .as_str()
        .unwrap()
        .to_string();
    // Ann cannot approve her own deal by pressing the button; Mia can.
    let e = ep.reply(&press(10, ANN, &approve)).await;
    assert!(text(&e).contains("Only a manager can approve"), "{e}");
    let e = ep.reply(&press(11, MIA, &approve)).await;
    assert_eq!(title(&e), "mia approved deal-2 in Solution", "{e}");
    let e = ep
        .reply(&command(12, ANN, "advance", vec![opt("deal", "deal-2")]))
        .await;
    assert_eq!(title(&e), "deal-2 advanced to Negotiate", "{e}");
}

#[tokio::test]
async fn forged_and_stale_buttons_are_refused_and_do_nothing() {
    let ep = Endpoint::start().await;
    with_a_deal(&ep).await;
    let before = database_state(&ep).await;
    let e = ep.reply(&press(2, BOSS, "dg1:delete:1")).await;
    assert_eq!(
        text(&e),
        "dealgate did not make this button, so it did nothing."
    );
    let e = ep.reply(&press(3, BOSS, "dg0:log:1:discovery-call")).await;
    assert!(text(&e).contains("older version of dealgate"), "{e}");
    assert_eq!(before, database_state(&ep).await);
}

#[tokio::test]
async fn a_duplicated_delivery_gets_the_same_answer_and_logs_once() {
    let ep = Endpoint::start().await;
    with_a_deal(&ep).await;
    let log = command(
        2,
        BOSS,
        "log",
        vec![opt("deal", "deal-1"), opt("activity", "demo")],
    );
    let (_, first) = ep.send(&log).await;
    let (_, again) = ep.send(&log).await;
    assert_eq!(first, again);
    let mut conn = ep.app.service.store().reader().acquire().await.unwrap();
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM activities")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    assert_eq!(n, 1);
}

#[tokio::test]
async fn a_command_in_a_direct_message_says_it_works_in_a_server() {
    let ep = Endpoint::start().await;
    let (_, answer) = ep.send(&in_dm(command(1, ANN, "deal list", vec![]))).await;
    assert_eq!(answer["data"]["flags"], 64);
    assert!(
        text(&answer["data"]["embeds"][0]).contains("dealgate works in a server"),
        "{answer}"
    );
    assert_eq!(database_state(&ep).await[0], 0, "no workspace was created");
}

#[tokio::test]
async fn bad_signatures_and_bodies_are_refused_and_change_nothing() {
    let ep = Endpoint::start().await;
    with_a_deal(&ep).await;
    let before = database_state(&ep).await;
    let body = serde_json::to_vec(&command(
        50,
        BOSS,
        "log",
        vec![opt("deal", "deal-1"), opt("activity", "demo")],
    ))
    .unwrap();
    let good = sign(&ep.key, &ep.timestamp(), &body);
    let headers = |sig: String| {
        vec![
            ("x-signature-ed25519", sig),
            ("x-signature-timestamp", ep.timestamp()),
        ]
    };

    // Forged: a valid-looking signature over something else.
    let forged = sign(&ep.key, &ep.timestamp(), b"{\"type\":1}");
    assert_eq!(
        ep.post_raw(body.clone(), &headers(forged))
            .await
            .status()
            .as_u16(),
        401
    );
    // Wrong key.
    let other = ed25519_dalek::SigningKey::from_bytes(&[0x22; 32]);
    let wrong = sign(&other, &ep.timestamp(), &body);
    assert_eq!(
        ep.post_raw(body.clone(), &headers(wrong))
            .await
            .status()
            .as_u16(),
        401
    );
    // Missing header.
    let only_sig = vec![("x-signature-ed25519", good.clone())];
    assert_eq!(
        ep.post_raw(body.clone(), &only_sig).await.status().as_u16(),
        401
    );
    assert_eq!(ep.post_raw(body.clone(), &[]).await.status().as_u16(), 401);
    // Malformed signature.
    assert_eq!(
        ep.post_raw(body.clone(), &headers("zz".into()))
            .await
            .status()
            .as_u16(),
        401
    );
    // Truncated body: signed in full, cut in transit.
    let cut = body[..body.len() - 10].to_vec();
    assert_eq!(
        ep.post_raw(cut, &headers(good.clone()))
            .await
            .status()
            .as_u16(),
        401
    );
    // Oversized body, even if signed.
    let mut big = body.clone();
    big.extend(std::iter::repeat_n(b' ', 300 * 1024));
    let big_sig = sign(&ep.key, &ep.timestamp(), &big);
    assert_eq!(
        ep.post_raw(big, &headers(big_sig)).await.status().as_u16(),
        413
    );

    assert_eq!(before, database_state(&ep).await);
    // The genuine request still works.
    let res = ep.post_raw(body, &headers(good)).await;
    assert_eq!(res.status().as_u16(), 200);
}

#[tokio::test]
async fn stale_future_and_unreadable_timestamps_are_refused_and_change_nothing() {
    let ep = Endpoint::start().await;
    with_a_deal(&ep).await;
    let before = database_state(&ep).await;
    let now = ep.app.clock.now().timestamp();
    let log = |id| {
        command(
            id,
            BOSS,
            "log",
            vec![opt("deal", "deal-1"), opt("activity", "demo")],
        )
    };
    for (id, timestamp) in [
        (60, (now - 301).to_string()),
        (61, (now + 61).to_string()),
        (62, "978307200".to_string()),
        (63, "abc".to_string()),
    ] as [(u64, String); 4]
    {
        let (status, answer) = ep.send_at(&log(id), &timestamp).await;
        assert_eq!(status, 401, "timestamp {timestamp}: {answer}");
    }
    assert_eq!(before, database_state(&ep).await, "nothing was written");
    // Five minutes old and a minute ahead are still accepted (clocks drift).
    assert_eq!(ep.send_at(&log(64), &(now - 300).to_string()).await.0, 200);
    assert_eq!(ep.send_at(&log(65), &(now + 60).to_string()).await.0, 200);
}

#[tokio::test]
async fn a_captured_request_replayed_after_its_receipt_was_pruned_is_refused() {
    let ep = Endpoint::start().await;
    with_a_deal(&ep).await;
    let body = serde_json::to_vec(&command(
        70,
        BOSS,
        "log",
        vec![opt("deal", "deal-1"), opt("activity", "demo")],
    ))
    .unwrap();
    let signed_at = ep.timestamp();
    let headers = vec![
        ("x-signature-ed25519", sign(&ep.key, &signed_at, &body)),
        ("x-signature-timestamp", signed_at.clone()),
    ];
    assert_eq!(ep.post_raw(body.clone(), &headers).await.status(), 200);
    let after_first = database_state(&ep).await;
    // Replayed at once: answered from its receipt, not run again.
    assert_eq!(ep.post_raw(body.clone(), &headers).await.status(), 200);
    assert_eq!(after_first, database_state(&ep).await);
    // A day later its receipt is pruned; the replay is refused by its age.
    ep.app.clock.advance(chrono::Duration::hours(25));
    assert!(ep.app.service.prune_interaction_receipts().await.unwrap() >= 1);
    let replay = ep.post_raw(body, &headers).await;
    assert_eq!(replay.status(), 401);
    let mut after_replay = database_state(&ep).await;
    let mut expected = after_first;
    // Only the receipts changed (pruned); the activity is there once.
    after_replay.pop();
    expected.pop();
    assert_eq!(expected, after_replay);
}
