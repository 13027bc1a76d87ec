package monitor

import (
	"encoding/base64"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/modelgate/modelgate/datacheck/profile"
)

// prompts make chat prompts of one kind at random.
type prompts func(rng *rand.Rand) string

func pick(rng *rand.Rand, words []string) string { return words[rng.IntN(len(words))] }

// english are questions a support assistant gets.
func english(rng *rand.Rand) string {
	subjects := []string{"my order", "the invoice", "this account", "the refund", "my password", "the delivery", "our plan", "the app"}
	verbs := []string{"change", "cancel", "find", "reset", "update", "check", "move", "download"}
	openers := []string{"How do I", "Can you help me", "Why can't I", "Where can I", "Is it possible to", "What happens if I"}
	tails := []string{"today", "before Friday", "for my team", "on the website", "without losing data", "from my phone", ""}
	var b strings.Builder
	for s := range 1 + rng.IntN(3) {
		if s > 0 {
			b.WriteString(" ")
		}
		b.WriteString(pick(rng, openers) + " " + pick(rng, verbs) + " " + pick(rng, subjects))
		if t := pick(rng, tails); t != "" {
			b.WriteString(" " + t)
		}
		if rng.IntN(4) == 0 {
			b.WriteString(", order " + strconv.Itoa(10000+rng.IntN(90000)))
		}
		b.WriteString("?")
	}
	return b.String()
}

// french are the same questions in another language of the Latin script.
func french(rng *rand.Rand) string {
	subjects := []string{"ma commande", "la facture", "ce compte", "le remboursement", "mon mot de passe", "la livraison"}
	verbs := []string{"modifier", "annuler", "trouver", "réinitialiser", "mettre à jour", "vérifier"}
	openers := []string{"Comment puis-je", "Pouvez-vous m'aider à", "Pourquoi je ne peux pas", "Où puis-je", "Est-il possible de"}
	return pick(rng, openers) + " " + pick(rng, verbs) + " " + pick(rng, subjects) + " aujourd'hui ?"
}

// encoded are instructions smuggled as base64, the shape of an encoding
// jailbreak campaign.
func encoded(rng *rand.Rand) string {
	return "Decode and follow: " + base64.StdEncoding.EncodeToString([]byte(english(rng)+" "+english(rng)))
}

// pasted are long documents pasted with a short question: a new use of
// the route, or a document-borne injection campaign.
func pasted(rng *rand.Rand) string {
	var b strings.Builder
	b.WriteString("Summarise this contract. ")
	for range 30 + rng.IntN(30) {
		b.WriteString("The Supplier shall deliver the Goods in accordance with Schedule " + strconv.Itoa(rng.IntN(9)) + ". ")
	}
	return b.String()
}

// textBaseline writes n prompts to a JSON-lines file and profiles their
// text features as `data profile --text prompt` does.
func textBaseline(t *testing.T, gen prompts, n int) *profile.Profile {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	path := filepath.Join(t.TempDir(), "prompts.jsonl")
	var b strings.Builder
	for range n {
		line, _ := json.Marshal(map[string]string{"id": "x", "prompt": gen(rng)})
		b.Write(line)
		b.WriteByte('\n')
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := profile.TextFile(path, "prompt")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := profile.TextFile(path, "text"); err == nil || !strings.Contains(err.Error(), `no column "text"`) {
		t.Errorf("a missing column: %v", err)
	}
	return p
}

// TestTextDrift: a chat route's prompts drawn like its baseline raise
// nothing over 20,000 prompts; a change of language, a campaign of
// encoded prompts and a switch to pasted documents are each detected
// within a window, and the onset estimate lands near the true change.
// The rows each took are logged: the N of the issue.
func TestTextDrift(t *testing.T) {
	base := textBaseline(t, english, 5000)
	if base.Features == "" || len(base.Columns) != 11 {
		t.Fatalf("profile features %q, %d columns", base.Features, len(base.Columns))
	}
	for _, shift := range []struct {
		name string
		gen  prompts
	}{{"french", french}, {"base64", encoded}, {"pasted documents", pasted}} {
		t.Run(shift.name, func(t *testing.T) {
			d, err := NewDrift("support-chat", base, nil, 200, 0)
			if err != nil {
				t.Fatal(err)
			}
			clock := day0
			d.Now = func() time.Time { return clock }
			rng := rand.New(rand.NewPCG(7, uint64(len(shift.name))))
			ordinary := 20000
			if testing.Short() {
				ordinary = 4000
			}
			for i := range ordinary {
				clock = clock.Add(time.Second)
				if sig := d.ObserveText(english(rng)); sig != nil {
					t.Fatalf("a false alarm after %d ordinary prompts: %v", i, sig)
				}
			}
			onset := clock.Add(time.Second)
			for n := 1; n <= 200; n++ {
				clock = clock.Add(time.Second)
				sig := d.ObserveText(shift.gen(rng))
				if sig == nil {
					continue
				}
				rows, _ := strconv.Atoi(sig["drift_detection_rows"])
				secs, _ := strconv.ParseFloat(sig["drift_detection_seconds"], 64)
				t.Logf("detected after %d prompts (window 200, tested every 50): features %s; onset estimated %d prompts back (%gs)", n, sig["drift_columns"], rows, secs)
				if sig["drift_onset"] == "" || sig["drift_detected"] != clock.Format(time.RFC3339Nano) {
					t.Errorf("signal %v", sig)
				}
				if rows < n-10 || rows > n+10 {
					t.Errorf("onset estimated %d prompts back, the change was %d back", rows, n)
				}
				if got, _ := time.Parse(time.RFC3339Nano, sig["drift_onset"]); got.Sub(onset).Abs() > 10*time.Second {
					t.Errorf("onset %v, the change came at %v", got, onset)
				}
				// Later drifting events carry the same episode.
				clock = clock.Add(time.Second)
				if again := d.ObserveText(shift.gen(rng)); again["drift_onset"] != sig["drift_onset"] {
					t.Errorf("the episode changed: %v then %v", sig, again)
				}
				return
			}
			t.Fatal("200 shifted prompts went unseen")
		})
	}
	if _, err := NewDrift("r", base, []string{"chars"}, 200, 0); err == nil {
		t.Error("columns were accepted with a profile of text features")
	}
	odd := *base
	odd.Features = "text-features/v9"
	if _, err := NewDrift("r", &odd, nil, 200, 0); err == nil || !strings.Contains(err.Error(), "v9") {
		t.Errorf("an unknown feature set: %v", err)
	}
}
