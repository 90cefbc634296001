-- The playbook as a living definition: every version a workspace has had, who made it, when and
-- why. `tenants.playbook_toml` stays the version in force (what every command reads), and
-- `tenants.playbook_version` says which one it is. Deals, stage changes and forecast snapshots
-- record the version they happened under. Every workspace from before starts at version 1, the
-- playbook it was created with.
CREATE TABLE playbook_versions (
    tenant_id     BIGINT NOT NULL REFERENCES tenants (id),
    version       BIGINT NOT NULL,
    playbook_ref  TEXT   NOT NULL,                -- the template name or file it came from
    playbook_toml TEXT   NOT NULL,
    changed_by    TEXT,                           -- who applied it, as they were named; NULL for the first
    reason        TEXT,
    summary       TEXT,                           -- what changed, in plain words, one per line
    created_at    TEXT   COLLATE "C" NOT NULL,
    PRIMARY KEY (tenant_id, version)
);
INSERT INTO playbook_versions (tenant_id, version, playbook_ref, playbook_toml, created_at)
    SELECT id, 1, playbook_ref, playbook_toml, created_at FROM tenants;
ALTER TABLE tenants ADD COLUMN playbook_version BIGINT NOT NULL DEFAULT 1;
ALTER TABLE deals ADD COLUMN playbook_version BIGINT NOT NULL DEFAULT 1;
ALTER TABLE stage_changes ADD COLUMN playbook_version BIGINT NOT NULL DEFAULT 1;
ALTER TABLE forecast_snapshots ADD COLUMN playbook_version BIGINT NOT NULL DEFAULT 1;

-- A change previewed and waiting for an admin to confirm it: the confirmation applies exactly
-- what was previewed, and only onto the version the preview was made against.
CREATE TABLE playbook_drafts (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id     BIGINT NOT NULL REFERENCES tenants (id),
    base_version  BIGINT NOT NULL,
    playbook_ref  TEXT   NOT NULL,
    playbook_toml TEXT   NOT NULL,
    mapping       TEXT   NOT NULL DEFAULT '',     -- `old=new` per line: where deals of removed stages go
    reason        TEXT   NOT NULL,
    proposed_by   TEXT   NOT NULL,
    created_at    TEXT   COLLATE "C" NOT NULL,
    applied_at    TEXT   COLLATE "C"
);
CREATE INDEX playbook_drafts_by_tenant ON playbook_drafts (tenant_id, id);
