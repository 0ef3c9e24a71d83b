/*
 * int8_peak.c: the int8 products of models loaded with precision 'int8'
 * (src/tf_quant.c, one thread) against the machine's own int8 peak.
 *
 *   int8_peak [REPEATS]        default 5
 *
 * The peak: a loop of the instruction the kernel is built on, with data in
 * registers only: vpdpbusd on 512-bit registers (64 multiply-adds) where
 * the CPU has AVX-512 VNNI, else vpmaddwd on 256-bit registers (16
 * multiply-adds of int16: the AVX2 path widens int8 to int16), twelve
 * independent accumulators to cover the latency. A multiply-add counts as
 * two operations. Then the int8 linear layer (quantized activations times
 * int8 weights, dequantized into float, as every int8 linear layer runs)
 * over the layer shapes of MiniLM, Marian and the shipped models at 1, 32
 * and 320 rows, twice: tf_int8_linear on row-major weights and
 * tf_int8_linear_packed on the weights packed in panels. Prints
 *
 *   peak PATH median_gops X
 *   linear n N in K out M median_gops X percent_of_peak P packed_gops Y packed_percent Q
 *
 * (medians of REPEATS timings, each of at least 0.2 s).
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "bench_util.h"
#include "tf_cpu.h"
#include "tf_quant.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#define ACCUMULATORS 12

/* Multiply-adds of `iterations` rounds of the peak loop on this path. */
#if defined(__x86_64__)
__attribute__((target("avx512f,avx512bw,avx512vnni"))) static double
peak_vnni(long iterations)
{
	__m512i		acc[ACCUMULATORS];
	__m512i		a = _mm512_set1_epi8(3),
				b = _mm512_set1_epi8(-5);
	int32_t		sink[16];

	for (int i = 0; i < ACCUMULATORS; i++)
		acc[i] = _mm512_set1_epi32(i);
	for (long it = 0; it < iterations; it++)
	{
#pragma GCC unroll 12
		for (int i = 0; i < ACCUMULATORS; i++)
			acc[i] = _mm512_dpbusd_epi32(acc[i], a, b);
		__asm__ volatile ("" : "+v" (a));
	}
	for (int i = 1; i < ACCUMULATORS; i++)
		acc[0] = _mm512_add_epi32(acc[0], acc[i]);
	_mm512_storeu_si512(sink, acc[0]);
	__asm__ volatile ("" : : "r" (sink) : "memory");
	return 64.0 * ACCUMULATORS * iterations;
}

__attribute__((target("avx2"))) static double
peak_avx2(long iterations)
{
	__m256i		acc[ACCUMULATORS];
	__m256i		a = _mm256_set1_epi16(3),
				b = _mm256_set1_epi16(-5);
	int32_t		sink[8];

	for (int i = 0; i < ACCUMULATORS; i++)
		acc[i] = _mm256_set1_epi32(i);
	for (long it = 0; it < iterations; it++)
	{
#pragma GCC unroll 12
		for (int i = 0; i < ACCUMULATORS; i++)
			acc[i] = _mm256_add_epi32(acc[i], _mm256_madd_epi16(a, b));
		__asm__ volatile ("" : "+x" (a));
	}
	for (int i = 1; i < ACCUMULATORS; i++)
		acc[0] = _mm256_add_epi32(acc[0], acc[i]);
	_mm256_storeu_si256((__m256i *) sink, acc[0]);
	__asm__ volatile ("" : : "r" (sink) : "memory");
	return 16.0 * ACCUMULATORS * iterations;
}
#endif

/* Median GOP/s over `repeats` timings of at least 0.2 s of the peak loop. */
static double
peak_gops(int repeats, const char **path)
{
	double	   *rates = malloc(sizeof(double) * repeats);
	double		result;

	*path = tf_cpu_has_vnni() ? "vpdpbusd (AVX-512 VNNI)" :
		tf_cpu_level() >= TF_ISA_AVX2 ? "vpmaddwd (AVX2)" : "none (scalar)";
	for (int r = 0; r < repeats; r++)
	{
		double		t0 = seconds(CLOCK_MONOTONIC),
					macs = 0;

		do
		{
#if defined(__x86_64__)
			if (tf_cpu_has_vnni())
				macs += peak_vnni(1000000);
			else if (tf_cpu_level() >= TF_ISA_AVX2)
				macs += peak_avx2(1000000);
			else
#endif
				return 0;
		} while (seconds(CLOCK_MONOTONIC) - t0 < 0.2);
		rates[r] = 2 * macs / (seconds(CLOCK_MONOTONIC) - t0) * 1e-9;
	}
	result = median(rates, repeats);
	free(rates);
	return result;
}

