-- transformer.models entries with a precision (NAME:int8, NAME=PATH:int8),
-- loaded on first use by a session that does not preload the extension.
\set ON_ERROR_STOP 1
BEGIN;
SELECT plan(7);
SET transformer.models = 'bert-odd:int8, odd32=bert-odd:float32, bf=bert-bf16';
SELECT is(array_length(embed('x', 'bert-odd'), 1), 120, 'NAME:int8 loads on first use');
SELECT is(array_length(embed('x', 'odd32'), 1), 120, 'so does NAME=PATH:float32');
SELECT is(array_length(embed('x', 'bf'), 1), 64, 'and an entry without precision');
SELECT results_eq(
    $$SELECT name, precision FROM transformer.models ORDER BY name$$,
    $$VALUES ('bert-odd', 'int8'), ('bf', 'bfloat16'), ('odd32', 'float32')$$,
    'each in the precision its entry names');
SET transformer.models = 'bert-odd:int8, bert-bf16:int4';
SELECT throws_ok($$SELECT embed('x', 'bert-bf16')$$, '22023',
                 'invalid precision "int4" in transformer.models', 'an unknown precision after a name is refused');
SET transformer.models = 'bert-odd:int8, odd-bad=bert-odd:int4';
SELECT throws_ok($$SELECT embed('x', 'odd-bad')$$, '58P01', NULL,
                 'after a path, an unknown suffix is part of the path (which may hold colons)');
SELECT cmp_ok(cosine_distance(embed('A man is riding a bicycle.', 'bert-odd'),
                                          embed('A man is riding a bicycle.', 'odd32')), '<=', 1e-3::float8,
              'the int8 model embeds close to the float32 one');
SELECT * FROM finish();
ROLLBACK;
