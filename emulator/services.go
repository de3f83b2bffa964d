package emulator

// Snowpark Container Services job services, minimally: EXECUTE JOB
// SERVICE is recorded (pool, name, specification, replicas) and answers
// as Snowflake's ASYNC form does; DESCRIBE SERVICE reports the recorded
// status (RUNNING until SetJobServiceStatus says otherwise); DROP SERVICE
// removes it; SHOW SERVICE INSTANCES IN SERVICE lists its replicas, each
// with the status SetJobServiceInstanceStatus gave it, else one that
// follows the service's (READY while RUNNING, SUCCEEDED when DONE, FAILED
// when FAILED, PENDING while PENDING). Nothing runs: the tests of the SPCS launcher check the SQL
// it sends and follow the states they set.

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// JobService is one EXECUTE JOB SERVICE the emulator received.
type JobService struct {
	Name          string // as named (upper-cased unless quoted), without database and schema
	Database      string
	Schema        string
	ComputePool   string
	Specification string
	Async         bool
	Replicas      int
	Status        string // PENDING, RUNNING, FAILED, DONE, … (DESCRIBE SERVICE's status)
	// Instances are the replicas' statuses a test set, by instance id
	// (SHOW SERVICE INSTANCES IN SERVICE's status: PENDING, READY,
	// FAILED, TERMINATING, SUCCEEDED); an unset one follows Status.
	Instances map[int]string
	Created   time.Time
}

// JobServices returns the job services executed and not dropped, by name.
func (s *Server) JobServices() []JobService {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]JobService, 0, len(s.jobServices))
	for _, j := range s.jobServices {
		out = append(out, *j)
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Name < out[b].Name })
	return out
}

// SetJobServiceStatus sets the status DESCRIBE SERVICE reports for the
// job service name; false if there is none.
func (s *Server) SetJobServiceStatus(name, status string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	j := s.jobServices[strings.ToUpper(name)]
	if j != nil {
		j.Status = status
	}
	return j != nil
}

// SetJobServiceInstanceStatus sets the status SHOW SERVICE INSTANCES IN
// SERVICE reports for one replica (instance id, from 0) of the job
// service name; false if there is no such replica.
func (s *Server) SetJobServiceInstanceStatus(name string, instance int, status string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	j := s.jobServices[strings.ToUpper(name)]
	if j == nil || instance < 0 || instance >= j.Replicas {
		return false
	}
	m := map[int]string{instance: status}
	for k, v := range j.Instances { // copied: JobServices hands out copies
		if k != instance {
			m[k] = v
		}
	}
	j.Instances = m
	return true
}

func serviceSyntax(st []token, at int, want string) *Error {
	got := "<EOF>"
	if at < len(st) {
		got = st[at].text
	}
	return &Error{Code: "001003", SQLState: "42000", Message: fmt.Sprintf("SQL compilation error:\nsyntax error line 1 at position %d unexpected '%s' (want %s).", at, got, want)}
}

// serviceName reads a [db.schema.]name at st[i:], returning its last
// part and the index after it.
func serviceName(st []token, i int) (string, int) {
	name := ""
	for i < len(st) {
		t := st[i]
		switch {
		case t.kind == tQuoted:
			name = t.val
		case t.kind == tWord:
			name = t.up()
		default:
			return name, i
		}
		i++
		if i < len(st) && st[i].text == "." {
			i++
			continue
		}
		break
	}
	return name, i
}

// executeJobService runs EXECUTE JOB SERVICE IN COMPUTE POOL p FROM
// SPECIFICATION $$…$$ [NAME = n] [ASYNC = b] [REPLICAS = k], its
// parameters in that order, as Snowflake requires.
func (s *Server) executeJobService(ss *session, st []token) (*result, error) {
	want := []string{"EXECUTE", "JOB", "SERVICE", "IN", "COMPUTE", "POOL"}
	for i, w := range want {
		if i >= len(st) || !st[i].is(w) {
			return nil, serviceSyntax(st, i, w)
		}
	}
	j := &JobService{Database: ss.db, Schema: ss.schema, Replicas: 1, Status: "RUNNING", Created: time.Now()}
	i := len(want)
	j.ComputePool, i = serviceName(st, i)
	if j.ComputePool == "" {
		return nil, serviceSyntax(st, i, "a compute pool")
	}
	if i+2 >= len(st) || !st[i].is("FROM") || !st[i+1].is("SPECIFICATION") || st[i+2].kind != tString {
		return nil, serviceSyntax(st, i, "FROM SPECIFICATION $$…$$")
	}
	j.Specification = st[i+2].val
	i += 3
	order := []string{"NAME", "ASYNC", "REPLICAS", "QUERY_WAREHOUSE", "COMMENT", "EXTERNAL_ACCESS_INTEGRATIONS"}
	next := 0
	for i < len(st) {
		k := st[i].up()
		pos := -1
		for n, o := range order[next:] {
			if k == o {
				pos = next + n
			}
		}
		if pos < 0 || i+2 >= len(st) || st[i+1].text != "=" {
			return nil, serviceSyntax(st, i, "the parameters NAME, ASYNC, REPLICAS, … in this order")
		}
		next = pos + 1
		i += 2
		switch k {
		case "NAME":
			j.Name, i = serviceName(st, i)
		case "ASYNC":
			j.Async = st[i].is("TRUE")
			i++
		case "REPLICAS":
			n, err := strconv.Atoi(st[i].text)
			if err != nil || n < 1 {
				return nil, serviceSyntax(st, i, "a number of replicas")
			}
			j.Replicas = n
			i++
		default:
			i++ // recorded in the statement only
		}
	}
	if j.Name == "" {
		j.Name = fmt.Sprintf("JOB_%d", time.Now().UnixNano())
	}
	s.mu.Lock()
	if s.jobServices == nil {
		s.jobServices = map[string]*JobService{}
	}
	if _, dup := s.jobServices[j.Name]; dup {
		s.mu.Unlock()
		return nil, &Error{Code: "002002", SQLState: "42710", Message: fmt.Sprintf("SQL compilation error:\nObject '%s' already exists.", j.Name)}
	}
	s.jobServices[j.Name] = j
	s.mu.Unlock()
	msg := fmt.Sprintf("Job %s completed successfully with status: DONE.", j.Name)
	if j.Async {
		msg = fmt.Sprintf("Job %s started.", j.Name)
	}
	return statusResult(stmtDDL, msg), nil
}

