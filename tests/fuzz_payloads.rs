//! Property tests over what Discord and Slack send: valid payloads built the way the platforms
//! build them, then mutated (options of the wrong type, nested groups, missing values, huge
//! strings, unknown names, several focused options, garbage button ids, fields replaced or
//! dropped, bytes flipped). The decoders must never panic, and the real endpoints, given such a
//! request properly signed, must answer it or refuse it with a 4xx (413 only past the size
//! limit, which both endpoints share), never a 5xx.
//!
//! The endpoint properties run a bounded number of cases through proptest's runner inside the
//! test's runtime (`block_in_place`), so a failure is shrunk to a small payload like any other.

#[path = "support/discord.rs"]
mod discord;
#[path = "support/fake_discord.rs"]
mod fake_discord;
#[path = "support/fake_slack.rs"]
mod fake_slack;
#[path = "support/slack.rs"]
mod slack;
mod support;

use std::fmt::Debug;
use std::future::Future;
use std::sync::Arc;

use dealgate::chat::discord::custom_id::Press;
use dealgate::chat::discord::http::MAX_BODY;
use dealgate::chat::discord::options;
use dealgate::commands::catalogue::{self, CATALOGUE, CommandSpec, OptionKind};
use dealgate::commands::parse::build;
use proptest::prelude::*;
use proptest::sample::{Index, select};
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Value, json};
use serenity::all::Interaction;

/// A request body, shown as text (lossily) when a case fails, not as a list of numbers.
#[derive(Clone)]
struct Body(Vec<u8>);

impl Debug for Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(&self.0))
    }
}

// ---- Strategies: Discord ----

/// The command's own option names mostly, then any in the catalogue (subcommand names too),
/// and any text now and then.
fn option_name(own: Vec<String>) -> impl Strategy<Value = String> {
    let mut names: Vec<String> = CATALOGUE
        .iter()
        .flat_map(|s| s.options.iter().map(|o| o.name.to_string()))
        .collect();
    names.extend(
        CATALOGUE
            .iter()
            .filter_map(|s| Some(s.name.split_once(' ')?.1.to_string())),
    );
    let own = if own.is_empty() { names.clone() } else { own };
    prop_oneof![8 => select(own), 2 => select(names), 1 => any::<String>()]
}

/// Values people type into options, the ids of the fixture's playbook, and what nobody types.
fn option_text() -> impl Strategy<Value = String> {
    let fixed = [
        "deal-1",
        "1",
        "#1",
        "deal-0",
        "deal-4294967296",
        "qualify",
        "solution",
        "closed-won",
        "discovery-call",
        "demo",
        "amount",
        "champion",
        "50000",
        "12.5k",
        "2030-06-30",
        "2026-02-30",
        "this-quarter",
        "2026-Q4",
        "manager",
        "rep",
        "<@1001>",
        "@ann",
        "08:30",
        "Europe/Berlin",
        "yes",
        "7",
        "advance",
        "deal new",
        "\"",
        "\\",
        "\u{1b}[2J",
        "\u{202e}",
    ];
    prop_oneof![
        4 => select(fixed.map(str::to_string).to_vec()),
        1 => "deal-[0-9]{1,12}",
        1 => "[0-9]{1,25}",
        1 => "[0-9]{4}-[0-9]{2}-[0-9]{2}",
        1 => "<@!?[0-9]{1,20}>",
        2 => any::<String>(),
        1 => (any::<char>(), 1000usize..8000).prop_map(|(c, n)| c.to_string().repeat(n)),
    ]
}

