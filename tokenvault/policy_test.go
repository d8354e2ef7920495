package tokenvault_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/datamask/datamask/tokenvault"
)

func TestNewPolicyRefusals(t *testing.T) {
	for _, tc := range []struct {
		name string
		spec tokenvault.PolicySpec
		want string
	}{
		{"", tokenvault.PolicySpec{Format: "random"}, "1 to 64"},
		{"a b", tokenvault.PolicySpec{Format: "random"}, "only ASCII letters"},
		{"p", tokenvault.PolicySpec{}, "no format"},
		{"p", tokenvault.PolicySpec{Format: "fpe"}, `unknown format "fpe"`},
		{"p", tokenvault.PolicySpec{Format: "random", Bits: 64}, "bits 64"},
		{"p", tokenvault.PolicySpec{Format: "random", Bits: 130}, "bits 130"},
		{"p", tokenvault.PolicySpec{Format: "random", Prefix: "a prefix"}, "prefix"},
		{"p", tokenvault.PolicySpec{Format: "uuid", Prefix: "x"}, "only to the random format"},
		{"p", tokenvault.PolicySpec{Format: "random", Charset: "digits"}, "only to the preserve and ff1"},
		{"p", tokenvault.PolicySpec{Format: "preserve", Charset: "hex"}, `charset "hex"`},
		{"p", tokenvault.PolicySpec{Format: "preserve", KeepLast: -1}, "keep_first and keep_last"},
		{"p", tokenvault.PolicySpec{Format: "ff1", KeepFrom: "@"}, "keep_from"},
		{"p", tokenvault.PolicySpec{Format: "preserve", Luhn: "valid"}, "luhn applies only"},
		{"p", tokenvault.PolicySpec{Format: "preserve", Charset: "digits", Luhn: "yes"}, `luhn "yes"`},
		{"p", tokenvault.PolicySpec{Format: "ff1", Convergent: true}, "deterministic already"},
		{"p", tokenvault.PolicySpec{Format: "ff1", TTL: time.Hour}, "cannot expire"},
		{"p", tokenvault.PolicySpec{Format: "random", TTL: time.Millisecond}, "shorter than a second"},
	} {
		_, err := tokenvault.NewPolicy(tc.name, tc.spec)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("NewPolicy(%q, %+v) = %v, want an error saying %q", tc.name, tc.spec, err, tc.want)
		}
	}
}

func TestBuiltinPolicies(t *testing.T) {
	names := map[string]bool{}
	for _, p := range tokenvault.BuiltinPolicies() {
		names[p.Name()] = true
		if p.Spec().Convergent || p.Spec().TTL != 0 {
			t.Errorf("built-in %q is convergent or expires", p.Name())
		}
	}
	for _, n := range []string{"card", "ssn", "email", "opaque"} {
		if !names[n] {
			t.Errorf("no built-in policy %q", n)
		}
	}
}

func TestParsePolicies(t *testing.T) {
	ps, err := tokenvault.ParsePolicies([]byte(`{
		"customer": {"format": "random", "prefix": "cus_", "convergent": true, "ttl": "8760h"},
		"account":  {"format": "ff1", "charset": "digits"},
		"iban":     {"format": "preserve", "keep_first": 4}
	}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 3 || ps[0].Name() != "customer" || ps[1].Name() != "account" || ps[2].Name() != "iban" {
		t.Fatalf("ParsePolicies = %v", ps)
	}
	if s := ps[0].Spec(); s.Prefix != "cus_" || !s.Convergent || s.TTL != 8760*time.Hour || s.Bits != 128 {
		t.Errorf("customer = %+v", s)
	}
	if s := ps[2].Spec(); s.Charset != tokenvault.CharsetAlphanumeric || s.KeepFirst != 4 {
		t.Errorf("iban = %+v", s)
	}
	for _, tc := range []struct{ in, want string }{
		{``, "not a JSON object"},
		{`[]`, "not a JSON object"},
		{`{"a": {"format": "random"}} {}`, "data after"},
		{`{"a": {"format": "random"}, "a": {"format": "uuid"}}`, "given twice"},
		{`{"card": {"format": "random"}}`, "built-in"},
		{`{"a": {"format": "random", "colour": "red"}}`, `unknown field "colour"`},
		{`{"a": {"format": "random", "bits": "many"}}`, `field "bits"`},
		{`{"a": {"format": "random", "ttl": "a week"}}`, "not a duration"},
		{`{"a": {"format": "random", "ttl": "-1h"}}`, "not positive"},
		{`{"a": {"format": "random"}`, "unexpected end"},
		{`{"a": 1}`, `policy "a"`},
		{`{"bad name": {"format": "random"}}`, "only ASCII letters"},
		{`{"a": {"format": "ff1", "convergent": true}}`, `policy "a": ff1 tokens are deterministic`},
	} {
		_, err := tokenvault.ParsePolicies([]byte(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParsePolicies(%s) = %v, want an error saying %q", tc.in, err, tc.want)
		}
	}
}

// FuzzParsePolicies: no panic; a file that parses gives valid policies
// that parse again to the same specs; errors never quote string values
// beyond names and the offending option.
func FuzzParsePolicies(f *testing.F) {
	f.Add([]byte(`{"customer": {"format": "random", "prefix": "cus_", "convergent": true, "ttl": "8760h"}}`))
	f.Add([]byte(`{"a": {"format": "preserve", "charset": "digits", "keep_last": 4, "luhn": "invalid"}, "b": {"format": "uuid"}}`))
	f.Add([]byte(`{"e": {"format": "preserve", "keep_from": "@"}, "f": {"format": "ff1"}}`))
	f.Add([]byte(`{"a": {}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		ps, err := tokenvault.ParsePolicies(data)
		if err != nil {
			if ps != nil {
				t.Fatal("policies and an error")
			}
			return
		}
		obj := map[string]any{}
		for _, p := range ps {
			s := p.Spec()
			m := map[string]any{"format": s.Format, "prefix": s.Prefix, "bits": s.Bits, "charset": s.Charset,
				"keep_first": s.KeepFirst, "keep_last": s.KeepLast, "keep_from": s.KeepFrom, "luhn": s.Luhn, "convergent": s.Convergent}
			if s.TTL != 0 {
				m["ttl"] = s.TTL.String()
			}
			obj[p.Name()] = m
		}
		again, _ := json.Marshal(obj)
		ps2, err := tokenvault.ParsePolicies(again)
		if err != nil {
			t.Fatalf("re-parsing %s: %v", again, err)
		}
		if len(ps2) != len(ps) {
			t.Fatalf("%d policies, then %d", len(ps), len(ps2))
		}
		byName := map[string]tokenvault.PolicySpec{}
		for _, p := range ps2 {
			byName[p.Name()] = p.Spec()
		}
		for _, p := range ps {
			if byName[p.Name()] != p.Spec() {
				t.Fatalf("policy %q: %+v, then %+v", p.Name(), p.Spec(), byName[p.Name()])
			}
		}
	})
}

func TestErrorsIs(t *testing.T) {
	ve := &tokenvault.ValueError{Policy: "p", Reason: "r"}
	if !errors.Is(ve, tokenvault.ErrInvalidValue) || errors.Is(ve, tokenvault.ErrTampered) {
		t.Error("ValueError matches the wrong sentinels")
	}
}
