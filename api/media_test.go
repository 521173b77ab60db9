package api_test

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/plaza-crm/plaza/messaging"
	"github.com/plaza-crm/plaza/sqldb"
	"github.com/plaza-crm/plaza/sqldb/sqldbtest"
	"github.com/plaza-crm/plaza/whatsapp"
)

// mediaGraph is the media side of the local Graph API, as Meta documents
// it: GET /{media-id} answers the media_url_response fixture (its URL on
// this server), the URL serves the file to the access token, and POST
// /{phone-number-id}/media takes a multipart upload and answers the
// media_upload_response fixture. Guarded by graphServer.mu.
type mediaGraph struct {
	files     map[string]mediaFile // by media id
	lookups   []graphCall          // GET /{media-id}
	downloads []graphCall          // GET of the download URL
	uploads   []mediaUpload
	// uploadAnswer, when set, answers uploads instead.
	uploadAnswer func(w http.ResponseWriter, r *http.Request)
}

type mediaFile struct {
	MimeType string
	Data     []byte
}

// mediaUpload is one upload as the Graph server read it.
type mediaUpload struct {
	Path, Authorization           string
	MessagingProduct, Type        string
	FileName, FileType            string
	File                          []byte
	FieldOrder                    []string
	ContentLength, BodyLengthRead int64
}

// addMedia makes the Graph server hold a file under a media id.
func (g *graphServer) addMedia(id, mimeType string, data []byte) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.media.files == nil {
		g.media.files = map[string]mediaFile{}
	}
	g.media.files[id] = mediaFile{MimeType: mimeType, Data: data}
}

func (g *graphServer) mediaCalls() (lookups, downloads []graphCall, uploads []mediaUpload) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]graphCall(nil), g.media.lookups...), append([]graphCall(nil), g.media.downloads...),
		append([]mediaUpload(nil), g.media.uploads...)
}

// serveMedia answers the media endpoints; false for any other request.
func (g *graphServer) serveMedia(w http.ResponseWriter, r *http.Request) bool {
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/v23.0/"), "/")
	switch {
	case r.Method == "GET" && strings.HasPrefix(r.URL.Path, "/v23.0/") && len(parts) == 1:
		g.mu.Lock()
		g.media.lookups = append(g.media.lookups, graphCall{Path: r.URL.Path, Authorization: r.Header.Get("Authorization")})
		f, ok := g.media.files[parts[0]]
		g.mu.Unlock()
		if !ok {
			metaAnswer(g.t, http.StatusNotFound, "send/error_100_invalid_parameter.json")(w, r)
			return true
		}
		var info map[string]any
		if err := json.Unmarshal(fixture(g.t, "send/media_url_response.json"), &info); err != nil {
			g.t.Fatal(err)
		}
		// The fixture's answer, for this file, at this server's address.
		u, _ := url.Parse(info["url"].(string))
		q := u.Query()
		q.Set("mid", parts[0])
		info["url"] = "http://" + r.Host + u.Path + "?" + q.Encode()
		info["id"], info["mime_type"], info["file_size"] = parts[0], f.MimeType, len(f.Data)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(info)
	case r.Method == "GET" && r.URL.Path == "/whatsapp_business/attachments/":
		g.mu.Lock()
		g.media.downloads = append(g.media.downloads, graphCall{Path: r.URL.RequestURI(), Authorization: r.Header.Get("Authorization")})
		f, ok := g.media.files[r.URL.Query().Get("mid")]
		g.mu.Unlock()
		if !ok || !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer EAAG-token-") {
			http.Error(w, "forbidden", http.StatusForbidden)
			return true
		}
		w.Header().Set("Content-Type", f.MimeType)
		w.Header().Set("Content-Length", strconv.Itoa(len(f.Data)))
		w.Write(f.Data)
	case r.Method == "POST" && len(parts) == 2 && parts[1] == "media":
		up := mediaUpload{Path: r.URL.Path, Authorization: r.Header.Get("Authorization"), ContentLength: r.ContentLength}
		body, _ := io.ReadAll(r.Body)
		up.BodyLengthRead = int64(len(body))
		_, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if err != nil {
			g.t.Errorf("upload Content-Type %q: %v", r.Header.Get("Content-Type"), err)
		}
		mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
		for {
			p, err := mr.NextPart()
			if err == io.EOF {
				break
			} else if err != nil {
				g.t.Errorf("upload body: %v", err)
				break
			}
			data, _ := io.ReadAll(p)
			up.FieldOrder = append(up.FieldOrder, p.FormName())
			switch p.FormName() {
			case "messaging_product":
				up.MessagingProduct = string(data)
			case "type":
				up.Type = string(data)
			case "file":
				up.FileName, up.FileType, up.File = p.FileName(), p.Header.Get("Content-Type"), data
			}
		}
		g.mu.Lock()
		n := len(g.media.uploads)
		g.media.uploads = append(g.media.uploads, up)
		answer := g.media.uploadAnswer
		id := strconv.Itoa(1000000000000901 + n)
		if answer == nil {
			if g.media.files == nil {
				g.media.files = map[string]mediaFile{}
			}
			g.media.files[id] = mediaFile{MimeType: up.Type, Data: up.File}
		}
		g.mu.Unlock()
		if answer != nil {
			answer(w, r)
			return true
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(bytes.ReplaceAll(fixture(g.t, "send/media_upload_response.json"), []byte("1000000000000901"), []byte(id)))
	default:
		return false
	}
	return true
}

