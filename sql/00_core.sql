-- transformer 0.1.0: SQL interface, part 00: the core functions. See README.md.
-- The extension script is these parts concatenated in name order (Makefile).
\echo Use "CREATE EXTENSION transformer" to load this file. \quit

-- Management objects live in schema transformer; the functions users call
-- every day live in the schema the extension is created in.
CREATE SCHEMA transformer;

-- embed(): sentence embeddings from a BERT model. Not STRICT because a
-- NULL model means the default (transformer.embedding_model); a NULL input
-- still gives NULL. STABLE, not IMMUTABLE: the result depends on which
-- model is loaded under a name and on settings.
-- COST: far above an operator's (1), so that the planner runs cheaper
-- conditions first and evaluates embed() after a sort or a LIMIT, yet low
-- enough that a plain row-by-row query does not reach jit_above_cost
-- (100000) below 400,000 rows: JIT compiles the executor's expressions,
-- not our C code, and at COST 10000 an `SELECT embed(body) FROM t` of
-- 4,000 rows paid for compiling a plan whose time is all in the function.
CREATE FUNCTION embed(input text, model text DEFAULT NULL) RETURNS real[]
    AS 'MODULE_PATHNAME', 'embed'
    LANGUAGE C STABLE PARALLEL SAFE COST 100;

-- Batched: one embedding per element, in order (use WITH ORDINALITY).
CREATE FUNCTION embed(inputs text[], model text DEFAULT NULL) RETURNS SETOF real[]
    AS 'MODULE_PATHNAME', 'embed_batch'
    LANGUAGE C STABLE PARALLEL SAFE COST 100 ROWS 100;

CREATE FUNCTION cosine_distance(a real[], b real[]) RETURNS double precision
    AS 'MODULE_PATHNAME', 'cosine_distance'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION tokenize(input text, model text DEFAULT NULL)
    RETURNS TABLE(id integer, token text)
    AS 'MODULE_PATHNAME', 'tokenize'
    LANGUAGE C STABLE PARALLEL SAFE ROWS 32;

-- translate(): Marian translation. The third parameter is an integer, so
-- PostgreSQL's own translate(text, text, text) is untouched. VOLATILE, not
-- STABLE, only so that the planner never runs it: it evaluates STABLE
-- functions of constant arguments to estimate row counts (unnest() of
-- translate(text[]) would translate the whole array twice).
CREATE FUNCTION translate(input text, model text DEFAULT NULL,
                          num_beams integer DEFAULT NULL, max_length integer DEFAULT NULL)
    RETURNS text
    AS 'MODULE_PATHNAME', 'translate_text'
    LANGUAGE C VOLATILE PARALLEL SAFE COST 100000;

CREATE FUNCTION translate(inputs text[], model text DEFAULT NULL,
                          num_beams integer DEFAULT NULL, max_length integer DEFAULT NULL)
    RETURNS text[]
    AS 'MODULE_PATHNAME', 'translate_batch'
    LANGUAGE C VOLATILE PARALLEL SAFE COST 100000;

-- Loading reads server files: superuser or pg_read_server_files only.
-- precision: 'exact' (weights as the checkpoint stores them: float32,
-- float16 or bfloat16), 'float32' (widened at load) or 'int8' (quantized
-- per output channel at load). PRECISION is an SQL keyword: quoted here,
-- and in named notation ("precision" => 'int8').
CREATE FUNCTION transformer.load_model(name text, path text, "precision" text DEFAULT 'exact')
    RETURNS void
    AS 'MODULE_PATHNAME', 'load_model'
    LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;

CREATE FUNCTION transformer.unload_model(name text) RETURNS void
    AS 'MODULE_PATHNAME', 'unload_model'
    LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;

REVOKE ALL ON FUNCTION transformer.load_model(text, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION transformer.unload_model(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION transformer.load_model(text, text, text) TO pg_read_server_files;
GRANT EXECUTE ON FUNCTION transformer.unload_model(text) TO pg_read_server_files;

CREATE FUNCTION transformer.model_info(
        OUT name text, OUT architecture text, OUT dimensions integer,
        OUT parameters bigint, OUT "precision" text, OUT bytes bigint, OUT held text,
        OUT path text, OUT content_hash text)
    RETURNS SETOF record
    AS 'MODULE_PATHNAME', 'model_info'
    LANGUAGE C VOLATILE PARALLEL RESTRICTED;

CREATE VIEW transformer.models AS SELECT * FROM transformer.model_info();
GRANT USAGE ON SCHEMA transformer TO PUBLIC;
GRANT SELECT ON transformer.models TO PUBLIC;
