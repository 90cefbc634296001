//! The command catalogue as data: one variant per thing a person can ask dealgate to do, and
//! everything about a variant that is not its catalogue entry, in one place: how it is built from
//! its parsed options (`from_args`), what it runs and how the answer is worded (`run`), whether it
//! changes something or is slow, its name, and the command line `Display` writes back.
//!
//! A new command touches four files besides its tests: its entry in `catalogue.rs`; here, the
//! variant and one arm in each match (the exhaustive ones do not compile until they have it, and
//! the catalogue tests parse every entry's example through `from_args`); the service use case it
//! calls; its reply builder. README.md's command list says it to people.

use std::fmt;

use chrono::{NaiveDate, NaiveTime};
use chrono_tz::Tz;

use super::args::Args;
use super::digest_replies;
use super::error::ParseError;
use super::error::ValueProblem;
use super::playbook_replies;
use super::press::Press;
use super::replies;
use super::reply::Reply;
use super::tokenize::quote_if_needed;
use super::truth_replies;
use super::values::field_value;
use crate::engine::ids::{ActivityId, DealNumber, FieldName, Money, StageId};
use crate::engine::playbook::Role;
use crate::engine::truth::movement::BucketName;
use crate::service::{Service, ServiceError, Session, known_stage};

/// A parsed invocation. Every value is already valid in form (a real date, a positive amount,
/// a well-formed id); whether the deal, stage or member exists is for the service to say.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// `/deal new name amount close [owner] [stage]`
    DealNew {
        name: String,
        amount: Money,
        close: NaiveDate,
        owner: Option<UserRef>,
        stage: Option<StageId>,
    },
    /// `/deal show deal`
    DealShow {
        deal: DealNumber,
    },
    /// `/deal list [owner] [stage]`
    DealList {
        owner: Option<UserRef>,
        stage: Option<StageId>,
    },
    /// `/deal set deal field value`
    DealSet {
        deal: DealNumber,
        field: FieldName,
        value: String,
    },
    /// `/log deal activity [note]`
    Log {
        deal: DealNumber,
        activity: ActivityId,
        note: Option<String>,
    },
    /// `/advance deal [to] [override]`: `override` is the reason for passing unmet gates.
    Advance {
        deal: DealNumber,
        to: Option<StageId>,
        override_reason: Option<String>,
    },
    /// `/back deal to reason`
    Back {
        deal: DealNumber,
        to: StageId,
        reason: String,
    },
    /// `/approve deal [note]`
    Approve {
        deal: DealNumber,
        note: Option<String>,
    },
    /// `/won deal [override]`: `override` is the reason for passing unmet gates.
    Won {
        deal: DealNumber,
        override_reason: Option<String>,
    },
    /// `/lost deal reason`
    Lost {
        deal: DealNumber,
        reason: String,
    },
    /// `/playbook show [stage]` (`/playbook [stage]` in the console and on Slack)
    Playbook {
        stage: Option<StageId>,
    },
    /// `/playbook history`
    PlaybookHistory,
    /// `/playbook update file reason [map]` (admins): a preview, nothing changes yet.
    PlaybookUpdate {
        file: ProposedFile,
        reason: String,
        map: Option<String>,
    },
    /// `/playbook confirm preview` (admins)
    PlaybookConfirm {
        preview: i64,
    },
    /// `/playbook ack [version]`, and the change notice's "Got it"
    PlaybookAck {
        version: Option<i64>,
    },
    /// `/playbook acks` (managers)
    PlaybookAcks,
    /// `/playbook calibrate` (managers)
    /// `/playbook calibrate [propose]`: with `propose`, the suggestion as a playbook change.
    PlaybookCalibrate {
        propose: bool,
    },
    /// `/playbook evidence [stage]`
    PlaybookEvidence {
        stage: Option<StageId>,
    },
    /// `/coach [rep] [period]` (managers)
    Coach {
        rep: Option<UserRef>,
        period: Option<PeriodSpec>,
    },
    /// `/forecast show [period] [owner]` (also `/forecast [period] [owner]`)
    Forecast {
        period: Option<PeriodSpec>,
        owner: Option<UserRef>,
    },
    /// `/forecast accuracy [period] [owner]`
    ForecastAccuracy {
        period: Option<PeriodSpec>,
        owner: Option<UserRef>,
    },
    /// `/forecast changes [since] [owner] [list]`
    ForecastChanges {
        since: Option<NaiveDate>,
        owner: Option<UserRef>,
        list: Option<BucketName>,
    },
    /// `/team set user role [manager]`
    TeamSet {
        user: UserRef,
        role: Role,
        manager: Option<UserRef>,
    },
    /// `/team list`
    TeamVisibility {
        open: bool,
    },
    TeamList,
    /// `/digest setup channel time timezone [weekdays-only] [fiscal-start]` (admins)
    DigestSetup {
        channel: String,
        time: NaiveTime,
        timezone: Tz,
        weekdays_only: Option<bool>,
        /// The fiscal year's first month; `None` keeps the one set before (January at first).
        fiscal_start: Option<chrono::Month>,
    },
    /// `/digest preview`
    DigestPreview,
    /// `/nudges setup time [to-reps] [repeat-days]` (admins)
    NudgesSetup {
        time: NaiveTime,
        to_reps: Option<bool>,
        /// Days before the same nudge may come again; `None` keeps the one set before.
        repeat_days: Option<u32>,
        /// Days after a playbook change before the nudges remind who has not acknowledged it;
        /// `None` keeps the one set before.
        ack_days: Option<u32>,
    },
    /// `/nudges snooze deal days reason`
    NudgesSnooze {
        deal: DealNumber,
        days: u32,
        reason: String,
    },
    /// `/help [command]`
    Help {
        command: Option<String>,
    },
}

