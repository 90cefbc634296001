-- Who sees which deals: by default a rep sees their own, a manager their reps' and their own, an
-- admin everyone's. An admin may open the team's pipeline to everyone, read only
-- (`/team visibility yes`): 1 here. Acting on a deal keeps its own rule.
ALTER TABLE tenants ADD COLUMN team_pipeline_open INTEGER NOT NULL DEFAULT 0;
