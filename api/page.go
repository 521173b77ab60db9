package api

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"

	"github.com/plaza-crm/plaza"
)

// PageSize is how many records a list page holds.
const PageSize = plaza.PageSize

// pageCodec makes continuation tokens: opaque, tamper-proof keyset cursors.
// A token carries the list it belongs to, the workspace and the key of the
// last record served, signed with HMAC-SHA256; a token edited, forged, or
// taken to another list or workspace is refused.
type pageCodec struct{ key []byte }

type pageCursor struct {
	List      string `json:"l"`
	Workspace string `json:"w"`
	After     string `json:"a"`
}

// encode returns the token that continues list after the record keyed after.
func (c pageCodec) encode(list, workspaceID, after string) string {
	payload, _ := json.Marshal(pageCursor{List: list, Workspace: workspaceID, After: after})
	b64 := base64.RawURLEncoding
	return b64.EncodeToString(payload) + "." + b64.EncodeToString(c.sign(payload))
}

// decode returns the key a token continues after; "" for an empty token.
func (c pageCodec) decode(token, list, workspaceID string) (string, error) {
	if token == "" {
		return "", nil
	}
	bad := plaza.Invalid(plaza.FieldError{Field: "continuationToken", Message: "continuationToken is not valid for this list."})
	b64 := base64.RawURLEncoding
	p, s, found := strings.Cut(token, ".")
	payload, err1 := b64.DecodeString(p)
	sig, err2 := b64.DecodeString(s)
	if !found || err1 != nil || err2 != nil || !hmac.Equal(sig, c.sign(payload)) {
		return "", bad
	}
	var cur pageCursor
	if json.Unmarshal(payload, &cur) != nil || cur.List != list || cur.Workspace != workspaceID || cur.After == "" {
		return "", bad
	}
	return cur.After, nil
}

func (c pageCodec) sign(payload []byte) []byte {
	m := hmac.New(sha256.New, c.key)
	m.Write(payload)
	return m.Sum(nil)[:16]
}
