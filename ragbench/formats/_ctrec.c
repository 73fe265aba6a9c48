/*
 * _ctrec: the fast path for reading TREC runs and qrels (evaluation's join is _cjoin.c).
 *
 * Why C: on a 5M-line run (5,000 topics x 1,000 documents) pandas' C tokenizer alone takes
 * 2.8 s and factorising the ids another 1.5 s, numpy byte-level tokenizing 2.9 s; ir-measures
 * takes 11.5 s in all (benchmarks/eval_speed.py). This module reads, interns and ranks the same
 * file in well under a second. It mirrors ragbench/formats/trec.py exactly (same accepted
 * syntax, same rows); on any problem it reports the first one and the Python reader is run to
 * list them all, so error messages have one source.
 *
 * Objects:
 *   Pool            interns byte strings to dense int32 codes; a read-only sequence of str.
 *   parse(data, kind, pool) -> (query, doc, value, rank, line, run_id) as bytes buffers
 *                     (int32, int32, float64 or int64, int64, int64), or (None, line, message).
 *   POOL_C_API      a capsule with the Pool type and a function that exposes a pool's strings
 *                     to other extensions (ragbench/evaluation/_cjoin.c ranks documents by them);
 *                     its layout is ragbench/formats/ctrec_pool.h.
 *   find_duplicate(query, doc, n_codes) -> row index of the first repeated (query, doc) or -1.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctrec_pool.h"

/* ------------------------------------------------------------------ Pool */

typedef struct {
    PyObject_HEAD
    char *arena;
    Py_ssize_t arena_len, arena_cap;
    int64_t *start;
    int32_t *len;
    uint64_t *hash;
    Py_ssize_t n, cap;
    uint64_t *table; /* open addressing: (hash >> 32) << 32 | (code + 1); 0 = empty */
    Py_ssize_t table_size;
} Pool;

