-- The SQL surface on the test fixtures (random weights: outputs are compared
-- with each other, never printed as numbers; parity with the PyTorch
-- reference is checked in test/pgtap and test/unit).
CREATE EXTENSION transformer;

SELECT name, architecture, dimensions, held FROM transformer.models ORDER BY name;

-- embeddings
SELECT array_length(embed('A man is riding a bicycle.'), 1) AS dims;
SELECT embed('A dog.') = embed('A dog.', 'bert-minilm') AS default_model_is_the_setting;
SELECT round(sqrt((SELECT sum(x * x) FROM unnest(embed('normalised?')) AS x))::numeric, 5) AS norm;
SELECT o, (SELECT max(abs(x - y)) FROM unnest(e, embed(t)) AS d(x, y)) < 1e-5 AS same_as_alone
FROM unnest(ARRAY['first', 'second sentence', 'the third one, longer than the others']) WITH ORDINALITY AS u(t, o)
JOIN embed(ARRAY['first', 'second sentence', 'the third one, longer than the others']) WITH ORDINALITY AS b(e, k)
  ON k = o
ORDER BY o;

-- search
CREATE TABLE docs (id int PRIMARY KEY, body text, emb real[]);
INSERT INTO docs VALUES (1, 'A man is riding a bicycle.'), (2, 'Two dogs play in the snow.'),
                        (3, 'A woman is slicing an onion.');
UPDATE docs SET emb = embed(body);
SELECT id FROM docs ORDER BY cosine_distance(emb, embed('A man is riding a bicycle.')) LIMIT 1;

-- tokenization: the real bert-base-uncased vocabulary and the real opus-mt-en-mg SentencePiece model
SELECT * FROM tokenize('Héllo, World! naïve café 你好');
SELECT * FROM tokenize('A naïve café.', 'marian-ende-size');

-- cosine distance
SELECT cosine_distance('{1,0}', '{0,1}') AS orthogonal, cosine_distance('{1,2,3}', '{2,4,6}') AS parallel,
       cosine_distance('{1,1}', '{-1,-1}') AS opposite, cosine_distance('{0,0}', '{1,1}') AS zero;

-- translation: batches keep order and NULLs, settings and arguments agree
SELECT translate(ARRAY['A dog.', NULL, 'A cat.'], max_length => 8)
     = ARRAY[translate('A dog.', max_length => 8), NULL, translate('A cat.', max_length => 8)] AS batch_equals_single;
SET transformer.num_beams = 1;
SELECT translate('A dog runs.', max_length => 10) = translate('A dog runs.', num_beams => 1, max_length => 10)
    AS setting_equals_argument;
RESET transformer.num_beams;
SET transformer.max_length = 6;
SELECT translate('A dog runs.') = translate('A dog runs.', max_length => 6) AS max_length_setting;
RESET transformer.max_length;

-- PostgreSQL's own translate() is untouched
SELECT translate('abcdef', 'ace', 'xyz') AS builtin;

DROP TABLE docs;
DROP EXTENSION transformer;