/*
 * Median GOP/s of the int8 linear layer over x[n, in] and w[out, in]:
 * tf_int8_linear on row-major weights, or with `packed`
 * tf_int8_linear_packed on the same weights packed once (as at load).
 */
static double
linear_gops(int n, int in, int out, bool packed, int repeats)
{
	int			ld = tf_quant_stride(in);
	float	   *x = random_floats((size_t) n * in, 1);
	float	   *w = random_floats((size_t) out * in, 2);
	float	   *y = calloc((size_t) n * out, sizeof(float));
	int8_t	   *wq = malloc((size_t) out * ld);
	int8_t	   *wp = malloc(tf_int8_packed_bytes(out, ld));
	uint8_t    *xq = malloc((size_t) n * ld);
	float	   *ws = malloc(sizeof(float) * out),
			   *xs = malloc(sizeof(float) * n);
	int32_t    *wsum = malloc(sizeof(int32_t) * out),
			   *xz = malloc(sizeof(int32_t) * n);
	double	   *rates = malloc(sizeof(double) * repeats);
	double		result;

	tf_quantize_weights(w, out, in, ld, wq, ws, wsum);
	tf_int8_pack(wq, out, ld, wp);
	for (int r = 0; r < repeats; r++)
	{
		double		t0 = seconds(CLOCK_MONOTONIC);
		long		calls = 0;

		do
		{
			/* the activations are quantized at every product, as in a model */
			tf_quantize_rows(x, n, in, ld, xq, xs, xz);
			if (packed)
				tf_int8_linear_packed(xq, xs, xz, n, ld, wp, ws, wsum, 0, out, y, out);
			else
				tf_int8_linear(xq, xs, xz, n, ld, wq, ws, wsum, out, y, out);
			calls++;
		} while (seconds(CLOCK_MONOTONIC) - t0 < 0.2);
		rates[r] = 2.0 * n * in * out * calls / (seconds(CLOCK_MONOTONIC) - t0) * 1e-9;
	}
	result = median(rates, repeats);
	free(x), free(w), free(y), free(wq), free(wp), free(xq), free(ws), free(xs), free(wsum), free(xz);
	free(rates);
	return result;
}

int
main(int argc, char **argv)
{
	int			repeats = argc > 1 ? atoi(argv[1]) : 5;
	/* {in, out}: all-MiniLM-L6-v2's attention (qkv), output, feed-forward
	 * in and out (the ONNX Runtime comparison's model, figure 11);
	 * marian-en-de's feed-forward in; bert-embed-en's qkv and feed-forward
	 * in and out; marian-en-de's output projection over 8,001 words */
	static const int shapes[][2] = {
		{384, 1152}, {384, 384}, {384, 1536}, {1536, 384}, {512, 2048},
		{256, 768}, {256, 1024}, {1024, 256}, {256, 8001},
	};
	static const int batches[] = {1, 32, 320};	/* rows: one token, a few sentences, a batch */
	const char *path;
	double		peak;

	if (repeats < 1)
	{
		fprintf(stderr, "usage: int8_peak [REPEATS]\n");
		return 1;
	}
	peak = peak_gops(repeats, &path);
	printf("peak %s median_gops %.1f\n", path, peak);
	for (size_t b = 0; b < sizeof(batches) / sizeof(batches[0]); b++)
		for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++)
		{
			int			n = batches[b],
						in = shapes[i][0],
						out = shapes[i][1];
			double		gops = linear_gops(n, in, out, false, repeats),
						packed = linear_gops(n, in, out, true, repeats);

			printf("linear n %d in %d out %d median_gops %.1f percent_of_peak %.0f"
				   " packed_gops %.1f packed_percent %.0f\n", n, in, out, gops,
				   peak > 0 ? 100 * gops / peak : 0, packed, peak > 0 ? 100 * packed / peak : 0);
		}
	return 0;
}
