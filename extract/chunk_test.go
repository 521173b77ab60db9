package extract_test

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/plaza-crm/plaza/extract"
)

// sentence returns a 62-character sentence numbered i.
func sentence(i int) string {
	return fmt.Sprintf("Sentence %02d says something useful about the product and price.", i)
}

func sentences(from, to int) string {
	var s []string
	for i := from; i <= to; i++ {
		s = append(s, sentence(i))
	}
	return strings.Join(s, " ")
}

func TestChunk_Small(t *testing.T) {
	if got := extract.Chunk(" \n\n "); got != nil {
		t.Errorf("empty text: got %q, want none", got)
	}
	got := extract.Chunk("One short paragraph.\n\nAnd   another.")
	if diff := cmp.Diff([]string{"One short paragraph.\n\nAnd another."}, got); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
}

func TestChunk_ParagraphBoundaryWithOverlap(t *testing.T) {
	if n := len(sentence(1)); n != 62 {
		t.Fatalf("sentence is %d characters; the expectations below assume 62", n)
	}
	p1, p2, p3 := sentences(1, 6), sentences(7, 12), sentences(13, 18)
	got := extract.Chunk(p1 + "\n\n" + p2 + "\n\n" + p3)
	want := []string{
		// 756 characters: past the target when the third paragraph
		// starts, so the passage ends there rather than mid-paragraph.
		p1 + "\n\n" + p2,
		// Starts with the previous passage's last sentences (up to
		// 200 characters).
		sentences(10, 12) + "\n\n" + p3,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
}

func TestChunk_LongParagraph(t *testing.T) {
	text := sentences(1, 60) // 3,779 characters, one paragraph
	got := extract.Chunk(text)
	if len(got) < 5 {
		t.Fatalf("got %d passages, want at least 5", len(got))
	}
	next := 1 // the first sentence not yet seen
	for i, c := range got {
		if n := utf8.RuneCountInString(c); n > extract.ChunkMax || n < 500 && i < len(got)-1 {
			t.Errorf("passage %d has %d characters", i, n)
		}
		// Every passage is whole sentences: it starts with one and
		// ends with one.
		parts := strings.Split(c, ". ")
		first, last := parts[0]+".", parts[len(parts)-1]
		var a, b int
		if _, err := fmt.Sscanf(first, "Sentence %d", &a); err != nil {
			t.Fatalf("passage %d starts mid-sentence: %q", i, c[:40])
		}
		if _, err := fmt.Sscanf(last, "Sentence %d", &b); err != nil || !strings.HasSuffix(c, ".") {
			t.Fatalf("passage %d ends mid-sentence: %q", i, c[len(c)-40:])
		}
		if i > 0 && (a >= next || a < next-3) {
			t.Errorf("passage %d starts at sentence %d; want an overlap of 1-3 sentences before %d", i, a, next)
		}
		if i == 0 && a != 1 {
			t.Errorf("first passage starts at sentence %d", a)
		}
		next = b + 1
	}
	if next != 61 {
		t.Errorf("the passages end at sentence %d, want 60", next-1)
	}
}

func TestChunk_LongWordsAndNoPunctuation(t *testing.T) {
	word := strings.Repeat("ñ", 2500) // one "word" longer than two passages
	words := strings.TrimSpace(strings.Repeat("palabra ", 300))
	got := extract.Chunk(word + "\n\n" + words)
	var total int
	for i, c := range got {
		n := utf8.RuneCountInString(c)
		if n > extract.ChunkMax {
			t.Errorf("passage %d has %d characters", i, n)
		}
		total += strings.Count(c, "ñ")
		if strings.Contains(c, "palabr ") || strings.HasSuffix(c, "palabr") {
			t.Errorf("passage %d cuts a word: ...%q", i, c[max(0, len(c)-20):])
		}
	}
	if total != 2500 {
		t.Errorf("the long word's pieces add up to %d characters, want 2500", total)
	}
	if last := got[len(got)-1]; !strings.HasSuffix(last, "palabra palabra") {
		t.Errorf("last passage ends %q", last[max(0, len(last)-30):])
	}
}
