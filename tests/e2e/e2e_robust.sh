#!/bin/sh
# e2e_robust.sh - regression tests for what fuzzing found (each failed before
# its fix), through the real command line, every run bounded by `timeout`:
#   1. CSV files ending in a lone CR, or with a NUL after a CR, are errors
#      (they used to spin forever); CR-only line endings and a UTF-8 BOM load;
#   2. finite but huge weights (+-3e38, a net without batch norm) make every output NaN: predict,
#      predict -json and valid fail naming the first non-finite layer, and
#      never print NaN;
#   3. a PNG that claims 16384x16384 is refused from its header, fast and
#      small; -max-pixels raises the budget;
#   4. a NUL byte in an HTTP header name gets 400 (tests/unit/test_http.c);
#   5. data stats with missing data exits non-zero; demo -i clip.mp4 names
#      the ffmpeg pipe;
#   6. Haar detection with -neighbors 0 and nothing found is clean under
#      UBSan (tests/asan.sh runs it in the sanitized build).
. tests/e2e/lib.sh
out=tests/out/e2e_robust
rm -rf $out && mkdir -p $out
command -v timeout > /dev/null || skip "timeout (coreutils) is absent"
printf 'angry\nhappy\n' > $out/labels.txt
data() {   # data NAME CSV: a .data whose splits all read CSV
    printf 'classes = 2\nlabels = %s\ntrain = %s\nvalid = %s\ntrain_usage = Training\nvalid_usage = Training\n' \
        $out/labels.txt "$2" "$2" > $out/$1.data
}
row() { awk -v l=$1 'BEGIN { printf "%d,", l; for (i = 0; i < 2304; i++) printf "%s%d", i ? " " : "", (i * 7 + l * 50) % 256; printf ",Training" }'; }

# 1. CSV line endings
printf 'emotion,pixels,Usage\n\r' > $out/lone_cr.csv
printf 'emotion,pixels,Usage\n%s\r\000%s\n' "$(row 0)" "$(row 1)" > $out/nul.csv
printf 'emotion,pixels,Usage\r%s\r%s\r' "$(row 0)" "$(row 1)" > $out/cr_only.csv
printf '\357\273\277emotion,pixels,Usage\n%s\n%s\n' "$(row 0)" "$(row 1)" > $out/bom.csv
for f in lone_cr nul cr_only bom; do data $f $out/$f.csv; done
timeout 300 $FER data stats $out/lone_cr.data > $out/lone_cr.txt 2>&1
rc=$?
[ $rc -ne 124 ] || fail "data stats hangs on a CSV ending in a lone CR"
grep -q "train .*not available: .*no images" $out/lone_cr.txt || { cat $out/lone_cr.txt; fail "lone CR: expected 'no images'"; }
ok "a CSV ending in a lone CR is read to its end (no images), exit $rc"
timeout 300 $FER data stats $out/nul.data > $out/nul.txt 2>&1
[ $? -ne 124 ] || fail "data stats hangs on a NUL after a CR"
grep -q "byte offset [0-9]*: a NUL byte" $out/nul.txt || { cat $out/nul.txt; fail "NUL: expected the offset named"; }
ok "a NUL byte in a CSV is an error naming its offset"
timeout 300 $FER data stats $out/cr_only.data > $out/cr_only.txt 2>&1 || { cat $out/cr_only.txt; fail "CR-only CSV"; }
grep -Eq '^train +total +2' $out/cr_only.txt || { cat $out/cr_only.txt; fail "CR-only: expected 2 images"; }
ok "CR-only line endings load (2 images)"
timeout 300 $FER data stats $out/bom.data > $out/bom.txt 2>&1 || { cat $out/bom.txt; fail "BOM CSV"; }
grep -Eq '^train +total +2' $out/bom.txt || { cat $out/bom.txt; fail "BOM: expected 2 images"; }
ok "a CSV with a UTF-8 byte-order mark loads (2 images)"

