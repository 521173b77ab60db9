package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strings"

	"github.com/plaza-crm/plaza"
)

// fieldBody is a JSON object body read field by field, so that each field
// of the wrong type is named, every one of them in one reply, and a field
// sent as null can be told from one not sent. Keys bind
// case-insensitively; a key sent twice in different cases is refused.
type fieldBody struct {
	raw    map[string]json.RawMessage // by lower-cased key
	errs   []plaza.FieldError
	listed []string // the keys as sent, in no order
}

// readFieldBody reads the request's body, which must be a JSON object.
func readFieldBody(r *http.Request) (*fieldBody, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, bodyReadError(err)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, plaza.Invalid(plaza.FieldError{Field: "body", Message: "The request body is required (a JSON object)."})
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, jsonError(err)
	}
	if m == nil {
		return nil, plaza.Invalid(plaza.FieldError{Field: "body", Message: "The request body must be a JSON object, not null."})
	}
	b := &fieldBody{raw: map[string]json.RawMessage{}}
	for k, v := range m {
		lk := strings.ToLower(k)
		if _, dup := b.raw[lk]; dup {
			return nil, plaza.Invalid(plaza.FieldError{Field: k, Message: fmt.Sprintf("%s is sent twice (keys are case-insensitive).", k)})
		}
		b.raw[lk] = v
		b.listed = append(b.listed, k)
	}
	return b, nil
}

// has reports whether the body has the key, null or not.
func (b *fieldBody) has(name string) bool {
	_, ok := b.raw[strings.ToLower(name)]
	return ok
}

// value returns the field's raw value; ok is false when it is absent or
// null.
func (b *fieldBody) value(name string) (json.RawMessage, bool) {
	v, ok := b.raw[strings.ToLower(name)]
	if !ok || string(v) == "null" {
		return nil, false
	}
	return v, true
}

func (b *fieldBody) invalid(name, msg string) {
	b.errs = append(b.errs, plaza.FieldError{Field: name, Message: msg})
}

// str returns a string field; nil when absent, null or not a string (which
// is recorded).
func (b *fieldBody) str(name string) *string {
	v, ok := b.value(name)
	if !ok {
		return nil
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		b.invalid(name, name+" must be a string.")
		return nil
	}
	return &s
}

// num returns a number field. Numbers sent as strings are refused.
func (b *fieldBody) num(name string) *float64 {
	v, ok := b.value(name)
	if !ok {
		return nil
	}
	var f float64
	if err := json.Unmarshal(v, &f); err != nil {
		b.invalid(name, name+" must be a number.")
		return nil
	}
	return &f
}

// integer returns an integer field (a number with no fraction).
func (b *fieldBody) integer(name string) *int {
	f := b.num(name)
	if f == nil {
		return nil
	}
	if *f != math.Trunc(*f) || math.Abs(*f) > 1<<31 {
		b.invalid(name, name+" must be an integer.")
		return nil
	}
	n := int(*f)
	return &n
}

func (b *fieldBody) boolean(name string) *bool {
	v, ok := b.value(name)
	if !ok {
		return nil
	}
	var x bool
	if err := json.Unmarshal(v, &x); err != nil {
		b.invalid(name, name+" must be a boolean.")
		return nil
	}
	return &x
}

// date returns a date field (ISO 8601, date-only accepted); nil when absent,
// null or "".
func (b *fieldBody) date(name string) *plaza.Time {
	s := b.str(name)
	if s == nil || strings.TrimSpace(*s) == "" {
		return nil
	}
	t, err := plaza.ParseTime(*s)
	if err != nil {
		b.invalid(name, name+": "+plaza.ErrorMessage(err))
		return nil
	}
	return &t
}

func (b *fieldBody) stringList(name string) []string {
	v, ok := b.value(name)
	if !ok {
		return nil
	}
	var ss []string
	if err := json.Unmarshal(v, &ss); err != nil {
		b.invalid(name, name+" must be an array of strings.")
		return nil
	}
	return ss
}

