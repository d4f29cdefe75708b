# fer - build, test and benchmark.
#   make            ./fer, libfer.a (the public library) and examples/embed
#   make check      the fast tier: unit tests, the layering and symbol checks
#                   and one end-to-end smoke run (about a minute)
#   make test       everything: unit, static and end-to-end tests
#   make test-asan  every unit test and the parser corpus under ASan/UBSan
#   make fuzz       each fuzz harness for FUZZ_SECONDS under libFuzzer (clang)
#   make bench      ./fer bench over the zoo's cfgs (and the peers if present)
#   make install    fer, libfer (static, shared, pkg-config), fer.h, the
#                   models and the Python module under PREFIX (/usr/local),
#                   staged under DESTDIR; make uninstall removes them
# STB=1/0 forces JPEG/PNG decoding through Debian's libstb-dev (auto-detected).
# MPI=1 builds build-mpi/fer with mpicc and -DFER_MPI: data-parallel
#   training under mpirun (src/train/dist.c); the default build stays MPI-free.

CC ?= cc
OPT ?= -O3
CFLAGS ?= $(OPT) -g
# -fno-math-errno: fer never reads errno after libm calls, and with it GCC
# may inline and vectorize sqrtf (the Adam update, batch norm).
# -ffp-contract=off: no multiply-add is fused unless a kernel asks for it, so
# the portable kernels give the same bits on every CPU and compiler
# (tests/e2e/e2e_cross.sh; GCC's default under -std=c11, not clang's)
ALL_CFLAGS = -std=c11 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Wshadow -fno-math-errno -ffp-contract=off \
	-Iinclude -Isrc -pthread $(CFLAGS)
LDLIBS = -lm -pthread
ARCH := $(shell $(CC) -dumpmachine)
# the archive and symbol tools of CC's own toolchain, as CC names them (a
# cross compiler's, e.g. CC=aarch64-linux-gnu-gcc, not the host's)
ifneq (,$(filter default undefined,$(origin AR)))
AR := $(shell $(CC) -print-prog-name=ar)
endif
ifeq ($(origin OBJCOPY),undefined)
OBJCOPY := $(shell $(CC) -print-prog-name=objcopy)
endif

# libstb.a where CC's linker finds it: none for a cross build without the
# target's libstb-dev, so that one builds without stb
STBLIB := $(filter /%,$(shell $(CC) -print-file-name=libstb.a))
ifeq ($(origin STB), undefined)
STB := $(if $(and $(STBLIB),$(wildcard /usr/include/stb/stb_image.h)),1,0)
endif
ifeq ($(STB),1)
ALL_CFLAGS += -DFER_STB -I/usr/include/stb
LDLIBS := $(if $(STBLIB),$(STBLIB),-lstb) $(LDLIBS)
endif

# src/<layer>/*.c; the ISA-specific files only where the compiler targets
# their CPU: x86-64 (AVX2, AVX-512), 64-bit ARM (NEON)
X86_SRC := $(wildcard src/kernels/avx2/*.c src/kernels/avx512/*.c) src/vision/haar_avx2.c
NEON_SRC := $(wildcard src/kernels/neon/*.c)
LIB_SRC := $(filter-out $(X86_SRC),$(wildcard src/*/*.c)) src/kernels/scalar/gemm_scalar.c
ifneq (,$(findstring x86_64,$(ARCH)))
LIB_SRC += $(X86_SRC)
endif
# (aarch64-linux-gnu, arm64-apple-darwin, ...): FER_NEON tells dispatch.c
ifneq (,$(filter aarch64% arm64%,$(ARCH)))
LIB_SRC += $(NEON_SRC)
ALL_CFLAGS += -DFER_NEON
endif
CLI_SRC := $(wildcard examples/cmd_*.c) examples/cli.c examples/main.c

ifeq ($(MPI),1)
MPICC ?= mpicc
CC = $(MPICC)
BUILD = build-mpi
ALL_CFLAGS += -DFER_MPI
endif
BUILD ?= build
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ := $(CLI_SRC:%.c=$(BUILD)/%.o)
# every library object, internal names included: what the CLI and the
# tests link (they use the engine's internals, as Darknet's examples do)
INTERNAL_LIB := $(BUILD)/libfer_internal.a

AVX2_FLAGS = -mavx2 -mfma -mf16c
AVX512_FLAGS = -mavx512f -mavx512bw -mavx512vl -mavx512dq -mfma -mf16c
# only the BF16 GEMM may contain vdpbf16ps: the fp32 avx512 kernels must also
# run on AVX-512 CPUs without AVX512_BF16 (dispatch.c checks before calling it)
AVX512BF16_FLAGS = $(AVX512_FLAGS) -mavx512bf16

