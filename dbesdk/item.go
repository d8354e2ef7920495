package dbesdk

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/datamask/datamask/dbesdk/internal/attribute"
	"github.com/datamask/datamask/dbesdk/internal/structure"
	"github.com/datamask/datamask/esdk"
)

// ItemEncryptor encrypts and decrypts the items of one table in the AWS
// Database Encryption SDK's format. Build it with [New] once and share it:
// it is immutable and safe for concurrent use.
type ItemEncryptor struct {
	cfg *config
	mm  esdk.MaterialsManager
}

// New returns an item encryptor for the table cfg describes, whose data
// keys keyring protects: for AWS KMS keys a keyring of package awskms, for
// a local key a raw AES keyring (datamask.ReadLocalKeyring), or any
// [esdk.Keyring]. A data key cache is on by default (see
// [WithDataKeyCache]).
//
// It applies the DB-ESDK's configuration rules and fails with an error
// matching [ErrInvalidConfig] (saying what to change) for any
// configuration the DB-ESDK would refuse: see [TableConfig].
func New(cfg TableConfig, keyring esdk.Keyring, opts ...Option) (*ItemEncryptor, error) {
	if keyring == nil {
		return nil, configErrorf("New: keyring is nil")
	}
	c, o, err := newConfig(cfg, opts)
	if err != nil {
		return nil, err
	}
	cmm, err := esdk.NewDefaultCMM(keyring)
	if err != nil {
		return nil, fmt.Errorf("dbesdk: New: %v", err)
	}
	e := &ItemEncryptor{cfg: c, mm: cmm}
	if !o.noCache {
		if e.mm, err = esdk.NewCachingCMM(cmm, o.caching...); err != nil {
			return nil, &configError{msg: "WithDataKeyCache: " + strings.TrimPrefix(err.Error(), "esdk: ")}
		}
	}
	return e, nil
}

// NewWithMaterialsManager is [New] with a materials manager of the caller's
// instead of a keyring: New's cache is not added, so wrap mm in
// esdk.NewCachingCMM yourself if you want one. The data key cache options
// are refused.
func NewWithMaterialsManager(cfg TableConfig, mm esdk.MaterialsManager, opts ...Option) (*ItemEncryptor, error) {
	if mm == nil {
		return nil, configErrorf("NewWithMaterialsManager: materials manager is nil")
	}
	c, o, err := newConfig(cfg, opts)
	if err != nil {
		return nil, err
	}
	if o.cacheSet || o.noCache {
		return nil, configErrorf("NewWithMaterialsManager: WithDataKeyCache and WithoutDataKeyCache apply to New only: wrap the materials manager in esdk.NewCachingCMM")
	}
	return &ItemEncryptor{cfg: c, mm: mm}, nil
}

func newConfig(cfg TableConfig, opts []Option) (*config, *options, error) {
	c, err := checkConfig(cfg)
	if err != nil {
		return nil, nil, err
	}
	o := &options{}
	for _, opt := range opts {
		if opt == nil {
			return nil, nil, configErrorf("nil Option")
		}
		if err := opt.apply(o); err != nil {
			return nil, nil, &configError{msg: strings.TrimPrefix(err.Error(), "dbesdk: ")}
		}
	}
	if o.maxSet {
		c.maxEDKs = o.maxEDKs
	}
	return c, o, nil
}

// field is one signed attribute of an item.
type field struct {
	name   string
	len16  int    // the name's length in UTF-16 code units
	action Action // EncryptAndSign, SignOnly or SignAndIncludeInEncryptionContext
	typ    attribute.TypeID
	// value is the attribute's serialization; for an EncryptAndSign field
	// once encrypted (and on decrypt, until decrypted) its stored form:
	// type ID, then ciphertext and tag.
	value []byte
}

func (f *field) appendPath(b []byte, table string) []byte {
	return structure.AppendCanonicalPath(b, table, f.name, f.len16)
}

// compareFields orders fields by canonical path: the table and depth are
// shared, so by the name's UTF-16 length, then its bytes.
func compareFields(a, b field) int {
	if c := cmp.Compare(a.len16, b.len16); c != 0 {
		return c
	}
	return strings.Compare(a.name, b.name)
}

