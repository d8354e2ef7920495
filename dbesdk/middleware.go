package dbesdk

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/datamask/datamask/dbesdk/internal/expression"
)

// encryptionMiddleware is the initialize-step middleware of
// AddEncryptionMiddleware.
type encryptionMiddleware struct {
	tables *EncryptedTables
}

func (*encryptionMiddleware) ID() string { return "DatamaskTableEncryption" }

func (m *encryptionMiddleware) HandleInitialize(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
	switch p := in.Parameters.(type) {
	case *dynamodb.PutItemInput:
		return m.putItem(ctx, p, in, next)
	case *dynamodb.GetItemInput:
		return m.getItem(ctx, p, in, next)
	case *dynamodb.DeleteItemInput:
		return m.deleteItem(ctx, p, in, next)
	case *dynamodb.UpdateItemInput:
		return m.updateItem(ctx, p, in, next)
	case *dynamodb.QueryInput:
		return m.query(ctx, p, in, next)
	case *dynamodb.ScanInput:
		return m.scan(ctx, p, in, next)
	case *dynamodb.BatchGetItemInput:
		return m.batchGet(ctx, p, in, next)
	case *dynamodb.BatchWriteItemInput:
		return m.batchWrite(ctx, p, in, next)
	case *dynamodb.TransactGetItemsInput:
		return m.transactGet(ctx, p, in, next)
	case *dynamodb.TransactWriteItemsInput:
		return m.transactWrite(ctx, p, in, next)
	case *dynamodb.ExecuteStatementInput:
		if err := m.checkPartiQL("ExecuteStatement", p.Statement); err != nil {
			return middleware.InitializeOutput{}, middleware.Metadata{}, err
		}
	case *dynamodb.BatchExecuteStatementInput:
		for _, s := range p.Statements {
			if err := m.checkPartiQL("BatchExecuteStatement", s.Statement); err != nil {
				return middleware.InitializeOutput{}, middleware.Metadata{}, err
			}
		}
	case *dynamodb.ExecuteTransactionInput:
		for _, s := range p.TransactStatements {
			if err := m.checkPartiQL("ExecuteTransaction", s.Statement); err != nil {
				return middleware.InitializeOutput{}, middleware.Metadata{}, err
			}
		}
	}
	return next.HandleInitialize(ctx, in)
}

// send sends params in place of the caller's input.
func send(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler, params any) (middleware.InitializeOutput, middleware.Metadata, error) {
	in.Parameters = params
	return next.HandleInitialize(ctx, in)
}

// check refuses, for one table of a request, what cannot be done on its
// ciphertext.
type check struct {
	op string
	t  *tableEncryption
}

func (c check) refuse(format string, args ...any) error {
	return &RequestError{Operation: c.op, Table: c.t.name, Reason: fmt.Sprintf(format, args...)}
}

func (c check) encrypted(attr string) bool { return c.t.enc.cfg.actions[attr] == EncryptAndSign }

// writable reports whether an update may change attr without the item
// being signed again: only unsigned attributes, never the reserved ones.
func (c check) writable(attr string) bool {
	cfg := c.t.enc.cfg
	if _, ok := cfg.actions[attr]; ok && cfg.actions[attr] != DoNothing {
		return false
	}
	return !strings.HasPrefix(attr, ReservedPrefix) && attr != LegacySignatureName && attr != LegacyMaterialDescriptionName &&
		cfg.unsignedName(attr)
}

// readHints says, per kind of expression, what to do instead of reading
// an encrypted attribute.
var readHints = map[string]string{
	"key condition expression": "query on key or index attributes that are not encrypted",
	"filter expression":        "filter the decrypted items in your code, or make the attribute SIGN_ONLY if it need not be secret",
	"condition expression":     "test the decrypted item in your code (GetItem with ConsistentRead), or condition on a signed attribute such as a version number",
	"update expression":        "read the item, compute the new value in your code and put the item back",
}

