/*
 * pg_model_store.c: the models the backends share.
 *
 * A model is held in one of three ways:
 *  - preloaded: named in transformer.models and read by the postmaster at
 *    startup, into read-only 2 MB pages of its own memory that every backend
 *    inherits at fork() with their page tables (tf_pages.h): every backend
 *    reads the same pages, and a new connection's first call takes no page
 *    fault on them. Where the kernel gives no huge pages, into the main
 *    shared memory segment instead, as pg_stat_statements does with its
 *    state; the pages are shared all the same, but each new connection
 *    faults them into its page tables 4 kB at a time on its first call;
 *  - dynamic: loaded by transformer.load_model() into a pinned DSM segment
 *    registered in the shared table; other backends attach on first use;
 *  - local: without shared_preload_libraries there is no shared table, and
 *    each backend loads the models it uses into its own memory.
 *
 * Locking: StoreShared.lock guards the table of entries. Lookups take it
 * shared (and attach to a DSM segment while holding it, so that an unload
 * cannot destroy the segment in between); load and unload take it
 * exclusive. A backend keeps its mapping of a dynamic model until a later
 * lookup sees that the entry's generation changed (the model was unloaded
 * or replaced): memory in use by a running call is never unmapped.
 * Preloaded images stay in the main segment until restart; unloading one
 * only hides it.
 */
#include "postgres.h"

#include <ctype.h>
#include <limits.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdlib.h>

#include "catalog/pg_authid.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/dsm.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/varlena.h"

#include "pg_transformer.h"
#include "tf_pages.h"
#include "tf_path.h"

#define STORE_MAX_MODELS 64

typedef enum ModelHeld
{
	HELD_PRELOADED,				/* main shared memory, from server start */
	HELD_DYNAMIC,				/* a DSM segment, from load_model() */
	HELD_LOCAL					/* this backend's memory (not preloaded) */
} ModelHeld;

static const char *const held_names[] = {"shared memory (preloaded)", "dynamic shared memory",
"backend memory"};

/* One model in the shared table. */
typedef struct StoreEntry
{
	bool		in_use;
	char		name[NAMEDATALEN];
	char		path[MAXPGPATH];
	ModelHeld	held;
	uint64		generation;		/* unique per load: tells a replaced model apart */
	Size		offset;			/* preloaded in the main segment: image offset
								 * from the StoreShared start */

	/*
	 * Preloaded in huge pages: their address. A pointer, not an offset: the
	 * postmaster mapped them before forking any process that reads this, so
	 * it is the same in all of them (never set under EXEC_BACKEND).
	 */
	const void *huge_image;
	dsm_handle	handle;			/* dynamic: its segment */
	TfImageHeader header;		/* a copy, for the models view */
	char		content_hash[PGTF_CONTENT_HASH_LEN + 1];	/* of the files read */
} StoreEntry;

/* The shared table, followed by the preloaded images (64-byte aligned). */
typedef struct StoreShared
{
	LWLock	   *lock;
	uint64		next_generation;
	StoreEntry	entries[STORE_MAX_MODELS];
} StoreShared;

/* This backend's handle on a model it has used. */
typedef struct LocalModel
{
	char		name[NAMEDATALEN];
	char		path[MAXPGPATH];
	uint64		generation;
	ModelHeld	held;
	const void *image;
	dsm_segment *segment;		/* dynamic */
	MemoryContext context;		/* local: holds the image */
	char		content_hash[PGTF_CONTENT_HASH_LEN + 1];
} LocalModel;

/* A model named by transformer.models, as the postmaster prepared it. */
typedef struct PreloadSpec
{
	char		name[NAMEDATALEN];
	char		path[MAXPGPATH];
	TfPrecision precision;
	const void *huge_image;		/* the image in huge pages, or NULL */
	Size		reserved;		/* else bytes reserved for it in the main
								 * segment (0 for neither: it failed to load) */
	TfArena		arena;			/* the image until it is copied into place */
	char		content_hash[PGTF_CONTENT_HASH_LEN + 1];
} PreloadSpec;

static char *models_setting = NULL;	/* transformer.models */
static char *model_directory_setting = NULL;	/* transformer.model_directory */

static StoreShared *store = NULL;
static LocalModel local_models[STORE_MAX_MODELS];
static int	n_local_models = 0;

static PreloadSpec *preload_specs = NULL;
static int	n_preload_specs = 0;
static Size store_size = 0;
static MemoryContext preload_context = NULL;

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

