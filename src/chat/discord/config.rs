//! The Discord settings, checked once at start-up: a partly configured platform is an error that
//! names every missing variable. Values come from `main` (clap reads the environment).

use serenity::all::{ApplicationId, RoleId};
use thiserror::Error;

use super::verify::PublicKey;
pub use crate::config::Secret;

/// Discord roles that make a member a dealgate manager or admin (`DEALGATE_MANAGER_ROLE`,
/// `DEALGATE_ADMIN_ROLE`): role ids, comma-separated. Ids rather than names because an
/// interaction carries the member's role ids only; names would need a privileged cache or a
/// REST call on every command, and a renamed role would silently change who is a manager.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoleMap {
    pub manager: Vec<RoleId>,
    pub admin: Vec<RoleId>,
}

impl RoleMap {
    pub fn parse(manager: Option<&str>, admin: Option<&str>) -> Result<Self, ConfigError> {
        Ok(Self {
            manager: role_ids("DEALGATE_MANAGER_ROLE", manager)?,
            admin: role_ids("DEALGATE_ADMIN_ROLE", admin)?,
        })
    }
}

fn role_ids(var: &'static str, text: Option<&str>) -> Result<Vec<RoleId>, ConfigError> {
    text.unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| {
            t.parse::<u64>()
                .ok()
                .filter(|n| *n > 0)
                .map(RoleId::new)
                .ok_or_else(|| ConfigError::Invalid {
                    var,
                    problem: format!(
                        "`{t}` is not a role id; copy it with Developer Mode on (Server Settings → \
                         Roles → right-click → Copy Role ID)"
                    ),
                })
        })
        .collect()
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("Discord is partly configured: {what} needs {}", .missing.join(", "))]
    Missing {
        what: &'static str,
        missing: Vec<&'static str>,
    },
    #[error("{var}: {problem}")]
    Invalid { var: &'static str, problem: String },
}

/// The raw values, as given.
#[derive(Debug, Clone, Default)]
pub struct RawSettings {
    pub token: Option<Secret>,
    pub application_id: Option<String>,
    pub public_key: Option<String>,
    pub api_base: Option<String>,
    pub manager_role: Option<String>,
    pub admin_role: Option<String>,
}

/// What a run of the binary needs from Discord.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// `serve`: `http` when the interactions endpoint is on; the gateway runs when a token is set.
    Serve { http: bool },
    /// `commands register`.
    Register,
}

/// Checked Discord settings.
#[derive(Debug, Clone)]
pub struct Settings {
    pub application_id: ApplicationId,
    pub token: Option<Secret>,
    pub public_key: Option<PublicKey>,
    /// `DISCORD_API_BASE`, e.g. `http://127.0.0.1:8081`; `None` is Discord itself.
    pub api_base: Option<String>,
    pub roles: RoleMap,
}

