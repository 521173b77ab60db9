package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/plaza-crm/plaza"
)

// DefaultMaxFileSendBytes is the default limit of a file send's
// multipart body: WhatsApp's largest file (a 100 MB document) and room for
// the form around it. Each file is held to its own type's limit as it is
// read.
const DefaultMaxFileSendBytes = plaza.MaxDocumentSize + 1<<20

// fileSendReadTimeout is how long a client may take to send a file
// send's body: at the server's usual read timeout a 100 MB file would
// need a fast line.
const fileSendReadTimeout = 15 * time.Minute

// fileSendRoutes are the routes that take a file to send in a multipart
// body.
var fileSendRoutes = map[string]bool{"POST /api/message/files": true}

// isFileSend reports whether r is a multipart body to a file send route,
// which gets MaxFileSendBytes and fileSendReadTimeout.
func isFileSend(r *http.Request) bool {
	return fileSendRoutes[r.Pattern] && isMultipart(r)
}

func isMultipart(r *http.Request) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mt == "multipart/form-data"
}

func (s *Server) maxFileSendBytes() int64 {
	if s.MaxFileSendBytes > 0 {
		return s.MaxFileSendBytes
	}
	return DefaultMaxFileSendBytes
}

// handleMessageFiles is Plazbot's Send File (POST /api/message/files): a
// file to the contact inside the 24-hour window, uploaded in a
// multipart/form-data body (contentFile) or given as a public link
// (contentUrl, in a form or a JSON body). An uploaded file is spooled to
// a temporary file as it arrives, checked, uploaded to Meta, and removed.
func (s *Server) handleMessageFiles(w http.ResponseWriter, r *http.Request) error {
	var in plaza.MessageFileSend
	if isMultipart(r) {
		cleanup, err := readFileForm(r, &in)
		defer cleanup()
		if err != nil {
			return err
		}
	} else {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return bodyReadError(err)
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		if err := decode(r, &in); err != nil {
			return err
		}
		var peek struct {
			ContentFile json.RawMessage `json:"contentFile"`
		}
		json.Unmarshal(body, &peek)
		if len(peek.ContentFile) > 0 && string(peek.ContentFile) != "null" {
			return plaza.Invalid(plaza.FieldError{Field: "contentFile",
				Message: "contentFile must be a file in a multipart/form-data body; a JSON body gives the file by contentUrl."})
		}
	}
	sent, err := s.Media.SendWhatsAppFile(r.Context(), in)
	if err != nil {
		return err
	}
	return ok(w, "Message sent successfully.", sent)
}

// Limits of a file send's form besides its file.
const (
	maxFormField = 64 << 10
	maxFormParts = 64
)

// fileFormFields are the form's text fields, by lower-cased name.
var fileFormFields = map[string]func(in *plaza.MessageFileSend) *string{
	"workspaceid":            nil, // checked against the request's workspace
	"recipientphone":         func(in *plaza.MessageFileSend) *string { return &in.RecipientPhone },
	"contactid":              func(in *plaza.MessageFileSend) *string { return &in.ContactID },
	"content":                func(in *plaza.MessageFileSend) *string { return &in.Content },
	"contenturl":             func(in *plaza.MessageFileSend) *string { return &in.ContentURL },
	"mimetype":               func(in *plaza.MessageFileSend) *string { return &in.MimeType },
	"filename":               func(in *plaza.MessageFileSend) *string { return &in.FileName },
	"externalreferenceid":    func(in *plaza.MessageFileSend) *string { return &in.ExternalReferenceID },
	"agentsendedid":          func(in *plaza.MessageFileSend) *string { return &in.AgentSendedID },
	"internalwhatsappnumber": func(in *plaza.MessageFileSend) *string { return &in.InternalWhatsappNumber },
	"numberid":               func(in *plaza.MessageFileSend) *string { return &in.NumberID },
}

