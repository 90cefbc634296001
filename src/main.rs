//! The `dealgate` binary: configuration from flags and environment, then one subcommand.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use tower::ServiceExt;

use dealgate::chat::console;
use dealgate::chat::console::ConsoleSender;
use dealgate::chat::discord::outbox::DiscordSender;
use dealgate::chat::discord::{self, Purpose, RawSettings, Secret, Settings};
use dealgate::chat::server::{LimitArgs, Limits, Server};
use dealgate::chat::slack::{self, SlackArgs};
use dealgate::clock::SystemClock;
use dealgate::commands::replies::playbook_view;
use dealgate::config::playbook_source;
use dealgate::engine::playbook::load_str;
use dealgate::jobs::route::Senders;
use dealgate::service::transfer::{ImportOptions, SourceFormat};
use dealgate::service::{Platform, Service};
use dealgate::shutdown::{StopSignals, exit_code};
use dealgate::store::Store;
use dealgate::telemetry::{self, Exporter};
use dealgate::transfer::import::ImportRequest;
use dealgate::transfer::read::DateOrder;
use dealgate::transfer::write::ExportKind;

/// The allocator. Under load glibc's `malloc` and `free` took about a seventh of the server's
/// CPU, on the writer's thread as on the runtime's; mimalloc serves the same commands faster
/// (BENCHMARKS.md, session 17). Built without transparent huge pages (`no_thp`), which would
/// hold memory in 2 MiB steps.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

unsafe extern "C" {
    /// mimalloc's own setter (the static library `mimalloc` links); `option` is its
    /// `mi_option_t`, a C enum whose numbers are part of its ABI.
    fn mi_option_set(option: std::ffi::c_int, value: std::ffi::c_long);
}

/// Freed memory goes back to the system at once instead of after mimalloc's default second:
/// under a burst of commands the delay held 4-8 MB more at peak (47-49 MB on the 100,000-deal
/// load, at the 48 MiB the server is held to), and returning it cost no throughput measured.
/// The option's number is `mi_option_purge_delay` in the `mimalloc.h` of the version locked.
fn return_freed_memory_at_once() {
    const MI_OPTION_PURGE_DELAY: std::ffi::c_int = 15;
    // SAFETY: sets an integer option; mimalloc reads its options atomically at each use.
    unsafe { mi_option_set(MI_OPTION_PURGE_DELAY, 0) };
}

/// dealgate runs your B2B sales process where the team already talks: stages, recommended
/// activities, stage gates, probabilities and a weighted forecast, in Discord, Slack or a
/// terminal.
///
/// Settings come from flags, then environment variables, then a `.env` file in the working
/// directory; an empty variable counts as unset.
#[derive(Debug, Parser)]
#[command(name = "dealgate", version, about, long_about = None)]
struct Cli {
    /// Log lines (on stderr) as text, or as JSON objects one per line.
    #[arg(
        long,
        env = "DEALGATE_LOG_FORMAT",
        value_enum,
        default_value_t = LogFormat::Text,
        global = true
    )]
    log_format: LogFormat,

    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

/// The database a subcommand works on.
#[derive(Debug, clap::Args)]
struct Database {
    /// The database: sqlite://FILE (created if missing) or postgres://USER:PASSWORD@HOST/DB.
    #[arg(long, env = "DATABASE_URL")]
    database_url: Option<String>,
}

/// The process a workspace starts with, for subcommands that may create one.
#[derive(Debug, clap::Args)]
struct NewWorkspaces {
    /// Playbook for new workspaces: a template (default, meddpicc, salesforce, hubspot) or a
    /// TOML file.
    #[arg(long, env = "DEALGATE_PLAYBOOK", default_value = "default")]
    playbook: String,
}

/// Discord's settings; README.md (section "Discord") says where each comes from.
#[derive(Debug, clap::Args)]
struct DiscordArgs {
    /// The bot token (gateway mode and `commands register`). Never printed.
    #[arg(long, env = "DISCORD_TOKEN", hide_env_values = true)]
    discord_token: Option<Secret>,
    /// The application id (Developer Portal → General Information).
    #[arg(long, env = "DISCORD_APPLICATION_ID")]
    discord_application_id: Option<String>,
    /// The application's public key, 64 hex characters (for the HTTP endpoint).
    #[arg(long, env = "DISCORD_PUBLIC_KEY")]
    discord_public_key: Option<String>,
    /// Another address for Discord's REST API and gateway lookup, e.g. a proxy.
    #[arg(long, env = "DISCORD_API_BASE")]
    discord_api_base: Option<String>,
    /// Discord role ids (comma-separated) whose members are dealgate managers.
    #[arg(long, env = "DEALGATE_MANAGER_ROLE")]
    manager_role: Option<String>,
    /// Discord role ids (comma-separated) whose members are dealgate admins.
    #[arg(long, env = "DEALGATE_ADMIN_ROLE")]
    admin_role: Option<String>,
}

impl DiscordArgs {
    /// Whether any of Discord's own settings was given.
    fn any(&self) -> bool {
        self.discord_token.is_some()
            || self.discord_application_id.is_some()
            || self.discord_public_key.is_some()
    }