/// The largest file a command takes (a playbook), in bytes.
pub const MAX_FILE_BYTES: usize = crate::service::MAX_PLAYBOOK_BYTES;

/// What a person is told about a file over `MAX_FILE_BYTES`.
pub fn file_too_large(name: &str) -> String {
    crate::service::too_large(name).to_string()
}

/// The file a `/playbook update` names: a path (the console), or a file the adapter fetched
/// from the platform (a Discord attachment).
#[derive(Debug, Clone, PartialEq)]
pub enum ProposedFile {
    Path(String),
    Attached {
        name: String,
        bytes: std::sync::Arc<[u8]>,
    },
}

impl fmt::Display for ProposedFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Path(path) => f.write_str(path),
            Self::Attached { name, .. } => f.write_str(name),
        }
    }
}

impl Command {
    /// The command with the file its `file` option names replaced by what the adapter fetched.
    pub fn with_attachment(self, name: String, bytes: Vec<u8>) -> Self {
        match self {
            Self::PlaybookUpdate { reason, map, .. } => Self::PlaybookUpdate {
                file: ProposedFile::Attached {
                    name,
                    bytes: bytes.into(),
                },
                reason,
                map,
            },
            other => other,
        }
    }
}

// These are the service's and the engine's input types; the command layer names them too.
pub use crate::engine::forecast::PeriodSpec;
pub use crate::service::{UserRef, limits};

