/*
 * pg_transformer.h: the PostgreSQL layer's shared declarations, grouped by
 * the file that defines them: each file's init (its settings and hooks),
 * the model store's interface, and the bridge to the core.
 *
 * Names: the pure C core (src/tf_*.c, no PostgreSQL headers) uses tf_ and
 * Tf; the PostgreSQL layer (src/pg_*.c) uses pgtf_ and Pgtf for what it
 * shares between its files, so a name tells which side of the boundary it
 * is on.
 */
#ifndef PG_TRANSFORMER_H
#define PG_TRANSFORMER_H

#include "postgres.h"

#include "fmgr.h"
#include "utils/array.h"

#include "tf_generate.h"
#include "tf_model.h"
#include "tf_runtime.h"

/* Each file registers its own settings (transformer.*) and hooks; _PG_init
 * (pg_transformer.c) calls these in turn. */
void		pgtf_core_init(void);	/* pg_core.c: core hooks, transformer.threads */
void		pgtf_store_init(void);	/* pg_model_store.c: models, model_directory, shmem hooks */
void		pgtf_embed_init(void);	/* pg_embed.c: embedding_model */
void		pgtf_translate_init(void);	/* pg_translate.c: translation_model, num_beams, max_length */
void		pgtf_jobs_init(void);	/* pg_job_worker.c: max_job_workers, job launcher */

/* ---- pg_job_worker.c: waking the job workers ---- */

/* Wake this database's job workers when the current transaction commits. */
void		pgtf_job_wake_at_commit(void);

/* ---- pg_translate.c: decoding options ---- */

/* The overrides of a translate()-like call: *session from the settings
 * transformer.num_beams and max_length, *call from its arguments num_beams
 * (number argno) and max_length (argno + 1), each NULL or absent meaning
 * "not set". */
void		pgtf_generate_overrides(FunctionCallInfo fcinfo, int argno,
									TfGenerateOverrides *session, TfGenerateOverrides *call);

/* ---- pg_model_store.c: the models the backends share ---- */

/* Hex digits of a checkpoint's content hash (SHA-256) */
#define PGTF_CONTENT_HASH_LEN 64

/* A model found by name, valid until the end of the current statement. */
typedef struct PgtfModelRef
{
	const char *name;
	const void *image;				/* the model image's first byte */
	const TfImageHeader *header;
	const void *model;				/* TfBertModel or TfMarianModel */
} PgtfModelRef;

/* Look up `name` (NULL: the setting `default_guc` names) and check it is
 * of architecture `arch` (0: any); ERROR with a hint listing the loaded models when
 * there is none. A reference "name@hash" (hash: a prefix of the content
 * hash, pg_pinned.c) also checks that the loaded checkpoint is that one. */
PgtfModelRef	pgtf_model_lookup(const char *name, TfArch arch, const char *default_guc);

/* Resolve a model path: relative paths inside transformer.model_directory,
 * absolute ones must lie inside it. Returns a palloc'd canonical path. */
char	   *pgtf_resolve_model_path(const char *path);

/* ---- pg_model_hash.c: content hashes of checkpoint directories ---- */

/* SHA-256 over the files of checkpoint directory `dir` (and `precision`,
 * the name of a precision other than exact, or NULL), as hex into
 * hex[PGTF_CONTENT_HASH_LEN + 1]; ERROR when a file cannot be read. */
void		pgtf_model_content_hash(const char *dir, const char *precision, char *hex);

/* ---- pg_pinned.c: model references pinned to a checkpoint ---- */

/* Split "name@hash" at the '@' into *name and *hash_prefix (palloc'd);
 * false, with both untouched, for a plain name. ERROR when the hash part is
 * not 12 to 64 lowercase hex digits. */
bool		pgtf_split_model_ref(const char *ref, char **name, char **hash_prefix);

/* ---- pg_embed.c ---- */

/* embed(input text, model text DEFAULT NULL) RETURNS real[] */
extern PGDLLEXPORT Datum embed(PG_FUNCTION_ARGS);

/* ---- pg_translate.c ---- */

/* translate() over argument 0, a text (`array` false) or a text[]; with
 * `session_settings` false, transformer.num_beams and max_length are not
 * consulted (the pinned variant: its result depends on its arguments only). */
Datum		pgtf_translate_call(FunctionCallInfo fcinfo, bool array, bool session_settings);

/* ---- pg_core.c: the bridge to the core ---- */

/* Argument `argno` of the current SQL function as a C string, or NULL when
 * absent or SQL NULL (a NULL model name means the default model). */
const char *pgtf_model_arg(FunctionCallInfo fcinfo, int argno);

/* Report a core error as a PostgreSQL ERROR (never returns). */
void		pgtf_report(const TfError *err) pg_attribute_noreturn();

/* The bytes of a text value in UTF-8 (converted from the database
 * encoding when that is another); not NUL-terminated. */
const char *pgtf_text_utf8(const text *t, size_t *len);

/* A text value from UTF-8 bytes (validated, converted to the database
 * encoding). */
text	   *pgtf_utf8_text(const char *s, size_t len);

/* The non-NULL elements of a text[] in UTF-8: texts[k], lens[k] for the
 * k-th non-NULL one; *nulls[i] and *n describe every element. Returns k. */
int			pgtf_text_array_utf8(ArrayType *arr, int *n, bool **nulls, const char ***texts,
							   size_t **lens);

/*
 * Start a computation: OpenBLAS loaded, its thread count from the setting,
 * and a new memory context for the scratch, made current. Returns it, for
 * pgtf_compute_end.
 */
MemoryContext pgtf_compute_begin(void);

/* End a computation: back to the context current at pgtf_compute_begin, and
 * the scratch context deleted (its memory returned to the system when it
 * was large). */
void		pgtf_compute_end(MemoryContext scratch);

#endif							/* PG_TRANSFORMER_H */
