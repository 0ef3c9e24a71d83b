/*
 * json_mutator.h: a structure-aware libFuzzer mutator for JSON inputs.
 *
 * Byte mutations of a JSON file almost never give valid JSON, so they never
 * reach the code that uses the values. This mutator parses the input with
 * the core's own reader (tf_json_parse), changes the tree the way a hostile
 * or careless config file would (a value replaced by NaN, +-Infinity,
 * 1e400, a negative, huge or fractional number, another type; a member
 * deleted, duplicated or added under a known key; a subtree copied over
 * another; a value wrapped in or unwrapped from an array) and writes it
 * back as JSON text. Input that does not parse, and one call in eight, get
 * libFuzzer's own byte mutations instead.
 */
#ifndef JSON_MUTATOR_H
#define JSON_MUTATOR_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "tf_json.h"

/* xorshift64 state, seeded from libFuzzer's seed. */
typedef struct FuzzRng
{
	uint64_t	state;
} FuzzRng;

void		fuzz_rng_init(FuzzRng *rng, unsigned int seed);

/* A number in [0, n) (n > 0). */
uint32_t	fuzz_rand(FuzzRng *rng, uint32_t n);

/* Apply one to three random structural changes to the tree. `words`
 * (NULL-terminated) are the member names and string values worth trying:
 * the keys the target's readers look up. */
void		fuzz_json_mutate_tree(TfJson *root, FuzzRng *rng, const char *const *words);

/* Make node n (keeping its key) the array of numbers values[n_values]. */
void		fuzz_json_set_numbers(TfJson *n, const double *values, int n_values);

/* Write the tree as JSON text; non-finite numbers as NaN, Infinity,
 * -Infinity or, at random, 1e400 / -1e400. */
void		fuzz_json_write(FILE *out, const TfJson *v, FuzzRng *rng);

/* The tree as JSON text in a malloc'd, NUL-terminated buffer (*len bytes). */
char	   *fuzz_json_text(const TfJson *v, FuzzRng *rng, size_t *len);

/* The LLVMFuzzerCustomMutator of a target whose input is one JSON text:
 * mutate data[size] in place (at most max_size bytes); the new size. */
size_t		fuzz_json_mutate(uint8_t *data, size_t size, size_t max_size, unsigned int seed,
							 const char *const *words);

/* libFuzzer's byte mutator (defined by libFuzzer). */
size_t		LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);

#endif							/* JSON_MUTATOR_H */
