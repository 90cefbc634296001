//! What a button does when pressed, typed: replies carry presses, and the adapters encode them
//! as Discord's `custom_id` or the `value` of a Slack button. A button's value comes back verbatim when it is pressed, from whoever pressed it, so
//! it is parsed as untrusted input: a version, a kind from a short list, and values that must
//! parse. Pressing a button does what the matching command does, as the presser, with the
//! service's authorization; a made-up value can therefore do no more than the presser could
//! type, and one that does not parse is refused without doing anything.
//!
//! ```text
//! dg1:log:42:discovery-call   → /log deal-42 discovery-call
//! dg1:ask:42                  → ask the owner's manager to approve deal-42
//! dg1:approve:42              → /approve deal-42
//! dg1:calibrate               → /playbook calibrate propose:yes
//! ```

use crate::engine::ids::{ActivityId, DealNumber};

/// The current version. Bump it when the meaning of an id changes; older ids then get the
/// "stale" refusal instead of doing something their message no longer says.
const VERSION: &str = "dg1";

/// What pressing a button asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Press {
    Log {
        deal: DealNumber,
        activity: ActivityId,
    },
    /// Ask the deal owner's manager to approve it.
    AskApproval {
        deal: DealNumber,
    },
    Approve {
        deal: DealNumber,
    },
    /// Apply a previewed playbook change.
    ConfirmPlaybook {
        draft: i64,
    },
    /// Preview the probabilities `/playbook calibrate` suggests as a playbook change.
    ProposeCalibration,
    /// "Got it": the presser has read playbook `version` of `workspace` (its id on the
    /// platform, which a press in a direct message has no other way to know).
    Acknowledge {
        workspace: String,
        version: i64,
    },
}

/// Why a pressed id is refused; the text is the (ephemeral) reply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadId {
    #[error(
        "This button comes from an older version of dealgate and no longer works. Nothing was \
         done; run the command instead (the `help` command lists them)."
    )]
    Stale,
    #[error("dealgate did not make this button, so it did nothing.")]
    Forged,
}

impl Press {
    pub fn encode(&self) -> String {
        match self {
            Self::Log { deal, activity } => format!("{VERSION}:log:{}:{activity}", deal.get()),
            Self::AskApproval { deal } => format!("{VERSION}:ask:{}", deal.get()),
            Self::Approve { deal } => format!("{VERSION}:approve:{}", deal.get()),
            Self::ConfirmPlaybook { draft } => format!("{VERSION}:playbook:{draft}"),
            Self::ProposeCalibration => format!("{VERSION}:calibrate"),
            Self::Acknowledge { workspace, version } => {
                format!("{VERSION}:ack:{version}:{workspace}")
            }
        }
    }

    pub fn decode(id: &str) -> Result<Self, BadId> {
        let mut parts = id.split(':');
        let version = parts.next().unwrap_or_default();
        if version != VERSION {
            let older = version
                .strip_prefix("dg")
                .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()));
            return Err(if older { BadId::Stale } else { BadId::Forged });
        }
        let kind = parts.next().unwrap_or_default();
        let number = |part: Option<&str>| {
            part.filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|n| n.parse::<i64>().ok())
                .filter(|n| *n > 0)
                .ok_or(BadId::Forged)
        };
        let not_by_deal = match kind {
            "calibrate" => Some(Self::ProposeCalibration),
            "playbook" => Some(Self::ConfirmPlaybook {
                draft: number(parts.next())?,
            }),
            "ack" => {
                let version = number(parts.next())?;
                let workspace = parts
                    .next()
                    .filter(|w| is_workspace_id(w))
                    .ok_or(BadId::Forged)?;
                Some(Self::Acknowledge {
                    workspace: workspace.to_string(),
                    version,
                })
            }
            _ => None,
        };
        if let Some(press) = not_by_deal {
            if parts.next().is_some() {
                return Err(BadId::Forged);
            }
            return Ok(press);
        }
        let deal: DealNumber = parts
            .next()
            .and_then(|n| n.parse::<u32>().ok())
            .and_then(DealNumber::new)
            .ok_or(BadId::Forged)?;
        let press = match kind {
            "log" => Self::Log {
                deal,
                activity: parts
                    .next()
                    .and_then(|a| a.parse().ok())
                    .ok_or(BadId::Forged)?,
            },
            "ask" => Self::AskApproval { deal },
            "approve" => Self::Approve { deal },
            _ => return Err(BadId::Forged),
        };
        if parts.next().is_some() {
            return Err(BadId::Forged);
        }
        Ok(press)
    }

    /// The command line a press stands for, as the console shows a button. Asking for approval
    /// reads as the `/approve` the manager will type.
    pub fn command_line(&self) -> String {
        match self {
            Self::Log { deal, activity } => format!("/log {deal} {activity}"),
            Self::AskApproval { deal } | Self::Approve { deal } => format!("/approve {deal}"),
            Self::ConfirmPlaybook { draft } => format!("/playbook confirm {draft}"),
            Self::ProposeCalibration => "/playbook calibrate propose:yes".to_string(),
            Self::Acknowledge { version, .. } => format!("/playbook ack {version}"),
        }
    }
}

