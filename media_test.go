package plaza_test

import (
	"strings"
	"testing"

	"github.com/plaza-crm/plaza"
)

func TestFileMimeType(t *testing.T) {
	for _, tc := range []struct{ declared, name, want string }{
		{"image/png", "x.jpg", "image/png"},
		{"Audio/OGG; codecs=opus", "", "audio/ogg"},
		{"application/octet-stream", "Sala.JPG", "image/jpeg"},
		{"", "informe.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
		{"", "blob", ""},
		{"not a type", "a.pdf", "application/pdf"},
	} {
		if got := plaza.FileMimeType(tc.declared, tc.name); got != tc.want {
			t.Errorf("FileMimeType(%q, %q) = %q, want %q", tc.declared, tc.name, got, tc.want)
		}
	}
}

func TestSendableFile(t *testing.T) {
	for _, tc := range []struct {
		mimeType, typ string
		max           int64
	}{
		{"image/jpeg", "image", 5 << 20},
		{"video/3gpp", "video", 16 << 20},
		{"audio/x-m4a", "audio", 16 << 20},
		{"application/msword", "document", 100 << 20},
		{"image/gif", "", 0},
		{"text/html", "", 0},
	} {
		typ, max, ok := plaza.SendableFile(tc.mimeType)
		if typ != tc.typ || max != tc.max || ok != (tc.typ != "") {
			t.Errorf("SendableFile(%q) = %q, %d, %v", tc.mimeType, typ, max, ok)
		}
	}
	if got := plaza.FileExtension("image/jpeg"); got != ".jpg" {
		t.Errorf("FileExtension(image/jpeg) = %q", got)
	}
}

func TestMessageFileSend_Validate(t *testing.T) {
	file := func(name, mimeType string, size int64) *plaza.FileUpload {
		return &plaza.FileUpload{Name: name, MimeType: mimeType, Size: size, Body: strings.NewReader("x")}
	}
	for _, tc := range []struct {
		name     string
		in       plaza.MessageFileSend
		fields   string
		typ      string
		fileName string
	}{
		{"document", plaza.MessageFileSend{File: file("a.pdf", "application/pdf", 10)}, "", "document", "a.pdf"},
		{"image drops its file name", plaza.MessageFileSend{File: file("a.png", "", 10)}, "", "image", ""},
		{"link", plaza.MessageFileSend{ContentURL: " https://x.example/v/demo.mp4 "}, "", "video", ""},
		{"link document", plaza.MessageFileSend{ContentURL: "https://x.example/d/catalogo.pdf?v=2"}, "", "document", "catalogo.pdf"},
		{"link typed", plaza.MessageFileSend{ContentURL: "https://x.example/d", MimeType: "audio/mpeg"}, "", "audio", ""},
		{"credentials in link", plaza.MessageFileSend{ContentURL: "https://u:p@x.example/a.pdf"}, "contentUrl", "", ""},
		{"refused while read", plaza.MessageFileSend{FileError: "too big"}, "contentFile", "", ""},
		{"image too big", plaza.MessageFileSend{File: file("a.jpg", "image/jpeg", 5<<20+1)}, "contentFile", "image", ""},
		{"document at the limit", plaza.MessageFileSend{File: file("a.pdf", "application/pdf", 100<<20)}, "", "document", "a.pdf"},
		{"caption on audio", plaza.MessageFileSend{MessageSend: plaza.MessageSend{Content: "hola"}, File: file("a.mp3", "", 3)}, "content", "audio", ""},
		{"blank caption on audio", plaza.MessageFileSend{MessageSend: plaza.MessageSend{Content: "  "}, File: file("a.mp3", "", 3)}, "", "audio", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in
			in.RecipientPhone = "+51 987 654 321"
			err := in.Validate()
			var fields []string
			if e, ok := err.(*plaza.Error); ok {
				for _, f := range e.Fields {
					fields = append(fields, f.Field)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(fields, ","); got != tc.fields {
				t.Errorf("fields %q, want %q (%v)", got, tc.fields, err)
			}
			if in.Type != tc.typ || in.FileName != tc.fileName {
				t.Errorf("type %q, file name %q; want %q, %q", in.Type, in.FileName, tc.typ, tc.fileName)
			}
		})
	}
}
