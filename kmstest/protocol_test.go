package kmstest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

const testAuth = "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/kms/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc"

// rawRequest sends one request to srv and returns status, headers and the
// decoded JSON body.
func rawRequest(t *testing.T, srv *Server, method string, header map[string]string, body string) (int, http.Header, map[string]any) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, srv.URL()+"/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil && resp.StatusCode != http.StatusOK {
		t.Fatalf("%s response (HTTP %d) is not JSON: %v", method, resp.StatusCode, err)
	}
	return resp.StatusCode, resp.Header, out
}

func headers(op string) map[string]string {
	return map[string]string{
		"X-Amz-Target":  "TrentService." + op,
		"Content-Type":  "application/x-amz-json-1.1",
		"Authorization": testAuth,
	}
}

func with(h map[string]string, k, v string) map[string]string {
	out := map[string]string{}
	for a, b := range h {
		out[a] = b
	}
	if v == "" {
		delete(out, k)
	} else {
		out[k] = v
	}
	return out
}

// TestProtocol checks the framing of the KMS JSON 1.1 protocol: what a
// request must carry and how errors come back.
func TestProtocol(t *testing.T) {
	srv := Start(t)
	key := srv.CreateKey()
	keyJSON := `{"KeyId":"` + key + `"}`
	big := `{"KeyId":"` + key + `","Plaintext":"` + strings.Repeat("A", maxRequestBody) + `"}`
	tests := []struct {
		name     string
		method   string
		header   map[string]string
		body     string
		status   int
		typ      string // "" for success
		contains string // in the message
	}{
		{"DescribeKey", "POST", headers("DescribeKey"), keyJSON, 200, "", ""},
		{"JSON1.0", "POST", with(headers("DescribeKey"), "Content-Type", "application/x-amz-json-1.0"), keyJSON, 200, "", ""},
		{"ContentTypeParams", "POST", with(headers("DescribeKey"), "Content-Type", "application/x-amz-json-1.1; charset=utf-8"), keyJSON, 200, "", ""},
		{"GET", "GET", headers("DescribeKey"), "", 405, "UnknownOperationException", "POST"},
		{"NoTarget", "POST", with(headers("DescribeKey"), "X-Amz-Target", ""), keyJSON, 400, "UnknownOperationException", "X-Amz-Target"},
		{"OtherService", "POST", with(headers("DescribeKey"), "X-Amz-Target", "DynamoDB_20120810.GetItem"), keyJSON, 400, "UnknownOperationException", ""},
		{"UnservedOperation", "POST", headers("ScheduleKeyDeletion"), keyJSON, 400, "UnknownOperationException", "ScheduleKeyDeletion"},
		{"ReEncryptNoDestination", "POST", headers("ReEncrypt"), `{"CiphertextBlob":"eA=="}`, 400, "ValidationException", "destinationKeyId"},
		{"ReEncryptNoCiphertext", "POST", headers("ReEncrypt"), `{"DestinationKeyId":"` + key + `"}`, 400, "ValidationException", "ciphertextBlob"},
		{"ReEncryptNotABlob", "POST", headers("ReEncrypt"), `{"DestinationKeyId":"` + key + `","CiphertextBlob":"eA=="}`, 400, "InvalidCiphertextException", ""},
		{"WithoutPlaintextNoSize", "POST", headers("GenerateDataKeyWithoutPlaintext"), keyJSON, 400, "ValidationException", "number of bytes"},
		{"NoContentType", "POST", with(headers("DescribeKey"), "Content-Type", ""), keyJSON, 400, "SerializationException", "Content-Type"},
		{"JSONContentType", "POST", with(headers("DescribeKey"), "Content-Type", "application/json"), keyJSON, 400, "SerializationException", "Content-Type"},
		{"NoAuthorization", "POST", with(headers("DescribeKey"), "Authorization", ""), keyJSON, 400, "MissingAuthenticationTokenException", ""},
		{"SigV2", "POST", with(headers("DescribeKey"), "Authorization", "AWS AKID:sig"), keyJSON, 400, "IncompleteSignatureException", ""},
		{"NoCredential", "POST", with(headers("DescribeKey"), "Authorization", "AWS4-HMAC-SHA256 Signature=abc"), keyJSON, 400, "IncompleteSignatureException", ""},
		{"OtherRegion", "POST", with(headers("DescribeKey"), "Authorization", strings.Replace(testAuth, "us-east-1", "eu-west-1", 1)), keyJSON, 400, "InvalidSignatureException", "eu-west-1"},
		{"OtherService", "POST", with(headers("DescribeKey"), "Authorization", strings.Replace(testAuth, "/kms/", "/s3/", 1)), keyJSON, 400, "InvalidSignatureException", "kms"},
		{"AccessKeyWithSlash", "POST", with(headers("DescribeKey"), "Authorization", strings.Replace(testAuth, "AKID", "A/K/I/D", 1)), keyJSON, 200, "", ""},
		{"BadJSON", "POST", headers("DescribeKey"), `{"KeyId":`, 400, "SerializationException", "not valid JSON"},
		{"WrongType", "POST", headers("DescribeKey"), `{"KeyId":42}`, 400, "SerializationException", `"KeyId"`},
		{"BadBase64", "POST", headers("Encrypt"), `{"KeyId":"` + key + `","Plaintext":"!!!!"}`, 400, "SerializationException", "base64"},
		{"ContextNotStrings", "POST", headers("Encrypt"), `{"KeyId":"` + key + `","Plaintext":"eA==","EncryptionContext":{"a":1}}`, 400, "SerializationException", "EncryptionContext"},
		{"EmptyBody", "POST", headers("DescribeKey"), ``, 400, "ValidationException", "keyId"},
		{"NullKeyId", "POST", headers("Encrypt"), `{"KeyId":null,"Plaintext":"eA=="}`, 400, "ValidationException", "keyId"},
		{"LongKeyId", "POST", headers("DescribeKey"), `{"KeyId":"` + strings.Repeat("k", 2049) + `"}`, 400, "ValidationException", "2048"},
		{"TooLarge", "POST", headers("Encrypt"), big, 413, "SerializationException", "larger"},
		{"Recipient", "POST", headers("GenerateDataKey"), `{"KeyId":"` + key + `","KeySpec":"AES_256","Recipient":{"AttestationDocument":"eA=="}}`, 400, "UnsupportedOperationException", "Recipient"},
		{"RecipientNull", "POST", headers("GenerateDataKey"), `{"KeyId":"` + key + `","KeySpec":"AES_256","Recipient":null}`, 200, "", ""},
		{"UnknownFieldsIgnored", "POST", headers("DescribeKey"), `{"KeyId":"` + key + `","Future":true}`, 200, "", ""},
		{"ARNNotKMS", "POST", headers("DescribeKey"), `{"KeyId":"arn:aws:s3:::bucket"}`, 400, "NotFoundException", "Invalid arn"},
		{"ARNNotKey", "POST", headers("DescribeKey"), `{"KeyId":"arn:aws:kms:us-east-1:111122223333:grant/x"}`, 400, "NotFoundException", "Invalid arn"},
		{"ARNBadUUID", "POST", headers("DescribeKey"), `{"KeyId":"arn:aws:kms:us-east-1:111122223333:key/xyz"}`, 400, "NotFoundException", "Invalid keyId"},
		{"DisableAlias", "POST", headers("DisableKey"), `{"KeyId":"alias/x"}`, 400, "NotFoundException", "Invalid keyId"},
		{"DisableAliasARN", "POST", headers("DisableKey"), `{"KeyId":"arn:aws:kms:us-east-1:111122223333:alias/x"}`, 400, "NotFoundException", "Invalid keyId"},
		{"CreateKeyOrigin", "POST", headers("CreateKey"), `{"Origin":"EXTERNAL"}`, 400, "UnsupportedOperationException", "Origin"},
		{"CreateKeyMultiRegion", "POST", headers("CreateKey"), `{"MultiRegion":true}`, 400, "UnsupportedOperationException", "multi-Region"},
		{"CreateKeySpec", "POST", headers("CreateKey"), `{"KeySpec":"RSA_2048"}`, 400, "UnsupportedOperationException", "RSA_2048"},
		{"CreateKeyDescription", "POST", headers("CreateKey"), `{"Description":"` + strings.Repeat("d", 8193) + `"}`, 400, "ValidationException", "8192"},
		{"CreateKeyPolicyIgnored", "POST", headers("CreateKey"), `{"Policy":"{}","Tags":[{"TagKey":"a","TagValue":"b"}],"KeyUsage":"ENCRYPT_DECRYPT","KeySpec":"SYMMETRIC_DEFAULT"}`, 200, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, h, body := rawRequest(t, srv, tt.method, tt.header, tt.body)
			if status != tt.status {
				t.Fatalf("%s: HTTP %d %v, want HTTP %d", tt.name, status, body, tt.status)
			}
			if ct := h.Get("Content-Type"); ct != "application/x-amz-json-1.1" {
				t.Errorf("%s: Content-Type %q, want application/x-amz-json-1.1", tt.name, ct)
			}
			if h.Get("X-Amzn-Requestid") == "" {
				t.Errorf("%s: no x-amzn-RequestId header", tt.name)
			}
			if tt.typ == "" {
				return
			}
			if body["__type"] != tt.typ {
				t.Errorf("%s: __type = %v, want %s", tt.name, body["__type"], tt.typ)
			}
			msg, _ := body["message"].(string)
			if !strings.Contains(msg, tt.contains) {
				t.Errorf("%s: message %q, want it to mention %q", tt.name, msg, tt.contains)
			}
		})
	}
	if got := srv.Calls(OpEncrypt); got != 4 {
		t.Errorf("Calls(Encrypt) = %d, want 4 (every request naming Encrypt counts, failed or not)", got)
	}
}