impl Command {
    /// Builds the command its arguments were given to, taking each option's value by name.
    /// The catalogue tests parse every entry's example, so an entry without a case here fails
    /// them; in a chat handler it is refused as unknown rather than a panic.
    pub(super) fn from_args(mut args: Args) -> Result<Self, ParseError> {
        let v = &mut args;
        Ok(match v.spec().name {
            "deal new" => Self::DealNew {
                name: v.req("name")?,
                amount: v.req("amount")?,
                close: v.req("close")?,
                owner: v.opt("owner"),
                stage: v.opt("stage"),
            },
            "deal show" => Self::DealShow {
                deal: v.req("deal")?,
            },
            "deal list" => Self::DealList {
                owner: v.opt("owner"),
                stage: v.opt("stage"),
            },
            "deal set" => Self::DealSet {
                deal: v.req("deal")?,
                field: v.req("field")?,
                value: v.req("value")?,
            },
            "log" => Self::Log {
                deal: v.req("deal")?,
                activity: v.req("activity")?,
                note: v.opt("note"),
            },
            "advance" => Self::Advance {
                deal: v.req("deal")?,
                to: v.opt("to"),
                override_reason: v.opt("override"),
            },
            "back" => Self::Back {
                deal: v.req("deal")?,
                to: v.req("to")?,
                reason: v.req("reason")?,
            },
            "approve" => Self::Approve {
                deal: v.req("deal")?,
                note: v.opt("note"),
            },
            "won" => Self::Won {
                deal: v.req("deal")?,
                override_reason: v.opt("override"),
            },
            "lost" => Self::Lost {
                deal: v.req("deal")?,
                reason: v.req("reason")?,
            },
            "playbook show" => Self::Playbook {
                stage: v.opt("stage"),
            },
            "playbook history" => Self::PlaybookHistory,
            "playbook update" => Self::PlaybookUpdate {
                file: ProposedFile::Path(v.req("file")?),
                reason: v.req("reason")?,
                map: v.opt("map"),
            },
            "playbook confirm" => Self::PlaybookConfirm {
                preview: v.req("preview")?,
            },
            "playbook ack" => Self::PlaybookAck {
                version: v.opt("version"),
            },
            "playbook acks" => Self::PlaybookAcks,
            "playbook calibrate" => Self::PlaybookCalibrate {
                propose: v.opt("propose").unwrap_or(false),
            },
            "playbook evidence" => Self::PlaybookEvidence {
                stage: v.opt("stage"),
            },
            "coach" => Self::Coach {
                rep: v.opt("rep"),
                period: v.opt("period"),
            },
            "forecast show" => Self::Forecast {
                period: v.opt("period"),
                owner: v.opt("owner"),
            },
            "forecast accuracy" => Self::ForecastAccuracy {
                period: v.opt("period"),
                owner: v.opt("owner"),
            },
            "forecast changes" => Self::ForecastChanges {
                since: v.opt("since"),
                owner: v.opt("owner"),
                list: v
                    .opt::<String>("list")
                    .map(|text| {
                        BucketName::parse(&text).ok_or(ParseError::BadValue {
                            option: Some("list"),
                            problem: ValueProblem::Bucket(text),
                        })
                    })
                    .transpose()?,
            },
            "team set" => Self::TeamSet {
                user: v.req("user")?,
                role: v.req("role")?,
                manager: v.opt("manager"),
            },
            "team visibility" => Self::TeamVisibility {
                open: v.req("open")?,
            },
            "team list" => Self::TeamList,
            "help" => Self::Help {
                command: v.opt("command"),
            },
            "digest setup" => Self::DigestSetup {
                channel: v.req("channel")?,
                time: v.req("time")?,
                timezone: v.req("timezone")?,
                weekdays_only: v.opt("weekdays-only"),
                fiscal_start: v.opt("fiscal-start"),
            },
            "digest preview" => Self::DigestPreview,
            "nudges setup" => Self::NudgesSetup {
                time: v.req("time")?,
                to_reps: v.opt("to-reps"),
                repeat_days: v.opt("repeat-days"),
                ack_days: v.opt("ack-days"),
            },
            "nudges snooze" => Self::NudgesSnooze {
                deal: v.req("deal")?,
                days: v.req("days")?,
                reason: v.req("reason")?,
            },
            other => {
                return Err(ParseError::UnknownCommand {
                    typed: other.to_string(),
                    suggestion: None,
                });
            }
        })
    }

