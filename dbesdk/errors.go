package dbesdk

import (
	"encoding/base64"
	"errors"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Errors of EncryptItem and DecryptItem, always inside an [*ItemError].
// Match them with errors.Is; key errors of the keyrings
// (esdk.ErrNoDecryptKey, esdk.ErrEncryptKey, AWS errors) stay reachable
// with errors.Is and errors.As too.
var (
	// ErrInvalidItem is the one error for an item that is malformed or
	// fails verification: a changed, added or removed signed attribute, a
	// changed byte of the header, the footer or an encrypted attribute, a
	// header or footer taken from another item, another table or key. On
	// purpose it does not say which check failed.
	ErrInvalidItem = errors.New("invalid or tampered item")

	// ErrLegacyItem is returned by DecryptItem for an item in the legacy
	// DynamoDB Encryption Client format when the item encryptor has no
	// LegacyOverride, or one whose policy forbids legacy items.
	ErrLegacyItem = errors.New("the item is in the legacy DynamoDB Encryption Client format " +
		"(it has the attributes *amzn-ddb-map-desc* and *amzn-ddb-map-sig*): configure TableConfig.Legacy to read it")

	// ErrPlaintextItem is returned by DecryptItem for an item without the
	// aws_dbe_head and aws_dbe_foot attributes: it was never encrypted (or
	// they were removed).
	ErrPlaintextItem = errors.New("the item is not encrypted: it has no aws_dbe_head and aws_dbe_foot attributes")
)

// ItemError is the error of EncryptItem and DecryptItem for one item. It
// names the logical table and the item's key values, which the DB-ESDK
// signs but never encrypts (they are the item's identity, not secrets),
// and never any other attribute value. Err is the cause: [ErrInvalidItem],
// [ErrLegacyItem], [ErrPlaintextItem], a keyring's error, or a description
// of what is wrong with the item (an attribute without an action, a value
// DynamoDB cannot hold), which names attributes but not their values.
type ItemError struct {
	// Op is "encrypt" or "decrypt".
	Op string
	// Table is the logical table name.
	Table string
	// Key holds the partition key and, if configured, the sort key, as
	// "name=TYPE:value" (strings quoted, binary in base64, long values
	// cut), in that order; a missing key is "name missing".
	Key []string
	Err error
}

func (e *ItemError) Error() string {
	var b strings.Builder
	b.WriteString("dbesdk: cannot ")
	b.WriteString(e.Op)
	b.WriteString(" item (table ")
	b.WriteString(strconv.Quote(e.Table))
	for _, k := range e.Key {
		b.WriteString(", ")
		b.WriteString(k)
	}
	b.WriteString("): ")
	if e.Err != nil {
		b.WriteString(strings.TrimPrefix(e.Err.Error(), "esdk: "))
	}
	return b.String()
}

// Unwrap returns the cause.
func (e *ItemError) Unwrap() error { return e.Err }

// maxKeyText bounds how much of a key value an error shows.
const maxKeyText = 64

// describeKey returns "name=TYPE:value" for a key attribute of item.
func describeKey(item map[string]types.AttributeValue, name string) string {
	av, ok := item[name]
	if !ok {
		return name + " missing"
	}
	var typ, val string
	switch v := av.(type) {
	case *types.AttributeValueMemberS:
		typ, val = "S", strconv.Quote(cut(v.Value))
	case *types.AttributeValueMemberN:
		typ, val = "N", strconv.Quote(cut(v.Value))
	case *types.AttributeValueMemberB:
		b := v.Value
		if len(b) > maxKeyText {
			b = b[:maxKeyText]
		}
		typ, val = "B", base64.StdEncoding.EncodeToString(b)
		if len(b) < len(v.Value) {
			val += "..."
		}
	default:
		// Keys are S, N or B in DynamoDB; anything else is not shown.
		typ, val = "?", "(not a key type)"
	}
	return strconv.Quote(name) + "=" + typ + ":" + val
}

func cut(s string) string {
	if len(s) <= maxKeyText {
		return s
	}
	i := maxKeyText
	for i > 0 && !utf8RuneStart(s[i]) {
		i--
	}
	return s[:i] + "..."
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }

// itemError returns the ItemError of op on item.
func (e *ItemEncryptor) itemError(op string, item map[string]types.AttributeValue, err error) error {
	ie := &ItemError{Op: op, Table: e.cfg.table, Err: err}
	ie.Key = append(ie.Key, describeKey(item, e.cfg.partitionKey))
	if e.cfg.sortKey != "" {
		ie.Key = append(ie.Key, describeKey(item, e.cfg.sortKey))
	}
	return ie
}

// invalid returns ErrInvalidItem. reason documents, at the call site,
// which check failed; it is deliberately not part of the error.
func invalid(reason string) error {
	_ = reason
	return ErrInvalidItem
}