// condition refuses an expression that reads an encrypted attribute; it
// returns the placeholders the expression uses.
func (c check) condition(what string, expr *string, names map[string]string) ([]string, error) {
	if expr == nil {
		return nil, nil
	}
	u, err := expression.ParseCondition(*expr, names)
	if err != nil {
		return nil, c.refuse("the %s is not valid: %v", what, err)
	}
	for _, p := range u.Read {
		if c.encrypted(p.Attribute()) {
			return nil, c.refuse("the %s reads attribute %q, which is encrypted: DynamoDB cannot compare ciphertext; %s", what, p.Attribute(), readHints[what])
		}
	}
	return u.Names, nil
}

// legacyConditions refuses the legacy conditional parameters (Expected,
// QueryFilter, ScanFilter, KeyConditions) on encrypted attributes.
func (c check) legacyConditions(what string, attrs []string) error {
	for _, a := range attrs {
		if c.encrypted(a) {
			return c.refuse("%s tests attribute %q, which is encrypted: DynamoDB cannot compare ciphertext", what, a)
		}
	}
	return nil
}

// update refuses an update expression that writes a signed attribute or
// reads an encrypted one.
func (c check) update(expr *string, names map[string]string) ([]string, error) {
	if expr == nil {
		return nil, nil
	}
	u, err := expression.ParseUpdate(*expr, names)
	if err != nil {
		return nil, c.refuse("the update expression is not valid: %v", err)
	}
	for _, p := range u.Written {
		if err := c.writes(p.Attribute()); err != nil {
			return nil, err
		}
	}
	for _, p := range u.Read {
		if c.encrypted(p.Attribute()) {
			return nil, c.refuse("the update expression reads attribute %q, which is encrypted; %s", p.Attribute(), readHints["update expression"])
		}
	}
	return u.Names, nil
}

func (c check) writes(attr string) error {
	if c.writable(attr) {
		return nil
	}
	what := "signed"
	if c.encrypted(attr) {
		what = "encrypted and signed"
	}
	if strings.HasPrefix(attr, ReservedPrefix) || attr == LegacySignatureName || attr == LegacyMaterialDescriptionName {
		what = "reserved for the item's header, footer or signature"
	}
	return c.refuse("the update changes attribute %q, which is %s: a signed attribute changes only when the whole item is signed again; "+
		"read the item, change it in your code and put it back (with a condition on a version attribute for concurrent writers), "+
		"or configure the attribute as unsigned (DO_NOTHING) if it need not be authenticated", attr, what)
}

// projection rewrites a read's projection so that it returns what
// verification needs, and returns the caller's projection, applied after
// decryption (nil: none). usedNames are the placeholders the request's
// other expressions use: names the new projection no longer uses are
// dropped, as DynamoDB refuses unused ones.
type projected struct {
	expr  *string
	attrs []string
	names map[string]string
	tree  *projNode
}

func (c check) projection(expr *string, attrs []string, names map[string]string, usedNames []string) (*projected, error) {
	out := &projected{expr: expr, attrs: attrs, names: names}
	switch {
	case expr != nil && *expr != "":
		paths, _, err := expression.ParseProjection(*expr, names)
		if err != nil {
			return nil, c.refuse("the projection expression is not valid: %v", err)
		}
		out.tree = newProjection(paths)
	case len(attrs) > 0:
		paths := make([]expression.Path, len(attrs))
		for i, a := range attrs {
			paths[i] = expression.Path{{Name: a}}
		}
		out.tree = newProjection(paths)
	default:
		return out, nil
	}
	// The top-level attributes to fetch: the caller's and the required
	// ones; none (the whole item) for a table with legacy items.
	var fetch []string
	if c.t.required != nil {
		fetch = slices.Clone(c.t.required)
		for name := range out.tree.children {
			if !slices.Contains(fetch, name) {
				fetch = append(fetch, name)
			}
		}
		slices.Sort(fetch)
	}
	if len(attrs) > 0 {
		out.attrs = fetch
		return out, nil
	}
	newNames := map[string]string{}
	for _, n := range usedNames {
		newNames[n] = names[n]
	}
	if fetch == nil {
		out.expr = nil
	} else {
		parts := make([]string, len(fetch))
		for i, name := range fetch {
			ph := "#aws_dbe_p" + strconv.Itoa(i)
			for newNames[ph] != "" || names[ph] != "" {
				ph += "_"
			}
			newNames[ph] = name
			parts[i] = ph
		}
		s := strings.Join(parts, ", ")
		out.expr = &s
	}
	if len(newNames) == 0 {
		newNames = nil
	}
	out.names = newNames
	return out, nil
}