    fn settings(self, purpose: Purpose) -> anyhow::Result<Option<Settings>> {
        let raw = RawSettings {
            token: self.discord_token,
            application_id: self.discord_application_id,
            public_key: self.discord_public_key,
            api_base: self.discord_api_base,
            manager_role: self.manager_role,
            admin_role: self.admin_role,
        };
        Ok(Settings::check(raw, purpose)?)
    }
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Create (or reuse) a demo workspace with a team and ~30 deals, then open the console as a
    /// rep. Uses ./dealgate-demo.db unless DATABASE_URL is set.
    Demo {
        /// Delete the demo workspace and create it afresh.
        #[arg(long)]
        reset: bool,
        /// Who to act as in the console: alex, sam or riley (reps), dana (manager), morgan
        /// (admin).
        #[arg(long = "as", default_value = "alex")]
        user: String,
        /// Seed the workspace and exit without opening the console.
        #[arg(long)]
        no_console: bool,
        #[command(flatten)]
        database: Database,
        #[command(flatten)]
        new_workspaces: NewWorkspaces,
    },
    /// Type commands in a terminal (or pipe them in, one per line) as a member of a workspace.
    Console {
        /// The member to act as (created on first use; the first member is the admin).
        #[arg(long = "as")]
        user: String,
        /// The console workspace.
        #[arg(long, default_value = console::DEFAULT_WORKSPACE)]
        workspace: String,
        #[command(flatten)]
        database: Database,
        #[command(flatten)]
        new_workspaces: NewWorkspaces,
    },
    /// Apply database migrations and exit.
    Migrate {
        #[command(flatten)]
        database: Database,
    },
    /// Build the daily forecast digest now and print it (`--dry-run`: nothing is claimed,
    /// stored or sent). Without DATABASE_URL: ./dealgate.db, or the demo's database when only
    /// that one exists.
    Digest {
        /// Print only; required until the digest can be triggered by hand.
        #[arg(long)]
        dry_run: bool,
        /// Only this workspace (its id, as `dealgate outbox` shows); default: every workspace.
        #[arg(long)]
        tenant: Option<i64>,
        /// Also save each digest's chart (PNG) into this folder (created if missing).
        #[arg(long, value_name = "DIR")]
        save_chart: Option<std::path::PathBuf>,
        #[command(flatten)]
        database: Database,
    },
    /// List outgoing messages not yet delivered (pending retries and failures). Without
    /// DATABASE_URL: ./dealgate.db, or the demo's database when only that one exists.
    Outbox {
        #[command(flatten)]
        database: Database,
    },
    /// Run the bot: with `--http`, Discord's interactions endpoint and, when
    /// SLACK_SIGNING_SECRET is set, Slack's slash commands and buttons; the Discord gateway
    /// when DISCORD_TOKEN is set. Both platforms at once when both are configured. Beside them
    /// the scheduler (digests, nudges) and the outbox worker that posts their messages.
    ///
    /// SIGTERM or SIGINT drains: no new connections, requests under way and the outbox
    /// delivery under way finish, then exit 0 (1 if that takes over --drain-seconds). A second
    /// signal exits at once with 128 + its number.
    Serve(Box<ServeArgs>),
    /// Exit 0 when a running bot's `/healthz` answers 200 within two seconds, 1 otherwise: the
    /// probe of a container image that has no curl.
    Healthcheck {
        /// The health URL, e.g. http://127.0.0.1:8080/healthz.
        #[arg(long, default_value = "http://127.0.0.1:8080/healthz")]
        url: String,
    },
    /// Slack: print the app manifest.
    Slack {
        #[command(subcommand)]
        action: SlackCmd,
    },
    /// Manage the Discord application's slash commands.
    Commands {
        #[command(subcommand)]
        action: CommandsCmd,
    },
    /// Check or show a playbook, or change a workspace's in place.
    Playbook {
        #[command(subcommand)]
        action: PlaybookCmd,
    },
    /// Copy the SQLite database, as it stands at one moment, to a new FILE: safe while the
    /// bot runs. For PostgreSQL it says how to use pg_dump.
    Backup {
        /// The new file (never overwritten).
        file: std::path::PathBuf,
        #[command(flatten)]
        database: Database,
    },
    /// Bring in deals from a Salesforce, HubSpot or dealgate CSV export (and dealgate's
    /// activities and history files).
    ///
    /// Every row is checked first, and nothing is written unless all of them map (see
    /// --skip-refused). A second import of the same file changes nothing; a changed row
    /// updates its deal. README.md, "Moving from Salesforce or HubSpot", has the export steps.
    Import(Box<ImportArgs>),
    /// Write a workspace's deals, activities or stage history as CSV (to stdout, or --out FILE).
    Export {
        /// deals, activities or history.
        kind: ExportKind,
        /// The workspace: PLATFORM:ID, e.g. console:demo, slack:T024BE7LD, discord:8138478876…
        #[arg(long)]
        workspace: String,
        /// A new file to write (never overwritten); default: stdout.
        #[arg(long, value_name = "FILE")]
        out: Option<std::path::PathBuf>,
        #[command(flatten)]
        database: Database,
    },
    /// Print a completion script for your shell, e.g.
    /// `dealgate completions bash > ~/.local/share/bash-completion/completions/dealgate`.
    Completions {
        /// bash, elvish, fish, powershell or zsh.
        shell: clap_complete::Shell,
    },
}

