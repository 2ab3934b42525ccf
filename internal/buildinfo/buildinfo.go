// Package buildinfo says which advcheck this is: its version, the Go
// toolchain, and the versions of the modules compiled into it, for
// `advcheck version` and for the provenance block of every report.
package buildinfo

import (
	"runtime"
	"runtime/debug"
	"sort"
)

// Version is set at link time by the Makefile
// (-ldflags "-X github.com/advcheck/advcheck/internal/buildinfo.Version=...").
// Without it, the module version from the build info is used.
var Version = ""

// Module is a dependency compiled into the binary.
type Module struct {
	Path    string `json:"path"`
	Version string `json:"version"`
	Sum     string `json:"sum,omitempty"`
}

// Info is what the binary knows about its own build.
type Info struct {
	Version   string   `json:"version"`
	Go        string   `json:"go"`
	OS        string   `json:"os"`
	Arch      string   `json:"arch"`
	VCS       string   `json:"vcs_revision,omitempty"`
	VCSDirty  bool     `json:"vcs_modified,omitempty"`
	Modules   []Module `json:"modules"`
	BuildTags string   `json:"build_tags,omitempty"`
}

// Read returns the build information of the running binary.
func Read() Info {
	info := Info{Version: Version, Go: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		if info.Version == "" {
			info.Version = "unknown"
		}
		return info
	}
	if info.Version == "" {
		info.Version = bi.Main.Version
		if info.Version == "" || info.Version == "(devel)" {
			info.Version = "devel"
		}
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			info.VCS = s.Value
		case "vcs.modified":
			info.VCSDirty = s.Value == "true"
		case "-tags":
			info.BuildTags = s.Value
		}
	}
	for _, d := range bi.Deps {
		m := d
		if d.Replace != nil {
			m = d.Replace
		}
		info.Modules = append(info.Modules, Module{Path: d.Path, Version: m.Version, Sum: m.Sum})
	}
	sort.Slice(info.Modules, func(i, j int) bool { return info.Modules[i].Path < info.Modules[j].Path })
	return info
}
