package interop

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/datamask/datamask/awskms"
	"github.com/datamask/datamask/esdk"
	"github.com/datamask/datamask/kmstest"
)

// newKMSClient returns an aws-sdk-go-v2 KMS client for the fake, with the
// SDK's default retryer.
func newKMSClient(srv *kmstest.Server) *kms.Client {
	return kms.New(kms.Options{
		Region:       srv.Region(),
		BaseEndpoint: aws.String(srv.URL()),
		Credentials:  credentials.NewStaticCredentialsProvider(kmstest.AccessKeyID, kmstest.SecretAccessKey, ""),
	})
}

func oursKMS(t testing.TB, client awskms.Client, keyARNs ...string) *ours {
	t.Helper()
	kr, err := awskms.NewKeyring(client, keyARNs)
	if err != nil {
		t.Fatalf("awskms.NewKeyring(%v) = %v", keyARNs, err)
	}
	return newOurs(t, kr)
}

func oursKMSDiscovery(t testing.TB, client awskms.Client, srv *kmstest.Server) *ours {
	t.Helper()
	kr, err := awskms.NewDiscoveryKeyring(client, awskms.WithDiscoveryFilter(srv.Partition(), srv.Account()))
	if err != nil {
		t.Fatalf("awskms.NewDiscoveryKeyring() = %v", err)
	}
	return newOurs(t, kr)
}

// kmsCases are the messages carried through KMS keyrings: both suites,
// empty and multi-frame UTF-8 plaintexts, ASCII and non-ASCII contexts.
func kmsCases() []interopCase {
	var cases []interopCase
	for _, suite := range []uint16{suite0478, suite0578} {
		for _, ec := range contexts[1:3] {
			for _, pt := range []struct {
				name string
				b    []byte
			}{{"empty", []byte{}}, {"utf8text", utf8Text}} {
				cases = append(cases, interopCase{
					name:  fmt.Sprintf("suite=%04x/pt=%s/ec=%s", suite, pt.name, ec.name),
					suite: suite, frame: 512, plaintext: pt.b, ec: ec.ec,
				})
			}
		}
	}
	return cases
}

// checkKMSEDKs checks that a message carries one aws-kms encrypted data key
// per key, in order, named by its ARN.
func checkKMSEDKs(t *testing.T, who string, got []JSEncryptedDataKey, keys []string) {
	t.Helper()
	if len(got) != len(keys) {
		t.Fatalf("%s: %d encrypted data keys, want %d", who, len(got), len(keys))
	}
	for i, k := range keys {
		if got[i].ProviderID != "aws-kms" || got[i].ProviderInfo != k {
			t.Errorf("%s: encrypted data key %d = %q/%q, want aws-kms/%q", who, i, got[i].ProviderID, got[i].ProviderInfo, k)
		}
	}
}

