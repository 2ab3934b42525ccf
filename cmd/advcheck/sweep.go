package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/advcheck/advcheck/attacks"
	"github.com/advcheck/advcheck/attacks/corruption"
	"github.com/advcheck/advcheck/datasets"
	"github.com/advcheck/advcheck/models"
	"github.com/advcheck/advcheck/reports"
)

// sweepOptions are the flags of `advcheck sweep` (and of the sweep `gate` runs).
type sweepOptions struct {
	modelOptions
	data        string
	dataLayout  string
	classes     string
	resize      int    // --resize: the shorter side of every image, 0 = no resize
	resizeGiven bool   // --resize was given (0 is then refused)
	centerCrop  string // --center-crop H[,W], "" = none
	maxData     int64
	limit       int
	attacks     []string
	certify     []string // --certify methods
	eps         string
	batch       int
	batchGiven  bool   // --batch was given (else it is sized from --memory)
	batchKey    string // where a gate's policy gives the batch ("FILE, line N"); "" for --batch
	memory      string // --memory budget, "" for the default
	seed        uint64
	shard       string
	labels      string
	timeout     time.Duration
	modelSHA256 string
	requireSig  string
	examples    int
	checks      bool
	refine      int
	progress    string
	outputs     outputOptions
	saveAdv     string
	resume      string
	task        string // --task: classification or embedding
	outputLoss  string // --output-loss for --task embedding: cosine or mse
	lossGiven   bool   // --output-loss was given
	severity    string // --severity: the corruptions' levels
	sevGiven    bool   // --severity was given
	baseline    string // --baseline: the report mCE is relative to
}

// outputOptions are the report files a command writes.
type outputOptions struct {
	json, html, md, junit, samples string
	quiet                          bool
}

func (o *outputOptions) addFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.json, "json", "", "write the JSON report to `FILE` ('-' for stdout, instead of the table)")
	fs.StringVar(&o.html, "html", "", "write the self-contained HTML audit report to `FILE`")
	fs.StringVar(&o.md, "md", "", "write a Markdown summary (for pull-request comments) to `FILE`")
	fs.StringVar(&o.junit, "junit", "", "write JUnit XML to `FILE`")
	fs.StringVar(&o.samples, "samples", "", "write per-sample outcomes as JSON Lines to `FILE`")
	fs.BoolVarP(&o.quiet, "quiet", "q", false, "do not print the table")
}

