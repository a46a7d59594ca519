package chartcheck

import (
	"fmt"
	"os"
	"slices"
	"sort"

	"sigs.k8s.io/yaml"

	"github.com/primus-dev/primus/internal/hacheck/render"
)

// Matrix is a list of value sets checked in one process, read from YAML:
//
//	cases:
//	  - name: ha-3
//	    set: ["replicaCount=3"]
//	  - name: no-pdb
//	    set: ["replicaCount=3", "podDisruptionBudget.enabled=false"]
//	    expect: [pdb-present]
//	  - name: zero
//	    set: ["replicaCount=0"]
//	    expectError: "replicaCount"
type Matrix struct {
	Cases []MatrixCase `json:"cases"`
}

// MatrixCase is one value set and what it should give.
type MatrixCase struct {
	// Name identifies the case in the report.
	Name string `json:"name"`
	// Set are --set expressions.
	Set []string `json:"set,omitempty"`
	// ValuesFiles are -f files, relative to the matrix file's directory
	// or absolute.
	ValuesFiles []string `json:"valuesFiles,omitempty"`
	// Values are inline values.
	Values map[string]any `json:"values,omitempty"`
	// Expect lists the rule ids that must fail; empty means all must hold.
	Expect []string `json:"expect,omitempty"`
	// ExpectError, when set, means rendering must fail with a message
	// containing it (bad values).
	ExpectError string `json:"expectError,omitempty"`
}

// MatrixResult is a matrix case's CheckResult plus whether it met its
// expectation.
type MatrixResult struct {
	CheckResult
	// AsExpected is true when the failing rules (or the render error) are
	// exactly what the case expected.
	AsExpected bool `json:"asExpected"`
}

// LoadMatrix reads a matrix file.
func LoadMatrix(path string) (*Matrix, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &render.InputError{Err: fmt.Errorf("--matrix %s: %w", path, err)}
	}
	var m Matrix
	if err := yaml.UnmarshalStrict(data, &m); err != nil {
		return nil, &render.InputError{Err: fmt.Errorf("--matrix %s: %w", path, err)}
	}
	if len(m.Cases) == 0 {
		return nil, &render.InputError{Err: fmt.Errorf("--matrix %s: no cases", path)}
	}
	for i, c := range m.Cases {
		if c.Name == "" {
			return nil, &render.InputError{Err: fmt.Errorf("--matrix %s: cases[%d]: name is required", path, i)}
		}
	}
	return &m, nil
}

// CheckMatrix loads the chart once and checks every case with base options
// (chart, release, namespace, and value flags common to every case).
func CheckMatrix(base CheckOptions, m *Matrix, baseDir string) ([]MatrixResult, error) {
	ch, err := render.LoadChart(base.Chart)
	if err != nil {
		return nil, err
	}
	out := make([]MatrixResult, 0, len(m.Cases))
	for _, c := range m.Cases {
		opts := base
		opts.Set = append(slices.Clone(base.Set), c.Set...)
		opts.ValueFiles = slices.Clone(base.ValueFiles)
		for _, f := range c.ValuesFiles {
			opts.ValueFiles = append(opts.ValueFiles, resolvePath(baseDir, f))
		}
		opts.Values = c.Values
		res, err := checkChart(ch, opts, c.Name)
		if err != nil {
			if !render.IsInputError(err) {
				return nil, err
			}
			r := MatrixResult{CheckResult: CheckResult{Name: c.Name, Error: err.Error(), Findings: nil}}
			r.AsExpected = c.ExpectError != "" && containsFold(err.Error(), c.ExpectError)
			out = append(out, r)
			continue
		}
		out = append(out, MatrixResult{CheckResult: *res, AsExpected: c.ExpectError == "" && sameRules(res, c.Expect)})
	}
	return out, nil
}

func sameRules(res *CheckResult, expect []string) bool {
	got := map[string]bool{}
	for _, f := range res.Failing() {
		got[f.Rule] = true
	}
	want := slices.Clone(expect)
	sort.Strings(want)
	want = slices.Compact(want)
	if len(got) != len(want) {
		return false
	}
	for _, w := range want {
		if !got[w] {
			return false
		}
	}
	return true
}
