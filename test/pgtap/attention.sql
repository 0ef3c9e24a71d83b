-- Attention maps and alignments through SQL (sql/30_attention.sql) against
-- the PyTorch reference (test/reference/make_attention_reference.py writes
-- attention.txt into the fixtures): transformer.attention() on a BERT model
-- and on a Marian encoder, transformer.alignment() greedy and with 4 beams,
-- every weight within 1e-5 of the exact (float64) one, or, where PyTorch's
-- own float32 map is farther than that (the reference file gives that
-- distance per map), within 4 times the largest such distance of the
-- text's maps of that kind, as
-- test/unit/test_attention.c; then the summary, the pictures, bad input.
\getenv fixtures FIXTURES
\set ON_ERROR_STOP 1
BEGIN;
SELECT plan(36);
CREATE TEMP TABLE pm AS SELECT pg_postmaster_start_time() AS started;

CREATE FUNCTION pg_temp.lines(path text) RETURNS TABLE(ord bigint, line text) LANGUAGE sql AS $$
    SELECT t.ord, t.line FROM string_to_table(pg_read_file(path), E'\n') WITH ORDINALITY AS t(line, ord)
    WHERE t.line <> ''
$$;

-- The reference's maps of its first 4 texts, one row per weight: the text,
-- which decoding ('self' for self-attention), layer, head, row and column,
-- the exact weight and the difference allowed.
CREATE FUNCTION pg_temp.reference(model_dir text)
RETURNS TABLE(input text, decoding text, layer int, head int, q int, k int, weight float8, allowed float8)
LANGUAGE sql AS $$
    WITH l AS MATERIALIZED (
        SELECT ord, line, split_part(line, ' ', 1) AS tag,
               count(*) FILTER (WHERE line LIKE 'text %') OVER w AS text_no,
               max(ord) FILTER (WHERE line LIKE 'text %') OVER w AS text_ord,
               max(ord) FILTER (WHERE split_part(line, ' ', 1) IN ('ids', 'src', 'greedy', 'beam4')) OVER w AS head_ord
        FROM pg_temp.lines(model_dir || '/attention.txt')
        WINDOW w AS (ORDER BY ord)),
    heads AS MATERIALIZED (
        SELECT ord, line FROM l WHERE tag IN ('text', 'ids', 'src', 'greedy', 'beam4') AND text_no <= 4),
    maps AS MATERIALIZED (
        SELECT substr(t.line, 6) AS input,
               CASE WHEN split_part(h.line, ' ', 1) IN ('ids', 'src') THEN 'self' ELSE split_part(h.line, ' ', 1) END AS decoding,
               cardinality(string_to_array(h.line, ' ')) - 1 AS rows_,
               string_to_array(l.line, ' ') AS f
        FROM l JOIN heads t ON t.ord = l.text_ord JOIN heads h ON h.ord = l.head_ord
        WHERE l.tag IN ('map', 'encoder', 'cross') AND l.text_no <= 4),
    limits AS (
        SELECT input, decoding, greatest(1e-5, 4 * max(f[4]::float8)) AS allowed FROM maps GROUP BY 1, 2)
    SELECT m.input, m.decoding, f[2]::int, f[3]::int,
           ((w.i - 1) / ((cardinality(f) - 4) / rows_))::int, ((w.i - 1) % ((cardinality(f) - 4) / rows_))::int,
           w.v::float8, x.allowed
    FROM maps m JOIN limits x USING (input, decoding), unnest(f[5:]) WITH ORDINALITY AS w(v, i)
$$;

CREATE TEMP TABLE bert_ref AS SELECT * FROM pg_temp.reference(:'fixtures' || '/bert-minilm');
CREATE TEMP TABLE marian_ref AS SELECT * FROM pg_temp.reference(:'fixtures' || '/marian-ende-size');
SELECT is((SELECT count(DISTINCT input) FROM bert_ref), 4::bigint, 'bert-minilm: reference texts read');
SELECT is((SELECT count(DISTINCT input) FROM marian_ref), 4::bigint, 'marian-ende-size: reference texts read');

-- self-attention: every weight of every layer and head, and no extra row
CREATE TEMP TABLE bert_got AS
SELECT i.input, a.* FROM (SELECT DISTINCT input FROM bert_ref) i, transformer.attention(i.input, 'bert-minilm') a;
SELECT is((SELECT count(*) FROM bert_got), (SELECT count(*) FROM bert_ref),
          'bert-minilm: attention() gives as many weights as the reference');
SELECT cmp_ok((SELECT max(abs(g.weight - r.weight) / r.allowed) FROM bert_got g JOIN bert_ref r
               ON (r.input, r.layer, r.head, r.q, r.k) = (g.input, g.layer, g.head, g.query_position, g.key_position)),
              '<=', 1::float8, 'bert-minilm: every weight as the reference''s');
