-- embed() at every instruction_set setting and thread count against the
-- PyTorch reference (test/reference/bert.py) on the bert-minilm fixture: each
-- setting within 1e-4 (max abs) of the reference, one sentence at a time and
-- batched, and within 1e-5 of the default setting's embeddings. A setting
-- above what the CPU has runs the CPU's best (tf_cpu.h); scalar sends every
-- product to OpenBLAS, avx2 and avx512 use the rows kernels of that width,
-- threads 2 and 3 split linear layers by output columns and attention by
-- (text, head).
\getenv fixtures FIXTURES
\set ON_ERROR_STOP 1
BEGIN;
SELECT plan(27);

CREATE FUNCTION pg_temp.max_abs_diff(a real[], b float8[]) RETURNS float8 LANGUAGE sql AS $$
    SELECT CASE WHEN cardinality(a) = cardinality(b)
                THEN (SELECT max(abs(x - y)) FROM unnest(a, b) AS u(x, y)) ELSE 'Infinity' END
$$;

-- sentence i of the fixture and its reference embedding
CREATE TEMP TABLE cases AS
    WITH s AS (
        SELECT t.ord, t.line FROM string_to_table(pg_read_file(:'fixtures' || '/bert-minilm/sentences.txt'), E'\n')
            WITH ORDINALITY AS t(line, ord)),
    r AS (
        SELECT t.ord, t.line FROM string_to_table(pg_read_file(:'fixtures' || '/bert-minilm/reference.txt'), E'\n')
            WITH ORDINALITY AS t(line, ord))
    SELECT s.ord, s.line AS sentence, string_to_array(substr(re.line, 5), ' ')::float8[] AS emb
    FROM s JOIN r re ON re.ord = 2 * s.ord
    WHERE re.line LIKE 'emb %';
SELECT is((SELECT count(*) FROM cases), 39::bigint, '39 reference sentences read');

CREATE TEMP TABLE default_emb AS SELECT ord, embed(sentence, 'bert-minilm')::float8[] AS emb FROM cases;

CREATE TEMP TABLE settings AS
    SELECT isa, threads FROM unnest(ARRAY['scalar', 'avx2', 'avx512', 'auto']) AS i(isa),
                             unnest(ARRAY[1, 2, 3]) AS t(threads);

-- one sentence per call, then all in one call, under each setting
CREATE FUNCTION pg_temp.embed_under(isa text, threads int)
RETURNS TABLE(ord bigint, single real[], batched real[]) LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('transformer.instruction_set', isa, true);
    PERFORM set_config('transformer.threads', threads::text, true);
    RETURN QUERY
        SELECT c.ord, embed(c.sentence, 'bert-minilm'), b.e
        FROM cases c
        JOIN embed(ARRAY(SELECT x.sentence FROM cases x ORDER BY x.ord), 'bert-minilm')
             WITH ORDINALITY AS b(e, ord) ON b.ord = c.ord;
    PERFORM set_config('transformer.instruction_set', 'auto', true);
    PERFORM set_config('transformer.threads', '1', true);
END
$$;

CREATE TEMP TABLE results AS
    SELECT s.isa, s.threads, e.* FROM settings s, pg_temp.embed_under(s.isa, s.threads) e;

SELECT cmp_ok((SELECT max(greatest(pg_temp.max_abs_diff(r.single, c.emb), pg_temp.max_abs_diff(r.batched, c.emb)))
               FROM results r JOIN cases c USING (ord) WHERE r.isa = s.isa AND r.threads = s.threads),
              '<=', 1e-4::float8,
              format('instruction_set %s, threads %s: embed() and embed(text[]) within 1e-4 of the reference',
                     s.isa, s.threads))
FROM settings s ORDER BY s.isa, s.threads;

SELECT cmp_ok((SELECT max(pg_temp.max_abs_diff(r.batched, d.emb))
               FROM results r JOIN default_emb d USING (ord) WHERE r.isa = s.isa AND r.threads = s.threads),
              '<=', 1e-5::float8,
              format('instruction_set %s, threads %s: within 1e-5 of the default setting', s.isa, s.threads))
FROM settings s ORDER BY s.isa, s.threads;

SELECT is((SELECT count(*) FROM results), 12 * 39::bigint, 'every sentence embedded under every setting');
SELECT is(current_setting('transformer.instruction_set'), 'auto', 'the setting is back to auto');
SELECT * FROM finish();
ROLLBACK;
