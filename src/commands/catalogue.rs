//! The catalogue: every command's name, options, help text and example, as data.
//!
//! Everything a person can read about a command comes from here: `/help`, the Discord
//! registration (each `summary` and option `description` becomes a Discord description, so they
//! stay within Discord's 100 characters), the Slack usage hints and parse errors. For example:
//!
//! ```text
//! /help log
//! → Usage: `/log deal activity [note]`
//!   Records a recommended activity on a deal, in the stage the deal is in now. …
//! ```
//!
//! Options are listed in the order they are typed positionally, required ones first (Discord
//! refuses a required option after an optional one). Only the last option may be `rest`.

use crate::engine::playbook::Role;
use crate::engine::suggest::closest;

/// One command as a person types it, e.g. `deal new` or `advance`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommandSpec {
    /// The words typed after the slash, lowercase, one space between two words.
    pub name: &'static str,
    /// Where `/help` lists it.
    pub group: Group,
    /// One line, at most 100 characters: it becomes the Discord description.
    pub summary: &'static str,
    /// A few sentences for `/help name`.
    pub help: &'static str,
    /// In positional order.
    pub options: &'static [OptionSpec],
    /// A complete invocation that parses; shown by `/help` and in parse errors.
    pub example: &'static str,
    /// The least role that may use it. The service enforces this (and overrides); the catalogue
    /// states it so help and registration can say who the command is for.
    pub min_role: Role,
}

/// The groups `/help` lists commands under. The catalogue keeps each group's commands
/// together, in this order, so the overview names each group once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    Deals,
    Progress,
    PlaybookForecast,
    Team,
    DigestNudges,
    /// Only `help`, which closes the overview without a heading of its own.
    Help,
}

impl Group {
    /// The heading `/help` shows above the group's commands.
    pub fn heading(self) -> Option<&'static str> {
        match self {
            Self::Deals => Some("Deals"),
            Self::Progress => Some("Progress"),
            Self::PlaybookForecast => Some("Playbook & forecast"),
            Self::Team => Some("Team"),
            Self::DigestNudges => Some("Digest & nudges"),
            Self::Help => None,
        }
    }
}

/// One option of a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OptionSpec {
    pub name: &'static str,
    pub kind: OptionKind,
    pub required: bool,
    /// At most 100 characters: it becomes the Discord option description.
    pub description: &'static str,
    /// Typed positionally, this option takes every remaining word, joined by single spaces, so
    /// `/lost deal-42 went with a competitor` needs no quotes. Only ever the last option.
    pub rest: bool,
}

/// What an option's raw text is parsed into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OptionKind {
    /// `deal-42`, `42` or `#42`.
    Deal,
    /// Free text, trimmed, limited by `command::limits`.
    Text,
    /// `12500`, `12,500.50`, `12.5k`.
    Money,
    /// `2026-12-31`.
    Date,
    /// A stage id, e.g. `proposal`.
    Stage,
    /// An activity id, e.g. `discovery-call`.
    Activity,
    /// A deal field, e.g. `amount` or `champion`.
    Field,
    /// `@alice`, `alice` or a platform mention.
    User,
    /// `rep`, `manager` or `admin`.
    Role,
    /// `this-quarter`, `2026-11`, `2026-Q4`, …
    Period,
    /// Another command's name, e.g. `advance` or `deal new`.
    CommandName,
    /// A chat channel: a platform mention or id such as `<#123>`, or a name in the console.
    Channel,
    /// A local time of day, `08:30`.
    Time,
    /// An IANA time zone name, `Europe/Berlin`.
    Timezone,
    /// `yes` or `no` (also `true`/`false`, `on`/`off`).
    YesNo,
    /// A whole number of days, 1 to 90.
    Days,
    /// A month: `april`, `apr` or `4`.
    Month,
    /// A file: an attachment on Discord, a path on the server in the console.
    File,
    /// A whole number above zero: a playbook preview's or version's number, e.g. `3`.
    Preview,
}

const fn required(name: &'static str, kind: OptionKind, description: &'static str) -> OptionSpec {
    OptionSpec {
        name,
        kind,
        required: true,
        description,
        rest: false,
    }
}

