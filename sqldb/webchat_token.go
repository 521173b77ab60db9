package sqldb

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"strings"
	"time"

	"github.com/plaza-crm/plaza"
)

// webchatTokens signs and checks visitor tokens:
//
//	wc1.<base64url(workspace|contact|conversation|expiry)>.<base64url(HMAC-SHA256)>
//
// The MAC covers the version and the payload, with a key derived for this
// purpose only, so a token cannot be forged, altered to name another
// conversation or workspace, or made from another kind of token.
type webchatTokens struct{ key []byte }

const webchatTokenVersion = "wc1"

func (c webchatTokens) mac(signed string) []byte {
	h := hmac.New(sha256.New, c.key)
	h.Write([]byte(signed))
	return h.Sum(nil)
}

// sign returns the token of v, valid until expires.
func (c webchatTokens) sign(v plaza.WebchatVisitor, expires time.Time) string {
	payload := strings.Join([]string{v.WorkspaceID, v.ContactID, v.ConversationID, strconv.FormatInt(expires.Unix(), 10)}, "|")
	signed := webchatTokenVersion + "." + base64.RawURLEncoding.EncodeToString([]byte(payload))
	return signed + "." + base64.RawURLEncoding.EncodeToString(c.mac(signed))
}

// parse checks a token's MAC and expiry and returns what it names (the
// agent is not in the token). EUNAUTHORIZED for anything else.
func (c webchatTokens) parse(token string, now time.Time) (*plaza.WebchatVisitor, error) {
	i := strings.LastIndexByte(token, '.')
	if i < 0 || !strings.HasPrefix(token, webchatTokenVersion+".") {
		return nil, errVisitorToken
	}
	signed, sig := token[:i], token[i+1:]
	mac, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(mac, c.mac(signed)) {
		return nil, errVisitorToken
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(signed, webchatTokenVersion+"."))
	if err != nil {
		return nil, errVisitorToken
	}
	parts := strings.Split(string(payload), "|")
	if len(parts) != 4 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
		return nil, errVisitorToken
	}
	exp, err := strconv.ParseInt(parts[3], 10, 64)
	if err != nil || !now.Before(time.Unix(exp, 0)) {
		return nil, errVisitorToken
	}
	return &plaza.WebchatVisitor{WorkspaceID: parts[0], ContactID: parts[1], ConversationID: parts[2]}, nil
}
