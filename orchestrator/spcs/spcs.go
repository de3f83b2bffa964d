package spcs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/snowflakedb/gosnowflake"
	"sigs.k8s.io/yaml"

	"github.com/unistore-bench/unistore/core"
	sfdriver "github.com/unistore-bench/unistore/driver/snowflake"
	"github.com/unistore-bench/unistore/orchestrator"
)

// Defaults.
const (
	// DefaultTokenFile is where Snowpark Container Services puts a
	// container's OAuth token.
	DefaultTokenFile = "/snowflake/session/token"
	// DefaultPoll is how often DESCRIBE SERVICE is read.
	DefaultPoll = 5 * time.Second
	// ContainerName is the worker container's name in the specification.
	ContainerName = "worker"
)

// Config configures a Launcher.
type Config struct {
	// Connection is the Snowflake DSN the launcher runs its statements on
	// (the CLI passes the store's): its role needs USAGE on the compute
	// pool and the image repository, and CREATE SERVICE on its schema.
	Connection string
	// DB, if set, is used instead of opening Connection (tests).
	DB *sql.DB
	// ComputePool is the pool the job service runs in.
	ComputePool string
	// Image is the worker image in the account's image repository
	// (/db/schema/repo/unistore:tag).
	Image string
	// Store and Target are the run's store and target DSNs as the
	// orchestrator uses them. A Snowflake DSN is rewritten for the
	// containers (WorkerDSN); any other must hold no secret, since the
	// specification is statement text, kept in QUERY_HISTORY. Target
	// empty (`unistore serve`, one launcher for runs of any target) takes
	// each launch's (orchestrator.Assignment.Target), checked then.
	Store, Target string
	// TokenFile is the OAuth token file the workers read (default
	// DefaultTokenFile).
	TokenFile string
	// Poll is how often the service's state is read (default DefaultPoll).
	Poll   time.Duration
	Logger *slog.Logger
}

// Launcher runs a run's workers as one Snowpark Container Services job
// service with a replica per group (see the package doc).
type Launcher struct {
	cfg           Config
	db            *sql.DB
	store, target string // the containers' DSNs
	log           *slog.Logger

	mu   sync.Mutex
	runs map[string]*service // the run's main service, by run id
}

var (
	_ orchestrator.Launcher        = (*Launcher)(nil)
	_ orchestrator.FailureReporter = (*handle)(nil)
)

var identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*){0,2}$`)

// New checks cfg and opens the launcher's connection (lazily: nothing is
// sent before the first launch).
func New(cfg Config) (*Launcher, error) {
	var msgs []string
	if !identifier.MatchString(cfg.ComputePool) {
		msgs = append(msgs, fmt.Sprintf("--compute-pool %q: want a compute pool name", cfg.ComputePool))
	}
	if cfg.Image == "" || strings.ContainsAny(cfg.Image, "\"'$\n") {
		msgs = append(msgs, fmt.Sprintf("--image %q: want the worker image's path in an image repository (/db/schema/repo/unistore:tag)", cfg.Image))
	}
	if cfg.TokenFile == "" {
		cfg.TokenFile = DefaultTokenFile
	}
	if cfg.Poll <= 0 {
		cfg.Poll = DefaultPoll
	}
	l := &Launcher{cfg: cfg, log: cfg.Logger, runs: map[string]*service{}}
	if l.log == nil {
		l.log = slog.Default()
	}
	var err error
	if !isSnowflake(cfg.Store) {
		msgs = append(msgs, "store "+core.RedactDSN(cfg.Store)+": a job service's workers need a snowflake:// store (they log in to its account with the service's OAuth token)")
	} else if l.store, err = WorkerDSN(cfg.Store, cfg.TokenFile); err != nil {
		msgs = append(msgs, "store: "+err.Error())
	}
	if l.target, err = WorkerDSN(cfg.Target, cfg.TokenFile); err != nil {
		msgs = append(msgs, "target: "+err.Error())
	}
	if len(msgs) > 0 {
		return nil, errors.New("spcs: " + strings.Join(msgs, "; "))
	}
	l.db = cfg.DB
	if l.db == nil {
		sc, err := sfdriver.ParseConfig(cfg.Connection)
		if err != nil {
			return nil, fmt.Errorf("spcs: connection: %w", err)
		}
		l.db = sql.OpenDB(gosnowflake.NewConnector(gosnowflake.SnowflakeDriver{}, *sc))
	}
	return l, nil
}

func isSnowflake(dsn string) bool {
	return strings.HasPrefix(strings.ToLower(dsn), sfdriver.Name+"://")
}

// WorkerDSN rewrites dsn for a container of a job service. A Snowflake
// DSN keeps its database, schema and warehouse and logs in with OAuth
// from tokenFile, to the host and account the container's SNOWFLAKE_HOST
// and SNOWFLAKE_ACCOUNT give (driver/snowflake fills them in): no user,
// password, key or role (the service's owner role is the session's). Any
// other DSN is kept as it is, if it holds no secret.
func WorkerDSN(dsn, tokenFile string) (string, error) {
	if !isSnowflake(dsn) {
		if core.RedactDSN(dsn) != dsn {
			return "", fmt.Errorf("%s holds a secret, which the job's specification (statement text, kept in QUERY_HISTORY) must not: use a Snowflake target, or one that needs no password", core.RedactDSN(dsn))
		}
		return dsn, nil
	}
	cfg, err := sfdriver.ParseConfig(dsn)
	if err != nil {
		return "", err
	}
	q := url.Values{}
	q.Set("authenticator", "oauth")
	q.Set("tokenFilePath", tokenFile)
	if cfg.Warehouse != "" {
		q.Set("warehouse", cfg.Warehouse)
	}
	path := ""
	if cfg.Database != "" {
		path = "/" + url.PathEscape(cfg.Database)
		if cfg.Schema != "" {
			path += "/" + url.PathEscape(cfg.Schema)
		}
	}
	return sfdriver.Name + "://" + path + "?" + q.Encode(), nil
}

// ServiceName is the job service's name for a run (attempt 0) or for the
// relaunch of one group.
func ServiceName(runID string, group, attempt int) string {
	n := "UNISTORE_" + strings.ToUpper(strings.NewReplacer("-", "_").Replace(runID))
	if attempt > 0 {
		n += fmt.Sprintf("_G%d_R%d", group, attempt)
	}
	return n
}

// specification is a job service's specification.
type specification struct {
	Spec struct {
		Containers []container `json:"containers"`
	} `json:"spec"`
}

type container struct {
	Name      string            `json:"name"`
	Image     string            `json:"image"`
	Args      []string          `json:"args"`
	Env       map[string]string `json:"env"`
	Resources *resources        `json:"resources,omitempty"`
}

type resources struct {
	Requests map[string]string `json:"requests,omitempty"`
	Limits   map[string]string `json:"limits,omitempty"`
}

// Specification is the job service specification of a run's workers;
// group >= 0 pins one group (a relaunch), which the replica reads from
// UNISTORE_GROUP instead of SNOWFLAKE_JOB_INDEX.
func (l *Launcher) Specification(runID string, spec core.Spec, group, attempt int) (string, error) {
	return l.specification(runID, spec, l.target, group, attempt)
}

func (l *Launcher) specification(runID string, spec core.Spec, target string, group, attempt int) (string, error) {
	var s specification
	joinWait := 2 * spec.Control.HeartbeatTimeout.D()
	c := container{Name: ContainerName, Image: l.cfg.Image,
		Args: []string{"worker", "--run-id", runID, "--join-wait", joinWait.String()},
		Env:  map[string]string{"UNISTORE_STORE": l.store, "UNISTORE_TARGET": target}}
	if group >= 0 {
		c.Env["UNISTORE_GROUP"] = strconv.Itoa(group)
		c.Env["UNISTORE_ATTEMPT"] = strconv.Itoa(attempt)
	}
	if r := spec.Resources; r.CPU != "" || r.Memory != "" {
		c.Resources = &resources{Requests: map[string]string{}}
		if r.CPU != "" {
			c.Resources.Requests["cpu"] = r.CPU
		}
		if r.Memory != "" {
			c.Resources.Requests["memory"] = r.Memory
			c.Resources.Limits = map[string]string{"memory": r.Memory}
		}
	}
	s.Spec.Containers = []container{c}
	b, err := yaml.Marshal(s)
	if err != nil {
		return "", err
	}
	if strings.Contains(string(b), "$$") {
		return "", errors.New("spcs: the specification holds $$")
	}
	return string(b), nil
}

// Statement is the EXECUTE JOB SERVICE statement: its parameters in the
// order Snowflake requires (IN COMPUTE POOL, FROM SPECIFICATION, NAME,
// ASYNC, REPLICAS).
func (l *Launcher) Statement(name, specYAML string, replicas int) string {
	return fmt.Sprintf("EXECUTE JOB SERVICE IN COMPUTE POOL %s FROM SPECIFICATION $$\n%s$$ NAME = %s ASYNC = TRUE REPLICAS = %d",
		l.cfg.ComputePool, specYAML, name, replicas)
}

// Launch implements orchestrator.Launcher: the first launch of a run
// executes its job service with one replica per group; a relaunch
// executes one of a single replica pinned to its group.
func (l *Launcher) Launch(ctx context.Context, a orchestrator.Assignment) (orchestrator.Handle, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if a.Attempt == 0 {
		if s := l.runs[a.RunID]; s != nil {
			return s.handle(a.Group)
		}
	}
	replicas, group := a.Spec.Workers, -1
	if a.Attempt > 0 {
		replicas, group = 1, a.Group
	}
	name := ServiceName(a.RunID, a.Group, a.Attempt)
	target := l.target
	if l.cfg.Target == "" {
		var err error
		if target, err = WorkerDSN(a.Target.DSN, l.cfg.TokenFile); err != nil {
			return nil, fmt.Errorf("spcs: target: %w", err)
		}
	}
	specYAML, err := l.specification(a.RunID, a.Spec, target, group, a.Attempt)
	if err != nil {
		return nil, err
	}
	if _, err := l.db.ExecContext(ctx, l.Statement(name, specYAML, replicas)); err != nil {
		return nil, fmt.Errorf("spcs: execute job service %s in compute pool %s: %w", name, l.cfg.ComputePool, err)
	}
	s := &service{l: l, name: name, handles: map[int]*handle{}, first: a.Group, groups: replicas, relaunch: a.Attempt > 0}
	if a.Attempt == 0 {
		for g := range replicas {
			s.handles[g] = &handle{s: s, done: make(chan struct{})}
		}
		l.runs[a.RunID] = s
	} else {
		s.handles[a.Group] = &handle{s: s, done: make(chan struct{}), attempt: a.Attempt}
	}
	s.remaining = len(s.handles)
	go s.watch()
	return s.handle(a.Group)
}

// service is one job service and its replicas' handles.
type service struct {
	l         *Launcher
	name      string
	first     int
	groups    int
	mu        sync.Mutex
	relaunch  bool // one replica pinned to group first
	handles   map[int]*handle
	remaining int
	dropOnce  sync.Once
	noShow    bool // SHOW SERVICE INSTANCES failed once: logged, not again
}

func (s *service) handle(g int) (orchestrator.Handle, error) {
	h := s.handles[g]
	if h == nil {
		return nil, fmt.Errorf("spcs: group %d: service %s has no such replica", g, s.name)
	}
	return h, nil
}

// State reads DESCRIBE SERVICE's status column.
func (l *Launcher) State(ctx context.Context, name string) (string, error) {
	rows, err := l.db.QueryContext(ctx, "DESCRIBE SERVICE "+name)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return "", err
	}
	at := -1
	for i, c := range cols {
		if strings.EqualFold(c, "status") {
			at = i
		}
	}
	if at < 0 || !rows.Next() {
		return "", fmt.Errorf("spcs: DESCRIBE SERVICE %s: no status", name)
	}
	vals := make([]sql.NullString, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := rows.Scan(ptrs...); err != nil {
		return "", err
	}
	return strings.ToUpper(vals[at].String), rows.Err()
}

// Instances reads SHOW SERVICE INSTANCES IN SERVICE: each replica's
// status (PENDING, READY, FAILED, TERMINATING, SUCCEEDED) by its instance
// id, the replica's zero-based index. Columns are found by name; rows
// whose instance_id is NULL (no instance runs) are skipped.
func (l *Launcher) Instances(ctx context.Context, name string) (map[int]string, error) {
	rows, err := l.db.QueryContext(ctx, "SHOW SERVICE INSTANCES IN SERVICE "+name)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	id, status := -1, -1
	for i, c := range cols {
		switch strings.ToLower(c) {
		case "instance_id":
			id = i
		case "status":
			status = i
		}
	}
	if id < 0 || status < 0 {
		return nil, fmt.Errorf("spcs: SHOW SERVICE INSTANCES IN SERVICE %s: no instance_id and status columns in %q", name, cols)
	}
	out := map[int]string{}
	vals := make([]sql.NullString, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		if !vals[id].Valid {
			continue
		}
		k, err := strconv.Atoi(strings.TrimSpace(vals[id].String))
		if err != nil {
			return nil, fmt.Errorf("spcs: SHOW SERVICE INSTANCES IN SERVICE %s: instance_id %q", name, vals[id].String)
		}
		out[k] = strings.ToUpper(vals[status].String)
	}
	return out, rows.Err()
}

// watch polls the service's state until every handle has ended: DONE
// ends them cleanly, FAILED, INTERNAL_ERROR, DELETED (or a service that
// is gone) with an error. While the service runs, each replica's own
// status (instances) reports a FAILED one as its group's failure and ends
// a SUCCEEDED one's handle.
func (s *service) watch() {
	tick := time.NewTicker(s.l.cfg.Poll)
	defer tick.Stop()
	for range tick.C {
		s.mu.Lock()
		left := s.remaining
		s.mu.Unlock()
		if left == 0 {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		state, err := s.l.State(ctx, s.name)
		cancel()
		var end error
		switch {
		case err != nil && strings.Contains(err.Error(), "does not exist"):
			end = fmt.Errorf("spcs: service %s is gone", s.name)
		case err != nil:
			s.l.log.Warn("spcs: describe service", "service", s.name, "err", err)
			continue
		case state == "DONE":
		case state == "FAILED" || state == "INTERNAL_ERROR" || state == "DELETED" || state == "DELETING":
			end = fmt.Errorf("spcs: service %s is %s", s.name, state)
		default:
			s.instances()
			continue
		}
		for _, h := range s.handles {
			s.end(h, end)
		}
	}
}

// instances reads the replicas' statuses: a FAILED replica is its
// group's failure (orchestrator.FailureReporter), read at the
// orchestrator's next poll rather than when its heartbeat goes stale; a
// SUCCEEDED one's worker has exited 0, and its handle ends.
func (s *service) instances() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	inst, err := s.l.Instances(ctx, s.name)
	if err != nil {
		if !s.noShow {
			s.noShow = true
			s.l.log.Warn("spcs: show service instances (a failed replica is then seen only by its heartbeat)", "service", s.name, "err", err)
		}
		return
	}
	for k, status := range inst {
		g := k
		if s.relaunch {
			g = s.first
		}
		h := s.handles[g]
		if h == nil {
			continue
		}
		switch status {
		case "FAILED":
			s.mu.Lock()
			if h.failed == "" {
				h.failed = fmt.Sprintf("spcs: service %s instance %d FAILED", s.name, k)
				s.l.log.Warn("spcs: replica failed", "service", s.name, "instance", k, "group", g)
			}
			s.mu.Unlock()
		case "SUCCEEDED":
			s.end(h, nil)
		}
	}
}

func (s *service) end(h *handle, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-h.done:
		return
	default:
	}
	h.err = err
	close(h.done)
	s.remaining--
}

// drop drops the service, once.
func (s *service) drop() {
	s.dropOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := s.l.db.ExecContext(ctx, "DROP SERVICE IF EXISTS "+s.name); err != nil {
			s.l.log.Warn("spcs: drop service", "service", s.name, "err", err)
		}
	})
}

// handle is one replica (group) of a service.
type handle struct {
	s       *service
	attempt int
	done    chan struct{}
	err     error
	failed  string // the replica's FAILED status, once seen (s.mu)
}

// Failed implements orchestrator.FailureReporter: the replica's instance
// was seen FAILED (SHOW SERVICE INSTANCES IN SERVICE).
func (h *handle) Failed() (attempt int, reason string) {
	h.s.mu.Lock()
	defer h.s.mu.Unlock()
	if h.failed == "" {
		return -1, ""
	}
	return h.attempt, h.failed
}

func (h *handle) Done() <-chan struct{} { return h.done }
func (h *handle) Err() error {
	<-h.done
	return h.err
}

// Terminate drops the service: the orchestrator terminates after STOP and
// its grace period, every handle at once. Its handles end.
func (h *handle) Terminate() {
	h.s.drop()
	for _, o := range h.s.handles {
		h.s.end(o, nil)
	}
}

// Kill ends the handle. It drops the service only when this is its one
// replica: a lost worker of a run's service is one replica of several,
// and the others go on (the orchestrator relaunches the group as a
// service of its own).
func (h *handle) Kill() {
	if len(h.s.handles) == 1 {
		h.s.drop()
	}
	h.s.end(h, errors.New("spcs: worker killed by the orchestrator"))
}
