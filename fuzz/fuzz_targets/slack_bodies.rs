//! Any bytes as the body of a signed Slack request, to either endpoint: the slash command's
//! form and its line, or the interactivity form's JSON payload and its button value.

#![no_main]

use dealgate::chat::discord::custom_id::Press;
use dealgate::chat::slack::dispatch::{Interaction, SlashCommand, unescape};
use dealgate::commands::parse::parse_line;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    if let Ok(cmd) = serde_urlencoded::from_bytes::<SlashCommand>(body) {
        let line = format!(
            "{} {}",
            cmd.command.trim_start_matches('/'),
            unescape(&cmd.text)
        );
        if let Err(e) = parse_line(&line) {
            assert!(!e.to_string().trim().is_empty(), "{e:?}");
        }
    }
    let payload = serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
        .ok()
        .and_then(|form| form.into_iter().find(|(k, _)| k == "payload"));
    if let Some((_, payload)) = payload
        && let Ok(interaction) = serde_json::from_str::<Interaction>(&payload)
        && let Some(action) = interaction.actions.first()
    {
        let _ = Press::decode(&action.value);
    }
});
