/*
 * pg_job_worker.c: the background workers that run table jobs (with
 * shared_preload_libraries), and the wake-up that brings them new work.
 *
 * One launcher (a static background worker, connected to no database: it
 * reads only the shared catalog pg_database) starts up to
 * transformer.max_job_workers dynamic workers, each connected to one
 * database. The launcher knows which databases want workers from shared
 * memory: at its start every database that allows connections is wanted
 * (a worker started there looks for jobs, and leaves when there is none);
 * later, _job_wake() (called by create_job, resume_job, the job triggers,
 * and each backfill step) marks its database wanted when its transaction
 * commits. Free worker slots go round-robin to the wanted databases; with
 * more databases that have active jobs than workers, the extra ones wait
 * until a worker leaves.
 *
 * A worker runs, in its own transactions, the SQL steps of sql/10_jobs.sql:
 * _job_next() picks the next job with work it can take, _job_expand_step()
 * queues the keys of recorded inserts (pg_job_capture.c), _job_feed_step()
 * moves backfill keys into the job's queue, _job_batch_step() computes and
 * writes one batch. With nothing to do it sleeps on its latch, which
 * _job_wake() sets at the commit of a transaction that queued work; the
 * timeout (60 s, or the next retry of a failed row) is only a safety net.
 *
 * Locking: JobShared.mutex (a spinlock) guards everything in JobShared;
 * it is held only to read or write a few fields, never across a call.
 */
#include "postgres.h"

#include <limits.h>

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/pg_database.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "pg_transformer.h"

#define JOB_MAX_DATABASES 128
#define JOB_IDLE_TIMEOUT_MS 10000	/* safety net: a worker looks again this often */
#define JOB_IDLE_LEAVE_MS 30000		/* a worker idle this long (no retry due) leaves */
#define JOB_ERROR_PAUSE_MS 1000		/* after an unexpected error in a worker */

/* A database and whether it wants workers. */
typedef struct JobDatabase
{
	Oid			dboid;			/* InvalidOid: a free entry */
	bool		wanted;
	uint64		wakes;			/* counts _job_wake commits: a worker that found
								 * no job leaves it unwanted only when no wake
								 * came in between */
} JobDatabase;

/* A worker slot; workers[i] is started with bgw_main_arg i. */
typedef struct JobWorkerSlot
{
	bool		in_use;			/* set by the launcher when it starts one */
	Oid			dboid;
	pid_t		pid;			/* 0 until the worker has attached */
	Latch	   *latch;			/* NULL until the worker has attached */
} JobWorkerSlot;

typedef struct JobShared
{
	slock_t		mutex;
	Latch	   *launcher_latch;
	JobDatabase databases[JOB_MAX_DATABASES];
	JobWorkerSlot workers[FLEXIBLE_ARRAY_MEMBER];	/* [max_job_workers] */
} JobShared;

static int	max_job_workers_setting = 2;	/* transformer.max_job_workers */
static JobShared *job_shared = NULL;
static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

/* This transaction called _job_wake(): wake this database's workers at commit. */
static bool wake_at_commit = false;

PGDLLEXPORT void pgtf_job_launcher_main(Datum arg);
PGDLLEXPORT void pgtf_job_worker_main(Datum arg);

PG_FUNCTION_INFO_V1(job_wake);
PG_FUNCTION_INFO_V1(job_workers_available);

static Size
job_shared_size(void)
{
	return add_size(offsetof(JobShared, workers),
					mul_size(sizeof(JobWorkerSlot), max_job_workers_setting));
}

static void
job_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(job_shared_size());
}

static void
job_shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	job_shared = ShmemInitStruct("transformer jobs", job_shared_size(), &found);
	if (!found)
	{
		memset(job_shared, 0, job_shared_size());
		SpinLockInit(&job_shared->mutex);
	}
	LWLockRelease(AddinShmemInitLock);
}

