package plaza

import "context"

// Knowledge: an agent's files (a URL Plaza fetches, or an upload) are
// extracted to text, cut into passages and indexed for full-text search,
// on the durable queue: a file is "processing" until the job stores its
// passages ("ready") or gives up ("failed", with the reason).

// Knowledge file statuses.
const (
	KnowledgeProcessing = "processing"
	KnowledgeReady      = "ready"
	KnowledgeFailed     = "failed"
)

// KnowledgeFile is one of an agent's knowledge files.
type KnowledgeFile struct {
	ID          string   `json:"fileId"`
	AgentID     string   `json:"agentId"`
	WorkspaceID string   `json:"workspaceId"`
	FileURL     *string  `json:"fileUrl"`
	FileName    string   `json:"fileName"`
	Reference   string   `json:"reference"`
	Tags        []string `json:"tags"`
	// Status is processing, ready or failed; Error says why it failed.
	Status   string  `json:"status"`
	Error    *string `json:"error"`
	Size     int64   `json:"size"`
	Passages int     `json:"passages"`

	CreationDate Time `json:"creationDate"`
	UpdatedDate  Time `json:"updatedDate"`
}

// KnowledgeFileCreate adds a file to an agent: by URL (FileURL, fetched by
// the job) or by upload (Content, with its FileName and ContentType).
type KnowledgeFileCreate struct {
	AgentID     string
	FileURL     string
	Reference   string
	Tags        []string
	FileName    string
	ContentType string
	Content     []byte
}

// KnowledgeService manages the caller's agents' knowledge files.
type KnowledgeService interface {
	// AddKnowledgeFile records the file as processing and enqueues its
	// indexing in the same transaction. EINVALID naming the field (no
	// agentId, no FileUrl nor content, a URL that is not http(s) or
	// names a refused address); ENOTFOUND for another workspace's agent.
	AddKnowledgeFile(ctx context.Context, in KnowledgeFileCreate) (*KnowledgeFile, error)
	// GetKnowledgeFile returns one of the caller's files. ENOTFOUND.
	GetKnowledgeFile(ctx context.Context, id string) (*KnowledgeFile, error)
	// ListKnowledgeFiles lists an agent's files, oldest first.
	ListKnowledgeFiles(ctx context.Context, agentID string) ([]KnowledgeFile, error)
	// DeleteKnowledgeFile deletes an agent's file and its passages.
	// ENOTFOUND unless the file is the agent's, in the caller's
	// workspace.
	DeleteKnowledgeFile(ctx context.Context, agentID, id string) error
}

// KnowledgeIndexJob asks for a knowledge file to be fetched (when it came
// by URL), extracted, chunked and indexed. It is a job on the durable
// queue.
type KnowledgeIndexJob struct {
	WorkspaceID string `json:"workspaceId"`
	FileID      string `json:"fileId"`
}

// Kind names the job on the queue.
func (KnowledgeIndexJob) Kind() string { return "knowledge_index" }

// KnowledgeSource is what the indexing job reads: the file, and its
// uploaded bytes (nil for a file by URL).
type KnowledgeSource struct {
	File        KnowledgeFile
	ContentType string
	Content     []byte
}

// KnowledgeIndexer is the storage side of the indexing job.
type KnowledgeIndexer interface {
	// KnowledgeSource returns a file to index. ENOTFOUND when it was
	// deleted meanwhile.
	KnowledgeSource(ctx context.Context, workspaceID, fileID string) (*KnowledgeSource, error)
	// StoreKnowledgePassages replaces the file's passages and marks it
	// ready, dropping its uploaded bytes. ENOTFOUND when it was deleted
	// meanwhile.
	StoreKnowledgePassages(ctx context.Context, workspaceID, fileID string, size int64, passages []string) error
	// FailKnowledgeFile marks the file failed with a reason shown to the
	// client.
	FailKnowledgeFile(ctx context.Context, workspaceID, fileID, reason string) error
}

// Passage is a piece of an agent's knowledge found by a search. Rank is
// larger for better matches (comparable within one search only).
type Passage struct {
	FileID    string  `json:"fileId"`
	Reference string  `json:"reference"`
	Text      string  `json:"text"`
	Rank      float64 `json:"rank"`
}
