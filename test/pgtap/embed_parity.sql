-- Embeddings through SQL against the PyTorch reference (test/reference/bert.py):
-- every fixture sentence, one at a time and batched, max abs difference <= 1e-4;
-- token ids from tokenize() identical to the reference tokenizer's.
\getenv fixtures FIXTURES
\set ON_ERROR_STOP 1
BEGIN;
SELECT plan(14);

CREATE TEMP TABLE pm AS SELECT pg_postmaster_start_time() AS started;

-- sentence i and its reference lines ("ids ...", "emb ...") per fixture
CREATE FUNCTION pg_temp.fixture_cases(dir text)
RETURNS TABLE(ord bigint, sentence text, ids int[], emb float8[]) LANGUAGE sql AS $$
    WITH s AS (
        SELECT t.ord, t.line FROM string_to_table(pg_read_file(dir || '/sentences.txt'), E'\n')
            WITH ORDINALITY AS t(line, ord)),
    r AS (
        SELECT t.ord, t.line FROM string_to_table(pg_read_file(dir || '/reference.txt'), E'\n')
            WITH ORDINALITY AS t(line, ord))
    SELECT s.ord, s.line,
           string_to_array(substr(ri.line, 5), ' ')::int[],
           string_to_array(substr(re.line, 5), ' ')::float8[]
    FROM s JOIN r ri ON ri.ord = 2 * s.ord - 1 JOIN r re ON re.ord = 2 * s.ord
    WHERE ri.line LIKE 'ids %' AND re.line LIKE 'emb %'
$$;

CREATE FUNCTION pg_temp.max_abs_diff(a real[], b float8[]) RETURNS float8 LANGUAGE sql AS $$
    SELECT CASE WHEN cardinality(a) = cardinality(b)
                THEN (SELECT max(abs(x - y)) FROM unnest(a, b) AS u(x, y)) ELSE 'Infinity' END
$$;

SELECT transformer.load_model('parity-odd', :'fixtures' || '/bert-odd');
SELECT transformer.load_model('parity-bf16', :'fixtures' || '/bert-bf16');

CREATE TEMP TABLE cases AS
    SELECT m.model, c.* FROM (VALUES ('bert-minilm', 'bert-minilm'), ('parity-odd', 'bert-odd'),
                                     ('parity-bf16', 'bert-bf16')) AS m(model, dir),
         pg_temp.fixture_cases(:'fixtures' || '/' || m.dir) AS c;

SELECT is((SELECT count(*) FROM cases WHERE model = m), 39::bigint, m || ': 39 reference sentences read')
FROM unnest(ARRAY['bert-minilm', 'parity-odd', 'parity-bf16']) AS m;

SELECT is((SELECT count(*) FROM cases
           WHERE model = m AND ids <> ARRAY(SELECT id FROM tokenize(sentence, model))),
          0::bigint, m || ': tokenize() ids identical to the reference on every sentence')
FROM unnest(ARRAY['bert-minilm', 'parity-odd', 'parity-bf16']) AS m;

SELECT cmp_ok((SELECT max(pg_temp.max_abs_diff(embed(sentence, model), emb)) FROM cases WHERE model = m),
              '<=', 1e-4::float8, m || ': embed() within 1e-4 of the reference')
FROM unnest(ARRAY['bert-minilm', 'parity-odd', 'parity-bf16']) AS m;

-- batched: one call over every sentence, order kept
SELECT cmp_ok((SELECT max(pg_temp.max_abs_diff(b.e, c.emb))
               FROM embed(ARRAY(SELECT sentence FROM cases WHERE model = m ORDER BY ord), m)
                    WITH ORDINALITY AS b(e, ord)
               JOIN cases c ON c.model = m AND c.ord = b.ord),
              '<=', 1e-4::float8, m || ': embed(text[]) within 1e-4 of the reference, in order')
FROM unnest(ARRAY['bert-minilm', 'parity-odd', 'parity-bf16']) AS m;

SELECT transformer.unload_model('parity-odd');
SELECT transformer.unload_model('parity-bf16');
SELECT is(pg_postmaster_start_time(), (SELECT started FROM pm), 'the server was not restarted');
SELECT is((SELECT count(*) FROM transformer.models WHERE name LIKE 'parity-%'), 0::bigint,
          'the test models were unloaded');
SELECT * FROM finish();
ROLLBACK;