/// Values of the right kind for an option, the fixture playbook's ids among them, so that
/// whole commands get built and reach the service; any option text now and then.
fn typed_value(kind: OptionKind) -> BoxedStrategy<String> {
    let right: &[&str] = match kind {
        OptionKind::Deal => &["deal-1", "1", "#1", "deal-2"],
        OptionKind::Text => &["Acme Rollout", "met the CFO", "x"],
        OptionKind::Money => &["50000", "12.5k", "48,000.50", "0"],
        OptionKind::Date => &["2030-06-30", "2026-03-02", "2026-02-28"],
        OptionKind::Stage => &[
            "qualify",
            "solution",
            "negotiate",
            "closed-won",
            "closed-lost",
        ],
        OptionKind::Activity => &["discovery-call", "demo", "proposal-sent"],
        OptionKind::Field => &["amount", "champion", "close"],
        OptionKind::User => &["<@1001>", "<@1002>", "@ann"],
        OptionKind::Role => &["rep", "manager", "admin"],
        OptionKind::Period => &["this-quarter", "2026-Q4", "2026-11", "all"],
        OptionKind::CommandName => &["advance", "deal new", "help"],
        OptionKind::Channel => &["<#7001>", "7001"],
        OptionKind::Time => &["08:30", "23:59"],
        OptionKind::Timezone => &["Europe/Berlin", "UTC"],
        OptionKind::YesNo => &["yes", "no"],
        OptionKind::Days => &["7", "90"],
        OptionKind::Month => &["april", "4"],
        OptionKind::File => &["next.toml", "/etc/passwd"],
        OptionKind::Preview => &["1", "2"],
    };
    prop_oneof![
        3 => select(right.iter().map(|s| s.to_string()).collect::<Vec<_>>()),
        1 => option_text(),
    ]
    .boxed()
}

/// Every option of `spec` with a value of its kind, each optional one present or not: a
/// command that mostly builds.
fn whole_command(spec: &'static CommandSpec) -> impl Strategy<Value = Vec<Value>> {
    spec.options
        .iter()
        .map(|o| {
            (any::<bool>(), typed_value(o.kind))
                .prop_map(move |(given, v)| (given || o.required).then(|| discord::opt(o.name, &v)))
        })
        .collect::<Vec<_>>()
        .prop_map(|options| options.into_iter().flatten().collect())
}

/// Any JSON scalar, with option-like text most of the time.
fn json_scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        1 => Just(Value::Null),
        1 => any::<bool>().prop_map(Value::from),
        1 => any::<i64>().prop_map(Value::from),
        1 => any::<u64>().prop_map(Value::from),
        1 => any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        4 => option_text().prop_map(Value::from),
    ]
}

/// An option as Discord sends one (a string, a user, a focused string), or one with any type
/// number, any value or none, and any `focused` flag; groups and subcommands nest them.
fn discord_option(own: Vec<String>) -> impl Strategy<Value = Value> {
    let name = || option_name(own.clone());
    let well_formed = prop_oneof![
        8 => (name(), option_text()).prop_map(|(n, v)| discord::opt(&n, &v)),
        1 => (name(), option_text()).prop_map(|(n, v)| discord::focused(&n, &v)),
        1 => name().prop_map(|n| discord::user_opt(&n, discord::ANN)),
    ];
    let odd = (
        name(),
        prop_oneof![3 => 0i64..=12, 1 => any::<i64>()],
        proptest::option::weighted(0.8, json_scalar()),
        proptest::option::weighted(0.3, any::<bool>()),
    )
        .prop_map(|(name, kind, value, focused)| {
            let mut o = json!({"name": name, "type": kind});
            if let Some(v) = value {
                o["value"] = v;
            }
            if let Some(f) = focused {
                o["focused"] = json!(f);
            }
            o
        });
    let leaf = prop_oneof![9 => well_formed, 1 => odd].boxed();
    // Subcommands and groups as Discord nests them, now and then with another type number.
    let group = |name: BoxedStrategy<String>, inner: BoxedStrategy<Value>| {
        (
            name,
            prop_oneof![4 => Just(1i64), 4 => Just(2i64), 1 => 0i64..=12],
            proptest::collection::vec(inner, 0..4),
        )
            .prop_map(
                |(name, kind, options)| json!({"name": name, "type": kind, "options": options}),
            )
            .boxed()
    };
    let one_deep = group(name().boxed(), leaf.clone());
    let two_deep = group(
        name().boxed(),
        prop_oneof![leaf.clone(), one_deep.clone()].boxed(),
    );
    prop_oneof![16 => leaf, 2 => one_deep, 1 => two_deep]
}

