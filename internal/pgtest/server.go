package pgtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const (
	startTimeout = 60 * time.Second // initdb and start take 1-3 s on a quiet machine; CI is not quiet
	stopTimeout  = 30 * time.Second
)

// Server is a PostgreSQL server of its own, in a temporary directory,
// listening on 127.0.0.1. Tests that stop, restart or crash a server get one
// from [StartServer]; the others share one through [Database].
type Server struct {
	bin      string // directory of initdb, pg_ctl and postgres
	version  string // such as "15.18"
	base     string // temporary directory: data/, the socket, postgres.log
	port     int
	password string // the superuser's, random
	runuser  string // runuser's path when the tools run as the postgres user (we are root)
}

// NewServer creates a database cluster with initdb in a new temporary
// directory, starts it with pg_ctl and returns once it accepts connections,
// or ctx is done. Only use this outside tests (test.sh's server launcher
// does); tests call [Database] or [StartServer].
//
// PostgreSQL refuses to run as root: as root, NewServer runs initdb and
// pg_ctl as the user postgres through runuser.
func NewServer(ctx context.Context) (*Server, error) {
	s, err := newServer(ctx)
	if err != nil {
		return nil, fmt.Errorf("pgtest: %v", err)
	}
	return s, nil
}

func newServer(ctx context.Context) (_ *Server, err error) {
	bin, err := findBin()
	if err != nil {
		return nil, err
	}
	s := &Server{bin: bin}
	var owner *user.User
	if os.Geteuid() == 0 {
		if s.runuser, err = findRunuser(); err != nil {
			return nil, err
		}
		if owner, err = user.Lookup("postgres"); err != nil {
			return nil, fmt.Errorf("PostgreSQL refuses to run as root and there is no user postgres to run it as (%v); install PostgreSQL from the distribution's packages (apt-get install postgresql-15), which creates it", err)
		}
	}
	out, err := exec.CommandContext(ctx, filepath.Join(bin, "postgres"), "--version").Output()
	if err != nil {
		return nil, fmt.Errorf("%s --version: %v", filepath.Join(bin, "postgres"), err)
	}
	if m := versionRE.FindSubmatch(out); m != nil {
		s.version = string(m[1])
	}

	if s.base, err = os.MkdirTemp("", "datamask-postgres-"); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	if owner != nil {
		uid, _ := strconv.Atoi(owner.Uid)
		gid, _ := strconv.Atoi(owner.Gid)
		if err := os.Chown(s.base, uid, gid); err != nil {
			return nil, err
		}
	}
	var pw [16]byte
	rand.Read(pw[:])
	s.password = hex.EncodeToString(pw[:])
	pwfile := filepath.Join(s.base, "pwfile")
	if err := os.WriteFile(pwfile, []byte(s.password+"\n"), 0o600); err != nil {
		return nil, err
	}
	if owner != nil {
		uid, _ := strconv.Atoi(owner.Uid)
		gid, _ := strconv.Atoi(owner.Gid)
		if err := os.Chown(pwfile, uid, gid); err != nil {
			return nil, err
		}
	}
	out, err = s.command(ctx, "initdb",
		"-D", s.data(), "-U", "postgres", "--pwfile", pwfile,
		"--auth-host=scram-sha-256", "--auth-local=peer",
		"-E", "UTF8", "--locale=C", "--no-sync").CombinedOutput()
	os.Remove(pwfile)
	if err != nil {
		return nil, fmt.Errorf("initdb: %v; its output:\n%s", err, out)
	}
	if err := s.configure(); err != nil {
		return nil, err
	}

	// The port is free when chosen but could be taken before postgres
	// binds it: choose again a few times.
	for attempt := 0; ; attempt++ {
		if s.port, err = freePort(); err != nil {
			return nil, err
		}
		err = s.start(ctx)
		if err == nil || attempt == 3 || !strings.Contains(err.Error(), "could not bind") {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	return s, nil
}

// configure appends the test settings to postgresql.conf.
//
// fsync and full_page_writes are off: they protect against losing the
// operating system (power loss, kernel crash), which no test does, and cost
// seconds per run. synchronous_commit stays on, so a commit returns only
// once its WAL is written to the kernel: a server killed with SIGKILL (see
// [Server.Kill]) or stopped with -m immediate loses nothing it acknowledged,
// which is what crash tests check.
func (s *Server) configure() error {
	conf := fmt.Sprintf(`
# datamask tests (internal/pgtest)
listen_addresses = '127.0.0.1'
unix_socket_directories = '%s'
max_connections = 300
fsync = off
full_page_writes = off
synchronous_commit = on
`, s.base)
	f, err := os.OpenFile(filepath.Join(s.data(), "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(conf); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// URL returns the URL of the server's postgres database as its superuser,
// such as "postgres://postgres:PASSWORD@127.0.0.1:41234/postgres?sslmode=disable".
// It holds the password: print [Server.String] instead.
func (s *Server) URL() string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.UserPassword("postgres", s.password),
		Host:     net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)),
		Path:     "/postgres",
		RawQuery: "sslmode=disable",
	}
	return u.String()
}

// String describes the server without its password.
func (s *Server) String() string {
	return fmt.Sprintf("PostgreSQL %s on 127.0.0.1:%d", s.version, s.port)
}

// Version returns the server's version, such as "15.18".
func (s *Server) Version() string { return s.version }

// Stop shuts the server down (pg_ctl stop -m fast: sessions are ended,
// committed work kept), leaving its data for [Server.Start].
func (s *Server) Stop(ctx context.Context) error {
	out, err := s.command(ctx, "pg_ctl", "-D", s.data(), "-m", "fast", "-w", "-t", strconv.Itoa(int(stopTimeout/time.Second)), "stop").CombinedOutput()
	if err != nil {
		return fmt.Errorf("pgtest: pg_ctl stop: %v; %s", err, bytes.TrimSpace(out))
	}
	return nil
}

// Kill crashes the server: SIGKILL to the postmaster, as the kernel's
// out-of-memory killer would. [Server.Start] recovers it from its WAL.
func (s *Server) Kill() error {
	pid, err := s.pid()
	if err != nil {
		return fmt.Errorf("pgtest: %v", err)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		return fmt.Errorf("pgtest: killing the postmaster (pid %d): %v", pid, err)
	}
	deadline := time.Now().Add(stopTimeout)
	for syscall.Kill(pid, 0) == nil {
		if time.Now().After(deadline) {
			return fmt.Errorf("pgtest: the postmaster (pid %d) still runs after SIGKILL", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return nil
}

// Start starts the server again after [Server.Stop] or [Server.Kill], on
// the same port with the same data, and returns once it accepts
// connections. After a kill, it waits for the killed server's backends to
// exit and for crash recovery.
func (s *Server) Start(ctx context.Context) error {
	if pid, err := s.pid(); err == nil && syscall.Kill(pid, 0) == nil {
		return fmt.Errorf("pgtest: the server is already running (postmaster pid %d)", pid)
	}
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	for {
		err := s.start(ctx)
		if err == nil {
			return nil
		}
		// Backends of a killed postmaster hold its shared memory for a
		// moment ("pre-existing shared memory block is still in use").
		select {
		case <-ctx.Done():
			return fmt.Errorf("pgtest: %v", err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Close stops the server at once (its data does not matter any more) and
// removes its directory.
func (s *Server) Close() error {
	var err error
	if _, statErr := os.Stat(filepath.Join(s.data(), "postmaster.pid")); statErr == nil {
		ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
		defer cancel()
		out, stopErr := s.command(ctx, "pg_ctl", "-D", s.data(), "-m", "immediate", "-w", "stop").CombinedOutput()
		if stopErr != nil && !strings.Contains(string(out), "Is server running?") {
			err = fmt.Errorf("pgtest: pg_ctl stop: %v; %s", stopErr, bytes.TrimSpace(out))
		}
	}
	if rmErr := os.RemoveAll(s.base); rmErr != nil && err == nil {
		err = fmt.Errorf("pgtest: %v", rmErr)
	}
	return err
}

func (s *Server) data() string { return filepath.Join(s.base, "data") }

func (s *Server) logFile() string { return filepath.Join(s.base, "postgres.log") }

// start runs pg_ctl start, which waits until the server accepts
// connections.
func (s *Server) start(ctx context.Context) error {
	out, err := s.command(ctx, "pg_ctl", "-D", s.data(), "-l", s.logFile(),
		"-w", "-t", strconv.Itoa(int(startTimeout/time.Second)),
		"-o", "-p "+strconv.Itoa(s.port), "start").CombinedOutput()
	if err != nil {
		return fmt.Errorf("pg_ctl start on port %d: %v; %s\nthe server's log ends:\n%s", s.port, err, bytes.TrimSpace(out), s.logTail())
	}
	return nil
}

// logTail returns the end of the server's log, for diagnostics.
func (s *Server) logTail() string {
	b, _ := os.ReadFile(s.logFile())
	if len(b) > 4096 {
		b = b[len(b)-4096:]
	}
	return string(b)
}

// pid reads the postmaster's process id from postmaster.pid.
func (s *Server) pid() (int, error) {
	b, err := os.ReadFile(filepath.Join(s.data(), "postmaster.pid"))
	if err != nil {
		return 0, fmt.Errorf("the server is not running: %v", err)
	}
	line, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("postmaster.pid starts with %q, not a process id", line)
	}
	return pid, nil
}

// command runs one of PostgreSQL's programs, as the user postgres when we
// are root.
func (s *Server) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	path := filepath.Join(s.bin, name)
	var cmd *exec.Cmd
	if s.runuser != "" {
		cmd = exec.CommandContext(ctx, s.runuser, append([]string{"-u", "postgres", "--", path}, args...)...)
	} else {
		cmd = exec.CommandContext(ctx, path, args...)
	}
	cmd.Dir = s.base // root's working directory may be closed to postgres
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	return cmd
}

// debianBin is where Debian and Ubuntu install PostgreSQL's programs, one
// directory per major version.
var debianBin = "/usr/lib/postgresql/*/bin"

var versionRE = regexp.MustCompile(`\(PostgreSQL\) ([0-9]+(?:\.[0-9]+)?)`)

// findBin finds the directory holding initdb, pg_ctl and postgres: on PATH,
// else the newest /usr/lib/postgresql/VERSION/bin (Debian and Ubuntu keep
// them there, off PATH).
func findBin() (string, error) {
	has := func(dir string) bool {
		for _, p := range []string{"initdb", "pg_ctl", "postgres"} {
			if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
				return false
			}
		}
		return true
	}
	if p, err := exec.LookPath("pg_ctl"); err == nil && has(filepath.Dir(p)) {
		return filepath.Dir(p), nil
	}
	dirs, _ := filepath.Glob(debianBin)
	major := func(dir string) int {
		n, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
		return n
	}
	slices.SortFunc(dirs, func(a, b string) int { return major(b) - major(a) })
	for _, d := range dirs {
		if has(d) {
			return d, nil
		}
	}
	return "", errors.New("PostgreSQL's initdb and pg_ctl are neither on PATH nor under /usr/lib/postgresql/*/bin (install them with: apt-get install postgresql-15)")
}

func findRunuser() (string, error) {
	if p, err := exec.LookPath("runuser"); err == nil {
		return p, nil
	}
	for _, p := range []string{"/usr/sbin/runuser", "/sbin/runuser"} {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", errors.New("PostgreSQL refuses to run as root and runuser (util-linux) is missing to run it as the user postgres")
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
