package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/advcheck/advcheck/datasets"
	"github.com/advcheck/advcheck/internal/safeio"
	"github.com/advcheck/advcheck/models"
	"github.com/advcheck/advcheck/reports"
	"github.com/advcheck/advcheck/reports/gate"
)

type gateOptions struct {
	policy     string
	model      string // replaces the policy's model.path when given
	report     string
	baseline   string
	requireSig string
	memory     string // --memory budget of the sweep, "" for the default
	timeout    time.Duration
	progress   string
	outputs    outputOptions
}

func newGateCommand() *cobra.Command {
	o := &gateOptions{}
	cmd := &cobra.Command{
		Use:   "gate --policy POLICY.yaml [--model PATH] [--report REPORT.json] [--baseline LAST.json]",
		Short: "Fail a build when a model is not robust enough, or got worse",
		Long: `Check a model against a robustness policy. Without --report, gate runs the
sweep the policy describes (model, data, attacks, eps, seed); with --report it
checks an existing report (for example one merged from shards) without
running any attack: the figures are recomputed from the report's per-sample
outcomes, and a report whose stated figures differ is refused (exit 3). That
report must be the one the policy's sweep would write (same model, input
contract, data, seed, attacks with their parameters and eps; exit 3 naming the
first field that differs). Every requirement becomes a check with a stable id,
such as worst_case/linf/0.3/min_accuracy, in the table, the JSON report (key
"gate"), the Markdown summary and the JUnit XML.

--model PATH gates another model with the same policy (for example each
build's model file): it replaces the policy's model.path, and a model.sha256
pin in the policy still applies.

A requirement whose attack or eps is missing from the report fails; an
incomplete report never passes. no_regression requirements compare per-sample
outcomes with --baseline (an earlier report on the same data) by McNemar's test.

With --require-signature PUB, every model or report file gate reads (the
model, or the --report, and the --baseline) must carry a FILE.sig that
verifies with PUB over exactly the bytes used (exit 1 if not; exit 2 if PUB
cannot be read). The policy itself is configuration and is not covered.

Policy format and integrity rules: see docs/gate.md.

` + exitStatusHelp,
		Example: `  advcheck gate --policy robustness.yaml --junit junit.xml --md summary.md
  advcheck gate --policy robustness.yaml --report merged.json --baseline last-release.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runGate(cmd.Context(), o, os.Args, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.policy, "policy", "", "the policy `FILE` (YAML)")
	f.StringVar(&o.model, "model", "", "the model `PATH` (a file or zoo:NAME) instead of the policy's model.path; its model.sha256 pin still applies")
	f.StringVar(&o.report, "report", "", "gate this report instead of running the sweep")
	f.StringVar(&o.baseline, "baseline", "", "an earlier report to compare with (no_regression requirements)")
	f.StringVar(&o.requireSig, "require-signature", "", "refuse any model or report file read (the model, or --report, and --baseline) unless FILE.sig verifies with this public key `PUB` (exit 1)")
	addMemoryFlag(f, &o.memory)
	f.DurationVar(&o.timeout, "timeout", 0, "stop the sweep after this long (the incomplete report fails the gate; exit 124)")
	f.StringVar(&o.progress, "progress", "auto", "progress bar on stderr: auto, always or never")
	o.outputs.addFlags(f)
	return cmd
}

// sweepFromPolicy turns a policy into sweep flags.
func sweepFromPolicy(p *gate.Policy) *sweepOptions {
	so := &sweepOptions{data: p.Data.Spec, classes: p.Data.Classes, resize: p.Data.Resize, limit: p.Data.Limit, labels: p.Data.Labels, attacks: p.Attacks, eps: p.Eps,
		batch: p.Batch, batchGiven: p.Batch > 0, seed: p.Seed, shard: "0/1", modelSHA256: p.Model.SHA256, examples: 4, checks: true}
	if c := p.Data.CenterCrop; c != nil {
		so.centerCrop = strconv.Itoa(c[0]) + "," + strconv.Itoa(c[1])
	}
	if len(p.Corruptions) > 0 {
		so.attacks = append(append([]string(nil), p.Attacks...), "corruption:name="+strings.Join(p.Corruptions, ",name="))
		var sev []string
		for _, s := range p.Severities {
			sev = append(sev, strconv.Itoa(s))
		}
		so.severity = strings.Join(sev, ",")
	}
	so.certify = p.Certify
	so.model = p.Model.Path
	so.task, so.outputLoss = reports.TaskClassification, "cosine"
	if p.Task != "" {
		so.task, so.outputLoss = p.Task, p.OutputLoss
	}
	// The policy parser has checked these values (models.CheckContract)
	// and filled in the defaults; the sweep checks them again as flags.
	c := p.Model.Contract()
	so.layout = string(c.Layout)
	so.scale = c.Scale
	join := func(v []float64) string {
		var s []string
		for _, x := range v {
			s = append(s, strconv.FormatFloat(x, 'g', -1, 64))
		}
		return strings.Join(s, ",")
	}
	so.bounds = join([]float64{c.Lo, c.Hi})
	so.mean, so.std = join(c.Mean), join(c.Std)
	so.shape = models.ShapeString(c.InputShape)
	def := defaultLimitsOptions()
	so.maxBytes, so.maxTensor = def.maxBytes, def.maxTensor
	so.maxData = datasets.DefaultLimits().MaxBytes
	return so
}

func runGate(ctx context.Context, o *gateOptions, command []string, stdout, stderr io.Writer) error {
	ctx, cancel := withTimeout(ctx, o.timeout)
	defer cancel()
	if err := o.outputs.check(); err != nil {
		return err
	}
	if o.policy == "" {
		return usageErr(fmt.Errorf("--policy FILE is required"))
	}
	if err := checkPublicKey(o.requireSig); err != nil {
		return err
	}
	if err := checkMemory(o.memory); err != nil {
		return err
	}
	f, err := safeio.Open(o.policy)
	if err != nil {
		return usageErr(fmt.Errorf("--policy: %w", err))
	}
	p, err := gate.ParsePolicy(f)
	f.Close()
	if err != nil {
		return usageErr(fmt.Errorf("%s: %w", o.policy, err))
	}
	if o.model != "" {
		// The same policy gates each build's model; a sha256 pin in the
		// policy still binds whatever file is named here.
		p.Model.Path = o.model
	}
	// A policy that cannot be checked without a baseline is a usage error
	// before any report is read or any sweep is run.
	for _, q := range p.Requirements {
		if q.Kind == "no_regression" && o.baseline == "" {
			return usageErr(fmt.Errorf("%s: the policy has a no_regression requirement (line %d); give the earlier report with --baseline", o.policy, q.Line))
		}
	}
	var baseline *reports.Report
	if o.baseline != "" {
		if baseline, err = readReport(o.baseline, 0, o.requireSig); err != nil {
			return fmt.Errorf("--baseline: %w", err)
		}
	}
	var r *reports.Report
	var plan *reports.Plan
	var runErr error
	if o.report != "" {
		if r, err = readReport(o.report, 0, o.requireSig); err != nil {
			return err
		}
		// The report must be the one the policy's sweep would write, or its
		// verdict would be about another model, data set or attack.
		if err := gate.Match(r, p); err != nil {
			if errors.Is(err, gate.ErrPolicy) {
				return usageErr(fmt.Errorf("%s: %w", o.policy, err))
			}
			return badInputErr(fmt.Errorf("%s: %w", o.report, err))
		}
	} else {
		so := sweepFromPolicy(p)
		so.progress, so.timeout, so.requireSig, so.memory = o.progress, o.timeout, o.requireSig, o.memory
		if so.batchGiven {
			so.batchKey = fmt.Sprintf("%s, line %d", o.policy, p.BatchLine)
		}
		start := time.Now()
		var base reports.Report
		err = untilDone(ctx, func() (err error) {
			plan, base, err = so.buildPlan(stderr)
			return err
		})
		if err != nil {
			return err
		}
		if c, ok := plan.Data.(io.Closer); ok {
			defer c.Close()
		}
		if pin := p.Data.SHA256; pin != "" && pin != base.Dataset.SHA256Decoded {
			return badInputErr(fmt.Errorf("%s: decoded SHA-256 %s does not match the pinned %s", p.Data.Spec, base.Dataset.SHA256Decoded, pin))
		}
		if r, runErr = so.evaluate(ctx, plan, base, nil, start, command); r == nil {
			return usageErr(runErr)
		}
	}
	if err := gate.Apply(r, p, baseline); err != nil {
		if errors.Is(err, reports.ErrBaseline) {
			return badInputErr(err)
		}
		return usageErr(err)
	}
	r.Gate.Policy = o.policy
	if err := writeOutputs(r, o.outputs, stdout); err != nil {
		return err
	}
	if runErr != nil {
		return classifyRunError(runErr)
	}
	if !r.Gate.Passed {
		var failed []string
		for _, c := range r.Gate.Checks {
			if !c.Passed {
				failed = append(failed, c.ID)
			}
		}
		return checkErr(fmt.Errorf("gate failed: %d of %d requirements not met: %s", len(failed), len(r.Gate.Checks), strings.Join(failed, ", ")))
	}
	return nil
}
