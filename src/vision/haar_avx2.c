/* haar_avx2.c - the Haar detector's scan loop (haar_scan.h) compiled for
 * AVX2: the 8-window vectors become single 256-bit operations. */
#include "haar_scan.h"

void haar_scan_band_avx2(void *arg, int band) { scan_band_impl(arg, band); }