/// A button id: one dealgate writes, one it once wrote, or one made up.
fn custom_id() -> impl Strategy<Value = String> {
    prop_oneof![
        (1u32..5).prop_map(|d| format!("dg1:approve:{d}")),
        (1u32..5).prop_map(|d| format!("dg1:ask:{d}")),
        (
            1u32..5,
            select(vec!["discovery-call", "demo", "nope", "Not An Id"])
        )
            .prop_map(|(d, a)| format!("dg1:log:{d}:{a}")),
        "dg[0-9]{0,3}:[a-z]{0,8}:[0-9]{0,12}(:[a-z-]{0,70}){0,2}",
        option_text(),
    ]
}

/// A slash command, an autocomplete request or a button press, from a member or in a DM.
fn discord_payload() -> impl Strategy<Value = Value> {
    let mut names: Vec<String> = CATALOGUE.iter().map(|s| s.name.to_string()).collect();
    names.extend(
        CATALOGUE
            .iter()
            .filter_map(|s| Some(s.name.split_once(' ')?.0.to_string())),
    );
    let name = prop_oneof![8 => select(names), 1 => any::<String>()];
    let with_options = name.prop_flat_map(|name| {
        let spec = catalogue::find(&name);
        let own = spec
            .map(|spec| spec.options.iter().map(|o| o.name.to_string()).collect())
            .unwrap_or_default();
        let options = match spec {
            Some(spec) => prop_oneof![
                whole_command(spec).boxed(),
                proptest::collection::vec(discord_option(own), 0..6).boxed(),
            ]
            .boxed(),
            None => proptest::collection::vec(discord_option(own), 0..6).boxed(),
        };
        (Just(name), options)
    });
    let id = prop_oneof![3 => 2u64..1_000_000, 1 => any::<u64>()];
    let who = select(vec![discord::BOSS, discord::MIA, discord::ANN]);
    let invocation = (0u8..5, id, who, with_options, custom_id()).prop_map(
        |(kind, id, who, (name, options), custom_id)| match kind {
            0..=2 => discord::command(id, who, &name, options),
            3 => discord::autocomplete(id, who, &name, options),
            _ => discord::press(id, who, &custom_id),
        },
    );
    (invocation, proptest::bool::weighted(0.1))
        .prop_map(|(v, dm)| if dm { discord::in_dm(v) } else { v })
}

// ---- Strategies: any JSON document, mutated ----

/// How to change one node of a document: replace it, or drop it from its object or array.
#[derive(Debug, Clone)]
enum Mutation {
    Replace(Index, Value),
    Drop(Index),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let replacement = prop_oneof![
        4 => json_scalar(),
        1 => proptest::collection::vec(json_scalar(), 0..3).prop_map(Value::from),
        1 => Just(json!({})),
    ];
    prop_oneof![
        3 => (any::<Index>(), replacement).prop_map(|(at, v)| Mutation::Replace(at, v)),
        1 => any::<Index>().prop_map(Mutation::Drop),
    ]
}

/// `base` as it is, or with one or two of its nodes replaced or dropped.
fn mutated(base: impl Strategy<Value = Value>) -> impl Strategy<Value = Value> {
    (
        base,
        prop_oneof![
            2 => Just(Vec::new()),
            1 => proptest::collection::vec(mutation(), 1..3),
        ],
    )
        .prop_map(|(mut doc, mutations)| {
            for m in mutations {
                apply(&mut doc, m);
            }
            doc
        })
}

/// The JSON pointer of every node below the root, parents before children.
fn pointers(v: &Value, at: &str, out: &mut Vec<String>) {
    let children: Vec<(String, &Value)> = match v {
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| (k.replace('~', "~0").replace('/', "~1"), v))
            .collect(),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, v)| (i.to_string(), v))
            .collect(),
        _ => return,
    };
    for (key, child) in children {
        let here = format!("{at}/{key}");
        out.push(here.clone());
        pointers(child, &here, out);
    }
}

