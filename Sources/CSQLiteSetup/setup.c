#include "CSQLiteSetup.h"
#include <sqlite3.h>

int dppsync_sqlite_setup(void) {
    int rc = sqlite3_config(SQLITE_CONFIG_MULTITHREAD);
    if (rc != SQLITE_OK) return rc;
    return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}
