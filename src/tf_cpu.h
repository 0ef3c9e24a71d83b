/*
 * tf_cpu.h: which instruction set the kernels use, chosen once at run time.
 *
 * Every kernel with vector paths asks tf_cpu_level() and takes the best
 * path at or below it, so one build runs on any x86-64 CPU. The level is
 * the CPU's own, capped by the environment variable TRANSFORMER_ISA
 * ("scalar", "avx2" or "avx512") when the process starts, or later by
 * tf_cpu_set_cap() (the setting transformer.instruction_set): tests force
 * each path in turn and compare them, and a user can rule out a path.
 */
#ifndef TF_CPU_H
#define TF_CPU_H

#include <stdbool.h>

typedef enum TfIsa
{
	TF_ISA_SCALAR = 0,			/* plain C */
	TF_ISA_AVX2,				/* AVX2, FMA and F16C */
	TF_ISA_AVX512				/* AVX-512 F, BW, DQ, VL (VNNI, BF16: see below) */
} TfIsa;

/* The best level this CPU supports, ignoring any cap. */
TfIsa		tf_cpu_hardware_level(void);

/* The level kernels use: the hardware level, capped. */
TfIsa		tf_cpu_level(void);

/* Cap the level (a cap above the hardware has no effect); reset returns
 * to TRANSFORMER_ISA's cap, or none. */
void		tf_cpu_set_cap(TfIsa cap);
void		tf_cpu_reset_cap(void);

/* Whether AVX-512 VNNI (vpdpbusd) and AVX-512 BF16 are usable: only
 * at level TF_ISA_AVX512 and when the CPU has them. */
bool		tf_cpu_has_vnni(void);
bool		tf_cpu_has_bf16(void);

/* "scalar", "avx2", "avx512" <-> TfIsa; parse returns false on others. */
bool		tf_cpu_parse(const char *name, TfIsa *out);
const char *tf_cpu_name(TfIsa level);

#endif							/* TF_CPU_H */
