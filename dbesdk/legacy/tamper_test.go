package legacy_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"maps"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/datamask/datamask/dbesdk/legacy"
	"github.com/datamask/datamask/kmstest"
)

// tamperSetup is an encryptor under one provider.
type tamperSetup struct {
	name string
	cfg  legacy.Config
	p    legacy.Provider
	srv  *kmstest.Server // Direct KMS only
}

func tamperSetups(t *testing.T) []tamperSetup {
	t.Helper()
	cfg := legacy.Config{Table: "TamperTable", PartitionKey: "pk", SortKey: "sk", DefaultAction: legacy.EncryptAndSign, Actions: map[string]legacy.Action{}}
	for name, a := range richActions() {
		cfg.Actions[name], _ = legacy.ParseAction(a)
	}
	rnd := func(n int) []byte {
		b := make([]byte, n)
		rand.Read(b)
		return b
	}
	aesWrap, _ := legacy.NewAESWrappingKey(rnd(32))
	hmacKey, _ := legacy.NewHMACSigningKey(rnd(32))
	wrapRSA, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	signRSA, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	rsaWrap, _ := legacy.NewRSAWrappingKey(&wrapRSA.PublicKey, wrapRSA)
	rsaSign, _ := legacy.NewRSASigningKey(signRSA, nil)
	wrapped, _ := legacy.NewWrappedProvider(aesWrap, hmacKey)
	wrappedRSA, _ := legacy.NewWrappedProvider(rsaWrap, rsaSign)
	static, _ := legacy.NewStaticProvider(rnd(32), hmacKey)
	srv := kmstest.Start(t)
	direct, err := legacy.NewDirectKMSProvider(newKMSClient(srv), srv.CreateKey())
	if err != nil {
		t.Fatal(err)
	}
	return []tamperSetup{
		{"wrapped-aes", cfg, wrapped, nil},
		{"wrapped-rsa", cfg, wrappedRSA, nil},
		{"static", cfg, static, nil},
		{"direct-kms", cfg, direct, srv},
	}
}

