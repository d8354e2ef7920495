package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

func TestMain(m *testing.M) { os.Exit(Run(m)) }

// TestDatabase runs queries through pgx on a database from Database, and
// checks it is dropped when the test ends.
func TestDatabase(t *testing.T) {
	var name, serverURL string
	t.Run("queries", func(t *testing.T) {
		dbURL := Database(t)
		serverURL = server(t)
		ctx := t.Context()
		conn, err := pgx.Connect(ctx, dbURL)
		if err != nil {
			t.Fatalf("pgx.Connect(Database()) = %v", err)
		}
		defer conn.Close(ctx)

		var version string
		if err := conn.QueryRow(ctx, "SELECT current_database(), current_setting('server_version')").Scan(&name, &version); err != nil {
			t.Fatal(err)
		}
		if u, _ := url.Parse(dbURL); u.Path != "/"+name || !strings.HasPrefix(name, "t_testdatabase_queries_") {
			t.Errorf("current_database() = %q, want the database of %s, named after the test", name, redact(dbURL))
		}
		if !strings.HasPrefix(version, "15.") {
			t.Logf("server_version = %s; CI runs PostgreSQL 15", version)
		}

		if _, err := conn.Exec(ctx, `CREATE TABLE tokens (tenant text, token text, value bytea, PRIMARY KEY (tenant, token))`); err != nil {
			t.Fatal(err)
		}
		rows := [][]any{{"acme", "tok-1", []byte{0, 1}}, {"acme", "tok-2", []byte{2}}, {"other", "tok-1", []byte{3}}}
		n, err := conn.CopyFrom(ctx, pgx.Identifier{"tokens"}, []string{"tenant", "token", "value"}, pgx.CopyFromRows(rows))
		if err != nil || n != 3 {
			t.Fatalf("CopyFrom = %d, %v, want 3 rows", n, err)
		}
		_, err = conn.Exec(ctx, `INSERT INTO tokens VALUES ('acme', 'tok-1', '\x09')`)
		if err == nil || !strings.Contains(err.Error(), "23505") {
			t.Errorf("INSERT of an existing token = %v, want a unique violation (SQLSTATE 23505)", err)
		}
		var tokens []string
		r, err := conn.Query(ctx, `SELECT token FROM tokens WHERE tenant = $1 ORDER BY token`, "acme")
		if err != nil {
			t.Fatal(err)
		}
		if tokens, err = pgx.CollectRows(r, pgx.RowTo[string]); err != nil || strings.Join(tokens, ",") != "tok-1,tok-2" {
			t.Errorf("SELECT token WHERE tenant = acme = %q, %v, want tok-1,tok-2", tokens, err)
		}

		other := Database(t)
		if other == dbURL {
			t.Errorf("Database() twice = %s both times, want two databases", redact(dbURL))
		}
	})
	if exists(t, serverURL, name) {
		t.Errorf("database %s still exists after the test, want it dropped", name)
	}
}

// TestDropWithOpenConnections: a test that leaves a pool open still gets
// its database dropped.
func TestDropWithOpenConnections(t *testing.T) {
	var name, serverURL string
	var pool *pgxpool.Pool
	t.Run("leaky", func(t *testing.T) {
		dbURL := Database(t)
		serverURL = server(t)
		u, _ := url.Parse(dbURL)
		name = strings.TrimPrefix(u.Path, "/")
		var err error
		if pool, err = pgxpool.New(context.Background(), dbURL); err != nil {
			t.Fatal(err)
		}
		if err := pool.Ping(t.Context()); err != nil {
			t.Fatal(err)
		}
	})
	if pool != nil {
		defer pool.Close()
	}
	if exists(t, serverURL, name) {
		t.Errorf("database %s still exists after the test, want it dropped", name)
	}
}

// TestConcurrentDatabases: parallel tests each get their own database.
func TestConcurrentDatabases(t *testing.T) {
	const n = 8
	var mu sync.Mutex
	seen := map[string]bool{}
	for i := range n {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			t.Parallel()
			dbURL := Database(t)
			conn, err := pgx.Connect(t.Context(), dbURL)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close(context.Background())
			var name string
			if err := conn.QueryRow(t.Context(), "SELECT current_database()").Scan(&name); err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			defer mu.Unlock()
			if seen[name] {
				t.Errorf("database %s handed out twice", name)
			}
			seen[name] = true
		})
	}
}