// newMediaServer is a send server (see newSendServer) that also sends
// files and serves media through g.
func newMediaServer(t *testing.T, dsn string, g *graphServer, cfg messaging.OutboxConfig) *testServer {
	t.Helper()
	ts := newSendServer(t, dsn, g, cfg)
	ts.API.Media = &messaging.Media{Store: sqldb.NewMediaStore(ts.DB), Numbers: sqldb.NewWhatsAppNumberService(ts.DB, testSecret),
		Graph: &whatsapp.Client{BaseURL: g.URL}, Outbox: ts.API.Outbound.(*messaging.Outbox)}
	return ts
}

type fileJSON struct {
	Type, URL                                    string
	MediaID, MimeType, FileName, Caption, SHA256 *string
}

type mediaMessageJSON struct {
	messageJSON
	Files []fileJSON
}

// mediaMessages lists a conversation's messages with their files.
func (ts *testServer) mediaMessages(a tenant, conversationID string) []mediaMessageJSON {
	ts.t.Helper()
	var list []mediaMessageJSON
	ts.do(req{Method: "GET", Path: "/api/message/get-all?conversationId=" + url.QueryEscape(conversationID), Token: a.APIKey}).
		want(ts.t, http.StatusOK, "").into(ts.t, &list)
	return list
}

