package kubernetes

import (
	"bytes"
	"fmt"

	"k8s.io/apimachinery/pkg/runtime"
	batchclient "k8s.io/client-go/kubernetes/typed/batch/v1"
	coreclient "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/yaml"
)

// NewClient makes a clientset the way kubectl finds its cluster: the
// kubeconfig file given, else $KUBECONFIG, else ~/.kube/config, else the
// pod's own service account (in-cluster). namespace is the kubeconfig
// context's namespace ("" when it sets none).
func NewClient(kubeconfig string) (client Client, namespace string, err error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = kubeconfig
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{})
	cfg, err := cc.ClientConfig()
	if err != nil {
		return nil, "", fmt.Errorf("kubernetes: no cluster to talk to (--kubeconfig, $KUBECONFIG, ~/.kube/config or in-cluster): %w", err)
	}
	cfg.UserAgent = "unistore"
	batch, err := batchclient.NewForConfig(cfg)
	if err != nil {
		return nil, "", fmt.Errorf("kubernetes: %w", err)
	}
	core, err := coreclient.NewForConfig(cfg)
	if err != nil {
		return nil, "", fmt.Errorf("kubernetes: %w", err)
	}
	ns, _, err := cc.Namespace()
	if err != nil {
		ns = ""
	}
	return clients{batch, core}, ns, nil
}

type clients struct {
	batch batchclient.BatchV1Interface
	core  coreclient.CoreV1Interface
}

func (c clients) BatchV1() batchclient.BatchV1Interface { return c.batch }
func (c clients) CoreV1() coreclient.CoreV1Interface    { return c.core }

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
