package sqldb

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"path"
	"strings"

	"github.com/riverqueue/river"

	"github.com/plaza-crm/plaza"
	"github.com/plaza-crm/plaza/extract"
)

// KnowledgeService implements plaza.KnowledgeService for the API and
// plaza.KnowledgeIndexer for the indexing job.
type KnowledgeService struct {
	db *DB
	// checkURL refuses, when a file is added, a URL whose host is a
	// refused address (the fetch guard checks again when dialling).
	checkURL func(*url.URL) error
}

// NewKnowledgeService returns the knowledge service of db; checkURL (may be
// nil) vets the URLs of files added by URL.
func NewKnowledgeService(db *DB, checkURL func(*url.URL) error) *KnowledgeService {
	return &KnowledgeService{db: db, checkURL: checkURL}
}

var (
	_ plaza.KnowledgeService = (*KnowledgeService)(nil)
	_ plaza.KnowledgeIndexer = (*KnowledgeService)(nil)
)

// knowledgeJobAttempts is how often a file's indexing is tried: a URL that
// times out or answers 5xx gets two more chances.
const knowledgeJobAttempts = 3

// AddKnowledgeFile records a file and enqueues its indexing.
func (s *KnowledgeService) AddKnowledgeFile(ctx context.Context, in plaza.KnowledgeFileCreate) (*plaza.KnowledgeFile, error) {
	p, err := plaza.RequireWorkspace(ctx)
	if err != nil {
		return nil, err
	}
	var v plaza.Validator
	v.Required(strings.TrimSpace(in.AgentID), "agentId")
	f := &plaza.KnowledgeFile{ID: newID(), AgentID: strings.TrimSpace(in.AgentID), WorkspaceID: p.WorkspaceID,
		FileName: in.FileName, Reference: in.Reference, Tags: in.Tags, Status: plaza.KnowledgeProcessing,
		Size: int64(len(in.Content))}
	if f.Tags == nil {
		f.Tags = []string{}
	}
	contentType := in.ContentType
	if in.Content == nil {
		u, err := url.Parse(strings.TrimSpace(in.FileURL))
		switch {
		case strings.TrimSpace(in.FileURL) == "":
			v.Check(false, "fileUrl", "fileUrl is required.")
		case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
			v.Check(false, "fileUrl", "fileUrl must be an absolute http or https URL.")
		case s.checkURL != nil && s.checkURL(u) != nil:
			v.Check(false, "fileUrl", "fileUrl is refused: "+s.checkURL(u).Error()+".")
		default:
			fileURL := u.String()
			f.FileURL = &fileURL
			if f.FileName == "" {
				f.FileName = path.Base(u.Path)
				if f.FileName == "/" || f.FileName == "." {
					f.FileName = ""
				}
			}
		}
	} else if len(in.Content) > extract.MaxDocumentSize {
		return nil, plaza.Errorf(plaza.ETOOLARGE, "The file is larger than %d MiB.", extract.MaxDocumentSize>>20)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	tags, err := json.Marshal(f.Tags)
	if err != nil {
		return nil, err
	}
	err = s.db.inTx(ctx, func(tx *Tx) error {
		if _, err := findAgent(ctx, tx, p.WorkspaceID, f.AgentID, false); err != nil {
			return err
		}
		f.CreationDate, f.UpdatedDate = plaza.NewTime(tx.now), plaza.NewTime(tx.now)
		if _, err := tx.ExecContext(ctx, `INSERT INTO knowledge_files (workspace_id, id, agent_id, file_url, file_name,
			content_type, content, reference, tags, status, size, passages, creation_date, updated_date)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 0, $12, $12)`,
			f.WorkspaceID, f.ID, f.AgentID, f.FileURL, f.FileName, contentType, in.Content, f.Reference, string(tags),
			f.Status, f.Size, tx.now); err != nil {
			return fmt.Errorf("insert knowledge file: %w", err)
		}
		return tx.enqueue(ctx, plaza.KnowledgeIndexJob{WorkspaceID: f.WorkspaceID, FileID: f.ID},
			&river.InsertOpts{MaxAttempts: knowledgeJobAttempts})
	})
	if err != nil {
		return nil, err
	}
	return f, nil
}

const knowledgeFileColumns = `workspace_id, id, agent_id, file_url, file_name, reference, tags, status, error, size,
	passages, creation_date, updated_date`

func scanKnowledgeFile(row scanner, extra ...any) (*plaza.KnowledgeFile, error) {
	var f plaza.KnowledgeFile
	var tags string
	var created, updated sqlTime
	dest := append([]any{&f.WorkspaceID, &f.ID, &f.AgentID, &f.FileURL, &f.FileName, &f.Reference, &tags, &f.Status,
		&f.Error, &f.Size, &f.Passages, &created, &updated}, extra...)
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(tags), &f.Tags); err != nil || f.Tags == nil {
		f.Tags = []string{}
	}
	f.CreationDate, f.UpdatedDate = created.plaza(), updated.plaza()
	return &f, nil
}

