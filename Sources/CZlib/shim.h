#ifndef DPPSYNC_CZLIB_SHIM_H
#define DPPSYNC_CZLIB_SHIM_H

#include <zlib.h>

#endif
