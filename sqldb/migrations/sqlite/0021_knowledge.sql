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
	content       BLOB,
	reference     TEXT NOT NULL,
	tags          TEXT NOT NULL,
	status        TEXT NOT NULL CHECK (status IN ('processing', 'ready', 'failed')),
	error         TEXT,
	size          INTEGER NOT NULL,
	passages      INTEGER NOT NULL,
	creation_date TIMESTAMP NOT NULL,
	updated_date  TIMESTAMP NOT NULL,
	PRIMARY KEY (workspace_id, id),
	FOREIGN KEY (workspace_id, agent_id) REFERENCES agents (workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX knowledge_files_agent ON knowledge_files (workspace_id, agent_id);

-- Passages, indexed by FTS5 (an external-content table kept in step by
-- triggers). unicode61 with remove_diacritics 2 folds case and accents:
-- "cafe" finds "Café".
CREATE TABLE knowledge_passages (
	pk           INTEGER PRIMARY KEY,
	workspace_id TEXT NOT NULL,
	agent_id     TEXT NOT NULL,
	file_id      TEXT NOT NULL,
	seq          INTEGER NOT NULL,
	text         TEXT NOT NULL,
	UNIQUE (workspace_id, file_id, seq),
	FOREIGN KEY (workspace_id, file_id) REFERENCES knowledge_files (workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX knowledge_passages_agent ON knowledge_passages (workspace_id, agent_id);

CREATE VIRTUAL TABLE knowledge_fts USING fts5(
	text, content='knowledge_passages', content_rowid='pk',
	tokenize='unicode61 remove_diacritics 2'
);
CREATE TRIGGER knowledge_passages_ai AFTER INSERT ON knowledge_passages BEGIN
	INSERT INTO knowledge_fts (rowid, text) VALUES (new.pk, new.text);
END;
CREATE TRIGGER knowledge_passages_ad AFTER DELETE ON knowledge_passages BEGIN
	INSERT INTO knowledge_fts (knowledge_fts, rowid, text) VALUES ('delete', old.pk, old.text);
END;
CREATE TRIGGER knowledge_passages_au AFTER UPDATE ON knowledge_passages BEGIN
	INSERT INTO knowledge_fts (knowledge_fts, rowid, text) VALUES ('delete', old.pk, old.text);
	INSERT INTO knowledge_fts (rowid, text) VALUES (new.pk, new.text);
END;
