-- Table jobs (README.md, "Table jobs"): create_job backfills the target in
-- the background workers and keeps it in sync with inserts and updates.
-- Not in a transaction: the workers see only committed rows. Targets are
-- compared with embed() of the row's current input, within 1e-5 per element
-- (a batch's forward pass sums in another order than a single row's; two
-- different inputs differ by more than 1e-2).
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
SET check_function_bodies = off;
DROP TABLE IF EXISTS jobs_docs, jobs_pairs, jobs_parts, jobs_path, jobs_path_log CASCADE;
DROP FUNCTION IF EXISTS jobs_shout(text), jobs_path_logger();
CREATE FUNCTION pg_temp.near(a real[], b real[]) RETURNS boolean LANGUAGE sql AS
    'SELECT array_length(a, 1) = array_length(b, 1) AND (SELECT max(abs(x - y)) FROM unnest(a, b) u(x, y)) < 1e-5';
-- rows whose target is not embed(input) of the row now
CREATE FUNCTION pg_temp.wrong_docs() RETURNS bigint LANGUAGE sql AS $$
    SELECT count(*) FROM jobs_docs
     WHERE CASE WHEN body IS NULL THEN emb IS NOT NULL
                ELSE emb IS NULL OR NOT pg_temp.near(emb, embed(title || ': ' || body)) END
$$;
SELECT plan(32);

CREATE TABLE jobs_docs (id bigint PRIMARY KEY, title text NOT NULL, body text, views integer DEFAULT 0);
INSERT INTO jobs_docs SELECT g, 'Title ' || g, 'A sentence about topic ' || g || repeat(' and more', g % 7)
  FROM generate_series(1, 150) g;
UPDATE jobs_docs SET body = NULL WHERE id % 50 = 0;

SELECT lives_ok($$SELECT transformer.create_job('jobs_docs_emb', 'jobs_docs',
                     input => 'title || '': '' || jobs_docs.body', target => 'emb', batch_rows => 16)$$,
                'create_job with an expression input');
SELECT is((SELECT format_type(atttypid, atttypmod) FROM pg_attribute
            WHERE attrelid = 'jobs_docs'::regclass AND attname = 'emb'), 'real[]',
          'the missing target column is created as real[]');
SELECT is((SELECT (name, owner::text, source::text, task, model, target)::text FROM transformer.jobs WHERE name = 'jobs_docs_emb'),
          ('jobs_docs_emb', current_user, 'jobs_docs', 'embed', 'bert-minilm', 'emb')::text,
          'the jobs view names the job, its owner, source, task, default model and target');
SELECT ok(transformer.wait_job('jobs_docs_emb', '2 minutes'), 'wait_job: the backfill finishes');
SELECT is(pg_temp.wrong_docs(), 0::bigint, 'every target equals embed(input), NULL for a NULL input');
SELECT is((SELECT (state, rows_done, rows_pending, rows_failed, rows_computed)::text FROM transformer.jobs WHERE name = 'jobs_docs_emb'),
          ('idle', 150, 0, 0, 147)::text,
          'the view: idle, 150 rows done, none pending or failed, 147 computed (the NULL inputs take no forward pass)');
SELECT cmp_ok((SELECT batches FROM transformer.jobs WHERE name = 'jobs_docs_emb'), '>=', 10::bigint,
              'batches of 16 rows: at least 10 for 147 rows');

-- sync: inserts, updates of the input, updates of other columns
INSERT INTO jobs_docs VALUES (1001, 'New', 'A freshly inserted row'), (1002, 'New', NULL);
UPDATE jobs_docs SET body = 'An updated body' WHERE id IN (3, 4);
UPDATE jobs_docs SET title = 'Retitled' WHERE id = 5;
UPDATE jobs_docs SET body = NULL WHERE id = 6;
UPDATE jobs_docs SET body = 'Now it has a body' WHERE id = 50;
SELECT ok(transformer.wait_job('jobs_docs_emb', '1 minute'), 'wait_job after inserts and updates');
SELECT is(pg_temp.wrong_docs(), 0::bigint, 'inserted and updated rows follow their new input');
SELECT is((SELECT rows_computed FROM transformer.jobs WHERE name = 'jobs_docs_emb'), 147::bigint + 5,
          'exactly the 5 rows with a new non-NULL input were computed again');
