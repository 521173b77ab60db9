package api

import (
	"io"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"unicode"

	"github.com/plaza-crm/plaza"
)

// handleMessageMedia streams the media of one of the workspace's messages
// (an image, audio, video, document or sticker a customer sent, or a file
// the workspace uploaded) from Meta to the caller, as Meta serves it: its
// Content-Type and Content-Length, nothing held in memory.
//
// The answer is private: shared caches must not keep it, and a browser
// must not render it as a page of Plaza's origin (a customer chooses what
// they send), so it comes as an attachment, with no sniffing, in a
// sandbox.
func (s *Server) handleMessageMedia(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("messageId")
	c, err := s.Media.OpenMessageMedia(r.Context(), id)
	if err != nil {
		return err
	}
	defer c.Body.Close()
	contentType := safeContentType(c.ContentType)
	h := w.Header()
	h.Set("Content-Type", contentType)
	if c.Length >= 0 {
		h.Set("Content-Length", strconv.FormatInt(c.Length, 10))
	}
	h.Set("Content-Disposition", contentDisposition(c.FileName, id, contentType))
	h.Set("Cache-Control", "private, no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return nil
	}
	if _, err := io.Copy(w, c.Body); err != nil {
		// The status is sent: cut the connection, so the client cannot
		// take a truncated file for the whole one.
		s.logger(r).Warn("media: streaming from Meta failed", "message_id", id, "err", err.Error())
		panic(http.ErrAbortHandler)
	}
	return nil
}

// safeContentType is Meta's Content-Type, reformatted; a value that is
// not a MIME type becomes application/octet-stream.
func safeContentType(ct string) string {
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || !strings.Contains(mt, "/") {
		return "application/octet-stream"
	}
	if f := mime.FormatMediaType(mt, params); f != "" {
		return f
	}
	return mt
}

// contentDisposition names the download: the document's own file name,
// made safe (no path, no control characters, RFC 2231-encoded when not
// ASCII), else the message id with the extension of its type.
func contentDisposition(fileName, messageID, contentType string) string {
	name := strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '/' || r == '\\' || r == '"' {
			return '_'
		}
		return r
	}, path.Base(strings.ReplaceAll(strings.TrimSpace(fileName), "\\", "/")))
	if name == "" || name == "." || name == "/" || name == ".." {
		name = messageID + plaza.FileExtension(contentType)
	}
	if v := mime.FormatMediaType("attachment", map[string]string{"filename": name}); v != "" {
		return v
	}
	return "attachment"
}