// checkKeys describes a key missing from an item; it names attributes, not
// values.
func (e *ItemEncryptor) checkKeys(item map[string]types.AttributeValue) error {
	var missing []string
	if _, ok := item[e.cfg.partitionKey]; !ok {
		missing = append(missing, "partition key "+strconv.Quote(e.cfg.partitionKey))
	}
	if e.cfg.sortKey != "" {
		if _, ok := item[e.cfg.sortKey]; !ok {
			missing = append(missing, "sort key "+strconv.Quote(e.cfg.sortKey))
		}
	}
	if missing != nil {
		return errors.New("the item has no " + strings.Join(missing, " and no "))
	}
	return nil
}

// EncryptItem returns the encrypted form of item, ready for PutItem: the
// attributes configured EncryptAndSign replaced by their ciphertext (type
// B), every signed attribute authenticated by the new attributes
// aws_dbe_head and aws_dbe_foot, the others unchanged. item is not
// modified; the result shares its unencrypted attribute values.
//
// It fails with an [*ItemError] if item lacks a key or an attribute
// configured SignAndIncludeInEncryptionContext, has an attribute that is
// neither configured nor unsigned, or one whose name starts with
// [ReservedPrefix], holds a value DynamoDB cannot store (an invalid number,
// a duplicate set member, invalid UTF-8), or if the keyring fails (the
// cause is then its error, such as an [*esdk.EncryptKeyError]).
//
// With a [LegacyOverride] of policy ForceLegacyEncryptAllowLegacyDecrypt it
// returns what the LegacyEncryptor returns, errors as they are.
func (e *ItemEncryptor) EncryptItem(ctx context.Context, item map[string]types.AttributeValue) (map[string]types.AttributeValue, error) {
	if err := e.checkKeys(item); err != nil {
		return nil, e.itemError("encrypt", item, err)
	}
	for _, name := range e.cfg.contextAttrs {
		if _, ok := item[name]; !ok {
			return nil, e.itemError("encrypt", item, fmt.Errorf("attribute %q is configured as SIGN_AND_INCLUDE_IN_ENCRYPTION_CONTEXT but the item does not have it", name))
		}
	}
	if l := e.cfg.legacy; l != nil && l.Policy == ForceLegacyEncryptAllowLegacyDecrypt {
		return l.Encryptor.EncryptItem(ctx, item)
	}
	out, err := e.encrypt(ctx, item)
	if err != nil {
		return nil, e.itemError("encrypt", item, err)
	}
	return out, nil
}

