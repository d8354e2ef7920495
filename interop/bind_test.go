package interop

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"maps"
	"testing"

	"github.com/datamask/datamask"
	"github.com/datamask/datamask/esdk"
)

// TestBoundFieldsReadByPeers: values that datamask binds to their field
// (BindFields) and record (ContextFrom) are ordinary messages whose header
// holds the binding pairs in the clear. The JS ESDK reads them and shows
// the pairs; the official Go ESDK, which checks only the pairs it is given,
// reads them given the caller's pair alone and refuses them given another
// field's binding. (Powertools, which requires exactly the message's pairs,
// needs the binding pairs too: DataMasker without BindFields stands for it
// in TestFieldPlaceBinding of the root package.)
func TestBoundFieldsReadByPeers(t *testing.T) {
	ctx := context.Background()
	kr, err := esdk.NewRawAESKeyring(keyNamespace, aesKeyName, aesKey)
	if err != nil {
		t.Fatal(err)
	}
	p, err := datamask.NewESDKProvider(kr, datamask.WithSuite(esdk.AES256GCMHKDFSHA512CommitKey))
	if err != nil {
		t.Fatal(err)
	}
	m, err := datamask.New(datamask.WithProvider(p))
	if err != nil {
		t.Fatal(err)
	}
	doc := []byte(`{"id": "u-7", "ssn": "123-45-6789", "role": "admin"}`)
	caller := map[string]string{"tenant": "acme"}
	enc, err := m.Encrypt(ctx, doc, datamask.Fields("ssn", "$.role"), datamask.BindFields(),
		datamask.ContextFrom("user", "$.id"), datamask.EncryptionContext(caller))
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]string
	if err := json.Unmarshal(enc, &v); err != nil {
		t.Fatal(err)
	}
	js := StartJS(t, JSOptions{})
	off := newOfficial(t)
	offKR, err := off.RawAESKeyring(ctx, keyNamespace, aesKeyName, aesKey)
	if err != nil {
		t.Fatal(err)
	}
	for field, want := range map[string]string{"ssn": `"123-45-6789"`, "role": `"admin"`} {
		msg, err := base64.StdEncoding.DecodeString(v[field])
		if err != nil {
			t.Fatal(err)
		}
		canon, err := datamask.CanonicalExpression(field)
		if err != nil {
			t.Fatal(err)
		}
		pairs := map[string]string{"tenant": "acme", "user": "u-7", datamask.FieldContextKey: canon}

		pt, hdr, err := js.Decrypt(ctx, JSRawAES(keyNamespace, aesKeyName, aesKey), msg, JSDecryptOptions{})
		if err != nil || string(pt) != want {
			t.Fatalf("JS Decrypt(%s) = %s, %v; want %s", field, pt, err, want)
		}
		if !maps.Equal(hdr.EncryptionContext, pairs) {
			t.Errorf("JS header context of %s = %q, want %q", field, hdr.EncryptionContext, pairs)
		}

		got, err := off.Decrypt(ctx, offKR, msg, caller)
		if err != nil || string(got.Plaintext) != want || !maps.Equal(got.EncryptionContext, pairs) {
			t.Errorf("official Decrypt(%s, the caller's pair) = %+v, %v; want %s under %q", field, got, err, want, pairs)
		}
		other := maps.Clone(pairs)
		other[datamask.FieldContextKey] = `$["elsewhere"]`
		if got, err := off.Decrypt(ctx, offKR, msg, other); err == nil {
			t.Errorf("official Decrypt(%s, another field's binding) = %s, want an error", field, got.Plaintext)
		}
	}
}