func randomBytes(t *testing.T, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// Customers' media are listed as files and streamed to the workspace's
// users from Meta, with the number's token; never to another workspace.
func TestMessageMedia(t *testing.T) {
	t.Parallel()
	sqldbtest.Each(t, func(t *testing.T, dsn string) {
		g := newGraphServer(t)
		ts := newMediaServer(t, dsn, g, messaging.OutboxConfig{})
		a := ts.bootstrap("Acme", "ana@acme.test")
		b := ts.bootstrap("Beta", "bob@beta.test")
		numberID := ts.connectNumber(a, numberA, wabaA, "15550001234", appSecretA)
		jpeg := append([]byte{0xff, 0xd8, 0xff, 0xe0}, randomBytes(t, 182855)...)
		pdf := append([]byte("%PDF-1.7\n"), randomBytes(t, 5000)...)
		g.addMedia("1000000000000101", "image/jpeg", jpeg)
		g.addMedia("1000000000000104", "application/pdf", pdf)
		for _, f := range []string{"inbound/image.json", "inbound/document.json", "inbound/text.json", "inbound/audio.json"} {
			ts.postDelivery(appSecretA, fixture(t, f))
		}
		ts.waitInbox()

		list, _ := ts.conversations(a, "")
		msgs := ts.mediaMessages(a, list[0].ID)
		byWamid := map[string]mediaMessageJSON{}
		for _, m := range msgs {
			byWamid[orEmpty(m.MessageWhatsappID)] = m
		}
		image, doc, text := byWamid["wamid.TEST_IN_IMAGE_0001"], byWamid["wamid.TEST_IN_DOCUMENT_0001"], byWamid["wamid.TEST_IN_TEXT_0001"]
		s := func(v string) *string { return &v }
		wantImage := []fileJSON{{Type: "image", URL: "/api/message/" + image.ID + "/media", MediaID: s("1000000000000101"),
			MimeType: s("image/jpeg"), Caption: s("Así quedó la sala"), SHA256: s("srNC4HU6ZAPpxfeTqDdgKpnVrhtVjNdwECQkkRgOOWA=")}}
		if diff := cmp.Diff(wantImage, image.Files); diff != "" {
			t.Errorf("image files (-want +got):\n%s", diff)
		}
		if len(doc.Files) != 1 || orEmpty(doc.Files[0].FileName) != "comprobante-4521.pdf" || doc.Files[0].Type != "document" {
			t.Errorf("document files %+v", doc.Files)
		}
		if audio := byWamid["wamid.TEST_IN_AUDIO_0001"]; len(audio.Files) != 1 || orEmpty(audio.Files[0].MimeType) != "audio/ogg; codecs=opus" {
			t.Errorf("audio files %+v", audio.Files)
		}
		if len(text.Files) != 0 {
			t.Errorf("text files %+v", text.Files)
		}

		// The image, as Meta serves it.
		r := ts.do(req{Method: "GET", Path: image.Files[0].URL, Token: a.APIKey}).want(t, http.StatusOK, "")
		if !bytes.Equal(r.Body, jpeg) {
			t.Errorf("got %d bytes, want the image's %d", len(r.Body), len(jpeg))
		}
		for k, v := range map[string]string{
			"Content-Type": "image/jpeg", "Content-Length": strconv.Itoa(len(jpeg)),
			"Content-Disposition": `attachment; filename=` + image.ID + `.jpg`, "Cache-Control": "private, no-store",
			"X-Content-Type-Options": "nosniff",
		} {
			if got := r.Header.Get(k); got != v {
				t.Errorf("%s: %q, want %q", k, got, v)
			}
		}
		lookups, downloads, _ := g.mediaCalls()
		if len(lookups) != 1 || lookups[0].Path != "/v23.0/1000000000000101" || lookups[0].Authorization != "Bearer EAAG-token-"+numberA ||
			len(downloads) != 1 || downloads[0].Authorization != "Bearer EAAG-token-"+numberA ||
			!strings.Contains(downloads[0].Path, "hash=ATtestFAKEhash0101") {
			t.Errorf("Graph calls: lookups %+v, downloads %+v", lookups, downloads)
		}
		// The document keeps its name.
		r = ts.do(req{Method: "GET", Path: doc.Files[0].URL, Token: a.APIKey}).want(t, http.StatusOK, "")
		if !bytes.Equal(r.Body, pdf) || r.Header.Get("Content-Type") != "application/pdf" ||
			r.Header.Get("Content-Disposition") != "attachment; filename=comprobante-4521.pdf" {
			t.Errorf("document: %d bytes, headers %v", len(r.Body), r.Header)
		}

		// Another workspace, a message with no media, one unknown: 404,
		// and Meta is not asked.
		ts.do(req{Method: "GET", Path: image.Files[0].URL, Token: b.APIKey}).want(t, http.StatusNotFound, "NOT_FOUND")
		ts.do(req{Method: "GET", Path: "/api/message/" + text.ID + "/media", Token: a.APIKey}).want(t, http.StatusNotFound, "NOT_FOUND")
		ts.do(req{Method: "GET", Path: "/api/message/nope/media", Token: a.APIKey}).want(t, http.StatusNotFound, "NOT_FOUND")
		if lookups, _, _ := g.mediaCalls(); len(lookups) != 2 {
			t.Errorf("Meta was asked %d times, want 2", len(lookups))
		}
		// Meta no longer has the voice note.
		ts.do(req{Method: "GET", Path: "/api/message/" + byWamid["wamid.TEST_IN_AUDIO_0001"].ID + "/media", Token: a.APIKey}).
			want(t, http.StatusNotFound, "NOT_FOUND")

		// Once the number is disconnected its media cannot be fetched.
		ts.do(req{Method: "DELETE", Path: "/api/workspace/" + a.WorkspaceID + "/whatsapp/numbers/" + numberID, Token: a.APIKey}).
			want(t, http.StatusOK, "")
		r = ts.do(req{Method: "GET", Path: image.Files[0].URL, Token: a.APIKey}).want(t, http.StatusUnprocessableEntity, "UNPROCESSABLE")
		if !strings.Contains(r.Message, "disconnected") {
			t.Errorf("message %q", r.Message)
		}
		if lookups, _, _ := g.mediaCalls(); len(lookups) != 3 {
			t.Errorf("Meta was asked %d times, want 3", len(lookups))
		}
	})
}

// formPart is one part of a multipart body: a field, or a file when
// FileName is set.
type formPart struct {
	Name, Value        string
	FileName, FileType string
	File               []byte
}

// multipartBody encodes parts as multipart/form-data.
func multipartBody(t *testing.T, parts ...formPart) (body, contentType string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, p := range parts {
		if p.FileName == "" {
			if err := mw.WriteField(p.Name, p.Value); err != nil {
				t.Fatal(err)
			}
			continue
		}
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", multipart.FileContentDisposition(p.Name, p.FileName))
		if p.FileType != "" {
			h.Set("Content-Type", p.FileType)
		}
		w, err := mw.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(p.File)
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.String(), mw.FormDataContentType()
}

// sendFile posts a multipart file send.
func (ts *testServer) sendFile(a tenant, header map[string]string, parts ...formPart) *response {
	ts.t.Helper()
	body, ct := multipartBody(ts.t, parts...)
	h := map[string]string{"Content-Type": ct}
	for k, v := range header {
		h[k] = v
	}
	return ts.do(req{Method: "POST", Path: "/api/message/files", Token: a.APIKey, Header: h, Body: body})
}

type sentFileJSON struct {
	ContactID string
	Message   mediaMessageJSON
}

// An uploaded file reaches Meta's media endpoint once, as Meta documents
// the upload, and then goes out once as a message with its media id.
func TestMessageFiles_Upload(t *testing.T) {
	t.Parallel()
	sqldbtest.Each(t, func(t *testing.T, dsn string) {
		g := newGraphServer(t)
		ts := newMediaServer(t, dsn, g, messaging.OutboxConfig{Wait: 30 * time.Second})
		a := ts.bootstrap("Acme", "ana@acme.test")
		ts.connectNumber(a, numberA, wabaA, "15550001234", appSecretA)
		ts.customerWrites()
		pdf := append([]byte("%PDF-1.7\n"), randomBytes(t, 300<<10)...)
		const name = "cotización \"4521\".pdf"
		r := ts.sendFile(a, nil,
			formPart{Name: "workspaceId", Value: a.WorkspaceID},
			formPart{Name: "recipientPhone", Value: lucia},
			formPart{Name: "content", Value: "Tu cotización del sofá Oslo"},
			formPart{Name: "contentFile", FileName: name, FileType: "application/pdf", File: pdf},
			formPart{Name: "externalReferenceId", Value: "quote-4521"},
		).want(t, http.StatusOK, "")
		var sent sentFileJSON
		r.into(t, &sent)
		m := sent.Message
		if m.Type != "document" || m.Content != "Tu cotización del sofá Oslo" || orEmpty(m.Status) != "sent" ||
			orEmpty(m.MessageWhatsappID) != "wamid.TEST_OUT_0001" || m.Direction != "out" {
			t.Errorf("message %+v", m)
		}
		s := func(v string) *string { return &v }
		wantFiles := []fileJSON{{Type: "document", URL: "/api/message/" + m.ID + "/media", MediaID: s("1000000000000901"),
			FileName: s(name), Caption: s("Tu cotización del sofá Oslo")}}
		if diff := cmp.Diff(wantFiles, m.Files); diff != "" {
			t.Errorf("files (-want +got):\n%s", diff)
		}

		_, _, uploads := g.mediaCalls()
		if len(uploads) != 1 {
			t.Fatalf("%d uploads, want 1", len(uploads))
		}
		up := uploads[0]
		if up.Path != "/v23.0/"+numberA+"/media" || up.Authorization != "Bearer EAAG-token-"+numberA ||
			up.MessagingProduct != "whatsapp" || up.Type != "application/pdf" || up.FileName != name ||
			up.FileType != "application/pdf" || !bytes.Equal(up.File, pdf) || up.ContentLength != up.BodyLengthRead {
			t.Errorf("upload %+v (file %d bytes)", up, len(up.File))
		}
		calls := g.sends()
		if len(calls) != 1 {
			t.Fatalf("%d sends, want 1", len(calls))
		}
		want := map[string]any{"messaging_product": "whatsapp", "recipient_type": "individual", "to": "+15557654321",
			"type": "document", "document": map[string]any{"id": "1000000000000901", "caption": "Tu cotización del sofá Oslo", "filename": name},
			"biz_opaque_callback_data": "plaza:outbox:" + m.ID}
		if diff := cmp.Diff(want, calls[0].Body); diff != "" {
			t.Errorf("send body (-want +got):\n%s", diff)
		}
		if calls[0].Path != "/v23.0/"+numberA+"/messages" {
			t.Errorf("send to %s", calls[0].Path)
		}

		// An image without caption, typed by its extension; the workspace
		// can fetch what it sent.
		jpeg := append([]byte{0xff, 0xd8, 0xff, 0xe0}, randomBytes(t, 1000)...)
		ts.sendFile(a, nil, formPart{Name: "RecipientPhone", Value: lucia},
			formPart{Name: "contentFile", FileName: "sala.JPG", FileType: "application/octet-stream", File: jpeg}).
			want(t, http.StatusOK, "").into(t, &sent)
		if sent.Message.Type != "image" || sent.Message.Content != "[image]" {
			t.Errorf("image message %+v", sent.Message)
		}
		if calls := g.sends(); len(calls) != 2 || calls[1].Body["image"].(map[string]any)["id"] != "1000000000000902" {
			t.Errorf("sends %+v", calls)
		}
		r = ts.do(req{Method: "GET", Path: sent.Message.Files[0].URL, Token: a.APIKey}).want(t, http.StatusOK, "")
		if !bytes.Equal(r.Body, jpeg) || r.Header.Get("Content-Type") != "image/jpeg" {
			t.Errorf("the sent image read back: %d bytes, %q", len(r.Body), r.Header.Get("Content-Type"))
		}
		ts.waitSendJobsDone()
		if n := ts.count(`SELECT count(*) FROM messages WHERE direction = 'out' AND send_state = 'sent' AND attempts = 1`); n != 2 {
			t.Errorf("%d messages sent once, want 2", n)
		}
	})
}

// A link is sent as Meta's link message, in a JSON body or a form.
func TestMessageFiles_Link(t *testing.T) {
	t.Parallel()
	sqldbtest.Each(t, func(t *testing.T, dsn string) {
		g := newGraphServer(t)
		ts := newMediaServer(t, dsn, g, messaging.OutboxConfig{Wait: 30 * time.Second})
		a := ts.bootstrap("Acme", "ana@acme.test")
		ts.connectNumber(a, numberA, wabaA, "15550001234", appSecretA)
		ts.customerWrites()
		const link = "https://cdn.example.com/plaza/catalogo/sofa-oslo-azul.jpg"
		var sent sentFileJSON
		ts.do(req{Method: "POST", Path: "/api/message/files", Token: a.APIKey, Body: map[string]any{"workspaceId": a.WorkspaceID,
			"recipientPhone": lucia, "contentUrl": link, "content": "Sofá Oslo en azul petróleo"}}).want(t, http.StatusOK, "").into(t, &sent)
		calls := g.sends()
		if len(calls) != 1 {
			t.Fatalf("%d sends, want 1", len(calls))
		}
		var want map[string]any
		if err := json.Unmarshal(fixture(t, "send/request_image_by_link.json"), &want); err != nil {
			t.Fatal(err)
		}
		want["biz_opaque_callback_data"] = "plaza:outbox:" + sent.Message.ID
		if diff := cmp.Diff(want, calls[0].Body); diff != "" {
			t.Errorf("send body (-want +got):\n%s", diff)
		}
		f := sent.Message.Files
		if len(f) != 1 || f[0].URL != link || f[0].MediaID != nil || f[0].Type != "image" {
			t.Errorf("files %+v", f)
		}
		// Sent by link: Plaza holds nothing to serve.
		ts.do(req{Method: "GET", Path: "/api/message/" + sent.Message.ID + "/media", Token: a.APIKey}).want(t, http.StatusNotFound, "NOT_FOUND")

		// A form with a link whose type is given: a document.
		ts.sendFile(a, nil, formPart{Name: "recipientPhone", Value: lucia},
			formPart{Name: "contentUrl", Value: "https://files.example.com/download?id=77"},
			formPart{Name: "mimeType", Value: "application/pdf"}, formPart{Name: "fileName", Value: "catalogo.pdf"}).
			want(t, http.StatusOK, "")
		calls = g.sends()
		if len(calls) != 2 || !cmp.Equal(calls[1].Body["document"], map[string]any{"link": "https://files.example.com/download?id=77",
			"filename": "catalogo.pdf"}) {
			t.Errorf("sends %+v", calls)
		}
		if _, _, uploads := g.mediaCalls(); len(uploads) != 0 {
			t.Errorf("%d uploads for links", len(uploads))
		}
	})
}

// Bad input is a 400 naming the field: nothing is written, nothing
// uploaded, nothing sent. Outside the window: 409, before any upload.
func TestMessageFiles_Invalid(t *testing.T) {
	t.Parallel()
	sqldbtest.Each(t, func(t *testing.T, dsn string) {
		g := newGraphServer(t)
		ts := newMediaServer(t, dsn, g, messaging.OutboxConfig{})
		a := ts.bootstrap("Acme", "ana@acme.test")
		b := ts.bootstrap("Beta", "bob@beta.test")
		ts.connectNumber(a, numberA, wabaA, "15550001234", appSecretA)
		pdf := formPart{Name: "contentFile", FileName: "a.pdf", FileType: "application/pdf", File: []byte("%PDF-1.7\n...")}
		to := formPart{Name: "recipientPhone", Value: lucia}

		// Never wrote: no window, and Meta is not called.
		ts.sendFile(a, nil, to, pdf).want(t, http.StatusConflict, "WINDOW_CLOSED")
		ts.customerWrites()

		fields := func(r *response) string {
			t.Helper()
			return strings.Join(r.want(t, http.StatusBadRequest, "VALIDATION_FAILED").fields(), ",")
		}
		bigImage := append([]byte{0xff, 0xd8}, make([]byte, 5<<20)...)
		for _, tc := range []struct {
			name  string
			parts []formPart
			want  string
		}{
			{"neither", []formPart{to}, "contentFile"},
			{"both", []formPart{to, pdf, {Name: "contentUrl", Value: "https://x.example/a.pdf"}}, "contentUrl"},
			{"type", []formPart{to, {Name: "contentFile", FileName: "page.html", FileType: "text/html", File: []byte("<script>")}}, "contentFile"},
			{"no type", []formPart{to, {Name: "contentFile", FileName: "blob", File: []byte("x")}}, "contentFile"},
			{"too big", []formPart{to, {Name: "contentFile", FileName: "big.jpg", FileType: "image/jpeg", File: bigImage}}, "contentFile"},
			{"empty", []formPart{to, {Name: "contentFile", FileName: "a.pdf", FileType: "application/pdf"}}, "contentFile"},
			{"text file field", []formPart{to, {Name: "contentFile", Value: "not a file"}}, "contentFile"},
			{"twice", []formPart{to, pdf, pdf}, "contentFile"},
			{"ftp", []formPart{to, {Name: "contentUrl", Value: "ftp://x.example/a.pdf"}}, "contentUrl"},
			{"javascript", []formPart{to, {Name: "contentUrl", Value: "javascript:alert(1)//a.jpg"}}, "contentUrl"},
			{"untyped link", []formPart{to, {Name: "contentUrl", Value: "https://x.example/download?id=1"}}, "contentUrl"},
			{"link type", []formPart{to, {Name: "contentUrl", Value: "https://x.example/a"}, {Name: "mimeType", Value: "text/html"}}, "mimeType"},
			{"audio caption", []formPart{to, {Name: "content", Value: "escucha"},
				{Name: "contentFile", FileName: "nota.ogg", FileType: "audio/ogg", File: []byte("OggS")}}, "content"},
			{"long caption", []formPart{to, pdf, {Name: "content", Value: strings.Repeat("ñ", 1025)}}, "content"},
			{"recipient", []formPart{pdf}, "recipientPhone"},
			{"workspace", []formPart{to, pdf, {Name: "workspaceId", Value: b.WorkspaceID}}, "workspaceId"},
		} {
			if got := fields(ts.sendFile(a, nil, tc.parts...)); got != tc.want {
				t.Errorf("%s: fields %s, want %s", tc.name, got, tc.want)
			}
		}
		for _, body := range []map[string]any{
			{"recipientPhone": lucia, "contentFile": "JVBERi0xLjcK"},
			{"recipientPhone": lucia},
			{"recipientPhone": lucia, "contentUrl": "http://"},
		} {
			r := ts.do(req{Method: "POST", Path: "/api/message/files", Token: a.APIKey, Body: body})
			if got := fields(r); got != "contentFile" && got != "contentUrl" {
				t.Errorf("%v: fields %s", body, got)
			}
		}
		// A body over the upload limit.
		ts.API.MaxFileSendBytes = 1 << 20
		ts.sendFile(a, nil, to, formPart{Name: "contentFile", FileName: "big.pdf", FileType: "application/pdf", File: make([]byte, 2<<20)}).
			want(t, http.StatusRequestEntityTooLarge, "PAYLOAD_TOO_LARGE")

		if _, _, uploads := g.mediaCalls(); len(uploads) != 0 {
			t.Errorf("%d uploads", len(uploads))
		}
		ts.assertNothingSent(t, g)
	})
}

// Meta's refusal of an upload is a 422 and a Graph API that fails on its
// side a 503; nothing is stored either way.
func TestMessageFiles_UploadRefused(t *testing.T) {
	t.Parallel()
	sqldbtest.Each(t, func(t *testing.T, dsn string) {
		g := newGraphServer(t)
		ts := newMediaServer(t, dsn, g, messaging.OutboxConfig{})
		a := ts.bootstrap("Acme", "ana@acme.test")
		ts.connectNumber(a, numberA, wabaA, "15550001234", appSecretA)
		ts.customerWrites()
		pdf := formPart{Name: "contentFile", FileName: "a.pdf", FileType: "application/pdf", File: []byte("%PDF-1.7\n...")}
		to := formPart{Name: "recipientPhone", Value: lucia}
		g.mu.Lock()
		g.media.uploadAnswer = metaAnswer(t, http.StatusBadRequest, "send/error_100_invalid_parameter.json")
		g.mu.Unlock()
		r := ts.sendFile(a, nil, to, pdf).want(t, http.StatusUnprocessableEntity, "UNPROCESSABLE")
		if !strings.Contains(r.Message, "Invalid parameter") {
			t.Errorf("message %q", r.Message)
		}
		g.mu.Lock()
		g.media.uploadAnswer = func(w http.ResponseWriter, r *http.Request) { http.Error(w, "<html>502</html>", http.StatusBadGateway) }
		g.mu.Unlock()
		ts.sendFile(a, nil, to, pdf).want(t, http.StatusServiceUnavailable, "UNAVAILABLE")
		ts.assertNothingSent(t, g)
	})
}

// Idempotency-Key works on multipart bodies, a large one included (kept
// on disk while it is hashed): a retry gets the first answer, and the
// file is uploaded and sent once.
func TestMessageFiles_Idempotency(t *testing.T) {
	t.Parallel()
	sqldbtest.Each(t, func(t *testing.T, dsn string) {
		g := newGraphServer(t)
		ts := newMediaServer(t, dsn, g, messaging.OutboxConfig{Wait: 30 * time.Second})
		a := ts.bootstrap("Acme", "ana@acme.test")
		ts.connectNumber(a, numberA, wabaA, "15550001234", appSecretA)
		ts.customerWrites()
		video := randomBytes(t, 3<<20)
		body, ct := multipartBody(t, formPart{Name: "recipientPhone", Value: lucia},
			formPart{Name: "contentFile", FileName: "demo.mp4", FileType: "video/mp4", File: video})
		h := map[string]string{"Content-Type": ct, "Idempotency-Key": "file-1"}
		first := ts.do(req{Method: "POST", Path: "/api/message/files", Token: a.APIKey, Header: h, Body: body}).want(t, http.StatusOK, "")
		again := ts.do(req{Method: "POST", Path: "/api/message/files", Token: a.APIKey, Header: h, Body: body}).want(t, http.StatusOK, "")
		if again.Header.Get("Idempotent-Replayed") != "true" || !bytes.Equal(first.Body, again.Body) {
			t.Errorf("the retry was not replayed: %s", again.Body)
		}
		other, ct2 := multipartBody(t, formPart{Name: "recipientPhone", Value: lucia},
			formPart{Name: "contentFile", FileName: "demo.mp4", FileType: "video/mp4", File: video[:len(video)-1]})
		ts.do(req{Method: "POST", Path: "/api/message/files", Token: a.APIKey, Header: map[string]string{"Content-Type": ct2,
			"Idempotency-Key": "file-1"}, Body: other}).want(t, http.StatusUnprocessableEntity, "UNPROCESSABLE")
		_, _, uploads := g.mediaCalls()
		if len(uploads) != 1 || !bytes.Equal(uploads[0].File, video) || uploads[0].Type != "video/mp4" {
			t.Errorf("%d uploads", len(uploads))
		}
		calls := g.sends()
		if len(calls) != 1 || calls[0].Body["type"] != "video" {
			t.Errorf("sends %+v", calls)
		}
		ts.waitSendJobsDone()
		if n := ts.count(`SELECT count(*) FROM messages WHERE direction = 'out'`); n != 1 {
			t.Errorf("%d outbound messages", n)
		}
	})
}
