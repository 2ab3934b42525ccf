// Package reports holds the report document and the plan execution that
// fills it.
//
// The document (advcheck/report/v1, report-v1.schema.json): its types
// (report.go, num.go), reading and writing with evidence checks (io.go,
// verify.go: every figure is recomputed from the per-sample outcomes),
// the reductions (reduce.go, flags.go, layout.go), shard merge (merge.go),
// the per-sample JSON Lines (samples_out.go) and the evaluation of gate
// requirements (requirements.go), which Decode uses to re-derive a stored
// verdict.
//
// The plan execution: a Plan (engine.go) runs attacks over eps grids
// (eps.go, eps_default.go) batch by batch into per-sample outcomes, with
// the reliability probes (checks.go), minimal-eps refinement (refine.go),
// example images (examples.go) and adversarial examples on disk
// (advsink.go); Evaluate (evaluate.go) turns a plan into a report.
//
// Beside it, importing it and never imported by it:
//   - reports/render writes a report as a terminal table, Markdown, HTML
//     with plots, and JUnit XML;
//   - reports/gate reads robustness policies, matches a report against
//     the sweep a policy describes, and applies its requirements;
//   - reports/compare sets reports on the same data side by side, with
//     McNemar's paired test per attack and eps (rendered by reports/render).
package reports
