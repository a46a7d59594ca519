package replica

import (
	"fmt"
	"net"
	"os/exec"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"

	"github.com/primus-dev/primus/internal/hacheck/invariants"
)

// Config is what every replica of a Set shares.
type Config struct {
	// Binary is the primus binary (see Build).
	Binary string
	// Kubeconfig is the kubeconfig the processes reach the cluster with,
	// usually the chart ServiceAccount's (Installation.WriteKubeconfig).
	Kubeconfig string
	// Namespace is the replicas' POD_NAMESPACE.
	Namespace string
	// Args are the binary's arguments, as the chart's Deployment renders
	// them. Start replaces the listen addresses (see Host) and sets
	// --kubeconfig.
	Args []string
	// Env are extra KEY=VALUE environment variables (HELM_RELEASE_NAME,
	// ...). POD_NAME and POD_NAMESPACE are set by Start; KUBECONFIG is
	// removed.
	Env []string
	// Dir receives one log file per replica, <name>.log.
	Dir string
	// Host is the address the process binds its listeners on. Empty is
	// 127.0.0.1 with port 0 for each (the process reports its ports); set
	// (a Pod IP in the Pod's own network namespace), each listener keeps
	// the port of its flag in Args, as in the Pod, so the Pod's
	// containerPorts and its Service's endpoints are where it serves.
	Host string
	// StartProcess starts the command, e.g. in a Pod's network namespace
	// (podnet.Sandbox.Start). Nil is (*exec.Cmd).Start.
	StartProcess func(*exec.Cmd) error
}

// addressFlags are the flags Start sets itself: each replica binds port 0
// on 127.0.0.1 and reports its ports in an addresses file, and uses the
// kubeconfig of the Config.
var addressFlags = []string{apiAddressFlag, "--health-probe-bind-address", "--metrics-bind-address", deprecatedAPIAddressFlag, "--addresses-file", "--kubeconfig"}

// apiAddressFlag is the API's address; "0" turns the API off.
const apiAddressFlag = invariants.PrimusAPIAddressFlag

// deprecatedAPIAddressFlag is the management API's address of an earlier
// chart, which replaces --api-bind-address when set; Start drops it and
// binds the API with apiAddressFlag, on its port.
const deprecatedAPIAddressFlag = invariants.PrimusDeprecatedAPIAddressFlag

// bindFlag is flag set to the address cfg has the process bind it on:
// 127.0.0.1:0, or Host and the port of the flag in Args.
func (cfg Config) bindFlag(flag string) string {
	v, _ := ArgValue(cfg.Args, flag)
	return cfg.bindFlagAt(flag, v)
}

// apiFlag is the API's address flag Start gives the process, bound as
// bindFlagAt binds it, on the port of the address the Pod's command line
// has the API listen on (invariants.PrimusAPIAddress: the deprecated flag
// replaces apiAddressFlag when set), or apiAddressFlag=0 with off true
// when that address is 0.
func (cfg Config) apiFlag() (flag string, off bool) {
	addr := invariants.PrimusAPIAddress(cfg.Args)
	if addr == "0" {
		return apiAddressFlag + "=0", true // the API is off, as in the Pod
	}
	return cfg.bindFlagAt(apiAddressFlag, addr), false
}

// bindFlagAt is flag set to the address cfg has the process bind it on:
// 127.0.0.1:0, or Host and the port of addr (the address the Pod's
// command line gives it).
func (cfg Config) bindFlagAt(flag, addr string) string {
	if cfg.Host == "" {
		return flag + "=127.0.0.1:0"
	}
	port := "0"
	if _, p, err := net.SplitHostPort(addr); err == nil && p != "" {
		port = p
	}
	return flag + "=" + net.JoinHostPort(cfg.Host, port)
}

// FromDeployment returns the args and the plain (not valueFrom)
// environment variables of the container named container of d, or of its
// first container when container is empty.
func FromDeployment(d *appsv1.Deployment, container string) (args, env []string, err error) {
	for _, c := range d.Spec.Template.Spec.Containers {
		if container != "" && c.Name != container {
			continue
		}
		args = append(append(args, c.Command...), c.Args...)
		if len(c.Command) > 0 {
			args = args[1:] // the binary itself
		}
		for _, e := range c.Env {
			if e.ValueFrom == nil {
				env = append(env, e.Name+"="+e.Value)
			}
		}
		return args, env, nil
	}
	return nil, nil, fmt.Errorf("deployment %s/%s has no container %q", d.Namespace, d.Name, container)
}

// ArgValue returns the value of --flag=value (or --flag value) in args,
// the last one when the flag repeats, as the binary's flag parser reads it
// (invariants.ArgValue).
func ArgValue(args []string, flag string) (string, bool) {
	return invariants.ArgValue(args, flag)
}

// withoutFlags drops every --flag=value (and --flag value) of args whose
// flag is in flags.
func withoutFlags(args, flags []string) []string {
	var out []string
	for i := 0; i < len(args); i++ {
		name, _, hasValue := strings.Cut(args[i], "=")
		if !slices.Contains(flags, name) {
			out = append(out, args[i])
			continue
		}
		if !hasValue && i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
			i++
		}
	}
	return out
}

// withoutEnv drops key from env.
func withoutEnv(env []string, keys ...string) []string {
	var out []string
	for _, e := range env {
		name, _, _ := strings.Cut(e, "=")
		if !slices.Contains(keys, name) {
			out = append(out, e)
		}
	}
	return out
}
