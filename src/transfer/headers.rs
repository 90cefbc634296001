//! Which export a header row comes from, and where its columns are.
//!
//! Names are compared trimmed and with case ignored: Data Loader writes `STAGENAME`, the API
//! `StageName`, and people retyping a header write what they like. A layout is recognised by
//! the columns only it has (`StageName`, `Opportunity Owner`, `Deal Stage`), so a file that
//! lacks one required column is still recognised and the error can name the column missing.

use super::read::{FileError, shown};
use crate::service::transfer::SourceFormat;

/// The shapes of deal file read; Salesforce has two.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// API names, as Data Loader and Workbench write them.
    SalesforceApi,
    /// Column labels, as a report export writes them.
    SalesforceReport,
    HubSpot,
    Dealgate,
}

impl Layout {
    pub fn format(self) -> SourceFormat {
        match self {
            Self::SalesforceApi | Self::SalesforceReport => SourceFormat::Salesforce,
            Self::HubSpot => SourceFormat::HubSpot,
            Self::Dealgate => SourceFormat::Dealgate,
        }
    }

    /// The export, as the person importing knows it.
    pub fn label(self) -> &'static str {
        match self {
            Self::SalesforceApi => "Salesforce (API names, as Data Loader exports)",
            Self::SalesforceReport => "Salesforce report",
            Self::HubSpot => "HubSpot deals export",
            Self::Dealgate => "dealgate deals export",
        }
    }

    /// Columns only this layout has, to recognise it by.
    fn marks(self) -> &'static [&'static str] {
        match self {
            Self::SalesforceApi => &[
                "id",
                "stagename",
                "closedate",
                "ownerid",
                "owner.name",
                "owner.email",
                "isclosed",
                "iswon",
                "forecastcategoryname",
                "createddate",
                "currencyisocode",
            ],
            Self::SalesforceReport => &[
                "opportunity id",
                "opportunity name",
                "opportunity owner",
                "stage",
                "forecast category",
                "created date",
                "opportunity currency",
                "amount currency",
            ],
            Self::HubSpot => &[
                "record id",
                "deal name",
                "deal stage",
                "deal owner",
                "pipeline",
                "create date",
                "is closed won",
                "is deal closed?",
            ],
            Self::Dealgate => &["deal", "owner_key", "close_date", "stage_entered_at"],
        }
    }

    /// Where this layout keeps what every deal has.
    pub fn core(self) -> Core {
        match self {
            Self::SalesforceApi => Core {
                id: &["Id"],
                name: &["Name"],
                stage: &["StageName"],
                close: &["CloseDate"],
                owners: &["Owner.Name", "Owner.Email", "OwnerId"],
            },
            Self::SalesforceReport => Core {
                id: &["Opportunity ID"],
                name: &["Opportunity Name"],
                stage: &["Stage"],
                close: &["Close Date"],
                owners: &["Opportunity Owner"],
            },
            Self::HubSpot => Core {
                id: &["Record ID"],
                name: &["Deal Name"],
                stage: &["Deal Stage"],
                close: &["Close Date"],
                owners: &["Deal owner"],
            },
            Self::Dealgate => Core {
                id: &["deal"],
                name: &["name"],
                stage: &["stage"],
                close: &["close_date"],
                owners: &["owner_key", "owner"],
            },
        }
    }

    /// The columns a file of this layout must have, each as alternatives.
    fn required(self) -> Vec<&'static [&'static str]> {
        let core = self.core();
        let mut required = vec![core.id, core.name, core.stage, core.close, core.owners];
        if self == Self::Dealgate {
            required.extend([&["status"][..], &["amount"]]);
        }
        required
    }
}

/// The columns every deal has, each as the names it goes by (the first one found is read).
pub struct Core {
    pub id: &'static [&'static str],
    pub name: &'static [&'static str],
    pub stage: &'static [&'static str],
    pub close: &'static [&'static str],
    /// By preference: Salesforce's `Owner.Name`, then `Owner.Email`, then `OwnerId`;
    /// dealgate's `owner_key`, then `owner`.
    pub owners: &'static [&'static str],
}

/// A header row, to find columns in by name.
#[derive(Debug, Clone)]
pub struct Columns {
    names: Vec<String>,
    /// As the file writes them, for messages.
    original: Vec<String>,
}

impl Columns {
    pub fn new(header: &[String]) -> Self {
        Self {
            names: header.iter().map(|h| key(h)).collect(),
            original: header.to_vec(),
        }
    }

