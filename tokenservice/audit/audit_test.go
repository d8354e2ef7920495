package audit_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/datamask/datamask"
	"github.com/datamask/datamask/tokenservice/audit"
	"github.com/datamask/datamask/tokenvault"
)

func provider(t testing.TB) datamask.Provider {
	t.Helper()
	key, err := datamask.GenerateLocalKey()
	if err != nil {
		t.Fatal(err)
	}
	kr, err := datamask.NewLocalKeyring(key)
	if err != nil {
		t.Fatal(err)
	}
	p, err := tokenvault.NewProvider(kr)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func event(i int, l *audit.Log) *audit.Event {
	return &audit.Event{
		Time: time.Now(), RequestID: fmt.Sprintf("req-%d", i), Caller: "apikey:orders", Tenant: "acme", Policy: "card",
		Operation: "detokenize", Purpose: "paybill", Outcome: audit.OutcomeOK, Status: 200, Count: 1,
		Tokens: []string{l.TokenHash("acme", "card", fmt.Sprintf("tok-%d", i))},
	}
}

// writeFile writes n events (concurrently) to a new audit file.
func writeFile(t *testing.T, p datamask.Provider, n int) (string, *audit.Log) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	l, err := audit.OpenFile(context.Background(), path, p)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := l.Write(context.Background(), event(i, l)); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	return path, l
}

func TestVerify(t *testing.T) {
	p := provider(t)
	path, l := writeFile(t, p, 50)
	head, n := l.Head()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if n != 51 {
		t.Errorf("Head: %d lines, want 51 (a key line and 50 events)", n)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s, err := audit.Verify(bytes.NewReader(data), head)
	if err != nil {
		t.Fatalf("Verify of an intact trail: %v", err)
	}
	if s.Lines != 51 || s.Events != 50 || s.Keys != 1 || s.Head != head {
		t.Errorf("Verify = %+v, want 51 lines, 50 events, 1 key, head %s", s, head)
	}
	lines := strings.SplitAfter(string(data), "\n")
	lines = lines[:len(lines)-1]
	join := func(ls []string) []byte { return []byte(strings.Join(ls, "")) }
	for _, tc := range []struct {
		name     string
		data     []byte
		head     string
		wantLine int // 0: not a ChainError
	}{
		{"removed line", join(append(append([]string{}, lines[:10]...), lines[11:]...)), "", 11},
		{"removed first line", join(lines[1:]), "", 1},
		{"edited line", join(append(append(append([]string{}, lines[:20]...), strings.Replace(lines[20], `"outcome":"ok"`, `"outcome":"denied"`, 1)), lines[21:]...)), "", 22},
		{"edited caller", join(append(append(append([]string{}, lines[:5]...), strings.Replace(lines[5], "apikey:orders", "apikey:nobody", 1)), lines[6:]...)), "", 7},
		{"swapped lines", join(append(append(append([]string{}, lines[:30]...), lines[31], lines[30]), lines[32:]...)), "", 31},
		{"duplicated line", join(append(append([]string{}, lines[:40]...), lines[39:]...)), "", 41},
		{"cut short", join(lines)[:len(join(lines))-5], "", 51},
		{"not JSON", append(join(lines[:3]), []byte("garbage\n")...), "", 4},
		{"last lines cut off, head known", join(lines[:45]), head, 0},
		{"edited last line, head known", join(append(append([]string{}, lines[:50]...), strings.Replace(lines[50], "paybill", "refund", 1))), head, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := audit.Verify(bytes.NewReader(tc.data), tc.head)
			if err == nil {
				t.Fatal("Verify found nothing wrong")
			}
			var ce *audit.ChainError
			if tc.wantLine > 0 {
				if !errors.As(err, &ce) || ce.Line != tc.wantLine {
					t.Errorf("Verify = %v, want a ChainError at line %d", err, tc.wantLine)
				}
			} else if errors.As(err, &ce) {
				t.Errorf("Verify = %v, want a head mismatch", err)
			}
		})
	}
	// The trail holds no token.
	if bytes.Contains(data, []byte("tok-1")) {
		t.Error("the trail holds a token")
	}
}

