package datasets

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/advcheck/advcheck/internal/safeio"
)

// Where the labels of an image folder came from (FolderInfo.ClassSource).
const (
	ClassesFromFolders = "folders"      // the sorted folder names, numbered 0…k−1
	ClassesFromFile    = "classes_file" // Options.ClassFile (--classes FILE)
	ClassesFromTxt     = "classes.txt"  // DIR/classes.txt
	ClassesFromJSON    = "classes.json" // DIR/classes.json
	ClassesNone        = "unlabelled"   // images directly in DIR, all labelled 0 (Options.Unlabelled)
)

// maxClassFileBytes bounds a class list or mapping file: ImageNet-21k's
// 21,841 WordNet ids take about 220 KB.
const maxClassFileBytes = 16 << 20

// wnid matches a WordNet noun id as ImageNet names its class folders.
var wnid = regexp.MustCompile(`^n[0-9]{8}$`)

// classMap is a mapping of class names (folder names) to model outputs.
type classMap struct {
	source string
	file   string
	index  map[string]int
	names  []string // by output index, when the mapping names 0…len−1 with no gap
}

// ReadClassList reads a class list: one class name (a folder name, such as a
// WordNet id n02085620) per line, in the order of the model's outputs, so
// that line k (counting only class lines) names output k. Surrounding spaces
// are trimmed (so CRLF line ends and a UTF-8 byte order mark do no harm);
// blank lines and lines starting with '#' are skipped; a name given twice is
// an error.
func ReadClassList(path string) ([]string, error) {
	b, err := readSmall(path, "class list: ")
	if err != nil {
		return nil, err
	}
	return parseClassList(b, path)
}

func parseClassList(b []byte, src string) ([]string, error) {
	var names []string
	line := map[string]int{}
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")) // a UTF-8 byte order mark, as Windows editors write
	for i, l := range strings.Split(string(b), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		if first, dup := line[l]; dup {
			return nil, fmt.Errorf("%w: %s: class %q on lines %d and %d", ErrBadData, src, l, first, i+1)
		}
		line[l] = i + 1
		names = append(names, l)
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("%w: %s: no class names (want one per line, in the model's output order)", ErrBadData, src)
	}
	return names, nil
}

// parseClassJSON reads {"name": output index, …}. The mapping may be
// partial (any subset of the model's outputs); names and indices must be
// unique and indices non-negative.
func parseClassJSON(b []byte, src string) (map[string]int, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrBadData, src, fmt.Sprintf(format, args...))
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, bad(`want an object {"class name": output index, …}`)
	}
	index := map[string]int{}
	byIndex := map[int]string{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, bad("%v", err)
		}
		name := t.(string) // object keys are strings
		var n json.Number
		if err := dec.Decode(&n); err != nil {
			return nil, bad("class %q: want an integer output index", name)
		}
		i64, err := n.Int64()
		if err != nil || i64 < 0 || i64 > 1<<31 {
			return nil, bad("class %q: index %s is not an output index", name, n)
		}
		i := int(i64)
		if _, dup := index[name]; dup {
			return nil, bad("class %q given twice", name)
		}
		if other, dup := byIndex[i]; dup {
			return nil, bad("classes %q and %q share index %d", other, name, i)
		}
		index[name], byIndex[i] = i, name
	}
	if _, err := dec.Token(); err != nil {
		return nil, bad("%v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, bad("trailing data after the object")
	}
	if len(index) == 0 {
		return nil, bad("an empty mapping")
	}
	return index, nil
}

