package extract_test

import (
	"archive/zip"
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/plaza-crm/plaza"
	"github.com/plaza-crm/plaza/extract"
	"github.com/plaza-crm/plaza/extract/extracttest"
)

func TestText_Plain(t *testing.T) {
	for _, tc := range []struct {
		name, contentType, fileName string
		data                        []byte
		want                        string
	}{
		{"utf8 with BOM and CRLF", "text/plain; charset=utf-8", "faq.txt",
			[]byte("\xEF\xBB\xBFHorario:\r\n  lunes a viernes\t 9 a 18 h.\r\n\r\n\r\n\r\nCafé  gratis."),
			"Horario:\nlunes a viernes 9 a 18 h.\n\nCafé gratis."},
		{"latin-1 read as latin-1", "", "notes.txt",
			[]byte("Caf\xe9 con leche, se\xf1or."),
			"Café con leche, señor."},
		{"no type, no name", "", "", []byte("just words"), "just words"},
		{"octet-stream with txt name", "application/octet-stream", "a.TXT", []byte("hola"), "hola"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := extract.Text(tc.data, tc.contentType, tc.fileName)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
		})
	}
}

func TestText_Markdown(t *testing.T) {
	md := "# Precios 2025 #\n\n" +
		"Los **planes** se pagan _por mes_; ver [la tabla](https://example.com/t \"t\") o ![logo de Plaza](logo.png).\n" +
		"La variable snake_case_name queda igual y 2 * 3 * 4 también. \\*No es énfasis\\*.\n\n" +
		"Setext\n======\n\n" +
		"> Una cita con `código` y ~~tachado~~ y <b>html</b> y <https://plaza.example>.\n\n" +
		"- uno\n* dos\n1. tres\n- [x] hecho\n\n" +
		"| Plan | Precio |\n|:-----|-------:|\n| Básico | 10 USD |\n\n" +
		"```go\nfmt.Println(\"hola\")\n```\n\n" +
		"---\n\n" +
		"[ref]: https://example.com\n" +
		"Fin con [referencia][ref].\n"
	want := "Precios 2025\n\n" +
		"Los planes se pagan por mes; ver la tabla o logo de Plaza.\n" +
		"La variable snake_case_name queda igual y 2 * 3 * 4 también. *No es énfasis*.\n\n" +
		"Setext\n\n" +
		"Una cita con código y tachado y html y https://plaza.example.\n\n" +
		"uno\ndos\ntres\nhecho\n\n" +
		"Plan Precio\n\nBásico 10 USD\n\n" +
		"fmt.Println(\"hola\")\n\n" +
		"Fin con referencia."
	for _, tc := range []struct{ contentType, fileName string }{
		{"text/markdown; charset=utf-8", ""},
		{"text/plain", "precios.md"},
		{"", "PRECIOS.markdown"},
	} {
		got, err := extract.Text([]byte(md), tc.contentType, tc.fileName)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%q %q: (-want +got)\n%s", tc.contentType, tc.fileName, diff)
		}
	}
}

