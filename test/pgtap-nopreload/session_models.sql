-- Without shared_preload_libraries the extension still works: each session
-- loads the models it uses into its own memory, and says so.
\getenv fixtures FIXTURES
\set ON_ERROR_STOP 1
BEGIN;
SELECT plan(7);
SELECT is(current_setting('shared_preload_libraries'), '', 'transformer is not preloaded here');
SELECT is(array_length(embed('A man is riding a bicycle.'), 1), 120,
          'embed() loads the default model into this session on first use');
SELECT is((SELECT held FROM transformer.models WHERE name = 'bert-odd'), 'backend memory',
          'and the models view says it is held in backend memory');
SELECT lives_ok(format('SELECT transformer.load_model(%L, %L)', 'local-bf16', :'fixtures' || '/bert-bf16'),
                'load_model works, for this session');
SELECT is(array_length(embed('x', 'local-bf16'), 1), 64, 'and the model embeds');
SELECT lives_ok($$SELECT transformer.unload_model('local-bf16')$$, 'unload_model');
SELECT throws_ok($$SELECT embed('x', 'local-bf16')$$, '42704', NULL, 'an unloaded model is gone');
SELECT * FROM finish();
ROLLBACK;
