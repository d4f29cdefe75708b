# fer - build, test and benchmark.
#   make            ./fer and libfer.a
#   make test       the whole test suite (non-zero exit on any failure)
#   make test-asan  the parser corpus and unit tests under ASan/UBSan
#   make bench      ./fer bench over the zoo's cfgs
# STB=1/0 forces JPEG/PNG decoding through Debian's libstb-dev (auto-detected).

CC ?= cc
OPT ?= -O3
CFLAGS ?= $(OPT) -g
# -fno-math-errno: fer never reads errno after libm calls, and with it GCC
# may inline and vectorize sqrtf (the Adam update, batch norm)
ALL_CFLAGS = -std=c11 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Wshadow -fno-math-errno -Iinclude -Isrc -pthread $(CFLAGS)
LDLIBS = -lm -pthread
ARCH := $(shell $(CC) -dumpmachine)

ifeq ($(origin STB), undefined)
STB := $(shell test -f /usr/include/stb/stb_image.h && echo 1 || echo 0)
endif
ifeq ($(STB),1)
ALL_CFLAGS += -DFER_STB -I/usr/include/stb
STBLIB := $(firstword $(wildcard /usr/lib/*/libstb.a /usr/lib/libstb.a))
LDLIBS := $(if $(STBLIB),$(STBLIB),-lstb) $(LDLIBS)
endif

LIB_SRC := $(wildcard src/*.c src/layers/*.c src/kernels/*.c) src/kernels/scalar/gemm_scalar.c
ifneq (,$(findstring x86_64,$(ARCH)))
LIB_SRC += $(wildcard src/kernels/avx2/*.c src/kernels/avx512/*.c)
endif
CLI_SRC := $(wildcard examples/cmd_*.c) examples/cli.c examples/main.c

BUILD ?= build
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ := $(CLI_SRC:%.c=$(BUILD)/%.o)

AVX2_FLAGS = -mavx2 -mfma -mf16c
AVX512_FLAGS = -mavx512f -mavx512bw -mavx512vl -mavx512dq -mfma -mf16c
# only the BF16 GEMM may contain vdpbf16ps: the fp32 avx512 kernels must also
# run on AVX-512 CPUs without AVX512_BF16 (dispatch.c checks before calling it)
AVX512BF16_FLAGS = $(AVX512_FLAGS) -mavx512bf16

all: fer libfer.a examples/embed

fer: $(CLI_OBJ) libfer.a
	$(CC) $(ALL_CFLAGS) -o $@ $(CLI_OBJ) libfer.a $(LDLIBS)

libfer.a: $(LIB_OBJ)
	rm -f $@
	ar rcs $@ $^

examples/embed: examples/embed.c libfer.a
	$(CC) $(ALL_CFLAGS) -o $@ $< libfer.a $(LDLIBS)

$(BUILD)/src/kernels/avx2/%.o: src/kernels/avx2/%.c
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

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d)

# ---- tests ---------------------------------------------------------------
TEST_SRC := $(wildcard tests/test_*.c)
TEST_BIN := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
# helper programs that tests drive (not run by themselves)
TOOL_SRC := $(wildcard tests/tool_*.c)
TOOL_BIN := $(TOOL_SRC:tests/%.c=$(BUILD)/tests/%)

$(BUILD)/tests/%: tests/%.c tests/check.h libfer.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests -o $@ $< libfer.a $(LDLIBS)

test: all $(TEST_BIN) $(TOOL_BIN)
	@FER=./fer BUILD=$(BUILD) sh tests/run.sh

# Everything sanitized lives in build-asan/ (objects, libfer.a, fer, tests):
# ./fer and ./libfer.a stay the normal build.
test-asan: SAN = -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
test-asan: ASAN_TESTS = test_cfg_corpus test_gradcheck test_infer test_train test_ensemble test_weights tool_randweights test_y4m test_jpeg test_haar test_http tool_mkclip
test-asan:
	$(MAKE) BUILD=build-asan CFLAGS="$(SAN)" $(LIB_SRC:%.c=build-asan/%.o) $(CLI_SRC:%.c=build-asan/%.o)
	rm -f build-asan/libfer.a
	ar rcs build-asan/libfer.a $(LIB_SRC:%.c=build-asan/%.o)
	$(CC) $(ALL_CFLAGS) $(SAN) -o build-asan/fer $(CLI_SRC:%.c=build-asan/%.o) build-asan/libfer.a $(LDLIBS)
	@mkdir -p build-asan/tests
	for t in $(ASAN_TESTS); do \
		$(CC) $(ALL_CFLAGS) $(SAN) -Itests -o build-asan/tests/$$t tests/$$t.c build-asan/libfer.a $(LDLIBS) || exit 1; \
	done
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 sh tests/asan.sh build-asan

bench: fer
	sh tests/bench.sh

clean:
	rm -rf build build-asan fer libfer.a examples/embed

.PHONY: all test test-asan bench clean
