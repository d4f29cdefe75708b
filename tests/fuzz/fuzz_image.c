/* fuzz_image.c - fer_image_load on the input as an image file: PGM/PPM
 * (P2, P3, P5, P6) always, PNG/JPEG/BMP/GIF through stb_image when fer is
 * built with FER_STB. A loaded image is also converted to 48x48 gray (the
 * resize every command applies).
 *
 * stb_image is Debian's prebuilt libstb.a, compiled without sanitizers or
 * coverage: the fuzzer is blind inside it and ASan does not see its reads
 * of its own structs (Debian's stb_image reads one element past a table
 * inside its JPEG decoder's struct on some malformed JPEGs; that is not
 * reported here, and is stb's to fix). fer's own code around it is covered.
 *
 * Oracles: a loaded image has sides 1..16384, 1 or 3 channels and pixels
 * in [0,1]; a failure has a message and no pixels. */
#include "fuzz.h"
#include "engine/engine.h"

#include <math.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_write_tmp(data, size);
    fer_image im, gray;
    fer_err e = { { 0 } };
    if (fer_image_load(&im, path, &e)) {
        fuzz_require(e.msg[0] != 0, "fer_image_load failed without a message");
        fuzz_require(im.data == NULL, "a failed fer_image_load kept pixels");
        return 0;
    }
    fuzz_require(im.w >= 1 && im.h >= 1 && im.w <= 16384 && im.h <= 16384 && (im.c == 1 || im.c == 3),
                 "fer_image_load gave an impossible shape");
    size_t n = (size_t)im.w * im.h * im.c;
    for (size_t i = 0; i < n; i++) fuzz_require(im.data[i] >= 0 && im.data[i] <= 1, "a pixel outside [0,1]");
    if (fer_image_convert(&gray, &im, 48, 48, 1, &e) == 0) {
        for (size_t i = 0; i < 48 * 48; i++) fuzz_require(isfinite(gray.data[i]), "a converted pixel is not finite");
        fer_image_free(&gray);
    }
    fer_image_free(&im);
    return 0;
}
