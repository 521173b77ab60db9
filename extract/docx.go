package extract

import (
	"archive/zip"
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"strings"

	"github.com/plaza-crm/plaza"
)

// docxText reads the body of a Word document (word/document.xml): each
// paragraph ends a paragraph, tabs and line breaks are kept, a table's
// cells are spaced and its rows end a line. Deleted revisions and field codes are not text.
func docxText(data []byte) (string, error) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return "", plaza.Errorf(plaza.EUNPROCESSABLE, "The DOCX document cannot be read (it is not a valid zip archive).")
	}
	var doc *zip.File
	for _, f := range zr.File {
		if f.Name == "word/document.xml" {
			doc = f
			break
		}
	}
	if doc == nil {
		return "", plaza.Errorf(plaza.EUNPROCESSABLE, "The archive is not a DOCX document (it has no word/document.xml).")
	}
	rc, err := doc.Open()
	if err != nil {
		return "", plaza.Errorf(plaza.EUNPROCESSABLE, "The DOCX document cannot be read.")
	}
	defer rc.Close()
	lr := &io.LimitedReader{R: rc, N: maxUnzipped + 1}
	text, err := wordText(lr)
	if lr.N <= 0 {
		return "", plaza.Errorf(plaza.ETOOLARGE, "The DOCX document inflates to more than %d MiB.", maxUnzipped>>20)
	}
	if err != nil {
		return "", plaza.Errorf(plaza.EUNPROCESSABLE, "The DOCX document cannot be read (its XML is damaged).")
	}
	return text, nil
}

// wordText walks WordprocessingML and writes its text.
func wordText(r io.Reader) (string, error) {
	const w = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
	d := xml.NewDecoder(r)
	var b strings.Builder
	// skip counts open elements whose text is not the document's.
	skip := 0
	// inText is true inside <w:t>; tables counts the open tables.
	inText, tables := false, 0
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			return b.String(), nil
		} else if err != nil {
			return "", err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name.Space != w {
				continue
			}
			switch t.Name.Local {
			case "delText", "instrText", "delInstrText":
				skip++
			case "t":
				inText = true
			case "tbl":
				tables++
			case "tab", "ptab":
				b.WriteByte('\t')
			case "br", "cr":
				b.WriteByte('\n')
			case "noBreakHyphen":
				b.WriteByte('-')
			}
		case xml.EndElement:
			if t.Name.Space != w {
				continue
			}
			switch t.Name.Local {
			case "delText", "instrText", "delInstrText":
				skip--
			case "t":
				inText = false
			case "p":
				if tables > 0 {
					b.WriteByte(' ') // a cell's paragraphs stay on its row
				} else {
					b.WriteString("\n\n")
				}
			case "tc":
				b.WriteByte('\t')
			case "tr":
				b.WriteByte('\n')
			case "tbl":
				tables--
				b.WriteString("\n\n")
			}
		case xml.CharData:
			if inText && skip == 0 {
				b.Write(t)
			}
		}
	}
}
