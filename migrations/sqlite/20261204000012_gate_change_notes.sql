-- A rep who advances a deal out of a stage whose gates changed in a playbook version they have
-- not acknowledged is told what changed, once per version and stage: this row says it was.
CREATE TABLE playbook_gate_notes (
    tenant_id INTEGER NOT NULL REFERENCES tenants (id),
    member_id INTEGER NOT NULL REFERENCES members (id),
    version   INTEGER NOT NULL,
    stage     TEXT    NOT NULL,
    shown_at  TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, member_id, version, stage)
);