/// A workspace id as platforms make them: a Discord snowflake, a Slack team id, a console
/// workspace name. Nothing else is taken from a button.
fn is_workspace_id(text: &str) -> bool {
    (1..=64).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deal(n: u32) -> DealNumber {
        DealNumber::new(n).unwrap()
    }

    #[test]
    fn every_press_round_trips_and_fits_discords_hundred_characters() {
        let presses = [
            Press::ProposeCalibration,
            Press::Log {
                deal: deal(42),
                activity: "a".repeat(64).parse().unwrap(),
            },
            Press::AskApproval {
                deal: deal(u32::MAX),
            },
            Press::Approve { deal: deal(7) },
            Press::ConfirmPlaybook { draft: i64::MAX },
            Press::Acknowledge {
                workspace: "w".repeat(64),
                version: i64::MAX,
            },
            Press::Acknowledge {
                workspace: "81384788765712384".into(),
                version: 2,
            },
        ];
        for p in presses {
            let id = p.encode();
            assert!(id.len() <= 100, "{id}");
            assert_eq!(Press::decode(&id), Ok(p));
        }
    }

    #[test]
    fn an_older_version_is_stale_and_anything_else_is_forged() {
        assert_eq!(Press::decode("dg0:log:42:demo"), Err(BadId::Stale));
        for id in [
            "",
            "dg1",
            "dg1:log:42",
            "dg1:log:0:demo",
            "dg1:log:x:demo",
            "dg1:log:42:Not An Id",
            "dg1:delete:42",
            "dg1:approve:42:extra",
            "dg1:playbook:0",
            "dg1:playbook:-3",
            "dg1:playbook:+3",
            "dg1:playbook:3:extra",
            "dg1:ack:2",
            "dg1:ack:0:T024",
            "dg1:ack:2:T 024",
            "dg1:ack:2:T024:extra",
            "dgx:approve:42",
            "/advance deal-42",
        ] {
            assert_eq!(Press::decode(id), Err(BadId::Forged), "{id}");
        }
    }

    #[test]
    fn a_press_reads_as_the_command_it_stands_for() {
        let log = Press::Log {
            deal: deal(42),
            activity: "discovery-call".parse().unwrap(),
        };
        assert_eq!(log.command_line(), "/log deal-42 discovery-call");
        assert_eq!(
            Press::AskApproval { deal: deal(42) }.command_line(),
            "/approve deal-42"
        );
    }

    /// A valid id with one of its parts replaced, dropped or repeated, or cut anywhere.
    fn mutated_id() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let part = prop_oneof![
            Just("dg1".to_string()),
            Just("dg0".to_string()),
            Just("log".to_string()),
            Just("ask".to_string()),
            Just("approve".to_string()),
            Just("42".to_string()),
            Just("0".to_string()),
            Just("4294967296".to_string()),
            Just("discovery-call".to_string()),
            Just(String::new()),
            "[a-z0-9-]{1,70}",
            any::<String>(),
        ];
        prop_oneof![
            proptest::collection::vec(part, 0..6).prop_map(|parts| parts.join(":")),
            (any::<String>(), any::<proptest::sample::Index>()).prop_map(|(tail, cut)| {
                let id = format!("dg1:log:42:discovery-call{tail}");
                let at = cut.index(id.len() + 1);
                id.get(..at).unwrap_or(&id).to_string()
            }),
        ]
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(1024))]

        /// Whatever comes back as a button's value, decoding it gives a press that survives
        /// its own round trip (so it fits in an id), or a refusal with words; never a panic.
        #[test]
        fn decode_gives_a_press_that_round_trips_or_a_refusal(
            id in proptest::prop_oneof![mutated_id(), proptest::prelude::any::<String>()]
        ) {
            match Press::decode(&id) {
                Ok(press) => {
                    let again = press.encode();
                    proptest::prop_assert!(again.len() <= 100, "{again}");
                    proptest::prop_assert_eq!(Press::decode(&again), Ok(press));
                }
                Err(e) => proptest::prop_assert!(!e.to_string().is_empty()),
            }
        }
    }
}
