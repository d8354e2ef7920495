package datamask_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/datamask/datamask"
	"github.com/datamask/datamask/internal/benchdata"
	"github.com/datamask/datamask/tokenvault"
)

// BenchmarkTokenizeFields tokenizes and detokenizes fields of large.json
// (2,000 customers) through the real vault on the embedded store (one
// bbolt file, fsynced on every commit), local key, data key cache on:
//
//   - ssn: the 2,000 "$.customers[*].ssn" values, policy ssn;
//   - fields: the fields of fields.json (card_number, ssn, every street,
//     every email: about 9,970 values), policies card, ssn, opaque and
//     email.
//
// VaultOnly is the floor: the same ssn values given straight to
// Vault.TokenizeBatch and DetokenizeBatch in batches of 1,000, one after
// the other, with no JSON; the difference is what the pipeline costs or
// saves (its batches go several at once, and the store commits them
// together). values/s counts values tokenized or detokenized.
func BenchmarkTokenizeFields(b *testing.B) {
	ctx := context.Background()
	p := benchdata.Get(b, "large")
	policyOf := map[string]string{
		"$.customers[*].card_number":       tokenvault.PolicyCard,
		"$.customers[*].ssn":               tokenvault.PolicySSN,
		"$.customers[*].address[*].street": tokenvault.PolicyOpaque,
		"$..email":                         tokenvault.PolicyEmail,
	}
	fieldsOpts := []datamask.CallOption{datamask.Tenant("acme")}
	for _, f := range p.Fields {
		fieldsOpts = append(fieldsOpts, datamask.TokenFields(policyOf[f], f))
	}
	for _, bm := range []struct {
		name string
		opts []datamask.CallOption
	}{
		{"ssn", []datamask.CallOption{datamask.Tenant("acme"), datamask.TokenFields(tokenvault.PolicySSN, "$.customers[*].ssn")}},
		{"fields", fieldsOpts},
	} {
		v := openTokenVault(b)
		m := newTokenMasker(b, v)
		tok, err := m.Tokenize(ctx, p.Doc, bm.opts...)
		if err != nil {
			b.Fatal(err)
		}
		n := countTokenized(b, p.Doc, bm.opts)
		b.Run(bm.name+"/Tokenize", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(p.Doc)))
			for b.Loop() {
				if _, err := m.Tokenize(ctx, p.Doc, bm.opts...); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n), "values/op")
			b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "values/s")
		})
		b.Run(bm.name+"/Detokenize", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(tok)))
			for b.Loop() {
				if _, err := m.Detokenize(ctx, tok, bm.opts...); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n), "values/op")
			b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "values/s")
		})
	}

	// The floor: the vault alone, on the 2,000 ssn values.
	v := openTokenVault(b)
	ssns := ssnValues(b, p.Doc)
	tokens := make([]string, 0, len(ssns))
	for lo := 0; lo < len(ssns); lo += tokenvault.MaxBatch {
		t, _, err := v.TokenizeBatch(ctx, "acme", tokenvault.PolicySSN, ssns[lo:min(lo+tokenvault.MaxBatch, len(ssns))])
		if err != nil {
			b.Fatal(err)
		}
		tokens = append(tokens, t...)
	}
	for _, op := range []string{"Tokenize", "Detokenize"} {
		b.Run("ssn/VaultOnly"+op, func(b *testing.B) {
			in, call := ssns, v.TokenizeBatch
			if op == "Detokenize" {
				in, call = tokens, v.DetokenizeBatch
			}
			b.ReportAllocs()
			for b.Loop() {
				for lo := 0; lo < len(in); lo += tokenvault.MaxBatch {
					_, errs, err := call(ctx, "acme", tokenvault.PolicySSN, in[lo:min(lo+tokenvault.MaxBatch, len(in))])
					if err != nil || errs[0] != nil {
						b.Fatal(err, errs[0])
					}
				}
			}
			b.ReportMetric(float64(len(in)), "values/op")
			b.ReportMetric(float64(b.N*len(in))/b.Elapsed().Seconds(), "values/s")
		})
	}
}

// countTokenized returns how many values opts tokenize in doc.
func countTokenized(b *testing.B, doc []byte, opts []datamask.CallOption) int {
	b.Helper()
	v := newMemVault()
	if _, err := newTokenMasker(b, v).Tokenize(context.Background(), doc, opts...); err != nil {
		b.Fatal(err)
	}
	n := 0
	for _, k := range v.sizes {
		n += k
	}
	return n
}

// ssnValues returns the ssn of every customer of doc.
func ssnValues(b *testing.B, doc []byte) []string {
	b.Helper()
	var d struct {
		Customers []struct {
			SSN string `json:"ssn"`
		} `json:"customers"`
	}
	if err := json.Unmarshal(doc, &d); err != nil {
		b.Fatal(err)
	}
	out := make([]string, len(d.Customers))
	for i, c := range d.Customers {
		out[i] = c.SSN
	}
	return out
}