PG_FUNCTION_INFO_V1(load_model);
PG_FUNCTION_INFO_V1(unload_model);
PG_FUNCTION_INFO_V1(model_info);

/* ------------------------------------------------------------ model files */

char *
pgtf_resolve_model_path(const char *path)
{
	char	   *dir = pstrdup(model_directory_setting);
	char	   *full;
	char		resolved[PATH_MAX];
	char		resolved_dir[PATH_MAX];

	if (path[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("model path is empty"),
				 errhint("Give a directory inside transformer.model_directory, by name or by absolute path.")));
	canonicalize_path(dir);
	if (realpath(dir, resolved_dir) == NULL)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open transformer.model_directory \"%s\": %m", dir)));
	full = is_absolute_path(path) ? pstrdup(path) : psprintf("%s/%s", resolved_dir, path);
	if (realpath(full, resolved) == NULL)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open model directory \"%s\": %m", full)));
	/* realpath() followed every symbolic link: this is where files are read */
	if (!tf_path_within(resolved_dir, resolved))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("model path \"%s\" is outside transformer.model_directory", path),
				 errdetail("Models are read only from \"%s\".", resolved_dir),
				 errhint("A superuser can change transformer.model_directory.")));
	return pstrdup(resolved);
}

/* Model names are identifiers users type: letters, digits, - _ . */
static void
check_model_name(const char *name)
{
	size_t		len = strlen(name);

	if (len == 0 || len >= NAMEDATALEN)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_NAME),
				 errmsg("invalid model name \"%s\"", name),
				 errdetail("A model name has 1 to %d characters.", NAMEDATALEN - 1)));
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char) name[i]) && strchr("-_.", name[i]) == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_NAME),
					 errmsg("invalid model name \"%s\"", name),
					 errdetail("A model name may contain letters, digits, \"-\", \"_\" and \".\".")));
}

/* A precision's name -> TfPrecision, or an error naming `where` it was given. */
static TfPrecision
parse_precision(const char *name, const char *where)
{
	TfPrecision precision;

	if (!tf_precision_parse(name, &precision))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid precision \"%s\" in %s", name, where),
				 errhint("Valid precisions are \"exact\" (weights as the checkpoint stores them), \"float32\" and \"int8\".")));
	return precision;
}

/* Load a model directory into an arena in `context` (the arena's memory
 * belongs to it), its weights in `precision`, and hash its files (and the
 * precision) into content_hash (hex, PGTF_CONTENT_HASH_LEN + 1 bytes).
 * False with err filled on failure. */
static bool
load_image(const char *path, TfPrecision precision, MemoryContext context, TfArena *arena,
		   char *content_hash, TfError *err)
{
	MemoryContext old = MemoryContextSwitchTo(context);
	bool		ok = tf_model_load(path, precision, arena, err);

	if (ok)
		pgtf_model_content_hash(path, precision == TF_PRECISION_EXACT ? NULL : tf_precision_name(precision),
								content_hash);

	MemoryContextSwitchTo(old);
	return ok;
}

/* One entry of transformer.models. */
typedef struct ModelListEntry
{
	char	   *name;
	char	   *path;
	TfPrecision precision;
} ModelListEntry;

/*
 * Split transformer.models ("name, name=path, name:int8, name=path:int8,
 * ...") into ModelListEntry items. A bare name's ":precision" suffix must
 * be a precision (names have no colon); a path's last ":suffix" is taken as
 * its precision only when it is one, so that paths may contain colons.
 */
static List *
parse_model_list(const char *value)
{
	char	   *raw = pstrdup(value);
	List	   *items;
	List	   *entries = NIL;
	ListCell   *lc;

	if (!SplitIdentifierString(raw, ',', &items))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid list syntax in transformer.models")));
	foreach(lc, items)
	{
		char	   *item = lfirst(lc);
		char	   *eq = strchr(item, '=');
		ModelListEntry *e = palloc0(sizeof(ModelListEntry));
		char	   *colon;

		if (eq != NULL)
			*eq = '\0';
		e->path = pstrdup(eq ? eq + 1 : item);
		colon = strrchr(e->path, ':');
		if (colon != NULL && (eq == NULL || tf_precision_parse(colon + 1, &e->precision)))
		{
			e->precision = parse_precision(colon + 1, "transformer.models");
			*colon = '\0';
		}
		e->name = eq ? pstrdup(item) : e->path;
		entries = lappend(entries, e);
	}
	return entries;
}