// customFields returns an array of {name, value} (code is read as name);
// nil when absent or null.
func (b *fieldBody) customFields(name string) []plaza.OpportunityCustomField {
	v, ok := b.value(name)
	if !ok {
		return nil
	}
	var items []map[string]json.RawMessage
	if err := json.Unmarshal(v, &items); err != nil {
		b.invalid(name, name+" must be an array of {name, value} objects.")
		return nil
	}
	out := []plaza.OpportunityCustomField{}
	for i, item := range items {
		f := plaza.OpportunityCustomField{Value: json.RawMessage("null")}
		for k, v := range item {
			switch strings.ToLower(k) {
			case "name", "code":
				if err := json.Unmarshal(v, &f.Name); err != nil {
					b.invalid(name, fmt.Sprintf("%s[%d].name must be a string.", name, i))
					return nil
				}
			case "value":
				f.Value = v
			}
		}
		out = append(out, f)
	}
	return out
}

// check returns the body's type errors together with err's field errors
// (for fields not already named), as one EINVALID; err when it is not
// EINVALID; nil when there is neither.
func (b *fieldBody) check(err error) error {
	fields := slices.Clone(b.errs)
	if err != nil {
		var e *plaza.Error
		if !errors.As(err, &e) || e.Code != plaza.EINVALID {
			return err
		}
		for _, f := range e.Fields {
			if f.Field == "body" && len(b.errs) > 0 {
				continue // "nothing to update" when a field was sent with the wrong type
			}
			if !slices.ContainsFunc(fields, func(g plaza.FieldError) bool { return g.Field == f.Field }) {
				fields = append(fields, f)
			}
		}
	}
	if len(fields) == 0 {
		return nil
	}
	return plaza.Invalid(fields...)
}

// updateFields works out which fields a PUT body updates, in Plazbot's three
// forms: {"<field>": value}; {"paramToUpdate": "<field>", "<field>": value}
// (only that field); or several fields at once. names maps each accepted
// key, lower-cased, to its canonical field (aliases map to the field they
// stand for). It returns, by canonical field, the key whose value to
// apply. An unknown paramToUpdate, a paramToUpdate whose field is missing,
// two aliases with different values, or no field at all, is EINVALID.
func (b *fieldBody) updateFields(names map[string]string) (map[string]string, error) {
	fieldList := func() string {
		var fs []string
		for k, c := range names {
			if strings.EqualFold(k, c) {
				fs = append(fs, c)
			}
		}
		slices.Sort(fs)
		return strings.Join(fs, ", ")
	}
	apply := map[string]string{}
	if b.has("paramToUpdate") {
		p := b.str("paramToUpdate")
		if p == nil || *p == "" {
			return nil, b.check(plaza.Invalid(plaza.FieldError{Field: "paramToUpdate", Message: "paramToUpdate must name the field to update."}))
		}
		c, ok := names[strings.ToLower(*p)]
		if !ok {
			return nil, plaza.Invalid(plaza.FieldError{Field: "paramToUpdate",
				Message: fmt.Sprintf("paramToUpdate %q is not a field that can be updated (one of %s).", *p, fieldList())})
		}
		if !b.has(*p) {
			return nil, plaza.Invalid(plaza.FieldError{Field: *p, Message: fmt.Sprintf("paramToUpdate names %s, but the body has no %s.", *p, *p)})
		}
		apply[c] = *p
		return apply, nil
	}
	for _, k := range b.listed {
		c, ok := names[strings.ToLower(k)]
		if !ok {
			continue
		}
		if prev, dup := apply[c]; dup {
			if !bytes.Equal(b.raw[strings.ToLower(prev)], b.raw[strings.ToLower(k)]) {
				return nil, plaza.Invalid(plaza.FieldError{Field: k, Message: fmt.Sprintf("%s and %s name the same field with different values; send one.", prev, k)})
			}
			continue
		}
		apply[c] = k
	}
	if len(apply) == 0 {
		return nil, plaza.Invalid(plaza.FieldError{Field: "body", Message: "Nothing to update: send one of " + fieldList() + "."})
	}
	return apply, nil
}