static uint64_t hash_bytes(const char *s, Py_ssize_t n) {
    uint64_t h = 1469598103934665603ULL; /* FNV-1a, then a final mix */
    for (Py_ssize_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return h;
}

static int pool_grow_table_to(Pool *p, Py_ssize_t size) {
    uint64_t *table = calloc((size_t)size, sizeof(uint64_t));
    if (!table) return -1;
    for (Py_ssize_t c = 0; c < p->n; c++) {
        Py_ssize_t slot = (Py_ssize_t)(p->hash[c] & (uint64_t)(size - 1));
        while (table[slot]) slot = (slot + 1) & (size - 1);
        table[slot] = (p->hash[c] & 0xFFFFFFFF00000000ULL) | (uint64_t)(c + 1);
    }
    free(p->table);
    p->table = table;
    p->table_size = size;
    return 0;
}

static int pool_grow_table(Pool *p) { return pool_grow_table_to(p, p->table_size ? p->table_size * 2 : 1024); }

/* Size the table for `expected` more strings at once: growing by doubling re-inserts every
   string at each step, a cache miss each (0.3 s over 2M distinct ids). */
static int pool_reserve(Pool *p, Py_ssize_t expected) {
    Py_ssize_t size = p->table_size ? p->table_size : 1024;
    while (size < 2 * (p->n + expected)) size *= 2;
    return size == p->table_size ? 0 : pool_grow_table_to(p, size);
}

/* Code of s[0:n] (whose hash_bytes is h), interning it if new; -1 on memory failure. */
static int32_t pool_intern_hashed(Pool *p, const char *s, Py_ssize_t n, uint64_t h) {
    if ((p->n + 1) * 2 > p->table_size && pool_grow_table(p) < 0) return -1;
    Py_ssize_t mask = p->table_size - 1;
    Py_ssize_t slot = (Py_ssize_t)(h & (uint64_t)mask);
    uint64_t entry, tag = h & 0xFFFFFFFF00000000ULL;
    /* The tag (high hash bits) lives in the slot, so a miss costs no visit to the string. */
    while ((entry = p->table[slot])) {
        if ((entry & 0xFFFFFFFF00000000ULL) == tag) {
            int32_t c = (int32_t)(entry & 0xFFFFFFFFULL) - 1;
            if (p->len[c] == n && memcmp(p->arena + p->start[c], s, (size_t)n) == 0) return c;
        }
        slot = (slot + 1) & mask;
    }
    if (p->n == INT32_MAX - 1) return -1;
    if (p->n == p->cap) {
        Py_ssize_t cap = p->cap ? p->cap * 2 : 1024;
        int64_t *start = realloc(p->start, (size_t)cap * sizeof(int64_t));
        if (!start) return -1;
        p->start = start;
        int32_t *len = realloc(p->len, (size_t)cap * sizeof(int32_t));
        if (!len) return -1;
        p->len = len;
        uint64_t *hash = realloc(p->hash, (size_t)cap * sizeof(uint64_t));
        if (!hash) return -1;
        p->hash = hash;
        p->cap = cap;
    }
    if (p->arena_len + n > p->arena_cap) {
        Py_ssize_t cap = p->arena_cap ? p->arena_cap : 1 << 16;
        while (cap < p->arena_len + n) cap *= 2;
        char *arena = realloc(p->arena, (size_t)cap);
        if (!arena) return -1;
        p->arena = arena;
        p->arena_cap = cap;
    }
    memcpy(p->arena + p->arena_len, s, (size_t)n);
    int32_t c = (int32_t)p->n++;
    p->start[c] = p->arena_len;
    p->len[c] = (int32_t)n;
    p->hash[c] = h;
    p->arena_len += n;
    p->table[slot] = tag | (uint64_t)(c + 1);
    return c;
}

static int32_t pool_intern(Pool *p, const char *s, Py_ssize_t n) {
    return pool_intern_hashed(p, s, n, hash_bytes(s, n));
}

/* Software pipelining for batches of look-ups: each stage starts the memory loads the next
   stage needs, so a batch waits on memory in parallel rather than once per string (about a
   third of the parse time on a 5M-line run with 200k distinct documents). */
static inline void pool_prefetch_slot(const Pool *p, uint64_t h) {
    if (p->table_size) __builtin_prefetch(&p->table[h & (uint64_t)(p->table_size - 1)]);
}

static inline void pool_prefetch_entry(const Pool *p, uint64_t h) {
    if (!p->table_size) return;
    uint64_t entry = p->table[h & (uint64_t)(p->table_size - 1)];
    if (entry && (entry & 0xFFFFFFFF00000000ULL) == (h & 0xFFFFFFFF00000000ULL)) {
        int32_t c = (int32_t)(entry & 0xFFFFFFFFULL) - 1;
        __builtin_prefetch(&p->start[c]);
        __builtin_prefetch(&p->len[c]);
    }
}

static inline void pool_prefetch_string(const Pool *p, uint64_t h) {
    if (!p->table_size) return;
    uint64_t entry = p->table[h & (uint64_t)(p->table_size - 1)];
    if (entry && (entry & 0xFFFFFFFF00000000ULL) == (h & 0xFFFFFFFF00000000ULL)) {
        int32_t c = (int32_t)(entry & 0xFFFFFFFFULL) - 1;
        __builtin_prefetch(p->arena + p->start[c]);
    }
}

static void Pool_dealloc(Pool *p) {
    free(p->arena);
    free(p->start);
    free(p->len);
    free(p->hash);
    free(p->table);
    Py_TYPE(p)->tp_free((PyObject *)p);
}

static Py_ssize_t Pool_length(Pool *p) { return p->n; }

static PyObject *Pool_item(Pool *p, Py_ssize_t i) {
    if (i < 0 || i >= p->n) {
        PyErr_SetString(PyExc_IndexError, "Pool index out of range");
        return NULL;
    }
    return PyUnicode_DecodeUTF8(p->arena + p->start[i], p->len[i], "strict");
}

static PyObject *Pool_code(Pool *p, PyObject *arg) {
    Py_ssize_t n;
    const char *s = PyUnicode_AsUTF8AndSize(arg, &n);
    if (!s) return NULL;
    int32_t c = pool_intern(p, s, n);
    if (c < 0) return PyErr_NoMemory();
    return PyLong_FromLong(c);
}

static PyMethodDef Pool_methods[] = {
    {"code", (PyCFunction)Pool_code, METH_O, "Code of a string, interning it if new."},
    {NULL, NULL, 0, NULL},
};

static PySequenceMethods Pool_as_sequence = {
    .sq_length = (lenfunc)Pool_length,
    .sq_item = (ssizeargfunc)Pool_item,
};

static PyTypeObject PoolType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "ragbench.formats._ctrec.Pool",
    .tp_basicsize = sizeof(Pool),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Interned strings: a read-only sequence of str indexed by code.",
    .tp_new = PyType_GenericNew,
    .tp_dealloc = (destructor)Pool_dealloc,
    .tp_as_sequence = &Pool_as_sequence,
    .tp_methods = Pool_methods,
};