func fileNotFound(err error) error {
	if err = normalize(err); plaza.ErrorCode(err) == plaza.ENOTFOUND {
		return plaza.Errorf(plaza.ENOTFOUND, "File not found.")
	}
	return err
}

// GetKnowledgeFile returns one of the caller's files.
func (s *KnowledgeService) GetKnowledgeFile(ctx context.Context, id string) (*plaza.KnowledgeFile, error) {
	p, err := plaza.RequireWorkspace(ctx)
	if err != nil {
		return nil, err
	}
	f, err := scanKnowledgeFile(s.db.read.QueryRowContext(ctx, `SELECT `+knowledgeFileColumns+`
		FROM knowledge_files WHERE workspace_id = $1 AND id = $2`, p.WorkspaceID, id))
	if err != nil {
		return nil, fileNotFound(err)
	}
	return f, nil
}

// ListKnowledgeFiles lists an agent's files, oldest first.
func (s *KnowledgeService) ListKnowledgeFiles(ctx context.Context, agentID string) ([]plaza.KnowledgeFile, error) {
	p, err := plaza.RequireWorkspace(ctx)
	if err != nil {
		return nil, err
	}
	scan := func(row scanner) (*plaza.KnowledgeFile, error) { return scanKnowledgeFile(row) }
	return queryAll(ctx, s.db.read, scan, `SELECT `+knowledgeFileColumns+` FROM knowledge_files
		WHERE workspace_id = $1 AND agent_id = $2 ORDER BY creation_date, id`, p.WorkspaceID, agentID)
}

// DeleteKnowledgeFile deletes an agent's file and its passages.
func (s *KnowledgeService) DeleteKnowledgeFile(ctx context.Context, agentID, id string) error {
	p, err := plaza.RequireWorkspace(ctx)
	if err != nil {
		return err
	}
	return s.db.inTx(ctx, func(tx *Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM knowledge_passages WHERE workspace_id = $1 AND agent_id = $2 AND file_id = $3`,
			p.WorkspaceID, agentID, id); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM knowledge_files WHERE workspace_id = $1 AND agent_id = $2 AND id = $3`,
			p.WorkspaceID, agentID, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return plaza.Errorf(plaza.ENOTFOUND, "File not found.")
		}
		return nil
	})
}

// KnowledgeSource returns a file to index, with its uploaded bytes.
func (s *KnowledgeService) KnowledgeSource(ctx context.Context, workspaceID, fileID string) (*plaza.KnowledgeSource, error) {
	var src plaza.KnowledgeSource
	f, err := scanKnowledgeFile(s.db.read.QueryRowContext(ctx, `SELECT `+knowledgeFileColumns+`, content_type, content
		FROM knowledge_files WHERE workspace_id = $1 AND id = $2`, workspaceID, fileID), &src.ContentType, &src.Content)
	if err != nil {
		return nil, fileNotFound(err)
	}
	src.File = *f
	return &src, nil
}

// passageBatch is how many passages one INSERT writes.
const passageBatch = 100

