package kmstest

import (
	"crypto/aes"
	"crypto/cipher"
	"fmt"
	"time"
)

// ImportKey adds an enabled symmetric key with the given key id (a UUID in
// its 8-4-4-4-12 text form) and secret (the 32 bytes of AES-256 under which
// the server seals the key's ciphertext blobs), and returns its key ARN.
// Two servers of the same Region and account given the same key id and
// secret make blobs that decrypt on each other: blobs recorded in test
// vectors against one server replay on a server started by a later test run.
// The secret must be random and is a test fixture, never a real key. Keys
// added this way do not count against the limit on keys created over HTTP,
// and the call is not counted in [Server.Calls]. It fails if keyID is not a
// UUID, if the server already has a key with that id, or if secret is not 32
// bytes.
func (s *Server) ImportKey(keyID string, secret []byte) (string, error) {
	id, ok := parseKeyUUID(keyID)
	if !ok {
		return "", fmt.Errorf("kmstest: ImportKey: key id %q is not a UUID such as 1234abcd-12ab-34cd-56ef-1234567890ab", keyID)
	}
	if len(secret) != 32 {
		return "", fmt.Errorf("kmstest: ImportKey: the secret is %d bytes; want 32", len(secret))
	}
	block, err := aes.NewCipher(secret)
	if err != nil {
		return "", fmt.Errorf("kmstest: ImportKey: %v", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return "", fmt.Errorf("kmstest: ImportKey: %v", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.keys[id] != nil {
		return "", fmt.Errorf("kmstest: ImportKey: the server already has key %s", id)
	}
	k := &key{id: id, keyID: id.String(), created: time.Now(), enabled: true, aead: aead}
	k.arn = s.keyARN(k.keyID)
	s.keys[id] = k
	s.order = append(s.order, k)
	return k.arn, nil
}