/* ------------------------------------------------------------------ parsing */

/* Byte classes: 1 = field separator (C isspace minus newline), 2 = NUL, 4 = high bit. */
static unsigned char byte_class[256];

static void init_byte_class(void) {
    byte_class[' '] = byte_class['\t'] = byte_class['\r'] = byte_class['\v'] = byte_class['\f'] = 1;
    byte_class[0] = 2;
    for (int c = 0x80; c < 0x100; c++) byte_class[c] = 4;
}

/* 1 if s[0:n] is valid UTF-8 (no overlongs, no surrogates, <= U+10FFFF), as Python's decoder. */
static int valid_utf8(const unsigned char *s, Py_ssize_t n) {
    Py_ssize_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        if (c < 0x80) { i++; continue; }
        int k;
        uint32_t cp;
        if (c >= 0xC2 && c <= 0xDF) { k = 1; cp = c & 0x1F; }
        else if (c >= 0xE0 && c <= 0xEF) { k = 2; cp = c & 0x0F; }
        else if (c >= 0xF0 && c <= 0xF4) { k = 3; cp = c & 0x07; }
        else return 0;
        for (int j = 1; j <= k; j++) {
            if (i + j >= n || (s[i + j] & 0xC0) != 0x80) return 0;
            cp = (cp << 6) | (s[i + j] & 0x3F);
        }
        if ((k == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) || (k == 3 && (cp < 0x10000 || cp > 0x10FFFF)))
            return 0;
        i += k + 1;
    }
    return 1;
}

static const double POW10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* Clinger's fast path: a decimal of at most 15 significant digits and a power of ten of at most
   22 are both exact doubles, so one IEEE multiply or divide rounds correctly, as strtod would.
   Returns 1 and sets *out, or 0 to defer to strtod. */
static int fast_float(const char *s, Py_ssize_t n, double *out) {
    Py_ssize_t i = 0;
    int neg = 0;
    if (s[0] == '-' || s[0] == '+') {
        neg = s[0] == '-';
        i = 1;
    }
    uint64_t m = 0;
    int digits = 0, any = 0, frac = 0, seen_dot = 0;
    for (; i < n; i++) {
        char c = s[i];
        if (c >= '0' && c <= '9') {
            any = 1;
            if (m || c != '0') {
                if (++digits > 15) return 0;
                m = m * 10 + (uint64_t)(c - '0');
            }
            frac += seen_dot;
        } else if (c == '.' && !seen_dot) {
            seen_dot = 1;
        } else {
            return 0; /* exponent, words, or junk: strtod decides */
        }
    }
    if (!any || frac > 22) return 0;
    double v = (double)m;
    if (frac) v /= POW10[frac];
    *out = neg ? -v : v;
    return 1;
}

