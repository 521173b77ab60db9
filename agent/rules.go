package agent

import (
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/plaza-crm/plaza"
)

// withinHours reports whether t falls in one of the spans, read in the
// IANA zone tz (UTC when ""). A span's To may be "24:00"; a span whose To
// is before its From runs past midnight into the next day.
func withinHours(t time.Time, tz string, hours []plaza.AgentHours) (bool, error) {
	loc := time.UTC
	if tz != "" {
		var err error
		if loc, err = time.LoadLocation(tz); err != nil {
			return false, fmt.Errorf("timezone %q: %w", tz, err)
		}
	}
	t = t.In(loc)
	minute := t.Hour()*60 + t.Minute()
	day := int(t.Weekday())
	for _, h := range hours {
		from, err := clock(h.From)
		if err != nil {
			return false, err
		}
		to, err := clock(h.To)
		if err != nil {
			return false, err
		}
		days := h.Days
		if len(days) == 0 {
			days = []int{0, 1, 2, 3, 4, 5, 6}
		}
		for _, d := range days {
			if from <= to {
				if d == day && minute >= from && minute < to {
					return true, nil
				}
				continue
			}
			// Overnight: from today's From to tomorrow's To.
			if d == day && minute >= from || (d+1)%7 == day && minute < to {
				return true, nil
			}
		}
	}
	return false, nil
}

// clock parses "HH:MM" into minutes after midnight.
func clock(s string) (int, error) {
	var h, m int
	if _, err := fmt.Sscanf(strings.TrimSpace(s), "%d:%d", &h, &m); err != nil || h < 0 || h > 24 || m < 0 || m > 59 || h == 24 && m != 0 {
		return 0, fmt.Errorf("hours: %q is not a time of day like 08:30", s)
	}
	return h*60 + m, nil
}

// trimWords keeps at most max words of s (max <= 0 keeps all): it cuts at
// the last sentence end within the limit, or, when the first sentence is
// already too long, after the max-th word with an ellipsis.
func trimWords(s string, max int) string {
	s = strings.TrimSpace(s)
	if max <= 0 {
		return s
	}
	// Find where the max-th word ends and whether more follow.
	words, end, inWord := 0, len(s), false
	for i, r := range s {
		if unicode.IsSpace(r) {
			if inWord && words == max {
				end = i
				break
			}
			inWord = false
			continue
		}
		if !inWord {
			inWord = true
			words++
		}
	}
	if end == len(s) {
		return s
	}
	head := s[:end]
	if cut := lastSentenceEnd(head); cut > 0 {
		return strings.TrimSpace(head[:cut])
	}
	return strings.TrimRight(strings.TrimSpace(head), ",;:-") + "…"
}

// lastSentenceEnd is the index just past the last ".", "!", "?" or "…"
// (with closing quotes or brackets) that is followed by a space or the
// end of s; 0 when there is none.
func lastSentenceEnd(s string) int {
	best := 0
	runes := []rune(s)
	pos := 0
	for i, r := range runes {
		pos += len(string(r))
		if r != '.' && r != '!' && r != '?' && r != '…' {
			continue
		}
		j, p := i+1, pos
		for j < len(runes) && strings.ContainsRune(`"'”’)]`, runes[j]) {
			p += len(string(runes[j]))
			j++
		}
		if j == len(runes) || unicode.IsSpace(runes[j]) {
			best = p
		}
	}
	return best
}
