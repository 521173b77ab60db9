-- Tags and segmentations are unique by name within a workspace, whatever
-- the case ("VIP" and "vip" are one tag). The task list filters by
-- opportunity and by assignee, and sync clients by updated date.

CREATE UNIQUE INDEX tags_name ON tags (workspace_id, LOWER(name));
CREATE UNIQUE INDEX segmentations_name ON segmentations (workspace_id, LOWER(name));

CREATE INDEX tasks_opportunity ON tasks (workspace_id, opportunity_id);
CREATE INDEX tasks_updated ON tasks (workspace_id, updated_date);
CREATE INDEX task_assignees_user ON task_assignees (workspace_id, user_id);
