package legacy_test

import "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

// Items shared by the tamper, fuzz and peer tests.

// richItem has every attribute type, names whose UTF-16 and UTF-8 orders
// differ, numbers in forms that normalize, and nesting; signed-only (s_),
// encrypted (e_ and the default) and unsigned (u_) attributes.
func richItem(pk, sk types.AttributeValue, pkName, skName string) map[string]types.AttributeValue {
	s := func(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
	n := func(v string) types.AttributeValue { return &types.AttributeValueMemberN{Value: v} }
	nested := &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
		"level2": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
			"n": n("768.80"), "t": &types.AttributeValueMemberBOOL{Value: true}, "z": &types.AttributeValueMemberNULL{Value: true},
			"ss": &types.AttributeValueMemberSS{Value: []string{"😀 b", "\uff61a", "a"}},
			"l":  &types.AttributeValueMemberL{Value: []types.AttributeValue{n("-3"), s(""), &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{}}}},
		}},
		"\uff61": s("halfwidth"), "😀": s("emoji"), "k": &types.AttributeValueMemberB{Value: []byte{0, 1, 2}},
	}}
	item := map[string]types.AttributeValue{
		pkName:          pk,
		"e_s":           s("4111 1111 1111 1111"),
		"e_s_unicode":   s("naïve 文字 😀"),
		"e_s_empty":     s(""),
		"e_n":           n("1.50"),
		"e_n_exp":       n("6E+9"),
		"e_n_small":     n("-0.00012300"),
		"e_n_28":        n("7922769748929676301510341635"),
		"e_b":           &types.AttributeValueMemberB{Value: []byte{0xff, 0, 0x80}},
		"e_b_empty":     &types.AttributeValueMemberB{Value: []byte{}},
		"e_bool":        &types.AttributeValueMemberBOOL{Value: false},
		"e_null":        &types.AttributeValueMemberNULL{Value: true},
		"e_ss":          &types.AttributeValueMemberSS{Value: []string{"zeta", "\uff61", "😀", "alpha"}},
		"e_ns":          &types.AttributeValueMemberNS{Value: []string{"10", "9.50", "-1", "1E+2"}},
		"e_bs":          &types.AttributeValueMemberBS{Value: [][]byte{{2}, {1, 0}, {}}},
		"e_l":           &types.AttributeValueMemberL{Value: []types.AttributeValue{s("x"), n("2.0"), nested}},
		"e_m":           nested,
		"\uff61name":    s("encrypted by default, name sorts after 😀 in UTF-16"),
		"😀name":         s("encrypted by default"),
		"s_s":           s("signed only"),
		"s_n":           n("2.50"),
		"s_ss":          &types.AttributeValueMemberSS{Value: []string{"b", "a", "c"}},
		"s_ns":          &types.AttributeValueMemberNS{Value: []string{"3", "1.0", "2"}},
		"s_m":           &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"b": n("1"), "a": s("2")}},
		"u_s":           s("not signed"),
		"u_n":           n("5.000"),
		"version":       n("1"),
		"e_n_big_exp":   n("9.9E+99"),
		"e_n_small_exp": n("1.5E-100"),
	}
	if skName != "" {
		item[skName] = sk
	}
	return item
}

func richActions() map[string]string {
	return map[string]string{
		"s_s": "SIGN_ONLY", "s_n": "SIGN_ONLY", "s_ss": "SIGN_ONLY", "s_ns": "SIGN_ONLY", "s_m": "SIGN_ONLY", "version": "SIGN_ONLY",
		"u_s": "DO_NOTHING", "u_n": "DO_NOTHING",
	}
}

func simpleItem(pk, sk types.AttributeValue, pkName, skName, secret string) map[string]types.AttributeValue {
	item := map[string]types.AttributeValue{
		pkName:   pk,
		"secret": &types.AttributeValueMemberS{Value: secret},
		"s_s":    &types.AttributeValueMemberS{Value: "tag"},
		"u_s":    &types.AttributeValueMemberS{Value: "free"},
	}
	if skName != "" {
		item[skName] = sk
	}
	return item
}