SELECT is((SELECT count(*) FROM bert_got g JOIN bert_ref r
           ON (r.input, r.layer, r.head, r.q, r.k) = (g.input, g.layer, g.head, g.query_position, g.key_position)),
          (SELECT count(*) FROM bert_ref), 'bert-minilm: and each matches a reference weight');
CREATE TEMP TABLE bert_tok AS
SELECT i.input, t.o - 1 AS pos, t.token
FROM (SELECT DISTINCT input FROM bert_ref) i, tokenize(i.input, 'bert-minilm') WITH ORDINALITY t(id, token, o);
SELECT is((SELECT count(*) FROM bert_got g
           JOIN bert_tok q ON (q.input, q.pos, q.token) = (g.input, g.query_position, g.query_token)
           JOIN bert_tok k ON (k.input, k.pos, k.token) = (g.input, g.key_position, g.key_token)),
          (SELECT count(*) FROM bert_got), 'bert-minilm: the tokens named are tokenize()''s');

CREATE TEMP TABLE enc_got AS
SELECT i.input, a.* FROM (SELECT DISTINCT input FROM marian_ref) i, transformer.attention(i.input, 'marian-ende-size') a;
SELECT is((SELECT count(*) FROM enc_got), (SELECT count(*) FROM marian_ref WHERE decoding = 'self'),
          'marian-ende-size: attention() of the encoder gives as many weights as the reference');
SELECT cmp_ok((SELECT max(abs(g.weight - r.weight) / r.allowed) FROM enc_got g JOIN marian_ref r
               ON (r.decoding, r.input, r.layer, r.head, r.q, r.k) = ('self', g.input, g.layer, g.head, g.query_position, g.key_position)),
              '<=', 1::float8, 'marian-ende-size: every encoder weight as the reference''s');

-- alignments, greedy and 4 beams
CREATE TEMP TABLE cross_got AS
SELECT i.input, d.decoding, a.* FROM (SELECT DISTINCT input FROM marian_ref) i,
     (VALUES ('greedy', 1), ('beam4', 4)) d(decoding, beams),
     transformer.alignment(i.input, 'marian-ende-size', num_beams => d.beams) a;
SELECT is((SELECT count(*) FROM cross_got WHERE decoding = d), (SELECT count(*) FROM marian_ref WHERE decoding = d),
          'marian-ende-size: alignment() ' || d || ' gives as many weights as the reference')
FROM unnest(ARRAY['greedy', 'beam4']) d;
SELECT cmp_ok((SELECT max(abs(g.weight - r.weight) / r.allowed) FROM cross_got g JOIN marian_ref r
               ON (r.decoding, r.input, r.layer, r.head, r.q, r.k)
                = (g.decoding, g.input, g.layer, g.head, g.target_position, g.source_position)
               WHERE g.decoding = d),
              '<=', 1::float8, 'marian-ende-size: every cross-attention weight ' || d || ' as the reference''s')
