package tokenservice

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// An Authenticator says who sent a request. It reads the credentials of r
// (its headers; the body is not read yet) and returns the caller, or
// [ErrUnauthenticated] (one error for every failure, whatever the cause;
// the cause is logged without the credentials). It may reach the network
// (a JWKS fetch) with r's context. [*APIKeys] and [*JWTAuthenticator] are
// the built-in ones.
type Authenticator interface {
	Authenticate(r *http.Request) (*Principal, error)
}

// ErrUnauthenticated is returned by an [Authenticator] for a request
// without valid credentials; the service answers 401.
var ErrUnauthenticated = errors.New("tokenservice: missing or invalid credentials")

// authError is ErrUnauthenticated with a reason for the log (never a
// credential or a claim's value).
type authError struct{ reason string }

func (e *authError) Error() string        { return ErrUnauthenticated.Error() + ": " + e.reason }
func (e *authError) Is(target error) bool { return target == ErrUnauthenticated }

func unauthenticated(format string, args ...any) error {
	return &authError{reason: fmt.Sprintf(format, args...)}
}

// A Principal is an authenticated caller: who it is, and what it may do
// through its own grants (an API key's) or through [Rights] (groups and
// scopes of a JWT).
type Principal struct {
	// Caller names the caller in the audit trail and the logs: "apikey:"
	// and the key's name, or "jwt:" and the token's subject.
	Caller string
	// Groups and Scopes are the identity provider's, mapped to grants by
	// the service's [Rights].
	Groups []string
	Scopes []string
	// Grants are given to the caller directly (an API key's entry).
	Grants []Grant
}

// apiKeyPrefix starts every API key, so that keys are recognisable (in a
// secret scanner) and told from JWTs.
const apiKeyPrefix = "dmk_"

// APIKeys authenticates requests carrying an API key
// ("Authorization: Bearer dmk_..."), against a file holding only the keys'
// SHA-256 hashes. Build it with [ParseAPIKeys]; mint keys with
// [NewAPIKey].
type APIKeys struct {
	byID map[string]*apiKeyEntry
}

var _ Authenticator = (*APIKeys)(nil)

// apiKeyEntry is one line of an API keys file.
type apiKeyEntry struct {
	ID     string  `json:"id"`
	SHA256 string  `json:"sha256"`
	Name   string  `json:"name"`
	Grants []Grant `json:"grants"`

	hash []byte
}

// NewAPIKey mints an API key for a caller named name with grants, and
// returns the key (give it to the caller; it is shown once and stored
// nowhere) and its entry: one line of an API keys file, holding the key's
// id, the SHA-256 hash of the key, the name and the grants.
func NewAPIKey(name string, grants []Grant) (key string, entry []byte, err error) {
	if err := checkKeyName(name); err != nil {
		return "", nil, err
	}
	if len(grants) == 0 {
		return "", nil, errors.New("tokenservice: NewAPIKey: no grants (a key with no rights can do nothing)")
	}
	e := apiKeyEntry{Name: name}
	for i, g := range grants {
		g.Policies = slices.Clone(g.Policies)
		g.Operations = slices.Clone(g.Operations)
		if err := g.validate(); err != nil {
			return "", nil, fmt.Errorf("tokenservice: NewAPIKey: grant %d: %v", i+1, err)
		}
		e.Grants = append(e.Grants, g)
	}
	var id [8]byte
	var secret [32]byte
	if _, err := rand.Read(id[:]); err != nil {
		return "", nil, err
	}
	if _, err := rand.Read(secret[:]); err != nil {
		return "", nil, err
	}
	e.ID = hex.EncodeToString(id[:])
	key = apiKeyPrefix + e.ID + "_" + base64.RawURLEncoding.EncodeToString(secret[:])
	sum := sha256.Sum256([]byte(key))
	e.SHA256 = hex.EncodeToString(sum[:])
	entry, err = json.Marshal(e)
	if err != nil {
		return "", nil, err
	}
	return key, entry, nil
}

func checkKeyName(name string) error {
	if name == "" || len(name) > 64 {
		return fmt.Errorf("tokenservice: API key name %s must be 1 to 64 characters", strconv.Quote(name))
	}
	for _, c := range []byte(name) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == '@') {
			return fmt.Errorf("tokenservice: API key name %s may hold only ASCII letters, digits and - _ . @", strconv.Quote(name))
		}
	}
	return nil
}

