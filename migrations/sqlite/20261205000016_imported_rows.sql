-- Imports (issue 16). A deal brought in from another system keeps the id it had there, under the
-- system's name (`salesforce`, `hubspot`, `dealgate`), so importing the same file again finds it
-- and changes nothing, and a changed row updates it. NULL for deals made in dealgate.
ALTER TABLE deals ADD COLUMN source TEXT;
ALTER TABLE deals ADD COLUMN source_id TEXT;
CREATE UNIQUE INDEX deals_by_source ON deals (tenant_id, source, source_id);

-- The stage changes and activities an import wrote, by the system they came from: an import
-- may redo its own history rows, never what people did in dealgate. NULL: done here.
ALTER TABLE stage_changes ADD COLUMN source TEXT;
ALTER TABLE activities ADD COLUMN source TEXT;
