/* Splits people.full_name into first_name and last_name in batches: the C twin of
 * guest-examples/rust-backfill, with the helpers of godwit.h. As a migration directory
 * (migrations/0010_split_names/migration.c) `godwit up` builds it. */
#include "godwit.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool up(gw_string *err) {
  if (!gw_execute("ALTER TABLE people ADD COLUMN first_name TEXT", GW_NO_PARAMS, NULL) ||
      !gw_execute("ALTER TABLE people ADD COLUMN last_name TEXT", GW_NO_PARAMS, NULL)) {
    return gw_failed(err);
  }
  return true;
}

static bool down(gw_string *err) {
  if (!gw_execute("ALTER TABLE people DROP COLUMN last_name", GW_NO_PARAMS, NULL) ||
      !gw_execute("ALTER TABLE people DROP COLUMN first_name", GW_NO_PARAMS, NULL)) {
    return gw_failed(err);
  }
  return true;
}

static bool transform(const char *cursor, uint32_t batch_size, char *next, size_t next_size,
                      uint64_t *processed, int64_t *estimated_total, gw_string *err) {
  gw_rows rows;
  bool queried;
  int64_t after = 0;
  if (!cursor) {
    /* The first batch also estimates the total, for the progress bar. */
    queried = gw_scalar_int("SELECT count(*) FROM people", GW_NO_PARAMS, estimated_total) &&
              gw_query("SELECT id, full_name FROM people ORDER BY id LIMIT $1",
                       GW_PARAMS(gw_int(batch_size)), &rows);
  } else {
    after = strtoll(cursor, NULL, 10);
    queried = gw_query("SELECT id, full_name FROM people WHERE id > $1 ORDER BY id LIMIT $2",
                       GW_PARAMS(gw_int(after), gw_int(batch_size)), &rows);
  }
  if (!queried) return gw_failed(err);
  int id = gw_column(&rows, "id"), full = gw_column(&rows, "full_name");
  size_t n = gw_row_count(&rows);
  gw_value *updates = malloc(3 * (n ? n : 1) * sizeof(gw_value));
  if (id < 0 || full < 0 || !updates) {
    gw_rows_free(&rows);
    free(updates);
    return id < 0 || full < 0 ? gw_failed(err) : gw_fail(err, "out of memory");
  }
  int64_t last = after;
  for (size_t i = 0; i < n; i++) {
    const gw_value *name = gw_at(&rows, i, full);
    last = gw_at(&rows, i, id)->val.integer;
    const uint8_t *text = name->val.text.ptr;
    size_t len = name->val.text.len;
    const uint8_t *space = memchr(text, ' ', len);
    size_t first = space ? (size_t)(space - text) : len;
    size_t rest = space ? len - first - 1 : 0;
    /* Slices of the query's own strings: nothing is copied. */
    updates[3 * i] = gw_text_n(text, first);
    updates[3 * i + 1] = gw_text_n(space ? space + 1 : text + len, rest);
    updates[3 * i + 2] = gw_int(last);
  }
  bool ok = gw_execute_many(
      "UPDATE people SET first_name = $1, last_name = $2, passes = passes + 1 WHERE id = $3", 3,
      updates, 3 * n, NULL);
  free(updates);
  gw_rows_free(&rows);
  if (!ok) return gw_failed(err);
  *processed = n;
  if (n == batch_size) snprintf(next, next_size, "%" PRId64, last);
  return true;
}

GW_MIGRATION(.description = "split people.full_name into first_name and last_name",
             .reversible = true, .up = up, .down = down, .transform = transform);
