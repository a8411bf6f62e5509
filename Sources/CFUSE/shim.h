#define FUSE_USE_VERSION 35
#include <fuse3/fuse_lowlevel.h>
#include <sys/stat.h>
#include <poll.h>

static const unsigned int VISOR_FUSE_IOCTL_COMPAT = FUSE_IOCTL_COMPAT;
static inline unsigned int visor_ioc_size(unsigned int cmd) { return (cmd >> 16) & 0x3fff; }
static inline unsigned int visor_ioc_dir(unsigned int cmd) { return cmd >> 30; }
