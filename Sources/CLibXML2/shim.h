#ifndef DPPSYNC_CLIBXML2_SHIM_H
#define DPPSYNC_CLIBXML2_SHIM_H

// Debian's libxml2 is built with ICU; its headers then pull in ICU types that clash
// with Foundation's ("'UErrorCode' has different definitions in different modules").
// dppsync never uses libxml2's ICU API, so hide it (DESIGN.md §6).
#include <libxml/xmlversion.h>
#undef LIBXML_ICU_ENABLED

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlreader.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlsave.h>

// `xmlFree` is a global function pointer, which Swift 6 refuses as not concurrency-safe.
static inline void dppsync_xmlFree(void *pointer) { xmlFree(pointer); }

#endif