// projNode is a projection as a tree: a node with whole set returns the
// whole value; otherwise its children (map keys) and elements (list
// indexes) are projected.
type projNode struct {
	whole    bool
	children map[string]*projNode
	elems    map[int]*projNode
}

func newProjection(paths []expression.Path) *projNode {
	root := &projNode{}
	for _, p := range paths {
		n := root
		for _, e := range p {
			if n.whole {
				break
			}
			if e.IsIndex {
				if n.elems == nil {
					n.elems = map[int]*projNode{}
				}
				if n.elems[e.Index] == nil {
					n.elems[e.Index] = &projNode{}
				}
				n = n.elems[e.Index]
			} else {
				if n.children == nil {
					n.children = map[string]*projNode{}
				}
				if n.children[e.Name] == nil {
					n.children[e.Name] = &projNode{}
				}
				n = n.children[e.Name]
			}
		}
		n.whole, n.children, n.elems = true, nil, nil
	}
	return root
}

// apply returns the projection of a decrypted item, as DynamoDB would
// have returned it: attributes, map entries and list elements not
// projected are left out, and projected list elements keep their order.
func (n *projNode) apply(item map[string]types.AttributeValue) map[string]types.AttributeValue {
	out := make(map[string]types.AttributeValue, len(n.children))
	for name, child := range n.children {
		if av, ok := item[name]; ok {
			if v := child.value(av); v != nil {
				out[name] = v
			}
		}
	}
	return out
}

func (n *projNode) value(av types.AttributeValue) types.AttributeValue {
	if n.whole {
		return av
	}
	switch v := av.(type) {
	case *types.AttributeValueMemberM:
		if n.children == nil {
			return nil
		}
		m := n.apply(v.Value)
		if len(m) == 0 {
			return nil
		}
		return &types.AttributeValueMemberM{Value: m}
	case *types.AttributeValueMemberL:
		var l []types.AttributeValue
		for _, i := range slices.Sorted(maps.Keys(n.elems)) {
			if i < len(v.Value) {
				if e := n.elems[i].value(v.Value[i]); e != nil {
					l = append(l, e)
				}
			}
		}
		if len(l) == 0 {
			return nil
		}
		return &types.AttributeValueMemberL{Value: l}
	}
	return nil
}

// decrypt verifies and decrypts an item read from table t, and applies the
// caller's projection.
func (c check) decrypt(ctx context.Context, item map[string]types.AttributeValue, proj *projNode) (map[string]types.AttributeValue, error) {
	if item == nil {
		return nil, nil
	}
	out, err := c.t.enc.DecryptItem(ctx, item)
	if err != nil {
		return nil, err
	}
	if proj != nil {
		out = proj.apply(out)
	}
	return out, nil
}

// decryptIndexed is decrypt for an item of a Query or Scan, which may
// come from an index.
func (c check) decryptIndexed(ctx context.Context, item map[string]types.AttributeValue, proj *projNode, index *string) (map[string]types.AttributeValue, error) {
	out, err := c.decrypt(ctx, item, proj)
	if err != nil && index != nil && errors.Is(err, ErrPlaintextItem) {
		return nil, fmt.Errorf("dbesdk: %s on index %q of table %q: %w; the index must project aws_dbe_head, aws_dbe_foot and every signed attribute (projection ALL) for its items to be verified",
			c.op, *index, c.t.name, err)
	}
	return out, err
}

// decryptOld decrypts the item of ReturnValues ALL_OLD or ALL_NEW; other
// return values hold only the updated attributes, which are unsigned.
func (c check) decryptOld(ctx context.Context, rv types.ReturnValue, attrs map[string]types.AttributeValue) (map[string]types.AttributeValue, error) {
	if rv != types.ReturnValueAllOld && rv != types.ReturnValueAllNew {
		return attrs, nil
	}
	return c.decrypt(ctx, attrs, nil)
}

