package tokenservice_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/datamask/datamask/tokenservice"
)

// openAPI is the service's OpenAPI document, compiled for checking
// requests and answers against it.
type openAPI struct {
	doc      map[string]any
	compiler *jsonschema.Compiler
	mu       sync.Mutex
	schemas  map[string]*jsonschema.Schema
	seen     map[string]bool // "METHOD PATH STATUS"
}

const openAPIURL = "file:///openapi.json"

func loadOpenAPI(t testing.TB) *openAPI {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(tokenservice.OpenAPI))
	if err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	if err := c.AddResource(openAPIURL, doc); err != nil {
		t.Fatal(err)
	}
	m := doc.(map[string]any)
	if m["openapi"] != "3.1.0" {
		t.Fatalf("openapi.json: openapi %v, want 3.1.0", m["openapi"])
	}
	return &openAPI{doc: m, compiler: c, schemas: map[string]*jsonschema.Schema{}, seen: map[string]bool{}}
}

func pointer(parts ...string) string {
	var b strings.Builder
	for _, p := range parts {
		b.WriteByte('/')
		b.WriteString(strings.ReplaceAll(strings.ReplaceAll(p, "~", "~0"), "/", "~1"))
	}
	return b.String()
}

// schema compiles the schema at a JSON pointer of the document.
func (o *openAPI) schema(t testing.TB, ptr string) *jsonschema.Schema {
	o.mu.Lock()
	defer o.mu.Unlock()
	if s, ok := o.schemas[ptr]; ok {
		return s
	}
	s, err := o.compiler.Compile(openAPIURL + "#" + ptr)
	if err != nil {
		t.Fatalf("compiling the schema at %s: %v", ptr, err)
	}
	o.schemas[ptr] = s
	return s
}

// lookup follows a JSON pointer, and $refs on the way.
func (o *openAPI) lookup(ptr string) (any, string) {
	var v any = o.doc
	parts := strings.Split(ptr, "/")[1:]
	path := ""
	for _, p := range parts {
		p = strings.ReplaceAll(strings.ReplaceAll(p, "~1", "/"), "~0", "~")
		m, ok := v.(map[string]any)
		if !ok {
			return nil, ""
		}
		if ref, ok := m["$ref"].(string); ok {
			r, rp := o.lookup(strings.TrimPrefix(ref, "#"))
			m, _ = r.(map[string]any)
			path = rp
		}
		v = m[p]
		path += pointer(p)
		if v == nil {
			return nil, ""
		}
	}
	if m, ok := v.(map[string]any); ok {
		if ref, ok := m["$ref"].(string); ok {
			return o.lookup(strings.TrimPrefix(ref, "#"))
		}
	}
	return v, path
}

// operations lists the documented "METHOD PATH" pairs and their statuses.
func (o *openAPI) operations() map[string][]string {
	out := map[string][]string{}
	paths := o.doc["paths"].(map[string]any)
	for p, item := range paths {
		for method, op := range item.(map[string]any) {
			var statuses []string
			for st := range op.(map[string]any)["responses"].(map[string]any) {
				statuses = append(statuses, st)
			}
			slices.Sort(statuses)
			out[strings.ToUpper(method)+" "+p] = statuses
		}
	}
	return out
}

// check validates one exchange against the document.
func (o *openAPI) check(t testing.TB, req *http.Request, reqBody []byte, resp *http.Response, respBody []byte) {
	path := req.URL.Path
	paths := o.doc["paths"].(map[string]any)
	item, ok := paths[path].(map[string]any)
	if !ok {
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("openapi: %s %s is not documented, and answered %d", req.Method, path, resp.StatusCode)
		}
		return
	}
	method := strings.ToLower(req.Method)
	if method == "head" {
		method = "get"
	}
	op, ok := item[method].(map[string]any)
	if !ok {
		// A wrong method: 405 with an error body, as documented on the
		// route's operations.
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("openapi: %s %s (undocumented method) answered %d, want 405", req.Method, path, resp.StatusCode)
		}
		o.validate(t, pointer("components", "schemas", "ErrorBody"), respBody, fmt.Sprintf("%s %s 405 body", req.Method, path))
		return
	}
	status := fmt.Sprint(resp.StatusCode)
	o.mu.Lock()
	o.seen[strings.ToUpper(method)+" "+path+" "+status] = true
	o.mu.Unlock()
	opPtr := pointer("paths", path, method)
	// The request body, when the request claims JSON.
	requestValid := true
	if _, ok := op["requestBody"]; ok && strings.HasPrefix(req.Header.Get("Content-Type"), "application/json") && len(reqBody) < 1<<20 {
		var v any
		if err := json.Unmarshal(reqBody, &v); err != nil {
			requestValid = false
		} else {
			_, p := o.lookup(opPtr + pointer("requestBody", "content", "application/json", "schema"))
			if err := o.schema(t, p).Validate(v); err != nil {
				requestValid = false
			}
		}
		if !requestValid && resp.StatusCode < 400 {
			t.Errorf("openapi: %s %s: a request the document refuses was answered %d", req.Method, path, resp.StatusCode)
		}
	}
	// The status, documented for the operation.
	r, rp := o.lookup(opPtr + pointer("responses", status))
	if r == nil {
		t.Errorf("openapi: %s %s answered %d, which the document does not list; body %s", req.Method, path, resp.StatusCode, respBody)
		return
	}
	resp0 := r.(map[string]any)
	content, _ := resp0["content"].(map[string]any)
	ct := resp.Header.Get("Content-Type")
	if content == nil {
		return
	}
	mt := strings.TrimSpace(strings.Split(ct, ";")[0])
	media, ok := content[mt].(map[string]any)
	if !ok {
		t.Errorf("openapi: %s %s %d: Content-Type %q is not documented", req.Method, path, resp.StatusCode, ct)
		return
	}
	if mt == "application/json" && req.Method != http.MethodHead {
		_ = media
		o.validate(t, rp+pointer("content", "application/json", "schema"), respBody, fmt.Sprintf("%s %s %d body", req.Method, path, resp.StatusCode))
	}
	if hs, ok := resp0["headers"].(map[string]any); ok {
		for name := range hs {
			if resp.Header.Get(name) == "" {
				t.Errorf("openapi: %s %s %d lacks the documented header %s", req.Method, path, resp.StatusCode, name)
			}
		}
	}
}

