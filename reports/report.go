package reports

// Schema is the report format this package writes. Later v1.x versions only add keys.
const Schema = "advcheck/report/v1"

// Report is a robustness report: the JSON document `advcheck sweep --json`
// writes and every other output is rendered from. Everything outside Run is
// a function of the command, the model, the data and the seed.
type Report struct {
	Schema    string      `json:"schema"`
	Complete  bool        `json:"complete"`
	Run       Run         `json:"run"`
	Model     Model       `json:"model"`
	Dataset   Dataset     `json:"dataset"`
	Config    Config      `json:"config"`
	Clean     Clean       `json:"clean"`
	Results   []Result    `json:"results"`
	WorstCase []WorstCase `json:"worst_case"`
	// Certified is the certified accuracy of each --certify method at each
	// radius of its norm (v1.x addition; absent without --certify).
	Certified []CertifiedResult `json:"certified,omitempty"`
	Summary   Summary           `json:"summary"`
	Flags     []Flag            `json:"flags"`
	Gate      *Gate             `json:"gate,omitempty"`
	Examples  []Example         `json:"examples,omitempty"`
	// Corruptions is what natural corruptions did (sweep --attack
	// corruptions), when the sweep ran any (v1.x addition).
	Corruptions *Corruptions `json:"corruptions,omitempty"`
	// CorruptionExamples is the example grid of the HTML report: one sample
	// under every corruption and severity (v1.x addition).
	CorruptionExamples []CorruptionExample `json:"corruption_examples,omitempty"`
	Samples            *Samples            `json:"samples"`
}

// Run is the provenance of one execution; it varies from run to run.
type Run struct {
	Tool      Tool     `json:"tool"`
	Created   string   `json:"created"`
	DurationS Num      `json:"duration_s"`
	Host      string   `json:"host"`
	Command   []string `json:"command"`
}

// Tool identifies the binary.
type Tool struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Go      string `json:"go"`
	BLAS    string `json:"blas"`
	JPEG    string `json:"jpeg,omitempty"` // the JPEG decoder compiled in (v1.x addition; absent from earlier reports)
	Threads int    `json:"threads"`
}

// Model describes the model under test.
type Model struct {
	Path          string        `json:"path"`
	SHA256        string        `json:"sha256"`
	Opset         int64         `json:"opset"`
	Inputs        []TensorInfo  `json:"inputs"`
	Outputs       []TensorInfo  `json:"outputs"`
	Params        int64         `json:"params"`
	OutputKind    string        `json:"output_kind"`
	InputContract InputContract `json:"input_contract"`
	Classes       []string      `json:"classes,omitempty"`
	Notes         []string      `json:"notes,omitempty"`
	Metadata      any           `json:"metadata,omitempty"` // a validated M.onnx.metadata.json sidecar
}

// TensorInfo is a model input or output; -1 stands for the batch.
type TensorInfo struct {
	Name  string `json:"name"`
	Shape []int  `json:"shape"`
}

// InputContract is how pixel-space inputs reach the model.
type InputContract struct {
	Layout string     `json:"layout"`
	Bounds [2]float64 `json:"bounds"`
	Scale  float64    `json:"scale"`
	Mean   []float64  `json:"mean"`
	Std    []float64  `json:"std"`
	// InputShape is the per-sample shape (C,H,W) given to fix sizes the
	// model's input leaves open (v1.x addition; absent when none was given).
	InputShape []int `json:"input_shape,omitempty"`
}