// conditionFailed replaces the item of a ConditionalCheckFailedException
// by its decrypted form, or removes it if it does not verify.
func (c check) conditionFailed(ctx context.Context, err error) error {
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) && ccf.Item != nil {
		ccf.Item, _ = c.decrypt(ctx, ccf.Item, nil)
	}
	return err
}

func (m *encryptionMiddleware) putItem(ctx context.Context, p *dynamodb.PutItemInput, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
	t := m.tables.lookup(p.TableName)
	if t == nil {
		return next.HandleInitialize(ctx, in)
	}
	c := check{"PutItem", t}
	if _, err := c.condition("condition expression", p.ConditionExpression, p.ExpressionAttributeNames); err != nil {
		return middleware.InitializeOutput{}, middleware.Metadata{}, err
	}
	if err := c.legacyConditions("Expected", slices.Collect(maps.Keys(p.Expected))); err != nil {
		return middleware.InitializeOutput{}, middleware.Metadata{}, err
	}
	item, err := t.enc.EncryptItem(ctx, p.Item)
	if err != nil {
		return middleware.InitializeOutput{}, middleware.Metadata{}, err
	}
	cp := *p
	cp.Item = item
	out, md, err := send(ctx, in, next, &cp)
	if err != nil {
		return out, md, c.conditionFailed(ctx, err)
	}
	if o, ok := out.Result.(*dynamodb.PutItemOutput); ok {
		if o.Attributes, err = c.decryptOld(ctx, p.ReturnValues, o.Attributes); err != nil {
			return middleware.InitializeOutput{}, md, err
		}
	}
	return out, md, nil
}

func (m *encryptionMiddleware) getItem(ctx context.Context, p *dynamodb.GetItemInput, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
	t := m.tables.lookup(p.TableName)
	if t == nil {
		return next.HandleInitialize(ctx, in)
	}
	c := check{"GetItem", t}
	proj, err := c.projection(p.ProjectionExpression, p.AttributesToGet, p.ExpressionAttributeNames, nil)
	if err != nil {
		return middleware.InitializeOutput{}, middleware.Metadata{}, err
	}
	cp := *p
	cp.ProjectionExpression, cp.AttributesToGet, cp.ExpressionAttributeNames = proj.expr, proj.attrs, proj.names
	out, md, err := send(ctx, in, next, &cp)
	if err != nil {
		return out, md, err
	}
	if o, ok := out.Result.(*dynamodb.GetItemOutput); ok {
		if o.Item, err = c.decrypt(ctx, o.Item, proj.tree); err != nil {
			return middleware.InitializeOutput{}, md, err
		}
	}
	return out, md, nil
}

func (m *encryptionMiddleware) deleteItem(ctx context.Context, p *dynamodb.DeleteItemInput, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
	t := m.tables.lookup(p.TableName)
	if t == nil {
		return next.HandleInitialize(ctx, in)
	}
	c := check{"DeleteItem", t}
	if _, err := c.condition("condition expression", p.ConditionExpression, p.ExpressionAttributeNames); err != nil {
		return middleware.InitializeOutput{}, middleware.Metadata{}, err
	}
	if err := c.legacyConditions("Expected", slices.Collect(maps.Keys(p.Expected))); err != nil {
		return middleware.InitializeOutput{}, middleware.Metadata{}, err
	}
	out, md, err := next.HandleInitialize(ctx, in)
	if err != nil {
		return out, md, c.conditionFailed(ctx, err)
	}
	if o, ok := out.Result.(*dynamodb.DeleteItemOutput); ok {
		if o.Attributes, err = c.decryptOld(ctx, p.ReturnValues, o.Attributes); err != nil {
			return middleware.InitializeOutput{}, md, err
		}
	}
	return out, md, nil
}