// ParseAPIKeys reads an API keys file: one JSON object per line as
// [NewAPIKey] writes them ({"id", "sha256", "name", "grants"}); blank
// lines and lines starting with # are skipped. Ids and names are unique.
// Errors name the line, never a hash.
func ParseAPIKeys(data []byte) (*APIKeys, error) {
	if len(data) > maxRightsFile {
		return nil, fmt.Errorf("tokenservice: API keys file is larger than %d bytes", maxRightsFile)
	}
	k := &APIKeys{byID: map[string]*apiKeyEntry{}}
	names := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, maxRightsFile)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		var e apiKeyEntry
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&e); err != nil {
			return nil, fmt.Errorf("tokenservice: API keys file, line %d: %s", n, jsonError(err))
		}
		if dec.More() {
			return nil, fmt.Errorf("tokenservice: API keys file, line %d: more than one JSON object", n)
		}
		if err := checkKeyName(e.Name); err != nil {
			return nil, fmt.Errorf("tokenservice: API keys file, line %d: %s", n, strings.TrimPrefix(err.Error(), "tokenservice: "))
		}
		if len(e.ID) != 16 || !isHex(e.ID) {
			return nil, fmt.Errorf("tokenservice: API keys file, line %d: id must be 16 hex digits (mint keys with datamask serve apikey)", n)
		}
		h, err := hex.DecodeString(e.SHA256)
		if err != nil || len(h) != sha256.Size {
			return nil, fmt.Errorf("tokenservice: API keys file, line %d: sha256 must be 64 hex digits", n)
		}
		e.hash = h
		if len(e.Grants) == 0 {
			return nil, fmt.Errorf("tokenservice: API keys file, line %d: key %s has no grants", n, strconv.Quote(e.Name))
		}
		for i := range e.Grants {
			if err := e.Grants[i].validate(); err != nil {
				return nil, fmt.Errorf("tokenservice: API keys file, line %d: key %s, grant %d: %v", n, strconv.Quote(e.Name), i+1, err)
			}
		}
		if k.byID[e.ID] != nil {
			return nil, fmt.Errorf("tokenservice: API keys file, line %d: id %s given twice", n, e.ID)
		}
		if names[e.Name] {
			return nil, fmt.Errorf("tokenservice: API keys file, line %d: name %s given twice", n, strconv.Quote(e.Name))
		}
		names[e.Name] = true
		k.byID[e.ID] = &e
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("tokenservice: API keys file: %v", err)
	}
	if len(k.byID) == 0 {
		return nil, errors.New("tokenservice: API keys file holds no key (mint one with datamask serve apikey)")
	}
	return k, nil
}

func isHex(s string) bool {
	for _, c := range []byte(s) {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// Len returns the number of keys.
func (k *APIKeys) Len() int { return len(k.byID) }

// String names the number of keys, never a hash.
func (k *APIKeys) String() string {
	return "tokenservice.APIKeys(" + strconv.Itoa(len(k.byID)) + " keys)"
}

// dummyHash is compared against when a key's id is unknown, so that
// unknown and known ids take the same time.
var dummyHash = make([]byte, sha256.Size)

// Authenticate checks the request's API key: its id selects the entry,
// and the SHA-256 of the whole key is compared with the entry's hash in
// constant time.
func (k *APIKeys) Authenticate(r *http.Request) (*Principal, error) {
	key, ok := bearer(r)
	if !ok {
		return nil, unauthenticated("no Authorization: Bearer header")
	}
	rest, ok := strings.CutPrefix(key, apiKeyPrefix)
	if !ok || len(rest) < 17 || rest[16] != '_' {
		return nil, unauthenticated("not an API key")
	}
	sum := sha256.Sum256([]byte(key))
	e := k.byID[rest[:16]]
	want := dummyHash
	if e != nil {
		want = e.hash
	}
	if subtle.ConstantTimeCompare(sum[:], want) != 1 || e == nil {
		return nil, unauthenticated("unknown API key")
	}
	return &Principal{Caller: "apikey:" + e.Name, Grants: e.Grants}, nil
}

// bearer returns the credentials of an "Authorization: Bearer" header.
func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, cred, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	cred = strings.TrimSpace(cred)
	return cred, cred != ""
}
