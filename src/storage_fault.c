/* Fault-injecting storage wrapper (include/hypercore/fault.h): failed, torn and lost writes
 * over any other backend. */
#include <stdlib.h>
#include <string.h>

#include "hypercore/fault.h"

/* One unsynced mutation with what is needed to undo it: the file size before, and the bytes
 * it overwrote or cut ([a, a + oldlen), clipped to the old size). */
typedef struct umut {
  struct umut *next;
  int kind; /* HC_FAULT_OP_WRITE / TRUNCATE / DEL */
  uint64_t off, len; /* write/del range; truncate: new size in off */
  uint8_t *data;     /* write: the bytes written */
  uint64_t old_size;
  uint64_t a;
  uint8_t *old;
  size_t oldlen;
} umut;

typedef struct ffile {
  struct ffile *next;
  char *name;
  umut *head, *tail;
} ffile;

typedef struct fault_factory {
  hc_storage_factory base;
  hc_storage_factory *inner;
  hc_fault_plan plan;
  uint64_t count;
  bool fired, crashed;
  ffile *files;
} fault_factory;

typedef struct fault_storage {
  hc_storage base;
  fault_factory *ff;
  hc_storage *inner;
  ffile *file;
} fault_storage;

static void fault_free(hc_storage_factory *f);

static fault_factory *as_fault(const hc_storage_factory *f) {
  if (!f || f->free != fault_free) return NULL;
  return (fault_factory *)f;
}

static void log_clear(ffile *file) {
  umut *m = file->head;
  while (m) {
    umut *n = m->next;
    free(m->data);
    free(m->old);
    free(m);
    m = n;
  }
  file->head = file->tail = NULL;
}

/* Decides the fate of a counted op: 0 = go ahead, 1 = torn, <0 = fail with that code. */
static int decide(fault_factory *ff, unsigned op) {
  if (ff->crashed) return HC_ERR_IO;
  unsigned mask = ff->plan.ops ? ff->plan.ops : HC_FAULT_OP_ALL;
  if (!(mask & op)) return 0;
  ff->count++;
  int err = ff->plan.error ? ff->plan.error : HC_ERR_IO;
  if (ff->plan.mode == HC_FAULT_NONE || ff->plan.at == 0) return 0;
  if (ff->count == ff->plan.at) {
    ff->fired = true;
    if (ff->plan.mode == HC_FAULT_TORN) return 1;
    return err;
  }
  if (ff->count > ff->plan.at && ff->plan.mode == HC_FAULT_FAIL_PERSIST) return err;
  return 0;
}

/* Records the undo information of a mutation about to touch [a, a+n) of the inner file. */
static int log_mutation(fault_storage *s, int kind, uint64_t off, uint64_t len, const void *data,
                        uint64_t a, uint64_t n) {
  if (!s->ff->plan.track_unsynced) return HC_OK;
  umut *m = calloc(1, sizeof *m);
  if (!m) return HC_ERR_NOMEM;
  m->kind = kind;
  m->off = off;
  m->len = len;
  int rc = hc_storage_stat(s->inner, &m->old_size, NULL);
  if (rc) goto fail;
  if (kind == HC_FAULT_OP_WRITE && len) {
    m->data = malloc((size_t)len);
    if (!m->data) {
      rc = HC_ERR_NOMEM;
      goto fail;
    }
    memcpy(m->data, data, (size_t)len);
  }
  m->a = a;
  if (a < m->old_size) {
    uint64_t end = a + n < a || a + n > m->old_size ? m->old_size : a + n;
    m->oldlen = (size_t)(end - a);
    if (m->oldlen) {
      m->old = malloc(m->oldlen);
      if (!m->old) {
        rc = HC_ERR_NOMEM;
        goto fail;
      }
      rc = hc_storage_read(s->inner, a, m->old, m->oldlen);
      if (rc) goto fail;
    }
  }
  if (s->file->tail) s->file->tail->next = m;
  else s->file->head = m;
  s->file->tail = m;
  return HC_OK;
fail:
  free(m->data);
  free(m->old);
  free(m);
  return rc;
}

static int fs_read(hc_storage *st, uint64_t off, void *buf, size_t len) {
  fault_storage *s = (fault_storage *)st;
  if (s->ff->crashed) {
    memset(buf, 0, len);
    return HC_ERR_IO;
  }
  return hc_storage_read(s->inner, off, buf, len);
}

static bool over_quota(const fault_factory *ff, uint64_t end, bool overflow) {
  return ff->plan.max_file_size && (overflow || end > ff->plan.max_file_size);
}

