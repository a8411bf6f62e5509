#include <tesseract/capi.h>

/* Leptonica, which Tesseract draws with, prints its warnings to stderr unless given a handler
 * (allheaders.h is not included: it is large and not needed for one function). */
extern void leptSetStderrHandler(void (*handler)(const char *));

/* One of Leptonica's own functions, which reports a missing box through that handler; the test
 * that proves the handler catches Leptonica's messages calls it with none. */
extern void *boxClipToRectangle(void *box, int wi, int hi);
