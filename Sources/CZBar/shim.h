#include <zbar.h>

/* zbar_fourcc is a macro Swift cannot import. */
static const unsigned long VISOR_ZBAR_FOURCC_Y800 = 0x30303859UL;
