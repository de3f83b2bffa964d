package httpapi_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/unistore-bench/unistore"
	"github.com/unistore-bench/unistore/core"
)

// EnvScreenshots names a directory for the browser test's screenshots;
// without it they go to the test's artifact directory (kept with
// `go test -artifacts -outputdir DIR`).
const EnvScreenshots = "UNISTORE_SCREENSHOT_DIR"

// chromium finds Debian's chromium (or a Chrome). Missing, the test
// skips with one line — but not under CI=true, where it fails: CI
// installs it (.ci/run).
// startChrome starts a headless chromium (exe) under ctx and returns its
// browser context, closed when the test ends. A browser that dies while
// starting (chromium's crash handler, seen on a loaded machine) is
// started again, at most three times in all: the tests are about the
// page, not chromium's start-up.
func startChrome(t *testing.T, ctx context.Context, exe string, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.NoSandbox,
		chromedp.Flag("disable-gpu", true), chromedp.Flag("disable-dev-shm-usage", true))
	opts = append(opts, extra...)
	var err error
	for try := 1; try <= 3; try++ {
		actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
		bctx, cancelBrowser := chromedp.NewContext(actx)
		if err = chromedp.Do(bctx); err == nil { // no steps: starts the browser
			t.Cleanup(func() { cancelBrowser(); cancelAlloc() })
			return bctx
		}
		cancelBrowser()
		cancelAlloc()
		t.Logf("chromium did not start (try %d of 3): %v", try, err)
	}
	t.Fatalf("chromium did not start: %v", err)
	return nil
}

func chromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is not installed and CI=true: the browser test cannot be skipped (apt-get install -y chromium)")
	}
	t.Skip("chromium not installed (apt-get install -y chromium): browser test skipped")
	return ""
}