func TestText_HTML(t *testing.T) {
	page := `<!DOCTYPE html><html><head><title>Clínica Sonrisas</title>
<style>body { color: red }</style><script>var secret = "do not index";</script></head>
<body><nav><a href="/">Inicio</a></nav>
<h1>Horarios</h1><p>Abrimos de <b>lunes</b>
   a   sábado,<br>de 8 a 18&nbsp;h.</p>
<div>Primera línea</div><div>Segunda línea</div>
<ul><li>Limpieza</li><li>Ortodoncia &amp; más</li></ul>
<table><tr><th>Servicio</th><th>Precio</th></tr><tr><td>Limpieza</td><td>30 USD</td></tr></table>
<pre>  dos   espacios
  se quedan</pre>
<noscript>Activa JavaScript</noscript><template><p>plantilla</p></template>
<p hidden>oculto</p><img src="x.png" alt="Foto del consultorio"><!-- comentario -->
</body></html>`
	want := "Clínica Sonrisas\n\n" +
		"Inicio\n\n" +
		"Horarios\n\n" +
		"Abrimos de lunes a sábado,\nde 8 a 18 h.\n\n" +
		"Primera línea\nSegunda línea\n\n" +
		"Limpieza\nOrtodoncia & más\n\n" +
		"Servicio Precio\nLimpieza 30 USD\n\n" +
		"dos espacios\nse quedan\n\n" +
		"Foto del consultorio"
	for _, tc := range []struct{ contentType, fileName string }{
		{"text/html; charset=utf-8", ""},
		{"application/octet-stream", "horarios.htm"},
		{"", ""}, // sniffed
	} {
		got, err := extract.Text([]byte(page), tc.contentType, tc.fileName)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%q %q: (-want +got)\n%s", tc.contentType, tc.fileName, diff)
		}
	}
}

func TestText_DOCX(t *testing.T) {
	body := `<w:p><w:r><w:t>Política de</w:t></w:r><w:r><w:t xml:space="preserve"> reembolsos</w:t></w:r></w:p>` +
		`<w:p><w:r><w:t>Plazo:</w:t><w:tab/><w:t>cinco días</w:t><w:br/><w:t>hábiles.</w:t></w:r>` +
		`<w:del><w:r><w:delText>borrado</w:delText></w:r></w:del>` +
		`<w:r><w:fldChar w:fldCharType="begin"/><w:instrText>PAGE</w:instrText></w:r></w:p>` +
		`<w:tbl><w:tr><w:tc><w:p><w:r><w:t>Plan</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>Precio</w:t></w:r></w:p></w:tc></w:tr>` +
		`<w:tr><w:tc><w:p><w:r><w:t>Pro</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>20 USD</w:t></w:r></w:p></w:tc></w:tr></w:tbl>` +
		`<w:p><w:r><w:t>Fin &amp; gracias.</w:t></w:r></w:p>`
	doc := extracttest.DOCX(body)
	want := "Política de reembolsos\n\nPlazo: cinco días\nhábiles.\n\nPlan Precio\nPro 20 USD\n\nFin & gracias."
	for _, tc := range []struct{ contentType, fileName string }{
		{"application/vnd.openxmlformats-officedocument.wordprocessingml.document", ""},
		{"application/octet-stream", "politica.docx"},
		{"", ""},
	} {
		got, err := extract.Text(doc, tc.contentType, tc.fileName)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%q %q: (-want +got)\n%s", tc.contentType, tc.fileName, diff)
		}
	}
}

func TestText_PDF(t *testing.T) {
	doc := extracttest.PDF(
		// Page 1, plain content stream: Helvetica (no widths in the
		// file) with spaces drawn, two lines by Td, a paragraph
		// further down; then Courier with widths, words positioned
		// by TJ instead of drawn spaces.
		"BT /F1 12 Tf 72 720 Td (Plaza answers customers on WhatsApp.) Tj 0 -14 Td (The clinic opens at eight.) Tj ET\n"+
			"BT /F1 12 Tf 72 650 Td (Second paragraph here.) Tj ET\n"+
			"BT /F2 12 Tf 72 600 Td [(Refunds) -600 (take) -600 (five) -600 (da) -10 (ys.)] TJ ET",
		// Page 2, Flate-compressed, a WinAnsi accent.
		"BT /F1 12 Tf 72 720 Td (Caf\\351 con leche en la p\\341gina dos.) Tj ET",
	)
	want := "Plaza answers customers on WhatsApp.\nThe clinic opens at eight.\n\n" +
		"Second paragraph here.\n\nRefunds take five days.\n\n" +
		"Café con leche en la página dos."
	for _, tc := range []struct{ contentType, fileName string }{
		{"application/pdf", ""},
		{"application/octet-stream", "x.bin"},
		{"text/plain", ""},
	} {
		got, err := extract.Text(doc, tc.contentType, tc.fileName)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%q %q: (-want +got)\n%s", tc.contentType, tc.fileName, diff)
		}
	}
}

