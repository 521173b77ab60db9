-- A workspace's own LLM endpoint, overriding the server's for its agents.
-- api_key is sealed with the server's secret key ('' when none).
CREATE TABLE workspace_llm_settings (
	workspace_id TEXT NOT NULL PRIMARY KEY REFERENCES workspaces (id),
	base_url     TEXT NOT NULL,
	model        TEXT NOT NULL,
	api_key      TEXT NOT NULL,
	updated_date TIMESTAMPTZ NOT NULL
);
