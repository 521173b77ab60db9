package phone_test

import (
	"errors"
	"regexp"
	"strings"
	"testing"
	"unicode"

	"github.com/google/go-cmp/cmp"

	"github.com/plaza-crm/plaza/phone"
)

func TestNormalize(t *testing.T) {
	for _, c := range []struct {
		raw  string
		want phone.Number
	}{
		// Peru, every way it is typed.
		{"+51 987 654 321", phone.Number{E164: "+51987654321", Digits: "51987654321", Key: "51987654321"}},
		{"51987654321", phone.Number{E164: "+51987654321", Digits: "51987654321", Key: "51987654321"}},
		{"0051987654321", phone.Number{E164: "+51987654321", Digits: "51987654321", Key: "51987654321"}},
		{"00 51 987-654-321", phone.Number{E164: "+51987654321", Digits: "51987654321", Key: "51987654321"}},
		{"  +51.987.654.321\t", phone.Number{E164: "+51987654321", Digits: "51987654321", Key: "51987654321"}},
		{"(+51) 987 654 321", phone.Number{E164: "+51987654321", Digits: "51987654321", Key: "51987654321"}},
		{"+51\u00a0987\u00a0654\u00a0321", phone.Number{E164: "+51987654321", Digits: "51987654321", Key: "51987654321"}},
		// North America.
		{"+1 (555) 000-1234", phone.Number{E164: "+15550001234", Digits: "15550001234", Key: "15550001234"}},
		// Mexico: with and without the mobile 1.
		{"00 52 1 55 1234 5678", phone.Number{E164: "+5215512345678", Digits: "5215512345678", Key: "525512345678"}},
		{"+52 55 1234 5678", phone.Number{E164: "+525512345678", Digits: "525512345678", Key: "525512345678"}},
		// Argentina: with and without the mobile 9.
		{"+54 9 11 2345 6789", phone.Number{E164: "+5491123456789", Digits: "5491123456789", Key: "541123456789"}},
		{"+54 11 2345 6789", phone.Number{E164: "+541123456789", Digits: "541123456789", Key: "541123456789"}},
		// Brazil: a mobile with and without the ninth digit.
		{"+55 11 98765-4321", phone.Number{E164: "+5511987654321", Digits: "5511987654321", Key: "551187654321"}},
		{"+55 11 8765-4321", phone.Number{E164: "+551187654321", Digits: "551187654321", Key: "551187654321"}},
		{"55 21 9 6123 4567", phone.Number{E164: "+5521961234567", Digits: "5521961234567", Key: "552161234567"}},
		// Brazil: 9 followed by 0-5 has no 8-digit form; a landline stays.
		{"+55 11 95123-4567", phone.Number{E164: "+5511951234567", Digits: "5511951234567", Key: "5511951234567"}},
		{"+55 11 3456-7890", phone.Number{E164: "+551134567890", Digits: "551134567890", Key: "551134567890"}},
		// The rules apply only at their lengths and prefixes.
		{"+52 1 55 1234 567", phone.Number{E164: "+521551234567", Digits: "521551234567", Key: "521551234567"}},
		{"+5491123456789012", phone.Number{}}, // 16 digits: refused below
		// Shortest and longest.
		{"+4930123", phone.Number{}}, // 7 digits: refused below
		{"+49 301 2345", phone.Number{E164: "+493012345", Digits: "493012345", Key: "493012345"}},
		{"+12345678", phone.Number{E164: "+12345678", Digits: "12345678", Key: "12345678"}},
		{"+123456789012345", phone.Number{E164: "+123456789012345", Digits: "123456789012345", Key: "123456789012345"}},
	} {
		t.Run(c.raw, func(t *testing.T) {
			got, err := phone.Normalize(c.raw)
			if c.want == (phone.Number{}) {
				if err == nil {
					t.Fatalf("Normalize(%q) = %+v, want an error", c.raw, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("Normalize(%q): %v", c.raw, err)
			}
			if diff := cmp.Diff(c.want, got); diff != "" {
				t.Fatalf("Normalize(%q) (-want +got):\n%s", c.raw, diff)
			}
		})
	}
}

func TestNormalize_Invalid(t *testing.T) {
	for _, c := range []struct{ raw, reason string }{
		{"", "empty"},
		{"   ", "empty"},
		{"+", "no digits"},
		{"()-. ", "no digits"},
		{"00", "no digits"},
		{"+51 987 654 32a", "letters"},
		{"call 51987654321", "letters"},
		{"51987654321 ext 2", "letters"},
		{"+51 ９８７ 654 321", "only digits"}, // full-width digits are not ASCII digits
		{"+51/987/654/321", "only digits"},
		{"+51#987654321", "only digits"},
		{"51+987654321", "a + may only"},
		{"++51987654321", "a + may only"},
		{"0987 654 321", "country code"},
		{"+0 51 987654321", "country code"},
		{"+00 51 987654321", "country code"},
		{"000 51 987654321", "country code"},
		{"+51 9876", "6 digits"},
		{"1234567", "7 digits"},
		{"+1234567890123456", "16 digits"},
		{"0012345678901234567", "17 digits"},
	} {
		t.Run(c.raw, func(t *testing.T) {
			n, err := phone.Normalize(c.raw)
			if err == nil {
				t.Fatalf("Normalize(%q) = %+v, want an error", c.raw, n)
			}
			var perr *phone.Error
			if !errors.As(err, &perr) {
				t.Fatalf("error %T is not a *phone.Error", err)
			}
			if !strings.Contains(err.Error(), c.reason) {
				t.Fatalf("error %q does not say %q", err, c.reason)
			}
		})
	}
}

// TestKey_Variants: every way of writing one person's number gives one key,
// and nearby numbers of other people give other keys.
func TestKey_Variants(t *testing.T) {
	for _, c := range []struct {
		name   string
		same   []string
		others []string
	}{
		{"Peru", []string{"+51 987 654 321", "51987654321", "0051987654321", "(+51) 987-654-321"},
			[]string{"+51 987 654 322", "+5 1987 654 321 0"}},
		{"Mexico", []string{"+52 1 55 1234 5678", "+52 55 1234 5678", "5215512345678", "525512345678", "00 52 1 55 1234 5678"},
			[]string{"+52 55 1234 5679", "+1 55 1234 5678"}},
		{"Argentina", []string{"+54 9 11 2345 6789", "+54 11 2345 6789", "5491123456789", "00541123456789"},
			[]string{"+54 11 2345 6788", "+55 11 2345 6789"}},
		{"Brazil", []string{"+55 11 98765-4321", "+55 11 8765-4321", "5511987654321", "00551187654321"},
			[]string{"+55 11 97765-4321", "+55 12 98765-4321", "+55 11 3765-4321"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			first, err := phone.Normalize(c.same[0])
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range c.same[1:] {
				if !phone.Same(c.same[0], s) {
					n, err := phone.Normalize(s)
					t.Errorf("%q (key %s) and %q (%+v, %v) should be the same", c.same[0], first.Key, s, n, err)
				}
			}
			for _, s := range c.others {
				if phone.Same(c.same[0], s) {
					t.Errorf("%q and %q should differ", c.same[0], s)
				}
			}
		})
	}
	if phone.Same("abc", "abc") {
		t.Error("Same(abc, abc) = true")
	}
}

var digitsRE = regexp.MustCompile(`^[1-9][0-9]{7,14}$`)

// FuzzNormalize checks Normalize's invariants on any input: it never
// panics; what it accepts is E.164; formatting it again gives the same
// number; the key is a fixed point that differs from the digits only by
// one dropped mobile marker; and nothing with letters is accepted.
func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"+51 987 654 321", "51987654321", "0051987654321", "+1 (555) 000-1234",
		"00 52 1 55 1234 5678", "+54 9 11 2345 6789", "+55 11 98765-4321", "+55 11 8765-4321", "0987", "+", "",
		"abc", "++1", "(+51) 987", "+123456789012345", "1234567890123456"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		n, err := phone.Normalize(raw)
		if err != nil {
			var perr *phone.Error
			if !errors.As(err, &perr) || perr.Reason == "" {
				t.Fatalf("Normalize(%q): error %#v is not a *phone.Error with a reason", raw, err)
			}
			return
		}
		if strings.ContainsFunc(raw, unicode.IsLetter) {
			t.Fatalf("Normalize(%q) accepted letters: %+v", raw, n)
		}
		if !digitsRE.MatchString(n.Digits) || n.E164 != "+"+n.Digits {
			t.Fatalf("Normalize(%q) = %+v is not E.164", raw, n)
		}
		var inputDigits int
		for _, r := range raw {
			if r >= '0' && r <= '9' {
				inputDigits++
			}
		}
		if inputDigits < len(n.Digits) {
			t.Fatalf("Normalize(%q) = %+v invented digits", raw, n)
		}
		for _, again := range []string{n.E164, n.Digits, "00" + n.Digits} {
			m, err := phone.Normalize(again)
			if err != nil || m != n {
				t.Fatalf("Normalize(%q) = %+v, %v; want %+v (from %q)", again, m, err, n, raw)
			}
		}
		if !digitsRE.MatchString(n.Key) || n.Key[:2] != n.Digits[:2] {
			t.Fatalf("Normalize(%q): key %q is not digits of the same country", raw, n.Key)
		}
		if n.Key != n.Digits {
			if len(n.Key) != len(n.Digits)-1 {
				t.Fatalf("Normalize(%q): key %q drops more than one digit of %q", raw, n.Key, n.Digits)
			}
			k, err := phone.Normalize(n.Key)
			if err != nil || k.Key != n.Key {
				t.Fatalf("key %q of %q is not a fixed point: %+v, %v", n.Key, raw, k, err)
			}
		}
	})
}
