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

// body is a request's JSON object read field by field, for the bodies
// whose fields are checked one by one (opportunities, stages, tasks, tags
// and segmentations, Update Contact). Unlike decode, it
//
//   - names every field of the wrong type, all of them in one 400, and with
//     check adds what validating the rest finds;
//   - tells a field sent as null from one not sent;
//   - binds keys case-insensitively, and refuses a key sent twice in
//     different cases, where which one wins would be a guess;
//   - reads Plazbot's update forms (updateFields).
//
// Getters take a field's name as the API spells it, and an error about the
// field names it so. A getter returns nil for a field absent, null or of
// the wrong type (which it records); has tells absent from null.
type body struct {
	vals map[string]json.RawMessage // by lower-cased key
	keys []string                   // the keys as sent, in the order sent, each once
	errs []plaza.FieldError         // wrong types, in the order the fields were read
}

// readBody reads the request's body, which must be one JSON object. An
// empty body, malformed JSON or another JSON value is EINVALID naming
// "body", worded as decode words it; a key sent twice in different cases is
// EINVALID naming the second. The same key twice in the same case keeps
// its last value, as encoding/json does.
func readBody(r *http.Request) (*body, error) {
	data, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, bodyReadError(err)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, plaza.Invalid(plaza.FieldError{Field: "body", Message: "The request body is required (a JSON object)."})
	}
	// Unmarshal checks the whole body and gives decode's errors; the
	// decoder then walks the object for its keys in the order sent.
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, jsonError(err)
	}
	if m == nil {
		return nil, plaza.Invalid(plaza.FieldError{Field: "body", Message: "The request body must be a JSON object, not null."})
	}
	b := &body{vals: map[string]json.RawMessage{}}
	sent := map[string]string{} // lower-cased key -> as sent
	dec := json.NewDecoder(bytes.NewReader(data))
	if _, err := dec.Token(); err != nil { // the opening brace
		return nil, jsonError(err)
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, jsonError(err)
		}
		key, _ := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, jsonError(err)
		}
		lk := strings.ToLower(key)
		if prev, seen := sent[lk]; !seen {
			sent[lk] = key
			b.keys = append(b.keys, key)
		} else if prev != key {
			return nil, plaza.Invalid(plaza.FieldError{Field: key, Message: fmt.Sprintf("%s is sent twice (keys are case-insensitive).", key)})
		}
		b.vals[lk] = v
	}
	return b, nil
}

// has reports whether the body has the field, null or not.
func (b *body) has(name string) bool {
	_, ok := b.vals[strings.ToLower(name)]
	return ok
}

// value returns the field's JSON; ok is false when it is absent or null.
func (b *body) value(name string) (json.RawMessage, bool) {
	v, ok := b.vals[strings.ToLower(name)]
	if !ok || string(v) == "null" {
		return nil, false
	}
	return v, true
}

// invalid records an error about a field.
func (b *body) invalid(field, msg string) {
	b.errs = append(b.errs, plaza.FieldError{Field: field, Message: msg})
}

// decode unmarshals the field, null included, into v. It records wrong
// when the value does not fit v, and reports whether v was set.
func (b *body) decode(name string, v any, wrong string) bool {
	raw, ok := b.vals[strings.ToLower(name)]
	if !ok {
		return false
	}
	if err := json.Unmarshal(raw, v); err != nil {
		b.invalid(name, wrong)
		return false
	}
	return true
}

// str returns a string field.
func (b *body) str(name string) *string {
	var s string
	if _, ok := b.value(name); !ok || !b.decode(name, &s, name+" must be a string.") {
		return nil
	}
	return &s
}

// clearable returns a string field that null clears: null is "", as an
// empty string is.
func (b *body) clearable(name string) *string {
	if b.has(name) {
		if _, ok := b.value(name); !ok {
			return new(string)
		}
	}
	return b.str(name)
}

// notNull records an error when a field that cannot be cleared is sent as
// null. It reads nothing: a getter reads the field.
func (b *body) notNull(name string) {
	if _, ok := b.value(name); !ok && b.has(name) {
		b.invalid(name, name+" cannot be null.")
	}
}

// num returns a number field. Numbers sent as strings are refused.
func (b *body) num(name string) *float64 {
	var f float64
	if _, ok := b.value(name); !ok || !b.decode(name, &f, name+" must be a number.") {
		return nil
	}
	return &f
}

