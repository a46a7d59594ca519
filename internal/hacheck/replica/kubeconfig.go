package replica

import (
	"fmt"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// writeKubeconfig writes a one-context kubeconfig for server, trusting ca
// (or nothing, when empty), with a bearer token.
func writeKubeconfig(server string, ca []byte, token, path string) error {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["cluster"] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: ca, InsecureSkipTLSVerify: len(ca) == 0}
	cfg.AuthInfos["primus"] = &clientcmdapi.AuthInfo{Token: token}
	cfg.Contexts["primus"] = &clientcmdapi.Context{Cluster: "cluster", AuthInfo: "primus"}
	cfg.CurrentContext = "primus"
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		return fmt.Errorf("write kubeconfig %s: %w", path, err)
	}
	return nil
}