    /// The first column named `name` (case and spaces around ignored).
    pub fn find(&self, name: &str) -> Option<usize> {
        let wanted = key(name);
        self.names.iter().position(|n| *n == wanted)
    }

    /// The first of `names` the header has.
    pub fn find_any(&self, names: &[&str]) -> Option<usize> {
        names.iter().find_map(|n| self.find(n))
    }

    /// The column names as the file writes them, with their index.
    pub fn iter(&self) -> impl Iterator<Item = (usize, &str)> {
        self.original.iter().map(String::as_str).enumerate()
    }

    /// The name of column `index` as the file writes it.
    pub fn name(&self, index: usize) -> &str {
        self.original.get(index).map_or("", String::as_str)
    }

    /// The header, shortened to its first dozen columns, for messages.
    pub fn listed(&self) -> String {
        const SHOWN: usize = 12;
        let mut list: Vec<String> = self.original.iter().take(SHOWN).map(|c| shown(c)).collect();
        if self.original.len() > SHOWN {
            list.push(format!("… and {} more", self.original.len() - SHOWN));
        }
        list.join(", ")
    }

    /// The required columns of `layout` the header lacks, each as `A` or `A, B or C`.
    fn missing(&self, layout: Layout) -> Vec<String> {
        layout
            .required()
            .iter()
            .filter(|names| self.find_any(names).is_none())
            .map(|names| match names {
                [one] => format!("`{one}`"),
                [first @ .., last] => format!(
                    "one of {} or `{last}`",
                    first
                        .iter()
                        .map(|n| format!("`{n}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                [] => String::new(),
            })
            .collect()
    }

    /// The layout the header is, or the file error that says why it is none (or not the one
    /// `--format` named).
    pub fn layout(&self, wanted: Option<SourceFormat>) -> Result<Layout, FileError> {
        let detected = self.detect();
        let layout = match (detected, wanted) {
            (Some(layout), None) => layout,
            (Some(layout), Some(format)) if layout.format() == format => layout,
            (Some(layout), Some(format)) => {
                return Err(FileError::new(
                    Some(1),
                    format!(
                        "--format {} was given, but the header is a {}'s ({}); leave out \
                         --format, or give --format {}",
                        format.as_str(),
                        layout.label(),
                        self.listed(),
                        layout.format().as_str()
                    ),
                ));
            }
            (None, Some(SourceFormat::Salesforce)) => {
                let api = Layout::SalesforceApi;
                // The one closer to the header, so the missing columns named are few.
                if self.missing(api).len() < self.missing(Layout::SalesforceReport).len() {
                    api
                } else {
                    Layout::SalesforceReport
                }
            }
            (None, Some(SourceFormat::HubSpot)) => Layout::HubSpot,
            (None, Some(SourceFormat::Dealgate)) => Layout::Dealgate,
            (None, None) => {
                return Err(FileError::new(
                    Some(1),
                    format!(
                        "the header is not one dealgate reads: a Salesforce export (Id, Name, \
                         StageName, … or a report with Opportunity ID, Opportunity Name, Stage, \
                         …), a HubSpot deals export (Record ID, Deal Name, Deal Stage, …) or \
                         dealgate's own (deal,name,stage,status,…). The header has: {}",
                        self.listed()
                    ),
                ));
            }
        };
        let missing = self.missing(layout);
        if missing.is_empty() {
            return Ok(layout);
        }
        let why = if layout == Layout::SalesforceReport && self.find("Opportunity ID").is_none() {
            "; add the Opportunity ID column to the report, so that importing it again updates \
             the deals instead of duplicating them"
        } else {
            ""
        };
        Err(FileError::new(
            Some(1),
            format!(
                "the header of this {} lacks {} {}{why}. The header has: {}",
                layout.label(),
                if missing.len() == 1 {
                    "the column"
                } else {
                    "the columns"
                },
                missing.join(", "),
                self.listed()
            ),
        ))
    }

    fn detect(&self) -> Option<Layout> {
        if self.names.len() >= 4 && self.names[..4] == ["deal", "name", "stage", "status"] {
            return Some(Layout::Dealgate);
        }
        let score = |layout: Layout| {
            let marks = layout.marks();
            let entered = layout == Layout::HubSpot;
            self.names
                .iter()
                .filter(|n| marks.contains(&n.as_str()) || entered && n.starts_with("date entered"))
                .count()
        };
        [
            Layout::SalesforceApi,
            Layout::SalesforceReport,
            Layout::HubSpot,
            Layout::Dealgate,
        ]
        .into_iter()
        .map(|layout| (score(layout), layout))
        .filter(|(score, _)| *score >= 2)
        .max_by_key(|(score, _)| *score)
        .map(|(_, layout)| layout)
    }
}

/// How header names are compared.
fn key(name: &str) -> String {
    name.trim().to_lowercase()
}

/// A HubSpot stage-history column, `Date entered "Closed Won (Sales Pipeline)"`: the stage and
/// the pipeline it names, split at the last parenthesis (a stage name may hold its own).
pub fn entered_column(name: &str) -> Option<(String, Option<String>)> {
    const PREFIX: &str = "date entered";
    let name = name.trim();
    let label = name
        .get(..PREFIX.len())
        .filter(|p| p.eq_ignore_ascii_case(PREFIX))
        .map(|_| &name[PREFIX.len()..])?
        .trim()
        .strip_prefix('"')?
        .strip_suffix('"')?
        .trim();
    if let Some(inner) = label.strip_suffix(')')
        && let Some((stage, pipeline)) = inner.rsplit_once(" (")
    {
        return Some((stage.trim().to_string(), Some(pipeline.trim().to_string())));
    }
    (!label.is_empty()).then(|| (label.to_string(), None))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn columns(header: &str) -> Columns {
        let names: Vec<String> = header.split(',').map(str::to_string).collect();
        Columns::new(&names)
    }

    #[test]
    fn each_layout_is_recognised_by_its_header() {
        let cases = [
            (
                "ID,NAME,STAGENAME,AMOUNT,CLOSEDATE,OWNERID",
                Layout::SalesforceApi,
            ),
            (
                "Opportunity Owner,Opportunity Name,Stage,Amount,Close Date,Opportunity ID",
                Layout::SalesforceReport,
            ),
            (
                "Record ID,Deal Name,Deal Stage,Amount,Close Date,Deal owner",
                Layout::HubSpot,
            ),
            (
                "deal,name,stage,status,amount,currency,close_date,owner",
                Layout::Dealgate,
            ),
        ];
        for (header, layout) in cases {
            assert_eq!(columns(header).layout(None).unwrap(), layout, "{header}");
        }
    }

    #[test]
    fn a_missing_column_is_named_with_the_layout_and_the_columns_there() {
        let err = columns("Record ID,Deal Name,Amount,Close Date,Deal owner,Pipeline")
            .layout(None)
            .unwrap_err();
        assert_eq!(err.line, Some(1));
        assert!(
            err.message
                .contains("HubSpot deals export lacks the column `Deal Stage`"),
            "{err}"
        );
        assert!(
            err.message
                .contains("The header has: Record ID, Deal Name, Amount"),
            "{err}"
        );
    }

    #[test]
    fn a_report_without_its_id_column_is_told_why_it_matters() {
        let err = columns("Opportunity Owner,Opportunity Name,Stage,Close Date")
            .layout(None)
            .unwrap_err();
        assert!(err.message.contains("`Opportunity ID`"), "{err}");
        assert!(err.message.contains("instead of duplicating"), "{err}");
    }

    #[test]
    fn a_format_given_that_does_not_fit_the_header_is_refused() {
        let err = columns("Record ID,Deal Name,Deal Stage,Close Date,Deal owner")
            .layout(Some(SourceFormat::Salesforce))
            .unwrap_err();
        assert!(
            err.message.contains("--format salesforce was given"),
            "{err}"
        );
        assert!(err.message.contains("--format hubspot"), "{err}");
    }

    #[test]
    fn a_long_header_is_listed_shortened() {
        let header: Vec<String> = (0..30).map(|i| format!("c{i}")).collect();
        let listed = Columns::new(&header).listed();
        assert!(listed.ends_with("c11, … and 18 more"), "{listed}");
    }

    #[test]
    fn a_stage_history_column_splits_at_its_last_parenthesis() {
        assert_eq!(
            entered_column("Date entered \"Closed Won (Sales Pipeline)\""),
            Some(("Closed Won".into(), Some("Sales Pipeline".into())))
        );
        assert_eq!(
            entered_column("date entered \"Demo (online) (Partner Pipeline)\""),
            Some(("Demo (online)".into(), Some("Partner Pipeline".into())))
        );
        assert_eq!(
            entered_column("Date entered \"Discovery\""),
            Some(("Discovery".into(), None))
        );
        assert_eq!(
            entered_column("Date exited \"Discovery (Sales Pipeline)\""),
            None
        );
        assert_eq!(
            entered_column("Cumulative time in \"Discovery (Sales Pipeline)\""),
            None
        );
    }
}
