package render

import (
	"encoding/xml"
	"fmt"
	"io"

	"github.com/advcheck/advcheck/internal/textsafe"
	"github.com/advcheck/advcheck/reports"
)

type junitSuites struct {
	XMLName xml.Name     `xml:"testsuites"`
	Suites  []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string          `xml:"name,attr"`
	Tests    int             `xml:"tests,attr"`
	Failures int             `xml:"failures,attr"`
	Props    []junitProperty `xml:"properties>property,omitempty"`
	Cases    []junitCase     `xml:"testcase"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
	Output    string        `xml:"system-out,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Text    string `xml:",chardata"`
}

// JUnit writes JUnit XML. For a gated report there is one test case per
// requirement, named by its stable id (e.g. worst_case/linf/0.3/min_accuracy),
// failing when the requirement is not met, plus one for completeness. For a
// plain sweep there is one passing case per result row (and per corruption
// and severity, and the overall corruption accuracy) and one failing case
// per flag of severity warning or error.
func JUnit(w io.Writer, r *reports.Report) error {
	suite := junitSuite{Name: "advcheck", Props: []junitProperty{
		{"model", r.Model.Path}, {"model_sha256", r.Model.SHA256}, {"dataset", r.Dataset.Spec},
		{"dataset_sha256", r.Dataset.SHA256Decoded}, {"seed", fmt.Sprint(r.Config.Seed)}, {"tool_version", r.Run.Tool.Version},
	}}
	add := func(c junitCase) {
		suite.Tests++
		if c.Failure != nil {
			suite.Failures++
		}
		suite.Cases = append(suite.Cases, c)
	}
	complete := junitCase{Name: "report/complete", Classname: "advcheck.report"}
	if !r.Complete {
		complete.Failure = &junitFailure{Message: "the report is incomplete", Text: fmt.Sprintf("%d of %d samples evaluated", r.Dataset.Samples, r.Dataset.Total)}
	}
	if r.Gate != nil {
		suite.Name = "advcheck gate"
		add(complete)
		for _, c := range r.Gate.Checks {
			jc := junitCase{Name: c.ID, Classname: "advcheck.gate", Output: fmt.Sprintf("want %s, got %s", c.Want, c.Got)}
			if !c.Passed {
				jc.Failure = &junitFailure{Message: fmt.Sprintf("want %s, got %s", c.Want, c.Got), Text: c.ID}
			}
			add(jc)
		}
	} else {
		suite.Name = "advcheck sweep"
		add(complete)
		for _, res := range r.Results {
			add(junitCase{Name: fmt.Sprintf("%s/%s/%g", res.AttackID, res.Norm, res.Eps), Classname: "advcheck.results",
				Output: fmt.Sprintf("accuracy %s %s, attack success %s, cosine(logits) mean over the %d attacked samples %s", pct(res.Accuracy), ci(res.AccuracyCI95), pct(res.AttackSuccessRate), res.NAttacked, num(res.Cosine.Logits.Mean, "%.4f"))})
		}
		if c := r.Corruptions; c != nil {
			for _, res := range c.Results {
				add(junitCase{Name: fmt.Sprintf("corruptions/%s/%d", res.Corruption, res.Severity), Classname: "advcheck.corruptions",
					Output: fmt.Sprintf("accuracy %s %s, cosine(logits) mean over the %d samples %s", pct(res.Accuracy), ci(res.AccuracyCI95), res.N, num(res.Cosine.Logits.Mean, "%.4f"))})
			}
			add(junitCase{Name: "corruptions/all/all", Classname: "advcheck.corruptions",
				Output: fmt.Sprintf("corruption accuracy %s (%d of %d)", pct(c.Overall.Accuracy), c.Overall.NCorrect, c.Overall.N)})
		}
		for _, c := range r.Certified {
			add(junitCase{Name: fmt.Sprintf("certified/%s/%s/%g", c.CertifyID, c.Norm, c.Eps), Classname: "advcheck.certified",
				Output: fmt.Sprintf("certified accuracy %s %s (%s) of the %s", pct(c.Accuracy), ci(c.AccuracyCI95), certifiedDetail(c), map[bool]string{true: "smoothed classifier", false: "model"}[c.Classifier == reports.ClassifierSmoothed])})
		}
	}
	for _, f := range r.Flags {
		if f.Severity == "warning" || f.Severity == "error" {
			add(junitCase{Name: "flags/" + f.ID, Classname: "advcheck.flags", Failure: &junitFailure{Message: f.Message, Text: f.Severity}})
		}
	}
	safeSuite(&suite)
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(junitSuites{Suites: []junitSuite{suite}}); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// safeSuite escapes every string of a suite with textsafe.Line: CI systems
// show these names and messages as they are, and XML 1.0 cannot hold most
// control characters at all.
func safeSuite(s *junitSuite) {
	s.Name = textsafe.Line(s.Name)
	for i := range s.Props {
		p := &s.Props[i]
		p.Name, p.Value = textsafe.Line(p.Name), textsafe.Line(p.Value)
	}
	for i := range s.Cases {
		c := &s.Cases[i]
		c.Name, c.Classname, c.Output = textsafe.Line(c.Name), textsafe.Line(c.Classname), textsafe.Line(c.Output)
		if c.Failure != nil {
			c.Failure.Message, c.Failure.Text = textsafe.Line(c.Failure.Message), textsafe.Line(c.Failure.Text)
		}
	}
}
