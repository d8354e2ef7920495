package hierarchy

import (
	"crypto/rand"
	"encoding/hex"
)

// uuidLen is the length of a UUID's text form, 8-4-4-4-12 hex digits.
const uuidLen = 36

// newUUID returns a random (version 4) UUID in its lower-case text form, as
// the AWS key store writes branch key ids and versions.
func newUUID() string {
	var u [16]byte
	rand.Read(u[:])
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return formatUUID(u)
}

// formatUUID returns the lower-case 8-4-4-4-12 text form of u.
func formatUUID(u [16]byte) string {
	var b [uuidLen]byte
	hex.Encode(b[0:8], u[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], u[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], u[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], u[8:10])
	b[23] = '-'
	hex.Encode(b[24:], u[10:])
	return string(b[:])
}

// parseUUID parses the 8-4-4-4-12 text form, in either case. Branch key
// versions are UUIDs: the hierarchical keyring stores them as 16 bytes.
func parseUUID(s string) ([16]byte, bool) {
	var u [16]byte
	if len(s) != uuidLen || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return u, false
	}
	var compact [32]byte
	copy(compact[0:8], s[0:8])
	copy(compact[8:12], s[9:13])
	copy(compact[12:16], s[14:18])
	copy(compact[16:20], s[19:23])
	copy(compact[20:32], s[24:])
	if _, err := hex.Decode(u[:], compact[:]); err != nil {
		return u, false
	}
	return u, true
}
