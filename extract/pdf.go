package extract

import (
	"bytes"
	"math"
	"strings"

	"github.com/ledongthuc/pdf"

	"github.com/plaza-crm/plaza"
)

// pdfText reads the text a PDF draws, page after page. The glyphs come in
// the order the page's content stream draws them (usually reading order);
// a glyph below the previous one starts a new line, a clearly larger drop a
// new paragraph, and a horizontal gap wider than a fraction of the font size
// a space (many PDFs position words instead of drawing spaces). Scanned
// pages have no text: Plaza does no OCR.
func pdfText(data []byte) (text string, err error) {
	// The reader reports damage by panicking; a damaged upload is the
	// client's problem, never the worker's.
	defer func() {
		if recover() != nil {
			text, err = "", damagedPDF()
		}
	}()
	r, err := pdf.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		if strings.Contains(err.Error(), "encrypt") || strings.Contains(err.Error(), "password") {
			return "", plaza.Errorf(plaza.EUNPROCESSABLE, "The PDF is encrypted; send a copy without a password.")
		}
		return "", damagedPDF()
	}
	var b strings.Builder
	for i := 1; i <= r.NumPage(); i++ {
		p := r.Page(i)
		if p.V.IsNull() {
			continue
		}
		writePDFPage(&b, p.Content().Text)
		b.WriteString("\n\n")
		if b.Len() > MaxTextSize {
			break // Text reports the size
		}
	}
	return b.String(), nil
}

func damagedPDF() error {
	return plaza.Errorf(plaza.EUNPROCESSABLE, "The PDF cannot be read (it looks damaged).")
}

func writePDFPage(b *strings.Builder, glyphs []pdf.Text) {
	var prev *pdf.Text
	for i := range glyphs {
		g := &glyphs[i]
		if g.S == "\n" || g.S == "" {
			// The reader marks the end of each TJ array; lines are
			// told by position instead.
			continue
		}
		if prev != nil {
			size := math.Max(math.Abs(prev.FontSize), math.Abs(g.FontSize))
			if size == 0 {
				size = 1
			}
			dy := prev.Y - g.Y
			gap := g.X - (prev.X + prev.W)
			switch {
			case math.Abs(dy) > size*1.8:
				b.WriteString("\n\n")
			case math.Abs(dy) > size*0.5:
				b.WriteByte('\n')
			case gap > size*0.15 && prev.S != " " && g.S != " ":
				b.WriteByte(' ')
			}
		}
		b.WriteString(g.S)
		prev = g
	}
}
