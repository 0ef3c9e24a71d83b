# transformer: PostgreSQL extension running transformer models in the backend.
#
#   make && make install        build and install (PGXS; needs pg_config on PATH)
#   make unit                   build and run the C unit tests of the core (prove),
#                               generating test/fixtures first when missing
#   make installcheck           pg_regress suites in test/sql + test/expected (running server)
#   make pgtap                  pgTAP suites in test/pgtap (running server)
#   make bench                  benchmarks (bench/README.md)
#   make fuzz                   libFuzzer targets, FUZZ_SECONDS each (test/fuzz/README.md)
#   test/run                    everything above on a throwaway cluster (what CI runs)

EXTENSION = transformer
EXTVERSION = 0.1.0
MODULE_big = transformer

CORE_SRCS = $(sort $(wildcard src/tf_*.c))
PG_SRCS = $(sort $(wildcard src/pg_*.c))
OBJS = $(CORE_SRCS:.c=.o) $(PG_SRCS:.c=.o)

# The extension script is built from the parts in sql/, in name order: one
# file per concern (sql/00_core.sql, then each feature's own part)
SQL_PARTS = $(sort $(wildcard sql/[0-9][0-9]_*.sql))
DATA_built = sql/$(EXTENSION)--$(EXTVERSION).sql
# pg_regress suites: test/sql/NAME.sql against test/expected/NAME.out (sql/
# holds only the extension script)
REGRESS = $(sort $(notdir $(basename $(wildcard test/sql/*.sql))))
REGRESS_OPTS = --inputdir=test --outputdir=test/results

# OpenBLAS is not linked: backends dlopen() it on first use (src/tf_blas.h)
SHLIB_LINK = -lutf8proc -lmvec -lm -ldl -lpthread
PG_CPPFLAGS = -Isrc
PG_CFLAGS = -std=gnu11

EXTRA_CLEAN = test/unit/build test/results test/fuzz/build

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

sql/$(EXTENSION)--$(EXTVERSION).sql: $(SQL_PARTS)
	cat $^ > $@

# PGXS tracks no header dependencies: rebuild every object (and its JIT
# bitcode) when any header changes, so a changed struct never meets a
# stale object
$(OBJS) $(OBJS:.o=.bc): $(wildcard src/*.h src/*.inc)

# Shipped default models: installed under $(datadir)/transformer/<name>
MODELS = $(notdir $(patsubst %/config.json,%,$(wildcard models/*/config.json)))
MODEL_DIR = $(DESTDIR)$(datadir)/transformer

install: install-models
.PHONY: install-models
install-models:
	@for m in $(MODELS); do \
		$(MKDIR_P) '$(MODEL_DIR)/'$$m && \
		(cd models/$$m && find . -type f | while read f; do \
			$(MKDIR_P) "$(MODEL_DIR)/$$m/$$(dirname $$f)" && \
			$(INSTALL_DATA) "$$f" "$(MODEL_DIR)/$$m/$$f" || exit 1; done) || exit 1; \
	done

# ---- C unit tests of the core: plain executables printing TAP ----
UNIT_SRCS = $(wildcard test/unit/test_*.c)
UNIT_BINS = $(patsubst test/unit/%.c,test/unit/build/%,$(UNIT_SRCS))
UNIT_CFLAGS = -std=gnu11 -O2 -g -Wall -Wextra -Wno-unused-parameter -Isrc -Itest/unit

# the core compiled once for every test (the kernels take a while)
UNIT_OBJS = $(patsubst src/%.c,test/unit/build/obj/%.o,$(CORE_SRCS))

test/unit/build/obj/%.o: src/%.c $(wildcard src/tf_*.h src/tf_*.inc)
	@mkdir -p test/unit/build/obj
	$(CC) $(UNIT_CFLAGS) -c -o $@ $<

test/unit/build/%: test/unit/%.c $(UNIT_OBJS) $(wildcard src/tf_*.h) $(wildcard test/unit/*.h)
	$(CC) $(UNIT_CFLAGS) -o $@ $< $(UNIT_OBJS) -lutf8proc -lmvec -lm -ldl -lpthread

.PHONY: unit pgtap fixtures bench
unit: $(UNIT_BINS) test/fixtures/.complete
	prove --exec '' $(UNIT_BINS)

# The fixture tests (test_bert, test_marian, test_translate, ...) read the
# checkpoints and PyTorch outputs that `make fixtures` writes; generated
# once, when missing, or refused with what to install.
test/fixtures/.complete:
	@/usr/bin/python3 -c 'import torch, numpy, sentencepiece' 2>/dev/null || { \
		echo "make unit: test/fixtures is missing, and generating it needs /usr/bin/python3 with"; \
		echo "torch, numpy and sentencepiece (scripts/install-deps installs them);"; \
		echo "then run 'make fixtures' (about 10 minutes on one core)."; exit 1; }
	@echo "make unit: generating test/fixtures with the PyTorch reference (make fixtures)"
	$(MAKE) fixtures

pgtap:
	pg_prove --ext .sql test/pgtap/

fixtures:
	/usr/bin/python3 test/reference/make_bert_fixtures.py --out test/fixtures
	/usr/bin/python3 test/reference/make_marian_fixtures.py --out test/fixtures
	/usr/bin/python3 test/reference/make_broken_fixtures.py --out test/fixtures
	/usr/bin/python3 test/reference/make_attention_reference.py --fixtures test/fixtures
	touch test/fixtures/.complete

bench:
	bench/run

# ---- libFuzzer targets: one per parser of untrusted bytes (test/fuzz/README.md) ----
FUZZ_BUILD = test/fuzz/build
FUZZ_TARGETS = $(patsubst test/fuzz/%.c,$(FUZZ_BUILD)/%,$(wildcard test/fuzz/fuzz_*.c))
FUZZ_OBJS = $(patsubst src/%.c,$(FUZZ_BUILD)/obj/%.o,$(CORE_SRCS)) $(FUZZ_BUILD)/obj/json_mutator.o
FUZZ_CFLAGS = -std=gnu11 -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined \
	-fno-sanitize-recover=all -Isrc -Itest/fuzz
FUZZ_SECONDS ?= 60

$(FUZZ_BUILD)/obj/%.o: src/%.c $(wildcard src/tf_*.h src/tf_*.inc)
	@mkdir -p $(@D)
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FUZZ_BUILD)/obj/json_mutator.o: test/fuzz/json_mutator.c test/fuzz/json_mutator.h $(wildcard src/tf_*.h)
	@mkdir -p $(@D)
	clang $(FUZZ_CFLAGS) -c -o $@ $<

$(FUZZ_BUILD)/fuzz_%: test/fuzz/fuzz_%.c test/fuzz/fuzz_common.h $(FUZZ_OBJS)
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_OBJS) -lutf8proc -lmvec -lm -ldl -lpthread

# the tiny checkpoints and seed corpora (made, not committed)
$(FUZZ_BUILD)/inputs.stamp: test/fuzz/make_inputs.py
	/usr/bin/python3 test/fuzz/make_inputs.py --out $(FUZZ_BUILD)
	touch $@

.PHONY: fuzz fuzz-build
fuzz-build: $(FUZZ_TARGETS) $(FUZZ_BUILD)/inputs.stamp

# each target over its corpus, then fuzzed for FUZZ_SECONDS
fuzz:
	FUZZ_SECONDS=$(FUZZ_SECONDS) test/fuzz/run
