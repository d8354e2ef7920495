package awskms_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go"

	"github.com/datamask/datamask/awskms"
	"github.com/datamask/datamask/esdk"
	"github.com/datamask/datamask/kmstest"
)

var suites = []esdk.Suite{esdk.AES256GCMHKDFSHA512CommitKey, esdk.AES256GCMHKDFSHA512CommitKeyECDSAP384}

var testContext = map[string]string{"tenant": "acme", "purpose": "awskms test", "é": "日本"}

func mustClient(t testing.TB) *esdk.Client {
	t.Helper()
	c, err := esdk.NewClient()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func mustKeyring(t testing.TB, client awskms.Client, arns []string, opts ...awskms.Option) *awskms.Keyring {
	t.Helper()
	k, err := awskms.NewKeyring(client, arns, opts...)
	if err != nil {
		t.Fatalf("NewKeyring(%v) = %v", arns, err)
	}
	return k
}

func mustCMM(t testing.TB, kr esdk.Keyring) *esdk.DefaultCMM {
	t.Helper()
	c, err := esdk.NewDefaultCMM(kr)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func encryptWith(t testing.TB, kr esdk.Keyring, suite esdk.Suite, pt []byte) []byte {
	t.Helper()
	msg, err := mustClient(t).Encrypt(context.Background(), pt, mustCMM(t, kr), esdk.WithSuite(suite), esdk.WithEncryptionContext(testContext))
	if err != nil {
		t.Fatalf("Encrypt() = %v", err)
	}
	return msg
}

func decryptWith(t testing.TB, kr esdk.Keyring, msg []byte) ([]byte, *esdk.Header, error) {
	t.Helper()
	return mustClient(t).Decrypt(context.Background(), msg, mustCMM(t, kr), esdk.WithExpectedContext(testContext))
}

// ops lists the operations of calls, in order.
func ops(calls []call) []string {
	var s []string
	for _, c := range calls {
		s = append(s, c.op+" "+c.keyID)
	}
	return s
}

// keyringCases run against every backend.
var keyringCases = []struct {
	name string
	run  func(t *testing.T, b *backend)
}{
	{"single-key", func(t *testing.T, b *backend) {
		k1 := b.createKey(t)
		for _, suite := range suites {
			c := b.newClient()
			kr := mustKeyring(t, c, []string{k1})
			pt := []byte("4111 1111 1111 1111")
			msg := encryptWith(t, kr, suite, pt)
			calls := c.take()
			if got := ops(calls); !slices.Equal(got, []string{"GenerateDataKey " + k1}) {
				t.Fatalf("encrypt calls = %q, want %q", got, []string{"GenerateDataKey " + k1})
			}
			wantEC := map[string]string{}
			for k, v := range testContext {
				wantEC[k] = v
			}
			got, h, err := decryptWith(t, kr, msg)
			if err != nil || !bytes.Equal(got, pt) {
				t.Fatalf("Decrypt() = %q, %v, want %q", got, err, pt)
			}
			if suite.Signing() {
				wantEC[esdk.PublicKeyContextKey] = h.EncryptionContext[esdk.PublicKeyContextKey]
			}
			if calls[0].numberOfBytes != 32 || !maps.Equal(calls[0].ec, wantEC) || calls[0].region != b.region {
				t.Errorf("GenerateDataKey(NumberOfBytes %d, context %v, region %q), want 32, the full context %v, %q",
					calls[0].numberOfBytes, calls[0].ec, calls[0].region, wantEC, b.region)
			}
			if len(h.EncryptedDataKeys) != 1 || h.EncryptedDataKeys[0].ProviderID != "aws-kms" || string(h.EncryptedDataKeys[0].ProviderInfo) != k1 {
				t.Errorf("encrypted data keys = %v, want one aws-kms key %s", h.EncryptedDataKeys, k1)
			}
			calls = c.take()
			if got := ops(calls); !slices.Equal(got, []string{"Decrypt " + k1}) {
				t.Errorf("decrypt calls = %q, want %q", got, []string{"Decrypt " + k1})
			}
			if !maps.Equal(calls[0].ec, wantEC) {
				t.Errorf("Decrypt context = %v, want %v", calls[0].ec, wantEC)
			}
		}
	}},

	{"several-keys", func(t *testing.T, b *backend) {
		k1, k2, k3 := b.createKey(t), b.createKey(t), b.createKey(t)
		c := b.newClient()
		kr := mustKeyring(t, c, []string{k1, k2, k3})
		pt := []byte("several keys")
		msg := encryptWith(t, kr, esdk.AES256GCMHKDFSHA512CommitKeyECDSAP384, pt)
		if got := ops(c.take()); !slices.Equal(got, []string{"GenerateDataKey " + k1, "Encrypt " + k2, "Encrypt " + k3}) {
			t.Fatalf("encrypt calls = %q, want %q", got, []string{"GenerateDataKey " + k1, "Encrypt " + k2, "Encrypt " + k3})
		}
		// Each key alone decrypts, with one KMS call for its own data key.
		for _, k := range []string{k1, k2, k3} {
			got, h, err := decryptWith(t, mustKeyring(t, c, []string{k}), msg)
			if err != nil || !bytes.Equal(got, pt) {
				t.Fatalf("Decrypt(only %s) = %q, %v, want %q", k, got, err, pt)
			}
			var infos []string
			for _, e := range h.EncryptedDataKeys {
				infos = append(infos, string(e.ProviderInfo))
			}
			if want := []string{k1, k2, k3}; !slices.Equal(infos, want) {
				t.Fatalf("encrypted data keys = %q, want %q", infos, want)
			}
			if got := ops(c.take()); !slices.Equal(got, []string{"Decrypt " + k}) {
				t.Errorf("Decrypt(only %s) calls = %q, want %q", k, got, []string{"Decrypt " + k})
			}
		}
		// A keyring with other keys first tries only the ones the message has.
		other := b.createKey(t)
		if _, _, err := decryptWith(t, mustKeyring(t, c, []string{other, k3}), msg); err != nil {
			t.Fatalf("Decrypt(other key, %s) = %v", k3, err)
		}
		if got := ops(c.take()); !slices.Equal(got, []string{"Decrypt " + k3}) {
			t.Errorf("Decrypt(other key, k3) calls = %q, want %q", got, []string{"Decrypt " + k3})
		}
	}},

	{"dbe-intermediate-key-wrapping", func(t *testing.T, b *backend) {
		// The DB-ESDK suites: every key calls GenerateDataKey for its own
		// intermediate key (as the material providers library's keyring
		// does), the data key is generated locally, and each key alone
		// decrypts, strict or discovery, with one Decrypt call.
		k1, k2 := b.createKey(t), b.createKey(t)
		ec := map[string]string{"aws-crypto-table-name": "T", "aws-crypto-partition-name": "pk", "aws-crypto-attr.pk": "AAFh"}
		var keys []string
		for k := range ec {
			keys = append(keys, k)
		}
		for _, suite := range []esdk.Suite{esdk.DBEAES256GCMCommitKeyHMACSHA384, esdk.DBEAES256GCMCommitKeyECDSAP384HMACSHA384} {
			c := b.newClient()
			m, err := mustCMM(t, mustKeyring(t, c, []string{k1, k2})).EncryptionMaterials(context.Background(), esdk.EncryptionMaterialsRequest{
				Suite: suite, EncryptionContext: ec, RequiredContextKeys: keys, CommitmentPolicy: esdk.RequireEncryptRequireDecrypt, PlaintextLength: 10,
			})
			if err != nil {
				t.Fatalf("EncryptionMaterials(%v) = %v", suite, err)
			}
			calls := c.take()
			if got, want := ops(calls), []string{"GenerateDataKey " + k1, "GenerateDataKey " + k2}; !slices.Equal(got, want) {
				t.Fatalf("encrypt calls = %q, want %q", got, want)
			}
			if !maps.Equal(calls[0].ec, m.EncryptionContext) || calls[0].numberOfBytes != 32 {
				t.Errorf("GenerateDataKey(context %v, %d bytes), want the full context %v, 32 bytes", calls[0].ec, calls[0].numberOfBytes, m.EncryptionContext)
			}
			macs := m.SymmetricSigningKeys()
			if len(m.EncryptedDataKeys) != 2 || len(macs) != 2 || bytes.Equal(macs[0], macs[1]) {
				t.Fatalf("%d encrypted data keys, %d symmetric keys, want 2 distinct", len(m.EncryptedDataKeys), len(macs))
			}
			stored := map[string]string{}
			if pub, ok := m.EncryptionContext[esdk.PublicKeyContextKey]; ok {
				stored[esdk.PublicKeyContextKey] = pub
			}
			req := esdk.DecryptionMaterialsRequest{Suite: suite, CommitmentPolicy: esdk.RequireEncryptRequireDecrypt,
				EncryptedDataKeys: m.EncryptedDataKeys, EncryptionContext: stored, ReproducedContext: ec}
			discovery, err := awskms.NewDiscoveryKeyring(c)
			if err != nil {
				t.Fatal(err)
			}
			for i, kr := range []esdk.Keyring{mustKeyring(t, c, []string{k1}), mustKeyring(t, c, []string{k2}), discovery} {
				dm, err := mustCMM(t, kr).DecryptionMaterials(context.Background(), req)
				if err != nil {
					t.Fatalf("keyring %d: DecryptionMaterials() = %v", i, err)
				}
				want := macs[min(i, 1)]
				if i == 2 {
					want = macs[0]
				}
				if !bytes.Equal(dm.DataKey(), m.DataKey()) || !bytes.Equal(dm.SymmetricSigningKey(), want) {
					t.Errorf("keyring %d: data key or symmetric signing key differ", i)
				}
				if n := len(c.take()); n != 1 {
					t.Errorf("keyring %d: %d KMS calls, want 1", i, n)
				}
			}
			// The KMS ciphertext is bound to the full context.
			req.ReproducedContext = map[string]string{"aws-crypto-table-name": "T", "aws-crypto-partition-name": "pk", "aws-crypto-attr.pk": "AAFi"}
			if _, err := mustCMM(t, mustKeyring(t, c, []string{k1})).DecryptionMaterials(context.Background(), req); !errors.Is(err, esdk.ErrNoDecryptKey) {
				t.Errorf("DecryptionMaterials(other context) = %v, want ErrNoDecryptKey", err)
			}
			c.take()
		}
	}},

	{"wrong-key", func(t *testing.T, b *backend) {
		k1, k2 := b.createKey(t), b.createKey(t)
		c := b.newClient()
		msg := encryptWith(t, mustKeyring(t, c, []string{k1}), esdk.AES256GCMHKDFSHA512CommitKey, []byte("x"))
		c.take()
		_, _, err := decryptWith(t, mustKeyring(t, c, []string{k2}), msg)
		var nk *esdk.NoDecryptKeyError
		if !errors.As(err, &nk) || !strings.Contains(err.Error(), k1) || !strings.Contains(err.Error(), k2) {
			t.Fatalf("Decrypt(wrong key) = %v, want a *NoDecryptKeyError naming both keys", err)
		}
		if calls := c.take(); len(calls) != 0 {
			t.Errorf("Decrypt(wrong key) made KMS calls %v, want none", ops(calls))
		}
	}},

	{"wrong-key-claimed", func(t *testing.T, b *backend) {
		// An encrypted data key that claims k2 but was made under k1 (a
		// forged header): KMS refuses to decrypt it with k2.
		k1, k2 := b.createKey(t), b.createKey(t)
		c := b.newClient()
		m := &esdk.EncryptionMaterials{Suite: esdk.AES256GCMHKDFSHA512CommitKey, EncryptionContext: testContext}
		if err := mustKeyring(t, c, []string{k1}).OnEncrypt(context.Background(), m); err != nil {
			t.Fatal(err)
		}
		forged := []esdk.EncryptedDataKey{{ProviderID: "aws-kms", ProviderInfo: []byte(k2), Ciphertext: m.EncryptedDataKeys[0].Ciphertext}}
		dm := &esdk.DecryptionMaterials{Suite: m.Suite, EncryptionContext: testContext}
		err := mustKeyring(t, c, []string{k2}).OnDecrypt(context.Background(), dm, forged)
		want := "IncorrectKeyException"
		if b.incorrectKeyAccessDenied {
			want = "AccessDeniedException"
		}
		var nk *esdk.NoDecryptKeyError
		var api smithy.APIError
		if !errors.As(err, &nk) || !errors.As(err, &api) || api.ErrorCode() != want || dm.DataKey() != nil {
			t.Fatalf("OnDecrypt(forged key ARN) = %v, want a *NoDecryptKeyError with %s", err, want)
		}
	}},

	{"wrong-context", func(t *testing.T, b *backend) {
		k1 := b.createKey(t)
		c := b.newClient()
		kr := mustKeyring(t, c, []string{k1})
		m := &esdk.EncryptionMaterials{Suite: esdk.AES256GCMHKDFSHA512CommitKey, EncryptionContext: testContext}
		if err := kr.OnEncrypt(context.Background(), m); err != nil {
			t.Fatal(err)
		}
		dm := &esdk.DecryptionMaterials{Suite: m.Suite, EncryptionContext: map[string]string{"tenant": "evil"}}
		err := kr.OnDecrypt(context.Background(), dm, m.EncryptedDataKeys)
		var invalid *types.InvalidCiphertextException
		if !errors.Is(err, esdk.ErrNoDecryptKey) || !errors.As(err, &invalid) {
			t.Fatalf("OnDecrypt(other context) = %v, want ErrNoDecryptKey with *types.InvalidCiphertextException", err)
		}
	}},

	{"disabled-key", func(t *testing.T, b *backend) {
		k1 := b.createKey(t)
		c := b.newClient()
		kr := mustKeyring(t, c, []string{k1})
		msg := encryptWith(t, kr, esdk.AES256GCMHKDFSHA512CommitKey, []byte("before"))
		b.disableKey(t, k1)
		_, _, decErr := decryptWith(t, kr, msg)
		_, encErr := mustClient(t).Encrypt(context.Background(), []byte("after"), mustCMM(t, kr))
		if b.disabledKeysUsable {
			t.Logf("%s: a disabled key still decrypts (%v) and encrypts (%v): moto_server's deviation from AWS KMS", b.name, decErr, encErr)
			if decErr != nil || encErr != nil {
				t.Errorf("%s: disabled key: decrypt %v, encrypt %v; want both to work as moto_server does", b.name, decErr, encErr)
			}
			return
		}
		var disabled *types.DisabledException
		var api smithy.APIError
		if !errors.Is(decErr, esdk.ErrNoDecryptKey) || !errors.As(decErr, &disabled) || !errors.As(decErr, &api) || api.ErrorCode() != "DisabledException" {
			t.Errorf("Decrypt(disabled key) = %v, want ErrNoDecryptKey with *types.DisabledException", decErr)
		}
		var ek *esdk.EncryptKeyError
		if !errors.As(encErr, &ek) || !errors.Is(encErr, esdk.ErrEncryptKey) || !errors.As(encErr, &disabled) {
			t.Errorf("Encrypt(disabled key) = %v, want *esdk.EncryptKeyError with *types.DisabledException", encErr)
		}
	}},

	{"unknown-key", func(t *testing.T, b *backend) {
		k := b.createKey(t)
		missing := k[:strings.LastIndex(k, "/")+1] + "00000000-0000-0000-0000-000000000000"
		_, err := mustClient(t).Encrypt(context.Background(), []byte("x"), mustCMM(t, mustKeyring(t, b.newClient(), []string{missing})))
		var notFound *types.NotFoundException
		if !errors.Is(err, esdk.ErrEncryptKey) || !errors.As(err, &notFound) || !strings.Contains(err.Error(), missing) {
			t.Errorf("Encrypt(unknown key) = %v, want ErrEncryptKey with *types.NotFoundException naming the key", err)
		}
		_, err = mustClient(t).Encrypt(context.Background(), []byte("x"), mustCMM(t, mustKeyring(t, b.newClient(), []string{k, missing})))
		if !errors.Is(err, esdk.ErrEncryptKey) || !errors.As(err, &notFound) {
			t.Errorf("Encrypt(known key, unknown key) = %v, want ErrEncryptKey with *types.NotFoundException", err)
		}
	}},

	{"grant-tokens", func(t *testing.T, b *backend) {
		k1, k2 := b.createKey(t), b.createKey(t)
		c := b.newClient()
		tokens := []string{"grant-token-one", "grant-token-two"}
		kr := mustKeyring(t, c, []string{k1, k2}, awskms.WithGrantTokens(tokens...))
		msg := encryptWith(t, kr, esdk.AES256GCMHKDFSHA512CommitKey, []byte("x"))
		if _, _, err := decryptWith(t, kr, msg); err != nil {
			t.Fatal(err)
		}
		dk, err := awskms.NewDiscoveryKeyring(c, awskms.WithGrantTokens(tokens...))
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := decryptWith(t, dk, msg); err != nil {
			t.Fatal(err)
		}
		calls := c.take()
		if len(calls) != 4 {
			t.Fatalf("calls = %v, want GenerateDataKey, Encrypt and 2 Decrypt", ops(calls))
		}
		for _, cl := range calls {
			if !slices.Equal(cl.grantTokens, tokens) {
				t.Errorf("%s sent grant tokens %q, want %q", cl.op, cl.grantTokens, tokens)
			}
		}
		if b.fake == nil {
			return
		}
		// The fake records what reached it over the wire (other tests
		// share it: keep the requests for this test's keys).
		var reqs []kmstest.Request
		for _, r := range b.fake.Requests() {
			if r.KeyID == k1 || r.KeyID == k2 {
				reqs = append(reqs, r)
			}
		}
		if len(reqs) != 4 {
			t.Fatalf("the fake saw %d requests for the test's keys, want 4", len(reqs))
		}
		for _, r := range reqs {
			if !slices.Equal(r.GrantTokens, tokens) {
				t.Errorf("the fake got %s with grant tokens %q, want %q", r.Op, r.GrantTokens, tokens)
			}
		}
	}},

	{"discovery", func(t *testing.T, b *backend) {
		k1, k2 := b.createKey(t), b.createKey(t)
		c := b.newClient()
		msg := encryptWith(t, mustKeyring(t, c, []string{k1, k2}), esdk.AES256GCMHKDFSHA512CommitKeyECDSAP384, []byte("discover me"))
		c.take()
		for _, tt := range []struct {
			name      string
			opts      []awskms.Option
			wantCalls []string
			wantErr   string
		}{
			{"no-filter", nil, []string{"Decrypt " + k1}, ""},
			{"filter", []awskms.Option{awskms.WithDiscoveryFilter(b.part, "999999999999", b.account)}, []string{"Decrypt " + k1}, ""},
			{"other-account", []awskms.Option{awskms.WithDiscoveryFilter(b.part, "999999999999")}, nil, "outside the discovery filter"},
			{"other-partition", []awskms.Option{awskms.WithDiscoveryFilter("aws-cn", b.account)}, nil, "outside the discovery filter"},
		} {
			dk, err := awskms.NewDiscoveryKeyring(c, tt.opts...)
			if err != nil {
				t.Fatal(err)
			}
			got, _, err := decryptWith(t, dk, msg)
			switch {
			case tt.wantErr == "" && (err != nil || string(got) != "discover me"):
				t.Errorf("%s: Decrypt() = %q, %v, want the plaintext", tt.name, got, err)
			case tt.wantErr != "" && (!errors.Is(err, esdk.ErrNoDecryptKey) || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("%s: Decrypt() = %v, want ErrNoDecryptKey saying %q", tt.name, err, tt.wantErr)
			}
			if got := ops(c.take()); !slices.Equal(got, tt.wantCalls) {
				t.Errorf("%s: calls = %q, want %q", tt.name, got, tt.wantCalls)
			}
		}
		// A discovery keyring never encrypts.
		dk, _ := awskms.NewDiscoveryKeyring(c)
		if _, err := mustClient(t).Encrypt(context.Background(), []byte("x"), mustCMM(t, dk)); err == nil || !strings.Contains(err.Error(), "only decrypts") {
			t.Errorf("Encrypt(discovery keyring) = %v, want an error saying it only decrypts", err)
		}
	}},

	{"discovery-disabled-first-key", func(t *testing.T, b *backend) {
		// The first key fails; the discovery keyring goes on to the next
		// and keeps the first failure among the causes it would report.
		k1, k2 := b.createKey(t), b.createKey(t)
		c := b.newClient()
		msg := encryptWith(t, mustKeyring(t, c, []string{k1, k2}), esdk.AES256GCMHKDFSHA512CommitKey, []byte("x"))
		b.disableKey(t, k1)
		c.take()
		dk, _ := awskms.NewDiscoveryKeyring(c)
		if _, _, err := decryptWith(t, dk, msg); err != nil {
			t.Fatalf("Decrypt(first key disabled) = %v", err)
		}
		want := []string{"Decrypt " + k1, "Decrypt " + k2}
		if b.disabledKeysUsable {
			want = want[:1]
		}
		if got := ops(c.take()); !slices.Equal(got, want) {
			t.Errorf("calls = %q, want %q", got, want)
		}
	}},

	{"region-from-arn", func(t *testing.T, b *backend) {
		// A client configured for another Region still reaches the key:
		// each call is made in the Region of the key's ARN.
		k1 := b.createKey(t)
		c := &countingClient{next: newSDKClient(b.url, "ap-southeast-2")}
		msg := encryptWith(t, mustKeyring(t, c, []string{k1}), esdk.AES256GCMHKDFSHA512CommitKey, []byte("x"))
		if _, _, err := decryptWith(t, mustKeyring(t, c, []string{k1}), msg); err != nil {
			t.Fatalf("Decrypt() through a client of another Region = %v", err)
		}
		for _, cl := range c.take() {
			if cl.region != b.region {
				t.Errorf("%s made in Region %q, want the key's %q", cl.op, cl.region, b.region)
			}
		}
	}},

	{"child-of-multi-keyring", func(t *testing.T, b *backend) {
		// Under a multi-keyring whose generator is a raw AES keyring, the
		// KMS keyring only encrypts the data key it is given, with every
		// one of its keys.
		k1, k2 := b.createKey(t), b.createKey(t)
		c := b.newClient()
		aes, err := esdk.NewRawAESKeyring("awskms-test", "local", bytes.Repeat([]byte{5}, 32))
		if err != nil {
			t.Fatal(err)
		}
		multi, err := esdk.NewMultiKeyring(aes, mustKeyring(t, c, []string{k1, k2}))
		if err != nil {
			t.Fatal(err)
		}
		msg := encryptWith(t, multi, esdk.AES256GCMHKDFSHA512CommitKeyECDSAP384, []byte("multi"))
		if got, want := ops(c.take()), []string{"Encrypt " + k1, "Encrypt " + k2}; !slices.Equal(got, want) {
			t.Fatalf("encrypt calls = %q, want %q", got, want)
		}
		for _, kr := range []esdk.Keyring{aes, mustKeyring(t, c, []string{k2})} {
			if got, _, err := decryptWith(t, kr, msg); err != nil || string(got) != "multi" {
				t.Errorf("Decrypt(%v) = %q, %v, want multi", kr, got, err)
			}
		}
	}},

	{"cancelled", func(t *testing.T, b *backend) {
		k1 := b.createKey(t)
		c := b.newClient()
		kr := mustKeyring(t, c, []string{k1})
		msg := encryptWith(t, kr, esdk.AES256GCMHKDFSHA512CommitKey, []byte("x"))
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := mustClient(t).Encrypt(ctx, []byte("x"), mustCMM(t, kr))
		if !errors.Is(err, context.Canceled) || errors.Is(err, esdk.ErrEncryptKey) {
			t.Errorf("Encrypt(cancelled ctx) = %v, want context.Canceled and no key error", err)
		}
		_, _, err = mustClient(t).Decrypt(ctx, msg, mustCMM(t, kr))
		if !errors.Is(err, context.Canceled) || errors.Is(err, esdk.ErrNoDecryptKey) {
			t.Errorf("Decrypt(cancelled ctx) = %v, want context.Canceled and no key error", err)
		}
	}},
}

// TestKeyring runs every keyring case against the fake KMS and moto_server.
func TestKeyring(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			for _, tc := range keyringCases {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					tc.run(t, b)
				})
			}
		})
	}
}

