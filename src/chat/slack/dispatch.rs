//! Slack's payloads → commands → Block Kit.
//!
//! - Slash command: the command's name and its text become one command line for
//!   `commands::parse::parse_line`, the console's own parser (`/advance` + `deal-42` →
//!   `/advance deal-42`; `/dealgate` takes a whole line, `/dealgate help`).
//! - Button (`block_actions`): the button's versioned value → the command it stands for, run as
//!   the presser; the answer goes to the payload's `response_url`.
//!
//! The request bracket is `commands::interact`'s. The delivery key this module gives it is the
//! `trigger_id` (Slack makes one per invocation and repeats it when it retries a delivery,
//! `X-Slack-Retry-Num`); a request without one is keyed by a hash of its signed body, so
//! sending it twice does not apply it twice either.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::{Value, json};

use super::render;
use crate::chat::detached::Detached;
use crate::commands::interact::{self, Deferred, Handled, Invocation};
use crate::commands::parse::parse_line;
use crate::commands::press::Press;
use crate::commands::{Caller, Delivery, Platform, Reply, Service, replies};
use crate::engine::text::one_line;

const PLATFORM: Platform = Platform::Slack;

/// The slash command that takes any command line: `/dealgate help`, `/dealgate deal list`.
pub const CATCH_ALL: &str = "dealgate";

/// A slash command as Slack posts it (form-encoded). Fields Slack has deprecated or that
/// dealgate does not need are left out.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct SlashCommand {
    pub team_id: String,
    pub team_domain: String,
    pub channel_id: String,
    pub user_id: String,
    pub user_name: String,
    pub command: String,
    pub text: String,
    pub response_url: String,
    pub trigger_id: String,
}