ifeq ($(MPI),1)
all: $(BUILD)/fer
else
all: fer libfer.a libfer.so examples/embed
endif

fer: $(CLI_OBJ) $(INTERNAL_LIB)
	$(CC) $(ALL_CFLAGS) -o $@ $(CLI_OBJ) $(INTERNAL_LIB) $(LDLIBS)

# the MPI build's binary (make MPI=1), beside its objects
build-mpi/fer: $(CLI_OBJ) $(INTERNAL_LIB)
	$(CC) $(ALL_CFLAGS) -o $@ $(CLI_OBJ) $(INTERNAL_LIB) $(LDLIBS)

$(INTERNAL_LIB): $(LIB_OBJ)
	rm -f $@
	$(AR) rcs $@ $^

# The public archive: all objects linked into one, in which only the fer_
# names stay global (the rest become local symbols), so that a program
# linking libfer cannot clash with fer's internal names.
libfer.a: $(LIB_OBJ)
	$(CC) -r -nostdlib -o $(BUILD)/libfer_all.o $^
	$(OBJCOPY) -w --keep-global-symbol='fer_*' $(BUILD)/libfer_all.o $(BUILD)/libfer.o
	rm -f $@
	$(AR) rcs $@ $(BUILD)/libfer.o

examples/embed: examples/embed.c libfer.a
	$(CC) $(ALL_CFLAGS) -o $@ $< libfer.a $(LDLIBS)

$(BUILD)/src/kernels/avx2/%.o: src/kernels/avx2/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(AVX2_FLAGS) -MMD -c -o $@ $<

$(BUILD)/src/vision/haar_avx2.o: src/vision/haar_avx2.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(AVX2_FLAGS) -MMD -c -o $@ $<

$(BUILD)/src/kernels/avx512/%.o: src/kernels/avx512/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(AVX512_FLAGS) -MMD -c -o $@ $<

$(BUILD)/src/kernels/avx512/gemm_bf16.o: src/kernels/avx512/gemm_bf16.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(AVX512BF16_FLAGS) -MMD -c -o $@ $<

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -c -o $@ $<

# The compiler and flags (STB's detection included) are recorded in a stamp
# that changes only when they do: installing libstb-dev after a build, or
# another CC or CFLAGS, then rebuilds every object instead of linking a mix.
$(BUILD)/flags.stamp: FORCE
	@mkdir -p $(dir $@)
	@echo '$(CC) $(ALL_CFLAGS) $(LDLIBS)' | cmp -s - $@ || echo '$(CC) $(ALL_CFLAGS) $(LDLIBS)' > $@
$(LIB_OBJ) $(CLI_OBJ): $(BUILD)/flags.stamp

# ---- installation paths ----------------------------------------------------
PREFIX ?= /usr/local
BINDIR = $(PREFIX)/bin
LIBDIR = $(PREFIX)/lib
INCLUDEDIR = $(PREFIX)/include
SHAREDIR = $(PREFIX)/share/fer
PKGCONFIGDIR = $(LIBDIR)/pkgconfig
# Debian's python3 searches $(PREFIX)/lib/python3/dist-packages for /usr/local
PYTHONDIR = $(PREFIX)/lib/python3/dist-packages
FER_VERSION := $(shell sed -n 's/^\#define FER_VERSION "\(.*\)"/\1/p' include/fer.h)
SOMAJOR := $(firstword $(subst ., ,$(FER_VERSION)))

# the share folder is compiled into paths.c: rebuilt when PREFIX changes
$(BUILD)/share_dir.stamp: FORCE
	@mkdir -p $(dir $@)
	@echo '$(SHAREDIR)' | cmp -s - $@ || echo '$(SHAREDIR)' > $@
$(BUILD)/src/data/paths.o $(BUILD)/pic/src/data/paths.o: $(BUILD)/share_dir.stamp
$(BUILD)/src/data/paths.o $(BUILD)/pic/src/data/paths.o: ALL_CFLAGS += -DFER_SHARE_DIR='"$(SHAREDIR)"'

# ---- the shared library: position-independent objects in $(BUILD)/pic/ -------
PIC_OBJ := $(LIB_SRC:%.c=$(BUILD)/pic/%.o)
$(PIC_OBJ): $(BUILD)/flags.stamp
$(BUILD)/pic/src/kernels/avx2/%.o: ISA_FLAGS = $(AVX2_FLAGS)
$(BUILD)/pic/src/vision/haar_avx2.o: ISA_FLAGS = $(AVX2_FLAGS)
$(BUILD)/pic/src/kernels/avx512/%.o: ISA_FLAGS = $(AVX512_FLAGS)
$(BUILD)/pic/src/kernels/avx512/gemm_bf16.o: ISA_FLAGS = $(AVX512BF16_FLAGS)
$(BUILD)/pic/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(ISA_FLAGS) -fPIC -MMD -c -o $@ $<