// TestReopen: a reopened file continues the chain under the same key, a
// line cut short by a crash is dropped, and a file whose key the provider
// cannot decrypt goes on under a new key.
func TestReopen(t *testing.T) {
	p := provider(t)
	path, l := writeFile(t, p, 5)
	hash := l.TokenHash("acme", "card", "tok-1")
	l.Close()
	// A crash mid-line.
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"seq":7,"time":"2026`)
	f.Close()

	l2, err := audit.OpenFile(context.Background(), path, p)
	if err != nil {
		t.Fatalf("reopening: %v", err)
	}
	if got := l2.TokenHash("acme", "card", "tok-1"); got != hash {
		t.Errorf("reopened log hashes tokens differently: %s, want %s", got, hash)
	}
	if err := l2.Write(context.Background(), event(6, l2)); err != nil {
		t.Fatal(err)
	}
	head, _ := l2.Head()
	l2.Close()
	data, _ := os.ReadFile(path)
	s, err := audit.Verify(bytes.NewReader(data), head)
	if err != nil || s.Lines != 7 || s.Keys != 1 {
		t.Fatalf("Verify after reopening = %+v, %v; want 7 lines, one key", s, err)
	}

	// Other keys: a new key line, the chain goes on.
	l3, err := audit.OpenFile(context.Background(), path, provider(t))
	if err != nil {
		t.Fatal(err)
	}
	if l3.TokenHash("acme", "card", "tok-1") == hash {
		t.Error("a new key hashes tokens as the old one")
	}
	l3.Write(context.Background(), event(7, l3))
	l3.Close()
	data, _ = os.ReadFile(path)
	s, err = audit.Verify(bytes.NewReader(data), "")
	if err != nil || s.Keys != 2 || s.Lines != 9 {
		t.Errorf("Verify after a key change = %+v, %v; want 9 lines, 2 keys", s, err)
	}

	// A broken file is refused, not continued.
	broken := filepath.Join(t.TempDir(), "broken.jsonl")
	lines := strings.SplitAfter(string(data), "\n")
	os.WriteFile(broken, []byte(lines[0]+lines[2]), 0o600)
	if _, err := audit.OpenFile(context.Background(), broken, p); err == nil {
		t.Error("OpenFile continued a broken chain")
	}
}

// TestStream: a log on a stream (standard output, for Lambda) writes
// whole lines that verify.
func TestStream(t *testing.T) {
	var buf bytes.Buffer
	l, err := audit.New(context.Background(), &buf, provider(t))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := l.Write(context.Background(), event(i, l)); err != nil {
			t.Fatal(err)
		}
	}
	head, _ := l.Head()
	l.Close()
	if err := l.Write(context.Background(), event(9, l)); !errors.Is(err, audit.ErrClosed) {
		t.Errorf("Write after Close = %v, want ErrClosed", err)
	}
	if s, err := audit.Verify(&buf, head); err != nil || s.Events != 3 {
		t.Errorf("Verify = %+v, %v", s, err)
	}
}

// failingWriter fails while fail is set.
type failingWriter struct {
	mu   sync.Mutex
	fail bool
	buf  bytes.Buffer
}

func (w *failingWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.fail {
		return 0, errors.New("disk full")
	}
	return w.buf.Write(p)
}

// TestWriteFails: a failed write is reported, and the chain continues
// from the last line written.
func TestWriteFails(t *testing.T) {
	w := &failingWriter{}
	l, err := audit.New(context.Background(), w, provider(t))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	l.Write(context.Background(), event(1, l))
	w.fail = true
	if err := l.Write(context.Background(), event(2, l)); err == nil {
		t.Fatal("Write on a failing writer succeeded")
	}
	w.fail = false
	if err := l.Write(context.Background(), event(3, l)); err != nil {
		t.Fatal(err)
	}
	if s, err := audit.Verify(&w.buf, ""); err != nil || s.Events != 2 {
		t.Errorf("Verify = %+v, %v; want 2 events", s, err)
	}
}

// FuzzVerify: Verify never panics, and accepts only chains.
func FuzzVerify(f *testing.F) {
	var buf bytes.Buffer
	l, err := audit.New(context.Background(), &buf, provider(f))
	if err != nil {
		f.Fatal(err)
	}
	l.Write(context.Background(), event(1, l))
	l.Close()
	f.Add(buf.Bytes())
	f.Add([]byte("{}\n"))
	f.Add([]byte(`{"seq":1,"time":"x","type":"event","key_id":"k","prev":""}` + "\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := audit.Verify(bytes.NewReader(data), "")
		if err == nil && s.Lines != bytes.Count(data, []byte("\n")) {
			t.Errorf("Verify = %+v for %d lines", s, bytes.Count(data, []byte("\n")))
		}
	})
}
