-- transformer 0.1.0: SQL interface, part 40: fill-mask with a BERT model's
-- masked-language-model head (src/pg_fill_mask.c). See README.md.

-- For each [MASK] in the input, the top_k tokens the model predicts there
-- (1 to 1000), best first, with their probabilities (softmax over the
-- vocabulary) and the input with that [MASK] filled in, as Hugging Face's
-- fill-mask pipeline gives them. mask counts the [MASK]s from 1 in text
-- order; position is the token index ([CLS] is 0). NULL input gives no
-- rows; a NULL model means transformer.embedding_model, a NULL top_k 5.
CREATE FUNCTION fill_mask(input text, model text DEFAULT NULL, top_k integer DEFAULT 5)
    RETURNS TABLE(mask integer, "position" integer, rank integer, token text, token_id integer,
                  score double precision, sequence text)
    AS 'MODULE_PATHNAME', 'fill_mask'
    LANGUAGE C STABLE PARALLEL SAFE COST 10000 ROWS 5;
