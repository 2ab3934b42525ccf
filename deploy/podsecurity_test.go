package deploy

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
)

// The Pod Security Standards' "restricted" profile (which includes
// "baseline"), as https://kubernetes.io/docs/concepts/security/pod-security-standards/
// lists its controls for the latest policy version. restrictedViolations
// returns one line per violated control, prefixed by the control's id.
//
// Unset fields are judged as Pod Security Admission judges them: where the
// profile requires a value (allowPrivilegeEscalation, runAsNonRoot, seccomp,
// capabilities drop ALL) unset is a violation; where it forbids values
// (privileged, host namespaces, hostPort, procMount...) unset is allowed.

var (
	// Sysctls the baseline profile allows.
	safeSysctls = []string{
		"kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start",
		"net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
		"net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
		"net.ipv4.tcp_keepalive_probes",
	}
	// SELinux types the baseline profile allows ("" is unset).
	selinuxTypes = []string{"", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"}
	// Volume sources the restricted profile allows.
	restrictedVolumes = []string{"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret"}
)

// m walks a decoded YAML tree: m(v, "a", "b") is v.a.b, nil when absent.
func m(v any, path ...string) any {
	for _, k := range path {
		mm, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = mm[k]
	}
	return v
}

func list(v any) []any { l, _ := v.([]any); return l }

func isTrue(v any) bool { b, ok := v.(bool); return ok && b }

func isFalse(v any) bool { b, ok := v.(bool); return ok && !b }

func str(v any) string { s, _ := v.(string); return s }

// podTemplate returns the metadata and pod spec of a Pod or of the pod
// template of a workload.
func podTemplate(obj map[string]any) (meta, spec map[string]any, ok bool) {
	var tpl any
	switch str(obj["kind"]) {
	case "Pod":
		tpl = obj
	case "CronJob":
		tpl = m(obj, "spec", "jobTemplate", "spec", "template")
	case "Job", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController":
		tpl = m(obj, "spec", "template")
	default:
		return nil, nil, false
	}
	meta, _ = m(tpl, "metadata").(map[string]any)
	spec, ok = m(tpl, "spec").(map[string]any)
	return meta, spec, ok
}

func restrictedViolations(meta, spec map[string]any) []string {
	var out []string
	bad := func(control, format string, a ...any) {
		out = append(out, control+": "+fmt.Sprintf(format, a...))
	}
	psc := m(spec, "securityContext")
	type container struct {
		where string
		c     any
	}
	var containers []container
	for _, field := range []string{"initContainers", "containers", "ephemeralContainers"} {
		for _, c := range list(spec[field]) {
			containers = append(containers, container{fmt.Sprintf("%s %q", field, str(m(c, "name"))), c})
		}
	}
	if len(list(spec["containers"])) == 0 {
		bad("containers", "the pod has no containers")
	}

	// Baseline.
	if isTrue(m(psc, "windowsOptions", "hostProcess")) {
		bad("hostProcess", "pod securityContext.windowsOptions.hostProcess is true")
	}
	for _, ns := range []string{"hostNetwork", "hostPID", "hostIPC"} {
		if isTrue(spec[ns]) {
			bad("hostNamespaces", "%s is true", ns)
		}
	}
	for _, v := range list(spec["volumes"]) {
		if m(v, "hostPath") != nil {
			bad("hostPathVolumes", "volume %q is a hostPath", str(m(v, "name")))
		}
	}
	annotations, _ := m(meta, "annotations").(map[string]any)
	for k, v := range annotations {
		if strings.HasPrefix(k, "container.apparmor.security.beta.kubernetes.io/") {
			if p := str(v); p != "runtime/default" && !strings.HasPrefix(p, "localhost/") {
				bad("appArmor", "annotation %s is %q", k, p)
			}
		}
	}
	appArmor := func(where string, sc any) {
		if t := m(sc, "appArmorProfile", "type"); t != nil && t != "RuntimeDefault" && t != "Localhost" {
			bad("appArmor", "%s appArmorProfile.type is %v", where, t)
		}
	}
	seLinux := func(where string, sc any) {
		o := m(sc, "seLinuxOptions")
		if !slices.Contains(selinuxTypes, str(m(o, "type"))) {
			bad("seLinux", "%s seLinuxOptions.type is %v", where, m(o, "type"))
		}
		for _, k := range []string{"user", "role"} {
			if m(o, k) != nil {
				bad("seLinux", "%s seLinuxOptions.%s is set", where, k)
			}
		}
	}
	appArmor("pod", psc)
	seLinux("pod", psc)
	for _, s := range list(m(psc, "sysctls")) {
		if n := str(m(s, "name")); !slices.Contains(safeSysctls, n) {
			bad("sysctls", "sysctl %s is not in the safe set", n)
		}
	}
	for _, c := range containers {
		sc := m(c.c, "securityContext")
		if isTrue(m(sc, "windowsOptions", "hostProcess")) {
			bad("hostProcess", "%s: windowsOptions.hostProcess is true", c.where)
		}
		if isTrue(m(sc, "privileged")) {
			bad("privileged", "%s: privileged is true", c.where)
		}
		for _, p := range list(m(c.c, "ports")) {
			if hp := m(p, "hostPort"); hp != nil && hp != 0 {
				bad("hostPorts", "%s: hostPort %v", c.where, hp)
			}
		}
		appArmor(c.where, sc)
		seLinux(c.where, sc)
		if pm := m(sc, "procMount"); pm != nil && pm != "Default" {
			bad("procMount", "%s: procMount is %v", c.where, pm)
		}
	}

	// Restricted.
	for _, v := range list(spec["volumes"]) {
		var sources []string
		for k := range v.(map[string]any) {
			if k != "name" {
				sources = append(sources, k)
			}
		}
		sort.Strings(sources)
		if len(sources) != 1 || !slices.Contains(restrictedVolumes, sources[0]) {
			bad("volumeTypes", "volume %q has source %v; allowed: %s", str(m(v, "name")), sources, strings.Join(restrictedVolumes, ", "))
		}
	}
	podNonRoot := isTrue(m(psc, "runAsNonRoot"))
	podSeccomp := str(m(psc, "seccompProfile", "type"))
	if podSeccomp != "" && podSeccomp != "RuntimeDefault" && podSeccomp != "Localhost" {
		bad("seccomp", "pod seccompProfile.type is %s", podSeccomp)
	}
	if u := m(psc, "runAsUser"); u == 0 {
		bad("runAsUser", "pod runAsUser is 0")
	}
	for _, c := range containers {
		sc := m(c.c, "securityContext")
		if !isFalse(m(sc, "allowPrivilegeEscalation")) {
			bad("allowPrivilegeEscalation", "%s: allowPrivilegeEscalation must be false", c.where)
		}
		switch nr := m(sc, "runAsNonRoot"); {
		case isFalse(nr):
			bad("runAsNonRoot", "%s: runAsNonRoot is false", c.where)
		case nr == nil && !podNonRoot:
			bad("runAsNonRoot", "%s: runAsNonRoot is set neither in the pod nor in the container", c.where)
		}
		if u := m(sc, "runAsUser"); u == 0 {
			bad("runAsUser", "%s: runAsUser is 0", c.where)
		}
		switch t := str(m(sc, "seccompProfile", "type")); {
		case t == "" && podSeccomp == "":
			bad("seccomp", "%s: seccompProfile is set neither in the pod nor in the container", c.where)
		case t != "" && t != "RuntimeDefault" && t != "Localhost":
			bad("seccomp", "%s: seccompProfile.type is %s", c.where, t)
		}
		caps := m(sc, "capabilities")
		if !slices.Contains(list(m(caps, "drop")), any("ALL")) {
			bad("capabilities", "%s: capabilities.drop must include ALL", c.where)
		}
		for _, a := range list(m(caps, "add")) {
			if a != "NET_BIND_SERVICE" {
				bad("capabilities", "%s: capabilities.add has %v; only NET_BIND_SERVICE is allowed", c.where, a)
			}
		}
	}
	return out
}

// houseViolations are advcheck's own rules beyond the profile: the image
// writes only where a flag says, so its root filesystem is read-only; a
// sweep needs no API access; and every container states its resources, as
// the memory budget of a sweep depends on them.
func houseViolations(spec map[string]any) []string {
	var out []string
	if !isFalse(spec["automountServiceAccountToken"]) {
		out = append(out, "automountServiceAccountToken: must be false")
	}
	for _, c := range append(list(spec["initContainers"]), list(spec["containers"])...) {
		name := str(m(c, "name"))
		if !isTrue(m(c, "securityContext", "readOnlyRootFilesystem")) {
			out = append(out, fmt.Sprintf("readOnlyRootFilesystem: container %q", name))
		}
		for _, r := range []string{"cpu", "memory"} {
			if m(c, "resources", "limits", r) == nil || m(c, "resources", "requests", r) == nil {
				out = append(out, fmt.Sprintf("resources: container %q has no %s request and limit", name, r))
			}
		}
	}
	return out
}

func TestManifestsRestricted(t *testing.T) {
	n := 0
	for _, f := range manifests(t) {
		for i, obj := range readManifest(t, f) {
			meta, spec, ok := podTemplate(obj)
			if !ok {
				continue
			}
			n++
			for _, v := range append(restrictedViolations(meta, spec), houseViolations(spec)...) {
				t.Errorf("%s, resource %d (%s): %s", f, i+1, obj["kind"], v)
			}
		}
	}
	if n == 0 {
		t.Fatal("no pod template found in deploy/k8s")
	}
}

// Each control fails on a pod that breaks it: the sweep job's pod with one
// change.
func TestRestrictedRefuses(t *testing.T) {
	container := func(spec map[string]any) map[string]any { return list(spec["containers"])[0].(map[string]any) }
	sc := func(spec map[string]any) map[string]any { return container(spec)["securityContext"].(map[string]any) }
	psc := func(spec map[string]any) map[string]any { return spec["securityContext"].(map[string]any) }
	for _, c := range []struct {
		control string
		change  func(meta, spec map[string]any)
	}{
		{"hostProcess", func(_, s map[string]any) { psc(s)["windowsOptions"] = map[string]any{"hostProcess": true} }},
		{"hostNamespaces", func(_, s map[string]any) { s["hostNetwork"] = true }},
		{"hostNamespaces", func(_, s map[string]any) { s["hostPID"] = true }},
		{"hostNamespaces", func(_, s map[string]any) { s["hostIPC"] = true }},
		{"privileged", func(_, s map[string]any) { sc(s)["privileged"] = true }},
		{"capabilities", func(_, s map[string]any) { sc(s)["capabilities"] = map[string]any{"drop": []any{"NET_RAW"}} }},
		{"capabilities", func(_, s map[string]any) { sc(s)["capabilities"].(map[string]any)["add"] = []any{"SYS_ADMIN"} }},
		{"capabilities", func(_, s map[string]any) { delete(sc(s), "capabilities") }},
		{"hostPathVolumes", func(_, s map[string]any) {
			s["volumes"] = append(list(s["volumes"]), map[string]any{"name": "host", "hostPath": map[string]any{"path": "/"}})
		}},
		{"volumeTypes", func(_, s map[string]any) {
			s["volumes"] = append(list(s["volumes"]), map[string]any{"name": "n", "nfs": map[string]any{"server": "x", "path": "/"}})
		}},
		{"hostPorts", func(_, s map[string]any) {
			container(s)["ports"] = []any{map[string]any{"containerPort": 80, "hostPort": 80}}
		}},
		{"appArmor", func(m, _ map[string]any) {
			m["annotations"] = map[string]any{"container.apparmor.security.beta.kubernetes.io/sweep": "unconfined"}
		}},
		{"appArmor", func(_, s map[string]any) { sc(s)["appArmorProfile"] = map[string]any{"type": "Unconfined"} }},
		{"seLinux", func(_, s map[string]any) { psc(s)["seLinuxOptions"] = map[string]any{"type": "spc_t"} }},
		{"seLinux", func(_, s map[string]any) { sc(s)["seLinuxOptions"] = map[string]any{"user": "system_u"} }},
		{"procMount", func(_, s map[string]any) { sc(s)["procMount"] = "Unmasked" }},
		{"sysctls", func(_, s map[string]any) {
			psc(s)["sysctls"] = []any{map[string]any{"name": "kernel.msgmax", "value": "65536"}}
		}},
		{"allowPrivilegeEscalation", func(_, s map[string]any) { sc(s)["allowPrivilegeEscalation"] = true }},
		{"allowPrivilegeEscalation", func(_, s map[string]any) { delete(sc(s), "allowPrivilegeEscalation") }},
		{"runAsNonRoot", func(_, s map[string]any) { delete(psc(s), "runAsNonRoot") }},
		{"runAsNonRoot", func(_, s map[string]any) { sc(s)["runAsNonRoot"] = false }},
		{"runAsUser", func(_, s map[string]any) { psc(s)["runAsUser"] = 0 }},
		{"runAsUser", func(_, s map[string]any) { sc(s)["runAsUser"] = 0 }},
		{"seccomp", func(_, s map[string]any) { delete(psc(s), "seccompProfile") }},
		{"seccomp", func(_, s map[string]any) { psc(s)["seccompProfile"] = map[string]any{"type": "Unconfined"} }},
		{"seccomp", func(_, s map[string]any) { sc(s)["seccompProfile"] = map[string]any{"type": "Unconfined"} }},
		{"allowPrivilegeEscalation", func(_, s map[string]any) {
			s["initContainers"] = []any{map[string]any{"name": "init", "image": "busybox"}}
		}},
	} {
		obj := readManifest(t, "k8s/sweep-job.yaml")[0]
		meta, spec, _ := podTemplate(obj)
		c.change(meta, spec)
		got := restrictedViolations(meta, spec)
		found := false
		for _, v := range got {
			found = found || strings.HasPrefix(v, c.control+": ")
		}
		if !found {
			t.Errorf("%s: a pod that breaks it passes (violations: %q)", c.control, got)
		}
	}
	// Setting a control in every container instead of the pod is allowed.
	obj := readManifest(t, "k8s/sweep-job.yaml")[0]
	meta, spec, _ := podTemplate(obj)
	delete(psc(spec), "runAsNonRoot")
	delete(psc(spec), "seccompProfile")
	sc(spec)["runAsNonRoot"] = true
	sc(spec)["seccompProfile"] = map[string]any{"type": "Localhost", "localhostProfile": "advcheck.json"}
	if v := restrictedViolations(meta, spec); len(v) != 0 {
		t.Errorf("container-level runAsNonRoot and seccomp: %q", v)
	}
}

func TestHouseRulesRefuse(t *testing.T) {
	for _, c := range []struct {
		rule   string
		change func(spec map[string]any)
	}{
		{"readOnlyRootFilesystem", func(s map[string]any) {
			delete(list(s["containers"])[0].(map[string]any)["securityContext"].(map[string]any), "readOnlyRootFilesystem")
		}},
		{"automountServiceAccountToken", func(s map[string]any) { delete(s, "automountServiceAccountToken") }},
		{"resources", func(s map[string]any) { delete(list(s["containers"])[0].(map[string]any), "resources") }},
	} {
		_, spec, _ := podTemplate(readManifest(t, "k8s/merge-job.yaml")[0])
		c.change(spec)
		v := houseViolations(spec)
		if len(v) == 0 || !strings.HasPrefix(v[0], c.rule+": ") {
			t.Errorf("%s: got %q", c.rule, v)
		}
	}
}
