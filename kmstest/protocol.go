package kmstest

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"time"
)

// apiError is a KMS error response.
type apiError struct {
	Type    string
	Status  int
	Message string
}

func errorf(typ string, status int, format string, args ...any) *apiError {
	return &apiError{Type: typ, Status: status, Message: fmt.Sprintf(format, args...)}
}

func validationf(format string, args ...any) *apiError {
	return errorf("ValidationException", http.StatusBadRequest, format, args...)
}

func notFoundf(format string, args ...any) *apiError {
	return errorf("NotFoundException", http.StatusBadRequest, format, args...)
}

// Status codes are those of the KMS service model.
var (
	errInvalidCiphertext = &apiError{"InvalidCiphertextException", http.StatusBadRequest,
		"kmstest: the ciphertext is not one this server made, was altered, or its encryption context differs"}
	errIncorrectKey = &apiError{"IncorrectKeyException", http.StatusBadRequest,
		"The key ID in the request does not identify a KMS key that can perform this operation."}
	errDryRun = &apiError{"DryRunOperationException", http.StatusPreconditionFailed,
		"The request would have succeeded, but the DryRun option is set."}
)

func disabled(k *key) *apiError {
	return errorf("DisabledException", http.StatusConflict, "%s is disabled.", k.arn)
}

// handler serves the KMS JSON 1.1 protocol for a Server.
type handler struct{ s *Server }

// ServeHTTP checks the request's framing (POST, X-Amz-Target, content type,
// a SigV4 Authorization header scoped to the server's Region and kms), waits
// out any injected latency, answers with any injected fault, and otherwise
// serves the operation.
func (h handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s := h.s
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		writeError(w, errorf("ServiceUnavailableException", http.StatusServiceUnavailable, "kmstest: the server is closing"))
		return
	}
	s.inflight.Add(1)
	s.mu.Unlock()
	defer s.inflight.Done()

	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, errorf("UnknownOperationException", http.StatusMethodNotAllowed,
			"kmstest: KMS requests are POST requests with an X-Amz-Target header, not %s", r.Method))
		return
	}
	target := r.Header.Get("X-Amz-Target")
	name, ok := strings.CutPrefix(target, "TrentService.")
	op := Op(name)
	if !ok || !op.valid() {
		writeError(w, errorf("UnknownOperationException", http.StatusBadRequest,
			"kmstest: X-Amz-Target %q names no operation this fake serves (TrentService. followed by one of %v)", target, ops))
		return
	}

	s.mu.Lock()
	s.calls[op]++
	latency := s.latency
	s.mu.Unlock()

	rec := Request{Op: op}
	resp, aerr := h.serve(w, r, op, latency, &rec)
	if aerr == errAbandoned {
		s.abandoned.Add(1)
		rec.Error = "client went away"
		s.record(rec)
		return
	}
	if aerr != nil {
		rec.Error = aerr.Type
		s.record(rec)
		writeError(w, aerr)
		return
	}
	s.record(rec)
	writeJSON(w, http.StatusOK, resp)
}

// errAbandoned marks a request whose client went away (or whose server is
// closing) before it was served: nothing is written back.
var errAbandoned = &apiError{Type: "abandoned"}

func (h handler) serve(w http.ResponseWriter, r *http.Request, op Op, latency time.Duration, rec *Request) (any, *apiError) {
	s := h.s
	if aerr := checkContentType(r.Header.Get("Content-Type")); aerr != nil {
		return nil, aerr
	}
	if aerr := s.checkAuthorization(r.Header.Get("Authorization")); aerr != nil {
		return nil, aerr
	}
	ctx := r.Context()
	// Read the body first: only then does net/http watch the connection
	// and cancel ctx when the client goes away.
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequestBody))
	if err != nil {
		if ctx.Err() != nil {
			return nil, errAbandoned
		}
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, errorf("SerializationException", http.StatusRequestEntityTooLarge,
				"kmstest: request body larger than %d bytes", maxRequestBody)
		}
		return nil, errorf("SerializationException", http.StatusBadRequest, "kmstest: reading request body: %v", err)
	}
	if ctx.Err() != nil {
		return nil, errAbandoned
	}
	run := prepare(op, body, rec, s)
	if latency > 0 {
		t := time.NewTimer(latency)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, errAbandoned
		case <-s.done:
			t.Stop()
			return nil, errAbandoned
		}
	}
	s.mu.Lock()
	if q := s.faults[op]; len(q) > 0 {
		f := q[0]
		s.faults[op] = q[1:]
		s.mu.Unlock()
		return nil, &apiError{Type: f.Type, Status: f.Status, Message: f.Message}
	}
	s.mu.Unlock()
	return run(ctx)
}

