# A thin front for meson.  `make demo` and `make test` do all set-up on a
# fresh Debian 12 machine (missing packages are installed with apt-get).

BUILD       ?= build
ASAN_BUILD  ?= build-asan
BENCH_BUILD ?= build-bench
TSAN_BUILD  ?= build-tsan
FUZZ_BUILD  ?= build-fuzz
MESON_TEST   = meson test --print-errorlogs --num-processes 2

.PHONY: all setup demo test format format-check test-unit test-asan test-tsan \
        test-valgrind test-fuzz bench bench-dist bench-df \
	clean

all: $(BUILD)/build.ninja
	ninja -C $(BUILD)

setup:
	@sh scripts/setup.sh

$(BUILD)/build.ninja:
	@sh scripts/setup.sh
	meson setup $(BUILD) --buildtype=debugoptimized

$(BENCH_BUILD)/build.ninja:
	@sh scripts/setup.sh
	meson setup $(BENCH_BUILD) --buildtype=release

$(ASAN_BUILD)/build.ninja:
	@sh scripts/setup.sh
	meson setup $(ASAN_BUILD) --buildtype=debug \
	    -Db_sanitize=address,undefined -Db_lundef=false -Dtest_scale=quick

$(TSAN_BUILD)/build.ninja:
	@sh scripts/setup.sh
	meson setup $(TSAN_BUILD) --buildtype=debug \
	    -Db_sanitize=thread -Dtest_scale=quick

# The fuzzers need clang's libFuzzer; this build (clang, ASan+UBSan)
# also runs the unit tests, since clang's UBSan checks more than gcc's.
$(FUZZ_BUILD)/build.ninja:
	@sh scripts/setup.sh
	CC=clang meson setup $(FUZZ_BUILD) --buildtype=debugoptimized \
	    -Dfuzz=enabled -Dviz=disabled -Db_sanitize=address,undefined \
	    -Db_lundef=false

demo: $(BUILD)/build.ninja
	ninja -C $(BUILD)
	./$(BUILD)/examples/nested_loops 1000 threads
	./$(BUILD)/examples/distributed 300
	./$(BUILD)/examples/array 2000 500 threads
	./$(BUILD)/examples/visualize 4 $(BUILD)/nested_loops.svg
	./$(BUILD)/examples/visualize 1000 $(BUILD)/nested_loops_summary.svg
	./$(BUILD)/examples/visualize 200 $(BUILD)/nested_loops_200.svg \
	    $(BUILD)/nested_loops_trace.json
	@echo "demo: graph pictures in $(BUILD)/nested_loops.svg (4 x 4)" \
	    "and $(BUILD)/nested_loops_summary.svg (1000 x 1000, summarized);"
	@echo "demo: profile of the 200 x 200 run in" \
	    "$(BUILD)/nested_loops_trace.json (open in https://ui.perfetto.dev)"

# Each run keeps its own log; the last line adds them all up.  The plain
# and valgrind runs share a build, so each copies its log aside.
test: format-check test-unit test-asan test-tsan test-valgrind test-fuzz
	@python3 scripts/test_summary.py $(BUILD)/unit $(ASAN_BUILD) \
	    $(TSAN_BUILD) $(BUILD)/valgrind $(FUZZ_BUILD)

# Sources follow .clang-format (STYLE.md); `make format` applies it.
format-check: setup
	clang-format --dry-run --Werror $$(git ls-files '*.c' '*.h')

format: setup
	clang-format -i $$(git ls-files '*.c' '*.h')

test-unit: $(BUILD)/build.ninja
	ninja -C $(BUILD)
	$(MESON_TEST) -C $(BUILD)
	mkdir -p $(BUILD)/unit/meson-logs
	cp $(BUILD)/meson-logs/testlog.json $(BUILD)/unit/meson-logs/

test-asan: $(ASAN_BUILD)/build.ninja
	ninja -C $(ASAN_BUILD)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    $(MESON_TEST) -C $(ASAN_BUILD) --no-suite bench --no-suite build

# ThreadSanitizer: data races in the thread-pool scheduler and in
# everything it runs concurrently.
test-tsan: $(TSAN_BUILD)/build.ninja
	ninja -C $(TSAN_BUILD)
	TSAN_OPTIONS=halt_on_error=1:suppressions=$(CURDIR)/tests/tsan.supp \
	    $(MESON_TEST) -C $(TSAN_BUILD) --no-suite bench --no-suite build

# OpenBLAS picks its kernels by the CPU it sees, and valgrind's CPU lacks
# AVX-512: the tests' local-cluster workers (not under valgrind) would
# run other kernels than the test itself, whose results they must match
# bit for bit.  One core type for every process (SSE3, which every
# x86-64 and valgrind have) keeps them alike.
test-valgrind: $(BUILD)/build.ninja
	ninja -C $(BUILD)
	OPENBLAS_CORETYPE=Prescott TG_TEST_SCALE=quick TG_TEST_NO_RSS=1 \
	    $(MESON_TEST) -C $(BUILD) \
	    --no-suite e2e --no-suite net --no-suite build --timeout-multiplier 10 \
	    --wrap='valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect --suppressions=$(CURDIR)/tests/valgrind.supp'
	mkdir -p $(BUILD)/valgrind/meson-logs
	cp $(BUILD)/meson-logs/testlog-valgrind.json \
	    $(BUILD)/valgrind/meson-logs/testlog.json

# The unit tests under clang's ASan+UBSan; then each fuzzer replays its
# checked-in corpus and fuzzes for a bounded, seeded run (longer runs:
# tests/fuzz/README.md).
test-fuzz: $(FUZZ_BUILD)/build.ninja
	ninja -C $(FUZZ_BUILD)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    $(MESON_TEST) -C $(FUZZ_BUILD) --no-suite bench --no-suite build

bench: $(BENCH_BUILD)/build.ninja
	ninja -C $(BENCH_BUILD)
	./$(BENCH_BUILD)/bench/bench_schedulers

# The distributed scheduler next to dask.distributed (installs Debian's
# python3-distributed for the comparison; see bench/compare_dist.sh).
bench-dist: $(BENCH_BUILD)/build.ninja
	ninja -C $(BENCH_BUILD)
	BENCH_BUILD=$(BENCH_BUILD) sh bench/compare_dist.sh

# The dataframe's shuffles next to DuckDB on the 10 M-row events table
# (installs DuckDB from npm into /tmp; see bench/compare_df.sh).
bench-df: $(BENCH_BUILD)/build.ninja
	ninja -C $(BENCH_BUILD)
	BENCH_BUILD=$(BENCH_BUILD) sh bench/compare_df.sh

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(TSAN_BUILD) $(BENCH_BUILD) $(FUZZ_BUILD)
