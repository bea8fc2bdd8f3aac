# A thin front for meson.  `make demo` and `make test` do all set-up on a
# fresh Debian 12 machine (missing packages are installed with apt-get).

BUILD      ?= build
ASAN_BUILD ?= build-asan
TSAN_BUILD ?= build-tsan
MESON_TEST  = meson test --print-errorlogs --num-processes 2

.PHONY: all setup demo test test-unit test-asan test-tsan test-valgrind bench \
	clean

all: $(BUILD)/build.ninja
	ninja -C $(BUILD)

setup:
	@sh scripts/setup.sh

$(BUILD)/build.ninja:
	@sh scripts/setup.sh
	meson setup $(BUILD) --buildtype=debugoptimized

$(ASAN_BUILD)/build.ninja:
	@sh scripts/setup.sh
	meson setup $(ASAN_BUILD) --buildtype=debug \
	    -Db_sanitize=address,undefined -Db_lundef=false -Dtest_scale=quick

$(TSAN_BUILD)/build.ninja:
	@sh scripts/setup.sh
	meson setup $(TSAN_BUILD) --buildtype=debug \
	    -Db_sanitize=thread -Dtest_scale=quick

demo: $(BUILD)/build.ninja
	ninja -C $(BUILD)
	./$(BUILD)/examples/nested_loops 1000 threads

test: test-unit test-asan test-tsan test-valgrind

test-unit: $(BUILD)/build.ninja
	ninja -C $(BUILD)
	$(MESON_TEST) -C $(BUILD)

test-asan: $(ASAN_BUILD)/build.ninja
	ninja -C $(ASAN_BUILD)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    $(MESON_TEST) -C $(ASAN_BUILD) --no-suite bench

# ThreadSanitizer: data races in the thread-pool scheduler and in
# everything it runs concurrently.
test-tsan: $(TSAN_BUILD)/build.ninja
	ninja -C $(TSAN_BUILD)
	TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
	    $(MESON_TEST) -C $(TSAN_BUILD) --no-suite bench

test-valgrind: $(BUILD)/build.ninja
	ninja -C $(BUILD)
	TG_TEST_SCALE=quick TG_TEST_NO_RSS=1 $(MESON_TEST) -C $(BUILD) \
	    --no-suite e2e --no-suite net --no-suite build --timeout-multiplier 10 \
	    --wrap='valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect'

bench: $(BUILD)/build.ninja
	meson configure $(BUILD) --buildtype=release >/dev/null
	ninja -C $(BUILD)
	./$(BUILD)/bench/bench_sync
	./$(BUILD)/bench/bench_threads

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(TSAN_BUILD)