func (e *ItemEncryptor) encrypt(ctx context.Context, item map[string]types.AttributeValue) (map[string]types.AttributeValue, error) {
	fields := make([]field, 0, len(item))
	buf := make([]byte, 0, 512)
	for name, av := range item {
		a, ok := e.cfg.actions[name]
		switch {
		case strings.HasPrefix(name, ReservedPrefix):
			return nil, fmt.Errorf("attribute %q: names starting with %q are reserved for the DB-ESDK", name, ReservedPrefix)
		case !ok && !e.cfg.unsignedName(name):
			return nil, fmt.Errorf("attribute %q has no action: configure one in TableConfig.Actions, or make it unsigned (UnsignedPrefix, UnsignedAttributes)", name)
		case !ok || a == DoNothing:
			continue
		}
		start := len(buf)
		var t attribute.TypeID
		var err error
		if buf, t, err = attribute.Append(buf, av); err != nil {
			return nil, fmt.Errorf("attribute %q: %v", name, err)
		}
		fields = append(fields, field{name: name, len16: attribute.LenUTF16(name), action: a, typ: t, value: buf[start:len(buf):len(buf)]})
	}
	// Each value is a full slice expression of buf: appends after it leave
	// it as it is, even when buf moves.
	slices.SortFunc(fields, compareFields)

	// ptLen is the DB-ESDK's maximum plaintext length: two bytes of type
	// and the value of each encrypted attribute.
	version := byte(1)
	ptLen := int64(0)
	legend := make([]byte, len(fields))
	for i, f := range fields {
		switch f.action {
		case EncryptAndSign:
			legend[i] = structure.LegendEncrypt
			ptLen += 2 + int64(len(f.value))
		case SignOnly:
			legend[i] = structure.LegendSign
		case SignAndIncludeInEncryptionContext:
			legend[i] = structure.LegendContext
			version = 2
		}
	}
	ec, err := e.encryptionContext(version, item, fields)
	if err != nil {
		return nil, err
	}
	required := make([]string, 0, len(ec))
	for k := range ec {
		required = append(required, k)
	}
	m, err := e.mm.EncryptionMaterials(ctx, esdk.EncryptionMaterialsRequest{
		Suite:               e.cfg.suite,
		EncryptionContext:   ec,
		CommitmentPolicy:    esdk.RequireEncryptRequireDecrypt,
		PlaintextLength:     ptLen,
		RequiredContextKeys: required,
	})
	if err != nil {
		return nil, err
	}
	if err := e.checkEncryptionMaterials(m, ec); err != nil {
		return nil, err
	}

	h := structure.Header{Version: version, Flavor: byte(m.Suite), MessageID: make([]byte, structure.MessageIDLen), Legend: legend}
	if _, err := rand.Read(h.MessageID); err != nil {
		return nil, err
	}
	h.Context = structure.SortPairs(m.EncryptionContext, func(k string) bool { return slices.Contains(m.RequiredContextKeys, k) })
	h.EDKs = make([]structure.EDK, len(m.EncryptedDataKeys))
	for i, k := range m.EncryptedDataKeys {
		h.EDKs[i] = structure.EDK{ProviderID: k.ProviderID, ProviderInfo: k.ProviderInfo, Ciphertext: k.Ciphertext}
	}
	keys, err := deriveItemKeys(m.DataKey(), h.MessageID)
	if err != nil {
		return nil, err
	}
	header, err := h.AppendPartial(nil)
	if err != nil {
		return nil, errors.New("the materials do not fit an item header (too many or too large encrypted data keys, or too large an encryption context)")
	}
	header = append(header, keys.commitment(header)...)

	// One slab holds the ciphertexts and the footer.
	slabLen := len(m.EncryptedDataKeys)*structure.RecipientTagLen + structure.SignatureLen
	for _, f := range fields {
		if f.action == EncryptAndSign {
			slabLen += 2 + len(f.value) + 16
		}
	}
	slab := make([]byte, 0, slabLen)
	offset := 0
	var path []byte
	var nonce [fieldNonceLen]byte
	for i := range fields {
		f := &fields[i]
		if f.action != EncryptAndSign {
			continue
		}
		aead, err := keys.fieldAEAD(offset, &nonce)
		if err != nil {
			return nil, err
		}
		offset++
		path = f.appendPath(path[:0], e.cfg.table)
		start := len(slab)
		slab = binary.BigEndian.AppendUint16(slab, uint16(f.typ))
		slab = aead.Seal(slab, nonce[:], f.value, path)
		f.value = slab[start:len(slab):len(slab)]
	}
	aad, err := structure.AppendContext(nil, structure.SortPairs(m.EncryptionContext, nil))
	if err != nil {
		return nil, errors.New("the encryption context does not fit an item")
	}
	hash := keys.canonicalHash(header, aad, e.cfg.table, fields)
	footerStart := len(slab)
	for _, k := range m.SymmetricSigningKeys() {
		slab = keys.hmac(keys.d384, slab, k, hash)
	}
	if m.Suite.Signing() {
		sig, err := sign(m.SigningKey(), hash)
		if err != nil {
			return nil, err
		}
		slab = append(slab, sig...)
	}
	footer := slab[footerStart:]

	out := make(map[string]types.AttributeValue, len(item)+2)
	for name, av := range item {
		out[name] = av
	}
	bs := make([]types.AttributeValueMemberB, offset+2)
	for _, f := range fields {
		if f.action == EncryptAndSign {
			b := &bs[len(bs)-1]
			bs = bs[:len(bs)-1]
			b.Value = f.value
			out[f.name] = b
		}
	}
	bs[0].Value, bs[1].Value = header, footer
	out[HeaderName], out[FooterName] = &bs[0], &bs[1]
	return out, nil
}

