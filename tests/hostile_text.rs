//! Hostile text stays text: deal names, member names and field values that try to forge a line
//! of the bot's reply, colour a terminal, make a link, mention someone, format, or turn text
//! right to left, rendered for the console, Discord and Slack.
//!
//! Input refuses most of these (see `parse_tests.rs`), so the hostile values are written
//! straight into the database here, as data stored before the rules existed would be: what is
//! pinned is that the renderers make them harmless on their own.

mod support;

use dealgate::chat::console::{caller, render};
use dealgate::chat::discord::render as discord;
use dealgate::chat::slack::render as slack;
use dealgate::commands::Reply;
use dealgate::commands::execute::execute_line;
use dealgate::commands::reply::Tone;
use dealgate::commands::user_text::user;
use serde_json::{Value, json};
use support::{TestApp, WORKSPACE};

/// A newline that forges a line of the bot's own reply, and a terminal colour.
const FORGED_LINE: &str =
    "Acme\n✅ Approved by Dana (manager), gates passed \u{1b}[31mRED\u{1b}[0m";
/// A Markdown link dressed as bold, and every kind of ping.
const PHISHING: &str =
    "**[Verify your account](https://evil.example/login)** <@123456> <!channel> @everyone";
/// Formatting characters, a code span, a quote, and a right-to-left override.
const FORMATTING: &str = "> *bold* _it_ ~gone~ `code` \u{202e}gpj.exe";
/// An owner whose name clears the screen and mentions someone.
const OWNER: &str = "ann\u{1b}[2J <@123456>\r\n# Heading";
/// A champion that tries a Slack link and bidi isolation.
const CHAMPION: &str = "<https://evil.example|Priya> \u{2066}Shah\u{2069}\u{200b}";

async fn run(app: &TestApp, user: &str, line: &str) -> Reply {
    execute_line(&app.service, &caller(WORKSPACE, user), line).await
}

/// Three of ann's deals whose names, owner and champion were stored hostile.
async fn hostile_pipeline() -> TestApp {
    let app = TestApp::new().await;
    let team = app.team().await;
    for line in [
        r#"/deal new "First" 120k 2026-03-27"#,
        r#"/deal new "Second" 48000 2026-04-30"#,
        r#"/deal new "Third" 25000 2026-05-15"#,
        r#"/deal set deal-1 champion "Priya Shah, VP Operations""#,
    ] {
        let reply = run(&app, "ann", line).await;
        assert!(reply.title != "That didn't work", "{line}: {reply:?}");
    }
    let store = app.db.store().await;
    let mut tx = store.begin().await.unwrap();
    for (number, name) in [(1, FORGED_LINE), (2, PHISHING), (3, FORMATTING)] {
        sqlx::query("UPDATE deals SET name = $1 WHERE tenant_id = $2 AND number = $3")
            .bind(name)
            .bind(team.ann.tenant.id)
            .bind(number)
            .execute(&mut *tx)
            .await
            .expect("store a hostile name");
    }
    sqlx::query("UPDATE deals SET fields = $1 WHERE tenant_id = $2 AND number = 1")
        .bind(json!({ "champion": CHAMPION }).to_string())
        .bind(team.ann.tenant.id)
        .execute(&mut *tx)
        .await
        .expect("store a hostile champion");
    sqlx::query("UPDATE members SET display_name = $1 WHERE id = $2")
        .bind(OWNER)
        .bind(team.ann.member.id)
        .execute(&mut *tx)
        .await
        .expect("store a hostile owner name");
    tx.commit().await.unwrap();
    app
}

/// Every string in a JSON value, to look for what must never be sent.
fn strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(a) => a.iter().for_each(|v| strings(v, out)),
        Value::Object(o) => o.values().for_each(|v| strings(v, out)),
        _ => {}
    }
}

/// What holds on every platform: no control or invisible character, no marks, no line that
/// the hostile text started (the bot's own `✅` lines are fine).
fn assert_inert(text: &str) {
    for c in text.chars() {
        assert!(
            c == '\n' || !dealgate::engine::text::is_forbidden(c),
            "U+{:04X} reached the output: {text:?}",
            u32::from(c)
        );
    }
    for line in text.lines() {
        let line = line.trim_start();
        assert!(
            !line.starts_with("✅ Approved by Dana") && !line.starts_with("# Heading"),
            "a forged line: {text:?}"
        );
    }
}

