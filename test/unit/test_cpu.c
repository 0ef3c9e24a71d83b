/*
 * test_cpu.c: the run-time choice of instruction set (tf_cpu.c): names,
 * the cap from TRANSFORMER_ISA and tf_cpu_set_cap, and that a cap never
 * raises the level above what the CPU has.
 */
#include <stdlib.h>

#include "tap.h"
#include "tf_cpu.h"
#include "tf_simd.h"

int
main(void)
{
	TfIsa		hardware = tf_cpu_hardware_level();
	TfIsa		parsed;

	/* the environment's cap, read on first use */
	setenv("TRANSFORMER_ISA", "scalar", 1);
	ok(tf_cpu_level() == TF_ISA_SCALAR, "TRANSFORMER_ISA=scalar caps the level");
	ok(!tf_simd_available(), "the AVX2 kernels are off at the scalar level");
	ok(!tf_cpu_has_vnni() && !tf_cpu_has_bf16(), "no VNNI or BF16 below avx512");

	for (int level = TF_ISA_SCALAR; level <= TF_ISA_AVX512; level++)
	{
		tf_cpu_set_cap((TfIsa) level);
		ok(tf_cpu_level() == (level < (int) hardware ? (TfIsa) level : hardware),
		   "cap %s gives min(cap, hardware %s)", tf_cpu_name((TfIsa) level),
		   tf_cpu_name(hardware));
		ok(tf_cpu_parse(tf_cpu_name((TfIsa) level), &parsed) && parsed == (TfIsa) level,
		   "name %s parses back", tf_cpu_name((TfIsa) level));
	}
	tf_cpu_reset_cap();
	ok(tf_cpu_level() == TF_ISA_SCALAR, "reset returns to TRANSFORMER_ISA's cap");
	unsetenv("TRANSFORMER_ISA");
	tf_cpu_reset_cap();
	ok(tf_cpu_level() == hardware, "without TRANSFORMER_ISA, reset lifts the cap");
	ok(tf_simd_available() == (hardware >= TF_ISA_AVX2),
	   "uncapped, the AVX2 kernels run where the CPU has AVX2");
	ok(!tf_cpu_parse("sse2", &parsed) && !tf_cpu_parse("", &parsed) &&
	   !tf_cpu_parse("AVX2", &parsed), "unknown names are refused");
	diag("this CPU: %s%s%s", tf_cpu_name(hardware), tf_cpu_has_vnni() ? ", VNNI" : "",
		 tf_cpu_has_bf16() ? ", BF16" : "");
	return done_testing();
}