// TestKeyringFaults injects faults the fake can and moto_server cannot:
// throttling (the SDK's retryer is kept), KMS errors and latency past a
// deadline.
func TestKeyringFaults(t *testing.T) {
	srv := kmstest.Start(t)
	b := &backend{name: "fake", url: srv.URL(), region: srv.Region()}
	k1 := srv.CreateKey()
	c := b.newClient()
	kr := mustKeyring(t, c, []string{k1})
	msg := encryptWith(t, kr, esdk.AES256GCMHKDFSHA512CommitKey, []byte("x"))

	t.Run("throttled-once", func(t *testing.T) {
		srv.Throttle(kmstest.OpGenerateDataKey, 1)
		srv.Throttle(kmstest.OpDecrypt, 2)
		defer srv.ResetFaults()
		srv.ResetCalls()
		if _, err := mustClient(t).Encrypt(context.Background(), []byte("x"), mustCMM(t, kr)); err != nil {
			t.Fatalf("Encrypt(throttled once) = %v, want the SDK's retry to succeed", err)
		}
		if _, _, err := mustClient(t).Decrypt(context.Background(), msg, mustCMM(t, kr)); err != nil {
			t.Fatalf("Decrypt(throttled twice) = %v, want the SDK's retries to succeed", err)
		}
		if g, d := srv.Calls(kmstest.OpGenerateDataKey), srv.Calls(kmstest.OpDecrypt); g != 2 || d != 3 {
			t.Errorf("the fake served %d GenerateDataKey and %d Decrypt, want 2 and 3 (retries)", g, d)
		}
	})

	t.Run("throttled-always", func(t *testing.T) {
		srv.Throttle(kmstest.OpGenerateDataKey, 100)
		srv.Throttle(kmstest.OpDecrypt, 100)
		defer srv.ResetFaults()
		_, err := mustClient(t).Encrypt(context.Background(), []byte("x"), mustCMM(t, kr))
		var api smithy.APIError
		if !errors.Is(err, esdk.ErrEncryptKey) || !errors.As(err, &api) || api.ErrorCode() != "ThrottlingException" {
			t.Errorf("Encrypt(throttled) = %v, want ErrEncryptKey with ThrottlingException", err)
		}
		_, _, err = mustClient(t).Decrypt(context.Background(), msg, mustCMM(t, kr))
		if !errors.Is(err, esdk.ErrNoDecryptKey) || !errors.As(err, &api) || api.ErrorCode() != "ThrottlingException" {
			t.Errorf("Decrypt(throttled) = %v, want ErrNoDecryptKey with ThrottlingException", err)
		}
	})

	t.Run("internal-error", func(t *testing.T) {
		srv.FailNext(kmstest.OpEncrypt, 10, kmstest.Fault{Type: "KMSInvalidStateException", Status: 400, Message: "pending import"})
		defer srv.ResetFaults()
		k2 := srv.CreateKey()
		_, err := mustClient(t).Encrypt(context.Background(), []byte("x"), mustCMM(t, mustKeyring(t, c, []string{k1, k2})))
		var state *types.KMSInvalidStateException
		if !errors.Is(err, esdk.ErrEncryptKey) || !errors.As(err, &state) || !strings.Contains(err.Error(), k2) {
			t.Errorf("Encrypt(second key failing) = %v, want ErrEncryptKey with *types.KMSInvalidStateException naming %s", err, k2)
		}
	})

	t.Run("deadline", func(t *testing.T) {
		srv.SetLatency(time.Second)
		defer srv.SetLatency(0)
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, _, err := mustClient(t).Decrypt(ctx, msg, mustCMM(t, kr))
		if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, esdk.ErrNoDecryptKey) {
			t.Errorf("Decrypt(past the deadline) = %v, want context.DeadlineExceeded", err)
		}
		if d := time.Since(start); d > 900*time.Millisecond {
			t.Errorf("Decrypt(past the deadline) took %v, want it to stop at the deadline", d)
		}
	})
}

