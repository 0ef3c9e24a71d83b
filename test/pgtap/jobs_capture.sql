-- How a job captures inserted rows (src/pg_job_capture.c): keys buffered by
-- a BEFORE row trigger and recorded per statement as arrays, in the writing
-- transaction. Checked here: what is recorded (savepoints, exception blocks,
-- ON CONFLICT, COPY, composite and text keys, keys set by other triggers, a
-- generated key), that every recorded row is computed with its current
-- input, that no row is computed for nothing, and the errors.
-- Not in a transaction: the workers see only committed rows. A check never
-- shares a statement with wait_job().
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
SET check_function_bodies = off;
SELECT transformer.drop_job(name) FROM transformer.jobs WHERE name LIKE 'cap\_%';
DROP TABLE IF EXISTS cap_docs, cap_multi, cap_gen, cap_keyed CASCADE;
DROP SEQUENCE IF EXISTS cap_keyed_seq;
CREATE FUNCTION pg_temp.near(a real[], b real[]) RETURNS boolean LANGUAGE sql AS
    'SELECT array_length(a, 1) = array_length(b, 1) AND (SELECT max(abs(x - y)) FROM unnest(a, b) u(x, y)) < 1e-5';
CREATE FUNCTION pg_temp.job(job text) RETURNS transformer.jobs LANGUAGE sql AS
    'SELECT * FROM transformer.jobs WHERE name = job';
-- the keys recorded for job `job` and not yet queued, in order
CREATE FUNCTION pg_temp.recorded(job_name text) RETURNS bigint[] LANGUAGE plpgsql AS $$
DECLARE r bigint[];
BEGIN
    EXECUTE format('SELECT coalesce(array_agg(k ORDER BY k), ''{}'') FROM transformer.%I, unnest(id) k',
                   (SELECT format('job_%s_inserted', id) FROM transformer.job j WHERE j.name = job_name)) INTO r;
    RETURN r;