func (m *encryptionMiddleware) updateItem(ctx context.Context, p *dynamodb.UpdateItemInput, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
	t := m.tables.lookup(p.TableName)
	if t == nil {
		return next.HandleInitialize(ctx, in)
	}
	c := check{"UpdateItem", t}
	if _, err := c.update(p.UpdateExpression, p.ExpressionAttributeNames); err != nil {
		return middleware.InitializeOutput{}, middleware.Metadata{}, err
	}
	for _, a := range slices.Sorted(maps.Keys(p.AttributeUpdates)) {
		if err := c.writes(a); err != nil {
			return middleware.InitializeOutput{}, middleware.Metadata{}, err
		}
	}
	if _, err := c.condition("condition expression", p.ConditionExpression, p.ExpressionAttributeNames); err != nil {
		return middleware.InitializeOutput{}, middleware.Metadata{}, err
	}
	if err := c.legacyConditions("Expected", slices.Collect(maps.Keys(p.Expected))); err != nil {
		return middleware.InitializeOutput{}, middleware.Metadata{}, err
	}
	out, md, err := next.HandleInitialize(ctx, in)
	if err != nil {
		return out, md, c.conditionFailed(ctx, err)
	}
	if o, ok := out.Result.(*dynamodb.UpdateItemOutput); ok {
		if o.Attributes, err = c.decryptOld(ctx, p.ReturnValues, o.Attributes); err != nil {
			return middleware.InitializeOutput{}, md, err
		}
	}
	return out, md, nil
}

func (m *encryptionMiddleware) query(ctx context.Context, p *dynamodb.QueryInput, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
	t := m.tables.lookup(p.TableName)
	if t == nil {
		return next.HandleInitialize(ctx, in)
	}
	c := check{"Query", t}
	used, err := c.condition("key condition expression", p.KeyConditionExpression, p.ExpressionAttributeNames)
	if err != nil {
		return middleware.InitializeOutput{}, middleware.Metadata{}, err
	}
	filterNames, err := c.condition("filter expression", p.FilterExpression, p.ExpressionAttributeNames)
	if err != nil {
		return middleware.InitializeOutput{}, middleware.Metadata{}, err
	}
	if err := c.legacyConditions("KeyConditions", slices.Collect(maps.Keys(p.KeyConditions))); err != nil {
		return middleware.InitializeOutput{}, middleware.Metadata{}, err
	}
	if err := c.legacyConditions("QueryFilter", slices.Collect(maps.Keys(p.QueryFilter))); err != nil {
		return middleware.InitializeOutput{}, middleware.Metadata{}, err
	}
	proj, err := c.projection(p.ProjectionExpression, p.AttributesToGet, p.ExpressionAttributeNames, append(used, filterNames...))
	if err != nil {
		return middleware.InitializeOutput{}, middleware.Metadata{}, err
	}
	cp := *p
	cp.ProjectionExpression, cp.AttributesToGet, cp.ExpressionAttributeNames = proj.expr, proj.attrs, proj.names
	if proj.tree != nil && proj.expr == nil && proj.attrs == nil {
		cp.Select = "" // whole items, for the legacy format
	}
	out, md, err := send(ctx, in, next, &cp)
	if err != nil {
		return out, md, err
	}
	if o, ok := out.Result.(*dynamodb.QueryOutput); ok {
		for i, item := range o.Items {
			if o.Items[i], err = c.decryptIndexed(ctx, item, proj.tree, p.IndexName); err != nil {
				return middleware.InitializeOutput{}, md, err
			}
		}
	}
	return out, md, nil
}

func (m *encryptionMiddleware) scan(ctx context.Context, p *dynamodb.ScanInput, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
	t := m.tables.lookup(p.TableName)
	if t == nil {
		return next.HandleInitialize(ctx, in)
	}
	c := check{"Scan", t}
	used, err := c.condition("filter expression", p.FilterExpression, p.ExpressionAttributeNames)
	if err != nil {
		return middleware.InitializeOutput{}, middleware.Metadata{}, err
	}
	if err := c.legacyConditions("ScanFilter", slices.Collect(maps.Keys(p.ScanFilter))); err != nil {
		return middleware.InitializeOutput{}, middleware.Metadata{}, err
	}
	proj, err := c.projection(p.ProjectionExpression, p.AttributesToGet, p.ExpressionAttributeNames, used)
	if err != nil {
		return middleware.InitializeOutput{}, middleware.Metadata{}, err
	}
	cp := *p
	cp.ProjectionExpression, cp.AttributesToGet, cp.ExpressionAttributeNames = proj.expr, proj.attrs, proj.names
	if proj.tree != nil && proj.expr == nil && proj.attrs == nil {
		cp.Select = ""
	}
	out, md, err := send(ctx, in, next, &cp)
	if err != nil {
		return out, md, err
	}
	if o, ok := out.Result.(*dynamodb.ScanOutput); ok {
		for i, item := range o.Items {
			if o.Items[i], err = c.decryptIndexed(ctx, item, proj.tree, p.IndexName); err != nil {
				return middleware.InitializeOutput{}, md, err
			}
		}
	}
	return out, md, nil
}

