package interop

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"

	"github.com/datamask/datamask"
	"github.com/datamask/datamask/esdk"
	"github.com/datamask/datamask/internal/benchdata"
)

// Issue 5's field loop: encrypt, then decrypt, the ssn of every customer
// of a payload with a local AES key, with datamask's DataMasker and with
// the official Go ESDK doing by hand what a user of it would write.

// fieldContext is the encryption context bound to every field's message.
var fieldContext = map[string]string{"purpose": "field-loop"}

// fieldLoop holds both sides over the same AES-256 key, under datamask's
// default key namespace and name, so each reads the other's messages.
type fieldLoop struct {
	off   *Official
	offKR OfficialKeyring
	key   *esdk.RawAESKeyring
}

func newFieldLoop(tb testing.TB) *fieldLoop {
	tb.Helper()
	text, err := datamask.GenerateLocalKey()
	if err != nil {
		tb.Fatal(err)
	}
	key, err := base64.StdEncoding.DecodeString(string(bytes.TrimSpace(text)))
	if err != nil {
		tb.Fatal(err)
	}
	kr, err := datamask.NewLocalKeyring(text)
	if err != nil {
		tb.Fatal(err)
	}
	off := newOfficial(tb)
	offKR, err := off.RawAESKeyring(context.Background(), datamask.DefaultKeyNamespace, datamask.DefaultKeyName, key)
	if err != nil {
		tb.Fatal(err)
	}
	return &fieldLoop{off: off, offKR: offKR, key: kr}
}

// masker returns a DataMasker over the loop's key.
func (l *fieldLoop) masker(tb testing.TB, opts ...datamask.ProviderOption) *datamask.DataMasker {
	tb.Helper()
	p, err := datamask.NewESDKProvider(l.key, opts...)
	if err != nil {
		tb.Fatal(err)
	}
	m, err := datamask.New(datamask.WithProvider(p))
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

// ssnFields is the expression the DataMasker side is given.
var ssnFields = datamask.Fields("$.customers[*].ssn")

// officialEncrypt is the official ESDK's field loop: decode the document,
// encrypt each ssn's JSON text, store its base64, encode the document.
func (l *fieldLoop) officialEncrypt(ctx context.Context, doc []byte, suite uint16) ([]byte, error) {
	var v map[string]any
	if err := json.Unmarshal(doc, &v); err != nil {
		return nil, err
	}
	customers, _ := v["customers"].([]any)
	opts := OfficialEncryptOptions{Suite: suite, FrameLength: 4096, EncryptionContext: fieldContext}
	for _, c := range customers {
		c := c.(map[string]any)
		pt, err := json.Marshal(c["ssn"])
		if err != nil {
			return nil, err
		}
		msg, err := l.off.Encrypt(ctx, l.offKR, pt, opts)
		if err != nil {
			return nil, err
		}
		c["ssn"] = base64.StdEncoding.EncodeToString(msg)
	}
	return json.Marshal(v)
}

// officialDecrypt is the reverse loop, checking each message's context as
// Powertools does.
func (l *fieldLoop) officialDecrypt(ctx context.Context, doc []byte) ([]byte, error) {
	var v map[string]any
	if err := json.Unmarshal(doc, &v); err != nil {
		return nil, err
	}
	customers, _ := v["customers"].([]any)
	for _, c := range customers {
		c := c.(map[string]any)
		s, _ := c["ssn"].(string)
		msg, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil, err
		}
		d, err := l.off.Decrypt(ctx, l.offKR, msg, fieldContext)
		if err != nil {
			return nil, err
		}
		var val any
		if err := json.Unmarshal(d.Plaintext, &val); err != nil {
			return nil, err
		}
		c["ssn"] = val
	}
	return json.Marshal(v)
}

// sameJSON reports whether a and b are the same JSON value.
func sameJSON(tb testing.TB, a, b []byte) bool {
	tb.Helper()
	var va, vb any
	if err := json.Unmarshal(a, &va); err != nil {
		tb.Fatalf("not JSON: %v", err)
	}
	if err := json.Unmarshal(b, &vb); err != nil {
		tb.Fatalf("not JSON: %v", err)
	}
	return reflect.DeepEqual(va, vb)
}

