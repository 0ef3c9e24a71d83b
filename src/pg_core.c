/*
 * pg_core.c: the bridge to the pure C core: the hooks that let it allocate
 * with palloc and honour query cancellation, its errors as ereports, texts
 * in UTF-8, and the set-up and clean-up of each computation (threads,
 * scratch memory). Owns the settings transformer.threads and
 * transformer.instruction_set.
 */
#include "postgres.h"

#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "fmgr.h"
#include "catalog/pg_type.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"

#include "pg_transformer.h"
#include "tf_blas.h"
#include "tf_cpu.h"
#include "tf_parallel.h"

/*
 * After a computation whose core allocations add up to this many bytes,
 * free memory is returned to the system (pgtf_compute_end). Below it, the
 * backend keeps what glibc holds for the next call: an embed() over 32
 * texts allocates a few megabytes, and trimming them after every call had
 * each call fault every page of its scratch in anew (about a tenth of its
 * time at batch 32).
 */
#define SCRATCH_TRIM_BYTES (64 * 1024 * 1024)

/*
 * Blocks up to this size come from glibc's heap rather than mappings of
 * their own (its largest setting). By default glibc maps blocks of 128 kB
 * and more, and raises that bound only as far as the largest block freed,
 * while it trims the heap whenever 128 kB (then twice that bound) lie free
 * at its top: a batch's scratch of a few megabytes was mapped, or trimmed,
 * and faulted in anew on every call (8% of embed()'s time at batch 32).
 * With the heap trimmed only above SCRATCH_TRIM_BYTES, the pages stay for
 * the next call.
 */
#define SCRATCH_MMAP_BYTES (32 * 1024 * 1024)

static int	threads_setting = 1;	/* transformer.threads */

/* transformer.instruction_set: "auto" (-1) or a cap on the kernels' level */
static int	instruction_set_setting = -1;
static const struct config_enum_entry instruction_set_options[] = {
	{"auto", -1, false},
	{"avx512", TF_ISA_AVX512, false},
	{"avx2", TF_ISA_AVX2, false},
	{"scalar", TF_ISA_SCALAR, false},
	{NULL, 0, false}
};

/* Apply transformer.instruction_set to the core (tf_cpu.h). */
static void
assign_instruction_set(int newval, void *extra)
{
	if (newval < 0)
		tf_cpu_reset_cap();
	else
		tf_cpu_set_cap((TfIsa) newval);
}

/* Whether this backend has set glibc's thresholds (SCRATCH_MMAP_BYTES). */
static bool malloc_tuned = false;

/* Bytes the core has asked for since the last pgtf_compute_begin. */
static Size core_bytes_requested = 0;

/* Core allocations go to the current memory context; huge ones allowed. */
static void *
pg_core_alloc(size_t size)
{
	core_bytes_requested += size;
	return MemoryContextAllocHuge(CurrentMemoryContext, size ? size : 1);
}

static void *
pg_core_realloc(void *ptr, size_t size)
{
	core_bytes_requested += size;
	return repalloc_huge(ptr, size ? size : 1);
}

static void
pg_core_free(void *ptr)
{
	pfree(ptr);
}

static void
pg_core_check_interrupts(void)
{
	CHECK_FOR_INTERRUPTS();
}

