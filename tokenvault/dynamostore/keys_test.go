package dynamostore

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/datamask/datamask/tokenvault"
)

// FuzzKeys: a record's key survives its encoding as an item's keys (pk,
// sk, tok), whatever the tenant, policy and token; parseSK and
// parseCursor refuse what they did not write without panicking, and what
// they accept writes back byte for byte.
func FuzzKeys(f *testing.F) {
	f.Add("acme", "card", "tok_1")
	f.Add("", "", "vault-key-v1")
	f.Add("acme\x00card", "", "#h-not-a-hash")
	f.Add("12:ab", "3:", "")
	f.Fuzz(func(t *testing.T, tenant, policy, token string) {
		k := tokenvault.Key{Tenant: tenant, Policy: policy, Token: token}
		if checkKey(k) != nil {
			return // refused before any item is made
		}
		item := keyOf(k)
		if recordPK(k.Token) != k.Token {
			item[attrToken] = &types.AttributeValueMemberS{Value: k.Token}
		}
		got, ok := itemKey(item)
		if !ok || got != k {
			t.Fatalf("itemKey(keyOf(%q)) = %q, %v", k, got, ok)
		}
		for _, s := range []string{token, "r" + token, tenant} {
			if tn, p, ok := parseSK(s); ok && recordSK(tn, p) != s {
				t.Fatalf("parseSK(%q) = %q, %q, which writes back as %q", s, tn, p, recordSK(tn, p))
			}
			if c, err := parseCursor(s); err == nil {
				if back := makeCursor(c); back != s {
					t.Fatalf("parseCursor(%q) writes back as %q", s, back)
				}
			}
		}
	})
}
