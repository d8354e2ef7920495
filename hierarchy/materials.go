package hierarchy

import (
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// BranchKeyLen is the length of branch keys and beacon keys: 32 bytes.
const BranchKeyLen = 32

// secret holds key bytes inside a closure: fmt and reflection print a func
// as an address whatever the verb, so no struct holding one prints a key.
type secret func() []byte

func newSecret(b []byte) secret { return func() []byte { return b } }

func (s secret) bytes() []byte {
	if s == nil {
		return nil
	}
	return s()
}

// BranchKeyMaterials are one version of a branch key: its id, its version
// (a UUID), the custom encryption context it was created with, and the
// 32-byte key. [KeyStore.GetActiveBranchKey] and
// [KeyStore.GetBranchKeyVersion] return them; a [BranchKeyStore] of your own
// builds them with [NewBranchKeyMaterials].
//
// The key is never printed: String, GoString, Format and LogValue redact
// it.
type BranchKeyMaterials struct {
	// BranchKeyID identifies the branch key.
	BranchKeyID string
	// Version is the version's UUID, in lower case.
	Version string
	// EncryptionContext is the custom encryption context given to
	// CreateKey (the key store stores each pair as an attribute named
	// aws-crypto-ec: and the key), or nil.
	EncryptionContext map[string]string

	key secret
}

// NewBranchKeyMaterials returns the materials of version (a UUID) of branch
// key branchKeyID, holding a copy of key (32 bytes). It is for
// implementations of [BranchKeyStore] other than [KeyStore].
func NewBranchKeyMaterials(branchKeyID, version string, key []byte, encryptionContext map[string]string) (*BranchKeyMaterials, error) {
	const fn = "hierarchy: NewBranchKeyMaterials: "
	switch {
	case branchKeyID == "" || !utf8.ValidString(branchKeyID):
		return nil, fmt.Errorf(fn + "the branch key id is empty or not UTF-8")
	case len(key) != BranchKeyLen:
		return nil, fmt.Errorf(fn+"the key is %d bytes, want %d", len(key), BranchKeyLen)
	}
	u, ok := parseUUID(version)
	if !ok {
		return nil, fmt.Errorf(fn+"the version %q is not a UUID (8-4-4-4-12 hex digits)", version)
	}
	return &BranchKeyMaterials{
		BranchKeyID:       branchKeyID,
		Version:           formatUUID(u),
		EncryptionContext: maps.Clone(encryptionContext),
		key:               newSecret(slices.Clone(key)),
	}, nil
}

// Key returns the branch key. The slice is the materials' own: do not
// modify or keep it.
func (m *BranchKeyMaterials) Key() []byte { return m.key.bytes() }

// clone returns a copy of m with its own copy of the key.
func (m *BranchKeyMaterials) clone() *BranchKeyMaterials {
	c := *m
	c.EncryptionContext = maps.Clone(m.EncryptionContext)
	c.key = newSecret(slices.Clone(m.key.bytes()))
	return &c
}

// zero overwrites the key.
func (m *BranchKeyMaterials) zero() {
	if m != nil {
		clear(m.key.bytes())
	}
}

// String describes m without its key or custom context values.
func (m BranchKeyMaterials) String() string {
	var b strings.Builder
	b.WriteString("hierarchy.BranchKeyMaterials{BranchKeyID: ")
	b.WriteString(strconv.Quote(m.BranchKeyID))
	b.WriteString(", Version: ")
	b.WriteString(strconv.Quote(m.Version))
	writeContextKeys(&b, m.EncryptionContext)
	b.WriteString(", Key: ")
	b.WriteString(redacted(m.key != nil))
	b.WriteString("}")
	return b.String()
}

// GoString is String: materials never print their key, even with %#v.
func (m BranchKeyMaterials) GoString() string { return m.String() }

// Format prints String for every verb, so no verb reveals the key.
func (m BranchKeyMaterials) Format(f fmt.State, verb rune) { _, _ = f.Write([]byte(m.String())) }

// LogValue logs the id, the version and the context keys, never the key.
func (m BranchKeyMaterials) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("branch_key_id", m.BranchKeyID),
		slog.String("version", m.Version),
		slog.Any("context_keys", slices.Sorted(maps.Keys(m.EncryptionContext))),
		slog.String("key", redacted(m.key != nil)),
	)
}

// BeaconKeyMaterials are the beacon key of a branch key, from which the
// AWS Database Encryption SDK derives the keys of its searchable-encryption
// beacons. [KeyStore.GetBeaconKey] returns them.
//
// The key is never printed: String, GoString, Format and LogValue redact
// it.
type BeaconKeyMaterials struct {
	// BeaconKeyID is the id of the branch key the beacon key belongs to.
	BeaconKeyID string
	// EncryptionContext is the branch key's custom encryption context.
	EncryptionContext map[string]string

	key secret
}

// Key returns the beacon key. The slice is the materials' own: do not
// modify or keep it.
func (m *BeaconKeyMaterials) Key() []byte { return m.key.bytes() }

// String describes m without its key or custom context values.
func (m BeaconKeyMaterials) String() string {
	var b strings.Builder
	b.WriteString("hierarchy.BeaconKeyMaterials{BeaconKeyID: ")
	b.WriteString(strconv.Quote(m.BeaconKeyID))
	writeContextKeys(&b, m.EncryptionContext)
	b.WriteString(", Key: ")
	b.WriteString(redacted(m.key != nil))
	b.WriteString("}")
	return b.String()
}

// GoString is String: materials never print their key, even with %#v.
func (m BeaconKeyMaterials) GoString() string { return m.String() }

// Format prints String for every verb, so no verb reveals the key.
func (m BeaconKeyMaterials) Format(f fmt.State, verb rune) { _, _ = f.Write([]byte(m.String())) }

// LogValue logs the id and the context keys, never the key.
func (m BeaconKeyMaterials) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("beacon_key_id", m.BeaconKeyID),
		slog.Any("context_keys", slices.Sorted(maps.Keys(m.EncryptionContext))),
		slog.String("key", redacted(m.key != nil)),
	)
}

func redacted(set bool) string {
	if set {
		return "[REDACTED]"
	}
	return "none"
}

func writeContextKeys(b *strings.Builder, ec map[string]string) {
	b.WriteString(", EncryptionContext keys: [")
	for i, k := range slices.Sorted(maps.Keys(ec)) {
		if i > 0 {
			b.WriteString(" ")
		}
		b.WriteString(strconv.Quote(k))
	}
	b.WriteString("]")
}