// prepare decodes the request body of op, records its fields in rec, and
// returns the function that serves it (or returns the decoding error).
func prepare(op Op, body []byte, rec *Request, s *Server) func(context.Context) (any, *apiError) {
	switch op {
	case OpCreateKey:
		return decode(body, rec, s.createKey)
	case OpDescribeKey:
		return decode(body, rec, s.describeKey)
	case OpGenerateDataKey:
		return decode(body, rec, s.generateDataKey)
	case OpGenerateDataKeyWithoutPlaintext:
		return decode(body, rec, s.generateDataKeyWithoutPlaintext)
	case OpEncrypt:
		return decode(body, rec, s.encrypt)
	case OpDecrypt:
		return decode(body, rec, s.decrypt)
	case OpReEncrypt:
		return decode(body, rec, s.reEncrypt)
	case OpDisableKey:
		return decode(body, rec, s.disableKey)
	case OpEnableKey:
		return decode(body, rec, s.enableKey)
	}
	panic("kmstest: unhandled operation " + string(op)) // unreachable: op.valid()
}

// recordable is implemented by requests that carry fields worth recording.
type recordable interface{ fill(*Request) }

func decode[In any, Out any](body []byte, rec *Request, run func(context.Context, *In) (Out, *apiError)) func(context.Context) (any, *apiError) {
	in := new(In)
	if len(body) == 0 {
		body = []byte("{}")
	}
	if err := json.Unmarshal(body, in); err != nil {
		aerr := errorf("SerializationException", http.StatusBadRequest, "kmstest: %s request body: %s", rec.Op, describeJSONError(err))
		return func(context.Context) (any, *apiError) { return nil, aerr }
	}
	if r, ok := any(in).(recordable); ok {
		r.fill(rec)
	}
	return func(ctx context.Context) (any, *apiError) {
		out, aerr := run(ctx, in)
		if aerr != nil {
			return nil, aerr
		}
		if ctx.Err() != nil {
			return nil, errAbandoned
		}
		return out, nil
	}
}

// describeJSONError says what is wrong with a request body without quoting
// any of it: bodies hold plaintext.
func describeJSONError(err error) string {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var b64 base64.CorruptInputError
	switch {
	case errors.As(err, &syntax):
		return fmt.Sprintf("not valid JSON (at byte %d)", syntax.Offset)
	case errors.As(err, &typ):
		return fmt.Sprintf("field %q must be a JSON %s", typ.Field, jsonKind(typ.Type))
	case errors.As(err, &b64):
		return "a blob field is not standard base64"
	default:
		return "not a JSON object of the operation's fields"
	}
}

func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return "string of standard base64"
		}
		return "array"
	case reflect.Map, reflect.Struct:
		return "object"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int32, reflect.Int64:
		return "integer"
	case reflect.Pointer:
		return jsonKind(t.Elem())
	}
	return "value of another type"
}

func checkContentType(ct string) *apiError {
	mt, _, err := mime.ParseMediaType(ct)
	if err == nil && (mt == "application/x-amz-json-1.1" || mt == "application/x-amz-json-1.0") {
		return nil
	}
	return errorf("SerializationException", http.StatusBadRequest,
		"kmstest: Content-Type %q is not application/x-amz-json-1.1", ct)
}

