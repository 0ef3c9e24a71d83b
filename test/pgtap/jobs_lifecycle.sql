-- Table jobs over their life: pause and resume, alter (the target is
-- recomputed), failed rows (alone, with attempts and back-off, then
-- retry_job), a model unloaded under a job, drop_job (triggers and state
-- go, the data stays), the table or a column dropped under a job.
-- Not in a transaction: the workers see only committed rows. A check never
-- shares a statement with wait_job(): it would see the statement's snapshot,
-- taken before the wait.
\getenv fixtures FIXTURES
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
SET check_function_bodies = off;
DROP TABLE IF EXISTS jobs_life, jobs_gone, jobs_col, jobs_stall CASCADE;
CREATE FUNCTION pg_temp.near(a real[], b real[]) RETURNS boolean LANGUAGE sql AS
    'SELECT array_length(a, 1) = array_length(b, 1) AND (SELECT max(abs(x - y)) FROM unnest(a, b) u(x, y)) < 1e-5';
CREATE FUNCTION pg_temp.wrong(model text) RETURNS bigint LANGUAGE sql AS
    'SELECT count(*) FROM jobs_life WHERE emb IS NULL OR NOT pg_temp.near(emb, embed(body, model))';
CREATE FUNCTION pg_temp.job(job text) RETURNS transformer.jobs LANGUAGE sql AS
    'SELECT * FROM transformer.jobs WHERE name = job';
SELECT plan(39);

CREATE TABLE jobs_life (id integer PRIMARY KEY, body text NOT NULL);
INSERT INTO jobs_life SELECT g, 'Row number ' || g FROM generate_series(1, 60) g;
SELECT transformer.create_job('jobs_life_emb', 'jobs_life', 'body', target => 'emb', batch_rows => 8);
SELECT ok(transformer.wait_job('jobs_life_emb', '1 minute'), 'the backfill finishes');

-- pause and resume
SELECT lives_ok($$SELECT transformer.pause_job('jobs_life_emb')$$, 'pause_job');
UPDATE jobs_life SET body = body || ' (edited)' WHERE id <= 10;
SELECT pg_sleep(1);
SELECT is((pg_temp.job('jobs_life_emb')).state, 'paused', 'a paused job says so');
SELECT is((pg_temp.job('jobs_life_emb')).rows_pending, 10::bigint,
          'while paused, changed rows are queued (10 pending) ...');
SELECT is((SELECT count(*) FROM jobs_life WHERE id <= 10 AND pg_temp.near(emb, embed(body))), 0::bigint,
          '... and not computed');
SELECT ok(NOT transformer.wait_job('jobs_life_emb', '200 ms'), 'wait_job times out on a paused job with work');
SELECT lives_ok($$SELECT transformer.resume_job('jobs_life_emb')$$, 'resume_job');
SELECT ok(transformer.wait_job('jobs_life_emb', '1 minute'), 'the resumed job catches up');
SELECT is(pg_temp.wrong('bert-minilm'), 0::bigint, 'every target equals embed(body) again');

-- alter: another model recomputes every row
SELECT transformer.load_model('jobs-bert-odd', :'fixtures' || '/bert-odd');
SELECT is((SELECT rows_computed FROM pg_temp.job('jobs_life_emb')), 70::bigint, '70 rows computed so far');
SELECT lives_ok($$SELECT transformer.alter_job('jobs_life_emb', model => 'jobs-bert-odd', batch_rows => 16)$$,
                'alter_job to another model');
SELECT ok(transformer.wait_job('jobs_life_emb', '1 minute'), 'the altered job finishes');
SELECT is(pg_temp.wrong('jobs-bert-odd'), 0::bigint, 'every target is recomputed with the new model');
SELECT is((SELECT (model, rows_computed)::text FROM pg_temp.job('jobs_life_emb')), ('jobs-bert-odd', 130)::text,
          'the view shows the new model, and 60 more rows computed');

-- failed rows: the input fails for rows whose body has 3 characters
SELECT transformer.drop_job('jobs_life_emb');
ALTER TABLE jobs_life DROP COLUMN emb;
UPDATE jobs_life SET body = 'bad' WHERE id IN (7, 30);
SELECT transformer.create_job('jobs_life_emb', 'jobs_life', $$body || (100 / (length(body) - 3))::text$$,
                              target => 'emb', batch_rows => 16);
SELECT ok(transformer.wait_job('jobs_life_emb', '1 minute'), 'wait_job returns once only failed rows are left');
SELECT is((SELECT count(*) FROM jobs_life WHERE id NOT IN (7, 30)
             AND pg_temp.near(emb, embed(body || (100 / (length(body) - 3))::text))), 58::bigint,
          'the other rows of the failing batches are written');
SELECT is((SELECT count(*) FROM jobs_life WHERE id IN (7, 30) AND emb IS NULL), 2::bigint,
          'the failing rows are not');
SELECT is((SELECT (rows_done, rows_pending, rows_failed, state)::text FROM pg_temp.job('jobs_life_emb')),
          (58, 0, 2, 'idle')::text, 'the view counts 58 done, 2 failed');
SELECT is((SELECT array_agg((key, error, attempts, next_retry)::text ORDER BY key::text) FROM transformer.job_errors WHERE job = 'jobs_life_emb'),
          ARRAY[('{"id": 30}', 'division by zero', 4, NULL)::text, ('{"id": 7}', 'division by zero', 4, NULL)::text],
          'job_errors: each failed row''s key and error, after 4 attempts, no further retry');
