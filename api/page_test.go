package api

import (
	"strings"
	"testing"

	"github.com/plaza-crm/plaza"
)

func TestPageCodec(t *testing.T) {
	c := pageCodec{key: plaza.DeriveKey("k1-0123456789abcdef0123456789abcdef", "page-token")}
	tok := c.encode("contacts", "ws1", "01a2-last-id")
	after, err := c.decode(tok, "contacts", "ws1")
	if err != nil || after != "01a2-last-id" {
		t.Fatalf("decode = %q, %v", after, err)
	}
	if after, err := c.decode("", "contacts", "ws1"); err != nil || after != "" {
		t.Fatalf("empty token = %q, %v", after, err)
	}
	other := pageCodec{key: plaza.DeriveKey("k2-0123456789abcdef0123456789abcdef", "page-token")}
	forged := other.encode("contacts", "ws1", "01a2-other-id")
	payload, sig, _ := strings.Cut(tok, ".")
	fpayload, _, _ := strings.Cut(forged, ".")
	for name, bad := range map[string]string{
		"another list":      "",
		"another workspace": "",
		"forged key":        forged,
		"edited payload":    fpayload + "." + sig,
		"no signature":      payload,
		"garbage":           "%%%.%%%",
	} {
		list, ws := "contacts", "ws1"
		switch name {
		case "another list":
			bad, list = tok, "opportunities"
		case "another workspace":
			bad, ws = tok, "ws2"
		}
		if _, err := c.decode(bad, list, ws); plaza.ErrorCode(err) != plaza.EINVALID {
			t.Errorf("%s: err = %v, want EINVALID", name, err)
		}
	}
}