// checkAuthorization checks that a request is signed with SigV4 for the
// server's Region and the kms service. It checks no signature: any
// credentials work. A wrong Region fails here as it fails in AWS, so a
// misconfigured client is caught by the fake too.
func (s *Server) checkAuthorization(auth string) *apiError {
	if auth == "" {
		return errorf("MissingAuthenticationTokenException", http.StatusBadRequest, "Missing Authentication Token")
	}
	rest, ok := strings.CutPrefix(auth, "AWS4-HMAC-SHA256 ")
	if !ok {
		return errorf("IncompleteSignatureException", http.StatusBadRequest,
			"kmstest: Authorization header is not AWS4-HMAC-SHA256 (SigV4)")
	}
	var scope string
	for part := range strings.SplitSeq(rest, ",") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(part), "Credential="); ok {
			scope = v
		}
	}
	// AKID/DATE/REGION/SERVICE/aws4_request; the access key id may not
	// contain "/", so split from the end.
	f := strings.Split(scope, "/")
	if len(f) < 5 || f[len(f)-1] != "aws4_request" {
		return errorf("IncompleteSignatureException", http.StatusBadRequest,
			"kmstest: Authorization header has no Credential=AKID/DATE/REGION/kms/aws4_request")
	}
	region, service := f[len(f)-3], f[len(f)-2]
	if service != "kms" {
		return errorf("InvalidSignatureException", http.StatusBadRequest,
			"Credential should be scoped to correct service: 'kms'.")
	}
	if region != s.region {
		return errorf("InvalidSignatureException", http.StatusBadRequest,
			"Credential should be scoped to a valid region, not '%s'. (kmstest: this server is %s)", region, s.region)
	}
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		panic("kmstest: encoding response: " + err.Error()) // unreachable: plain structs
	}
	h := w.Header()
	h.Set("Content-Type", "application/x-amz-json-1.1")
	h.Set("X-Amzn-Requestid", newKeyUUID().String())
	w.WriteHeader(status)
	w.Write(body)
}

func writeError(w http.ResponseWriter, e *apiError) {
	writeJSON(w, e.Status, struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}{e.Type, e.Message})
}

func (s *Server) record(r Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.log) == maxLog {
		s.log = slices.Delete(s.log, 0, 1)
	}
	s.log = append(s.log, r)
}

// lookupLocked resolves a KeyId as AWS KMS does: a key id or key ARN, and
// for cryptographic operations an alias name or alias ARN (the fake has no
// aliases, so those are never found).
func (s *Server) lookupLocked(keyID string, aliases bool) (*key, *apiError) {
	if keyID == "" {
		return nil, validationf("1 validation error detected: Value null at 'keyId' failed to satisfy constraint: Member must not be null")
	}
	if len(keyID) > 2048 {
		return nil, validationf("1 validation error detected: Value at 'keyId' failed to satisfy constraint: Member must have length less than or equal to 2048")
	}
	id := keyID
	if rest, ok := strings.CutPrefix(keyID, "arn:"); ok {
		f := strings.SplitN(rest, ":", 5) // partition, service, region, account, resource
		if len(f) != 5 || f[1] != "kms" {
			return nil, notFoundf("Invalid arn %s", keyID)
		}
		if strings.HasPrefix(f[4], "alias/") {
			if !aliases {
				return nil, notFoundf("Invalid keyId %s", keyID)
			}
			return nil, notFoundf("Alias %s is not found.", keyID)
		}
		res, ok := strings.CutPrefix(f[4], "key/")
		if !ok {
			return nil, notFoundf("Invalid arn %s", keyID)
		}
		if f[0] != s.partition || f[2] != s.region || f[3] != s.account {
			return nil, notFoundf("Key '%s' does not exist", keyID)
		}
		id = res
	} else if strings.HasPrefix(keyID, "alias/") {
		if !aliases {
			return nil, notFoundf("Invalid keyId %s", keyID)
		}
		return nil, notFoundf("Alias arn:%s:kms:%s:%s:%s is not found.", s.partition, s.region, s.account, keyID)
	}
	u, ok := parseKeyUUID(id)
	if !ok {
		return nil, notFoundf("Invalid keyId %s", keyID)
	}
	k := s.keys[u]
	if k == nil {
		return nil, notFoundf("Key '%s' does not exist", s.keyARN(id))
	}
	return k, nil
}