/* Number syntax shared with trec.py: [+-]digits[.digits][e[+-]digits], or inf/infinity/nan words. */
static int parse_float(const char *s, Py_ssize_t n, double *out) {
    char buf[64];
    if (n > 0 && fast_float(s, n, out)) return 1;
    if (n <= 0 || n >= (Py_ssize_t)sizeof(buf)) return 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-' || c == 'i' ||
              c == 'I' || c == 'n' || c == 'N' || c == 'f' || c == 'F' || c == 't' || c == 'T' || c == 'y' ||
              c == 'Y' || c == 'a' || c == 'A'))
            return 0;
    }
    memcpy(buf, s, (size_t)n);
    buf[n] = '\0';
    char *end;
    double v = strtod(buf, &end);
    if (end != buf + n) return 0;
    *out = v;
    return 1;
}

static int parse_int(const char *s, Py_ssize_t n, int64_t *out) {
    if (n <= 0) return 0;
    Py_ssize_t i = (s[0] == '+' || s[0] == '-') ? 1 : 0;
    if (i == n) return 0;
    for (Py_ssize_t j = i; j < n; j++)
        if (s[j] < '0' || s[j] > '9') return 0;
    if (n - i > 18) return 0; /* keep clear of int64 overflow; trec.py applies the same bound */
    int64_t v = 0;
    for (Py_ssize_t j = i; j < n; j++) v = v * 10 + (s[j] - '0');
    *out = s[0] == '-' ? -v : v;
    return 1;
}

static PyObject *fail(void **arrays, long line, const char *message) {
    for (int i = 0; i < 5; i++) free(arrays[i]);
    return Py_BuildValue("(Ols)", Py_None, line, message);
}

#define MAX_FIELDS 8
#define BATCH 64
#define MAX_RELEVANCE 1000 /* trec.py's MAX_RELEVANCE: keeps per-level count tables small */

typedef struct {
    const char *s;
    Py_ssize_t n;
    uint64_t h;
    Py_ssize_t row;
} Pending;

/* Intern a batch of document ids in three prefetching passes, then one resolving pass. */
static int flush_docs(Pool *pool, Pending *pending, int count, int32_t *doc) {
    for (int k = 0; k < count; k++) pool_prefetch_entry(pool, pending[k].h);
    for (int k = 0; k < count; k++) pool_prefetch_string(pool, pending[k].h);
    for (int k = 0; k < count; k++) {
        int32_t d = pool_intern_hashed(pool, pending[k].s, pending[k].n, pending[k].h);
        if (d < 0) return -1;
        doc[pending[k].row] = d;
    }
    return 0;
}

