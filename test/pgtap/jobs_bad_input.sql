-- Table jobs: everything a user can get wrong is refused with a clear error
-- (SQLSTATE and message checked), and changes nothing.
\set ON_ERROR_STOP 1
BEGIN;
SET LOCAL client_min_messages = warning;
SELECT plan(38);
CREATE TABLE jobs_bad (id integer PRIMARY KEY, body text, n integer, t text, e real[]);
CREATE TABLE jobs_bad_nopk (body text);
CREATE VIEW jobs_bad_view AS SELECT * FROM jobs_bad;
SELECT count(*) AS columns_before FROM pg_attribute WHERE attrelid = 'jobs_bad'::regclass AND attnum > 0 AND NOT attisdropped \gset

CREATE FUNCTION pg_temp.refused(args text, state text, message text, what text) RETURNS text LANGUAGE sql AS
    $$ SELECT throws_ok(format('SELECT transformer.create_job(%s)', args), state, message, what) $$;

SELECT pg_temp.refused($$'j', 'jobs_nosuch', 'body'$$, '42P01', 'relation "jobs_nosuch" does not exist', 'an unknown table');
SELECT pg_temp.refused($$'j', 'jobs_bad_view', 'body'$$, '42809', '"public.jobs_bad_view" is not a table', 'a view');
SELECT pg_temp.refused($$'j', 'jobs_bad_nopk', 'body'$$, '42P16', 'table public.jobs_bad_nopk has no primary key', 'a table without a primary key');
SELECT pg_temp.refused($$'j', 'jobs_bad', 'nosuch'$$, '42703', 'column "nosuch" does not exist', 'an unknown column');
SELECT pg_temp.refused($$'j', 'jobs_bad', 'n'$$, '42804', 'job input must be text, not integer', 'an input that is not text');
SELECT pg_temp.refused($$'j', 'jobs_bad', 'body + 1'$$, '42883', NULL, 'an input that does not type-check');
SELECT pg_temp.refused($$'j', 'jobs_bad', 'body ||'$$, '42601', NULL, 'an input that does not parse');
SELECT pg_temp.refused($$'j', 'jobs_bad', 'body || random()::text'$$, '22023', 'job input may not call volatile functions', 'a volatile input');
SELECT pg_temp.refused($$'j', 'jobs_bad', 'body; DROP TABLE jobs_bad'$$, '22023', 'job input is not one expression', 'a second statement');
SELECT pg_temp.refused($$'j', 'jobs_bad', 'body FROM jobs_bad'$$, '22023', 'job input is not one expression', 'a FROM clause');
SELECT pg_temp.refused($$'j', 'jobs_bad', 'body) FROM jobs_bad --'$$, '42601', NULL, 'an unbalanced parenthesis');
SELECT pg_temp.refused($$'j', 'jobs_bad', 'body AS x'$$, '22023', 'job input is not one expression', 'an alias');
SELECT pg_temp.refused($$'j', 'jobs_bad', '(SELECT body)'$$, '22023', 'job input may not contain a subquery, an aggregate, a window or a set-returning function', 'a subquery');
SELECT pg_temp.refused($$'j', 'jobs_bad', 'max(body)'$$, '22023', NULL, 'an aggregate');
SELECT pg_temp.refused($$'j', 'jobs_bad', '''constant'''$$, '22023', 'job input reads no column of the table', 'a constant');
SELECT pg_temp.refused($$'j', 'jobs_bad', 'jobs_bad::text'$$, '22023', 'job input may not read the whole row', 'the whole row');
SELECT pg_temp.refused($$'j', 'jobs_bad', 'ctid::text'$$, '22023', 'job input may not read system columns', 'a system column');
SELECT pg_temp.refused($$'j', 'jobs_bad', 'body', task => 'summarize'$$, '22023', 'unknown task "summarize"', 'an unknown task');
SELECT pg_temp.refused($$'j', 'jobs_bad', 'body', model => 'nosuch'$$, '42704', 'model "nosuch" is not loaded', 'an unknown model');
SELECT pg_temp.refused($$'j', 'jobs_bad', 'body', model => 'marian-ende-size'$$, '42809', NULL, 'a translation model for embed');
SELECT pg_temp.refused($$'j', 'jobs_bad', 'body', task => 'translate', model => 'bert-minilm'$$, '42809', NULL, 'an embedding model for translate');
SELECT pg_temp.refused($$'j', 'jobs_bad', 'body', target => 'n'$$, '42804', 'target column "n" is of type integer, but an embed job writes real[] or vector', 'an integer target');
SELECT pg_temp.refused($$'j', 'jobs_bad', 'body', target => 't'$$, '42804', NULL, 'a text target for embed');
SELECT pg_temp.refused($$'j', 'jobs_bad', 'body', target => 'e', task => 'translate'$$, '42804', 'target column "e" is of type real[], but a translate job writes text', 'a real[] target for translate');
SELECT pg_temp.refused($$'j', 'jobs_bad', 'body', target => 'body'$$, '22023', NULL, 'the input column as target');
SELECT pg_temp.refused($$'j', 'jobs_bad', 'body', target => 'id'$$, '22023', NULL, 'a key column as target');
SELECT pg_temp.refused($$'j', 'jobs_bad', 'body', batch_rows => 0$$, '22023', 'batch_rows must be between 1 and 10000, not 0', 'batch_rows 0');
SELECT pg_temp.refused($$'j', 'jobs_bad', 'body', batch_rows => 100001$$, '22023', NULL, 'batch_rows too large');
SELECT pg_temp.refused($$'j', 'jobs_bad', 'body', options => '{"num_beams": 2}'$$, '22023', 'unknown option num_beams for embed jobs', 'a translate option on an embed job');
SELECT pg_temp.refused($$'j', 'jobs_bad', 'body', task => 'translate', options => '{"num_beams": -1}'$$, '22023', NULL, 'a negative num_beams');
SELECT pg_temp.refused($$'j', 'jobs_bad', 'body', task => 'translate', options => '{"num_beams": 1000}'$$, '22023', NULL, 'num_beams out of range');
SELECT pg_temp.refused($$'j', 'jobs_bad', 'body', options => '[1]'$$, '22023', 'job options must be a JSON object', 'options that are not an object');
SELECT pg_temp.refused($$'j', 'jobs_bad', 'body', options => '{"target_type": "float"}'$$, '22023', NULL, 'an unknown target_type');
SELECT pg_temp.refused($$NULL, 'jobs_bad', 'body'$$, '22004', NULL, 'a NULL name');

SELECT is((SELECT count(*) FROM pg_attribute WHERE attrelid = 'jobs_bad'::regclass AND attnum > 0 AND NOT attisdropped),
          :columns_before::bigint, 'no refused call added a column');
SELECT transformer.create_job('jobs_bad_ok', 'jobs_bad', 'body');
SELECT throws_ok($$SELECT transformer.create_job('jobs_bad_ok', 'jobs_bad', 'body', target => 'other')$$, '42710',
                 'job "jobs_bad_ok" already exists', 'an existing job name');
SELECT throws_ok($$SELECT transformer.alter_job('jobs_bad_ok', model => 'nosuch')$$, '42704', NULL, 'alter_job: an unknown model');
SELECT throws_ok($$SELECT transformer.pause_job('jobs_nosuch')$$, '42704', 'job "jobs_nosuch" does not exist', 'an unknown job');
SELECT * FROM finish();
ROLLBACK;
