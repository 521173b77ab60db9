package sqldb

import (
	"strings"
	"testing"
)

func TestSecretBox(t *testing.T) {
	b := newSecretBox("a-secret-key-of-at-least-32-chars!!")
	sealed := b.seal("EAAG-access-token", "whatsapp_numbers.access_token:w1:n1")
	if strings.Contains(sealed, "EAAG") || !strings.HasPrefix(sealed, "v1:") {
		t.Fatalf("sealed = %q", sealed)
	}
	if again := b.seal("EAAG-access-token", "whatsapp_numbers.access_token:w1:n1"); again == sealed {
		t.Fatal("two seals of one secret are equal: the nonce is not random")
	}
	got, err := b.open(sealed, "whatsapp_numbers.access_token:w1:n1")
	if err != nil || got != "EAAG-access-token" {
		t.Fatalf("open = %q, %v", got, err)
	}
	other := newSecretBox("another-secret-key-of-32-chars-!!!!")
	for name, open := range map[string]func() (string, error){
		"another row":        func() (string, error) { return b.open(sealed, "whatsapp_numbers.access_token:w1:n2") },
		"another column":     func() (string, error) { return b.open(sealed, "whatsapp_numbers.app_secret:w1:n1") },
		"another secret key": func() (string, error) { return other.open(sealed, "whatsapp_numbers.access_token:w1:n1") },
		"tampered": func() (string, error) {
			return b.open(sealed[:len(sealed)-2]+"AA", "whatsapp_numbers.access_token:w1:n1")
		},
		"garbage":   func() (string, error) { return b.open("v1:%%%", "x") },
		"plaintext": func() (string, error) { return b.open("EAAG-access-token", "x") },
	} {
		if _, err := open(); err != errSecretBox {
			t.Errorf("%s: err = %v, want errSecretBox", name, err)
		}
	}
}