# 2. huge finite weights: NaN outputs are errors, never printed
printf '[net]\nwidth=48\nheight=48\nchannels=1\n\n[convolutional]\nfilters=4\nsize=3\nstride=2\npad=1\nactivation=relu\n\n[connected]\noutput=2\nactivation=linear\n\n[softmax]\n' > $out/nobn.cfg
$BUILD/tests/tool_randweights $out/nobn.cfg $out/ok.weights 1 > /dev/null || fail "tool_randweights"
[ -x "$PY" ] || skip "$PY is needed to write the huge-weights file"
"$PY" - $out/ok.weights $out/huge.weights <<'PYEOF' || fail "cannot write the huge-weights file"
import struct, sys
b = bytearray(open(sys.argv[1], "rb").read())
major, minor = struct.unpack_from("<ii", b, 0)
hdr = 20 if major * 10 + minor >= 2 else 16
for i in range(hdr, len(b) - 3, 4):
    struct.pack_into("<f", b, i, 3e38 if (i // 4) % 2 else -3e38)
open(sys.argv[2], "wb").write(bytes(b))
PYEOF
data valid $out/bom.csv
printf 'P5\n48 48\n255\n' > $out/face.pgm && head -c 2304 /dev/urandom >> $out/face.pgm
timeout 300 $FER classifier predict $out/valid.data $out/nobn.cfg $out/huge.weights $out/face.pgm -json > $out/nan.json 2> $out/nan.err
rc=$?
[ $rc -ne 0 ] && [ $rc -ne 124 ] || fail "predict -json with NaN outputs exited $rc"
grep -qi nan $out/nan.json && fail "predict -json printed NaN"
grep -q "output is not finite" $out/nan.err || { cat $out/nan.err; fail "predict: expected the non-finite layer named"; }
ok "predict -json fails (exit $rc): $(head -n 1 $out/nan.err)"
timeout 300 $FER classifier valid $out/valid.data $out/nobn.cfg $out/huge.weights > $out/valid.txt 2>&1
rc=$?
[ $rc -ne 0 ] && [ $rc -ne 124 ] || fail "valid with NaN outputs exited $rc"
grep -q "accuracy:" $out/valid.txt && fail "valid printed an accuracy from NaN outputs"
grep -q "output is not finite" $out/valid.txt || { cat $out/valid.txt; fail "valid: expected the non-finite layer named"; }
ok "valid fails (exit $rc), naming the layer"

# 3. a PNG bomb: refused from its header
"$PY" - $out/bomb.png <<'PYEOF' || skip "$PY cannot write the PNG (zlib)"
import struct, sys, zlib
w = h = 16384
row = b"\x00" + b"\x00" * (w * 3)
comp = zlib.compressobj(9)
data = b"".join(comp.compress(row) for _ in range(h)) + comp.flush()
def chunk(t, d):
    return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) + chunk(b"IDAT", data) + chunk(b"IEND", b"")
open(sys.argv[1], "wb").write(png)
PYEOF
if [ -x /usr/bin/time ]; then tm="/usr/bin/time -f %M -o $out/bomb.mem"; else tm=; fi
timeout 300 $tm $FER classifier predict $out/valid.data $out/nobn.cfg $out/ok.weights $out/bomb.png > $out/bomb.txt 2>&1
rc=$?
[ $rc -ne 0 ] && [ $rc -ne 124 ] || fail "the PNG bomb was not refused (exit $rc)"
if grep -q "megapixels, over the limit" $out/bomb.txt; then
    mem=$(tail -n 1 $out/bomb.mem 2> /dev/null)
    [ -z "$mem" ] || [ "$mem" -lt 102400 ] || fail "refusing the bomb took $mem KiB (limit 100 MiB)"
    ok "a 16384x16384 PNG is refused from its header (${mem:-?} KiB peak)"
else
    grep -q "built without stb" $out/bomb.txt || { cat $out/bomb.txt; fail "PNG bomb: unexpected message"; }
    ok "a PNG is refused by a build without stb"
fi
# 4. messages a user can act on
printf 'classes = 2\nlabels = %s\ntrain = %s/nowhere.csv\n' $out/labels.txt $out > $out/missing.data
$FER data stats $out/missing.data > $out/missing.txt 2>&1 && fail "data stats exits 0 when its data is missing"
grep -q "missing" $out/missing.txt || { cat $out/missing.txt; fail "data stats: the missing file is not named"; }
ok "data stats exits non-zero naming the missing data"
: > $out/clip.mp4
$FER demo -i $out/clip.mp4 -nodetect > $out/mp4.txt 2>&1 && fail "demo -i clip.mp4 succeeded"
grep -q "ffmpeg -i .*clip.mp4 -f yuv4mpegpipe" $out/mp4.txt || { cat $out/mp4.txt; fail "demo -i .mp4: no ffmpeg pipe named"; }
ok "demo -i clip.mp4 names the ffmpeg pipe"
echo "$pass passed"
