/*
 * test_safetensors.c: the safetensors reader (tf_safetensors.c) on a real
 * file, truncated and with flipped header bytes, and on headers whose
 * shapes overflow 64 bits: refused with TF_ERR_FORMAT or read within
 * bounds, never a crash.
 *
 *   test_safetensors [FIXTURE_DIR]   default: test/fixtures/bert-odd
 */
#include <stdlib.h>

#include "fixture.h"
#include "tf_safetensors.h"

/* Truncate or flip bytes of a real model.safetensors and make sure every
 * variant is either accepted or refused cleanly. */
/* Open a safetensors file made of `header` and `data_len` zero bytes. */
static bool
opens(const char *header, size_t data_len, TfError *err)
{
	size_t		n = strlen(header);
	uint8_t    *file = calloc(1, 8 + n + data_len);
	TfSafeTensors st;
	bool		opened;

	for (int i = 0; i < 8; i++)
		file[i] = (uint8_t) ((uint64_t) n >> (8 * i));
	memcpy(file + 8, header, n);
	opened = tf_safetensors_open(file, 8 + n + data_len, "hostile.safetensors", &st, err);
	tf_safetensors_close(&st);
	free(file);
	return opened;
}

/* Shapes whose element count wraps 64 bits must not pass as 0 bytes, and
 * offsets or dims that are not exact integers must not be cast. */
static void
check_hostile_headers(void)
{
	static const char *const bad[] = {
		/* 2^32 * 2^32 = 2^64 wraps to 0 */
		"{\"t\": {\"dtype\": \"F32\", \"shape\": [4294967296, 4294967296], \"data_offsets\": [0, 0]}}",
		/* 2^16 four times: 2^64 again, each dim small */
		"{\"t\": {\"dtype\": \"U8\", \"shape\": [65536, 65536, 65536, 65536], \"data_offsets\": [0, 0]}}",
		/* 2^40 * 2^40 * 2^40 = 2^120 */
		"{\"t\": {\"dtype\": \"F16\", \"shape\": [1099511627776, 1099511627776, 1099511627776], \"data_offsets\": [0, 0]}}",
		/* 2^62 elements of 4 bytes: the byte count wraps to 0 */
		"{\"t\": {\"dtype\": \"F32\", \"shape\": [4611686018427387904], \"data_offsets\": [0, 0]}}",
		"{\"t\": {\"dtype\": \"F32\", \"shape\": [NaN], \"data_offsets\": [0, 4]}}",
		"{\"t\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4.5]}}",
		"{\"t\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [Infinity, 4]}}",
		"{\"t\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [1e400, 1e400]}}",
		"{\"t\": {\"dtype\": \"F32\", \"shape\": [-1], \"data_offsets\": [0, 4]}}",
		NULL
	};
	TfError		err;
	int			refused = 0;

	for (int i = 0; bad[i] != NULL; i++)
		if (!opens(bad[i], 16, &err) && err.code == TF_ERR_FORMAT)
			refused++;
		else
			diag("accepted: %s", bad[i]);
	ok(refused == 9, "shapes that overflow 64 bits and non-integer dims or offsets are refused (%d/9)", refused);
	ok(opens("{\"t\": {\"dtype\": \"F32\", \"shape\": [0, 4294967296], \"data_offsets\": [0, 0]}}", 0, &err),
	   "an empty tensor with a large other dimension is fine");
}

static void
check_damaged(const char *dir)
{
	TfError		err;
	size_t		len;
	uint8_t    *st = (uint8_t *) fixture_file(dir, "model.safetensors", &len);
	int			refused = 0,
				tried = 0;
	TfSafeTensors parsed;

	if (st == NULL)
		return;
	ok(tf_safetensors_open(st, len, "model.safetensors", &parsed, &err), "the intact file opens");
	tf_safetensors_close(&parsed);
	refused = tried = 0;
	for (size_t cut = 0; cut < len; cut += 1 + len / 200)
	{
		tried++;
		if (!tf_safetensors_open(st, cut, "model.safetensors", &parsed, &err) && err.code == TF_ERR_FORMAT)
			refused++;
		tf_safetensors_close(&parsed);
	}
	ok(refused == tried, "every truncation of model.safetensors is refused (%d/%d)", refused, tried);

	/* random byte flips in the header: accepted or refused, never a crash */
	srand(7);
	tried = 0;
	for (int round = 0; round < 2000; round++)
	{
		uint8_t    *copy = malloc(len);
		size_t		header = 8 + (st[0] | st[1] << 8 | st[2] << 16);
		bool		opened;

		memcpy(copy, st, len);
		for (int k = 0; k < 1 + rand() % 4; k++)
			copy[rand() % header] ^= (uint8_t) (1 << (rand() % 8));
		opened = tf_safetensors_open(copy, len, "model.safetensors", &parsed, &err);
		if (opened)
		{
			/* whatever was accepted must be readable within bounds */
			for (int32_t t = 0; t < parsed.count; t++)
				if (parsed.tensors[t].dtype != TF_DTYPE_OTHER && parsed.tensors[t].end <= parsed.data_len)
					tried += parsed.tensors[t].end >= parsed.tensors[t].begin;
			tf_safetensors_close(&parsed);
		}
		free(copy);
	}
	ok(true, "2000 randomly damaged headers handled without a crash");
	tf_free(st);
}


static void
check_all(const char *dir)
{
	check_hostile_headers();
	check_damaged(dir);
}

int
main(int argc, char **argv)
{
	static const char *const defaults[] = {"test/fixtures/bert-odd"};

	return fixture_main(argc, argv, defaults, 1, check_all);
}