    /// Runs the command for `session` through its use case and words the answer. `/help` needs
    /// no session and is answered before one is resolved (`execute`).
    pub(super) async fn run(
        self,
        service: &Service,
        session: &Session,
    ) -> Result<Reply, ServiceError> {
        let playbook = &session.playbook;
        let me = session.member.display_name.as_str();
        Ok(match self {
            Self::DealNew {
                name,
                amount,
                close,
                owner,
                stage,
            } => {
                let view = service
                    .create_deal(
                        session,
                        &name,
                        amount,
                        close,
                        owner.as_ref(),
                        stage.as_ref(),
                    )
                    .await?;
                replies::deal_created(&view, playbook)
            }
            Self::DealShow { deal } => {
                replies::deal_shown(&service.show_deal(session, deal).await?, playbook)
            }
            Self::DealList { owner, stage } => {
                let deals = service
                    .list_deals(session, owner.as_ref(), stage.as_ref())
                    .await?;
                let whose =
                    replies::whose_deals(owner.as_ref(), stage.as_ref(), session.member.role);
                replies::deal_list(&deals, playbook, &whose)
            }
            Self::DealSet { deal, field, value } => {
                let value = match field_value(&field, &value) {
                    Ok(v) => v,
                    Err(e) => return Ok(replies::user_error(&e.to_string())),
                };
                let view = service.set_field(session, deal, &field, value).await?;
                replies::field_set(&view, playbook, field.as_str())
            }
            Self::Log {
                deal,
                activity,
                note,
            } => {
                let outcome = service
                    .log_activity(session, deal, &activity, note.as_deref())
                    .await?;
                replies::logged(&outcome, playbook)
            }
            Self::Advance {
                deal,
                to,
                override_reason,
            } => {
                // Read before the move: the stage whose gates matter is the one being left. A
                // note that cannot be worked out is left out; the advance does not depend on it.
                let changed = service
                    .unread_gate_changes(session, deal)
                    .await
                    .unwrap_or_else(|e| {
                        tracing::warn!(error = ?e, "gate change note not worked out");
                        Vec::new()
                    });
                let mut reply = match service
                    .advance(session, deal, to.as_ref(), override_reason.as_deref())
                    .await
                {
                    Ok(moved) => replies::moved(&moved, playbook, me),
                    Err(ServiceError::Move {
                        number,
                        stage,
                        refusal,
                    }) => replies::refused(number, &refusal, playbook, playbook.stage(&stage)),
                    Err(e) => return Err(e),
                };
                playbook_replies::add_gate_changes(
                    &mut reply,
                    &changed,
                    session.tenant.playbook_version,
                );
                reply
            }
            Self::Back { deal, to, reason } => replies::moved(
                &service.back(session, deal, &to, &reason).await?,
                playbook,
                me,
            ),
            Self::Approve { deal, note } => replies::approved(
                &service.approve(session, deal, note.as_deref()).await?,
                playbook,
                me,
            ),
            Self::Won {
                deal,
                override_reason,
            } => replies::moved(
                &service
                    .won(session, deal, override_reason.as_deref())
                    .await?,
                playbook,
                me,
            ),
            Self::Lost { deal, reason } => {
                replies::moved(&service.lost(session, deal, &reason).await?, playbook, me)
            }
            Self::Playbook { stage } => {
                let stage = match stage {
                    None => None,
                    Some(id) => Some(known_stage(playbook, &id)?),
                };
                playbook_replies::playbook_shown(
                    playbook,
                    stage,
                    &service.playbook_in_force(session).await?,
                )
            }
            Self::PlaybookHistory => {
                playbook_replies::playbook_history(&service.playbook_history(session).await?)
            }
            Self::PlaybookUpdate { file, reason, map } => {
                let proposed = read_proposed(service, session, &file).await?;
                playbook_replies::playbook_preview(
                    &service
                        .propose_playbook(session, &proposed, map.as_deref().unwrap_or(""), &reason)
                        .await?,
                    playbook_replies::ConfirmBy::Chat,
                )
            }
            Self::PlaybookConfirm { preview } => playbook_replies::playbook_applied(
                &service.confirm_playbook(session, preview).await?,
            ),
            Self::PlaybookAck { version } => playbook_replies::acknowledged(
                &service.acknowledge_playbook(session, version).await?,
            ),
            Self::PlaybookAcks => playbook_replies::acknowledgements(
                &service.playbook_acknowledgements(session).await?,
            ),
            Self::PlaybookCalibrate { propose: false } => {
                playbook_replies::calibration(&service.calibration(session).await?)
            }
            Self::PlaybookCalibrate { propose: true } => playbook_replies::playbook_preview(
                &service.propose_calibration(session).await?,
                playbook_replies::ConfirmBy::Chat,
            ),
            Self::PlaybookEvidence { stage } => playbook_replies::evidence(
                &service.playbook_evidence(session, stage.as_ref()).await?,
            ),
            Self::Coach { rep, period } => {
                playbook_replies::coach(&service.coach(session, rep.as_ref(), period).await?)
            }
            Self::Forecast { period, owner } => truth_replies::forecast_with_range(
                &service.forecast(session, period, owner.as_ref()).await?,
                playbook,
            ),
            Self::ForecastAccuracy { period, owner } => truth_replies::accuracy(
                &service
                    .forecast_accuracy(session, period, owner.as_ref())
                    .await?,
            ),
            Self::ForecastChanges { since, owner, list } => truth_replies::movement(
                &service
                    .forecast_changes(session, since, owner.as_ref())
                    .await?,
                list,
            ),
            Self::TeamSet {
                user,
                role,
                manager,
            } => replies::team_set(
                &service
                    .set_team_role(session, &user, role, manager.as_ref())
                    .await?,
            ),
            Self::TeamVisibility { open } => {
                replies::team_visibility(service.set_team_visibility(session, open).await?)
            }
            Self::TeamList => replies::team_view(&service.team(session).await?),
            Self::DigestSetup {
                channel,
                time,
                timezone,
                weekdays_only,
                fiscal_start,
            } => digest_replies::digest_scheduled(
                &service
                    .setup_digest(
                        session,
                        &channel,
                        time,
                        timezone,
                        weekdays_only.unwrap_or(true),
                        fiscal_start,
                    )
                    .await?,
            ),
            Self::DigestPreview => {
                let figures = service.preview_digest(session).await?;
                let zone = service.schedule(session.tenant.id).await?.digest.zone;
                digest_replies::digest_preview(&figures, playbook, zone)?
            }
            Self::NudgesSetup {
                time,
                to_reps,
                repeat_days,
                ack_days,
            } => digest_replies::nudges_scheduled(
                &service
                    .setup_nudges(
                        session,
                        time,
                        to_reps.unwrap_or(false),
                        repeat_days,
                        ack_days,
                    )
                    .await?,
            ),
            Self::NudgesSnooze { deal, days, reason } => {
                digest_replies::snoozed(&service.snooze_nudges(session, deal, days, &reason).await?)
            }
            Self::Help { .. } => unreachable!("answered before the session is resolved"),
        })
    }

