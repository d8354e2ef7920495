package datamask_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/datamask/datamask"
	"github.com/datamask/datamask/esdk"
)

// cancellingProvider passes calls to a real provider and cancels the
// caller's context after the first `after` of them: with a warm data key
// cache nothing below it looks at the context any more.
type cancellingProvider struct {
	datamask.Provider
	after  int64
	cancel context.CancelFunc
	calls  atomic.Int64
}

func (p *cancellingProvider) Encrypt(ctx context.Context, pt []byte, ec map[string]string) ([]byte, error) {
	if p.calls.Add(1) == p.after {
		p.cancel()
	}
	return p.Provider.Encrypt(ctx, pt, ec)
}

func (p *cancellingProvider) Decrypt(ctx context.Context, msg []byte, ec map[string]string) ([]byte, error) {
	if p.calls.Add(1) == p.after {
		p.cancel()
	}
	return p.Provider.Decrypt(ctx, msg, ec)
}

// TestCancelWarmCache: with the data key cache warm (the default), a
// cancelled context must stop Encrypt and Decrypt of many fields within
// about one value per worker and return the context's error. (Issue 8:
// 200,000 fields ran to the end after cancellation.)
func TestCancelWarmCache(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	const n, after = 2000, 100
	doc, _ := manyFields(n)
	fields := datamask.Fields("$.customers[*].ssn")
	for _, suite := range suites {
		t.Run(suiteName(suite), func(t *testing.T) {
			p, err := datamask.NewESDKProvider(localKeyring(t), datamask.WithSuite(suite))
			if err != nil {
				t.Fatal(err)
			}
			warm, err := datamask.New(datamask.WithProvider(p))
			if err != nil {
				t.Fatal(err)
			}
			enc, err := warm.Encrypt(context.Background(), doc, fields) // warms the cache
			if err != nil {
				t.Fatal(err)
			}
			if _, err := warm.Decrypt(context.Background(), enc, fields); err != nil {
				t.Fatal(err)
			}

			for _, op := range []string{"encrypt", "decrypt"} {
				t.Run(op, func(t *testing.T) {
					ctx, cancel := context.WithCancel(context.Background())
					defer cancel()
					cp := &cancellingProvider{Provider: p, after: after, cancel: cancel}
					m, err := datamask.New(datamask.WithProvider(cp))
					if err != nil {
						t.Fatal(err)
					}
					call, in := m.Encrypt, doc
					if op == "decrypt" {
						call, in = m.Decrypt, enc
					}
					out, err := call(ctx, in, fields)
					if !errors.Is(err, context.Canceled) || out != nil {
						t.Fatalf("%s(%d fields) cancelled after %d values = %d bytes, %v; want nil, context.Canceled", op, n, after, len(out), err)
					}
					if got := cp.calls.Load(); got > after+2*4 {
						t.Errorf("%s made %d provider calls; cancellation after %d should stop it within about one value per worker (4)", op, got, after)
					}

					// Already done before the call: no value at all, with
					// fields or without.
					for _, opts := range [][]datamask.CallOption{{fields}, nil} {
						cp.calls.Store(0)
						arg := in
						if op == "decrypt" && opts == nil {
							arg = []byte(`"` + strings.Repeat("A", 8) + `"`)
						}
						if _, err := call(ctx, arg, opts...); !errors.Is(err, context.Canceled) || cp.calls.Load() != 0 {
							t.Errorf("%s with a cancelled context (fields %v) = %v after %d provider calls, want context.Canceled after none", op, opts != nil, err, cp.calls.Load())
						}
					}
				})
			}
		})
	}
}