func (s *Server) lookup(keyID string, aliases bool) (*key, bool, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, aerr := s.lookupLocked(keyID, aliases)
	if aerr != nil {
		return nil, false, aerr
	}
	return k, k.enabled, nil
}

// Request and response shapes, named and typed as in the KMS API.

type keyMetadata struct {
	AWSAccountID          string   `json:"AWSAccountId"`
	KeyID                 string   `json:"KeyId"`
	Arn                   string   `json:"Arn"`
	CreationDate          float64  `json:"CreationDate"` // seconds since the epoch, as the protocol sends timestamps
	Enabled               bool     `json:"Enabled"`
	Description           string   `json:"Description"`
	KeyUsage              string   `json:"KeyUsage"`
	KeyState              string   `json:"KeyState"`
	Origin                string   `json:"Origin"`
	KeyManager            string   `json:"KeyManager"`
	CustomerMasterKeySpec string   `json:"CustomerMasterKeySpec"`
	KeySpec               string   `json:"KeySpec"`
	EncryptionAlgorithms  []string `json:"EncryptionAlgorithms"`
	MultiRegion           bool     `json:"MultiRegion"`
}

func (s *Server) metadata(k *key, enabled bool) keyMetadata {
	state := "Enabled"
	if !enabled {
		state = "Disabled"
	}
	return keyMetadata{
		AWSAccountID:          s.account,
		KeyID:                 k.keyID,
		Arn:                   k.arn,
		CreationDate:          float64(k.created.UnixMilli()) / 1000,
		Enabled:               enabled,
		Description:           k.description,
		KeyUsage:              "ENCRYPT_DECRYPT",
		KeyState:              state,
		Origin:                "AWS_KMS",
		KeyManager:            "CUSTOMER",
		CustomerMasterKeySpec: "SYMMETRIC_DEFAULT",
		KeySpec:               "SYMMETRIC_DEFAULT",
		EncryptionAlgorithms:  []string{"SYMMETRIC_DEFAULT"},
	}
}

type createKeyRequest struct {
	Description           string
	KeyUsage              string
	KeySpec               string
	CustomerMasterKeySpec string
	Origin                string
	MultiRegion           bool
	// Policy, Tags and BypassPolicyLockoutSafetyCheck are accepted and ignored.
}

type keyMetadataResponse struct {
	KeyMetadata keyMetadata
}

