package main

import (
	"fmt"
	"os"

	"github.com/spf13/pflag"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/primus-dev/primus/internal/hacheck/render"
)

// valueFlags are the value flags render, check and verify share, named as
// helm names them.
type valueFlags struct {
	files       []string
	set         []string
	setString   []string
	setJSON     []string
	release     string
	namespace   string
	kubeVersion string
}

// helmNamespaceEnv is the variable helm sets for a plugin to the namespace
// of `helm -n NS` or of the current kubeconfig context, as helm-diff and
// helm-unittest read it.
const helmNamespaceEnv = "HELM_NAMESPACE"

// register adds the chart and release flags to fs. The namespace defaults
// to $HELM_NAMESPACE when hacheck runs as a helm plugin, so `helm -n ops
// hacheck check CHART` renders into ops as `helm -n ops template` would,
// and otherwise to defaultNamespace, the verb's own default.
func (v *valueFlags) register(fs *pflag.FlagSet, defaultNamespace string) {
	if ns := os.Getenv(helmNamespaceEnv); ns != "" {
		defaultNamespace = ns
	}
	fs.StringArrayVarP(&v.files, "values", "f", nil, "values file (can repeat)")
	fs.StringArrayVar(&v.set, "set", nil, "set a value, key=value (can repeat)")
	fs.StringArrayVar(&v.setString, "set-string", nil, "set a STRING value, key=value (can repeat)")
	fs.StringArrayVar(&v.setJSON, "set-json", nil, "set a JSON value, key=json (can repeat)")
	fs.StringVar(&v.release, "release", "primus", "release name")
	fs.StringVarP(&v.namespace, "namespace", "n", defaultNamespace, "release namespace (under helm: $"+helmNamespaceEnv+")")
	fs.StringVar(&v.kubeVersion, "kube-version", "", "Kubernetes version the templates see (default: Helm's)")
}

func (v *valueFlags) options(chart string) render.Options {
	return render.Options{
		Chart:       chart,
		ReleaseName: v.release,
		Namespace:   v.namespace,
		ValueFiles:  v.files,
		Set:         v.set,
		SetString:   v.setString,
		SetJSON:     v.setJSON,
		KubeVersion: v.kubeVersion,
	}
}

// kubeconfigPath resolves --kubeconfig (or $KUBECONFIG when the flag is not
// set) and checks the file is there and parses as a kubeconfig, so a typo
// is bad input (exit 2, one line naming the flag) rather than a cluster
// that failed (exit 3). Empty means the embedded cluster.
func kubeconfigPath(flag string) (string, error) {
	name, path := "--kubeconfig", flag
	if path == "" {
		name, path = "$KUBECONFIG", os.Getenv("KUBECONFIG")
	}
	if path == "" {
		return "", nil
	}
	cfg, err := clientcmd.LoadFromFile(path)
	if err != nil {
		return "", usageError{fmt.Errorf("%s %s: %w", name, path, err)}
	}
	if len(cfg.Clusters) == 0 {
		return "", usageError{fmt.Errorf("%s %s: the file names no cluster", name, path)}
	}
	return path, nil
}

// namedKubeconfig checks a --kubeconfig the user named, for a command that
// installs: unlike kubeconfigPath it never falls back to $KUBECONFIG, so
// such a command acts only on a cluster the user named. Empty stays empty
// (the embedded cluster).
func namedKubeconfig(flag string) (string, error) {
	if flag == "" {
		return "", nil
	}
	return kubeconfigPath(flag)
}
