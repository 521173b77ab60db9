package plaza

import (
	"context"
	"fmt"
	"io"
	"mime"
	"net/url"
	"path"
	"strings"
	"unicode/utf8"
)

// WhatsApp media: the files customers send (served to the workspace's
// users through Plaza, since Meta's download URLs need the number's access
// token and expire in minutes) and the files the workspace sends them
// (Plazbot's POST /api/message/files).

// MessageFile is one entry of a message's files: the media of an image,
// audio, video, document or sticker message. URL is where the workspace's
// users get it: Plaza's GET /api/message/{messageId}/media (a path, sent
// with the usual credentials) for media WhatsApp holds by id, or the
// public link a file was sent by. Meta's own download URL is never given:
// it needs the number's access token and expires within minutes.
type MessageFile struct {
	Type     string  `json:"type"` // image, audio, video, document or sticker
	URL      string  `json:"url"`
	MediaID  *string `json:"mediaId"`  // Meta's media id; null for a file sent by link
	MimeType *string `json:"mimeType"` // as Meta reported it; null when unknown
	FileName *string `json:"fileName"` // documents
	Caption  *string `json:"caption"`
	// SHA256 is the file's hash as Meta's webhook gave it (base64).
	SHA256 *string `json:"sha256"`
}

// MediaTypes are the message types that carry a file.
var MediaTypes = []string{"image", "audio", "video", "document", "sticker"}

// IsMediaType reports whether messages of type t carry a file.
func IsMediaType(t string) bool {
	switch t {
	case "image", "audio", "video", "document", "sticker":
		return true
	}
	return false
}

// MessageMediaPath is the path of Plaza's endpoint serving a message's
// media.
func MessageMediaPath(messageID string) string {
	return "/api/message/" + url.PathEscape(messageID) + "/media"
}

// fileKind is what WhatsApp does with a MIME type a workspace may send.
type fileKind struct {
	Type    string // the message type
	MaxSize int64  // WhatsApp's limit on the file, in bytes
}

// Meta's size limits of media sent (5 MB images, 16 MB audio and video,
// 100 MB documents), as binary megabytes like whatsapp.DefaultMaxMediaSize.
const (
	MaxImageSize    = 5 << 20
	MaxAudioSize    = 16 << 20
	MaxVideoSize    = 16 << 20
	MaxDocumentSize = 100 << 20
)

// sendableFiles are the MIME types POST /api/message/files accepts
// (Plazbot's list), with the message type each is sent as.
var sendableFiles = map[string]fileKind{
	"image/jpeg":         {"image", MaxImageSize},
	"image/png":          {"image", MaxImageSize},
	"application/pdf":    {"document", MaxDocumentSize},
	"application/msword": {"document", MaxDocumentSize},
	"application/vnd.openxmlformats-officedocument.wordprocessingml.document":   {"document", MaxDocumentSize},
	"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":         {"document", MaxDocumentSize},
	"application/vnd.openxmlformats-officedocument.presentationml.presentation": {"document", MaxDocumentSize},
	"video/mp4":   {"video", MaxVideoSize},
	"video/3gpp":  {"video", MaxVideoSize},
	"audio/aac":   {"audio", MaxAudioSize},
	"audio/amr":   {"audio", MaxAudioSize},
	"audio/mpeg":  {"audio", MaxAudioSize},
	"audio/mp4":   {"audio", MaxAudioSize},
	"audio/ogg":   {"audio", MaxAudioSize},
	"audio/webm":  {"audio", MaxAudioSize},
	"audio/x-m4a": {"audio", MaxAudioSize},
}

// extensionTypes name the MIME type of a file by its extension, for files
// sent without one (or as application/octet-stream) and for links. The
// platform's own table is not used: it differs between machines.
var extensionTypes = map[string]string{
	".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png",
	".pdf": "application/pdf", ".doc": "application/msword",
	".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
	".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
	".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
	".mp4":  "video/mp4", ".3gp": "video/3gpp",
	".aac": "audio/aac", ".amr": "audio/amr", ".mp3": "audio/mpeg", ".m4a": "audio/x-m4a",
	".ogg": "audio/ogg", ".opus": "audio/ogg", ".weba": "audio/webm",
}

// SendableFile returns the message type a file of MIME type mimeType (its
// parameters ignored) is sent as, and WhatsApp's size limit for it; ok is
// false when WhatsApp messages cannot carry it.
func SendableFile(mimeType string) (messageType string, maxSize int64, ok bool) {
	mt, _, err := mime.ParseMediaType(mimeType)
	if err != nil {
		return "", 0, false
	}
	k, ok := sendableFiles[mt]
	return k.Type, k.MaxSize, ok
}

// FileMimeType is the MIME type of a file, without parameters: the
// declared one, unless it is
// empty or generic (application/octet-stream), then the one its name's
// extension says; "" when neither tells.
func FileMimeType(declared, name string) string {
	declared = strings.ToLower(strings.TrimSpace(declared))
	if mt, _, err := mime.ParseMediaType(declared); err == nil && mt != "application/octet-stream" {
		return mt
	}
	return extensionTypes[strings.ToLower(path.Ext(name))]
}