func TestText_Errors(t *testing.T) {
	zipNoWord := func() []byte {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		w, _ := zw.Create("hello.txt")
		w.Write([]byte("hi"))
		zw.Close()
		return buf.Bytes()
	}()
	for _, tc := range []struct {
		name, contentType, fileName string
		data                        []byte
		code, message               string
	}{
		{"image", "image/png", "a.png", []byte("\x89PNG\r\n\x1a\n...."), plaza.EUNPROCESSABLE,
			"Cannot read text from image/png; send plain text, Markdown, HTML, PDF or DOCX."},
		{"binary without type", "", "", []byte("ab\x00cd"), plaza.EUNPROCESSABLE,
			"Cannot read text from this kind of file; send plain text, Markdown, HTML, PDF or DOCX."},
		{"legacy doc by name", "application/msword", "a.doc", []byte("x"), plaza.EUNPROCESSABLE,
			"Cannot read text from application/msword; send plain text, Markdown, HTML, PDF or DOCX."},
		{"legacy doc by bytes", "", "a.doc", []byte("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1"), plaza.EUNPROCESSABLE,
			"Legacy Word (.doc) and other OLE documents are not supported; save the file as .docx or PDF."},
		{"damaged pdf", "application/pdf", "", []byte("%PDF-1.4\nnot really"), plaza.EUNPROCESSABLE,
			"The PDF cannot be read (it looks damaged)."},
		{"pdf without text", "", "", extracttest.PDF("0 0 m 10 10 l S"), plaza.EUNPROCESSABLE,
			"The document has no text to read."},
		{"zip that is not a docx", "", "", zipNoWord, plaza.EUNPROCESSABLE,
			"The archive is not a DOCX document (it has no word/document.xml)."},
		{"damaged docx xml", "", "", extracttest.DOCX("<w:p><w:r><w:t>oops</w:r>"), plaza.EUNPROCESSABLE,
			"The DOCX document cannot be read (its XML is damaged)."},
		{"empty", "text/plain", "", []byte(" \n\t\n"), plaza.EUNPROCESSABLE, "The document has no text to read."},
		{"too large", "text/plain", "", bytes.Repeat([]byte("a"), extract.MaxDocumentSize+1), plaza.ETOOLARGE,
			"The document is larger than 20 MiB."},
		{"text too large", "text/plain", "", bytes.Repeat([]byte("a "), extract.MaxTextSize), plaza.ETOOLARGE,
			"The document's text is longer than 4 MiB."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := extract.Text(tc.data, tc.contentType, tc.fileName)
			if err == nil {
				t.Fatalf("no error; text %q", got)
			}
			if code, msg := plaza.ErrorCode(err), plaza.ErrorMessage(err); code != tc.code || msg != tc.message {
				t.Errorf("got %s %q, want %s %q", code, msg, tc.code, tc.message)
			}
		})
	}
}

func TestText_DOCXZipBomb(t *testing.T) {
	// A document.xml that inflates past the limit: zeros compress
	// a thousandfold, so the archive itself stays small.
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.Create("word/document.xml")
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte(`<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>`))
	zeros := make([]byte, 1<<20)
	for i := range zeros {
		zeros[i] = '0'
	}
	for range 65 {
		w.Write(zeros)
	}
	zw.Close()
	if buf.Len() > extract.MaxDocumentSize {
		t.Fatalf("archive is %d bytes; the test needs it under the document limit", buf.Len())
	}
	_, err = extract.Text(buf.Bytes(), "", "bomb.docx")
	if code := plaza.ErrorCode(err); code != plaza.ETOOLARGE {
		t.Fatalf("got %v, want ETOOLARGE", err)
	}
}
