package main

// The cluster launchers' flags and wiring (`run --launcher kubernetes|
// spcs|external`) and `unistore k8s manifest`. The launchers live in
// their own packages, which only this command imports: client-go and the
// SPCS SQL stay out of the library an embedder links.

import (
	"errors"
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/unistore-bench/unistore"
	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/orchestrator/kubernetes"
	"github.com/unistore-bench/unistore/orchestrator/spcs"
)

// Launcher names beside the library's (unistore.LauncherProcess, …).
const (
	launcherKubernetes = "kubernetes"
	launcherSPCS       = "spcs"
	launcherExternal   = "external"
)

// launcherFlags are `run`'s flags for the cluster launchers.
func launcherFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "image", Usage: "kubernetes, spcs: the worker image (see the Dockerfile)"},
		&cli.StringFlag{Name: "namespace", Usage: "kubernetes: the namespace of the run's Job and Secret (default: the kubeconfig context's, else default)"},
		&cli.StringFlag{Name: "kubeconfig", Usage: "kubernetes: kubeconfig `FILE` (default: $KUBECONFIG, ~/.kube/config, or in-cluster)"},
		&cli.StringFlag{Name: "compute-pool", Usage: "spcs: the compute pool the job service runs in"},
		&cli.StringFlag{Name: "spcs-connection", Usage: "spcs: the Snowflake `DSN` that runs EXECUTE JOB SERVICE (its role needs USAGE on the pool and CREATE SERVICE; default: the store's)"},
		&cli.StringFlag{Name: "run-id", Usage: "the run's id instead of a new one (external: the id the workers were started with, `unistore k8s manifest --run-id`)"},
	}
}

// checkLauncher checks the cluster launcher's flags, with the other
// flags: before the store is opened. (A launcher that cannot be built —
// no kubeconfig — is reported here too.)
func checkLauncher(c *cli.Context, spec core.Spec) error {
	name := c.String("launcher")
	switch name {
	case "", unistore.LauncherProcess, unistore.LauncherInProcess:
		if c.IsSet("run-id") {
			if msgs := validation.IsDNS1123Label(c.String("run-id")); len(msgs) > 0 {
				return fmt.Errorf("--run-id %q: %s", c.String("run-id"), strings.Join(msgs, "; "))
			}
		}
		return nil
	}
	_, ok, err := clusterLauncher(c, name, spec)
	if err == nil && !ok {
		err = fmt.Errorf("run: --launcher %q: want %s, %s, %s, %s or %s", name, unistore.LauncherProcess, unistore.LauncherInProcess,
			launcherKubernetes, launcherSPCS, launcherExternal)
	}
	return err
}

// clusterLauncher builds the launcher named name, or reports that name is
// not a cluster launcher (ok false). Its problems are bad input: nothing
// has started.
func clusterLauncher(c *cli.Context, name string, spec core.Spec) (l unistore.Launcher, ok bool, err error) {
	if id := c.String("run-id"); id != "" {
		if msgs := validation.IsDNS1123Label(id); len(msgs) > 0 {
			return nil, true, fmt.Errorf("--run-id %q: %s", id, strings.Join(msgs, "; "))
		}
	}
	storeDSN := c.String("store")
	switch name {
	case launcherExternal:
		return unistore.ExternalLauncher(), true, nil
	case launcherKubernetes:
		spec = spec.WithDefaults()
		p := kubernetes.Params{RunID: "check", Namespace: c.String("namespace"), Image: c.String("image"), Spec: spec,
			Store: storeDSN, Target: spec.Target.DSN}
		if err := p.Validate(); err != nil {
			return nil, true, fmt.Errorf("run --launcher kubernetes: %w", err)
		}
		client, ns, err := kubernetes.NewClient(c.String("kubeconfig"))
		if err != nil {
			return nil, true, err
		}
		if c.IsSet("namespace") {
			ns = c.String("namespace")
		}
		return &kubernetes.Launcher{Client: client, Namespace: ns, Image: c.String("image"), Store: storeDSN}, true, nil
	case launcherSPCS:
		conn := storeDSN
		if c.IsSet("spcs-connection") {
			conn = c.String("spcs-connection")
		}
		l, err := spcs.New(spcs.Config{Connection: conn, ComputePool: c.String("compute-pool"), Image: c.String("image"),
			Store: storeDSN, Target: spec.Target.DSN})
		if err != nil {
			return nil, true, fmt.Errorf("run --launcher spcs: %w", err)
		}
		return l, true, nil
	}
	return nil, false, nil
}

// k8sCommand is `unistore k8s manifest`: the run's Job and Secret as YAML,
// for users who apply manifests themselves (GitOps) and then start the
// orchestrator with `run --launcher external --run-id ID`.
func k8sCommand() *cli.Command {
	return &cli.Command{
		Name:  "k8s",
		Usage: "Kubernetes helpers",
		Subcommands: []*cli.Command{{
			Name:      "manifest",
			Usage:     "print a run's Indexed Job and Secret as YAML (what `run --launcher kubernetes` creates), to apply yourself before `run --launcher external --run-id ID`",
			ArgsUsage: "TEMPLATE.yaml",
			Flags: []cli.Flag{
				&cli.StringFlag{Name: "run-id", Required: true, Usage: "the run's id (lower-case letters, digits and '-')"},
				&cli.IntFlag{Name: "workers", Aliases: []string{"w"}, Usage: "workers (default: the template's, else 1)"},
				&cli.StringFlag{Name: "image", Required: true, Usage: "the worker image"},
				&cli.StringFlag{Name: "target", Usage: "target DSN, password included: it goes into the Secret (default: the template's)"},
				&cli.StringFlag{Name: "store", Required: true, Usage: "the results store's DSN as the workers reach it: it goes into the Secret"},
				&cli.StringFlag{Name: "namespace", Value: kubernetes.DefaultNamespace, Usage: "namespace"},
			},
			Action: func(c *cli.Context) error {
				if c.NArg() != 1 {
					return exitCode{2, errors.New("k8s manifest: give one TEMPLATE.yaml")}
				}
				t, err := unistore.LoadTemplate(c.Args().First())
				if err != nil {
					return exitCode{2, err}
				}
				var o unistore.Overrides
				if c.IsSet("workers") {
					o.Workers = ptr(c.Int("workers"))
				}
				if c.IsSet("target") {
					o.Target = ptr(c.String("target"))
				}
				spec, err := unistore.SpecFrom(t, o, func(flag string) string { return "--" + flag })
				if err != nil {
					return exitCode{2, err}
				}
				spec = spec.WithDefaults()
				b, err := kubernetes.Manifest(kubernetes.Params{RunID: c.String("run-id"), Namespace: c.String("namespace"),
					Image: c.String("image"), Spec: spec, Store: c.String("store"), Target: spec.Target.DSN})
				if err != nil {
					return exitCode{2, err}
				}
				if _, err := stdout(c).Write(b); err != nil {
					return err
				}
				fmt.Fprintln(c.App.ErrWriter, "unistore: k8s manifest: the Secret holds the DSNs as given, passwords included: keep it out of version control (or replace it with a Secret of your own of that name)")
				return nil
			},
		}},
	}
}