END $$;
CREATE FUNCTION pg_temp.statements(job_name text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE n bigint;
BEGIN
    EXECUTE format('SELECT count(*) FROM transformer.%I',
                   (SELECT format('job_%s_inserted', id) FROM transformer.job j WHERE j.name = job_name)) INTO n;
    RETURN n;
END $$;
SELECT plan(35);

CREATE TABLE cap_docs (id bigint PRIMARY KEY, body text, note text);
INSERT INTO cap_docs SELECT g, 'Sentence ' || g FROM generate_series(1, 20) g;
SELECT transformer.create_job('cap_emb', 'cap_docs', 'body', target => 'emb', batch_rows => 16);
SELECT ok(transformer.wait_job('cap_emb', '1 minute'), 'the backfill finishes');
SELECT transformer.pause_job('cap_emb');

-- what is recorded, paused (nothing moves to the queue)
INSERT INTO cap_docs SELECT g, 'Bulk ' || g FROM generate_series(101, 1100) g;
SELECT is(pg_temp.statements('cap_emb'), 1::bigint, 'a 1,000-row INSERT is recorded as one row ...');
SELECT is(pg_temp.recorded('cap_emb'), ARRAY(SELECT generate_series(101, 1100)::bigint),
          '... holding exactly its 1,000 keys');
SELECT is((pg_temp.job('cap_emb')).rows_pending, 1000::bigint, 'rows_pending counts recorded rows');
INSERT INTO cap_docs SELECT g, 'Empty' FROM generate_series(1, 0) g;
SELECT is(pg_temp.statements('cap_emb'), 1::bigint, 'an INSERT of no row records nothing');

BEGIN;
INSERT INTO cap_docs VALUES (2001, 'kept before the savepoint');
SAVEPOINT s;
INSERT INTO cap_docs VALUES (2002, 'rolled back');
ROLLBACK TO SAVEPOINT s;
SAVEPOINT t;
INSERT INTO cap_docs VALUES (2003, 'kept in a released savepoint');
RELEASE SAVEPOINT t;
COMMIT;
BEGIN;
INSERT INTO cap_docs VALUES (2004, 'rolled back with its transaction');
ROLLBACK;
SELECT is(pg_temp.recorded('cap_emb') @> ARRAY[2001, 2003]::bigint[] AND NOT pg_temp.recorded('cap_emb') && ARRAY[2002, 2004]::bigint[],
          true, 'savepoints: keys of rolled-back inserts are not recorded, the others are');

-- an exception block inside the statement: its insert rolls back, the
-- statement's own rows are kept
CREATE FUNCTION pg_temp.body_with_side_insert(g bigint) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    BEGIN
        INSERT INTO cap_docs VALUES (g + 10000, 'side row, then an error');
        RAISE EXCEPTION 'undo the side row';
    EXCEPTION WHEN raise_exception THEN
        NULL;
    END;
    INSERT INTO cap_docs VALUES (g + 20000, 'side row kept');
    RETURN 'Main row ' || g;
END $$;
INSERT INTO cap_docs SELECT g, pg_temp.body_with_side_insert(g) FROM generate_series(3001, 3003) g;
SELECT is((SELECT array_agg(k ORDER BY k) FROM unnest(pg_temp.recorded('cap_emb')) k WHERE k > 3000),
          ARRAY[3001, 3002, 3003, 23001, 23002, 23003]::bigint[],
          'an exception block''s rolled-back insert is dropped; the statement''s rows and the kept side rows are recorded');
SELECT is((SELECT count(*) FROM cap_docs WHERE id > 13000 AND id < 14000), 0::bigint, '(the side rows were rolled back)');

-- COPY
COPY cap_docs (id, body) FROM STDIN;
4001	Copied one
4002	Copied two
\.
SELECT ok(pg_temp.recorded('cap_emb') @> ARRAY[4001, 4002]::bigint[], 'COPY FROM is recorded');

-- ON CONFLICT: DO NOTHING over existing rows, DO UPDATE keeping or changing the input
INSERT INTO cap_docs SELECT g, 'Never stored ' || g FROM generate_series(1, 10) g ON CONFLICT DO NOTHING;
INSERT INTO cap_docs SELECT g, 'Sentence ' || g, 'a note' FROM generate_series(11, 15) g
    ON CONFLICT (id) DO UPDATE SET body = excluded.body, note = excluded.note;
INSERT INTO cap_docs SELECT g, 'Sentence ' || g || ' changed' FROM generate_series(16, 18) g
    ON CONFLICT (id) DO UPDATE SET body = excluded.body;
SELECT ok(NOT pg_temp.recorded('cap_emb') && ARRAY(SELECT generate_series(11, 18)::bigint),
          'ON CONFLICT DO UPDATE: the keys leave the insert record (the UPDATE trigger takes over)');
SELECT is((SELECT count(*) FROM cap_docs WHERE id <= 20 AND emb IS NOT NULL), 20::bigint, '(the first 20 rows were computed)');

SELECT is((pg_temp.job('cap_emb')).rows_computed, 20::bigint, '20 rows computed before resuming');
SELECT transformer.resume_job('cap_emb');
SELECT ok(transformer.wait_job('cap_emb', '2 minutes'), 'the resumed job settles');
SELECT is(pg_temp.statements('cap_emb'), 0::bigint, 'every record was moved to the queue');
SELECT is((SELECT count(*) FROM cap_docs WHERE NOT pg_temp.near(emb, embed(body))), 0::bigint,
          'every row''s target equals embed() of its current input');
-- computed after resuming: 1,000 bulk + 2001, 2003 + 3001-3003, 23001-23003
-- + 4001, 4002 + 16-18 (input changed); not 1-10 (DO NOTHING) nor 11-15
-- (DO UPDATE with the same input)
SELECT is((pg_temp.job('cap_emb')).rows_computed - 20, 1013::bigint,
          'exactly the inserted rows and the changed inputs were computed (1,013), no skipped or unchanged row');

-- a live job: inserts are computed, the record empties
INSERT INTO cap_docs SELECT g, 'Live ' || g FROM generate_series(5001, 5040) g;
SELECT ok(transformer.wait_job('cap_emb', '1 minute'), 'a live job takes new inserts');
SELECT is((SELECT count(*) FROM cap_docs WHERE id BETWEEN 5001 AND 5040 AND pg_temp.near(emb, embed(body))), 40::bigint,
          'and computes them');

-- a row deleted and inserted again before it is computed: computed once, with its last input
SELECT transformer.pause_job('cap_emb');
INSERT INTO cap_docs VALUES (6001, 'First version');
DELETE FROM cap_docs WHERE id = 6001;
INSERT INTO cap_docs VALUES (6001, 'Second version');
SELECT transformer.resume_job('cap_emb');
SELECT ok(transformer.wait_job('cap_emb', '1 minute'), 'delete and insert again: settles');
SELECT ok((SELECT pg_temp.near(emb, embed('Second version')) FROM cap_docs WHERE id = 6001),
          'the row gets the embedding of its second version');

-- keys set by another BEFORE trigger: fires before ours (name order)
CREATE TABLE cap_keyed (id bigint PRIMARY KEY, body text);
CREATE SEQUENCE cap_keyed_seq START 500;
CREATE FUNCTION pg_temp.set_key() RETURNS trigger LANGUAGE plpgsql AS
    $$ BEGIN NEW.id := coalesce(NEW.id, nextval('cap_keyed_seq')); RETURN NEW; END $$;
CREATE TRIGGER set_key BEFORE INSERT ON cap_keyed FOR EACH ROW EXECUTE FUNCTION pg_temp.set_key();
SELECT transformer.create_job('cap_keyed_emb', 'cap_keyed', 'body', target => 'emb');
INSERT INTO cap_keyed (body) VALUES ('Keyed by a trigger'), ('Keyed again');
SELECT ok(transformer.wait_job('cap_keyed_emb', '1 minute'), 'a key set by the table''s own BEFORE trigger ...');
SELECT is((SELECT count(*) FROM cap_keyed WHERE pg_temp.near(emb, embed(body))), 2::bigint, '... is captured');
CREATE TRIGGER zzz_late_key BEFORE INSERT ON cap_keyed FOR EACH ROW EXECUTE FUNCTION pg_temp.set_key();
DROP TRIGGER set_key ON cap_keyed;
SELECT throws_like($$INSERT INTO cap_keyed (body) VALUES ('Key set after the capture')$$,
                   '%has no primary key yet%', 'a key set only by a trigger firing after the capture: a clear error');
SELECT is((SELECT count(*) FROM cap_keyed), 2::bigint, '(and the insert changed nothing)');
DROP TRIGGER zzz_late_key ON cap_keyed;

-- composite keys with text
CREATE TABLE cap_multi (lang text, n integer, body text, PRIMARY KEY (lang, n));
SELECT transformer.create_job('cap_multi_emb', 'cap_multi', 'body', target => 'emb');
INSERT INTO cap_multi SELECT l, g, l || ' text ' || g FROM unnest(ARRAY['de', 'en', 'ελληνικά', '日本語']) l,
                                                        generate_series(1, 9) g;
SELECT ok(transformer.wait_job('cap_multi_emb', '1 minute'), 'a composite text key ...');
SELECT is((SELECT count(*) FROM cap_multi WHERE pg_temp.near(emb, embed(body))), 36::bigint, '... is captured and computed');

-- a generated key: no BEFORE trigger sees it; the statement trigger records it
CREATE TABLE cap_gen (n integer NOT NULL, id bigint GENERATED ALWAYS AS (n * 10) STORED PRIMARY KEY, body text);
SELECT transformer.create_job('cap_gen_emb', 'cap_gen', 'body', target => 'emb');
SELECT is((SELECT count(*) FROM pg_trigger WHERE tgrelid = 'cap_gen'::regclass AND tgname LIKE 'zz_job_%'), 0::bigint,
          'a generated key: no C capture trigger');
INSERT INTO cap_gen (n, body) SELECT g, 'Generated ' || g FROM generate_series(1, 12) g;
SELECT ok(transformer.wait_job('cap_gen_emb', '1 minute'), 'a generated key ...');
SELECT is((SELECT count(*) FROM cap_gen WHERE pg_temp.near(emb, embed(body))), 12::bigint, '... is captured and computed');

-- the capture's triggers disabled one without the other: the insert is refused, nothing is lost
ALTER TABLE cap_docs DISABLE TRIGGER USER;
INSERT INTO cap_docs VALUES (7001, 'Not captured: all triggers off (replication-like)');
ALTER TABLE cap_docs ENABLE TRIGGER USER;
SELECT is((SELECT count(*) FROM cap_docs WHERE id = 7001), 1::bigint, 'with every trigger disabled, inserts still work');
SELECT format('ALTER TABLE cap_docs DISABLE TRIGGER job_%s_flush', id) AS disable_flush
  FROM transformer.job WHERE name = 'cap_emb' \gset
:disable_flush;
SELECT throws_like($$INSERT INTO cap_docs VALUES (7002, 'flush trigger off')$$,
                   '%its trigger job_%_flush does not fire%', 'the flush trigger alone disabled: the insert is refused');
SELECT is((SELECT count(*) FROM cap_docs WHERE id = 7002), 0::bigint, '(and the row is not there)');
SELECT throws_ok($$SELECT transformer._job_capture_flush()$$, '39P01', NULL, 'the capture functions are triggers only');

-- idle workers sleep on their latch (a safety-net round every 10 s): over
-- 15 looks 0.1 s apart, a worker's activity changes a few times at most
-- (a worker looking for work every millisecond changes it at every look)
CREATE FUNCTION pg_temp.worker_activity_changes() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE changes bigint;
BEGIN
    CREATE TEMP TABLE looks (pid integer, state_change timestamptz);
    FOR i IN 1..15 LOOP
        PERFORM pg_stat_clear_snapshot();
        INSERT INTO looks SELECT pid, state_change FROM pg_stat_activity
         WHERE backend_type = 'transformer job worker' AND datname = current_database();
        PERFORM pg_sleep(0.1);
    END LOOP;
    SELECT coalesce(max(n), 0) INTO changes
      FROM (SELECT count(DISTINCT state_change) AS n FROM looks GROUP BY pid) c;
    DROP TABLE looks;
    RETURN changes;
END $$;
SELECT cmp_ok(pg_temp.worker_activity_changes(), '<=', 4::bigint,
              'settled jobs: idle workers do not look for work again and again (no polling)');

SELECT transformer.drop_job('cap_emb');
SELECT is((SELECT count(*) FROM pg_trigger WHERE tgrelid = 'cap_docs'::regclass AND NOT tgisinternal), 0::bigint,
          'drop_job removes every trigger of the job');
SELECT transformer.drop_job('cap_keyed_emb');
SELECT transformer.drop_job('cap_multi_emb');
SELECT transformer.drop_job('cap_gen_emb');
SELECT * FROM finish();
DROP TABLE cap_docs, cap_multi, cap_gen, cap_keyed CASCADE;
DROP SEQUENCE IF EXISTS cap_keyed_seq;