func (o *openAPI) validate(t testing.TB, ptr string, body []byte, what string) {
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Errorf("openapi: %s is not JSON: %v", what, err)
		return
	}
	_, p := o.lookup(ptr)
	if p == "" {
		p = ptr
	}
	if err := o.schema(t, p).Validate(v); err != nil {
		t.Errorf("openapi: %s does not match its schema: %v\nbody: %.300s", what, err, body)
	}
}

// checkCoverage checks that every documented operation was called.
func (o *openAPI) checkCoverage(t testing.TB) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for op := range o.operations() {
		called := false
		for k := range o.seen {
			if strings.HasPrefix(k, op+" ") {
				called = true
			}
		}
		if !called {
			t.Errorf("openapi: %s is documented but the suite never called it", op)
		}
	}
}

// validating returns a transport that checks every exchange.
func (o *openAPI) validating(t testing.TB, next http.RoundTripper) http.RoundTripper {
	return roundTripper(func(req *http.Request) (*http.Response, error) {
		var reqBody []byte
		if req.Body != nil {
			reqBody, _ = io.ReadAll(req.Body)
			req.Body.Close()
			req.Body = io.NopCloser(bytes.NewReader(reqBody))
		}
		resp, err := next.RoundTrip(req)
		if err != nil {
			return nil, err
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return nil, err
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
		o.check(t, req, reqBody, resp, body)
		return resp, nil
	})
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestOpenAPIRoutes: the document lists exactly the routes the service
// serves, and every operation documents the errors every API route can
// answer.
func TestOpenAPIRoutes(t *testing.T) {
	o := loadOpenAPI(t)
	e := newEnv(t, nil)
	keys, _ := apiKeys(t)
	s := e.service(t, tokenservice.WithAuthenticator(keys))
	served := map[string]bool{}
	for _, r := range s.Routes() {
		served[r[0]+" "+r[1]] = true
	}
	ops := o.operations()
	for op := range served {
		if _, ok := ops[op]; !ok {
			t.Errorf("%s is served but not documented", op)
		}
	}
	for op, statuses := range ops {
		if !served[op] {
			t.Errorf("%s is documented but not served", op)
		}
		want := []string{"200", "405"}
		if strings.HasPrefix(op, "POST ") {
			want = append(want, "400", "401", "403", "413", "415", "500", "503")
		}
		for _, st := range want {
			if !slices.Contains(statuses, st) {
				t.Errorf("%s does not document %s", op, st)
			}
		}
	}
	// Every error code the package exports is in the Error schema's enum.
	enum, _ := o.lookup(pointer("components", "schemas", "Error", "properties", "code", "enum"))
	codes := map[string]bool{}
	for _, c := range enum.([]any) {
		codes[c.(string)] = true
	}
	for _, c := range []string{
		tokenservice.CodeBadRequest, tokenservice.CodeTooManyValues, tokenservice.CodeUnknownPolicy, tokenservice.CodeInvalidTenant,
		tokenservice.CodeTenantRequired, tokenservice.CodePurposeRequired, tokenservice.CodeUnsupported, tokenservice.CodeUnauthenticated,
		tokenservice.CodeForbidden, tokenservice.CodeNotFound, tokenservice.CodeRouteNotFound, tokenservice.CodeMethodNotAllowed,
		tokenservice.CodeExhausted, tokenservice.CodeExpired, tokenservice.CodeBodyTooLarge, tokenservice.CodeUnsupportedMedia,
		tokenservice.CodeInvalidValue, tokenservice.CodeInvalidToken, tokenservice.CodeNotRevealable, tokenservice.CodeTampered,
		tokenservice.CodeWrongKey, tokenservice.CodeInternal, tokenservice.CodeUnavailable, tokenservice.CodeTimeout,
		tokenservice.CodeIdentityProviderDown, tokenservice.CodeFieldNotFound, tokenservice.CodeUnsupportedType,
	} {
		if !codes[c] {
			t.Errorf("error code %q is not in the OpenAPI Error schema", c)
		}
		delete(codes, c)
	}
	for c := range codes {
		t.Errorf("the OpenAPI Error schema lists %q, which the package does not define", c)
	}
}