/// An interaction payload (the `payload` field of an interactivity request); only
/// `block_actions` is acted on.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Interaction {
    #[serde(rename = "type")]
    pub kind: String,
    pub team: Option<Team>,
    pub user: Option<User>,
    pub trigger_id: String,
    pub response_url: String,
    pub actions: Vec<Action>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Team {
    pub id: String,
    pub domain: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct User {
    pub id: String,
    pub username: String,
    pub name: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Action {
    pub action_id: String,
    pub value: String,
}

/// Slow work to finish after the acknowledgement, and where its answer goes.
#[derive(Debug, Clone)]
pub struct Later {
    pub response_url: String,
    pub work: Deferred,
    /// Whether the command was typed as its own slash command (`/advance`), not `/dealgate …`.
    pub short: bool,
}

/// The HTTP response body, and what to do after sending it.
#[derive(Debug, Clone)]
pub struct Answer {
    pub body: Value,
    pub later: Option<Later>,
}

impl Answer {
    fn now(body: Value) -> Self {
        Self { body, later: None }
    }
}

pub struct Dispatcher {
    service: Arc<Service>,
    detached: Detached,
}

impl Dispatcher {
    pub fn new(service: Arc<Service>) -> Self {
        Self {
            service,
            detached: Detached::default(),
        }
    }

    /// The work this dispatcher's requests left running (see `chat::detached`).
    pub fn detached(&self) -> &Detached {
        &self.detached
    }

    pub fn service(&self) -> &Service {
        &self.service
    }

    /// A slash command; `body` is the signed request body it was read from.
    pub async fn command(&self, cmd: SlashCommand, body: &[u8]) -> Answer {
        let Some(caller) = caller(&cmd.team_id, &cmd.team_domain, &cmd.user_id, &cmd.user_name)
        else {
            return Answer::now(render::response(&replies::user_error(
                "Slack did not say which workspace and user this command came from.",
            )));
        };
        let text = unescape(&cmd.text);
        let name = cmd.command.trim().trim_start_matches('/').to_lowercase();
        // Replies name commands the way this person reached dealgate.
        let short = name != CATCH_ALL;
        let line = if name == CATCH_ALL {
            if text.trim().is_empty() {
                "help".to_string()
            } else {
                text
            }
        } else {
            format!("{name} {text}")
        };
        let command = match parse_line(&line) {
            Ok(c) => c,
            Err(e) => {
                let reply = replies::user_error(&e.to_string());
                return Answer::now(render::response(&render::as_typed(&reply, short)));
            }
        };
        let delivery = Delivery::new(PLATFORM, delivery_key("command", &cmd.trigger_id, body));
        let invocation = Invocation::command(caller, command, delivery)
            .mentioning(mentions(&line))
            // The result of slow work goes to the response URL, if Slack gave one.
            .deferrable(!cmd.response_url.is_empty());
        let render = |reply: &Reply| render::response(&render::as_typed(reply, short)).to_string();
        match interact::handle(&self.service, invocation, render).await {
            Handled::Now(done) => Answer::now(body_of(&done.answer)),
            Handled::Later(work) => Answer {
                body: render::response(&work.acknowledgement()),
                later: Some(Later {
                    response_url: cmd.response_url,
                    work,
                    short,
                }),
            },
        }
    }

    /// Runs slow work; its answer is for the response URL.
    pub async fn finish(&self, later: Later) -> Value {
        let reply = interact::finish(&self.service, later.work).await;
        let mut body = render::response(&render::as_typed(&reply, later.short));
        // Replace the acknowledgement rather than add under it.
        body["replace_original"] = json!(true);
        body
    }

    /// A button press: the message to post to the payload's response URL, or `None` when there
    /// is nothing to post (not a button, or a duplicate whose answer was posted already).
    /// `body` is the signed request body the payload was read from.
    pub async fn press(&self, payload: Interaction, body: &[u8]) -> Option<(String, Value)> {
        if payload.kind != "block_actions" || payload.response_url.is_empty() {
            return None;
        }
        let url = payload.response_url.clone();
        let (team, user) = (
            payload.team.unwrap_or_default(),
            payload.user.unwrap_or_default(),
        );
        let display = if user.username.is_empty() {
            &user.name
        } else {
            &user.username
        };
        let Some(caller) = caller(&team.id, &team.domain, &user.id, display) else {
            return Some((
                url,
                not_a_press("Slack did not say who pressed the button."),
            ));
        };
        let value = payload
            .actions
            .first()
            .map(|a| a.value.clone())
            .unwrap_or_default();
        let what = match Press::decode(&value) {
            Ok(p) => p,
            Err(e) => return Some((url, not_a_press(&e.to_string()))),
        };
        let delivery = Delivery::new(PLATFORM, delivery_key("press", &payload.trigger_id, body));
        let invocation = Invocation::press(caller, what, delivery);
        // A button's reply names commands as `/dealgate …`, which every install has.
        let render = |reply: &Reply| render::response(&render::as_typed(reply, false)).to_string();
        let Handled::Now(done) = interact::handle(&self.service, invocation, render).await else {
            // A press is never deferred (`can_defer` is false).
            return None;
        };
        let mut body = body_of(&done.answer);
        // A press answers in a new message; the one with the buttons stays as it was.
        body["replace_original"] = json!(false);
        done.fresh.then_some((url, body))
    }
}

/// An answer as rendered (and recorded) back to JSON.
fn body_of(answer: &str) -> Value {
    serde_json::from_str(answer).unwrap_or_else(|_| {
        render::response(&replies::user_error(
            "This command arrived twice; it ran once.",
        ))
    })
}

/// The key a delivery is claimed by: Slack's `trigger_id`, which it repeats when it retries;
/// without one, a hash of the signed body, which a replay repeats byte for byte.
fn delivery_key(kind: &str, trigger_id: &str, body: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    if trigger_id.is_empty() {
        let digest = Sha256::digest(body);
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        format!("{kind}:body:{hex}")
    } else {
        format!("{kind}:{trigger_id}")
    }
}

fn caller(team: &str, domain: &str, user: &str, name: &str) -> Option<Caller> {
    if team.trim().is_empty() || user.trim().is_empty() {
        return None;
    }
    // The domain and the user name come from the payload as people typed them: kept on one
    // line without control or invisible characters, so they cannot forge a line where shown.
    let (domain, name) = (one_line(domain), one_line(name));
    let (domain, name) = (domain.trim(), name.trim());
    let workspace_name = if domain.is_empty() {
        format!("Slack workspace {team}")
    } else {
        domain.to_string()
    };
    Some(Caller {
        platform: PLATFORM,
        workspace: team.to_string(),
        workspace_name,
        user_key: user.to_string(),
        display_name: if name.is_empty() {
            user.to_string()
        } else {
            name.to_string()
        },
        platform_role: None,
        known_only: false,
    })
}

fn not_a_press(why: &str) -> Value {
    render::response(&replies::button_refused(why))
}

/// Slack escapes `&`, `<` and `>` in what people type, and sends its own mentions and links
/// (`<@U024BE7LH>`) unescaped; this gives the parser the text as typed.
pub fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// `(user id, name)` of each user mention in a command line: `<@U024BE7LH>` or
/// `<@U024BE7LH|dana>` (the id stands in for a name Slack did not send).
fn mentions(line: &str) -> Vec<(String, String)> {
    let mut found: Vec<(String, String)> = Vec::new();
    let mut rest = line;
    while let Some(start) = rest.find("<@") {
        let after = &rest[start + 2..];
        let Some(end) = after.find('>') else { break };
        let inner = &after[..end];
        let (id, label) = inner.split_once('|').unwrap_or((inner, ""));
        let id_ok = (2..=32).contains(&id.len())
            && id
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
        if id_ok && !found.iter().any(|(known, _)| known == id) {
            let name = if label.is_empty() { id } else { label };
            found.push((id.to_string(), name.to_string()));
        }
        rest = &after[end + 1..];
    }
    found
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn mentions_are_read_with_or_without_a_label_once_each() {
        assert_eq!(
            mentions("team set <@U1AB|dana> manager <@W2> <@U1AB> <@nope> <!here>"),
            vec![
                ("U1AB".to_string(), "dana".to_string()),
                ("W2".to_string(), "W2".to_string())
            ]
        );
    }

    #[test]
    fn slack_escapes_are_undone_once() {
        assert_eq!(unescape("R&amp;D &lt;3 &amp;lt;"), "R&D <3 &lt;");
    }

    /// Text with the characters Slack's escapes and mentions are made of, and anything else.
    fn slackish_text() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            Just("&lt;".to_string()),
            Just("&gt;".to_string()),
            Just("&amp;".to_string()),
            Just("&".to_string()),
            Just("<@".to_string()),
            Just("<@U024BE7LH>".to_string()),
            Just("<@W2|dana>".to_string()),
            Just("|".to_string()),
            Just(">".to_string()),
            "[A-Z0-9]{0,40}",
            any::<String>(),
        ];
        proptest::collection::vec(piece, 0..10).prop_map(|p| p.concat())
    }

    /// Form fields with Slack's and URL encoding's special characters, then a few bytes changed.
    fn mutated_form() -> impl Strategy<Value = Vec<u8>> {
        let fields = [
            "team_id",
            "user_id",
            "user_name",
            "command",
            "text",
            "trigger_id",
            "x",
        ];
        let pair = (
            proptest::sample::select(fields.to_vec()),
            prop_oneof!["%[0-9A-Fa-f]{0,2}", "[%&=+;]{0,4}", slackish_text()],
        );
        (
            proptest::collection::vec(pair, 0..10),
            proptest::collection::vec((any::<proptest::sample::Index>(), any::<u8>()), 0..6),
        )
            .prop_map(|(pairs, flips)| {
                let mut body: Vec<u8> = pairs
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join("&")
                    .into_bytes();
                for (at, byte) in flips {
                    if body.is_empty() {
                        body.push(byte);
                    } else {
                        let at = at.index(body.len());
                        body[at] = byte;
                    }
                }
                body
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1024))]

        /// Mentions are found in any text, each id once, and each is Slack's shape.
        #[test]
        fn mentions_reads_any_text_and_keeps_only_slack_ids(text in slackish_text()) {
            let found = mentions(&text);
            for (i, (id, name)) in found.iter().enumerate() {
                prop_assert!((2..=32).contains(&id.len()), "{id}");
                prop_assert!(id.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()), "{id}");
                prop_assert!(text.contains(&format!("<@{id}")), "{id} in {text:?}");
                prop_assert!(!name.is_empty());
                prop_assert!(!found[..i].iter().any(|(k, _)| k == id));
            }
        }

        /// Unescaping never makes text longer: each escape stands for one shorter character.
        #[test]
        fn unescape_reads_any_text_and_only_shortens_it(text in slackish_text()) {
            prop_assert!(unescape(&text).len() <= text.len());
        }

        /// What `http::commands` does with a signed body, short of the database.
        #[test]
        fn any_form_body_decodes_to_a_slash_command_or_an_error(
            body in prop_oneof![
                mutated_form(),
                proptest::collection::vec(any::<u8>(), 0..512),
            ]
        ) {
            if let Ok(cmd) = serde_urlencoded::from_bytes::<SlashCommand>(&body) {
                let line = format!("{} {}", cmd.command, unescape(&cmd.text));
                if let Err(e) = parse_line(&line) {
                    prop_assert!(!e.to_string().is_empty());
                }
                let _ = mentions(&line);
                let _ = caller(&cmd.team_id, &cmd.team_domain, &cmd.user_id, &cmd.user_name);
                let key = delivery_key("command", &cmd.trigger_id, &body);
                prop_assert!(key.starts_with("command:"));
            }
        }

        /// The interactivity `payload` is JSON inside a form field; any JSON value, and any
        /// text, either decodes or is refused.
        #[test]
        fn any_interaction_payload_decodes_or_is_refused(
            payload in prop_oneof![
                any::<String>(),
                slackish_text().prop_map(|t| serde_json::json!({
                    "type": "block_actions", "team": {"id": t}, "user": {"id": t, "name": t},
                    "trigger_id": t, "response_url": t, "actions": [{"value": t}],
                }).to_string()),
            ]
        ) {
            let form = serde_urlencoded::to_string([("payload", payload.as_str())]).unwrap();
            #[derive(Deserialize)]
            struct Form {
                payload: String,
            }
            let form: Form = serde_urlencoded::from_bytes(form.as_bytes()).unwrap();
            prop_assert_eq!(&form.payload, &payload);
            if let Ok(p) = serde_json::from_str::<Interaction>(&form.payload)
                && let Some(action) = p.actions.first()
            {
                let _ = Press::decode(&action.value);
            }
        }
    }
}
