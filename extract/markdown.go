package extract

import (
	"regexp"
	"strings"
)

// markdownText keeps a Markdown document's words and drops its markup:
// heading and list markers, emphasis, link targets (a link keeps its text,
// an image its alt text), fences, rules, table pipes and HTML tags. Code
// stays as text: in a knowledge file it is often the answer.
func markdownText(s string) string {
	var out []string
	fence := ""
	for line := range strings.SplitSeq(strings.ReplaceAll(s, "\r\n", "\n"), "\n") {
		trimmed := strings.TrimSpace(line)
		if fence != "" {
			if strings.HasPrefix(trimmed, fence) && strings.Trim(trimmed, fence[:1]) == "" {
				fence = ""
				out = append(out, "")
				continue
			}
			out = append(out, line)
			continue
		}
		if f := fenceOpen(trimmed); f != "" {
			fence = f
			out = append(out, "")
			continue
		}
		switch {
		case mdRule.MatchString(trimmed), mdTableRule.MatchString(trimmed), mdLinkDef.MatchString(trimmed):
			// A rule, a setext underline, a table's header rule or a
			// link definition: markup only, but a break.
			out = append(out, "")
			continue
		}
		trimmed = mdQuote.ReplaceAllString(trimmed, "")
		if h := mdHeading.FindString(trimmed); h != "" {
			trimmed = mdHeadingClose.ReplaceAllString(trimmed[len(h):], "")
		}
		trimmed = mdListItem.ReplaceAllString(trimmed, "")
		if strings.HasPrefix(trimmed, "|") || strings.HasSuffix(trimmed, "|") {
			cells := strings.Split(strings.Trim(trimmed, "|"), "|")
			for i := range cells {
				cells[i] = strings.TrimSpace(cells[i])
			}
			trimmed = strings.Join(cells, " ")
		}
		out = append(out, markdownInline(trimmed))
	}
	return strings.Join(out, "\n")
}

// fenceOpen returns the fence (``` or ~~~, possibly longer) a line opens,
// or "".
func fenceOpen(line string) string {
	for _, c := range []string{"`", "~"} {
		n := len(line) - len(strings.TrimLeft(line, c))
		if n >= 3 {
			return strings.Repeat(c, n)
		}
	}
	return ""
}

var (
	mdRule         = regexp.MustCompile(`^(?:(?:-[ \t]*){3,}|(?:\*[ \t]*){3,}|(?:_[ \t]*){3,}|=+)$`)
	mdTableRule    = regexp.MustCompile(`^\|?[ \t]*:?-+:?[ \t]*(?:\|[ \t]*:?-+:?[ \t]*)+\|?$`)
	mdLinkDef      = regexp.MustCompile(`^\[[^\]]+\]:[ \t]*\S+`)
	mdQuote        = regexp.MustCompile(`^(?:>[ \t]?)+`)
	mdHeading      = regexp.MustCompile(`^#{1,6}(?:[ \t]+|$)`)
	mdHeadingClose = regexp.MustCompile(`[ \t]+#+[ \t]*$`)
	mdListItem     = regexp.MustCompile(`^(?:[-*+]|\d{1,9}[.)])[ \t]+(?:\[[ xX]\][ \t]+)?`)

	mdImage    = regexp.MustCompile(`!\[([^\]]*)\]\([^)]*\)`)
	mdLink     = regexp.MustCompile(`\[([^\]]+)\]\([^)]*\)`)
	mdRefLink  = regexp.MustCompile(`!?\[([^\]]+)\]\[[^\]]*\]`)
	mdAutolink = regexp.MustCompile(`<((?:https?|mailto):[^>\s]+)>`)
	mdTag      = regexp.MustCompile(`</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>`)
	mdCode     = regexp.MustCompile("`+([^`]+)`+")
	mdStrong   = regexp.MustCompile(`\*\*(\S(?:[^*]*\S)?)\*\*|__(\S(?:[^_]*\S)?)__`)
	mdEmStar   = regexp.MustCompile(`\*(\S(?:[^*]*\S)?)\*`)
	mdEmUnder  = regexp.MustCompile(`(^|[^\p{L}\p{N}_])_(\S(?:[^_]*\S)?)_([^\p{L}\p{N}_]|$)`)
	mdStrike   = regexp.MustCompile(`~~(\S(?:[^~]*\S)?)~~`)
	mdEscape   = regexp.MustCompile(`\\([\\` + "`" + `*_{}\[\]()#+\-.!|>~])`)
)

// markdownInline drops inline markup from one line.
func markdownInline(s string) string {
	// Escaped characters are literal: hide them from the patterns below
	// in the private use area, and bring them back at the end.
	s = mdEscape.ReplaceAllStringFunc(s, func(m string) string { return string(rune(escapeBase + rune(m[1]))) })
	s = mdCode.ReplaceAllString(s, "$1")
	s = mdImage.ReplaceAllString(s, "$1")
	s = mdLink.ReplaceAllString(s, "$1")
	s = mdRefLink.ReplaceAllString(s, "$1")
	s = mdAutolink.ReplaceAllString(s, "$1")
	s = mdTag.ReplaceAllString(s, "")
	s = mdStrong.ReplaceAllString(s, "$1$2")
	s = mdStrike.ReplaceAllString(s, "$1")
	s = mdEmStar.ReplaceAllString(s, "$1")
	s = mdEmUnder.ReplaceAllString(s, "$1$2$3")
	return strings.Map(func(r rune) rune {
		if r >= escapeBase && r < escapeBase+0x80 {
			return r - escapeBase
		}
		return r
	}, s)
}

// escapeBase is where escaped ASCII punctuation hides while inline markup
// is removed (U+E000.., private use).
const escapeBase = 0xE000