/* ------------------------------------------------------ server start hooks */

/*
 * Postmaster: copy the image read for spec into huge pages, which backends
 * inherit (not under EXEC_BACKEND, where they start from a new program, nor
 * without overcommit). Otherwise the image goes to the main segment, which
 * is logged.
 */
static void
place_in_huge_pages(PreloadSpec *spec)
{
#ifndef EXEC_BACKEND
	if (tf_pages_strict_overcommit())
	{
		ereport(LOG,
				(errmsg("transformer: model \"%s\" is preloaded into the main shared memory segment, not into huge pages, as vm.overcommit_memory is 2",
						spec->name),
				 errdetail("Without overcommit, every new connection would be charged the size of a private copy of the model.")));
		return;
	}
	spec->huge_image = tf_pages_copy_huge(spec->arena.base, spec->arena.size);
	if (spec->huge_image == NULL)
		ereport(LOG,
				(errmsg("transformer: model \"%s\" is preloaded into the main shared memory segment, not into huge pages: %m",
						spec->name),
				 errdetail("Each new connection then maps the model's pages on its first call, 4 kB at a time."),
				 errhint("Preloading into huge pages needs Linux 6.1 or later with transparent huge pages, and free 2 MB pages.")));
#endif
}

/* Read one preloaded model into spec and place it in huge pages, or reserve
 * room for it in the main segment (spec->huge_image and spec->reserved stay
 * empty on failure, which is reported but must not stop the server). */
static void
preload_one(PreloadSpec *spec, const ModelListEntry *entry)
{
	MemoryContext caller = CurrentMemoryContext;

	strlcpy(spec->name, entry->name, NAMEDATALEN);
	spec->precision = entry->precision;
	PG_TRY();
	{
		TfError		err;

		strlcpy(spec->path, pgtf_resolve_model_path(entry->path), MAXPGPATH);
		if (load_image(spec->path, spec->precision, preload_context, &spec->arena, spec->content_hash,
					   &err))
		{
			place_in_huge_pages(spec);
			if (spec->huge_image == NULL)
				spec->reserved = TYPEALIGN(64, spec->arena.size);
		}
		else
			ereport(WARNING,
					(errmsg("transformer: could not preload model \"%s\": %s", spec->name, err.message),
					 err.detail[0] ? errdetail("%s", err.detail) : 0));
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(caller);
		EmitErrorReport();
		FlushErrorState();
	}
	PG_END_TRY();
}

/* Postmaster: read each preloaded model and reserve room for it. */
static void
store_shmem_request(void)
{
	List	   *entries;
	ListCell   *lc;

	if (prev_shmem_request_hook)
		prev_shmem_request_hook();

	preload_context = AllocSetContextCreate(TopMemoryContext, "transformer preload",
											ALLOCSET_DEFAULT_SIZES);
	entries = parse_model_list(models_setting);
	preload_specs = MemoryContextAllocZero(TopMemoryContext,
										   sizeof(PreloadSpec) * (list_length(entries) + 1));
	store_size = MAXALIGN(sizeof(StoreShared));
	foreach(lc, entries)
	{
		PreloadSpec *spec = &preload_specs[n_preload_specs];

		if (n_preload_specs >= STORE_MAX_MODELS)
			break;
		preload_one(spec, lfirst(lc));
		store_size += spec->reserved + (spec->reserved ? 64 : 0);
		n_preload_specs++;
	}
	RequestAddinShmemSpace(store_size);
	RequestNamedLWLockTranche("transformer", 1);
}

/* Put preloaded model i at `offset` of the main segment: copy the image read
 * at request time, or read it again (after a crash restart) if it still fits. */
static bool
place_preloaded(PreloadSpec *spec, Size offset)
{
	TfArena		arena;
	TfError		err;

	if (spec->arena.base != NULL)
	{
		memcpy((char *) store + offset, spec->arena.base, spec->arena.size);
		return true;
	}
	if (!load_image(spec->path, spec->precision, preload_context, &arena, spec->content_hash, &err))
	{
		ereport(WARNING, (errmsg("transformer: could not reload model \"%s\": %s", spec->name, err.message)));
		return false;
	}
	if (arena.size > spec->reserved)
	{
		ereport(WARNING,
				(errmsg("transformer: model \"%s\" grew since server start and no longer fits", spec->name)));
		return false;
	}
	memcpy((char *) store + offset, arena.base, arena.size);
	return true;
}

