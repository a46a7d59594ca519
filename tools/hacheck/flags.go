package main

import (
	"github.com/spf13/pflag"

	"primus.dev/primus/internal/render"
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

func (v *valueFlags) register(fs *pflag.FlagSet) {
	fs.StringArrayVarP(&v.files, "values", "f", nil, "values file (can repeat)")
	fs.StringArrayVar(&v.set, "set", nil, "set a value, key=value (can repeat)")
	fs.StringArrayVar(&v.setString, "set-string", nil, "set a STRING value, key=value (can repeat)")
	fs.StringArrayVar(&v.setJSON, "set-json", nil, "set a JSON value, key=json (can repeat)")
	fs.StringVar(&v.release, "release", "primus", "release name")
	fs.StringVarP(&v.namespace, "namespace", "n", "default", "release namespace")
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