func (o *sweepOptions) addFlags(fs *pflag.FlagSet) {
	o.modelOptions.addFlags(fs, true)
	fs.StringVar(&o.data, "data", "mnist-sample", "data set: mnist-sample, mnist:DIR, idx:IMAGES,LABELS, npy:X.npy,Y.npy, npz:FILE.npz, cifar10:DIR, cifar100:DIR or folder:DIR (see below)")
	fs.StringVar(&o.dataLayout, "data-layout", "", "layout of 4-D NumPy image arrays: nchw or nhwc (default: NHWC when the last axis has 1, 3 or 4 entries and axis 1 does not)")
	fs.StringVar(&o.classes, "classes", "", "folder:DIR data: the model's classes in output order, one folder name (e.g. a WordNet id) per line in `FILE`; labels are line numbers from 0")
	fs.IntVar(&o.resize, "resize", 0, "folder:DIR data: resize every image so that its shorter side is `N` pixels, as torchvision's Resize(N) on PIL images (bilinear, antialiased)")
	fs.StringVar(&o.centerCrop, "center-crop", "", "folder:DIR data: crop the centre `H[,W]` pixels of every image (after --resize), as torchvision's CenterCrop")
	fs.IntVar(&o.limit, "limit", 0, "attack only the first N samples (0 = all)")
	fs.Int64Var(&o.maxData, "max-data-bytes", datasets.DefaultLimits().MaxBytes, "refuse data files (decompressed) larger than this")
	fs.StringArrayVar(&o.attacks, "attack", []string{"fgsm", "pgd"}, "attack `SPEC`, e.g. pgd:steps=100,restarts=5 (repeatable, or comma-separated names); see 'advcheck sweep --help'")
	fs.StringArrayVar(&o.certify, "certify", nil, "certify `METHOD`s beside the attacks: ibp, crown, smoothing[:sigma=S,n0=N0,n=N,alpha=A] (repeatable, or comma-separated); see below")
	fs.StringVar(&o.eps, "eps", "", "radii: a list 0,0.1,8/255 (L∞ and L2), a range START:STOP:STEP, or per norm 'linf=0,8/255 l2=0,0.5 l1=0,5,10' (default: chosen from the input shape, see below)")
	fs.IntVar(&o.batch, "batch", 0, "samples per batch (default: the largest power of two up to 128 that fits --memory)")
	addMemoryFlag(fs, &o.memory)
	fs.Uint64Var(&o.seed, "seed", 0, "seed of every attack's randomness")
	fs.StringVar(&o.shard, "shard", "0/1", "run only shard I/N of the data (contiguous blocks; combine the parts with 'advcheck merge')")
	fs.StringVar(&o.labels, "labels", "truth", "attack away from the true labels (truth) or from the model's own predictions (pred: every sample is attacked)")
	fs.DurationVar(&o.timeout, "timeout", 0, "stop after this long, writing a partial report (exit 124); 0 = no limit")
	fs.StringVar(&o.modelSHA256, "model-sha256", "", "refuse the model unless its SHA-256 is `HEX` (exit 3)")
	fs.BoolVar(&o.checks, "checks", true, "run the reliability checks behind the report's flags (gradient probes, an unbounded attack and a convergence check on every 16th sample)")
	fs.StringVar(&o.requireSig, "require-signature", "", "refuse the model file (and a --resume or --baseline report) unless FILE.sig verifies with this public key `PUB` (exit 1)")
	fs.IntVar(&o.refine, "refine-min-eps", 0, "refine each sample's minimal eps by `N` bisection steps between the grid's radii (runs the attacks N more times on broken samples)")
	fs.IntVar(&o.examples, "examples", 4, "broken and unbroken samples to show as images in the HTML report (each)")
	fs.StringVar(&o.progress, "progress", "auto", "progress bar on stderr: auto (when stderr is a terminal), always or never")
	o.outputs.addFlags(fs)
	fs.StringVar(&o.saveAdv, "save-adv", "", "save adversarial examples as .npy files in `DIR` (one per attack and eps, plus index.npy)")
	fs.StringVar(&o.resume, "resume", "", "continue the partial report `FILE` of an interrupted run of the same command")
	fs.StringVar(&o.task, "task", "classification", "what the model's outputs are: classification (class scores) or embedding (an embedding, features or any other vector: attacks move it away from the clean output; see below)")
	fs.StringVar(&o.severity, "severity", "1:5", "corruptions: the severity levels, 1 to 5, as a list (1,3,5) or a range (1:5)")
	fs.StringVar(&o.baseline, "baseline", "", "corruptions: a report of a baseline model on the same data and corruptions (`FILE`); the report then gives the mean corruption error (mCE) relative to it")
	fs.StringVar(&o.outputLoss, "output-loss", "cosine", "--task embedding: the loss the attacks maximise, cosine (1 − cos of adversarial and clean outputs) or mse (their mean squared distance)")
}

