/* godwit.c: the helpers of godwit.h, and the component's exports, which call the app's
 * gw_this_migration. */
#include "godwit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char last_error[1024];

static void set_error(const char *format, ...) {
  va_list args;
  va_start(args, format);
  vsnprintf(last_error, sizeof last_error, format, args);
  va_end(args);
}

/* Takes a database error from the host: its code and message into gw_error(). */
static bool db_failed(godwit_migration_sql_db_error_t *e) {
  if (e->code.is_some) {
    set_error("%.*s: %.*s", (int)e->code.val.len, (const char *)e->code.val.ptr,
              (int)e->message.len, (const char *)e->message.ptr);
  } else {
    set_error("%.*s", (int)e->message.len, (const char *)e->message.ptr);
  }
  godwit_migration_types_db_error_free(e);
  return false;
}

const char *gw_error(void) { return last_error; }

gw_value gw_null(void) {
  gw_value v = {.tag = GODWIT_MIGRATION_TYPES_VALUE_NULL};
  return v;
}

gw_value gw_int(int64_t value) {
  gw_value v = {.tag = GODWIT_MIGRATION_TYPES_VALUE_INTEGER, .val.integer = value};
  return v;
}

gw_value gw_real(double value) {
  gw_value v = {.tag = GODWIT_MIGRATION_TYPES_VALUE_REAL, .val.real = value};
  return v;
}

gw_value gw_bool(bool value) {
  gw_value v = {.tag = GODWIT_MIGRATION_TYPES_VALUE_BOOLEAN, .val.boolean = value};
  return v;
}

gw_value gw_text_n(const uint8_t *text, size_t len) {
  gw_value v = {.tag = GODWIT_MIGRATION_TYPES_VALUE_TEXT};
  v.val.text.ptr = (uint8_t *)text;
  v.val.text.len = len;
  return v;
}

gw_value gw_text(const char *text) { return gw_text_n((const uint8_t *)text, strlen(text)); }

static gw_string borrowed(const char *text) {
  gw_string s = {(uint8_t *)text, strlen(text)};
  return s;
}

static godwit_migration_sql_list_value_t list(const gw_value *params, size_t count) {
  godwit_migration_sql_list_value_t l = {(gw_value *)params, count};
  return l;
}

bool gw_execute(const char *sql, const gw_value *params, size_t count, uint64_t *changed) {
  gw_string statement = borrowed(sql);
  godwit_migration_sql_list_value_t values = list(params, count);
  uint64_t n = 0;
  godwit_migration_sql_db_error_t e;
  if (!godwit_migration_sql_execute(&statement, &values, &n, &e)) return db_failed(&e);
  if (changed) *changed = n;
  return true;
}

bool gw_execute_many(const char *sql, uint32_t width, const gw_value *params, size_t count,
                     uint64_t *changed) {
  gw_string statement = borrowed(sql);
  godwit_migration_sql_list_value_t values = list(params, count);
  uint64_t n = 0;
  godwit_migration_sql_db_error_t e;
  if (!godwit_migration_sql_execute_many(&statement, width, &values, &n, &e)) return db_failed(&e);
  if (changed) *changed = n;
  return true;
}

bool gw_query(const char *sql, const gw_value *params, size_t count, gw_rows *rows) {
  gw_string statement = borrowed(sql);
  godwit_migration_sql_list_value_t values = list(params, count);
  godwit_migration_sql_db_error_t e;
  if (!godwit_migration_sql_query(&statement, &values, rows, &e)) return db_failed(&e);
  return true;
}

bool gw_scalar_int(const char *sql, const gw_value *params, size_t count, int64_t *value) {
  gw_rows rows;
  if (!gw_query(sql, params, count, &rows)) return false;
  bool ok = gw_row_count(&rows) > 0 &&
            rows.values.ptr[0].tag == GODWIT_MIGRATION_TYPES_VALUE_INTEGER;
  if (ok) {
    *value = rows.values.ptr[0].val.integer;
  } else {
    set_error("`%s` returned no integer", sql);
  }
  gw_rows_free(&rows);
  return ok;
}

size_t gw_row_count(const gw_rows *rows) {
  return rows->columns.len == 0 ? 0 : rows->values.len / rows->columns.len;
}