/// `dealgate import`'s settings.
#[derive(Debug, clap::Args)]
struct ImportArgs {
    /// deals, activities or history (the last two: dealgate's own export only).
    kind: ExportKind,
    /// The CSV file.
    file: std::path::PathBuf,
    /// The workspace: PLATFORM:ID, e.g. console:demo, slack:T024BE7LD, discord:8138478876…
    #[arg(long)]
    workspace: String,
    /// salesforce, hubspot or dealgate; default: told by the file's header row.
    #[arg(long, value_parser = source_format)]
    format: Option<SourceFormat>,
    /// A source stage onto a playbook stage, `Source Stage=stage-id` (repeat for more). Stages
    /// otherwise map by id, then by name, case ignored.
    #[arg(long = "map-stage", value_name = "SOURCE=STAGE", value_parser = pair("--map-stage"))]
    map_stage: Vec<(String, String)>,
    /// A source owner onto a member, `source owner=member` (repeat for more). Owners otherwise
    /// map by a member's key or name, case ignored.
    #[arg(long = "map-owner", value_name = "SOURCE=MEMBER", value_parser = pair("--map-owner"))]
    map_owner: Vec<(String, String)>,
    /// HubSpot: the pipeline to import (rows of others are skipped and counted).
    #[arg(long, default_value = dealgate::service::transfer::DEFAULT_PIPELINE)]
    pipeline: String,
    /// Dates such as 03/04/2026 are day first (4 March); default: month first, as Salesforce
    /// writes them in the United States.
    #[arg(long)]
    day_first: bool,
    /// Check every row and print what would be created, updated and refused; write nothing.
    #[arg(long)]
    dry_run: bool,
    /// Import the rows that map even when others are refused (they are listed and left out).
    #[arg(long)]
    skip_refused: bool,
    #[command(flatten)]
    database: Database,
}

fn source_format(text: &str) -> Result<SourceFormat, String> {
    SourceFormat::parse(text).ok_or_else(|| "salesforce, hubspot or dealgate".to_string())
}

/// Parses `SOURCE=TARGET`, both sides trimmed and non-empty.
fn pair(flag: &'static str) -> impl Fn(&str) -> Result<(String, String), String> + Clone {
    move |text: &str| {
        text.rsplit_once('=')
            .map(|(a, b)| (a.trim().to_string(), b.trim().to_string()))
            .filter(|(a, b)| !a.is_empty() && !b.is_empty())
            .ok_or_else(|| {
                format!("write {flag} \"SOURCE=TARGET\", e.g. \"Closed Won=closed-won\"")
            })
    }
}

/// `dealgate serve`'s settings.
#[derive(Debug, clap::Args)]
struct ServeArgs {
    /// Address for the HTTP server (Discord's and Slack's endpoints), e.g. 127.0.0.1:8080.
    #[arg(long = "http", env = "DEALGATE_HTTP_ADDR")]
    http: Option<std::net::SocketAddr>,
    /// Seconds between scheduler ticks (each tick runs what is due, then delivers the
    /// outbox); a digest goes out at most this long after its time, a retry after its wait.
    #[arg(
        long,
        env = "DEALGATE_TICK_SECONDS",
        default_value_t = 30,
        value_parser = seconds()
    )]
    tick_seconds: u64,
    /// Seconds an unanswered command belongs to the attempt that claimed it. A retry of a
    /// command whose process died before it answered waits this long, then takes it over
    /// (running it unless its work had been committed, which it then reports). `/log` and the
    /// moves are claimed by their own write and need no lease.
    #[arg(
        long,
        env = "DEALGATE_CLAIM_LEASE_SECONDS",
        default_value_t = 30,
        value_parser = seconds()
    )]
    claim_lease_seconds: u64,
    /// Seconds to finish the work under way after SIGTERM or SIGINT before exiting anyway.
    #[arg(
        long,
        env = "DEALGATE_DRAIN_SECONDS",
        default_value_t = 20,
        value_parser = seconds()
    )]
    drain_seconds: u64,
    /// Also answer `GET /healthz` on this address, e.g. 127.0.0.1:8081: a port of its own,
    /// so probes never queue behind the clients of --http (needs --http).
    #[arg(long = "health", env = "DEALGATE_HEALTH_ADDR")]
    health: Option<std::net::SocketAddr>,
    /// Serve `GET /metrics` (Prometheus text) on this address, e.g. 127.0.0.1:9100: for a
    /// gateway-only bot, or to keep metrics off the public --http port (which serves them
    /// too).
    #[arg(long = "metrics", env = "DEALGATE_METRICS_ADDR")]
    metrics: Option<std::net::SocketAddr>,
    #[command(flatten)]
    limits: LimitArgs,
    #[command(flatten)]
    database: Database,
    #[command(flatten)]
    new_workspaces: NewWorkspaces,
    #[command(flatten)]
    discord: DiscordArgs,
    #[command(flatten)]
    slack: SlackArgs,
}

#[derive(Debug, Subcommand)]
enum CommandsCmd {
    /// Overwrite the application's commands with dealgate's catalogue: globally, or in one
    /// server (instant; use it while trying dealgate out).
    Register {
        /// A server (guild) id: register there, instantly, instead of globally.
        #[arg(long)]
        guild: Option<u64>,
        #[command(flatten)]
        discord: DiscordArgs,
    },
}

#[derive(Debug, Subcommand)]
enum SlackCmd {
    /// Print the Slack app manifest (JSON) for a bot served at URL: the `/dealgate` command
    /// (every command follows it), the scopes and the interactivity URL. Paste it in
    /// api.slack.com/apps → Create New App → From a manifest.
    Manifest {
        /// The public base URL of `dealgate serve --http`, e.g. https://bot.example.com.
        #[arg(long)]
        url: String,
        /// Accept a plain http:// URL (a tunnel on a trusted network; Slack sends signed
        /// requests, but anyone on the path reads them).
        #[arg(long)]
        insecure: bool,
        /// Also register each command as its own slash command (`/advance`, `/deal`, `/log`
        /// …) beside `/dealgate`; they may clash with other apps' commands.
        #[arg(long)]
        short_commands: bool,
    },
}

