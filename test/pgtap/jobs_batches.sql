-- A job's batches are bounded by rows (batch_rows) and by input tokens
-- (batch_tokens, counted by the model's tokenizer, at least one row a
-- batch): the number of forward passes follows from the inputs' token
-- counts (bounds that hold whichever of the two workers takes a batch),
-- and every target is right whatever the split.
-- Not in a transaction: the workers see only committed rows. A check never
-- shares a statement with wait_job().
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
SET check_function_bodies = off;
SELECT transformer.drop_job(name) FROM transformer.jobs WHERE name LIKE 'bat\_%';
DROP TABLE IF EXISTS bat_docs CASCADE;
CREATE FUNCTION pg_temp.near(a real[], b real[]) RETURNS boolean LANGUAGE sql AS
    'SELECT array_length(a, 1) = array_length(b, 1) AND (SELECT max(abs(x - y)) FROM unnest(a, b) u(x, y)) < 1e-5';
CREATE FUNCTION pg_temp.batches(job_name text) RETURNS bigint LANGUAGE sql AS
    'SELECT batches FROM transformer.jobs WHERE name = job_name';
-- all input tokens of the table
CREATE FUNCTION pg_temp.tokens() RETURNS bigint LANGUAGE sql AS
    'SELECT sum((SELECT count(*) FROM tokenize(body))) FROM bat_docs';
SELECT plan(12);

-- 40 rows of 5 to about 200 tokens, in several scripts
CREATE TABLE bat_docs (id integer PRIMARY KEY, body text);
INSERT INTO bat_docs
SELECT g, repeat(CASE g % 4 WHEN 0 THEN 'A short sentence. ' WHEN 1 THEN 'Ein Mann fährt Fahrrad. '
                             WHEN 2 THEN 'Ελληνικά κείμενα εδώ. ' ELSE '日本語の文章です。' END, 1 + (g * 7) % 23)
  FROM generate_series(1, 40) g;
SELECT cmp_ok((SELECT max((SELECT count(*) FROM tokenize(body))) FROM bat_docs), '>', 60::bigint,
              '(some inputs are long: more than 60 tokens)');

SELECT transformer.create_job('bat_emb', 'bat_docs', 'body', target => 'emb', batch_rows => 16, batch_tokens => 300);
SELECT ok(transformer.wait_job('bat_emb', '2 minutes'), 'a job with batch_tokens 300 settles');
-- no input has 300 tokens, so every batch holds at most 300: at least
-- tokens / 300 batches, more than the 3 that 16 rows a batch would need
SELECT cmp_ok(ceil(pg_temp.tokens() / 300.0)::bigint, '>', 3::bigint, '(300 tokens bind before 16 rows do)');
SELECT cmp_ok(pg_temp.batches('bat_emb'), '>=', ceil(pg_temp.tokens() / 300.0)::bigint,
              'no forward pass took more than 300 tokens');
SELECT batches AS before_one FROM transformer.jobs WHERE name = 'bat_emb' \gset
SELECT is((SELECT count(*) FROM bat_docs WHERE pg_temp.near(emb, embed(body))), 40::bigint, 'every target is right');

SELECT transformer.alter_job('bat_emb', batch_tokens => 1);
UPDATE bat_docs SET body = body || ' Again.';
SELECT ok(transformer.wait_job('bat_emb', '2 minutes'), 'batch_tokens 1 (below any one input) ...');
SELECT is(pg_temp.batches('bat_emb') - :before_one, 40::bigint,
          '... computes each row alone: 40 more forward passes');
SELECT is((SELECT count(*) FROM bat_docs WHERE pg_temp.near(emb, embed(body))), 40::bigint, 'every target is right again');

SELECT transformer.alter_job('bat_emb', batch_tokens => 1000000, batch_rows => 7);
UPDATE bat_docs SET body = body || ' Once more.';
SELECT ok(transformer.wait_job('bat_emb', '2 minutes'), 'a large token budget ...');
SELECT is(pg_temp.batches('bat_emb') - :before_one - 40, 6::bigint,
          '... leaves batch_rows (7) the limit: 6 forward passes for 40 rows');

SELECT throws_ok($$SELECT transformer.alter_job('bat_emb', batch_tokens => 0)$$, '22023', NULL,
                 'batch_tokens 0 is refused');
SELECT throws_ok($$SELECT transformer.create_job('bat_two', 'bat_docs', 'body', target => 'emb2', batch_tokens => -5)$$,
                 '22023', NULL, 'a negative batch_tokens is refused');

SELECT transformer.drop_job('bat_emb');
SELECT * FROM finish();
DROP TABLE bat_docs CASCADE;
