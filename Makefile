# kasumi — the two set-up commands live here: `make run` and `make check`.
# The real build is CMake (see docs/build.md for why); this file wraps it.

JOBS      ?= $(shell nproc)
BUILD     ?= build/release
CHECK     ?= build/check
DATA      ?= var
FUZZ_SECS ?= 20

.PHONY: all deps run tour check fuzz bench clean

# The console's bundle needs the npm packages (Vite, TypeScript, ECharts): npm-deps.sh installs them
# when package-lock.json is newer than node_modules, and does nothing otherwise.
all: $(BUILD)/build.ninja-or-make
	sh scripts/npm-deps.sh
	cmake --build $(BUILD) -j $(JOBS) --target kasumid kasumi
	mkdir -p bin
	cp $(BUILD)/kasumid $(BUILD)/kasumi $(BUILD)/sbom.cdx.json bin/

$(BUILD)/build.ninja-or-make:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	touch $@

deps:
	sh scripts/install-deps.sh
	sh scripts/npm-deps.sh

# Installs what is missing, builds, and starts kasumid in the foreground with embedded defaults.
run: deps all
	sh scripts/run.sh $(DATA)

# A govcloud and an overseas-ai kasumid side by side, the governed path between them (docs/overseas.md).
tour: all
	sh scripts/tour.sh

# Installs what is missing, builds with ASan+UBSan (clang, so the fuzzers build too), runs every test.
# The gcc release build (`all`) comes first: both compilers must accept the code with -Werror.
check: deps all
	CC=clang cmake -S . -B $(CHECK) -DCMAKE_BUILD_TYPE=Debug -DKSM_SANITIZE=ON -DKSM_FUZZ=ON \
		-DKSM_FUZZ_SECONDS=$(FUZZ_SECS) >/dev/null
	cmake --build $(CHECK) -j $(JOBS)
	cd $(CHECK) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
		ctest --output-on-failure -j $(JOBS)

fuzz:
	$(MAKE) check FUZZ_SECS=600

bench: all
	sh bench/run.sh

clean:
	rm -rf build bin
