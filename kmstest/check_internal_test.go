package kmstest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// recorder is a tester that records failures instead of reporting them, so
// a test can run the suite against an endpoint that must fail it.
type recorder struct {
	ctx      context.Context
	name     string
	mu       *sync.Mutex
	failures *[]string // "subtest: message"
	failed   bool
}

func (r *recorder) Helper()                  {}
func (r *recorder) Context() context.Context { return r.ctx }
func (r *recorder) Logf(string, ...any)      {}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failed = true
	*r.failures = append(*r.failures, r.name+": "+fmt.Sprintf(format, args...))
}

func (r *recorder) Fatalf(format string, args ...any) {
	r.Errorf(format, args...)
	runtime.Goexit()
}

func (r *recorder) Run(name string, f func(tester)) bool {
	child := &recorder{ctx: r.ctx, name: r.name + "/" + name, mu: r.mu, failures: r.failures}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(child)
	}()
	<-done
	if child.failed {
		r.mu.Lock()
		r.failed = true
		r.mu.Unlock()
	}
	return !child.failed
}

// runRecorded runs the suite against url and returns its failures.
func runRecorded(t *testing.T, url string, opts ...CheckOption) []string {
	var failures []string
	root := &recorder{ctx: t.Context(), name: "Check", mu: &sync.Mutex{}, failures: &failures}
	root.Run("", func(tt tester) { runCheck(tt, url, opts...) })
	return failures
}

// breakingProxy forwards requests to a fake, breaking one behaviour the
// suite checks.
type breakingProxy struct {
	target string
	// request and response rewrite the JSON bodies of op; either may be nil.
	request  func(op string, body map[string]any)
	response func(op string, status int, body map[string]any) (int, map[string]any)
}

func (p *breakingProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "TrentService.")
	var in map[string]any
	json.NewDecoder(r.Body).Decode(&in)
	if p.request != nil {
		p.request(op, in)
	}
	body, _ := json.Marshal(in)
	req, _ := http.NewRequestWithContext(r.Context(), "POST", p.target, bytes.NewReader(body))
	req.Header = r.Header.Clone()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	status := resp.StatusCode
	if p.response != nil {
		var out map[string]any
		json.Unmarshal(data, &out)
		status, out = p.response(op, status, out)
		data, _ = json.Marshal(out)
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.WriteHeader(status)
	w.Write(data)
}