// loadClassMap finds the mapping of a folder data set: Options.ClassFile,
// else DIR/classes.json, else DIR/classes.txt; nil when there is none (the
// sorted folder names are numbered). Indices are checked against outputs
// when it is known (> 0).
func loadClassMap(dir string, opts Options, info *FolderInfo) (*classMap, error) {
	m := &classMap{}
	var names []string
	if opts.ClassFile != "" {
		list, err := ReadClassList(opts.ClassFile)
		if err != nil {
			return nil, err
		}
		m.source, m.file, names = ClassesFromFile, opts.ClassFile, list
		for _, f := range []string{"classes.json", "classes.txt"} {
			if _, err := os.Lstat(filepath.Join(dir, f)); err == nil {
				info.Notes = append(info.Notes, fmt.Sprintf("%s was not read: --classes %s gives the mapping", filepath.Join(dir, f), opts.ClassFile))
			}
		}
	} else {
		jsonPath, txtPath := filepath.Join(dir, "classes.json"), filepath.Join(dir, "classes.txt")
		b, err := readOptional(jsonPath)
		if err != nil {
			return nil, err
		}
		if b != nil {
			if m.index, err = parseClassJSON(b, jsonPath); err != nil {
				return nil, err
			}
			m.source, m.file = ClassesFromJSON, jsonPath
		} else {
			if b, err = readOptional(txtPath); err != nil {
				return nil, err
			}
			if b == nil {
				return nil, nil
			}
			if names, err = parseClassList(b, txtPath); err != nil {
				return nil, err
			}
			m.source, m.file = ClassesFromTxt, txtPath
		}
	}
	if names != nil {
		m.index = make(map[string]int, len(names))
		for i, n := range names {
			m.index[n] = i
		}
		m.names = names
	} else {
		m.names = make([]string, len(m.index))
		for n, i := range m.index {
			if i >= len(m.names) { // a gap: names by index would be partial
				m.names = nil
				break
			}
			m.names[i] = n
		}
	}
	if opts.Outputs > 0 {
		if len(names) > opts.Outputs {
			return nil, fmt.Errorf("%w: %s lists %d classes, the model has %d outputs", ErrBadData, m.file, len(names), opts.Outputs)
		}
		for n, i := range m.index {
			if i >= opts.Outputs {
				return nil, fmt.Errorf("%w: %s: class %q has index %d; the model's outputs are 0…%d", ErrBadData, m.file, n, i, opts.Outputs-1)
			}
		}
	}
	return m, nil
}

// label returns the output index of a class folder.
func (m *classMap) label(folder string) (int, error) {
	i, ok := m.index[folder]
	if !ok {
		hint := ""
		for n := range m.index {
			if strings.HasPrefix(n, folder+" ") || strings.HasPrefix(n, folder+"\t") {
				hint = " (a line holds the whole class name: list only the folder names, e.g. the WordNet ids, one per line)"
				break
			}
		}
		return 0, fmt.Errorf("%w: class folder %q is not in %s%s", ErrBadData, folder, m.file, hint)
	}
	return i, nil
}

// countWarning explains why numbering sorted folders against a model with
// another number of outputs is probably wrong.
func countWarning(dir string, folders []string, outputs int) string {
	if outputs <= 0 || len(folders) == outputs {
		return ""
	}
	s := fmt.Sprintf("%s has %d class folders but the model has %d outputs, and no class mapping was given: the folders were numbered 0…%d in sorted order, which is right only if they are the model's first classes in its order", dir, len(folders), outputs, len(folders)-1)
	ids := 0
	for _, f := range folders {
		if wnid.MatchString(f) {
			ids++
		}
	}
	if ids == len(folders) {
		s += "; the folders are WordNet ids: give the model's list of ids with --classes FILE (one per line, in output order)"
	} else {
		s += `; give the model's class list with --classes FILE (one name per line, in output order) or DIR/classes.json ({"folder": output index})`
	}
	return s
}

// readOptional reads a small file, returning nil when it does not exist.
func readOptional(path string) ([]byte, error) {
	b, err := readSmall(path, "")
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return b, err
}

// readSmall reads a mapping file of at most maxClassFileBytes; what
// prefixes the error of a file that cannot be opened.
func readSmall(path, what string) ([]byte, error) {
	f, err := safeio.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %s%w", ErrBadData, what, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxClassFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrBadData, path, err)
	}
	if len(b) > maxClassFileBytes {
		return nil, fmt.Errorf("%w: %s: over %d bytes, too large for a class list", ErrBadData, path, maxClassFileBytes)
	}
	return b, nil
}
