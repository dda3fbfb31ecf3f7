#include <sqlite3.h>

/// Keeps the write-ahead log when this connection closes, even as the last one (sqlite3_db_config is
/// variadic, which Swift cannot call).
static inline int sluice_sqlite3_keep_log_on_close(sqlite3 *db) {
    return sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, (int *)0);
}
