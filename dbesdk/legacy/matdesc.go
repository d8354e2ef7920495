package legacy

import (
	"encoding/binary"
	"errors"
	"maps"
	"slices"
	"unicode/utf8"
)

// The material description (attribute *amzn-ddb-map-desc*) is
//
//	version (4 bytes, 0)
//	then, until the end, pairs of name and value, each a uint32 length and
//	UTF-8 bytes
//
// The Python client writes the pairs sorted by name, the Java client in hash
// map order; readers accept any order. It is not covered by the signature:
// every entry that matters is checked some other way (the wrapped content
// key unwraps or not, Direct KMS algorithms are in the KMS encryption
// context, the encryption mode must be the only one there is).

// Material description entries.
const (
	mdEncryptionMode = "amzn-ddb-map-sym-mode"   // "/CBC/PKCS5Padding"
	mdSigningAlg     = "amzn-ddb-map-signingAlg" // informational: readers use the configured key's algorithm
	mdEnvelopeKey    = "amzn-ddb-env-key"        // base64 of the wrapped content key or KMS ciphertext blob
	mdContentAlg     = "amzn-ddb-env-alg"        // "AES/256"
	mdWrappingAlg    = "amzn-ddb-wrap-alg"       // "AESWrap", "RSA/ECB/OAEPWithSHA-256AndMGF1Padding", "kms"
	mdSignatureAlg   = "amzn-ddb-sig-alg"        // Direct KMS: "HmacSHA256/256"
	mdKMSCoverage    = "aws-kms-ec-attr"         // Direct KMS: "*keys*"

	encryptionModeCBC = "/CBC/PKCS5Padding"
)

// reservedMD reports whether a material description entry is one the
// providers write themselves, which users may not set.
func reservedMD(name string) bool {
	switch name {
	case mdEncryptionMode, mdSigningAlg, mdEnvelopeKey, mdContentAlg, mdWrappingAlg, mdSignatureAlg, mdKMSCoverage:
		return true
	}
	return false
}

var errMaterialDescription = errors.New("malformed material description")

// parseMaterialDescription parses a serialized material description. It
// refuses an unknown version, truncated pairs, text that is not UTF-8 and a
// name given twice (readers that keep the first and the last would
// disagree). The map it returns holds at most len(data)/8 entries.
func parseMaterialDescription(data []byte) (map[string]string, error) {
	if len(data) < 4 || binary.BigEndian.Uint32(data) != 0 {
		return nil, errMaterialDescription
	}
	d := decoder{b: data[4:]}
	md := make(map[string]string, len(d.b)/8)
	for len(d.b) > 0 {
		name, ok := d.lv()
		if !ok || !utf8.Valid(name) {
			return nil, errMaterialDescription
		}
		value, ok := d.lv()
		if !ok || !utf8.Valid(value) {
			return nil, errMaterialDescription
		}
		if _, dup := md[string(name)]; dup {
			return nil, errMaterialDescription
		}
		md[string(name)] = string(value)
	}
	return md, nil
}

// appendMaterialDescription appends md serialized with its entries sorted
// by name, as the Python client writes it.
func appendMaterialDescription(b []byte, md map[string]string) []byte {
	b = append(b, 0, 0, 0, 0)
	for _, name := range slices.Sorted(maps.Keys(md)) {
		b = appendLVString(b, name)
		b = appendLVString(b, md[name])
	}
	return b
}
