#!/bin/sh
# Benchmark ccproxy-tui's proxy against direct calls and a bare
# httputil.ReverseProxy on one loopback fake upstream. Linux only (reads
# /proc for the proxies' CPU and peak RSS). See bench/README.md.
#
#   bench/proxy.sh [-d 600ms] [-rounds 5] [-streams 500]
#       the full interleaved run with the built-in Go load generator
#   bench/proxy.sh --hey
#       a cross-check with rakyll/hey (installed with `go install` when
#       missing): JSON requests at c=1, 16, 64 against the same three targets
set -eu
cd "$(dirname "$0")/.."
bin="${TMPDIR:-/tmp}/ccproxy-bench.$$"
out="${TMPDIR:-/tmp}/ccproxy-bench.$$.out"
pid=""
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -f "$bin" "$out"
}
trap cleanup EXIT INT TERM
go build -o "$bin" ./bench

if [ "${1:-}" != "--hey" ]; then
	"$bin" "$@"
	exit
fi

HEY="$(command -v hey || true)"
if [ -z "$HEY" ]; then
	HEY="$(go env GOPATH)/bin/hey"
	[ -x "$HEY" ] || go install github.com/rakyll/hey@v0.1.5
fi
"$bin" -serve >"$out" &
pid=$!
while ! grep -q '^ready' "$out" 2>/dev/null; do
	kill -0 "$pid" 2>/dev/null || { echo "bench: targets did not start" >&2; exit 1; }
	sleep 0.1
done
body='{"model":"fake-model","max_tokens":64,"messages":[{"role":"user","content":"Say hello."}]}'
printf '%-4s %-8s %10s %10s %10s\n' c target req/s p50 p99
for c in 1 16 64; do
	grep -v '^ready' "$out" | while read -r name url _; do
		"$HEY" -z 2s -c "$c" -m POST -T application/json -d "$body" "$url" |
			awk -v c="$c" -v n="$name" '
				/Requests\/sec/ { rps = $2 }
				/ 50%% in / { p50 = $3 * 1000 }
				/ 99%% in / { p99 = $3 * 1000 }
				END { printf "%-4s %-8s %10.0f %8.3fms %8.3fms\n", c, n, rps, p50, p99 }'
	done
done
