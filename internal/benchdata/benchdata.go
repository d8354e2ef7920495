// Package benchdata gives benchmarks and tests the shared benchmark payloads:
// small.json, medium.json and large.json with the field expressions each is
// measured with. They are written by ../shared/bench/gen_payloads.py (fixed
// seed, the same bytes on every machine) into a temporary directory once per
// process; nothing is copied into the repository.
package benchdata

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

// Payload is one generated document and the expressions it is measured with.
type Payload struct {
	Name   string   // "small", "medium" or "large"
	Doc    []byte   // the JSON text
	Fields []string // from fields.json
}

var (
	once     sync.Once
	payloads []Payload
	loadErr  error
)

// SharedDir returns the path of the read-only shared data directory beside
// the repository (../shared from the repository root).
func SharedDir() string {
	_, file, _, _ := runtime.Caller(0)
	// file is <repo>/internal/benchdata/benchdata.go
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "shared")
}

// Load returns the small, medium and large payloads, generating them on the
// first call. It fails tb if python3 or the generator is missing.
func Load(tb testing.TB) []Payload {
	tb.Helper()
	once.Do(func() { payloads, loadErr = generate() })
	if loadErr != nil {
		tb.Fatalf("benchdata: %v", loadErr)
	}
	return payloads
}

// Get returns the payload with the given name ("small", "medium", "large").
func Get(tb testing.TB, name string) Payload {
	tb.Helper()
	for _, p := range Load(tb) {
		if p.Name == name {
			return p
		}
	}
	tb.Fatalf("benchdata: no payload %q", name)
	return Payload{}
}

func generate() ([]Payload, error) {
	script := filepath.Join(SharedDir(), "bench", "gen_payloads.py")
	if _, err := os.Stat(script); err != nil {
		return nil, fmt.Errorf("generator not found: %v", err)
	}
	dir, err := os.MkdirTemp("", "datamask-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	out, err := exec.Command("python3", script, dir).CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("python3 %s: %v: %s", script, err, out)
	}
	fj, err := os.ReadFile(filepath.Join(dir, "fields.json"))
	if err != nil {
		return nil, err
	}
	var fields map[string][]string
	if err := json.Unmarshal(fj, &fields); err != nil {
		return nil, fmt.Errorf("fields.json: %v", err)
	}
	var ps []Payload
	for _, name := range []string{"small", "medium", "large"} {
		doc, err := os.ReadFile(filepath.Join(dir, name+".json"))
		if err != nil {
			return nil, err
		}
		ps = append(ps, Payload{Name: name, Doc: doc, Fields: fields[name]})
	}
	return ps, nil
}