// readFileForm reads a file send's multipart body part by part: text
// fields (names case-insensitive, unknown ones ignored) into in, and the
// contentFile part into a temporary file, refused without being kept when
// its type is not one WhatsApp carries or once it passes its type's size
// limit (the reason goes in in.FileError, for Validate to report with the
// other fields). The returned cleanup removes the temporary file; it is
// never nil.
func readFileForm(r *http.Request, in *plaza.MessageFileSend) (cleanup func(), err error) {
	var tmp *os.File
	cleanup = func() {
		if tmp != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}
	mr, err := r.MultipartReader()
	if err != nil {
		return cleanup, plaza.Invalid(plaza.FieldError{Field: "body", Message: "The request body is not multipart/form-data with a boundary."})
	}
	formWorkspace := ""
	for parts := 0; ; parts++ {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return cleanup, formError(err)
		}
		if parts == maxFormParts {
			return cleanup, plaza.Invalid(plaza.FieldError{Field: "body", Message: fmt.Sprintf("The form has more than %d parts.", maxFormParts)})
		}
		name := strings.ToLower(part.FormName())
		if name == "contentfile" && part.FileName() != "" {
			if in.File != nil || in.FileError != "" {
				return cleanup, plaza.Invalid(plaza.FieldError{Field: "contentFile", Message: "contentFile is sent twice: send one file."})
			}
			declared := part.Header.Get("Content-Type")
			mimeType := plaza.FileMimeType(declared, part.FileName())
			typ, max, ok := plaza.SendableFile(mimeType)
			if !ok {
				in.FileError = plaza.FileTypeError(declared, part.FileName())
				continue // the rest of the part is skipped, not kept
			}
			if tmp, err = os.CreateTemp("", "plaza-upload-*"); err != nil {
				return cleanup, err
			}
			n, err := io.Copy(tmp, io.LimitReader(part, max+1))
			if err != nil {
				return cleanup, formError(err)
			}
			if n > max {
				in.FileError = plaza.FileSizeError(typ, max)
				continue
			}
			if _, err := tmp.Seek(0, io.SeekStart); err != nil {
				return cleanup, err
			}
			in.File = &plaza.FileUpload{Name: part.FileName(), MimeType: mimeType, Size: n, Body: tmp}
			continue
		}
		value, err := io.ReadAll(io.LimitReader(part, maxFormField+1))
		if err != nil {
			return cleanup, formError(err)
		}
		if len(value) > maxFormField {
			return cleanup, plaza.Invalid(plaza.FieldError{Field: part.FormName(), Message: fmt.Sprintf("%s is longer than %d bytes.", part.FormName(), maxFormField)})
		}
		switch field, known := fileFormFields[name]; {
		case name == "contentfile":
			if len(bytes.TrimSpace(value)) > 0 { // an empty one is a form's empty file input
				in.FileError = "contentFile must be a file (a form part with a filename), not text."
			}
		case name == "workspaceid":
			formWorkspace = strings.TrimSpace(string(value))
		case known:
			*field(in) = string(value)
		}
	}
	if p := plaza.PrincipalFromContext(r.Context()); formWorkspace != "" && p != nil && formWorkspace != p.WorkspaceID {
		return cleanup, plaza.Invalid(plaza.FieldError{Field: "workspaceId",
			Message: fmt.Sprintf("The workspaceId in the form (%s) is not the workspace of the request (%s).", formWorkspace, p.WorkspaceID)})
	}
	return cleanup, nil
}

// formError is the error of a multipart body that could not be read.
func formError(err error) error {
	var tooLarge *http.MaxBytesError
	var disk *os.PathError
	switch {
	case errors.As(err, &tooLarge):
		return bodyReadError(err)
	case errors.As(err, &disk):
		return err // the temporary file: Plaza's failure, not the client's
	}
	return plaza.Invalid(plaza.FieldError{Field: "body", Message: "The multipart/form-data body could not be read: " + err.Error() + "."})
}