    /// The command a button press runs, for the presses that are plain commands (asking for
    /// approval is not: it notifies the manager instead).
    pub fn pressed(press: &Press) -> Option<Self> {
        match press {
            Press::Log { deal, activity } => Some(Self::Log {
                deal: *deal,
                activity: activity.clone(),
                note: None,
            }),
            Press::Approve { deal } => Some(Self::Approve {
                deal: *deal,
                note: None,
            }),
            Press::ConfirmPlaybook { draft } => Some(Self::PlaybookConfirm { preview: *draft }),
            Press::ProposeCalibration => Some(Self::PlaybookCalibrate { propose: true }),
            Press::Acknowledge { version, .. } => Some(Self::PlaybookAck {
                version: Some(*version),
            }),
            Press::AskApproval { .. } => None,
        }
    }

    /// Whether running it a second time would do something again: such a command is claimed by
    /// its delivery and runs at most once (`commands::interact`). Exhaustive on purpose, so a
    /// new variant says which it is.
    pub fn changes_something(&self) -> bool {
        match self {
            Self::DealShow { .. }
            | Self::DealList { .. }
            | Self::Playbook { .. }
            | Self::PlaybookHistory
            | Self::PlaybookAcks
            | Self::PlaybookEvidence { .. }
            | Self::PlaybookCalibrate { propose: false }
            | Self::Coach { .. }
            | Self::Forecast { .. }
            | Self::ForecastAccuracy { .. }
            | Self::ForecastChanges { .. }
            | Self::TeamList
            | Self::DigestPreview
            | Self::Help { .. } => false,
            Self::DealNew { .. }
            | Self::DealSet { .. }
            | Self::Log { .. }
            | Self::Advance { .. }
            | Self::Back { .. }
            | Self::Approve { .. }
            | Self::Won { .. }
            | Self::Lost { .. }
            | Self::PlaybookUpdate { .. }
            | Self::PlaybookConfirm { .. }
            | Self::PlaybookAck { .. }
            | Self::PlaybookCalibrate { propose: true }
            | Self::TeamSet { .. }
            | Self::TeamVisibility { .. }
            | Self::DigestSetup { .. }
            | Self::NudgesSetup { .. }
            | Self::NudgesSnooze { .. } => true,
        }
    }

