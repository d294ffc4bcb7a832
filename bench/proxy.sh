#!/bin/sh
# Benchmark ccproxy-tui's proxy against direct calls and a bare
# httputil.ReverseProxy on one loopback fake upstream. Linux only (reads
# /proc for the proxies' CPU and peak RSS). Needs only the Go toolchain:
# the load generator is bench/load.go, built with the rest.
# Usage: bench/proxy.sh [-d 1.5s] [-rounds 2] [-streams 500]
set -eu
cd "$(dirname "$0")/.."
bin="${TMPDIR:-/tmp}/ccproxy-bench.$$"
trap 'rm -f "$bin"' EXIT
go build -o "$bin" ./bench
"$bin" "$@"
