package extract

import (
	"bytes"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"

	"github.com/plaza-crm/plaza"
)

// htmlText keeps the words a browser would show: script, style and other
// invisible elements are dropped, block elements end a line (paragraphs,
// headings, lists and tables end a paragraph), table cells are spaced, and
// whitespace collapses as in rendering except inside <pre>.
func htmlText(data []byte) (string, error) {
	doc, err := html.Parse(bytes.NewReader(data))
	if err != nil {
		return "", plaza.Errorf(plaza.EUNPROCESSABLE, "The HTML document cannot be read.")
	}
	var w htmlWriter
	w.walk(doc, false)
	return w.b.String(), nil
}

type htmlWriter struct {
	b strings.Builder
	// space is true when a collapsed space is due before the next word.
	space bool
}

func (w *htmlWriter) walk(n *html.Node, pre bool) {
	switch n.Type {
	case html.TextNode:
		w.text(n.Data, pre)
		return
	case html.ElementNode:
		if htmlHidden[n.DataAtom] || hasAttr(n, "hidden") {
			return
		}
		switch n.DataAtom {
		case atom.Br:
			w.breakLine("\n")
			return
		case atom.Img:
			if alt := attr(n, "alt"); alt != "" {
				w.text(alt, false)
			}
			return
		case atom.Pre:
			pre = true
		case atom.Td, atom.Th:
			w.space = true
		}
	case html.CommentNode, html.DoctypeNode:
		return
	}
	brk := htmlBlocks[n.DataAtom]
	if n.Type == html.ElementNode && brk != "" {
		w.breakLine(brk)
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		w.walk(c, pre)
	}
	if n.Type == html.ElementNode && brk != "" {
		w.breakLine(brk)
	}
	if n.DataAtom == atom.Td || n.DataAtom == atom.Th {
		w.space = true
	}
}

func (w *htmlWriter) text(s string, pre bool) {
	if pre {
		w.b.WriteString(s)
		w.space = false
		return
	}
	if s != "" && isHTMLSpace(s[0]) {
		w.space = true
	}
	for i, word := range strings.FieldsFunc(s, func(r rune) bool { return r < 0x80 && isHTMLSpace(byte(r)) }) {
		if (i > 0 || w.space) && w.b.Len() > 0 && !w.atLineStart() {
			w.b.WriteByte(' ')
		}
		w.b.WriteString(word)
		w.space = false
	}
	if s != "" && isHTMLSpace(s[len(s)-1]) {
		w.space = true
	}
}

// breakLine ends the current line (brk "\n") or paragraph ("\n\n"),
// unless the text already ends so.
func (w *htmlWriter) breakLine(brk string) {
	w.space = false
	s := w.b.String()
	if s == "" {
		return
	}
	have := len(s) - len(strings.TrimRight(s, "\n"))
	for range len(brk) - have {
		w.b.WriteByte('\n')
	}
}

func (w *htmlWriter) atLineStart() bool {
	s := w.b.String()
	return s[len(s)-1] == '\n'
}

func isHTMLSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func hasAttr(n *html.Node, key string) bool {
	for _, a := range n.Attr {
		if a.Key == key {
			return true
		}
	}
	return false
}

// htmlHidden are elements whose content is not shown as text.
var htmlHidden = map[atom.Atom]bool{
	atom.Script: true, atom.Style: true, atom.Noscript: true, atom.Template: true,
	atom.Svg: true, atom.Math: true, atom.Iframe: true,
	atom.Object: true, atom.Canvas: true, atom.Select: true, atom.Button: true,
	atom.Input: true, atom.Textarea: true,
}

// htmlBlocks are elements that start and end a line ("\n") or a paragraph
// ("\n\n").
var htmlBlocks = map[atom.Atom]string{
	atom.P: "\n\n", atom.H1: "\n\n", atom.H2: "\n\n", atom.H3: "\n\n", atom.H4: "\n\n",
	atom.H5: "\n\n", atom.H6: "\n\n", atom.Blockquote: "\n\n", atom.Pre: "\n\n",
	atom.Table: "\n\n", atom.Ul: "\n\n", atom.Ol: "\n\n", atom.Dl: "\n\n",
	atom.Section: "\n\n", atom.Article: "\n\n", atom.Header: "\n\n", atom.Footer: "\n\n",
	atom.Main: "\n\n", atom.Aside: "\n\n", atom.Nav: "\n\n", atom.Figure: "\n\n",
	atom.Hr: "\n\n", atom.Li: "\n", atom.Div: "\n", atom.Tr: "\n", atom.Dt: "\n",
	atom.Dd: "\n", atom.Caption: "\n", atom.Figcaption: "\n", atom.Address: "\n",
	atom.Details: "\n", atom.Summary: "\n", atom.Form: "\n", atom.Fieldset: "\n",
	atom.Legend: "\n", atom.Title: "\n\n",
}