fn apply(doc: &mut Value, m: Mutation) {
    let mut all = Vec::new();
    pointers(doc, "", &mut all);
    if all.is_empty() {
        return;
    }
    let (Mutation::Replace(at, _) | Mutation::Drop(at)) = &m;
    let target = all[at.index(all.len())].clone();
    match m {
        Mutation::Replace(_, value) => {
            if let Some(node) = doc.pointer_mut(&target) {
                *node = value;
            }
        }
        Mutation::Drop(_) => {
            let (parent, last) = target.rsplit_once('/').expect("a pointer below the root");
            let last = last.replace("~1", "/").replace("~0", "~");
            match doc.pointer_mut(parent) {
                Some(Value::Object(map)) => {
                    map.remove(&last);
                }
                Some(Value::Array(items)) => {
                    if let Ok(i) = last.parse::<usize>() {
                        items.remove(i);
                    }
                }
                _ => {}
            }
        }
    }
}

/// A body as bytes: the document's JSON, now and then cut short or with a byte changed.
fn body_of(doc: impl Strategy<Value = Value>) -> impl Strategy<Value = Body> {
    (
        doc,
        proptest::option::weighted(0.05, any::<Index>()),
        proptest::option::weighted(0.05, (any::<Index>(), any::<u8>())),
    )
        .prop_map(|(doc, cut, flip)| {
            let mut body = serde_json::to_vec(&doc).expect("JSON");
            if let Some(cut) = cut {
                body.truncate(cut.index(body.len() + 1));
            }
            if let Some((at, byte)) = flip
                && !body.is_empty()
            {
                let at = at.index(body.len());
                body[at] = byte;
            }
            Body(body)
        })
}

// ---- Pure decoding: what the Discord endpoint does before it touches the database ----

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    /// `serde_json` → `options::read` → `build`, and `Press::decode` for buttons: whatever
    /// decodes is read and built into a command or refused with words.
    #[test]
    fn discord_payloads_decode_and_build_or_are_refused_without_panicking(
        body in body_of(mutated(discord_payload()))
    ) {
        let Body(body) = body;
        let Ok(interaction) = serde_json::from_slice::<Interaction>(&body) else {
            return Ok(());
        };
        match interaction {
            Interaction::Command(cmd) | Interaction::Autocomplete(cmd) => {
                match options::read(&cmd.data) {
                    Ok(invocation) => {
                        prop_assert!(invocation.args.len() <= count_options(&body));
                        if let Err(e) = build(invocation.spec, &invocation.args) {
                            prop_assert!(!e.to_string().trim().is_empty());
                        }
                    }
                    Err(e) => prop_assert!(!e.to_string().trim().is_empty()),
                }
            }
            Interaction::Component(press) => {
                if let Err(e) = Press::decode(&press.data.custom_id) {
                    prop_assert!(!e.to_string().trim().is_empty());
                }
            }
            _ => {}
        }
    }
}

/// How many option objects the body holds at any depth: `read` cannot make up more.
fn count_options(body: &[u8]) -> usize {
    fn count(v: &Value) -> usize {
        match v {
            Value::Object(map) => {
                let own = map
                    .get("options")
                    .and_then(Value::as_array)
                    .map_or(0, Vec::len);
                own + map.values().map(count).sum::<usize>()
            }
            Value::Array(items) => items.iter().map(count).sum(),
            _ => 0,
        }
    }
    serde_json::from_slice(body).map_or(usize::MAX, |v| count(&v))
}

// ---- Running proptest inside an async test ----

