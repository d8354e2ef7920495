package datamask_test

import (
	"bytes"
	"context"
	"strconv"
	"testing"

	"github.com/datamask/datamask"
	"github.com/datamask/datamask/esdk"
	"github.com/datamask/datamask/internal/benchdata"
)

// BenchmarkBinding encrypts and decrypts the fields of the shared payloads
// with a local key and suite 0x0478 (data key cache on, warm), unbound,
// bound to their expressions (BindFields: one data key per expression) and
// bound to their record too (ContextFrom of one id). It shows the CPU cost
// of binding; the KMS calls it adds (one data key per expression, per
// record) are counted by TestBindingDataKeys.
func BenchmarkBinding(b *testing.B) {
	ctx := context.Background()
	record := map[string]string{"small": "$.id", "medium": "$.customers[0].id", "large": "$.customers[0].id"}
	for _, p := range benchdata.Load(b) {
		n := countValues(b, p)
		for _, bind := range []struct {
			name string
			opts []datamask.CallOption
		}{
			{"none", nil},
			{"fields", []datamask.CallOption{datamask.BindFields()}},
			{"fields+record", []datamask.CallOption{datamask.BindFields(), datamask.ContextFrom("id", record[p.Name])}},
		} {
			m := benchMasker(b, esdk.AES256GCMHKDFSHA512CommitKey)
			opts := append([]datamask.CallOption{datamask.Fields(p.Fields...), datamask.EncryptionContext(benchContext)}, bind.opts...)
			enc, err := m.Encrypt(ctx, p.Doc, opts...)
			if err != nil {
				b.Fatal(err)
			}
			for _, op := range []string{"encrypt", "decrypt"} {
				b.Run("payload="+p.Name+"/bind="+bind.name+"/op="+op, func(b *testing.B) {
					call, doc := m.Encrypt, p.Doc
					if op == "decrypt" {
						call, doc = m.Decrypt, enc
					}
					b.ReportAllocs()
					b.SetBytes(int64(len(p.Doc)))
					for b.Loop() {
						if _, err := call(ctx, doc, opts...); err != nil {
							b.Fatal(err)
						}
					}
					b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/value")
				})
			}
		}
	}
}

// BenchmarkBindRecords encrypts a new record (the small payload under
// another id) at each iteration, bound with ContextFrom: every record
// misses the data key cache and gets a data key of its own, here wrapped
// by a local key; with AWS KMS each would add a GenerateDataKey call.
// bind=none is the same loop unbound, all records sharing one data key.
func BenchmarkBindRecords(b *testing.B) {
	ctx := context.Background()
	p := benchdata.Get(b, "small")
	at := bytes.Index(p.Doc, []byte(`"id":1,`))
	if at < 0 {
		b.Fatal(`small.json has no "id":1`)
	}
	for _, bind := range []struct {
		name string
		opts []datamask.CallOption
	}{
		{"none", nil},
		{"record", []datamask.CallOption{datamask.ContextFrom("id", "$.id")}},
	} {
		b.Run("bind="+bind.name, func(b *testing.B) {
			m := benchMasker(b, esdk.AES256GCMHKDFSHA512CommitKey)
			opts := append([]datamask.CallOption{datamask.Fields(p.Fields...)}, bind.opts...)
			doc := make([]byte, 0, len(p.Doc)+20)
			i := 0
			b.ReportAllocs()
			for b.Loop() {
				i++
				doc = append(doc[:0], p.Doc[:at]...)
				doc = append(doc, `"id":`...)
				doc = strconv.AppendInt(doc, int64(i), 10)
				doc = append(doc, p.Doc[at+len(`"id":1`):]...)
				if _, err := m.Encrypt(ctx, doc, opts...); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
