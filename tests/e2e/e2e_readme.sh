#!/bin/sh
# e2e_readme.sh - README's first code block, as a newcomer runs it: in a
# fresh clone of this repository placed where no ../shared is beside it
# (so nothing of FER-2013 is at hand), every line but the apt-get one, run
# verbatim; then the files it promises exist (faces.png). Needs git; the
# clone builds from scratch (about 2-3 minutes on 2 cores).
. tests/e2e/lib.sh
command -v git > /dev/null || skip "git is absent"
why=$(photo_faces_missing)
[ -z "$why" ] || skip "README's first block finds faces on a photo, and here $why"
repo=$(pwd)
work=$(mktemp -d /tmp/fer-readme.XXXXXX)
trap 'rm -rf "$work"' EXIT
git clone -q "$repo" "$work/fer" 2> /dev/null || fail "git clone"
# the working tree's README and sources, uncommitted edits included
git ls-files -z | xargs -0 -I{} cp --parents {} "$work/fer/" 2> /dev/null
[ ! -e "$work/shared" ] || fail "$work/shared exists"
awk '/^```sh$/ { if (!done) { on = 1; next } } /^```$/ { if (on) { on = 0; done = 1 } } on' README.md > "$work/block.sh"
[ -s "$work/block.sh" ] || fail "README has no first \`\`\`sh block"
grep -v 'apt-get' "$work/block.sh" > "$work/run.sh"
echo "README's first block (apt-get skipped):"; sed 's/^/    /' "$work/run.sh"
( cd "$work/fer" && sh -e "$work/run.sh" ) > "$work/out.txt" 2>&1 || { tail -n 20 "$work/out.txt"; fail "the README block failed"; }
[ -s "$work/fer/faces.png" ] || fail "no faces.png"
grep -q "2 faces\|face 1 at" "$work/out.txt" || { tail -n 20 "$work/out.txt"; fail "predict found no face"; }
grep -q "tests: [0-9]* passed, 0 failed" "$work/out.txt" || fail "make check did not pass"
ok "README's first code block runs verbatim in a fresh clone without ../shared ($(grep -c . "$work/run.sh") commands)"
echo "$pass passed"
