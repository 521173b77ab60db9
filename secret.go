package plaza

import (
	"crypto/hkdf"
	"crypto/sha256"
)

// MinSecretKeyLength is the shortest --secret-key accepted.
const MinSecretKeyLength = 32

// DeriveKey derives a 32-byte key for one purpose ("login-token",
// "page-token", "secret-box") from the server's secret key, so that no two
// uses share key material.
func DeriveKey(secret, purpose string) []byte {
	k, err := hkdf.Key(sha256.New, []byte(secret), nil, "plaza/"+purpose, 32)
	if err != nil {
		panic(err) // only for lengths sha256 cannot produce
	}
	return k
}