#[derive(Debug, Subcommand)]
enum PlaybookCmd {
    /// Validate a playbook file: errors with file:line and exit 1, warnings and exit 0.
    Check { file: String },
    /// Show a template or file as a person would read it (default: the configured playbook).
    Show {
        /// A template (default, meddpicc, salesforce, hubspot) or a TOML file.
        #[arg(env = "DEALGATE_PLAYBOOK", default_value = "default")]
        playbook: String,
    },
    /// Preview a new version of a workspace's playbook from FILE, and with --yes apply it:
    /// the same preview and change as `/playbook update` and `/playbook confirm` in chat.
    Apply {
        /// The new playbook: a TOML file, at most 256 KiB.
        file: std::path::PathBuf,
        /// The workspace: PLATFORM:ID, e.g. console:demo, slack:T024BE7LD, discord:8138478876…
        #[arg(long)]
        workspace: String,
        /// Why the process changes; every member reads it with the change.
        #[arg(long)]
        reason: String,
        /// Where deals of removed stages go: old=new pairs, e.g. demo=proposal,trial=proposal.
        #[arg(long, default_value = "")]
        map: String,
        /// Apply the change after the preview (without it, nothing changes).
        #[arg(long)]
        yes: bool,
        #[command(flatten)]
        database: Database,
    },
}

const DEFAULT_DATABASE_URL: &str = "sqlite://dealgate.db";
const DEMO_DATABASE_URL: &str = "sqlite://dealgate-demo.db";

fn main() -> ExitCode {
    return_freed_memory_at_once();
    // Before any thread starts: reading `.env` sets the process's environment.
    if let Err(e) = read_dotenv() {
        eprintln!("error: {e:#}");
        return ExitCode::from(2);
    }
    let cli = parse_cli();
    init_logs(&cli);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        // The reader went away (`dealgate slack manifest | head`): nothing left to tell it.
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", error_text(&e));
            ExitCode::FAILURE
        }
    }
}

/// An error and its causes on one line, each cause said once: sqlx and SQLite repeat the text of
/// the error they wrap in their own.
fn error_text(e: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in e.chain() {
        let said = cause.to_string();
        if text.contains(&said) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&said);
    }
    text
}