    /// Whether its change is applied in one write, which records the delivery's effect (`/log`
    /// and the moves): such a command is claimed by that write rather than by a claim written
    /// before it runs, and its first read brings what the database holds of the delivery
    /// (`Service::claim_by_write`), or is the read kept from the caller's last such command on
    /// the deal, which its use case checks before acting (`Service::session_kept_or_read`). A
    /// command that writes more than once, or writes something beside its one write, claims
    /// first.
    pub fn claimed_by_its_write(&self) -> bool {
        matches!(
            self,
            Self::Log { .. }
                | Self::Advance { .. }
                | Self::Back { .. }
                | Self::Won { .. }
                | Self::Lost { .. }
        )
    }

    /// Whether it may take longer than a platform waits for an answer (3 seconds on Discord
    /// and Slack): a forecast over a large pipeline, the digest and its chart. An adapter that
    /// can answer later acknowledges these at once and delivers the reply when it is ready.
    pub fn is_slow(&self) -> bool {
        matches!(
            self,
            Self::Forecast { .. }
                | Self::ForecastAccuracy { .. }
                | Self::ForecastChanges { .. }
                | Self::DigestPreview
                | Self::Coach { .. }
                | Self::PlaybookEvidence { .. }
                | Self::PlaybookCalibrate { propose: false }
        )
    }

    /// The deal whose view the command starts by reading (gates, history), which the session
    /// then reads along with the caller.
    pub fn about_deal(&self) -> Option<DealNumber> {
        match self {
            Self::DealShow { deal }
            | Self::Log { deal, .. }
            | Self::Advance { deal, .. }
            | Self::Back { deal, .. }
            | Self::Won { deal, .. }
            | Self::Lost { deal, .. } => Some(*deal),
            _ => None,
        }
    }

