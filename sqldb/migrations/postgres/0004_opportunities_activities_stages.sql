-- Opportunities and pipeline stages.

-- Who recorded an opportunity activity, as Plazbot's userId shows it: the
-- user, or the owner of the API key used; null for an AI agent.
ALTER TABLE opportunity_activities ADD COLUMN user_id TEXT;

-- Finding the records in a stage (stage deletion, the stage filter).
CREATE INDEX opportunities_stage ON opportunities (workspace_id, stage_id);

-- A pipeline's stages have distinct names.
CREATE UNIQUE INDEX stages_name ON stages (workspace_id, pipeline, LOWER(name));