// TestKMSInteropJS carries messages both ways between datamask's KMS
// keyring and the JS ESDK's KmsKeyringNode, both talking to the same fake
// KMS: under one key and under two keys (decrypted with either alone and
// with discovery keyrings), both suites, and counts the KMS calls each side
// makes.
func TestKMSInteropJS(t *testing.T) {
	js := StartJS(t, JSOptions{})
	srv := kmstest.Start(t)
	k1, k2 := srv.CreateKey(), srv.CreateKey()
	client := newKMSClient(srv)
	ctx := context.Background()
	jsDiscovery := JSKMSDiscovery(srv.URL(), &JSDiscoveryFilter{Partition: srv.Partition(), AccountIDs: []string{srv.Account()}})

	for _, keys := range [][]string{{k1}, {k1, k2}} {
		for _, c := range kmsCases() {
			name := fmt.Sprintf("keys=%d/%s", len(keys), c.name)
			t.Run("datamask-to-js/"+name, func(t *testing.T) {
				t.Parallel()
				msg, err := oursKMS(t, client, keys...).encrypt(ctx, c)
				if err != nil {
					t.Fatalf("datamask Encrypt(KMS %v) = %v", keys, err)
				}
				readers := []struct {
					name string
					k    JSKeyring
				}{{"discovery", jsDiscovery}}
				for _, k := range keys {
					readers = append(readers, struct {
						name string
						k    JSKeyring
					}{"only " + k, JSKMS(srv.URL(), k)})
				}
				for _, r := range readers {
					pt, hdr, err := js.Decrypt(ctx, r.k, msg, JSDecryptOptions{})
					if err != nil {
						t.Fatalf("JS Decrypt(%s) = %v", r.name, err)
					}
					checkPlaintext(t, "JS "+r.name, pt, c.plaintext)
					checkJSHeader(t, "JS Decrypt "+r.name, hdr, c)
					checkKMSEDKs(t, "JS Decrypt "+r.name, hdr.EncryptedDataKeys, keys)
				}
			})

			t.Run("js-to-datamask/"+name, func(t *testing.T) {
				t.Parallel()
				msg, hdr, err := js.Encrypt(ctx, JSKMS(srv.URL(), keys[0], keys[1:]...), c.plaintext,
					JSEncryptOptions{Suite: c.suite, FrameLength: c.frame, EncryptionContext: c.ec})
				if err != nil {
					t.Fatalf("JS Encrypt(KMS %v) = %v", keys, err)
				}
				checkJSHeader(t, "JS Encrypt", hdr, c)
				checkKMSEDKs(t, "JS Encrypt", hdr.EncryptedDataKeys, keys)
				oursKMSDiscovery(t, client, srv).decryptAndCheck(t, ctx, msg, c)
				for _, k := range keys {
					oursKMS(t, client, k).decryptAndCheck(t, ctx, msg, c)
				}
			})
		}
	}
}