// TestTamper changes encrypted items one way at a time. Every byte of the
// signature and of each encrypted attribute flipped, each truncated or
// extended; each signed attribute changed (in value or type), removed, or
// swapped with another item's; an attribute added; the signature or
// material description taken from another item; the table name or an
// action changed on read: all fail with the same ErrDecrypt. Changing an
// unsigned (DO_NOTHING) attribute is tolerated, and a change to the
// material description, which is not signed, either fails or decrypts to
// exactly the original item.
func TestTamper(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, ts := range tamperSetups(t) {
		t.Run(ts.name, func(t *testing.T) {
			t.Parallel()
			enc, err := legacy.New(ts.cfg, ts.p)
			if err != nil {
				t.Fatal(err)
			}
			sk := &types.AttributeValueMemberN{Value: "7"}
			plain := richItem(&types.AttributeValueMemberS{Value: "user#1"}, sk, "pk", "sk")
			ct, err := enc.EncryptItem(ctx, plain)
			if err != nil {
				t.Fatal(err)
			}
			want, err := enc.DecryptItem(ctx, ct)
			if err != nil {
				t.Fatal(err)
			}
			other, err := enc.EncryptItem(ctx, simpleItem(&types.AttributeValueMemberS{Value: "user#1"}, sk, "pk", "sk", "other secret"))
			if err != nil {
				t.Fatal(err)
			}
			otherRich, err := enc.EncryptItem(ctx, richItem(&types.AttributeValueMemberS{Value: "user#1"}, sk, "pk", "sk"))
			if err != nil {
				t.Fatal(err)
			}
			_, refErr := enc.DecryptItem(ctx, with(ct, legacy.SignatureAttribute, nil))
			if !errors.Is(refErr, legacy.ErrDecrypt) {
				t.Fatalf("no signature: DecryptItem() = %v, want ErrDecrypt", refErr)
			}
			n := 0
			fails := func(what string, item map[string]types.AttributeValue) {
				t.Helper()
				n++
				got, err := enc.DecryptItem(ctx, item)
				if err == nil || got != nil {
					t.Fatalf("%s: DecryptItem() succeeded", what)
				}
				if !errors.Is(err, legacy.ErrDecrypt) {
					t.Fatalf("%s: DecryptItem() = %v, want ErrDecrypt", what, err)
				}
				// The text names the key values; with them unchanged it is the
				// same whatever failed.
				if item["pk"] == ct["pk"] && item["sk"] == ct["sk"] && err.Error() != refErr.Error() {
					t.Fatalf("%s: DecryptItem() = %v, want the one error %q", what, err, refErr)
				}
			}

			// Every byte of the signature and of each encrypted attribute.
			binaries := []string{legacy.SignatureAttribute}
			for name := range ct {
				if a, named := ts.cfg.Actions[name]; (!named || a == legacy.EncryptAndSign) && name != "pk" && name != "sk" && !isReservedName(name) {
					binaries = append(binaries, name) // encrypted
				}
			}
			slices.Sort(binaries)
			for _, name := range binaries {
				b := ct[name].(*types.AttributeValueMemberB).Value
				for i := range b {
					flipped := slices.Clone(b)
					flipped[i] ^= 0x01
					fails(name+" byte flipped", with(ct, name, &types.AttributeValueMemberB{Value: flipped}))
				}
				fails(name+" truncated", with(ct, name, &types.AttributeValueMemberB{Value: b[:len(b)-1]}))
				fails(name+" extended", with(ct, name, &types.AttributeValueMemberB{Value: append(slices.Clone(b), 0)}))
				fails(name+" empty", with(ct, name, &types.AttributeValueMemberB{Value: []byte{}}))
				fails(name+" as a string", with(ct, name, &types.AttributeValueMemberS{Value: string(b)}))
				if name != legacy.SignatureAttribute {
					fails(name+" from another item", with(ct, name, otherRich[name]))
					swap := "e_s"
					if name == swap {
						swap = "e_s_unicode"
					}
					fails(name+" swapped with "+swap, with(ct, name, ct[swap]))
				}
			}
			// Each signed attribute changed, re-typed, removed.
			for name, av := range ct {
				if isReservedName(name) || ts.cfg.Actions[name] == legacy.DoNothing {
					continue
				}
				fails(name+" removed", with(ct, name, nil))
				fails(name+" changed", with(ct, name, changed(av)))
				if s, ok := av.(*types.AttributeValueMemberS); ok {
					fails(name+" re-typed", with(ct, name, &types.AttributeValueMemberB{Value: []byte(s.Value)}))
				}
				if n, ok := av.(*types.AttributeValueMemberN); ok {
					fails(name+" re-typed", with(ct, name, &types.AttributeValueMemberS{Value: n.Value}))
				}
			}
			fails("attribute added (encrypted by default)", with(ct, "added", &types.AttributeValueMemberB{Value: ct["e_s"].(*types.AttributeValueMemberB).Value}))
			fails("signature from another item", with(ct, legacy.SignatureAttribute, other[legacy.SignatureAttribute]))
			fails("signature and material description from another item",
				with(with(ct, legacy.SignatureAttribute, other[legacy.SignatureAttribute]), legacy.MaterialDescriptionAttribute, other[legacy.MaterialDescriptionAttribute]))
			if _, static := ts.p.(*legacy.StaticProvider); !static {
				fails("material description from another item", with(ct, legacy.MaterialDescriptionAttribute, other[legacy.MaterialDescriptionAttribute]))
				fails("material description removed", with(ct, legacy.MaterialDescriptionAttribute, nil))
			}

			// The configuration on read.
			for _, edit := range []struct {
				what string
				fn   func(*legacy.Config)
			}{
				{"another table name", func(c *legacy.Config) { c.Table = "TamperTable2" }},
				{"SIGN_ONLY read as ENCRYPT_AND_SIGN", func(c *legacy.Config) { c.Actions["s_s"] = legacy.EncryptAndSign }},
				{"ENCRYPT_AND_SIGN read as SIGN_ONLY", func(c *legacy.Config) { c.Actions["e_s"] = legacy.SignOnly }},
				{"signed read as DO_NOTHING", func(c *legacy.Config) { c.Actions["s_n"] = legacy.DoNothing }},
				{"DO_NOTHING read as signed", func(c *legacy.Config) { c.Actions["u_s"] = legacy.SignOnly }},
			} {
				cfg := ts.cfg
				cfg.Actions = maps.Clone(cfg.Actions)
				edit.fn(&cfg)
				reader, err := legacy.New(cfg, ts.p)
				if err != nil {
					t.Fatal(err)
				}
				if got, err := reader.DecryptItem(ctx, ct); err == nil || !errors.Is(err, legacy.ErrDecrypt) {
					t.Errorf("%s: DecryptItem() = %v, %v; want ErrDecrypt", edit.what, itemJSON(got), err)
				}
			}

			// Unsigned attributes may change.
			tolerated := with(with(ct, "u_s", &types.AttributeValueMemberS{Value: "changed"}), "u_n", nil)
			got, err := enc.DecryptItem(ctx, tolerated)
			if err != nil || itemJSON(got) != itemJSON(with(with(want, "u_s", &types.AttributeValueMemberS{Value: "changed"}), "u_n", nil)) {
				t.Errorf("DO_NOTHING attributes changed: DecryptItem() = %v, %v", itemJSON(got), err)
			}

			// The material description is not signed: any byte flip fails or
			// changes nothing.
			md := ct[legacy.MaterialDescriptionAttribute].(*types.AttributeValueMemberB).Value
			harmless := 0
			for i := range md {
				flipped := slices.Clone(md)
				flipped[i] ^= 0x01
				got, err := enc.DecryptItem(ctx, with(ct, legacy.MaterialDescriptionAttribute, &types.AttributeValueMemberB{Value: flipped}))
				switch {
				case err == nil && itemJSON(got) == itemJSON(want):
					harmless++
				case err == nil:
					t.Fatalf("material description byte %d flipped: DecryptItem() = %s, a different item", i, itemJSON(got))
				case !errors.Is(err, legacy.ErrDecrypt) || err.Error() != refErr.Error():
					t.Fatalf("material description byte %d flipped: DecryptItem() = %v, want the one error", i, err)
				}
			}
			t.Logf("%d changes refused; of %d material description byte flips, %d change nothing that matters", n, len(md), harmless)
		})
	}
}

