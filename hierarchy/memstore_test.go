package hierarchy_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/datamask/datamask/hierarchy"
)

// memStore is a BranchKeyStore in memory, for tests of the keyring that
// need no DynamoDB: it counts calls and can be slowed down or made to fail.
type memStore struct {
	mu      sync.Mutex
	keys    map[string]*memKey
	latency time.Duration
	fail    error

	activeCalls, versionCalls atomic.Int64
}

type memKey struct {
	active   string
	versions map[string][]byte
	context  map[string]string
}

func newMemStore() *memStore { return &memStore{keys: map[string]*memKey{}} }

// create adds branch key id with one random version and returns it.
func (s *memStore) create(id string, ec map[string]string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys[id] = &memKey{versions: map[string][]byte{}, context: ec}
	return s.versionLocked(id)
}

// rotate adds a version to branch key id, makes it active and returns it.
func (s *memStore) rotate(id string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.versionLocked(id)
}

func (s *memStore) versionLocked(id string) string {
	var u [16]byte
	rand.Read(u[:])
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	v := fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:])
	key := make([]byte, 32)
	rand.Read(key)
	k := s.keys[id]
	k.versions[v] = key
	k.active = v
	return v
}

func (s *memStore) wait(ctx context.Context) error {
	s.mu.Lock()
	d, fail := s.latency, s.fail
	s.mu.Unlock()
	if d > 0 {
		select {
		case <-time.After(d):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return fail
}

func (s *memStore) GetActiveBranchKey(ctx context.Context, id string) (*hierarchy.BranchKeyMaterials, error) {
	s.activeCalls.Add(1)
	if err := s.wait(ctx); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := s.keys[id]
	if k == nil {
		return nil, fmt.Errorf("memStore: %w: %q", hierarchy.ErrBranchKeyNotFound, id)
	}
	return hierarchy.NewBranchKeyMaterials(id, k.active, k.versions[k.active], k.context)
}

func (s *memStore) GetBranchKeyVersion(ctx context.Context, id, version string) (*hierarchy.BranchKeyMaterials, error) {
	s.versionCalls.Add(1)
	if err := s.wait(ctx); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := s.keys[id]
	if k == nil || k.versions[version] == nil {
		return nil, fmt.Errorf("memStore: %w: %q version %q", hierarchy.ErrBranchKeyNotFound, id, version)
	}
	return hierarchy.NewBranchKeyMaterials(id, version, k.versions[version], k.context)
}

// calls returns the number of calls made and resets the counts.
func (s *memStore) calls() (active, version int64) {
	return s.activeCalls.Swap(0), s.versionCalls.Swap(0)
}