// TestCheckFindsFaults runs the suite against endpoints broken in one way
// each and checks it fails them in the part that covers that behaviour, and
// only with the deviations not tolerated.
func TestCheckFindsFaults(t *testing.T) {
	tests := []struct {
		name     string
		proxy    breakingProxy
		opts     []CheckOption
		wantFail []string // subtests that must fail
	}{
		{
			name: "IgnoresContext",
			proxy: breakingProxy{request: func(op string, in map[string]any) {
				delete(in, "EncryptionContext")
			}},
			wantFail: []string{"/ContextBound/ValueChanged", "/ContextBound/NoContext", "/ContextBound/SplitDifferently"},
		},
		{
			name: "DisableIgnored",
			proxy: breakingProxy{request: func(op string, in map[string]any) {
				if op == "DisableKey" {
					in["KeyId"] = "alias/swallowed" // fails; the response is then faked
				}
			}, response: func(op string, status int, out map[string]any) (int, map[string]any) {
				if op == "DisableKey" {
					return 200, map[string]any{}
				}
				return status, out
			}},
			opts:     []CheckOption{Tolerate(DisabledKeysUsable)},
			wantFail: []string{"/DisabledKey"},
		},
		{
			name: "KeyIdNotARN",
			proxy: breakingProxy{response: func(op string, status int, out map[string]any) (int, map[string]any) {
				if id, ok := out["KeyId"].(string); ok {
					out["KeyId"] = id[strings.LastIndexByte(id, '/')+1:]
				}
				return status, out
			}},
			wantFail: []string{"/GenerateDataKey/KeySpec=AES_256", "/EncryptDecrypt/1bytes/context0"},
		},
		{
			name: "ErrorsAre500",
			proxy: breakingProxy{response: func(op string, status int, out map[string]any) (int, map[string]any) {
				if status >= 400 {
					status = 500
				}
				return status, out
			}},
			wantFail: []string{"/GenerateDataKeyInvalid/NumberOfBytes=0", "/UnknownKeys/Encrypt/KeyARN", "/Tampered/EveryByteFlipped", "/IncorrectKey/KeyARN"},
		},
		{
			name: "IncorrectKeyAsAccessDenied",
			proxy: breakingProxy{response: func(op string, status int, out map[string]any) (int, map[string]any) {
				if out["__type"] == "IncorrectKeyException" {
					out["__type"] = "AccessDeniedException"
				}
				return status, out
			}},
			wantFail: []string{"/IncorrectKey/KeyARN", "/IncorrectKey/KeyID", "/ReEncrypt/IncorrectSourceKey"},
		},
		{
			name: "IncorrectKeyAsAccessDeniedTolerated",
			proxy: breakingProxy{response: func(op string, status int, out map[string]any) (int, map[string]any) {
				if out["__type"] == "IncorrectKeyException" {
					out["__type"] = "AccessDeniedException"
				}
				return status, out
			}},
			opts: []CheckOption{Tolerate(IncorrectKeyAccessDenied)},
		},
		{
			name: "ReEncryptIgnoresSourceKey",
			proxy: breakingProxy{request: func(op string, in map[string]any) {
				if op == "ReEncrypt" {
					delete(in, "SourceKeyId")
				}
			}},
			wantFail: []string{"/ReEncrypt/IncorrectSourceKey"},
		},
		{
			name: "ReEncryptIgnoresSourceKeyTolerated",
			proxy: breakingProxy{request: func(op string, in map[string]any) {
				if op == "ReEncrypt" {
					delete(in, "SourceKeyId")
				}
			}},
			opts: []CheckOption{Tolerate(ReEncryptSourceKeyIgnored)},
		},
		{
			name: "ReEncryptKeepsContext",
			proxy: breakingProxy{request: func(op string, in map[string]any) {
				if op == "ReEncrypt" {
					in["DestinationEncryptionContext"] = in["SourceEncryptionContext"]
				}
			}},
			wantFail: []string{"/ReEncrypt/ToOtherKey"},
		},
		{
			name: "WithoutPlaintextLeaks",
			proxy: breakingProxy{response: func(op string, status int, out map[string]any) (int, map[string]any) {
				if op == "GenerateDataKeyWithoutPlaintext" && status == 200 {
					out["Plaintext"] = "AAAA"
				}
				return status, out
			}},
			wantFail: []string{"/GenerateDataKeyWithoutPlaintext/NumberOfBytes=32"},
		},
		{
			name: "SameDataKeyEveryTime",
			proxy: breakingProxy{response: func(op string, status int, out map[string]any) (int, map[string]any) {
				if op == "GenerateDataKey" && status == 200 {
					key, _ := base64.StdEncoding.DecodeString(out["Plaintext"].(string))
					out["Plaintext"] = make([]byte, len(key))
				}
				return status, out
			}},
			wantFail: []string{"/GenerateDataKey/KeySpec=AES_256"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := Start(t)
			tt.proxy.target = srv.URL()
			front := httptest.NewServer(&tt.proxy)
			defer front.Close()
			failures := runRecorded(t, front.URL, tt.opts...)
			for _, want := range tt.wantFail {
				found := false
				for _, f := range failures {
					if strings.HasPrefix(f, "Check/"+want) {
						found = true
						break
					}
				}
				if !found {
					t.Errorf("Check(%s) did not fail %s; failures:\n%s", tt.name, want, strings.Join(failures, "\n"))
				}
			}
			if len(tt.wantFail) == 0 && len(failures) > 0 {
				t.Errorf("Check(%s) failed, want a pass:\n%s", tt.name, strings.Join(failures, "\n"))
			}
		})
	}
}

// TestCheckPassesFake is the control of TestCheckFindsFaults: the same
// recorder, no proxy fault, no failure.
func TestCheckPassesFake(t *testing.T) {
	t.Parallel()
	srv := Start(t)
	front := httptest.NewServer(&breakingProxy{target: srv.URL()})
	defer front.Close()
	if failures := runRecorded(t, front.URL); len(failures) > 0 {
		t.Errorf("Check(fake behind a faithful proxy) failed:\n%s", strings.Join(failures, "\n"))
	}
}

func TestCheckOptions(t *testing.T) {
	srv := Start(t)
	for _, opts := range [][]CheckOption{{nil}, {CheckRegion("Not A Region")}, {Tolerate(Deviation(0))}, {Tolerate(Deviation(99))}} {
		if failures := runRecorded(t, srv.URL(), opts...); len(failures) != 1 || !strings.Contains(failures[0], "kmstest: ") {
			t.Errorf("Check(%v) failures = %q, want one kmstest: error", opts, failures)
		}
	}
	if got := Deviation(0).String(); got != "Deviation(0)" {
		t.Errorf("Deviation(0).String() = %q", got)
	}
}
