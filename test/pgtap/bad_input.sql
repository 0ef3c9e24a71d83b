-- Bad input gets a clear error (or a defined result) and never a crash:
-- NULLs, empty strings, over-long text, unknown or wrong models, missing,
-- truncated or corrupt model files, absurd options, cancellation.
\getenv fixtures FIXTURES
\set ON_ERROR_STOP 1
BEGIN;
SELECT plan(47);
CREATE TEMP TABLE pm AS SELECT pg_postmaster_start_time() AS started;

-- NULL in, NULL out
SELECT ok(embed(NULL::text) IS NULL, 'embed(NULL) is NULL');
SELECT ok(embed(NULL::text, 'bert-minilm') IS NULL, 'embed(NULL, model) is NULL');
SELECT is((SELECT count(*) FROM embed(NULL::text[])), 0::bigint, 'embed(NULL::text[]) gives no rows');
SELECT is(ARRAY(SELECT e IS NULL FROM embed(ARRAY['a', NULL, 'b']) WITH ORDINALITY AS t(e, o) ORDER BY o),
          ARRAY[false, true, false], 'a NULL element gives a NULL embedding in its place');
SELECT ok(translate(NULL::text) IS NULL, 'translate(NULL) is NULL');
SELECT ok(translate(NULL::text[]) IS NULL, 'translate(NULL::text[]) is NULL');
SELECT is((translate(ARRAY[NULL, 'A dog.'], max_length => 8))[1], NULL, 'a NULL element translates to NULL');
SELECT is((SELECT count(*) FROM tokenize(NULL)), 0::bigint, 'tokenize(NULL) gives no rows');

-- empty strings
SELECT is(array_length(embed(''), 1), 384, 'the empty string has an embedding');
SELECT is(ARRAY(SELECT token FROM tokenize('')), ARRAY['[CLS]', '[SEP]'], 'the empty string is [CLS] [SEP]');
SELECT is(ARRAY(SELECT token FROM tokenize('', 'marian-ende-size')), ARRAY['</s>'], 'for Marian it is </s>');
SELECT ok(translate('', max_length => 8) IS NOT NULL, 'the empty string translates');
SELECT is(cardinality(translate(ARRAY[]::text[])), 0, 'an empty array translates to an empty array');

-- text longer than the model takes is truncated (documented in README)
SELECT is((SELECT count(*) FROM tokenize(repeat('word ', 100000))), 256::bigint,
          'long text is cut to max_seq_length = 256 tokens, [CLS] and [SEP] included');
SELECT ok(embed(repeat('word ', 100000)) = embed(repeat('word ', 254)),
          'and embeds as its first 254 word pieces');
SELECT is((SELECT count(*) FROM tokenize(repeat('word ', 100000), 'marian-ende-size')), 512::bigint,
          'translator input is cut to 512 tokens, </s> included');
SELECT ok(translate(repeat('word ', 100000), max_length => 6) IS NOT NULL, 'and still translates');

-- unknown and wrong models
SELECT throws_ok($$SELECT embed('x', 'no-such-model')$$, '42704', 'model "no-such-model" is not loaded',
                 'an unknown model name errors');
SELECT throws_ok($$SELECT translate('x', 'bert-minilm')$$, '42809', NULL, 'translate() with a BERT model errors');
SELECT throws_ok($$SELECT embed('x', 'marian-ende-size')$$, '42809', NULL, 'embed() with a Marian model errors');

-- missing, truncated or corrupt model files: errors that name the problem
SELECT throws_like(format('SELECT transformer.load_model(%L, %L)', 'broken', :'fixtures' || '/broken-' || f),
                   pattern, 'broken-' || f || ' is refused')
FROM (VALUES ('no-weights', '%could not read file%model.safetensors%'),
             ('truncated', '%model.safetensors" is truncated%'),
             ('header-length', '%is truncated or corrupt%'),
             ('header-json', '%corrupt safetensors header%'),
             ('missing-tensor', '%tensor "encoder.layer.1.output.dense.weight" is missing%'),
             ('shape', '%intermediate.dense.weight" in "model.safetensors" has the wrong shape%'),
             ('dtype', '%has unsupported dtype I16%'),
             ('arch', '%unsupported model_type "gpt2"%'),
             ('config', '%could not parse%config.json%'),
             ('tokenizer', '%could not parse%tokenizer.json%'),
             ('spm', '%could not load%source.spm%'),
             -- hostile numbers: refused before they index or size anything
             ('bad-words-nan', '%invalid "bad_words_ids"%'),
             ('max-length', '%invalid "model_max_length"%'),
             ('hidden-size', '%word_embeddings.weight" in "model.safetensors" has the wrong shape%'),
             ('shape-overflow', '%is impossibly large%')) AS t(f, pattern);
SELECT throws_ok(format('SELECT transformer.load_model(%L, %L)', 'broken', :'fixtures' || '/broken-shape'),
                 'XX001', NULL, 'a wrong shape is data corruption (XX001)');
SELECT is((SELECT count(*) FROM transformer.models WHERE name = 'broken'), 0::bigint,
          'no broken model was registered');

-- absurd decoding options
SELECT throws_ok($$SELECT translate('x', num_beams => 0)$$, '22023', NULL, 'num_beams 0 errors');
SELECT throws_ok($$SELECT translate('x', num_beams => 10000)$$, '22023', NULL, 'num_beams 10000 errors');
SELECT throws_ok($$SELECT translate('x', max_length => -5)$$, '22023', NULL, 'a negative max_length errors');
SELECT throws_ok($$SET transformer.num_beams = 10000$$, '22023', NULL, 'the num_beams setting is range-checked');

-- cosine_distance
SELECT throws_ok($$SELECT cosine_distance('{1,2}', '{1,2,3}')$$, '22000', NULL, 'different lengths error');
SELECT throws_ok($$SELECT cosine_distance('{1,NULL}', '{1,2}')$$, '22004', NULL, 'NULL elements error');

-- cancellation: statement_timeout stops a large batch (caught here by name:
-- plpgsql's WHEN OTHERS does not catch query_canceled)
CREATE FUNCTION pg_temp.outcome(sql text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE sql;
    RETURN 'completed';
EXCEPTION WHEN query_canceled THEN
    RETURN 'canceled';
END $$;
SET LOCAL statement_timeout = '300ms';
SELECT is(pg_temp.outcome($$SELECT count(*) FROM embed(ARRAY(
              SELECT 'A man is riding a bicycle down the road ' || i FROM generate_series(1, 50000) i))$$),
          'canceled', 'statement_timeout stops a 50,000-text embedding batch');
SET LOCAL statement_timeout = '300ms';
SELECT is(pg_temp.outcome($$SELECT translate(ARRAY(
              SELECT 'A man is riding a bicycle down the road.' FROM generate_series(1, 200)), num_beams => 4)$$),
          'canceled', 'statement_timeout stops a 200-sentence beam translation');
SET LOCAL statement_timeout = 0;

-- the session and the server survive all of the above
SELECT is(array_length(embed('still working'), 1), 384, 'the session still works');
SELECT is(pg_postmaster_start_time(), (SELECT started FROM pm), 'the server was not restarted');
SELECT * FROM finish();
ROLLBACK;