/* Every process: attach the store; the postmaster fills it first. */
static void
store_shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	store = ShmemInitStruct("transformer model store", store_size, &found);
	if (!found)
	{
		Size		offset = MAXALIGN(sizeof(StoreShared));

		memset(store, 0, sizeof(StoreShared));
		store->lock = &(GetNamedLWLockTranche("transformer"))->lock;
		store->next_generation = 1;
		for (int i = 0; i < n_preload_specs; i++)
		{
			PreloadSpec *spec = &preload_specs[i];
			StoreEntry *e = &store->entries[i];
			const void *image = spec->huge_image;

			/* huge pages keep their image across a crash restart */
			if (image == NULL && spec->reserved > 0)
			{
				offset = TYPEALIGN(64, (uintptr_t) store + offset) - (uintptr_t) store;
				if (place_preloaded(spec, offset))
					image = (char *) store + offset;
				e->offset = offset;
				offset += spec->reserved;
			}
			if (image == NULL)
				continue;
			e->in_use = true;
			strlcpy(e->name, spec->name, NAMEDATALEN);
			strlcpy(e->path, spec->path, MAXPGPATH);
			e->held = HELD_PRELOADED;
			e->generation = store->next_generation++;
			e->huge_image = spec->huge_image;
			e->header = *(const TfImageHeader *) image;
			strlcpy(e->content_hash, spec->content_hash, sizeof(e->content_hash));
		}
	}
	LWLockRelease(AddinShmemInitLock);

	/*
	 * The private copies are no longer needed. Hand their memory back to the
	 * system: otherwise the postmaster keeps it in its allocator's free
	 * lists, and every backend inherits those pages, to copy each one it
	 * writes (a page fault apiece) instead of taking fresh ones.
	 */
	if (preload_context != NULL)
	{
		for (int i = 0; i < n_preload_specs; i++)
			memset(&preload_specs[i].arena, 0, sizeof(TfArena));
		MemoryContextReset(preload_context);
#ifdef __GLIBC__
		malloc_trim(0);
#endif
	}
}

/* The default model directory: <sharedir>/transformer, where the shipped
 * models are installed. */
static char *
default_model_directory(void)
{
	char		share[MAXPGPATH];

	get_share_path(my_exec_path, share);
	/* GUC boot values must outlive the context _PG_init runs in */
	return MemoryContextStrdup(TopMemoryContext, psprintf("%s/transformer", share));
}

void
pgtf_store_init(void)
{
	/* preloaded, the list is read once at server start; otherwise each
	 * session loads listed models on first use, and it may change */
	DefineCustomStringVariable("transformer.models",
							   "Models loaded into shared memory at server start.",
							   "A comma-separated list of NAME or NAME=PATH entries; a bare NAME is the "
							   "directory of that name in transformer.model_directory. A suffix :int8 "
							   "(NAME:int8, NAME=PATH:int8) loads the model's weights quantized to int8, "
							   ":float32 widened to float32, :exact (the default) as the checkpoint stores them.",
							   &models_setting, "marian-en-de, bert-embed-en",
							   process_shared_preload_libraries_in_progress ? PGC_POSTMASTER : PGC_SUSET,
							   0, NULL, NULL, NULL);
	DefineCustomStringVariable("transformer.model_directory",
							   "Directory that model paths are resolved in and confined to.",
							   NULL, &model_directory_setting, default_model_directory(),
							   PGC_SUSET, 0, NULL, NULL, NULL);
	if (process_shared_preload_libraries_in_progress)
	{
		prev_shmem_request_hook = shmem_request_hook;
		shmem_request_hook = store_shmem_request;
		prev_shmem_startup_hook = shmem_startup_hook;
		shmem_startup_hook = store_shmem_startup;
	}
}

/* --------------------------------------------------------------- lookups */

static LocalModel *
find_local(const char *name)
{
	for (int i = 0; i < n_local_models; i++)
		if (strcmp(local_models[i].name, name) == 0)
			return &local_models[i];
	return NULL;
}

/* Drop this backend's handle on a model. */
static void
release_local(LocalModel *lm)
{
	if (lm->segment != NULL)
		dsm_detach(lm->segment);
	if (lm->context != NULL)
		MemoryContextDelete(lm->context);
	*lm = local_models[--n_local_models];
}

