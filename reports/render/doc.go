// Package render writes reports (package reports) for people and CI: a
// terminal table (Table), Markdown for pull-request comments (Markdown), a
// self-contained HTML page with inline SVG plots and example images (HTML)
// and JUnit XML (JUnit). Renderers only read the report.
package render
