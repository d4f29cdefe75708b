#!/bin/sh
# e2e_install.sh - `make install` as a user does it, into a temporary PREFIX
# from a copy of the repository (so the build here is left alone), then used
# from another folder:
#   - the installed fer finds its default model and labels in
#     PREFIX/share/fer: `fer demo -i` on a sample photo gives the same faces
#     and probabilities as the repository's build;
#   - examples/embed.c compiles with `pkg-config --cflags --libs fer`
#     against the installed files, shared and static, and runs;
#   - `nm -D` on the installed libfer.so shows only fer_ symbols;
#   - the Python module finds two faces on two_people.jpg with the same
#     probabilities as the C program (1e-6);
#   - `make uninstall` removes every installed file (lists compared), with
#     PREFIX and with DESTDIR staging.
. tests/e2e/lib.sh
out=$(pwd)/tests/out/e2e_install
rm -rf $out && mkdir -p $out
command -v pkg-config > /dev/null || skip "pkg-config is absent (apt-get install pkg-config)"
command -v git > /dev/null || skip "git is absent"
PHOTO=$(pwd)/data/samples/two_people.jpg
[ -f "$PHOTO" ] || fail "data/samples/two_people.jpg is missing"
prefix=$out/prefix

# a copy of the tracked files and of the current edits, built and installed
mkdir -p $out/src
git ls-files -z | xargs -0 -I{} cp --parents {} $out/src/ 2> /dev/null || fail "copying the tree"
make -C $out/src -j2 install PREFIX=$prefix > $out/install.log 2>&1 || { tail -n 20 $out/install.log; fail "make install"; }
( cd $prefix && find . \( -type f -o -type l \) | sort ) > $out/installed.txt
for f in ./bin/fer ./include/fer.h ./lib/libfer.a ./lib/libfer.so ./lib/libfer.so.1 ./lib/pkgconfig/fer.pc \
         ./share/fer/cfg/shallow.cfg ./share/fer/weights/shallow.weights ./share/fer/data/fer2013.labels \
         ./share/fer/data/samples/two_people.jpg ./lib/python3/dist-packages/fer/__init__.py; do
    grep -qx "$f" $out/installed.txt || fail "not installed: $f"
done
ok "make install PREFIX=...: $(wc -l < $out/installed.txt) files"

# the installed fer, from another folder, against the repository's build
# (the photo's faces need the Haar cascade and JPEG: else those parts skip)
repo=$(pwd)
why=$(photo_faces_missing)
if [ -n "$why" ]; then
    echo "SKIP (part): the installed demo, embed's run and the Python module find faces on a photo, and here $why"
else
    ( cd / && $prefix/bin/fer demo -i "$PHOTO" -json ) > $out/demo_installed.json 2> $out/demo_installed.err ||
        { cat $out/demo_installed.err; fail "installed fer demo -i from /"; }
    $FER demo -i "$PHOTO" -json > $out/demo_repo.json 2> /dev/null || fail "repository fer demo -i"
    strip() { sed 's/, "ms": {[^}]*}//; s/, "fps": [0-9.]*//' "$1"; }
    [ "$(strip $out/demo_installed.json)" = "$(strip $out/demo_repo.json)" ] ||
        { cat $out/demo_installed.json $out/demo_repo.json; fail "installed and repository demo disagree"; }
    grep -q '"faces": \[{' $out/demo_installed.json || fail "installed demo found no face"
    ok "installed fer demo -i from /: same faces as the repository's build"
fi

# a C program against the installed files, through pkg-config
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
cc -o $out/embed_shared $repo/examples/embed.c $(pkg-config --cflags --libs fer) 2> $out/cc_shared.log ||
    { cat $out/cc_shared.log; fail "embed.c with pkg-config (shared)"; }
cc -o $out/embed_static $repo/examples/embed.c $(pkg-config --cflags fer) $prefix/lib/libfer.a \
    $(pkg-config --static --libs fer | sed 's/-lfer\b//') 2> $out/cc_static.log ||
    { cat $out/cc_static.log; fail "embed.c with pkg-config (static)"; }
