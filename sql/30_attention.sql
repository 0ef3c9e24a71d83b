-- transformer 0.1.0: SQL interface, part 30: attention maps and translation
-- alignments, as rows and as SVG pictures. See README.md ("Seeing inside").
--
-- Layers, heads and token positions count from 0, as Hugging Face's
-- output_attentions and bertviz do. Weights are the attention
-- probabilities after softmax; every row of a map sums to 1. The text is
-- tokenized and truncated as embed() and translate() do (the picture
-- functions say so in a NOTICE when they cut it); a NULL input gives no
-- rows (NULL for a picture); an empty text is still [CLS] [SEP] (BERT) or
-- </s> (Marian). One call returns at most 1,000,000 rows: more is an error
-- whose hint says to choose a layer or a head.

-- Self-attention of a BERT model, or of a Marian model's encoder. A NULL
-- model means transformer.embedding_model; a NULL layer or head means all.
CREATE FUNCTION transformer.attention(input text, model text DEFAULT NULL,
                                      layer integer DEFAULT NULL, head integer DEFAULT NULL)
    RETURNS TABLE(layer integer, head integer, query_position integer, query_token text,
                  key_position integer, key_token text, weight real)
    AS 'MODULE_PATHNAME', 'attention'
    LANGUAGE C STABLE PARALLEL SAFE COST 10000 ROWS 10000;

-- The cross-attention of the translation translate() gives with the same
-- options (model NULL: transformer.translation_model; num_beams and
-- max_length as translate()'s): for each generated target token (the
-- final </s> included), its weights over the source tokens (</s>
-- included). Row target_position k is the decoder step that produced
-- token k. VOLATILE for translate()'s reason (sql/00_core.sql).
CREATE FUNCTION transformer.alignment(input text, model text DEFAULT NULL,
                                      num_beams integer DEFAULT NULL, max_length integer DEFAULT NULL,
                                      layer integer DEFAULT NULL, head integer DEFAULT NULL)
    RETURNS TABLE(layer integer, head integer, target_position integer, target_token text,
                  source_position integer, source_token text, weight real)
    AS 'MODULE_PATHNAME', 'alignment'
    LANGUAGE C VOLATILE PARALLEL SAFE COST 100000 ROWS 10000;

-- Per target token, the source token it attends to most: the highest
-- weight averaged over the heads of one layer (NULL: the penultimate
-- decoder layer, the one whose average lines up best with word alignments;
-- the last when the decoder has one layer).
CREATE FUNCTION transformer.alignment_summary(input text, model text DEFAULT NULL,
                                              num_beams integer DEFAULT NULL,
                                              max_length integer DEFAULT NULL,
                                              layer integer DEFAULT NULL)
    RETURNS TABLE(target_position integer, target_token text, source_position integer,
                  source_token text, weight real)
    AS 'MODULE_PATHNAME', 'alignment_summary'
    LANGUAGE C VOLATILE PARALLEL SAFE COST 100000 ROWS 30;

-- Pictures: an SVG document of one map, tokens on both axes, coloured from
-- white (0) to dark blue (the map's largest weight). A NULL layer means the
-- last one for attention_svg(), the penultimate decoder layer (as
-- alignment_summary()) for alignment_svg(); a NULL head the average of the
-- layer's heads.
CREATE FUNCTION transformer.attention_svg(input text, model text DEFAULT NULL,
                                          layer integer DEFAULT NULL, head integer DEFAULT NULL)
    RETURNS text
    AS 'MODULE_PATHNAME', 'attention_svg'
    LANGUAGE C STABLE PARALLEL SAFE COST 10000;

CREATE FUNCTION transformer.alignment_svg(input text, model text DEFAULT NULL,
                                          num_beams integer DEFAULT NULL,
                                          max_length integer DEFAULT NULL,
                                          layer integer DEFAULT NULL, head integer DEFAULT NULL)
    RETURNS text
    AS 'MODULE_PATHNAME', 'alignment_svg'
    LANGUAGE C VOLATILE PARALLEL SAFE COST 100000;