void
pgtf_core_init(void)
{
	static const TfHooks hooks = {pg_core_alloc, pg_core_realloc, pg_core_free, pg_core_check_interrupts};

	tf_set_hooks(&hooks);
	DefineCustomIntVariable("transformer.threads",
							"CPU threads one call may use.",
							"Linear layers are split by output columns, attention by heads; "
							"the threads are started on first use and kept by the session.",
							&threads_setting, 1, 1, 256,
							PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomEnumVariable("transformer.instruction_set",
							 "Most advanced instruction set the kernels may use.",
							 "auto uses the best this CPU has (capped by the environment "
							 "variable TRANSFORMER_ISA); avx2 or scalar force slower paths, "
							 "for tests and comparisons.",
							 &instruction_set_setting, -1, instruction_set_options,
							 PGC_USERSET, 0, NULL, assign_instruction_set, NULL);

	if (process_shared_preload_libraries_in_progress)
	{
		TfError		err;

		/*
		 * Load OpenBLAS here, in the postmaster, at one thread: it starts no
		 * thread then (the postmaster stays single-threaded), and every
		 * backend inherits it already loaded and relocated, so that a new
		 * connection's first call pays no dlopen(). Backends start worker
		 * threads themselves when transformer.threads asks for them.
		 */
		if (!tf_blas_init(&err))
			ereport(WARNING, (errmsg("transformer: %s", err.message)));
	}
}

void
pgtf_report(const TfError *err)
{
	int			code;

	switch (err->code)
	{
		case TF_ERR_IO:
			code = ERRCODE_UNDEFINED_FILE;
			break;
		case TF_ERR_FORMAT:
			code = ERRCODE_DATA_CORRUPTED;
			break;
		case TF_ERR_UNSUPPORTED:
			code = ERRCODE_FEATURE_NOT_SUPPORTED;
			break;
		case TF_ERR_SHAPE:
			code = ERRCODE_DATA_CORRUPTED;
			break;
		case TF_ERR_INPUT:
			code = ERRCODE_INVALID_PARAMETER_VALUE;
			break;
		case TF_ERR_LIMIT:
			code = ERRCODE_PROGRAM_LIMIT_EXCEEDED;
			break;
		default:
			code = ERRCODE_INTERNAL_ERROR;
			break;
	}
	ereport(ERROR,
			(errcode(code),
			 errmsg("%s", err->message),
			 err->detail[0] ? errdetail("%s", err->detail) : 0));
	pg_unreachable();
}

MemoryContext
pgtf_compute_begin(void)
{
	TfError		err;
	MemoryContext scratch;

	if (!tf_blas_init(&err))
		pgtf_report(&err);
#ifdef __GLIBC__
	/* once per backend, and only in backends that compute */
	if (!malloc_tuned)
	{
		mallopt(M_MMAP_THRESHOLD, SCRATCH_MMAP_BYTES);
		mallopt(M_TRIM_THRESHOLD, SCRATCH_TRIM_BYTES);
		malloc_tuned = true;
	}
#endif
	tf_parallel_set_threads(threads_setting);
	core_bytes_requested = 0;
	scratch = AllocSetContextCreate(CurrentMemoryContext, "transformer scratch",
									ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(scratch);
	return scratch;
}

void
pgtf_compute_end(MemoryContext scratch)
{
	MemoryContextSwitchTo(MemoryContextGetParent(scratch));
	MemoryContextDelete(scratch);

	/*
	 * glibc keeps freed memory for reuse, and after one large allocation it
	 * stops giving such blocks their own mappings: a backend that ran one
	 * big batch would hold megabytes of scratch for the rest of its life.
	 * After a large computation, hand the free pages back.
	 */
#ifdef __GLIBC__
	if (core_bytes_requested >= SCRATCH_TRIM_BYTES)
		malloc_trim(0);
#endif
}

const char *
pgtf_text_utf8(const text *t, size_t *len)
{
	const char *raw = VARDATA_ANY(t);
	int			raw_len = VARSIZE_ANY_EXHDR(t);
	char	   *utf8 = pg_server_to_any(raw, raw_len, PG_UTF8);

	*len = utf8 == raw ? (size_t) raw_len : strlen(utf8);
	return utf8;
}

text *
pgtf_utf8_text(const char *s, size_t len)
{
	char	   *server = pg_any_to_server(s, (int) len, PG_UTF8);

	return server == s ? cstring_to_text_with_len(s, (int) len) : cstring_to_text(server);
}

const char *
pgtf_model_arg(FunctionCallInfo fcinfo, int argno)
{
	if (PG_NARGS() <= argno || PG_ARGISNULL(argno))
		return NULL;
	return text_to_cstring(PG_GETARG_TEXT_PP(argno));
}

int
pgtf_text_array_utf8(ArrayType *arr, int *n, bool **nulls, const char ***texts, size_t **lens)
{
	Datum	   *elems;
	int			k = 0;

	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, nulls, n);
	*texts = palloc(sizeof(char *) * (*n + 1));
	*lens = palloc(sizeof(size_t) * (*n + 1));
	for (int i = 0; i < *n; i++)
		if (!(*nulls)[i])
		{
			(*texts)[k] = pgtf_text_utf8(DatumGetTextPP(elems[i]), &(*lens)[k]);
			k++;
		}
	return k;
}
