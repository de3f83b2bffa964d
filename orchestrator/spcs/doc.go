// Package spcs is the orchestrator's Snowpark Container Services launcher:
// a run's workers as one job service in a compute pool, a replica per
// worker group — the home the design names for workers next to a
// Snowflake target.
//
// # The statements
//
// A run's first launch sends, on the launcher's Snowflake connection (the
// CLI uses the store's):
//
//	EXECUTE JOB SERVICE IN COMPUTE POOL p FROM SPECIFICATION $$…$$
//	  NAME = UNISTORE_<RUN_ID> ASYNC = TRUE REPLICAS = <workers>
//
// its parameters in that order, which Snowflake requires; multi-replica
// job services are in preview. The launcher then polls DESCRIBE SERVICE's
// status column (PENDING, RUNNING, FAILED, DONE, SUSPENDING, SUSPENDED,
// DELETING, DELETED, INTERNAL_ERROR): DONE ends the replicas' handles
// cleanly, FAILED, INTERNAL_ERROR, DELETING, DELETED or a service that is
// gone ends them with an error.
//
// While the service is otherwise running, each poll also reads SHOW
// SERVICE INSTANCES IN SERVICE name: a row per replica, with instance_id
// (its zero-based index, which is the group; a relaunch's one instance is
// its pinned group) and status (PENDING, READY, FAILED, TERMINATING,
// SUCCEEDED). A FAILED replica is its group's failure, which the handle
// reports as an orchestrator.FailureReporter: the orchestrator counts that
// worker lost at its next poll, not a heartbeat timeout later, kills the
// handle and relaunches the group, while the other replicas go on. A
// SUCCEEDED replica's handle ends cleanly (its worker exited 0). The
// statement needs MONITOR or OWNERSHIP on the service, which its creator
// has; should it fail, the launcher logs that once and falls back to
// DESCRIBE SERVICE and the heartbeats. Whether one failed replica also
// turns the whole job service FAILED is not documented; if it does, every
// handle ends with an error, as before. SHOW SERVICE CONTAINERS IN SERVICE
// has the same instance_id and instance_status per container, and more
// (restart count, last exit code) that one container per replica does not
// need.
//
// Stop is `DROP SERVICE IF EXISTS name`,
// sent when the orchestrator terminates its workers after STOP and the
// grace period. Kill ends one replica's handle and drops the service only
// when it is a one-replica service: a lost worker is one replica of
// several, and the others go on.
//
// Job services do not restart a failed container, so the launcher is not
// orchestrator.SelfRestarting: the orchestrator relaunches a lost group
// itself, and the launcher runs it as a one-replica job service
// (UNISTORE_<RUN_ID>_G<g>_R<k>) whose specification pins the group and
// attempt in the container's environment (UNISTORE_GROUP,
// UNISTORE_ATTEMPT).
//
// # The specification and the worker
//
// One container, the worker image, running `unistore worker --run-id ID
// --join-wait 2×heartbeat_timeout` with no --group: the worker takes its
// group from UNISTORE_GROUP when the specification sets it, else from
// SNOWFLAKE_JOB_INDEX, the replica's zero-based index (SNOWFLAKE_JOBS_COUNT
// is the number of replicas). Those two variables appear in Snowflake's ML
// jobs samples, not in its SQL reference: the explicit UNISTORE_GROUP is
// the fallback that does not depend on them. Resources come from the
// spec's `resources:` (cpu and memory requested, memory limited).
//
// The specification is statement text: Snowflake keeps it in
// QUERY_HISTORY. So no secret goes into it. A Snowflake store or target
// DSN is rewritten (WorkerDSN) to log in with the service's OAuth token —
// `snowflake:///DB/SCHEMA?authenticator=oauth&tokenFilePath=/snowflake/session/token&warehouse=WH`
// — keeping database, schema and warehouse and dropping user, password,
// key and role (the session runs as the service user with the service's
// owner role, which needs DML on the store's tables). Inside the
// container, package driver/snowflake takes the host from SNOWFLAKE_HOST
// (and SNOWFLAKE_PORT) and the account from SNOWFLAKE_ACCOUNT (and
// SNOWFLAKE_DATABASE / SNOWFLAKE_SCHEMA for what the DSN leaves out), and
// gosnowflake reads the token file at every login, so a token Snowflake
// renews in place is picked up by every new connection (the path is a DSN
// parameter, so tests point it elsewhere). Any other target DSN must hold
// no secret (a PostgreSQL target outside Snowflake also needs an external
// access integration, which this launcher does not set up). The store
// must be a Snowflake one.
//
// # Sources
//
//   - EXECUTE JOB SERVICE (syntax, ASYNC, REPLICAS, parameter order):
//     https://docs.snowflake.com/sql-reference/sql/execute-job-service
//   - Connecting from a container (OAuth token in /snowflake/session/token,
//     SNOWFLAKE_HOST, SNOWFLAKE_ACCOUNT, SNOWFLAKE_DATABASE,
//     SNOWFLAKE_SCHEMA):
//     https://docs.snowflake.com/en/developer-guide/snowpark-container-services/spcs-execute-sql
//     and https://docs.snowflake.com/en/developer-guide/snowpark-container-services/additional-considerations-services-jobs
//   - SHOW SERVICE INSTANCES IN SERVICE (instance_id, status):
//     https://docs.snowflake.com/en/sql-reference/sql/show-service-instances-in-service
//     (the search corpus held its pt page:
//     https://docs.snowflake.com/pt/sql-reference/sql/show-service-instances-in-service),
//     its service_status column (2025_02 bundle):
//     https://docs.snowflake.com/release-notes/bcr-bundles/2025_02/bcr-1915,
//     and SHOW SERVICE CONTAINERS IN SERVICE:
//     https://docs.snowflake.com/sql-reference/sql/show-service-containers-in-service
//   - DESCRIBE SERVICE's status values:
//     https://docs.snowflake.com/en/release-notes/bcr-bundles/2024_04/bcr-1596
//   - Jobs, async execution and cleanup:
//     https://docs.snowflake.com/en/developer-guide/snowpark-container-services/working-with-jobs
//     and https://hashtagfail.com/posts/2025/03/11/spcs-async-jobs
//
// The tests run the statements against the project's emulator with the
// real gosnowflake driver: the emulator records EXECUTE JOB SERVICE,
// answers DESCRIBE SERVICE with a status a test sets, SHOW SERVICE
// INSTANCES IN SERVICE with a row per replica (a status a test sets, else
// one that follows the service's), and DROP SERVICE removes it; it accepts OAuth logins. Nothing there runs a container.
package spcs
