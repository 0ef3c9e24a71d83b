-- Model paths are confined to transformer.model_directory: relative and
-- absolute paths, trailing slashes, "..", symbolic links out of and within
-- the directory, a sibling whose name extends the directory's, the root as
-- the directory, empty and missing paths.
--
-- The server's own user builds a scratch tree under /tmp (COPY ... PROGRAM,
-- as superuser) and removes it at the end:
--   T/models/m          a copy of the bert-bf16 fixture
--   T/models/inside  -> m                       (a link within the directory)
--   T/models/outside -> $FIXTURES/bert-bf16     (a link out of it)
--   T/models2/m         a sibling directory, "models" plus one letter
--   T/link           -> models                  (the directory reached by a link)
\getenv fixtures FIXTURES
\set ON_ERROR_STOP 1
BEGIN;
SELECT plan(27);

CREATE TEMP TABLE scratch (dir text);
COPY scratch FROM PROGRAM 'mktemp -d /tmp/transformer-model-paths.XXXXXX';
SELECT dir AS t FROM scratch \gset

-- Run a shell command as the server's user.
CREATE FUNCTION pg_temp.sh(command text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('COPY (SELECT 1) TO PROGRAM %L', command);
END $$;

-- Load the model at `path` under a scratch name and unload it again.
CREATE FUNCTION pg_temp.load_and_unload(path text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM transformer.load_model('tap-path', path);
    PERFORM transformer.unload_model('tap-path');
END $$;

SELECT pg_temp.sh(format('cd %s && mkdir -p models models2/m && cp -r %s/bert-bf16 models/m && '
                         'ln -s m models/inside && ln -s %s/bert-bf16 models/outside && ln -s models link',
                         :'t', :'fixtures', :'fixtures'));

SELECT set_config('transformer.model_directory', :'t' || '/models', true);
SELECT lives_ok($$SELECT pg_temp.load_and_unload('m')$$, 'a relative path loads');
SELECT lives_ok(format('SELECT pg_temp.load_and_unload(%L)', :'t' || '/models/m'), 'an absolute path inside loads');
SELECT lives_ok($$SELECT pg_temp.load_and_unload('m/')$$, 'a path with a trailing slash loads');
SELECT lives_ok($$SELECT pg_temp.load_and_unload('./m//')$$, 'a path with "./" and two trailing slashes loads');
SELECT lives_ok($$SELECT pg_temp.load_and_unload('m/../m')$$, 'a ".." that stays inside loads');
SELECT lives_ok($$SELECT pg_temp.load_and_unload('inside')$$, 'a symbolic link to a directory inside loads');
SELECT throws_ok($$SELECT pg_temp.load_and_unload('outside')$$, '42501',
                 'model path "outside" is outside transformer.model_directory',
                 'a symbolic link out of the directory is refused, though it points at a model');
SELECT throws_ok($$SELECT pg_temp.load_and_unload('../models2/m')$$, '42501', NULL,
                 'a relative ".." out of the directory is refused');
SELECT throws_ok($$SELECT pg_temp.load_and_unload('m/../../models2/m')$$, '42501', NULL,
                 'a ".." deeper in the path that climbs out is refused');
SELECT throws_ok(format('SELECT pg_temp.load_and_unload(%L)', :'t' || '/models/../models2/m'), '42501', NULL,
                 'an absolute path through ".." out of the directory is refused');
SELECT throws_ok(format('SELECT pg_temp.load_and_unload(%L)', :'t' || '/models2/m'), '42501', NULL,
                 'a sibling directory whose name begins with the directory''s name is refused');
SELECT throws_ok(format('SELECT pg_temp.load_and_unload(%L)', :'t' || '/models2'), '42501', NULL,
                 'and so is the sibling itself');
SELECT throws_ok($$SELECT pg_temp.load_and_unload('')$$, '22023', 'model path is empty',
                 'an empty path is refused with its own message');
SELECT throws_like($$SELECT pg_temp.load_and_unload('no-such-model')$$,
                   'could not open model directory "%/models/no-such-model": No such file or directory',
                   'a missing path says which path was missing');
SELECT throws_ok($$SELECT pg_temp.load_and_unload('no-such-model')$$, '58P01', NULL,
                 'with the SQLSTATE of a missing file');
SELECT throws_like($$SELECT pg_temp.load_and_unload('.')$$, '%config.json%',
                   'the directory itself is inside, and fails only for not being a model');

-- the directory setting with trailing slashes, and reached through a link
SELECT set_config('transformer.model_directory', :'t' || '/models/', true);
SELECT lives_ok($$SELECT pg_temp.load_and_unload('m')$$, 'a directory setting with a trailing slash');
SELECT throws_ok(format('SELECT pg_temp.load_and_unload(%L)', :'t' || '/models2/m'), '42501', NULL,
                 'still refuses the sibling');
SELECT set_config('transformer.model_directory', :'t' || '/models//', true);
SELECT lives_ok($$SELECT pg_temp.load_and_unload('m')$$, 'a directory setting with two trailing slashes');
SELECT set_config('transformer.model_directory', :'t' || '/link', true);
SELECT lives_ok($$SELECT pg_temp.load_and_unload('m')$$, 'a directory setting that is a symbolic link');
SELECT lives_ok(format('SELECT pg_temp.load_and_unload(%L)', :'t' || '/models/m'),
                'accepts the absolute path the link leads to');
SELECT set_config('transformer.model_directory', :'t' || '/no-such-directory', true);
SELECT throws_ok($$SELECT pg_temp.load_and_unload('m')$$, '58P01', NULL,
                 'a missing directory setting errors');

-- the root as the directory lets every path in
SELECT set_config('transformer.model_directory', '/', true);
SELECT lives_ok(format('SELECT pg_temp.load_and_unload(%L)', :'t' || '/models/m'),
                'model_directory "/": an absolute path loads');
SELECT lives_ok(format('SELECT pg_temp.load_and_unload(%L)', ltrim(:'t', '/') || '/models/m'),
                'model_directory "/": a path relative to the root loads');
SELECT lives_ok(format('SELECT pg_temp.load_and_unload(%L)', :'t' || '/models/outside'),
                'model_directory "/": a link anywhere loads');
SELECT set_config('transformer.model_directory', '//', true);
SELECT lives_ok(format('SELECT pg_temp.load_and_unload(%L)', :'t' || '/models/m'),
                'model_directory "//" is the root too');
SELECT throws_ok($$SELECT pg_temp.load_and_unload('')$$, '22023', NULL, 'an empty path is refused there too');

SELECT pg_temp.sh(format('rm -rf %s', :'t'));
SELECT * FROM finish();
ROLLBACK;