const fn optional(name: &'static str, kind: OptionKind, description: &'static str) -> OptionSpec {
    OptionSpec {
        name,
        kind,
        required: false,
        description,
        rest: false,
    }
}

/// Marks the last option as absorbing the remaining positional words.
const fn rest(option: OptionSpec) -> OptionSpec {
    OptionSpec {
        rest: true,
        ..option
    }
}

const DEAL: OptionSpec = required("deal", OptionKind::Deal, "The deal: deal-42, 42 or #42");

/// Every command, in the order `/help` lists them, each group's commands together.
pub const CATALOGUE: &[CommandSpec] = &[
    CommandSpec {
        name: "deal new",
        group: Group::Deals,
        summary: "Create a deal with its name, amount and expected close date",
        help: "Creates a deal in the first stage of the playbook, or in `stage` if given. \
               The amount is in the playbook's currency; the close date is when you expect to \
               sign. The deal belongs to you unless you name an `owner`.",
        options: &[
            required(
                "name",
                OptionKind::Text,
                "The deal's name, e.g. the account and what it buys",
            ),
            required(
                "amount",
                OptionKind::Money,
                "Expected value, e.g. 48000, 48,000.50 or 48k",
            ),
            required(
                "close",
                OptionKind::Date,
                "Expected close date as YYYY-MM-DD",
            ),
            optional("owner", OptionKind::User, "Who owns the deal, if not you"),
            optional(
                "stage",
                OptionKind::Stage,
                "The stage to start in, if not the first one",
            ),
        ],
        example: "/deal new \"Acme renewal\" 48000 2026-12-31",
        min_role: Role::Rep,
    },
    CommandSpec {
        name: "deal show",
        group: Group::Deals,
        summary: "Show a deal: stage, amount, close date, activities and what its gates still need",
        help: "Shows one deal: its owner, amount, close date and stage, the recommended \
               activities logged and still open in this stage, and which gates are met or \
               missing before it can advance.",
        options: &[DEAL],
        example: "/deal show deal-42",
        min_role: Role::Rep,
    },
    CommandSpec {
        name: "deal list",
        group: Group::Deals,
        summary: "List open deals, for everyone or one owner, in every stage or one",
        help: "Lists open deals with their stage, amount and close date. Name an `owner` to see \
               only their deals, or a `stage` to see only the deals in it.",
        options: &[
            optional("owner", OptionKind::User, "Only this person's deals"),
            optional("stage", OptionKind::Stage, "Only deals in this stage"),
        ],
        example: "/deal list @alice proposal",
        min_role: Role::Rep,
    },
    CommandSpec {
        name: "deal set",
        group: Group::Deals,
        summary: "Change a deal field: name, amount, close_date or a custom field of the playbook",
        help: "Sets one field of a deal. Built-in fields are `name`, `amount` and `close_date`; \
               the playbook may declare more (a champion, a decision process) that gates ask \
               for. Text evidence should say something a colleague could check.",
        options: &[
            DEAL,
            required(
                "field",
                OptionKind::Field,
                "The field: name, amount, close_date or a custom one",
            ),
            rest(required("value", OptionKind::Text, "The new value")),
        ],
        example: "/deal set deal-42 champion \"Dana Smith, VP Finance\"",
        min_role: Role::Rep,
    },
    CommandSpec {
        name: "log",
        group: Group::Progress,
        summary: "Record a recommended activity on a deal, with an optional note",
        help: "Records that an activity was done, in the stage the deal is in now. Recommended \
               activities are guidance and never block you, except where a gate names one. \
               `/playbook` lists each stage's activities and their ids.",
        options: &[
            DEAL,
            required(
                "activity",
                OptionKind::Activity,
                "The activity id, e.g. discovery-call",
            ),
            rest(optional(
                "note",
                OptionKind::Text,
                "What happened, for you and your manager",
            )),
        ],
        example: "/log deal-42 discovery-call \"met the CFO\"",
        min_role: Role::Rep,
    },
    CommandSpec {
        name: "advance",
        group: Group::Progress,
        summary: "Move a deal to its next stage once the gates of its current stage are met",
        help: "Moves the deal to the next open stage, or to the stage named in `to`. Every gate \
               of the stage it leaves must hold; if one does not, the reply lists each missing \
               item and the command that satisfies it, and nothing changes. A manager may pass \
               unmet gates by giving the reason in `override`, which stays on the record.",
        options: &[
            DEAL,
            optional(
                "to",
                OptionKind::Stage,
                "The stage to move to, if not the next one",
            ),
            rest(optional(
                "override",
                OptionKind::Text,
                "Managers: why unmet gates may be passed",
            )),
        ],
        example: "/advance deal-42 proposal",
        min_role: Role::Rep,
    },
    CommandSpec {
        name: "back",
        group: Group::Progress,
        summary: "Move a deal back to an earlier stage, with the reason",
        help: "Moves a deal back to an earlier open stage when something it relied on no longer \
               holds, such as a lost champion or a changed budget. The reason goes on the \
               deal's history and the forecast follows the stage's probability.",
        options: &[
            DEAL,
            required("to", OptionKind::Stage, "The earlier stage to move back to"),
            rest(required(
                "reason",
                OptionKind::Text,
                "Why the deal goes back",
            )),
        ],
        example: "/back deal-42 discover \"budget owner changed\"",
        min_role: Role::Rep,
    },
    CommandSpec {
        name: "approve",
        group: Group::Progress,
        summary: "Approve a deal in its current stage, where a gate asks for approval",
        help: "Records your approval of the deal in its current stage, satisfying an approval \
               gate that asks for your role or below. The approval counts until the deal leaves \
               the stage.",
        options: &[
            DEAL,
            rest(optional(
                "note",
                OptionKind::Text,
                "What you checked before approving",
            )),
        ],
        example: "/approve deal-42 pricing checked with finance",
        min_role: Role::Manager,
    },
    CommandSpec {
        name: "won",
        group: Group::Progress,
        summary: "Close a deal as won",
        help: "Closes the deal as won once the gates of its current stage and every later open \
               stage are met. The deal leaves the pipeline and counts as won in the forecast, on \
               the day it closed. A manager may pass unmet gates by giving the reason in \
               `override`, which stays on the record.",
        options: &[
            DEAL,
            rest(optional(
                "override",
                OptionKind::Text,
                "Managers: why unmet gates may be passed",
            )),
        ],
        example: "/won deal-42",
        min_role: Role::Rep,
    },
    CommandSpec {
        name: "lost",
        group: Group::Progress,
        summary: "Close a deal as lost, with the reason",
        help: "Closes the deal as lost from any open stage. The reason is kept for coaching and \
               for learning which deals slip away and why.",
        options: &[
            DEAL,
            rest(required(
                "reason",
                OptionKind::Text,
                "Why the deal was lost",
            )),
        ],
        example: "/lost deal-42 went with a competitor",
        min_role: Role::Rep,
    },
    CommandSpec {
        name: "playbook show",
        group: Group::PlaybookForecast,
        summary: "Show the sales process: stages, probabilities, recommended activities and gates",
        help: "Shows the playbook every deal follows, with its version and since when it is in \
               force: its stages in order with their probability of close, the recommended \
               activities of each, and the gates a deal must meet to leave it. Name a `stage` \
               to see that stage in detail. In the console and on Slack, `/playbook` alone \
               is this command.",
        options: &[optional(
            "stage",
            OptionKind::Stage,
            "Show only this stage, in detail",
        )],
        example: "/playbook show proposal",
        min_role: Role::Rep,
    },
    CommandSpec {
        name: "playbook history",
        group: Group::PlaybookForecast,
        summary: "List the playbook's versions: when each began, who changed it, why and what",
        help: "Lists every version of the workspace's playbook, newest first: its number, when \
               it came into force, who applied it and why, and what changed, in plain words.",
        options: &[],
        example: "/playbook history",
        min_role: Role::Rep,
    },
    CommandSpec {
        name: "playbook update",
        group: Group::PlaybookForecast,
        summary: "Preview a new version of the playbook from a TOML file (admins)",
        help: "Checks a new playbook and previews the change before anything changes: the \
               problems `playbook check` finds, what changes in plain words, the open deals in \
               stages that disappear (`map` says where they go, e.g. `demo=proposal`), the \
               deals that would newly miss a gate, and the weighted pipeline this quarter \
               before and after. On Discord attach the file; in the console give its path; \
               from Slack run `dealgate playbook apply` on the server. `/playbook confirm` \
               applies the preview.",
        options: &[
            required(
                "file",
                OptionKind::File,
                "The new playbook: a TOML file (an attachment on Discord, a path in the console)",
            ),
            required(
                "reason",
                OptionKind::Text,
                "Why the process changes; every member reads it with the change",
            ),
            optional(
                "map",
                OptionKind::Text,
                "Where deals of removed stages go: old=new, e.g. demo=proposal",
            ),
        ],
        example: "/playbook update acme-2027.toml \"security review before contracts\" map:demo=proposal",
        min_role: Role::Admin,
    },
    CommandSpec {
        name: "playbook confirm",
        group: Group::PlaybookForecast,
        summary: "Apply a previewed playbook change (admins)",
        help: "Applies the change `/playbook update` previewed, exactly as previewed, as the \
               next version: deals of removed stages move as mapped, and every deal is judged \
               against the new gates. Refused if the playbook changed since the preview.",
        options: &[required(
            "preview",
            OptionKind::Preview,
            "The preview's number, as `/playbook update` showed it",
        )],
        example: "/playbook confirm 3",
        min_role: Role::Admin,
    },
    CommandSpec {
        name: "playbook ack",
        group: Group::PlaybookForecast,
        summary: "Say you have read the playbook version in force (the change notice's Got it)",
        help: "Records that you have read what changed in the playbook: the version in force, \
               or the one you name. The change notice's **Got it** button does the same. \
               Managers see who has with `/playbook acks`.",
        options: &[optional(
            "version",
            OptionKind::Preview,
            "The version you have read (default: the one in force)",
        )],
        example: "/playbook ack 2",
        min_role: Role::Rep,
    },
    CommandSpec {
        name: "playbook acks",
        group: Group::PlaybookForecast,
        summary: "Who has and has not acknowledged the playbook version in force (managers)",
        help: "Lists the members who have acknowledged the playbook version in force, with \
               when, and those who have not yet.",
        options: &[],
        example: "/playbook acks",
        min_role: Role::Manager,
    },
    CommandSpec {
        name: "playbook evidence",
        group: Group::PlaybookForecast,
        summary: "What has worked: win rates of closed deals that did each activity, and not",
        help: "For each recommended activity of a stage (or of every stage), the win rate of \
               closed deals that logged it in that stage against those that did not, with the \
               counts and a 90 % interval. Below 5 closed deals on a side it says there is not \
               enough data. The evidence to revise the playbook's activities on.",
        options: &[optional(
            "stage",
            OptionKind::Stage,
            "Only this stage's activities",
        )],
        example: "/playbook evidence proposal",
        min_role: Role::Rep,
    },
    CommandSpec {
        name: "playbook calibrate",
        group: Group::PlaybookForecast,
        summary: "Each stage's probability against how often deals that entered it were won (managers)",
        help: "For each open stage, the configured probability beside the share of closed deals \
               that entered the stage and were won, pulled toward the configured figure as much \
               as the history is thin, with a 90 % interval and the count. A new figure is \
               suggested where 30 or more deals have closed and the configured one lies outside \
               the interval; an admin previews the suggestion as a playbook change with \
               `propose:yes` (or the reply's button), confirmed and broadcast like any other.",
        options: &[optional(
            "propose",
            OptionKind::YesNo,
            "yes: preview the suggested probabilities as a playbook change (admins)",
        )],
        example: "/playbook calibrate propose:yes",
        min_role: Role::Manager,
    },
    CommandSpec {
        name: "forecast show",
        group: Group::PlaybookForecast,
        summary: "Show the weighted forecast for a period, its likely range, for the team or one owner",
        help: "Sums open deals closing in the period by forecast category, each weighted by its \
               stage's probability, and gives the range the period's closed-won amount is \
               likely to fall in (P10 / P50 / P90). The period defaults to this quarter; name \
               an `owner` to see one person's numbers. `/forecast this-quarter` works too.",
        options: &[
            optional(
                "period",
                OptionKind::Period,
                "this-month, next-quarter, this-year, all, 2026-11, 2026-Q4, …",
            ),
            optional("owner", OptionKind::User, "Only this person's deals"),
        ],
        example: "/forecast show this-quarter @alice",
        min_role: Role::Rep,
    },
    CommandSpec {
        name: "forecast accuracy",
        group: Group::PlaybookForecast,
        summary: "How each week's call of a period fared against what was won in it",
        help: "For each week of the period (by default the last closed quarter), the call its \
               first snapshot made (won so far plus weighted, commit and best case) against \
               what was won: accuracy 1 − |A − F| / A and the ratio F / A. Also the slip rate, \
               commit conversion, the Brier score of the stage probabilities, and how often \
               the result fell inside the recorded P10–P90 range.",
        options: &[
            optional(
                "period",
                OptionKind::Period,
                "last-quarter (default), 2026-Q3, 2026-09, this-quarter, …",
            ),
            optional("owner", OptionKind::User, "Only this person's deals"),
        ],
        example: "/forecast accuracy 2026-Q3 @alice",
        min_role: Role::Rep,
    },
    CommandSpec {
        name: "forecast changes",
        group: Group::PlaybookForecast,
        summary: "How this quarter's pipeline moved since a day: created, pushed, won, lost, …",
        help: "From the snapshot of a day (by default the quarter's first) to now: start + \
               created + pulled in + amount up − amount down − pushed out − lost − won = end, \
               for the deals closing this quarter, with a waterfall chart. Name a bucket in \
               `list` to see its deals.",
        options: &[
            optional(
                "since",
                OptionKind::Date,
                "The day to count from, e.g. 2026-11-01 (default: the quarter's first)",
            ),
            optional("owner", OptionKind::User, "Only this person's deals"),
            optional(
                "list",
                OptionKind::Text,
                "A bucket whose deals to list: start, created, pulled-in, up, down, pushed-out, lost, won, end",
            ),
        ],
        example: "/forecast changes 2026-11-01 list:pushed-out",
        min_role: Role::Rep,
    },
    CommandSpec {
        name: "coach",
        group: Group::Team,
        summary: "How the process is used: per stage, a rep or your team against the whole team",
        help: "Per stage, over the deals that left it in the period (this quarter by default): \
               how many left with every gate met and how many on an override, the recommended \
               activities done by then, the median days in the stage, how many are out of \
               process now, and what became of the overrides. Name a `rep` for theirs; \
               otherwise your team's (an admin: everyone's).",
        options: &[
            optional("rep", OptionKind::User, "One rep: @name or a mention"),
            optional(
                "period",
                OptionKind::Period,
                "this-quarter (default), this-month, this-year, all, 2026-Q4, …",
            ),
        ],
        example: "/coach @alex this-quarter",
        min_role: Role::Manager,
    },
    CommandSpec {
        name: "team set",
        group: Group::Team,
        summary: "Set a member's role (rep, manager or admin) and their manager",
        help: "Gives a member a role: reps run deals, managers also approve and override gates \
               and get the digest, admins also configure dealgate. A rep's `manager` receives \
               their coaching nudges.",
        options: &[
            required("user", OptionKind::User, "The member: @name or a mention"),
            required("role", OptionKind::Role, "rep, manager or admin"),
            optional(
                "manager",
                OptionKind::User,
                "Their manager: @name or a mention",
            ),
        ],
        example: "/team set @alice rep @bob",
        min_role: Role::Admin,
    },
    CommandSpec {
        name: "team list",
        group: Group::Team,
        summary: "List the team: members, their roles and their managers",
        help: "Lists everyone dealgate knows in this workspace with their role and manager.",
        options: &[],
        example: "/team list",
        min_role: Role::Rep,
    },
    CommandSpec {
        name: "team visibility",
        group: Group::Team,
        summary: "Let everyone see the team's whole pipeline, read only, or each their own (admins)",
        help: "Who sees which deals. By default a rep sees their own deals, a manager their \
               reps' and their own, an admin everyone's: in `/deal show`, `/deal list`, \
               `/forecast` and the suggestions as you type. `yes` opens every deal to every \
               member, read only (acting on a deal keeps its rule); `no` closes it again.",
        options: &[required(
            "open",
            OptionKind::YesNo,
            "yes: everyone sees every deal, read only; no: each their own",
        )],
        example: "/team visibility yes",
        min_role: Role::Admin,
    },
    CommandSpec {
        name: "digest setup",
        group: Group::DigestNudges,
        summary: "Post the daily forecast digest to a channel at a local time (admins)",
        help: "Schedules the forecast digest: this month and quarter, by stage and rep, what \
               changed since the last one and what is at risk, with a chart. It is posted once \
               a day at `time` in `timezone`, on weekdays unless `weekdays-only` is `no`. \
               `fiscal-start` is the first month of your fiscal year (default: January), which \
               decides the quarters.",
        options: &[
            required("channel", OptionKind::Channel, "The channel for the digest"),
            required("time", OptionKind::Time, "Local time of day, e.g. 08:30"),
            required(
                "timezone",
                OptionKind::Timezone,
                "IANA time zone, e.g. Europe/Berlin",
            ),
            optional(
                "weekdays-only",
                OptionKind::YesNo,
                "yes (default): Monday to Friday only; no: every day",
            ),
            optional(
                "fiscal-start",
                OptionKind::Month,
                "First month of the fiscal year, e.g. april (default: january)",
            ),
        ],
        example: "/digest setup #sales-managers 08:30 Europe/Berlin",
        min_role: Role::Admin,
    },
    CommandSpec {
        name: "digest preview",
        group: Group::DigestNudges,
        summary: "Show the forecast digest as it would be posted now, only to you",
        help: "Builds the daily digest now and shows it only to you: the forecast for this month \
               and quarter, what changed since the last digest and what is at risk.",
        options: &[],
        example: "/digest preview",
        min_role: Role::Manager,
    },
    CommandSpec {
        name: "nudges setup",
        group: Group::DigestNudges,
        summary: "Send each manager a daily coaching DM about their reps' deals (admins)",
        help: "Each working day at `time` (the digest's time zone), every manager gets a DM \
               naming their reps' deals that stalled, lack recommended activities, slipped \
               their close date or had a gate overridden, with next steps from the playbook. \
               With `to-reps` set to `yes`, reps get their own list too. The same nudge about \
               a deal is not repeated within `repeat-days` days (7 at first; kept when omitted).",
        options: &[
            required("time", OptionKind::Time, "Local time of day, e.g. 09:00"),
            optional(
                "to-reps",
                OptionKind::YesNo,
                "yes: reps also get their own list; no (default): managers only",
            ),
            optional(
                "repeat-days",
                OptionKind::Days,
                "Days before the same nudge may come again, 1 to 90 (default 7)",
            ),
            optional(
                "ack-days",
                OptionKind::Days,
                "Days after a playbook change before unread members are reminded (default 3)",
            ),
        ],
        example: "/nudges setup 09:00 yes",
        min_role: Role::Admin,
    },
    CommandSpec {
        name: "nudges snooze",
        group: Group::DigestNudges,
        summary: "Stop coaching nudges about a deal for some days",
        help: "Silences the coaching nudges about one deal for `days` days, counting today, \
               when you are already on it, with the reason, which is shown with the snooze. \
               The deal's owner's manager or an admin may snooze.",
        options: &[
            DEAL,
            required("days", OptionKind::Days, "How many days, 1 to 90"),
            rest(required(
                "reason",
                OptionKind::Text,
                "Why the nudges can wait",
            )),
        ],
        example: "/nudges snooze deal-42 7 CFO away until the 20th",
        min_role: Role::Manager,
    },
    CommandSpec {
        name: "help",
        group: Group::Help,
        summary: "List every command, or explain one",
        help: "Without a command, lists every command with its usage. With one, explains it: \
               its options, who may use it and an example.",
        options: &[rest(optional(
            "command",
            OptionKind::CommandName,
            "The command to explain, e.g. advance",
        ))],
        example: "/help advance",
        min_role: Role::Rep,
    },
];