impl Settings {
    /// Checks `raw` for `purpose`. `Ok(None)`: Discord is not configured at all and not needed.
    pub fn check(raw: RawSettings, purpose: Purpose) -> Result<Option<Self>, ConfigError> {
        let any = raw.token.is_some() || raw.application_id.is_some() || raw.public_key.is_some();
        let (what, needs): (&'static str, Vec<&'static str>) = match purpose {
            Purpose::Register => (
                "`commands register`",
                vec!["DISCORD_TOKEN", "DISCORD_APPLICATION_ID"],
            ),
            Purpose::Serve { http: true } => (
                "the HTTP interactions endpoint",
                vec!["DISCORD_APPLICATION_ID", "DISCORD_PUBLIC_KEY"],
            ),
            Purpose::Serve { http: false } if !any => return Ok(None),
            Purpose::Serve { http: false } => (
                "the gateway",
                vec!["DISCORD_TOKEN", "DISCORD_APPLICATION_ID"],
            ),
        };
        let given = |var: &str| match var {
            "DISCORD_TOKEN" => raw.token.as_ref().is_some_and(|t| !t.expose().is_empty()),
            "DISCORD_APPLICATION_ID" => raw.application_id.is_some(),
            _ => raw.public_key.is_some(),
        };
        let missing: Vec<&'static str> = needs.into_iter().filter(|v| !given(v)).collect();
        if !missing.is_empty() {
            return Err(ConfigError::Missing { what, missing });
        }
        let application_id = raw
            .application_id
            .as_deref()
            .and_then(|t| t.trim().parse::<u64>().ok())
            .filter(|n| *n > 0)
            .map(ApplicationId::new)
            .ok_or_else(|| ConfigError::Invalid {
                var: "DISCORD_APPLICATION_ID",
                problem: "use the numeric Application ID from the Developer Portal".into(),
            })?;
        let public_key = raw
            .public_key
            .as_deref()
            .map(|k| {
                k.parse::<PublicKey>().map_err(|e| ConfigError::Invalid {
                    var: "DISCORD_PUBLIC_KEY",
                    problem: e.to_string(),
                })
            })
            .transpose()?;
        let api_base = raw
            .api_base
            .map(|b| b.trim().trim_end_matches('/').to_string())
            .filter(|b| !b.is_empty());
        if let Some(base) = &api_base
            && !(base.starts_with("http://") || base.starts_with("https://"))
        {
            return Err(ConfigError::Invalid {
                var: "DISCORD_API_BASE",
                problem: format!("`{base}` is not an http:// or https:// address"),
            });
        }
        Ok(Some(Self {
            application_id,
            token: raw.token,
            public_key,
            api_base,
            roles: RoleMap::parse(raw.manager_role.as_deref(), raw.admin_role.as_deref())?,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "d04ab232742bb4ab3a1368bd4615e4e6d0224ab71a016baf8520a332c9778737";

    #[test]
    fn a_secret_never_shows_in_debug() {
        let s = Secret::new("Bot very-secret");
        assert_eq!(format!("{s:?}"), "Secret(redacted)");
        let raw = RawSettings {
            token: Some(s),
            ..RawSettings::default()
        };
        assert!(!format!("{raw:?}").contains("very-secret"));
    }

    #[test]
    fn a_token_without_an_application_id_names_what_is_missing() {
        let raw = RawSettings {
            token: Some(Secret::new("t")),
            ..RawSettings::default()
        };
        let e = Settings::check(raw, Purpose::Serve { http: false }).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Discord is partly configured: the gateway needs DISCORD_APPLICATION_ID"
        );
    }

    #[test]
    fn the_http_endpoint_needs_the_public_key_and_the_application_id() {
        let e = Settings::check(RawSettings::default(), Purpose::Serve { http: true }).unwrap_err();
        assert_eq!(
            e,
            ConfigError::Missing {
                what: "the HTTP interactions endpoint",
                missing: vec!["DISCORD_APPLICATION_ID", "DISCORD_PUBLIC_KEY"],
            }
        );
    }

    #[test]
    fn nothing_configured_and_no_endpoint_is_no_discord() {
        let s = Settings::check(RawSettings::default(), Purpose::Serve { http: false });
        assert!(s.unwrap().is_none());
    }

    #[test]
    fn a_complete_configuration_is_accepted_and_role_ids_are_parsed() {
        let raw = RawSettings {
            application_id: Some("775799577604522054".into()),
            public_key: Some(KEY.into()),
            api_base: Some("http://127.0.0.1:9/".into()),
            manager_role: Some("11, 12".into()),
            ..RawSettings::default()
        };
        let s = Settings::check(raw, Purpose::Serve { http: true })
            .unwrap()
            .unwrap();
        assert_eq!(s.api_base.as_deref(), Some("http://127.0.0.1:9"));
        assert_eq!(s.roles.manager, vec![RoleId::new(11), RoleId::new(12)]);
    }

    #[test]
    fn a_role_name_instead_of_an_id_is_refused_with_how_to_find_the_id() {
        let e = RoleMap::parse(Some("Sales Managers"), None).unwrap_err();
        assert!(e.to_string().contains("Copy Role ID"), "{e}");
    }

    #[test]
    fn a_bad_public_key_is_refused() {
        let raw = RawSettings {
            application_id: Some("1".into()),
            public_key: Some("abc".into()),
            ..RawSettings::default()
        };
        let e = Settings::check(raw, Purpose::Serve { http: true }).unwrap_err();
        assert!(e.to_string().starts_with("DISCORD_PUBLIC_KEY"), "{e}");
    }
}