/// Pings, links, mentions and formatting in a form Discord would act on.
const DISCORD_ACTIVE: &[&str] = &["<@123456>", "](https://", "https://", "**[", "*bold*"];
/// The same for Slack, whose links are `<url|text>` (a Markdown link is plain text there).
const SLACK_ACTIVE: &[&str] = &["<@123456>", "<!channel>", "<https://", "*bold*", "`code`"];

fn assert_json_inert(v: &Value, active: &[&str]) {
    let mut all = Vec::new();
    strings(v, &mut all);
    for s in &all {
        assert_inert(s);
        for raw in active {
            assert!(
                !s.contains(raw),
                "{raw} reached the output unescaped: {s:?}"
            );
        }
    }
}

#[tokio::test]
async fn a_list_of_hostile_deal_names_reads_as_typed_one_line_each_in_the_console() {
    let app = hostile_pipeline().await;
    let text = render(&run(&app, "mia", "/deal list").await);
    assert_inert(&text);
    assert_eq!(
        text.lines().filter(|l| l.contains("`deal-")).count(),
        3,
        "one line per deal:\n{text}"
    );
    insta::assert_snapshot!(text);
}

#[tokio::test]
async fn a_list_of_hostile_deal_names_is_escaped_markdown_on_discord_and_inert_mrkdwn_on_slack() {
    let app = hostile_pipeline().await;
    let reply = run(&app, "mia", "/deal list").await;
    let discord = serde_json::to_value(discord::response(&reply)).unwrap();
    let slack = slack::response(&reply);
    assert_json_inert(&discord, DISCORD_ACTIVE);
    assert_json_inert(&slack, SLACK_ACTIVE);
    assert_eq!(
        discord["data"]["allowed_mentions"],
        json!({"parse": [], "users": [], "roles": []})
    );
    insta::assert_json_snapshot!(json!({ "discord": discord, "slack": slack }));
}

#[tokio::test]
async fn a_hostile_deal_card_shows_its_name_owner_and_champion_harmlessly_everywhere() {
    let app = hostile_pipeline().await;
    let reply = run(&app, "mia", "/deal show deal-1").await;
    let console = render(&reply);
    let discord = serde_json::to_value(discord::response(&reply)).unwrap();
    let slack = slack::response(&reply);
    assert_inert(&console);
    assert_json_inert(&discord, DISCORD_ACTIVE);
    assert_json_inert(&slack, SLACK_ACTIVE);
    insta::assert_snapshot!("deal_card_console", console);
    insta::assert_json_snapshot!(
        "deal_card_discord_and_slack",
        json!({ "discord": discord, "slack": slack })
    );
}

#[tokio::test]
async fn a_reply_builder_marks_user_text_so_the_bots_own_markup_survives_beside_it() {
    // A reason as a builder puts it: the bot's bold and code around a person's words.
    let reply = Reply::new(format!("deal-3 lost · {}", user(PHISHING)))
        .line(format!(
            "{} closed **{}** lost. Reason: {} — `/deal show {}`",
            user(OWNER),
            user(FORMATTING),
            user(FORGED_LINE),
            user("deal-3` @everyone `")
        ))
        .field("Owner", user(OWNER))
        .tone(Tone::Refusal);
    let console = render(&reply);
    let discord = serde_json::to_value(discord::response(&reply)).unwrap();
    let slack = slack::response(&reply);
    assert_inert(&console);
    assert_json_inert(&discord, DISCORD_ACTIVE);
    assert_json_inert(&slack, SLACK_ACTIVE);
    let description = discord["data"]["embeds"][0]["description"]
        .as_str()
        .unwrap();
    assert!(
        description.contains(" closed **\\> \\*bold\\* "),
        "{description}"
    );
    assert!(
        description.ends_with("`/deal show deal-3ˋ @everyone ˋ`"),
        "{description}"
    );
    let section = slack["blocks"][1]["text"]["text"].as_str().unwrap();
    assert!(
        section.contains(" closed *&gt; ∗bold∗ ˍitˍ ∼gone∼ ˋcodeˋ"),
        "{section}"
    );
    insta::assert_snapshot!("builder_console", console);
    insta::assert_json_snapshot!(
        "builder_discord_and_slack",
        json!({ "discord": discord, "slack": slack })
    );
}