/// Reads `./.env` when there is one; variables already set keep their values.
fn read_dotenv() -> anyhow::Result<()> {
    match dotenvy::from_path(".env") {
        Ok(()) => Ok(()),
        Err(dotenvy::Error::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(anyhow::anyhow!(
            ".env in the working directory: {e}; each line is NAME=value or a # comment"
        )),
    }
}

/// The command line, with every empty variable treated as unset: a copied `.env.example`
/// leaves most of them empty, and `DEALGATE_HTTP_ADDR=` means "no address", not a bad one.
fn parse_cli() -> Cli {
    let matches = without_empty_env(Cli::command()).get_matches();
    Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
}

fn without_empty_env(command: clap::Command) -> clap::Command {
    command
        .mut_args(|arg| {
            let empty = arg
                .get_env()
                .is_some_and(|name| std::env::var_os(name).is_some_and(|v| v.is_empty()));
            if empty { arg.env(None::<&str>) } else { arg }
        })
        .mut_subcommands(without_empty_env)
}

fn init_logs(cli: &Cli) {
    // At a terminal the replies are the output; routine log lines would only clutter them.
    let default_filter = match cli.command {
        Cmd::Migrate { .. } | Cmd::Serve(_) | Cmd::Commands { .. } => "warn,dealgate=info",
        _ => "warn",
    };
    let filter = std::env::var("RUST_LOG")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .and_then(|v| tracing_subscriber::EnvFilter::try_new(v).ok())
        .unwrap_or_else(|| default_filter.into());
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colour codes are for people at a terminal; in a file or a journal they are noise.
        .with_ansi(std::io::stderr().is_terminal());
    match cli.log_format {
        LogFormat::Text => logs.init(),
        LogFormat::Json => logs
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .init(),
    }
}

/// Whether an error comes from writing to a pipe whose reader has gone.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// Writes to stdout, a closed pipe reported as an error (not a panic, as `println!` would).
fn print_out(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(())
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Cmd::Playbook {
            action: PlaybookCmd::Check { file },
        } => check_playbook(&file),
        Cmd::Playbook {
            action:
                PlaybookCmd::Apply {
                    file,
                    workspace,
                    reason,
                    map,
                    yes,
                    database,
                },
        } => {
            let service = service(&database.url(), "default").await?;
            dealgate::chat::console::operator::apply_playbook(
                &service,
                &file,
                &workspace,
                &reason,
                &map,
                yes,
                &mut std::io::stdout(),
            )
            .await
        }
        Cmd::Playbook {
            action: PlaybookCmd::Show { playbook },
        } => {
            let source = playbook_source(&playbook)?;
            let loaded =
                load_str(&source.reference, &source.toml).map_err(|e| anyhow::anyhow!("{e}"))?;
            let mut out = console::render(&playbook_view(&loaded.playbook, None));
            for stage in &loaded.playbook.stages {
                out.push_str(&console::render(&playbook_view(
                    &loaded.playbook,
                    Some(stage),
                )));
            }
            print_out(&out)?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Serve(args) => {
            let ServeArgs {
                http,
                tick_seconds,
                claim_lease_seconds,
                drain_seconds,
                health,
                metrics,
                limits,
                database,
                new_workspaces,
                discord: discord_args,
                slack: slack_args,
            } = *args;
            if health.is_some() && http.is_none() {
                anyhow::bail!(
                    "--health ADDR answers the HTTP server's /healthz on a port of its own; give \
                     --http ADDR too"
                );
            }
            let slack = slack_args.settings(http.is_some())?;
            if slack.is_none() && !discord_args.any() {
                anyhow::bail!(
                    "nothing to serve: set DISCORD_TOKEN (gateway) or DISCORD_APPLICATION_ID and \
                     DISCORD_PUBLIC_KEY with --http ADDR (interactions endpoint), or both; for \
                     Slack set SLACK_SIGNING_SECRET and SLACK_BOT_TOKEN and give --http ADDR"
                );
            }
            // Slack alone needs no Discord settings, and the HTTP server beside Slack needs
            // Discord's endpoint settings only when Discord's endpoint is wanted (a public key
            // given); otherwise Discord's rules apply as before.
            let discord_http =
                http.is_some() && (slack.is_none() || discord_args.discord_public_key.is_some());
            let discord = if slack.is_none() || discord_args.any() {
                discord_args.settings(Purpose::Serve { http: discord_http })?
            } else {
                None
            };
            if discord.is_none() && slack.is_none() {
                anyhow::bail!(
                    "nothing to serve: set DISCORD_TOKEN (gateway) or give --http ADDR \
                     (interactions endpoint), or both; for Slack set SLACK_SIGNING_SECRET and \
                     SLACK_BOT_TOKEN and give --http ADDR"
                );
            }
            let lease = chrono::TimeDelta::seconds(claim_lease_seconds as i64);
            let service = Arc::new(
                service(&database.url(), &new_workspaces.playbook)
                    .await?
                    .with_claim_lease(lease),
            );
            let timing = Timing {
                tick: std::time::Duration::from_secs(tick_seconds),
                drain: std::time::Duration::from_secs(drain_seconds),
            };
            let exporter = Exporter::install().context("set up /metrics")?;
            let http = http.map(|addr| Http {
                addr,
                health,
                limits: limits.limits(),
            });
            serve(
                service,
                discord,
                slack,
                http,
                Metrics {
                    exporter,
                    addr: metrics,
                },
                timing,
            )
            .await?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Import(args) => {
            let ImportArgs {
                kind,
                file,
                workspace,
                format,
                map_stage,
                map_owner,
                pipeline,
                day_first,
                dry_run,
                skip_refused,
                database,
            } = *args;
            let service = service(&database.url(), "default").await?;
            let request = ImportRequest {
                kind,
                file,
                workspace,
                format,
                options: ImportOptions {
                    stage_map: map_stage,
                    owner_map: map_owner,
                    pipeline: Some(pipeline),
                },
                dates: if day_first {
                    DateOrder::DayFirst
                } else {
                    DateOrder::MonthFirst
                },
                dry_run,
                skip_refused,
            };
            dealgate::transfer::import::run(&service, &request, &mut std::io::stdout()).await
        }
        Cmd::Export {
            kind,
            workspace,
            out,
            database,
        } => {
            let service = service(&database.url(), "default").await?;
            dealgate::transfer::write::run(
                &service,
                kind,
                &workspace,
                out.as_deref(),
                &mut std::io::stdout().lock(),
            )
            .await
        }
        Cmd::Healthcheck { url } => healthcheck(&url).await,
        Cmd::Slack {
            action:
                SlackCmd::Manifest {
                    url,
                    insecure,
                    short_commands,
                },
        } => {
            let url = public_url(&url, insecure)?;
            let manifest = slack::manifest::manifest(&url, short_commands);
            print_out(&format!("{}\n", serde_json::to_string_pretty(&manifest)?))?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Commands {
            action: CommandsCmd::Register { guild, discord },
        } => {
            let settings = discord
                .settings(Purpose::Register)?
                .context("Discord is not configured")?;
            let rest = discord::rest::Rest::new(&settings);
            let guild = guild.filter(|g| *g > 0).map(serenity::all::GuildId::new);
            let n = rest.register(guild).await?;
            print_out(&match guild {
                Some(g) => format!("Registered {n} commands in server {g}.\n"),
                None => format!(
                    "Registered {n} commands globally (Discord may take a while to show them).\n"
                ),
            })?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Migrate { database } => {
            let url = database.url();
            // A PostgreSQL URL may carry a password; it is never printed.
            let shown = dealgate::store::redacted_url(&url);
            let store = Store::open(&url)
                .await
                .with_context(|| format!("open {shown}"))?;
            let applied = store.migrate().await.context("apply migrations")?;
            print_out(&format!(
                "{shown}: {applied} migration(s) applied; the schema is up to date.\n"
            ))?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Digest {
            dry_run,
            tenant,
            save_chart,
            database,
        } => {
            let url = database.operator_url();
            let service = service(&url, "default").await?;
            if let Some(dir) = &save_chart {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("create the chart folder {}", dir.display()))?;
            }
            dealgate::chat::console::operator::print_digests(
                &service,
                dry_run,
                tenant,
                save_chart.as_deref(),
                &mut std::io::stdout(),
            )
            .await
            .with_context(|| dealgate::store::redacted_url(&url))
        }
        Cmd::Outbox { database } => {
            let service = service(&database.operator_url(), "default").await?;
            dealgate::chat::console::operator::print_outbox(&service, &mut std::io::stdout()).await
        }
        Cmd::Console {
            user,
            workspace,
            database,
            new_workspaces,
        } => {
            check_name(&user)?;
            let service = service(&database.url(), &new_workspaces.playbook).await?;
            run_console(&service, &workspace, &user).await
        }
        Cmd::Demo {
            reset,
            user,
            no_console,
            database,
            new_workspaces,
        } => {
            check_name(&user)?;
            let url = database
                .database_url
                .unwrap_or_else(|| DEMO_DATABASE_URL.to_string());
            let service = service(&url, &new_workspaces.playbook).await?;
            let summary = dealgate::demo::prepare(&service, reset)
                .await
                .context("prepare the demo")?;
            eprintln!("{summary}");
            if no_console {
                return Ok(ExitCode::SUCCESS);
            }
            eprintln!(
                "Acting as {user}, {}. Try `/deal list`, `/help`, `/as dana` for the manager, \
                 `/as morgan` for the admin; Ctrl-D to leave.",
                dealgate::demo::who(&user)
            );
            run_console(&service, dealgate::demo::WORKSPACE, &user).await
        }
        Cmd::Backup { file, database } => backup(&database.url(), &file).await,
        Cmd::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "dealgate", &mut script);
            print_out(&String::from_utf8_lossy(&script))?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

impl Database {
    fn url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| DEFAULT_DATABASE_URL.to_string())
    }

    /// The database an operator's look (`digest`, `outbox`) reads: the one set, else
    /// ./dealgate.db, else the demo's when only that one exists, so trying `dealgate digest
    /// --dry-run` right after `dealgate demo` shows the demo.
    fn operator_url(&self) -> String {
        if self.database_url.is_some() {
            return self.url();
        }
        let main = std::path::Path::new(dealgate::store::sqlite_path(DEFAULT_DATABASE_URL));
        let demo = std::path::Path::new(dealgate::store::sqlite_path(DEMO_DATABASE_URL));
        if !main.exists() && demo.exists() {
            eprintln!(
                "Reading the demo's database ./dealgate-demo.db (set DATABASE_URL for another)."
            );
            DEMO_DATABASE_URL.to_string()
        } else {
            self.url()
        }
    }
}

/// `dealgate backup FILE`: SQLite's `VACUUM INTO` a new file; PostgreSQL's way said.
async fn backup(url: &str, file: &std::path::Path) -> anyhow::Result<ExitCode> {
    let shown = dealgate::store::redacted_url(url);
    match dealgate::store::Backend::of_url(url) {
        Some(dealgate::store::Backend::Postgres) => anyhow::bail!(
            "{shown} is PostgreSQL: back it up with its own tool, which reads a consistent \
             snapshot while dealgate runs: `pg_dump --format=custom --file {} \"$DATABASE_URL\"`; \
             restore into an empty database with `pg_restore --dbname \"$DATABASE_URL\" {}`",
            file.display(),
            file.display()
        ),
        Some(dealgate::store::Backend::Sqlite) => {}
        None => anyhow::bail!(dealgate::store::StoreError::UnsupportedUrl(shown)),
    }
    if file.exists() {
        anyhow::bail!(
            "{} exists already; name a new file (a backup never overwrites one)",
            file.display()
        );
    }
    if let Some(folder) = file
        .parent()
        .filter(|f| !f.as_os_str().is_empty() && !f.is_dir())
    {
        anyhow::bail!(
            "the folder {} for the backup does not exist; create it first",
            folder.display()
        );
    }
    let database = dealgate::store::sqlite_path(url);
    if !std::path::Path::new(database).exists() {
        anyhow::bail!("there is no database at {database} to back up (DATABASE_URL is {shown})");
    }
    let store = Store::open(url)
        .await
        .with_context(|| format!("open {shown}"))?;
    store
        .backup_into(file)
        .await
        .with_context(|| format!("back up {shown} to {}", file.display()))?;
    store.close().await;
    let size = std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
    print_out(&format!(
        "Backed up {shown} to {} ({size} bytes). To restore: stop dealgate, copy the backup \
         over {database} (removing {database}-wal and {database}-shm), start it again.\n",
        file.display()
    ))?;
    Ok(ExitCode::SUCCESS)
}

/// A member name as the console takes it.
fn check_name(user: &str) -> anyhow::Result<()> {
    if console::is_valid_name(user) {
        Ok(())
    } else {
        anyhow::bail!("--as `{user}`: use letters, digits, `.`, `_` or `-`, up to 64")
    }
}

/// The bot's public base URL as Slack will call it: https with a host (http only when asked
/// for), without a trailing slash.
fn public_url(url: &str, insecure: bool) -> anyhow::Result<String> {
    let example = "give the bot's public address, e.g. https://bot.example.com";
    let parsed =
        reqwest::Url::parse(url).map_err(|e| anyhow::anyhow!("--url `{url}`: {e}; {example}"))?;
    match parsed.scheme() {
        "https" => {}
        "http" if insecure => {}
        "http" => anyhow::bail!(
            "--url `{url}`: Slack's requests would cross the network in the clear; use https:// \
             (or --insecure for a tunnel on a network you trust)"
        ),
        other => anyhow::bail!("--url `{url}`: `{other}` is not a web address; {example}"),
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        anyhow::bail!("--url `{url}`: there is no host name; {example}");
    }
    Ok(url.trim_end_matches('/').to_string())
}

/// `dealgate healthcheck`: exit 0 on a 200 from the URL within two seconds, 1 otherwise.
async fn healthcheck(url: &str) -> anyhow::Result<ExitCode> {
    if let Err(e) = reqwest::Url::parse(url) {
        eprintln!(
            "unhealthy: --url `{url}` is not a URL ({e}); e.g. http://127.0.0.1:8080/healthz"
        );
        return Ok(ExitCode::FAILURE);
    }
    // The probe is local: a proxy set for Discord's and Slack's traffic must not carry it.
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(2))
        .no_proxy()
        .build()?;
    match client.get(url).send().await {
        Ok(response) if response.status() == reqwest::StatusCode::OK => Ok(ExitCode::SUCCESS),
        Ok(response) => {
            eprintln!("unhealthy: {url} answered {}", response.status());
            Ok(ExitCode::FAILURE)
        }
        Err(e) => {
            // reqwest's own text hides the cause ("connection refused", "timed out").
            let mut why = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(cause) = source {
                why.push_str(&format!(": {cause}"));
                source = cause.source();
            }
            eprintln!("unhealthy: {url}: {why}");
            Ok(ExitCode::FAILURE)
        }
    }
}

async fn service(url: &str, playbook: &str) -> anyhow::Result<Service> {
    let source = playbook_source(playbook)?;
    let store = Store::connect(url)
        .await
        .with_context(|| format!("open database {}", dealgate::store::redacted_url(url)))?;
    Ok(dealgate::jobs::message::rendering(Service::new(
        store,
        Arc::new(SystemClock),
        source,
    )))
}

/// Where the HTTP server listens, and its limits.
struct Http {
    addr: std::net::SocketAddr,
    /// A second address answering only `/healthz`.
    health: Option<std::net::SocketAddr>,
    limits: Limits,
}

/// The Prometheus recorder, and the address of its own `/metrics` listener if any.
struct Metrics {
    exporter: Exporter,
    addr: Option<std::net::SocketAddr>,
}

/// How often the scheduler ticks, and how long stopping may take.
struct Timing {
    tick: std::time::Duration,
    drain: std::time::Duration,
}

/// How long a starting server waits for its database connections to open before it leaves
/// the rest to open when needed.
const CONNECTIONS_WARM_WITHIN: std::time::Duration = std::time::Duration::from_secs(5);

/// Runs the HTTP endpoints and/or the gateway, and the scheduler with the outbox worker, until
/// SIGTERM or SIGINT (or until one of them fails), then drains within `timing.drain`.
async fn serve(
    service: Arc<Service>,
    discord: Option<Settings>,
    slack: Option<slack::Settings>,
    http: Option<Http>,
    metrics: Metrics,
    timing: Timing,
) -> anyhow::Result<()> {
    let Timing { tick, drain } = timing;
    let Metrics {
        exporter,
        addr: metrics_addr,
    } = metrics;
    let mut signals = StopSignals::listen().context("listen for SIGTERM and SIGINT")?;
    let discord = discord.map(|settings| {
        let rest = discord::rest::Rest::new(&settings);
        // Attachments come from Discord's CDN, or from the API base when one is set (a fake).
        let attachments = match settings.api_base.as_deref() {
            Some(base) => discord::attachments::Attachments::default().also_from(base),
            None => discord::attachments::Attachments::default(),
        };
        let dispatcher = Arc::new(
            discord::Dispatcher::new(Arc::clone(&service), settings.roles.clone())
                .with_attachments(attachments),
        );
        (settings, rest, dispatcher)
    });
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut tasks = tokio::task::JoinSet::new();
    // In the background: /healthz answers at once, and a command that arrives meanwhile opens
    // its connection as it always could.
    let warming = Arc::clone(&service);
    tokio::spawn(async move {
        let (open, most) = warming.store().warm_up(CONNECTIONS_WARM_WITHIN).await;
        if open < most {
            tracing::warn!(
                open,
                most,
                "not every database connection opened at start; the rest open when needed \
                 (is a connection limit of the server, the role or the database below what \
                 the replicas' pools may hold?)"
            );
        } else {
            tracing::debug!(open, "database connections opened");
        }
    });
    // What requests left running (commands whose clients hung up, deferred answers): waited for
    // once the servers have stopped taking requests.
    let mut detached = Vec::new();
    if let Some((_, _, dispatcher)) = &discord {
        detached.push(dispatcher.detached().clone());
    }
    if let Some(Http {
        addr,
        health,
        limits,
    }) = http
    {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("listen on {addr}"))?;
        let bound = listener.local_addr()?;
        let health = match health {
            Some(addr) => {
                let listener = tokio::net::TcpListener::bind(addr)
                    .await
                    .with_context(|| format!("listen on {addr} (--health)"))?;
                eprintln!("Health check: http://{}/healthz", listener.local_addr()?);
                Some(listener)
            }
            None => None,
        };
        let mut router = axum::Router::new();
        let mut healthz = false;
        if let Some((settings, rest, dispatcher)) = &discord
            && let Some(key) = settings.public_key.clone()
        {
            eprintln!("Discord interactions endpoint: http://{bound}/discord/interactions");
            router = router.merge(discord::http::router(
                Arc::clone(dispatcher),
                key,
                rest.clone(),
            ));
            healthz = true;
        }
        if let Some(settings) = &slack {
            eprintln!(
                "Slack endpoints: http://{bound}/slack/commands and http://{bound}/slack/interactivity"
            );
            let dispatcher = Arc::new(slack::Dispatcher::new(Arc::clone(&service)));
            detached.push(dispatcher.detached().clone());
            let secret = slack::verify::SigningSecret::new(settings.signing_secret.clone());
            router = router.merge(slack::http::router(
                Arc::clone(&dispatcher),
                secret,
                slack::web::client(),
            ));
            if !healthz {
                router = router.merge(slack::http::health(dispatcher));
            }
        }
        router = router.merge(telemetry::router(exporter.clone(), Arc::clone(&service)));
        if let Some(listener) = health {
            let routes = router.clone();
            let probe = axum::Router::new().route(
                "/healthz",
                axum::routing::get(move |request: axum::extract::Request| {
                    routes.clone().oneshot(request)
                }),
            );
            let mut stop = stop_rx.clone();
            tasks.spawn(async move {
                Server::new(Limits::probes())
                    .serve(listener, probe, async move {
                        let _ = stop.changed().await;
                    })
                    .await;
                Ok(())
            });
        }
        let mut stop = stop_rx.clone();
        tasks.spawn(async move {
            Server::new(limits)
                .serve(listener, router, async move {
                    let _ = stop.changed().await;
                })
                .await;
            Ok(())
        });
    }
    if let Some(addr) = metrics_addr {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("listen on {addr} (--metrics)"))?;
        eprintln!("Metrics: http://{}/metrics", listener.local_addr()?);
        let routes = telemetry::router(exporter.clone(), Arc::clone(&service));
        let mut stop = stop_rx.clone();
        tasks.spawn(async move {
            Server::new(Limits::probes())
                .serve(listener, routes, async move {
                    let _ = stop.changed().await;
                })
                .await;
            Ok(())
        });
    }
    {
        // Histogram samples are folded into their buckets between scrapes.
        let mut stop = stop_rx.clone();
        tasks.spawn(async move {
            let mut every = tokio::time::interval(std::time::Duration::from_secs(5));
            loop {
                tokio::select! {
                    _ = every.tick() => exporter.upkeep(),
                    _ = stop.changed() => return Ok(()),
                }
            }
        });
    }
    let mut shards = None;
    if let Some((settings, rest, dispatcher)) = &discord
        && settings.token.is_some()
    {
        let mut client = discord::gateway::client(rest, Arc::clone(dispatcher)).await?;
        shards = Some(Arc::clone(&client.shard_manager));
        eprintln!("Connecting to the Discord gateway…");
        tasks.spawn(async move { client.start().await.context("run the gateway client") });
    }
    let senders = outbox_senders(discord.as_ref().map(|(s, _, _)| s), slack.as_ref())?;
    eprintln!(
        "Scheduler: every {}s; posting to {}",
        tick.as_secs(),
        senders.platforms().join(", ")
    );
    let mut stop = stop_rx.clone();
    let scheduled = Arc::clone(&service);
    tasks.spawn(async move {
        dealgate::jobs::scheduler::run(scheduled, senders, tick, async move {
            let _ = stop.changed().await;
        })
        .await;
        Ok(())
    });
    tokio::select! {
        signal = signals.next() => eprintln!(
            "{signal}: stopping: no new connections; finishing the requests and the delivery \
             under way (at most {}s; a second signal exits at once)",
            drain.as_secs()
        ),
        Some(done) = tasks.join_next() => {
            done.context("a server task panicked")??;
        }
    }
    let _ = stop_tx.send(true);
    let drained = async {
        if let Some(shards) = shards {
            shards.shutdown_all().await;
        }
        while let Some(done) = tasks.join_next().await {
            done.context("a server task panicked")??;
        }
        for work in &detached {
            work.finished().await;
        }
        service.store().close().await;
        anyhow::Ok(())
    };
    tokio::select! {
        done = tokio::time::timeout(drain, drained) => match done {
            Ok(done) => done?,
            Err(_) => anyhow::bail!(
                "the work under way did not finish within {}s of the signal; exiting anyway \
                 (unfinished deliveries go out on the next start; give --drain-seconds more)",
                drain.as_secs()
            ),
        },
        signal = signals.next() => {
            eprintln!("{signal} again: exiting without waiting for the work under way");
            std::process::exit(exit_code(signal));
        }
    }
    eprintln!("Stopped.");
    Ok(())
}

