package card

import (
	"slices"
	"testing"
)

const full = `---
license: apache-2.0
datasets:
  - fraud-transactions@3
model-index:
  - name: fraud-detector
    results:
      - task: {type: tabular-classification}
        metrics:
          - {type: accuracy, value: 0.94}
          - {type: demographic_parity_difference, value: 0.04}
---
# Fraud detector

## Intended Uses
Scoring card transactions for fraud review by analysts.

### Out-of-Scope Use
Automated account closure without human review.

## Training Details
### Training Data
Twelve months of labelled transactions, see the dataset card.

## Bias, Risks, and Limitations
Under-represents merchants outside the EU.

## Model Card Contact
ml-platform@example.com
`

const templated = `---
license: mit
---
## Uses
[More Information Needed]

## Out-of-Scope Use
<!-- Describe out-of-scope uses -->

## Evaluation
Accuracy 0.9 on the holdout.

## Bias, Risks, and Limitations
[More Information Needed]
`

func TestMarkdown(t *testing.T) {
	c, err := ParseMarkdown([]byte(full))
	if err != nil {
		t.Fatal(err)
	}
	s := c.Check()
	if len(s.Missing) != 0 || s.Complete != 1 {
		t.Errorf("full card: missing %v", s.Missing)
	}
	if c.Metrics["accuracy"] != 0.94 || c.Metrics["demographic_parity_difference"] != 0.04 || !slices.Equal(c.Datasets, []string{"fraud-transactions@3"}) {
		t.Errorf("metadata %+v %+v", c.Metrics, c.Datasets)
	}
	c, err = ParseMarkdown([]byte(templated))
	if err != nil {
		t.Fatal(err)
	}
	s = c.Check()
	want := []string{IntendedUse, OutOfScope, TrainingData, Limitations, Owner}
	if !slices.Equal(s.Missing, want) || !slices.Equal(s.Present, []string{Evaluation, License}) {
		t.Errorf("templated card: missing %v present %v", s.Missing, s.Present)
	}
	if _, err := ParseMarkdown([]byte("---\nlicense: x\n# never closed")); err == nil {
		t.Error("unclosed front matter parsed")
	}
}

func TestJSON(t *testing.T) {
	c, err := ParseJSON([]byte(`{"intended_use": "triage", "out_of_scope_use": "diagnosis", "training_data": "notes-v2",
		"metrics": {"auc": 0.91}, "bias_risks_limitations": "English only", "owner_contact": "a@b.c", "license": "proprietary", "datasets": ["notes@2"]}`))
	if err != nil {
		t.Fatal(err)
	}
	if s := c.Check(); s.Complete != 1 || c.Metrics["auc"] != 0.91 {
		t.Errorf("json card %+v %+v", s, c)
	}
	if _, err := ParseJSON([]byte(`{"license": `)); err == nil {
		t.Error("broken JSON parsed")
	}
}

func FuzzMarkdown(f *testing.F) {
	f.Add([]byte(full))
	f.Add([]byte(templated))
	f.Fuzz(func(t *testing.T, b []byte) {
		if c, err := ParseMarkdown(b); err == nil {
			c.Check()
		}
	})
}

func FuzzJSON(f *testing.F) {
	f.Add([]byte(`{"intended_use":"x","license":"mit","metrics":{"accuracy":0.9},"owner_contact":{"name":"a"}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseJSON(b)
		if err != nil {
			return
		}
		s := c.Check()
		if s.Complete < 0 || s.Complete > 1 || len(s.Present)+len(s.Missing) != len(Profile) {
			t.Fatalf("score %+v", s)
		}
	})
}