// checkEncryptionMaterials validates what the materials manager returned.
func (e *ItemEncryptor) checkEncryptionMaterials(m *esdk.EncryptionMaterials, ec map[string]string) error {
	const prefix = "the materials manager returned "
	switch {
	case m == nil:
		return errors.New(prefix + "no materials")
	case !m.Suite.DBE():
		return fmt.Errorf(prefix+"suite %v, which is not a DB-ESDK suite", m.Suite)
	case len(m.DataKey()) != m.Suite.DataKeyLen():
		return errors.New(prefix + "no data key, or one of the wrong length")
	case len(m.EncryptedDataKeys) == 0 || len(m.EncryptedDataKeys) > e.cfg.maxEDKs:
		return fmt.Errorf(prefix+"%d encrypted data keys; the item encryptor allows 1 to %d (see WithMaxEncryptedDataKeys)", len(m.EncryptedDataKeys), e.cfg.maxEDKs)
	case len(m.SymmetricSigningKeys()) != len(m.EncryptedDataKeys):
		return errors.New(prefix + "encrypted data keys without their symmetric signing keys")
	case m.Suite.Signing() && (m.SigningKey() == nil || m.EncryptionContext[esdk.PublicKeyContextKey] == ""):
		return errors.New(prefix + "no signing key, or no verification key in the encryption context")
	case !m.Suite.Signing() && m.SigningKey() != nil:
		return errors.New(prefix + "a signing key for a suite without signatures")
	}
	for k, v := range ec {
		if got, ok := m.EncryptionContext[k]; !ok || got != v {
			return fmt.Errorf(prefix+"an encryption context that lacks or changed %q", k)
		}
	}
	return nil
}

// Encryption context keys of the DB-ESDK's item base context.
const (
	contextTable     = "aws-crypto-table-name"
	contextPartition = "aws-crypto-partition-name"
	contextSort      = "aws-crypto-sort-name"
	contextAttr      = "aws-crypto-attr."
	contextLegend    = "aws-crypto-legend"
)

// encryptionContext returns the encryption context the DB-ESDK binds to an
// item of the given header version: the item base context (encrypt-item.md)
// and, for version 2, the value of every SignAndIncludeInEncryptionContext
// field with the legend of their types (encrypt-path-structure.md).
func (e *ItemEncryptor) encryptionContext(version byte, item map[string]types.AttributeValue, fields []field) (map[string]string, error) {
	ec := make(map[string]string, 8)
	ec[contextTable] = e.cfg.table
	ec[contextPartition] = e.cfg.partitionKey
	if e.cfg.sortKey != "" {
		ec[contextSort] = e.cfg.sortKey
	}
	if version == 1 {
		for _, k := range []string{e.cfg.partitionKey, e.cfg.sortKey} {
			if k == "" {
				continue
			}
			b, t, err := attribute.Append(nil, item[k])
			if err != nil {
				return nil, fmt.Errorf("attribute %q: %v", k, err)
			}
			ec[contextAttr+k] = encodeTerminal(t, b)
		}
		return ec, nil
	}
	var ctxFields []*field
	for i := range fields {
		if fields[i].action == SignAndIncludeInEncryptionContext {
			ctxFields = append(ctxFields, &fields[i])
		}
	}
	// The legend follows the context keys in UTF-8 byte order, which for
	// one prefix is the order of the names' bytes.
	slices.SortFunc(ctxFields, func(a, b *field) int { return strings.Compare(a.name, b.name) })
	legend := make([]byte, 0, len(ctxFields))
	for _, f := range ctxFields {
		var v string
		var l byte
		switch f.typ {
		case attribute.String:
			v, l = string(f.value), 'S'
		case attribute.Number:
			v, l = string(f.value), 'N'
		case attribute.Null:
			v, l = "null", 'L'
		case attribute.Boolean:
			v, l = "false", 'L'
			if len(f.value) == 1 && f.value[0] == 1 {
				v = "true"
			}
		default:
			v, l = encodeTerminal(f.typ, f.value), 'B'
		}
		ec[contextAttr+f.name] = v
		legend = append(legend, l)
	}
	ec[contextLegend] = string(legend)
	return ec, nil
}

// encodeTerminal is base64 of type ID || value.
func encodeTerminal(t attribute.TypeID, value []byte) string {
	b := make([]byte, 2, 2+len(value))
	binary.BigEndian.PutUint16(b, uint16(t))
	return base64.StdEncoding.EncodeToString(append(b, value...))
}

// isLegacyItem reports whether item is in the legacy format.
func (e *ItemEncryptor) isLegacyItem(item map[string]types.AttributeValue) bool {
	if e.cfg.legacy != nil {
		if d, ok := e.cfg.legacy.Encryptor.(LegacyItemDetector); ok {
			return d.IsLegacyItem(item)
		}
	}
	_, desc := item[LegacyMaterialDescriptionName]
	_, sig := item[LegacySignatureName]
	return desc && sig
}

