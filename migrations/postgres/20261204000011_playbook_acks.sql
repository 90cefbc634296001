-- Who has read which playbook version: a member presses "Got it" on the change's message (or
-- types `/playbook ack`). One row per member and version, however often they press, on
-- however many replicas.
CREATE TABLE playbook_acks (
    tenant_id BIGINT  NOT NULL REFERENCES tenants (id),
    member_id BIGINT  NOT NULL REFERENCES members (id),
    version   BIGINT  NOT NULL,
    acked_at  TEXT    COLLATE "C" NOT NULL,
    PRIMARY KEY (tenant_id, member_id, version)
);
