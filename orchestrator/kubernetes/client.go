package kubernetes

import (
	"bytes"
	"fmt"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/yaml"
)

// NewClient makes a clientset the way kubectl finds its cluster: the
// kubeconfig file given, else $KUBECONFIG, else ~/.kube/config, else the
// pod's own service account (in-cluster). namespace is the kubeconfig
// context's namespace ("" when it sets none).
func NewClient(kubeconfig string) (client kubernetes.Interface, namespace string, err error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = kubeconfig
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{})
	cfg, err := cc.ClientConfig()
	if err != nil {
		return nil, "", fmt.Errorf("kubernetes: no cluster to talk to (--kubeconfig, $KUBECONFIG, ~/.kube/config or in-cluster): %w", err)
	}
	cfg.UserAgent = "unistore"
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, "", fmt.Errorf("kubernetes: %w", err)
	}
	ns, _, err := cc.Namespace()
	if err != nil {
		ns = ""
	}
	return cs, ns, nil
}

// Manifest writes what Objects builds as a YAML stream: the Job, then
// the Secret.
func Manifest(p Params) ([]byte, error) {
	job, secret, err := Objects(p)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	for i, obj := range []runtime.Object{job, secret} {
		b, err := yaml.Marshal(obj)
		if err != nil {
			return nil, fmt.Errorf("kubernetes: %w", err)
		}
		if i > 0 {
			buf.WriteString("---\n")
		}
		buf.Write(b)
	}
	return buf.Bytes(), nil
}
