# SPDX-License-Identifier: LGPL-2.1-or-later
# A thin layer over CMake and ctest; the build itself is in CMakeLists.txt.
BUILD ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 120
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
DESK ?= whmcs

.PHONY: all deps build test test-asan fuzz demo bench install clean

all: build

deps:
	@sh scripts/deps.sh

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo
	cmake --build $(BUILD) -j $(JOBS)

test: build
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

# The same tests, everything built with AddressSanitizer and UndefinedBehaviorSanitizer.
test-asan: deps
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DM2T_SANITIZE=ON
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		ctest --test-dir $(ASAN_BUILD) --output-on-failure -j $(JOBS)

# Every libFuzzer target (tests/fuzz/: the whole parser, the HTML renderer, calendar summaries,
# header decoding, TNEF, the mbox splitter, the desks' answers, the JSON writer against jansson,
# the base64 counter against GMime's decoder, the form desk texts are compared in) for
# FUZZ_SECONDS each, seeded and with a dictionary per format; inputs they find are kept in
# $(FUZZ_BUILD)/corpus-TARGET, and a crash, leak or hang is written to $(FUZZ_BUILD)/ and fails
# the target (tests/fuzz/run.sh).
FUZZ_TARGETS = mail_parse html_text calendar header_decode tnef mbox desk_answers auth_results \
	json_write base64_size compare_text
fuzz: deps
	CC=clang cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DM2T_FUZZ=ON \
		-DM2T_TESTS=OFF
	cmake --build $(FUZZ_BUILD) -j $(JOBS) --target $(addprefix fuzz_,$(FUZZ_TARGETS))
	sh tests/fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

demo: build
	sh scripts/demo.sh $(BUILD)/mail2ticket $(DESK)

# Benchmarks (bench/); make test runs each line below only at a tiny size, to see that it still
# runs (bench/smoke.py reads them from here). BENCH_SIZES: the mbox sizes in MB for the parse
# benchmark; BENCH_COUNTS: the mail counts for the import benchmark; the generated archives are
# kept in bench/out/.
BENCH_SIZES ?= 300 600
BENCH_COUNTS ?= 5000 50000
bench: build
	cmake --build $(BUILD) --target bench_gmime_loop
	python3 bench/pipe_dry_run.py $(BUILD)/mail2ticket
	python3 bench/hostile_bench.py $(BUILD)
	python3 bench/large_mail_bench.py $(BUILD)
	python3 bench/parse_bench.py $(BUILD) $(BENCH_SIZES)
	python3 bench/dry_run_bench.py $(BUILD)
	python3 bench/corpus_bench.py $(BUILD)
	python3 bench/import_bench.py $(BUILD) $(BENCH_COUNTS)
	python3 bench/poll_bench.py $(BUILD)
	python3 bench/scaling_bench.py $(BUILD)

install: build
	cmake --install $(BUILD)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
