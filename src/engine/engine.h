/* engine.h - the engine (src/engine/), all of it: errors, allocation, cfg, activations, the layer header,
 * the network, and the execution context (threads, RNG, kernel table).
 *
 * Tensors are float32, NCHW, batch-major: a buffer of shape [batch, c, h, w]
 * holds sample b, channel k, row y, column x at ((b*c + k)*h + y)*w + x.
 *
 * Gradients are true gradients: `dX` is dLoss/dX (Darknet stores the negated
 * delta; fer does not). Backward passes ACCUMULATE into input gradients and
 * parameter gradients, so callers zero them first; this makes multi-consumer
 * outputs (route, shortcut) and gradient accumulation (subdivisions) free. */
#ifndef FER_ENGINE_H
#define FER_ENGINE_H

#include "activation.h"
#include "cfg.h"
#include "context.h"
#include "layer.h"
#include "network.h"
#include "util.h"
#include "weights.h"

#endif
