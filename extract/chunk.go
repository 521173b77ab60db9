package extract

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Passage sizes, in characters (runes). A passage is what retrieval
// returns to an agent: long enough to hold an answer with its context,
// short enough that a few fit in a prompt.
const (
	// ChunkMax is the longest passage Chunk returns.
	ChunkMax = 1000
	// chunkTarget is where Chunk prefers to end a passage at a paragraph.
	chunkTarget = 700
	// chunkOverlap is the most a passage repeats of the one before it.
	chunkOverlap = 200
)

// Chunk cuts text into passages of at most ChunkMax characters, ending them
// on paragraph boundaries where it can, else on sentence boundaries, else
// between words (a single word longer than ChunkMax is cut). Each passage
// after the first starts with the last sentence (at most chunkOverlap
// characters) of the one before, so an answer spanning the cut is found
// whole in one of them. Text of ChunkMax characters or fewer is one
// passage; empty text is none.
func Chunk(text string) []string {
	units := splitUnits(tidy(text))
	var chunks []string
	var cur []unit // the units of the passage being built
	curLen := 0
	emit := func() {
		var b strings.Builder
		for i, u := range cur {
			if i > 0 {
				b.WriteString(u.sep)
			}
			b.WriteString(u.text)
		}
		chunks = append(chunks, b.String())
	}
	for _, u := range units {
		ulen := utf8.RuneCountInString(u.text)
		sepLen := len(u.sep)
		full := len(cur) > 0 && curLen+sepLen+ulen > ChunkMax
		ripe := len(cur) > 0 && curLen >= chunkTarget && u.sep == paragraphSep
		if full || ripe {
			emit()
			cur, curLen = overlapTail(cur), 0
			for i, c := range cur {
				if i > 0 {
					curLen += len(c.sep)
				}
				curLen += utf8.RuneCountInString(c.text)
			}
			if curLen+sepLen+ulen > ChunkMax {
				cur, curLen = nil, 0
			}
		}
		if len(cur) > 0 {
			curLen += sepLen
		}
		cur = append(cur, u)
		curLen += ulen
	}
	if len(cur) > 0 && (len(chunks) == 0 || !onlyOverlap(cur)) {
		emit()
	}
	return chunks
}

const (
	paragraphSep = "\n\n"
	lineSep      = "\n"
	sentenceSep  = " "
)

// unit is a sentence (or a piece of one) and what separates it from the
// unit before it.
type unit struct {
	text    string
	sep     string
	overlap bool // repeated from the previous passage
}

// splitUnits splits text into sentences no longer than ChunkMax.
func splitUnits(text string) []unit {
	var units []unit
	for pi, para := range strings.Split(text, paragraphSep) {
		for li, line := range strings.Split(para, lineSep) {
			for si, s := range sentences(line) {
				sep := sentenceSep
				switch {
				case si == 0 && li == 0:
					sep = paragraphSep
				case si == 0:
					sep = lineSep
				}
				if pi == 0 && li == 0 && si == 0 {
					sep = ""
				}
				for wi, piece := range splitLong(s, ChunkMax) {
					if wi > 0 {
						sep = sentenceSep
					}
					units = append(units, unit{text: piece, sep: sep})
				}
			}
		}
	}
	return units
}

// sentences splits a line after sentence-ending punctuation followed by a
// space.
func sentences(line string) []string {
	var out []string
	start := 0
	runes := []rune(line)
	for i := 0; i < len(runes)-1; i++ {
		switch runes[i] {
		case '.', '!', '?', '…', '。':
			// Closing quotes and brackets stay with their sentence.
			j := i + 1
			for j < len(runes) && strings.ContainsRune(`"'”’)]»`, runes[j]) {
				j++
			}
			if j < len(runes) && unicode.IsSpace(runes[j]) {
				out = append(out, strings.TrimSpace(string(runes[start:j])))
				start = j + 1
				i = j
			}
		}
	}
	if rest := strings.TrimSpace(string(runes[start:])); rest != "" {
		out = append(out, rest)
	}
	return out
}

// splitLong cuts s into pieces of at most max runes between words, cutting
// words only when one alone is longer than max.
func splitLong(s string, max int) []string {
	if utf8.RuneCountInString(s) <= max {
		return []string{s}
	}
	var out []string
	var cur strings.Builder
	curLen := 0
	flush := func() {
		if curLen > 0 {
			out = append(out, cur.String())
			cur.Reset()
			curLen = 0
		}
	}
	for _, w := range strings.Fields(s) {
		wr := []rune(w)
		for len(wr) > max {
			flush()
			out = append(out, string(wr[:max]))
			wr = wr[max:]
		}
		if curLen > 0 && curLen+1+len(wr) > max {
			flush()
		}
		if curLen > 0 {
			cur.WriteByte(' ')
			curLen++
		}
		cur.WriteString(string(wr))
		curLen += len(wr)
	}
	flush()
	return out
}

// overlapTail returns the last units of a passage, at most chunkOverlap
// characters and never the whole passage, to start the next one with.
func overlapTail(units []unit) []unit {
	n, size := 0, 0
	for i := len(units) - 1; i > 0; i-- {
		l := utf8.RuneCountInString(units[i].text)
		if size+l > chunkOverlap {
			break
		}
		size += l + 1
		n++
	}
	tail := make([]unit, n)
	copy(tail, units[len(units)-n:])
	for i := range tail {
		tail[i].overlap = true
	}
	if n > 0 {
		tail[0].sep = ""
	}
	return tail
}

// onlyOverlap reports whether a passage holds nothing but what the
// previous one already ended with.
func onlyOverlap(units []unit) bool {
	for _, u := range units {
		if !u.overlap {
			return false
		}
	}
	return true
}