// integer returns an integer field: a number with no fraction.
func (b *body) integer(name string) *int {
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

// boolean returns a true-or-false field.
func (b *body) boolean(name string) *bool {
	var x bool
	if _, ok := b.value(name); !ok || !b.decode(name, &x, name+" must be a boolean.") {
		return nil
	}
	return &x
}

// strs returns an array-of-strings field.
func (b *body) strs(name string) []string {
	var ss []string
	if _, ok := b.value(name); !ok || !b.decode(name, &ss, name+" must be an array of strings.") {
		return nil
	}
	return ss
}

// time returns a date field: ISO 8601, date-only accepted. "" is not a
// date.
func (b *body) time(name string) *plaza.Time {
	s := b.str(name)
	if s == nil {
		return nil
	}
	t, err := plaza.ParseTime(*s)
	if err != nil {
		b.invalid(name, name+" "+plaza.ErrorMessage(err))
		return nil
	}
	return &t
}

// err returns the errors recorded so far as one EINVALID; nil when there
// are none.
func (b *body) err() error {
	if len(b.errs) == 0 {
		return nil
	}
	return plaza.Invalid(b.errs...)
}

// check joins the recorded errors with err, what validating the values
// read found: one EINVALID naming the fields of the wrong type first, then
// err's fields they do not already name, so a reply names every bad field
// once. err's "body" error (nothing to update) is dropped when a field had
// the wrong type, since a field was sent. An err that is not EINVALID is
// returned as it is; nil when there is no error at all.
func (b *body) check(err error) error {
	if len(b.errs) == 0 {
		return err
	}
	var e *plaza.Error
	if err != nil && (!errors.As(err, &e) || e.Code != plaza.EINVALID) {
		return err
	}
	fields := slices.Clone(b.errs)
	if e != nil {
		for _, f := range e.Fields {
			named := slices.ContainsFunc(b.errs, func(g plaza.FieldError) bool { return g.Field == f.Field })
			if !named && f.Field != "body" {
				fields = append(fields, f)
			}
		}
	}
	return plaza.Invalid(fields...)
}

// updateForm is what the body of an update may set, for updateFields.
type updateForm struct {
	// fields are the fields the update sets, as the API spells them.
	fields []string
	// aliases maps another key for a field, as the API spells it, to the
	// field. A body may send a field and its alias only with one value.
	aliases map[string]string
	// value accepts {"paramToUpdate": "<field>", "value": v} too (Update
	// Contact's third way of sending the one field).
	value bool
}

// lookup returns the form's spelling of key and the field it sets.
func (f updateForm) lookup(key string) (spelled, field string, ok bool) {
	key = strings.ToLower(key)
	for _, k := range f.fields {
		if strings.ToLower(k) == key {
			return k, k, true
		}
	}
	for a, k := range f.aliases {
		if strings.ToLower(a) == key {
			return a, k, true
		}
	}
	return "", "", false
}

// updateFields works out which fields an update body sets, in Plazbot's
// forms: {"<field>": value}, or several fields at once; or
// {"paramToUpdate": "<field>", "<field>": value}, which names the one field
// to set, the rest of the body being for the caller to ignore. With
// form.value the value may come as {"paramToUpdate": "<field>", "value":
// v}; it is then read under the field's own name, as if sent so.
//
// It returns, by field, the key to read its value under: the field or an
// alias, as the form spells it. Unknown keys are ignored; a body with none
// of the form's keys gives an empty map, for the caller to refuse or to
// leave to validation.
//
// EINVALID: a paramToUpdate that is not a string naming one of the form's
// keys, or whose key the body lacks; a field and its alias with different
// values.
func (b *body) updateFields(form updateForm) (map[string]string, error) {
	list := strings.Join(form.fields, ", ")
	if raw, ok := b.vals["paramtoupdate"]; ok {
		var name string
		if json.Unmarshal(raw, &name) != nil || strings.TrimSpace(name) == "" {
			return nil, plaza.Invalid(plaza.FieldError{Field: "paramToUpdate",
				Message: "paramToUpdate must be a string naming the field to update: one of " + list + "."})
		}
		name = strings.TrimSpace(name)
		key, field, known := form.lookup(name)
		if !known {
			return nil, plaza.Invalid(plaza.FieldError{Field: "paramToUpdate",
				Message: fmt.Sprintf("paramToUpdate %q is not a field that can be updated (one of %s).", name, list)})
		}
		switch {
		case b.has(key):
		case form.value && b.has("value"):
			b.vals[strings.ToLower(key)] = b.vals["value"]
		case form.value:
			return nil, plaza.Invalid(plaza.FieldError{Field: key,
				Message: fmt.Sprintf("paramToUpdate names %s, but the body has neither %s nor value.", key, key)})
		default:
			return nil, plaza.Invalid(plaza.FieldError{Field: key,
				Message: fmt.Sprintf("paramToUpdate names %s, but the body has no %s.", key, key)})
		}
		return map[string]string{field: key}, nil
	}
	set := map[string]string{}
	for _, sent := range b.keys {
		key, field, known := form.lookup(sent)
		if !known {
			continue
		}
		prev, dup := set[field]
		if !dup {
			set[field] = key
		} else if !bytes.Equal(b.vals[strings.ToLower(prev)], b.vals[strings.ToLower(key)]) {
			return nil, plaza.Invalid(plaza.FieldError{Field: key,
				Message: fmt.Sprintf("%s and %s name the same field with different values; send one.", prev, key)})
		}
	}
	return set, nil
}
