package main

// White-box, for the one seam the black-box tests cannot reach: `serve
// --launcher kubernetes` against client-go's fake clientset, whose pods
// the kubelet double runs as in-process workers.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/unistore-bench/unistore"
	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/internal/kubelet"
	"github.com/unistore-bench/unistore/internal/testpg"
	"github.com/unistore-bench/unistore/orchestrator/kubernetes"
	"github.com/unistore-bench/unistore/store"
)

// syncBuffer is a bytes.Buffer safe for concurrent use.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// joinProcess is a pod's worker, run in this process.
type joinProcess struct {
	cancel context.CancelFunc
	done   chan int
}

func (p *joinProcess) Wait() int {
	code := <-p.done
	p.done <- code
	return code
}
func (p *joinProcess) Kill() { p.cancel() }

// TestServeKubernetesLauncher: a run started through serve's API with
// --launcher kubernetes becomes an Indexed Job (and its Secret) on the
// cluster, whose pods' workers complete it; the Job is deleted at the end.
func TestServeKubernetesLauncher(t *testing.T) {
	target := testpg.NewDatabase(t)
	testpg.Exec(t, target, "CREATE TABLE t (id bigint PRIMARY KEY, v bigint NOT NULL)",
		"INSERT INTO t SELECT g, g FROM generate_series(1, 1000) g")
	storeDSN := testpg.NewDatabase(t)
	schema := newApp()
	schema.Writer = io.Discard
	if err := schema.Run([]string{"unistore", "schema", "apply", "--store", storeDSN}); err != nil {
		t.Fatalf("schema apply: %v", err)
	}

	client := fake.NewClientset()
	newKubeClient = func(string) (kubernetes.Client, string, error) { return client, "default", nil }
	t.Cleanup(func() { newKubeClient = kubernetes.NewClient })
	var logs syncBuffer
	kl := &kubelet.Kubelet{Client: client, Namespace: "default", RestartDelay: time.Second, Start: func(p kubelet.Pod) (kubelet.Process, error) {
		st, err := store.Open(context.Background(), p.Env["UNISTORE_STORE"])
		if err != nil {
			return nil, err
		}
		ctx, cancel := context.WithCancel(context.Background())
		proc := &joinProcess{cancel: cancel, done: make(chan int, 1)}
		log := slog.New(slog.NewTextHandler(&logs, nil))
		go func() {
			defer st.Close()
			err := unistore.Join(ctx, st, p.Args[2], p.Index, p.Attempt, p.Env["UNISTORE_TARGET"], log)
			code := 0
			if err != nil {
				fmt.Fprintf(&logs, "pod %s: %v\n", p.Name, err)
				code = 1
			}
			proc.done <- code
		}()
		return proc, nil
	}}
	kctx, kcancel := context.WithCancel(context.Background())
	kdone := make(chan struct{})
	go func() {
		defer close(kdone)
		kl.Run(kctx)
	}()
	t.Cleanup(func() {
		kcancel()
		<-kdone
	})

	var stderr syncBuffer
	app := newApp()
	app.Writer, app.ErrWriter = io.Discard, &stderr
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() {
		served <- app.RunContext(ctx, []string{"unistore", "serve", "--listen", "127.0.0.1:0", "--store", storeDSN,
			"--launcher", "kubernetes", "--image", "registry.example/unistore:test"})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-served:
		case <-time.After(60 * time.Second):
			t.Error("serve did not stop")
		}
	})
	addrRE := regexp.MustCompile(`"serve: listening" addr=(\S+)`)
	var base string
	for deadline := time.Now().Add(30 * time.Second); base == ""; time.Sleep(20 * time.Millisecond) {
		if m := addrRE.FindStringSubmatch(stderr.String()); m != nil {
			base = "http://" + m[1]
		} else if time.Now().After(deadline) {
			t.Fatalf("serve did not listen:\n%s", stderr.String())
		}
	}

	spec := fmt.Sprintf(`name: serve-k8s
target: {dsn: %q}
workers: 2
connections: 2
warmup: 0s
duration: 2s
rate: 200
capture: none
control: {poll: 100ms, heartbeat: 200ms, heartbeat_timeout: 2s, lease: 3s}
workload:
  operations:
    - name: get
      sql: SELECT v FROM t WHERE id = ?
      params: [{gen: uniform, min: 1, max: 1000}]
`, target)
	body, _ := json.Marshal(map[string]any{"spec_yaml": spec})
	resp, err := http.Post(base+"/api/v1/runs", "application/json", strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var r struct {
		RunID string `json:"run_id"`
	}
	if resp.StatusCode != http.StatusCreated || json.Unmarshal(b, &r) != nil {
		t.Fatalf("POST run: %d %s", resp.StatusCode, b)
	}
	var res core.Result
	for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		resp, err := http.Get(base + "/api/v1/runs/" + r.RunID)
		if err == nil {
			err = json.NewDecoder(resp.Body).Decode(&res)
			resp.Body.Close()
		}
		if err == nil && res.Status.Terminal() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %s did not end: %+v\nserve:\n%s\npods:\n%s", r.RunID, res.Status, stderr.String(), logs.String())
		}
	}
	if res.Status != core.StatusCompleted || res.Total.Count == 0 || res.Workers.Lost != 0 {
		t.Fatalf("run through serve --launcher kubernetes: %s, %d operations, %d lost\nserve:\n%s\npods:\n%s",
			res.Status, res.Total.Count, res.Workers.Lost, stderr.String(), logs.String())
	}
	pods := kl.Started()
	if len(pods) != 2 {
		t.Errorf("%d pods started, want 2: %+v", len(pods), pods)
	}
	for _, p := range pods {
		if p.Args[2] != r.RunID || p.Env["UNISTORE_STORE"] != storeDSN || p.Env["UNISTORE_TARGET"] != target {
			t.Errorf("pod %s: args %q, env %v", p.Name, p.Args, p.Env)
		}
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		_, err := client.BatchV1().Jobs("default").Get(context.Background(), kubernetes.Name(r.RunID), metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the Job was not deleted: %v", err)
		}
	}
}