/* parse(data: bytes, kind: int, pool: Pool); kind 0 = run (6+ fields), 1 = qrels (exactly 4). */
static PyObject *ctrec_parse(PyObject *self, PyObject *args) {
    Py_buffer view;
    int kind;
    Pool *pool;
    if (!PyArg_ParseTuple(args, "y*iO!", &view, &kind, &PoolType, &pool)) return NULL;
    const char *data = view.buf;
    Py_ssize_t size = view.len;
    /* One pass to count lines sizes every output array exactly once. */
    Py_ssize_t lines = 1;
    for (const char *p = data; (p = memchr(p, '\n', (size_t)(size - (p - data)))); p++) lines++;
    /* A run names at most about one new document per line; qrels likewise. Half of that is a
       cheap guess that avoids most regrowth without over-reserving for repeated ids. */
    if (pool_reserve(pool, lines / 2) < 0) {
        PyBuffer_Release(&view);
        return PyErr_NoMemory();
    }
    int32_t *query = malloc((size_t)lines * 4), *doc = malloc((size_t)lines * 4);
    int64_t *value = malloc((size_t)lines * 8), *rank = malloc((size_t)lines * 8), *line_no = malloc((size_t)lines * 8);
    void *arrays[5] = {query, doc, value, rank, line_no};
    if (!query || !doc || !value || !rank || !line_no) {
        PyBuffer_Release(&view);
        fail(arrays, 0, "");
        return PyErr_NoMemory();
    }
    const char *run_id = "";
    Py_ssize_t run_id_len = 0, rows = 0;
    long lineno = 0;
    Py_ssize_t pos = 0;
    const char *msg = NULL;
    const char *prev_q = NULL;
    Py_ssize_t prev_q_len = -1;
    Pending pending[BATCH];
    int npending = 0;

    while (pos < size) {
        lineno++;
        const char *line = data + pos;
        const char *nl = memchr(line, '\n', (size_t)(size - pos));
        Py_ssize_t len = nl ? nl - line : size - pos;
        pos += len + 1;
        const char *fs[MAX_FIELDS];
        Py_ssize_t fl[MAX_FIELDS];
        int nf = 0, seen = 0;
        Py_ssize_t i = 0;
        /* One pass: split on separators, note NUL and non-ASCII bytes. */
        while (i < len) {
            unsigned char cls;
            while (i < len && (cls = byte_class[(unsigned char)line[i]]) == 1) i++;
            if (i >= len) break;
            Py_ssize_t st = i;
            while (i < len && (cls = byte_class[(unsigned char)line[i]]) != 1) {
                seen |= cls;
                i++;
            }
            if (nf < MAX_FIELDS) {
                fs[nf] = line + st;
                fl[nf] = i - st;
            }
            nf++;
        }
        if (seen & 2) { msg = "NUL character in line"; break; }
        if ((seen & 4) && !valid_utf8((const unsigned char *)line, len)) { msg = "bytes that are not UTF-8"; break; }
        if (nf == 0 || fs[0][0] == '#') continue; /* blank or comment line */
        if (kind == 0 ? nf < 6 : nf != 4) { msg = "wrong number of columns"; break; }
        /* Lines of one topic come together: reuse the previous line's query code. */
        int32_t q = (rows && fl[0] == prev_q_len && memcmp(fs[0], prev_q, (size_t)fl[0]) == 0)
                        ? query[rows - 1]
                        : pool_intern(pool, fs[0], fl[0]);
        prev_q = fs[0];
        prev_q_len = fl[0];
        if (q < 0) {
            PyBuffer_Release(&view);
            fail(arrays, 0, "");
            return PyErr_NoMemory();
        }
        if (kind == 0) {
            double score;
            if (!parse_float(fs[4], fl[4], &score) || isnan(score)) { msg = "score is not a number"; break; }
            if (!parse_int(fs[3], fl[3], &rank[rows])) { msg = "rank is not an integer"; break; }
            memcpy(&value[rows], &score, 8);
            run_id = fs[5];
            run_id_len = fl[5];
        } else {
            rank[rows] = 0;
            if (!parse_int(fs[3], fl[3], &value[rows])) { msg = "relevance is not an integer"; break; }
            if (value[rows] < -MAX_RELEVANCE || value[rows] > MAX_RELEVANCE) { msg = "relevance out of range"; break; }
        }
        query[rows] = q;
        line_no[rows] = lineno;
        Pending *pd = &pending[npending++];
        pd->s = fs[2];
        pd->n = fl[2];
        pd->h = hash_bytes(fs[2], fl[2]);
        pd->row = rows;
        pool_prefetch_slot(pool, pd->h);
        if (npending == BATCH) {
            if (flush_docs(pool, pending, npending, doc) < 0) break;
            npending = 0;
        }
        rows++;
    }
    if (!msg && flush_docs(pool, pending, npending, doc) < 0) {
        PyBuffer_Release(&view);
        fail(arrays, 0, "");
        return PyErr_NoMemory();
    }
    PyBuffer_Release(&view);
    if (msg) return fail(arrays, lineno, msg);
    PyObject *rid = PyUnicode_DecodeUTF8(run_id, run_id_len, "strict");
    if (!rid) {
        fail(arrays, 0, "");
        return NULL;
    }
    PyObject *result = Py_BuildValue("(y#y#y#y#y#N)", (char *)query, rows * 4, (char *)doc, rows * 4, (char *)value,
                                     rows * 8, (char *)rank, rows * 8, (char *)line_no, rows * 8, rid);
    for (int k = 0; k < 5; k++) free(arrays[k]);
    return result;
}

