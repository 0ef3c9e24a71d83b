/*
 * test_safetensors.c: the safetensors reader (tf_safetensors.c) on a real
 * file, truncated and with flipped header bytes: refused with
 * TF_ERR_FORMAT or read within bounds, never a crash.
 *
 *   test_safetensors [FIXTURE_DIR]   default: test/fixtures/bert-odd
 */
#include <stdlib.h>

#include "fixture.h"
#include "tf_safetensors.h"

/* Truncate or flip bytes of a real model.safetensors and make sure every
 * variant is either accepted or refused cleanly. */
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


int
main(int argc, char **argv)
{
	static const char *const defaults[] = {"test/fixtures/bert-odd"};

	return fixture_main(argc, argv, defaults, 1, check_damaged);
}
