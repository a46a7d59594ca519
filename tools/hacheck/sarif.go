package main

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"

	"github.com/primus-dev/primus/internal/hacheck/chartcheck"
	"github.com/primus-dev/primus/internal/hacheck/invariants"
)

// SARIF 2.1.0, the subset GitHub code scanning reads: one run, the rule
// table as the driver's rules, one result per finding located on the
// chart template that rendered the object.
type sarifReport struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool    sarifTool     `json:"tool"`
	Results []sarifResult `json:"results"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name  string      `json:"name"`
	Rules []sarifRule `json:"rules"`
}

type sarifText struct {
	Text string `json:"text"`
}

type sarifRule struct {
	ID                   string          `json:"id"`
	ShortDescription     sarifText       `json:"shortDescription"`
	FullDescription      sarifText       `json:"fullDescription"`
	Help                 sarifText       `json:"help"`
	DefaultConfiguration sarifRuleConfig `json:"defaultConfiguration"`
}

type sarifRuleConfig struct {
	Level string `json:"level"`
}

type sarifResult struct {
	RuleID       string             `json:"ruleId"`
	RuleIndex    int                `json:"ruleIndex"`
	Level        string             `json:"level"`
	Message      sarifText          `json:"message"`
	Locations    []sarifLocation    `json:"locations"`
	Suppressions []sarifSuppression `json:"suppressions,omitempty"`
}

type sarifLocation struct {
	PhysicalLocation *sarifPhysical `json:"physicalLocation,omitempty"`
	LogicalLocations []sarifLogical `json:"logicalLocations"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifact `json:"artifactLocation"`
	Region           sarifRegion   `json:"region"`
}

type sarifArtifact struct {
	URI string `json:"uri"`
}

type sarifRegion struct {
	StartLine int `json:"startLine"`
}

type sarifLogical struct {
	FullyQualifiedName string `json:"fullyQualifiedName"`
	Kind               string `json:"kind"`
}

type sarifSuppression struct {
	Kind          string `json:"kind"`
	Justification string `json:"justification"`
}

// sarifLevel maps a severity to SARIF's levels.
func sarifLevel(s invariants.Severity) string {
	switch s {
	case invariants.SeverityError:
		return "error"
	case invariants.SeverityWarning:
		return "warning"
	}
	return "note"
}

// sarifLog turns a check into a SARIF log. Template paths ("chart/templates/x.yaml",
// "chart/charts/sub/templates/y.yaml") are made relative to the working
// directory through the chart argument, so code scanning finds the file.
func sarifLog(chart string, res *chartcheck.CheckResult) sarifReport {
	var rules []sarifRule
	index := map[string]int{}
	for i, r := range invariants.Rules() {
		index[r.ID] = i
		sev := r.Severity
		for _, rr := range res.Rules {
			if rr.ID == r.ID {
				sev = rr.Severity
			}
		}
		rules = append(rules, sarifRule{ID: r.ID, ShortDescription: sarifText{r.Description}, FullDescription: sarifText{r.Why},
			Help: sarifText{r.Fix}, DefaultConfiguration: sarifRuleConfig{Level: sarifLevel(sev)}})
	}
	results := []sarifResult{}
	for _, f := range res.Findings {
		loc := sarifLocation{LogicalLocations: []sarifLogical{{FullyQualifiedName: f.Object, Kind: "resource"}}}
		if uri, line, ok := templateLocation(chart, f); ok {
			loc.PhysicalLocation = &sarifPhysical{ArtifactLocation: sarifArtifact{URI: uri}, Region: sarifRegion{StartLine: line}}
		}
		r := sarifResult{RuleID: f.Rule, RuleIndex: index[f.Rule], Level: sarifLevel(f.Severity), Message: sarifText{f.Message}, Locations: []sarifLocation{loc}}
		if f.Suppressed != "" {
			r.Suppressions = []sarifSuppression{{Kind: "inSource", Justification: f.Suppressed}}
		}
		results = append(results, r)
	}
	return sarifReport{Schema: "https://json.schemastore.org/sarif-2.1.0.json", Version: "2.1.0",
		Runs: []sarifRun{{Tool: sarifTool{Driver: sarifDriver{Name: "hacheck", Rules: rules}}, Results: results}}}
}

// templateLocation finds the template file of a finding and the line of
// its "kind:" (line 1 when the template spells it otherwise).
func templateLocation(chart string, f invariants.Finding) (string, int, bool) {
	_, rest, ok := strings.Cut(f.Source, "/")
	if !ok || strings.HasSuffix(chart, ".tgz") {
		return "", 0, false
	}
	file := filepath.Join(chart, filepath.FromSlash(rest))
	fh, err := os.Open(file)
	if err != nil {
		return "", 0, false
	}
	defer fh.Close()
	kind := "kind: " + strings.SplitN(f.Object, "/", 2)[0]
	line, n := 1, 0
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		n++
		if strings.TrimSpace(sc.Text()) == kind {
			line = n
			break
		}
	}
	return filepath.ToSlash(filepath.Clean(file)), line, true
}