func isReservedName(name string) bool {
	return name == legacy.SignatureAttribute || name == legacy.MaterialDescriptionAttribute
}

// with returns a copy of item with name set to av, or removed if av is nil.
func with(item map[string]types.AttributeValue, name string, av types.AttributeValue) map[string]types.AttributeValue {
	out := maps.Clone(item)
	if av == nil {
		delete(out, name)
	} else {
		out[name] = av
	}
	return out
}

// changed returns a different value of the same type.
func changed(av types.AttributeValue) types.AttributeValue {
	switch v := av.(type) {
	case *types.AttributeValueMemberS:
		return &types.AttributeValueMemberS{Value: v.Value + "x"}
	case *types.AttributeValueMemberN:
		return &types.AttributeValueMemberN{Value: v.Value + "1"}
	case *types.AttributeValueMemberB:
		return &types.AttributeValueMemberB{Value: append(bytes.Clone(v.Value), 1)}
	case *types.AttributeValueMemberSS:
		return &types.AttributeValueMemberSS{Value: append(slices.Clone(v.Value), "x")}
	case *types.AttributeValueMemberNS:
		return &types.AttributeValueMemberNS{Value: append(slices.Clone(v.Value), "12345")}
	case *types.AttributeValueMemberM:
		m := maps.Clone(v.Value)
		m["x"] = &types.AttributeValueMemberNULL{Value: true}
		return &types.AttributeValueMemberM{Value: m}
	case *types.AttributeValueMemberL:
		return &types.AttributeValueMemberL{Value: append(slices.Clone(v.Value), &types.AttributeValueMemberNULL{Value: true})}
	case *types.AttributeValueMemberBOOL:
		return &types.AttributeValueMemberBOOL{Value: !v.Value}
	}
	return &types.AttributeValueMemberS{Value: "changed"}
}
