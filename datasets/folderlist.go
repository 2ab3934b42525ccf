package datasets

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
)

// MaxNoted caps the names FolderInfo lists of skipped files and of linked
// image files; the counts are complete.
const MaxNoted = 20

// FolderInfo records how an image folder became labelled samples, for the
// report: where the labels came from, which class folder got which label,
// and which files were skipped or reached through symbolic links.
type FolderInfo struct {
	ClassSource  string       // ClassesFromFolders, ClassesFromFile, ClassesFromTxt or ClassesFromJSON
	ClassFile    string       // the mapping file read; "" for ClassesFromFolders
	Classes      []ClassLabel // every class folder, by label
	Skipped      []string     // the first MaxNoted skipped entries, as paths relative to the folder
	SkippedCount int
	Links        []Symlink // the first MaxNoted image files that are symbolic links
	LinkCount    int
	// CountWarning is set when the labels are the sorted folders' numbers and
	// their count differs from Options.Outputs: then labels and outputs
	// probably do not mean the same classes.
	CountWarning string
	Notes        []string
}

// ClassLabel is one class folder and the label its images get.
type ClassLabel struct {
	Folder  string
	Label   int
	Images  int    // images read from the folder (before Options.Limit)
	Symlink string // where the folder's symbolic link points, as written in the link; "" if not a link
}

// Symlink is a file reached through a symbolic link.
type Symlink struct {
	Path   string // relative to the data set's folder
	Target string // as written in the link
}

// classDir is a class folder found in the data set's folder.
type classDir struct {
	name   string
	target string // the link's target when the folder is a symbolic link
}

// isJunk tells the files operating systems leave in folders, and hidden
// entries, which are skipped rather than refused.
func isJunk(name string) bool {
	return strings.HasPrefix(name, ".") || strings.EqualFold(name, "Thumbs.db") || strings.EqualFold(name, "desktop.ini")
}

func (info *FolderInfo) skip(rel string) {
	if len(info.Skipped) < MaxNoted {
		info.Skipped = append(info.Skipped, rel)
	}
	info.SkippedCount++
}

func (info *FolderInfo) link(rel, target string) {
	if len(info.Links) < MaxNoted {
		info.Links = append(info.Links, Symlink{Path: rel, Target: target})
	}
	info.LinkCount++
}

// listClasses returns the class folders of dir sorted by name.
func listClasses(dir string, info *FolderInfo) ([]classDir, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadData, err)
	}
	var classes []classDir
	for _, e := range ents {
		name := e.Name()
		switch {
		case isJunk(name):
			info.skip(name)
			continue
		case name == "classes.json" || name == "classes.txt":
			continue // a mapping, read by loadClassMap
		}
		target, isDir, err := resolve(filepath.Join(dir, name), e)
		if err != nil {
			return nil, err
		}
		if !isDir {
			info.skip(name) // a plain file beside the class folders is not a class
			continue
		}
		classes = append(classes, classDir{name: name, target: target})
	}
	sort.Slice(classes, func(i, j int) bool { return classes[i].name < classes[j].name })
	return classes, nil
}

// listImages returns the paths of the images in class folder dir/class.
func listImages(dir, class string, info *FolderInfo) ([]string, error) {
	sub := filepath.Join(dir, class)
	files, err := os.ReadDir(sub)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadData, err)
	}
	paths := make([]string, 0, len(files))
	for _, f := range files {
		name := f.Name()
		if isJunk(name) {
			info.skip(class + "/" + name)
			continue
		}
		path := filepath.Join(sub, name)
		target, isDir, err := resolve(path, f)
		if err != nil {
			return nil, err
		}
		if isDir {
			return nil, fmt.Errorf("%w: %s: a folder inside a class folder, not a PNG or JPEG image (advcheck does not look into sub-folders)", ErrBadData, path)
		}
		if ext := strings.ToLower(filepath.Ext(name)); ext != ".png" && ext != ".jpg" && ext != ".jpeg" {
			return nil, fmt.Errorf("%w: %s: not a PNG or JPEG image (only hidden files, Thumbs.db and desktop.ini are skipped)", ErrBadData, path)
		}
		if target != "" {
			info.link(class+"/"+name, target)
		}
		paths = append(paths, path)
	}
	return paths, nil
}

// resolve follows a directory entry that is a symbolic link: it returns the
// link's target ("" when the entry is no link) and whether the entry, or
// what it points to, is a directory. Dangling links and link loops are errors.
func resolve(path string, e fs.DirEntry) (target string, isDir bool, err error) {
	if e.Type()&fs.ModeSymlink == 0 {
		return "", e.IsDir(), nil
	}
	target, err = os.Readlink(path)
	if err != nil {
		return "", false, fmt.Errorf("%w: %w", ErrBadData, err)
	}
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, syscall.ELOOP):
		return "", false, fmt.Errorf("%w: %s: a symbolic link loop (it points to %q)", ErrBadData, path, target)
	case errors.Is(err, fs.ErrNotExist):
		return "", false, fmt.Errorf("%w: %s: a dangling symbolic link (it points to %q, which does not exist)", ErrBadData, path, target)
	case err != nil:
		return "", false, fmt.Errorf("%w: %w", ErrBadData, err)
	}
	return target, st.IsDir(), nil
}
