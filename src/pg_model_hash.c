/*
 * pg_model_hash.c: the content hash of a checkpoint directory.
 *
 * A model reference 'name@hash' (pg_pinned.c) pins a computation to the
 * exact checkpoint it was written against: the hash is SHA-256 over every
 * file of the directory, so any change to weights, vocabulary, tokenizer or
 * configuration gives another hash. It is defined so that a shell gives the
 * same value before a model is loaded anywhere:
 *
 *   cd DIR && find -L . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum
 *
 * that is, SHA-256 over the lines "<hex SHA-256 of the file>  ./<relative
 * path>\n" of every regular file (symbolic links followed, as the loader
 * follows them), sorted bytewise by path.
 */
#include "postgres.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>

#include "common/cryptohash.h"
#include "common/sha2.h"
#include "miscadmin.h"
#include "nodes/pg_list.h"
#include "storage/fd.h"
#include "utils/resowner.h"

#include "pg_transformer.h"

/* Directory levels followed below the checkpoint (guards against loops of
 * symbolic links). */
#define HASH_MAX_DEPTH 8

/* Append to *paths every regular file under root/rel ("./..." names). */
static void
collect_files(const char *root, const char *rel, int depth, List **paths)
{
	char	   *dirpath = psprintf("%s/%s", root, rel);
	DIR		   *dir;
	struct dirent *de;

	if (depth > HASH_MAX_DEPTH)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("model directory \"%s\" is nested more than %d levels deep", root, HASH_MAX_DEPTH),
				 errdetail("Directory \"%s\" is too deep; a loop of symbolic links would look like this.", dirpath)));
	dir = AllocateDir(dirpath);
	while ((de = ReadDir(dir, dirpath)) != NULL)
	{
		char	   *child_rel;
		char	   *child;
		struct stat st;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		child_rel = psprintf("%s/%s", rel, de->d_name);
		child = psprintf("%s/%s", root, child_rel);
		if (stat(child, &st) != 0)
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not stat file \"%s\": %m", child)));
		if (S_ISDIR(st.st_mode))
			collect_files(root, child_rel, depth + 1, paths);
		else if (S_ISREG(st.st_mode))
			*paths = lappend(*paths, child_rel);
	}
	FreeDir(dir);
}

/* qsort comparator of C strings in a List, bytewise (LC_ALL=C sort) */
static int
compare_paths(const ListCell *a, const ListCell *b)
{
	return strcmp(lfirst(a), lfirst(b));
}

/* Lowercase hex of len bytes into out (2 * len + 1 bytes). */
static void
to_hex(const uint8 *bytes, int len, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (int i = 0; i < len; i++)
	{
		out[2 * i] = digits[bytes[i] >> 4];
		out[2 * i + 1] = digits[bytes[i] & 15];
	}
	out[2 * len] = '\0';
}

/* A new SHA-256 context, ERROR on failure. */
static pg_cryptohash_ctx *
sha256_begin(void)
{
	pg_cryptohash_ctx *ctx = pg_cryptohash_create(PG_SHA256);

	if (ctx == NULL || pg_cryptohash_init(ctx) < 0)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("could not initialize a SHA-256 computation")));
	return ctx;
}

/* Feed len bytes, ERROR on failure. */
static void
sha256_update(pg_cryptohash_ctx *ctx, const void *data, size_t len)
{
	if (pg_cryptohash_update(ctx, data, len) < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not compute a SHA-256 hash")));
}

/* Finish into hex (PGTF_CONTENT_HASH_LEN + 1 bytes) and free the context. */
static void
sha256_end(pg_cryptohash_ctx *ctx, char *hex)
{
	uint8		digest[PG_SHA256_DIGEST_LENGTH];

	if (pg_cryptohash_final(ctx, digest, sizeof(digest)) < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not compute a SHA-256 hash")));
	pg_cryptohash_free(ctx);
	to_hex(digest, sizeof(digest), hex);
}

/* The hex SHA-256 of one file's bytes. */
static void
hash_file(const char *path, char *hex)
{
	pg_cryptohash_ctx *ctx = sha256_begin();
	int			fd = OpenTransientFile(path, O_RDONLY | PG_BINARY);
	char	   *buf = palloc(1 << 20);
	ssize_t		got;

	if (fd < 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open file \"%s\": %m", path)));
	while ((got = read(fd, buf, 1 << 20)) > 0)
	{
		sha256_update(ctx, buf, got);
		CHECK_FOR_INTERRUPTS();
	}
	if (got < 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not read file \"%s\": %m", path)));
	CloseTransientFile(fd);
	pfree(buf);
	sha256_end(ctx, hex);
}

/* The directory hash, as the header comment defines it, into hex. */
static void
hash_directory(const char *dir, const char *precision, char *hex)
{
	List	   *paths = NIL;
	ListCell   *lc;
	pg_cryptohash_ctx *outer;

	collect_files(dir, ".", 0, &paths);
	list_sort(paths, compare_paths);
	outer = sha256_begin();
	foreach(lc, paths)
	{
		const char *rel = lfirst(lc);
		char		file_hex[PGTF_CONTENT_HASH_LEN + 1];
		char	   *line;

		hash_file(psprintf("%s/%s", dir, rel), file_hex);
		line = psprintf("%s  %s\n", file_hex, rel);
		sha256_update(outer, line, strlen(line));
	}
	if (precision != NULL)
	{
		char	   *line = psprintf("precision %s\n", precision);

		sha256_update(outer, line, strlen(line));
	}
	sha256_end(outer, hex);
}

void
pgtf_model_content_hash(const char *dir, const char *precision, char *hex)
{
	ResourceOwner owner;

	if (CurrentResourceOwner != NULL)
	{
		hash_directory(dir, precision, hex);
		return;
	}

	/*
	 * The OpenSSL contexts are tracked by a resource owner; the postmaster,
	 * hashing preloaded models, has none, so it gets one for the duration
	 * (only its first release phase, where those contexts are, applies).
	 */
	owner = ResourceOwnerCreate(NULL, "transformer content hash");
	CurrentResourceOwner = owner;
	PG_TRY();
	{
		hash_directory(dir, precision, hex);
	}
	PG_FINALLY();
	{
		ResourceOwnerRelease(owner, RESOURCE_RELEASE_BEFORE_LOCKS, false, true);
		CurrentResourceOwner = NULL;
		ResourceOwnerDelete(owner);
	}
	PG_END_TRY();
}