// FileExtension is the usual extension (with its dot) of a MIME type
// WhatsApp carries, "" when there is none to give.
func FileExtension(mimeType string) string {
	mt, _, err := mime.ParseMediaType(mimeType)
	if err != nil {
		return ""
	}
	switch mt {
	case "image/webp":
		return ".webp" // stickers
	case "audio/ogg":
		return ".ogg"
	case "audio/mp4":
		return ".m4a"
	case "text/plain":
		return ".txt"
	}
	best := ""
	for ext, t := range extensionTypes {
		// The shortest, then first in order, so the answer is stable.
		if t == mt && (best == "" || len(ext) < len(best) || (len(ext) == len(best) && ext < best)) {
			best = ext
		}
	}
	return best
}

// allowedFiles lists the accepted MIME types, for error messages.
const allowedFiles = "JPEG and PNG images; PDF, Word (.doc, .docx), Excel (.xlsx) and PowerPoint (.pptx) documents; MP4 and 3GPP videos; AAC, AMR, MP3 (audio/mpeg), MP4, M4A, OGG and WebM audio"

// FileUpload is a file sent with a request, already received in full (to
// a temporary file): Size is known before Meta is called.
type FileUpload struct {
	Name     string // as the client named it
	MimeType string // see FileMimeType
	Size     int64
	// Body reads the file; an *os.File (or any io.Seeker) lets the upload
	// to Meta stream it with a known length.
	Body io.Reader
}

// MaxFileNameLength bounds a document's file name, in characters.
const MaxFileNameLength = 240

// MessageFileSend is the body of Plazbot's POST /api/message/files: a file
// to the contact with recipientPhone, either uploaded (contentFile) or by
// public link (contentUrl), with content as its caption. The fields it
// shares with MessageSend mean the same; content is optional.
type MessageFileSend struct {
	MessageSend
	// ContentURL is a public http(s) link WhatsApp fetches the file from.
	ContentURL string `json:"contentUrl"`
	// MimeType, optional, says what the file at ContentURL is when its
	// extension does not.
	MimeType string `json:"mimeType"`
	// FileName, optional, is the name a document is shown with; by default
	// the uploaded file's name or the link's last path segment.
	FileName string `json:"fileName"`
	// File is the uploaded file (contentFile); nil when none was sent.
	File *FileUpload `json:"-"`
	// FileError, set by the reader of the request, is why contentFile was
	// refused before it was read in full (a MIME type WhatsApp does not
	// carry, a file over its limit): Validate reports it with the rest.
	FileError string `json:"-"`

	// Set by Validate: the message type and the file's MIME type.
	Type         string `json:"-"`
	FileMimeType string `json:"-"`
}

// Validate checks the send, naming every bad field: exactly one of
// contentFile and contentUrl, a MIME type WhatsApp carries within its size
// limit, a caption (content) only on images, videos and documents and at
// most 1024 characters long, and the recipient as MessageSend checks it.
func (in *MessageFileSend) Validate() error {
	var v Validator
	in.validateAddress(&v)
	in.ContentURL = strings.TrimSpace(in.ContentURL)
	hasFile := in.File != nil || in.FileError != ""
	switch {
	case !hasFile && in.ContentURL == "":
		v.Check(false, "contentFile", "contentFile (a file) or contentUrl (a public http(s) link to one) is required.")
	case hasFile && in.ContentURL != "":
		v.Check(false, "contentUrl", "Send either contentFile or contentUrl, not both.")
	case in.FileError != "":
		v.Check(false, "contentFile", in.FileError)
	case in.File != nil:
		in.FileMimeType = FileMimeType(in.File.MimeType, in.File.Name)
		typ, max, ok := SendableFile(in.FileMimeType)
		switch {
		case !ok:
			v.Check(false, "contentFile", FileTypeError(in.File.MimeType, in.File.Name))
		case in.File.Size > max:
			v.Check(false, "contentFile", FileSizeError(typ, max))
		case in.File.Size == 0:
			v.Check(false, "contentFile", "contentFile is empty.")
		}
		in.Type = typ
		if in.FileName == "" {
			in.FileName = in.File.Name
		}
	default:
		u, err := url.Parse(in.ContentURL)
		switch {
		case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil:
			v.Check(false, "contentUrl", "contentUrl must be an absolute http(s) URL WhatsApp can download the file from.")
		case len(in.ContentURL) > 2048:
			v.Check(false, "contentUrl", "contentUrl must be at most 2048 characters long.")
		default:
			name := path.Base(u.Path)
			if name == "/" || name == "." {
				name = ""
			}
			in.FileMimeType = FileMimeType(in.MimeType, name)
			typ, _, ok := SendableFile(in.FileMimeType)
			switch {
			case ok:
				in.Type = typ
			case strings.TrimSpace(in.MimeType) != "":
				v.Check(false, "mimeType", FileTypeError(in.MimeType, ""))
			default:
				v.Check(false, "contentUrl", "The file type of contentUrl cannot be told from its name; give its MIME type in mimeType ("+allowedFiles+").")
			}
			if in.FileName == "" {
				in.FileName = name
			}
		}
	}
	in.FileName = strings.TrimSpace(in.FileName)
	if in.Type != "document" {
		in.FileName = "" // Meta takes a file name on documents only
	}
	v.Check(utf8.RuneCountInString(in.FileName) <= MaxFileNameLength, "fileName",
		fmt.Sprintf("fileName must be at most %d characters long.", MaxFileNameLength))
	v.Check(utf8.ValidString(in.Content), "content", "content must be valid UTF-8 text.")
	v.Check(utf8.RuneCountInString(in.Content) <= MaxCaption, "content",
		fmt.Sprintf("content (the file's caption) must be at most %d characters long.", MaxCaption))
	if strings.TrimSpace(in.Content) == "" {
		in.Content = ""
	}
	v.Check(in.Content == "" || in.Type != "audio", "content", "WhatsApp shows no caption on audio: send content as a text message of its own.")
	return v.Err()
}

