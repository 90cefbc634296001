//! Any bytes as the body of a signed Discord interaction: what the endpoint decodes before it
//! reaches the database (JSON → options → command, or a button's id) never panics.

#![no_main]

use dealgate::chat::discord::custom_id::Press;
use dealgate::chat::discord::options;
use dealgate::commands::parse::build;
use libfuzzer_sys::fuzz_target;
use serenity::all::Interaction;

fuzz_target!(|body: &[u8]| {
    let Ok(interaction) = serde_json::from_slice::<Interaction>(body) else {
        return;
    };
    match interaction {
        Interaction::Command(cmd) | Interaction::Autocomplete(cmd) => {
            match options::read(&cmd.data) {
                Ok(invocation) => {
                    if let Err(e) = build(invocation.spec, &invocation.args) {
                        assert!(!e.to_string().trim().is_empty(), "{e:?}");
                    }
                }
                Err(e) => assert!(!e.to_string().trim().is_empty(), "{e:?}"),
            }
        }
        Interaction::Component(press) => {
            let _ = Press::decode(&press.data.custom_id);
        }
        _ => {}
    }
});
