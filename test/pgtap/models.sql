-- Model management: the models view, load / unload, privileges, path
-- confinement, names; PostgreSQL's own translate() untouched; function flags.
\getenv fixtures FIXTURES
\set ON_ERROR_STOP 1
BEGIN;
SELECT plan(24);

SELECT results_eq(
    $$SELECT name, architecture, dimensions, held FROM transformer.models ORDER BY name$$,
    $$VALUES ('bert-minilm', 'bert', 384, 'shared memory (preloaded)'),
             ('marian-ende-size', 'marian', 512, 'shared memory (preloaded)')$$,
    'the preloaded models are listed');
SELECT is((SELECT parameters FROM transformer.models WHERE name = 'bert-minilm'), 22565376::bigint,
          'all-MiniLM-L6-v2 shape: 22,565,376 parameters (HF count 22,713,216 less the unused pooler)');

-- load, use, reload, unload
SELECT lives_ok(format('SELECT transformer.load_model(%L, %L)', 'tap-m', :'fixtures' || '/bert-bf16'),
                'load_model from an absolute path inside the model directory');
SELECT is((SELECT held FROM transformer.models WHERE name = 'tap-m'), 'dynamic shared memory',
          'a model loaded at run time lives in dynamic shared memory');
SELECT is(array_length(embed('hello', 'tap-m'), 1), 64, 'and embeds');
SELECT throws_ok(format('SELECT transformer.load_model(%L, %L)', 'tap-m', 'bert-bf16'), '42710',
                 'model "tap-m" is already loaded', 'loading a name twice errors');
SELECT lives_ok($$SELECT transformer.unload_model('tap-m')$$, 'unload_model');
SELECT throws_ok($$SELECT embed('hello', 'tap-m')$$, '42704', NULL, 'an unloaded model is gone');
SELECT lives_ok($$SELECT transformer.load_model('tap-m', 'bert-bf16')$$,
                'the name can be loaded again, from a path relative to the model directory');
SELECT lives_ok($$SELECT transformer.unload_model('tap-m')$$, 'and unloaded again');
SELECT throws_ok($$SELECT transformer.unload_model('tap-m')$$, '42704', NULL, 'unloading an unknown model errors');

-- names and paths
SELECT throws_ok($$SELECT transformer.load_model('', 'bert-bf16')$$, '42602', NULL, 'an empty name is refused');
SELECT throws_ok($$SELECT transformer.load_model('bad name;', 'bert-bf16')$$, '42602', NULL,
                 'a name with odd characters is refused');
SELECT throws_ok($$SELECT transformer.load_model('etc', '/etc')$$, '42501', NULL,
                 'a path outside transformer.model_directory is refused');
SELECT throws_ok($$SELECT transformer.load_model('up', '../..')$$, '42501', NULL,
                 'a relative path cannot climb out of it');
SELECT throws_ok($$SELECT transformer.load_model('gone', 'no-such-dir')$$, '58P01', NULL,
                 'a missing directory errors');

-- privileges: reading server files is for superusers and pg_read_server_files
CREATE ROLE tap_reader;
SET LOCAL ROLE tap_reader;
SELECT throws_ok($$SELECT transformer.load_model('x', 'bert-bf16')$$, '42501', NULL,
                 'an ordinary role may not load models');
SELECT is(array_length(embed('but it may embed'), 1), 384, 'but may use them');
RESET ROLE;
GRANT pg_read_server_files TO tap_reader;
SET LOCAL ROLE tap_reader;
SELECT lives_ok($$SELECT transformer.load_model('tap-r', 'bert-bf16')$$, 'a pg_read_server_files member may');
SELECT lives_ok($$SELECT transformer.unload_model('tap-r')$$, 'and may unload');
RESET ROLE;

-- PostgreSQL's built-in translate(text, text, text) is untouched
SELECT is(translate('abcdef', 'ace', 'xyz'), 'xbydzf', 'built-in translate() with three texts');
SELECT is(translate('12345'::text, '143', 'ax'), 'a2x5', 'built-in translate() with a text column type');

-- flags: parallel safe, stable; cosine_distance immutable and strict
SELECT is(ARRAY(SELECT DISTINCT proparallel::text FROM pg_proc
                WHERE proname IN ('embed', 'translate', 'tokenize', 'cosine_distance')
                  AND pronamespace = 'public'::regnamespace), ARRAY['s'], 'the user functions are PARALLEL SAFE');
SELECT ok((SELECT provolatile = 'i' AND proisstrict FROM pg_proc WHERE proname = 'cosine_distance'),
          'cosine_distance is IMMUTABLE STRICT');
SELECT * FROM finish();
ROLLBACK;