// MaxCaption is the longest caption of an image, video or document, in
// characters (Meta's limit).
const MaxCaption = 1024

// FileTypeError is the message of a file whose MIME type WhatsApp does
// not carry.
func FileTypeError(declared, name string) string {
	what := strings.TrimSpace(declared)
	if what == "" {
		what = "unknown"
	}
	if name != "" {
		return fmt.Sprintf("contentFile %q has a file type WhatsApp does not carry (%s); allowed: %s.", name, what, allowedFiles)
	}
	return fmt.Sprintf("%s is not a file type WhatsApp carries; allowed: %s.", what, allowedFiles)
}

// FileSizeError is the message of a file over WhatsApp's limit for its
// message type.
func FileSizeError(messageType string, max int64) string {
	return fmt.Sprintf("contentFile is larger than %d MB, WhatsApp's limit for %s files.", max>>20, messageType)
}

// MediaSummary is a file message as one line of text (its content, and
// the conversation's lastMessage): the caption, else the kind of file, as
// inbound media are summarised.
func MediaSummary(messageType, caption, fileName string) string {
	switch {
	case caption != "":
		return caption
	case messageType == "document" && fileName != "":
		return "[document] " + fileName
	}
	return "[" + messageType + "]"
}

// OutboundMedia is the media of a file message as Meta's send request
// carries it: by the id of an upload, or by a link.
type OutboundMedia struct {
	Type     string
	ID       string
	Link     string
	Caption  string
	FileName string
}

// MessageMedia is what serving a message's media needs: Meta's media id
// and the number whose token fetches it.
type MessageMedia struct {
	MessageID string
	Type      string
	MediaID   string // "" when the file was sent by link
	Link      string
	MimeType  string // "" when unknown
	FileName  string
	// PhoneNumberID is Meta's id of the conversation's number; "" when the
	// number was disconnected.
	PhoneNumberID string
}

// MediaContent is a message's media, read from Meta as it is streamed to
// the caller, who must close Body.
type MediaContent struct {
	Body        io.ReadCloser
	ContentType string
	// Length is the size in bytes, -1 when Meta did not say.
	Length   int64
	FileName string // a name to save it under
}

// MediaService sends files to the caller's contacts and serves the media
// of the caller's messages.
type MediaService interface {
	// SendWhatsAppFile sends a file inside the contact's 24-hour window,
	// as SendWhatsAppText sends a text: EINVALID for bad input and
	// EWINDOWCLOSED before Meta is called or anything is written; an
	// uploaded file is uploaded to Meta's media endpoint during the
	// request (EUNPROCESSABLE when Meta refuses it, EUNAVAILABLE when Meta
	// cannot be reached), then the message is queued with its media id.
	SendWhatsAppFile(ctx context.Context, in MessageFileSend) (*MessageSent, error)
	// OpenMessageMedia opens the media of one of the caller's messages
	// from Meta. ENOTFOUND when the message is not the caller's, has no
	// media, was sent by link, or Meta no longer has it; EUNPROCESSABLE
	// when its number was disconnected or Meta refuses the number's token;
	// EUNAVAILABLE when Meta cannot be reached.
	OpenMessageMedia(ctx context.Context, messageID string) (*MediaContent, error)
}

// MediaStore stores file messages and finds messages' media.
type MediaStore interface {
	// PrepareWhatsAppFile checks, writing nothing, that the send can go:
	// a connected number, the contact, its open window (EINVALID,
	// EWINDOWCLOSED). It returns the number that will send it.
	PrepareWhatsAppFile(ctx context.Context, in MessageSend) (*WhatsAppNumber, error)
	// QueueWhatsAppFile checks the send again and, in one transaction,
	// stores the file message queued and enqueues its WhatsAppSendJob.
	QueueWhatsAppFile(ctx context.Context, in MessageFileSend, media OutboundMedia) (*MessageSent, error)
	// FindMessageMedia returns the media of one of the caller's messages;
	// ENOTFOUND when there is no such message or it has no media.
	FindMessageMedia(ctx context.Context, messageID string) (*MessageMedia, error)
}
