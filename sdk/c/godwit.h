/* godwit.h: helpers that make a godwit migration in C a few lines, over the bindings
 * wit-bindgen generates from wit/ (migration_component.h). `godwit build` generates them,
 * compiles a migration directory's `.c` files with this file's godwit.c and makes the
 * component.
 *
 * Values passed as parameters are borrowed for the call: gw_text() points at the caller's
 * string, which must live until the call returns. Rows from gw_query() own their memory
 * until gw_rows_free(). On failure every function returns false and gw_error() says why. */
#ifndef GODWIT_H
#define GODWIT_H

#include "migration_component.h"
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef godwit_migration_types_value_t gw_value;
typedef godwit_migration_types_rows_t gw_rows;
typedef migration_component_string_t gw_string;

gw_value gw_null(void);
gw_value gw_int(int64_t value);
gw_value gw_real(double value);
gw_value gw_bool(bool value);
/* A NUL-terminated string, borrowed. */
gw_value gw_text(const char *text);
/* `len` bytes at `text` (no NUL needed), borrowed: a slice of another value, say. */
gw_value gw_text_n(const uint8_t *text, size_t len);

/* The parameters of a call: GW_PARAMS(gw_int(1), gw_text("x")) expands to the array and
 * its length. GW_NO_PARAMS is no parameters. */
#define GW_PARAMS(...) \
  (gw_value[]){__VA_ARGS__}, (sizeof((gw_value[]){__VA_ARGS__}) / sizeof(gw_value))
#define GW_NO_PARAMS NULL, 0

/* Runs one statement; `changed` (may be NULL) gets the rows it changed. */
bool gw_execute(const char *sql, const gw_value *params, size_t count, uint64_t *changed);
/* One statement for many parameter rows of `width` values each, one after another in
 * `params` (`count` values in all): one call for a whole batch. */
bool gw_execute_many(const char *sql, uint32_t width, const gw_value *params, size_t count,
                     uint64_t *changed);
bool gw_query(const char *sql, const gw_value *params, size_t count, gw_rows *rows);
/* The first column of the first row, as an integer. */
bool gw_scalar_int(const char *sql, const gw_value *params, size_t count, int64_t *value);

size_t gw_row_count(const gw_rows *rows);
/* The index of the column named `name`, or -1 (and gw_error() says so). */
int gw_column(const gw_rows *rows, const char *name);
/* The value at `row` of column `column`. */
const gw_value *gw_at(const gw_rows *rows, size_t row, int column);
void gw_rows_free(gw_rows *rows);

/* Whether the host runs PostgreSQL (else SQLite). */
bool gw_postgres(void);

void gw_log(godwit_migration_log_level_t level, const char *format, ...);
#define GW_INFO GODWIT_MIGRATION_LOG_LEVEL_INFO
#define GW_WARN GODWIT_MIGRATION_LOG_LEVEL_WARN

/* The last error, like "SQLITE_CONSTRAINT: UNIQUE constraint failed: t.x". */
const char *gw_error(void);
/* Fills an export's error with a formatted message and returns false, for
 * `return gw_fail(err, "...", ...);`. */
bool gw_fail(gw_string *err, const char *format, ...);
/* Fills an export's error with gw_error() and returns false. */
bool gw_failed(gw_string *err);

/* What a migration implements; `migration.c`-style apps define these four and godwit.c
 * turns them into the component's exports. `transform` may be NULL when not batched. */
typedef struct gw_migration {
  const char *description;
  bool reversible;
  bool (*up)(gw_string *err);
  bool (*down)(gw_string *err);
  /* `cursor` is NULL on the first batch; set `next_cursor` (NUL-terminated, copied) or leave
   * it NULL when done; `processed` is the rows this batch did, `estimated_total` (or -1)
   * the guess of all rows. */
  bool (*transform)(const char *cursor, uint32_t batch_size, char *next_cursor,
                    size_t next_cursor_size, uint64_t *processed, int64_t *estimated_total,
                    gw_string *err);
  /* How godwit should run it, all optional: queue the transform for `godwit transforms run`
   * instead of running it inside `godwit up`; a batch target in milliseconds and batch size
   * bounds in rows (0: the run's setting); the batched migrations ("0007", or file names)
   * whose transforms must be finished first, as a NULL-terminated array. */
  bool defer_transform;
  uint32_t batch_target_ms;
  uint32_t batch_min;
  uint32_t batch_max;
  const char *const *requires;
} gw_migration;

/* The app's migration, defined once with GW_MIGRATION(...). */
extern const gw_migration gw_this_migration;
#define GW_MIGRATION(...) const gw_migration gw_this_migration = {__VA_ARGS__}

#endif