    /// The catalogue name of this command, e.g. `deal new`.
    ///
    /// This match is exhaustive on purpose: a new variant does not compile until it has a name,
    /// and the catalogue tests then require an entry and an example for that name.
    pub fn name(&self) -> &'static str {
        match self {
            Self::DealNew { .. } => "deal new",
            Self::DealShow { .. } => "deal show",
            Self::DealList { .. } => "deal list",
            Self::DealSet { .. } => "deal set",
            Self::Log { .. } => "log",
            Self::Advance { .. } => "advance",
            Self::Back { .. } => "back",
            Self::Approve { .. } => "approve",
            Self::Won { .. } => "won",
            Self::Lost { .. } => "lost",
            Self::Playbook { .. } => "playbook show",
            Self::PlaybookHistory => "playbook history",
            Self::PlaybookUpdate { .. } => "playbook update",
            Self::PlaybookConfirm { .. } => "playbook confirm",
            Self::PlaybookAck { .. } => "playbook ack",
            Self::PlaybookAcks => "playbook acks",
            Self::PlaybookEvidence { .. } => "playbook evidence",
            Self::PlaybookCalibrate { .. } => "playbook calibrate",
            Self::Coach { .. } => "coach",
            Self::Forecast { .. } => "forecast show",
            Self::ForecastAccuracy { .. } => "forecast accuracy",
            Self::ForecastChanges { .. } => "forecast changes",
            Self::TeamSet { .. } => "team set",
            Self::TeamVisibility { .. } => "team visibility",
            Self::TeamList => "team list",
            Self::DigestSetup { .. } => "digest setup",
            Self::DigestPreview => "digest preview",
            Self::NudgesSetup { .. } => "nudges setup",
            Self::NudgesSnooze { .. } => "nudges snooze",
            Self::Help { .. } => "help",
        }
    }

    /// Option values in catalogue order, `None` where not given.
    fn option_values(&self) -> Vec<(&'static str, Option<String>)> {
        fn show<T: ToString>(v: &T) -> Option<String> {
            Some(v.to_string())
        }
        fn maybe<T: ToString>(v: &Option<T>) -> Option<String> {
            v.as_ref().map(T::to_string)
        }
        match self {
            Self::DealNew {
                name,
                amount,
                close,
                owner,
                stage,
            } => vec![
                ("name", show(name)),
                ("amount", show(amount)),
                ("close", Some(close.format("%Y-%m-%d").to_string())),
                ("owner", maybe(owner)),
                ("stage", maybe(stage)),
            ],
            Self::DealShow { deal } => vec![("deal", show(deal))],
            Self::Won {
                deal,
                override_reason,
            } => vec![("deal", show(deal)), ("override", maybe(override_reason))],
            Self::DealList { owner, stage } => {
                vec![("owner", maybe(owner)), ("stage", maybe(stage))]
            }
            Self::DealSet { deal, field, value } => {
                vec![
                    ("deal", show(deal)),
                    ("field", show(field)),
                    ("value", show(value)),
                ]
            }
            Self::Log {
                deal,
                activity,
                note,
            } => {
                vec![
                    ("deal", show(deal)),
                    ("activity", show(activity)),
                    ("note", maybe(note)),
                ]
            }
            Self::Advance {
                deal,
                to,
                override_reason,
            } => {
                vec![
                    ("deal", show(deal)),
                    ("to", maybe(to)),
                    ("override", maybe(override_reason)),
                ]
            }
            Self::Back { deal, to, reason } => {
                vec![
                    ("deal", show(deal)),
                    ("to", show(to)),
                    ("reason", show(reason)),
                ]
            }
            Self::Approve { deal, note } => vec![("deal", show(deal)), ("note", maybe(note))],
            Self::Lost { deal, reason } => vec![("deal", show(deal)), ("reason", show(reason))],
            Self::Playbook { stage } => vec![("stage", maybe(stage))],
            Self::PlaybookHistory => vec![],
            Self::PlaybookUpdate { file, reason, map } => vec![
                ("file", show(file)),
                ("reason", show(reason)),
                ("map", maybe(map)),
            ],
            Self::PlaybookConfirm { preview } => vec![("preview", show(preview))],
            Self::PlaybookAck { version } => vec![("version", maybe(version))],
            Self::PlaybookAcks => vec![],
            Self::PlaybookEvidence { stage } => vec![("stage", maybe(stage))],
            Self::PlaybookCalibrate { propose } => {
                vec![("propose", propose.then(|| "yes".to_string()))]
            }
            Self::Coach { rep, period } => vec![("rep", maybe(rep)), ("period", maybe(period))],
            Self::Forecast { period, owner } | Self::ForecastAccuracy { period, owner } => {
                vec![("period", maybe(period)), ("owner", maybe(owner))]
            }
            Self::ForecastChanges { since, owner, list } => vec![
                ("since", maybe(since)),
                ("owner", maybe(owner)),
                ("list", list.map(|b| b.as_str().to_string())),
            ],
            Self::TeamSet {
                user,
                role,
                manager,
            } => {
                vec![
                    ("user", show(user)),
                    ("role", show(role)),
                    ("manager", maybe(manager)),
                ]
            }
            Self::TeamVisibility { open } => vec![("open", show(open))],
            Self::TeamList => vec![],
            Self::DigestSetup {
                channel,
                time,
                timezone,
                weekdays_only,
                fiscal_start,
            } => vec![
                ("channel", show(channel)),
                ("time", Some(time.format("%H:%M").to_string())),
                ("timezone", Some(timezone.name().to_string())),
                ("weekdays-only", weekdays_only.map(yes_no)),
                (
                    "fiscal-start",
                    fiscal_start.map(|m| m.name().to_lowercase()),
                ),
            ],
            Self::DigestPreview => vec![],
            Self::NudgesSetup {
                time,
                to_reps,
                repeat_days,
                ack_days,
            } => vec![
                ("time", Some(time.format("%H:%M").to_string())),
                ("to-reps", to_reps.map(yes_no)),
                ("repeat-days", repeat_days.map(|d| d.to_string())),
                ("ack-days", ack_days.map(|d| d.to_string())),
            ],
            Self::NudgesSnooze { deal, days, reason } => vec![
                ("deal", show(deal)),
                ("days", show(days)),
                ("reason", show(reason)),
            ],
            Self::Help { command } => vec![("command", maybe(command))],
        }
    }
}

