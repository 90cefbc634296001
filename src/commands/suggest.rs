//! Suggestions for the option a person is typing (autocomplete), whatever the platform: which
//! service suggestion an option gets follows from the catalogue (its kind, and for stages which
//! way the command moves a deal).

use super::catalogue::{CommandSpec, OptionKind};
use crate::engine::ids::DealNumber;
use crate::service::{Caller, Choice, Service, StageDirection};

/// The option being typed and what the invocation holds so far.
#[derive(Debug, Clone, Copy)]
pub struct Suggest<'a> {
    pub spec: &'static CommandSpec,
    /// The option's name in the catalogue.
    pub option: &'a str,
    pub typed: &'a str,
    /// Option name → raw value of the options given so far.
    pub args: &'a [(String, String)],
}

/// Suggestions for `what`, best first; none for an option that takes free text, and none when
/// they cannot be worked out (a failure is logged: typing goes on without suggestions).
pub async fn suggestions(service: &Service, caller: &Caller, what: Suggest<'_>) -> Vec<Choice> {
    let Some(option) = what.spec.option(what.option) else {
        return Vec::new();
    };
    let deal = what
        .args
        .iter()
        .find(|(n, _)| n == "deal")
        .and_then(|(_, v)| v.parse::<DealNumber>().ok());
    let typed = what.typed;
    let suggested = async {
        let session = service.session(caller).await?;
        match option.kind {
            OptionKind::Deal => service.suggest_deals(&session, typed).await,
            OptionKind::Activity => service.suggest_activities(&session, deal, typed).await,
            OptionKind::Stage => {
                let direction = match what.spec.name {
                    "advance" => StageDirection::Ahead,
                    "back" => StageDirection::Behind,
                    "deal new" => StageDirection::Open,
                    _ => StageDirection::Any,
                };
                service
                    .suggest_stages(&session, deal, direction, typed)
                    .await
            }
            OptionKind::Field => Ok(service.suggest_fields(&session, typed)),
            _ => Ok(Vec::new()),
        }
    };
    suggested.await.unwrap_or_else(|e| {
        tracing::warn!(error = ?e, "autocomplete failed");
        Vec::new()
    })
}