// Dataset describes the data attacked.
type Dataset struct {
	Spec          string     `json:"spec"`
	SHA256Decoded string     `json:"sha256_decoded"`
	Samples       int        `json:"samples"` // samples in this report
	Total         int        `json:"total"`   // samples in the data set (after --limit)
	LabelSource   string     `json:"label_source"`
	Scaling       string     `json:"scaling"`
	Shape         []int      `json:"shape"`
	Classes       []string   `json:"classes,omitempty"`
	Files         []DataFile `json:"files,omitempty"`
	Decoder       string     `json:"decoder,omitempty"` // the JPEG decoder, when the data held JPEGs
	// Image folders: how folders became labels, and what was skipped or
	// reached through symbolic links.
	ClassMap    *ClassMap    `json:"class_map,omitempty"`
	Skipped     *Skipped     `json:"skipped,omitempty"`
	LinkedFiles *LinkedFiles `json:"linked_files,omitempty"`
	Notes       []string     `json:"notes,omitempty"`
	// Preprocess is the resize and centre crop the images went through
	// (sweep --resize, --center-crop); nil when none.
	Preprocess *Preprocess `json:"preprocess,omitempty"`
}

// Preprocess is the standard preprocessing of an image folder: the shorter
// side resized to Resize (0 = not resized) with Filter, then a centre crop
// of CenterCrop (H, W; nil = none).
type Preprocess struct {
	Resize     int    `json:"resize,omitempty"`
	CenterCrop []int  `json:"center_crop,omitempty"`
	Filter     string `json:"filter,omitempty"` // with Resize
}

// ClassMap is the class mapping an image folder was read with.
type ClassMap struct {
	Source  string       `json:"source"` // folders (sorted names numbered 0…k−1), classes_file (--classes), classes.txt or classes.json
	File    string       `json:"file,omitempty"`
	Classes []ClassLabel `json:"classes"` // every class folder, by label
}

// ClassLabel is a class folder and the label (model output) of its images.
type ClassLabel struct {
	Folder  string `json:"folder"`
	Label   int    `json:"label"`
	Images  int    `json:"images"`            // images in the folder (before --limit)
	Symlink string `json:"symlink,omitempty"` // the target of a class folder that is a symbolic link
}

// Skipped counts the entries of an image folder that were not read
// (hidden files, Thumbs.db, desktop.ini, plain files beside the class
// folders) and names the first few.
type Skipped struct {
	Count int      `json:"count"`
	Names []string `json:"names"`
}

// LinkedFiles counts the images read through symbolic links and names the first few.
type LinkedFiles struct {
	Count int       `json:"count"`
	Links []Symlink `json:"links"`
}

// Symlink is a path and the target its link holds.
type Symlink struct {
	Path   string `json:"path"`
	Target string `json:"target"`
}

// DataFile is a source file of the data set.
type DataFile struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
	Bytes  int64  `json:"bytes"`
}

// Config is the resolved plan.
type Config struct {
	Attacks []AttackConfig `json:"attacks"`
	Eps     []EpsConfig    `json:"eps"`
	Batch   int            `json:"batch"`
	Seed    uint64         `json:"seed"`
	Shard   Shard          `json:"shard"`
	Limit   int            `json:"limit"`
	// EpsDefault says which default grid was used and why, when --eps was
	// not given (see DefaultEpsFor); empty for a requested grid.
	EpsDefault string `json:"eps_default,omitempty"`
	// Certify lists the certification methods (sweep --certify; v1.x
	// addition, absent without).
	Certify []CertifyConfig `json:"certify,omitempty"`
	// Task is "embedding" for a model whose outputs are not class scores
	// (sweep --task embedding), with OutputLoss the loss its attacks
	// maximised (cosine or mse); both absent for classifiers (v1.x addition).
	Task       string `json:"task,omitempty"`
	OutputLoss string `json:"output_loss,omitempty"`
	// Corruptions are the natural corruptions of the sweep, each run at
	// every one of Severities; CorruptionBaseline the baseline's error
	// rates that mCE is relative to (sweep --baseline). All absent when the
	// sweep ran no corruption (v1.x addition).
	Corruptions        []CorruptionConfig  `json:"corruptions,omitempty"`
	Severities         []int               `json:"severities,omitempty"`
	CorruptionBaseline *CorruptionBaseline `json:"corruption_baseline,omitempty"`
}

