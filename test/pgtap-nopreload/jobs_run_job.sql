-- Without shared_preload_libraries there is no background worker: CALL
-- transformer.run_job() does a job's work in the foreground, a transaction
-- per batch, and can be stopped and called again. Not in a transaction:
-- run_job commits.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
SET check_function_bodies = off;
DROP TABLE IF EXISTS jobs_fg CASCADE;
CREATE TABLE jobs_fg (id integer PRIMARY KEY, body text);
INSERT INTO jobs_fg SELECT g, 'Foreground row ' || g FROM generate_series(1, 100) g;
CREATE FUNCTION pg_temp.wrong() RETURNS bigint LANGUAGE sql AS $$
    SELECT count(*) FROM jobs_fg
     WHERE emb IS NULL OR (SELECT max(abs(a - b)) FROM unnest(emb, embed(body)) u(a, b)) >= 1e-5
$$;
SELECT plan(10);
SELECT transformer.create_job('jobs_fg_emb', 'jobs_fg', 'body', target => 'emb', batch_rows => 16);
SELECT throws_ok($$SELECT transformer.wait_job('jobs_fg_emb')$$, '55000', 'no background worker runs jobs here',
                 'wait_job says there is no worker (and hints at run_job)');
SELECT pg_sleep(0.5);
SELECT is((SELECT (state, rows_done, rows_pending)::text FROM transformer.jobs WHERE name = 'jobs_fg_emb'),
          ('backfilling', 0, 100)::text, 'nothing runs the job by itself');
CALL transformer.run_job('jobs_fg_emb', max_rows => 40);
SELECT is((SELECT (state, rows_done, rows_pending, rows_computed, batches)::text FROM transformer.jobs WHERE name = 'jobs_fg_emb'),
          ('backfilling', 48, 52, 48, 3)::text, 'run_job with max_rows stops after whole batches (3 of 16 rows), committed');
-- a cancelled run keeps what it committed (a top-level CALL, since run_job
-- commits: a DO block catching the cancel would run it in a subtransaction,
-- where COMMIT is not allowed; its cancel error is expected)
\set ON_ERROR_STOP 0
SET statement_timeout = '1 ms';
CALL transformer.run_job('jobs_fg_emb');
RESET statement_timeout;
\set ON_ERROR_STOP 1
SELECT pass('a run stopped by statement_timeout');
SELECT cmp_ok((SELECT rows_done FROM transformer.jobs WHERE name = 'jobs_fg_emb'), '>=', 48::bigint,
              'keeps the rows committed before it');
CALL transformer.run_job('jobs_fg_emb');
SELECT is((SELECT (state, rows_done, rows_pending, rows_computed)::text FROM transformer.jobs WHERE name = 'jobs_fg_emb'),
          ('idle', 100, 0, 100)::text, 'called again, it finishes: no row computed twice');
SELECT is(pg_temp.wrong(), 0::bigint, 'every target equals embed(body)');
UPDATE jobs_fg SET body = 'Changed ' || id WHERE id <= 5;
INSERT INTO jobs_fg VALUES (200, 'Inserted');
SELECT is((SELECT rows_pending FROM transformer.jobs WHERE name = 'jobs_fg_emb'), 6::bigint,
          'changes are queued by the triggers');
CALL transformer.run_job('jobs_fg_emb');
SELECT is(pg_temp.wrong(), 0::bigint, 'run_job brings them up to date');
SELECT is((SELECT rows_computed FROM transformer.jobs WHERE name = 'jobs_fg_emb'), 106::bigint, 'computing only those 6');
SELECT transformer.drop_job('jobs_fg_emb');
DROP TABLE jobs_fg;
SELECT * FROM finish();
