package whatsapp

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
)

const testAppSecret = "plaza-test-app-secret"

func sign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

func compact(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestVerifySignature(t *testing.T) {
	raw := fixture(t, "inbound/text.json") // pretty-printed, \u-escaped
	wire := compact(t, raw)                // what Meta actually sends
	good := sign(testAppSecret, wire)

	// Re-encoding the parsed payload turns "Luc\u00eda" into "Lucía":
	// the same JSON, other bytes, another signature.
	var v any
	if err := json.Unmarshal(wire, &v); err != nil {
		t.Fatal(err)
	}
	reencoded, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(wire, []byte(`Luc\u00eda`)) || !bytes.Contains(reencoded, []byte("Lucía")) {
		t.Fatal("fixture is not \\u-escaped as Meta sends it")
	}
	tampered := bytes.Replace(wire, []byte("azul"), []byte("rojo"), 1)

	tests := []struct {
		name   string
		secret string
		body   []byte
		header string
		want   bool
	}{
		{"Good", testAppSecret, wire, good, true},
		{"GoodOverPrettyPrintedBytes", testAppSecret, raw, sign(testAppSecret, raw), true},
		{"UppercaseHex", testAppSecret, wire, "sha256=" + strings.ToUpper(strings.TrimPrefix(good, "sha256=")), true},
		{"ReencodedBody", testAppSecret, reencoded, good, false},
		{"TamperedBody", testAppSecret, tampered, good, false},
		{"WrongSecret", "another-secret", wire, good, false},
		{"EmptySecret", "", wire, sign("", wire), false},
		{"SignedWithOtherSecret", testAppSecret, wire, sign("another-secret", wire), false},
		{"EmptyHeader", testAppSecret, wire, "", false},
		{"NoPrefix", testAppSecret, wire, strings.TrimPrefix(good, "sha256="), false},
		{"SHA1Prefix", testAppSecret, wire, "sha1=" + strings.TrimPrefix(good, "sha256="), false},
		{"PrefixOnly", testAppSecret, wire, "sha256=", false},
		{"Truncated", testAppSecret, wire, good[:len(good)-2], false},
		{"TooLong", testAppSecret, wire, good + "00", false},
		{"NotHex", testAppSecret, wire, "sha256=" + strings.Repeat("zz", 32), false},
		{"SpaceAfterPrefix", testAppSecret, wire, "sha256= " + strings.TrimPrefix(good, "sha256="), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := VerifySignature(tt.secret, tt.body, tt.header); got != tt.want {
				t.Errorf("VerifySignature = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestVerifyChallenge(t *testing.T) {
	const token = "plaza-test-verify-token"
	query, err := url.ParseQuery(string(fixture(t, "other/verification_get.txt")))
	if err != nil {
		t.Fatal(err)
	}
	with := func(key, value string) url.Values {
		q := url.Values{}
		for k, v := range query {
			q[k] = v
		}
		if value == "" {
			q.Del(key)
		} else {
			q.Set(key, value)
		}
		return q
	}
	tests := []struct {
		name          string
		query         url.Values
		token         string
		wantChallenge string
		wantOK        bool
	}{
		{"Fixture", query, token, "1158201444", true},
		{"WrongToken", query, "another-token", "", false},
		{"TokenPrefix", query, token + "x", "", false},
		{"NoTokenConfigured", with("hub.verify_token", ""), "", "", false},
		{"ModeUnsubscribe", with("hub.mode", "unsubscribe"), token, "", false},
		{"NoMode", with("hub.mode", ""), token, "", false},
		{"NoChallenge", with("hub.challenge", ""), token, "", false},
		{"NoTokenSent", with("hub.verify_token", ""), token, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			challenge, ok := VerifyChallenge(tt.query, tt.token)
			if challenge != tt.wantChallenge || ok != tt.wantOK {
				t.Errorf("VerifyChallenge = %q, %v; want %q, %v", challenge, ok, tt.wantChallenge, tt.wantOK)
			}
		})
	}
}
