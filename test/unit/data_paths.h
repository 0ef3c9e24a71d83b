/*
 * data_paths.h: where the unit tests find the repository's test data,
 * relative to the repository root (where `make unit` and test/run start
 * them). test/data/README.md says what each file is, where it comes from
 * and its licence. The one place C tests name these paths; Python code has
 * test/reference/repo_data.py.
 */
#ifndef DATA_PATHS_H
#define DATA_PATHS_H

#define TEST_DATA_DIR "test/data"

/* the real bert-base-uncased WordPiece vocabulary (30,522 entries) */
#define BERT_VOCAB_TXT TEST_DATA_DIR "/tokenizers/bert-base-uncased/vocab.txt"

/* the real opus-mt-en-mg tokenizer files */
#define MARIAN_TOKENIZER_DIR TEST_DATA_DIR "/tokenizers/opus-mt-en-mg"
#define MARIAN_SOURCE_SPM MARIAN_TOKENIZER_DIR "/source.spm"
#define MARIAN_TARGET_SPM MARIAN_TOKENIZER_DIR "/target.spm"

#endif							/* DATA_PATHS_H */