/// The command with this name, typed the way a person might: `deal new`, `/Deal  New`.
pub fn find(name: &str) -> Option<&'static CommandSpec> {
    let wanted = normalize(name);
    CATALOGUE.iter().find(|spec| spec.name == wanted)
}

/// The command named by the longest run of leading words of `text` (`advance deal-42` names
/// `advance`, `deal new Acme` names `deal new`).
pub fn find_leading(text: &str) -> Option<&'static CommandSpec> {
    let words: Vec<&str> = text.split_whitespace().collect();
    (1..=words.len().min(2))
        .rev()
        .find_map(|n| find(&words[..n].join(" ")))
}

/// The commands whose first word is `word` (`deal` → `deal new`, `deal show`, …): a group's.
pub fn group(word: &str) -> Vec<&'static CommandSpec> {
    let word = normalize(word);
    CATALOGUE
        .iter()
        .filter(|spec| {
            spec.name
                .split_once(' ')
                .is_some_and(|(first, _)| first == word)
        })
        .collect()
}

/// The catalogue name closest to `typed`, if one is close enough to be what was meant.
pub fn suggest(typed: &str) -> Option<&'static str> {
    closest(&normalize(typed), CATALOGUE.iter().map(|spec| spec.name))
}

impl CommandSpec {
    /// `/advance deal [to] [override]`: required options bare, optional ones in brackets.
    pub fn usage(&self) -> String {
        let mut out = format!("/{}", self.name);
        for option in self.options {
            if option.required {
                out.push_str(&format!(" {}", option.name));
            } else {
                out.push_str(&format!(" [{}]", option.name));
            }
        }
        out
    }

