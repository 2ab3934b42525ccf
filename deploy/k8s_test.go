// Package deploy tests the cluster manifests in deploy/k8s: they must be
// valid against the Kubernetes API's JSON schemas (offline, with the schemas
// shipped in testdata) and meet the Pod Security "restricted" profile
// (podsecurity_test.go).
package deploy

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"
)

// kubernetesVersion is the API version the manifests are validated
// against; testdata/kubernetes-json-schema holds its schemas (see the
// README there).
const kubernetesVersion = "v1.32.2"

// manifests returns the YAML files of deploy/k8s.
func manifests(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("k8s/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests in deploy/k8s (%v)", err)
	}
	return files
}

// schemaFile names the schema of a resource as kubeconform and
// yannh/kubernetes-json-schema do: KIND-GROUP-VERSION.json, the group cut at
// its first dot (apps/v1 Deployment: deployment-apps-v1.json; v1 ConfigMap:
// configmap-v1.json), in the -standalone-strict folder of the version.
func schemaFile(apiVersion, kind string) string {
	suffix := ""
	if group, version, ok := strings.Cut(apiVersion, "/"); ok {
		suffix = "-" + strings.ToLower(strings.Split(group, ".")[0]) + "-" + strings.ToLower(version)
	} else {
		suffix = "-" + strings.ToLower(apiVersion)
	}
	return filepath.Join("testdata/kubernetes-json-schema", kubernetesVersion+"-standalone-strict", strings.ToLower(kind)+suffix+".json.gz")
}

// validateResource checks one decoded resource against the strict JSON
// schema of its apiVersion and kind, compiled as kubeconform compiles it
// (santhosh-tekuri/jsonschema, draft 4). A kind without a shipped schema is
// an error, never a download.
func validateResource(obj map[string]any) error {
	apiVersion, _ := obj["apiVersion"].(string)
	kind, _ := obj["kind"].(string)
	if apiVersion == "" || kind == "" {
		return errors.New("apiVersion and kind are required")
	}
	path := schemaFile(apiVersion, kind)
	sch, err := compileSchema(path, apiVersion, kind)
	if err != nil {
		return err
	}
	// The schema validates JSON values: YAML's go through JSON, as the API
	// server receives them.
	b, err := json.Marshal(obj)
	if err != nil {
		return err
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		return err
	}
	return sch.Validate(inst)
}

var schemas sync.Map // path → *jsonschema.Schema

func compileSchema(path, apiVersion, kind string) (*jsonschema.Schema, error) {
	if s, ok := schemas.Load(path); ok {
		return s.(*jsonschema.Schema), nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("could not find schema for %s %s (%s)", apiVersion, kind, path)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	doc, err := jsonschema.UnmarshalJSON(zr)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft4)
	if err := c.AddResource(path, doc); err != nil {
		return nil, err
	}
	sch, err := c.Compile(path)
	if err != nil {
		return nil, err
	}
	schemas.Store(path, sch)
	return sch, nil
}

// validate returns the verdict on each resource of one YAML stream: "ok" or
// the error.
func validate(t *testing.T, manifest []byte) []string {
	t.Helper()
	var out []string
	dec := yaml.NewDecoder(bytes.NewReader(manifest))
	for {
		var obj map[string]any
		err := dec.Decode(&obj)
		if err == io.EOF {
			break
		}
		switch {
		case err != nil: // a repeated key too
			out = append(out, err.Error())
			return out
		case obj == nil:
		default:
			if err := validateResource(obj); err != nil {
				out = append(out, strings.ReplaceAll(err.Error(), "\n", " "))
			} else {
				out = append(out, "ok")
			}
		}
	}
	return out
}

func TestManifestsMatchSchemas(t *testing.T) {
	for _, f := range manifests(t) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		res := validate(t, b)
		if len(res) == 0 {
			t.Errorf("%s: no resource", f)
		}
		for i, r := range res {
			if r != "ok" {
				t.Errorf("%s, resource %d: %s", f, i+1, r)
			}
		}
	}
}