static int fs_write(hc_storage *st, uint64_t off, const void *buf, size_t len) {
  fault_storage *s = (fault_storage *)st;
  int d = decide(s->ff, HC_FAULT_OP_WRITE);
  if (d < 0) return d;
  if (over_quota(s->ff, off + len, off + len < off)) return HC_ERR_NOSPC;
  if (d == 1) {
    size_t keep = s->ff->plan.torn_bytes ? s->ff->plan.torn_bytes : len / 2;
    if (keep > len) keep = len;
    if (keep && log_mutation(s, HC_FAULT_OP_WRITE, off, keep, buf, off, keep) == HC_OK)
      (void)hc_storage_write(s->inner, off, buf, keep);
    s->ff->crashed = true;
    return HC_ERR_IO;
  }
  int rc = log_mutation(s, HC_FAULT_OP_WRITE, off, len, buf, off, len);
  if (rc) return rc;
  return hc_storage_write(s->inner, off, buf, len);
}

static int fs_del(hc_storage *st, uint64_t off, uint64_t len) {
  fault_storage *s = (fault_storage *)st;
  int d = decide(s->ff, HC_FAULT_OP_DEL);
  if (d < 0) return d;
  if (d == 1) {
    s->ff->crashed = true;
    return HC_ERR_IO;
  }
  int rc = log_mutation(s, HC_FAULT_OP_DEL, off, len, NULL, off, len);
  if (rc) return rc;
  return hc_storage_del(s->inner, off, len);
}

static int fs_truncate(hc_storage *st, uint64_t size) {
  fault_storage *s = (fault_storage *)st;
  int d = decide(s->ff, HC_FAULT_OP_TRUNCATE);
  if (d < 0) return d;
  if (over_quota(s->ff, size, false)) return HC_ERR_NOSPC;
  if (d == 1) {
    s->ff->crashed = true;
    return HC_ERR_IO;
  }
  int rc = log_mutation(s, HC_FAULT_OP_TRUNCATE, size, 0, NULL, size, UINT64_MAX - size);
  if (rc) return rc;
  return hc_storage_truncate(s->inner, size);
}

static int fs_stat(hc_storage *st, uint64_t *size, uint64_t *allocated) {
  fault_storage *s = (fault_storage *)st;
  if (s->ff->crashed) return HC_ERR_IO;
  return hc_storage_stat(s->inner, size, allocated);
}

static int fs_sync(hc_storage *st) {
  fault_storage *s = (fault_storage *)st;
  int d = decide(s->ff, HC_FAULT_OP_SYNC);
  if (d < 0) return d;
  if (d == 1) {
    s->ff->crashed = true;
    return HC_ERR_IO;
  }
  int rc = hc_storage_sync(s->inner);
  if (!rc) log_clear(s->file);
  return rc;
}

static void fs_close(hc_storage *st) {
  fault_storage *s = (fault_storage *)st;
  hc_storage_close(s->inner);
  free(s);
}

/* Version 1: a vectored write reaches fs_write joined (hc_storage_writev's fallback), so it
 * counts, fails and tears as one write, like a single pwritev. */
static const hc_storage_methods fault_methods = {
    .version = 1,
    .read = fs_read,
    .write = fs_write,
    .del = fs_del,
    .truncate = fs_truncate,
    .stat = fs_stat,
    .sync = fs_sync,
    .close = fs_close,
};

static ffile *get_file(fault_factory *ff, const char *name) {
  for (ffile *f = ff->files; f; f = f->next)
    if (strcmp(f->name, name) == 0) return f;
  ffile *f = calloc(1, sizeof *f);
  if (!f) return NULL;
  size_t n = strlen(name);
  f->name = malloc(n + 1);
  if (!f->name) {
    free(f);
    return NULL;
  }
  memcpy(f->name, name, n + 1);
  f->next = ff->files;
  ff->files = f;
  return f;
}

static int fault_open(hc_storage_factory *base, const char *name, unsigned flags,
                      hc_storage **out) {
  fault_factory *ff = (fault_factory *)base;
  if (ff->crashed) return HC_ERR_IO;
  ffile *file = get_file(ff, name);
  if (!file) return HC_ERR_NOMEM;
  fault_storage *s = calloc(1, sizeof *s);
  if (!s) return HC_ERR_NOMEM;
  int rc = ff->inner->open(ff->inner, name, flags, &s->inner);
  if (rc) {
    free(s);
    return rc;
  }
  s->base.methods = &fault_methods;
  s->ff = ff;
  s->file = file;
  *out = &s->base;
  return HC_OK;
}

static int fault_destroy(hc_storage_factory *base) {
  fault_factory *ff = (fault_factory *)base;
  if (ff->crashed) return HC_ERR_IO;
  for (ffile *f = ff->files; f; f = f->next) log_clear(f);
  return ff->inner->destroy ? ff->inner->destroy(ff->inner) : HC_OK;
}

static void fault_free(hc_storage_factory *base) {
  fault_factory *ff = (fault_factory *)base;
  ffile *f = ff->files;
  while (f) {
    ffile *n = f->next;
    log_clear(f);
    free(f->name);
    free(f);
    f = n;
  }
  free(ff);
}