void
pgtf_jobs_init(void)
{
	BackgroundWorker worker;

	DefineCustomIntVariable("transformer.max_job_workers",
							"Background workers that run table jobs.",
							"Needs shared_preload_libraries; 0 runs jobs only with CALL transformer.run_job().",
							&max_job_workers_setting, 2, 0, 64,
							/* a variable defined after start may not be PGC_POSTMASTER */
							process_shared_preload_libraries_in_progress ? PGC_POSTMASTER : PGC_SUSET,
							0, NULL, NULL, NULL);
	if (!process_shared_preload_libraries_in_progress || max_job_workers_setting == 0)
		return;
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = job_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = job_shmem_startup;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = 5;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "transformer");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "pgtf_job_launcher_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "transformer job launcher");
	snprintf(worker.bgw_type, BGW_MAXLEN, "transformer job launcher");
	RegisterBackgroundWorker(&worker);
}

/* ------------------------------------------------------------ wake-ups */

/* Mark `dboid` wanted (under the mutex); false when the table is full. */
static bool
mark_wanted(Oid dboid)
{
	JobDatabase *free_entry = NULL;

	for (int i = 0; i < JOB_MAX_DATABASES; i++)
	{
		JobDatabase *d = &job_shared->databases[i];

		if (d->dboid == dboid)
		{
			d->wanted = true;
			d->wakes++;
			return true;
		}
		if (d->dboid == InvalidOid && free_entry == NULL)
			free_entry = d;
	}
	if (free_entry == NULL)
		return false;
	free_entry->dboid = dboid;
	free_entry->wanted = true;
	free_entry->wakes = 1;
	return true;
}

/* At commit of a transaction that called _job_wake(): set the latches of
 * this database's workers, or the launcher's when it has none yet. */
static void
job_xact_callback(XactEvent event, void *arg)
{
	bool		has_worker = false;
	Latch	   *launcher;

	if (event != XACT_EVENT_COMMIT && event != XACT_EVENT_ABORT &&
		event != XACT_EVENT_PARALLEL_COMMIT && event != XACT_EVENT_PARALLEL_ABORT)
		return;
	if (!wake_at_commit)
		return;
	wake_at_commit = false;
	if (event != XACT_EVENT_COMMIT || job_shared == NULL)
		return;
	SpinLockAcquire(&job_shared->mutex);
	mark_wanted(MyDatabaseId);
	for (int i = 0; i < max_job_workers_setting; i++)
	{
		JobWorkerSlot *w = &job_shared->workers[i];

		if (w->in_use && w->dboid == MyDatabaseId && w->latch != NULL)
		{
			SetLatch(w->latch);
			has_worker = true;
		}
	}
	launcher = job_shared->launcher_latch;
	SpinLockRelease(&job_shared->mutex);
	if (!has_worker && launcher != NULL)
		SetLatch(launcher);
}

/* Wake this database's job workers when the current transaction commits
 * (nothing when it aborts, nothing without preloading). */
void
pgtf_job_wake_at_commit(void)
{
	static bool registered = false;

	if (job_shared == NULL)
		return;
	if (!registered)
	{
		RegisterXactCallback(job_xact_callback, NULL);
		registered = true;
	}
	wake_at_commit = true;
}

/* _job_wake() RETURNS void: pgtf_job_wake_at_commit() from SQL. */
Datum
job_wake(PG_FUNCTION_ARGS)
{
	pgtf_job_wake_at_commit();
	PG_RETURN_VOID();
}

/* _job_workers_available() RETURNS boolean: are there background workers
 * for jobs (preloaded, max_job_workers > 0, the launcher running)? */
Datum
job_workers_available(PG_FUNCTION_ARGS)
{
	bool		running;

	if (job_shared == NULL)
		PG_RETURN_BOOL(false);
	SpinLockAcquire(&job_shared->mutex);
	running = job_shared->launcher_latch != NULL;
	SpinLockRelease(&job_shared->mutex);
	PG_RETURN_BOOL(running);
}

/* ------------------------------------------------------------ launcher */

