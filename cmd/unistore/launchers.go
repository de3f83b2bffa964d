package main

// The cluster launchers' flags and wiring (`run --launcher kubernetes|
// spcs|external`) and `unistore k8s manifest`. The launchers live in
// their own packages, which only this command imports: client-go and the
// SPCS SQL stay out of the library an embedder links.

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/urfave/cli/v2"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/unistore-bench/unistore"
	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/orchestrator/kubernetes"
	"github.com/unistore-bench/unistore/orchestrator/spcs"
)

// newKubeClient builds the Kubernetes launcher's client; a test of the
// command's wiring puts client-go's fake clientset here.
var newKubeClient = kubernetes.NewClient

// Launcher names beside the library's (unistore.LauncherProcess, …).
const (
	launcherKubernetes = "kubernetes"
	launcherSPCS       = "spcs"
	launcherExternal   = "external"
)

// launcherFlags are the cluster launchers' flags, `run`'s and (but
// --run-id) `serve`'s.
func launcherFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "image", Usage: "kubernetes, spcs: the worker image (see the Dockerfile)"},
		&cli.StringFlag{Name: "namespace", Usage: "kubernetes: the namespace of the run's Job and Secret (default: the kubeconfig context's, else default)"},
		&cli.StringFlag{Name: "kubeconfig", Usage: "kubernetes: kubeconfig `FILE` (default: $KUBECONFIG, ~/.kube/config, or in-cluster)"},
		&cli.StringFlag{Name: "compute-pool", Usage: "spcs: the compute pool the job service runs in"},
		&cli.StringFlag{Name: "spcs-connection", Usage: "spcs: the Snowflake `DSN` that runs EXECUTE JOB SERVICE (its role needs USAGE on the pool and CREATE SERVICE; default: the store's)"},
		&cli.StringFlag{Name: "run-id", Usage: "the run's `ID` instead of a new one (external: the id the workers were started with, as given to unistore k8s manifest --run-id)"},
	}
}

// checkLauncher checks the launcher flags, with the other flags: before
// the store is opened. (A launcher that cannot be built — no kubeconfig —
// is reported here too.) spec is the run's; nil for serve, whose runs'
// specs come later, through the API.
func checkLauncher(c *cli.Context, spec *core.Spec) error {
	_, err := launcherOption(c, spec, io.Discard)
	return err
}

// launcherName resolves --launcher and --in-process; "" when neither is
// given.
func launcherName(c *cli.Context) (string, error) {
	name := c.String("launcher")
	if c.Bool("in-process") {
		if name != "" && name != unistore.LauncherInProcess {
			return "", fmt.Errorf("%s: --in-process and --launcher %s contradict each other", c.Command.Name, name)
		}
		name = unistore.LauncherInProcess
	}
	return name, nil
}

// launcherOption builds the launcher the flags name, as the option that
// sets it (nil for inprocess, the library's own). With neither --launcher
// nor --in-process, run's default depends on the spec's workers
// (unistore.DefaultLauncher); serve's (spec nil) is process, even for one
// worker, so the load never shares the controller's process. Its problems
// are bad input: nothing has started.
func launcherOption(c *cli.Context, spec *core.Spec, stderr io.Writer) (unistore.Option, error) {
	name, err := launcherName(c)
	if err != nil {
		return nil, err
	}
	if name == "" {
		name = unistore.LauncherProcess
		if spec != nil {
			name = unistore.DefaultLauncher(spec.Workers)
		}
	}
	if id := c.String("run-id"); id != "" {
		if msgs := validation.IsDNS1123Label(id); len(msgs) > 0 {
			return nil, fmt.Errorf("--run-id %q: %s", id, strings.Join(msgs, "; "))
		}
	}
	switch name {
	case unistore.LauncherProcess:
		return unistore.WithLauncher(unistore.ProcessLauncher("", c.String("store"), stderr)), nil
	case unistore.LauncherInProcess:
		return nil, nil
	}
	l, ok, err := clusterLauncher(c, name, spec)
	if err == nil && !ok {
		err = fmt.Errorf("%s: --launcher %q: want %s, %s, %s, %s or %s", c.Command.Name, name, unistore.LauncherProcess, unistore.LauncherInProcess,
			launcherKubernetes, launcherSPCS, launcherExternal)
	}
	if err != nil {
		return nil, err
	}
	return unistore.WithLauncher(l), nil
}

// clusterLauncher builds the launcher named name, or reports that name is
// not a cluster launcher (ok false). spec nil (serve) checks only the
// flags: a run's spec (workers, target) reaches the launcher with each
// launch.
func clusterLauncher(c *cli.Context, name string, spec *core.Spec) (l unistore.Launcher, ok bool, err error) {
	cmd := c.Command.Name
	storeDSN := c.String("store")
	switch name {
	case launcherExternal:
		return unistore.ExternalLauncher(), true, nil
	case launcherKubernetes:
		// serve: the flags only, with a stand-in for what each run's
		// spec brings (Objects checks the run's own at launch).
		s, target := core.Spec{Workers: 1}, "(each run's)"
		if spec != nil {
			s = spec.WithDefaults()
			target = s.Target.DSN
		}
		p := kubernetes.Params{RunID: "check", Namespace: c.String("namespace"), Image: c.String("image"), Spec: s,
			Store: storeDSN, Target: target}
		if err := p.Validate(); err != nil {
			return nil, true, fmt.Errorf("%s --launcher kubernetes: %w", cmd, err)
		}
		client, ns, err := newKubeClient(c.String("kubeconfig"))
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
		target := "" // serve: each launch's (orchestrator.Assignment.Target)
		if spec != nil {
			target = spec.Target.DSN
		}
		l, err := spcs.New(spcs.Config{Connection: conn, ComputePool: c.String("compute-pool"), Image: c.String("image"),
			Store: storeDSN, Target: target})
		if err != nil {
			return nil, true, fmt.Errorf("%s --launcher spcs: %w", cmd, err)
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
