package whatsapp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"strconv"
)

// MediaInfo describes uploaded or received media (GET /{media-id}). URL is
// valid for about five minutes and must be fetched with the access token
// (DownloadMedia). SHA256 is hex here, while webhooks carry the same hash
// in base64.
type MediaInfo struct {
	ID       string
	URL      string
	MimeType string
	SHA256   string
	FileSize int64
}

// UploadMedia uploads a file for later sends and returns its media id.
// It posts multipart/form-data to /{phone-number-id}/media with the fields
// messaging_product=whatsapp, type=<mimeType> and file. The body is
// streamed with a known Content-Length when r is an *os.File, an
// io.Seeker or has a Len method; any other reader is read into memory
// first. Files above DefaultMaxMediaSize are refused with ErrMediaTooLarge.
func (c *Client) UploadMedia(ctx context.Context, phoneNumberID, token, filename, mimeType string, r io.Reader) (string, error) {
	if err := checkID("phone_number_id", phoneNumberID); err != nil {
		return "", err
	}
	if err := checkToken(token); err != nil {
		return "", err
	}
	if filename == "" {
		return "", invalid("file", "needs a file name")
	}
	if _, _, err := mime.ParseMediaType(mimeType); err != nil {
		return "", invalid("type", "%q is not a MIME type", mimeType)
	}
	if r == nil {
		return "", invalid("file", "is required")
	}

	size, err := readerSize(r)
	if err != nil {
		return "", fmt.Errorf("whatsapp: upload media: %w", err)
	}
	if size < 0 {
		data, err := io.ReadAll(io.LimitReader(r, DefaultMaxMediaSize+1))
		if err != nil {
			return "", fmt.Errorf("whatsapp: upload media: read file: %w", err)
		}
		r, size = bytes.NewReader(data), int64(len(data))
	}
	if size > DefaultMaxMediaSize {
		return "", fmt.Errorf("upload of %d bytes: %w", size, ErrMediaTooLarge)
	}

	// Write the parts around the file into memory; the file itself is
	// streamed between them.
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	if err := mw.WriteField("messaging_product", "whatsapp"); err != nil {
		return "", err
	}
	if err := mw.WriteField("type", mimeType); err != nil {
		return "", err
	}
	h := make(textproto.MIMEHeader)
	h.Set("Content-Disposition", multipart.FileContentDisposition("file", filename))
	h.Set("Content-Type", mimeType)
	if _, err := mw.CreatePart(h); err != nil {
		return "", err
	}
	head := bytes.Clone(buf.Bytes())
	buf.Reset()
	if err := mw.Close(); err != nil {
		return "", err
	}
	tail := buf.Bytes()

	ctx, cancel := context.WithTimeout(ctx, c.transferTimeout())
	defer cancel()
	body := io.MultiReader(bytes.NewReader(head), io.LimitReader(r, size), bytes.NewReader(tail))
	req, err := c.newRequest(ctx, "POST", phoneNumberID+"/media", nil, token, body)
	if err != nil {
		return "", err
	}
	req.ContentLength = int64(len(head)) + size + int64(len(tail))
	req.Header.Set("Content-Type", mw.FormDataContentType())
	var resp struct {
		ID string `json:"id"`
	}
	if err := c.roundTrip(req, &resp); err != nil {
		return "", err
	}
	if resp.ID == "" {
		return "", errors.New("whatsapp: upload media answered without an id")
	}
	return resp.ID, nil
}

// readerSize returns how many bytes r has left, or -1 when it cannot tell
// without reading.
func readerSize(r io.Reader) (int64, error) {
	if l, ok := r.(interface{ Len() int }); ok {
		return int64(l.Len()), nil
	}
	s, ok := r.(io.Seeker)
	if !ok {
		return -1, nil
	}
	cur, err := s.Seek(0, io.SeekCurrent)
	if err != nil {
		return -1, nil // a pipe or socket behind an *os.File
	}
	end, err := s.Seek(0, io.SeekEnd)
	if err != nil {
		return 0, err
	}
	if _, err := s.Seek(cur, io.SeekStart); err != nil {
		return 0, err
	}
	return end - cur, nil
}