FROM unnest(ARRAY['greedy', 'beam4']) d;
-- the summary (the model's own 4 beams): per target token, the source
-- token of the largest weight averaged over the heads of the penultimate
-- layer (4 of 6)
CREATE TEMP TABLE summary_got AS
SELECT i.input, s.* FROM (SELECT DISTINCT input FROM marian_ref) i,
     transformer.alignment_summary(i.input, 'marian-ende-size') s;
SELECT is((SELECT count(*) FROM (SELECT DISTINCT input, target_position, target_token FROM cross_got
                                 WHERE decoding = 'beam4') t
           FULL JOIN summary_got s USING (input, target_position)
           WHERE t.target_token IS DISTINCT FROM s.target_token),
          0::bigint, 'alignment_summary() has one row for each target token of alignment()');
SELECT is((WITH a AS (SELECT input, target_position, source_position, avg(weight) AS w FROM cross_got
                      WHERE decoding = 'beam4' AND layer = 4 GROUP BY 1, 2, 3),
                b AS (SELECT input, target_position, max(w) AS best FROM a GROUP BY 1, 2)
           SELECT count(*) FROM summary_got s
           JOIN a USING (input, target_position, source_position) JOIN b USING (input, target_position)
           WHERE abs(a.w - s.weight) < 1e-6 AND a.w >= b.best - 1e-6),
          (SELECT count(*) FROM summary_got),
          'alignment_summary() picks the largest weight averaged over the penultimate layer''s heads');
SELECT is((SELECT count(*) FROM transformer.alignment_summary('A dog runs.', 'marian-ende-size', 1, 8, layer => 0)),
          (SELECT count(DISTINCT target_position) FROM transformer.alignment('A dog runs.', 'marian-ende-size', 1, 8)),
          'a chosen layer, one summary row per target token');

-- one layer or head: a subset of all of them
SELECT is((SELECT count(*) FROM transformer.attention('A man rides.', 'bert-minilm', 2, 7)),
          (SELECT count(*) FROM transformer.attention('A man rides.', 'bert-minilm') WHERE layer = 2 AND head = 7),
          'layer and head select one map');
SELECT is((SELECT count(DISTINCT head) FROM transformer.attention('A man rides.', 'bert-minilm', layer => 1)),
          12::bigint, 'a layer alone gives all its heads');
SELECT is((SELECT count(*) FROM (SELECT layer, head, query_position, sum(weight) s
                                 FROM transformer.attention('A man rides a horse.', 'bert-minilm')
                                 GROUP BY 1, 2, 3) x WHERE abs(s - 1) > 1e-5),
          0::bigint, 'each query''s weights sum to 1');

-- pictures
SELECT matches(transformer.attention_svg('A man rides a horse.', 'bert-minilm'),
               '^<\?xml .*<svg .*bert-minilm: self-attention, layer 5, average of 12 heads.*</svg>',
               'attention_svg(): an SVG document whose title names model, layer and heads');
SELECT matches(transformer.attention_svg('A man rides a horse.', 'bert-minilm', 0, 3),
               'bert-minilm: self-attention, layer 0, head 3', 'a chosen head is named');
SELECT matches(transformer.alignment_svg('A dog runs.', 'marian-ende-size', 4, 8),
               'marian-ende-size: cross-attention, layer 4, average of 8 heads',
               'alignment_svg(): the title names model, layer and heads');
SELECT ok(strpos(transformer.attention_svg('tom & jerry say <hi> "x"', 'bert-minilm'), '&lt;') > 0
          AND strpos(transformer.attention_svg('tom & jerry say <hi> "x"', 'bert-minilm'), '<hi>') = 0
          AND strpos(transformer.attention_svg('tom & jerry say <hi> "x"', 'bert-minilm'), '>&amp;<') > 0,
          'tokens are escaped for XML');
SELECT ok(transformer.attention_svg(NULL) IS NULL AND transformer.alignment_svg(NULL) IS NULL,
          'a NULL text draws nothing (NULL)');

-- bad input
SELECT is((SELECT count(*) FROM transformer.attention(NULL)) + (SELECT count(*) FROM transformer.alignment(NULL))
          + (SELECT count(*) FROM transformer.alignment_summary(NULL)), 0::bigint, 'a NULL text gives no rows');
SELECT is((SELECT count(*) FROM transformer.attention('', 'bert-minilm', 0, 0)), 4::bigint,
          'the empty text is [CLS] [SEP]: a 2 x 2 map');
SELECT is((SELECT count(*) FROM transformer.attention('', 'marian-ende-size', 0, 0)), 1::bigint,
          'for a Marian encoder it is </s>: 1 x 1');
SELECT is((SELECT max(query_position) FROM transformer.attention(repeat('word ', 10000), 'bert-minilm', 0, 0)), 255,
          'a long text is cut to the model''s 256 tokens, as embed() cuts it');
SELECT throws_ok($$SELECT * FROM transformer.attention(repeat('word ', 10000), 'bert-minilm')$$, '54000',
                 'self-attention would return 4718592 rows, more than 1000000',
                 'too many rows errors (all layers and heads of a 256-token text)');
SELECT throws_ok($$SELECT * FROM transformer.attention('x', 'bert-minilm', 6)$$, '22023', 'layer 6 is out of range',
                 'a layer out of range errors');
SELECT throws_ok($$SELECT * FROM transformer.attention('x', 'bert-minilm', -1)$$, '22023', 'layer -1 is out of range',
                 'a negative layer errors');
SELECT throws_ok($$SELECT transformer.attention_svg('x', 'bert-minilm', 0, 12)$$, '22023', 'head 12 is out of range',
                 'a head out of range errors in a picture too');
SELECT throws_ok($$SELECT * FROM transformer.alignment('x', 'marian-ende-size', layer => 0, head => 8)$$, '22023',
                 'head 8 is out of range', 'an alignment head out of range errors');
SELECT throws_ok($$SELECT * FROM transformer.alignment('x', 'bert-minilm')$$, '42809', NULL,
                 'alignment() with a BERT model errors');
SELECT throws_ok($$SELECT * FROM transformer.attention('x', 'no-such-model')$$, '42704', NULL,
                 'an unknown model errors');
SELECT throws_ok($$SELECT * FROM transformer.alignment('x', 'marian-ende-size', num_beams => 0)$$, '22023', NULL,
                 'absurd decoding options error as in translate()');

SELECT is(pg_postmaster_start_time(), (SELECT started FROM pm), 'the server was not restarted');
SELECT * FROM finish();
ROLLBACK;
