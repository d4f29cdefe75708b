#!/bin/sh
# e2e_zoo_params.sh - the model zoo's parameter counts against an independent
# PyTorch reference (tests/ref/zoo_params_torch.py: torch.nn modules written from
# the papers, not from the cfgs): for every cfg in cfg/README.md's zoo, the
# trainable parameters and batch-norm statistics `fer net` prints must equal
# the reference's, up to the difference the cfg header documents (PyTorch's
# bias before batch norm; mini-Xception's depthwise biases), and one forward
# pass at the cfg's input size must give 7 outputs. The reference modules
# also reproduce torchvision's and Keras' published ImageNet totals.
# Exits 77 (SKIP) without "$PY" or its torch module.
. tests/e2e/lib.sh
if [ ! -x "$PY" ]; then
    echo "SKIP: $PY not found (the parameter-count reference needs Debian's python3-torch)"
    exit 77
fi
if ! "$PY" -c 'import torch' 2>/dev/null; then
    echo "SKIP: $PY has no torch module (apt-get install python3-torch)"
    exit 77
fi
if [ ! -x "$FER" ]; then
    echo "$FER not built (make)"
    exit 1
fi
nice "$PY" tests/ref/zoo_params_torch.py "$FER"
