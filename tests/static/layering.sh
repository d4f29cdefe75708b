#!/bin/sh
# layering.sh - includes point down only. The folders of src/ are the layers
# of fer's architecture, in this order (a file may include headers of its own
# layer and of the layers before it, never of one after it):
#
#   kernels < engine < codecs < layers < data < train < analysis < vision < api < examples
#
# kernels: compute kernels per ISA; engine: cfg, network, weights, context;
# codecs: PNG/JPEG/Y4M/XML/drawing/text; layers: one file per layer type;
# data: .data files, datasets, images, augmentation; train: the training
# loop; analysis: ensembles, explanations, charts; vision: faces, video,
# HTTP, the demo; api: include/fer.h's entry points; examples: the CLI.
# include/fer.h is the public contract and may be included from anywhere.
# Usage: sh tests/static/layering.sh [ROOT] (default: the current folder).
ROOT=${1:-.}
ORDER="kernels engine codecs layers data train analysis vision api examples"
rank() {   # rank LAYER: its position in ORDER, or nothing
    i=0
    for l in $ORDER; do
        [ "$l" = "$1" ] && { echo $i; return; }
        i=$((i + 1))
    done
}
bad=0; n=0
cd "$ROOT" || exit 1
for f in $(find src examples -name '*.[ch]' | sort); do
    case "$f" in
        examples/*) own=examples ;;
        *) own=$(echo "$f" | cut -d/ -f2) ;;
    esac
    own_rank=$(rank "$own")
    if [ -z "$own_rank" ]; then
        echo "layering: $f is in folder '$own', which is not a layer ($ORDER)"
        bad=$((bad + 1)); continue
    fi
    dir=$(dirname "$f")
    for inc in $(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f"); do
        n=$((n + 1))
        if [ -f "$dir/$inc" ]; then
            target=$(cd "$(dirname "$dir/$inc")" && pwd -P)
        elif [ -f "src/$inc" ]; then
            target=$(cd "$(dirname "src/$inc")" && pwd -P)
        elif [ -f "include/$inc" ]; then
            continue
        else
            echo "layering: $f includes \"$inc\", which is not a file of src/ or include/"
            bad=$((bad + 1)); continue
        fi
        case "$target" in
            */examples) layer=examples ;;
            */src/*) layer=$(echo "${target##*/src/}" | cut -d/ -f1) ;;
            *) echo "layering: $f includes \"$inc\" from outside src/"; bad=$((bad + 1)); continue ;;
        esac
        r=$(rank "$layer")
        if [ -z "$r" ] || [ "$r" -gt "$own_rank" ]; then
            echo "layering: $f ($own) includes \"$inc\" from $layer, a higher layer"
            bad=$((bad + 1))
        fi
    done
done
loose=$(find src -maxdepth 1 -name '*.c')
if [ -n "$loose" ]; then
    echo "layering: .c files loose in src/ (each belongs to a layer's folder): $loose"
    bad=$((bad + 1))
fi
if [ $bad -ne 0 ]; then
    echo "layering: $bad violation(s) in $n includes"
    exit 1
fi
echo "layering: $n includes, all pointing down"
