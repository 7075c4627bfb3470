/* Local "have" bitmap, page-structured like the reference's lib/bitfield.js. */
#include "bitfield.h"

#include <stdlib.h>
#include <string.h>

static hc_bitfield_page *page_at(const hc_bitfield *bf, uint64_t p) {
  return p < bf->npages ? bf->pages[p] : NULL;
}

/* Makes page p exist; `zero`: a new page starts all zero (else the caller fills every byte). */
static int ensure_page_(hc_bitfield *bf, uint64_t p, bool zero, hc_bitfield_page **out) {
  if (p >= bf->npages) {
    uint64_t n = bf->npages ? bf->npages : 8;
    while (n <= p) n *= 2;
    if (n > SIZE_MAX / sizeof(void *)) return HC_ERR_NOMEM;
    hc_bitfield_page **pages = realloc(bf->pages, (size_t)n * sizeof *pages);
    if (!pages) return HC_ERR_NOMEM;
    memset(pages + bf->npages, 0, (size_t)(n - bf->npages) * sizeof *pages);
    bf->pages = pages;
    bf->npages = n;
  }
  if (!bf->pages[p]) {
    bf->pages[p] = zero ? calloc(1, sizeof(hc_bitfield_page)) : malloc(sizeof(hc_bitfield_page));
    if (!bf->pages[p]) return HC_ERR_NOMEM;
    bf->pages[p]->dirty = false;
  }
  *out = bf->pages[p];
  return HC_OK;
}

static int ensure_page(hc_bitfield *bf, uint64_t p, hc_bitfield_page **out) {
  return ensure_page_(bf, p, true, out);
}

int hc_bitfield_open(hc_bitfield *bf, hc_storage *file) {
  memset(bf, 0, sizeof *bf);
  bf->file = file;
  uint64_t size;
  int rc = hc_storage_stat(file, &size, NULL);
  if (rc) return rc;
  size -= size & 3;
  /* read in big slices (one call per 64 pages), keep only pages with a bit set */
  enum { SLICE_PAGES = 64 };
  size_t slice = size < (uint64_t)SLICE_PAGES * HC_BITFIELD_PAGE_BYTES
                     ? (size_t)size
                     : (size_t)SLICE_PAGES * HC_BITFIELD_PAGE_BYTES;
  uint8_t *buf = malloc(slice ? slice : 1);
  if (!buf) return HC_ERR_NOMEM;
  for (uint64_t base = 0; base < size; base += slice) {
    size_t len = (size_t)(size - base < slice ? size - base : slice);
    rc = hc_storage_read(file, base, buf, len);
    if (rc && rc != HC_ERR_SHORT_READ) goto fail;
    rc = HC_OK;
    for (size_t off = 0; off < len; off += HC_BITFIELD_PAGE_BYTES) {
      size_t n = len - off < HC_BITFIELD_PAGE_BYTES ? len - off : HC_BITFIELD_PAGE_BYTES;
      const uint8_t *pb = buf + off;
      bool any = false;
      for (size_t i = 0; i < n && !any; i++) any = pb[i] != 0;
      if (!any) continue; /* sparse: absent page == all zero */
      hc_bitfield_page *pg;
      rc = ensure_page_(bf, (base + off) / HC_BITFIELD_PAGE_BYTES, false, &pg);
      if (rc) goto fail;
      memcpy(pg->bits, pb, n);
      if (n < HC_BITFIELD_PAGE_BYTES) memset(pg->bits + n, 0, HC_BITFIELD_PAGE_BYTES - n);
    }
  }
  free(buf);
  return HC_OK;
fail:
  free(buf);
  hc_bitfield_cleanup(bf);
  return rc;
}

void hc_bitfield_cleanup(hc_bitfield *bf) {
  for (uint64_t p = 0; p < bf->npages; p++) free(bf->pages[p]);
  free(bf->pages);
  bf->pages = NULL;
  bf->npages = 0;
}

