-- embed(x)::vector works where pgvector is installed (skipped otherwise).
\set ON_ERROR_STOP 1
BEGIN;
SELECT plan(2);
SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'vector') AS has_vector \gset
\if :has_vector
CREATE EXTENSION IF NOT EXISTS vector;
SELECT is(vector_dims(embed('A man is riding a bicycle.')::vector), 384,
          'embed(x)::vector has the embedding''s dimensions');
SELECT cmp_ok(abs((embed('a dog')::vector <=> embed('a cat')::vector)
                  - cosine_distance(embed('a dog'), embed('a cat'))), '<', 1e-6::float8,
              'pgvector''s <=> agrees with cosine_distance');
\else
SELECT skip('pgvector is not installed', 2);
\endif
SELECT * FROM finish();
ROLLBACK;
