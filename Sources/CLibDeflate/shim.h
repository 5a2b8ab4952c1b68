#ifndef DPPSYNC_CLIBDEFLATE_SHIM_H
#define DPPSYNC_CLIBDEFLATE_SHIM_H

#include <libdeflate.h>

#endif