    pub fn option(&self, name: &str) -> Option<&'static OptionSpec> {
        self.options
            .iter()
            .find(|o| o.name.eq_ignore_ascii_case(name))
    }
}

/// Lowercase, no leading slash, single spaces: how catalogue names are written.
fn normalize(name: &str) -> String {
    let name = name.trim().trim_start_matches('/');
    name.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Discord's rule for command, subcommand and option names: `^[-_\p{Ll}\p{N}]{1,32}$`.
    fn is_discord_name(s: &str) -> bool {
        (1..=32).contains(&s.chars().count())
            && s.chars()
                .all(|c| c.is_lowercase() || c.is_numeric() || c == '-' || c == '_')
    }

    #[test]
    fn command_and_option_names_follow_discords_rules() {
        for spec in CATALOGUE {
            let words: Vec<&str> = spec.name.split(' ').collect();
            assert!(
                words.len() <= 2,
                "{}: Discord nests at most a group and a subcommand",
                spec.name
            );
            assert!(words.iter().all(|w| is_discord_name(w)), "{}", spec.name);
            for option in spec.options {
                assert!(
                    is_discord_name(option.name),
                    "{}: {}",
                    spec.name,
                    option.name
                );
            }
            assert!(
                spec.options.len() <= 25,
                "{}: Discord allows 25 options",
                spec.name
            );
        }
    }

    #[test]
    fn summaries_and_descriptions_fit_discords_hundred_characters() {
        for spec in CATALOGUE {
            assert!(
                (1..=100).contains(&spec.summary.chars().count()),
                "{}",
                spec.name
            );
            for option in spec.options {
                let len = option.description.chars().count();
                assert!((1..=100).contains(&len), "{} {}", spec.name, option.name);
            }
        }
    }

    #[test]
    fn names_are_unique_and_a_group_word_is_never_a_command_too() {
        for (i, spec) in CATALOGUE.iter().enumerate() {
            assert!(
                CATALOGUE[i + 1..].iter().all(|s| s.name != spec.name),
                "{}",
                spec.name
            );
            let group = spec.name.split(' ').next().unwrap_or_default();
            if spec.name.contains(' ') {
                assert!(
                    find(group).is_none(),
                    "`{group}` is both a group and a command"
                );
            }
            for (j, option) in spec.options.iter().enumerate() {
                assert!(spec.options[j + 1..].iter().all(|o| o.name != option.name));
            }
        }
    }

    #[test]
    fn required_options_come_first_and_only_the_last_text_option_is_rest() {
        for spec in CATALOGUE {
            let first_optional = spec.options.iter().position(|o| !o.required);
            if let Some(first) = first_optional {
                assert!(
                    spec.options[first..].iter().all(|o| !o.required),
                    "{}",
                    spec.name
                );
            }
            for (i, option) in spec.options.iter().enumerate() {
                if option.rest {
                    assert_eq!(
                        i + 1,
                        spec.options.len(),
                        "{}: rest must be last",
                        spec.name
                    );
                    assert!(
                        matches!(option.kind, OptionKind::Text | OptionKind::CommandName),
                        "{}: only words can be joined",
                        spec.name
                    );
                }
            }
        }
    }

    #[test]
    fn help_and_examples_are_filled_in_and_examples_start_with_their_command() {
        for spec in CATALOGUE {
            assert!(spec.help.len() > spec.summary.len() / 2, "{}", spec.name);
            assert!(
                !spec.help.contains("  "),
                "{}: a line continuation left spaces",
                spec.name
            );
            assert!(
                spec.example.starts_with(&format!("/{}", spec.name)),
                "{}",
                spec.name
            );
        }
    }

    #[test]
    fn manager_and_admin_commands_say_so_and_the_rest_are_for_everyone() {
        for spec in CATALOGUE {
            let expected = match spec.name {
                "approve" | "digest preview" | "nudges snooze" | "playbook acks" | "coach"
                | "playbook calibrate" => Role::Manager,
                "team set" | "team visibility" | "digest setup" | "nudges setup"
                | "playbook update" | "playbook confirm" => Role::Admin,
                _ => Role::Rep,
            };
            assert_eq!(spec.min_role, expected, "{}", spec.name);
        }
    }

    #[test]
    fn every_command_has_a_headed_group_but_help_and_each_group_is_listed_together() {
        for (i, spec) in CATALOGUE.iter().enumerate() {
            assert_eq!(
                spec.group.heading().is_none(),
                spec.name == "help",
                "{}: only help goes without a heading",
                spec.name
            );
            let mut after = CATALOGUE[i + 1..]
                .iter()
                .skip_while(|s| s.group == spec.group);
            assert!(
                after.all(|s| s.group != spec.group),
                "{}: {:?} is split; /help would show its heading twice",
                spec.name,
                spec.group
            );
        }
        assert_eq!(CATALOGUE.last().map(|s| s.name), Some("help"));
    }

    #[test]
    fn usage_brackets_optional_options() {
        let advance = find("advance").map(CommandSpec::usage);
        assert_eq!(advance.as_deref(), Some("/advance deal [to] [override]"));
        let new = find("deal new").map(CommandSpec::usage);
        assert_eq!(
            new.as_deref(),
            Some("/deal new name amount close [owner] [stage]")
        );
        assert_eq!(
            find("team list").map(CommandSpec::usage).as_deref(),
            Some("/team list")
        );
    }

    #[test]
    fn find_ignores_case_the_slash_and_extra_spaces() {
        assert_eq!(find("/Deal  New").map(|s| s.name), Some("deal new"));
        assert_eq!(find("advance").map(|s| s.name), Some("advance"));
        assert!(find("deal").is_none());
        assert!(find("").is_none());
    }

    #[test]
    fn suggestions_catch_typos_and_swaps_but_not_unrelated_words() {
        assert_eq!(suggest("advnce"), Some("advance"));
        assert_eq!(suggest("lsot"), Some("lost"));
        assert_eq!(suggest("deal-new"), Some("deal new"));
        assert_eq!(suggest("wno"), Some("won"));
        assert_eq!(suggest("weather"), None);
        assert_eq!(suggest("x"), None);
    }
}
