package render

import (
	"fmt"
	"runtime/debug"
	"strings"
)

// fallbackKubeVersion is used when the build carries no module information.
const fallbackKubeVersion = "v1.37.0"

// DefaultKubeVersion is the Kubernetes version templates see when the user
// gives none: the minor release matching the client-go this program is built
// with, as Helm's own release builds stamp it (a plain `go build` of Helm
// would otherwise claim v1.20 and fail every chart with a kubeVersion).
func DefaultKubeVersion() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return fallbackKubeVersion
	}
	for _, dep := range info.Deps {
		if dep.Path != "k8s.io/client-go" {
			continue
		}
		// client-go v0.N.x ships with Kubernetes v1.N.x.
		parts := strings.Split(strings.TrimPrefix(dep.Version, "v"), ".")
		if len(parts) >= 2 && parts[0] == "0" {
			return fmt.Sprintf("v1.%s.0", parts[1])
		}
	}
	return fallbackKubeVersion
}