UPDATE jobs_life SET body = 'fixed now' WHERE id = 7;
SELECT ok(transformer.wait_job('jobs_life_emb', '1 minute'), 'wait_job after fixing one failed row''s input');
SELECT ok(pg_temp.near((SELECT emb FROM jobs_life WHERE id = 7), embed('fixed now' || (100 / 6)::text))
          AND (SELECT rows_failed FROM transformer.jobs WHERE name = 'jobs_life_emb') = 1,
          'an update of a failed row''s input makes it pending again, and it is written');
UPDATE jobs_life SET id = 1030 WHERE id = 30;
SELECT is(transformer.retry_job('jobs_life_emb'), 0::bigint, 'retry_job: a row whose key changed is queued anew');
SELECT ok(transformer.wait_job('jobs_life_emb', '1 minute'), 'wait_job after the key change');
SELECT is((SELECT array_agg(key::text) FROM transformer.job_errors WHERE job = 'jobs_life_emb'), ARRAY['{"id": 1030}'],
          'the row under its new key fails again on its own');

-- more failed rows than the backfill keeps queued ahead must not stall it
CREATE TABLE jobs_stall (id integer PRIMARY KEY, body text NOT NULL);
INSERT INTO jobs_stall SELECT g, CASE WHEN g <= 12 THEN 'bad' ELSE 'fine ' || g END FROM generate_series(1, 40) g;
SELECT transformer.create_job('jobs_stall_emb', 'jobs_stall', $$body || (100 / (length(body) - 3))::text$$,
                              batch_rows => 2);
SELECT ok(transformer.wait_job('jobs_stall_emb', '2 minutes'), 'a backfill whose first 12 rows fail finishes');
SELECT is((SELECT (rows_done, rows_pending, rows_failed)::text FROM transformer.jobs WHERE name = 'jobs_stall_emb'),
          (28, 0, 12)::text, 'with the 28 other rows done');
SELECT transformer.drop_job('jobs_stall_emb');
DROP TABLE jobs_stall;

-- a model unloaded under a job: rows fail, retry_job after loading it again
SELECT transformer.drop_job('jobs_life_emb');
UPDATE jobs_life SET body = 'good ' || id;
SELECT transformer.create_job('jobs_life_odd', 'jobs_life', 'body', target => 'emb_odd', model => 'jobs-bert-odd');
SELECT ok(transformer.wait_job('jobs_life_odd', '1 minute'), 'a job with a loaded model');
SELECT transformer.unload_model('jobs-bert-odd');
UPDATE jobs_life SET body = 'changed ' || id WHERE id <= 5;
SELECT ok(transformer.wait_job('jobs_life_odd', '1 minute'), 'wait_job with the model unloaded');
SELECT is((pg_temp.job('jobs_life_odd')).rows_failed, 5::bigint, 'with its model unloaded, the 5 changed rows fail');
SELECT transformer.load_model('jobs-bert-odd', :'fixtures' || '/bert-odd');
SELECT is(transformer.retry_job('jobs_life_odd'), 5::bigint, 'retry_job puts the 5 failed rows back');
SELECT ok(transformer.wait_job('jobs_life_odd', '1 minute'), 'wait_job after retry_job');
SELECT is((SELECT count(*) FROM jobs_life WHERE pg_temp.near(emb_odd, embed(body, 'jobs-bert-odd'))), 60::bigint,
          'and they are written once the model is back');

-- drop_job: triggers, queue and catalog row go; the data stays
SELECT transformer.drop_job('jobs_life_odd');
SELECT is((SELECT count(*) FROM pg_trigger WHERE tgrelid = 'jobs_life'::regclass), 0::bigint,
          'drop_job drops the job''s triggers');
SELECT is((SELECT count(*) FROM jobs_life WHERE emb_odd IS NOT NULL), 60::bigint, 'and keeps the targets');

-- the table dropped under a job; a column the input reads dropped
CREATE TABLE jobs_gone (id integer PRIMARY KEY, body text);
INSERT INTO jobs_gone SELECT g, 'gone ' || g FROM generate_series(1, 20) g;
SELECT transformer.create_job('jobs_gone_emb', 'jobs_gone', 'body');
DROP TABLE jobs_gone;
SELECT ok(NOT transformer.wait_job('jobs_gone_emb', '30 s'), 'wait_job: false for a job whose table was dropped');
SELECT is((SELECT (state, last_error)::text FROM transformer.jobs WHERE name = 'jobs_gone_emb'),
          ('broken', 'the source table was dropped')::text, 'the job is broken, and says why');
CREATE TABLE jobs_col (id integer PRIMARY KEY, a text, b text);
INSERT INTO jobs_col SELECT g, 'a' || g, 'b' || g FROM generate_series(1, 20) g;
SELECT transformer.create_job('jobs_col_emb', 'jobs_col', 'a || b');
SELECT throws_ok('ALTER TABLE jobs_col DROP COLUMN b', '2BP01', NULL,
                 'a column the input reads cannot be dropped while the job has it');
ALTER TABLE jobs_col DROP COLUMN b CASCADE;
INSERT INTO jobs_col VALUES (100, 'after');
SELECT ok(NOT transformer.wait_job('jobs_col_emb', '30 s'), 'wait_job: false for a broken job');
SELECT is((SELECT (state, last_error)::text FROM transformer.jobs WHERE name = 'jobs_col_emb'),
          ('broken', 'the job''s triggers on public.jobs_col were dropped (with a column the input reads?)')::text,
          'dropped with CASCADE: the job is broken, writes to the table go on');

SELECT transformer.drop_job('jobs_gone_emb'), transformer.drop_job('jobs_col_emb');
SELECT transformer.unload_model('jobs-bert-odd');
DROP TABLE jobs_life, jobs_col;
SELECT * FROM finish();