// TestServerCrash: on a server of its own, a test stops, restarts and kills
// it. Every committed row survives SIGKILL of the postmaster: fsync is off,
// but synchronous_commit is on.
func TestServerCrash(t *testing.T) {
	s := StartServer(t)
	dbURL := s.Database(t)
	ctx := t.Context()
	if !strings.Contains(s.String(), "PostgreSQL "+s.Version()) || strings.Contains(s.String(), s.password) {
		t.Errorf("String() = %q, want the version and no password", s)
	}

	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if _, err := pool.Exec(ctx, `CREATE TABLE acked (n int PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	insert := func(from, to int) {
		t.Helper()
		for i := from; i < to; i++ {
			if _, err := pool.Exec(ctx, `INSERT INTO acked VALUES ($1)`, i); err != nil {
				t.Fatalf("INSERT %d: %v", i, err)
			}
		}
	}
	count := func() int {
		t.Helper()
		var n int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM acked`).Scan(&n); err != nil {
			t.Fatalf("SELECT count(*): %v", err)
		}
		return n
	}

	insert(0, 500)
	if err := s.Kill(); err != nil {
		t.Fatal(err)
	}
	shortCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
	_, err = pool.Exec(shortCtx, `SELECT 1`)
	cancel()
	if err == nil {
		t.Fatal("a query on a killed server succeeded")
	}
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	pool.Reset() // its connections died with the server
	if n := count(); n != 500 {
		t.Errorf("after SIGKILL and restart, %d rows, want the 500 committed", n)
	}

	insert(500, 600)
	if err := s.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	pool.Reset()
	if n := count(); n != 600 {
		t.Errorf("after stop and start, %d rows, want 600", n)
	}
	if err := s.Start(ctx); err == nil {
		t.Error("Start() on a running server succeeded, want an error")
	}
}

// TestClose: Close stops the server and removes its directory.
func TestClose(t *testing.T) {
	s := StartServer(t)
	u, _ := url.Parse(s.URL())
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if c, err := net.DialTimeout("tcp", u.Host, time.Second); err == nil {
		c.Close()
		t.Errorf("dial %s after Close succeeded, want the server gone", u.Host)
	}
	if _, err := os.Stat(s.base); !os.IsNotExist(err) {
		t.Errorf("directory %s after Close: %v, want it removed", s.base, err)
	}
}

// TestLoopbackOnly: the server listens on 127.0.0.1 only. All of 127/8
// reaches the loopback interface on Linux, so a server listening on every
// interface would answer on 127.0.0.2 too.
func TestLoopbackOnly(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("only Linux routes all of 127.0.0.0/8 to the loopback interface")
	}
	Database(t)
	u, err := url.Parse(server(t))
	if err != nil {
		t.Fatal(err)
	}
	if u.Hostname() != "127.0.0.1" {
		t.Fatalf("server at %s, want 127.0.0.1", redact(u.String()))
	}
	other := "127.0.0.2:" + u.Port()
	if c, err := net.DialTimeout("tcp", other, 2*time.Second); err == nil {
		c.Close()
		t.Errorf("dial %s succeeded, want refused: PostgreSQL listens beyond 127.0.0.1", other)
	}
}

