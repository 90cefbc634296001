//! Request signatures: Slack signs `v0:{X-Slack-Request-Timestamp}:{raw body}` with the app's
//! signing secret (HMAC-SHA256, sent as `X-Slack-Signature: v0=<hex>`). The endpoint checks it,
//! and that the timestamp is fresh (`chat::freshness`: at most five minutes old, at most a
//! minute ahead), before it reads the body; a request recorded and sent again later is refused
//! even though its signature holds.

use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::chat::freshness::{self, Unfresh};
use crate::config::Secret;

/// Why a request is refused; each is a 401 and the text is its body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("missing X-Slack-Signature or X-Slack-Request-Timestamp")]
    MissingHeaders,
    #[error("X-Slack-Request-Timestamp is not a Unix time")]
    BadTimestamp,
    #[error("X-Slack-Request-Timestamp is more than five minutes old (a replay?)")]
    Stale,
    #[error("X-Slack-Request-Timestamp is more than a minute in the future")]
    Ahead,
    #[error("invalid request signature")]
    BadSignature,
}

/// The app's signing secret.
#[derive(Debug, Clone)]
pub struct SigningSecret(Secret);

impl SigningSecret {
    pub fn new(secret: Secret) -> Self {
        Self(secret)
    }

    /// Checks one request's headers against its raw body at `now`.
    pub fn verify(
        &self,
        timestamp: Option<&str>,
        signature: Option<&str>,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<(), Refused> {
        let (Some(timestamp), Some(signature)) = (timestamp, signature) else {
            return Err(Refused::MissingHeaders);
        };
        match freshness::check(timestamp, now) {
            Ok(()) => {}
            Err(Unfresh::Unreadable) => return Err(Refused::BadTimestamp),
            Err(Unfresh::Stale) => return Err(Refused::Stale),
            Err(Unfresh::Ahead) => return Err(Refused::Ahead),
        }
        let expected = signature
            .strip_prefix("v0=")
            .and_then(decode_hex)
            .ok_or(Refused::BadSignature)?;
        let mut mac = Hmac::<Sha256>::new_from_slice(self.0.expose().as_bytes())
            .map_err(|_| Refused::BadSignature)?;
        mac.update(b"v0:");
        mac.update(timestamp.as_bytes());
        mac.update(b":");
        mac.update(body);
        // `verify_slice` compares in constant time.
        mac.verify_slice(&expected)
            .map_err(|_| Refused::BadSignature)
    }

    /// `v0=<hex>` for `body` at `timestamp`: what Slack would send (tests and tools sign with it).
    pub fn sign(&self, timestamp: &str, body: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(self.0.expose().as_bytes())
            .expect("HMAC takes a key of any length");
        mac.update(format!("v0:{timestamp}:").as_bytes());
        mac.update(body);
        let digest = mac.finalize().into_bytes();
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        format!("v0={hex}")
    }
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if text.len() != 64 || !text.is_ascii() {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    /// Slack's own worked example (PROTOCOLS.md §5.2).
    const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
    const TIMESTAMP: &str = "1531420618";
    const BODY: &str = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    const SIGNATURE: &str = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";

    fn at(seconds: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(seconds, 0).unwrap()
    }

    fn secret() -> SigningSecret {
        SigningSecret::new(Secret::new(SECRET))
    }

    #[test]
    fn slacks_worked_example_verifies_and_signs_to_the_same_value() {
        let now = at(1_531_420_618);
        assert_eq!(
            secret().verify(Some(TIMESTAMP), Some(SIGNATURE), BODY.as_bytes(), now),
            Ok(())
        );
        assert_eq!(secret().sign(TIMESTAMP, BODY.as_bytes()), SIGNATURE);
    }

    #[test]
    fn any_change_to_body_timestamp_secret_or_signature_is_refused() {
        let now = at(1_531_420_618);
        let s = secret();
        let body = BODY.as_bytes();
        let refused = Err(Refused::BadSignature);
        assert_eq!(
            s.verify(Some(TIMESTAMP), Some(SIGNATURE), &body[1..], now),
            refused
        );
        assert_eq!(
            s.verify(Some("1531420619"), Some(SIGNATURE), body, now),
            refused
        );
        let other = SigningSecret::new(Secret::new("another secret"));
        assert_eq!(
            other.verify(Some(TIMESTAMP), Some(SIGNATURE), body, now),
            refused
        );
        for sig in [
            &SIGNATURE[3..],
            "v0=zz",
            "v1=a2114d57",
            &SIGNATURE[..60],
            "",
        ] {
            assert_eq!(
                s.verify(Some(TIMESTAMP), Some(sig), body, now),
                refused,
                "{sig}"
            );
        }
        let upper = format!("v0={}", SIGNATURE[3..].to_uppercase());
        assert_eq!(s.verify(Some(TIMESTAMP), Some(&upper), body, now), Ok(()));
    }

    proptest::proptest! {
        /// Whatever arrives in the headers and the body, the answer is a refusal, not a panic
        /// (a multi-byte character where hex belongs, a huge or negative timestamp, …).
        #[test]
        fn arbitrary_headers_and_bodies_are_refused_never_panicked_on(
            timestamp in proptest::prop_oneof![
                proptest::strategy::Just(TIMESTAMP.to_string()),
                "\\PC{0,24}",
            ],
            signature in proptest::prop_oneof!["v0=[0-9a-fA-F]{64}", "v0=\\PC{62,66}", "\\PC{0,70}"],
            body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..256),
        ) {
            let now = at(1_531_420_618);
            let verdict = secret().verify(Some(&timestamp), Some(&signature), &body, now);
            proptest::prop_assert!(verdict.is_err());
        }
    }

    #[test]
    fn the_timestamp_must_be_at_most_five_minutes_old_and_a_minute_ahead() {
        let s = secret();
        let body = BODY.as_bytes();
        let check = |now| s.verify(Some(TIMESTAMP), Some(SIGNATURE), body, at(now));
        assert_eq!(check(1_531_420_618 + 300), Ok(()));
        assert_eq!(check(1_531_420_618 - 60), Ok(()));
        assert_eq!(check(1_531_420_618 + 301), Err(Refused::Stale));
        assert_eq!(check(1_531_420_618 - 61), Err(Refused::Ahead));
        assert_eq!(
            s.verify(Some("yesterday"), Some(SIGNATURE), body, at(0)),
            Err(Refused::BadTimestamp)
        );
        assert_eq!(
            s.verify(None, Some(SIGNATURE), body, at(0)),
            Err(Refused::MissingHeaders)
        );
        assert_eq!(
            s.verify(Some(TIMESTAMP), None, body, at(0)),
            Err(Refused::MissingHeaders)
        );
    }
}
