package boltstore_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/datamask/datamask"
	"github.com/datamask/datamask/internal/crashtest"
	"github.com/datamask/datamask/tokenvault"
	"github.com/datamask/datamask/tokenvault/boltstore"
)

// The crash test re-executes the test binary as a child that tokenizes in
// batches until it is killed; these variables tell it so.
const (
	envCrashFile = "BOLTSTORE_CRASH_FILE"
	envCrashKey  = "BOLTSTORE_CRASH_KEY"
)

func TestMain(m *testing.M) {
	if path := os.Getenv(envCrashFile); path != "" {
		crashChild(path, os.Getenv(envCrashKey))
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func crashPolicies() []*tokenvault.Policy {
	cvg, err := tokenvault.NewPolicy("customer", tokenvault.PolicySpec{Format: tokenvault.FormatRandom, Convergent: true})
	if err != nil {
		panic(err)
	}
	return append(tokenvault.BuiltinPolicies(), cvg)
}

func openCrashVault(ctx context.Context, path, keyText string) (*boltstore.Store, *tokenvault.Vault, error) {
	k, err := datamask.NewLocalKeyring([]byte(keyText))
	if err != nil {
		return nil, nil, err
	}
	p, err := tokenvault.NewProvider(k)
	if err != nil {
		return nil, nil, err
	}
	s, err := boltstore.Open(path, boltstore.WithLockTimeout(10*time.Second))
	if err != nil {
		return nil, nil, err
	}
	v, err := tokenvault.Open(ctx, s, p, crashPolicies())
	if err != nil {
		s.Close()
		return nil, nil, err
	}
	return s, v, nil
}

// crashChild tokenizes batches of 200 values under three policies for
// ever, printing "policy value token" for each value once TokenizeBatch
// has returned: the tokens its caller has seen.
func crashChild(path, keyText string) {
	ctx := context.Background()
	_, v, err := openCrashVault(ctx, path, keyText)
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(3)
	}
	out := bufio.NewWriter(os.Stdout)
	id := make([]byte, 6)
	rand.Read(id)
	run := base64.RawURLEncoding.EncodeToString(id)
	for n := 0; ; n++ {
		policy := []string{tokenvault.PolicyOpaque, tokenvault.PolicyCard, "customer"}[n%3]
		values := make([]string, 200)
		for i := range values {
			switch policy {
			case tokenvault.PolicyCard:
				values[i] = fmt.Sprintf("4%03d-%04d-%04d-%04d", n%1000, i, mrand.IntN(10000), mrand.IntN(10000))
			case "customer":
				values[i] = fmt.Sprintf("customer-%d", mrand.IntN(500)) // repeats: convergent hits
			default:
				values[i] = fmt.Sprintf("%s-%d-%d", run, n, i)
			}
		}
		tokens, errs, err := v.TokenizeBatch(ctx, "acme", policy, values)
		if err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(4)
		}
		for i := range values {
			if errs[i] != nil {
				fmt.Fprintln(os.Stderr, "child:", errs[i])
				os.Exit(5)
			}
			fmt.Fprintf(out, "%s %s %s\n", policy, values[i], tokens[i])
		}
		out.Flush()
	}
}

// TestCrash kills a tokenizing process with SIGKILL at random points, ten
// times over one file: after each kill the file opens as it is (no
// repair), passes bbolt's consistency check, and every token the process
// had printed (had been returned to its caller) detokenizes to its value.
func TestCrash(t *testing.T) {
	rounds := 10
	if testing.Short() {
		rounds = 3
	}
	keyText, err := datamask.GenerateLocalKey()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "vault.db")
	type issued struct{ policy, value, token string }
	var all []issued
	convergent := map[string]string{}
	r := mrand.New(mrand.NewPCG(uint64(time.Now().UnixNano()), 1))
	for round := range rounds {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), envCrashFile+"="+path, envCrashKey+"="+string(keyText))
		var got []issued
		for _, f := range crashtest.KillRound(t, cmd, round, r, 3) {
			got = append(got, issued{f[0], f[1], f[2]})
		}
		t.Logf("round %d: killed after %d tokens", round, len(got))
		all = append(all, got...)

		// The file opens as it is and is consistent.
		db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second, ReadOnly: true})
		if err != nil {
			t.Fatalf("round %d: bbolt cannot open the file after SIGKILL: %v", round, err)
		}
		if err := db.View(func(tx *bolt.Tx) error {
			for cerr := range tx.Check() {
				return cerr
			}
			return nil
		}); err != nil {
			t.Fatalf("round %d: consistency check: %v", round, err)
		}
		db.Close()

		// Every token returned before the kill detokenizes.
		s, v, err := openCrashVault(context.Background(), path, string(keyText))
		if err != nil {
			t.Fatalf("round %d: reopening: %v", round, err)
		}
		byPolicy := map[string][]issued{}
		for _, it := range all {
			byPolicy[it.policy] = append(byPolicy[it.policy], it)
			if it.policy == "customer" {
				if prev, ok := convergent[it.value]; ok && prev != it.token {
					t.Fatalf("round %d: a convergent value got two tokens across crashes", round)
				}
				convergent[it.value] = it.token
			}
		}
		for policy, items := range byPolicy {
			for lo := 0; lo < len(items); lo += tokenvault.MaxBatch {
				chunk := items[lo:min(lo+tokenvault.MaxBatch, len(items))]
				tokens := make([]string, len(chunk))
				for i, it := range chunk {
					tokens[i] = it.token
				}
				values, errs, err := v.DetokenizeBatch(context.Background(), "acme", policy, tokens)
				if err != nil {
					t.Fatal(err)
				}
				for i, it := range chunk {
					if errs[i] != nil || values[i] != it.value {
						t.Fatalf("round %d: a %s token returned before the kill does not detokenize: %v", round, policy, errs[i])
					}
				}
			}
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if len(all) == 0 {
		t.Fatal("the child returned no token before any kill")
	}
	t.Logf("%d tokens checked after %d kills", len(all), rounds)
}
