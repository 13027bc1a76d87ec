package classifier

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/modelgate/modelgate/access"
	"github.com/modelgate/modelgate/config"
	"github.com/modelgate/modelgate/demo"
	"github.com/modelgate/modelgate/internal/servertest"
	"github.com/modelgate/modelgate/store"
)

// demoGateway serves the demo classifier through modelgate twice: as it
// is, and with output controls that return the label only. It returns the
// gateway's address, a key without limits and a key held to 600 requests
// a minute.
func demoGateway(t testing.TB) (gw, key, limited string, clf *demo.Classifier) {
	clf = demo.NewClassifier("demo-classifier")
	up := httptest.NewServer(clf)
	t.Cleanup(up.Close)
	cfg, err := config.Parse("test", []byte("{}"))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Routes = []*store.Route{
		{Model: "demo-classifier", Protocol: store.ProtocolKServeV2, Upstream: store.Upstream{URL: up.URL}},
		{Model: "demo-classifier-hardened", Protocol: store.ProtocolKServeV2, Outputs: &store.OutputControls{Keep: []string{"label"}}, MaxBatch: 1,
			Upstream: store.Upstream{URL: up.URL, Model: "demo-classifier"}},
	}
	s, _ := servertest.Start(t, cfg)
	mk := func(rpm, burst int64) string {
		_, k, err := access.CreateKey(context.Background(), s.Store(), access.KeySpec{Name: "rt", Scopes: []string{"inference:invoke"}, Models: []string{"*"}, Limits: access.Limits{RPM: rpm, Burst: burst}}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	return "http://" + s.Addr().String(), mk(1000000, 100000), mk(600, 5), clf
}

// TestThroughTheGateway attacks the demo classifier through the gateway:
// evasion succeeds within its budget with labels only; the hardened route
// leaves the score-based attack nothing to follow; a rate-limited key
// stops an attack that the unlimited one finishes.
func TestThroughTheGateway(t *testing.T) {
	gw, key, limited, clf := demoGateway(t)
	ctx := context.Background()
	open := &KServe{URL: gw, Model: "demo-classifier", Key: key}
	if m, err := open.Describe(ctx); err != nil || m.Input != "features" || m.Features != 4 {
		t.Fatalf("metadata %+v %v", m, err)
	}
	data := clf.Data()
	samples := data.Test[:10]
	bounds, err := BoundsOf(data.Train)
	if err != nil {
		t.Fatal(err)
	}
	hsj, err := HopSkipJump(ctx, open, samples, bounds, EvasionOptions{Budget: 10000, Epsilon: 0.5, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if hsj.Queries > 10000 || hsj.SuccessRate < 0.7 || hsj.MedianQueriesToSuccess == 0 {
		t.Errorf("hopskipjump: %+v", hsj)
	}
	hardened := &KServe{URL: gw, Model: "demo-classifier-hardened", Key: key, Input: "features"}
	simba, err := SimBA(ctx, hardened, samples, bounds, EvasionOptions{Budget: 2000, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if simba.Applicable {
		t.Errorf("simba against labels only: %+v", simba)
	}
	if simba, err = SimBA(ctx, open, samples, bounds, EvasionOptions{Budget: 2000, Seed: 1}); err != nil || simba.SuccessRate == 0 {
		t.Errorf("simba with scores: %+v %v", simba, err)
	}

	slow := &KServe{URL: gw, Model: "demo-classifier", Key: limited, Input: "features", MaxWait: 200 * time.Millisecond}
	stopped, err := HopSkipJump(ctx, slow, samples, bounds, EvasionOptions{Budget: 10000, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if stopped.Stopped == "" || slow.Throttled == 0 || stopped.Queries >= hsj.Queries {
		t.Errorf("rate-limited: %+v, %d throttled", stopped, slow.Throttled)
	}

	var members, others []Labeled
	for i, x := range data.Train[:40] {
		members = append(members, Labeled{X: x, Y: int(data.TrainY[i])})
	}
	for i, x := range data.Test[:40] {
		others = append(others, Labeled{X: x, Y: int(data.TestY[i])})
	}
	mi, err := Membership(ctx, hardened, members, others, bounds, MembershipOptions{Seed: 1})
	if err != nil || mi.Queries != 80*17 || hardened.batch != 1 {
		t.Fatalf("membership: %+v %v", mi, err)
	}
	ex, err := Extract(ctx, hardened, bounds, ExtractionOptions{Budget: 200, Samples: data.Train, Seed: 1})
	if err != nil || ex.UsedScores || ex.Agreement < 0.9 {
		t.Errorf("extraction: %+v %v", ex, err)
	}
	t.Logf("hopskipjump %+v\nsimba %+v\nrate-limited %+v\nmembership %+v\nextraction %+v", hsj, simba, stopped, mi, ex)
}

func TestKServeErrors(t *testing.T) {
	gw, key, _, _ := demoGateway(t)
	ctx := context.Background()
	if _, err := (&KServe{URL: gw, Model: "demo-classifier", Key: key}).Query(ctx, [][]float64{{1, 2, 3, 4}}); err == nil {
		t.Error("a query without an input name")
	}
	if _, err := (&KServe{URL: gw, Model: "demo-classifier", Key: "wrong", Input: "features"}).Query(ctx, [][]float64{{1, 2, 3, 4}}); err == nil {
		t.Error("a bad key answered")
	}
	if _, err := (&KServe{URL: gw, Model: "nope", Key: key}).Describe(ctx); err == nil {
		t.Error("an unknown model described")
	}
	if _, err := (&KServe{URL: gw, Model: "demo-classifier", Key: key, Input: "features"}).Query(ctx, [][]float64{{1, 2}}); err == nil {
		t.Error("a wrong shape answered")
	}
	var e error = ErrThrottled
	if !errors.Is(e, ErrThrottled) {
		t.Fatal()
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"outputs":[{"name":"probability","datatype":"FP64","data":[0.2,0.9]},{"name":"label","datatype":"INT64","data":[0,1]}]}`), 2)
	f.Add([]byte(`{"outputs":[{"name":"scores","datatype":"FP32","data":[[0.1,0.9],[0.5,0.5]]}]}`), 2)
	f.Fuzz(func(t *testing.T, b []byte, n int) {
		if n <= 0 || n > 100 {
			return
		}
		out, err := (&KServe{Model: "m"}).parse(b, n)
		if err == nil && len(out) != n {
			t.Fatalf("%d outputs for %d inputs", len(out), n)
		}
	})
}
