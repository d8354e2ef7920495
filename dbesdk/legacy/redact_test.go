package legacy_test

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/datamask/datamask/dbesdk/legacy"
	"github.com/datamask/datamask/kmstest"
)

// No format of a key, provider or encryptor shows key material.
func TestNoKeyInFormats(t *testing.T) {
	t.Parallel()
	secret := bytes.Repeat([]byte{0xa7}, 32)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	hmacKey, _ := legacy.NewHMACSigningKey(secret)
	aesWrap, _ := legacy.NewAESWrappingKey(secret)
	rsaWrap, _ := legacy.NewRSAWrappingKey(&rsaKey.PublicKey, rsaKey)
	rsaSign, _ := legacy.NewRSASigningKey(rsaKey, nil)
	wrapped, _ := legacy.NewWrappedProvider(aesWrap, hmacKey)
	static, _ := legacy.NewStaticProvider(secret, rsaSign)
	srv := kmstest.Start(t)
	direct, _ := legacy.NewDirectKMSProvider(newKMSClient(srv), srv.CreateKey())
	enc, err := legacy.New(legacy.Config{Table: "T", PartitionKey: "pk", DefaultAction: legacy.EncryptAndSign}, wrapped)
	if err != nil {
		t.Fatal(err)
	}
	forbidden := []string{
		string(secret), hex.EncodeToString(secret), base64.StdEncoding.EncodeToString(secret), "a7a7", "167 167",
		rsaKey.D.String(), rsaKey.Primes[0].String(), rsaKey.N.String()[:20], fmt.Sprintf("%x", rsaKey.D.Bytes()[:8]),
	}
	for _, v := range []any{hmacKey, aesWrap, rsaWrap, rsaSign, wrapped, static, direct, enc} {
		var logged bytes.Buffer
		slog.New(slog.NewTextHandler(&logged, nil)).Info("x", "v", v)
		for _, out := range []string{
			fmt.Sprint(v), fmt.Sprintf("%v|%+v|%#v|%s|%x|%X|%q|%d", v, v, v, v, v, v, v, v), logged.String(),
		} {
			for _, f := range forbidden {
				if strings.Contains(out, f) {
					t.Errorf("%T formats as %q, which shows key material", v, out)
				}
			}
		}
	}
	if s := fmt.Sprint(enc); !strings.Contains(s, `table "T"`) || !strings.Contains(s, "AESWrap") {
		t.Errorf("Encryptor.String() = %q, want the table and algorithms", s)
	}
}
