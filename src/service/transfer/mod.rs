//! Importing deals, activities and stage history from another system's export, and exporting a
//! workspace's. The file adapter (`transfer`) reads rows; here they are mapped onto the
//! workspace's playbook and team and written, a batch per transaction.

mod deals;
mod export;
mod plan;
mod records;
mod source;
mod tally;

pub use crate::store::imports::{Cursor, ExportedActivity, ExportedChange, ExportedDeal};
pub use deals::DealImport;
pub use export::{Exporter, PAGE, time_text};
pub use plan::{DEFAULT_PIPELINE, ImportOptions, Importer};
pub use records::{RecordImport, Records};
pub use source::{Entered, RowProblem, SourceActivity, SourceChange, SourceDeal, SourceFormat};
pub use tally::{Flagged, LISTED, Tally};

use super::{Platform, Service, ServiceResult};
use crate::store::members;

impl Service {
    /// The workspace `platform:workspace` made ready to import a `format` file into, with the
    /// person's mapping checked against its playbook and team.
    pub async fn importer(
        &self,
        platform: Platform,
        workspace: &str,
        format: SourceFormat,
        options: &ImportOptions,
    ) -> ServiceResult<Importer> {
        let tenant = self.tenant_named(platform, workspace).await?;
        let mut conn = self.store.reader().acquire().await?;
        let team = members::list(&mut conn, tenant.id).await?;
        drop(conn);
        let playbook = self.playbook_of(&tenant)?;
        Importer::new(tenant, playbook, team, format, options)
    }

    /// After an import: judges the process standing of every deal its rows touched without
    /// judging (activities and history change what the gates see).
    pub async fn finish_import(&self, importer: &Importer) -> ServiceResult<()> {
        self.judge_stale(importer.tenant.id, &importer.playbook, false)
            .await
    }

    /// Deals, activities and stage changes the workspace holds: an import's before and after.
    pub async fn import_counts(&self, importer: &Importer) -> ServiceResult<(i64, i64, i64)> {
        let mut conn = self.store.reader().acquire().await?;
        Ok(crate::store::imports::counts(&mut conn, importer.tenant.id).await?)
    }
}