/* find_duplicate(query: int32 bytes, doc: int32 bytes, n_codes) -> first row repeating a (query, doc). */
static PyObject *ctrec_find_duplicate(PyObject *self, PyObject *args) {
    Py_buffer qv, dv;
    Py_ssize_t n_codes;
    if (!PyArg_ParseTuple(args, "y*y*n", &qv, &dv, &n_codes)) return NULL;
    Py_ssize_t n = qv.len / 4;
    const int32_t *q = qv.buf, *d = dv.buf;
    /* Group rows by query (counting sort), then stamp documents per query group. */
    int64_t *start = calloc((size_t)n_codes + 1, sizeof(int64_t));
    int64_t *rows = malloc((size_t)(n ? n : 1) * sizeof(int64_t));
    int64_t *stamp = malloc((size_t)(n_codes ? n_codes : 1) * sizeof(int64_t));
    Py_ssize_t found = -1;
    if (!start || !rows || !stamp) {
        free(start);
        free(rows);
        free(stamp);
        PyBuffer_Release(&qv);
        PyBuffer_Release(&dv);
        return PyErr_NoMemory();
    }
    for (Py_ssize_t i = 0; i < n; i++) start[q[i] + 1]++;
    for (Py_ssize_t c = 0; c < n_codes; c++) start[c + 1] += start[c];
    for (Py_ssize_t i = 0; i < n; i++) rows[start[q[i]]++] = i; /* start[c] now = end of group c */
    for (Py_ssize_t c = 0; c < n_codes; c++) stamp[c] = -1;
    Py_ssize_t begin = 0;
    for (Py_ssize_t c = 0; c < n_codes; c++) {
        Py_ssize_t end = start[c];
        for (Py_ssize_t k = begin; k < end; k++) {
            int64_t row = rows[k];
            if (stamp[d[row]] == c) {
                if (found < 0 || row < found) found = row;
            } else {
                stamp[d[row]] = c;
            }
        }
        begin = end;
    }
    free(start);
    free(rows);
    free(stamp);
    PyBuffer_Release(&qv);
    PyBuffer_Release(&dv);
    return PyLong_FromSsize_t(found);
}

/* The C API other extensions reach through the POOL_C_API capsule (see ctrec_pool.h). */
static int pool_view(PyObject *o, const char **arena, const int64_t **start, const int32_t **len, Py_ssize_t *n) {
    if (!PyObject_TypeCheck(o, &PoolType)) {
        PyErr_SetString(PyExc_TypeError, "expected a ragbench.formats._ctrec.Pool");
        return -1;
    }
    Pool *p = (Pool *)o;
    *arena = p->arena;
    *start = p->start;
    *len = p->len;
    *n = p->n;
    return 0;
}

static RagbenchPoolCAPI pool_capi = {&PoolType, pool_view};

static PyMethodDef ctrec_methods[] = {
    {"parse", ctrec_parse, METH_VARARGS, "Parse a TREC run (kind 0) or qrels (kind 1) buffer."},
    {"find_duplicate", ctrec_find_duplicate, METH_VARARGS, "First row repeating a (query, doc) pair, or -1."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef ctrec_module = {PyModuleDef_HEAD_INIT, "_ctrec", NULL, -1, ctrec_methods};

PyMODINIT_FUNC PyInit__ctrec(void) {
    init_byte_class();
    if (PyType_Ready(&PoolType) < 0) return NULL;
    PyObject *m = PyModule_Create(&ctrec_module);
    if (!m) return NULL;
    Py_INCREF(&PoolType);
    if (PyModule_AddObject(m, "Pool", (PyObject *)&PoolType) < 0) {
        Py_DECREF(&PoolType);
        Py_DECREF(m);
        return NULL;
    }
    PyObject *capsule = PyCapsule_New(&pool_capi, RAGBENCH_POOL_CAPSULE, NULL);
    if (!capsule || PyModule_AddObject(m, "POOL_C_API", capsule) < 0) {
        Py_XDECREF(capsule);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
