package pgstore_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/datamask/datamask"
	"github.com/datamask/datamask/internal/crashtest"
	"github.com/datamask/datamask/internal/pgtest"
	"github.com/datamask/datamask/tokenvault"
	"github.com/datamask/datamask/tokenvault/pgstore"
)

// The crash test re-executes the test binary as a child that tokenizes in
// batches until it is killed; these variables tell it so.
const (
	envCrashURL = "PGSTORE_CRASH_URL"
	envCrashKey = "PGSTORE_CRASH_KEY"
)

// crashChildMain runs the child's loop when the environment says so, and
// reports whether it did (it never returns then).
func crashChildMain() bool {
	url := os.Getenv(envCrashURL)
	if url == "" {
		return false
	}
	crashChild(url, os.Getenv(envCrashKey))
	os.Exit(0)
	return true
}

func crashPolicies() []*tokenvault.Policy {
	cvg, err := tokenvault.NewPolicy("customer", tokenvault.PolicySpec{Format: tokenvault.FormatRandom, Convergent: true})
	if err != nil {
		panic(err)
	}
	return append(tokenvault.BuiltinPolicies(), cvg)
}

func openVault(ctx context.Context, s tokenvault.Store, keyText string) (*tokenvault.Vault, error) {
	k, err := datamask.NewLocalKeyring([]byte(keyText))
	if err != nil {
		return nil, err
	}
	p, err := tokenvault.NewProvider(k)
	if err != nil {
		return nil, err
	}
	return tokenvault.Open(ctx, s, p, crashPolicies())
}

// crashChild tokenizes batches of 200 values under three policies for
// ever, printing "policy value token" for each value once TokenizeBatch
// has returned: the tokens its caller has seen.
func crashChild(url, keyText string) {
	ctx := context.Background()
	s, err := pgstore.Open(ctx, url)
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(3)
	}
	v, err := openVault(ctx, s, keyText)
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

type issued struct{ policy, value, token string }

// checkIssued detokenizes every issued token in batches and fails t for
// any that does not give its value back; a convergent value must have one
// token.
func checkIssued(t *testing.T, v *tokenvault.Vault, all []issued, what string) {
	t.Helper()
	ctx := context.Background()
	convergent := map[string]string{}
	byPolicy := map[string][]issued{}
	for _, it := range all {
		byPolicy[it.policy] = append(byPolicy[it.policy], it)
		if it.policy == "customer" {
			if prev, ok := convergent[it.value]; ok && prev != it.token {
				t.Fatalf("%s: a convergent value got two tokens", what)
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
			values, errs, err := v.DetokenizeBatch(ctx, "acme", policy, tokens)
			if err != nil {
				t.Fatalf("%s: DetokenizeBatch: %v", what, err)
			}
			for i, it := range chunk {
				if errs[i] != nil || values[i] != it.value {
					t.Fatalf("%s: a %s token returned before does not detokenize: %v", what, policy, errs[i])
				}
			}
		}
	}
}

// TestCrash kills a process tokenizing into PostgreSQL with SIGKILL at
// random points, ten times: after each kill, every token the process had
// printed (had been returned to its caller) detokenizes to its value, and
// convergent values kept one token across the crashes.
func TestCrash(t *testing.T) {
	rounds := 10
	if testing.Short() {
		rounds = 3
	}
	url := pgtest.Database(t)
	newStoreAt(t, url) // migrates
	keyText, err := datamask.GenerateLocalKey()
	if err != nil {
		t.Fatal(err)
	}
	var all []issued
	r := mrand.New(mrand.NewPCG(uint64(time.Now().UnixNano()), 2))
	for round := range rounds {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), envCrashURL+"="+url, envCrashKey+"="+string(keyText))
		var got []issued
		for _, f := range crashtest.KillRound(t, cmd, round, r, 3) {
			got = append(got, issued{f[0], f[1], f[2]})
		}
		t.Logf("round %d: killed after %d tokens", round, len(got))
		all = append(all, got...)

		s, err := pgstore.Open(context.Background(), url)
		if err != nil {
			t.Fatalf("round %d: reopening: %v", round, err)
		}
		v, err := openVault(context.Background(), s, string(keyText))
		if err != nil {
			t.Fatalf("round %d: reopening the vault: %v", round, err)
		}
		checkIssued(t, v, all, fmt.Sprintf("round %d", round))
		s.Close()
	}
	if len(all) == 0 {
		t.Fatal("the child returned no token before any kill")
	}
	t.Logf("%d tokens checked after %d kills", len(all), rounds)
}

// TestServerRestart stops the PostgreSQL server under load and starts it
// again, then crashes it (SIGKILL to the postmaster) and starts it again,
// with the same process, pool and vault throughout: calls fail while the
// server is down, succeed again once it is back without anything being
// reopened, and every token acknowledged before, during and after
// detokenizes.
func TestServerRestart(t *testing.T) {
	srv := pgtest.StartServer(t)
	ctx := context.Background()
	url := srv.Database(t)
	s := newStoreAt(t, url)
	keyText, err := datamask.GenerateLocalKey()
	if err != nil {
		t.Fatal(err)
	}
	v, err := openVault(ctx, s, string(keyText))
	if err != nil {
		t.Fatal(err)
	}

	var (
		mu        sync.Mutex
		acked     []issued
		failures  atomic.Int64
		successes atomic.Int64
		stop      = make(chan struct{})
		wg        sync.WaitGroup
	)
	for w := range 4 {
		wg.Go(func() {
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				policy := []string{tokenvault.PolicyOpaque, "customer"}[n%2]
				values := make([]string, 50)
				for i := range values {
					if policy == "customer" {
						values[i] = fmt.Sprintf("customer-%d", mrand.IntN(300))
					} else {
						values[i] = fmt.Sprintf("w%d-n%d-i%d", w, n, i)
					}
				}
				cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
				tokens, errs, err := v.TokenizeBatch(cctx, "acme", policy, values)
				cancel()
				if err != nil {
					failures.Add(1)
					time.Sleep(20 * time.Millisecond)
					continue
				}
				successes.Add(1)
				mu.Lock()
				for i := range values {
					if errs[i] != nil {
						t.Errorf("value %d: %v", i, errs[i])
						continue
					}
					acked = append(acked, issued{policy, values[i], tokens[i]})
				}
				mu.Unlock()
			}
		})
	}
	defer func() {
		select {
		case <-stop:
		default:
			close(stop)
		}
		wg.Wait()
	}()

	// waitFor waits until the load has done more of what count counts.
	waitFor := func(what string, count *atomic.Int64) {
		t.Helper()
		start := count.Load()
		deadline := time.Now().Add(60 * time.Second)
		for count.Load() < start+3 {
			if time.Now().After(deadline) {
				t.Fatalf("no %s within a minute", what)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	for _, outage := range []string{"stop", "kill"} {
		waitFor("successful batch before the "+outage, &successes)
		switch outage {
		case "stop":
			if err := srv.Stop(ctx); err != nil {
				t.Fatal(err)
			}
		case "kill":
			if err := srv.Kill(); err != nil {
				t.Fatal(err)
			}
		}
		waitFor("failed batch while the server is down ("+outage+")", &failures)
		if err := srv.Start(ctx); err != nil {
			t.Fatal(err)
		}
		waitFor("successful batch after the "+outage+" and restart", &successes)
	}
	close(stop)
	wg.Wait()
	t.Logf("%d batches acknowledged, %d failed while the server was down", successes.Load(), failures.Load())
	checkIssued(t, v, acked, "after the restarts")
}
