package tokenvault

import (
	"bytes"
	"testing"
	"time"
)

func TestPayloadRoundTrip(t *testing.T) {
	for _, p := range []payload{
		{token: "tok_x", created: time.Unix(1, 2).UTC(), value: "v"},
		{token: "", created: time.Unix(1700000000, 0).UTC(), expires: time.Unix(1800000000, 5).UTC(), meta: map[string]string{"b": "2", "a": ""}, value: ""},
		{token: "123-45-6789", created: time.Unix(0, 1).UTC(), value: "\x00\xff binary"},
	} {
		b := p.marshal()
		q, err := parsePayload(b)
		if err != nil {
			t.Fatalf("parsePayload(marshal(%+v)): %v", p, err)
		}
		if q.token != p.token || !q.created.Equal(p.created) || !q.expires.Equal(p.expires) || q.value != p.value || len(q.meta) != len(p.meta) {
			t.Fatalf("round trip = %+v, want %+v", q, p)
		}
		for k, v := range p.meta {
			if q.meta[k] != v {
				t.Fatalf("meta %q = %q, want %q", k, q.meta[k], v)
			}
		}
	}
}

// FuzzPayload: parsing never panics, and whatever parses marshals back to
// the same bytes (one encoding per payload).
func FuzzPayload(f *testing.F) {
	f.Add((&payload{token: "tok", created: time.Unix(5, 0), value: "v", meta: map[string]string{"a": "1", "b": "2"}}).marshal())
	f.Add((&payload{token: "t", created: time.Unix(5, 0), expires: time.Unix(9, 0)}).marshal())
	f.Add([]byte{1})
	f.Add([]byte{2, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := parsePayload(b)
		if err != nil {
			return
		}
		if got := p.marshal(); !bytes.Equal(got, b) {
			t.Fatalf("marshal(parse(%x)) = %x", b, got)
		}
	})
}