func errNoService(name string) *Error {
	return &Error{Code: "002003", SQLState: "02000", Message: fmt.Sprintf("SQL compilation error:\nService '%s' does not exist or not authorized.", name)}
}

// describeService answers DESCRIBE SERVICE name with one row: a few of
// Snowflake's columns, status among them.
func (s *Server) describeService(st []token) (*result, error) {
	name, _ := serviceName(st, 2)
	s.mu.Lock()
	j := s.jobServices[name]
	var c JobService
	if j != nil {
		c = *j
	}
	s.mu.Unlock()
	if j == nil {
		return nil, errNoService(name)
	}
	names := []string{"name", "status", "database_name", "schema_name", "compute_pool", "is_job", "target_instances", "spec"}
	vals := []string{c.Name, c.Status, c.Database, c.Schema, c.ComputePool, "true", strconv.Itoa(c.Replicas), c.Specification}
	r := &result{stmtType: stmtShow}
	row := make([]*string, len(names))
	for k, n := range names {
		r.columns = append(r.columns, textCol(n))
		row[k] = str(vals[k])
	}
	r.rows = [][]*string{row}
	return r, nil
}

// dropService answers DROP SERVICE [IF EXISTS] name.
func (s *Server) dropService(st []token) (*result, error) {
	i, ifExists := 2, false
	if len(st) > 4 && st[2].is("IF") && st[3].is("EXISTS") {
		i, ifExists = 4, true
	}
	name, _ := serviceName(st, i)
	s.mu.Lock()
	_, ok := s.jobServices[name]
	delete(s.jobServices, name)
	s.mu.Unlock()
	if !ok && !ifExists {
		return nil, errNoService(name)
	}
	return statusResult(stmtDDL, fmt.Sprintf("%s successfully dropped.", name)), nil
}

// showServiceInstances answers SHOW SERVICE INSTANCES IN SERVICE name with
// a row per replica: Snowflake's columns up to status (the 2025_02
// bundle's, with service_status).
func (s *Server) showServiceInstances(st []token) (*result, error) {
	for i, w := range []string{"SHOW", "SERVICE", "INSTANCES", "IN", "SERVICE"} {
		if i >= len(st) || !st[i].is(w) {
			if i == 2 && i < len(st) && st[i].is("CONTAINERS") {
				return nil, unsupported("SHOW SERVICE CONTAINERS")
			}
			return nil, serviceSyntax(st, i, w)
		}
	}
	name, _ := serviceName(st, 5)
	s.mu.Lock()
	j := s.jobServices[name]
	var c JobService
	if j != nil {
		c = *j
	}
	s.mu.Unlock()
	if j == nil {
		return nil, errNoService(name)
	}
	follow := map[string]string{"PENDING": "PENDING", "RUNNING": "READY", "DONE": "SUCCEEDED", "FAILED": "FAILED",
		"INTERNAL_ERROR": "FAILED", "SUSPENDING": "TERMINATING", "DELETING": "TERMINATING"}[c.Status]
	names := []string{"database_name", "schema_name", "service_name", "service_status", "instance_id", "status", "spec_digest", "creation_time", "start_time"}
	r := &result{stmtType: stmtShow}
	for _, n := range names {
		r.columns = append(r.columns, textCol(n))
	}
	if follow == "" { // SUSPENDED, DELETED: no instance runs
		return r, nil
	}
	created := c.Created.UTC().Format(time.RFC3339)
	for k := range c.Replicas {
		status := follow
		if v, ok := c.Instances[k]; ok {
			status = v
		}
		vals := []string{c.Database, c.Schema, c.Name, c.Status, strconv.Itoa(k), status, "", created, created}
		row := make([]*string, len(vals))
		for i, v := range vals {
			row[i] = str(v)
		}
		r.rows = append(r.rows, row)
	}
	return r, nil
}