// TestEmptyResponses: DisableKey and EnableKey answer 200 with an empty
// JSON object, which every SDK accepts for an operation without output.
func TestEmptyResponses(t *testing.T) {
	srv := Start(t)
	key := srv.CreateKey()
	for _, op := range []string{"DisableKey", "EnableKey"} {
		status, _, body := rawRequest(t, srv, "POST", headers(op), `{"KeyId":"`+key+`"}`)
		if status != 200 || len(body) != 0 {
			t.Errorf("%s = HTTP %d %v, want HTTP 200 {}", op, status, body)
		}
	}
}

// TestErrorsHoldNoPayload sends a plaintext through every error path that
// reads the body and checks no error message echoes it.
func TestErrorsHoldNoPayload(t *testing.T) {
	srv := Start(t)
	key := srv.CreateKey()
	const secret = "SUPERSECRETPAYLOAD"
	b64 := base64.StdEncoding.EncodeToString([]byte(secret))
	// Parameters such as KeySpec are echoed in messages, as AWS does;
	// plaintext, ciphertext and context values never are.
	bodies := map[string]string{
		"Encrypt":         `{"KeyId":"` + key + `","Plaintext":"` + b64 + `","EncryptionAlgorithm":"ROT13"}`,
		"Decrypt":         `{"CiphertextBlob":"` + b64 + `","EncryptionContext":{"k":"` + secret + `"}}`,
		"GenerateDataKey": `{"KeyId":"` + key + `","KeySpec":"AES_512","EncryptionContext":{"k":"` + secret + `"}}`,
		"DescribeKey":     `{"KeyId":"` + key + `", "X": ` + secret + `}`,
		"CreateKey":       `{"Description":"` + secret + `", "KeyUsage": 1}`,
	}
	for op, body := range bodies {
		_, _, out := rawRequest(t, srv, "POST", headers(op), body)
		msg, _ := out["message"].(string)
		if strings.Contains(msg, secret) || strings.Contains(msg, b64) {
			t.Errorf("%s error message %q holds the payload", op, msg)
		}
		if out["__type"] == nil {
			t.Errorf("%s = %v, want an error", op, out)
		}
	}
}