/// The platforms this process posts scheduled messages to. Console workspaces print here;
/// Discord needs the bot token (an endpoint-only setup leaves Discord messages queued, saying
/// so, until a process with a token runs); Slack is configured with its bot token or not at all.
fn outbox_senders(
    discord: Option<&Settings>,
    slack: Option<&slack::Settings>,
) -> anyhow::Result<Senders> {
    let mut senders = Senders::new().with(Platform::Console, ConsoleSender::new(std::io::stdout()));
    if let Some(settings) = discord {
        match DiscordSender::from_settings(settings)? {
            Some(discord) => senders = senders.with(Platform::Discord, discord),
            None => tracing::warn!(
                "no DISCORD_TOKEN: scheduled digests and nudges for Discord stay in the outbox"
            ),
        }
    }
    if let Some(slack) = slack {
        senders = senders.with(Platform::Slack, slack::web::SlackSender::new(slack));
    }
    Ok(senders)
}

async fn run_console(service: &Service, workspace: &str, user: &str) -> anyhow::Result<ExitCode> {
    let piped = || console::Input::read(tokio::io::BufReader::new(tokio::io::stdin()));
    // A person at a terminal gets line editing and history; a pipe is read as it comes.
    let input = if std::io::stdin().is_terminal() && std::io::stdout().is_terminal() {
        match console::Editor::start() {
            Ok(editor) => console::Input::Terminal(editor),
            Err(e) => {
                tracing::warn!(error = %e, "no line editing on this terminal");
                piped()
            }
        }
    } else {
        piped()
    };
    let mut stdout = std::io::stdout();
    console::run(service, workspace, user, input, &mut stdout).await?;
    service.store().close().await;
    Ok(ExitCode::SUCCESS)
}

fn check_playbook(file: &str) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(file).with_context(|| format!("read {file}"))?;
    match load_str(file, &text) {
        Ok(loaded) => {
            for w in &loaded.warnings {
                println!("warning: {}", w.render(file));
            }
            println!(
                "{file}: ok: {} stages, {} warning(s)",
                loaded.playbook.stages.len(),
                loaded.warnings.len()
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("{e}");
            Ok(ExitCode::FAILURE)
        }
    }
}

/// A number of seconds between 1 and an hour: every interval and wait `serve` takes.
fn seconds() -> clap::builder::RangedU64ValueParser<u64> {
    clap::value_parser!(u64).range(1..=3600)
}
