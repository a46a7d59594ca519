package chartcheck

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/primus-dev/primus/internal/hacheck/invariants"
	"github.com/primus-dev/primus/internal/hacheck/render"
)

// ConfigFile is the name hacheck looks for beside the chart, then in the
// working directory, when --config is not given.
const ConfigFile = ".hacheck.yaml"

// Config is a .hacheck.yaml file:
//
//	failOn: warning            # error, warning, info or none
//	rules:
//	  pod-security: {severity: info}
//	  spread: {disabled: true}
//	expect:                    # replica counts the chart is meant to render
//	  - workload: "Deployment/*-controller"   # name, Kind/name or Kind/namespace/name; globs
//	    replicas: 3
//	  - workload: "Deployment/*"
//	    replicasFrom: replicaCount            # a values key, read after -f and --set
//	dialects: [...]            # more leader-election spellings (invariants.Dialect)
//	controllers: [...]         # more controller-table entries (invariants.Controller)
type Config struct {
	FailOn      string                            `json:"failOn,omitempty"`
	Rules       map[string]invariants.RuleSetting `json:"rules,omitempty"`
	Expect      []ExpectEntry                     `json:"expect,omitempty"`
	Dialects    []invariants.Dialect              `json:"dialects,omitempty"`
	Controllers []invariants.Controller           `json:"controllers,omitempty"`
	path        string
}

// ExpectEntry asks a replica count of the workloads a pattern matches,
// either a number or the value of a values key.
type ExpectEntry struct {
	Workload     string `json:"workload"`
	Replicas     int    `json:"replicas,omitempty"`
	ReplicasFrom string `json:"replicasFrom,omitempty"`
}

// LoadConfig reads path; an empty path looks for ConfigFile beside the
// chart (a directory), then in the working directory, and returns an empty
// Config when there is none.
func LoadConfig(path, chart string) (*Config, error) {
	explicit := path != ""
	if !explicit {
		for _, p := range []string{filepath.Join(chart, ConfigFile), ConfigFile} {
			if st, err := os.Stat(p); err == nil && !st.IsDir() {
				path = p
				break
			}
		}
		if path == "" {
			return &Config{}, nil
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &render.InputError{Err: fmt.Errorf("--config %s: %w", path, err)}
	}
	var c Config
	if err := yaml.UnmarshalStrict(data, &c); err != nil {
		return nil, &render.InputError{Err: fmt.Errorf("config %s: %w", path, err)}
	}
	c.path = path
	return &c, c.validate()
}

// Path is the file the config was read from, empty when none.
func (c *Config) Path() string { return c.path }

func (c *Config) validate() error {
	bad := func(format string, args ...any) error {
		return &render.InputError{Err: fmt.Errorf("config %s: "+format, append([]any{c.path}, args...)...)}
	}
	if c.FailOn != "" {
		if _, err := ParseFailOn(c.FailOn); err != nil {
			return bad("failOn: %v", err)
		}
	}
	ids := map[string]bool{}
	for _, r := range invariants.Rules() {
		ids[r.ID] = true
	}
	for id, s := range c.Rules {
		if !ids[id] {
			return bad("rules: %q is no rule id", id)
		}
		if s.Severity != "" {
			if _, err := invariants.ParseSeverity(string(s.Severity)); err != nil {
				return bad("rules.%s.severity: %v", id, err)
			}
		}
	}
	for i, e := range c.Expect {
		if e.Workload == "" || (e.Replicas == 0) == (e.ReplicasFrom == "") {
			return bad("expect[%d]: want workload and one of replicas or replicasFrom", i)
		}
	}
	for i, ctl := range c.Controllers {
		switch ctl.LeaderElection {
		case invariants.DefaultOn, invariants.DefaultOff, invariants.Always, invariants.NotNeeded, invariants.Unsupported:
		default:
			return bad("controllers[%d].leaderElection: %q: want default-on, default-off, always, not-needed or unsupported", i, ctl.LeaderElection)
		}
		if ctl.Image == "" {
			return bad("controllers[%d].image is required", i)
		}
	}
	return nil
}

// ParseFailOn reads --fail-on: error, warning, info or none.
func ParseFailOn(s string) (invariants.Severity, error) {
	if strings.ToLower(s) == "none" {
		return "none", nil
	}
	return invariants.ParseSeverity(s)
}

// ParseExpect reads --expect NAME=N flags.
func ParseExpect(flags []string) (map[string]int, error) {
	out := map[string]int{}
	for _, f := range flags {
		name, n, ok := strings.Cut(f, "=")
		v, err := strconv.Atoi(n)
		if !ok || name == "" || err != nil || v < 0 {
			return nil, &render.InputError{Err: fmt.Errorf("--expect %q: want NAME=N, N a replica count", f)}
		}
		out[name] = v
	}
	return out, nil
}

// expectation builds what the user stated from the config, the --expect
// flags (which win) and the merged values (for replicasFrom).
func (c *Config) expectation(flags map[string]int, values map[string]any) (invariants.Expectation, error) {
	exp := invariants.Expectation{Workloads: map[string]int{}, Dialects: c.Dialects, Controllers: c.Controllers, Rules: c.Rules}
	for _, e := range c.Expect {
		n := e.Replicas
		if e.ReplicasFrom != "" {
			v, ok := lookupValue(values, e.ReplicasFrom)
			if !ok {
				continue // the key is unset: nothing is asked
			}
			if n, ok = asInt(v); !ok {
				return exp, &render.InputError{Err: fmt.Errorf("%s: %v is not a replica count (config %s expect %s)", e.ReplicasFrom, v, c.path, e.Workload)}
			}
		}
		exp.Workloads[e.Workload] = n
	}
	for k, v := range flags {
		exp.Workloads[k] = v
	}
	return exp, nil
}

// lookupValue reads a dotted key of the values.
func lookupValue(values map[string]any, key string) (any, bool) {
	var cur any = values
	for _, part := range strings.Split(key, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[part]; !ok {
			return nil, false
		}
	}
	return cur, cur != nil
}

func asInt(v any) (int, bool) {
	switch n := v.(type) {
	case int:
		return n, true
	case int64:
		return int(n), true
	case float64:
		return int(n), n == float64(int(n))
	}
	return 0, false
}
