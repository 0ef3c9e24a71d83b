-- tokenize() on multilingual text through SQL against MarianTokenizer, with
-- the real opus-mt-en-mg tokenizer files of the marian-ende-size fixture:
-- every line of test/data/marian_corpus.txt (fourteen scripts, characters
-- source.spm does not know, language codes, truncation) gives the ids of
-- test/data/marian_peer_ids.txt (test/tokenizers/marian_reference.py: from
-- spm_encode and Python's sentencepiece, which agree), and a few lines spelled
-- out here give the pieces MarianTokenizer gives.
\getenv fixtures FIXTURES
\set ON_ERROR_STOP 1
BEGIN;
SELECT plan(8);

CREATE FUNCTION pg_temp.lines(path text) RETURNS TABLE(ord bigint, line text) LANGUAGE sql AS $$
    SELECT t.ord, t.line FROM string_to_table(pg_read_file(path), E'\n') WITH ORDINALITY AS t(line, ord)
$$;

CREATE TEMP TABLE corpus AS
SELECT c.ord, c.line AS sentence, string_to_array(i.line, ' ')::int[] AS ids
FROM pg_temp.lines(:'fixtures' || '/../data/marian_corpus.txt') AS c
JOIN pg_temp.lines(:'fixtures' || '/../data/marian_peer_ids.txt') AS i ON i.ord = c.ord
WHERE i.line <> '';

SELECT cmp_ok((SELECT count(*) FROM corpus), '>=', 2000::bigint, 'at least 2,000 reference lines read');
SELECT is((SELECT count(*) FROM corpus
           WHERE ids <> ARRAY(SELECT id FROM tokenize(sentence, 'marian-ende-size'))),
          0::bigint, 'tokenize() gives MarianTokenizer''s ids on every corpus line');
SELECT cmp_ok((SELECT count(*) FROM corpus WHERE cardinality(ids) = 512), '>=', 20::bigint,
              'and the corpus has lines truncated to 512 ids');

-- a character source.spm lacks is looked up in vocab.json as the text it
-- covers: Thai ษ and Devanagari ऋ are there, the merged run मस and ษษ not
SELECT is(ARRAY(SELECT token FROM tokenize('กษัตริย์ नमस्ते 안녕하세요', 'marian-ende-size')),
          ARRAY['▁', 'ก', 'ษ', 'ั', 'ต', 'ร', 'ิ', 'ย', '์', '▁', 'न', '<unk>', '्', 'त', 'े',
                '▁', '안', '<unk>', '<unk>', '<unk>', '</s>'],
          'Thai, Hindi and Korean: unknown characters by their vocab.json pieces');
SELECT is(ARRAY(SELECT id FROM tokenize('ษ ษษ', 'marian-ende-size')), ARRAY[28, 54539, 28, 1, 0],
          'a run of unknown characters is one piece');
SELECT is(ARRAY(SELECT id FROM tokenize('ऋषि 😀 ১২৩', 'marian-ende-size')),
          ARRAY[28, 54525, 54527, 52832, 28, 49087, 28, 1, 0], 'Devanagari, emoji and Bengali digits');
-- MarianTokenizer's language code ">>.+<<" is greedy and cut anywhere
SELECT is(ARRAY(SELECT id FROM tokenize('>>fra<< Γειά σου >>deu<< 日本語', 'marian-ende-size')),
          ARRAY[1, 28, 41160, 52726, 54292, 0], 'a leading language code runs to the last << of the line');
SELECT is(ARRAY(SELECT id FROM tokenize('Hi >>x<< привет', 'marian-ende-size')),
          ARRAY[1778, 28, 33223, 10673, 14949, 18734, 10475, 13337, 0],
          'a language code in the middle is cut out');

SELECT * FROM finish();
ROLLBACK;
