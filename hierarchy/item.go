package hierarchy

import (
	"fmt"
	"maps"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// The record format of the AWS branch key store (the material providers
// library's branch-key-store.md, "Record Format", and its Structure.dfy):
// every item holds these attributes, and every attribute but "enc" (plus
// "tablename", the logical key store name, which is not stored) is the
// AWS KMS encryption context of the key in "enc".
const (
	fieldBranchKeyID      = "branch-key-id"     // S, the partition key
	fieldType             = "type"              // S, the sort key
	fieldCreateTime       = "create-time"       // S, ISO 8601 UTC to the microsecond
	fieldHierarchyVersion = "hierarchy-version" // N, "1"
	fieldTable            = "tablename"         // the logical key store name: context only, never stored
	fieldKMSARN           = "kms-arn"           // S, the KMS key that protects "enc"
	fieldEnc              = "enc"               // B, the KMS ciphertext of the key
	fieldVersion          = "version"           // S, on the ACTIVE item only: "branch:version:" + version

	typeVersionPrefix = "branch:version:"
	typeActive        = "branch:ACTIVE"
	typeBeacon        = "beacon:ACTIVE"

	// customContextPrefix starts the attribute name of each pair of a
	// branch key's custom encryption context.
	customContextPrefix = "aws-crypto-ec:"

	// hierarchyVersion is the only hierarchy version this package reads
	// and writes.
	hierarchyVersion = "1"

	// timeFormat is the create-time format: ISO 8601, UTC, microseconds.
	timeFormat = "2006-01-02T15:04:05.000000Z"

	// maxCiphertextLen is the longest KMS ciphertext blob.
	maxCiphertextLen = 6144
)

// itemKind is which of the three items of a branch key an item is.
type itemKind int

const (
	kindActive  itemKind = iota + 1 // type "branch:ACTIVE"
	kindVersion                     // type "branch:version:" + version
	kindBeacon                      // type "beacon:ACTIVE"
)

func (k itemKind) String() string {
	switch k {
	case kindActive:
		return "active branch key"
	case kindVersion:
		return "branch key version"
	case kindBeacon:
		return "beacon key"
	}
	return "item"
}

// decryptOnlyContext is the encryption context of a new branch key
// version (its DECRYPT_ONLY item).
func decryptOnlyContext(branchKeyID, version, createTime, logicalName, kmsARN string, custom map[string]string) map[string]string {
	ec := map[string]string{
		fieldBranchKeyID:      branchKeyID,
		fieldType:             typeVersionPrefix + version,
		fieldCreateTime:       createTime,
		fieldTable:            logicalName,
		fieldKMSARN:           kmsARN,
		fieldHierarchyVersion: hierarchyVersion,
	}
	for k, v := range custom {
		ec[customContextPrefix+k] = v
	}
	return ec
}

// activeContext is the encryption context of the ACTIVE item of the
// version whose DECRYPT_ONLY context is ec.
func activeContext(ec map[string]string) map[string]string {
	a := maps.Clone(ec)
	a[fieldVersion] = ec[fieldType]
	a[fieldType] = typeActive
	return a
}

// beaconContext is the encryption context of the beacon key of the branch
// key whose DECRYPT_ONLY context is ec.
func beaconContext(ec map[string]string) map[string]string {
	b := maps.Clone(ec)
	b[fieldType] = typeBeacon
	return b
}

// newVersionContext is the DECRYPT_ONLY context of a new version made from
// the context of the ACTIVE item: same id, custom context and KMS key.
func newVersionContext(active map[string]string, version, createTime string) map[string]string {
	ec := maps.Clone(active)
	delete(ec, fieldVersion)
	ec[fieldType] = typeVersionPrefix + version
	ec[fieldCreateTime] = createTime
	return ec
}

// toItem returns the item storing the key encrypted under context ec: every
// pair but tablename as a string attribute (hierarchy-version as a number),
// and the ciphertext as "enc".
func toItem(ec map[string]string, enc []byte) map[string]types.AttributeValue {
	item := make(map[string]types.AttributeValue, len(ec))
	for k, v := range ec {
		switch k {
		case fieldTable:
		case fieldHierarchyVersion:
			item[k] = &types.AttributeValueMemberN{Value: v}
		default:
			item[k] = &types.AttributeValueMemberS{Value: v}
		}
	}
	item[fieldEnc] = &types.AttributeValueMemberB{Value: enc}
	return item
}

// parsedItem is a branch key store item checked against what was asked for.
type parsedItem struct {
	// context is the AWS KMS encryption context of enc: every attribute
	// but enc, and tablename.
	context map[string]string
	enc     []byte
	kmsARN  keyARN
	// version is the branch key version the item holds (not for a beacon
	// key).
	version string
}

// invalidItem returns an ErrInvalidBranchKeyItem error about the item of
// kind for branch key id. Attribute values are not shown: they are a
// table's contents, written by whoever can write it.
func invalidItem(id string, kind itemKind, format string, args ...any) error {
	return fmt.Errorf("%w: the %v item of branch key %q %s", ErrInvalidBranchKeyItem, kind, id, fmt.Sprintf(format, args...))
}

// parseItem checks item as the item of kind for branch key id (and, for
// kindVersion, version), as the AWS key store does (Structure.dfy's
// BranchKeyItem? and its active, version and beacon variants), and returns
// its encryption context with tablename set to logicalName.
func parseItem(item map[string]types.AttributeValue, id, version string, kind itemKind, logicalName string) (*parsedItem, error) {
	p := &parsedItem{context: make(map[string]string, len(item)+1)}
	for name, av := range item {
		if !utf8.ValidString(name) {
			return nil, invalidItem(id, kind, "has an attribute name that is not UTF-8")
		}
		switch name {
		case fieldEnc:
			b, ok := av.(*types.AttributeValueMemberB)
			if !ok {
				return nil, invalidItem(id, kind, "has an %q attribute that is not binary", name)
			}
			p.enc = b.Value
		case fieldHierarchyVersion:
			n, ok := av.(*types.AttributeValueMemberN)
			if !ok {
				return nil, invalidItem(id, kind, "has a %q attribute that is not a number", name)
			}
			p.context[name] = n.Value
		case fieldTable:
			return nil, invalidItem(id, kind, "has a %q attribute, which the key store never stores", name)
		default:
			s, ok := av.(*types.AttributeValueMemberS)
			if !ok {
				return nil, invalidItem(id, kind, "has a %q attribute that is not a string", name)
			}
			if !utf8.ValidString(s.Value) {
				return nil, invalidItem(id, kind, "has a %q attribute that is not UTF-8", name)
			}
			p.context[name] = s.Value
		}
	}
	for _, name := range []string{fieldBranchKeyID, fieldType, fieldCreateTime, fieldHierarchyVersion, fieldKMSARN} {
		if _, ok := p.context[name]; !ok {
			return nil, invalidItem(id, kind, "has no %q attribute", name)
		}
	}
	if p.enc == nil {
		return nil, invalidItem(id, kind, "has no %q attribute", fieldEnc)
	}
	if len(p.enc) == 0 || len(p.enc) > maxCiphertextLen {
		return nil, invalidItem(id, kind, "has a %d-byte %q attribute, which is no KMS ciphertext", len(p.enc), fieldEnc)
	}
	if p.context[fieldBranchKeyID] != id {
		return nil, invalidItem(id, kind, "names another branch key")
	}
	if hv := p.context[fieldHierarchyVersion]; hv != hierarchyVersion {
		return nil, invalidItem(id, kind, "is of hierarchy version %q; this key store reads version %s only", hv, hierarchyVersion)
	}
	arn, ok := parseKeyARN(p.context[fieldKMSARN])
	if !ok {
		return nil, invalidItem(id, kind, "has a %q attribute that is not a KMS key ARN", fieldKMSARN)
	}
	p.kmsARN = arn
	typ := p.context[fieldType]
	active, hasVersion := p.context[fieldVersion]
	switch kind {
	case kindActive:
		if typ != typeActive || !hasVersion {
			return nil, invalidItem(id, kind, "is not an active branch key item")
		}
		p.version, ok = strings.CutPrefix(active, typeVersionPrefix)
	case kindVersion:
		if typ != typeVersionPrefix+version || hasVersion {
			return nil, invalidItem(id, kind, "is not the item of version %q", version)
		}
		p.version, ok = version, true
	case kindBeacon:
		if typ != typeBeacon || hasVersion {
			return nil, invalidItem(id, kind, "is not a beacon key item")
		}
	}
	if kind != kindBeacon {
		if !ok || p.version == "" {
			return nil, invalidItem(id, kind, "has no branch key version")
		}
		if _, ok := parseUUID(p.version); !ok {
			return nil, invalidItem(id, kind, "has a branch key version that is not a UUID")
		}
	}
	p.context[fieldTable] = logicalName
	return p, nil
}

// customContext returns the custom encryption context stored in a branch
// key's context (the pairs whose key starts with aws-crypto-ec:, prefix
// removed), or nil if there is none.
func customContext(ec map[string]string) map[string]string {
	var custom map[string]string
	for k, v := range ec {
		if name, ok := strings.CutPrefix(k, customContextPrefix); ok {
			if custom == nil {
				custom = map[string]string{}
			}
			custom[name] = v
		}
	}
	return custom
}
