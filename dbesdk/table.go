package dbesdk

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go/middleware"
)

// EncryptedTables maps DynamoDB table names to the item encryptors of
// those tables, for [WithEncryption]. Build it with [NewEncryptedTables];
// it is immutable and safe for concurrent use.
type EncryptedTables struct {
	tables map[string]*tableEncryption
}

// tableEncryption is one configured table.
type tableEncryption struct {
	name string // the DynamoDB table name
	enc  *ItemEncryptor
	// required are the attributes a read must return for the item to be
	// verified: the header, the footer and every attribute the
	// configuration may sign, sorted. With a legacy override it is nil:
	// legacy items may sign attributes the configuration does not name,
	// so reads of such tables fetch whole items.
	required []string
}

// NewEncryptedTables returns the table encryption of [WithEncryption]:
// tables maps each DynamoDB table name (as requests name it; a table ARN
// in a request is matched by its name) to the item encryptor of its items,
// whose logical table name may differ (after a restore under another
// name, for instance). Tables not in the map pass through untouched.
func NewEncryptedTables(tables map[string]*ItemEncryptor) (*EncryptedTables, error) {
	if len(tables) == 0 {
		return nil, configErrorf("NewEncryptedTables: no table: map each DynamoDB table name to its item encryptor")
	}
	t := &EncryptedTables{tables: make(map[string]*tableEncryption, len(tables))}
	for _, name := range slices.Sorted(maps.Keys(tables)) {
		enc := tables[name]
		switch {
		case !validTableName(name):
			return nil, configErrorf("NewEncryptedTables: %q is not a DynamoDB table name (3 to 255 characters of a-z, A-Z, 0-9, '_', '-' and '.')", name)
		case enc == nil:
			return nil, configErrorf("NewEncryptedTables: table %q has a nil item encryptor", name)
		}
		te := &tableEncryption{name: name, enc: enc}
		if enc.cfg.legacy == nil {
			te.required = []string{HeaderName, FooterName}
			for attr, a := range enc.cfg.actions {
				if a != DoNothing {
					te.required = append(te.required, attr)
				}
			}
			slices.Sort(te.required)
		}
		t.tables[name] = te
	}
	return t, nil
}

func validTableName(name string) bool {
	if len(name) < 3 || len(name) > 255 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// lookup returns the configuration of the table a request names (by name
// or by ARN), or nil.
func (t *EncryptedTables) lookup(name *string) *tableEncryption {
	if name == nil {
		return nil
	}
	n := *name
	if strings.HasPrefix(n, "arn:") {
		if _, rest, ok := strings.Cut(n, ":table/"); ok {
			n, _, _ = strings.Cut(rest, "/")
		}
	}
	return t.tables[n]
}

// String lists the tables and their item encryptors; it holds no key.
func (t *EncryptedTables) String() string {
	var b strings.Builder
	b.WriteString("dbesdk.EncryptedTables{")
	for i, name := range slices.Sorted(maps.Keys(t.tables)) {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.Quote(name))
		b.WriteString(": ")
		b.WriteString(t.tables[name].enc.String())
	}
	b.WriteString("}")
	return b.String()
}

// WithEncryption returns a DynamoDB client option that encrypts and signs
// the items of the tables t configures on the way in and verifies and
// decrypts them on the way out, so that code keeps its *dynamodb.Client,
// attributevalue and expression code as they are:
//
//	client := dynamodb.NewFromConfig(cfg, dbesdk.WithEncryption(tables))
//
// It works on PutItem, GetItem, DeleteItem, UpdateItem, Query, Scan,
// BatchGetItem, BatchWriteItem, TransactGetItems and TransactWriteItems
// (paginators included), and refuses, before anything is sent, what
// cannot be done on ciphertext; see [AddEncryptionMiddleware] for the
// rules. It panics if t is nil.
func WithEncryption(t *EncryptedTables) func(*dynamodb.Options) {
	if t == nil {
		panic("dbesdk: WithEncryption: nil *EncryptedTables (build it with NewEncryptedTables)")
	}
	return func(o *dynamodb.Options) {
		o.APIOptions = append(o.APIOptions, func(stack *middleware.Stack) error {
			return AddEncryptionMiddleware(stack, t)
		})
	}
}

