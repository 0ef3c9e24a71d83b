-- Pinned model references ('name@hash') and the IMMUTABLE functions that
-- take them: the content hash against an independent one computed in SQL
-- from the files, results equal to embed()/translate(), refusal of a
-- changed checkpoint, generated columns and index expressions.
\getenv fixtures FIXTURES
\set ON_ERROR_STOP 1
BEGIN;
SELECT plan(31);

-- The reference hash, by PostgreSQL's own sha256() over the files as
-- pg_ls_dir lists them: the definition in src/pg_model_hash.c, computed
-- without it.
CREATE FUNCTION pg_temp.dir_hash(dir text) RETURNS text LANGUAGE sql AS $$
    WITH RECURSIVE tree(rel) AS (
        SELECT '.'::text
        UNION ALL
        SELECT tree.rel || '/' || f
        FROM tree, pg_ls_dir(dir || '/' || tree.rel) AS f
        WHERE (pg_stat_file(dir || '/' || tree.rel)).isdir
    )
    SELECT encode(sha256(convert_to(string_agg(
               encode(sha256(pg_read_binary_file(dir || '/' || rel)), 'hex') || '  ' || rel || E'\n',
               '' ORDER BY rel COLLATE "C"), 'UTF8')), 'hex')
    FROM tree
    WHERE NOT (pg_stat_file(dir || '/' || rel)).isdir
$$;

SELECT is((SELECT content_hash FROM transformer.models WHERE name = 'bert-minilm'),
          pg_temp.dir_hash(:'fixtures' || '/bert-minilm'),
          'a preloaded model''s content hash is SHA-256 over its files (subdirectories included)');
SELECT is((SELECT content_hash FROM transformer.models WHERE name = 'marian-ende-size'),
          pg_temp.dir_hash(:'fixtures' || '/marian-ende-size'),
          'and so for the Marian model');
SELECT is(transformer.model_ref('bert-minilm'),
          'bert-minilm@' || left(pg_temp.dir_hash(:'fixtures' || '/bert-minilm'), 12),
          'model_ref() is the name and 12 hex digits of the hash');
SELECT throws_ok($$SELECT transformer.model_ref('no-such')$$, '42704', 'model "no-such" is not loaded',
                 'model_ref() of an unknown model errors');

-- loaded at run time: same files, same hash; other files, other hash
SELECT transformer.load_model('tap-pin', 'bert-minilm');
SELECT is((SELECT content_hash FROM transformer.models WHERE name = 'tap-pin'),
          (SELECT content_hash FROM transformer.models WHERE name = 'bert-minilm'),
          'the same checkpoint loaded under another name has the same hash');
SELECT transformer.load_model('tap-pin-bf16', 'bert-bf16');
SELECT is((SELECT content_hash FROM transformer.models WHERE name = 'tap-pin-bf16'),
          pg_temp.dir_hash(:'fixtures' || '/bert-bf16'), 'a model loaded at run time is hashed too');
SELECT isnt((SELECT content_hash FROM transformer.models WHERE name = 'tap-pin-bf16'),
            (SELECT content_hash FROM transformer.models WHERE name = 'bert-minilm'),
            'another checkpoint has another hash');
SELECT transformer.load_model('tap-pin-int8', 'bert-minilm', 'int8');
SELECT isnt((SELECT content_hash FROM transformer.models WHERE name = 'tap-pin-int8'),
            (SELECT content_hash FROM transformer.models WHERE name = 'bert-minilm'),
            'the same files at another precision have another hash');
SELECT transformer.unload_model('tap-pin-int8');

-- embed_pinned() equals embed(), bit for bit, over many scripts and lengths
CREATE TEMP TABLE texts(id serial, body text);
INSERT INTO texts(body) VALUES ('hello'), (''), ('Grüße aus Köln'), ('東京は日本の首都です'),
    ('Москва — столица России'), ('مرحبا بالعالم'), ('🙂 emoji 🙂'), (repeat('long text ', 400)),
    (E'tabs\tand\nnewlines'), ('x');
SELECT is((SELECT count(*) FROM texts
           WHERE embed_pinned(body, transformer.model_ref('bert-minilm')) = embed(body, 'bert-minilm')),
          10::bigint, 'embed_pinned() equals embed() exactly on 10 texts (scripts, empty, over-long)');
SELECT is(embed_pinned(NULL, transformer.model_ref('bert-minilm')), NULL, 'a NULL input gives NULL');
-- instruction sets change the last bits of embed() (and threads may, where
-- a kernel splits a sum); the pinned function runs with one thread and the
-- server's instruction set whatever the session sets
CREATE TEMP TABLE one_thread AS SELECT id, embed(body, 'bert-minilm') AS emb FROM texts;
SET transformer.threads = 2;
SELECT is((SELECT count(*) FROM texts JOIN one_thread USING (id)
           WHERE embed_pinned(body, transformer.model_ref('bert-minilm')) = emb),
          10::bigint, 'embed_pinned() gives the 1-thread result with transformer.threads = 2');
RESET transformer.threads;
SET transformer.instruction_set = 'scalar';
SELECT isnt((SELECT count(*) FROM texts JOIN one_thread USING (id) WHERE embed(body, 'bert-minilm') = emb),
            10::bigint, 'embed() with transformer.instruction_set = scalar differs in the last bits');