bool hc_bitfield_get(const hc_bitfield *bf, uint64_t index) {
  hc_bitfield_page *pg = page_at(bf, index / HC_BITFIELD_PAGE_BITS);
  if (!pg) return false;
  uint64_t j = index % HC_BITFIELD_PAGE_BITS;
  return (pg->bits[j >> 3] >> (j & 7)) & 1;
}

int hc_bitfield_set_range(hc_bitfield *bf, uint64_t start, uint64_t length, bool value) {
  while (length > 0) {
    uint64_t p = start / HC_BITFIELD_PAGE_BITS, j = start % HC_BITFIELD_PAGE_BITS;
    uint64_t n = HC_BITFIELD_PAGE_BITS - j;
    if (n > length) n = length;
    hc_bitfield_page *pg = page_at(bf, p);
    if (!pg && value) {
      int rc = ensure_page(bf, p, &pg);
      if (rc) return rc;
    }
    if (pg) {
      uint64_t a = j, b = j + n; /* [a, b) bits in this page */
      while (a < b && (a & 7)) {
        if (value) pg->bits[a >> 3] |= (uint8_t)(1u << (a & 7));
        else pg->bits[a >> 3] &= (uint8_t)~(1u << (a & 7));
        a++;
      }
      if (b - a >= 8) {
        uint64_t bytes = (b - a) / 8;
        memset(pg->bits + (a >> 3), value ? 0xff : 0, (size_t)bytes);
        a += bytes * 8;
      }
      while (a < b) {
        if (value) pg->bits[a >> 3] |= (uint8_t)(1u << (a & 7));
        else pg->bits[a >> 3] &= (uint8_t)~(1u << (a & 7));
        a++;
      }
      pg->dirty = true;
    }
    start += n;
    length -= n;
  }
  return HC_OK;
}

uint64_t hc_bitfield_find(const hc_bitfield *bf, uint64_t from, bool value, uint64_t limit) {
  uint64_t i = from;
  while (i < limit) {
    uint64_t p = i / HC_BITFIELD_PAGE_BITS;
    hc_bitfield_page *pg = page_at(bf, p);
    if (!pg) {
      if (!value) return i;
      i = (p + 1) * HC_BITFIELD_PAGE_BITS; /* whole page is zero */
      continue;
    }
    uint64_t j = i % HC_BITFIELD_PAGE_BITS;
    /* skip whole bytes quickly */
    if ((j & 7) == 0) {
      uint8_t skip = value ? 0x00 : 0xff;
      while (j < HC_BITFIELD_PAGE_BITS && pg->bits[j >> 3] == skip) {
        j += 8;
        i += 8;
      }
      if (j >= HC_BITFIELD_PAGE_BITS || i >= limit) continue;
    }
    if ((((pg->bits[j >> 3] >> (j & 7)) & 1) != 0) == value) return i < limit ? i : UINT64_MAX;
    i++;
  }
  return UINT64_MAX;
}

bool hc_bitfield_all(const hc_bitfield *bf, uint64_t start, uint64_t end) {
  if (start >= end) return true;
  uint64_t z = hc_bitfield_find(bf, start, false, end);
  return z == UINT64_MAX || z >= end;
}

int hc_bitfield_flush(hc_bitfield *bf) {
  for (uint64_t p = 0; p < bf->npages; p++) {
    hc_bitfield_page *pg = bf->pages[p];
    if (!pg || !pg->dirty) continue;
    int rc = hc_storage_write(bf->file, p * HC_BITFIELD_PAGE_BYTES, pg->bits, HC_BITFIELD_PAGE_BYTES);
    if (rc) return rc;
    pg->dirty = false;
  }
  return HC_OK;
}

int hc_bitfield_clear(hc_bitfield *bf) {
  int rc = hc_storage_truncate(bf->file, 0);
  if (rc) return rc;
  for (uint64_t p = 0; p < bf->npages; p++) {
    free(bf->pages[p]);
    bf->pages[p] = NULL;
  }
  return HC_OK;
}
