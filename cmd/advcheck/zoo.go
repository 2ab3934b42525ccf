package main

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/olekukonko/tablewriter"

	"github.com/advcheck/advcheck/models/zoo"
)

// listZoo prints the embedded models.
func listZoo(w io.Writer, asJSON bool) error {
	es := zoo.List()
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(es)
	}
	t := tablewriter.NewWriter(w)
	t.SetHeader([]string{"model", "clean accuracy", "description"})
	t.SetAutoWrapText(false)
	for _, e := range es {
		t.Append([]string{"zoo:" + e.Name, fmt.Sprintf("%.2f%%", 100*e.CleanAccuracy), e.Description})
	}
	t.Render()
	return nil
}