// AttackConfig is one attack with its resolved parameters.
type AttackConfig struct {
	AttackID string         `json:"attack_id"`
	Name     string         `json:"name"`
	Norm     string         `json:"norm"`
	Params   map[string]any `json:"params"`
}

// EpsConfig is one radius of the sweep.
type EpsConfig struct {
	Norm      string  `json:"norm"`
	Requested string  `json:"requested"`
	Value     float64 `json:"value"`
}

// Shard is the part of the data set a run covered: samples
// [I·Total/N, (I+1)·Total/N).
type Shard struct {
	I int `json:"i"`
	N int `json:"n"`
}

// Clean is the accuracy without attack.
type Clean struct {
	N            int    `json:"n"`
	NCorrect     int    `json:"n_correct"`
	Accuracy     Num    `json:"accuracy"`
	AccuracyCI95 [2]Num `json:"accuracy_ci95"`
}

// Result is what one attack did at one eps.
type Result struct {
	AttackID          string       `json:"attack_id"`
	Attack            string       `json:"attack"`
	Norm              string       `json:"norm"`
	Eps               float64      `json:"eps"`
	EpsRequested      string       `json:"eps_requested"`
	N                 int          `json:"n"`
	NCorrect          int          `json:"n_correct"`
	Accuracy          Num          `json:"accuracy"`
	AccuracyCI95      [2]Num       `json:"accuracy_ci95"`
	NAttacked         int          `json:"n_attacked"`
	NSuccess          int          `json:"n_success"`
	AttackSuccessRate Num          `json:"attack_success_rate"`
	QueriesMean       Num          `json:"queries_mean"`
	Cosine            CosineStats  `json:"cosine"`
	KL                KLStats      `json:"kl"`
	Perturbation      Perturbation `json:"perturbation"`
}

// CosineStats are cosine similarities of clean and adversarial outputs.
type CosineStats struct {
	Logits Spread `json:"logits"`
	Probs  Spread `json:"probs"`
	// Outputs is the cosine of clean and adversarial outputs of an
	// embedding task (config.task), where logits and probs are null
	// (v1.x addition; absent for classifiers).
	Outputs *Spread `json:"outputs,omitempty"`
}

// Spread summarises per-sample values.
type Spread struct {
	Mean Num `json:"mean"`
	P5   Num `json:"p5"`
	Min  Num `json:"min"`
}

// KLStats summarise KL(clean ‖ adversarial) of the softmax outputs.
type KLStats struct {
	Mean Num `json:"mean"`
	P95  Num `json:"p95"`
}

// Perturbation summarises ‖x_adv − x‖ in every norm, whatever the attack's.
type Perturbation struct {
	LinfMax  Num `json:"linf_max"`
	LinfMean Num `json:"linf_mean"`
	L2Mean   Num `json:"l2_mean"`
	// L1Mean is the mean L1 norm (v1.x addition; absent when the samples
	// hold no per-sample L1 norms, as in reports written before it).
	L1Mean *Num `json:"l1_mean,omitempty"`
}

// WorstCase is the accuracy under every attack of a norm at once.
type WorstCase struct {
	Norm         string   `json:"norm"`
	Eps          float64  `json:"eps"`
	N            int      `json:"n"`
	NRobust      int      `json:"n_robust"`
	Accuracy     Num      `json:"accuracy"`
	AccuracyCI95 [2]Num   `json:"accuracy_ci95"`
	Attacks      []string `json:"attacks"`
	// Certified is the lower end of the interval the robust accuracy lies
	// in, [certified, attacked]: samples proved by IBP or CROWN at this
	// radius (v1.x addition; absent without such a method of this norm).
	Certified *CertifiedBound `json:"certified,omitempty"`
}

// Summary condenses the sweep.
type Summary struct {
	AUC        []AUC        `json:"auc"`
	MinimalEps []MinimalEps `json:"minimal_eps"`
	// MinNorm summarises each minimal-norm attack (cw, deepfool, fmn):
	// its per-sample minimal norms and the robustness curve they give.
	MinNorm []MinNormSummary `json:"min_norm,omitempty"`
	// CertifiedRadius is the distribution of each smoothing method's
	// certified L2 radii (v1.x addition).
	CertifiedRadius []RadiusSummary `json:"certified_radius,omitempty"`
}