UPDATE jobs_docs SET views = views + 1;
UPDATE jobs_docs SET body = body WHERE id < 20;
SELECT ok(transformer.wait_job('jobs_docs_emb', '1 minute'), 'wait_job after updates that change no input');
SELECT is((SELECT rows_computed FROM transformer.jobs WHERE name = 'jobs_docs_emb'), 152::bigint,
          'updates of other columns, or to the same input, compute nothing');
DELETE FROM jobs_docs WHERE id BETWEEN 100 AND 109;
SELECT is((SELECT rows_done FROM transformer.jobs WHERE name = 'jobs_docs_emb'), 142::bigint,
          'deleted rows leave the counts at once');

-- a bulk insert in one statement, and many concurrent-looking small ones
INSERT INTO jobs_docs SELECT g, 'Bulk', 'Bulk row ' || g FROM generate_series(2001, 2100) g;
SELECT ok(transformer.wait_job('jobs_docs_emb', '2 minutes'), 'wait_job after a bulk insert');
SELECT is(pg_temp.wrong_docs(), 0::bigint, 'bulk-inserted rows are filled');

-- a composite primary key, pgvector target, a column input
CREATE TABLE jobs_pairs (lang text, n integer, sentence text, PRIMARY KEY (lang, n));
INSERT INTO jobs_pairs SELECT l, g, l || ' sentence ' || g FROM unnest(ARRAY['en', 'fr', 'de']) l, generate_series(1, 30) g;
SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'vector') AS has_vector,
       NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'vector') AS vector_ours \gset
\if :has_vector
CREATE EXTENSION IF NOT EXISTS vector;
SELECT lives_ok($$SELECT transformer.create_job('jobs_pairs_vec', 'jobs_pairs', 'sentence',
                     target => 'v', options => '{"target_type": "vector"}')$$,
                'create_job writing a vector column');
SELECT is((SELECT format_type(atttypid, atttypmod) FROM pg_attribute
            WHERE attrelid = 'jobs_pairs'::regclass AND attname = 'v'), 'vector(384)',
          'created as vector(n), n the model''s dimensions');
SELECT ok(transformer.wait_job('jobs_pairs_vec', '2 minutes'), 'the vector job finishes');
SELECT is((SELECT count(*) FROM jobs_pairs WHERE (v <=> embed(sentence)::vector) < 1e-6), 90::bigint,
          'every vector equals embed(sentence) (cosine distance below 1e-6)');
CREATE INDEX ON jobs_pairs USING hnsw (v vector_cosine_ops);
INSERT INTO jobs_pairs VALUES ('it', 1, 'A man is riding a bicycle.');
SELECT ok(transformer.wait_job('jobs_pairs_vec', '1 minute'), 'a row inserted under an HNSW index is filled');
SET enable_seqscan = off;
SELECT is((SELECT lang FROM jobs_pairs ORDER BY v <=> embed('A man is riding a bicycle.')::vector LIMIT 1), 'it',
          'and found through the HNSW index over the job''s target');
RESET enable_seqscan;
SELECT lives_ok($$SELECT transformer.drop_job('jobs_pairs_vec')$$, 'drop the vector job');
\else
SELECT skip('pgvector is not installed', 7);
\endif
-- an existing real[] target with a composite key
ALTER TABLE jobs_pairs ADD COLUMN e real[];
SELECT lives_ok($$SELECT transformer.create_job('jobs_pairs_emb', 'jobs_pairs', 'sentence', target => 'e')$$,
                'create_job into an existing real[] column, composite primary key');