# the static stb archive's symbols stay inside libfer.so
EXCLUDE_LIBS := -Wl,--exclude-libs,ALL
# exports exactly the functions include/fer.h declares
$(BUILD)/libfer.map: include/fer.h
	@mkdir -p $(dir $@)
	{ echo '{ global:'; sed -n 's/^[a-z].*[ *]\(fer_[a-z0-9_]*\)(.*/    \1;/p' include/fer.h; echo '  local: *; };'; } > $@

libfer.so: $(PIC_OBJ) $(BUILD)/libfer.map
	$(CC) -shared -o $@ -Wl,-soname,libfer.so.$(SOMAJOR) -Wl,--version-script=$(BUILD)/libfer.map $(PIC_OBJ) \
		$(EXCLUDE_LIBS) $(LDLIBS)

fer.pc: Makefile include/fer.h $(BUILD)/flags.stamp
	{ echo 'prefix=$(PREFIX)'; echo 'exec_prefix=$${prefix}'; echo 'libdir=$(LIBDIR)'; \
	  echo 'includedir=$(INCLUDEDIR)'; echo; echo 'Name: fer'; \
	  echo 'Description: facial-expression recognition: Darknet-style networks, faces and emotions'; \
	  echo 'Version: $(FER_VERSION)'; echo 'Cflags: -I$${includedir}'; echo 'Libs: -L$${libdir} -lfer'; \
	  echo 'Libs.private: $(if $(filter 1,$(STB)),-lstb )-lm -pthread'; } > $@

-include $(PIC_OBJ:.o=.d)

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d)

# ---- tests ---------------------------------------------------------------
# tests/unit/test_*.c: the unit tests; tests/tools/tool_*.c: programs the
# end-to-end tests drive; tests/bench/tool_*.c: benchmark programs. Every
# binary lands in $(BUILD)/tests/ under its own name.
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
TOOL_SRC := $(wildcard tests/tools/tool_*.c tests/bench/tool_*.c)
TOOL_BIN := $(patsubst %.c,$(BUILD)/tests/%,$(notdir $(TOOL_SRC)))

$(BUILD)/tests/test_%: tests/unit/test_%.c tests/unit/check.h $(INTERNAL_LIB) $(BUILD)/flags.stamp
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests/unit -o $@ $< $(INTERNAL_LIB) $(LDLIBS)

$(BUILD)/tests/tool_%: tests/tools/tool_%.c $(INTERNAL_LIB) $(BUILD)/flags.stamp
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests/unit -o $@ $< $(INTERNAL_LIB) $(LDLIBS)

$(BUILD)/tests/tool_%: tests/bench/tool_%.c $(INTERNAL_LIB) $(BUILD)/flags.stamp
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests/unit -o $@ $< $(INTERNAL_LIB) $(LDLIBS)

check: all $(UNIT_BIN) $(TOOL_BIN)
	@FER=./fer BUILD=$(BUILD) TIER=check sh tests/run.sh

test: all $(UNIT_BIN) $(TOOL_BIN) fuzz-replay
	@FER=./fer BUILD=$(BUILD) sh tests/run.sh

# Everything sanitized lives in build-asan/ (objects, the archive, fer,
# tests): ./fer and ./libfer.a stay the normal build.
test-asan: SAN = -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
test-asan:
	$(MAKE) BUILD=build-asan CFLAGS="$(SAN)" build-asan/libfer_internal.a \
		$(CLI_SRC:%.c=build-asan/%.o) $(UNIT_BIN:$(BUILD)/%=build-asan/%) $(TOOL_BIN:$(BUILD)/%=build-asan/%) \
		$(FUZZ_BIN:$(BUILD)/%=build-asan/%)
	$(CC) $(ALL_CFLAGS) $(SAN) -o build-asan/fer $(CLI_SRC:%.c=build-asan/%.o) build-asan/libfer_internal.a $(LDLIBS)
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 sh tests/asan.sh build-asan

