-- transformer 0.1.0, part 60: table jobs on Citus distributed tables.
-- See README.md, "Jobs on distributed tables".
--
-- create_job on the coordinator over a distributed table creates one
-- ordinary job (part 10) per shard, on the node that holds the shard, over
-- the shard table itself, named '<job>/<shard id>'. Each node's background
-- workers fill its own shards; rows written through the coordinator land in
-- the shard tables and fire the shard jobs' triggers there. The coordinator
-- records the job in transformer.distributed_job; the public job functions
-- below send the same call to every shard job, one connection per node
-- (Citus' master_run_on_worker), and act as part 10's functions otherwise.
-- transformer.jobs adds up the shard jobs of each distributed job,
-- transformer.job_nodes shows each one.
-- Citus objects appear only in dynamic SQL: the extension installs without
-- Citus, and these functions find no distributed table there.

-- Part 10's public functions and views keep working under internal names;
-- the functions and views of the same names below dispatch to them.
ALTER FUNCTION transformer.create_job(text, regclass, text, text, text, text, jsonb, integer, integer)
    RENAME TO _local_create_job;
ALTER FUNCTION transformer.alter_job(text, text, jsonb, integer, integer) RENAME TO _local_alter_job;
ALTER FUNCTION transformer.pause_job(text) RENAME TO _local_pause_job;
ALTER FUNCTION transformer.resume_job(text) RENAME TO _local_resume_job;
ALTER FUNCTION transformer.drop_job(text) RENAME TO _local_drop_job;
ALTER FUNCTION transformer.retry_job(text) RENAME TO _local_retry_job;
ALTER FUNCTION transformer.wait_job(text, interval) RENAME TO _local_wait_job;
ALTER PROCEDURE transformer.run_job(text, bigint) RENAME TO _local_run_job;
ALTER VIEW transformer.jobs RENAME TO _local_jobs;
ALTER VIEW transformer.job_errors RENAME TO _local_job_errors;

-- A job over a shard table runs where Citus, by default, hides shards from
-- pg_class (in client sessions and in background workers other than
-- PostgreSQL's own, such as the job workers), refuses LOCK TABLE on them,
-- and sends CREATE FUNCTION on to the other nodes. So part 10's PL/pgSQL
-- job functions run with those three off (run_job, a procedure that
-- commits, may have no settings of its own: its steps have them; the
-- capture triggers, which only record keys, are left as they are, light).
-- Where Citus is not loaded these are placeholder settings without effect.
DO $$
DECLARE
    f regprocedure;
BEGIN
    FOR f IN SELECT p.oid FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
              WHERE p.pronamespace = 'transformer'::regnamespace AND p.proname LIKE '%job%'
                AND l.lanname = 'plpgsql' AND p.prokind = 'f' AND p.prorettype <> 'trigger'::regtype LOOP
        EXECUTE format('ALTER FUNCTION %s SET citus.show_shards_for_app_name_prefixes = ''*'' '
                       'SET citus.enable_manual_changes_to_shards = on '
                       'SET citus.enable_ddl_propagation = off', f);
    END LOOP;
END $$;

-- The distributed jobs, on the coordinator; their shard jobs are rows of
-- transformer.job on the nodes that hold the shards.
CREATE TABLE transformer.distributed_job (
    name text PRIMARY KEY,
    owner regrole NOT NULL,            -- the table's owner, as for a job
    source regclass NOT NULL,          -- the distributed table
    input text NOT NULL,
    task text NOT NULL,
    target text NOT NULL,
    model text NOT NULL,               -- the model's name on every node
    model_ref text NOT NULL,           -- name@hash, checked on every node (create, alter)
    options jsonb NOT NULL,
    batch_rows integer NOT NULL,
    batch_tokens integer NOT NULL,
    search_path text NOT NULL,         -- create_job's, for the input expression
    created_at timestamptz NOT NULL DEFAULT now()
);
SELECT pg_catalog.pg_extension_config_dump('transformer.distributed_job', '');
REVOKE ALL ON transformer.distributed_job FROM PUBLIC;

CREATE FUNCTION transformer._job_in_transaction_block() RETURNS boolean
    AS 'MODULE_PATHNAME', 'job_in_transaction_block' LANGUAGE C VOLATILE;

-- The name of distributed job `job`'s job on shard `shard` (NULL: the
-- prefix of them all).
CREATE FUNCTION transformer._shard_job_name(job text, shard bigint) RETURNS text
    LANGUAGE sql IMMUTABLE AS $$ SELECT job || '/' || coalesce(shard::text, '') $$;

-- Is there a job (on this node, of part 10) named `job_name`?
CREATE FUNCTION transformer._local_job_exists(job_name text) RETURNS boolean
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT EXISTS (SELECT FROM transformer.job WHERE name = job_name)
$$;

-- The distributed job `job_name`; NULL when there is none. ERROR when the
-- caller is not a member of its owner.
CREATE FUNCTION transformer._distributed_job_get(job_name text) RETURNS transformer.distributed_job
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    d transformer.distributed_job;
BEGIN
    SELECT * INTO d FROM transformer.distributed_job WHERE name = job_name;
    IF FOUND AND NOT pg_has_role(transformer._job_caller(), d.owner, 'MEMBER') THEN
        RAISE EXCEPTION 'permission denied for job "%"', job_name USING ERRCODE = 'insufficient_privilege',
            DETAIL = format('The job belongs to role %s, the owner of table %s.', d.owner, d.source),
            HINT = 'Only members of the owning role may run or change a job.';
    END IF;
    RETURN d;
END $$;

-- Record, change (the model, options and batch size alter_job sets) or
-- forget a distributed job: the catalog is the extension owner's.
CREATE FUNCTION transformer._distributed_job_save(d transformer.distributed_job, forget boolean DEFAULT false)
    RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF NOT pg_has_role(transformer._job_caller(), d.owner, 'MEMBER') THEN
        RAISE EXCEPTION 'permission denied for job "%"', d.name USING ERRCODE = 'insufficient_privilege';
    END IF;
    DELETE FROM transformer.distributed_job WHERE name = d.name;
    IF NOT forget THEN
        INSERT INTO transformer.distributed_job SELECT d.*;
    END IF;
END $$;

-- Is `source` a Citus distributed table (hash, range, append or single
-- shard)? false for a table Citus does not know (or without Citus); ERROR
-- for the Citus tables a job cannot run on.
CREATE FUNCTION transformer._citus_distributed(source regclass) RETURNS boolean
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    t record;
BEGIN
    IF NOT EXISTS (SELECT FROM pg_extension WHERE extname = 'citus') THEN
        RETURN false;
    END IF;
    EXECUTE 'SELECT p.partmethod, p.repmodel, p.colocationid, '
            '       (SELECT count(*) FROM pg_dist_shard s JOIN pg_dist_placement pl USING (shardid) '
            '         WHERE s.logicalrelid = p.logicalrelid) '
            '     > (SELECT count(*) FROM pg_dist_shard s WHERE s.logicalrelid = p.logicalrelid) AS replicated '
            'FROM pg_dist_partition p WHERE p.logicalrelid = $1'
        INTO t USING source;
    IF t IS NULL THEN
        RETURN false;
    ELSIF t.partmethod = 'n' AND t.repmodel = 't' THEN
        RAISE EXCEPTION 'a job cannot run on % because it is a Citus reference table', source
            USING ERRCODE = 'feature_not_supported',
            DETAIL = 'Every node holds a copy of a reference table; a job per copy would compute each row once per node.',
            HINT = format('Fill it with UPDATE %s SET ... = embed_pinned(...), which Citus runs on every copy, or distribute the table.', source);
    ELSIF t.partmethod = 'n' AND t.colocationid = 0 THEN
        RAISE EXCEPTION 'a job cannot run on % because it is a Citus local table', source
            USING ERRCODE = 'feature_not_supported',
            DETAIL = 'Citus keeps its rows in a shard table on the coordinator.',
            HINT = format('Undistribute it (SELECT undistribute_table(%L)) or distribute it, then create the job.', source::text);
    ELSIF t.replicated THEN
        RAISE EXCEPTION 'a job cannot run on % because its shards have several copies', source
            USING ERRCODE = 'feature_not_supported',
            DETAIL = 'A job per copy would write each copy on its own, outside Citus'' replication.',
            HINT = 'Use a table with citus.shard_replication_factor = 1 (the default).';
    END IF;
    RETURN true;
END $$;

-- The shards of distributed table `source` and where each is: one row per
-- shard (a job refuses tables whose shards have several copies).
CREATE FUNCTION transformer._citus_placements(source regclass,
        OUT node_name text, OUT node_port integer, OUT shard bigint, OUT shard_table text)
    RETURNS SETOF record
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN QUERY EXECUTE
        'SELECT n.nodename::text, n.nodeport, s.shardid, shard_name(s.logicalrelid, s.shardid) '
        '  FROM pg_dist_shard s JOIN pg_dist_placement p USING (shardid) JOIN pg_dist_node n USING (groupid) '
        ' WHERE s.logicalrelid = $1 AND n.isactive AND n.noderole = ''primary'' ORDER BY s.shardid'
        USING source;
END $$;

-- Citus' master_run_on_worker: commands[i] on node names[i]:ports[i], each
-- in a connection of its own (as the current user), all in parallel.
CREATE FUNCTION transformer._citus_run(names text[], ports integer[], commands text[],
        OUT node_name text, OUT node_port integer, OUT success boolean, OUT result text)
    RETURNS SETOF record
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN QUERY EXECUTE 'SELECT * FROM master_run_on_worker($1, $2, $3, true)' USING names, ports, commands;
END $$;

-- Run `call` (an SQL expression, a format() string: %1$L is the shard
-- job's name, %2$L the shard table's, %3$L... the `args`) for every shard
-- of the distributed job's table, on the node that holds it: one
-- connection and one transaction per node, the nodes in parallel, a node's
-- shards in shard order. One row per shard: the expression's value as
-- jsonb, or the error that failed its node. Runs as the caller, so each
-- node checks the caller's rights itself.
CREATE FUNCTION transformer._distributed_job_call(job transformer.distributed_job, call text,
                                                  args text[] DEFAULT '{}')
    RETURNS TABLE (node text, shard bigint, shard_table text, result jsonb, error text)
    LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
    WITH placement AS MATERIALIZED (SELECT * FROM transformer._citus_placements(job.source)),
    per_node AS (
        SELECT p.node_name, p.node_port,
               format('SELECT jsonb_agg(r ORDER BY i) FROM (VALUES %s) v(i, r)',
                      string_agg(format('(%s, to_jsonb((%s)))', p.shard,
                                        format(call, VARIADIC ARRAY[transformer._shard_job_name(job.name, p.shard), p.shard_table] || args)),
                                 ', ' ORDER BY p.shard)) AS command
          FROM placement p GROUP BY p.node_name, p.node_port),
    ran AS MATERIALIZED (
        SELECT r.* FROM (SELECT array_agg(node_name) AS names, array_agg(node_port) AS ports,
                                array_agg(command) AS commands FROM per_node) a,
               transformer._citus_run(a.names, a.ports, a.commands) r
         WHERE a.names IS NOT NULL)
    SELECT p.node_name || ':' || p.node_port, p.shard, p.shard_table,
           CASE WHEN r.success THEN nullif(r.result::jsonb -> (row_number() OVER w - 1)::integer, 'null') END,
           CASE WHEN NOT r.success THEN regexp_replace(r.result, '^ERROR:\s+', '') END
      FROM placement p JOIN ran r ON r.node_name = p.node_name AND r.node_port = p.node_port
    WINDOW w AS (PARTITION BY p.node_name, p.node_port ORDER BY p.shard)
    ORDER BY p.shard
$$;

-- _distributed_job_call, for a change: ERROR naming the nodes that failed
-- (each node's shards changed all or none), else the results in shard order.
CREATE FUNCTION transformer._distributed_job_do(job transformer.distributed_job, call text,
                                                args text[] DEFAULT '{}') RETURNS jsonb[]
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    results jsonb[];
    first_error text;
    failed text;
BEGIN
    SELECT array_agg(c.result ORDER BY c.shard), min(c.error),
           string_agg(DISTINCT c.node, ', ') FILTER (WHERE c.error IS NOT NULL)
      INTO results, first_error, failed
      FROM transformer._distributed_job_call(job, call, args) c;
    IF failed IS NOT NULL THEN
        RAISE EXCEPTION 'job "%" failed on %: %', job.name, failed, first_error
            USING ERRCODE = 'object_not_in_prerequisite_state',
            DETAIL = 'Each node changes the jobs of all its shards or of none; the other nodes did.',
            HINT = 'Mend those nodes and call it again (transformer.job_nodes shows each shard''s job).';
    END IF;
    RETURN coalesce(results, '{}');
END $$;

-- Create the shard jobs that are missing (all of them, from create_job);
-- returns how many it created.
CREATE FUNCTION transformer._distributed_job_create_shard_jobs(job transformer.distributed_job)
    RETURNS integer
    LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
    SELECT count(*)::integer FROM unnest(transformer._distributed_job_do(job,
        'CASE WHEN transformer._local_job_exists(%1$L) THEN false ELSE '
        '(SELECT true FROM transformer._job_create(%1$L, %2$L::regclass, %3$L, %4$L, %5$L, %6$L, '
        '%7$L::jsonb, %8$L::integer, %9$L::integer, %10$L)) END',
        ARRAY[job.input, job.task, job.target, job.model, job.options::text, job.batch_rows::text,
              job.batch_tokens::text, job.search_path])) r
     WHERE r = 'true'
$$;

-- create_job on a distributed table: checks here, the target column added
-- through Citus, then a job per shard on the nodes (README.md, "Jobs on
-- distributed tables").
CREATE FUNCTION transformer._distributed_job_create(d transformer.distributed_job) RETURNS void
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    checked record;
    target_info record;
    input_columns text[];
    added record;
BEGIN
    -- the shard jobs are committed on the nodes at once, out of reach of
    -- this transaction's rollback, and they need the target column
    -- committed first (the ALTER TABLE's shard locks would block them)
    IF transformer._job_in_transaction_block() THEN
        RAISE EXCEPTION 'create_job on a distributed table must run in a transaction of its own'
            USING ERRCODE = 'active_sql_transaction',
            DETAIL = 'It adds the target column and creates a job on each node at once; a rollback here would not undo them.',
            HINT = 'Call it outside BEGIN ... COMMIT, as a statement of its own.';
    END IF;
    IF NOT pg_has_role(transformer._job_caller(), d.owner, 'MEMBER') THEN
        RAISE EXCEPTION 'must be owner of table %', d.source USING ERRCODE = 'insufficient_privilege',
            HINT = 'Only the table''s owner (or a member of the owning role) may create a job on it.';
    END IF;
    IF transformer._local_job_exists(d.name) THEN
        RAISE EXCEPTION 'job "%" already exists', d.name USING ERRCODE = 'duplicate_object',
            HINT = 'Choose another name, or change the job with transformer.alter_job().';
    END IF;
    IF d.task NOT IN ('embed', 'translate') THEN
        RAISE EXCEPTION 'unknown task "%"', d.task USING ERRCODE = 'invalid_parameter_value',
            HINT = 'The tasks are embed and translate.';
    END IF;
    IF NOT EXISTS (SELECT FROM pg_index WHERE indrelid = d.source AND indisprimary) THEN
        RAISE EXCEPTION 'table % has no primary key', d.source USING ERRCODE = 'invalid_table_definition',
            DETAIL = 'A job identifies rows by their primary key.';
    END IF;
    checked := transformer._job_check_model(d.task, d.model, d.options);
    d.model := checked.model_name;
    d.model_ref := transformer.check_model_on_all_nodes(d.model);
    -- the input parsed over the table takes a lock on it until the end of
    -- the (sub)transaction: checked in a subtransaction rolled back on
    -- purpose, so that the ALTER TABLE below (another connection) can run
    BEGIN
        input_columns := transformer._job_input_columns(d.source, d.input, d.search_path);
        RAISE EXCEPTION USING ERRCODE = 'TFOK0';
    EXCEPTION WHEN SQLSTATE 'TFOK0' THEN
        NULL;
    END;
    IF d.target = ANY (input_columns) THEN
        RAISE EXCEPTION 'target column "%" is read by the input or is part of the primary key', d.target
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Name a column of its own for the results.';
    END IF;
    target_info := transformer._job_target_type(d.source, d.target, d.task, d.options, checked.dimensions);
    IF NOT target_info.exists_already THEN
        EXECUTE 'SELECT success, result FROM run_command_on_coordinator($1)'
            INTO added USING format('ALTER TABLE %s ADD COLUMN %I %s', d.source, d.target, target_info.type_name);
        IF NOT added.success THEN
            RAISE EXCEPTION 'could not add the target column "%" to %: %', d.target, d.source, added.result
                USING ERRCODE = 'object_not_in_prerequisite_state';
        END IF;
    END IF;
    BEGIN
        PERFORM transformer._distributed_job_create_shard_jobs(d);
    EXCEPTION WHEN OTHERS THEN
        -- the nodes that created their shard jobs drop them again (a node
        -- that failed may fail this too: the first error is the one to tell)
        BEGIN
            PERFORM transformer._distributed_job_drop_shard_jobs(d, keep_placed => false);
        EXCEPTION WHEN OTHERS THEN
            NULL;
        END;
        RAISE;
    END;
    PERFORM transformer._distributed_job_save(d);
END $$;

-- ---------------------------------------------------------------- the API
-- Each function: the distributed job of that name when there is one, else
-- part 10's job on this node.

-- SECURITY INVOKER, to hand the caller's search_path on.
CREATE FUNCTION transformer.create_job(name text, source regclass, input text,
                                       task text DEFAULT 'embed', target text DEFAULT NULL,
                                       model text DEFAULT NULL, options jsonb DEFAULT '{}',
                                       batch_rows integer DEFAULT 64,
                                       batch_tokens integer DEFAULT 8192) RETURNS void
    LANGUAGE plpgsql AS $$
DECLARE
    d transformer.distributed_job;
BEGIN
    IF (transformer._distributed_job_get(name)).name IS NOT NULL THEN
        RAISE EXCEPTION 'job "%" already exists', name USING ERRCODE = 'duplicate_object',
            HINT = 'Choose another name, or change the job with transformer.alter_job().';
    END IF;
    IF source IS NULL OR NOT transformer._citus_distributed(source) THEN
        PERFORM transformer._local_create_job(name, source, input, task, target, model, options, batch_rows,
                                              batch_tokens);
        RETURN;
    END IF;
    IF name IS NULL OR name = '' OR input IS NULL OR task IS NULL OR options IS NULL
       OR batch_rows IS NULL OR batch_tokens IS NULL THEN
        RAISE EXCEPTION 'create_job needs a name, a source table, an input, a task, options, batch_rows and batch_tokens'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    PERFORM transformer._job_check_batch(batch_rows, batch_tokens);
    d.name := name;
    d.owner := (SELECT relowner::regrole FROM pg_class WHERE oid = source);
    d.source := source;
    d.input := input;
    d.task := task;
    d.target := coalesce(target, name);
    d.model := model;
    d.options := options;
    d.batch_rows := batch_rows;
    d.batch_tokens := batch_tokens;
    d.search_path := current_setting('search_path');
    d.created_at := now();
    PERFORM transformer._distributed_job_create(d);
END $$;

CREATE FUNCTION transformer.alter_job(name text, model text DEFAULT NULL, options jsonb DEFAULT NULL,
                                      batch_rows integer DEFAULT NULL, batch_tokens integer DEFAULT NULL)
    RETURNS void
    LANGUAGE plpgsql AS $$
DECLARE
    d transformer.distributed_job := transformer._distributed_job_get(name);
BEGIN
    IF d.name IS NULL THEN
        PERFORM transformer._local_alter_job(name, model, options, batch_rows, batch_tokens);
        RETURN;
    END IF;
    IF model IS NOT NULL THEN
        d.model_ref := transformer.check_model_on_all_nodes(model);
        d.model := model;
    END IF;
    d.options := coalesce(options, d.options);
    d.batch_rows := coalesce(batch_rows, d.batch_rows);
    d.batch_tokens := coalesce(batch_tokens, d.batch_tokens);
    PERFORM transformer._distributed_job_do(d,
        '(SELECT true FROM transformer._local_alter_job(%1$L, %3$L, %4$L::jsonb, %5$L::integer, %6$L::integer))',
        ARRAY[model, options::text, batch_rows::text, batch_tokens::text]);
    PERFORM transformer._distributed_job_save(d);
END $$;

-- pause_job, resume_job: part 10's function `local_function` (called with
-- the job's name) on this node's job, or on every shard job.
CREATE FUNCTION transformer._job_change_state(name text, local_function text) RETURNS void
    LANGUAGE plpgsql AS $$
DECLARE
    d transformer.distributed_job := transformer._distributed_job_get(name);
BEGIN
    IF d.name IS NULL THEN
        EXECUTE format('SELECT transformer.%I($1)', local_function) USING name;
    ELSE
        PERFORM transformer._distributed_job_do(d, format('(SELECT true FROM transformer.%I(%%1$L))', local_function));
    END IF;
END $$;

CREATE FUNCTION transformer.pause_job(name text) RETURNS void
    LANGUAGE sql AS $$ SELECT transformer._job_change_state(name, '_local_pause_job') $$;

CREATE FUNCTION transformer.resume_job(name text) RETURNS void
    LANGUAGE sql AS $$ SELECT transformer._job_change_state(name, '_local_resume_job') $$;

-- A distributed job: its shard jobs go on every node (those of shards
-- moved away too; a drop_job that failed on a node can be called again),
-- then the job's record; the target column and its values stay.
CREATE FUNCTION transformer.drop_job(name text) RETURNS void
    LANGUAGE plpgsql AS $$
DECLARE
    d transformer.distributed_job := transformer._distributed_job_get(name);
BEGIN
    IF d.name IS NULL THEN
        PERFORM transformer._local_drop_job(name);
        RETURN;
    END IF;
    PERFORM transformer._distributed_job_drop_shard_jobs(d, keep_placed => false);
    PERFORM transformer._distributed_job_save(d, forget => true);
END $$;

CREATE FUNCTION transformer.retry_job(name text) RETURNS bigint
    LANGUAGE sql AS $$
    SELECT CASE WHEN d.name IS NULL THEN transformer._local_retry_job(retry_job.name)
                ELSE (SELECT sum(r::text::bigint)::bigint
                        FROM unnest(transformer._distributed_job_do(d, 'transformer._local_retry_job(%1$L)')) r) END
      FROM transformer._distributed_job_get(name) d
$$;

-- A distributed job: every node waits for its shards' jobs, in parallel,
-- each within `timeout` from its start.
CREATE FUNCTION transformer.wait_job(name text, timeout interval DEFAULT '5 minutes') RETURNS boolean
    LANGUAGE sql AS $$
    SELECT CASE WHEN d.name IS NULL THEN transformer._local_wait_job(wait_job.name, timeout)
                ELSE (SELECT bool_and(r::text::boolean)
                        FROM unnest(transformer._distributed_job_do(d,
                            'transformer._local_wait_job(%1$L, greatest(%3$L::interval '
                            '- (clock_timestamp() - statement_timestamp()), interval ''0''))',
                            ARRAY[timeout::text])) r) END
      FROM transformer._distributed_job_get(name) d
$$;

-- A distributed job: run_job of each shard job on its node (a procedure
-- commits per batch, so a connection per shard job): the nodes in
-- parallel, each node's shards one after another. max_rows: per shard.
CREATE PROCEDURE transformer.run_job(name text, max_rows bigint DEFAULT NULL)
    LANGUAGE plpgsql AS $$
DECLARE
    d transformer.distributed_job := transformer._distributed_job_get(name);
    round record;
    failed text;
BEGIN
    IF d.name IS NULL THEN
        CALL transformer._local_run_job(name, max_rows);
        RETURN;
    END IF;
    -- round k: the k-th shard of every node
    FOR round IN
        SELECT array_agg(node_name) AS names, array_agg(node_port) AS ports,
               array_agg(format('CALL transformer._local_run_job(%L, %s)', transformer._shard_job_name(d.name, shard),
                                coalesce(max_rows::text, 'NULL'))) AS commands
          FROM (SELECT p.*, row_number() OVER (PARTITION BY p.node_name, p.node_port ORDER BY p.shard) AS k
                  FROM transformer._citus_placements(d.source) p) s
         GROUP BY k ORDER BY k LOOP
        SELECT string_agg(format('%s:%s (%s)', r.node_name, r.node_port, r.result), ', ')
          INTO failed
          FROM transformer._citus_run(round.names, round.ports, round.commands) r WHERE NOT r.success;
        IF failed IS NOT NULL THEN
            RAISE EXCEPTION 'job "%": run_job failed on %', name, failed
                USING ERRCODE = 'object_not_in_prerequisite_state';
        END IF;
    END LOOP;
    RAISE NOTICE 'job "%": every shard''s job ran', name;
END $$;

-- The jobs on this node whose names begin with `prefix`, but for those
-- named in `keep`, dropped (the caller must be a member of their owner),
-- a transaction each: dropping several in one transaction deadlocks with
-- the background workers (a worker's round over the active jobs holds the
-- queue of one while it waits for the queue of another that the drop
-- holds). `dropped`: how many (a CALL returns it as a row).
CREATE PROCEDURE transformer._local_drop_jobs_except(prefix text, keep text[], INOUT dropped integer DEFAULT 0)
    LANGUAGE plpgsql AS $$
DECLARE
    job_name text;
BEGIN
    dropped := 0;
    FOREACH job_name IN ARRAY ARRAY(SELECT j.name FROM transformer._local_jobs j
                                     WHERE left(j.name, length(prefix)) = prefix AND j.name <> ALL (keep)) LOOP
        PERFORM transformer._local_drop_job(job_name);
        COMMIT;
        dropped := dropped + 1;
    END LOOP;
END $$;

-- On every node that may hold shards: drop the distributed job's shard
-- jobs ('<job>/<shard id>'), but for those of the shards the node holds
-- when `keep_placed`. Returns how many it dropped.
CREATE FUNCTION transformer._distributed_job_drop_shard_jobs(d transformer.distributed_job, keep_placed boolean)
    RETURNS integer
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    nodes record;
    failed text;
    dropped integer;
BEGIN
    EXECUTE $q$
        SELECT array_agg(n.nodename::text ORDER BY n.nodeid) AS names,
               array_agg(n.nodeport ORDER BY n.nodeid) AS ports,
               array_agg(format('CALL transformer._local_drop_jobs_except(%L, %L)', transformer._shard_job_name($1, NULL),
                                CASE WHEN $3 THEN
                                    (SELECT coalesce(array_agg(transformer._shard_job_name($1, p.shard)), '{}')
                                       FROM transformer._citus_placements($2) p
                                      WHERE p.node_name = n.nodename AND p.node_port = n.nodeport)
                                ELSE '{}' END)
                         ORDER BY n.nodeid) AS commands
          FROM pg_dist_node n WHERE n.isactive AND n.noderole = 'primary'
           AND (n.groupid <> 0 OR n.shouldhaveshards) $q$
        INTO nodes USING d.name, d.source, keep_placed;
    SELECT sum(r.result::integer) FILTER (WHERE r.success),
           string_agg(format('%s:%s (%s)', r.node_name, r.node_port, r.result), ', ') FILTER (WHERE NOT r.success)
      INTO dropped, failed
      FROM transformer._citus_run(nodes.names, nodes.ports, nodes.commands) r;
    IF failed IS NOT NULL THEN
        RAISE EXCEPTION 'job "%": could not drop shard jobs on %', d.name, failed
            USING ERRCODE = 'object_not_in_prerequisite_state',
            HINT = 'Mend those nodes and call it again.';
    END IF;
    RETURN coalesce(dropped, 0);
END $$;

-- After Citus moved or split shards: the jobs of shards a node no longer
-- holds are dropped there, and the shards without a job get one (which
-- computes the whole shard again). Returns a line saying how many.
CREATE FUNCTION transformer.reconcile_job(name text) RETURNS text
    LANGUAGE plpgsql AS $$
DECLARE
    d transformer.distributed_job := transformer._distributed_job_get(name);
    dropped integer;
BEGIN
    IF d.name IS NULL THEN
        RAISE EXCEPTION 'distributed job "%" does not exist', name USING ERRCODE = 'undefined_object',
            HINT = 'reconcile_job mends the jobs of distributed tables, listed in transformer.job_nodes.';
    END IF;
    dropped := transformer._distributed_job_drop_shard_jobs(d, keep_placed => true);
    RETURN format('%s shard jobs created, %s dropped',
                  transformer._distributed_job_create_shard_jobs(d), dropped);
END $$;

-- ---------------------------------------------------------------- views

-- The distributed jobs the caller may see (a member of their owner).
CREATE FUNCTION transformer._distributed_job_list() RETURNS SETOF transformer.distributed_job
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT * FROM transformer.distributed_job
     WHERE pg_has_role(transformer._job_caller(), owner, 'MEMBER') ORDER BY name
$$;

-- Every shard job of the distributed jobs the caller may see, as its node
-- reports it in part 10's view (NULL when the node has no such job), or
-- the error of a node that did not answer.
CREATE FUNCTION transformer._distributed_job_shards(
        OUT job text, OUT node text, OUT shard bigint, OUT shard_table text,
        OUT detail transformer._local_jobs, OUT error text)
    RETURNS SETOF record
    LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
    SELECT d.name, c.node, c.shard, c.shard_table,
           jsonb_populate_record(NULL::transformer._local_jobs, c.result), c.error
      FROM transformer._distributed_job_list() d,
           transformer._distributed_job_call(d,
               '(SELECT to_jsonb(j) - ''source'' - ''owner'' FROM transformer._local_jobs j WHERE j.name = %1$L)') c
$$;

-- One row per shard of each distributed job: where it is and its job's
-- state there ('missing': the node has no job for the shard, see
-- reconcile_job; 'unreachable': the node did not answer, last_error says
-- why), with part 10's counts.
CREATE VIEW transformer.job_nodes AS
SELECT s.job, s.node, s.shard, s.shard_table,
       CASE WHEN s.error IS NOT NULL THEN 'unreachable'
            WHEN (s.detail).name IS NULL THEN 'missing'
            ELSE (s.detail).state END AS state,
       (s.detail).rows_done, (s.detail).rows_pending, (s.detail).rows_failed,
       (s.detail).rows_per_second, (s.detail).eta, (s.detail).worker_pids,
       coalesce(s.error, (s.detail).last_error) AS last_error,
       (s.detail).rows_computed, (s.detail).batches
  FROM transformer._distributed_job_shards() s;

-- The arrays concatenated.
CREATE AGGREGATE transformer._array_concat(anycompatiblearray) (
    SFUNC = array_cat, STYPE = anycompatiblearray, INITCOND = '{}');

-- The jobs of this node, then each distributed job summed over its shard
-- jobs: the worst state (broken, unreachable, missing, paused, backfilling,
-- syncing, idle), rows and rates added up, the longest eta, the worker pids
-- of every node (transformer.job_nodes tells which node), the shards'
-- errors prefixed with their node and shard.
CREATE VIEW transformer.jobs AS
SELECT * FROM transformer._local_jobs
UNION ALL
SELECT r.*
  FROM (SELECT d.name, d.owner, d.source, d.input, d.task, d.model, d.options, d.target,
               (ARRAY['broken', 'unreachable', 'missing', 'paused', 'backfilling', 'syncing', 'idle'])[
                   min(array_position(ARRAY['broken', 'unreachable', 'missing', 'paused', 'backfilling',
                                            'syncing', 'idle'], n.state))] AS state,
               sum(n.rows_done) AS rows_done, sum(n.rows_pending) AS rows_pending,
               sum(n.rows_failed) AS rows_failed, sum(n.rows_per_second) AS rows_per_second,
               max(n.eta) AS eta,
               transformer._array_concat(n.worker_pids ORDER BY n.shard) AS worker_pids,
               string_agg(format('%s shard %s: %s', n.node, n.shard, n.last_error), '; ' ORDER BY n.shard)
                   FILTER (WHERE n.last_error IS NOT NULL) AS last_error,
               sum(n.rows_computed) AS rows_computed, sum(n.batches) AS batches
          FROM transformer._distributed_job_list() d JOIN transformer.job_nodes n ON n.job = d.name
         GROUP BY d.name, d.owner, d.source, d.input, d.task, d.model, d.options, d.target) a,
       jsonb_populate_record(NULL::transformer._local_jobs, to_jsonb(a)) r;

-- The failed rows of the distributed jobs' shards, named by the distributed job.
CREATE FUNCTION transformer._distributed_job_errors() RETURNS SETOF transformer._local_job_errors
    LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
    SELECT (jsonb_populate_record(NULL::transformer._local_job_errors, e || jsonb_build_object('job', d.name))).*
      FROM transformer._distributed_job_list() d,
           transformer._distributed_job_call(d,
               '(SELECT jsonb_agg(to_jsonb(e)) FROM transformer._local_job_errors e WHERE e.job = %1$L)') c,
           jsonb_array_elements(coalesce(c.result, '[]')) e
$$;

CREATE VIEW transformer.job_errors AS
SELECT * FROM transformer._local_job_errors
UNION ALL
SELECT * FROM transformer._distributed_job_errors();

GRANT SELECT ON transformer.jobs, transformer.job_errors, transformer.job_nodes TO PUBLIC;