// TestFieldLoopInterop checks both loops on the medium payload (25
// customers), in both directions: the official ESDK decrypts the fields
// DataMasker encrypts, and DataMasker decrypts the fields the official
// ESDK encrypts, in both suites.
func TestFieldLoopInterop(t *testing.T) {
	l := newFieldLoop(t)
	doc := benchdata.Get(t, "medium").Doc
	ctx := context.Background()
	for _, suite := range []uint16{suite0478, suite0578} {
		t.Run(fmt.Sprintf("suite=%04x", suite), func(t *testing.T) {
			m := l.masker(t, datamask.WithSuite(esdk.Suite(suite)))
			enc, err := m.Encrypt(ctx, doc, ssnFields, datamask.EncryptionContext(fieldContext))
			if err != nil {
				t.Fatal(err)
			}
			back, err := l.officialDecrypt(ctx, enc)
			if err != nil || !sameJSON(t, back, doc) {
				t.Fatalf("official loop Decrypt(DataMasker.Encrypt(medium)) = %.100s, %v; want the document", back, err)
			}
			offEnc, err := l.officialEncrypt(ctx, doc, suite)
			if err != nil {
				t.Fatal(err)
			}
			back, err = m.Decrypt(ctx, offEnc, ssnFields, datamask.EncryptionContext(fieldContext))
			if err != nil || !sameJSON(t, back, doc) {
				t.Fatalf("DataMasker.Decrypt(official loop Encrypt(medium)) = %.100s, %v; want the document", back, err)
			}
			if _, err := m.Decrypt(ctx, offEnc, ssnFields); err == nil {
				t.Error("DataMasker.Decrypt without the context = nil error, want a context mismatch")
			}
		})
	}
}

// BenchmarkFieldLoop encrypts, then decrypts, the ssn of all 2,000
// customers of large.json, with DataMasker (its defaults: data key cache
// on, every core) and with the official Go ESDK's field loop (one message
// at a time: the SDK is not safe for concurrent use). op=roundtrip is the
// issue's figure; compare with benchstat -col /impl, and run with -cpu 1,2
// to see DataMasker on one core. cpu-ns/field is the CPU time of a value
// on all cores together, which a busy machine inflates less than ns/field.
func BenchmarkFieldLoop(b *testing.B) {
	l := newFieldLoop(b)
	doc := benchdata.Get(b, "large").Doc
	ctx := context.Background()
	for _, suite := range []uint16{suite0478, suite0578} {
		impls := []struct {
			name    string
			encrypt func() ([]byte, error)
			decrypt func(enc []byte) ([]byte, error)
		}{
			{name: "datamask"}, {name: "datamask-nocache"}, {name: "official"},
		}
		for i := range impls {
			im := &impls[i]
			switch im.name {
			case "official":
				im.encrypt = func() ([]byte, error) { return l.officialEncrypt(ctx, doc, suite) }
				im.decrypt = func(enc []byte) ([]byte, error) { return l.officialDecrypt(ctx, enc) }
			default:
				opts := []datamask.ProviderOption{datamask.WithSuite(esdk.Suite(suite))}
				if im.name == "datamask-nocache" {
					opts = append(opts, datamask.WithoutDataKeyCache())
				}
				m := l.masker(b, opts...)
				call := []datamask.CallOption{ssnFields, datamask.EncryptionContext(fieldContext)}
				im.encrypt = func() ([]byte, error) { return m.Encrypt(ctx, doc, call...) }
				im.decrypt = func(enc []byte) ([]byte, error) { return m.Decrypt(ctx, enc, call...) }
			}
		}
		for _, op := range []string{"roundtrip", "encrypt", "decrypt"} {
			for _, im := range impls {
				b.Run(fmt.Sprintf("suite=%04x/op=%s/impl=%s", suite, op, im.name), func(b *testing.B) {
					enc, err := im.encrypt()
					if err != nil {
						b.Fatal(err)
					}
					b.ReportAllocs()
					cpuStart, cpuOK := processCPU()
					for b.Loop() {
						switch op {
						case "roundtrip":
							if enc, err = im.encrypt(); err == nil {
								_, err = im.decrypt(enc)
							}
						case "encrypt":
							_, err = im.encrypt()
						case "decrypt":
							_, err = im.decrypt(enc)
						}
						if err != nil {
							b.Fatal(err)
						}
					}
					b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*2000), "ns/field")
					// CPU time, all cores: what a value costs whatever else
					// the machine runs (wall time swings with the load).
					if cpuEnd, ok := processCPU(); cpuOK && ok {
						b.ReportMetric(float64(cpuEnd-cpuStart)/float64(b.N*2000), "cpu-ns/field")
					}
				})
			}
		}
	}
}