// DecryptItem verifies item, as read from DynamoDB, and returns its
// decrypted form: encrypted attributes decrypted, aws_dbe_head, aws_dbe_foot
// and any other attribute starting with [ReservedPrefix] removed, the
// others unchanged. Which attributes are encrypted is read from the item's
// header, not from the configuration; the configuration only says which
// attributes are signed (all but the unsigned ones), so an attribute added
// to the item after it was written, without being unsigned, makes it fail.
// Items written with either suite are read.
//
// Every failure is an [*ItemError]: for an item that was altered or is
// malformed, or was written for another table or key, its cause is
// [ErrInvalidItem] whatever the check that failed; if no keyring can
// decrypt the item's data key, the keyring's error (errors.Is
// esdk.ErrNoDecryptKey); [ErrPlaintextItem], [ErrLegacyItem], a missing
// key, or too many encrypted data keys otherwise. No decrypted value is
// returned with an error.
//
// A legacy item (see [LegacyOverride]) goes to the LegacyEncryptor, whose
// result and errors are returned as they are.
func (e *ItemEncryptor) DecryptItem(ctx context.Context, item map[string]types.AttributeValue) (map[string]types.AttributeValue, error) {
	if err := e.checkKeys(item); err != nil {
		return nil, e.itemError("decrypt", item, err)
	}
	if e.isLegacyItem(item) {
		if l := e.cfg.legacy; l != nil && l.Policy != ForbidLegacyEncryptForbidLegacyDecrypt {
			return l.Encryptor.DecryptItem(ctx, item)
		}
		return nil, e.itemError("decrypt", item, ErrLegacyItem)
	}
	out, err := e.decrypt(ctx, item)
	if err != nil {
		return nil, e.itemError("decrypt", item, err)
	}
	return out, nil
}