func (s *Server) createKey(ctx context.Context, in *createKeyRequest) (keyMetadataResponse, *apiError) {
	var none keyMetadataResponse
	if len(in.Description) > 8192 {
		return none, validationf("1 validation error detected: Value at 'description' failed to satisfy constraint: Member must have length less than or equal to 8192")
	}
	if in.KeyUsage != "" && in.KeyUsage != "ENCRYPT_DECRYPT" {
		return none, errorf("UnsupportedOperationException", http.StatusBadRequest,
			"kmstest: KeyUsage %q is not supported: the fake has symmetric encryption keys only (ENCRYPT_DECRYPT)", in.KeyUsage)
	}
	for _, spec := range []string{in.KeySpec, in.CustomerMasterKeySpec} {
		if spec != "" && spec != "SYMMETRIC_DEFAULT" {
			return none, errorf("UnsupportedOperationException", http.StatusBadRequest,
				"kmstest: KeySpec %q is not supported: the fake has SYMMETRIC_DEFAULT keys only", spec)
		}
	}
	if in.Origin != "" && in.Origin != "AWS_KMS" {
		return none, errorf("UnsupportedOperationException", http.StatusBadRequest,
			"kmstest: Origin %q is not supported: the fake makes its own key material (AWS_KMS)", in.Origin)
	}
	if in.MultiRegion {
		return none, errorf("UnsupportedOperationException", http.StatusBadRequest,
			"kmstest: multi-Region keys are not supported")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if ctx.Err() != nil {
		return none, errAbandoned
	}
	if s.created >= maxHTTPKeys {
		return none, errorf("LimitExceededException", http.StatusBadRequest,
			"kmstest: this server already holds %d keys created over HTTP", maxHTTPKeys)
	}
	s.created++
	k := s.createKeyLocked(in.Description)
	return keyMetadataResponse{s.metadata(k, true)}, nil
}

type keyIDRequest struct {
	KeyID       string   `json:"KeyId"`
	GrantTokens []string `json:"GrantTokens"`
}

func (r *keyIDRequest) fill(rec *Request) {
	rec.KeyID = r.KeyID
	rec.GrantTokens = r.GrantTokens
}

func (s *Server) describeKey(_ context.Context, in *keyIDRequest) (keyMetadataResponse, *apiError) {
	if aerr := checkGrantTokens(in.GrantTokens); aerr != nil {
		return keyMetadataResponse{}, aerr
	}
	k, enabled, aerr := s.lookup(in.KeyID, true)
	if aerr != nil {
		return keyMetadataResponse{}, aerr
	}
	return keyMetadataResponse{s.metadata(k, enabled)}, nil
}

type emptyResponse struct{}

func (s *Server) disableKey(ctx context.Context, in *keyIDRequest) (emptyResponse, *apiError) {
	return emptyResponse{}, s.setEnabledHTTP(ctx, in.KeyID, false)
}

func (s *Server) enableKey(ctx context.Context, in *keyIDRequest) (emptyResponse, *apiError) {
	return emptyResponse{}, s.setEnabledHTTP(ctx, in.KeyID, true)
}

func (s *Server) setEnabledHTTP(ctx context.Context, keyID string, enabled bool) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, aerr := s.lookupLocked(keyID, false)
	if aerr != nil {
		return aerr
	}
	if ctx.Err() != nil {
		return errAbandoned
	}
	k.enabled = enabled
	return nil
}

// cryptoRequest holds the fields GenerateDataKey, Encrypt and Decrypt share.
type cryptoRequest struct {
	KeyID             string            `json:"KeyId"`
	EncryptionContext map[string]string `json:"EncryptionContext"`
	GrantTokens       []string          `json:"GrantTokens"`
	DryRun            bool              `json:"DryRun"`
	Recipient         json.RawMessage   `json:"Recipient"`
}

func (r *cryptoRequest) fill(rec *Request) {
	rec.KeyID = r.KeyID
	rec.EncryptionContext = r.EncryptionContext
	rec.GrantTokens = r.GrantTokens
}

func (r *cryptoRequest) check() *apiError {
	if aerr := checkGrantTokens(r.GrantTokens); aerr != nil {
		return aerr
	}
	if len(r.Recipient) > 0 && string(r.Recipient) != "null" {
		return errorf("UnsupportedOperationException", http.StatusBadRequest,
			"kmstest: Recipient (Nitro Enclaves attestation) is not supported")
	}
	return nil
}

func checkGrantTokens(tokens []string) *apiError {
	if len(tokens) > 10 {
		return validationf("1 validation error detected: Value at 'grantTokens' failed to satisfy constraint: Member must have length less than or equal to 10")
	}
	for _, t := range tokens {
		if t == "" || len(t) > 8192 {
			return errorf("InvalidGrantTokenException", http.StatusBadRequest, "kmstest: a grant token must be 1 to 8192 characters")
		}
	}
	return nil
}

