#!/usr/bin/env bash
# test.sh runs every test of datamask: formatting, vet, staticcheck, the unit,
# integration and interop tests under the race detector, and each benchmark
# once. It installs what the tests need first (Go modules, the JS ESDK from
# interop/js/package-lock.json). CI runs exactly this (.ci/run, with CI=true);
# under CI=true a missing peer or service is a failure, never a skip.
set -euo pipefail
cd "$(dirname "$0")"

step() { printf '\n==> %s\n' "$*"; }
fail() { printf 'test.sh: %s\n' "$*" >&2; exit 1; }

# Every Go module in the repository: the library, and the modules that keep
# test oracles and examples out of users' go.mod.
modules=(.)
for m in interop examples/lambda; do
	[ -f "$m/go.mod" ] && modules+=("$m")
done

step "toolchain"
go version
for tool in node npm python3 moto_server; do
	if command -v "$tool" >/dev/null 2>&1; then
		printf '%-12s %s\n' "$tool" "$(command -v "$tool")"
	elif [ "${CI:-}" = true ]; then
		fail "$tool is not installed; CI needs it for the interop and integration tests"
	else
		printf '%-12s missing: the tests that need it will be skipped (CI fails instead)\n' "$tool"
	fi
done

if [ -f interop/js/package-lock.json ] && command -v npm >/dev/null 2>&1; then
	step "npm ci --prefix interop/js (JS ESDK pinned by its lockfile)"
	npm ci --prefix interop/js --no-audit --no-fund --loglevel=error
fi

step "go mod download"
for m in "${modules[@]}"; do (cd "$m" && go mod download); done

step "gofmt"
unformatted=$(git ls-files -z '*.go' | xargs -0 gofmt -l)
[ -z "$unformatted" ] || fail "gofmt would change: $unformatted"

step "go vet"
for m in "${modules[@]}"; do (cd "$m" && go vet ./...); done

step "staticcheck"
for m in "${modules[@]}"; do (cd "$m" && go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...); done

step "go test -race"
for m in "${modules[@]}"; do
	printf -- '-- module %s\n' "$m"
	(cd "$m" && go test -race -count=1 -timeout 20m ./...)
done

step "benchmarks (each runs once, to prove they work; see README for real runs)"
for m in "${modules[@]}"; do
	(cd "$m" && go test -run '^$' -bench . -benchtime 1x -timeout 20m ./... >/dev/null)
done

step "all tests passed"
