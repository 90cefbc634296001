-- A process may keep what a `/log` read (the caller, the workspace, the deal and its records)
-- and judge the next `/log` of the same caller on the same deal from it, without reading
-- again; the write then checks, in its own statement, that nothing it relied on changed: the
-- deal's version, how many activities and approvals the deal has (neither is ever deleted, so
-- a count changes whenever they do), and this number, which every change to what a session
-- reads of its workspace bumps: a member changed or removed (a role, a manager, a name), the
-- workspace's name, its playbook in force, its pipeline's visibility. Triggers bump it, so
-- every way of making such a change does, and a replica's kept read is never acted on after
-- another replica changed it.
ALTER TABLE tenants ADD COLUMN session_version BIGINT NOT NULL DEFAULT 0;

CREATE FUNCTION bump_session_version_of_members() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE tenants SET session_version = session_version + 1 WHERE id = OLD.tenant_id;
    RETURN NULL;
END
$$;

CREATE TRIGGER members_change_sessions AFTER UPDATE OR DELETE ON members
FOR EACH ROW EXECUTE FUNCTION bump_session_version_of_members();

CREATE FUNCTION bump_session_version_of_tenant() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.session_version := OLD.session_version + 1;
    RETURN NEW;
END
$$;

CREATE TRIGGER tenant_changes_sessions BEFORE UPDATE OF name, playbook_version, team_pipeline_open
ON tenants FOR EACH ROW EXECUTE FUNCTION bump_session_version_of_tenant();