func checkAlgorithm(alg string) *apiError {
	switch {
	case alg == "" || alg == "SYMMETRIC_DEFAULT":
		return nil
	case alg == "SM2PKE" || strings.HasPrefix(alg, "RSAES_"):
		return errorf("InvalidKeyUsageException", http.StatusBadRequest,
			"kmstest: %s is not a valid encryption algorithm for a symmetric key (SYMMETRIC_DEFAULT)", alg)
	default:
		return validationf("1 validation error detected: Value '%s' at 'encryptionAlgorithm' failed to satisfy constraint: Member must satisfy enum value set: [SYMMETRIC_DEFAULT, RSAES_OAEP_SHA_1, RSAES_OAEP_SHA_256, SM2PKE]", alg)
	}
}

type generateDataKeyRequest struct {
	cryptoRequest
	NumberOfBytes *int   `json:"NumberOfBytes"`
	KeySpec       string `json:"KeySpec"`
}

type generateDataKeyResponse struct {
	CiphertextBlob []byte
	Plaintext      []byte
	KeyID          string `json:"KeyId"`
}

func (s *Server) generateDataKey(ctx context.Context, in *generateDataKeyRequest) (generateDataKeyResponse, *apiError) {
	var none generateDataKeyResponse
	k, n, aerr := s.checkGenerate(ctx, in)
	if aerr != nil {
		return none, aerr
	}
	plaintext := make([]byte, n)
	rand.Read(plaintext)
	return generateDataKeyResponse{
		CiphertextBlob: sealBlob(k.aead, k.id, plaintext, in.EncryptionContext),
		Plaintext:      plaintext,
		KeyID:          k.arn,
	}, nil
}

type generateDataKeyWithoutPlaintextResponse struct {
	CiphertextBlob []byte
	KeyID          string `json:"KeyId"`
}

// generateDataKeyWithoutPlaintext is GenerateDataKey that returns only the
// encrypted copy of the data key, as AWS KMS does; the plaintext never
// leaves the server.
func (s *Server) generateDataKeyWithoutPlaintext(ctx context.Context, in *generateDataKeyRequest) (generateDataKeyWithoutPlaintextResponse, *apiError) {
	var none generateDataKeyWithoutPlaintextResponse
	k, n, aerr := s.checkGenerate(ctx, in)
	if aerr != nil {
		return none, aerr
	}
	plaintext := make([]byte, n)
	rand.Read(plaintext)
	blob := sealBlob(k.aead, k.id, plaintext, in.EncryptionContext)
	clear(plaintext)
	return generateDataKeyWithoutPlaintextResponse{CiphertextBlob: blob, KeyID: k.arn}, nil
}

// checkGenerate checks a GenerateDataKey or GenerateDataKeyWithoutPlaintext
// request and returns its key and the data key's length.
func (s *Server) checkGenerate(ctx context.Context, in *generateDataKeyRequest) (*key, int, *apiError) {
	if aerr := in.check(); aerr != nil {
		return nil, 0, aerr
	}
	var n int
	switch {
	case in.NumberOfBytes != nil && in.KeySpec != "":
		return nil, 0, validationf("Please specify either number of bytes or key spec.")
	case in.NumberOfBytes != nil:
		n = *in.NumberOfBytes
		if n < 1 {
			return nil, 0, validationf("1 validation error detected: Value '%d' at 'numberOfBytes' failed to satisfy constraint: Member must have value greater than or equal to 1", n)
		}
		if n > 1024 {
			return nil, 0, validationf("1 validation error detected: Value '%d' at 'numberOfBytes' failed to satisfy constraint: Member must have value less than or equal to 1024", n)
		}
	case in.KeySpec == "AES_256":
		n = 32
	case in.KeySpec == "AES_128":
		n = 16
	case in.KeySpec != "":
		return nil, 0, validationf("1 validation error detected: Value '%s' at 'keySpec' failed to satisfy constraint: Member must satisfy enum value set: [AES_256, AES_128]", in.KeySpec)
	default:
		return nil, 0, validationf("Please specify either number of bytes or key spec.")
	}
	k, enabled, aerr := s.lookup(in.KeyID, true)
	if aerr != nil {
		return nil, 0, aerr
	}
	if !enabled {
		return nil, 0, disabled(k)
	}
	if in.DryRun {
		return nil, 0, errDryRun
	}
	if ctx.Err() != nil {
		return nil, 0, errAbandoned
	}
	return k, n, nil
}