// lyingClient is a KMS client that answers for another key or with a data
// key of the wrong length.
type lyingClient struct {
	awskms.Client
	keyID     *string // if not nil, the KeyId of every answer
	extraByte bool    // append a byte to every plaintext

	mu   sync.Mutex
	seen [][]byte // the data keys KMS returned
}

func (l *lyingClient) GenerateDataKey(ctx context.Context, in *kms.GenerateDataKeyInput, optFns ...func(*kms.Options)) (*kms.GenerateDataKeyOutput, error) {
	out, err := l.Client.GenerateDataKey(ctx, in, optFns...)
	if err == nil {
		l.lie(&out.KeyId, &out.Plaintext)
	}
	return out, err
}

func (l *lyingClient) Encrypt(ctx context.Context, in *kms.EncryptInput, optFns ...func(*kms.Options)) (*kms.EncryptOutput, error) {
	out, err := l.Client.Encrypt(ctx, in, optFns...)
	if err == nil {
		l.lie(&out.KeyId, nil)
	}
	return out, err
}

func (l *lyingClient) Decrypt(ctx context.Context, in *kms.DecryptInput, optFns ...func(*kms.Options)) (*kms.DecryptOutput, error) {
	out, err := l.Client.Decrypt(ctx, in, optFns...)
	if err == nil {
		l.lie(&out.KeyId, &out.Plaintext)
	}
	return out, err
}