func newSweepCommand() *cobra.Command {
	opts := &sweepOptions{}
	cmd := &cobra.Command{
		Use:   "sweep",
		Short: "Attack a model over a sweep of epsilon and report its robustness",
		Long: `Attack a model with each --attack at each --eps and report, per attack and
eps: robust accuracy with a 95% Wilson interval, attack success, the cosine
similarity of clean and adversarial logits and probabilities, their KL
divergence and the perturbation norms (L∞ max and mean, L2 and L1 mean, each
whatever the attack's norm); the worst case over the attacks of each norm; the
area under the accuracy curve and the median minimal eps.

With no flags it attacks the embedded MNIST CNN (zoo:mnist-cnn) on the
embedded 1,000-image MNIST test sample with FGSM and PGD.

CIFAR data are read from the "binary version" files, never from the Python
(pickle) version: download cifar-10-binary.tar.gz or cifar-100-binary.tar.gz
from the data sets' home page at the University of Toronto,
` + datasets.CIFARHome + ` (advcheck downloads nothing), and
extract it. cifar10:DIR reads DIR/test_batch.bin (DIR is the extracted
cifar-10-batches-bin), with CIFAR-10's class names; cifar100:DIR reads
DIR/test.bin (DIR is cifar-100-binary) labelled by its fine labels (0…99),
with the class names of DIR/fine_label_names.txt. cifar10:FILE.bin and
cifar100:FILE.bin read another file of the same format (e.g. data_batch_1.bin).

Without --eps the radii follow the data (multiplied by the width of --bounds):
one channel or not an image: MNIST-scale, L∞ 0…0.3 by 0.05, L2 0…3 by 0.5,
L1 0…15 by 2.5;
3+ channels under 64 px: CIFAR-scale, L∞ 0,2,4,8,16/255, L2 0,0.125,0.25,0.5,1,
L1 0,3,6,12,24;
3+ channels of 64 px or more: ImageNet-scale, L∞ 0,1,2,4,8/255, L2 0,0.25,0.5,1,2,
L1 0,15,30,60,120.
The table header and config.eps_default in the report name the grid used.
An unnamed --eps list applies to L∞ and L2; L1 radii, of another scale, are
given as l1=… (the L1 attacks: apgd-ce, apgd-dlr, apgd-t, square, autoattack,
fab, fab-t and fmn with norm=l1).

Without --batch the batch is the largest power of two up to 128 whose
estimated memory (compiled model programs and attack buffers, not the data
set) fits --memory; a --batch that does not fit is refused with one that does.

--task embedding attacks a model whose outputs are not class scores (an
embedding or feature extractor, a dense map): every sample is attacked, each
attack maximises --output-loss (1 − cos(f(x+δ), f(x)) or the mean squared
distance to the clean output) instead of a classification loss, and the
report gives per attack and eps the cosine similarity of clean and
adversarial outputs (mean, 5th percentile, minimum: cosine.outputs in the
JSON). Accuracy, attack success, the softmax cosine and KL are null, and the
worst case, AUC and minimal eps absent: there are no classes. The attacks
that apply are fgsm, fgm, bim, pgd, mifgsm, apgd-ce, square and the noise
baselines (untargeted, with their default loss); the gradient attacks start
from a random point of the eps-ball, as the loss's gradient at the clean
input is zero (FGSM is then one step of size eps from there; the report's
config.attacks[].params records random_start: true for fgsm, fgm, bim and
mifgsm). Labels are not used: they need not index the outputs, and
folder:DIR may hold the images themselves, with no class sub-folders. Targeted
attacks, the margin and DLR losses (apgd-dlr, apgd-t) and autoattack need
classes and are refused, as are --labels pred and --refine-min-eps; the
reliability checks do not run.

Only samples the model classifies correctly are attacked, and attack success,
cosine, KL and perturbation norms are over those attacked samples (accuracy is
over all). --labels pred attacks every sample, away from its own prediction:
use it to measure the output movement of the whole data set. Each sample's
randomness comes from (--seed, attack, eps, sample index), so results do not
depend on the batch size, the thread count or --shard.

Natural corruptions (Hendrycks & Dietterich's common corruptions) run in the
same sweep as attacks: --attack corruptions for all, corruption:name=fog for
one, at each --severity (default 1:5). Every sample is corrupted (its
randomness from --seed, the corruption and the sample index); the report's
corruptions block gives per corruption and severity the accuracy with its
95% Wilson interval and the cosine of clean and corrupted logits (mean, p5,
min), the accuracy per severity and overall, and with --baseline the mean
corruption error (mCE and relative mCE, Hendrycks & Dietterich) against a
report of a baseline model on the same data and corruptions. They have no
eps: they are not in the worst case, AUC or minimal eps.

Attacks (--attack NAME or NAME:key=value,...):
` + attackHelp() + corruptionHelp() + `
` + certifyHelp + `
` + exitStatusHelp,
		Example: `  advcheck sweep
  advcheck sweep --model model.onnx --data mnist:data/mnist --attack fgsm,pgd:steps=40 --eps 0:0.3:0.05 --html report.html
  advcheck sweep --model resnet.onnx --data folder:imgs --mean 0.485,0.456,0.406 --std 0.229,0.224,0.225 --eps 'linf=0,1/255,2/255,4/255'
  advcheck sweep --model resnet.onnx --data folder:val --classes imagenet-wnids.txt    # folders named by WordNet id
  advcheck sweep --model resnet.onnx --data folder:val --resize 256 --center-crop 224 --mean 0.485,0.456,0.406 --std 0.229,0.224,0.225    # ImageNet preprocessing
  advcheck sweep --model cifar-resnet.onnx --data cifar10:cifar-10-batches-bin --attack pgd --eps 0,2/255,8/255
  advcheck sweep --shard 0/4 --json part0.json    # then: advcheck merge part*.json --json all.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.batchGiven = cmd.Flags().Changed("batch")
			opts.resizeGiven = cmd.Flags().Changed("resize")
			opts.lossGiven = cmd.Flags().Changed("output-loss")
			opts.sevGiven = cmd.Flags().Changed("severity")
			return runSweep(cmd.Context(), opts, os.Args, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	opts.addFlags(cmd.Flags())
	return cmd
}

func parseShard(s string) (reports.Shard, error) {
	sh, err := datasets.ParseShard(s)
	if err != nil {
		return reports.Shard{}, fmt.Errorf("--shard %q: want I/N with 0 ≤ I < N", s)
	}
	return reports.Shard{I: sh.I, N: sh.N}, nil
}

// buildPlan checks the flags and loads the model and data.
func (o *sweepOptions) buildPlan(stderr io.Writer) (*reports.Plan, reports.Report, error) {
	var base reports.Report
	if err := o.validate(); err != nil {
		return nil, base, err
	}
	if o.labels != "truth" && o.labels != "pred" {
		return nil, base, usageErr(fmt.Errorf("--labels %q: want truth or pred", o.labels))
	}
	if o.progress != "auto" && o.progress != "always" && o.progress != "never" {
		return nil, base, usageErr(fmt.Errorf("--progress %q: want auto, always or never", o.progress))
	}
	if o.refine < 0 || o.refine > 30 {
		return nil, base, usageErr(fmt.Errorf("--refine-min-eps %d: want 0 to 30", o.refine))
	}
	if o.examples < 0 {
		return nil, base, usageErr(fmt.Errorf("--examples %d: want 0 or more", o.examples))
	}
	outputLoss, err := o.taskLoss()
	if err != nil {
		return nil, base, err
	}
	shard, err := parseShard(o.shard)
	if err != nil {
		return nil, base, usageErr(err)
	}
	if err := checkPublicKey(o.requireSig); err != nil {
		return nil, base, err
	}
	specs, corrNames, err := splitCorruptions(splitAttackSpecs(o.attacks))
	if err != nil {
		return nil, base, err
	}
	var as []attacks.Attack
	if len(specs) > 0 || len(corrNames) == 0 {
		if as, err = parseAttacks(specs); err != nil {
			return nil, base, err
		}
	}
	severities, err := o.corruptionFlags(corrNames, outputLoss)
	if err != nil {
		return nil, base, err
	}
	// The contract is checked again when the model loads; checking it
	// here reports a flag mistake before any file is read.
	if _, err := o.contract(); err != nil {
		return nil, base, err
	}
	var grid reports.EpsGrid
	if o.eps != "" {
		if grid, err = reports.ParseEps(o.eps); err != nil {
			return nil, base, usageErr(fmt.Errorf("--eps: %v", err))
		}
	}
	for _, a := range as {
		if grid != nil && len(grid[a.Norm()]) == 0 {
			return nil, base, usageErr(fmt.Errorf("--attack %s is %s, but --eps gives no %s radii", a.ID(), a.Norm(), a.Norm()))
		}
	}
	certs, err := parseCertify(o.certify)
	if err != nil {
		return nil, base, err
	}
	for _, c := range certs {
		if grid != nil && len(grid[c.Norm()]) == 0 {
			return nil, base, usageErr(fmt.Errorf("--certify %s certifies %s radii, but --eps gives none", c.ID(), c.Norm()))
		}
		if o.task == reports.TaskEmbedding {
			return nil, base, usageErr(fmt.Errorf("--certify: --task embedding has no classes to certify"))
		}
	}
	mh, err := o.loadModel(o.model, o.modelSHA256, o.requireSig)
	if err != nil {
		return nil, base, err
	}
	m := mh.model
	spec := m.Spec()
	grid, epsNote, err := o.fitModel(m, as, grid)
	if err != nil {
		return nil, base, err
	}
	var corrs []reports.Corruption
	for _, n := range corrNames {
		c, err := reports.NewCorruption(n, spec.Shape)
		if err != nil {
			return nil, base, usageErr(fmt.Errorf("--attack corruption:name=%s: %w", n, err))
		}
		corrs = append(corrs, c)
	}
	if len(as) == 0 {
		epsNote = "" // no attack, no eps
	}
	pp, err := o.preprocess()
	if err != nil {
		return nil, base, err
	}
	// An embedding task uses no labels: they need not index the outputs,
	// and an image folder may have no class sub-folders.
	embedding := o.task == reports.TaskEmbedding
	classes := spec.Classes
	if embedding {
		classes = 0
	}
	data, err := datasets.Open(o.data, datasets.Options{Limit: o.limit, Layout: o.dataLayout, Shape: spec.Shape, Limits: datasets.Limits{MaxBytes: o.maxData},
		ClassFile: o.classes, Outputs: classes, Preprocess: pp, Unlabelled: embedding})
	if err != nil {
		return nil, base, dataErr(err)
	}
	if err := data.Check(spec.Shape, classes, spec.Lo, spec.Hi); err != nil {
		if data.Folder != nil && data.Folder.CountWarning != "" {
			err = fmt.Errorf("%w; %s", err, data.Folder.CountWarning)
		}
		return nil, base, dataErr(err)
	}
	p := &reports.Plan{Model: m, Data: data, Attacks: as, Eps: grid, EpsDefault: epsNote, Batch: o.batch, Limit: o.limit, Seed: o.seed, Shard: shard,
		LabelSource: o.labels, Examples: o.examples, Checks: o.checks, RefineSteps: o.refine, Corruptions: corrs, Severities: severities, Certify: certs}
	if p.Bounds, err = boundCertifier(m, certs); err != nil {
		return nil, base, err
	}
	if len(as) == 0 {
		// The reliability checks probe gradients and attacks: with none
		// there is nothing they could flag.
		p.Checks, p.RefineSteps = false, 0
	}
	if o.task == reports.TaskEmbedding {
		// The reliability checks and the example images are about class
		// decisions; an embedding task has none.
		p.Task, p.OutputLoss, p.Checks, p.Examples = reports.TaskEmbedding, outputLoss, false, 0
		if err := p.Validate(); err != nil {
			return nil, base, usageErr(err)
		}
	}
	base.Model = reports.ModelOf(o.model, m)
	if mh.metadata != nil {
		base.Model.Metadata = mh.metadata
	}
	// Check read every sample once and hashed them in the same pass.
	sum, err := data.SHA256()
	if err != nil {
		return nil, base, dataErr(err)
	}
	base.Dataset = reports.Dataset{Spec: o.data, SHA256Decoded: sum, Total: data.Len(), LabelSource: o.labels,
		Scaling: data.Scaling, Shape: data.Shape, Classes: data.Classes, Decoder: data.Decoder}
	for _, f := range data.Files {
		base.Dataset.Files = append(base.Dataset.Files, reports.DataFile{Path: f.Path, SHA256: f.SHA256, Bytes: f.Bytes})
	}
	base.Dataset.Notes = append(base.Dataset.Notes, data.Notes...)
	if pp := data.Preprocess; pp != nil {
		base.Dataset.Preprocess = &reports.Preprocess{Resize: pp.Resize, CenterCrop: pp.CenterCrop}
		if pp.Resize > 0 {
			base.Dataset.Preprocess.Filter = datasets.ResizeFilter
		}
	}
	if data.Folder != nil {
		noteFolder(&base, data.Folder, o.data, stderr)
	}
	if o.baseline != "" {
		if p.CorruptionBaseline, err = o.readBaseline(p, sum); err != nil {
			return nil, base, err
		}
	}
	if len(corrs) > 0 {
		if missing := corruption.Missing(); len(missing) > 0 && len(corrs) == len(corruption.Names()) {
			base.Flags = append(base.Flags, reports.Flag{ID: "corruptions_incomplete", Severity: "info",
				Message: fmt.Sprintf("%d of the benchmark's 15 corruptions ran; not implemented: %s — mCE and corruption accuracy are over the ones that ran and are not comparable with figures over all 15", len(corrs), strings.Join(missing, ", "))})
		}
	}
	if o.progress == "always" || (o.progress == "auto" && isTerminal(os.Stderr)) {
		p.Progress = &progressBar{w: stderr, label: "sweep"}
	}
	return p, base, nil
}

// dataErr classifies data-set errors: a bad spec is a usage error, bad data is bad input.
func dataErr(err error) error {
	if errors.Is(err, datasets.ErrSpec) {
		return usageErr(err)
	}
	return badInputErr(err)
}

func runSweep(ctx context.Context, o *sweepOptions, command []string, stdout, stderr io.Writer) error {
	start := time.Now()
	ctx, cancel := withTimeout(ctx, o.timeout)
	defer cancel()
	if err := o.outputs.check(); err != nil {
		return err
	}
	if err := checkOutputDir("--save-adv", o.saveAdv); err != nil {
		return err
	}
	var p *reports.Plan
	var base reports.Report
	err := untilDone(ctx, func() (err error) {
		p, base, err = o.buildPlan(stderr)
		return err
	})
	if err != nil {
		return err
	}
	if c, ok := p.Data.(io.Closer); ok {
		defer c.Close()
	}
	var resume *reports.Report
	if o.resume != "" {
		if o.saveAdv != "" {
			return usageErr(fmt.Errorf("--save-adv cannot be combined with --resume (the resumed part's examples were not kept)"))
		}
		if resume, err = readReport(o.resume, 0, o.requireSig); err != nil {
			return err
		}
	}
	var adv *reports.AdvWriter
	if o.saveAdv != "" {
		if adv, err = reports.NewAdvWriter(o.saveAdv, p.Model.Spec().Shape); err != nil {
			return badInputErr(fmt.Errorf("--save-adv: %w", err))
		}
		p.AdvSink = adv
	}
	r, runErr := o.evaluate(ctx, p, base, resume, start, command)
	if r == nil {
		if errors.Is(runErr, reports.ErrBadReport) {
			return badInputErr(runErr) // a --resume report that does not fit
		}
		return usageErr(runErr)
	}
	if adv != nil {
		if err := adv.Close(); err != nil && runErr == nil {
			runErr = err
		}
	}
	if err := writeOutputs(r, o.outputs, stdout); err != nil {
		return err
	}
	if err := runFailure(r, p, runErr, stderr); err != nil {
		return err
	}
	return certifiedBroken(r, stderr)
}

// evaluate runs a plan and records the run's provenance. ctx carries
// --timeout, which started with the command (see withTimeout).
func (o *sweepOptions) evaluate(ctx context.Context, p *reports.Plan, base reports.Report, resume *reports.Report, start time.Time, command []string) (*reports.Report, error) {
	base.Run = reports.RunOf(start, command)
	return reports.Evaluate(ctx, p, base, resume, start)
}

// runFailure reports how a run ended, after its outputs were written: nil
// when it completed, else the error to exit with (saying so when the run
// was stopped and its report is partial).
func runFailure(r *reports.Report, p *reports.Plan, runErr error, stderr io.Writer) error {
	if runErr == nil {
		return nil
	}
	if errors.Is(runErr, context.Canceled) || errors.Is(runErr, context.DeadlineExceeded) {
		lo, hi := p.Shard.Range(p.Data.Len())
		fmt.Fprintf(stderr, "advcheck: stopped after %d of %d samples; the report is marked incomplete (resume with --resume)\n", r.Dataset.Samples, hi-lo)
	}
	return classifyRunError(runErr)
}

// classifyRunError maps errors from a run to exit kinds.
func classifyRunError(err error) error {
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	case errors.Is(err, attacks.ErrSpec):
		return usageErr(err)
	case errors.Is(err, models.ErrObjective):
		return usageErr(err) // e.g. DLR on a model with too few classes
	case errors.Is(err, datasets.ErrBadData):
		return badInputErr(err) // a data file that changed or broke during the run
	}
	return err
}

// taskLoss checks --task and --output-loss, and what they rule out, and
// returns the output loss of an embedding task.
func (o *sweepOptions) taskLoss() (models.LossKind, error) {
	switch o.task {
	case "", reports.TaskClassification: // "": a gate's policy, which has no task
		if o.lossGiven {
			return 0, usageErr(fmt.Errorf("--output-loss is for --task embedding"))
		}
		return models.CrossEntropy, nil
	case reports.TaskEmbedding:
	default:
		return 0, usageErr(fmt.Errorf("--task %q: want classification or embedding", o.task))
	}
	var loss models.LossKind
	switch o.outputLoss {
	case "cosine":
		loss = models.OutputCosine
	case "mse":
		loss = models.OutputMSE
	default:
		return 0, usageErr(fmt.Errorf("--output-loss %q: want cosine or mse", o.outputLoss))
	}
	switch {
	case o.labels == "pred":
		return 0, usageErr(fmt.Errorf("--labels pred: --task embedding has no class predictions (every sample is attacked)"))
	case o.refine > 0:
		return 0, usageErr(fmt.Errorf("--refine-min-eps: --task embedding has no minimal eps (no sample is ever misclassified)"))
	}
	return loss, nil
}

// corruptionFlags checks --severity and --baseline against the corruptions
// given and returns the severity levels (nil without corruptions).
func (o *sweepOptions) corruptionFlags(names []string, loss models.LossKind) ([]int, error) {
	if len(names) == 0 {
		switch {
		case o.sevGiven:
			return nil, usageErr(fmt.Errorf("--severity is for corruptions (--attack corruptions or corruption:name=NAME)"))
		case o.baseline != "":
			return nil, usageErr(fmt.Errorf("--baseline is for corruptions (--attack corruptions or corruption:name=NAME): mCE needs them"))
		}
		return nil, nil
	}
	if o.task == reports.TaskEmbedding {
		return nil, usageErr(fmt.Errorf("--attack corruptions: --task embedding has no classes, and corruption accuracy needs them"))
	}
	sev, err := reports.ParseSeverity(o.severity)
	if err != nil {
		return nil, usageErr(fmt.Errorf("--%w", err))
	}
	return sev, nil
}

// readBaseline reads --baseline (checking its signature under
// --require-signature) and takes from it the error rates mCE needs; a
// baseline of other data, labels or corruptions is bad input (exit 3).
func (o *sweepOptions) readBaseline(p *reports.Plan, dataSHA string) (*reports.CorruptionBaseline, error) {
	b, sum, err := readReportSum(o.baseline, o.requireSig)
	if err != nil {
		return nil, fmt.Errorf("--baseline: %w", err)
	}
	bl, err := reports.BaselineFor(b, sum, reports.ConfigOf(p), dataSHA, o.labels)
	if err != nil {
		return nil, badInputErr(fmt.Errorf("--baseline %s: %w", o.baseline, err))
	}
	return bl, nil
}

// readReportSum reads a report as readReport does, and returns the
// SHA-256 of the bytes it decoded.
func readReportSum(path, pub string) (*reports.Report, string, error) {
	data, err := readLimited(path, reports.DefaultMaxReportBytes)
	if err != nil {
		return nil, "", badInputErr(fmt.Errorf("%w: %v", reports.ErrBadReport, err))
	}
	if pub != "" {
		if _, err := verifySignature("--require-signature", path, data, pub); err != nil {
			return nil, "", err
		}
	}
	r, err := reports.Read(bytes.NewReader(data), reports.DefaultMaxReportBytes)
	if err != nil {
		return nil, "", badInputErr(fmt.Errorf("%s: %w", path, err))
	}
	sum := sha256.Sum256(data)
	return r, hex.EncodeToString(sum[:]), nil
}
