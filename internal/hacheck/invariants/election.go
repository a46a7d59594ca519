package invariants

import (
	"fmt"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/primus-dev/primus/internal/platform/leader/timing"
)

// ElectionState is what hacheck can tell about a workload's leader election.
type ElectionState string

const (
	// ElectionOn: the pods elect a leader.
	ElectionOn ElectionState = "on"
	// ElectionOff: they do not (a setting says so, or the binary's default,
	// or the binary cannot elect).
	ElectionOff ElectionState = "off"
	// ElectionNotNeeded: the binary runs no singleton work.
	ElectionNotNeeded ElectionState = "not-needed"
	// ElectionUnknown: nothing in the manifest or the controller table says.
	ElectionUnknown ElectionState = "unknown"
)

// LeaderElection is what a workload's command lines, environment and the
// controller table say about its leader election.
type LeaderElection struct {
	// Configured is true when any leader-election setting is present in
	// the manifest (a flag or an environment variable).
	Configured bool `json:"configured"`
	// Enabled is true when State is ElectionOn.
	Enabled bool `json:"enabled"`
	// LeaseName and LeaseNamespace locate the Lease; LeaseName is empty
	// when neither a flag nor the controller table names it.
	LeaseName      string `json:"leaseName,omitempty"`
	LeaseNamespace string `json:"leaseNamespace,omitempty"`
	// LeaseDuration, RenewDeadline and RetryPeriod are the effective
	// timings (a flag, else the binary's default); zero when unknown.
	LeaseDuration time.Duration `json:"leaseDuration,omitempty"`
	RenewDeadline time.Duration `json:"renewDeadline,omitempty"`
	RetryPeriod   time.Duration `json:"retryPeriod,omitempty"`
	// Container is the container that elects (or that the verdict is about).
	Container string `json:"container,omitempty"`

	// State is on, off, not-needed or unknown.
	State ElectionState `json:"state"`
	// Evidence says what decided State, quoting the manifest.
	Evidence []string `json:"evidence,omitempty"`
	// Controller names the controller-table entry the image matched.
	Controller string `json:"controller,omitempty"`
	// LeaseNamespaceAssumed is true when nothing named the namespace and
	// the pod's own was assumed (controller-runtime's default).
	LeaseNamespaceAssumed bool `json:"leaseNamespaceAssumed,omitempty"`
	// Watch is true when the standbys also list and watch the Lease
	// (primus --lease-watch=true): they then need list and watch on it.
	Watch bool `json:"watch,omitempty"`
	// NotALease is set when a resource-lock flag picks another lock kind.
	NotALease string `json:"notALease,omitempty"`
	// MinLeaseMargin is the binary's floor on leaseDuration - renewDeadline
	// beyond client-go's rule, from the controller table; zero when none.
	MinLeaseMargin time.Duration `json:"-"`
	// TimingNames name each duration as the manifest sets it, or as the
	// binary's default.
	TimingNames timing.Names `json:"-"`
	// SharedDefaultLease: the Lease name is the binary's default, which
	// every release shares.
	SharedDefaultLease bool `json:"sharedDefaultLease,omitempty"`
	// ServesAPI comes from the controller table; Known is true when the
	// image is in it (a known image that serves no API needs no Service and
	// no readiness probe: its Services only feed scrapers).
	ServesAPI bool `json:"servesAPI,omitempty"`
	Known     bool `json:"-"`
	// Looked lists the settings hacheck looked for, for an unknown verdict.
	Looked []string `json:"-"`
}

// setting is one value read from a command line or the environment.
type setting struct {
	value string
	// name is the flag or variable as the manifest spells it.
	name     string
	evidence string
	// unresolved is set when the value comes from somewhere a render
	// cannot read (a Secret, a ConfigMap outside the render, a field).
	unresolved bool
}

// electionReader reads containers with the dialects and controller table
// in force (the built-in ones plus the user's).
type electionReader struct {
	dialects    []Dialect
	controllers []Controller
	configMaps  map[string]map[string]string // namespace/name -> data
}