func (m *encryptionMiddleware) batchGet(ctx context.Context, p *dynamodb.BatchGetItemInput, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
	requests := make(map[string]types.KeysAndAttributes, len(p.RequestItems))
	projs := map[string]*projected{}
	checks := map[string]check{}
	for name, ka := range p.RequestItems {
		requests[name] = ka
		t := m.tables.lookup(&name)
		if t == nil {
			continue
		}
		c := check{"BatchGetItem", t}
		proj, err := c.projection(ka.ProjectionExpression, ka.AttributesToGet, ka.ExpressionAttributeNames, nil)
		if err != nil {
			return middleware.InitializeOutput{}, middleware.Metadata{}, err
		}
		ka.ProjectionExpression, ka.AttributesToGet, ka.ExpressionAttributeNames = proj.expr, proj.attrs, proj.names
		requests[name] = ka
		projs[name], checks[name] = proj, c
	}
	if len(checks) == 0 {
		return next.HandleInitialize(ctx, in)
	}
	cp := *p
	cp.RequestItems = requests
	out, md, err := send(ctx, in, next, &cp)
	if err != nil {
		return out, md, err
	}
	o, ok := out.Result.(*dynamodb.BatchGetItemOutput)
	if !ok {
		return out, md, nil
	}
	for name, items := range o.Responses {
		c, ok := checks[name]
		if !ok {
			continue
		}
		for i, item := range items {
			if items[i], err = c.decrypt(ctx, item, projs[name].tree); err != nil {
				return middleware.InitializeOutput{}, md, err
			}
		}
	}
	// Unprocessed keys go back with the caller's projection, ready to be
	// sent again through this middleware.
	for name, ka := range o.UnprocessedKeys {
		if _, ok := checks[name]; ok {
			orig := p.RequestItems[name]
			ka.ProjectionExpression, ka.AttributesToGet, ka.ExpressionAttributeNames = orig.ProjectionExpression, orig.AttributesToGet, orig.ExpressionAttributeNames
			o.UnprocessedKeys[name] = ka
		}
	}
	return out, md, nil
}

// keyID identifies an item by its key values, for matching unprocessed
// items with the caller's.
func (t *tableEncryption) keyID(item map[string]types.AttributeValue) string {
	var b []byte
	for _, k := range []string{t.enc.cfg.partitionKey, t.enc.cfg.sortKey} {
		if k == "" {
			continue
		}
		switch v := item[k].(type) {
		case *types.AttributeValueMemberS:
			b = append(binary.BigEndian.AppendUint32(append(b, 'S'), uint32(len(v.Value))), v.Value...)
		case *types.AttributeValueMemberN:
			b = append(binary.BigEndian.AppendUint32(append(b, 'N'), uint32(len(v.Value))), v.Value...)
		case *types.AttributeValueMemberB:
			b = append(binary.BigEndian.AppendUint32(append(b, 'B'), uint32(len(v.Value))), v.Value...)
		default:
			b = append(b, '?')
		}
	}
	return string(b)
}