/// Runs `cases` cases of `strategy` through `check`, on this multi-threaded test runtime, with
/// proptest's shrinking; panics with the smallest failing input.
fn run_cases<S, C, Fut>(cases: u32, strategy: S, check: C)
where
    S: Strategy,
    S::Value: Debug,
    C: Fn(S::Value) -> Fut,
    Fut: Future<Output = Result<(), TestCaseError>>,
{
    let handle = tokio::runtime::Handle::current();
    tokio::task::block_in_place(|| {
        let mut runner = TestRunner::new(Config {
            cases,
            // Shrinking over HTTP and a database is slow; a few hundred steps find a small case.
            max_shrink_iters: 256,
            failure_persistence: None,
            ..Config::default()
        });
        if let Err(e) = runner.run(&strategy, |input| handle.block_on(check(input))) {
            panic!("{e}");
        }
    });
}

// ---- The Discord endpoint ----

on_both_backends!(
    multi_thread: discord_endpoint_answers_any_signed_payload_with_an_interaction_response_or_a_400,
    slack_command_endpoint_answers_any_signed_body_with_blocks_or_a_400,
    slack_interactivity_endpoint_acknowledges_any_signed_body_or_refuses_it_with_a_400,
);

/// Cases per endpoint property and backend: each is a signed request through HTTP and, when it
/// builds a command, a transaction; about a second per property on SQLite in a debug build.
const CASES: u32 = 128;

/// The answer types Discord accepts: pong, message, deferred message, autocomplete choices.
const RESPONSE_TYPES: [u64; 4] = [1, 4, 5, 8];

async fn discord_endpoint_answers_any_signed_payload_with_an_interaction_response_or_a_400(
    app: support::TestApp,
) {
    let ep = discord::Endpoint::on(app).await;
    // deal-1 exists, so commands naming it reach the service's checks and not only "no deal".
    let created = ep
        .reply(&discord::command(
            1,
            discord::BOSS,
            "deal new",
            vec![
                discord::opt("name", "Acme Rollout"),
                discord::opt("amount", "50000"),
                discord::opt("close", "2030-06-30"),
            ],
        ))
        .await;
    assert_eq!(discord::title(&created), "Created deal-1 · Acme Rollout");
    let ep = &ep;
    run_cases(
        CASES,
        body_of(mutated(discord_payload())),
        |Body(body)| async move {
            let ts = ep.timestamp();
            let signature = discord::sign(&ep.key, &ts, &body);
            let understood = serde_json::from_slice::<Interaction>(&body).is_ok();
            let too_large = body.len() > MAX_BODY;
            let res = ep
                .post_raw(
                    body,
                    &[
                        ("x-signature-ed25519", signature),
                        ("x-signature-timestamp", ts),
                    ],
                )
                .await;
            let status = res.status().as_u16();
            let text = res.text().await.unwrap_or_default();
            // A few option values of thousands of four-byte characters can pass the limit.
            if too_large {
                prop_assert_eq!(status, 413, "{}", text);
                return Ok(());
            }
            if !understood {
                prop_assert_eq!(status, 400, "{}", text);
                return Ok(());
            }
            prop_assert_eq!(status, 200, "{}", text);
            let answer: Value = serde_json::from_str(&text)
                .map_err(|e| TestCaseError::fail(format!("answer is not JSON ({e}): {text}")))?;
            let kind = answer["type"].as_u64().unwrap_or_default();
            prop_assert!(RESPONSE_TYPES.contains(&kind), "{}", answer);
            Ok(())
        },
    );
}

// ---- The Slack endpoints ----