// TestBrowser drives the web UI in headless chromium: log in with
// /?token=, open the runs page, start a run on the embedded SQLite from a
// saved template, watch the live chart's data grow, press Stop and see
// CANCELLED. It saves screenshots of the live dashboard, and fails on a
// script error or a request that leaves the server (the UI works offline).
func TestBrowser(t *testing.T) {
	exe := chromium(t)
	const token = "br0wser-t0ken"
	e := newEnv(t, token)
	tpl := strings.Replace(testYAML, "duration: 2s", "duration: 120s", 1)
	tpl = strings.Replace(tpl, "name: api-test", "name: browser-mix\ntarget: {dsn: '"+e.target+"'}", 1)
	if _, err := unistore.SaveTemplate(context.Background(), e.st, "browser-mix.yaml", "browser-mix", []byte(tpl)); err != nil {
		t.Fatal(err)
	}
	// A finished run to compare with.
	first := e.startRun(map[string]any{"duration": "1s"})
	e.waitRun(first, 30*time.Second, terminal)
	dir := os.Getenv(EnvScreenshots)
	if dir == "" {
		dir = t.ArtifactDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	bctx := startChrome(t, ctx, exe, chromedp.WindowSize(1400, 1100))

	var mu sync.Mutex
	var problems []string
	err := chromedp.Listen(bctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch ev := ev.(type) {
		case *runtime.EventExceptionThrown:
			d := ev.ExceptionDetails
			desc := d.Text
			if d.Exception != nil {
				desc += " " + d.Exception.Description
			}
			problems = append(problems, fmt.Sprintf("script error at %s:%d: %s", d.URL, d.LineNumber+1, desc))
		case *network.EventRequestWillBeSent:
			host := strings.TrimPrefix(e.ts.URL, "http://")
			if u := ev.Request.URL; !strings.Contains(u, "://"+host+"/") && !strings.HasPrefix(u, "data:") {
				problems = append(problems, "request off the server: "+u)
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}

	shot := func(name string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			png, err := chromedp.FullScreenshot(100)(ctx, tg)
			if err != nil {
				return err
			}
			path := filepath.Join(dir, name)
			t.Logf("screenshot: %s", path)
			return os.WriteFile(path, png, 0o644)
		})
	}
	points := func(id string, min int) chromedp.Action[chromedp.Void] {
		return chromedp.Poll[chromedp.Void](fmt.Sprintf(`Number(document.getElementById(%q)?.dataset.points || 0) >= %d`, id, min),
			chromedp.WithPollingTimeout(45*time.Second))
	}
	count := func(id string) chromedp.Action[int] {
		return chromedp.Evaluate[int](fmt.Sprintf(`Number(document.getElementById(%q)?.dataset.points || 0)`, id))
	}
	var before, after int
	var status, hash string
	err = chromedp.Do(bctx,
		chromedp.Navigate(e.ts.URL+"/?token="+token), // sets the session cookie
		chromedp.WaitVisible(chromedp.CSS(`#runs`)),
		chromedp.Click(chromedp.CSS(`a[href="#/new"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#start`)),
		chromedp.SetValue(chromedp.CSS(`#source`), "browser-mix"),
		chromedp.SetValue(chromedp.CSS(`#o-connections`), "3"),
		shot("new-run.png"),
		chromedp.Click(chromedp.CSS(`#start`)),
		chromedp.WaitVisible(chromedp.CSS(`#qps-chart`)),
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) (err error) {
			hash, err = chromedp.Location()(ctx, tg)
			return err
		}),
		points("qps-chart", 2),
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) (err error) {
			if before, err = count("qps-chart")(ctx, tg); err != nil {
				return err
			}
			if _, err := points("qps-chart", before+3)(ctx, tg); err != nil { // the data grows, a point a second
				return err
			}
			after, err = count("qps-chart")(ctx, tg)
			return err
		}),
		points("latency-chart", 3),
		chromedp.WaitVisible(chromedp.CSS(`.worker.h-HEALTHY`)),
		shot("live-dashboard.png"),
		chromedp.Click(chromedp.CSS(`#stop`)),
		chromedp.Poll[chromedp.Void](`document.getElementById("status")?.textContent === "CANCELLED"`, chromedp.WithPollingTimeout(45*time.Second)),
		chromedp.WaitVisible(chromedp.CSS(`#result-link`)),
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) (err error) {
			status, err = chromedp.Text(chromedp.CSS(`#status`))(ctx, tg)
			return err
		}),
		shot("live-dashboard-cancelled.png"),
		// The run's detail page draws its interval charts.
		chromedp.Click(chromedp.CSS(`#result-link`)),
		points("iv-qps", 2),
		shot("run-detail.png"),
		// The runs page, filtered, then all of them compared.
		chromedp.Evaluate[chromedp.Void](`location.hash = "#/?status=CANCELLED"`),
		chromedp.Poll[chromedp.Void](`(() => { const rows = document.querySelectorAll("#runs tbody tr");
			return rows.length === 1 && rows[0].textContent.includes("CANCELLED"); })()`, chromedp.WithPollingTimeout(20*time.Second)),
		chromedp.Evaluate[chromedp.Void](`location.hash = "#/"`),
		chromedp.Poll[chromedp.Void](`document.querySelectorAll("#runs input.pick").length === 2`, chromedp.WithPollingTimeout(20*time.Second)),
		shot("runs.png"),
		chromedp.Click(chromedp.CSS(`#runs tbody tr:nth-child(1) input.pick`)),
		chromedp.Click(chromedp.CSS(`#runs tbody tr:nth-child(2) input.pick`)),
		chromedp.Click(chromedp.CSS(`#compare-btn`)),
		chromedp.WaitVisible(chromedp.CSS(`#compare`)),
		chromedp.Poll[chromedp.Void](`document.querySelector("#compare").textContent.includes("%")`, chromedp.WithPollingTimeout(20*time.Second)),
		shot("compare.png"),
	)
	if err != nil {
		t.Fatalf("browser: %v (at %s)", err, hash)
	}
	t.Logf("live chart: %d points, then %d", before, after)
	if status != "CANCELLED" {
		t.Errorf("status %q after Stop, want CANCELLED", status)
	}
	id := strings.TrimPrefix(hash[strings.Index(hash, "#"):], "#/live/")
	res, err := unistore.Show(ctx, e.st, id)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != core.StatusCancelled || res.Connections != 3 || res.Total.Count == 0 {
		t.Errorf("stored run %s: %s, %d connections, %d operations", id, res.Status, res.Connections, res.Total.Count)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, p := range problems {
		t.Error(p)
	}
}
