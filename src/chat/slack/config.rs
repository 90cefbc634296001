//! The Slack settings, read by clap from flags or the environment and checked once at start-up:
//! a partly configured Slack is an error that names what is missing.

use thiserror::Error;

use crate::config::Secret;

/// Slack's public Web API.
pub const DEFAULT_API_BASE: &str = "https://slack.com/api";

/// Slack's settings as given (`SLACK_*`); see README.md "Slack" for where each comes from.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct SlackArgs {
    /// Signing secret of the Slack app (Basic Information → App Credentials). Turns on
    /// `/slack/commands` and `/slack/interactivity` on the `--http` server. Never printed.
    #[arg(long, env = "SLACK_SIGNING_SECRET", hide_env_values = true)]
    pub slack_signing_secret: Option<Secret>,
    /// Bot token of the Slack app (`xoxb-…`, OAuth & Permissions), for the digest and nudges.
    /// Never printed.
    #[arg(long, env = "SLACK_BOT_TOKEN", hide_env_values = true)]
    pub slack_bot_token: Option<Secret>,
    /// Another address for Slack's Web API, e.g. a proxy [default: https://slack.com/api].
    #[arg(long, env = "SLACK_API_BASE")]
    pub slack_api_base: Option<String>,
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("Slack is partly configured: {} missing", .0.join(" and "))]
    Missing(Vec<&'static str>),
    #[error(
        "Slack's endpoints are served on the HTTP server: give --http ADDR (or DEALGATE_HTTP_ADDR)"
    )]
    NoHttp,
    #[error("SLACK_API_BASE: `{0}` is not an http:// or https:// address")]
    BadBase(String),
}

/// Checked Slack settings.
#[derive(Debug, Clone)]
pub struct Settings {
    pub signing_secret: Secret,
    pub bot_token: Secret,
    /// Without a trailing slash, e.g. `https://slack.com/api`.
    pub api_base: String,
}

impl SlackArgs {
    /// Whether anything of Slack was given.
    pub fn any(&self) -> bool {
        self.slack_signing_secret.is_some() || self.slack_bot_token.is_some()
    }

    /// The settings `serve` needs, `Ok(None)` when Slack is not configured at all. Both the
    /// signing secret (incoming commands) and the bot token (the digest and nudges) are needed:
    /// a workspace with only one of them would half work without saying so.
    pub fn settings(&self, http: bool) -> Result<Option<Settings>, ConfigError> {
        if !self.any() {
            return Ok(None);
        }
        let given = |s: &Option<Secret>| s.as_ref().is_some_and(|s| !s.expose().is_empty());
        let mut missing = Vec::new();
        if !given(&self.slack_signing_secret) {
            missing.push("SLACK_SIGNING_SECRET");
        }
        if !given(&self.slack_bot_token) {
            missing.push("SLACK_BOT_TOKEN");
        }
        if !missing.is_empty() {
            return Err(ConfigError::Missing(missing));
        }
        if !http {
            return Err(ConfigError::NoHttp);
        }
        let api_base = self
            .slack_api_base
            .as_deref()
            .map(|b| b.trim().trim_end_matches('/'))
            .filter(|b| !b.is_empty())
            .unwrap_or(DEFAULT_API_BASE)
            .to_string();
        if !(api_base.starts_with("http://") || api_base.starts_with("https://")) {
            return Err(ConfigError::BadBase(api_base));
        }
        Ok(Some(Settings {
            signing_secret: self
                .slack_signing_secret
                .clone()
                .unwrap_or_else(|| Secret::new("")),
            bot_token: self
                .slack_bot_token
                .clone()
                .unwrap_or_else(|| Secret::new("")),
            api_base,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(secret: Option<&str>, token: Option<&str>, base: Option<&str>) -> SlackArgs {
        SlackArgs {
            slack_signing_secret: secret.map(Secret::new),
            slack_bot_token: token.map(Secret::new),
            slack_api_base: base.map(str::to_string),
        }
    }

    #[test]
    fn nothing_given_is_no_slack() {
        assert!(args(None, None, None).settings(false).unwrap().is_none());
    }

    #[test]
    fn a_secret_without_a_token_names_the_token() {
        let e = args(Some("s"), None, None).settings(true).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Slack is partly configured: SLACK_BOT_TOKEN missing"
        );
    }

    #[test]
    fn slack_needs_the_http_server() {
        let e = args(Some("s"), Some("xoxb-1"), None)
            .settings(false)
            .unwrap_err();
        assert_eq!(e, ConfigError::NoHttp);
    }

    #[test]
    fn the_api_base_defaults_to_slack_and_loses_its_trailing_slash() {
        let s = args(Some("s"), Some("t"), None)
            .settings(true)
            .unwrap()
            .unwrap();
        assert_eq!(s.api_base, "https://slack.com/api");
        let s = args(Some("s"), Some("t"), Some("http://127.0.0.1:9/api/"))
            .settings(true)
            .unwrap()
            .unwrap();
        assert_eq!(s.api_base, "http://127.0.0.1:9/api");
        assert!(
            args(Some("s"), Some("t"), Some("slack.com"))
                .settings(true)
                .is_err()
        );
    }

    #[test]
    fn secrets_never_show_in_debug() {
        let a = args(Some("very-secret"), Some("xoxb-secret"), None);
        let shown = format!("{a:?} {:?}", a.settings(true).unwrap());
        assert!(!shown.contains("secret\""), "{shown}");
        assert!(!shown.contains("very-secret") && !shown.contains("xoxb-secret"));
    }
}