# ---- fuzzing ---------------------------------------------------------------
# tests/fuzz/fuzz_<surface>.c: one libFuzzer harness per input surface
# (tests/fuzz/README.md). `make test` builds each with tests/fuzz/replay.c
# as $(BUILD)/tests/fuzz_<surface>, which replays the seed corpus and the
# crashers (tests/e2e/e2e_fuzz_replay.sh; tests/asan.sh under ASan).
# `make fuzz [FUZZ_SECONDS=60] [FUZZ_MERGE=1]` builds them with clang's
# libFuzzer, ASan and UBSan in build-fuzz/ and runs each for FUZZ_SECONDS
# (tests/fuzz/run.sh; skipped with a message when clang or its fuzzer
# runtime is absent).
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/tests/%)
FUZZ_SECONDS ?= 60
# -Wno-psabi: clang notes that haar_scan.h's static vector helpers would pass AVX
# vectors differently across files; they never cross one
FUZZ_SAN = -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all -Wno-psabi

fuzz-replay: $(FUZZ_BIN)

$(BUILD)/tests/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h tests/fuzz/replay.c $(INTERNAL_LIB) $(BUILD)/flags.stamp
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< tests/fuzz/replay.c $(INTERNAL_LIB) $(LDLIBS)

# the library with coverage instrumentation, the harnesses with libFuzzer's main
fuzz-build:
	$(MAKE) BUILD=build-fuzz CC=clang CFLAGS="$(FUZZ_SAN) -fsanitize=fuzzer-no-link" build-fuzz/libfer_internal.a \
		$(FUZZ_SRC:tests/fuzz/%.c=build-fuzz/fuzz/%)

build-fuzz/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h build-fuzz/libfer_internal.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -fsanitize=fuzzer -o $@ $< build-fuzz/libfer_internal.a $(LDLIBS)

fuzz:
	@FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_MERGE=$(FUZZ_MERGE) MAKE="$(MAKE)" sh tests/fuzz/run.sh

.PHONY: fuzz fuzz-build fuzz-replay

bench: fer
	sh tests/bench/bench.sh

# ---- install ----------------------------------------------------------------
SHARE_FILES := $(wildcard cfg/*.cfg cfg/README.md weights/*.weights weights/README.md data/*.data data/*.labels \
	data/samples/*.jpg)
install: all fer.pc
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(PKGCONFIGDIR) \
		$(DESTDIR)$(PYTHONDIR)/fer $(addprefix $(DESTDIR)$(SHAREDIR)/,cfg weights data data/samples)
	install -m 755 fer $(DESTDIR)$(BINDIR)/fer
	install -m 644 include/fer.h $(DESTDIR)$(INCLUDEDIR)/fer.h
	install -m 644 libfer.a $(DESTDIR)$(LIBDIR)/libfer.a
	install -m 755 libfer.so $(DESTDIR)$(LIBDIR)/libfer.so.$(FER_VERSION)
	ln -sf libfer.so.$(FER_VERSION) $(DESTDIR)$(LIBDIR)/libfer.so.$(SOMAJOR)
	ln -sf libfer.so.$(SOMAJOR) $(DESTDIR)$(LIBDIR)/libfer.so
	install -m 644 fer.pc $(DESTDIR)$(PKGCONFIGDIR)/fer.pc
	for f in $(SHARE_FILES); do install -m 644 $$f $(DESTDIR)$(SHAREDIR)/$$f || exit 1; done
	sed 's|^_LIBDIR = .*|_LIBDIR = "$(LIBDIR)"|' src/python/fer/__init__.py > $(DESTDIR)$(PYTHONDIR)/fer/__init__.py
	@echo "installed fer $(FER_VERSION) under $(DESTDIR)$(PREFIX)"

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/fer $(DESTDIR)$(INCLUDEDIR)/fer.h $(DESTDIR)$(LIBDIR)/libfer.a \
		$(DESTDIR)$(LIBDIR)/libfer.so $(DESTDIR)$(LIBDIR)/libfer.so.$(SOMAJOR) \
		$(DESTDIR)$(LIBDIR)/libfer.so.$(FER_VERSION) $(DESTDIR)$(PKGCONFIGDIR)/fer.pc \
		$(DESTDIR)$(PYTHONDIR)/fer/__init__.py $(addprefix $(DESTDIR)$(SHAREDIR)/,$(SHARE_FILES))
	rm -rf $(DESTDIR)$(PYTHONDIR)/fer/__pycache__
	-rmdir $(DESTDIR)$(PYTHONDIR)/fer $(addprefix $(DESTDIR)$(SHAREDIR)/,data/samples data weights cfg) \
		$(DESTDIR)$(SHAREDIR) 2> /dev/null

clean:
	rm -rf build build-asan build-fuzz build-mpi fer libfer.a libfer.so fer.pc examples/embed

FORCE:
.PHONY: all check test test-asan bench clean install uninstall FORCE