func (e *ItemEncryptor) decrypt(ctx context.Context, item map[string]types.AttributeValue) (map[string]types.AttributeValue, error) {
	headAV, hasHead := item[HeaderName]
	footAV, hasFoot := item[FooterName]
	if !hasHead && !hasFoot {
		return nil, ErrPlaintextItem
	}
	head, ok1 := headAV.(*types.AttributeValueMemberB)
	foot, ok2 := footAV.(*types.AttributeValueMemberB)
	if !ok1 || !ok2 {
		return nil, invalid("header or footer missing or not binary")
	}
	h, partialLen, commitment, err := structure.ParseHeader(head.Value)
	if err != nil {
		return nil, invalid("header")
	}
	if len(h.EDKs) > e.cfg.maxEDKs {
		return nil, fmt.Errorf("the item has %d encrypted data keys; the item encryptor allows at most %d (see WithMaxEncryptedDataKeys)", len(h.EDKs), e.cfg.maxEDKs)
	}
	suite := esdk.Suite(0x6700 | uint16(h.Flavor))
	tags, sig, err := structure.ParseFooter(foot.Value, len(h.EDKs), suite.Signing())
	if err != nil {
		return nil, invalid("footer")
	}

	// The signed attributes, in canonical order, take their actions from
	// the legend.
	fields := make([]field, 0, len(item))
	for name := range item {
		if !e.cfg.unsignedName(name) {
			fields = append(fields, field{name: name, len16: attribute.LenUTF16(name)})
		}
	}
	if len(fields) != len(h.Legend) {
		return nil, invalid("signed attributes and legend differ")
	}
	slices.SortFunc(fields, compareFields)
	ptLen := int64(0)
	buf := make([]byte, 0, 512)
	for i := range fields {
		f := &fields[i]
		av := item[f.name]
		switch h.Legend[i] {
		case structure.LegendEncrypt:
			f.action = EncryptAndSign
			b, ok := av.(*types.AttributeValueMemberB)
			if !ok || len(b.Value) < 2 {
				return nil, invalid("encrypted attribute not binary")
			}
			f.value = b.Value
			ptLen += int64(len(b.Value))
			continue
		case structure.LegendSign:
			f.action = SignOnly
		default:
			f.action = SignAndIncludeInEncryptionContext
		}
		start := len(buf)
		if buf, f.typ, err = attribute.Append(buf, av); err != nil {
			return nil, invalid("signed attribute cannot be serialized")
		}
		f.value = buf[start:len(buf):len(buf)]
	}
	ec, err := e.encryptionContext(h.Version, item, fields)
	if err != nil {
		return nil, invalid("key attribute cannot be serialized")
	}
	stored := make(map[string]string, len(h.Context))
	for _, p := range h.Context {
		stored[p.Key] = p.Value
	}
	edks := make([]esdk.EncryptedDataKey, len(h.EDKs))
	for i, k := range h.EDKs {
		edks[i] = esdk.EncryptedDataKey{ProviderID: k.ProviderID, ProviderInfo: k.ProviderInfo, Ciphertext: k.Ciphertext}
	}
	m, err := e.mm.DecryptionMaterials(ctx, esdk.DecryptionMaterialsRequest{
		Suite:             suite,
		CommitmentPolicy:  esdk.RequireEncryptRequireDecrypt,
		EncryptedDataKeys: edks,
		EncryptionContext: stored,
		ReproducedContext: ec,
	})
	var mismatch *esdk.ContextMismatchError
	switch {
	case errors.As(err, &mismatch), errors.Is(err, esdk.ErrInvalidMessage):
		// A stored pair that contradicts the item, or a bad
		// verification key.
		return nil, invalid("encryption context")
	case err != nil:
		return nil, err
	case m == nil || m.Suite != suite || len(m.DataKey()) != suite.DataKeyLen() || m.SymmetricSigningKey() == nil ||
		suite.Signing() != (m.VerificationKey() != nil):
		return nil, errors.New("the materials manager returned invalid decryption materials")
	}

	keys, err := deriveItemKeys(m.DataKey(), h.MessageID)
	if err != nil {
		return nil, err
	}
	if subtle.ConstantTimeCompare(keys.commitment(head.Value[:partialLen]), commitment) != 1 {
		return nil, invalid("header commitment")
	}
	aad, err := structure.AppendContext(nil, structure.SortPairs(m.EncryptionContext, nil))
	if err != nil {
		return nil, invalid("encryption context")
	}
	hash := keys.canonicalHash(head.Value, aad, e.cfg.table, fields)
	if !keys.checkTags(tags, m.SymmetricSigningKey(), hash) {
		return nil, invalid("recipient tag")
	}
	if sig != nil && !verify(m.VerificationKey(), hash, sig) {
		return nil, invalid("signature")
	}

	out := make(map[string]types.AttributeValue, len(item))
	for name, av := range item {
		if !strings.HasPrefix(name, ReservedPrefix) {
			out[name] = av
		}
	}
	offset := 0
	var path []byte
	var nonce [fieldNonceLen]byte
	for i := range fields {
		f := &fields[i]
		if f.action != EncryptAndSign {
			continue
		}
		aead, err := keys.fieldAEAD(offset, &nonce)
		if err != nil {
			return nil, err
		}
		offset++
		path = f.appendPath(path[:0], e.cfg.table)
		pt, err := aead.Open(nil, nonce[:], f.value[2:], path)
		if err != nil {
			return nil, invalid("encrypted attribute")
		}
		av, err := attribute.Parse(attribute.TypeID(binary.BigEndian.Uint16(f.value)), pt)
		if err != nil {
			return nil, invalid("decrypted attribute")
		}
		out[f.name] = av
	}
	return out, nil
}

// String describes the item encryptor's configuration: table, keys,
// actions and suite; it holds no key.
func (e *ItemEncryptor) String() string {
	var b strings.Builder
	b.WriteString("dbesdk.ItemEncryptor{Table: ")
	b.WriteString(strconv.Quote(e.cfg.table))
	b.WriteString(", PartitionKey: ")
	b.WriteString(strconv.Quote(e.cfg.partitionKey))
	if e.cfg.sortKey != "" {
		b.WriteString(", SortKey: ")
		b.WriteString(strconv.Quote(e.cfg.sortKey))
	}
	b.WriteString(", Suite: ")
	b.WriteString(e.cfg.suite.String())
	fmt.Fprintf(&b, ", Actions: %d", len(e.cfg.actions))
	if e.cfg.legacy != nil {
		b.WriteString(", Legacy: ")
		b.WriteString(e.cfg.legacy.Policy.String())
	}
	b.WriteString("}")
	return b.String()
}

// LogValue logs the configuration, as String does.
func (e *ItemEncryptor) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("table", e.cfg.table),
		slog.String("partition_key", e.cfg.partitionKey),
		slog.String("sort_key", e.cfg.sortKey),
		slog.String("suite", e.cfg.suite.String()),
		slog.Int("actions", len(e.cfg.actions)),
	)
}