/* A fresh handle slot named `name`. */
static LocalModel *
new_local(const char *name)
{
	LocalModel *lm;

	if (n_local_models >= STORE_MAX_MODELS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many models in use by this session"),
				 errdetail("At most %d models can be used at once.", STORE_MAX_MODELS)));
	lm = &local_models[n_local_models++];
	memset(lm, 0, sizeof(*lm));
	strlcpy(lm->name, name, NAMEDATALEN);
	return lm;
}

/* The models any lookup could find, for hints: "a", "b". */
static char *
loaded_model_names(void)
{
	StringInfoData buf;

	initStringInfo(&buf);
	if (store != NULL)
	{
		LWLockAcquire(store->lock, LW_SHARED);
		for (int i = 0; i < STORE_MAX_MODELS; i++)
			if (store->entries[i].in_use)
				appendStringInfo(&buf, "%s\"%s\"", buf.len ? ", " : "", store->entries[i].name);
		LWLockRelease(store->lock);
	}
	else
		for (int i = 0; i < n_local_models; i++)
			appendStringInfo(&buf, "%s\"%s\"", buf.len ? ", " : "", local_models[i].name);
	return buf.len ? buf.data : "none";
}

/* Without preloading: load the model at `path` into this backend's memory
 * as `name`, saying so with a NOTICE whose message and hint the caller
 * gives. */
static LocalModel *
load_local(const char *name, const char *path, TfPrecision precision, const char *notice,
		   const char *hint)
{
	MemoryContext cxt = AllocSetContextCreate(TopMemoryContext, "transformer model",
											  ALLOCSET_DEFAULT_SIZES);
	TfArena		arena;
	TfError		err;
	char		content_hash[PGTF_CONTENT_HASH_LEN + 1];
	LocalModel *lm;

	if (!load_image(path, precision, cxt, &arena, content_hash, &err))
	{
		MemoryContextDelete(cxt);
		pgtf_report(&err);
	}
	ereport(NOTICE, (errmsg(notice, name), errhint("%s", hint)));
	lm = new_local(name);
	strlcpy(lm->content_hash, content_hash, sizeof(lm->content_hash));
	strlcpy(lm->path, path, MAXPGPATH);
	lm->held = HELD_LOCAL;
	lm->image = arena.base;
	lm->context = cxt;
	return lm;
}

/* Without preloading: a model named in transformer.models is loaded into
 * this backend on first use. */
static LocalModel *
load_local_on_demand(const char *name)
{
	List	   *entries = parse_model_list(models_setting);
	ListCell   *lc;

	foreach(lc, entries)
	{
		ModelListEntry *entry = lfirst(lc);

		if (strcmp(entry->name, name) == 0)
			return load_local(name, pgtf_resolve_model_path(entry->path), entry->precision,
							  "model \"%s\" was loaded into this session's memory",
							  "Add transformer to shared_preload_libraries to load models once for all sessions.");
	}
	return NULL;
}

/* Preloaded mode: this backend's handle on the table's model `name`,
 * attaching or re-attaching as needed; NULL if there is no such entry. */
static LocalModel *
attach_shared(const char *name)
{
	LocalModel *lm = find_local(name);
	StoreEntry *e = NULL;

	LWLockAcquire(store->lock, LW_SHARED);
	for (int i = 0; i < STORE_MAX_MODELS && e == NULL; i++)
		if (store->entries[i].in_use && strcmp(store->entries[i].name, name) == 0)
			e = &store->entries[i];
	if (lm != NULL && (e == NULL || lm->generation != e->generation))
	{
		release_local(lm);
		lm = NULL;
	}
	if (e != NULL && lm == NULL)
	{
		dsm_segment *seg = NULL;

		if (e->held == HELD_DYNAMIC)
		{
			seg = dsm_attach(e->handle);
			if (seg == NULL)
			{
				LWLockRelease(store->lock);
				ereport(ERROR,
						(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
						 errmsg("could not attach to the shared memory of model \"%s\"", name)));
			}
			dsm_pin_mapping(seg);
		}
		lm = new_local(name);
		strlcpy(lm->path, e->path, MAXPGPATH);
		lm->generation = e->generation;
		lm->held = e->held;
		strlcpy(lm->content_hash, e->content_hash, sizeof(lm->content_hash));
		lm->segment = seg;
		if (seg != NULL)
			lm->image = dsm_segment_address(seg);
		else
			lm->image = e->huge_image ? e->huge_image : (char *) store + e->offset;
	}
	LWLockRelease(store->lock);
	return lm;
}