// TestCancelDeadline: a deadline that passes during Decrypt of signed
// (0x0578) values, each costing an ECDSA verification, stops the work.
func TestCancelDeadline(t *testing.T) {
	const n = 2000
	doc, _ := manyFields(n)
	fields := datamask.Fields("$.customers[*].ssn")
	p, err := datamask.NewESDKProvider(localKeyring(t))
	if err != nil {
		t.Fatal(err)
	}
	m, err := datamask.New(datamask.WithProvider(p))
	if err != nil {
		t.Fatal(err)
	}
	enc, err := m.Encrypt(context.Background(), doc, fields)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The deadline "passes" after 20 values: a context whose Err turns
	// to DeadlineExceeded, as a real deadline does, without timing.
	dctx := &deadlineAfter{Context: ctx}
	cp := &observedProvider{Provider: p, onCall: func(n int64) {
		if n == 20 {
			dctx.expired.Store(true)
		}
	}}
	m2, err := datamask.New(datamask.WithProvider(cp))
	if err != nil {
		t.Fatal(err)
	}
	_, err = m2.Decrypt(dctx, enc, fields)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Decrypt past its deadline = %v, want context.DeadlineExceeded", err)
	}
	if got := cp.calls.Load(); got > 20+2*int64(runtime.GOMAXPROCS(0)) {
		t.Errorf("Decrypt made %d provider calls after the deadline passed at 20", got)
	}
}

// deadlineAfter is a context whose deadline passes when expired is set.
type deadlineAfter struct {
	context.Context
	expired atomic.Bool
}

func (c *deadlineAfter) Err() error {
	if c.expired.Load() {
		return context.DeadlineExceeded
	}
	return c.Context.Err()
}

// observedProvider counts the calls it passes on and reports each count.
type observedProvider struct {
	datamask.Provider
	calls  atomic.Int64
	onCall func(n int64)
}

func (p *observedProvider) Encrypt(ctx context.Context, pt []byte, ec map[string]string) ([]byte, error) {
	p.onCall(p.calls.Add(1))
	return p.Provider.Encrypt(ctx, pt, ec)
}

func (p *observedProvider) Decrypt(ctx context.Context, msg []byte, ec map[string]string) ([]byte, error) {
	p.onCall(p.calls.Add(1))
	return p.Provider.Decrypt(ctx, msg, ec)
}

// panicKeyring panics in the keyring, as a buggy plug-in would.
type panicKeyring struct{ esdk.Keyring }

type keyringBug struct{ n int }

func (panicKeyring) OnEncrypt(context.Context, *esdk.EncryptionMaterials) error {
	panic(&keyringBug{n: 8})
}

func (panicKeyring) OnDecrypt(context.Context, *esdk.DecryptionMaterials, []esdk.EncryptedDataKey) error {
	panic(&keyringBug{n: 8})
}

// panicProvider panics on the value "boom".
type panicProvider struct{ base64Provider }

func (p panicProvider) Encrypt(ctx context.Context, pt []byte, ec map[string]string) ([]byte, error) {
	if string(pt) == `"boom"` {
		panic("provider bug")
	}
	return p.base64Provider.Encrypt(ctx, pt, ec)
}

// recovered runs f and returns what it panicked with.
func recovered(f func()) (v any) {
	defer func() { v = recover() }()
	f()
	return nil
}

// TestPanicInWorker: a panic of a Provider or keyring reaches the
// caller's goroutine, with its own value, whatever the number of fields
// (issue 8: with more than one field it killed the process).
func TestPanicInWorker(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	ctx := context.Background()
	m, err := datamask.New(datamask.WithProvider(panicProvider{}))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{1, 2, 1000} {
		vals := make([]string, n)
		for i := range vals {
			vals[i] = `"ok"`
		}
		vals[n-1] = `"boom"`
		doc := []byte(`{"v": [` + strings.Join(vals, ",") + `]}`)
		got := recovered(func() { _, _ = m.Encrypt(ctx, doc, datamask.Fields("v[*]")) })
		if got != "provider bug" {
			t.Errorf("Encrypt of %d fields, the last panicking: recover() = %v, want the provider's panic", n, got)
		}
		// And on decrypt, through a keyring that panics.
		enc, err := newMasker(t, localKeyring(t)).Encrypt(ctx, []byte(`{"v": [`+strings.Repeat(`1,`, n-1)+`1]}`), datamask.Fields("v[*]"))
		if err != nil {
			t.Fatal(err)
		}
		pk := newMasker(t, panicKeyring{localKeyring(t)}, datamask.WithoutDataKeyCache())
		got = recovered(func() { _, _ = pk.Decrypt(ctx, enc, datamask.Fields("v[*]")) })
		if b, ok := got.(*keyringBug); !ok || b.n != 8 {
			t.Errorf("Decrypt of %d fields with a panicking keyring: recover() = %#v, want the keyring's panic", n, got)
		}
	}
}