// TestPasswordRequired: TCP connections need the superuser's password.
func TestPasswordRequired(t *testing.T) {
	u, err := url.Parse(Database(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, set := u.User.Password(); !set {
		t.Skipf("%s names a server without a password; test.sh's and pgtest's servers have one", EnvURL)
	}
	u.User = url.UserPassword(u.User.Username(), "wrong")
	conn, err := pgx.Connect(t.Context(), u.String())
	if err == nil {
		conn.Close(t.Context())
		t.Fatal("connecting with a wrong password succeeded")
	}
	if !strings.Contains(err.Error(), "28P01") {
		t.Errorf("connecting with a wrong password: %v, want SQLSTATE 28P01", err)
	}
}

func TestEnvURL(t *testing.T) {
	const secret = "s3cr3t-pw"
	for _, bad := range []string{
		"http://postgres:" + secret + "@127.0.0.1:5432/postgres",
		"postgres://postgres:" + secret + "@/postgres",
		"postgres://postgres:" + secret + "@127.0.0.1:5432/%zz",
	} {
		t.Setenv(EnvURL, bad)
		r := runFake(func(tb testing.TB) { Database(tb) })
		if !r.fatal || !strings.Contains(r.msg, EnvURL) {
			t.Errorf("Database() with a bad %s: fatal %v %q, want a fatal error naming %s", EnvURL, r.fatal, r.msg, EnvURL)
		}
		if strings.Contains(r.msg, secret) {
			t.Errorf("Database() with a bad %s: message %q holds the password", EnvURL, r.msg)
		}
	}

	// A server that is not there: the error names the server, not the password.
	t.Setenv(EnvURL, "postgres://postgres:"+secret+"@127.0.0.1:1/postgres?sslmode=disable")
	r := runFake(func(tb testing.TB) { Database(tb) })
	if !r.fatal || strings.Contains(r.msg, secret) || !strings.Contains(r.msg, "127.0.0.1:1") {
		t.Errorf("Database() with no server at %s: fatal %v %q, want a fatal error naming the server without the password", EnvURL, r.fatal, r.msg)
	}
}

// TestNotInstalled: without PostgreSQL's programs, Database and StartServer
// skip, or fail under CI=true.
func TestNotInstalled(t *testing.T) {
	t.Setenv(EnvURL, "")
	t.Setenv("PATH", t.TempDir())
	saved := debianBin
	debianBin = "/nonexistent/*/bin"
	defer func() { debianBin = saved }()
	for _, ci := range []string{"", "true"} {
		t.Setenv("CI", ci)
		for name, fn := range map[string]func(testing.TB){
			"Database":    func(tb testing.TB) { Database(tb) },
			"StartServer": func(tb testing.TB) { StartServer(tb) },
		} {
			r := runFake(fn)
			if r.fatal != (ci == "true") || r.skipped != (ci != "true") {
				t.Errorf("%s() with CI=%q and no PostgreSQL: fatal %v, skipped %v, want fatal only under CI", name, ci, r.fatal, r.skipped)
			}
			if !strings.Contains(r.msg, "apt-get install postgresql-15") {
				t.Errorf("%s() message = %q, want it to say how to install PostgreSQL", name, r.msg)
			}
		}
	}
}

func TestDatabaseName(t *testing.T) {
	for _, prefix := range []string{"TestFoo/Sub-Test.1", strings.Repeat("Ü", 80), ""} {
		got := DatabaseName(prefix)
		if len(got) > 63 || invalidNameChars.MatchString(got) || !strings.HasPrefix(got, "t_") {
			t.Errorf("DatabaseName(%q) = %q, want t_, lower-case letters, digits and _, at most 63 bytes", prefix, got)
		}
		if again := DatabaseName(prefix); again == got {
			t.Errorf("DatabaseName(%q) twice = %q both times, want different names", prefix, got)
		}
	}
}

// server returns the URL of the server Database used.
func server(t *testing.T) string {
	if u := os.Getenv(EnvURL); u != "" {
		return u
	}
	shared := servers.Current()
	if shared == nil {
		t.Fatal("no shared server")
	}
	return shared.URL()
}

// exists reports whether the database name exists on the server.
func exists(t *testing.T, serverURL, name string) bool {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), serverURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var found bool
	err = conn.QueryRow(t.Context(), `SELECT true FROM pg_database WHERE datname = $1`, name).Scan(&found)
	if errors.Is(err, pgx.ErrNoRows) {
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	return found
}

// fakeTB records what the helpers do with a testing.TB. Fatal and Skip end
// the goroutine, as they do in the testing package.
type fakeTB struct {
	testing.TB // nil: calling anything not overridden panics
	mu         sync.Mutex
	fatal      bool
	skipped    bool
	msg        string
	cleanups   []func()
}

func (f *fakeTB) Helper() {}

func (f *fakeTB) Name() string { return "TestFake" }

func (f *fakeTB) Context() context.Context { return context.Background() }

func (f *fakeTB) Fatal(args ...any) { f.end(&f.fatal, fmt.Sprint(args...)) }

func (f *fakeTB) Fatalf(format string, args ...any) { f.end(&f.fatal, fmt.Sprintf(format, args...)) }

func (f *fakeTB) Skip(args ...any) { f.end(&f.skipped, fmt.Sprint(args...)) }

func (f *fakeTB) Error(args ...any) { f.record(fmt.Sprint(args...)) }

func (f *fakeTB) Errorf(format string, args ...any) { f.record(fmt.Sprintf(format, args...)) }

func (f *fakeTB) Cleanup(fn func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cleanups = append(f.cleanups, fn)
}

func (f *fakeTB) record(msg string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.msg += msg
}

func (f *fakeTB) end(flag *bool, msg string) {
	f.mu.Lock()
	*flag = true
	f.msg += msg
	f.mu.Unlock()
	runtime.Goexit()
}

func runFake(fn func(testing.TB)) *fakeTB {
	f := &fakeTB{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(f)
	}()
	<-done
	f.mu.Lock()
	fns := f.cleanups
	f.mu.Unlock()
	for i := len(fns) - 1; i >= 0; i-- {
		fns[i]()
	}
	return f
}