/// How a yes/no option is written back: `yes` or `no`, which the parser reads.
fn yes_no(b: bool) -> String {
    if b { "yes" } else { "no" }.to_string()
}

impl fmt::Display for Command {
    /// The command line that parses back to this command, for buttons and for the "run this"
    /// hints in replies: `/log deal-42 discovery-call "met the CFO"`. Options go positionally
    /// until one is skipped, then as `name:value`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "/{}", self.name())?;
        let mut positional = true;
        for (name, value) in self.option_values() {
            match value {
                None => positional = false,
                Some(v) if positional => write!(f, " {}", quote_if_needed(&v))?,
                Some(v) => write!(f, " {name}:{}", quote_if_needed(&v))?,
            }
        }
        Ok(())
    }
}

/// The proposed playbook a `/playbook update` names. In the console the file is a path on the
/// machine running dealgate, read up to one byte past the limit so the service can refuse a
/// larger one without it all in memory. Elsewhere a path would name a file on the server the
/// chat user cannot see, so it is refused.
async fn read_proposed(
    service: &Service,
    session: &Session,
    file: &ProposedFile,
) -> Result<crate::service::ProposedPlaybook, ServiceError> {
    use tokio::io::AsyncReadExt;
    service.may_change_playbook(session)?;
    let file = match file {
        ProposedFile::Attached { name, bytes } => {
            return Ok(crate::service::ProposedPlaybook {
                reference: name.clone(),
                bytes: bytes.to_vec(),
            });
        }
        ProposedFile::Path(path) => path.as_str(),
    };
    if session.tenant.platform == crate::service::Platform::Discord {
        return Err(ServiceError::Invalid(
            "Attach the playbook's TOML file to `/playbook update` (its `file` option)."
                .to_string(),
        ));
    }
    if session.tenant.platform != crate::service::Platform::Console {
        return Err(ServiceError::Invalid(format!(
            "A {} command cannot carry a file. Run `dealgate playbook apply FILE \
             --workspace {}:<workspace id> --reason \"…\"` on the server; it previews the change \
             the same way.",
            session.tenant.platform, session.tenant.platform
        )));
    }
    let opened = tokio::fs::File::open(file).await.map_err(|e| {
        ServiceError::Invalid(format!(
            "Cannot read `{file}`: {e}. Give the path of a TOML file."
        ))
    })?;
    let mut bytes = Vec::new();
    let limit = u64::try_from(crate::service::MAX_PLAYBOOK_BYTES).unwrap_or(u64::MAX) + 1;
    opened
        .take(limit)
        .read_to_end(&mut bytes)
        .await
        .map_err(|e| ServiceError::Invalid(format!("Cannot read `{file}`: {e}.")))?;
    let reference = std::path::Path::new(file)
        .file_name()
        .map_or_else(|| file.to_string(), |n| n.to_string_lossy().into_owned());
    Ok(crate::service::ProposedPlaybook { reference, bytes })
}
