-- pgvector for real: embed(x)::vector, jobs writing vector(n) targets, and an
-- HNSW index over a job's target. pgvector must be installed (test/run
-- installs it from vendor/ with scripts/install-vendored pgvector): without
-- it this file fails, it does not skip.
--
-- Not one transaction: a job's background worker must see the committed
-- table. Everything created here is dropped at the end.
\set ON_ERROR_STOP 1
SELECT plan(14);

SELECT ok(EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'vector'),
          'pgvector is installed (scripts/install-vendored pgvector)');
CREATE EXTENSION IF NOT EXISTS vector;

-- embed(x)::vector
SELECT is(vector_dims(embed('A man is riding a bicycle.')::vector), 384,
          'embed(x)::vector has the embedding''s dimensions');
SELECT is(embed('A man is riding a bicycle.')::vector::real[], embed('A man is riding a bicycle.'),
          'real[] -> vector -> real[] gives the embedding back exactly');
SELECT cmp_ok(abs((embed('a dog')::vector <=> embed('a cat')::vector)
                  - cosine_distance(embed('a dog'), embed('a cat'))), '<', 1e-6::float8,
              'pgvector''s <=> agrees with cosine_distance (1e-6)');

-- 200 distinct sentences (20 subjects x 10 actions), a NULL one, an empty one.
-- The HNSW index exists before the job fills the column: the worker's
-- writes maintain it.
CREATE TABLE pgv_docs (id integer PRIMARY KEY, body text, emb vector(384));
INSERT INTO pgv_docs (id, body)
SELECT 10 * s + a + 1,
       (ARRAY['A man', 'A woman', 'A dog', 'A cat', 'Two children', 'An old farmer', 'The pilot',
              'A girl in a red coat', 'Three students', 'A tired doctor', 'The orchestra', 'A horse',
              'My neighbour', 'A group of tourists', 'The chef', 'A little boy', 'The police officer',
              'A bird', 'Somebody', 'The team'])[s + 1]
       || ' ' ||
       (ARRAY['is riding a bicycle.', 'plays the guitar on a stage.', 'runs along the beach.',
              'is cooking dinner in a small kitchen.', 'reads a newspaper on the train.',
              'climbs a steep mountain.', 'is sleeping under a tree.', 'swims across the lake.',
              'paints a picture of the sea.', 'waits for the bus in the rain.'])[a + 1]
FROM generate_series(0, 19) AS s, generate_series(0, 9) AS a;
INSERT INTO pgv_docs (id, body) VALUES (1001, NULL), (1002, '');
CREATE INDEX pgv_docs_hnsw ON pgv_docs USING hnsw (emb vector_cosine_ops);

-- a job whose target exists as vector(384)
SELECT transformer.create_job('pgv_docs_emb', 'pgv_docs', input => 'body', target => 'emb',
                              model => 'bert-minilm');
-- a job that creates its vector target
SELECT transformer.create_job('pgv_docs_emb2', 'pgv_docs', input => 'body', target => 'emb2',
                              model => 'bert-minilm', options => '{"target_type": "vector"}');
SELECT ok(transformer.wait_job('pgv_docs_emb', '3 minutes') AND transformer.wait_job('pgv_docs_emb2', '3 minutes'),
          'both vector jobs finish their backfill');

-- A job embeds in batches: embed(text[]) differs from embed(text) by float
-- rounding (1e-7 here), so components are compared within 1e-5.
CREATE FUNCTION pg_temp.max_diff(a real[], b real[]) RETURNS real LANGUAGE sql AS $$
    SELECT CASE WHEN cardinality(a) = cardinality(b) THEN (SELECT max(abs(x - y)) FROM unnest(a, b) AS u(x, y)) END
$$;
SELECT is((SELECT count(*) FROM pgv_docs
           WHERE body IS NOT NULL AND coalesce(pg_temp.max_diff(emb::real[], embed(body)) > 1e-5, true)),
          0::bigint, 'a job writing vector(384): every target equals embed(input)::vector (1e-5)');
SELECT is((SELECT emb FROM pgv_docs WHERE id = 1001), NULL, 'a NULL input gives a NULL vector');
SELECT is(format_type(atttypid, atttypmod), 'vector(384)', 'options target_type vector creates a vector(384) target')
FROM pg_attribute WHERE attrelid = 'pgv_docs'::regclass AND attname = 'emb2';
SELECT is((SELECT count(*) FROM pgv_docs
           WHERE (emb2 IS NULL) <> (emb IS NULL) OR pg_temp.max_diff(emb2::real[], emb::real[]) > 1e-5), 0::bigint,
          'the created vector target holds the same vectors (1e-5)');

-- a target of the wrong dimension is refused at creation
ALTER TABLE pgv_docs ADD COLUMN emb3 vector(3);
SELECT throws_ok($$SELECT transformer.create_job('pgv_docs_emb3', 'pgv_docs', input => 'body', target => 'emb3',
                                                 model => 'bert-minilm')$$,
                 NULL, NULL, 'a vector(3) target for a 384-dimensional model is refused');

-- Nearest neighbours through the HNSW index, against the exact ones computed
-- without pgvector (cosine_distance over real[]), for queries not in the table.
CREATE TABLE pgv_queries (qid integer PRIMARY KEY, q real[]);
INSERT INTO pgv_queries
SELECT i, embed(s) FROM unnest(ARRAY['A man rides a bike.', 'Kids play music.', 'A dog sleeps in the rain.',
                                     'Somebody cooks.', 'A woman swims in a lake.', 'The team climbs.']) WITH ORDINALITY AS t(s, i);
ANALYZE pgv_docs;
SET enable_seqscan = off;
CREATE FUNCTION pg_temp.plan_of(query text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    line text;
    plan text := '';
BEGIN
    FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || query LOOP
        plan := plan || line || E'\n';
    END LOOP;
    RETURN plan;
END $$;
\set knn 'SELECT q.qid, (SELECT d.id FROM pgv_docs d ORDER BY d.emb <=> q.q::vector LIMIT 1) AS found FROM pgv_queries q'
SELECT matches(pg_temp.plan_of(:'knn'), 'Index Scan using pgv_docs_hnsw',
               'ORDER BY emb <=> q LIMIT 1 uses the HNSW index over the job''s target');
SELECT is((SELECT count(*) FROM (:knn) AS k
           WHERE k.found IS DISTINCT FROM
                 (SELECT d.id FROM pgv_docs d, pgv_queries q WHERE q.qid = k.qid AND d.body IS NOT NULL
                  ORDER BY cosine_distance(d.emb::real[], q.q) LIMIT 1)),
          0::bigint, 'the index''s nearest neighbour equals the exact one for each of 6 queries');
RESET enable_seqscan;

-- the job keeps the index right: a new row nearest to a query is found
INSERT INTO pgv_docs (id, body) VALUES (2001, 'A man rides a bike.');
SELECT ok(transformer.wait_job('pgv_docs_emb', '1 minute'), 'the job fills an inserted row');
SET enable_seqscan = off;
SELECT is((SELECT d.id FROM pgv_docs d ORDER BY d.emb <=> (SELECT q FROM pgv_queries WHERE qid = 1)::vector LIMIT 1),
          2001, 'the inserted row, the query''s own text, is now its nearest neighbour through the index');
RESET enable_seqscan;

SELECT transformer.drop_job('pgv_docs_emb');
SELECT transformer.drop_job('pgv_docs_emb2');
DROP TABLE pgv_docs, pgv_queries;
SELECT * FROM finish();