int hc_storage_fault_factory_new(hc_storage_factory **out, hc_storage_factory *inner) {
  if (!out || !inner || !inner->open) return HC_ERR_INVALID_ARG;
  if (inner->version != HC_STORAGE_FACTORY_VERSION) return HC_ERR_BAD_VERSION;
  fault_factory *ff = calloc(1, sizeof *ff);
  if (!ff) return HC_ERR_NOMEM;
  ff->base.version = 1;
  ff->base.open = fault_open;
  ff->base.destroy = fault_destroy;
  ff->base.free = fault_free;
  ff->inner = inner;
  ff->plan.version = HC_FAULT_PLAN_VERSION;
  *out = &ff->base;
  return HC_OK;
}

int hc_storage_fault_set(hc_storage_factory *f, const hc_fault_plan *plan) {
  fault_factory *ff = as_fault(f);
  if (!ff || !plan) return HC_ERR_INVALID_ARG;
  if (plan->version != HC_FAULT_PLAN_VERSION) return HC_ERR_BAD_VERSION;
  if (plan->mode < HC_FAULT_NONE || plan->mode > HC_FAULT_TORN) return HC_ERR_INVALID_ARG;
  if (plan->error > 0 || (plan->ops & ~HC_FAULT_OP_ALL)) return HC_ERR_INVALID_ARG;
  ff->plan = *plan;
  ff->count = 0;
  ff->fired = false;
  ff->crashed = false;
  for (ffile *file = ff->files; file; file = file->next) log_clear(file);
  return HC_OK;
}

uint64_t hc_storage_fault_count(const hc_storage_factory *f) {
  const fault_factory *ff = as_fault(f);
  return ff ? ff->count : 0;
}

bool hc_storage_fault_fired(const hc_storage_factory *f) {
  const fault_factory *ff = as_fault(f);
  return ff && ff->fired;
}

bool hc_storage_fault_crashed(const hc_storage_factory *f) {
  const fault_factory *ff = as_fault(f);
  return ff && ff->crashed;
}

static uint64_t splitmix(uint64_t *s) {
  uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

/* Reverses every logged mutation of `file`, then re-applies a random subset. */
static int crash_file(fault_factory *ff, ffile *file, uint64_t *rng, uint64_t *kept,
                      uint64_t *dropped) {
  if (!file->head) return HC_OK;
  hc_storage *st;
  int rc = ff->inner->open(ff->inner, file->name, 0, &st);
  if (rc) return rc;
  size_t n = 0;
  for (umut *m = file->head; m; m = m->next) n++;
  umut **arr = malloc(n * sizeof *arr);
  if (!arr) {
    hc_storage_close(st);
    return HC_ERR_NOMEM;
  }
  n = 0;
  for (umut *m = file->head; m; m = m->next) arr[n++] = m;
  /* undo, newest first: the size before, then the bytes before */
  for (size_t i = n; i-- > 0 && !rc;) {
    umut *m = arr[i];
    rc = hc_storage_truncate(st, m->old_size);
    if (!rc && m->oldlen) rc = hc_storage_write(st, m->a, m->old, m->oldlen);
  }
  /* redo a random subset, oldest first; a kept write may lose its tail sectors */
  for (size_t i = 0; i < n && !rc; i++) {
    umut *m = arr[i];
    if (splitmix(rng) & 1) {
      (*dropped)++;
      continue;
    }
    (*kept)++;
    if (m->kind == HC_FAULT_OP_WRITE) {
      uint64_t len = m->len;
      if (len > 512 && (splitmix(rng) & 3) == 0) {
        uint64_t sectors = (len - 1) / 512;
        len = 512 * (1 + splitmix(rng) % sectors);
      }
      rc = hc_storage_write(st, m->off, m->data, (size_t)len);
    } else if (m->kind == HC_FAULT_OP_TRUNCATE) {
      rc = hc_storage_truncate(st, m->off);
    } else {
      rc = hc_storage_del(st, m->off, m->len);
    }
  }
  free(arr);
  hc_storage_close(st);
  log_clear(file);
  return rc;
}

int hc_storage_fault_crash(hc_storage_factory *f, uint64_t seed, uint64_t *kept,
                           uint64_t *dropped) {
  fault_factory *ff = as_fault(f);
  uint64_t k = 0, d = 0;
  if (!ff || !ff->plan.track_unsynced) return HC_ERR_INVALID_ARG;
  uint64_t rng = seed;
  int rc = HC_OK;
  for (ffile *file = ff->files; file && !rc; file = file->next)
    rc = crash_file(ff, file, &rng, &k, &d);
  ff->crashed = true;
  if (kept) *kept = k;
  if (dropped) *dropped = d;
  return rc;
}