SELECT is((SELECT count(*) FROM texts JOIN one_thread USING (id)
           WHERE embed_pinned(body, transformer.model_ref('bert-minilm')) = emb),
          10::bigint, 'and the server''s instruction set with transformer.instruction_set = scalar');
SELECT is(current_setting('transformer.instruction_set'), 'scalar', 'the session''s settings are left as they were');
RESET transformer.instruction_set;
SELECT is(embed('hello', transformer.model_ref('bert-minilm')), embed('hello', 'bert-minilm'),
          'embed() accepts a pinned reference too');

-- refusals
SELECT throws_ok($$SELECT embed_pinned('hello', 'bert-minilm')$$, '22023',
                 'embed_pinned() needs a pinned model reference, not "bert-minilm"',
                 'a plain name is refused by the immutable function');
SELECT throws_ok($$SELECT embed_pinned('hello', 'bert-minilm@0123')$$, '22023',
                 'invalid model reference "bert-minilm@0123"', 'a hash prefix under 12 digits is refused');
SELECT throws_ok($$SELECT embed_pinned('hello', 'bert-minilm@0123456789AB')$$, '22023', NULL,
                 'upper-case hex is refused');
SELECT throws_ok($$SELECT embed_pinned('hello', 'bert-minilm@' || repeat('0', 65))$$, '22023', NULL,
                 'more than 64 digits are refused');
SELECT throws_ok(format('SELECT embed_pinned(%L, %L)', 'hello',
                        'bert-minilm@' || left((SELECT content_hash FROM transformer.models
                                                WHERE name = 'tap-pin-bf16'), 12)), '55000', NULL,
                 'a reference to another checkpoint than the loaded one errors');
SELECT throws_ok(format('SELECT embed_pinned(%L, %L)', 'hello', 'no-such@' || repeat('a', 12)), '42704',
                 NULL, 'an unknown model errors');
SELECT throws_ok(format('SELECT embed_pinned(%L, %L)', 'hello', transformer.model_ref('marian-ende-size')),
                 '42809', NULL, 'a Marian model is refused by embed_pinned()');

SELECT is(ARRAY(SELECT provolatile FROM pg_proc
                WHERE proname IN ('embed_pinned', 'translate_pinned') ORDER BY proname),
          ARRAY['i', 'i']::"char"[], 'embed_pinned and translate_pinned are IMMUTABLE');

-- a generated column and an index expression; the checkpoint replaced
DO $$
BEGIN
    EXECUTE format('CREATE TABLE pinned_docs (id int PRIMARY KEY, body text,
                    emb real[] GENERATED ALWAYS AS (embed_pinned(body, %L)) STORED)',
                   transformer.model_ref('tap-pin'));
    EXECUTE format('CREATE INDEX pinned_docs_emb ON pinned_docs ((embed_pinned(body, %L)))',
                   transformer.model_ref('tap-pin'));
END
$$;
INSERT INTO pinned_docs(id, body) SELECT id, body FROM texts WHERE length(body) < 100;
SELECT is((SELECT count(*) FROM pinned_docs WHERE emb = embed(body, 'bert-minilm')), 9::bigint,
          'a generated column computes embed_pinned() on insert');
SET LOCAL enable_seqscan = off;
SELECT is((SELECT id FROM pinned_docs
           WHERE embed_pinned(body, transformer.model_ref('tap-pin')) = embed('Grüße aus Köln', 'bert-minilm')),
          3, 'an index on embed_pinned() finds the row');
RESET enable_seqscan;
SELECT transformer.unload_model('tap-pin');
SELECT transformer.load_model('tap-pin', 'bert-bf16');
SELECT throws_ok($$INSERT INTO pinned_docs(id, body) VALUES (100, 'new row')$$, '55000', NULL,
                 'after another checkpoint is loaded under the name, the generated column refuses to compute');
SELECT throws_ok($$UPDATE pinned_docs SET body = body || '!' WHERE id = 1$$, '55000', NULL,
                 'and so do updates: no row gets a value from another checkpoint');

-- translate_pinned(): the checkpoint's own generation config, never the session's
CREATE TEMP TABLE expected_translation AS
    SELECT translate('The house is small.', 'marian-ende-size') AS t;
SET transformer.num_beams = 1;
SET transformer.max_length = 4;
SELECT isnt(translate('The house is small.', 'marian-ende-size'), (SELECT t FROM expected_translation),
            'the session settings change what translate() gives');
SELECT is(translate_pinned('The house is small.', transformer.model_ref('marian-ende-size')),
          (SELECT t FROM expected_translation),
          'translate_pinned() ignores transformer.num_beams and max_length');
RESET transformer.num_beams;
RESET transformer.max_length;
SELECT is(translate_pinned('Good morning.', transformer.model_ref('marian-ende-size'), 2, 16),
          translate('Good morning.', 'marian-ende-size', 2, 16), 'and takes explicit options like translate()');
SELECT throws_ok($$SELECT translate_pinned('x', 'marian-ende-size')$$, '22023', NULL,
                 'translate_pinned() refuses a plain name');

SELECT transformer.unload_model('tap-pin');
SELECT transformer.unload_model('tap-pin-bf16');
SELECT * FROM finish();
ROLLBACK;