// AddEncryptionMiddleware adds the table encryption of t to an operation's
// middleware stack, at the end of its initialize step (after the SDK's
// input validation, before retries, so one call encrypts once). It is what
// [WithEncryption] does; call it yourself only to build a stack by hand.
//
// For the tables t configures:
//
//   - PutItem, BatchWriteItem and TransactWriteItems (Put) write items
//     encrypted by the table's [ItemEncryptor]; requests come back with
//     UnprocessedItems as the caller gave them (plaintext), ready to send
//     again.
//   - GetItem, BatchGetItem, Query, Scan and TransactGetItems return items
//     verified and decrypted, and so do ReturnValues ALL_OLD and ALL_NEW of
//     PutItem, UpdateItem and DeleteItem, and the items of
//     ConditionalCheckFailedException and TransactionCanceledException. An
//     item that fails verification fails the whole call with the
//     [*ItemError] of [ItemEncryptor.DecryptItem] (table and key values, no
//     other value); nothing unverified is returned.
//   - A projection (ProjectionExpression or AttributesToGet) is sent with
//     what verification needs (aws_dbe_head, aws_dbe_foot and every signed
//     attribute, as whole top-level attributes) and applied to the
//     decrypted item, nested paths and list indexes included, so callers
//     get what they asked for. For a table with a LegacyOverride, whole
//     items are read. Items of an index that does not project aws_dbe_head
//     and aws_dbe_foot fail with [ErrPlaintextItem]: give such indexes the
//     projection ALL.
//   - Refused with a [*RequestError] (errors.Is [ErrRequestRefused])
//     before any request is sent: a condition, filter or key condition
//     expression (or the legacy Expected, QueryFilter, ScanFilter and
//     KeyConditions) that reads an encrypted attribute, other than by
//     attribute_exists and attribute_not_exists; an UpdateItem or
//     transaction Update that writes a signed attribute (only unsigned,
//     DO_NOTHING ones can change without the item being signed again) or
//     reads an encrypted one; PartiQL (ExecuteStatement,
//     BatchExecuteStatement, ExecuteTransaction) naming the table; an
//     expression DynamoDB would not parse.
//
// An UpdateItem of unsigned attributes on a key with no item creates an
// item without header and footer, which reads then refuse with
// [ErrPlaintextItem]: condition such updates on attribute_exists of the
// partition key. A PartiQL statement is refused if any of its identifiers
// is a configured table's name, even as an attribute name.
//
// Every other operation, and every request on other tables, passes
// through untouched.
func AddEncryptionMiddleware(stack *middleware.Stack, t *EncryptedTables) error {
	if t == nil {
		return errors.New("dbesdk: AddEncryptionMiddleware: nil *EncryptedTables")
	}
	return stack.Initialize.Add(&encryptionMiddleware{tables: t}, middleware.After)
}

// ErrRequestRefused is matched by the [*RequestError] of every request the
// table encryption refuses before sending it.
var ErrRequestRefused = errors.New("dbesdk: request refused on an encrypted table")

// RequestError is the error of a request that cannot be done on an
// encrypted table: it says which operation, which table, and why and what
// to do instead. It names attributes, never values.
type RequestError struct {
	// Operation is the DynamoDB operation, such as "Query".
	Operation string
	// Table is the DynamoDB table name.
	Table string
	// Reason says what in the request cannot be done on ciphertext, and
	// what to do instead.
	Reason string
}

func (e *RequestError) Error() string {
	return fmt.Sprintf("dbesdk: %s on encrypted table %q refused: %s", e.Operation, e.Table, e.Reason)
}

// Is makes a RequestError match [ErrRequestRefused].
func (e *RequestError) Is(target error) bool { return target == ErrRequestRefused }