PgtfModelRef
pgtf_model_lookup(const char *name, TfArch arch, const char *default_guc)
{
	LocalModel *lm;
	PgtfModelRef	ref;
	char	   *pinned_name;
	char	   *hash_prefix = NULL;

	if (name == NULL)
		name = GetConfigOption(default_guc, false, false);
	if (pgtf_split_model_ref(name, &pinned_name, &hash_prefix))
		name = pinned_name;
	if (store != NULL)
		lm = attach_shared(name);
	else
	{
		lm = find_local(name);
		if (lm == NULL)
			lm = load_local_on_demand(name);
	}
	if (lm == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("model \"%s\" is not loaded", name),
				 errhint("Loaded models: %s. Load one with transformer.load_model(name, path).",
						 loaded_model_names())));
	if (hash_prefix != NULL && strncmp(lm->content_hash, hash_prefix, strlen(hash_prefix)) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("model \"%s\" is not the checkpoint %s@%s", name, name, hash_prefix),
				 errdetail("The checkpoint loaded as \"%s\" has content hash %s.", name, lm->content_hash),
				 errhint("Load the checkpoint the reference was written for, or refer to this one as '%s@%.12s' (results computed with the old one are then stale).",
						 name, lm->content_hash)));
	ref.name = lm->name;
	ref.image = lm->image;
	ref.header = lm->image;
	ref.model = (const char *) lm->image + ref.header->model;
	if (arch != 0 && ref.header->arch != arch)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("model \"%s\" is a %s model, not a %s model", name,
						tf_arch_name(ref.header->arch), tf_arch_name(arch)),
				 errhint("embed(), fill_mask() and attention() take a bert model; translate(), alignment() and attention() a marian model (transformer.models lists each model's architecture).")));
	return ref;
}

/* -------------------------------------------------------- SQL functions */

/* Loading models reads server files: superuser or pg_read_server_files. */
static void
check_load_privilege(const char *action)
{
	if (!superuser() && !has_privs_of_role(GetUserId(), ROLE_PG_READ_SERVER_FILES))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to %s a model", action),
				 errdetail("Only roles with privileges of the \"pg_read_server_files\" role may %s models.", action)));
}

/*
 * transformer.load_model(name text, path text, precision text DEFAULT
 * 'exact'): read a checkpoint directory, its weights in that precision, and
 * make it available to every session (or to this one when the extension is
 * not preloaded).
 */
Datum
load_model(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char	   *path;
	TfPrecision precision;
	MemoryContext cxt;
	TfArena		arena;
	TfError		err;
	char		content_hash[PGTF_CONTENT_HASH_LEN + 1];

	check_load_privilege("load");
	check_model_name(name);
	precision = parse_precision(text_to_cstring(PG_GETARG_TEXT_PP(2)), "transformer.load_model");
	path = pgtf_resolve_model_path(text_to_cstring(PG_GETARG_TEXT_PP(1)));

	if (store == NULL)
	{
		if (find_local(name) != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_DUPLICATE_OBJECT),
					 errmsg("model \"%s\" is already loaded", name),
					 errhint("Unload it first with transformer.unload_model('%s').", name)));
		load_local(name, path, precision, "model \"%s\" was loaded into this session's memory only",
				   "Add transformer to shared_preload_libraries to share loaded models between sessions.");
		PG_RETURN_VOID();
	}

	cxt = AllocSetContextCreate(CurrentMemoryContext, "transformer load", ALLOCSET_DEFAULT_SIZES);
	if (!load_image(path, precision, cxt, &arena, content_hash, &err))
		pgtf_report(&err);
	{
		dsm_segment *seg = dsm_create(arena.size, 0);
		StoreEntry *free_entry = NULL;
		bool		duplicate = false;

		memcpy(dsm_segment_address(seg), arena.base, arena.size);
		MemoryContextDelete(cxt);

		LWLockAcquire(store->lock, LW_EXCLUSIVE);
		for (int i = 0; i < STORE_MAX_MODELS; i++)
		{
			StoreEntry *e = &store->entries[i];

			if (e->in_use && strcmp(e->name, name) == 0)
				duplicate = true;
			if (!e->in_use && free_entry == NULL)
				free_entry = e;
		}
		if (!duplicate && free_entry != NULL)
		{
			dsm_pin_segment(seg);
			memset(free_entry, 0, sizeof(StoreEntry));
			free_entry->in_use = true;
			strlcpy(free_entry->name, name, NAMEDATALEN);
			strlcpy(free_entry->path, path, MAXPGPATH);
			free_entry->held = HELD_DYNAMIC;
			free_entry->generation = store->next_generation++;
			free_entry->handle = dsm_segment_handle(seg);
			free_entry->header = *(TfImageHeader *) dsm_segment_address(seg);
			strlcpy(free_entry->content_hash, content_hash, sizeof(free_entry->content_hash));
		}
		LWLockRelease(store->lock);
		/* this backend attaches again on first use, like any other */
		dsm_detach(seg);
		if (duplicate)
			ereport(ERROR,
					(errcode(ERRCODE_DUPLICATE_OBJECT),
					 errmsg("model \"%s\" is already loaded", name),
					 errhint("Unload it first with transformer.unload_model('%s').", name)));
		if (free_entry == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("too many models loaded"),
					 errdetail("At most %d models can be loaded at once.", STORE_MAX_MODELS)));
	}
	PG_RETURN_VOID();
}

