package sqldb

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strings"

	"github.com/plaza-crm/plaza"
)

// secretBox encrypts secrets stored in the database (WhatsApp access
// tokens, app secrets, webhook signing secrets) with AES-256-GCM under a
// key derived from the server's secret key. The additional data binds a
// ciphertext to its row and column, so one cannot be copied over another.
type secretBox struct{ aead cipher.AEAD }

const secretBoxPrefix = "v1:"

func newSecretBox(secretKey string) secretBox {
	block, err := aes.NewCipher(plaza.DeriveKey(secretKey, "secret-box"))
	if err != nil {
		panic(err) // DeriveKey always gives 32 bytes
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	return secretBox{aead: aead}
}

// seal encrypts plaintext for the place named by where (e.g.
// "whatsapp_numbers.access_token:<workspace>:<id>").
func (b secretBox) seal(plaintext, where string) string {
	nonce := make([]byte, b.aead.NonceSize())
	rand.Read(nonce)
	sealed := b.aead.Seal(nonce, nonce, []byte(plaintext), []byte(where))
	return secretBoxPrefix + base64.RawStdEncoding.EncodeToString(sealed)
}

var errSecretBox = errors.New("sqldb: a stored secret cannot be decrypted (was the secret key changed?)")

// open decrypts what seal made for the same place.
func (b secretBox) open(sealed, where string) (string, error) {
	raw, err := base64.RawStdEncoding.DecodeString(strings.TrimPrefix(sealed, secretBoxPrefix))
	if err != nil || !strings.HasPrefix(sealed, secretBoxPrefix) || len(raw) < b.aead.NonceSize() {
		return "", errSecretBox
	}
	n := b.aead.NonceSize()
	plain, err := b.aead.Open(nil, raw[:n], raw[n:], []byte(where))
	if err != nil {
		return "", errSecretBox
	}
	return string(plain), nil
}