type encryptRequest struct {
	cryptoRequest
	Plaintext           []byte
	EncryptionAlgorithm string
}

type encryptResponse struct {
	CiphertextBlob      []byte
	KeyID               string `json:"KeyId"`
	EncryptionAlgorithm string
}

func (s *Server) encrypt(ctx context.Context, in *encryptRequest) (encryptResponse, *apiError) {
	var none encryptResponse
	if aerr := in.check(); aerr != nil {
		return none, aerr
	}
	if len(in.Plaintext) < 1 {
		return none, validationf("1 validation error detected: Value at 'plaintext' failed to satisfy constraint: Member must have length greater than or equal to 1")
	}
	if len(in.Plaintext) > 4096 {
		return none, validationf("1 validation error detected: Value at 'plaintext' failed to satisfy constraint: Member must have length less than or equal to 4096")
	}
	if aerr := checkAlgorithm(in.EncryptionAlgorithm); aerr != nil {
		return none, aerr
	}
	k, enabled, aerr := s.lookup(in.KeyID, true)
	if aerr != nil {
		return none, aerr
	}
	if !enabled {
		return none, disabled(k)
	}
	if in.DryRun {
		return none, errDryRun
	}
	if ctx.Err() != nil {
		return none, errAbandoned
	}
	return encryptResponse{
		CiphertextBlob:      sealBlob(k.aead, k.id, in.Plaintext, in.EncryptionContext),
		KeyID:               k.arn,
		EncryptionAlgorithm: "SYMMETRIC_DEFAULT",
	}, nil
}

type decryptRequest struct {
	cryptoRequest
	CiphertextBlob      []byte
	EncryptionAlgorithm string
}

type decryptResponse struct {
	KeyID               string `json:"KeyId"`
	Plaintext           []byte
	EncryptionAlgorithm string
}

func (s *Server) decrypt(ctx context.Context, in *decryptRequest) (decryptResponse, *apiError) {
	var none decryptResponse
	if aerr := in.check(); aerr != nil {
		return none, aerr
	}
	if aerr := checkBlobLength(in.CiphertextBlob); aerr != nil {
		return none, aerr
	}
	if aerr := checkAlgorithm(in.EncryptionAlgorithm); aerr != nil {
		return none, aerr
	}
	k, plaintext, aerr := s.openCiphertext(in.CiphertextBlob, in.KeyID, in.EncryptionContext)
	if aerr != nil {
		return none, aerr
	}
	if in.DryRun {
		return none, errDryRun
	}
	if ctx.Err() != nil {
		return none, errAbandoned
	}
	return decryptResponse{KeyID: k.arn, Plaintext: plaintext, EncryptionAlgorithm: "SYMMETRIC_DEFAULT"}, nil
}

type reEncryptRequest struct {
	CiphertextBlob                 []byte
	SourceEncryptionContext        map[string]string
	SourceKeyID                    string  `json:"SourceKeyId"`
	DestinationKeyID               *string `json:"DestinationKeyId"`
	DestinationEncryptionContext   map[string]string
	SourceEncryptionAlgorithm      string
	DestinationEncryptionAlgorithm string
	GrantTokens                    []string
	DryRun                         bool
}

func (r *reEncryptRequest) fill(rec *Request) {
	if r.DestinationKeyID != nil {
		rec.KeyID = *r.DestinationKeyID
	}
	rec.EncryptionContext = r.DestinationEncryptionContext
	rec.SourceKeyID = r.SourceKeyID
	rec.SourceEncryptionContext = r.SourceEncryptionContext
	rec.GrantTokens = r.GrantTokens
}

type reEncryptResponse struct {
	CiphertextBlob                 []byte
	SourceKeyID                    string `json:"SourceKeyId"`
	KeyID                          string `json:"KeyId"`
	SourceEncryptionAlgorithm      string
	DestinationEncryptionAlgorithm string
}

