-- fill_mask() through SQL against the PyTorch reference (test/reference/fill_mask.py,
-- written from Hugging Face's fill-mask pipeline): every input of each
-- fixture's fill_mask.txt with top_k 10, on random tied (bert-odd) and
-- untied (bert-untied) heads and on the shipped bert-embed-en; then the bad
-- input rules (README, "Fill-mask").
\getenv fixtures FIXTURES
\set ON_ERROR_STOP 1
BEGIN;
SELECT plan(34);
CREATE TEMP TABLE pm AS SELECT pg_postmaster_start_time() AS started;
SET LOCAL client_min_messages = warning;

SELECT transformer.load_model('fm-odd', :'fixtures' || '/bert-odd');
SELECT transformer.load_model('fm-untied', :'fixtures' || '/bert-untied');
SELECT transformer.load_model('fm-shipped', :'fixtures' || '/bert-embed-en');

-- the reference predictions: one row per "pred" line, with its input
-- (the last "text" line before it), mask (count of "mask" lines since
-- that text) and rank (count of "pred" lines since the last "mask")
CREATE FUNCTION pg_temp.reference(dir text)
RETURNS TABLE(input text, mask int, rank int, token_id int, score float8, token text, sequence text)
LANGUAGE sql AS $$
    WITH l AS (
        SELECT t.ord, t.line FROM string_to_table(pg_read_file(dir || '/fill_mask.txt'), E'\n')
            WITH ORDINALITY AS t(line, ord) WHERE t.line <> ''),
    tagged AS (
        SELECT ord, line,
               count(*) FILTER (WHERE line LIKE 'text %') OVER (ORDER BY ord) AS text_no,
               count(*) FILTER (WHERE line LIKE 'mask %') OVER (ORDER BY ord) AS mask_no
        FROM l),
    numbered AS (
        SELECT *, min(ord) OVER (PARTITION BY text_no) AS text_ord,
               min(mask_no) OVER (PARTITION BY text_no) AS mask_base,
               min(ord) OVER (PARTITION BY mask_no) AS mask_ord
        FROM tagged)
    SELECT substr(t.line, 6), (p.mask_no - p.mask_base)::int, (p.ord - p.mask_ord)::int,
           split_part(p.line, E'\t', 2)::int, split_part(p.line, E'\t', 3)::float8,
           split_part(p.line, E'\t', 4), split_part(p.line, E'\t', 5)
    FROM numbered p JOIN l t ON t.ord = p.text_ord
    WHERE p.line LIKE E'pred\t%'
$$;

CREATE TEMP TABLE ref AS
    SELECT m.model, r.* FROM (VALUES ('fm-odd', 'bert-odd'), ('fm-untied', 'bert-untied'),
                                     ('fm-shipped', 'bert-embed-en')) AS m(model, dir),
         pg_temp.reference(:'fixtures' || '/' || m.dir) AS r;
CREATE TEMP TABLE got AS
    SELECT m.model, i.input, f.*
    FROM (SELECT DISTINCT model, input FROM ref) AS i(model, input)
         JOIN (VALUES ('fm-odd'), ('fm-untied'), ('fm-shipped')) AS m(model) USING (model),
         fill_mask(i.input, m.model, 10) AS f;

SELECT is((SELECT count(*) FROM ref WHERE model = m), 190::bigint,
          m || ': 19 masks x 10 reference predictions read')
FROM unnest(ARRAY['fm-odd', 'fm-untied', 'fm-shipped']) AS m;
SELECT is((SELECT count(*) FROM got WHERE model = m), 190::bigint, m || ': fill_mask() gives as many rows')
FROM unnest(ARRAY['fm-odd', 'fm-untied', 'fm-shipped']) AS m;
SELECT is((SELECT count(*) FROM ref r JOIN got g USING (model, input, mask, rank)
           WHERE model = m AND (g.token_id, g.token, g.sequence) = (r.token_id, r.token, r.sequence)),
          190::bigint, m || ': every token id, token and filled-in text as the reference, in order')
FROM unnest(ARRAY['fm-odd', 'fm-untied', 'fm-shipped']) AS m;
SELECT cmp_ok((SELECT max(abs(g.score - r.score)) FROM ref r JOIN got g USING (model, input, mask, rank)
               WHERE model = m), '<=', 1e-5::float8, m || ': probabilities within 1e-5 of the reference')
FROM unnest(ARRAY['fm-odd', 'fm-untied', 'fm-shipped']) AS m;

-- the README's example, on the shipped model
SELECT is((SELECT array_agg(rank ORDER BY score DESC, token_id)
           FROM fill_mask('a man is riding a [MASK].', 'fm-shipped')),
          ARRAY[1, 2, 3, 4, 5], 'five predictions by default, ranked by probability');
SELECT is((SELECT DISTINCT (mask, "position") FROM fill_mask('a man is riding a [MASK].', 'fm-shipped')),
          ROW(1, 6), 'mask 1 at token 6 ([CLS] is 0)');
SELECT ok((SELECT bool_and(sequence = 'a man is riding a ' || token || '.')
           FROM fill_mask('a man is riding a [MASK].', 'fm-shipped')),
          'each sequence is the text with the token in place of [MASK]');
SELECT is((SELECT count(*) FROM fill_mask('[MASK]', 'fm-shipped', NULL)), 5::bigint,
          'a NULL top_k means the default 5');
SELECT is((SELECT count(*) FROM fill_mask('[MASK] and [MASK]', 'fm-shipped', 1000)), 2000::bigint,
          'top_k 1000, the most, for each of two masks');
SELECT ok((SELECT bool_and(sequence LIKE '[CLS]%[MASK]%[SEP]') AND count(*) = 10
           FROM fill_mask('[MASK] [MASK]', 'fm-shipped')),
          'with several masks, the others stay [MASK] and special tokens are kept (as the pipeline)');

-- bad input
SELECT is((SELECT count(*) FROM fill_mask(NULL, 'fm-shipped')), 0::bigint, 'NULL input gives no rows');
SELECT throws_ok($$SELECT * FROM fill_mask('', 'fm-shipped')$$, '22023', 'no [MASK] token in the input',
                 'the empty string has no [MASK]');
SELECT throws_ok($$SELECT * FROM fill_mask('a man is riding a horse.', 'fm-shipped')$$, '22023',
                 'no [MASK] token in the input', 'a text without [MASK] errors');
SELECT throws_ok($$SELECT * FROM fill_mask('a man is riding a [mask].', 'fm-shipped')$$, '22023',
                 'no [MASK] token in the input', '[mask] in lower case is no mask token (as the tokenizer)');
SELECT throws_ok($$SELECT * FROM fill_mask('[MASK]', 'fm-shipped', 0)$$, '22023', 'top_k 0 is out of range',
                 'top_k 0 errors');
SELECT throws_ok($$SELECT * FROM fill_mask('[MASK]', 'fm-shipped', 1001)$$, '22023',
                 'top_k 1001 is out of range', 'top_k above 1000 errors');
SELECT throws_ok($$SELECT * FROM fill_mask('[MASK]', 'fm-shipped', -2147483648)$$, '22023',
                 'top_k -2147483648 is out of range', 'a negative top_k errors');
SELECT throws_ok($$SELECT * FROM fill_mask('a [MASK].', 'bert-minilm')$$, '0A000',
                 'model "bert-minilm" has no masked-language-model head', 'a checkpoint without the head errors');
SELECT throws_ok($$SELECT * FROM fill_mask('a [MASK].')$$, '0A000',
                 'model "bert-minilm" has no masked-language-model head',
                 'the default model (transformer.embedding_model) is checked the same way');
SELECT throws_ok($$SELECT * FROM fill_mask('a [MASK].', 'marian-ende-size')$$, '42809', NULL,
                 'a Marian model errors');
SELECT throws_ok($$SELECT * FROM fill_mask('a [MASK].', 'no-such-model')$$, '42704', NULL,
                 'an unknown model errors');

-- truncation as embed(): bert-embed-en reads 128 tokens, [CLS] and [SEP] included
SELECT throws_ok(format($$SELECT * FROM fill_mask(%L, 'fm-shipped')$$, repeat('word ', 126) || '[MASK]'),
                 '54000', 'every [MASK] token lies beyond the first 128 tokens, which is all model "fm-shipped" reads',
                 'a text whose only [MASK] is cut off errors');
SELECT is((SELECT count(*) FROM fill_mask(repeat('word ', 125) || '[MASK]', 'fm-shipped')), 5::bigint,
          'a [MASK] in the last place that fits is predicted');
SELECT is((SELECT array_agg(DISTINCT mask) FROM fill_mask('[MASK] ' || repeat('word ', 200) || '[MASK]', 'fm-shipped')),
          ARRAY[1], 'a [MASK] cut off gets no rows, the one kept does (with a NOTICE)');
SELECT is((SELECT count(*) FROM fill_mask('[MASK] ' || repeat('word ', 100000), 'fm-shipped')), 5::bigint,
          'a very long text is truncated, not refused');

SELECT transformer.unload_model('fm-odd');
SELECT transformer.unload_model('fm-untied');
SELECT transformer.unload_model('fm-shipped');
SELECT is((SELECT pg_postmaster_start_time() FROM pm LIMIT 1), (SELECT started FROM pm),
          'the server did not restart (no backend crashed)');
SELECT * FROM finish();
ROLLBACK;