/* Every database that allows connections is wanted at the launcher's start. */
static void
want_every_database(void)
{
	Relation	rel;
	TableScanDesc scan;
	HeapTuple	tup;

	StartTransactionCommand();
	rel = table_open(DatabaseRelationId, AccessShareLock);
	scan = table_beginscan_catalog(rel, 0, NULL);
	while ((tup = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		Form_pg_database db = (Form_pg_database) GETSTRUCT(tup);

		/* a worker in a template would block CREATE DATABASE */
		if (!db->datallowconn || db->datistemplate)
			continue;
		SpinLockAcquire(&job_shared->mutex);
		mark_wanted(db->oid);
		SpinLockRelease(&job_shared->mutex);
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	CommitTransactionCommand();
}

/* Can a worker still connect to `dboid` (not dropped, connections
 * allowed, not a template)? */
static bool
database_connectable(Oid dboid)
{
	HeapTuple	tup;
	bool		connectable = false;

	StartTransactionCommand();
	tup = SearchSysCache1(DATABASEOID, ObjectIdGetDatum(dboid));
	if (HeapTupleIsValid(tup))
	{
		Form_pg_database db = (Form_pg_database) GETSTRUCT(tup);

		connectable = db->datallowconn && !db->datistemplate;
		ReleaseSysCache(tup);
	}
	CommitTransactionCommand();
	return connectable;
}

/* Start one worker for `dboid` in slot `i`; false when the postmaster has
 * no background worker slot free. */
static bool
start_worker(int i, Oid dboid, BackgroundWorkerHandle **handle)
{
	BackgroundWorker worker;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = BGW_NEVER_RESTART;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "transformer");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "pgtf_job_worker_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "transformer job worker");
	snprintf(worker.bgw_type, BGW_MAXLEN, "transformer job worker");
	worker.bgw_main_arg = Int32GetDatum(i);
	memcpy(worker.bgw_extra, &dboid, sizeof(Oid));
	worker.bgw_notify_pid = MyProcPid;

	SpinLockAcquire(&job_shared->mutex);
	job_shared->workers[i].in_use = true;
	job_shared->workers[i].dboid = dboid;
	job_shared->workers[i].pid = 0;
	job_shared->workers[i].latch = NULL;
	SpinLockRelease(&job_shared->mutex);
	if (RegisterDynamicBackgroundWorker(&worker, handle))
		return true;
	SpinLockAcquire(&job_shared->mutex);
	job_shared->workers[i].in_use = false;
	SpinLockRelease(&job_shared->mutex);
	return false;
}

/*
 * Free the slots of workers that stopped (handles[max_job_workers], this
 * launcher's), then give each free slot to the wanted database with the
 * fewest workers. `next_db` carries the round-robin turn over calls.
 */
static void
balance_workers(BackgroundWorkerHandle **handles, int *next_db)
{
	for (int i = 0; i < max_job_workers_setting; i++)
	{
		pid_t		pid;

		if (handles[i] != NULL && GetBackgroundWorkerPid(handles[i], &pid) == BGWH_STOPPED)
		{
			pfree(handles[i]);
			handles[i] = NULL;
			SpinLockAcquire(&job_shared->mutex);
			job_shared->workers[i].in_use = false;
			job_shared->workers[i].latch = NULL;
			SpinLockRelease(&job_shared->mutex);
		}
	}
	for (int i = 0; i < max_job_workers_setting; i++)
	{
		Oid			dboid = InvalidOid;
		int			best = -1,
					best_serving = INT_MAX;

		if (handles[i] != NULL)
			continue;
		/* the wanted database with the fewest workers, round-robin on ties */
		SpinLockAcquire(&job_shared->mutex);
		for (int k = 0; k < JOB_MAX_DATABASES; k++)
		{
			int			idx = (*next_db + k) % JOB_MAX_DATABASES;
			JobDatabase *d = &job_shared->databases[idx];
			int			serving = 0;

			if (d->dboid == InvalidOid || !d->wanted)
				continue;
			for (int j = 0; j < max_job_workers_setting; j++)
				if (job_shared->workers[j].in_use && job_shared->workers[j].dboid == d->dboid)
					serving++;
			if (serving < best_serving)
			{
				best = idx;
				best_serving = serving;
			}
		}
		if (best >= 0)
		{
			dboid = job_shared->databases[best].dboid;
			*next_db = (best + 1) % JOB_MAX_DATABASES;
		}
		SpinLockRelease(&job_shared->mutex);
		if (dboid == InvalidOid)
			break;
		if (!database_connectable(dboid))
		{
			/* dropped (or closed) since it was wanted: its workers would
			 * fail to connect, again and again; forget it, and look again
			 * for this slot */
			SpinLockAcquire(&job_shared->mutex);
			job_shared->databases[best].dboid = InvalidOid;
			job_shared->databases[best].wanted = false;
			SpinLockRelease(&job_shared->mutex);
			i--;
			continue;
		}
		if (!start_worker(i, dboid, &handles[i]))
			break;
	}
}

void
pgtf_job_launcher_main(Datum arg)
{
	BackgroundWorkerHandle **handles;
	int			next_db = 0;

	pqsignal(SIGTERM, die);
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);
	handles = MemoryContextAllocZero(TopMemoryContext,
									 sizeof(BackgroundWorkerHandle *) * max_job_workers_setting);
	SpinLockAcquire(&job_shared->mutex);
	for (int i = 0; i < max_job_workers_setting; i++)
		job_shared->workers[i].in_use = false;
	job_shared->launcher_latch = MyLatch;
	SpinLockRelease(&job_shared->mutex);
	want_every_database();

	for (;;)
	{
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		balance_workers(handles, &next_db);
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 JOB_IDLE_TIMEOUT_MS, PG_WAIT_EXTENSION);
	}
}

