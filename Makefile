# The two set-up commands: `make run` and `make test`. Both install missing Debian packages first.
BUILD_DIR ?= build
ASAN_DIR ?= build-asan
JOBS ?= $(shell nproc)
HOME_DIR ?= .snapdelta

.PHONY: all deps build run test test-asan bench microbench fuzz format clean

all: build

deps:
	@scripts/install-deps.sh

build: deps
	@cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD_DIR) -j $(JOBS)

# Runs the pipeline on the bundled sample landing zone, one export version at a time, as the
# reference pipeline's README delivers them.
run: build
	@scripts/run-sample.sh $(BUILD_DIR)/snapdelta

test: build
	@cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS)

test-asan: deps
	@cmake -S . -B $(ASAN_DIR) -DCMAKE_BUILD_TYPE=Debug -DSNAPDELTA_SANITIZE=ON >/dev/null
	@cmake --build $(ASAN_DIR) -j $(JOBS)
	@cd $(ASAN_DIR) && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest --output-on-failure -j $(JOBS)

bench: build
	@bench/compare.sh
	@bench/publish.sh
	@bench/workers.sh
	@bench/partitions.sh

# Google Benchmark loops for the inner loops (CSV scan, fingerprints, key table, partitions).
microbench: build
	@$(BUILD_DIR)/snapdelta-micro-bench

# The CSV reader and decompressors under libFuzzer with ASan and UBSan, FUZZ_SECONDS long.
FUZZ_DIR ?= build-fuzz
FUZZ_SECONDS ?= 60
fuzz: deps
	@cmake -S . -B $(FUZZ_DIR) -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_C_COMPILER=clang \
	  -DCMAKE_BUILD_TYPE=Debug -DSNAPDELTA_SANITIZE=ON -DSNAPDELTA_FUZZ=ON >/dev/null
	@cmake --build $(FUZZ_DIR) -j $(JOBS) --target snapdelta_fuzz_csv
	@mkdir -p $(FUZZ_DIR)/corpus
	@$(FUZZ_DIR)/snapdelta_fuzz_csv -max_total_time=$(FUZZ_SECONDS) -max_len=65536 \
	  $(FUZZ_DIR)/corpus fuzz/corpus

format:
	@git ls-files '*.cc' '*.h' | xargs clang-format -i

clean:
	rm -rf $(BUILD_DIR) $(ASAN_DIR)