func newElectionReader(exp Expectation, cms map[string]map[string]string) *electionReader {
	return &electionReader{
		dialects:    append(append([]Dialect{}, builtinDialects...), exp.Dialects...),
		controllers: append(append([]Controller{}, builtinControllers...), exp.Controllers...),
		configMaps:  cms,
	}
}

// workload reads every container of a pod template and returns the
// verdict for the pod (the first container that elects; else the first
// that does not; else one that needs none; else unknown), the verdict of
// each container that elects, and of each that does not.
func (r *electionReader) workload(namespace string, spec corev1.PodSpec) (LeaderElection, []LeaderElection, []LeaderElection) {
	var all, on, off []LeaderElection
	for _, c := range spec.Containers {
		le := r.container(namespace, c)
		all = append(all, le)
		switch le.State {
		case ElectionOn:
			on = append(on, le)
		case ElectionOff:
			off = append(off, le)
		}
	}
	for _, state := range []ElectionState{ElectionOn, ElectionOff, ElectionNotNeeded} {
		for _, le := range all {
			if le.State == state {
				return le, on, off
			}
		}
	}
	out := LeaderElection{State: ElectionUnknown, LeaseNamespace: namespace}
	for _, le := range all {
		out.Evidence = append(out.Evidence, le.Evidence...)
		out.Looked = le.Looked
	}
	return out, on, off
}

// container reads one container.
func (r *electionReader) container(namespace string, c corev1.Container) LeaderElection {
	env := r.environment(namespace, c)
	tokens := commandLine(c, env)
	entry, known := lookupController(r.controllers, c.Image, programWords(c.Command, c.Args))
	dialect := genericDialect(r.dialects)
	if known && entry.Dialect != "" {
		if named, ok := dialectNamed(r.dialects, entry.Dialect); ok {
			dialect = named
		}
	}
	read := func(names []string) (setting, bool) { return lookup(names, false, tokens, env, c.Name) }
	readSwitch := func(names []string) (setting, bool) { return lookup(names, true, tokens, env, c.Name) }
	le := LeaderElection{Container: c.Name, LeaseNamespace: namespace, State: ElectionUnknown}
	if known {
		le.Controller, le.ServesAPI, le.Known = entry.Name, entry.ServesAPI, true
		if entry.APIAddressFlag != "" {
			value := func(flag string) (string, bool) { s, ok := read([]string{flag}); return s.value, ok }
			if apiAddress(value, entry.APIAddressFlag, entry.DeprecatedAPIAddressFlag) == "0" {
				le.ServesAPI = false // the API is turned off
			}
		}
	}

	enable, hasEnable := readSwitch(dialect.Enable)
	disable, hasDisable := readSwitch(dialect.Disable)
	le.Configured = hasEnable || hasDisable
	switch {
	case hasEnable && !enable.unresolved:
		if parseBool(enable.value) {
			le.State = ElectionOn
		} else {
			le.State = ElectionOff
		}
		le.Evidence = append(le.Evidence, enable.evidence)
	case hasDisable && !disable.unresolved:
		if parseBool(disable.value) {
			le.State = ElectionOff
		} else {
			le.State = ElectionOn
		}
		le.Evidence = append(le.Evidence, disable.evidence)
	case hasEnable || hasDisable:
		// The switch is set from somewhere a render cannot read.
		for _, e := range []string{enable.evidence, disable.evidence} {
			if e != "" {
				le.Evidence = append(le.Evidence, e)
			}
		}
	case known:
		le.State, le.Evidence = r.defaultState(entry)
	default:
		le.Looked = lookedFor(dialect)
		le.Evidence = append(le.Evidence, fmt.Sprintf("container %q (image %s): no leader-election flag or environment variable, and the image is not in the controller table", c.Name, imageRepository(c.Image)))
	}
	if le.State == ElectionUnknown && known && entry.LeaderElection != "" && (hasEnable || hasDisable) {
		// An unreadable setting over a known default: still unknown, but say what the default is.
		le.Evidence = append(le.Evidence, fmt.Sprintf("the %s binary's default is %s (%s)", entry.Name, entry.LeaderElection, entry.Documented))
	}
	le.Enabled = le.State == ElectionOn

	r.lease(&le, entry, known, dialect, read, readSwitch)
	r.timing(&le, entry, dialect, read)
	return le
}