/* ------------------------------------------------------------- workers */

static int	my_slot = -1;

/* On exit: the slot's latch is no longer ours to set. */
static void
worker_detach(int code, Datum arg)
{
	SpinLockAcquire(&job_shared->mutex);
	job_shared->workers[my_slot].latch = NULL;
	job_shared->workers[my_slot].pid = 0;
	SpinLockRelease(&job_shared->mutex);
}

/* The wake count of this worker's database (under the mutex). */
static uint64
database_wakes(void)
{
	uint64		wakes = 0;

	SpinLockAcquire(&job_shared->mutex);
	for (int i = 0; i < JOB_MAX_DATABASES; i++)
		if (job_shared->databases[i].dboid == MyDatabaseId)
			wakes = job_shared->databases[i].wakes;
	SpinLockRelease(&job_shared->mutex);
	return wakes;
}

/* Leave this database unwanted, unless a wake came in since `wakes` was read:
 * then returns false, and the worker stays. */
static bool
leave_database(uint64 wakes)
{
	bool		left = true;

	SpinLockAcquire(&job_shared->mutex);
	for (int i = 0; i < JOB_MAX_DATABASES; i++)
	{
		JobDatabase *d = &job_shared->databases[i];

		if (d->dboid != MyDatabaseId)
			continue;
		if (d->wakes != wakes)
			left = false;
		else
			d->wanted = false;
	}
	SpinLockRelease(&job_shared->mutex);
	return left;
}

/* Run `sql` (one SQL function call that returns one row) in a transaction
 * of its own; its first column as int8 into *value (NULL: *isnull), its
 * second (when asked) into *second. */
static void
run_step(const char *sql, int64 *value, bool *isnull, int64 *second)
{
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	SPI_connect();
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, sql);
	if (SPI_execute(sql, false, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "transformer job worker: %s returned no row", sql);
	if (value != NULL)
	{
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, isnull);

		*value = *isnull ? 0 : DatumGetInt64(d);
	}
	if (second != NULL)
	{
		bool		null2;
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &null2);

		*second = null2 ? JOB_IDLE_TIMEOUT_MS : DatumGetInt64(d);
	}
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	pgstat_report_stat(false);
	pgstat_report_activity(STATE_IDLE, NULL);
}

