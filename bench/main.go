// Command bench measures ccproxy-tui's proxy against direct calls and a bare
// httputil.ReverseProxy, all in front of the same loopback fake upstream,
// each proxy in its own process so its CPU and peak RSS can be read from
// /proc. Run it with bench/proxy.sh (Linux only).
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

func main() {
	role := flag.String("role", "", "internal: run as a child process (upstream, bare, ccproxy)")
	upstream := flag.String("upstream", "", "internal: upstream URL for a proxy child")
	dur := flag.Duration("d", 600*time.Millisecond, "load duration per cell and round")
	rounds := flag.Int("rounds", 5, "interleaved rounds per cell")
	streams := flag.Int("streams", 500, "concurrent open streams for the RSS and goroutine check")
	flag.BoolVar(&withLedger, "ledger", true, "ccproxy records every request in a usage ledger (a temporary usage.db), as serve does")
	flag.BoolVar(&withQuota, "quota", true, "the upstream answers with Anthropic's quota headers, which ccproxy reads and keeps in the ledger, as serve does")
	flag.StringVar(&profileDir, "profile", "", "write each proxy's CPU profile over the whole run to DIR/<role>.pprof (bare, ccproxy), for go tool pprof")
	serve := flag.Bool("serve", false, "only start upstream, bare and ccproxy, print their URLs, and wait for SIGTERM (for an external load tool)")
	flag.Parse()
	if *role != "" {
		if err := serveRole(*role, *upstream, withLedger); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	if *serve {
		if err := serveAll(); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	if err := orchestrate(*dur, *rounds, *streams); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// withLedger is the -ledger flag, passed on to the ccproxy child.
var withLedger bool

// withQuota is the -quota flag, passed on to the children.
var withQuota bool

// profileDir is the -profile flag, passed on to the children.
var profileDir string

// child is one spawned role.
type child struct {
	cmd      *exec.Cmd
	url, ctl string
}

func spawn(role, upstream string) (*child, error) {
	cmd := exec.Command(os.Args[0], "-role", role, "-upstream", upstream, "-ledger="+strconv.FormatBool(withLedger), "-quota="+strconv.FormatBool(withQuota), "-profile="+profileDir)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		_ = cmd.Process.Kill()
		return nil, fmt.Errorf("%s child: %w", role, err)
	}
	f := strings.Fields(line)
	return &child{cmd: cmd, url: f[0], ctl: f[1]}, nil
}

// spawnAll starts the fake upstream and the two proxies in front of it;
// stop ends them in reverse order.
func spawnAll() (up, bare, cc *child, stop func(), err error) {
	var started []*child
	stop = func() {
		for i := len(started) - 1; i >= 0; i-- {
			started[i].stop()
		}
	}
	for _, role := range []string{"upstream", "bare", "ccproxy"} {
		upstream := ""
		if role != "upstream" {
			upstream = started[0].url
		}
		c, err := spawn(role, upstream)
		if err != nil {
			stop()
			return nil, nil, nil, nil, err
		}
		started = append(started, c)
	}
	return started[0], started[1], started[2], stop, nil
}

func (c *child) stop() {
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	_ = c.cmd.Wait()
}

func (c *child) goroutines() int {
	resp, err := http.Get(c.ctl + "/goroutines")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return n
}

// target is one way of reaching the upstream; proc is nil for direct.
type target struct {
	name string
	url  string
	proc *child
}

// cell accumulates one (mode, concurrency, target) across rounds.
type cell struct {
	res  result
	cpu  time.Duration
	peak int64
	// per round, for ratios that a burst of load from other processes in
	// one round cannot swing: rps and CPU per request.
	rps    []float64
	cpuReq []float64
}

func orchestrate(d time.Duration, rounds, streams int) error {
	up, bare, cc, stop, err := spawnAll()
	if err != nil {
		return err
	}
	defer stop()
	targets := []target{
		{"direct", up.url + "/v1/messages", nil},
		{"bare", bare.url + "/claude/v1/messages", bare},
		{"ccproxy", cc.url + "/claude/v1/messages", cc},
	}
	fmt.Printf("ccproxy-tui proxy bench: %d CPUs, %s x %d interleaved rounds per cell\n\n", cpus(), d, rounds)
	for _, t := range targets { // warm up connections and code paths
		run(t.url, 16, 300*time.Millisecond, false)
		run(t.url, 16, 300*time.Millisecond, true)
	}

	fmt.Printf("%-6s %3s  %-8s %9s %9s %9s %10s %9s %8s %8s  %s\n",
		"mode", "c", "target", "req/s", "p50", "p99", "cpu/req", "peakRSS", "rps/bare", "cpu/bare", "goals")
	// req/s, latencies and cpu/req pool all rounds; the two ratios are the
	// median of the per-round ratios.
	misses := 0
	for _, stream := range []bool{false, true} {
		for _, c := range []int{1, 16, 64} {
			cells := make([]cell, len(targets))
			for round := range rounds {
				// Rotate who goes first so no target always runs on a
				// machine still busy with the previous one.
				for k := range targets {
					i := (k + round) % len(targets)
					t := targets[i]
					var cpu0 time.Duration
					if t.proc != nil {
						_ = resetPeakRSS(t.proc.cmd.Process.Pid)
						cpu0, _ = cpuTime(t.proc.cmd.Process.Pid)
					}
					r := run(t.url, c, d, stream)
					cells[i].rps = append(cells[i].rps, r.rps())
					if t.proc != nil {
						cpu1, _ := cpuTime(t.proc.cmd.Process.Pid)
						cells[i].cpu += cpu1 - cpu0
						cells[i].cpuReq = append(cells[i].cpuReq, float64(cpu1-cpu0)/float64(max(1, r.n)))
						pk, _ := peakRSS(t.proc.cmd.Process.Pid)
						cells[i].peak = max(cells[i].peak, pk)
					}
					cells[i].res.merge(r)
				}
			}
			mode := "json"
			if stream {
				mode = "sse"
			}
			misses += printCells(mode, c, targets, cells)
		}
	}

	fmt.Println()
	misses += firstEvent(targets, 100)
	fmt.Println()
	for _, t := range targets[1:] {
		misses += openStreams(t, streams)
	}
	fmt.Printf("\ngoals missed: %d\n", misses)
	return nil
}

// serveAll starts the three targets and prints "name url pid" per line, then
// waits for SIGTERM or an interrupt.
func serveAll() error {
	up, bare, cc, stop, err := spawnAll()
	if err != nil {
		return err
	}
	defer stop()
	fmt.Printf("direct %s/v1/messages -\n", up.url)
	fmt.Printf("bare %s/claude/v1/messages %d\n", bare.url, bare.cmd.Process.Pid)
	fmt.Printf("ccproxy %s/claude/v1/messages %d\n", cc.url, cc.cmd.Process.Pid)
	fmt.Println("ready")
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	<-ctx.Done()
	return nil
}

func cpus() int { return len(mustRead("/proc/self/status", "Cpus_allowed_list")) }

func mustRead(path, key string) []int {
	b, _ := os.ReadFile(path)
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, key+":"); ok {
			var ids []int
			for part := range strings.SplitSeq(strings.TrimSpace(v), ",") {
				lo, hi, found := strings.Cut(part, "-")
				a, _ := strconv.Atoi(lo)
				b := a
				if found {
					b, _ = strconv.Atoi(hi)
				}
				for i := a; i <= b; i++ {
					ids = append(ids, i)
				}
			}
			return ids
		}
	}
	return nil
}

