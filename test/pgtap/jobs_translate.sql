-- Translation jobs: the target (text) equals translate() of the row's input
-- with the job's options, exactly (decoding is deterministic), through the
-- backfill, inserts and updates; options changed by alter_job recompute.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
DROP TABLE IF EXISTS jobs_tr CASCADE;
SELECT plan(9);
CREATE TABLE jobs_tr (id integer PRIMARY KEY, en text);
INSERT INTO jobs_tr SELECT g, (ARRAY['A man is riding a bicycle.', 'The cat sleeps.', 'Good morning!',
                                      'Where is the station?', ''])[g % 5 + 1] || repeat(' Thank you.', g % 3)
  FROM generate_series(1, 12) g;
INSERT INTO jobs_tr VALUES (13, NULL);
SELECT lives_ok($$SELECT transformer.create_job('jobs_tr_de', 'jobs_tr', 'en', task => 'translate',
                     target => 'de', options => '{"num_beams": 1, "max_length": 24}', batch_rows => 8)$$,
                'create_job for translation, greedy, at most 24 tokens');
SELECT is((SELECT format_type(atttypid, atttypmod) FROM pg_attribute
            WHERE attrelid = 'jobs_tr'::regclass AND attname = 'de'), 'text', 'the target is created as text');
SELECT ok(transformer.wait_job('jobs_tr_de', '3 minutes'), 'the backfill finishes');
SELECT is((SELECT count(*) FROM jobs_tr WHERE de IS NOT DISTINCT FROM translate(en, num_beams => 1, max_length => 24)),
          13::bigint, 'every target equals translate(input) with the job''s options, NULL for NULL');
UPDATE jobs_tr SET en = 'The weather is nice today.' WHERE id = 3;
INSERT INTO jobs_tr VALUES (40, 'I like green apples.');
SELECT ok(transformer.wait_job('jobs_tr_de', '1 minute'), 'wait_job after an update and an insert');
SELECT is((SELECT count(*) FROM jobs_tr WHERE de IS NOT DISTINCT FROM translate(en, num_beams => 1, max_length => 24)),
          14::bigint, 'they are translated');
SELECT lives_ok($$SELECT transformer.alter_job('jobs_tr_de', options => '{"num_beams": 2, "max_length": 16}')$$,
                'alter_job to other options');
SELECT ok(transformer.wait_job('jobs_tr_de', '3 minutes'), 'the recomputation finishes');
SELECT is((SELECT count(*) FROM jobs_tr WHERE de IS NOT DISTINCT FROM translate(en, num_beams => 2, max_length => 16)),
          14::bigint, 'every target is translated again with the new options');
SELECT transformer.drop_job('jobs_tr_de');
DROP TABLE jobs_tr;
SELECT * FROM finish();
