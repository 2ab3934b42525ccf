package main

import (
	"fmt"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/advcheck/advcheck/models"
)

const exitStatusHelp = `Exit status:
  0    success (a gate passed, a signature verified)
  1    a check failed (a gate requirement, a signature or a hash)
  2    usage error: bad flags, arguments or policy
  3    bad input: a model, data set or report that is unreadable, malformed,
       over a limit, or whose pinned SHA-256 does not match
  4    internal failure
  124  --timeout reached (a partial report is still written)
  130  interrupted by SIGINT, 143 by SIGTERM (a partial report is still written)`

func newRootCommand() *cobra.Command {
	var threads int
	root := &cobra.Command{
		Use:   "advcheck",
		Short: "Test the adversarial robustness of image classifiers",
		Long: `advcheck loads an ONNX image classifier, attacks it with FGSM and related
gradient attacks (BIM, PGD, MI-FGSM, APGD), a gradient-free Square attack and
noise baselines over sweeps of epsilon, and reports how far the outputs move
(cosine similarity of clean and adversarial logits), how often the answer flips
(robust accuracy) and how large the perturbations are.

Epsilon is always measured in pixel space: inputs in [0, 1] unless --bounds
says otherwise, whatever scaling or normalisation the model applies inside.

Files: inputs (models, data, policies, reports, keys, signatures) must be
regular files; a named pipe, a device or a directory is refused (exit 3, or 2
for a policy). Output paths are checked before any work (exit 2): a device, a
pipe or a directory is never replaced, a symbolic link is written through to
the file it points to, and '-' sends one output to stdout. Files are written
to a hidden temporary file and renamed into place. --timeout counts from the
start of the command, loading included.

` + exitStatusHelp,
		SilenceErrors: true,
		SilenceUsage:  true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			// Each thread gets its own scratch buffers, so an absurd count
			// is an out-of-memory crash rather than a slow run.
			if limit := maxThreads(); threads < 0 || threads > limit {
				return usageErr(fmt.Errorf("--threads %d: want 0 (one per CPU) to %d (4 per CPU)", threads, limit))
			}
			models.SetThreads(threads)
			return nil
		},
	}
	root.PersistentFlags().IntVar(&threads, "threads", 0, "compute threads, 0 to 4 per CPU (0 = one per CPU); BLAS runs single-threaded inside them")
	root.AddCommand(newSweepCommand(), newGateCommand(), newReportCommand(), newMergeCommand(), newCompareCommand(), newKeygenCommand(), newSignCommand(), newVerifyCommand(), newVersionCommand(), newInspectCommand())
	return root
}

// maxThreads is the largest --threads: four per CPU leaves room to
// oversubscribe on purpose while bounding the per-thread buffers.
func maxThreads() int { return 4 * runtime.NumCPU() }
