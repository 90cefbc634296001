//! Request signatures: Discord signs `X-Signature-Timestamp` + body with the application's
//! Ed25519 key; the endpoint checks it before it reads a byte of the body as JSON.
//!
//! The timestamp's freshness is checked by the endpoint after the signature
//! (`chat::freshness`): Discord documents no window, but without one a captured request could
//! be replayed once its receipt was pruned.

use std::fmt;
use std::str::FromStr;

use serenity::interactions_endpoint::Verifier;

/// The application's public key (`DISCORD_PUBLIC_KEY`, 64 hex characters).
#[derive(Clone)]
pub struct PublicKey(Verifier);

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PublicKey(..)")
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("a public key is 64 hexadecimal characters (the Developer Portal's \"Public Key\")")]
pub struct BadPublicKey;

impl FromStr for PublicKey {
    type Err = BadPublicKey;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.len() != 64 || !s.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(BadPublicKey);
        }
        let mut bytes = [0u8; 32];
        for (i, byte) in bytes.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).map_err(|_| BadPublicKey)?;
        }
        // `Verifier::new` panics on a bad key; `try_new` reports it.
        Verifier::try_new(bytes).map(Self).map_err(|_| BadPublicKey)
    }
}

impl PublicKey {
    /// Whether `signature` (hex) signs `timestamp` followed by `body`. Malformed input is simply
    /// not a valid signature.
    pub fn verify(&self, signature: &str, timestamp: &str, body: &[u8]) -> bool {
        signature.len() == 128
            && !timestamp.is_empty()
            && self.0.verify(signature, timestamp, body).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The self-made vector of PROTOCOLS.md §1.2 (seed 32 × 0x11).
    const KEY: &str = "d04ab232742bb4ab3a1368bd4615e4e6d0224ab71a016baf8520a332c9778737";
    const BODY: &str = r#"{"type":1,"id":"1","application_id":"2","token":"t","version":1}"#;
    const SIG: &str = "8bdc7d9fb9c1afff585e8c764a2f16c6c17dc58ef3946bf6c41931235424227bc516cfd46820ed2210d0d081af3c594a975c129c079f1c72edad6c63a1291804";

    #[test]
    fn the_known_vector_verifies_and_any_change_does_not() {
        let key: PublicKey = KEY.parse().unwrap();
        assert!(key.verify(SIG, "1700000000", BODY.as_bytes()));
        assert!(key.verify(&SIG.to_uppercase(), "1700000000", BODY.as_bytes()));
        assert!(!key.verify(SIG, "1700000001", BODY.as_bytes()));
        assert!(!key.verify(SIG, "1700000000", &BODY.as_bytes()[..BODY.len() - 1]));
        assert!(!key.verify(&SIG[..126], "1700000000", BODY.as_bytes()));
        assert!(!key.verify(&"zz".repeat(64), "1700000000", BODY.as_bytes()));
        assert!(!key.verify(SIG, "", BODY.as_bytes()));
    }

    #[test]
    fn bad_keys_are_refused_not_panicked_on() {
        assert!("abc".parse::<PublicKey>().is_err());
        assert!("g".repeat(64).parse::<PublicKey>().is_err());
    }
}
