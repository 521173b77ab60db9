// Package phone normalises the phone numbers customers and clients type, so
// one person is one contact whatever format the number arrives in.
//
// # Accepted input
//
// Normalize accepts a number in international form: digits with any
// spaces, dashes, dots and parentheses between them, preceded by a "+",
// by the international call prefix "00", or by nothing (the digits then
// start with the country code, as WhatsApp's wa_id does):
//
//	"+51 987 654 321", "51987654321", "0051987654321",
//	"+1 (555) 000-1234", "00 52 1 55 1234 5678"
//
// all give E.164 numbers. It never guesses a country: a number that starts
// with a single 0 (a national trunk prefix, "0987 654 321") or with "+0"
// has no country code and is refused, as is anything with letters or other
// symbols, a "+" after a digit or twice, and a number with fewer than 8 or more
// than 15 digits once the "+" or "00" is removed (E.164 allows at most 15,
// country code included; 8 is the shortest real number with its country
// code).
//
// # One person, one key
//
// Some countries write the same mobile number in two ways. Key is a
// matching key that every variant of one number shares; two numbers with
// the same Key are the same person. Outside these rules Key equals Digits.
//
//   - Mexico (+52): the mobile "1" after the country code (+52 1 55 1234
//     5678, 13 digits, the form WhatsApp's wa_id uses) is dropped: the key
//     is +52 and the 10-digit national number.
//   - Argentina (+54): the mobile "9" after the country code (+54 9 11 1234
//     5678, 13 digits) is dropped: the key is +54 and the 10-digit national
//     number. The national "15" mobile prefix (0 11 15 1234-5678) is not
//     recognised: where the area code ends is ambiguous without a numbering
//     plan, and such numbers are not in international form anyway.
//   - Brazil (+55): a mobile number with the ninth digit (+55 AA 9XXXX-XXXX,
//     13 digits) where the 8-digit subscriber number after the 9 starts
//     with 6, 7, 8 or 9 (the old mobile ranges) is the same as the number
//     without it (+55 AA XXXX-XXXX, 12 digits): the key drops the 9. A
//     13-digit number whose digit after the 9 is 0-5 keeps its 9 (no old
//     form exists), and a 12-digit number starting with 2-5 is a landline.
//
// E164 and Digits keep the number as it was given (only the formatting is
// removed); only Key unifies the variants.
package phone

import (
	"fmt"
	"strings"
	"unicode"
)

// MinDigits and MaxDigits bound the digits of a number, country code
// included.
const (
	MinDigits = 8
	MaxDigits = 15
)

// Number is a normalised phone number.
type Number struct {
	// E164 is the number in E.164 form: "+51987654321".
	E164 string
	// Digits is the number without the "+", the form of WhatsApp's wa_id:
	// "51987654321".
	Digits string
	// Key is the same for every variant of one mobile number (see the
	// package documentation); compare numbers by it.
	Key string
}

// Error says why a string is not a phone number. Its message reads after
// "... is not a valid phone number: ".
type Error struct{ Reason string }

func (e *Error) Error() string { return e.Reason }

func invalid(format string, args ...any) error {
	return &Error{Reason: fmt.Sprintf(format, args...)}
}

// Normalize parses raw as an international phone number. The error, an
// *Error, says what is wrong.
func Normalize(raw string) (Number, error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return Number{}, invalid("it is empty")
	}
	plus := false
	var digits strings.Builder
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits.WriteRune(r)
		case r == '+':
			// "(+51) 987..." is common: a + may follow an opening
			// parenthesis, but no digit and no other +.
			if plus || digits.Len() > 0 {
				return Number{}, invalid("a + may only come before the first digit, once")
			}
			plus = true
		case r == ' ' || r == '-' || r == '.' || r == '(' || r == ')' || unicode.IsSpace(r):
			// formatting
		case unicode.IsLetter(r):
			return Number{}, invalid("it contains letters (%q)", r)
		default:
			return Number{}, invalid("it contains %q (only digits, spaces, dashes, dots, parentheses and a leading + are allowed)", r)
		}
	}
	d := digits.String()
	if !plus && strings.HasPrefix(d, "00") {
		d = d[2:] // the international call prefix
	}
	if d == "" {
		return Number{}, invalid("it has no digits")
	}
	if d[0] == '0' {
		return Number{}, invalid("it does not start with a country code (write it as +<country code><number> or 00<country code><number>)")
	}
	if len(d) < MinDigits || len(d) > MaxDigits {
		return Number{}, invalid("it has %d digits; a number with its country code has %d to %d", len(d), MinDigits, MaxDigits)
	}
	return Number{E164: "+" + d, Digits: d, Key: key(d)}, nil
}

// key returns the matching key of the digits d (see the package doc).
func key(d string) string {
	if len(d) != 13 {
		return d
	}
	switch {
	case strings.HasPrefix(d, "521"): // Mexico, mobile "1"
		return "52" + d[3:]
	case strings.HasPrefix(d, "549"): // Argentina, mobile "9"
		return "54" + d[3:]
	case strings.HasPrefix(d, "55") && d[4] == '9' && d[5] >= '6' && d[5] <= '9': // Brazil, ninth digit
		return d[:4] + d[5:]
	}
	return d
}

// Same reports whether a and b are the same number (any variant). Strings
// that are not phone numbers are never the same as anything.
func Same(a, b string) bool {
	na, err := Normalize(a)
	if err != nil {
		return false
	}
	nb, err := Normalize(b)
	return err == nil && na.Key == nb.Key
}