#[tokio::test]
async fn the_digest_dry_run_prints_hostile_names_without_escapes_or_forged_lines() {
    let app = hostile_pipeline().await;
    let mut out = Vec::new();
    dealgate::chat::console::operator::print_digests(&app.service, true, None, None, &mut out)
        .await
        .expect("print the digest");
    let text = String::from_utf8(out).unwrap();
    assert_inert(&text);
    assert!(!text.contains('\u{1b}'), "{text}");
    // The names are there, each on the line of the digest that lists it.
    assert!(
        text.contains(
            "   New (3): deal-1 Acme ✅ Approved by Dana (manager), gates passed [31mRED"
        ),
        "{text}"
    );
    assert!(
        text.contains("   ann[2J <@123456> # Heading: 1 deal"),
        "{text}"
    );
}

#[tokio::test]
async fn dealgate_outbox_prints_a_stored_title_and_error_without_escapes_or_forged_lines() {
    let app = TestApp::new().await;
    let team = app.team().await;
    app.service
        .setup_digest(
            &team.admin,
            "managers",
            chrono::NaiveTime::from_hms_opt(8, 30, 0).unwrap(),
            dealgate::engine::schedule::parse_zone("UTC").unwrap(),
            true,
            None,
        )
        .await
        .unwrap();
    let at = support::start_time() + chrono::Duration::hours(12);
    app.clock.set(at);
    dealgate::jobs::scheduler::tick(&app.service, at)
        .await
        .unwrap();
    // The queued digest, as if its title and a platform's error had been hostile.
    let store = app.db.store().await;
    let mut tx = store.begin().await.unwrap();
    let title = format!("Digest · {}", user(FORGED_LINE));
    sqlx::query("UPDATE outbox SET payload = $1, last_error = $2")
        .bind(
            json!({ "title": title, "lines": [], "fields": [], "tone": "info", "buttons": [] })
                .to_string(),
        )
        .bind("HTTP 400: \u{1b}[31mbad\u{1b}[0m\n#9 sent workspace 1: all good")
        .execute(&mut *tx)
        .await
        .expect("store a hostile outbox row");
    tx.commit().await.unwrap();

    let mut out = Vec::new();
    dealgate::chat::console::operator::print_outbox(&app.service, &mut out)
        .await
        .expect("print the outbox");
    let text = String::from_utf8(out).unwrap();
    assert_inert(&text);
    assert_eq!(text.lines().count(), 1, "one line per message:\n{text}");
    assert!(
        text.contains("\"Digest · Acme ✅ Approved by Dana (manager), gates passed [31mRED[0m\""),
        "{text}"
    );
    assert!(
        text.ends_with("last error: HTTP 400: [31mbad[0m #9 sent workspace 1: all good\n"),
        "{text}"
    );
}

#[tokio::test]
async fn a_refusal_that_names_a_hostile_owner_escapes_the_name_too() {
    let app = hostile_pipeline().await;
    // eve is a rep of nobody: ann's deal is not hers to log on; with the pipeline open to
    // everyone she may see it, so the refusal names its owner.
    run(&app, "boss", "/team visibility yes").await;
    let reply = run(&app, "eve", "/log deal-2 discovery-call").await;
    let console = render(&reply);
    let discord = serde_json::to_value(discord::response(&reply)).unwrap();
    let slack = slack::response(&reply);
    assert_inert(&console);
    assert_json_inert(&discord, DISCORD_ACTIVE);
    assert_json_inert(&slack, SLACK_ACTIVE);
    assert!(
        console.contains("it belongs to ann[2J <@123456> # Heading."),
        "{console}"
    );
    let description = discord["data"]["embeds"][0]["description"]
        .as_str()
        .unwrap();
    assert!(
        description.contains("it belongs to ann\\[2J \\<\\@123456\\> \\# Heading."),
        "{description}"
    );
}
