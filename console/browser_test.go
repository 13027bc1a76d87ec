package console_test

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromium finds a Chromium or Chrome binary: $MODELGATE_CHROMIUM, or
// one on the PATH.
func chromium() string {
	if p := os.Getenv("MODELGATE_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// TestConsoleInChromium drives the console in headless Chromium: log in,
// read the indicators, revoke a key and see the gateway refuse it,
// quarantine a model and see 503, search the audit log and check an
// event's proof, taking a screenshot of every page. The screenshots go
// to $MODELGATE_SCREENSHOTS when it is set (docs/console/ holds the ones
// of the docs).
func TestConsoleInChromium(t *testing.T) {
	bin := chromium()
	if bin == "" {
		t.Skip("no Chromium: install Debian's chromium (CI does) or set MODELGATE_CHROMIUM; the console's HTTP-level tests still ran")
	}
	if testing.Short() {
		t.Skip("skipped with -short: it starts a browser")
	}
	shots := os.Getenv("MODELGATE_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	}
	f := newFixture(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(bin), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.WindowSize(1280, 900), chromedp.Headless)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	if err := chromedp.Do(ctx); err != nil { // start the browser on a context without a deadline
		t.Fatalf("starting %s: %v", bin, err)
	}
	ctx, cancelTime := context.WithTimeout(ctx, 2*time.Minute) // generous: CI runs it beside every other package
	defer cancelTime()

	shoot := func(name string) chromedp.Action[chromedp.Void] {
		return func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
			png, err := chromedp.FullScreenshot(100)(ctx, tg)
			if err != nil {
				return chromedp.Void{}, err
			}
			return chromedp.Void{}, os.WriteFile(filepath.Join(shots, name+".png"), png, 0o644)
		}
	}
	run := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(sel))
		if err != nil {
			t.Fatalf("the text of %s: %v", sel, err)
		}
		return s
	}

	run("open the console", chromedp.Navigate(f.ui()))
	run("see the login form", chromedp.WaitVisible(`#login`))
	run("screenshot", shoot("login"))
	run("type the key", chromedp.SendKeys(`input[name=key]`, f.adminKey))
	run("submit", chromedp.Submit(`#login`))
	run("see the overview", chromedp.WaitVisible(`#KRI-MTTD-ALERT`))
	// The server computed the indicators as it started, before the
	// fixture registered its model: recompute them.
	run("recompute", chromedp.Click(`#refresh button`), chromedp.WaitVisible(`#recomputed`), shoot("overview"))
	if guarded := text(`#KRI-GUARDED .v`); guarded != "100.0%" {
		t.Errorf("KRI-GUARDED shows %q: the one model is behind a guarded route", guarded)
	}

	for _, p := range []string{"inventory", "models", "keys", "routes", "alerts", "redteam", "threats", "feedback"} {
		run("page "+p, chromedp.Navigate(f.ui()+p), chromedp.WaitVisible(`#logout`), shoot(p))
	}

	row := `#key-` + f.appID
	run("revoke a key",
		chromedp.Navigate(f.ui()+"keys"),
		chromedp.Click(row+` input[name=confirm]`),
		chromedp.Click(row+` button`),
		chromedp.WaitVisible(`#done`),
		shoot("keys-revoked"))
	if got := f.infer(t); got != http.StatusUnauthorized {
		t.Fatalf("the gateway answers the revoked key with %d", got)
	}

	if got := f.inferWith(t, f.spareKey); got != http.StatusOK {
		t.Fatalf("before the quarantine: %d", got)
	}
	model := `#model-fraud-1`
	run("quarantine a model",
		chromedp.Navigate(f.ui()+"models"),
		chromedp.SendKeys(model+` input[name=reason]`, "answers leak card numbers"),
		chromedp.Click(model+` form[action="/ui/models/quarantine"] input[name=confirm]`),
		chromedp.Click(model+` form[action="/ui/models/quarantine"] button`),
		chromedp.WaitVisible(`#done`),
		shoot("models-quarantined"))
	if got := f.inferWith(t, f.spareKey); got != http.StatusServiceUnavailable {
		t.Fatalf("after the quarantine the gateway answers %d, want 503", got)
	}

	run("search the audit log and check a proof",
		chromedp.Navigate(f.ui()+"audit"),
		chromedp.SendKeys(`input[name=action]`, "model.quarantine"),
		chromedp.Submit(`#search`),
		chromedp.WaitVisible(`#searched`), // only on the results: waiting for a link could find the page before
		chromedp.WaitVisible(`#events a`),
		shoot("audit"),
		chromedp.Click(`#events a`),
		chromedp.WaitVisible(`#proof`),
		shoot("audit-event"))
	if proof := text(`#proof`); !strings.HasPrefix(proof, "Proof checked") {
		t.Fatalf("proof: %q", proof)
	}

	run("log out", chromedp.Click(`#logout`), chromedp.WaitVisible(`#login`))
}