SELECT ok(transformer.wait_job('jobs_pairs_emb', '2 minutes'), 'wait_job for the composite key');
SELECT is((SELECT count(*) FROM jobs_pairs WHERE pg_temp.near(e, embed(sentence))), (SELECT count(*) FROM jobs_pairs),
          'every row of the composite key is filled');

-- the input and the table's own triggers see the search_path create_job saw:
-- a function of the caller's schema, a trigger writing to an unqualified table
CREATE FUNCTION jobs_shout(t text) RETURNS text LANGUAGE sql IMMUTABLE AS 'SELECT upper(t)';
CREATE TABLE jobs_path (id integer PRIMARY KEY, body text, e real[]);
CREATE TABLE jobs_path_log (id integer);
CREATE FUNCTION jobs_path_logger() RETURNS trigger LANGUAGE plpgsql AS
    'BEGIN INSERT INTO jobs_path_log VALUES (NEW.id); RETURN NEW; END';
CREATE TRIGGER jobs_path_log AFTER UPDATE OF e ON jobs_path FOR EACH ROW EXECUTE FUNCTION jobs_path_logger();
INSERT INTO jobs_path SELECT g, 'quiet row ' || g FROM generate_series(1, 10) g;
SELECT lives_ok($$SELECT transformer.create_job('jobs_path_emb', 'jobs_path', 'jobs_shout(body)', target => 'e')$$,
                'an input calling a function found through the caller''s search_path');
SELECT ok(transformer.wait_job('jobs_path_emb', '1 minute'), 'wait_job for it');
SELECT is((SELECT count(*) FROM jobs_path WHERE pg_temp.near(e, embed(upper(body)))), 10::bigint,
          'the input is evaluated with that search_path');
SELECT is((SELECT count(*) FROM jobs_path_log), 10::bigint,
          'and the table''s own triggers, fired by the job''s writes, with it too');
SELECT transformer.drop_job('jobs_path_emb');
DROP TABLE jobs_path, jobs_path_log;
DROP FUNCTION jobs_shout(text), jobs_path_logger();

-- a partitioned table: rows inserted into a partition directly, or moved to
-- another partition by an update of their key, are captured too
CREATE TABLE jobs_parts (id integer PRIMARY KEY, body text) PARTITION BY RANGE (id);
CREATE TABLE jobs_parts_1 PARTITION OF jobs_parts FOR VALUES FROM (0) TO (100);
CREATE TABLE jobs_parts_2 PARTITION OF jobs_parts FOR VALUES FROM (100) TO (200);
INSERT INTO jobs_parts SELECT g, 'Partitioned row ' || g FROM generate_series(1, 150) g;
SELECT transformer.create_job('jobs_parts_emb', 'jobs_parts', 'body', target => 'e');
SELECT ok(transformer.wait_job('jobs_parts_emb', '2 minutes'), 'a job on a partitioned table');
UPDATE jobs_parts SET body = 'Edited' WHERE id = 5;
UPDATE jobs_parts SET id = 160, body = 'Moved across partitions' WHERE id = 6;
INSERT INTO jobs_parts_2 VALUES (199, 'Inserted into a partition directly');
CREATE TABLE jobs_parts_3 PARTITION OF jobs_parts FOR VALUES FROM (200) TO (300);
INSERT INTO jobs_parts VALUES (250, 'In a partition attached after the job');
SELECT ok(transformer.wait_job('jobs_parts_emb', '1 minute'), 'wait_job after changes in the partitions');
SELECT is((SELECT count(*) FROM jobs_parts WHERE pg_temp.near(e, embed(body))), 152::bigint,
          'every row is filled, whatever partition it went to and how');
SELECT transformer.drop_job('jobs_parts_emb');
DROP TABLE jobs_parts;
SELECT transformer.drop_job('jobs_docs_emb'), transformer.drop_job('jobs_pairs_emb');
DROP TABLE jobs_docs, jobs_pairs;
-- pgvector's cosine_distance() would shadow ours in the other test files
\if :vector_ours
DROP EXTENSION IF EXISTS vector;
\endif
SELECT * FROM finish();
