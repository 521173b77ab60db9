package api

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/plaza-crm/plaza"
)

// Knowledge files of agents, as Plazbot's SDK calls them (PascalCase keys:
// WorkspaceId, FileUrl, Reference, AgentId, Tags; bound case-insensitively
// like every key).

func (s *Server) handleAgentFileAdd(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		FileURL   *string  `json:"FileUrl"`
		Reference *string  `json:"Reference"`
		AgentID   *string  `json:"AgentId"`
		Tags      []string `json:"Tags"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	var v plaza.Validator
	v.Check(in.AgentID != nil && strings.TrimSpace(*in.AgentID) != "", "AgentId", "AgentId is required.")
	v.Check(in.FileURL != nil && strings.TrimSpace(*in.FileURL) != "", "FileUrl", "FileUrl is required.")
	if err := v.Err(); err != nil {
		return err
	}
	f, err := s.Knowledge.AddKnowledgeFile(r.Context(), plaza.KnowledgeFileCreate{AgentID: *in.AgentID, FileURL: *in.FileURL,
		Reference: deref(in.Reference), Tags: in.Tags})
	if err != nil {
		return err
	}
	return okAgent(w, "File added; it is being processed.", f, agentEnvelope{FileID: f.ID})
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return strings.TrimSpace(*s)
}

// handleAgentFileAddDirect takes an upload: multipart/form-data with the
// file (part "file") and agentId, optionally reference and tags (repeated,
// comma-separated or a JSON array). Its body may be up to MaxUploadBytes.
func (s *Server) handleAgentFileAddDirect(w http.ResponseWriter, r *http.Request) error {
	mediaType, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mediaType != "multipart/form-data" {
		return plaza.Invalid(plaza.FieldError{Field: "body", Message: "The request body must be multipart/form-data with the file in a part named file."})
	}
	if err := r.ParseMultipartForm(8 << 20); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return plaza.Errorf(plaza.ETOOLARGE, "The upload is larger than %d bytes.", tooLarge.Limit)
		}
		return plaza.Invalid(plaza.FieldError{Field: "body", Message: "The multipart body cannot be read: " + err.Error() + "."})
	}
	defer r.MultipartForm.RemoveAll()
	form := func(name string) []string {
		for k, vs := range r.MultipartForm.Value {
			if strings.EqualFold(k, name) {
				return vs
			}
		}
		return nil
	}
	first := func(name string) string {
		if vs := form(name); len(vs) > 0 {
			return strings.TrimSpace(vs[0])
		}
		return ""
	}
	p, err := plaza.RequireWorkspace(r.Context())
	if err != nil {
		return err
	}
	if ws := first("workspaceId"); ws != "" && ws != p.WorkspaceID {
		return plaza.Invalid(plaza.FieldError{Field: "workspaceId", Message: "The workspaceId of the form does not match the request's workspace (" + p.WorkspaceID + ")."})
	}
	var v plaza.Validator
	agentID := first("agentId")
	v.Required(agentID, "agentId")
	var file []byte
	var fileName, contentType string
	for k, fhs := range r.MultipartForm.File {
		if !strings.EqualFold(k, "file") || len(fhs) == 0 {
			continue
		}
		fh := fhs[0]
		f, err := fh.Open()
		if err != nil {
			return err
		}
		file, err = io.ReadAll(f)
		f.Close()
		if err != nil {
			return err
		}
		fileName, contentType = fh.Filename, fh.Header.Get("Content-Type")
	}
	v.Check(file != nil, "file", "file is required: send the document in a part named file.")
	if err := v.Err(); err != nil {
		return err
	}
	var tags []string
	for _, t := range form("tags") {
		var list []string
		if json.Unmarshal([]byte(t), &list) == nil {
			tags = append(tags, list...)
			continue
		}
		for _, part := range strings.Split(t, ",") {
			if part = strings.TrimSpace(part); part != "" {
				tags = append(tags, part)
			}
		}
	}
	f, err := s.Knowledge.AddKnowledgeFile(r.Context(), plaza.KnowledgeFileCreate{AgentID: agentID, Reference: first("reference"),
		Tags: tags, FileName: fileName, ContentType: contentType, Content: file})
	if err != nil {
		return err
	}
	return okAgent(w, "File added; it is being processed.", f, agentEnvelope{FileID: f.ID})
}

// handleAgentFileValidate answers a file's status: processing, ready or
// failed (with the error).
func (s *Server) handleAgentFileValidate(w http.ResponseWriter, r *http.Request) error {
	id := query(r, "FileId")
	if id == "" {
		return plaza.Invalid(plaza.FieldError{Field: "FileId", Message: "FileId is required."})
	}
	f, err := s.Knowledge.GetKnowledgeFile(r.Context(), id)
	if err != nil {
		return err
	}
	msg := map[string]string{plaza.KnowledgeProcessing: "The file is being processed.", plaza.KnowledgeReady: "The file is ready.",
		plaza.KnowledgeFailed: "The file could not be processed."}[f.Status]
	return okAgent(w, msg, f, agentEnvelope{FileID: f.ID})
}

// handleAgentFileDelete deletes a file and its passages: a JSON body
// {WorkspaceId, AgentId, FileId}, as the SDK sends it.
func (s *Server) handleAgentFileDelete(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		AgentID *string `json:"AgentId"`
		FileID  *string `json:"FileId"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	var v plaza.Validator
	v.Required(deref(in.AgentID), "AgentId")
	v.Required(deref(in.FileID), "FileId")
	if err := v.Err(); err != nil {
		return err
	}
	if err := s.Knowledge.DeleteKnowledgeFile(r.Context(), deref(in.AgentID), deref(in.FileID)); err != nil {
		return err
	}
	return ok(w, "File deleted successfully.", map[string]string{"fileId": deref(in.FileID)})
}
