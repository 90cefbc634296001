//! The playbook exactly as written: what serde reads from TOML, before any rule is checked.
//!
//! Every key is optional and every enumerated value is a plain string here, on purpose: serde
//! stops at its first error, while `validate` reports every missing key and bad value in one
//! pass, each at its own line. Serde still refuses unknown keys (`deny_unknown_fields`) and
//! values of the wrong type, since there is nothing sensible to validate in those.

use serde::Deserialize;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPlaybook {
    pub name: Option<Spanned<String>>,
    pub currency: Option<Spanned<String>>,
    /// Accepted so a playbook can explain itself to its readers; the model has no place for it
    /// yet, so it is not kept after loading.
    #[allow(dead_code)]
    pub description: Option<Spanned<String>>,
    #[serde(default, rename = "field")]
    pub fields: Vec<Spanned<RawField>>,
    #[serde(default, rename = "stage")]
    pub stages: Vec<Spanned<RawStage>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawField {
    pub id: Option<Spanned<String>>,
    pub name: Option<Spanned<String>>,
    pub hint: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawStage {
    pub id: Option<Spanned<String>>,
    pub name: Option<Spanned<String>>,
    pub description: Option<Spanned<String>>,
    pub probability: Option<Spanned<i64>>,
    pub forecast_category: Option<Spanned<String>>,
    pub outcome: Option<Spanned<String>>,
    pub stall_after_days: Option<Spanned<i64>>,
    #[serde(default)]
    pub activities: Vec<Spanned<RawActivity>>,
    #[serde(default, rename = "gate")]
    pub gates: Vec<Spanned<RawGate>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawActivity {
    pub id: Option<Spanned<String>>,
    pub name: Option<Spanned<String>>,
    pub hint: Option<Spanned<String>>,
}

/// One table for every kind of gate: `validate` refuses the keys that do not belong to the
/// gate's `kind`, with a message naming the ones that do.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawGate {
    pub kind: Option<Spanned<String>>,
    pub label: Option<Spanned<String>>,
    pub activity: Option<Spanned<String>>,
    pub scope: Option<Spanned<String>>,
    pub count: Option<Spanned<i64>>,
    pub field: Option<Spanned<String>>,
    pub rule: Option<Spanned<String>>,
    pub role: Option<Spanned<String>>,
    pub when: Option<Spanned<RawCondition>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCondition {
    pub field: Option<Spanned<String>>,
    pub at_least: Option<Spanned<i64>>,
}