// defaultState is what the binary does when nothing is set.
func (r *electionReader) defaultState(entry Controller) (ElectionState, []string) {
	why := func(what string) []string {
		return []string{fmt.Sprintf("no leader-election setting; the %s binary %s (%s)", entry.Name, what, entry.Documented)}
	}
	switch entry.LeaderElection {
	case DefaultOn:
		return ElectionOn, why("elects by default")
	case Always:
		return ElectionOn, why("always elects")
	case DefaultOff:
		return ElectionOff, why("does not elect unless told to")
	case Unsupported:
		return ElectionOff, why("cannot elect a leader")
	case NotNeeded:
		return ElectionNotNeeded, why("runs no singleton work and needs no leader election")
	}
	return ElectionUnknown, why(fmt.Sprintf("has leader election %q in the controller table, which hacheck does not know", entry.LeaderElection))
}

// lease fills the Lease's name, namespace and lock kind.
func (r *electionReader) lease(le *LeaderElection, entry Controller, known bool, dialect Dialect, read, readSwitch func([]string) (setting, bool)) {
	if s, ok := read(dialect.LeaseName); ok && !s.unresolved && s.value != "" {
		le.LeaseName = s.value
	} else if known {
		le.LeaseName = entry.LeaseName
		le.SharedDefaultLease = entry.SharedDefaultLease && entry.LeaseName != ""
	}
	switch s, ok := read(dialect.LeaseNamespace); {
	case ok && !s.unresolved && s.value != "":
		le.LeaseNamespace = s.value
	case known && entry.LeaseNamespace != "":
		le.LeaseNamespace = entry.LeaseNamespace
	case !known:
		le.LeaseNamespaceAssumed = true
	}
	if s, ok := readSwitch(dialect.LeaseWatch); ok && !s.unresolved {
		le.Watch = parseBool(s.value)
	}
	if s, ok := read(dialect.ResourceLock); ok && !s.unresolved {
		switch strings.ToLower(s.value) {
		case "leases", "endpointsleases", "configmapsleases", "":
		default:
			le.NotALease = s.evidence
		}
	}
}

// timing fills the effective durations and how each is named.
func (r *electionReader) timing(le *LeaderElection, entry Controller, dialect Dialect, read func([]string) (setting, bool)) {
	one := func(names []string, def time.Duration, what string) (time.Duration, string) {
		if s, ok := read(names); ok && !s.unresolved {
			if v, err := time.ParseDuration(s.value); err == nil {
				return v, s.name
			}
		}
		if def > 0 {
			return def, fmt.Sprintf("the default %s", what)
		}
		return 0, what
	}
	le.LeaseDuration, le.TimingNames.LeaseDuration = one(dialect.LeaseDuration, entry.LeaseDuration.Duration, "lease duration")
	le.RenewDeadline, le.TimingNames.RenewDeadline = one(dialect.RenewDeadline, entry.RenewDeadline.Duration, "renew deadline")
	le.RetryPeriod, le.TimingNames.RetryPeriod = one(dialect.RetryPeriod, entry.RetryPeriod.Duration, "retry period")
	le.MinLeaseMargin = entry.MinLeaseMargin.Duration
}

// lookedFor lists a dialect's switches for an unknown verdict.
func lookedFor(d Dialect) []string {
	return append(append([]string{}, d.Enable...), d.Disable...)
}

