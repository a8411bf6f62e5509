#include <tesseract/capi.h>

/* Leptonica, which Tesseract draws with, prints its warnings to stderr unless given a handler
 * (allheaders.h is not included: it is large and not needed for one function). */
extern void leptSetStderrHandler(void (*handler)(const char *));
