#ifndef DPPSYNC_CSQLITESETUP_H
#define DPPSYNC_CSQLITESETUP_H

/// Configures the SQLite library for this process, before its first connection opens:
/// multi-thread mode (connections take no mutex of their own; GRDB already gives each
/// connection one thread at a time) and no memory statistics (a global mutex taken on
/// every allocation). `sqlite3_config` is variadic, which Swift cannot call; hence C.
/// Returns SQLITE_OK, or SQLITE_MISUSE when SQLite was already initialised (nothing changes).
int dppsync_sqlite_setup(void);

#endif