// TestKMSInteropJSCalls counts KMS calls on both sides: for the same work
// the JS ESDK's keyring and datamask's make the same calls (one
// GenerateDataKey plus one Encrypt per extra key to encrypt, one Decrypt to
// decrypt). The JS SDK writes each message under its own data key, so
// datamask's caching manager spends one Decrypt per JS message and nothing
// on repeats.
func TestKMSInteropJSCalls(t *testing.T) {
	js := StartJS(t, JSOptions{})
	srv := kmstest.Start(t)
	k1, k2 := srv.CreateKey(), srv.CreateKey()
	client := newKMSClient(srv)
	ctx := context.Background()
	c := interopCase{suite: suite0478, frame: 4096, plaintext: []byte("123-45-6789"), ec: contexts[1].ec}

	calls := func() string {
		defer srv.ResetCalls()
		return fmt.Sprintf("GenerateDataKey %d, Encrypt %d, Decrypt %d",
			srv.Calls(kmstest.OpGenerateDataKey), srv.Calls(kmstest.OpEncrypt), srv.Calls(kmstest.OpDecrypt))
	}
	srv.ResetCalls()
	jsMsg, _, err := js.Encrypt(ctx, JSKMS(srv.URL(), k1, k2), c.plaintext, JSEncryptOptions{Suite: c.suite, EncryptionContext: c.ec})
	if err != nil {
		t.Fatal(err)
	}
	jsCalls := calls()
	dmMsg, err := oursKMS(t, client, k1, k2).encrypt(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if dmCalls := calls(); dmCalls != jsCalls || dmCalls != "GenerateDataKey 1, Encrypt 1, Decrypt 0" {
		t.Errorf("encrypt under two keys: datamask made %s, JS made %s; want GenerateDataKey 1, Encrypt 1 each", dmCalls, jsCalls)
	}
	if _, _, err := js.Decrypt(ctx, JSKMS(srv.URL(), k2), dmMsg, JSDecryptOptions{}); err != nil {
		t.Fatal(err)
	}
	jsCalls = calls()
	reader := oursKMS(t, client, k2)
	if _, _, err := reader.client.Decrypt(ctx, jsMsg, reader.cmm); err != nil {
		t.Fatal(err)
	}
	if dmCalls := calls(); dmCalls != jsCalls || dmCalls != "GenerateDataKey 0, Encrypt 0, Decrypt 1" {
		t.Errorf("decrypt with the second key: datamask made %s, JS made %s; want Decrypt 1 each", dmCalls, jsCalls)
	}

	kr, err := awskms.NewKeyring(client, []string{k1})
	if err != nil {
		t.Fatal(err)
	}
	def, err := esdk.NewDefaultCMM(kr)
	if err != nil {
		t.Fatal(err)
	}
	cache, err := esdk.NewCachingCMM(def)
	if err != nil {
		t.Fatal(err)
	}
	dm, _ := esdk.NewClient()
	var jsMsgs [][]byte
	for range 3 {
		m, _, err := js.Encrypt(ctx, JSKMS(srv.URL(), k1), c.plaintext, JSEncryptOptions{Suite: c.suite, EncryptionContext: c.ec})
		if err != nil {
			t.Fatal(err)
		}
		jsMsgs = append(jsMsgs, m)
	}
	srv.ResetCalls()
	for range 10 {
		for _, m := range jsMsgs {
			pt, _, err := dm.Decrypt(ctx, m, cache, esdk.WithExpectedContext(c.ec))
			if err != nil || string(pt) != string(c.plaintext) {
				t.Fatalf("datamask Decrypt(JS message) through the cache = %q, %v", pt, err)
			}
		}
	}
	if got := calls(); got != "GenerateDataKey 0, Encrypt 0, Decrypt 3" {
		t.Errorf("10 rounds of 3 JS messages through the cache: %s, want Decrypt 3", got)
	}
}

// TestKMSInteropOfficial carries messages both ways between datamask's KMS
// keyring and the official Go ESDK's AWS KMS keyring (its client pointed at
// the same fake KMS with BaseEndpoint).
func TestKMSInteropOfficial(t *testing.T) {
	off := newOfficial(t)
	srv := kmstest.Start(t)
	k1, k2 := srv.CreateKey(), srv.CreateKey()
	client := newKMSClient(srv)
	ctx := context.Background()
	offKR := func(keys ...string) OfficialKeyring {
		t.Helper()
		var krs []OfficialKeyring
		for _, k := range keys {
			kr, err := off.KMSKeyring(ctx, client, k)
			if err != nil {
				t.Fatal(err)
			}
			krs = append(krs, kr)
		}
		if len(krs) == 1 {
			return krs[0]
		}
		kr, err := off.MultiKeyring(ctx, krs[0], krs[1:]...)
		if err != nil {
			t.Fatal(err)
		}
		return kr
	}

	for _, keys := range [][]string{{k1}, {k1, k2}} {
		for _, c := range kmsCases() {
			name := fmt.Sprintf("keys=%d/%s", len(keys), c.name)
			t.Run("datamask-to-official/"+name, func(t *testing.T) {
				t.Parallel()
				msg, err := oursKMS(t, client, keys...).encrypt(ctx, c)
				if err != nil {
					t.Fatalf("datamask Encrypt(KMS %v) = %v", keys, err)
				}
				for _, k := range keys {
					got, err := off.Decrypt(ctx, offKR(k), msg, c.ec)
					if err != nil {
						t.Fatalf("official Decrypt(only %s) = %v", k, err)
					}
					checkOfficial(t, got, c)
				}
			})
			t.Run("official-to-datamask/"+name, func(t *testing.T) {
				t.Parallel()
				msg, err := off.Encrypt(ctx, offKR(keys...), c.plaintext, OfficialEncryptOptions{Suite: c.suite, FrameLength: int64(c.frame), EncryptionContext: c.ec})
				if err != nil {
					t.Fatalf("official Encrypt(KMS %v) = %v", keys, err)
				}
				if got := strings.Count(string(msg), "aws-kms"); got != len(keys) {
					t.Errorf("official message names aws-kms %d times, want %d", got, len(keys))
				}
				oursKMSDiscovery(t, client, srv).decryptAndCheck(t, ctx, msg, c)
				for _, k := range keys {
					oursKMS(t, client, k).decryptAndCheck(t, ctx, msg, c)
				}
			})
		}
	}
}