// TestNewESDKProviderTypedNil: the nil *esdk.RawAESKeyring that
// ReadLocalKeyring returns with its error is refused, not stored.
func TestNewESDKProviderTypedNil(t *testing.T) {
	k, readErr := datamask.ReadLocalKeyring(t.TempDir() + "/missing.key")
	if readErr == nil {
		t.Fatal("ReadLocalKeyring(missing file) = nil error")
	}
	var nilKMS esdk.Keyring = (*esdk.MultiKeyring)(nil)
	for _, tt := range []struct {
		name string
		k    esdk.Keyring
	}{
		{"ReadLocalKeyring's result", k},
		{"nil *esdk.MultiKeyring", nilKMS},
		{"nil interface", nil},
	} {
		p, err := datamask.NewESDKProvider(tt.k)
		if err == nil || p != nil || !strings.Contains(err.Error(), "nil") {
			t.Errorf("NewESDKProvider(%s) = %v, %v; want an error saying the keyring is nil", tt.name, p, err)
		}
	}
}

// Named types of the kinds the Value methods treat specially.
type (
	docText   string
	docBytes  []byte
	ssnString string
)

// TestValueEdges: DecryptValue into *[]byte, named string and byte-slice
// types like string and []byte, and out untouched when DecryptValue
// fails (issue 8, item 8).
func TestValueEdges(t *testing.T) {
	ctx := context.Background()
	m := newMasker(t, localKeyring(t), datamask.WithSuite(esdk.AES256GCMHKDFSHA512CommitKey))
	doc := `{"name": "Ana", "ssn": "123-45-6789"}`
	fields := datamask.Fields("ssn")

	t.Run("into *[]byte", func(t *testing.T) {
		enc, err := m.Encrypt(ctx, []byte(doc), fields)
		if err != nil {
			t.Fatal(err)
		}
		var got []byte
		if err := m.DecryptValue(ctx, enc, &got, fields); err != nil || string(got) != doc {
			t.Errorf("DecryptValue(into *[]byte) = %q, %v; want the JSON text %q", got, err, doc)
		}
		// A whole value that is a JSON string: its JSON text, quotes
		// included, as json.RawMessage would hold it.
		whole, err := m.EncryptValue(ctx, "hello")
		if err != nil {
			t.Fatal(err)
		}
		var b docBytes
		if err := m.DecryptValue(ctx, whole, &b); err != nil || string(b) != `"hello"` {
			t.Errorf("DecryptValue(into *docBytes) = %q, %v; want %q", b, err, `"hello"`)
		}
	})
	t.Run("named string and bytes in", func(t *testing.T) {
		for _, v := range []any{docText(doc), docBytes(doc)} {
			enc, err := m.EncryptValue(ctx, v, fields)
			if err != nil {
				t.Fatalf("EncryptValue(%T) = %v", v, err)
			}
			if !strings.Contains(string(enc), `"name": "Ana"`) {
				t.Errorf("EncryptValue(%T with fields) = %s, want the document with ssn encrypted", v, enc)
			}
			var back map[string]string
			if err := m.DecryptValue(ctx, docBytes(enc), &back, fields); err != nil || back["ssn"] != "123-45-6789" {
				t.Errorf("DecryptValue(docBytes) = %v, %v", back, err)
			}
			erased, err := m.EraseValue(v, fields)
			if err != nil || string(erased) != `{"name": "Ana", "ssn": "*****"}` {
				t.Errorf("EraseValue(%T) = %s, %v", v, erased, err)
			}
		}
		// Without fields a named string is a string value, as string is.
		enc, err := m.EncryptValue(ctx, ssnString("123-45-6789"))
		if err != nil {
			t.Fatal(err)
		}
		var s string
		if err := m.DecryptValue(ctx, docText(mustUnquote(t, enc)), &s); err != nil || s != "123-45-6789" {
			t.Errorf("DecryptValue(docText of the base64) = %q, %v", s, err)
		}
	})
	t.Run("failed DecryptValue leaves out untouched", func(t *testing.T) {
		type record struct {
			Name string `json:"name"`
			SSN  int    `json:"ssn"` // the decrypted ssn is a string: unmarshalling fails
		}
		enc, err := m.Encrypt(ctx, []byte(doc), fields)
		if err != nil {
			t.Fatal(err)
		}
		out := record{Name: "unchanged", SSN: 7}
		err = m.DecryptValue(ctx, enc, &out, fields)
		if !errors.Is(err, datamask.ErrUnsupportedType) {
			t.Fatalf("DecryptValue(into a mismatched struct) = %v, want ErrUnsupportedType", err)
		}
		if out != (record{Name: "unchanged", SSN: 7}) {
			t.Errorf("failed DecryptValue changed out to %+v", out)
		}
		checkNoSecrets(t, err, "123-45-6789")
		// A decryption failure leaves it too.
		if err := m.DecryptValue(ctx, enc, &out); err == nil || out.Name != "unchanged" {
			t.Errorf("DecryptValue without fields = %v, out %+v; want an error and out untouched", err, out)
		}
	})
	t.Run("out must be a non-nil pointer", func(t *testing.T) {
		enc, err := m.Encrypt(ctx, []byte(doc), fields)
		if err != nil {
			t.Fatal(err)
		}
		var nilMap *map[string]any
		for _, out := range []any{nil, map[string]any{}, nilMap} {
			if err := m.DecryptValue(ctx, enc, out, fields); !errors.Is(err, datamask.ErrUnsupportedType) {
				t.Errorf("DecryptValue(out %T) = %v, want ErrUnsupportedType", out, err)
			}
		}
	})
}

