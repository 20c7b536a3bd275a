package e2e

import (
	"math"
	"testing"

	"github.com/switchboard-gw/switchboard/internal/mock"
	"github.com/switchboard-gw/switchboard/internal/pricing"
)

// Every answer is costed from the catalog or the deployment's override; a
// model with no price is marked unpriced, never costed at $0.
func TestCostRecorded(t *testing.T) {
	_, up := startMock(t, mock.Options{})
	gw := gatewayOver(t, `
master_key: ${MASTER}
providers:
  - {name: a, type: openai, base_url: "${A}/v1", api_key: k}
models:
  - {name: listed, deployments: [{provider: a, model: gpt-4o-mini-2024-07-18}]}
  - {name: custom, deployments: [{provider: a, model: in-house, price: {input_per_mtok: 100, output_per_mtok: 1000}}]}
  - {name: unknown, deployments: [{provider: a, model: in-house}]}
`, map[string]string{"A": up})
	chatOK(t, gw.URL, "listed", "hi")
	rec := gw.nextRecord(t)
	p, _ := pricing.Default().Lookup("gpt-4o-mini")
	want := (float64(rec.Usage.Input)*p.Input + float64(rec.Usage.Output)*p.Output) / 1e6
	if rec.Unpriced || rec.CostUSD <= 0 || math.Abs(rec.CostUSD-want) > 1e-12 {
		t.Errorf("catalog cost %v (unpriced %v), want %v", rec.CostUSD, rec.Unpriced, want)
	}
	chatOK(t, gw.URL, "custom", "hi")
	rec = gw.nextRecord(t)
	if want := (float64(rec.Usage.Input)*100 + float64(rec.Usage.Output)*1000) / 1e6; math.Abs(rec.CostUSD-want) > 1e-12 {
		t.Errorf("override cost %v, want %v", rec.CostUSD, want)
	}
	chatOK(t, gw.URL, "unknown", "hi")
	if rec := gw.nextRecord(t); !rec.Unpriced || rec.CostUSD != 0 {
		t.Errorf("unknown model: %+v", rec)
	}
}
