#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <libv4l2.h>
#include <linux/videodev2.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

/* The ioctl numbers and fourccs are function-like macros, which Swift cannot import. */
static const unsigned long VISOR_VIDIOC_QUERYCAP = VIDIOC_QUERYCAP;
static const unsigned long VISOR_VIDIOC_ENUM_FMT = VIDIOC_ENUM_FMT;
static const unsigned long VISOR_VIDIOC_G_FMT = VIDIOC_G_FMT;
static const unsigned long VISOR_VIDIOC_S_FMT = VIDIOC_S_FMT;
static const unsigned long VISOR_VIDIOC_TRY_FMT = VIDIOC_TRY_FMT;
static const unsigned long VISOR_VIDIOC_ENUM_FRAMESIZES = VIDIOC_ENUM_FRAMESIZES;
static const unsigned long VISOR_VIDIOC_ENUM_FRAMEINTERVALS = VIDIOC_ENUM_FRAMEINTERVALS;
static const unsigned long VISOR_VIDIOC_G_PARM = VIDIOC_G_PARM;
static const unsigned long VISOR_VIDIOC_S_PARM = VIDIOC_S_PARM;
static const unsigned long VISOR_VIDIOC_ENUMINPUT = VIDIOC_ENUMINPUT;
static const unsigned long VISOR_VIDIOC_G_INPUT = VIDIOC_G_INPUT;
static const unsigned long VISOR_VIDIOC_S_INPUT = VIDIOC_S_INPUT;
static const unsigned long VISOR_VIDIOC_REQBUFS = VIDIOC_REQBUFS;
static const unsigned long VISOR_VIDIOC_QUERYBUF = VIDIOC_QUERYBUF;
static const unsigned long VISOR_VIDIOC_QBUF = VIDIOC_QBUF;
static const unsigned long VISOR_VIDIOC_DQBUF = VIDIOC_DQBUF;
static const unsigned long VISOR_VIDIOC_STREAMON = VIDIOC_STREAMON;
static const unsigned long VISOR_VIDIOC_STREAMOFF = VIDIOC_STREAMOFF;
static const unsigned long VISOR_VIDIOC_ENUMSTD = VIDIOC_ENUMSTD;
static const unsigned long VISOR_VIDIOC_G_STD = VIDIOC_G_STD;
static const unsigned long VISOR_VIDIOC_QUERYCTRL = VIDIOC_QUERYCTRL;
static const unsigned long VISOR_VIDIOC_G_CTRL = VIDIOC_G_CTRL;
static const unsigned long VISOR_VIDIOC_ENUMAUDIO = VIDIOC_ENUMAUDIO;
static const unsigned long VISOR_VIDIOC_G_PRIORITY = VIDIOC_G_PRIORITY;
static const unsigned long VISOR_VIDIOC_S_PRIORITY = VIDIOC_S_PRIORITY;
static const unsigned long VISOR_VIDIOC_LOG_STATUS = VIDIOC_LOG_STATUS;
static const unsigned long VISOR_VIDIOC_CREATE_BUFS = VIDIOC_CREATE_BUFS;
static const unsigned long VISOR_VIDIOC_EXPBUF = VIDIOC_EXPBUF;
static const unsigned long VISOR_VIDIOC_QUERY_EXT_CTRL = VIDIOC_QUERY_EXT_CTRL;
static const unsigned long VISOR_VIDIOC_G_SELECTION = VIDIOC_G_SELECTION;
static const unsigned long VISOR_VIDIOC_CROPCAP = VIDIOC_CROPCAP;
static const unsigned int VISOR_PIX_FMT_YUYV = V4L2_PIX_FMT_YUYV;
static const unsigned int VISOR_PIX_FMT_MJPEG = V4L2_PIX_FMT_MJPEG;
static const unsigned int VISOR_PIX_FMT_RGB24 = V4L2_PIX_FMT_RGB24;
static const unsigned int VISOR_PIX_FMT_UYVY = V4L2_PIX_FMT_UYVY;

/* v4l2_open and v4l2_ioctl are variadic. */
static inline int visor_v4l2_open(const char *path, int flags) { return v4l2_open(path, flags); }
static inline int visor_v4l2_ioctl(int fd, unsigned long request, void *arg) { return v4l2_ioctl(fd, request, arg); }
static inline int visor_ioctl(int fd, unsigned long request, void *arg) { return ioctl(fd, request, arg); }

