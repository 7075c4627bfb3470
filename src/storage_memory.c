/* In-memory storage backend: named growable buffers that outlive the core that opened them. */
#include <stdlib.h>
#include <string.h>

#include "hypercore/storage.h"

typedef struct mem_file {
  char name[16];
  uint8_t *data;
  uint64_t size, cap;
  int locked;
  struct mem_file *next;
} mem_file;

typedef struct mem_factory {
  hc_storage_factory base;
  mem_file *files;
} mem_factory;

typedef struct mem_storage {
  hc_storage base;
  mem_file *file;
  int lock;
} mem_storage;

static int mem_grow(mem_file *f, uint64_t size) {
  if (size <= f->cap) return HC_OK;
  if (size > (uint64_t)SIZE_MAX / 2) return HC_ERR_NOMEM;
  uint64_t cap = f->cap ? f->cap : 4096;
  while (cap < size) cap *= 2;
  uint8_t *d = realloc(f->data, (size_t)cap);
  if (!d) return HC_ERR_NOMEM;
  /* [size, cap) stays unwritten: zeroing it here touched every page of the doubled buffer
   * (a replica's oplog grew into page faults); zero_gap() fills only what a write skips */
  f->data = d;
  f->cap = cap;
  return HC_OK;
}

/* A write or truncation past the end: the bytes it skips read as zeros, as in a sparse file. */
static void zero_gap(mem_file *f, uint64_t off) {
  if (off > f->size) memset(f->data + f->size, 0, (size_t)(off - f->size));
}

static int mem_read(hc_storage *st, uint64_t off, void *buf, size_t len) {
  mem_file *f = ((mem_storage *)st)->file;
  size_t have = 0;
  if (off < f->size) have = (size_t)((f->size - off) < len ? (f->size - off) : len);
  if (have) memcpy(buf, f->data + off, have);
  if (have < len) {
    memset((uint8_t *)buf + have, 0, len - have);
    return HC_ERR_SHORT_READ;
  }
  return HC_OK;
}

static int mem_write(hc_storage *st, uint64_t off, const void *buf, size_t len) {
  mem_file *f = ((mem_storage *)st)->file;
  if (off + len < off) return HC_ERR_INVALID_ARG;
  int rc = mem_grow(f, off + len);
  if (rc) return rc;
  zero_gap(f, off);
  if (len) memcpy(f->data + off, buf, len);
  if (off + len > f->size) f->size = off + len;
  return HC_OK;
}

static int mem_writev(hc_storage *st, uint64_t off, const hc_buf *bufs, size_t n) {
  mem_file *f = ((mem_storage *)st)->file;
  uint64_t end = off;
  for (size_t i = 0; i < n; i++) {
    if (end + bufs[i].len < end) return HC_ERR_INVALID_ARG;
    end += bufs[i].len;
  }
  int rc = mem_grow(f, end);
  if (rc) return rc;
  zero_gap(f, off);
  for (size_t i = 0; i < n; i++) {
    if (bufs[i].len) memcpy(f->data + off, bufs[i].data, bufs[i].len);
    off += bufs[i].len;
  }
  if (end > f->size) f->size = end;
  return HC_OK;
}

static int mem_del(hc_storage *st, uint64_t off, uint64_t len) {
  mem_file *f = ((mem_storage *)st)->file;
  if (off >= f->size) return HC_OK;
  if (len > f->size - off) len = f->size - off;
  memset(f->data + off, 0, (size_t)len);
  return HC_OK;
}

static int mem_truncate(hc_storage *st, uint64_t size) {
  mem_file *f = ((mem_storage *)st)->file;
  int rc = mem_grow(f, size);
  if (rc) return rc;
  zero_gap(f, size);
  f->size = size;
  return HC_OK;
}

static int mem_stat(hc_storage *st, uint64_t *size, uint64_t *allocated) {
  mem_file *f = ((mem_storage *)st)->file;
  if (size) *size = f->size;
  if (allocated) *allocated = f->size;
  return HC_OK;
}

static int mem_sync(hc_storage *st) { return HC_OK; }

static void mem_close(hc_storage *st) {
  mem_storage *m = (mem_storage *)st;
  if (m->lock) m->file->locked = 0;
  free(m);
}

static const hc_storage_methods mem_methods = {
    HC_STORAGE_METHODS_VERSION, mem_read, mem_write, mem_del, mem_truncate, mem_stat, mem_sync,
    mem_close, mem_writev};

static int mem_open(hc_storage_factory *base, const char *name, unsigned flags, hc_storage **out) {
  mem_factory *mf = (mem_factory *)base;
  mem_file *f = mf->files;
  while (f && strcmp(f->name, name) != 0) f = f->next;
  if (!f) {
    if (!(flags & HC_STORAGE_CREATE)) return HC_ERR_NOT_FOUND;
    if (strlen(name) >= sizeof f->name) return HC_ERR_INVALID_ARG;
    f = calloc(1, sizeof *f);
    if (!f) return HC_ERR_NOMEM;
    strcpy(f->name, name);
    f->next = mf->files;
    mf->files = f;
  }
  if ((flags & HC_STORAGE_LOCK) && f->locked) return HC_ERR_LOCKED;
  mem_storage *m = calloc(1, sizeof *m);
  if (!m) return HC_ERR_NOMEM;
  m->base.methods = &mem_methods;
  m->file = f;
  if (flags & HC_STORAGE_LOCK) {
    m->lock = 1;
    f->locked = 1;
  }
  *out = &m->base;
  return HC_OK;
}

static int mem_destroy(hc_storage_factory *base) {
  mem_factory *mf = (mem_factory *)base;
  for (mem_file *f = mf->files; f; f = f->next) {
    free(f->data);
    f->data = NULL;
    f->size = f->cap = 0;
  }
  return HC_OK;
}

static void mem_free(hc_storage_factory *base) {
  mem_factory *mf = (mem_factory *)base;
  mem_file *f = mf->files;
  while (f) {
    mem_file *n = f->next;
    free(f->data);
    free(f);
    f = n;
  }
  free(mf);
}

int hc_storage_memory_factory_new(hc_storage_factory **out) {
  mem_factory *mf = calloc(1, sizeof *mf);
  if (!mf) return HC_ERR_NOMEM;
  mf->base.version = 1;
  mf->base.open = mem_open;
  mf->base.destroy = mem_destroy;
  mf->base.free = mem_free;
  *out = &mf->base;
  return HC_OK;
}

void hc_storage_factory_free(hc_storage_factory *f) {
  if (f && f->free) f->free(f);
}