// AUC is the area under accuracy(eps) over [0, max eps], divided by max eps.
type AUC struct {
	AttackID string `json:"attack_id"`
	Norm     string `json:"norm"`
	Value    Num    `json:"value"`
}

// MinimalEps is the median over all samples of the smallest eps at which the
// worst case breaks a sample (0 for clean errors; unbroken samples count as
// beyond the largest eps, and the median is null when they are the majority).
type MinimalEps struct {
	Norm            string `json:"norm"`
	Median          Num    `json:"median"`
	SamplesUnbroken int    `json:"samples_unbroken"`
	BisectionSteps  int    `json:"bisection_steps,omitempty"` // 0: the grid value; else refined (--refine-min-eps)
}

// Flag is a warning about the evaluation itself.
type Flag struct {
	ID       string `json:"id"`
	Severity string `json:"severity"` // info, warning, error
	Message  string `json:"message"`
}

// Gate is the verdict of a policy, written by `advcheck gate`.
type Gate struct {
	Passed bool        `json:"passed"`
	Policy string      `json:"policy,omitempty"`
	Checks []GateCheck `json:"checks"`
}

// GateCheck is one requirement of a policy.
type GateCheck struct {
	ID     string `json:"id"`
	Want   string `json:"want"`
	Got    string `json:"got"`
	Passed bool   `json:"passed"`
}

// Example is one sample shown in the HTML report: PNG images as data URLs.
type Example struct {
	Index        int     `json:"index"`
	AttackID     string  `json:"attack_id"`
	Eps          float64 `json:"eps"`
	Label        int     `json:"label"`
	CleanPred    int     `json:"clean_pred"`
	AdvPred      int     `json:"adv_pred"`
	Broken       bool    `json:"broken"`
	Clean        string  `json:"clean_png"`
	Adversarial  string  `json:"adversarial_png"`
	Perturbation string  `json:"perturbation_png"` // amplified to the full range
	Amplify      float64 `json:"amplify"`
}

// Samples holds the per-sample outcomes every figure is reduced from, in
// sample-index order, so reports can be merged, resumed and compared.
type Samples struct {
	Index     []int           `json:"index"`
	Label     []int           `json:"label"`
	CleanPred []int           `json:"clean_pred"`
	Outcomes  []Outcomes      `json:"outcomes"`
	Checks    *Checks         `json:"checks,omitempty"` // per-sample facts behind the reliability flags
	Refined   []RefinedMinEps `json:"refined_min_eps,omitempty"`
	MinNorms  []MinNorms      `json:"min_norms,omitempty"` // per minimal-norm attack, in attack order
	// Corrupted are the outcomes per corruption and severity, in the
	// order of config.corruptions and config.severities.
	Corrupted []CorruptedOutcomes `json:"corrupted,omitempty"`
	Certified []Certificates      `json:"certified,omitempty"` // per certification method, in config.certify order
}

// Outcomes are the per-sample results of one attack at one eps, aligned with Samples.Index.
type Outcomes struct {
	AttackID  string  `json:"attack_id"`
	Norm      string  `json:"norm"`
	Eps       float64 `json:"eps"`
	Pred      []int   `json:"pred"`
	Target    []int   `json:"target,omitempty"`
	CosLogits []F32   `json:"cos_logits"`
	CosProbs  []F32   `json:"cos_probs"`
	KL        []F32   `json:"kl"`
	Linf      []F32   `json:"linf"`
	L2        []F32   `json:"l2"`
	// L1 is each sample's ‖x_adv − x‖₁ (v1.x addition; absent from reports
	// written before it, and then perturbation.l1_mean is too).
	L1      []F32 `json:"l1,omitempty"`
	Queries []int `json:"queries"`
}