/*
 * One round: the next job with work after `*after` (round-robin), one
 * expand step (recorded inserts into the queue), one feed step and one
 * batch of it. Returns the milliseconds to sleep (0: look
 * again at once; JOB_IDLE_TIMEOUT_MS: no retry is due either), or -1 when
 * this database has no active job.
 */
static long
worker_round(int64 *after)
{
	int64		job,
				wait_ms,
				installed;
	bool		none;
	char	   *sql;

	run_step("SELECT count(*) FROM pg_extension WHERE extname = 'transformer'", &installed, &none, NULL);
	if (installed == 0)
		return -1;
	run_step(psprintf("SELECT job, wait_ms FROM transformer._job_next(%lld)", (long long) *after),
			 &job, &none, &wait_ms);
	if (none)
		return (long) wait_ms;
	if (job < 0)
		return -1;
	*after = job;
	sql = psprintf("SELECT transformer._job_expand_step(%lld)", (long long) job);
	run_step(sql, NULL, NULL, NULL);
	sql = psprintf("SELECT transformer._job_feed_step(%lld)", (long long) job);
	run_step(sql, NULL, NULL, NULL);
	sql = psprintf("SELECT transformer._job_batch_step(%lld)", (long long) job);
	run_step(sql, NULL, NULL, NULL);
	return 0;
}

void
pgtf_job_worker_main(Datum arg)
{
	Oid			dboid;
	int64		after = 0;
	TimestampTz idle_since = GetCurrentTimestamp();
	MemoryContext round_context;

	my_slot = DatumGetInt32(arg);
	memcpy(&dboid, MyBgworkerEntry->bgw_extra, sizeof(Oid));
	pqsignal(SIGTERM, die);
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnectionByOid(dboid, InvalidOid, 0);
	SpinLockAcquire(&job_shared->mutex);
	job_shared->workers[my_slot].pid = MyProcPid;
	job_shared->workers[my_slot].latch = MyLatch;
	SpinLockRelease(&job_shared->mutex);
	on_shmem_exit(worker_detach, (Datum) 0);
	round_context = AllocSetContextCreate(TopMemoryContext, "transformer job round",
										  ALLOCSET_DEFAULT_SIZES);

	for (;;)
	{
		uint64		wakes = database_wakes();
		long		sleep_ms = JOB_ERROR_PAUSE_MS;

		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		MemoryContextSwitchTo(round_context);
		PG_TRY();
		{
			sleep_ms = worker_round(&after);
		}
		PG_CATCH();
		{
			/* a cancel, or an error no step caught: report it, roll back,
			 * and look again after a pause (never a busy loop) */
			MemoryContextSwitchTo(round_context);
			EmitErrorReport();
			FlushErrorState();
			AbortCurrentTransaction();
			pgstat_report_activity(STATE_IDLE, NULL);
		}
		PG_END_TRY();
		MemoryContextSwitchTo(TopMemoryContext);
		MemoryContextReset(round_context);
		if (sleep_ms != JOB_IDLE_TIMEOUT_MS)
			idle_since = GetCurrentTimestamp();

		/*
		 * No active job, or idle for long with no retry due: leave the slot
		 * to another database (and DROP DATABASE free to go); the next
		 * _job_wake() here has the launcher start a worker again.
		 */
		if (sleep_ms < 0 ||
			TimestampDifferenceExceeds(idle_since, GetCurrentTimestamp(), JOB_IDLE_LEAVE_MS))
		{
			if (leave_database(wakes))
				proc_exit(0);
			idle_since = GetCurrentTimestamp();
			continue;
		}
		if (sleep_ms > 0)
			(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
							 Min(sleep_ms, JOB_IDLE_TIMEOUT_MS), PG_WAIT_EXTENSION);
	}
}