/// What Slack sends to `/slack/commands`: a slash command's form with text made of command
/// pieces, any field changed or dropped, now and then arbitrary bytes.
fn slack_command_body(ep: &slack::SlackEndpoint) -> impl Strategy<Value = Body> + use<> {
    let mut commands: Vec<String> = CATALOGUE
        .iter()
        .map(|s| format!("/{}", s.name.split(' ').next().unwrap_or(s.name)))
        .collect();
    commands.push("/dealgate".to_string());
    let words = || proptest::collection::vec(option_text(), 0..4).prop_map(|w| w.join(" "));
    // Mostly a whole command typed positionally, as a person would, then a few stray words.
    let typed = select(CATALOGUE.iter().collect::<Vec<_>>()).prop_flat_map(move |spec| {
        let values = spec
            .options
            .iter()
            .map(|o| {
                (any::<bool>(), typed_value(o.kind)).prop_map(move |(given, v)| {
                    (given || o.required).then(|| {
                        if v.contains(char::is_whitespace) {
                            format!("\"{v}\"")
                        } else {
                            v
                        }
                    })
                })
            })
            .collect::<Vec<_>>();
        (Just(spec), values, proptest::option::weighted(0.2, words()))
    });
    let slash = prop_oneof![
        3 => typed.prop_map(|(spec, values, stray)| {
            let (command, sub) = spec.name.split_once(' ').unwrap_or((spec.name, ""));
            let mut text: Vec<String> = vec![sub.to_string()];
            text.extend(values.into_iter().flatten());
            text.extend(stray);
            (format!("/{command}"), text.join(" ").trim().to_string())
        }),
        1 => (select(commands), words()),
    ];
    // The response URL stays the fake Slack's, so slow answers go nowhere outside the test.
    let response_url = ep.fake.response_url("commands/fuzz");
    let form = (
        slash,
        select(vec![slack::BOSS, slack::MIA, slack::ANN]),
        "[0-9a-f.]{0,24}",
        prop_oneof![
            7 => Just(Vec::new()),
            1 => proptest::collection::vec(
                (
                    select(vec!["team_id", "user_id", "user_name", "command", "text", "trigger_id", "ssl_check", "x"]),
                    proptest::option::of(option_text()),
                ),
                1..3,
            ),
        ],
    )
        .prop_map(move |((command, text), who, trigger, changes)| {
            let mut fields: Vec<(String, String)> = vec![
                ("team_id".into(), slack::TEAM.into()),
                ("team_domain".into(), "acme".into()),
                ("channel_id".into(), slack::CHANNEL.into()),
                ("user_id".into(), who.id.into()),
                ("user_name".into(), who.name.into()),
                ("command".into(), command),
                ("text".into(), text),
                ("response_url".into(), response_url.clone()),
                ("trigger_id".into(), trigger),
            ];
            for (field, value) in changes {
                fields.retain(|(k, _)| k != field);
                if let Some(v) = value {
                    fields.push((field.to_string(), v));
                }
            }
            serde_urlencoded::to_string(&fields).expect("a form").into_bytes()
        });
    prop_oneof![
        8 => form.prop_map(Body),
        1 => proptest::collection::vec(any::<u8>(), 0..256).prop_map(Body),
        1 => "[a-z_]{1,10}=[%&=+a-zA-Z0-9]{0,40}(&[a-z_]{1,10}=[%&=+a-zA-Z0-9]{0,40}){0,4}"
            .prop_map(|s| Body(s.into_bytes())),
    ]
}

async fn slack_command_endpoint_answers_any_signed_body_with_blocks_or_a_400(
    app: support::TestApp,
) {
    let ep = slack::SlackEndpoint::start(app).await;
    let created = ep
        .command(
            slack::BOSS,
            "/deal",
            "new \"Acme Rollout\" 50000 2030-06-30",
        )
        .await;
    assert_eq!(slack::title(&created), "Created deal-1 · Acme Rollout");
    let strategy = slack_command_body(&ep);
    let ep = &ep;
    run_cases(CASES, strategy, |Body(body)| async move {
        let ts = ep.timestamp();
        let headers = [
            ("x-slack-request-timestamp", ts.clone()),
            ("x-slack-signature", ep.secret.sign(&ts, &body)),
        ];
        let too_large = body.len() > MAX_BODY;
        let (status, text) = ep.post_raw("/slack/commands", body, &headers).await;
        if too_large {
            prop_assert_eq!(status, 413, "{}", text);
            return Ok(());
        }
        prop_assert!(status == 200 || status == 400, "{} {}", status, text);
        if status == 200 && !text.is_empty() {
            let answer: Value = serde_json::from_str(&text)
                .map_err(|e| TestCaseError::fail(format!("answer is not JSON ({e}): {text}")))?;
            prop_assert!(answer["blocks"].is_array(), "{}", answer);
        }
        Ok(())
    });
}

