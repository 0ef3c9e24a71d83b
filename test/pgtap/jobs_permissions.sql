-- Table jobs and roles: only the table's owner (or a member of the owning
-- role) creates or changes a job on it, and everything the job does to the
-- table (the triggers, the backfill, the writes, the input expression) runs
-- with the owner's rights, never the worker's superuser ones.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
DROP TABLE IF EXISTS jobs_perm CASCADE;
DROP ROLE IF EXISTS jobs_alice, jobs_bob, jobs_alice_team;
CREATE ROLE jobs_alice;
CREATE ROLE jobs_bob;
CREATE ROLE jobs_alice_team;
GRANT jobs_alice TO jobs_alice_team;
GRANT USAGE, CREATE ON SCHEMA public TO jobs_alice;
SELECT plan(15);

SET ROLE jobs_alice;
CREATE TABLE jobs_perm (id integer PRIMARY KEY, body text);
INSERT INTO jobs_perm SELECT g, 'Owned row ' || g FROM generate_series(1, 20) g;
GRANT SELECT, INSERT, UPDATE ON jobs_perm TO jobs_bob;
RESET ROLE;

SET ROLE jobs_bob;
SELECT throws_ok($$SELECT transformer.create_job('jobs_perm_emb', 'jobs_perm', 'body')$$, '42501',
                 'must be owner of table public.jobs_perm', 'a role that does not own the table cannot create a job on it');
RESET ROLE;
SET ROLE jobs_alice_team;
SELECT lives_ok($$SELECT transformer.create_job('jobs_perm_emb', 'jobs_perm', $i$body || ' by ' || current_user$i$)$$,
                'a member of the owning role can');
RESET ROLE;
SELECT is((SELECT owner::text FROM transformer.jobs WHERE name = 'jobs_perm_emb'), 'jobs_alice',
          'the job belongs to the table''s owner');
SELECT ok(transformer.wait_job('jobs_perm_emb', '1 minute'), 'the backfill finishes');
SELECT is((SELECT count(*) FROM jobs_perm
            WHERE (SELECT max(abs(a - b)) FROM unnest(jobs_perm_emb, embed(body || ' by jobs_alice')) u(a, b)) < 1e-5),
          20::bigint, 'the worker evaluated the input as the owner (current_user = jobs_alice)');

SELECT id AS perm_job FROM transformer.job WHERE name = 'jobs_perm_emb' \gset
SET ROLE jobs_bob;
SELECT throws_ok($$SELECT transformer.pause_job('jobs_perm_emb')$$, '42501', NULL, 'another role cannot pause it');
SELECT throws_ok($$SELECT transformer.drop_job('jobs_perm_emb')$$, '42501', NULL, '... nor drop it');
SELECT throws_ok($$CALL transformer.run_job('jobs_perm_emb')$$, '42501', NULL, '... nor run it');
SELECT is((SELECT count(*) FROM transformer.jobs WHERE name = 'jobs_perm_emb'), 0::bigint,
          'nor see it in the jobs view');
SELECT throws_ok($$SELECT * FROM transformer.job$$, '42501', NULL, 'the catalog table is not readable');
SELECT throws_ok(format('SELECT transformer.job_%s_process(ARRAY[]::jsonb[], %L, %L, 1)', :perm_job, 'x', '{}'),
                 '42501', NULL, 'nor are the job''s functions callable');
-- bob's writes to alice's table are captured (the triggers run as alice)
INSERT INTO jobs_perm VALUES (100, 'Written by bob');
UPDATE jobs_perm SET body = 'Changed by bob' WHERE id = 1;
RESET ROLE;
SELECT ok(transformer.wait_job('jobs_perm_emb', '1 minute'), 'rows another role wrote are computed');
SELECT is((SELECT count(*) FROM jobs_perm
            WHERE (SELECT max(abs(a - b)) FROM unnest(jobs_perm_emb, embed(body || ' by jobs_alice')) u(a, b)) < 1e-5),
          21::bigint, 'still with the owner''s rights');

-- the owner without UPDATE on her own table: the job cannot write either
SET ROLE jobs_alice;
REVOKE UPDATE ON jobs_perm FROM jobs_alice;
INSERT INTO jobs_perm VALUES (101, 'Cannot be written');
RESET ROLE;
SELECT ok(transformer.wait_job('jobs_perm_emb', '1 minute'), 'wait_job: only a failed row is left');
SELECT is((SELECT error FROM transformer.job_errors WHERE job = 'jobs_perm_emb'), 'permission denied for table jobs_perm',
          'the worker has only the owner''s rights: the write is refused');

SELECT transformer.drop_job('jobs_perm_emb');
DROP TABLE jobs_perm;
REVOKE ALL ON SCHEMA public FROM jobs_alice;
DROP ROLE jobs_alice_team, jobs_bob, jobs_alice;
SELECT * FROM finish();
