//! What an import file says, read and checked by the file adapter (`transfer::read`) but not yet
//! mapped onto a workspace: stages and owners are still the source's words.

use chrono::{DateTime, NaiveDate, Utc};

use crate::engine::deal::DealStatus;
use crate::engine::ids::{DealNumber, Money};

/// Where a file came from. Imported deals keep their source id under their source, so the same
/// id from two systems names two deals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SourceFormat {
    /// Salesforce opportunities, by API names (Data Loader) or report labels.
    Salesforce,
    /// A HubSpot deals export.
    HubSpot,
    /// dealgate's own export.
    Dealgate,
}

impl SourceFormat {
    /// As stored beside a deal's source id, and as `--format` takes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Salesforce => "salesforce",
            Self::HubSpot => "hubspot",
            Self::Dealgate => "dealgate",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "salesforce" => Some(Self::Salesforce),
            "hubspot" => Some(Self::HubSpot),
            "dealgate" => Some(Self::Dealgate),
            _ => None,
        }
    }

    /// As people name it.
    pub fn label(self) -> &'static str {
        match self {
            Self::Salesforce => "Salesforce",
            Self::HubSpot => "HubSpot",
            Self::Dealgate => "dealgate",
        }
    }
}

/// One deal row of an import file.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceDeal {
    /// The file line the row starts on (the header is line 1).
    pub line: u64,
    /// The source's id for the deal (`Id`, `Opportunity ID`, `Record ID`, dealgate's `deal`).
    pub source_id: String,
    pub name: String,
    /// The stage as the source names it (a label, or a stage id for dealgate's own files).
    pub stage: String,
    /// In hundredths of the major unit; a blank amount is zero.
    pub amount: Money,
    /// The row's ISO currency code, when the file has a currency column.
    pub currency: Option<String>,
    pub close_date: NaiveDate,
    /// The owner as the source names them: a name, an email or a source user id.
    pub owner: String,
    /// Open, won or lost from the source's own flags (`IsClosed`/`IsWon`, dealgate's status);
    /// `None` when the file has no such flags (the mapped stage's meaning decides then).
    pub status: Option<DealStatus>,
    /// When the source created the deal.
    pub created_at: Option<DateTime<Utc>>,
    /// When the deal entered each stage, as far as the source knows (HubSpot's
    /// `Date entered "<Stage> (<Pipeline>)"` columns), in the file's column order.
    pub entered: Vec<Entered>,
    /// HubSpot's `Pipeline`: rows of other pipelines than the one imported are skipped.
    pub pipeline: Option<String>,
    /// dealgate's own files: when it entered its current stage, when it closed, its number and
    /// custom fields (`field:<id>` columns, blank ones left out).
    pub stage_entered_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub number: Option<DealNumber>,
    pub fields: Vec<(String, String)>,
}

/// A stage the source says the deal entered, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entered {
    pub stage: String,
    /// The pipeline the column names (`Closed Won (Sales Pipeline)`), if it names one.
    pub pipeline: Option<String>,
    pub at: DateTime<Utc>,
}

/// One row of dealgate's activities export.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceActivity {
    pub line: u64,
    /// The deal as the export named it (`deal-42`): the deal imported with that source id.
    pub deal: String,
    /// The activity id.
    pub activity: String,
    /// The stage the deal was in when it was logged.
    pub stage: String,
    /// Who logged it: a member's key or name.
    pub member: String,
    pub note: Option<String>,
    pub at: DateTime<Utc>,
}

/// One row of dealgate's stage history export.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceChange {
    pub line: u64,
    pub deal: String,
    /// `None` for the row that created the deal.
    pub from_stage: Option<String>,
    pub to_stage: String,
    /// `create`, `advance`, `back`, `won` or `lost`.
    pub kind: String,
    /// Who moved it: a member's key or name.
    pub actor: String,
    /// The requirements a manager passed with an override (empty: none).
    pub overridden: Vec<String>,
    pub reason: Option<String>,
    pub at: DateTime<Utc>,
}

/// A row the file adapter could not read, and why, in words for the person importing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowProblem {
    pub line: u64,
    pub reason: String,
}
