-- Who has read which playbook version: a member presses "Got it" on the change's message (or
-- types `/playbook ack`). One row per member and version, however often they press, on
-- however many replicas.
CREATE TABLE playbook_acks (
    tenant_id INTEGER NOT NULL REFERENCES tenants (id),
    member_id INTEGER NOT NULL REFERENCES members (id),
    version   INTEGER NOT NULL,
    acked_at  TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, member_id, version)
);