// reEncrypt decrypts a blob under its key and source context and encrypts
// the plaintext under the destination key and context, as AWS KMS does,
// without the plaintext leaving the server. A SourceKeyId other than the
// blob's key fails with IncorrectKeyException; a disabled source or
// destination key with DisabledException.
func (s *Server) reEncrypt(ctx context.Context, in *reEncryptRequest) (reEncryptResponse, *apiError) {
	var none reEncryptResponse
	if aerr := checkGrantTokens(in.GrantTokens); aerr != nil {
		return none, aerr
	}
	if in.DestinationKeyID == nil {
		return none, validationf("1 validation error detected: Value null at 'destinationKeyId' failed to satisfy constraint: Member must not be null")
	}
	if aerr := checkBlobLength(in.CiphertextBlob); aerr != nil {
		return none, aerr
	}
	for _, alg := range []string{in.SourceEncryptionAlgorithm, in.DestinationEncryptionAlgorithm} {
		if aerr := checkAlgorithm(alg); aerr != nil {
			return none, aerr
		}
	}
	dst, dstEnabled, aerr := s.lookup(*in.DestinationKeyID, true)
	if aerr != nil {
		return none, aerr
	}
	src, plaintext, aerr := s.openCiphertext(in.CiphertextBlob, in.SourceKeyID, in.SourceEncryptionContext)
	if aerr != nil {
		return none, aerr
	}
	defer clear(plaintext)
	if !dstEnabled {
		return none, disabled(dst)
	}
	if in.DryRun {
		return none, errDryRun
	}
	if ctx.Err() != nil {
		return none, errAbandoned
	}
	return reEncryptResponse{
		CiphertextBlob:                 sealBlob(dst.aead, dst.id, plaintext, in.DestinationEncryptionContext),
		SourceKeyID:                    src.arn,
		KeyID:                          dst.arn,
		SourceEncryptionAlgorithm:      "SYMMETRIC_DEFAULT",
		DestinationEncryptionAlgorithm: "SYMMETRIC_DEFAULT",
	}, nil
}

// Every shape with a KeyId records it.
var (
	_ recordable = (*keyIDRequest)(nil)
	_ recordable = (*cryptoRequest)(nil)
	_ recordable = (*reEncryptRequest)(nil)
)

// checkBlobLength checks a CiphertextBlob's length as KMS does.
func checkBlobLength(blob []byte) *apiError {
	if len(blob) < 1 {
		return validationf("1 validation error detected: Value at 'ciphertextBlob' failed to satisfy constraint: Member must have length greater than or equal to 1")
	}
	if len(blob) > 6144 {
		return validationf("1 validation error detected: Value at 'ciphertextBlob' failed to satisfy constraint: Member must have length less than or equal to 6144")
	}
	return nil
}

// openCiphertext decrypts blob under ec with the key it names, which must
// be keyID's when keyID is given (else IncorrectKeyException) and enabled
// (else DisabledException), as Decrypt and ReEncrypt's source do.
func (s *Server) openCiphertext(blob []byte, keyID string, ec map[string]string) (*key, []byte, *apiError) {
	var want *key
	if keyID != "" {
		k, _, aerr := s.lookup(keyID, true)
		if aerr != nil {
			return nil, nil, aerr
		}
		want = k
	}
	id, ok := blobKeyID(blob)
	if !ok {
		return nil, nil, errInvalidCiphertext
	}
	s.mu.Lock()
	k := s.keys[id]
	enabled := k != nil && k.enabled
	s.mu.Unlock()
	if k == nil {
		// The blob names no key of this server: it was made elsewhere or
		// its key bytes were altered. Either way it does not authenticate.
		return nil, nil, errInvalidCiphertext
	}
	if want != nil && want != k {
		return nil, nil, errIncorrectKey
	}
	if !enabled {
		return nil, nil, disabled(k)
	}
	plaintext, err := openBlob(k.aead, blob, ec)
	if err != nil {
		return nil, nil, errInvalidCiphertext
	}
	return k, plaintext, nil
}