// printCells prints one mode×concurrency group and returns its goal misses.
func printCells(mode string, c int, targets []target, cells []cell) int {
	for i := range cells {
		slices.Sort(cells[i].res.lat)
	}
	direct, bare := cells[0], cells[1]
	perReq := func(x cell) time.Duration {
		if x.res.n == 0 {
			return 0
		}
		return x.cpu / time.Duration(x.res.n)
	}
	misses := 0
	for i, t := range targets {
		x := cells[i]
		cpu, peak, ratios, goals := "-", "-", "", ""
		if t.proc != nil {
			cpu = fmt.Sprintf("%.3fms", float64(perReq(x))/1e6)
			peak = fmt.Sprintf("%.1fMiB", float64(x.peak)/(1<<20))
		}
		if t.name == "ccproxy" {
			rr := medianRatio(x.rps, bare.rps)
			cr := medianRatio(x.cpuReq, bare.cpuReq)
			ratios = fmt.Sprintf("%8.2f %8.2f", rr, cr)
			var g []string
			check := func(ok bool, label string) {
				if ok {
					g = append(g, "ok "+label)
				} else {
					g = append(g, "MISS "+label)
					misses++
				}
			}
			check(rr >= 0.9, "rps>=0.9x")
			check(cr <= 1.2, "cpu<=1.2x")
			check(x.peak <= 30<<20, "rss<=30MiB")
			if c == 1 {
				added := x.res.pct(0.5) - direct.res.pct(0.5)
				check(added <= 400*time.Microsecond, fmt.Sprintf("p50+%.3fms<=0.4", float64(added)/1e6))
			}
			goals = strings.Join(g, ", ")
		} else {
			ratios = fmt.Sprintf("%8s %8s", "", "")
		}
		errs := ""
		if x.res.errs > 0 {
			errs = fmt.Sprintf(" (%d errors, last: %v)", x.res.errs, x.res.lastErr)
		}
		fmt.Printf("%-6s %3d  %-8s %9.0f %9s %9s %10s %9s %s  %s%s\n", mode, c, t.name, x.res.rps(),
			ms(x.res.pct(0.5)), ms(x.res.pct(0.99)), cpu, peak, ratios, goals, errs)
	}
	return misses
}