func (m *encryptionMiddleware) batchWrite(ctx context.Context, p *dynamodb.BatchWriteItemInput, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
	requests := make(map[string][]types.WriteRequest, len(p.RequestItems))
	originals := map[string]map[string]types.WriteRequest{} // table -> key -> caller's put
	for name, writes := range p.RequestItems {
		t := m.tables.lookup(&name)
		if t == nil {
			requests[name] = writes
			continue
		}
		enc := make([]types.WriteRequest, len(writes))
		originals[name] = map[string]types.WriteRequest{}
		for i, w := range writes {
			enc[i] = w
			if w.PutRequest == nil {
				continue
			}
			item, err := t.enc.EncryptItem(ctx, w.PutRequest.Item)
			if err != nil {
				return middleware.InitializeOutput{}, middleware.Metadata{}, err
			}
			enc[i].PutRequest = &types.PutRequest{Item: item}
			originals[name][t.keyID(item)] = w
		}
		requests[name] = enc
	}
	if len(originals) == 0 {
		return next.HandleInitialize(ctx, in)
	}
	cp := *p
	cp.RequestItems = requests
	out, md, err := send(ctx, in, next, &cp)
	if err != nil {
		return out, md, err
	}
	o, ok := out.Result.(*dynamodb.BatchWriteItemOutput)
	if !ok {
		return out, md, nil
	}
	// Unprocessed puts go back as the caller gave them (plaintext), ready
	// to be sent again through this middleware.
	for name, writes := range o.UnprocessedItems {
		orig, ok := originals[name]
		if !ok {
			continue
		}
		t := m.tables.lookup(&name)
		for i, w := range writes {
			if w.PutRequest == nil {
				continue
			}
			ow, ok := orig[t.keyID(w.PutRequest.Item)]
			if !ok {
				return middleware.InitializeOutput{}, md, fmt.Errorf("dbesdk: BatchWriteItem: an unprocessed item of table %q is not one of the request's", name)
			}
			writes[i] = ow
		}
	}
	return out, md, nil
}

func (m *encryptionMiddleware) transactGet(ctx context.Context, p *dynamodb.TransactGetItemsInput, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
	items := make([]types.TransactGetItem, len(p.TransactItems))
	checks := make([]*check, len(p.TransactItems))
	projs := make([]*projNode, len(p.TransactItems))
	found := false
	for i, ti := range p.TransactItems {
		items[i] = ti
		if ti.Get == nil {
			continue
		}
		t := m.tables.lookup(ti.Get.TableName)
		if t == nil {
			continue
		}
		c := check{"TransactGetItems", t}
		proj, err := c.projection(ti.Get.ProjectionExpression, nil, ti.Get.ExpressionAttributeNames, nil)
		if err != nil {
			return middleware.InitializeOutput{}, middleware.Metadata{}, err
		}
		g := *ti.Get
		g.ProjectionExpression, g.ExpressionAttributeNames = proj.expr, proj.names
		items[i].Get = &g
		checks[i], projs[i], found = &c, proj.tree, true
	}
	if !found {
		return next.HandleInitialize(ctx, in)
	}
	cp := *p
	cp.TransactItems = items
	out, md, err := send(ctx, in, next, &cp)
	if err != nil {
		return out, md, err
	}
	if o, ok := out.Result.(*dynamodb.TransactGetItemsOutput); ok {
		for i := range o.Responses {
			if i < len(checks) && checks[i] != nil {
				if o.Responses[i].Item, err = checks[i].decrypt(ctx, o.Responses[i].Item, projs[i]); err != nil {
					return middleware.InitializeOutput{}, md, err
				}
			}
		}
	}
	return out, md, nil
}