func (l *lyingClient) lie(keyID **string, plaintext *[]byte) {
	if plaintext != nil {
		l.mu.Lock()
		l.seen = append(l.seen, bytes.Clone(*plaintext))
		l.mu.Unlock()
	}
	if l.keyID != nil {
		*keyID = l.keyID
	}
	if l.extraByte && plaintext != nil {
		*plaintext = append(*plaintext, 0)
	}
}

// checkNoKeyInError fails t if err's text shows a data key l handed out.
func (l *lyingClient) checkNoKeyInError(t *testing.T, err error) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.seen) == 0 {
		t.Fatal("the client saw no data key")
	}
	for _, k := range l.seen {
		for _, form := range []string{string(k), hex.EncodeToString(k), base64.StdEncoding.EncodeToString(k), fmt.Sprint(k), fmt.Sprintf("%x", k)} {
			if strings.Contains(err.Error(), form) {
				t.Errorf("error %q shows a data key", err)
			}
		}
	}
}

// TestKeyringChecksResponses plugs in a client that lies and checks that
// the keyring refuses each lie.
func TestKeyringChecksResponses(t *testing.T) {
	srv := kmstest.Start(t)
	k1, k2 := srv.CreateKey(), srv.CreateKey()
	honest := newSDKClient(srv.URL(), srv.Region())
	msg := encryptWith(t, mustKeyring(t, honest, []string{k1, k2}), esdk.AES256GCMHKDFSHA512CommitKey, []byte("x"))
	other := "arn:aws:kms:us-east-1:111122223333:key/other"
	for _, tt := range []struct {
		name string
		liar *lyingClient
		keys []string
		want string
	}{
		{"generate-other-key", &lyingClient{Client: honest, keyID: &other}, []string{k1}, "GenerateDataKey with key " + k1 + " answered for key"},
		{"generate-alias", &lyingClient{Client: honest, keyID: ptr("alias/x")}, []string{k1}, "answered for key \"alias/x\""},
		{"generate-short-key", &lyingClient{Client: honest, extraByte: true}, []string{k1}, "returned a 33-byte data key, want 32"},
		{"encrypt-other-key", &lyingClient{Client: honest, keyID: &other}, []string{k1, k2}, "answered for key"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.name == "encrypt-other-key" {
				// Lie only to Encrypt: generate honestly first.
				tt.liar = &lyingClient{Client: encryptOnlyLiar{honest, other}}
			}
			_, err := mustClient(t).Encrypt(context.Background(), []byte("x"), mustCMM(t, mustKeyring(t, tt.liar, tt.keys)))
			if !errors.Is(err, esdk.ErrEncryptKey) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Encrypt() = %v, want ErrEncryptKey saying %q", err, tt.want)
			}
			tt.liar.checkNoKeyInError(t, err)
		})
	}
	for _, tt := range []struct {
		name string
		liar *lyingClient
		want string
	}{
		{"decrypt-other-key", &lyingClient{Client: honest, keyID: &other}, "answered for key"},
		{"decrypt-long-key", &lyingClient{Client: honest, extraByte: true}, "returned a 33-byte data key, want 32"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := decryptWith(t, mustKeyring(t, tt.liar, []string{k1, k2}), msg)
			var nk *esdk.NoDecryptKeyError
			if !errors.As(err, &nk) || len(nk.Errors) != 2 || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Decrypt() = %v, want a *NoDecryptKeyError with 2 causes saying %q", err, tt.want)
			}
			tt.liar.checkNoKeyInError(t, err)
		})
	}
}

