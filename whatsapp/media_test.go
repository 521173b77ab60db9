package whatsapp

import (
	"bytes"
	"context"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// uploadedPart is what the fake Graph API read from an upload.
type uploadedPart struct {
	Fields        map[string]string
	FileName      string
	FileType      string
	File          string
	ContentLength int64
	Chunked       bool
}

func TestClient_UploadMedia(t *testing.T) {
	content := strings.Repeat("%PDF-1.7 comprobante ", 100)
	tmp := filepath.Join(t.TempDir(), "comprobante.pdf")
	if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		reader func(t *testing.T) io.Reader
	}{
		{"BytesReader", func(t *testing.T) io.Reader { return bytes.NewReader([]byte(content)) }},
		{"StringsReaderPartlyRead", func(t *testing.T) io.Reader {
			r := strings.NewReader("XXXX" + content)
			io.CopyN(io.Discard, r, 4)
			return r
		}},
		{"File", func(t *testing.T) io.Reader {
			f, err := os.Open(tmp)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { f.Close() })
			return f
		}},
		{"PlainReader", func(t *testing.T) io.Reader { return io.MultiReader(strings.NewReader(content)) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got uploadedPart
			upload := fixture(t, "send/media_upload_response.json")
			c, g := newFakeGraph(t, func(w http.ResponseWriter, r *http.Request) {
				got = readUpload(t, r)
				writeJSON(w, 200, upload)
			})
			id, err := c.UploadMedia(context.Background(), testPhoneID, testToken, "comprobante \"4521\".pdf", "application/pdf", tt.reader(t))
			if err != nil {
				t.Fatal(err)
			}
			if id != "1000000000000901" {
				t.Errorf("id = %q, want 1000000000000901", id)
			}
			call := g.only(t)
			if call.Method != "POST" || call.Path != testVersion+"/"+testPhoneID+"/media" {
				t.Errorf("request = %s %s", call.Method, call.Path)
			}
			if call.Header.Get("Authorization") != "Bearer "+testToken {
				t.Errorf("Authorization = %q", call.Header.Get("Authorization"))
			}
			want := uploadedPart{
				Fields:        map[string]string{"messaging_product": "whatsapp", "type": "application/pdf"},
				FileName:      "comprobante \"4521\".pdf",
				FileType:      "application/pdf",
				File:          content,
				ContentLength: int64(len(call.Body)),
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("upload mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// readUpload decodes the multipart body as the Graph API would. It runs
// in the server's goroutine, so it reports with Errorf, never Fatal.
func readUpload(t *testing.T, r *http.Request) uploadedPart {
	t.Helper()
	mediaType, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mediaType != "multipart/form-data" {
		t.Errorf("Content-Type = %q", r.Header.Get("Content-Type"))
		return uploadedPart{}
	}
	up := uploadedPart{Fields: map[string]string{}, ContentLength: r.ContentLength}
	for _, te := range r.TransferEncoding {
		up.Chunked = up.Chunked || te == "chunked"
	}
	mr := multipart.NewReader(r.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Error(err)
			break
		}
		data, err := io.ReadAll(p)
		if err != nil {
			t.Error(err)
			break
		}
		if p.FormName() == "file" {
			up.FileName, up.FileType, up.File = p.FileName(), p.Header.Get("Content-Type"), string(data)
			continue
		}
		up.Fields[p.FormName()] = string(data)
	}
	return up
}

// hugeReader claims more bytes than WhatsApp carries without holding them.
type hugeReader struct{}

func (hugeReader) Read(p []byte) (int, error) { return len(p), nil }
func (hugeReader) Len() int                   { return DefaultMaxMediaSize + 1 }

func TestClient_UploadMedia_Invalid(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		upload  func(c *Client) error
		wantErr func(error) bool
	}{
		{"NoFilename", func(c *Client) error {
			_, err := c.UploadMedia(ctx, testPhoneID, testToken, "", "image/jpeg", strings.NewReader("x"))
			return err
		}, isValidation("file")},
		{"BadMimeType", func(c *Client) error {
			_, err := c.UploadMedia(ctx, testPhoneID, testToken, "a.jpg", "", strings.NewReader("x"))
			return err
		}, isValidation("type")},
		{"BadPhoneNumberID", func(c *Client) error {
			_, err := c.UploadMedia(ctx, "phone", testToken, "a.jpg", "image/jpeg", strings.NewReader("x"))
			return err
		}, isValidation("phone_number_id")},
		{"TooLarge", func(c *Client) error {
			_, err := c.UploadMedia(ctx, testPhoneID, testToken, "a.pdf", "application/pdf", hugeReader{})
			return err
		}, func(err error) bool { return errors.Is(err, ErrMediaTooLarge) }},
		{"TooLargeUnknownSize", func(c *Client) error {
			_, err := c.UploadMedia(ctx, testPhoneID, testToken, "a.pdf", "application/pdf", io.LimitReader(hugeReader{}, DefaultMaxMediaSize+1))
			return err
		}, func(err error) bool { return errors.Is(err, ErrMediaTooLarge) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, g := newFakeGraph(t, respondWith(t, 200, "send/media_upload_response.json"))
			if err := tt.upload(c); !tt.wantErr(err) {
				t.Errorf("err = %v", err)
			}
			if n := len(g.Calls()); n != 0 {
				t.Errorf("made %d calls", n)
			}
		})
	}
}

func isValidation(field string) func(error) bool {
	return func(err error) bool {
		var v *ValidationError
		return errors.As(err, &v) && v.Field == field
	}
}

func TestClient_MediaURL(t *testing.T) {
	c, g := newFakeGraph(t, respondWith(t, 200, "send/media_url_response.json"))
	got, err := c.MediaURL(context.Background(), "1000000000000101", testToken)
	if err != nil {
		t.Fatal(err)
	}
	want := MediaInfo{
		ID:       "1000000000000101",
		URL:      "https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1000000000000101&ext=1795791660&hash=ATtestFAKEhash0101",
		MimeType: "image/jpeg",
		SHA256:   "b2b342e0753a6403e9c5f793a837602a99d5ae1b558cd77010242491180e3960",
		FileSize: 182859,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("MediaInfo mismatch (-want +got):\n%s", diff)
	}
	checkJSONRequest(t, g.only(t), "GET", "/1000000000000101")
}

func TestClient_MediaURL_FileSizeAsString(t *testing.T) {
	c, _ := newFakeGraph(t, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, []byte(`{"messaging_product":"whatsapp","url":"https://x.example/m","mime_type":"image/jpeg","sha256":"ab","file_size":"303833","id":"1000000000000101"}`))
	})
	got, err := c.MediaURL(context.Background(), "1000000000000101", testToken)
	if err != nil {
		t.Fatal(err)
	}
	if got.FileSize != 303833 {
		t.Errorf("FileSize = %d, want 303833", got.FileSize)
	}
}

func TestClient_DownloadMedia(t *testing.T) {
	jpeg := bytes.Repeat([]byte{0xff, 0xd8, 0xff, 0xe0}, 256) // 1024 bytes
	tests := []struct {
		name     string
		chunked  bool // no Content-Length: the limit is found while reading
		maxBytes int64
		wantErr  error // from DownloadMedia itself
		readErr  error // from reading the body
	}{
		{name: "UnderLimit", maxBytes: 4096},
		{name: "ExactlyAtLimit", maxBytes: 1024},
		{name: "ExactlyAtLimitChunked", chunked: true, maxBytes: 1024},
		{name: "DefaultLimit", maxBytes: 0},
		{name: "ContentLengthOverLimit", maxBytes: 1023, wantErr: ErrMediaTooLarge},
		{name: "ChunkedOverLimit", chunked: true, maxBytes: 1000, readErr: ErrMediaTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, g := newFakeGraph(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "image/jpeg")
				if !tt.chunked {
					w.Header().Set("Content-Length", strconv.Itoa(len(jpeg)))
				}
				for i := 0; i < len(jpeg); i += 100 {
					w.Write(jpeg[i:min(i+100, len(jpeg))])
					if tt.chunked {
						w.(http.Flusher).Flush()
					}
				}
			})
			u := g.URL + "/whatsapp_business/attachments/?mid=1000000000000101&ext=1795791660&hash=ATtestFAKEhash0101"
			d, err := c.DownloadMedia(context.Background(), u, testToken, tt.maxBytes)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			defer d.Body.Close()
			if d.ContentType != "image/jpeg" {
				t.Errorf("content type = %q", d.ContentType)
			}
			if want := map[bool]int64{false: 1024, true: -1}[tt.chunked]; d.ContentLength != want {
				t.Errorf("content length = %d, want %d", d.ContentLength, want)
			}
			data, err := io.ReadAll(d.Body)
			if !errors.Is(err, tt.readErr) {
				t.Fatalf("read err = %v, want %v", err, tt.readErr)
			}
			if err != nil {
				if int64(len(data)) > tt.maxBytes {
					t.Errorf("read %d bytes past the %d limit", len(data), tt.maxBytes)
				}
				return
			}
			if !bytes.Equal(data, jpeg) {
				t.Errorf("downloaded %d bytes, not the file", len(data))
			}
			call := g.only(t)
			if call.Header.Get("Authorization") != "Bearer "+testToken || call.Header.Get("User-Agent") == "" {
				t.Errorf("download headers = %v", call.Header)
			}
			if call.Query != "mid=1000000000000101&ext=1795791660&hash=ATtestFAKEhash0101" {
				t.Errorf("query = %q", call.Query)
			}
		})
	}
}

func TestClient_DownloadMedia_Errors(t *testing.T) {
	c, g := newFakeGraph(t, respondWith(t, 404, "send/error_100_invalid_parameter.json"))
	_, err := c.DownloadMedia(context.Background(), g.URL+"/expired", testToken, 0)
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.HTTPStatus != 404 || apiErr.Code != 100 {
		t.Errorf("err = %v, want the Graph error", err)
	}
	for _, u := range []string{"", "/relative", "file:///etc/passwd", "ftp://x.example/a"} {
		if _, err := c.DownloadMedia(context.Background(), u, testToken, 0); !isValidation("url")(err) {
			t.Errorf("DownloadMedia(%q) err = %v, want a url validation error", u, err)
		}
	}
}