ldd $out/embed_static | grep -q libfer && fail "the static embed links libfer.so"
LD_LIBRARY_PATH=$prefix/lib ldd $out/embed_shared | grep -q "$prefix/lib/libfer.so.1" ||
    { ldd $out/embed_shared; fail "the shared embed does not use the installed libfer.so.1"; }
if [ -z "$why" ]; then
    ( cd / && LD_LIBRARY_PATH=$prefix/lib $out/embed_shared "$PHOTO" ) > $out/embed_shared.txt || fail "embed (shared) failed"
    ( cd / && $out/embed_static "$PHOTO" ) > $out/embed_static.txt || fail "embed (static) failed"
    cmp -s $out/embed_shared.txt $out/embed_static.txt || fail "static and shared embed disagree"
    [ "$(grep -c '^face' $out/embed_shared.txt)" -eq 2 ] || { cat $out/embed_shared.txt; fail "embed: expected two faces"; }
    ok "examples/embed.c built with pkg-config, shared and static, from /: two faces, identical"
else
    ok "examples/embed.c built with pkg-config, shared and static (not run: $why)"
fi

others=$(nm -D --defined-only $prefix/lib/libfer.so | awk 'NF >= 3 { print $3 }' | grep -v '^fer_')
[ -z "$others" ] || fail "libfer.so exports names without fer_: $others"
ok "nm -D libfer.so: $(nm -D --defined-only $prefix/lib/libfer.so | grep -c ' fer_') symbols, all fer_"

# the Python module, installed
if [ -x "$PY" ] && [ -z "$why" ]; then
    ( cd / && PYTHONPATH=$prefix/lib/python3/dist-packages "$PY" - "$PHOTO" "$out/embed_shared.txt" ) <<'EOF' ||
import fer, sys
faces = fer.detect_emotions(sys.argv[1])
ref = []
for line in open(sys.argv[2]):
    words = line.split()
    box = [int(v) for v in words[3].split(",")] + [int(v) for v in words[4].rstrip(":").split("x")]
    ref.append((box, {k: float(v) for k, v in (w.split("=") for w in words[6:])}))
assert len(faces) == 2 == len(ref), (faces, ref)
for f, (box, probs) in zip(faces, ref):
    assert f["box"] == box, (f["box"], box)
    for k, p in probs.items():
        assert abs(f["emotions"][k] - p) <= 5e-5, (k, f["emotions"][k], p)   # embed prints 4 decimals
print("python:", fer.version(), [max(f["emotions"], key=f["emotions"].get) for f in faces])
EOF
    fail "the installed Python module"
    ok "installed Python module: two faces, as the C program"
else
    echo "SKIP (part): the Python module is not checked (${why:-$PY is absent})"
fi

# uninstall removes every file
make -C $out/src uninstall PREFIX=$prefix > $out/uninstall.log 2>&1 || fail "make uninstall"
left=$(find $prefix \( -type f -o -type l \) | wc -l)
[ "$left" -eq 0 ] || { find $prefix -type f; fail "make uninstall left $left files"; }
ok "make uninstall removed all $(wc -l < $out/installed.txt) files"

# DESTDIR staging: the same list under DESTDIR/PREFIX, and uninstalled again
make -C $out/src install DESTDIR=$out/stage PREFIX=/usr > $out/stage.log 2>&1 || fail "make install DESTDIR=..."
( cd $out/stage/usr && find . \( -type f -o -type l \) | sort ) > $out/staged.txt
sed 's|/python3/dist-packages|/python3/dist-packages|' $out/installed.txt | cmp -s - $out/staged.txt ||
    { diff $out/installed.txt $out/staged.txt; fail "DESTDIR install differs from the PREFIX one"; }
grep -q "$out/stage" $out/src/fer.pc && fail "fer.pc names the DESTDIR"
make -C $out/src uninstall DESTDIR=$out/stage PREFIX=/usr > $out/unstage.log 2>&1 || fail "make uninstall DESTDIR=..."
[ "$(find $out/stage \( -type f -o -type l \) | wc -l)" -eq 0 ] || fail "make uninstall DESTDIR=... left files"
ok "DESTDIR=... PREFIX=/usr: the same files, all removed again"
echo "$pass passed"