// medianRatio is the median over rounds of a[i]/b[i]: each round's two
// runs were back to back, so their ratio shares that moment's machine load.
func medianRatio(a, b []float64) float64 {
	var r []float64
	for i := range min(len(a), len(b)) {
		if b[i] > 0 {
			r = append(r, a[i]/b[i])
		}
	}
	if len(r) == 0 {
		return 0
	}
	slices.Sort(r)
	return r[len(r)/2]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.3fms", float64(d)/1e6) }

// firstEvent sends n paced streams to each target, interleaved one by one,
// and compares the time to the first event with direct.
func firstEvent(targets []target, n int) int {
	hdr := map[string]string{"X-Fake-Pace": "2ms", "X-Fake-Deltas": "1"}
	lat := make([][]time.Duration, len(targets))
	for range n {
		for i, t := range targets {
			_, first, err := callHdr(t.url, hdr)
			if err == nil {
				lat[i] = append(lat[i], first)
			}
		}
	}
	fmt.Printf("paced stream, first event (c=1, %d streams each):\n", n)
	misses := 0
	var directP50 time.Duration
	for i, t := range targets {
		slices.Sort(lat[i])
		r := result{lat: lat[i]}
		goal := ""
		if i == 0 {
			directP50 = r.pct(0.5)
		} else {
			added := r.pct(0.5) - directP50
			goal = fmt.Sprintf("p50 +%s vs direct", ms(added))
			if t.name == "ccproxy" {
				if added <= 2*time.Millisecond {
					goal += "  ok <=2ms"
				} else {
					goal += "  MISS >2ms"
					misses++
				}
			}
		}
		fmt.Printf("  %-8s p50 %s  p99 %s  %s\n", t.name, ms(r.pct(0.5)), ms(r.pct(0.99)), goal)
	}
	return misses
}

func callHdr(url string, hdr map[string]string) (time.Duration, time.Duration, error) {
	return call(context.Background(), url, true, hdr)
}

// openStreams holds n slow streams open through t at once, reads the proxy's
// peak RSS and goroutines, then drops them all and checks that the
// goroutine count returns to where it was.
func openStreams(t target, n int) int {
	loadClient.CloseIdleConnections()
	time.Sleep(200 * time.Millisecond) // let the proxy notice the closed idle conns
	pid := t.proc.cmd.Process.Pid
	base := t.proc.goroutines()
	_ = resetPeakRSS(pid)
	ctx, cancel := context.WithCancel(context.Background())
	var ready, done sync.WaitGroup
	ready.Add(n)
	var mu sync.Mutex
	failed := 0
	for range n {
		done.Go(func() {
			err := holdStream(ctx, t.url, &ready)
			if err != nil && ctx.Err() == nil {
				mu.Lock()
				failed++
				mu.Unlock()
			}
		})
	}
	ready.Wait()
	during := t.proc.goroutines()
	peak, _ := peakRSS(pid)
	cancel()
	done.Wait()
	left := during
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if left = t.proc.goroutines(); left <= base {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	misses := 0
	goal := ""
	if t.name == "ccproxy" {
		ok := peak <= 60<<20 && left <= base && failed == 0
		goal = "ok rss<=60MiB, 0 left"
		if !ok {
			goal = "MISS"
			misses++
		}
	}
	fmt.Printf("%d open streams via %-8s peak RSS %.1fMiB  goroutines %d before, %d during, %d after (left: %d)  failed %d  %s\n",
		n, t.name, float64(peak)/(1<<20), base, during, left, max(0, left-base), failed, goal)
	return misses
}

// holdStream opens a slow stream, signals once its first event arrived, and
// keeps reading until ctx ends it.
func holdStream(ctx context.Context, url string, ready *sync.WaitGroup) error {
	signalled := false
	defer func() {
		if !signalled {
			ready.Done()
		}
	}()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(streamBody))
	if err != nil {
		return err
	}
	req.Header.Set("X-Fake-Pace", "200ms")
	req.Header.Set("X-Fake-Deltas", "150") // ~30 s: far longer than the check
	resp, err := loadClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	if _, err := br.ReadSlice('\n'); err != nil {
		return err
	}
	signalled = true
	ready.Done()
	_, err = io.Copy(io.Discard, br)
	return err
}