/*
 * transformer.unload_model(name text): forget a model. Sessions using it
 * finish their current call; its memory is freed once the last one lets go
 * (preloaded models keep their memory until restart).
 */
Datum
unload_model(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	bool		found = false;
	bool		preloaded = false;

	check_load_privilege("unload");
	if (store == NULL)
	{
		LocalModel *lm = find_local(name);

		if (lm != NULL)
		{
			release_local(lm);
			found = true;
		}
	}
	else
	{
		LWLockAcquire(store->lock, LW_EXCLUSIVE);
		for (int i = 0; i < STORE_MAX_MODELS; i++)
		{
			StoreEntry *e = &store->entries[i];

			if (e->in_use && strcmp(e->name, name) == 0)
			{
				if (e->held == HELD_DYNAMIC)
					dsm_unpin_segment(e->handle);
				preloaded = e->held == HELD_PRELOADED;
				e->in_use = false;
				found = true;
			}
		}
		LWLockRelease(store->lock);
		if (find_local(name) != NULL)
			release_local(find_local(name));
	}
	if (!found)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("model \"%s\" is not loaded", name),
				 errhint("Loaded models: %s.", loaded_model_names())));
	if (preloaded)
		ereport(NOTICE,
				(errmsg("the memory of preloaded model \"%s\" is released at the next server restart", name),
				 errhint("Remove it from transformer.models to keep it from loading again.")));
	PG_RETURN_VOID();
}

/* Emit one row of the models view. */
static void
emit_model_row(Tuplestorestate *ts, TupleDesc desc, const char *name, const char *path,
			   const TfImageHeader *h, ModelHeld held, const char *content_hash)
{
	Datum		values[9];
	bool		nulls[9] = {0};
	char		formats[64];

	tf_image_formats(h, formats, sizeof(formats));
	values[0] = CStringGetTextDatum(name);
	values[1] = CStringGetTextDatum(tf_arch_name(h->arch));
	values[2] = Int32GetDatum(h->dim);
	values[3] = Int64GetDatum(h->n_params);
	values[4] = CStringGetTextDatum(formats);
	values[5] = Int64GetDatum((int64) h->image_bytes);
	values[6] = CStringGetTextDatum(held_names[held]);
	values[7] = CStringGetTextDatum(path);
	values[8] = CStringGetTextDatum(content_hash);
	tuplestore_putvalues(ts, desc, values, nulls);
}

/* transformer.model_info(): the rows of the transformer.models view. */
Datum
model_info(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	InitMaterializedSRF(fcinfo, 0);
	if (store != NULL)
	{
		LWLockAcquire(store->lock, LW_SHARED);
		for (int i = 0; i < STORE_MAX_MODELS; i++)
		{
			StoreEntry *e = &store->entries[i];

			if (e->in_use)
				emit_model_row(rsinfo->setResult, rsinfo->setDesc, e->name, e->path, &e->header, e->held,
							   e->content_hash);
		}
		LWLockRelease(store->lock);
	}
	else
		for (int i = 0; i < n_local_models; i++)
			emit_model_row(rsinfo->setResult, rsinfo->setDesc, local_models[i].name,
						   local_models[i].path, local_models[i].image, HELD_LOCAL,
						   local_models[i].content_hash);
	return (Datum) 0;
}
