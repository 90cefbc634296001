-- A process may keep what a `/log` read (the caller, the workspace, the deal and its records)
-- and judge the next `/log` of the same caller on the same deal from it, without reading
-- again; the write then checks, in its own statement, that nothing it relied on changed: the
-- deal's version, how many activities and approvals the deal has (neither is ever deleted, so
-- a count changes whenever they do), and this number, which every change to what a session
-- reads of its workspace bumps: a member changed or removed (a role, a manager, a name), the
-- workspace's name, its playbook in force, its pipeline's visibility. Triggers bump it, so
-- every way of making such a change does.
ALTER TABLE tenants ADD COLUMN session_version INTEGER NOT NULL DEFAULT 0;

CREATE TRIGGER members_change_sessions AFTER UPDATE ON members BEGIN
    UPDATE tenants SET session_version = session_version + 1 WHERE id = old.tenant_id;
END;

CREATE TRIGGER members_leave_sessions AFTER DELETE ON members BEGIN
    UPDATE tenants SET session_version = session_version + 1 WHERE id = old.tenant_id;
END;

CREATE TRIGGER tenant_changes_sessions AFTER UPDATE OF name, playbook_version, team_pipeline_open
ON tenants BEGIN
    UPDATE tenants SET session_version = session_version + 1 WHERE id = new.id;
END;