func (m *encryptionMiddleware) transactWrite(ctx context.Context, p *dynamodb.TransactWriteItemsInput, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
	const op = "TransactWriteItems"
	items := make([]types.TransactWriteItem, len(p.TransactItems))
	checks := make([]*check, len(p.TransactItems))
	found := false
	for i, ti := range p.TransactItems {
		items[i] = ti
		switch {
		case ti.Put != nil:
			t := m.tables.lookup(ti.Put.TableName)
			if t == nil {
				continue
			}
			c := check{op, t}
			if _, err := c.condition("condition expression", ti.Put.ConditionExpression, ti.Put.ExpressionAttributeNames); err != nil {
				return middleware.InitializeOutput{}, middleware.Metadata{}, err
			}
			item, err := t.enc.EncryptItem(ctx, ti.Put.Item)
			if err != nil {
				return middleware.InitializeOutput{}, middleware.Metadata{}, err
			}
			put := *ti.Put
			put.Item = item
			items[i].Put = &put
			checks[i], found = &c, true
		case ti.Update != nil:
			t := m.tables.lookup(ti.Update.TableName)
			if t == nil {
				continue
			}
			c := check{op, t}
			if _, err := c.update(ti.Update.UpdateExpression, ti.Update.ExpressionAttributeNames); err != nil {
				return middleware.InitializeOutput{}, middleware.Metadata{}, err
			}
			if _, err := c.condition("condition expression", ti.Update.ConditionExpression, ti.Update.ExpressionAttributeNames); err != nil {
				return middleware.InitializeOutput{}, middleware.Metadata{}, err
			}
			checks[i], found = &c, true
		case ti.Delete != nil:
			t := m.tables.lookup(ti.Delete.TableName)
			if t == nil {
				continue
			}
			c := check{op, t}
			if _, err := c.condition("condition expression", ti.Delete.ConditionExpression, ti.Delete.ExpressionAttributeNames); err != nil {
				return middleware.InitializeOutput{}, middleware.Metadata{}, err
			}
			checks[i], found = &c, true
		case ti.ConditionCheck != nil:
			t := m.tables.lookup(ti.ConditionCheck.TableName)
			if t == nil {
				continue
			}
			c := check{op, t}
			if _, err := c.condition("condition expression", ti.ConditionCheck.ConditionExpression, ti.ConditionCheck.ExpressionAttributeNames); err != nil {
				return middleware.InitializeOutput{}, middleware.Metadata{}, err
			}
			checks[i], found = &c, true
		}
	}
	if !found {
		return next.HandleInitialize(ctx, in)
	}
	cp := *p
	cp.TransactItems = items
	out, md, err := send(ctx, in, next, &cp)
	var tce *types.TransactionCanceledException
	if err != nil && errors.As(err, &tce) {
		// The old items of ReturnValuesOnConditionCheckFailure, decrypted,
		// or left out if they do not verify.
		for i := range tce.CancellationReasons {
			if i < len(checks) && checks[i] != nil && tce.CancellationReasons[i].Item != nil {
				tce.CancellationReasons[i].Item, _ = checks[i].decrypt(ctx, tce.CancellationReasons[i].Item, nil)
			}
		}
	}
	return out, md, err
}

// checkPartiQL refuses a PartiQL statement that names a configured table:
// its items cannot be encrypted, verified or decrypted on the way.
func (m *encryptionMiddleware) checkPartiQL(op string, stmt *string) error {
	if stmt == nil {
		return nil
	}
	for _, id := range partiQLIdentifiers(*stmt) {
		if t := m.tables.lookup(&id); t != nil {
			return &RequestError{Operation: op, Table: t.name, Reason: "PartiQL statements on an encrypted table cannot encrypt, verify or decrypt its items; " +
				"use PutItem, GetItem, Query, Scan, BatchWriteItem or TransactWriteItems, which the table encryption handles"}
		}
	}
	return nil
}

// partiQLIdentifiers returns the identifiers of a PartiQL statement: its
// double-quoted names and its bare words (split at dots), outside string
// literals. A table is named by one of them.
func partiQLIdentifiers(s string) []string {
	var ids []string
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\'':
			i++
			for i < len(s) {
				if s[i] == '\'' {
					if i+1 < len(s) && s[i+1] == '\'' {
						i += 2
						continue
					}
					break
				}
				i++
			}
			i++
		case c == '"':
			var b strings.Builder
			i++
			for i < len(s) {
				if s[i] == '"' {
					if i+1 < len(s) && s[i+1] == '"' {
						b.WriteByte('"')
						i += 2
						continue
					}
					break
				}
				b.WriteByte(s[i])
				i++
			}
			i++
			ids = append(ids, b.String())
		case c == '_' || c == '-' || c == '.' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9':
			j := i
			for j < len(s) && (s[j] == '_' || s[j] == '-' || s[j] == '.' || s[j] >= 'a' && s[j] <= 'z' || s[j] >= 'A' && s[j] <= 'Z' || s[j] >= '0' && s[j] <= '9') {
				j++
			}
			word := s[i:j]
			ids = append(ids, word)
			ids = append(ids, strings.Split(word, ".")...)
			i = j
		default:
			i++
		}
	}
	return ids
}
