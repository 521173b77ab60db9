// Package extract turns a document into plain text and the text into
// passages: what an agent's knowledge files become before they are indexed.
//
// Text reads plain text, Markdown, HTML, PDF and DOCX, chosen by the bytes
// themselves, the content type and the file name (in that order of trust);
// Chunk cuts the text into passages of a few hundred characters on
// paragraph and sentence boundaries. Errors are *plaza.Error: ETOOLARGE past
// the size limits, EUNPROCESSABLE for a type it does not read, a damaged
// document or one without text.
package extract

import (
	"bytes"
	"mime"
	"net/http"
	"path"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/plaza-crm/plaza"
)

// Limits. A knowledge file or a prompt document is a few pages of text; the
// limits keep one upload from holding a worker's memory.
const (
	// MaxDocumentSize is the largest document Text accepts, in bytes.
	MaxDocumentSize = 20 << 20
	// MaxTextSize is the largest text Text returns, in bytes.
	MaxTextSize = 4 << 20
	// maxUnzipped caps what a DOCX may inflate to (a zip bomb stops here).
	maxUnzipped = 64 << 20
)

// Kind is a document format Text reads.
type Kind string

const (
	Plain    Kind = "text"
	Markdown Kind = "markdown"
	HTML     Kind = "html"
	PDF      Kind = "pdf"
	DOCX     Kind = "docx"
)

const docxType = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"

// Text returns the plain text of data, a document whose content type (may
// be empty or generic) and file name (may be empty) are given. The text is
// UTF-8 with paragraphs separated by blank lines.
func Text(data []byte, contentType, fileName string) (string, error) {
	if len(data) > MaxDocumentSize {
		return "", plaza.Errorf(plaza.ETOOLARGE, "The document is larger than %d MiB.", MaxDocumentSize>>20)
	}
	kind, err := KindOf(data, contentType, fileName)
	if err != nil {
		return "", err
	}
	var text string
	switch kind {
	case Plain:
		text = plainText(data)
	case Markdown:
		text = markdownText(plainText(data))
	case HTML:
		text, err = htmlText(data)
	case PDF:
		text, err = pdfText(data)
	case DOCX:
		text, err = docxText(data)
	}
	if err != nil {
		return "", err
	}
	text = tidy(text)
	if len(text) > MaxTextSize {
		return "", plaza.Errorf(plaza.ETOOLARGE, "The document's text is longer than %d MiB.", MaxTextSize>>20)
	}
	if text == "" {
		return "", plaza.Errorf(plaza.EUNPROCESSABLE, "The document has no text to read.")
	}
	return text, nil
}

// KindOf tells the format of a document. Binary formats are recognised by
// their first bytes whatever the content type says (servers often send
// application/octet-stream); then a specific content type decides; then the
// file name's extension; then a look at the bytes.
func KindOf(data []byte, contentType, fileName string) (Kind, error) {
	switch {
	case bytes.HasPrefix(data, []byte("%PDF-")):
		return PDF, nil
	case bytes.HasPrefix(data, []byte("PK\x03\x04")):
		// A zip is read as DOCX; docxText refuses one without
		// word/document.xml (an XLSX, a plain archive).
		return DOCX, nil
	case bytes.HasPrefix(data, []byte("\xD0\xCF\x11\xE0")):
		return "", plaza.Errorf(plaza.EUNPROCESSABLE, "Legacy Word (.doc) and other OLE documents are not supported; save the file as .docx or PDF.")
	}

	mediaType, _, _ := mime.ParseMediaType(contentType)
	switch mediaType {
	case "text/markdown", "text/x-markdown":
		return Markdown, nil
	case "text/html", "application/xhtml+xml":
		return HTML, nil
	case "application/pdf":
		return PDF, nil
	case docxType:
		return DOCX, nil
	case "", "text/plain", "application/octet-stream", "binary/octet-stream":
		// Generic: the file name or the bytes decide.
	default:
		if !strings.HasPrefix(mediaType, "text/") {
			return "", unsupported(mediaType)
		}
	}

	switch ext := strings.ToLower(path.Ext(fileName)); ext {
	case ".md", ".markdown", ".mdown", ".mkd":
		return Markdown, nil
	case ".html", ".htm", ".xhtml":
		return HTML, nil
	case ".pdf":
		return PDF, nil
	case ".docx":
		return DOCX, nil
	case ".txt", ".text", ".csv", ".tsv", ".log", ".json", ".xml", ".yaml", ".yml":
		return Plain, nil
	case ".doc":
		return "", plaza.Errorf(plaza.EUNPROCESSABLE, "Legacy Word (.doc) files are not supported; save the file as .docx or PDF.")
	}

	if bytes.IndexByte(data[:min(len(data), 8192)], 0) >= 0 {
		return "", unsupported(mediaType)
	}
	if strings.HasPrefix(http.DetectContentType(data), "text/html") {
		return HTML, nil
	}
	return Plain, nil
}

func unsupported(mediaType string) error {
	if mediaType == "" {
		mediaType = "this kind of file"
	}
	return plaza.Errorf(plaza.EUNPROCESSABLE, "Cannot read text from %s; send plain text, Markdown, HTML, PDF or DOCX.", mediaType)
}

// plainText decodes data as UTF-8 (dropping a byte-order mark); a file that
// is not UTF-8 is read as Latin-1, the usual alternative in Plaza's markets.
func plainText(data []byte) string {
	data = bytes.TrimPrefix(data, []byte("\xEF\xBB\xBF"))
	if utf8.Valid(data) {
		return string(data)
	}
	var b strings.Builder
	b.Grow(len(data) + len(data)/4)
	for _, c := range data {
		b.WriteRune(rune(c))
	}
	return b.String()
}

// tidy normalises whitespace: CRLF to LF, tabs and runs of spaces to one
// space, no control characters, no spaces around lines, at most one blank
// line in a row, nothing around the text.
func tidy(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	blank := false
	for line := range strings.SplitSeq(strings.ReplaceAll(s, "\r\n", "\n"), "\n") {
		line = strings.Join(strings.FieldsFunc(line, isSpaceOrControl), " ")
		if line == "" {
			blank = true
			continue
		}
		if b.Len() > 0 {
			if blank {
				b.WriteString("\n\n")
			} else {
				b.WriteByte('\n')
			}
		}
		blank = false
		b.WriteString(line)
	}
	return b.String()
}

func isSpaceOrControl(r rune) bool {
	return unicode.IsSpace(r) || unicode.IsControl(r) || r == utf8.RuneError || r == '\u200b' || r == '\ufeff'
}