func mustUnquote(t *testing.T, b []byte) string {
	t.Helper()
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestContextRefusals: an empty key is refused by the library as by the
// CLI; a context larger than a message header holds is refused before
// any key is used (issue 8, item 5).
func TestContextRefusals(t *testing.T) {
	ctx := context.Background()
	for _, suite := range suites {
		t.Run(suiteName(suite), func(t *testing.T) {
			k := &countingKeyring{Keyring: localKeyring(t)}
			m := newMasker(t, k, datamask.WithSuite(suite))
			pairLimit := 0xFFFF - 2 - 4 // one pair: count, lengths
			if suite.Signing() {
				pairLimit -= 93 // aws-crypto-public-key and its value
			}
			fits := map[string]string{"k": strings.Repeat("v", pairLimit-1)}
			over := map[string]string{"k": strings.Repeat("v", pairLimit)}
			if _, err := m.Encrypt(ctx, []byte(`{"a": 1}`), datamask.EncryptionContext(fits)); err != nil {
				t.Errorf("Encrypt with a context of exactly 65,535 bytes serialized = %v", err)
			}
			k.encrypts.Store(0)
			for name, ec := range map[string]map[string]string{
				"empty key":      {"": "x"},
				"too large":      over,
				"too large, sum": {"a": strings.Repeat("v", 40000), "b": strings.Repeat("v", 40000)},
			} {
				for _, opts := range [][]datamask.CallOption{nil, {datamask.Fields("a")}} {
					_, err := m.Encrypt(ctx, []byte(`{"a": 1}`), append(opts, datamask.EncryptionContext(ec))...)
					if err == nil || k.encrypts.Load() != 0 {
						t.Fatalf("Encrypt with context %s = %v after %d keyring calls, want an error before any", name, err, k.encrypts.Load())
					}
					checkNoSecrets(t, err, "vvvv")
				}
				p, _ := datamask.NewESDKProvider(localKeyring(t), datamask.WithSuite(suite))
				if name != "empty key" {
					if _, err := p.Encrypt(ctx, []byte("1"), ec); err == nil || !strings.Contains(err.Error(), "65535") {
						t.Errorf("ESDKProvider.Encrypt with context %s = %v, want the size error", name, err)
					}
				}
			}
			if _, err := m.Decrypt(ctx, []byte(`{"a": "x"}`), datamask.Fields("a"), datamask.EncryptionContext(map[string]string{"": "x"})); err == nil || !strings.Contains(err.Error(), "empty") {
				t.Errorf("Decrypt with an empty context key = %v, want it refused", err)
			}
		})
	}
}

// TestDecryptFilterFields: Decrypt with the filter expressions given to
// Encrypt restores the values the filters selected whole, which are now
// encrypted strings their conditions cannot see into (issue 8, item 6).
func TestDecryptFilterFields(t *testing.T) {
	ctx := context.Background()
	m := newMasker(t, localKeyring(t), datamask.WithSuite(esdk.AES256GCMHKDFSHA512CommitKey))
	addr := `{"address": [{"street": "1 Main St", "city": "X", "postcode": 12345}, {"street": "2 Side St", "city": "Y", "postcode": 67890}, "AgR4 not a message", "abcdabcd"],` +
		` "tags": ["secret", "public", "secret"], "n": {"deep": [{"kind": "pii", "v": 1}, {"kind": "ok", "v": 2}]}}`
	for _, fields := range [][]string{
		{`$.address[?(@.city == "X")]`},
		{`$.address[?(@.postcode > 50000)]`},
		{`address[?(@.city == "Y")]`}, // the Powertools dialect
		{`$.tags[?(@ == "secret")]`},
		{`$..[?(@.kind == "pii")]`},
		{`$.address[?(@.city == "X")]`, `$.address[?(@.city == "X")].street`}, // covered
		{`$.address[?(@.city == "X")].street`},                                // a filter that still sees its candidates
		{`$.address[?(@.city == "X")]`, `$.tags[0]`},
	} {
		opts := []datamask.CallOption{datamask.Fields(fields...)}
		enc, err := m.Encrypt(ctx, []byte(addr), opts...)
		if err != nil {
			t.Fatalf("Encrypt(%q) = %v", fields, err)
		}
		back, err := m.Decrypt(ctx, enc, opts...)
		if err != nil || string(back) != addr {
			t.Errorf("Decrypt(Encrypt(%q)) with the same fields = %s, %v; want the input", fields, back, err)
		}
	}

	// A filter never selects a string that holds no message: "public",
	// the base64-looking "abcdabcd" and "AgR4 not a message" stay as they
	// are, and an expression whose candidates hold no message is missing.
	enc, err := m.Encrypt(ctx, []byte(addr), datamask.Fields(`$.tags[?(@ == "secret")]`))
	if err != nil {
		t.Fatal(err)
	}
	_, err = m.Decrypt(ctx, enc, datamask.Fields(`$.address[?(@.city == "Z")]`))
	var fnf *datamask.FieldNotFoundError
	if !errors.As(err, &fnf) {
		t.Errorf("Decrypt with a filter whose candidates hold no message = %v, want *FieldNotFoundError", err)
	}
}

// failingWriter fails every write after the first n bytes.
type failingWriter struct{ n int }

func (w *failingWriter) Write(p []byte) (int, error) {
	if len(p) > w.n {
		k := w.n
		w.n = 0
		return k, errors.New("disk full")
	}
	w.n -= len(p)
	return len(p), nil
}

// TestEraseTo: errors come before any byte is written; the writer's error
// is returned.
func TestEraseTo(t *testing.T) {
	m, err := datamask.New()
	if err != nil {
		t.Fatal(err)
	}
	big := []byte(`{"notes": "` + strings.Repeat("x-y ", 50000) + `", "ssn": "123-45-6789"}`)
	var buf strings.Builder
	if err := m.EraseTo(&buf, big, datamask.Fields("notes", "ssn"), datamask.DynamicMask()); err != nil {
		t.Fatal(err)
	}
	want, err := m.Erase(big, datamask.Fields("notes", "ssn"), datamask.DynamicMask())
	if err != nil || buf.String() != string(want) {
		t.Fatalf("EraseTo and Erase of a 200 KB string differ (%v)", err)
	}
	for _, opts := range [][]datamask.CallOption{{datamask.Fields("nope")}, {datamask.Fields("$[")}, {datamask.Fields("ssn"), datamask.RegexMask("(", "x")}} {
		w := &failingWriter{n: 0}
		if err := m.EraseTo(w, big, opts...); err == nil || err.Error() == "disk full" {
			t.Errorf("EraseTo(%v) = %v, want the erase error before any write", opts, err)
		}
	}
	if err := m.EraseTo(&failingWriter{n: 100}, big, datamask.Fields("ssn")); err == nil || err.Error() != "disk full" {
		t.Errorf("EraseTo to a failing writer = %v, want its error", err)
	}
}

// TestEncryptDecryptTo: the writer forms give the same documents as
// Encrypt and Decrypt across chunk boundaries (more than 1,024 values, a
// value over the chunk's byte bound), report errors before any write, and
// stop when the writer fails.
func TestEncryptDecryptTo(t *testing.T) {
	ctx := context.Background()
	p := &observedProvider{Provider: base64Provider{}, onCall: func(int64) {}}
	m, err := datamask.New(datamask.WithProvider(p))
	if err != nil {
		t.Fatal(err)
	}
	doc, want := manyFields(2500)
	big := []byte(`{"a": "` + strings.Repeat("x", 5<<20) + `", "b": [1, 2, 3], "c": "z"}`)
	for _, tt := range []struct {
		doc    []byte
		fields []string
	}{
		{doc, []string{"$.customers[*].ssn"}},
		{big, []string{"a", "b[*]", "c"}},
		{big, []string{"b", "b[0]"}}, // covered on decrypt: made whole first
	} {
		opts := []datamask.CallOption{datamask.Fields(tt.fields...)}
		var enc strings.Builder
		if err := m.EncryptTo(ctx, &enc, tt.doc, opts...); err != nil {
			t.Fatal(err)
		}
		viaBytes, err := m.Encrypt(ctx, tt.doc, opts...)
		if err != nil || enc.String() != string(viaBytes) {
			t.Fatalf("EncryptTo(%q) and Encrypt differ (%v)", tt.fields, err)
		}
		if bytes.Equal(tt.doc, doc) && enc.String() != string(want) {
			t.Fatalf("EncryptTo(2500 fields) = %.100s..., want %.100s...", enc.String(), want)
		}
		var dec strings.Builder
		if err := m.DecryptTo(ctx, &dec, []byte(enc.String()), opts...); err != nil || dec.String() != string(tt.doc) {
			t.Fatalf("DecryptTo(EncryptTo(%q)) = %d bytes, %v; want the input", tt.fields, dec.Len(), err)
		}
	}

	// Errors of the input come before any write.
	for _, opts := range [][]datamask.CallOption{{datamask.Fields("nope")}, {datamask.Fields("$[")}, {datamask.EncryptionContext(map[string]string{"": "x"})}} {
		if err := m.EncryptTo(ctx, &failingWriter{}, doc, opts...); err == nil || err.Error() == "disk full" {
			t.Errorf("EncryptTo(%v) = %v, want the input's error", opts, err)
		}
		if err := m.DecryptTo(ctx, &failingWriter{}, want, opts...); err == nil || err.Error() == "disk full" {
			t.Errorf("DecryptTo(%v) = %v, want the input's error", opts, err)
		}
	}
	// A failing writer stops the work within a chunk or two (what the
	// write buffer holds).
	p.calls.Store(0)
	many, _ := manyFields(20000)
	if err := m.EncryptTo(ctx, &failingWriter{n: 100}, many, datamask.Fields("$.customers[*].ssn")); err == nil || err.Error() != "disk full" {
		t.Errorf("EncryptTo to a failing writer = %v, want its error", err)
	}
	if n := p.calls.Load(); n > 2*1024+64 {
		t.Errorf("EncryptTo went on for %d values after its writer failed", n)
	}
}
