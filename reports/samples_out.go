package reports

import (
	"bufio"
	"encoding/json"
	"io"
)

// sampleLine is one line of --samples output.
type sampleLine struct {
	Index     int             `json:"index"`
	Label     int             `json:"label"`
	CleanPred int             `json:"clean_pred"`
	Results   []sampleOutcome `json:"results"`
	// Corrupted: per corruption and severity (when the sweep ran any).
	Corrupted []sampleCorrupted `json:"corrupted,omitempty"`
}

type sampleCorrupted struct {
	Corruption string `json:"corruption"`
	Severity   int    `json:"severity"`
	Pred       int    `json:"pred"`
	Correct    bool   `json:"correct"`
	CosLogits  F32    `json:"cos_logits"`
	CosProbs   F32    `json:"cos_probs"`
}

type sampleOutcome struct {
	AttackID  string  `json:"attack_id"`
	Norm      string  `json:"norm"`
	Eps       float64 `json:"eps"`
	Pred      int     `json:"pred"`
	Target    *int    `json:"target,omitempty"`
	Attacked  bool    `json:"attacked"`
	Success   bool    `json:"success"`
	CosLogits F32     `json:"cos_logits"`
	CosProbs  F32     `json:"cos_probs"`
	KL        F32     `json:"kl"`
	Linf      F32     `json:"linf"`
	L2        F32     `json:"l2"`
	L1        *F32    `json:"l1,omitempty"` // absent when the report holds no L1 norms
	Queries   int     `json:"queries"`
}

// WriteSamples writes the per-sample outcomes as JSON Lines, one sample per
// line in index order.
func (r *Report) WriteSamples(w io.Writer) error {
	s := r.Samples
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	for i := range s.Index {
		line := sampleLine{Index: s.Index[i], Label: s.Label[i], CleanPred: s.CleanPred[i]}
		attacked := s.CleanPred[i] == s.Label[i]
		embedding := r.Config.Task == TaskEmbedding // every sample attacked; no success without classes
		attacked = attacked || embedding
		for _, o := range s.Outcomes {
			so := sampleOutcome{AttackID: o.AttackID, Norm: o.Norm, Eps: o.Eps, Pred: o.Pred[i], Attacked: attacked,
				CosLogits: o.CosLogits[i], CosProbs: o.CosProbs[i], KL: o.KL[i], Linf: o.Linf[i], L2: o.L2[i], Queries: o.Queries[i]}
			if o.L1 != nil {
				so.L1 = &o.L1[i]
			}
			so.Success = attacked && o.Pred[i] != s.Label[i]
			if o.Target != nil && o.Target[i] >= 0 {
				t := o.Target[i]
				so.Target = &t
				so.Success = attacked && o.Pred[i] == t
			}
			so.Success = so.Success && !embedding
			line.Results = append(line.Results, so)
		}
		for _, o := range s.Corrupted {
			line.Corrupted = append(line.Corrupted, sampleCorrupted{Corruption: o.Corruption, Severity: o.Severity, Pred: o.Pred[i],
				Correct: o.Pred[i] == s.Label[i], CosLogits: o.CosLogits[i], CosProbs: o.CosProbs[i]})
		}
		if err := enc.Encode(line); err != nil {
			return err
		}
	}
	return bw.Flush()
}
