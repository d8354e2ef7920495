package tokenvault

import (
	"encoding/binary"
	"errors"
	"maps"
	"slices"
	"time"
)

// payload is the plaintext of a record's encrypted message:
//
//	version   1 byte (1)
//	token     uvarint length, bytes
//	created   8 bytes, Unix nanoseconds, big-endian
//	expires   8 bytes, Unix nanoseconds, 0 for never
//	metadata  uvarint count, then per pair: uvarint length, key, uvarint length, value
//	value     the remaining bytes
//
// The token is bound here, inside the authenticated plaintext, rather than
// in the encryption context: the data key cache keeps one entry per
// context, and a context per token would cost a new data key (a KMS call)
// per value. Tenant and policy are in the encryption context.
type payload struct {
	token   string
	created time.Time
	expires time.Time // zero: never
	meta    map[string]string
	value   string
}

const payloadVersion = 1

// Metadata limits.
const (
	maxMetaPairs  = 32
	maxMetaKeyLen = 128
	maxMetaBytes  = 8 << 10
)

func unixNano(t time.Time) uint64 {
	if t.IsZero() {
		return 0
	}
	return uint64(t.UnixNano())
}

func fromUnixNano(n uint64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, int64(n)).UTC()
}

func (p *payload) marshal() []byte {
	n := 1 + binary.MaxVarintLen64 + len(p.token) + 16 + binary.MaxVarintLen64 + len(p.value)
	for k, v := range p.meta {
		n += 2*binary.MaxVarintLen64 + len(k) + len(v)
	}
	b := make([]byte, 0, n)
	b = append(b, payloadVersion)
	b = binary.AppendUvarint(b, uint64(len(p.token)))
	b = append(b, p.token...)
	b = binary.BigEndian.AppendUint64(b, unixNano(p.created))
	b = binary.BigEndian.AppendUint64(b, unixNano(p.expires))
	b = binary.AppendUvarint(b, uint64(len(p.meta)))
	for _, k := range sortedKeys(p.meta) {
		b = binary.AppendUvarint(b, uint64(len(k)))
		b = append(b, k...)
		b = binary.AppendUvarint(b, uint64(len(p.meta[k])))
		b = append(b, p.meta[k]...)
	}
	return append(b, p.value...)
}

var errPayload = errors.New("tokenvault: malformed record")

// parsePayload reads what marshal wrote; any other input is errPayload.
func parsePayload(b []byte) (*payload, error) {
	if len(b) < 1 || b[0] != payloadVersion {
		return nil, errPayload
	}
	b = b[1:]
	str := func(max int) (string, bool) {
		n, k := uvarint(b)
		if k <= 0 || n > uint64(len(b)-k) || n > uint64(max) {
			return "", false
		}
		s := string(b[k : k+int(n)])
		b = b[k+int(n):]
		return s, true
	}
	p := &payload{}
	var ok bool
	if p.token, ok = str(MaxValueLength); !ok || len(b) < 16 {
		return nil, errPayload
	}
	p.created = fromUnixNano(binary.BigEndian.Uint64(b))
	p.expires = fromUnixNano(binary.BigEndian.Uint64(b[8:]))
	b = b[16:]
	count, k := uvarint(b)
	if k <= 0 || count > maxMetaPairs {
		return nil, errPayload
	}
	b = b[k:]
	if count > 0 {
		p.meta = make(map[string]string, count)
		prev := ""
		for j := range count {
			key, ok1 := str(maxMetaKeyLen)
			val, ok2 := str(maxMetaBytes)
			// Keys are written sorted, each once: one encoding per payload.
			if !ok1 || !ok2 || (j > 0 && key <= prev) {
				return nil, errPayload
			}
			p.meta[key] = val
			prev = key
		}
	}
	p.value = string(b)
	return p, nil
}

func sortedKeys(m map[string]string) []string { return slices.Sorted(maps.Keys(m)) }

// uvarint is binary.Uvarint refusing non-minimal encodings (a last byte of
// zero after others), so that every payload has one encoding.
func uvarint(b []byte) (uint64, int) {
	n, k := binary.Uvarint(b)
	if k > 1 && b[k-1] == 0 {
		return 0, -1
	}
	return n, k
}