// MediaURL asks Meta where media can be downloaded (GET /{media-id}).
func (c *Client) MediaURL(ctx context.Context, mediaID, token string) (MediaInfo, error) {
	if err := checkID("media_id", mediaID); err != nil {
		return MediaInfo{}, err
	}
	if err := checkToken(token); err != nil {
		return MediaInfo{}, err
	}
	var resp struct {
		ID       string        `json:"id"`
		URL      string        `json:"url"`
		MimeType string        `json:"mime_type"`
		SHA256   string        `json:"sha256"`
		FileSize flexibleInt64 `json:"file_size"`
	}
	if err := c.call(ctx, "GET", mediaID, nil, token, nil, &resp); err != nil {
		return MediaInfo{}, err
	}
	if resp.URL == "" {
		return MediaInfo{}, errors.New("whatsapp: media url answered without a url")
	}
	return MediaInfo{ID: resp.ID, URL: resp.URL, MimeType: resp.MimeType, SHA256: resp.SHA256, FileSize: int64(resp.FileSize)}, nil
}

// MediaDownload is media being downloaded from Meta. The caller must
// close Body.
type MediaDownload struct {
	Body        io.ReadCloser
	ContentType string
	// ContentLength is the size Meta announced, -1 when it did not.
	ContentLength int64
}

// DownloadMedia fetches media from a URL given by MediaURL (or a webhook's
// url), sending the access token, and returns its body, Content-Type and
// length. A body longer than maxBytes (zero or less means
// DefaultMaxMediaSize) is refused with ErrMediaTooLarge: at once when
// Content-Length says so, otherwise from Read once the limit is passed.
// Reading a body shorter than its announced Content-Length fails. The body
// must be read before TransferTimeout runs out.
//
// Only pass URLs that came from Meta: the token goes wherever the URL
// points.
func (c *Client) DownloadMedia(ctx context.Context, mediaURL, token string, maxBytes int64) (*MediaDownload, error) {
	if err := checkToken(token); err != nil {
		return nil, err
	}
	u, err := url.Parse(mediaURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, invalid("url", "must be an absolute http(s) URL")
	}
	if maxBytes <= 0 {
		maxBytes = DefaultMaxMediaSize
	}

	ctx, cancel := context.WithTimeout(ctx, c.transferTimeout())
	req, err := http.NewRequestWithContext(ctx, "GET", mediaURL, nil)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("whatsapp: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("User-Agent", c.userAgent())
	resp, err := c.httpClient().Do(req)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("whatsapp: download media: %w", err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		cancel()
		return nil, parseAPIError(resp.StatusCode, data)
	}
	if resp.ContentLength > maxBytes {
		resp.Body.Close()
		cancel()
		return nil, fmt.Errorf("download of %d bytes, limit %d: %w", resp.ContentLength, maxBytes, ErrMediaTooLarge)
	}
	body := &limitedBody{rc: resp.Body, left: maxBytes, limit: maxBytes, cancel: cancel}
	return &MediaDownload{Body: body, ContentType: resp.Header.Get("Content-Type"), ContentLength: resp.ContentLength}, nil
}

// limitedBody fails with ErrMediaTooLarge instead of truncating, and
// releases the download's context when closed.
type limitedBody struct {
	rc     io.ReadCloser
	left   int64
	limit  int64
	err    error
	cancel context.CancelFunc
}

func (l *limitedBody) Read(p []byte) (int, error) {
	if l.err != nil {
		return 0, l.err
	}
	if int64(len(p)) > l.left+1 {
		p = p[:l.left+1]
	}
	n, err := l.rc.Read(p)
	if int64(n) > l.left {
		n = int(l.left)
		l.left = 0
		l.err = fmt.Errorf("download passed %d bytes: %w", l.limit, ErrMediaTooLarge)
		return n, l.err
	}
	l.left -= int64(n)
	return n, err
}

func (l *limitedBody) Close() error {
	err := l.rc.Close()
	l.cancel()
	return err
}

// flexibleInt64 decodes a JSON number or a string holding one: Graph
// answers have carried file_size both ways.
type flexibleInt64 int64

func (f *flexibleInt64) UnmarshalJSON(b []byte) error {
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		n = json.Number(s)
	}
	if n == "" {
		*f = 0
		return nil
	}
	v, err := strconv.ParseInt(string(n), 10, 64)
	if err != nil {
		return err
	}
	*f = flexibleInt64(v)
	return nil
}