int gw_column(const gw_rows *rows, const char *name) {
  size_t len = strlen(name);
  for (size_t i = 0; i < rows->columns.len; i++) {
    gw_string c = rows->columns.ptr[i];
    if (c.len == len && memcmp(c.ptr, name, len) == 0) return (int)i;
  }
  set_error("the query has no column `%s`", name);
  return -1;
}

const gw_value *gw_at(const gw_rows *rows, size_t row, int column) {
  return &rows->values.ptr[row * rows->columns.len + (size_t)column];
}

void gw_rows_free(gw_rows *rows) { godwit_migration_types_rows_free(rows); }

bool gw_postgres(void) {
  return godwit_migration_sql_current_dialect() == GODWIT_MIGRATION_TYPES_DIALECT_POSTGRES;
}

void gw_log(godwit_migration_log_level_t level, const char *format, ...) {
  char text[1024];
  va_list args;
  va_start(args, format);
  vsnprintf(text, sizeof text, format, args);
  va_end(args);
  gw_string message = borrowed(text);
  godwit_migration_log_log(level, &message);
}

bool gw_fail(gw_string *err, const char *format, ...) {
  char text[1024];
  va_list args;
  va_start(args, format);
  vsnprintf(text, sizeof text, format, args);
  va_end(args);
  migration_component_string_dup(err, text);
  return false;
}

bool gw_failed(gw_string *err) { return gw_fail(err, "%s", last_error); }

/* The exports. Strings handed to the host are allocated (the bindings free them after the
 * call); the cursor the host passes in is the guest's to free. */

/* Passes the migration's run options to godwit, when it set any. */
static void declare_options(void) {
  const gw_migration *m = &gw_this_migration;
  size_t count = 0;
  while (m->requires && m->requires[count]) count++;
  if (!m->defer_transform && !m->batch_target_ms && !m->batch_min && !m->batch_max && !count) {
    return;
  }
  migration_component_string_t names[count ? count : 1];
  for (size_t i = 0; i < count; i++) migration_component_string_set(&names[i], m->requires[i]);
  godwit_migration_options_run_options_t options = {
      .defer_transform = m->defer_transform,
      .batch_target_ms = {.is_some = m->batch_target_ms != 0, .val = m->batch_target_ms},
      .batch_min = {.is_some = m->batch_min != 0, .val = m->batch_min},
      .batch_max = {.is_some = m->batch_max != 0, .val = m->batch_max},
      .requires_ = {.ptr = names, .len = count},
  };
  godwit_migration_options_declare(&options);
}

void exports_godwit_migration_migration_describe(
    exports_godwit_migration_migration_descriptor_t *ret) {
  declare_options();
  migration_component_string_dup(&ret->description, gw_this_migration.description);
  ret->reversible = gw_this_migration.reversible;
  ret->batched = gw_this_migration.transform != NULL;
}

bool exports_godwit_migration_migration_up(gw_string *err) { return gw_this_migration.up(err); }

bool exports_godwit_migration_migration_down(gw_string *err) {
  if (!gw_this_migration.reversible || !gw_this_migration.down) {
    return gw_fail(err, "this migration cannot be reverted");
  }
  return gw_this_migration.down(err);
}

bool exports_godwit_migration_migration_transform(
    gw_string *maybe_cursor, uint32_t batch_size,
    exports_godwit_migration_migration_batch_progress_t *ret, gw_string *err) {
  char *cursor = NULL;
  if (maybe_cursor) {
    cursor = malloc(maybe_cursor->len + 1);
    if (!cursor) return gw_fail(err, "out of memory");
    memcpy(cursor, maybe_cursor->ptr, maybe_cursor->len);
    cursor[maybe_cursor->len] = '\0';
    migration_component_string_free(maybe_cursor);
  }
  if (!gw_this_migration.transform) {
    free(cursor);
    return gw_fail(err, "this migration is not batched");
  }
  char next[256] = {0};
  uint64_t processed = 0;
  int64_t estimated = -1;
  bool ok = gw_this_migration.transform(cursor, batch_size, next, sizeof next, &processed,
                                        &estimated, err);
  free(cursor);
  if (!ok) return false;
  ret->next_cursor.is_some = next[0] != '\0';
  if (ret->next_cursor.is_some) migration_component_string_dup(&ret->next_cursor.val, next);
  ret->processed = processed;
  ret->estimated_total.is_some = estimated >= 0;
  ret->estimated_total.val = estimated >= 0 ? (uint64_t)estimated : 0;
  return true;
}