// The validator is not one that accepts anything: each mistake below, of
// the kinds a hand-edited manifest has, is refused.
func TestSchemaValidationRefuses(t *testing.T) {
	b, err := os.ReadFile("k8s/sweep-job.yaml")
	if err != nil {
		t.Fatal(err)
	}
	base := string(b)
	for _, c := range []struct{ name, old, new, say string }{
		{"misspelt field", "completionMode: Indexed", "completionMod: Indexed", "at '/spec': additional properties 'completionMod' not allowed"},
		{"wrong type", "parallelism: 4", "parallelism: four", "at '/spec/parallelism': got string, want null or integer"},
		{"unknown field in a container", "imagePullPolicy: IfNotPresent", "imagePullPolicy: IfNotPresent\n          pullPolicy: Always", "additional properties 'pullPolicy' not allowed"},
		{"field at the wrong level", "      restartPolicy: Never", "      restartPolicy: Never\n      readOnlyRootFilesystem: true", "at '/spec/template/spec': additional properties 'readOnlyRootFilesystem' not allowed"},
		{"missing required field", "        - name: sweep\n          image: advcheck:latest\n", "        - image: advcheck:latest\n", "at '/spec/template/spec/containers/0': missing property 'name'"},
		{"kind without a shipped schema", "kind: Job", "kind: Jobb", "could not find schema"},
		{"repeated key", "parallelism: 4", "parallelism: 4\n  parallelism: 2", "already defined"},
		{"a list where the API wants a quantity", "memory: 2Gi}", "memory: [2Gi]}", "at '/spec/template/spec/containers/0/resources/requests/memory'"},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := strings.Replace(base, c.old, c.new, 1)
			if m == base {
				t.Fatalf("%q is not in the manifest", c.old)
			}
			res := validate(t, []byte(m))
			if len(res) != 1 || res[0] == "ok" || !strings.Contains(res[0], c.say) {
				t.Errorf("got %q, want an error naming %q", res, c.say)
			}
		})
	}
}

// readManifest decodes every YAML document of a manifest file.
func readManifest(t *testing.T, path string) []map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var docs []map[string]any
	dec := yaml.NewDecoder(bytes.NewReader(b))
	for {
		var d map[string]any
		if err := dec.Decode(&d); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if d != nil {
			docs = append(docs, d)
		}
	}
	return docs
}

// The merge job lists the parts the sweep job writes: one per completion
// index, as many as SHARDS says.
func TestShardsAgree(t *testing.T) {
	sweep := readManifest(t, "k8s/sweep-job.yaml")[0]
	completions, _ := m(sweep, "spec", "completions").(int)
	if p := m(sweep, "spec", "parallelism"); p != completions || completions < 1 {
		t.Errorf("sweep job: completions %v, parallelism %v", completions, p)
	}
	_, spec, _ := podTemplate(sweep)
	shards := ""
	for _, e := range list(m(list(spec["containers"])[0], "env")) {
		if m(e, "name") == "SHARDS" {
			shards = str(m(e, "value"))
		}
	}
	if shards != fmt.Sprint(completions) {
		t.Errorf("sweep job: SHARDS %q, completions %d", shards, completions)
	}
	_, merge, _ := podTemplate(readManifest(t, "k8s/merge-job.yaml")[0])
	var parts []string
	for _, c := range append(list(merge["initContainers"]), list(merge["containers"])...) {
		for _, a := range list(m(c, "args")) {
			if strings.HasPrefix(str(a), "/out/part-") {
				parts = append(parts, str(a))
			}
		}
	}
	var want []string
	for i := range completions {
		want = append(want, fmt.Sprintf("/out/part-%d.json", i))
	}
	if strings.Join(parts, " ") != strings.Join(want, " ") {
		t.Errorf("merge job reads %v, the sweep job writes %v", parts, want)
	}
}

// dockerfileFinal returns the instructions of a Dockerfile's last stage
// that define how its image runs.
func dockerfileFinal(t *testing.T, path string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var final map[string]string
	for _, l := range strings.Split(string(b), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		word, rest, _ := strings.Cut(l, " ")
		switch strings.ToUpper(word) {
		case "FROM":
			final = map[string]string{}
		case "USER", "WORKDIR", "ENTRYPOINT", "CMD":
			final[strings.ToUpper(word)] = strings.TrimSpace(rest)
		}
	}
	return final
}

// The image make image builds (deploy/image/Containerfile) runs as the
// Dockerfile's does, and as the manifests expect: UID 65532, entry point
// advcheck.
func TestImagesAgree(t *testing.T) {
	docker := dockerfileFinal(t, "../Dockerfile")
	static := dockerfileFinal(t, "image/Containerfile")
	for _, k := range []string{"USER", "WORKDIR", "ENTRYPOINT", "CMD"} {
		if docker[k] == "" || docker[k] != static[k] {
			t.Errorf("%s: Dockerfile %q, deploy/image/Containerfile %q", k, docker[k], static[k])
		}
	}
	if docker["USER"] != "65532:65532" {
		t.Errorf("USER %q, want 65532:65532 (the manifests' runAsUser and runAsGroup)", docker["USER"])
	}
	for _, f := range manifests(t) {
		for _, obj := range readManifest(t, f) {
			if _, spec, ok := podTemplate(obj); ok {
				if u, g := m(spec, "securityContext", "runAsUser"), m(spec, "securityContext", "runAsGroup"); u != 65532 || g != 65532 {
					t.Errorf("%s: runAsUser %v, runAsGroup %v, want the image's 65532", f, u, g)
				}
			}
		}
	}
}
