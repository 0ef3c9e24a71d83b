/*
 * tf_cpu.c: run-time choice of the kernels' instruction set (tf_cpu.h).
 */
#include "tf_cpu.h"

#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__)
#include <cpuid.h>
#endif

static const char *const isa_names[] = {"scalar", "avx2", "avx512"};

static int	cap = -1;			/* -1: not yet read from TRANSFORMER_ISA */

#if defined(__x86_64__)
/* F16C (half <-> float conversions): CPUID leaf 1, ECX bit 29 (clang's
 * __builtin_cpu_supports does not know the name). */
static bool
has_f16c(void)
{
	unsigned int eax, ebx, ecx, edx;

	return __get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & bit_F16C);
}
#endif

/* The hardware level, found on first use: CPUID is slow (a trap to the
 * hypervisor in a virtual machine) and kernels ask for the level on every
 * call. */
static int	hardware_level = -1;

/* What CPUID says the hardware supports. */
static TfIsa
probe_hardware_level(void)
{
#if defined(__x86_64__)
	if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
		__builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
		__builtin_cpu_supports("fma") && has_f16c())
		return TF_ISA_AVX512;
	if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
		has_f16c())
		return TF_ISA_AVX2;
#endif
	return TF_ISA_SCALAR;
}

TfIsa
tf_cpu_hardware_level(void)
{
	if (hardware_level < 0)
		hardware_level = (int) probe_hardware_level();
	return (TfIsa) hardware_level;
}

TfIsa
tf_cpu_level(void)
{
	TfIsa		hardware = tf_cpu_hardware_level();

	if (cap < 0)
	{
		const char *env = getenv("TRANSFORMER_ISA");
		TfIsa		parsed;

		cap = (env && tf_cpu_parse(env, &parsed)) ? (int) parsed : (int) TF_ISA_AVX512;
	}
	return (int) hardware < cap ? hardware : (TfIsa) cap;
}

void
tf_cpu_set_cap(TfIsa level)
{
	cap = (int) level;
}

void
tf_cpu_reset_cap(void)
{
	cap = -1;
}

bool
tf_cpu_has_vnni(void)
{
#if defined(__x86_64__)
	return tf_cpu_level() == TF_ISA_AVX512 && __builtin_cpu_supports("avx512vnni");
#else
	return false;
#endif
}

bool
tf_cpu_has_bf16(void)
{
#if defined(__x86_64__)
	return tf_cpu_level() == TF_ISA_AVX512 && __builtin_cpu_supports("avx512bf16");
#else
	return false;
#endif
}

bool
tf_cpu_parse(const char *name, TfIsa *out)
{
	for (int i = 0; i < (int) (sizeof(isa_names) / sizeof(isa_names[0])); i++)
		if (strcmp(name, isa_names[i]) == 0)
		{
			*out = (TfIsa) i;
			return true;
		}
	return false;
}

const char *
tf_cpu_name(TfIsa level)
{
	return isa_names[level];
}