/// A `block_actions` payload as the support builds one, its JSON mutated, in the form Slack
/// posts; now and then arbitrary bytes.
fn slack_press_body(ep: &slack::SlackEndpoint) -> impl Strategy<Value = Body> + use<> {
    let bodies: Vec<String> = (0..8)
        .map(|i| ep.press_body(slack::BOSS, "dg1:approve:1", &format!("fuzz.{i}")))
        .collect();
    let payloads: Vec<Value> = bodies
        .iter()
        .map(|b| {
            let form: Vec<(String, String)> = serde_urlencoded::from_str(b).expect("a form");
            serde_json::from_str(&form[0].1).expect("a payload")
        })
        .collect();
    let response_url = ep.fake.response_url("actions/fuzz");
    let payload = (select(payloads), custom_id()).prop_map(|(mut p, value)| {
        p["actions"][0]["value"] = json!(value);
        p
    });
    let form = (mutated(payload), proptest::bool::weighted(0.1)).prop_map(move |(mut p, raw)| {
        // The answer goes to the response URL; a mutated one must not leave the machine.
        if p.get("response_url").is_some_and(Value::is_string) {
            p["response_url"] = json!(response_url);
        } else if let Some(map) = p.as_object_mut() {
            map.remove("response_url");
        }
        let text = if raw {
            p.to_string().replace('"', "")
        } else {
            p.to_string()
        };
        serde_urlencoded::to_string([("payload", text)])
            .expect("a form")
            .into_bytes()
    });
    prop_oneof![
        8 => form.prop_map(Body),
        1 => proptest::collection::vec(any::<u8>(), 0..256).prop_map(Body),
        1 => "payload=[%{}\\[\\]\":,a-z0-9]{0,80}".prop_map(|s| Body(s.into_bytes())),
    ]
}

async fn slack_interactivity_endpoint_acknowledges_any_signed_body_or_refuses_it_with_a_400(
    app: support::TestApp,
) {
    let ep = slack::SlackEndpoint::start(app).await;
    let created = ep
        .command(
            slack::BOSS,
            "/deal",
            "new \"Acme Rollout\" 50000 2030-06-30",
        )
        .await;
    assert_eq!(slack::title(&created), "Created deal-1 · Acme Rollout");
    // The endpoint runs a press in a task of its own, where a panic would go unseen; the same
    // payload through a dispatcher here would fail the test.
    let service = Arc::new(ep.app.service.with_clock(ep.app.clock.clone()));
    let dispatcher = dealgate::chat::slack::dispatch::Dispatcher::new(service);
    let strategy = slack_press_body(&ep);
    let (ep, dispatcher) = (&ep, &dispatcher);
    run_cases(CASES, strategy, |Body(body)| async move {
        let ts = ep.timestamp();
        let headers = [
            ("x-slack-request-timestamp", ts.clone()),
            ("x-slack-signature", ep.secret.sign(&ts, &body)),
        ];
        let payload = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body)
            .ok()
            .and_then(|form| form.into_iter().find(|(k, _)| k == "payload"))
            .and_then(|(_, p)| serde_json::from_str(&p).ok());
        let (status, text) = ep
            .post_raw("/slack/interactivity", body.clone(), &headers)
            .await;
        if body.len() > MAX_BODY {
            prop_assert_eq!(status, 413, "{}", text);
        } else {
            prop_assert!(status == 200 || status == 400, "{} {}", status, text);
        }
        if let Some(payload) = payload
            && let Some((_, answer)) = dispatcher.press(payload, &body).await
        {
            prop_assert!(
                answer["blocks"].is_array() || answer["text"].is_string(),
                "{}",
                answer
            );
        }
        Ok(())
    });
}
