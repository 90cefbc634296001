//! Reading a workspace out for `dealgate export`, a page at a time in id order, so a workspace
//! of any size is written without being held.

use std::sync::Arc;

use crate::engine::playbook::Playbook;
use crate::service::{Platform, Service, ServiceError, ServiceResult};
use crate::store::imports::{self, Cursor, ExportedActivity, ExportedChange, ExportedDeal};
use crate::store::{Tenant, tenants};

/// A time as exports write it: as the database keeps it (RFC 3339, UTC, microseconds), so the
/// times of an exported deal and of its history rows read alike and survive a round trip.
pub fn time_text(at: chrono::DateTime<chrono::Utc>) -> String {
    crate::store::ts(at)
}

/// Rows an export reads per statement.
pub const PAGE: i64 = 1_000;

/// A workspace being exported.
#[derive(Debug, Clone)]
pub struct Exporter {
    tenant: Tenant,
    pub playbook: Arc<Playbook>,
}

impl Service {
    /// The workspace `platform:workspace`, to export.
    pub async fn exporter(&self, platform: Platform, workspace: &str) -> ServiceResult<Exporter> {
        let tenant = self.tenant_named(platform, workspace).await?;
        let playbook = self.playbook_of(&tenant)?;
        Ok(Exporter { tenant, playbook })
    }

    /// The next page of deals after deal id `after` (empty at the end).
    pub async fn export_deals(
        &self,
        ex: &Exporter,
        after: i64,
    ) -> ServiceResult<Vec<ExportedDeal>> {
        let mut conn = self.store.reader().acquire().await?;
        Ok(imports::deals_page(&mut conn, ex.tenant.id, after, PAGE).await?)
    }

    pub async fn export_activities(
        &self,
        ex: &Exporter,
        after: &Cursor,
    ) -> ServiceResult<Vec<ExportedActivity>> {
        let mut conn = self.store.reader().acquire().await?;
        Ok(imports::activities_page(&mut conn, ex.tenant.id, after, PAGE).await?)
    }

    pub async fn export_history(
        &self,
        ex: &Exporter,
        after: &Cursor,
    ) -> ServiceResult<Vec<ExportedChange>> {
        let mut conn = self.store.reader().acquire().await?;
        Ok(imports::changes_page(&mut conn, ex.tenant.id, after, PAGE).await?)
    }

    /// A workspace by platform and id, as the operator's commands name it.
    pub(crate) async fn tenant_named(
        &self,
        platform: Platform,
        workspace: &str,
    ) -> ServiceResult<Tenant> {
        let mut conn = self.store.reader().acquire().await?;
        tenants::find(&mut conn, platform.as_str(), workspace)
            .await?
            .ok_or_else(|| {
                ServiceError::Invalid(format!(
                    "There is no {platform} workspace `{workspace}` in this database; it is \
                     created by its first command."
                ))
            })
    }
}