// lookup finds the last setting of any of names: flags on the command line
// win over environment variables (for the binaries in the table, the
// environment only supplies a flag's default). Switches (bool flags) never
// take the next argument as their value: pflag and Go's flag read
// "--flag value" of a bool as the flag and an argument.
func lookup(names []string, switches bool, tokens []string, env map[string]setting, container string) (setting, bool) {
	var found setting
	ok := false
	for _, n := range names {
		if strings.HasPrefix(n, "-") {
			continue
		}
		if s, has := env[n]; has {
			s.name = "env " + n
			found, ok = s, true
		}
	}
	for i, tok := range tokens {
		if !strings.HasPrefix(tok, "-") || tok == "-" || tok == "--" {
			continue
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(tok, "-"), "=")
		for _, n := range names {
			if !strings.HasPrefix(n, "-") || strings.TrimLeft(n, "-") != name {
				continue
			}
			shown := tok
			if !hasValue && i+1 < len(tokens) && !strings.HasPrefix(tokens[i+1], "-") && !switches {
				value = tokens[i+1]
				shown = tok + " " + value
			} else if !hasValue {
				value = "true"
			}
			found, ok = setting{value: value, name: "--" + name, evidence: fmt.Sprintf("%s (container %q)", shown, container)}, true
		}
	}
	return found, ok
}

// parseBool reads a bool as pflag and strconv do (1, t, true, True...).
func parseBool(s string) bool {
	b, err := strconv.ParseBool(strings.TrimSpace(s))
	return err == nil && b
}

// shells run their -c script, whose words are read as arguments.
var shells = map[string]bool{"sh": true, "bash": true, "ash": true, "dash": true}

// varRef is a $(VAR) reference, which the kubelet expands in command and args.
var varRef = regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)`)

// commandLine is the container's command and args as the process sees
// them: $(VAR) expanded from the environment the render shows, a shell's -c
// script split into words.
func commandLine(c corev1.Container, env map[string]setting) []string {
	raw := append(append([]string{}, c.Command...), c.Args...)
	out := make([]string, 0, len(raw))
	for i, tok := range raw {
		tok = varRef.ReplaceAllStringFunc(tok, func(ref string) string {
			if s, ok := env[varRef.FindStringSubmatch(ref)[1]]; ok && !s.unresolved {
				return s.value
			}
			return ref
		})
		if i >= 2 && raw[i-1] == "-c" && shells[path.Base(raw[i-2])] {
			out = append(out, strings.Fields(tok)...)
			continue
		}
		out = append(out, tok)
	}
	return out
}

// environment is the container's environment as far as the render says:
// literal values, ConfigMap keys of ConfigMaps in the render, envFrom
// ConfigMaps; values from Secrets, fields or missing ConfigMaps are marked
// unresolved. Later entries win, env over envFrom, as the kubelet does.
func (r *electionReader) environment(namespace string, c corev1.Container) map[string]setting {
	env := map[string]setting{}
	for _, from := range c.EnvFrom {
		if from.ConfigMapRef == nil {
			continue
		}
		for k, v := range r.configMaps[namespace+"/"+from.ConfigMapRef.Name] {
			env[from.Prefix+k] = setting{value: v, evidence: fmt.Sprintf("env %s%s=%q from ConfigMap %s (container %q)", from.Prefix, k, v, from.ConfigMapRef.Name, c.Name)}
		}
	}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			env[e.Name] = setting{value: e.Value, evidence: fmt.Sprintf("env %s=%q (container %q)", e.Name, e.Value, c.Name)}
		case e.ValueFrom.ConfigMapKeyRef != nil:
			ref := e.ValueFrom.ConfigMapKeyRef
			data, inRender := r.configMaps[namespace+"/"+ref.Name]
			v, hasKey := data[ref.Key]
			switch {
			case hasKey:
				env[e.Name] = setting{value: v, evidence: fmt.Sprintf("env %s=%q from ConfigMap %s key %s (container %q)", e.Name, v, ref.Name, ref.Key, c.Name)}
			case inRender && ref.Optional != nil && *ref.Optional:
				// An optional key the ConfigMap lacks leaves the variable unset.
			default:
				env[e.Name] = setting{unresolved: true, evidence: fmt.Sprintf("env %s from ConfigMap %s key %s, which the render does not contain (container %q)", e.Name, ref.Name, ref.Key, c.Name)}
			}
		case e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.namespace":
			env[e.Name] = setting{value: namespace, evidence: fmt.Sprintf("env %s from the pod's namespace (container %q)", e.Name, c.Name)}
		default:
			env[e.Name] = setting{unresolved: true, evidence: fmt.Sprintf("env %s from a Secret or a field, which a render cannot read (container %q)", e.Name, c.Name)}
		}
	}
	return env
}