// StoreKnowledgePassages replaces a file's passages and marks it ready.
func (s *KnowledgeService) StoreKnowledgePassages(ctx context.Context, workspaceID, fileID string, size int64, passages []string) error {
	return s.db.inTx(ctx, func(tx *Tx) error {
		lock := ""
		if tx.db.Dialect == Postgres {
			lock = " FOR UPDATE"
		}
		var agentID string
		if err := tx.QueryRowContext(ctx, `SELECT agent_id FROM knowledge_files WHERE workspace_id = $1 AND id = $2`+lock,
			workspaceID, fileID).Scan(&agentID); err != nil {
			return fileNotFound(err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM knowledge_passages WHERE workspace_id = $1 AND file_id = $2`,
			workspaceID, fileID); err != nil {
			return err
		}
		for start := 0; start < len(passages); start += passageBatch {
			batch := passages[start:min(start+passageBatch, len(passages))]
			if err := tx.insertPassages(ctx, workspaceID, agentID, fileID, start, batch); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, `UPDATE knowledge_files SET status = $3, error = NULL, size = $4, passages = $5,
			content = NULL, updated_date = $6 WHERE workspace_id = $1 AND id = $2`,
			workspaceID, fileID, plaza.KnowledgeReady, size, len(passages), tx.now)
		return err
	})
}

// insertPassages writes passages numbered from first.
func (tx *Tx) insertPassages(ctx context.Context, workspaceID, agentID, fileID string, first int, texts []string) error {
	cols, per := `workspace_id, agent_id, file_id, seq, text`, 5
	if tx.db.Dialect == Postgres {
		cols, per = cols+`, search_text`, 6
	}
	values := make([]string, len(texts))
	args := make([]any, 0, len(texts)*per)
	for i, text := range texts {
		values[i] = "(" + placeholders(len(args)+1, per) + ")"
		args = append(args, workspaceID, agentID, fileID, first+i, text)
		if tx.db.Dialect == Postgres {
			args = append(args, foldText(text))
		}
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO knowledge_passages (`+cols+`) VALUES `+strings.Join(values, ", "), args...)
	if err != nil {
		return fmt.Errorf("insert passages: %w", err)
	}
	return nil
}

// FailKnowledgeFile marks a file that is still processing failed.
func (s *KnowledgeService) FailKnowledgeFile(ctx context.Context, workspaceID, fileID, reason string) error {
	return s.db.inTx(ctx, func(tx *Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE knowledge_files SET status = $3, error = $4, content = NULL, updated_date = $5
			WHERE workspace_id = $1 AND id = $2 AND status = $6`,
			workspaceID, fileID, plaza.KnowledgeFailed, reason, tx.now, plaza.KnowledgeProcessing)
		return err
	})
}

// copyKnowledge copies an agent's ready files and their passages to
// another agent of the workspace.
func (tx *Tx) copyKnowledge(ctx context.Context, workspaceID, fromAgent, toAgent string) error {
	rows, err := tx.QueryContext(ctx, `SELECT id FROM knowledge_files WHERE workspace_id = $1 AND agent_id = $2 AND status = $3
		ORDER BY creation_date, id`, workspaceID, fromAgent, plaza.KnowledgeReady)
	if err != nil {
		return err
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return err
		}
		ids = append(ids, id)
	}
	if err := closeRows(rows); err != nil {
		return err
	}
	search := ""
	if tx.db.Dialect == Postgres {
		search = ", search_text"
	}
	for _, id := range ids {
		newFile := newID()
		if _, err := tx.ExecContext(ctx, `INSERT INTO knowledge_files (workspace_id, id, agent_id, file_url, file_name,
			content_type, reference, tags, status, size, passages, creation_date, updated_date)
			SELECT workspace_id, $3, $4, file_url, file_name, content_type, reference, tags, status, size, passages, $5, $5
			FROM knowledge_files WHERE workspace_id = $1 AND id = $2`, workspaceID, id, newFile, toAgent, tx.now); err != nil {
			return fmt.Errorf("copy knowledge file: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO knowledge_passages (workspace_id, agent_id, file_id, seq, text`+search+`)
			SELECT workspace_id, $3, $4, seq, text`+search+` FROM knowledge_passages WHERE workspace_id = $1 AND file_id = $2`,
			workspaceID, id, toAgent, newFile); err != nil {
			return fmt.Errorf("copy passages: %w", err)
		}
	}
	return nil
}
