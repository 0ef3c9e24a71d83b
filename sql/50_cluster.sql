-- transformer 0.1.0, part 50: immutable computations pinned to a checkpoint,
-- and models on every node of a Citus cluster. See README.md, "Volatility"
-- and "Citus".

-- embed_pinned(), translate_pinned(): embed() and translate() with a model
-- reference 'name@hash' (hash: 12 to 64 hex digits of the checkpoint's
-- content hash, transformer.models.content_hash). Each call checks that the
-- checkpoint loaded under the name has that hash, else ERRORs, and ignores
-- the session's settings: the result depends on the arguments only, hence
-- IMMUTABLE (generated columns, index expressions, Citus' push-down of
-- UPDATEs to the workers). The thread count and the instruction set change
-- the last bits of a result (sums in another order), so each call runs with
-- one thread and the server's own choice of instruction set, whatever the
-- session set. STRICT embed: a NULL input gives NULL.
CREATE FUNCTION embed_pinned(input text, model_ref text) RETURNS real[]
    AS 'MODULE_PATHNAME', 'embed_pinned'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 10000
    SET transformer.threads = 1 SET transformer.instruction_set = 'auto';

-- NULL num_beams or max_length: the checkpoint's own generation config
-- (part of the hash), never transformer.num_beams/max_length.
CREATE FUNCTION translate_pinned(input text, model_ref text,
                                 num_beams integer DEFAULT NULL, max_length integer DEFAULT NULL)
    RETURNS text
    AS 'MODULE_PATHNAME', 'translate_pinned'
    LANGUAGE C IMMUTABLE PARALLEL SAFE COST 100000
    SET transformer.threads = 1 SET transformer.instruction_set = 'auto';

-- The pinned reference of the model loaded as `name`: 'name@' and the first
-- 12 hex digits of its content hash.
CREATE FUNCTION transformer.model_ref(name text) RETURNS text
    LANGUAGE plpgsql STABLE STRICT
    AS $$
DECLARE
    hash text;
BEGIN
    SELECT m.content_hash INTO hash FROM transformer.models m WHERE m.name = model_ref.name;
    IF hash IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'undefined_object',
            MESSAGE = format('model "%s" is not loaded', name),
            HINT = 'Load it with transformer.load_model(name, path).';
    END IF;
    RETURN name || '@' || left(hash, 12);
END
$$;

-- The model `name` on this node and, when Citus is installed, on every
-- active worker: one row per node, content_hash NULL where the node does
-- not hold it (error says why).
CREATE FUNCTION transformer.model_on_all_nodes(name text,
        OUT node text, OUT content_hash text, OUT error text)
    RETURNS SETOF record
    LANGUAGE plpgsql VOLATILE STRICT
    AS $$
DECLARE
    w record;
BEGIN
    node := 'coordinator';
    SELECT m.content_hash INTO content_hash FROM transformer.models m
        WHERE m.name = model_on_all_nodes.name;
    error := CASE WHEN content_hash IS NULL THEN 'not loaded' END;
    RETURN NEXT;
    IF NOT EXISTS (SELECT FROM pg_extension WHERE extname = 'citus') THEN
        RETURN;
    END IF;
    FOR w IN EXECUTE $q$SELECT nodename, nodeport, success, result
                        FROM run_command_on_workers($1) ORDER BY nodename, nodeport$q$
        USING format($c$SELECT coalesce((SELECT content_hash FROM transformer.models
                                        WHERE name = %L), 'not loaded')$c$, name)
    LOOP
        node := w.nodename || ':' || w.nodeport;
        content_hash := CASE WHEN w.success AND w.result <> 'not loaded' THEN w.result END;
        error := CASE WHEN NOT w.success THEN w.result
                      WHEN w.result = 'not loaded' THEN 'not loaded' END;
        RETURN NEXT;
    END LOOP;
END
$$;

-- Check that every node holds the same checkpoint as `name`: returns its
-- pinned reference (as transformer.model_ref), or ERRORs naming the nodes
-- that lack it or hold another checkpoint under the same name.
CREATE FUNCTION transformer.check_model_on_all_nodes(name text) RETURNS text
    LANGUAGE plpgsql VOLATILE STRICT
    AS $$
DECLARE
    nodes record;
    expected text;
    missing text;
    differing text;
BEGIN
    SELECT min(n.content_hash) FILTER (WHERE n.node = 'coordinator') AS coordinator_hash,
           string_agg(format('%s (%s)', n.node, n.error), ', ')
               FILTER (WHERE n.content_hash IS NULL) AS lacking,
           string_agg(DISTINCT n.content_hash, ',') AS hashes
        INTO nodes
        FROM transformer.model_on_all_nodes(name) n;
    IF nodes.lacking IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'undefined_object',
            MESSAGE = format('model "%s" is not loaded on every node', name),
            DETAIL = format('Nodes without it: %s.', nodes.lacking),
            HINT = 'Load it everywhere with transformer.load_model_on_all_nodes(name, path), '
                   'or add it to transformer.models on every node.';
    END IF;
    expected := nodes.coordinator_hash;
    SELECT string_agg(format('%s has %s', n.node, left(n.content_hash, 12)), ', ')
        INTO differing
        FROM transformer.model_on_all_nodes(name) n
        WHERE n.content_hash <> expected;
    IF differing IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'object_not_in_prerequisite_state',
            MESSAGE = format('model "%s" is another checkpoint on some nodes', name),
            DETAIL = format('The coordinator has %s; %s.', left(expected, 12), differing),
            HINT = 'Load the same checkpoint under this name on every node.';
    END IF;
    RETURN name || '@' || left(expected, 12);
END
$$;

-- Load checkpoint `path` (resolved in each node's own
-- transformer.model_directory) as `name` on this node and on every active
-- Citus worker, then check that all hold the same checkpoint. Returns the
-- pinned reference. Not atomic: the nodes that loaded it keep it when
-- another fails (the error names which).
CREATE FUNCTION transformer.load_model_on_all_nodes(name text, path text) RETURNS text
    LANGUAGE plpgsql VOLATILE STRICT
    AS $$
DECLARE
    failed text;
BEGIN
    PERFORM transformer.load_model(name, path);
    IF EXISTS (SELECT FROM pg_extension WHERE extname = 'citus') THEN
        EXECUTE $q$SELECT string_agg(format('%s:%s (%s)', nodename, nodeport, result), ', ')
                   FROM run_command_on_workers($1) WHERE NOT success$q$
            INTO failed
            USING format('SELECT transformer.load_model(%L, %L)', name, path);
        IF failed IS NOT NULL THEN
            RAISE EXCEPTION USING ERRCODE = 'object_not_in_prerequisite_state',
                MESSAGE = format('could not load model "%s" on every node', name),
                DETAIL = format('Failed on: %s. The other nodes hold it now.', failed),
                HINT = 'Fix those nodes, then load it there with transformer.load_model(name, path).';
        END IF;
    END IF;
    RETURN transformer.check_model_on_all_nodes(name);
END
$$;

REVOKE ALL ON FUNCTION transformer.load_model_on_all_nodes(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION transformer.load_model_on_all_nodes(text, text) TO pg_read_server_files;
