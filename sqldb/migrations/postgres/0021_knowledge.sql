-- Agents' knowledge files and their passages. A file is 'processing'
-- until the indexing job stores its passages ('ready') or gives up
-- ('failed', with error). content holds an upload's bytes until then.
CREATE TABLE knowledge_files (
	workspace_id  TEXT NOT NULL,
	id            TEXT NOT NULL,
	agent_id      TEXT NOT NULL,
	file_url      TEXT,
	file_name     TEXT NOT NULL,
	content_type  TEXT NOT NULL,
	content       BYTEA,
	reference     TEXT NOT NULL,
	tags          TEXT NOT NULL,
	status        TEXT NOT NULL CHECK (status IN ('processing', 'ready', 'failed')),
	error         TEXT,
	size          BIGINT NOT NULL,
	passages      INTEGER NOT NULL,
	creation_date TIMESTAMPTZ NOT NULL,
	updated_date  TIMESTAMPTZ NOT NULL,
	PRIMARY KEY (workspace_id, id),
	FOREIGN KEY (workspace_id, agent_id) REFERENCES agents (workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX knowledge_files_agent ON knowledge_files (workspace_id, agent_id);

-- Passages, searched with the 'simple' text search configuration (no
-- stemming, no stop words, any language) over search_text: the text
-- lower-cased with its accents removed by Plaza (unaccent is an extension
-- Plaza does not assume), so "cafe" finds "Café" as on SQLite.
CREATE TABLE knowledge_passages (
	workspace_id TEXT NOT NULL,
	agent_id     TEXT NOT NULL,
	file_id      TEXT NOT NULL,
	seq          INTEGER NOT NULL,
	text         TEXT NOT NULL,
	search_text  TEXT NOT NULL,
	tsv          TSVECTOR GENERATED ALWAYS AS (to_tsvector('simple', search_text)) STORED,
	PRIMARY KEY (workspace_id, file_id, seq),
	FOREIGN KEY (workspace_id, file_id) REFERENCES knowledge_files (workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX knowledge_passages_agent ON knowledge_passages (workspace_id, agent_id);
CREATE INDEX knowledge_passages_tsv ON knowledge_passages USING GIN (tsv);