func ptr(s string) *string { return &s }

// encryptOnlyLiar answers Encrypt for another key.
type encryptOnlyLiar struct {
	awskms.Client
	keyID string
}

func (e encryptOnlyLiar) Encrypt(ctx context.Context, in *kms.EncryptInput, optFns ...func(*kms.Options)) (*kms.EncryptOutput, error) {
	out, err := e.Client.Encrypt(ctx, in, optFns...)
	if err == nil {
		out.KeyId = &e.keyID
	}
	return out, err
}

// TestForeignEncryptedDataKeys checks which encrypted data keys the
// keyrings try: other providers are skipped, and an aws-kms key whose
// provider info is not a key ARN fails without any KMS call.
func TestForeignEncryptedDataKeys(t *testing.T) {
	srv := kmstest.Start(t)
	k1 := srv.CreateKey()
	c := &countingClient{next: newSDKClient(srv.URL(), srv.Region())}
	m := &esdk.EncryptionMaterials{Suite: esdk.AES256GCMHKDFSHA512CommitKey}
	if err := mustKeyring(t, c, []string{k1}).OnEncrypt(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	good := m.EncryptedDataKeys[0]
	dk, _ := awskms.NewDiscoveryKeyring(c)
	for _, tt := range []struct {
		name      string
		edks      []esdk.EncryptedDataKey
		wantCalls int
		wantErr   string
	}{
		{"raw-then-kms", []esdk.EncryptedDataKey{{ProviderID: "raw", ProviderInfo: []byte(k1), Ciphertext: []byte{1}}, good}, 1, ""},
		{"alias-arn", []esdk.EncryptedDataKey{{ProviderID: "aws-kms", ProviderInfo: []byte("arn:aws:kms:us-east-1:111122223333:alias/a"), Ciphertext: []byte{1}}, good}, 0, "not a KMS key ARN"},
		{"garbage-info", []esdk.EncryptedDataKey{{ProviderID: "aws-kms", ProviderInfo: []byte{0xff, 0}, Ciphertext: []byte{1}}, good}, 0, "encrypted data key 1"},
		{"none", []esdk.EncryptedDataKey{{ProviderID: "raw", ProviderInfo: []byte("x"), Ciphertext: []byte{1}}}, 0, "no AWS KMS encrypted data key"},
	} {
		for _, kr := range []esdk.Keyring{mustKeyring(t, c, []string{k1}), dk} {
			t.Run(fmt.Sprintf("%s/%T", tt.name, kr), func(t *testing.T) {
				c.take()
				dm := &esdk.DecryptionMaterials{Suite: m.Suite}
				err := kr.OnDecrypt(context.Background(), dm, tt.edks)
				if tt.wantErr == "" && (err != nil || !bytes.Equal(dm.DataKey(), m.DataKey())) {
					t.Errorf("OnDecrypt() = %v, want the data key", err)
				}
				if tt.wantErr != "" && (!errors.Is(err, esdk.ErrNoDecryptKey) || !strings.Contains(err.Error(), tt.wantErr)) {
					t.Errorf("OnDecrypt() = %v, want ErrNoDecryptKey saying %q", err, tt.wantErr)
				}
				if n := len(c.take()); n != tt.wantCalls {
					t.Errorf("OnDecrypt() made %d KMS calls, want %d", n, tt.wantCalls)
				}
			})
		}
	}
	// Materials that already hold a data key are left alone.
	dm := &esdk.DecryptionMaterials{Suite: m.Suite}
	if err := dm.SetDataKey(m.DataKey()); err != nil {
		t.Fatal(err)
	}
	if err := mustKeyring(t, c, []string{k1}).OnDecrypt(context.Background(), dm, []esdk.EncryptedDataKey{good}); err != nil || len(c.take()) != 0 {
		t.Errorf("OnDecrypt(materials with a data key) = %v, want nil without KMS calls", err)
	}
}

// noCallClient fails the test on any KMS call.
type noCallClient struct {
	awskms.Client
	t *testing.T
}

func (c noCallClient) Decrypt(context.Context, *kms.DecryptInput, ...func(*kms.Options)) (*kms.DecryptOutput, error) {
	c.t.Error("unexpected KMS Decrypt call")
	return nil, errors.New("unexpected call")
}

// TestMessageARNsQuotedInErrors checks that key ARNs read from a message,
// which its writer chooses, appear quoted in errors: a forged "ARN" with a
// line break cannot start a line of its own in a log.
func TestMessageARNsQuotedInErrors(t *testing.T) {
	const forged = "arn:aws:kms:us-east-1:222233334444:key/k\nlevel=ERROR msg=forged"
	edks := []esdk.EncryptedDataKey{{ProviderID: awskms.ProviderID, ProviderInfo: []byte(forged), Ciphertext: []byte{1}}}
	client := noCallClient{t: t}
	strict := mustKeyring(t, client, []string{"arn:aws:kms:us-east-1:111122223333:key/mine"})
	discovery, err := awskms.NewDiscoveryKeyring(client, awskms.WithDiscoveryFilter("aws", "111122223333"))
	if err != nil {
		t.Fatal(err)
	}
	for _, kr := range []esdk.Keyring{strict, discovery} {
		t.Run(fmt.Sprintf("%T", kr), func(t *testing.T) {
			dm := &esdk.DecryptionMaterials{Suite: esdk.AES256GCMHKDFSHA512CommitKey}
			err := kr.OnDecrypt(context.Background(), dm, edks)
			if !errors.Is(err, esdk.ErrNoDecryptKey) || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), fmt.Sprintf("%q", forged)) {
				t.Errorf("OnDecrypt(forged ARN) = %v, want ErrNoDecryptKey quoting the ARN", err)
			}
		})
	}
}