// TestAbandoned checks from inside that a request whose client went away
// during the latency is not served.
func TestAbandoned(t *testing.T) {
	srv := Start(t, WithLatency(time.Minute))
	key := srv.CreateKey()
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "POST", srv.URL(), strings.NewReader(`{"KeyId":"`+key+`","Plaintext":"eA=="}`))
	for k, v := range headers("Encrypt") {
		req.Header.Set(k, v)
	}
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatal("request with a 50ms deadline against a 1m latency succeeded")
	}
	deadline := time.Now().Add(5 * time.Second)
	for srv.abandoned.Load() != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("abandoned = %d after 5s, want 1", srv.abandoned.Load())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// FuzzHandler sends arbitrary operations and bodies through the handler: it
// must never panic, and must always answer JSON with a KMS status.
func FuzzHandler(f *testing.F) {
	srv, err := NewServer()
	if err != nil {
		f.Fatal(err)
	}
	defer srv.Close()
	key := srv.CreateKey()
	blob := sealBlob(srv.order[0].aead, srv.order[0].id, []byte("x"), nil)
	seeds := []struct{ op, body string }{
		{"Encrypt", `{"KeyId":"` + key + `","Plaintext":"eA=="}`},
		{"Decrypt", `{"CiphertextBlob":"` + base64.StdEncoding.EncodeToString(blob) + `"}`},
		{"GenerateDataKey", `{"KeyId":"` + key + `","NumberOfBytes":32,"EncryptionContext":{"a":"b"}}`},
		{"DescribeKey", `{"KeyId":"alias/x"}`},
		{"CreateKey", `{}`},
		{"DisableKey", `{"KeyId":"` + key + `"}`},
		{"Nope", `[]`},
	}
	for _, s := range seeds {
		f.Add(s.op, []byte(s.body))
	}
	h := handler{srv}
	f.Fuzz(func(t *testing.T, op string, body []byte) {
		req := httptest.NewRequest("POST", "/", bytes.NewReader(body))
		for k, v := range headers(op) {
			req.Header.Set(k, v)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 && (rec.Code < 400 || rec.Code > 599) {
			t.Fatalf("status %d", rec.Code)
		}
		var out map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
			t.Fatalf("response %q is not a JSON object: %v", rec.Body.String(), err)
		}
		if rec.Code != 200 {
			if typ, _ := out["__type"].(string); typ == "" {
				t.Fatalf("error response %q has no __type", rec.Body.String())
			}
		}
		srv.EnableKey(key) // a fuzzed DisableKey must not starve the other inputs
	})
}

// FuzzAuthorization checks the Authorization parser never panics and
// accepts a header only if its credential scope names the server's Region
// and kms.
func FuzzAuthorization(f *testing.F) {
	s := &Server{region: "us-east-1"}
	f.Add(testAuth)
	f.Add(strings.Replace(testAuth, "us-east-1", "eu-west-1", 1))
	f.Add("AWS4-HMAC-SHA256 Credential=/////aws4_request")
	f.Add("AWS4-HMAC-SHA256 Credential=a/b/us-east-1/kms/aws4_request,Credential=x")
	f.Add("")
	f.Fuzz(func(t *testing.T, auth string) {
		aerr := s.checkAuthorization(auth)
		if aerr != nil {
			if aerr.Status != http.StatusBadRequest || aerr.Type == "" {
				t.Fatalf("checkAuthorization(%q) = %+v, want a 400 with a type", auth, aerr)
			}
			return
		}
		if !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 ") || !strings.Contains(auth, "/us-east-1/kms/aws4_request") {
			t.Fatalf("checkAuthorization(%q) accepted a header without a us-east-1 kms scope", auth)
		}
	})
}
